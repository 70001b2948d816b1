//! diagnose: from what a failed deploy left behind (stopped tasks' reasons, service events, or
//! a pasted message) to the patterns the texts match and the check findings that explain them.

pub mod patterns;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::checks::{Finding, Status};
use crate::snapshot::{StoppedTask, Workload};
use patterns::{Pattern, PATTERNS};

/// Lower case, white space runs as one space: the form patterns are matched in.
pub fn normalize(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// The patterns `text` matches, in table order.
pub fn matching(text: &str) -> Vec<&'static Pattern> {
    let text = normalize(text);
    PATTERNS
        .iter()
        .filter(|p| {
            p.all_of
                .iter()
                .all(|group| group.iter().any(|phrase| text.contains(phrase)))
        })
        .collect()
}

/// Phrases of service events that report a failure; steady-state and progress messages
/// ("has reached a steady state", "has started 1 tasks", "registered 1 targets") have none.
const FAILURE_EVENT: &[&str] = &[
    "unable to",
    "unhealthy",
    "failed",
    "rolling back",
    "rolled back",
    "circuit breaker",
    "insufficient",
    "reached the limit",
    "capacity is unavailable",
];

pub fn is_failure_event(message: &str) -> bool {
    let text = normalize(message);
    FAILURE_EVENT.iter().any(|p| text.contains(p))
}

/// A failure as the account recorded it.
pub struct Occurrence {
    /// `stopped-task` or `service-event`.
    pub source: &'static str,
    /// The task ARN or the event id.
    pub id: String,
    pub at: Option<DateTime<Utc>>,
    pub text: String,
    /// A stopped task's task definition and subnets.
    pub task_definition: Option<String>,
    pub subnets: Vec<String>,
    /// A stopped task's task definition, when it is not the service's current one.
    pub stale_task_definition: bool,
}

/// What the service left behind that reports a failure: the stopped tasks ECS did not stop on
/// purpose, then the failure events, each newest first as ECS lists them.
pub fn occurrences(workload: &Workload, stopped: &[StoppedTask]) -> Vec<Occurrence> {
    let tasks = stopped.iter().filter_map(|task| {
        Some(Occurrence {
            source: "stopped-task",
            id: task.arn.clone(),
            at: task.stopped_at,
            text: stopped_task_failure(task)?,
            task_definition: Some(task.task_definition.clone()),
            subnets: task.subnets.clone(),
            stale_task_definition: task.task_definition != workload.task_definition,
        })
    });
    let events = workload
        .events
        .iter()
        .filter(|e| is_failure_event(&e.message))
        .map(|e| Occurrence {
            source: "service-event",
            id: e.id.clone(),
            at: e.created_at,
            text: e.message.clone(),
            task_definition: None,
            subnets: vec![],
            stale_task_definition: false,
        });
    tasks.chain(events).collect()
}

/// A stopped task's failure text: its reason and each container's, unless it was stopped on
/// purpose (by a user or an API call, or a deployment scaling in).
fn stopped_task_failure(task: &StoppedTask) -> Option<String> {
    let reason = task.stopped_reason.as_deref().unwrap_or_default();
    let on_purpose = task.stop_code.as_deref() == Some("UserInitiated")
        || reason.starts_with("Scaling activity initiated by");
    if reason.is_empty() || on_purpose {
        return None;
    }
    let mut parts = vec![reason.to_string()];
    for c in &task.containers {
        if let Some(r) = &c.reason {
            parts.push(format!("container {}: {r}", c.name));
        }
        if let Some(code) = c.exit_code.filter(|c| *c != 0) {
            parts.push(format!("container {} exit code {code}", c.name));
        }
    }
    Some(parts.join("; "))
}

#[derive(Debug, Serialize)]
pub struct Failure {
    pub source: &'static str,
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<DateTime<Utc>>,
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_definition: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub subnets: Vec<String>,
    pub stale_task_definition: bool,
    pub patterns: Vec<&'static str>,
    pub checks: Vec<&'static str>,
    /// The findings of those checks that are not a pass, failing ones first.
    pub explained_by: Vec<Finding>,
    pub explained: bool,
    /// What it means when nothing explains it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Each occurrence with its patterns and the findings of their checks.
pub fn explain(occurrences: Vec<Occurrence>, findings: &[Finding]) -> Vec<Failure> {
    occurrences
        .into_iter()
        .map(|o| {
            let patterns = matching(&o.text);
            let mut checks: Vec<&'static str> = Vec::new();
            for c in patterns.iter().flat_map(|p| p.checks.iter().copied()) {
                if !checks.contains(&c) {
                    checks.push(c);
                }
            }
            let mut explained_by: Vec<Finding> = findings
                .iter()
                .filter(|f| checks.contains(&f.check))
                .filter(|f| matches!(f.status, Status::Fail | Status::Error | Status::Warn))
                .cloned()
                .collect();
            // Status orders fail, error, warn: the failing ones first.
            explained_by.sort_by_key(|f| f.status);
            let explained = !explained_by.is_empty();
            let note = if patterns.is_empty() {
                Some("unmatched: no known failure pattern".to_string())
            } else if checks.is_empty() {
                Some(format!(
                    "no check of this version decides it: {}",
                    patterns
                        .iter()
                        .map(|p| p.description)
                        .collect::<Vec<_>>()
                        .join(" ")
                ))
            } else if !explained {
                Some(format!(
                    "not explained by the current configuration: {} pass. Likely causes outside what the tool can see: the configuration was fixed since, a service control policy or resource policy, or the application itself",
                    checks.join(", ")
                ))
            } else {
                None
            };
            Failure {
                source: o.source,
                id: o.id,
                at: o.at,
                text: o.text,
                task_definition: o.task_definition,
                subnets: o.subnets,
                stale_task_definition: o.stale_task_definition,
                patterns: patterns.iter().map(|p| p.id).collect(),
                checks,
                explained_by,
                explained,
                note,
            }
        })
        .collect()
}

#[derive(Debug, Serialize)]
pub struct Match {
    pub pattern: &'static str,
    pub description: &'static str,
    pub checks: &'static [&'static str],
}

/// `diagnose --error TEXT --format json`.
pub fn matches_document(text: &str) -> serde_json::Value {
    let matches: Vec<Match> = matching(text)
        .into_iter()
        .map(|p| Match {
            pattern: p.id,
            description: p.description,
            checks: p.checks,
        })
        .collect();
    serde_json::json!({"schema_version": 1, "matches": matches})
}

/// `diagnose --error TEXT` for people: each pattern, what it means and the checks that decide
/// it, with their own account of themselves.
pub fn matches_text(text: &str) -> String {
    let found = matching(text);
    if found.is_empty() {
        return "No known failure pattern matches this text.\n".to_string();
    }
    let mut out = String::new();
    for p in found {
        out.push_str(&format!("{}\n  {}\n", p.id, p.description));
        if p.checks.is_empty() {
            out.push_str("  No check of this version decides it.\n");
        }
        for id in p.checks {
            if let Some(check) = crate::checks::find(id) {
                out.push_str(&format!(
                    "  - {id}: {}\n    {}\n",
                    check.title, check.explain.decides
                ));
            }
        }
        out.push('\n');
    }
    out
}

/// The failures for people (table and markdown formats), before the preflight's own report.
pub fn failures_text(failures: &[Failure]) -> String {
    if failures.is_empty() {
        return "No recent failure: no stopped task with a reason and no failure event.\n\n"
            .to_string();
    }
    let mut out = String::new();
    for f in failures {
        let at = f.at.map(|t| t.to_rfc3339()).unwrap_or_default();
        let stale = if f.stale_task_definition {
            " (an older task definition than the service's current one)"
        } else {
            ""
        };
        out.push_str(&format!(
            "{} {} {at}{stale}\n  {}\n",
            f.source, f.id, f.text
        ));
        if !f.patterns.is_empty() {
            out.push_str(&format!("  pattern: {}\n", f.patterns.join(", ")));
        }
        for finding in &f.explained_by {
            out.push_str(&format!(
                "  {} {} {}: {}\n",
                finding.status.as_str().to_uppercase(),
                finding.check,
                finding.resource,
                finding.message
            ));
            if !finding.remediation.is_empty() {
                out.push_str(&format!("    fix: {}\n", finding.remediation));
            }
        }
        if let Some(note) = &f.note {
            out.push_str(&format!("  {note}\n"));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching_ignores_case_and_wrapping() {
        let text = "CannotPullContainerError: pull image manifest has been retried 5 time(s):\n  failed to resolve ref 123456789012.dkr.ecr.us-east-1.amazonaws.com/web:1.1: NOT FOUND";
        let ids: Vec<&str> = matching(text).iter().map(|p| p.id).collect();
        assert_eq!(ids, ["image-not-found"]);
    }

    /// Real failure texts from the ECS docs and from users' reports, each with its source.
    #[derive(serde::Deserialize)]
    struct RealText {
        pattern: String,
        text: String,
        source: String,
        #[serde(default)]
        also: Vec<String>,
    }

    fn real_texts() -> Vec<RealText> {
        serde_json::from_str(include_str!("failure_texts.json")).unwrap()
    }

    #[test]
    fn real_texts_match_their_pattern_and_no_other() {
        for t in real_texts() {
            let found: Vec<&str> = matching(&t.text).iter().map(|p| p.id).collect();
            let mut expected: Vec<&str> = if t.pattern == "steady-state" {
                vec![]
            } else {
                std::iter::once(t.pattern.as_str())
                    .chain(t.also.iter().map(String::as_str))
                    .collect()
            };
            expected.sort_by_key(|id| PATTERNS.iter().position(|p| p.id == *id));
            assert_eq!(found, expected, "{} ({})", t.text, t.source);
        }
    }

    #[test]
    fn every_pattern_has_two_real_variants() {
        let texts = real_texts();
        for p in PATTERNS {
            let n = texts.iter().filter(|t| t.pattern == p.id).count();
            assert!(n >= 2, "{}: {n} real texts", p.id);
        }
    }

    #[test]
    fn steady_state_events_are_not_failures() {
        for t in real_texts().iter().filter(|t| t.pattern == "steady-state") {
            assert!(!is_failure_event(&t.text), "{}", t.text);
        }
    }

    #[test]
    fn every_check_a_pattern_names_exists() {
        for p in PATTERNS {
            for id in p.checks {
                assert!(crate::checks::find(id).is_some(), "{}: {id}", p.id);
            }
        }
    }

    #[test]
    fn failure_events_are_told_from_steady_state() {
        assert!(is_failure_event("(service web) was unable to place a task because no container instance met all of its requirements."));
        assert!(!is_failure_event(
            "(service web) has reached a steady state."
        ));
        assert!(!is_failure_event(
            "(service web) has started 1 tasks: (task 0123)."
        ));
    }
}
