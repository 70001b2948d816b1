//! Turning findings into output: one renderer per format behind `Render`. A new format is
//! one file here plus its line in `Format`.

pub mod github;
mod json;
mod junit;
mod markdown;
mod mermaid;
mod sarif;
mod table;

use serde::Serialize;

use crate::checks::{self, Finding, PathPicture, Status};
use crate::snapshot::{Snapshot, Stats};

/// How the report should look, beyond its format.
#[derive(Debug, Clone, Copy, Default)]
pub struct Style {
    /// ANSI colors (terminal only, never when NO_COLOR or `--color never`).
    pub color: bool,
    /// Every finding its own row (`--all`, `--verbose`): the table folds a check's passes.
    pub all_rows: bool,
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
    /// SARIF 2.1.0, for GitHub code scanning.
    Sarif,
}

impl Format {
    pub fn renderer(self) -> &'static dyn Render {
        match self {
            Format::Table => &table::Table,
            Format::Json => &json::Json,
            Format::Junit => &junit::Junit,
            Format::Github => &github::Github,
            Format::Markdown => &markdown::Markdown,
            Format::Sarif => &sarif::Sarif,
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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_definition: Option<String>,
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
    pub fn of<'f>(findings: impl IntoIterator<Item = &'f Finding>) -> Self {
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

    /// Failure when anything failed (or warned, with `--fail-on warn`), else Error when
    /// anything could not be checked, else Success.
    pub fn exit_status(&self, fail_on_warn: bool) -> ExitStatus {
        if self.fail > 0 || (fail_on_warn && self.warn > 0) {
            ExitStatus::Failure
        } else if self.error > 0 {
            ExitStatus::Error
        } else {
            ExitStatus::Success
        }
    }
}

/// The exit codes of docs/product.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Nothing failed.
    Success = 0,
    /// A check failed (or warned, with `--fail-on warn`).
    Failure = 1,
    /// The tool could not do its job: bad input, no access, or a check could not be evaluated.
    Error = 2,
}

impl From<ExitStatus> for std::process::ExitCode {
    fn from(status: ExitStatus) -> Self {
        std::process::ExitCode::from(status as u8)
    }
}

/// One service's share of a multi-service run.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceSummary {
    pub service: String,
    pub task_definition: String,
    pub summary: Summary,
}

/// The service column of a finding about the whole scan (what services share).
pub const SCAN_WIDE: &str = "(all services)";

pub struct Report {
    pub target: Target,
    pub summary: Summary,
    /// Per service, when more than one service was checked.
    pub services: Vec<ServiceSummary>,
    pub findings: Vec<Finding>,
    /// What gathering cost, when the data came from AWS (not from a snapshot file).
    pub stats: Option<Stats>,
    /// The repository file that defines what was checked: where SARIF results point.
    pub artifact: Option<String>,
    /// Each distinct path of the task subnets, for the formats people read.
    pub paths: Vec<PathPicture>,
}

impl Report {
    pub fn new(snapshots: &[Snapshot], scan: checks::Scan) -> Self {
        let checks::Scan { findings, paths } = scan;
        let first = snapshots.first().expect("at least one service");
        let single = snapshots.len() == 1;
        let task_definition = |s: &Snapshot| {
            s.task_definition
                .ok()
                .map(|td| td.arn.clone())
                .unwrap_or_else(|_| s.workload.task_definition.clone())
        };
        let services = if single {
            vec![]
        } else {
            snapshots
                .iter()
                .map(|s| {
                    let name = s.workload.service.clone().unwrap_or_default();
                    let summary = Summary::of(
                        findings
                            .iter()
                            .filter(|f| f.service.as_deref() == Some(name.as_str())),
                    );
                    ServiceSummary {
                        service: name,
                        task_definition: task_definition(s),
                        summary,
                    }
                })
                .collect()
        };
        Report {
            target: Target {
                region: first.region.clone(),
                cluster: first.workload.cluster.clone(),
                service: if single {
                    first.workload.service.clone()
                } else {
                    None
                },
                task_definition: single.then(|| task_definition(first)),
                endpoint_url: first.endpoint_url.clone(),
                gathered_at: first.gathered_at.to_rfc3339(),
            },
            summary: Summary::of(&findings),
            services,
            findings,
            stats: None,
            artifact: None,
            paths,
        }
    }

    /// The resource as text output shows it: prefixed with the service in multi-service runs.
    pub fn label(&self, f: &Finding) -> String {
        match (&f.service, self.services.is_empty()) {
            (Some(service), false) => format!("{service}: {}", f.resource),
            (None, false) => format!("{SCAN_WIDE}: {}", f.resource),
            _ => f.resource.clone(),
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
        match (&t.cluster, &t.service, &t.task_definition) {
            (Some(c), Some(s), _) => format!("service {s} in cluster {c} ({})", t.region),
            (Some(c), None, _) => format!(
                "{} services in cluster {c} ({})",
                self.services.len(),
                t.region
            ),
            (None, _, td) => format!(
                "task definition {} ({})",
                td.as_deref().unwrap_or_default(),
                t.region
            ),
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
