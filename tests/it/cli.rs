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
        vec!["check", "--cluster", "app"],
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
    assert!(stderr.to_lowercase().contains("credential"), "{stderr}");
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
