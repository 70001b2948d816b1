//! `--format sarif`: SARIF 2.1.0 for GitHub code scanning (`github/codeql-action/upload-sarif`).
//! Every check is a rule; fail, error and warn findings are results. Code scanning shows only
//! results with a repository-relative path, so each result points at the file that defines what
//! was checked (`--sarif-artifact`, else the `--task-definition-file`), else at
//! `fargate-preflight/REGION/CLUSTER/SERVICE`, a path that names the service (no such file
//! exists). The AWS resource is the logical location. `partialFingerprints` keep an alert the
//! same alert across runs: check, service and resource.

use serde_json::{json, Value};

use super::{Render, Report, Style};
use crate::checks::{Severity, Status, REGISTRY};

pub struct Sarif;

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

/// Path segments keep only characters that are safe in a URI path.
fn segment(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '-' | '_' | '.' => c,
            _ => '_',
        })
        .collect()
}

/// Code scanning wants a path relative to the repository root, with forward slashes.
fn repository_relative(path: &str) -> String {
    let path = path.replace('\\', "/");
    let mut rest = path.as_str();
    while let Some(tail) = rest.strip_prefix("./") {
        rest = tail;
    }
    rest.to_string()
}

impl Report {
    /// Where the results of one service sit in the repository's code scanning view.
    fn sarif_location(&self, service: Option<&str>) -> String {
        if let Some(path) = &self.artifact {
            return repository_relative(path);
        }
        let t = &self.target;
        let what = match (&t.cluster, service.or(t.service.as_deref())) {
            (Some(cluster), Some(service)) => format!("{}/{}", segment(cluster), segment(service)),
            (Some(cluster), None) => segment(cluster),
            (None, _) => {
                let family = t.task_definition.as_deref().unwrap_or_default();
                let family = family.rsplit('/').next().unwrap_or(family);
                format!("task-definition/{}", segment(family))
            }
        };
        format!("fargate-preflight/{}/{what}", segment(&t.region))
    }
}

impl Render for Sarif {
    fn render(&self, report: &Report, _style: Style) -> String {
        let rules: Vec<Value> = REGISTRY
            .iter()
            .map(|c| {
                json!({
                    "id": c.id,
                    "name": c.id,
                    "shortDescription": {"text": c.title},
                    "fullDescription": {"text": c.explain.verifies},
                    "help": {"text": format!("{} Fix: {}", c.explain.why, c.explain.fix)},
                    "helpUri": c.docs,
                    "defaultConfiguration": {"level": level(c.severity)},
                })
            })
            .collect();
        let results: Vec<Value> = report
            .findings
            .iter()
            .filter_map(|f| {
                let level = match f.status {
                    Status::Fail => level(f.severity),
                    Status::Error => "error",
                    Status::Warn => "warning",
                    Status::Pass | Status::Skip => return None,
                };
                let index = REGISTRY.iter().position(|c| c.id == f.check)?;
                let mut text = format!("{}: {}", report.label(f), f.message);
                if f.status == Status::Error {
                    text.insert_str(0, "could not check: ");
                }
                if !f.remediation.is_empty() {
                    text.push_str(&format!("\nFix: {}", f.remediation));
                }
                let service = f.service.as_deref();
                Some(json!({
                    "ruleId": f.check,
                    "ruleIndex": index,
                    "level": level,
                    "message": {"text": text},
                    "locations": [{
                        "physicalLocation": {
                            "artifactLocation": {"uri": report.sarif_location(service)}
                        },
                        "logicalLocations": [{"fullyQualifiedName": f.resource}],
                    }],
                    "partialFingerprints": {
                        "fargatePreflight/v1": format!(
                            "{}|{}|{}",
                            f.check,
                            service.unwrap_or_default(),
                            f.resource
                        )
                    },
                }))
            })
            .collect();
        let document = json!({
            "$schema": SCHEMA,
            "version": "2.1.0",
            "runs": [{
                "tool": {"driver": {
                    "name": "fargate-preflight",
                    "version": env!("CARGO_PKG_VERSION"),
                    "rules": rules,
                }},
                "results": results,
            }],
        });
        let mut out = serde_json::to_string_pretty(&document).expect("JSON values serialize");
        out.push('\n');
        out
    }
}
