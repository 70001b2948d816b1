//! The command line, run as a real process with the environment cleared.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::{bin, fixture};

fn run(args: &[&str]) -> (i32, String, String) {
    let out = bin().args(args).output().expect("binary runs");
    (
        out.status.code().expect("exit code"),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn help_lists_the_commands() {
    let (code, stdout, _) = run(&["--help"]);
    assert_eq!(code, 0);
    assert!(
        stdout.contains("check") && stdout.contains("snapshot"),
        "{stdout}"
    );
    let (code, stdout, _) = run(&["check", "--help"]);
    assert_eq!(code, 0);
    for flag in [
        "--cluster",
        "--service",
        "--snapshot",
        "--format",
        "--region",
        "--profile",
        "--endpoint-url",
        "--task-definition",
    ] {
        assert!(stdout.contains(flag), "check --help lacks {flag}");
    }
}

#[test]
fn bad_arguments_exit_2() {
    for args in [
        vec!["check", "--service", "web"],
        vec!["check", "--format", "xml", "--snapshot", "x.json"],
        vec!["frobnicate"],
        vec!["check", "--subnets", "subnet-1"],
    ] {
        let (code, stdout, stderr) = run(&args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stdout.is_empty(), "{args:?}");
        assert!(!stderr.is_empty(), "{args:?}");
    }
    let (code, _, stderr) = run(&["check"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("nothing to check"), "{stderr}");
}

#[test]
fn unreadable_snapshot_is_one_line_exit_2() {
    let (code, stdout, stderr) = run(&["check", "--snapshot", "/nonexistent/snap.json"]);
    assert_eq!(code, 2);
    assert!(stdout.is_empty());
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("/nonexistent/snap.json"));
}

#[test]
fn json_output_has_the_product_shape() {
    let path = fixture("missing-ecr-api");
    let (code, stdout, _) = run(&[
        "check",
        "--snapshot",
        path.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(code, 1);
    let doc: Value = serde_json::from_str(&stdout).expect("stdout is one JSON document");
    let keys: BTreeSet<&str> = doc
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        BTreeSet::from(["schema_version", "tool", "target", "summary", "findings"])
    );
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["tool"]["name"], "fargate-preflight");
    assert_eq!(doc["target"]["region"], "ap-northeast-1");
    assert_eq!(doc["target"]["cluster"], "app");
    assert_eq!(doc["target"]["service"], "web");
    assert!(doc["target"]["task_definition"]
        .as_str()
        .unwrap()
        .starts_with("arn:aws:ecs:"));
    let findings = doc["findings"].as_array().unwrap();
    let mut counts = std::collections::BTreeMap::new();
    for f in findings {
        let keys: BTreeSet<&str> = f.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            BTreeSet::from([
                "service",
                "check",
                "status",
                "severity",
                "resource",
                "message",
                "remediation",
                "docs"
            ])
        );
        *counts
            .entry(f["status"].as_str().unwrap().to_string())
            .or_insert(0) += 1;
    }
    for status in ["pass", "warn", "fail", "error", "skip"] {
        assert_eq!(
            doc["summary"][status],
            counts.get(status).copied().unwrap_or(0),
            "{status}"
        );
    }
    let failing: Vec<&Value> = findings.iter().filter(|f| f["status"] == "fail").collect();
    assert_eq!(failing.len(), 1);
    assert_eq!(failing[0]["check"], "ecr-api-endpoint");
    assert_eq!(failing[0]["severity"], "error");
    assert!(failing[0]["docs"]
        .as_str()
        .unwrap()
        .starts_with("https://docs.aws.amazon.com/"));
}

#[test]
fn findings_are_sorted_by_check_order_then_resource() {
    let path = fixture("endpoint-only");
    let (code, stdout, _) = run(&[
        "check",
        "--snapshot",
        path.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(code, 0);
    let doc: Value = serde_json::from_str(&stdout).unwrap();
    let rows: Vec<(String, String)> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["check"].as_str().unwrap().into(),
                f["resource"].as_str().unwrap().into(),
            )
        })
        .collect();
    let registry: Vec<&str> = fargate_preflight::checks::REGISTRY
        .iter()
        .map(|c| c.id)
        .collect();
    let mut sorted = rows.clone();
    sorted.sort_by_key(|(c, r)| (registry.iter().position(|id| id == c).unwrap(), r.clone()));
    assert_eq!(rows, sorted);
}

#[test]
fn table_puts_failures_first_with_the_fix() {
    let path = fixture("s3-wrong-route-table");
    let (code, stdout, stderr) = run(&["check", "--snapshot", path.to_str().unwrap()]);
    assert_eq!(code, 1, "{stderr}");
    let first_row = stdout
        .lines()
        .find(|l| l.contains("s3-gateway-route") || l.contains("PASS"))
        .unwrap();
    assert!(first_row.contains("FAIL"), "{stdout}");
    assert!(stdout.contains("modify-vpc-endpoint --vpc-endpoint-id vpce-0s3"));
    assert!(stdout.contains("2 fail, 0 error"));
}

#[test]
fn error_without_failures_exits_2() {
    let path = fixture("denied-vpc-endpoints");
    let (code, stdout, _) = run(&[
        "check",
        "--snapshot",
        path.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(code, 2);
    let doc: Value = serde_json::from_str(&stdout).unwrap();
    assert!(doc["summary"]["error"].as_u64().unwrap() > 0);
    assert_eq!(doc["summary"]["fail"], 0);
}

#[test]
fn unreachable_endpoint_fails_fast_with_one_line() {
    let started = std::time::Instant::now();
    let out = bin()
        .args([
            "check",
            "--cluster",
            "app",
            "--service",
            "web",
            "--region",
            "eu-west-1",
        ])
        .args(["--endpoint-url", "http://127.0.0.1:9"])
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(out.stdout.is_empty());
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    // The SDK timeouts bound the run; the assertion is generous on a shared machine.
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
}

#[test]
fn missing_credentials_exit_2() {
    let out = bin()
        .args([
            "check",
            "--cluster",
            "app",
            "--service",
            "web",
            "--region",
            "eu-west-1",
        ])
        .args(["--endpoint-url", "http://127.0.0.1:9"])
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("HOME", "/nonexistent")
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    // One line that says what is missing and where the chain looked, not a dispatch failure.
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("no AWS credentials were found"), "{stderr}");
    assert!(
        stderr.contains("AWS_ACCESS_KEY_ID") && stderr.contains("instance metadata"),
        "{stderr}"
    );
    assert!(!stderr.contains("dispatch failure"), "{stderr}");
}

/// A snapshot file that is cut short, has a wrong type deep inside, or comes from a newer
/// schema: exit 2 and one line naming the file and where the problem is.
#[test]
fn bad_snapshot_files_say_where() {
    let good = std::fs::read_to_string(crate::fixture("endpoint-only")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut wrong: serde_json::Value = serde_json::from_str(&good).unwrap();
    wrong["network"]["subnets"][1]["cidr"] = serde_json::json!(5);
    let mut newer: serde_json::Value = serde_json::from_str(&good).unwrap();
    newer["schema_version"] = serde_json::json!(2);
    let cases = [
        ("cut.json", good[..good.len() / 2].to_string(), "cut short"),
        (
            "wrong.json",
            wrong.to_string(),
            "at network.subnets[1].cidr: invalid type",
        ),
        (
            "newer.json",
            newer.to_string(),
            "newer than this version reads",
        ),
    ];
    for (name, text, expected) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let out = bin()
            .args(["check", "--snapshot"])
            .arg(&path)
            .output()
            .unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{name}: {stderr}");
        assert!(
            stderr.contains(name) && stderr.contains(expected),
            "{name}: {stderr}"
        );
    }
}

#[test]
fn impossible_flag_values_exit_2() {
    let fixture = crate::fixture("endpoint-only");
    for args in [
        ["--startup-time", "-5"],
        ["--max-concurrency", "0"],
        ["--startup-time", "soon"],
    ] {
        let out = bin()
            .args(["check", "--snapshot"])
            .arg(&fixture)
            .args(args)
            .output()
            .unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(args[1]), "{args:?}: {stderr}");
    }
}

#[test]
fn missing_region_exit_2() {
    let out = bin()
        .args(["check", "--cluster", "app", "--service", "web"])
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("HOME", "/nonexistent")
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("region"), "{stderr}");
}

#[test]
fn colors_follow_the_choice_and_no_color() {
    let path = fixture("missing-ecr-api");
    let path = path.to_str().unwrap();
    let (_, always, _) = run(&["check", "--snapshot", path, "--color", "always"]);
    assert!(
        always.contains("\u{1b}["),
        "--color always must color the status"
    );
    let (_, never, _) = run(&["check", "--snapshot", path, "--color", "never"]);
    assert!(!never.contains('\u{1b}'));
    // A pipe is not a terminal: auto means no escape codes, NO_COLOR or not.
    let (_, auto, _) = run(&["check", "--snapshot", path]);
    assert!(!auto.contains('\u{1b}'));
    let out = bin()
        .args(["check", "--snapshot", path, "--color", "auto"])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(!String::from_utf8(out.stdout).unwrap().contains('\u{1b}'));
}

#[test]
fn junit_parses_with_the_expected_counts() {
    let path = fixture("alb-grace-0");
    let (code, stdout, _) = run(&[
        "check",
        "--snapshot",
        path.to_str().unwrap(),
        "--format",
        "junit",
        "--startup-time",
        "120",
    ]);
    assert_eq!(code, 1);
    let json: Value = {
        let (_, json, _) = run(&[
            "check",
            "--snapshot",
            path.to_str().unwrap(),
            "--format",
            "json",
            "--startup-time",
            "120",
        ]);
        serde_json::from_str(&json).unwrap()
    };
    let mut reader = quick_xml::Reader::from_str(&stdout);
    let (mut suites, mut cases, mut failures, mut skipped) = (0, 0, 0, 0);
    loop {
        match reader.read_event().expect("well-formed XML") {
            quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e) => {
                match e.name().as_ref() {
                    b"testsuite" => suites += 1,
                    b"testcase" => cases += 1,
                    b"failure" => failures += 1,
                    b"skipped" => skipped += 1,
                    _ => {}
                }
            }
            quick_xml::events::Event::Eof => break,
            _ => {}
        }
    }
    let findings = json["findings"].as_array().unwrap();
    let distinct: BTreeSet<&str> = findings
        .iter()
        .map(|f| f["check"].as_str().unwrap())
        .collect();
    assert_eq!(suites, distinct.len());
    assert_eq!(cases, findings.len());
    assert_eq!(failures, json["summary"]["fail"].as_u64().unwrap() as usize);
    assert_eq!(skipped, json["summary"]["skip"].as_u64().unwrap() as usize);
}

#[test]
fn github_commands_are_one_line_each_and_write_the_step_summary() {
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("summary.md");
    let path = fixture("s3-wrong-route-table");
    let out = bin()
        .args([
            "check",
            "--snapshot",
            path.to_str().unwrap(),
            "--format",
            "github",
        ])
        .env("GITHUB_STEP_SUMMARY", &summary)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let errors: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("::error "))
        .collect();
    assert_eq!(errors.len(), 2, "{stdout}");
    for line in errors {
        assert!(line.starts_with("::error title=s3-gateway-route::"));
        // The fix and docs follow as escaped line breaks inside the one command.
        assert!(line.contains("%0AFix: ") && line.contains("%0ADocs: "));
    }
    let markdown = std::fs::read_to_string(&summary).unwrap();
    assert!(
        markdown.contains("| FAIL | `s3-gateway-route` |"),
        "{markdown}"
    );
}

#[test]
fn output_writes_the_report_to_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    let path = fixture("missing-logs");
    let (code, stdout, _) = run(&[
        "check",
        "--snapshot",
        path.to_str().unwrap(),
        "--format",
        "json",
        "--output",
        report.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(stdout.is_empty());
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(report).unwrap()).unwrap();
    assert_eq!(doc["summary"]["fail"], 1);
}

#[test]
fn completions_and_man_page() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let (code, stdout, _) = run(&["completions", shell]);
        assert_eq!(code, 0, "{shell}");
        assert!(
            stdout.contains("fargate") && stdout.contains("startup-time"),
            "{shell}"
        );
    }
    let (code, _, _) = run(&["completions", "tcsh"]);
    assert_eq!(code, 2);
    let (code, stdout, _) = run(&["man"]);
    assert_eq!(code, 0);
    assert!(
        stdout.starts_with(".ie") || stdout.contains(".TH fargate-preflight"),
        "{stdout}"
    );
}

#[test]
fn a_closed_pipe_is_a_clean_exit() {
    let path = fixture("missing-logs");
    let mut child = bin()
        .args([
            "check",
            "--snapshot",
            path.to_str().unwrap(),
            "--format",
            "json",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn every_check_explains_itself() {
    for check in fargate_preflight::checks::REGISTRY {
        let (code, stdout, _) = run(&["explain", check.id]);
        assert_eq!(code, 0, "{}", check.id);
        for section in [
            "What it verifies",
            "Why it matters",
            "How it decides",
            "Fix",
            check.docs,
        ] {
            assert!(stdout.contains(section), "{}: {section}", check.id);
        }
    }
}

/// A CannotPullContainerError pasted from a ticket (amazon-ecs-agent#2235): no AWS access,
/// the patterns and the checks that decide them.
const PASTED_PULL_ERROR: &str = "CannotPullContainerError: Error response from daemon: Get https://XXXXXXXXXXX.dkr.ecr.eu-west-1.amazonaws.com/v2/: net/http: request canceled while waiting for connection (Client.Timeout exceeded while awaiting headers)";

#[test]
fn diagnose_error_names_the_ecr_checks_without_aws() {
    let (code, stdout, stderr) =
        run(&["diagnose", "--error", PASTED_PULL_ERROR, "--format", "json"]);
    assert_eq!(code, 0, "{stderr}");
    let doc: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(doc["schema_version"], 1);
    let matches = doc["matches"].as_array().unwrap();
    assert_eq!(matches.len(), 1, "{doc}");
    assert_eq!(matches[0]["pattern"], "ecr-pull-timeout");
    let checks: Vec<&str> = matches[0]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    for id in ["ecr-dkr-endpoint", "s3-gateway-endpoint", "egress-path"] {
        assert!(checks.contains(&id), "{checks:?}");
    }

    let (code, stdout, _) = run(&["diagnose", "--error", PASTED_PULL_ERROR]);
    assert_eq!(code, 0);
    assert!(stdout.starts_with("ecr-pull-timeout\n"), "{stdout}");
    assert!(stdout.contains("- ecr-dkr-endpoint: "), "{stdout}");
}

#[test]
fn diagnose_error_reads_stdin_and_says_when_nothing_matches() {
    use std::io::Write;
    let mut child = bin()
        .args(["diagnose", "--error", "-", "--format", "json"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"Essential container in task exited\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["matches"][0]["pattern"], "essential-container-exited");

    let (code, stdout, _) = run(&[
        "diagnose",
        "--error",
        "the moon is made of cheese",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0);
    let doc: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(doc["matches"], serde_json::json!([]));
}

#[test]
fn diagnose_needs_a_service_or_a_text() {
    for args in [
        vec!["diagnose"],
        vec!["diagnose", "--cluster", "app"],
        vec![
            "diagnose",
            "--cluster",
            "app",
            "--service",
            "web",
            "--error",
            "x",
        ],
    ] {
        let (code, stdout, stderr) = run(&args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stdout.is_empty(), "{args:?}");
    }
}

/// With no credentials at all, a task definition file still gets its own verdict; everything
/// AWS would have told is an error naming why, never a pass.
#[test]
fn a_task_definition_file_is_judged_without_credentials() {
    let dir = std::env::temp_dir().join(format!("fp-offline-td-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("taskdef.json");
    std::fs::write(
        &file,
        r#"{"family": "web", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
            "cpu": "256", "memory": "3000",
            "containerDefinitions": [{"name": "web", "image": "nginx:1.27"}]}"#,
    )
    .unwrap();
    let out = bin()
        .args(["check", "--task-definition-file", file.to_str().unwrap()])
        .args(["--subnets", "subnet-1", "--security-groups", "sg-1"])
        .args(["--region", "us-east-1", "--format", "json"])
        .env("HOME", &dir)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("only the task definition file itself is checked"),
        "{stderr}"
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let status = |check: &str| {
        doc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["check"] == check)
            .map(|f| f["status"].as_str().unwrap().to_string())
            .unwrap()
    };
    assert_eq!(status("task-definition"), "fail");
    assert_eq!(status("egress-path"), "error");
    assert_eq!(status("public-image"), "error");
    assert!(doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["status"] != "pass" || f["check"] == "platform-version"));
}

/// `--format sarif` as GitHub code scanning takes it: SARIF 2.1.0, every check a rule, one
/// result per fail / error / warn (never a pass), each at a repository-relative path with the AWS
/// resource as its logical location and a fingerprint of its own; the exit code is unchanged.
fn sarif_of(name: &str) -> (i32, Value, Value) {
    let path = fixture(name);
    let path = path.to_str().unwrap();
    let (code, stdout, stderr) = run(&["check", "--snapshot", path, "--format", "sarif"]);
    let doc: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    let (_, json, _) = run(&["check", "--snapshot", path, "--format", "json"]);
    (code, doc, serde_json::from_str(&json).unwrap())
}

#[test]
fn sarif_is_what_code_scanning_uploads() {
    for name in [
        "s3-wrong-route-table",
        "denied-vpc-endpoints",
        "scan-shared-subnets-short",
    ] {
        let (code, doc, json) = sarif_of(name);
        let expected = match json["summary"] {
            ref s if s["fail"].as_u64() > Some(0) => 1,
            ref s if s["error"].as_u64() > Some(0) => 2,
            _ => 0,
        };
        assert_eq!(
            code, expected,
            "{name}: the exit code does not depend on the format"
        );
        assert_eq!(doc["version"], "2.1.0");
        let run = &doc["runs"][0];
        let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
        assert_eq!(rules.len(), fargate_preflight::checks::REGISTRY.len());
        let results = run["results"].as_array().unwrap();
        let findings = json["findings"].as_array().unwrap();
        let wanted: Vec<&Value> = findings
            .iter()
            .filter(|f| matches!(f["status"].as_str(), Some("fail" | "error" | "warn")))
            .collect();
        assert!(!wanted.is_empty(), "{name} has something to report");
        assert_eq!(results.len(), wanted.len(), "{name}");
        let mut fingerprints = BTreeSet::new();
        for (result, finding) in results.iter().zip(&wanted) {
            let index = result["ruleIndex"].as_u64().unwrap() as usize;
            assert_eq!(rules[index]["id"], result["ruleId"]);
            assert_eq!(result["ruleId"], finding["check"]);
            let level = match finding["status"].as_str().unwrap() {
                "warn" => "warning",
                _ => "error",
            };
            assert_eq!(result["level"], level, "{result}");
            let uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap();
            assert!(
                uri.starts_with("fargate-preflight/") && !uri.contains(':'),
                "{uri}"
            );
            if let Some(service) = finding["service"].as_str() {
                assert!(uri.ends_with(&format!("/{service}")), "{uri}");
            }
            assert_eq!(
                result["locations"][0]["logicalLocations"][0]["fullyQualifiedName"],
                finding["resource"]
            );
            let fingerprint = result["partialFingerprints"]["fargatePreflight/v1"].clone();
            assert!(
                fingerprints.insert(fingerprint.to_string()),
                "{fingerprint}"
            );
            if finding["status"] == "error" {
                let text = result["message"]["text"].as_str().unwrap();
                assert!(text.starts_with("could not check: "), "{text}");
            }
        }
    }
}

/// The official SARIF 2.1.0 schema, as the serde-sarif crate ships it (src/schema.json).
fn sarif_schema() -> std::path::PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--locked"])
        .current_dir(crate::repo())
        .output()
        .expect("cargo metadata");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let metadata: Value = serde_json::from_slice(&out.stdout).expect("metadata JSON");
    let manifest = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "serde-sarif")
        .and_then(|p| p["manifest_path"].as_str())
        .expect("serde-sarif is a dev-dependency");
    let schema = std::path::Path::new(manifest).with_file_name("src/schema.json");
    let text = std::fs::read_to_string(&schema).expect("the crate ships its schema");
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        doc["$id"],
        "https://raw.githubusercontent.com/oasis-tcs/sarif-spec/master/Schemata/sarif-schema-2.1.0.json"
    );
    schema
}

/// Every SARIF document the formats produce validates against the official schema
/// (Python's jsonschema, Draft 7 as the schema declares) and reads as serde-sarif's types.
#[test]
fn sarif_validates_against_the_official_schema() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = vec![];
    let cases: [(&str, &[&str]); 4] = [
        ("s3-wrong-route-table", &[]),
        ("denied-vpc-endpoints", &[]),
        ("scan-shared-subnets-short", &[]),
        (
            "s3-wrong-route-table",
            &["--sarif-artifact", "./infra/service.tf"],
        ),
    ];
    for (i, (name, extra)) in cases.iter().enumerate() {
        let path = fixture(name);
        let mut args = vec![
            "check",
            "--snapshot",
            path.to_str().unwrap(),
            "--format",
            "sarif",
        ];
        args.extend_from_slice(extra);
        let (_, stdout, stderr) = run(&args);
        let typed: serde_sarif::sarif::Sarif =
            serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{name}: {e}: {stderr}"));
        assert_eq!(typed.runs.len(), 1);
        let file = dir.path().join(format!("{i}.sarif"));
        std::fs::write(&file, &stdout).unwrap();
        files.push(file);
    }
    let python = crate::emulator::venv_python().expect("the test venv");
    let script = "import json, sys\n\
        from jsonschema import Draft7Validator\n\
        schema = json.load(open(sys.argv[1]))\n\
        Draft7Validator.check_schema(schema)\n\
        validator = Draft7Validator(schema)\n\
        for path in sys.argv[2:]:\n\
        \x20   errors = [f'{list(e.absolute_path)}: {e.message}' for e in validator.iter_errors(json.load(open(path)))]\n\
        \x20   print(path, len(errors), errors[:3])\n\
        \x20   if errors: sys.exit(1)\n";
    let out = std::process::Command::new(python)
        .arg("-c")
        .arg(script)
        .arg(sarif_schema())
        .args(&files)
        .output()
        .expect("python");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).lines().count(),
        files.len()
    );
}

/// Code scanning shows an alert only at a file of the repository: `--sarif-artifact` names it
/// (made repository-relative), else the checked --task-definition-file; `--sarif-output`
/// writes the SARIF beside the main report, with the same results.
#[test]
fn sarif_points_at_the_file_that_defines_the_service() {
    let path = fixture("s3-wrong-route-table");
    let path = path.to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let side = dir.path().join("out.sarif");
    let (code, stdout, _) = run(&[
        "check",
        "--snapshot",
        path,
        "--format",
        "github",
        "--sarif-output",
        side.to_str().unwrap(),
        "--sarif-artifact",
        "./infra\\service.tf",
    ]);
    assert_eq!(code, 1);
    assert!(
        stdout.contains("::error title=s3-gateway-route::"),
        "{stdout}"
    );
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&side).unwrap()).unwrap();
    let results = doc["runs"][0]["results"].as_array().unwrap();
    assert_eq!(
        results.len(),
        stdout.matches("::error").count() + stdout.matches("::warning").count()
    );
    for r in results {
        assert_eq!(
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "infra/service.tf"
        );
    }
}
