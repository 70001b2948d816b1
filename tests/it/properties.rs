//! The snapshot loader and the checks on arbitrary input: a file may be wrong in any place,
//! and the result is a clear error or a report, never a panic.

use proptest::prelude::*;
use serde_json::Value;

use fargate_preflight::checks::{self, Options};
use fargate_preflight::snapshot::SnapshotFile;

use crate::fixture;

/// JSON pointers of every value in a document.
fn pointers(value: &Value, at: String, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                pointers(
                    v,
                    format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                    out,
                );
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                pointers(v, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
    out.push(at);
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::from),
        Just(serde_json::json!({})),
        Just(serde_json::json!([])),
        Just(serde_json::json!({"error": {"action": "x:Y", "kind": "denied", "message": "m"}})),
    ]
}

fn load_and_check(text: &str) {
    if let Ok(file) = serde_json::from_str::<SnapshotFile>(text) {
        for snapshot in file.into_snapshots() {
            let _ = checks::run_all(&snapshot, &Options::default());
        }
    }
}

proptest! {
    #[test]
    fn any_edit_of_a_snapshot_loads_or_fails_cleanly(
        fixture_name in prop::sample::select(vec!["endpoint-only", "nat-only", "alb", "ptc-ok"]),
        choice in any::<prop::sample::Index>(),
        replacement in leaf(),
    ) {
        let text = std::fs::read_to_string(fixture(fixture_name)).unwrap();
        let mut doc: Value = serde_json::from_str(&text).unwrap();
        let mut all = Vec::new();
        pointers(&doc, String::new(), &mut all);
        let pointer = choice.get(&all).clone();
        match doc.pointer_mut(&pointer) {
            Some(slot) if !pointer.is_empty() => *slot = replacement,
            _ => doc = replacement,
        }
        load_and_check(&doc.to_string());
    }

    #[test]
    fn any_prefix_of_a_snapshot_fails_cleanly(cut in 0usize..6000) {
        let text = std::fs::read_to_string(fixture("endpoint-only")).unwrap();
        load_and_check(&text[..cut.min(text.len())]);
    }

    #[test]
    fn any_bytes_fail_cleanly(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        load_and_check(&String::from_utf8_lossy(&bytes));
    }
}
