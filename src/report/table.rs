//! `--format table`: one row per finding, grouped by check, the worst groups first.

use comfy_table::{presets::UTF8_FULL_CONDENSED, ContentArrangement, Table};

use super::Report;
use crate::checks::{Finding, Status, REGISTRY};

fn check_rank(id: &str) -> usize {
    REGISTRY
        .iter()
        .position(|c| c.id == id)
        .unwrap_or(usize::MAX)
}

pub fn render(report: &Report) -> String {
    let mut groups: Vec<(&str, Vec<&Finding>)> = Vec::new();
    for f in &report.findings {
        match groups.iter_mut().find(|(id, _)| *id == f.check) {
            Some((_, rows)) => rows.push(f),
            None => groups.push((f.check, vec![f])),
        }
    }
    for (_, rows) in &mut groups {
        rows.sort_by(|a, b| a.status.cmp(&b.status).then(a.resource.cmp(&b.resource)));
    }
    groups.sort_by_key(|(id, rows)| {
        let worst = rows.iter().map(|f| f.status).min().unwrap_or(Status::Skip);
        (worst, check_rank(id))
    });

    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(vec!["Status", "Check", "Resource", "Finding"]);
    for (_, rows) in groups {
        for f in rows {
            let mut text = f.message.clone();
            if !f.remediation.is_empty() {
                text.push_str("\nFix: ");
                text.push_str(&f.remediation);
            }
            if matches!(f.status, Status::Fail | Status::Warn | Status::Error) {
                text.push_str("\nDocs: ");
                text.push_str(f.docs);
            }
            table.add_row(vec![
                f.status.as_str().to_uppercase(),
                f.check.to_string(),
                f.resource.clone(),
                text,
            ]);
        }
    }
    let t = &report.target;
    let s = &report.summary;
    let what = match (&t.cluster, &t.service) {
        (Some(c), Some(svc)) => format!("service {svc} in cluster {c}"),
        _ => format!("task definition {}", t.task_definition),
    };
    let source = t
        .endpoint_url
        .as_deref()
        .map(|u| format!(", endpoint {u}"))
        .unwrap_or_default();
    format!(
        "{table}\n{what} ({}{source}): {} fail, {} error, {} warn, {} pass, {} skip\n",
        t.region, s.fail, s.error, s.warn, s.pass, s.skip
    )
}
