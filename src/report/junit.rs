//! `--format junit`: one test suite per check, one test case per finding; fail → failure,
//! error → error, skip → skipped, pass and warn → passed (warn keeps its text in system-out).

use quick_junit::{NonSuccessKind, Report as JunitReport, TestCase, TestCaseStatus, TestSuite};

use super::{Render, Report, Style};
use crate::checks::{Status, REGISTRY};

pub struct Junit;

impl Render for Junit {
    fn render(&self, report: &Report, _style: Style) -> String {
        let mut junit = JunitReport::new("fargate-preflight");
        for check in REGISTRY {
            let findings: Vec<_> = report
                .findings
                .iter()
                .filter(|f| f.check == check.id)
                .collect();
            if findings.is_empty() {
                continue;
            }
            let mut suite = TestSuite::new(check.id);
            for f in findings {
                let text = super::table::details(f);
                let status = match f.status {
                    Status::Fail | Status::Error => {
                        let kind = if f.status == Status::Fail {
                            NonSuccessKind::Failure
                        } else {
                            NonSuccessKind::Error
                        };
                        let mut s = TestCaseStatus::non_success(kind);
                        s.set_message(f.message.clone());
                        s.set_type(f.status.as_str());
                        s.set_description(text.clone());
                        s
                    }
                    Status::Skip => {
                        let mut s = TestCaseStatus::skipped();
                        s.set_message(f.message.clone());
                        s
                    }
                    Status::Pass | Status::Warn => TestCaseStatus::success(),
                };
                let mut case = TestCase::new(report.label(f), status);
                case.set_classname(check.id);
                if f.status == Status::Warn {
                    case.set_system_out(format!("warning: {text}"));
                }
                suite.add_test_case(case);
            }
            junit.add_test_suite(suite);
        }
        let mut xml = junit.to_string().expect("JUnit XML serializes");
        if !xml.ends_with('\n') {
            xml.push('\n');
        }
        xml
    }
}
