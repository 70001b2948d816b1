//! Turning findings into output. One renderer per format.

mod json;
mod table;

use serde::Serialize;

use crate::checks::{Finding, Status};
use crate::snapshot::Snapshot;

pub use json::render as render_json;
pub use table::render as render_table;

#[derive(Debug, Clone, Serialize)]
pub struct Target {
    pub region: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    pub task_definition: String,
    /// Where the data came from: makes a stray AWS_ENDPOINT_URL visible.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint_url: Option<String>,
    pub gathered_at: String,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Summary {
    pub pass: usize,
    pub warn: usize,
    pub fail: usize,
    pub error: usize,
    pub skip: usize,
}

impl Summary {
    pub fn of(findings: &[Finding]) -> Self {
        let mut s = Summary::default();
        for f in findings {
            match f.status {
                Status::Pass => s.pass += 1,
                Status::Warn => s.warn += 1,
                Status::Fail => s.fail += 1,
                Status::Error => s.error += 1,
                Status::Skip => s.skip += 1,
            }
        }
        s
    }

    /// product.md: 1 when anything failed, else 2 when anything could not be checked, else 0.
    pub fn exit_code(&self) -> i32 {
        if self.fail > 0 {
            1
        } else if self.error > 0 {
            2
        } else {
            0
        }
    }
}

pub struct Report {
    pub target: Target,
    pub summary: Summary,
    pub findings: Vec<Finding>,
}

impl Report {
    pub fn new(snapshot: &Snapshot, findings: Vec<Finding>) -> Self {
        let w = &snapshot.workload;
        let task_definition = snapshot
            .task_definition
            .ok()
            .map(|td| td.arn.clone())
            .unwrap_or_else(|_| w.task_definition.clone());
        Report {
            target: Target {
                region: snapshot.region.clone(),
                cluster: w.cluster.clone(),
                service: w.service.clone(),
                task_definition,
                endpoint_url: snapshot.endpoint_url.clone(),
                gathered_at: snapshot.gathered_at.to_rfc3339(),
            },
            summary: Summary::of(&findings),
            findings,
        }
    }
}
