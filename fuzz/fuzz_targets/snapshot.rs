//! The snapshot loader and every check on whatever a file holds: an error or a report.
#![no_main]

use fargate_preflight::checks::{self, Options};
use fargate_preflight::snapshot::SnapshotFile;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(file) = serde_json::from_str::<SnapshotFile>(&text) {
        for snapshot in file.into_snapshots() {
            let _ = checks::run_all(&snapshot, &Options::default());
        }
    }
});
