//! The path pictures of `--format markdown`, read back by the real Mermaid parser: every
//! fixture's diagrams parse as flowcharts, name its task subnets, and mark red exactly the
//! links that failing findings break, labelled with those checks.

use std::collections::{BTreeMap, BTreeSet};

use fargate_preflight::checks::{self, Options, Status};
use fargate_preflight::report::{Format, Report, Style};
use fargate_preflight::snapshot::SnapshotFile;
use serde_json::Value;

use crate::{fixture, node, repo};

/// The checks whose failures are breaks in the network path the pictures draw.
const PATH_CHECKS: [&str; 8] = [
    "route-table",
    "egress-path",
    "ecr-api-endpoint",
    "ecr-dkr-endpoint",
    "logs-endpoint",
    "s3-gateway-route",
    "endpoint-security-groups",
    "endpoint-private-dns",
];

struct Rendered {
    name: String,
    diagrams: Vec<String>,
    /// The checks with a failing finding in the fixture.
    failing: BTreeSet<String>,
    /// The failing path checks whose finding names something the pictures draw.
    drawn_failures: BTreeSet<String>,
    subnets: Vec<String>,
}

fn render(path: &std::path::Path) -> Rendered {
    let text = std::fs::read_to_string(path).expect("fixture");
    let snapshots = serde_json::from_str::<SnapshotFile>(&text)
        .expect("fixture parses")
        .into_snapshots();
    let scan = checks::run_scan(&snapshots, &Options::default());
    let failing = scan
        .findings
        .iter()
        .filter(|f| f.status == Status::Fail)
        .map(|f| f.check.to_string())
        .collect();
    let drawn_failures = scan
        .findings
        .iter()
        .filter(|f| f.status == Status::Fail && PATH_CHECKS.contains(&f.check))
        .filter(|f| names_a_drawn_thing(&f.resource))
        .map(|f| f.check.to_string())
        .collect();
    let subnets = snapshots
        .iter()
        .flat_map(|s| s.workload.subnets.clone())
        .collect();
    let markdown = Format::Markdown
        .renderer()
        .render(&Report::new(&snapshots, scan), Style::default());
    let diagrams = markdown
        .split("```mermaid\n")
        .skip(1)
        .map(|block| {
            block
                .split("```")
                .next()
                .expect("a closed block")
                .to_string()
        })
        .collect();
    Rendered {
        name: path.file_stem().unwrap().to_string_lossy().into_owned(),
        diagrams,
        failing,
        drawn_failures,
        subnets,
    }
}

/// A subnet, route table or endpoint id, the internet, or an AWS service's endpoint name.
fn names_a_drawn_thing(resource: &str) -> bool {
    ["subnet-", "rtb-", "vpce-", "internet", "(com.amazonaws."]
        .iter()
        .any(|p| resource.contains(p))
}

fn is_red(edge: &Value) -> bool {
    edge["style"]
        .as_array()
        .is_some_and(|s| s.iter().any(|v| v.as_str() == Some("stroke:#d1242f")))
}

/// Every diagram of every fixture, through `mermaid.parse` in one Node.js run.
fn parsed() -> Vec<(Rendered, Vec<Value>)> {
    let mut fixtures: Vec<_> = std::fs::read_dir(repo().join("tests/fixtures"))
        .expect("fixtures")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    fixtures.sort();
    let rendered: Vec<Rendered> = fixtures.iter().map(|p| render(p)).collect();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut files = Vec::new();
    for r in &rendered {
        for (i, d) in r.diagrams.iter().enumerate() {
            let file = dir.path().join(format!("{}.{i}.mmd", r.name));
            std::fs::write(&file, d).expect("write diagram");
            files.push(file.into_os_string());
        }
    }
    let args: Vec<&std::ffi::OsStr> = files.iter().map(|f| f.as_os_str()).collect();
    let out = node::node("mermaid-parse.mjs", &args);
    assert!(
        out.status.success(),
        "mermaid-parse: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let results: Vec<Value> = serde_json::from_slice(&out.stdout).expect("parser JSON");
    assert_eq!(results.len(), files.len());
    let mut by_fixture: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for r in results {
        let file = r["file"].as_str().expect("file").to_string();
        let name = std::path::Path::new(&file)
            .file_stem()
            .and_then(|s| std::path::Path::new(s).file_stem())
            .unwrap()
            .to_string_lossy()
            .into_owned();
        by_fixture.entry(name).or_default().push(r);
    }
    rendered
        .into_iter()
        .map(|r| {
            let diagrams = by_fixture.remove(&r.name).unwrap_or_default();
            (r, diagrams)
        })
        .collect()
}

#[test]
fn every_path_picture_parses_and_marks_the_failing_links() {
    let all = parsed();
    let drawn = all.iter().filter(|(_, d)| !d.is_empty()).count();
    assert!(drawn >= 300, "only {drawn} fixtures drew a path");
    let mut unmarked = Vec::new();
    for (fixture, diagrams) in &all {
        let name = &fixture.name;
        let mut red_labels = BTreeSet::new();
        let mut drawn_subnets = BTreeSet::new();
        for d in diagrams {
            assert!(
                d["error"].is_null(),
                "{name}: {}\n{:?}",
                d["error"],
                fixture.diagrams
            );
            assert_eq!(d["diagramType"], "flowchart-v2", "{name}");
            let nodes = d["nodes"].as_array().expect("nodes");
            let subnet = nodes
                .iter()
                .find(|n| n["id"] == "subnet")
                .expect("a subnet node");
            for s in subnet["text"].as_str().unwrap().split("<br>") {
                drawn_subnets.insert(s.to_string());
            }
            assert!(
                nodes.iter().any(|n| n["id"] == "routes"),
                "{name}: no route table"
            );
            for edge in d["edges"].as_array().expect("edges") {
                if is_red(edge) {
                    for id in edge["text"].as_str().unwrap().split(", ") {
                        red_labels.insert(id.to_string());
                    }
                }
            }
        }
        if diagrams.is_empty() {
            continue;
        }
        // One diagram per distinct path: no subnet is drawn twice for one service.
        let subnets: BTreeSet<String> = fixture.subnets.iter().cloned().collect();
        assert_eq!(drawn_subnets, subnets, "{name}: the diagrams' subnets");
        // Red only where a check failed, and every failing path check about a drawn thing is on a red link.
        for label in &red_labels {
            assert!(
                fixture.failing.contains(label),
                "{name}: red link {label} did not fail"
            );
        }
        for id in &fixture.drawn_failures {
            if !red_labels.contains(id) {
                unmarked.push(format!("{name}: {id} failed but no link is red"));
            }
        }
    }
    assert!(unmarked.is_empty(), "{}", unmarked.join("\n"));
}

#[test]
fn a_gateway_on_the_wrong_route_table_is_a_red_link_to_s3() {
    let rendered = render(&fixture("s3-wrong-route-table"));
    assert_eq!(rendered.diagrams.len(), 1, "both subnets share one path");
    let text = &rendered.diagrams[0];
    assert!(
        text.contains("subnet[\"subnet-0a1<br>subnet-0b2\"]"),
        "{text}"
    );
    assert!(text.contains("out -->|\"s3-gateway-route\"| "), "{text}");
    assert!(
        text.contains("\"vpce-0ecrdkr<br>interface endpoint\""),
        "{text}"
    );
}
