//! `--format json`: the stable document of product.md (keys are only ever added).

use serde::Serialize;

use crate::snapshot::Stats;

use super::{Render, Report, ServiceSummary, Style, Summary, Target};
use crate::checks::Finding;

pub struct Json;

#[derive(Serialize)]
struct Tool {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct Document<'a> {
    schema_version: u32,
    tool: Tool,
    target: &'a Target,
    summary: &'a Summary,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    services: &'a [ServiceSummary],
    findings: &'a [Finding],
    #[serde(skip_serializing_if = "Option::is_none")]
    stats: Option<&'a Stats>,
}

impl Render for Json {
    fn render(&self, report: &Report, _style: Style) -> String {
        let doc = Document {
            schema_version: 1,
            tool: Tool {
                name: env!("CARGO_PKG_NAME"),
                version: env!("CARGO_PKG_VERSION"),
            },
            target: &report.target,
            summary: &report.summary,
            services: &report.services,
            findings: &report.findings,
            stats: report.stats.as_ref(),
        };
        let mut text = serde_json::to_string_pretty(&doc).expect("report serializes");
        text.push('\n');
        text
    }
}
