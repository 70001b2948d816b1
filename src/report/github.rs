//! `--format github`: GitHub Actions workflow commands (`::error` for fail and error,
//! `::warning` for warn). main appends the markdown report to `$GITHUB_STEP_SUMMARY`.

use super::{Render, Report, Style};
use crate::checks::Status;

pub struct Github;

/// Workflow command data: `%`, CR and LF must be escaped (GitHub's toolkit `escapeData`).
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Property values additionally escape `:` and `,` (toolkit `escapeProperty`).
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

impl Render for Github {
    fn render(&self, report: &Report, _style: Style) -> String {
        let mut out = String::new();
        for f in &report.findings {
            let command = match f.status {
                Status::Fail | Status::Error => "error",
                Status::Warn => "warning",
                Status::Pass | Status::Skip => continue,
            };
            let mut message = format!("{}: {}", report.label(f), f.message);
            if f.status == Status::Error {
                message.insert_str(0, "could not check: ");
            }
            if !f.remediation.is_empty() {
                message.push_str("\nFix: ");
                message.push_str(&f.remediation);
            }
            message.push_str("\nDocs: ");
            message.push_str(f.docs);
            out.push_str(&format!(
                "::{command} title={}::{}\n",
                escape_property(f.check),
                escape_data(&message)
            ));
        }
        out.push_str(&format!(
            "fargate-preflight: {}: {}\n",
            report.subject(),
            report.summary_line()
        ));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_the_actions_toolkit() {
        assert_eq!(escape_data("100%\r\nnext"), "100%25%0D%0Anext");
        assert_eq!(escape_property("a:b,c%"), "a%3Ab%2Cc%25");
    }
}
