//! `--format table`: one row per finding, grouped by check, the worst groups first; fits the
//! terminal width. A check's passing findings fold into one row unless `--all`: people read
//! this format, and what needs them should not sit below thirty green rows.

use comfy_table::{presets::UTF8_FULL_CONDENSED, Cell, Color, ContentArrangement, Table as Grid};

use super::{Render, Report, Style, SCAN_WIDE};
use crate::checks::{Finding, Status, REGISTRY};

pub struct Table;

fn check_rank(id: &str) -> usize {
    REGISTRY
        .iter()
        .position(|c| c.id == id)
        .unwrap_or(usize::MAX)
}

fn status_color(status: Status) -> Color {
    match status {
        Status::Fail => Color::Red,
        Status::Error => Color::Magenta,
        Status::Warn => Color::Yellow,
        Status::Pass => Color::Green,
        Status::Skip => Color::DarkGrey,
    }
}

fn check_title(id: &str) -> &'static str {
    REGISTRY.iter().find(|c| c.id == id).map_or("", |c| c.title)
}

/// A table row: one finding, or a check's passing findings folded together.
struct Row<'a> {
    first: &'a Finding,
    count: usize,
}

/// One check's rows: every finding that is not a pass, then its passes as one row (or each,
/// with `all`).
fn rows<'a>(group: &[&'a Finding], all: bool) -> Vec<Row<'a>> {
    let (passes, others): (Vec<&Finding>, Vec<&Finding>) =
        group.iter().partition(|f| f.status == Status::Pass);
    let mut rows: Vec<Row> = others
        .into_iter()
        .map(|f| Row { first: f, count: 1 })
        .collect();
    match passes.first() {
        Some(first) if !all => rows.push(Row {
            first,
            count: passes.len(),
        }),
        _ => rows.extend(passes.into_iter().map(|f| Row { first: f, count: 1 })),
    }
    rows.sort_by_key(|r| r.first.status);
    rows
}

/// (service, check id): the rows the table groups together.
type GroupKey<'a> = (Option<&'a str>, &'a str);

/// Findings grouped by service, then by check, the groups with the worst status first.
pub fn grouped(report: &Report) -> Vec<Vec<&Finding>> {
    let mut groups: Vec<(GroupKey, Vec<&Finding>)> = Vec::new();
    for f in &report.findings {
        let key = (f.service.as_deref(), f.check);
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, rows)) => rows.push(f),
            None => groups.push((key, vec![f])),
        }
    }
    for (_, rows) in &mut groups {
        rows.sort_by(|a, b| a.status.cmp(&b.status).then(a.resource.cmp(&b.resource)));
    }
    groups.sort_by_key(|((service, id), rows)| {
        let worst = rows.iter().map(|f| f.status).min().unwrap_or(Status::Skip);
        (*service, worst, check_rank(id))
    });
    groups.into_iter().map(|(_, rows)| rows).collect()
}

/// The message, the fix and (for anything not green) the docs link, on separate lines.
pub fn details(f: &Finding) -> String {
    let mut text = f.message.clone();
    if !f.remediation.is_empty() {
        text.push_str("\nFix: ");
        text.push_str(&f.remediation);
    }
    if matches!(f.status, Status::Fail | Status::Warn | Status::Error) {
        text.push_str("\nDocs: ");
        text.push_str(f.docs);
    }
    text
}

impl Render for Table {
    fn render(&self, report: &Report, style: Style) -> String {
        let mut grid = Grid::new();
        let multi = !report.services.is_empty();
        let mut header = vec!["Status", "Check", "Resource", "Finding"];
        if multi {
            header.insert(0, "Service");
        }
        grid.load_preset(UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_header(header);
        if style.color {
            grid.enforce_styling();
        } else {
            grid.force_no_tty();
        }
        for group in grouped(report) {
            for row in rows(&group, style.all_rows) {
                let f = row.first;
                let mut status = f.status.as_str().to_uppercase();
                if row.count > 1 {
                    status.push_str(&format!(" ×{}", row.count));
                }
                let status = Cell::new(status);
                let status = if style.color {
                    status.fg(status_color(f.status))
                } else {
                    status
                };
                let (resource, finding) = if row.count > 1 {
                    (
                        format!("{} resources", row.count),
                        format!("{} (--all lists each)", check_title(f.check)),
                    )
                } else {
                    (f.resource.clone(), details(f))
                };
                let mut cells = vec![
                    status,
                    Cell::new(f.check),
                    Cell::new(resource),
                    Cell::new(finding),
                ];
                if multi {
                    cells.insert(0, Cell::new(f.service.as_deref().unwrap_or(SCAN_WIDE)));
                }
                grid.add_row(cells);
            }
        }
        let source = report
            .target
            .endpoint_url
            .as_deref()
            .map(|u| format!(", endpoint {u}"))
            .unwrap_or_default();
        let body = if report.findings.is_empty() {
            String::new()
        } else {
            format!("{grid}\n")
        };
        let per_service: String = report
            .services
            .iter()
            .map(|s| {
                format!(
                    "  {}: {} fail, {} error, {} warn, {} pass, {} skip\n",
                    s.service,
                    s.summary.fail,
                    s.summary.error,
                    s.summary.warn,
                    s.summary.pass,
                    s.summary.skip
                )
            })
            .collect();
        format!(
            "{body}{per_service}{}{source}: {}\n",
            report.subject(),
            report.summary_line()
        )
    }
}
