//! The ordered registry of checks. A check is a pure function of the snapshot (through
//! `Context`, which derives shared facts once) that returns findings.

mod context;
mod dns;
mod ecr_images;
mod efs;
mod endpoints;
mod exec;
mod health;
mod iam;
mod images;
mod ingress;
mod nacl;
pub mod netrules;
mod picture;
mod placement;
mod platform;
mod quota;
mod requests;
mod routing;
mod s3;
mod security_groups;
mod start;
mod taskdef;

use serde::Serialize;

pub use context::Context;
pub use picture::{Link, Node, PathPicture};

use crate::snapshot::{GatherError, GatherErrorKind, Snapshot, NOT_IN_SNAPSHOT};

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Fail,
    Error,
    Warn,
    Pass,
    Skip,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Fail => "fail",
            Status::Error => "error",
            Status::Warn => "warn",
            Status::Pass => "pass",
            Status::Skip => "skip",
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// A failure stops tasks from starting.
    Error,
    /// A problem that breaks tasks only in some configurations.
    Warning,
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// The ECS service the finding belongs to (absent for a pre-deploy check).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    pub check: &'static str,
    pub status: Status,
    pub severity: Severity,
    pub resource: String,
    pub message: String,
    pub remediation: String,
    pub docs: &'static str,
    /// Numbers behind the verdict (e.g. health check timing), when the check has them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}

/// What a check hands back before the registry stamps its id, severity and docs on it.
pub struct Verdict {
    pub status: Status,
    pub resource: String,
    pub message: String,
    pub remediation: String,
    pub details: Option<serde_json::Value>,
}

impl Verdict {
    pub fn new(status: Status, resource: impl Into<String>, message: impl Into<String>) -> Self {
        Verdict {
            status,
            resource: resource.into(),
            message: message.into(),
            remediation: String::new(),
            details: None,
        }
    }
    pub fn pass(resource: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(Status::Pass, resource, message)
    }
    pub fn skip(resource: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(Status::Skip, resource, message)
    }
    pub fn fail(
        resource: impl Into<String>,
        message: impl Into<String>,
        remediation: impl Into<String>,
    ) -> Self {
        Self::new(Status::Fail, resource, message).fix(remediation)
    }
    pub fn warn(
        resource: impl Into<String>,
        message: impl Into<String>,
        remediation: impl Into<String>,
    ) -> Self {
        Self::new(Status::Warn, resource, message).fix(remediation)
    }
    pub fn fix(mut self, remediation: impl Into<String>) -> Self {
        self.remediation = remediation.into();
        self
    }
    /// The one constructor of `error` verdicts.
    pub fn could_not_check(resource: impl Into<String>, problem: &Problem) -> Self {
        Self::new(Status::Error, resource, problem.message()).fix(problem.remediation())
    }

    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }
}

/// A check either judges, or says why it could not.
pub type Outcome = Result<Vec<Verdict>, Problem>;

/// Why a check could not judge. Each kind has its own message and remediation, built in one
/// place (`Verdict::could_not_check`), so "could not check" never reads like a verdict.
#[derive(Debug, Clone, PartialEq)]
pub enum Problem {
    /// Data the check needs was not gathered: denied, unavailable, or not in this snapshot.
    NotGathered(GatherError),
    /// A resource the configuration references does not exist.
    Missing {
        resource: String,
        referenced_by: String,
    },
    /// Gathered data that cannot be read, such as a policy document that does not parse.
    Unreadable { what: String, why: String },
}

impl From<GatherError> for Problem {
    fn from(error: GatherError) -> Self {
        Problem::NotGathered(error)
    }
}

impl Problem {
    /// Data an older snapshot file does not hold.
    pub fn not_in_snapshot(what: &str) -> Self {
        Problem::NotGathered(GatherError {
            action: NOT_IN_SNAPSHOT.into(),
            kind: GatherErrorKind::Skipped,
            message: format!("{what} is not in this snapshot"),
        })
    }

    pub fn missing(resource: impl Into<String>, referenced_by: impl Into<String>) -> Self {
        Problem::Missing {
            resource: resource.into(),
            referenced_by: referenced_by.into(),
        }
    }

    fn message(&self) -> String {
        match self {
            Problem::NotGathered(e) => format!("could not evaluate: {}", e.describe()),
            Problem::Missing {
                resource,
                referenced_by,
            } => format!("could not evaluate: {resource} ({referenced_by}) does not exist"),
            Problem::Unreadable { what, why } => format!("could not read {what}: {why}"),
        }
    }

    fn remediation(&self) -> String {
        match self {
            Problem::NotGathered(e) => match e.kind {
                GatherErrorKind::Denied => format!(
                    "allow {} for the identity running fargate-preflight (see the README's IAM policy), then run again",
                    e.action
                ),
                GatherErrorKind::Unavailable => format!(
                    "run again; if {} keeps failing, check the AWS endpoint in use (--endpoint-url / AWS_ENDPOINT_URL, shown in the report) and network access to it",
                    e.action
                ),
                GatherErrorKind::NotFound => format!(
                    "the resource {} looked for does not exist ({}): fix the reference to it",
                    e.action, e.message
                ),
                GatherErrorKind::Skipped if e.action == NOT_IN_SNAPSHOT => {
                    "take the snapshot again with this version (fargate-preflight snapshot … --output FILE), then check it".to_string()
                }
                GatherErrorKind::Skipped => format!(
                    "fix what kept {} from being called ({}), then run again",
                    e.action, e.message
                ),
            },
            Problem::Missing {
                resource,
                referenced_by,
            } => format!("create {resource}, or change {referenced_by} to name one that exists"),
            Problem::Unreadable { what, .. } => {
                format!("fix {what} so that it is a valid IAM policy document (JSON)")
            }
        }
    }
}

pub struct Check {
    pub id: &'static str,
    pub title: &'static str,
    pub severity: Severity,
    /// The AWS page the rule follows.
    pub docs: &'static str,
    pub run: fn(&Context) -> Outcome,
    /// What `explain ID` prints: the check's own account of itself.
    pub explain: Explain,
}

pub struct Explain {
    pub verifies: &'static str,
    /// The pitfall: what goes wrong in a deploy when this is not right.
    pub why: &'static str,
    pub decides: &'static str,
    pub fix: &'static str,
}

impl Check {
    pub fn explanation(&self) -> String {
        let e = &self.explain;
        format!(
            "{id}: {title}\n\nWhat it verifies\n  {}\n\nWhy it matters\n  {}\n\nHow it decides\n  {}\n\nFix\n  {}\n\nAWS documentation\n  {docs}\n",
            e.verifies,
            e.why,
            e.decides,
            e.fix,
            id = self.id,
            title = self.title,
            docs = self.docs
        )
    }
}

/// The checks as a markdown table (`checks --format markdown`): the README's table is this text.
pub fn markdown_table() -> String {
    let cell = |text: &str| text.replace('|', "\\|").replace('\n', " ");
    let mut out =
        String::from("| id | severity | verifies | how it decides |\n| --- | --- | --- | --- |\n");
    for c in REGISTRY {
        let severity = match c.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        out.push_str(&format!(
            "| [{}]({}) | {severity} | {} | {} |\n",
            c.id,
            c.docs,
            cell(c.explain.verifies),
            cell(c.explain.decides)
        ));
    }
    out
}

pub fn find(id: &str) -> Option<&'static Check> {
    REGISTRY.iter().copied().find(|c| c.id == id)
}

/// Evaluation order is this order (product.md).
pub static REGISTRY: &[&Check] = &[
    &taskdef::TASK_DEFINITION,
    &platform::PLATFORM_VERSION,
    &dns::VPC_DNS,
    &dns::DHCP_DNS,
    &routing::ROUTE_TABLE,
    &routing::EGRESS_PATH,
    &endpoints::ECR_API_ENDPOINT,
    &endpoints::ECR_DKR_ENDPOINT,
    &s3::S3_GATEWAY_ENDPOINT,
    &s3::S3_GATEWAY_ROUTE,
    &s3::S3_ENDPOINT_POLICY,
    &endpoints::ENDPOINT_PRIVATE_DNS,
    &security_groups::ENDPOINT_SECURITY_GROUPS,
    &nacl::NETWORK_ACL,
    &endpoints::LOGS_ENDPOINT,
    &endpoints::SECRETS_ENDPOINTS,
    &endpoints::EXEC_ENDPOINT,
    &exec::ECS_EXEC,
    &images::PUBLIC_IMAGE,
    &images::PULL_THROUGH_CACHE,
    &ecr_images::IMAGE_EXISTS,
    &ecr_images::IMAGE_PLATFORM,
    &iam::EXECUTION_ROLE,
    &iam::TASK_ROLE,
    &start::SECRETS_EXIST,
    &start::KMS_KEYS,
    &start::LOG_GROUP,
    &start::ENVIRONMENT_FILES,
    &efs::EFS_VOLUMES,
    &placement::SUBNET_CAPACITY,
    &placement::DEPLOYMENT_CONFIGURATION,
    &quota::FARGATE_QUOTA,
    &health::HEALTH_CHECK_TIMING,
    &health::HEALTH_CHECK_GRACE,
    &ingress::LOAD_BALANCER_INGRESS,
    &health::CONTAINER_HEALTH_CHECK,
];

/// What the user tells the checks that AWS cannot.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Seconds the application needs until its health endpoint answers.
    pub startup_time: Option<u32>,
    /// Run only these check ids (empty: all).
    pub only: Vec<String>,
    /// Do not run these check ids.
    pub skip: Vec<String>,
}

impl Options {
    fn selects(&self, id: &str) -> bool {
        (self.only.is_empty() || self.only.iter().any(|o| o == id))
            && !self.skip.iter().any(|s| s == id)
    }
}

/// A rule over a whole cluster scan: what its services ask, together, of what they share.
/// Its findings name no service.
pub struct ScanCheck {
    pub check: &'static Check,
    pub run: fn(&[Context]) -> Vec<Verdict>,
}

/// Run after every service's own checks, in this order.
pub static SCAN_REGISTRY: &[ScanCheck] = &[
    ScanCheck {
        check: &placement::SUBNET_CAPACITY,
        run: placement::shared_subnets,
    },
    ScanCheck {
        check: &quota::FARGATE_QUOTA,
        run: quota::shared_quota,
    },
];

/// What a run found, and the path of the task subnets it judged (drawn from the same facts).
pub struct Scan {
    pub findings: Vec<Finding>,
    pub paths: Vec<PathPicture>,
}

/// Every check on every service, then (for more than one service) the scan-wide rules;
/// then each service's distinct task-subnet paths, with the links its failing findings break.
pub fn run_scan(snapshots: &[Snapshot], options: &Options) -> Scan {
    let contexts: Vec<Context> = snapshots.iter().map(|s| Context::new(s, options)).collect();
    let mut findings: Vec<Finding> = contexts.iter().flat_map(run_context).collect();
    if contexts.len() > 1 {
        for scan in SCAN_REGISTRY.iter().filter(|s| options.selects(s.check.id)) {
            findings.extend(
                (scan.run)(&contexts)
                    .into_iter()
                    .map(|v| finding(scan.check, None, v)),
            );
        }
    }
    let paths = contexts
        .iter()
        .flat_map(|ctx| {
            let own: Vec<Finding> = findings
                .iter()
                .filter(|f| f.service == ctx.snap.workload.service)
                .cloned()
                .collect();
            picture::pictures(ctx, &own)
        })
        .collect();
    Scan { findings, paths }
}

pub fn run_all(snapshot: &Snapshot, options: &Options) -> Vec<Finding> {
    run_context(&Context::new(snapshot, options))
}

fn run_context(ctx: &Context) -> Vec<Finding> {
    let mut findings = Vec::new();
    for check in REGISTRY.iter().filter(|c| ctx.options.selects(c.id)) {
        let verdicts = (check.run)(ctx)
            .unwrap_or_else(|problem| vec![Verdict::could_not_check(ctx.scope(), &problem)]);
        let mut rows: Vec<Finding> = verdicts
            .into_iter()
            .map(|v| finding(check, ctx.snap.workload.service.clone(), v))
            .collect();
        rows.sort_by(|a, b| a.resource.cmp(&b.resource));
        findings.extend(rows);
    }
    findings
}

fn finding(check: &'static Check, service: Option<String>, v: Verdict) -> Finding {
    Finding {
        service,
        check: check.id,
        status: v.status,
        severity: check.severity,
        resource: v.resource,
        message: v.message,
        remediation: v.remediation,
        docs: check.docs,
        details: v.details,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_documented() {
        let mut ids: Vec<&str> = REGISTRY.iter().map(|c| c.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), REGISTRY.len());
        for c in REGISTRY {
            assert!(
                c.docs.starts_with("https://docs.aws.amazon.com/"),
                "{}",
                c.id
            );
            assert!(!c.title.is_empty(), "{}", c.id);
        }
    }

    #[test]
    fn could_not_check_says_what_to_do_by_kind() {
        let gap = |action: &str, kind| {
            Problem::from(GatherError {
                action: action.into(),
                kind,
                message: "m".into(),
            })
        };
        let fix = |p: Problem| Verdict::could_not_check("r", &p);
        let denied = fix(gap("ec2:DescribeSubnets", GatherErrorKind::Denied));
        assert_eq!(denied.status, Status::Error);
        assert!(denied.remediation.starts_with("allow ec2:DescribeSubnets"));
        let old = fix(gap(NOT_IN_SNAPSHOT, GatherErrorKind::Skipped));
        assert!(
            old.remediation.contains("take the snapshot again"),
            "{}",
            old.remediation
        );
        let down = fix(gap("ecs:DescribeServices", GatherErrorKind::Unavailable));
        assert!(
            down.remediation.contains("--endpoint-url"),
            "{}",
            down.remediation
        );
        let missing = fix(Problem::missing(
            "subnet-0abc in vpc-1",
            "a subnet of the service",
        ));
        assert!(missing
            .message
            .contains("subnet-0abc in vpc-1 (a subnet of the service) does not exist"));
        assert!(
            !missing.remediation.contains("allow "),
            "{}",
            missing.remediation
        );
        let unreadable = fix(Problem::Unreadable {
            what: "the policy p".into(),
            why: "not JSON".into(),
        });
        assert!(unreadable
            .message
            .starts_with("could not read the policy p"));
        assert!(!unreadable.remediation.contains("allow "));
    }

    #[test]
    fn every_check_explains_itself() {
        for c in REGISTRY {
            let e = &c.explain;
            for (field, text) in [
                ("verifies", e.verifies),
                ("why", e.why),
                ("decides", e.decides),
                ("fix", e.fix),
            ] {
                assert!(text.trim().len() > 20, "{}: explain.{field} is empty", c.id);
            }
        }
    }
}
