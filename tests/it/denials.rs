//! "Could not check" by construction: deny each gathered part of good snapshots in turn. A
//! finding that passed must then be `error`, or pass for the very same reason (its message
//! unchanged: it did not need that part). It may never pass for another reason.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use fargate_preflight::checks::{self, Finding, Options, Status};
use fargate_preflight::snapshot::Snapshot;

use crate::fixture;

const GOOD: [&str; 5] = ["endpoint-only", "nat-only", "alb", "ptc-ok", "nat-exec"];

/// JSON pointers of every `Fetched` part of a snapshot.
fn parts(snapshot: &Value) -> Vec<String> {
    let mut out: Vec<String> = [
        "task_definition",
        "network",
        "registry",
        "execution_role",
        "target_groups",
    ]
    .iter()
    .map(|p| format!("/{p}"))
    .collect();
    for p in [
        "vpc",
        "dns_support",
        "dns_hostnames",
        "dhcp_options",
        "subnets",
        "route_tables",
        "nat_gateways",
        "internet_gateways",
        "vpc_endpoints",
        "security_groups",
        "network_acls",
        "prefix_lists",
    ] {
        out.push(format!("/network/{p}"));
    }
    for list in ["attached_policies", "inline_policies"] {
        let n = snapshot["execution_role"][list]
            .as_array()
            .map_or(0, Vec::len);
        out.extend((0..n).map(|i| format!("/execution_role/{list}/{i}/document")));
    }
    let n = snapshot["registry"]["repositories"]
        .as_array()
        .map_or(0, Vec::len);
    out.extend((0..n).map(|i| format!("/registry/repositories/{i}/exists")));
    out
}

fn run(snapshot: &Value) -> Vec<Finding> {
    let snapshot: Snapshot = serde_json::from_value(snapshot.clone()).expect("a snapshot");
    checks::run_all(&snapshot, &Options::default())
}

fn by_key(findings: &[Finding]) -> BTreeMap<(&'static str, String), &Finding> {
    findings
        .iter()
        .map(|f| ((f.check, f.resource.clone()), f))
        .collect()
}

#[test]
fn a_denied_part_never_leaves_a_pass_that_needed_it() {
    let mut wrong = Vec::new();
    let mut denials = 0;
    for name in GOOD {
        let text = std::fs::read_to_string(fixture(name)).expect("fixture");
        let good: Value = serde_json::from_str(&text).expect("json");
        let baseline = run(&good);
        let before = by_key(&baseline);
        for pointer in parts(&good) {
            let mut denied = good.clone();
            let Some(slot) = denied.pointer_mut(&pointer) else {
                continue;
            };
            *slot = json!({"error": {"action": "test:Denied", "kind": "denied", "message": "denied by the test"}});
            denials += 1;
            let findings = run(&denied);
            let after = by_key(&findings);
            let errored: Vec<&str> = findings
                .iter()
                .filter(|f| f.status == Status::Error)
                .map(|f| f.check)
                .collect();
            for (key, was) in &before {
                if was.status != Status::Pass {
                    continue;
                }
                match after.get(key) {
                    Some(now) if now.status == Status::Error => {}
                    Some(now) if now.status == Status::Pass && now.message == was.message => {}
                    None if errored.contains(&key.0) => {}
                    now => wrong.push(format!(
                        "{name} {pointer}: {} {} was pass ({}) and is now {:?}",
                        key.0,
                        key.1,
                        was.message,
                        now.map(|f| (f.status, f.message.clone()))
                    )),
                }
            }
        }
    }
    assert!(denials > 60, "only {denials} denials tried");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
