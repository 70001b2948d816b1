//! `--format markdown`: the table as GitHub-flavoured markdown, for PR comments and the
//! GitHub step summary, then a Mermaid picture of each distinct path of the task subnets.

use super::table::grouped;
use super::{Render, Report, Style};
use crate::checks::Finding;

pub struct Markdown;

/// Table cells cannot hold `|` or line breaks.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
        .replace("\r\n", "<br>")
        .replace('\n', "<br>")
}

fn row(report: &Report, f: &Finding) -> String {
    let mut text = cell(&f.message);
    if !f.remediation.is_empty() {
        text.push_str("<br>**Fix:** ");
        text.push_str(&cell(&f.remediation));
    }
    format!(
        "| {} | `{}` | {} | {} |",
        f.status.as_str().to_uppercase(),
        f.check,
        cell(&report.label(f)),
        text
    )
}

impl Render for Markdown {
    fn render(&self, report: &Report, _style: Style) -> String {
        let mut out = format!(
            "### fargate-preflight: {}\n\n{}\n",
            cell(&report.subject()),
            report.summary_line()
        );
        if !report.findings.is_empty() {
            out.push_str("\n| Status | Check | Resource | Finding |\n| --- | --- | --- | --- |\n");
            for f in grouped(report).into_iter().flatten() {
                out.push_str(&row(report, f));
                out.push('\n');
            }
        }
        for picture in &report.paths {
            let subnets = picture.subnets.join(", ");
            let title = match report.services.is_empty() {
                true => subnets,
                false => format!("{}: {subnets}", picture.workload),
            };
            out.push_str(&format!(
                "\n#### Path of {}\n\n{}",
                cell(&title),
                super::mermaid::flowchart(picture)
            ));
        }
        out
    }
}
