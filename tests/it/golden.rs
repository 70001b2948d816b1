//! Golden verdicts: every fixture's complete verdict list (check, status, resource) lives in
//! `tests/fixtures/NAME.verdicts` and is compared exactly. `BLESS=1 cargo test` rewrites them;
//! reviewing that diff is how a verdict change is approved.

use std::path::Path;

use fargate_preflight::checks::{self, Options};
use fargate_preflight::snapshot::SnapshotFile;

use crate::repo;

/// One line per finding, in report order.
fn verdict_lines(snapshot_path: &Path) -> String {
    let text = std::fs::read_to_string(snapshot_path).expect("fixture is readable");
    let file: SnapshotFile =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", snapshot_path.display()));
    let snapshots = file.into_snapshots();
    let several = snapshots.len() > 1;
    let mut out = String::new();
    for f in checks::run_scan(&snapshots, &Options::default()).findings {
        let service = match (several, f.service.as_deref()) {
            (true, Some(s)) => format!("{s}: "),
            (true, None) => "(scan) ".to_string(),
            _ => String::new(),
        };
        out.push_str(&format!(
            "{:<5} {:<24} {service}{}\n",
            f.status.as_str(),
            f.check,
            f.resource
        ));
    }
    out
}

#[test]
fn every_fixture_matches_its_golden_verdicts() {
    check_golden("tests/fixtures", 50);
}

/// Snapshot files the binary wrote at 9a067be (against the emulator, `snapshot --output`):
/// typed values and newer parts must still read them, with the verdicts they give today.
#[test]
fn snapshots_written_by_9a067be_still_load() {
    let dir = repo().join("tests/fixtures/compat");
    let ptc = std::fs::read_to_string(dir.join("9a067be-ptc.json")).expect("compat file");
    // The old shape of a repository status, which `RepositoryStatus` must still read.
    assert!(
        ptc.contains("\"exists\": true"),
        "9a067be-ptc.json was rewritten"
    );
    check_golden("tests/fixtures/compat", 2);
}

fn check_golden(folder: &str, at_least: usize) {
    let bless = std::env::var_os("BLESS").is_some_and(|v| v == "1");
    let dir = repo().join(folder);
    let mut fixtures: Vec<_> = std::fs::read_dir(&dir)
        .expect("fixtures dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    fixtures.sort();
    assert!(
        fixtures.len() >= at_least,
        "fixtures went missing: {}",
        fixtures.len()
    );
    let mut mismatches = Vec::new();
    for path in &fixtures {
        let golden = path.with_extension("verdicts");
        let actual = verdict_lines(path);
        if bless {
            std::fs::write(&golden, &actual).expect("write golden file");
            continue;
        }
        let expected = std::fs::read_to_string(&golden).unwrap_or_default();
        if expected != actual {
            mismatches.push(format!(
                "{}:\n--- expected\n{expected}+++ actual\n{actual}",
                golden.display()
            ));
        }
    }
    // A golden file whose fixture is gone would approve nothing.
    for entry in std::fs::read_dir(&dir).expect("fixtures dir") {
        let path = entry.expect("dir entry").path();
        if path.extension().is_some_and(|e| e == "verdicts")
            && !path.with_extension("json").exists()
        {
            mismatches.push(format!("{} has no fixture", path.display()));
        }
    }
    assert!(
        mismatches.is_empty(),
        "verdicts changed (review, then BLESS=1 cargo test to approve):\n{}",
        mismatches.join("\n")
    );
}
