//! `--format json`: the stable document of product.md.

use serde::Serialize;

use super::{Report, Summary, Target};
use crate::checks::Finding;

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
    findings: &'a [Finding],
}

pub fn render(report: &Report) -> String {
    let doc = Document {
        schema_version: 1,
        tool: Tool {
            name: env!("CARGO_PKG_NAME"),
            version: env!("CARGO_PKG_VERSION"),
        },
        target: &report.target,
        summary: &report.summary,
        findings: &report.findings,
    };
    let mut text = serde_json::to_string_pretty(&doc).expect("report serializes");
    text.push('\n');
    text
}
