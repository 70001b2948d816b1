//! Turning findings into output: one renderer per format behind `Render`. A new format is
//! one file here plus its line in `Format`.

pub mod github;
mod json;
mod junit;
mod markdown;
mod table;

use serde::Serialize;

use crate::checks::{Finding, Status};
use crate::gather::Stats;
use crate::snapshot::Snapshot;

/// How the report should look, beyond its format.
#[derive(Debug, Clone, Copy, Default)]
pub struct Style {
    /// ANSI colors (terminal only, never when NO_COLOR or `--color never`).
    pub color: bool,
}

pub trait Render {
    fn render(&self, report: &Report, style: Style) -> String;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Junit,
    Github,
    Markdown,
}

impl Format {
    pub fn renderer(self) -> &'static dyn Render {
        match self {
            Format::Table => &table::Table,
            Format::Json => &json::Json,
            Format::Junit => &junit::Junit,
            Format::Github => &github::Github,
            Format::Markdown => &markdown::Markdown,
        }
    }
}

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

    /// product.md: 1 when anything failed (or warned, with `--fail-on warn`), else 2 when
    /// anything could not be checked, else 0.
    pub fn exit_code(&self, fail_on_warn: bool) -> u8 {
        if self.fail > 0 || (fail_on_warn && self.warn > 0) {
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
    /// What gathering cost, when the data came from AWS (not from a snapshot file).
    pub stats: Option<Stats>,
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
            stats: None,
        }
    }

    /// `--quiet`: keep only what needs attention (fail and error); the summary keeps its counts.
    pub fn only_failures(mut self) -> Self {
        self.findings
            .retain(|f| matches!(f.status, Status::Fail | Status::Error));
        self
    }

    /// A one-line description of what was checked, for headers and summaries.
    pub fn subject(&self) -> String {
        let t = &self.target;
        match (&t.cluster, &t.service) {
            (Some(c), Some(s)) => format!("service {s} in cluster {c} ({})", t.region),
            _ => format!("task definition {} ({})", t.task_definition, t.region),
        }
    }

    pub fn summary_line(&self) -> String {
        let s = &self.summary;
        format!(
            "{} fail, {} error, {} warn, {} pass, {} skip",
            s.fail, s.error, s.warn, s.pass, s.skip
        )
    }
}
