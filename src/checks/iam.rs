//! execution-role: the role ECS uses to pull images, write logs and read secrets must exist,
//! trust ecs-tasks.amazonaws.com and allow each of those requests.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::images::cache_requests;
use super::requests::{execution_requests, TaskRequest, PARTIAL_SECRET_SUFFIX};
use super::{Check, Context, Explain, Outcome, Problem, Severity, Verdict};
use crate::policy::{self, Decision, Request};
use crate::snapshot::{GatherErrorKind, PolicyDocument, Role};

pub static EXECUTION_ROLE: Check = Check {
    id: "execution-role",
    title: "Task execution role exists, trusts ECS tasks and allows pull, logs, secrets and cache",
    severity: Severity::Error,
    docs:
        "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_execution_IAM_role.html",
    run: execution_role,
    explain: Explain {
        verifies: "That the task execution role exists, trusts ecs-tasks.amazonaws.com and its policies allow everything ECS does with it while starting the task.",
        why: "ECS pulls the image, creates the log stream and reads secrets with this role. 'AccessDeniedException … ssm:GetParameters' and log stream errors come from a role missing a permission.",
        decides: "Collects the requests: ECR pull (GetAuthorizationToken and the pull actions on each repository), logs:CreateLogStream / PutLogEvents (and CreateLogGroup with awslogs-create-group), secretsmanager:GetSecretValue / ssm:GetParameters on the referenced ARNs, ecr:BatchImportUpstreamImage and (until the cache repository exists) ecr:CreateRepository for pull-through cache images. Evaluates the attached and inline policies together, and the permissions boundary; conditions it cannot resolve are warnings. SCPs and resource policies cannot be seen.",
        fix: "Attach AmazonECSTaskExecutionRolePolicy and add a statement for the missing actions on the listed resources; fix the trust policy to allow ecs-tasks.amazonaws.com.",
    },
};

/// Everything the execution role must be allowed to do for this task.
fn required(ctx: &Context) -> Result<Vec<TaskRequest>, Problem> {
    let mut requests = execution_requests(ctx)?;
    requests.extend(cache_requests(ctx)?);
    Ok(requests)
}

fn group_of(action: &str) -> &'static str {
    match action {
        "ecr:BatchImportUpstreamImage" | "ecr:CreateRepository" => "pull-through cache",
        a if a.starts_with("ecr:") => "ECR image pull",
        a if a.starts_with("logs:") => "CloudWatch Logs",
        a if a.starts_with("s3:") => "environment files",
        _ => "secrets",
    }
}

fn document(p: &PolicyDocument) -> Result<Value, Problem> {
    let text = p.document.get()?;
    policy::parse_document(text).map_err(|e| Problem::Unreadable {
        what: format!("the policy {}", p.name),
        why: e.to_string(),
    })
}

/// All identity policy statements of the role as one document: IAM allows a request when any
/// statement allows it and none denies it.
fn identity_document(role: &Role) -> Result<Value, Problem> {
    let mut statements = Vec::new();
    for p in role.attached_policies.iter().chain(&role.inline_policies) {
        match document(p)?.get("Statement") {
            Some(Value::Array(items)) => statements.extend(items.iter().cloned()),
            Some(one) => statements.push(one.clone()),
            None => {}
        }
    }
    Ok(json!({ "Statement": statements }))
}

fn statement_for(requests: &[&TaskRequest]) -> String {
    let mut actions: Vec<&str> = requests.iter().map(|r| r.action).collect();
    actions.sort();
    actions.dedup();
    let mut resources: Vec<&str> = requests.iter().map(|r| r.resource.as_str()).collect();
    resources.sort();
    resources.dedup();
    json!({"Effect": "Allow", "Action": actions, "Resource": resources}).to_string()
}

fn execution_role(ctx: &Context) -> Outcome {
    let td = ctx.task_definition()?;
    let needed = required(ctx)?;
    let role = match ctx.snap.execution_role.ok() {
        Ok(role) => role,
        Err(e) if e.kind == GatherErrorKind::NotFound => {
            let arn = td.execution_role_arn.clone().unwrap_or_default();
            return Ok(vec![Verdict::fail(
                arn.as_str(),
                format!("the task definition's execution role {arn} does not exist: ECS cannot pull the image or start the task"),
                format!("create the role with a trust policy for ecs-tasks.amazonaws.com and attach arn:{}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy, or point executionRoleArn at an existing role", ctx.snap.partition()),
            )]);
        }
        Err(e) => return Err(e.clone().into()),
    };
    let Some(role) = role else {
        if needed.is_empty() {
            return Ok(vec![Verdict::pass(
                ctx.scope(),
                "the task needs no execution role (no private ECR image, awslogs or secrets)",
            )]);
        }
        let uses: Vec<String> = needed
            .iter()
            .map(|r| r.why.clone())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        return Ok(vec![Verdict::fail(
            td.arn.as_str(),
            format!("the task definition has no executionRoleArn, but {} need one", uses.join(", ")),
            format!("set executionRoleArn to a role that trusts ecs-tasks.amazonaws.com and has arn:{}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy", ctx.snap.partition()),
        )]);
    };
    let resource = role.arn.clone();
    let mut verdicts = Vec::new();

    // Trust: ECS tasks must be able to assume the role.
    let trust = role
        .trust_policy
        .as_deref()
        .map(policy::parse_document)
        .transpose()
        .map_err(|e| Problem::Unreadable {
            what: format!("the trust policy of {}", role.name),
            why: e.to_string(),
        })?;
    let acct = td.account();
    let trusted = trust.as_ref().map(|doc| {
        policy::evaluate(
            doc,
            &Request {
                action: "sts:AssumeRole",
                resource: &role.arn,
                principal: Some("ecs-tasks.amazonaws.com"),
                context: &[("aws:SourceAccount", acct)],
            },
        )
    });
    let trust_fix = format!(
        "let ECS tasks assume it: aws iam update-assume-role-policy --role-name {} --policy-document '{{\"Version\":\"2012-10-17\",\"Statement\":[{{\"Effect\":\"Allow\",\"Principal\":{{\"Service\":\"ecs-tasks.amazonaws.com\"}},\"Action\":\"sts:AssumeRole\"}}]}}'",
        role.name
    );
    match trusted {
        Some(Decision::Allowed) => {}
        Some(Decision::Uncertain { reasons }) => verdicts.push(Verdict::warn(
            format!("{resource} (trust)"),
            format!("whether ecs-tasks.amazonaws.com may assume {} depends on: {}", role.name, reasons.join("; ")),
            trust_fix,
        )),
        _ => verdicts.push(Verdict::fail(
            format!("{resource} (trust)"),
            format!("{} does not trust ecs-tasks.amazonaws.com: ECS cannot use it to pull images or read secrets", role.name),
            trust_fix,
        )),
    }

    let identity = identity_document(role)?;
    let boundary = role
        .permissions_boundary
        .as_ref()
        .map(document)
        .transpose()?;
    let mut missing: BTreeMap<&str, Vec<&TaskRequest>> = BTreeMap::new();
    let mut uncertain: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut unknown_need: Vec<&TaskRequest> = Vec::new();
    let known = policy::principal_context(&role.arn, &role.tags);
    let context = policy::pairs(&known);
    for r in &needed {
        let mut decisions = vec![r.decide(&identity, None, &context)];
        if let Some(b) = &boundary {
            decisions.push(r.decide(b, None, &context));
        }
        for d in decisions {
            match d {
                Decision::Allowed => {}
                Decision::Uncertain { reasons } => uncertain
                    .entry(group_of(r.action))
                    .or_default()
                    .push(format!(
                        "{} on {}: {}",
                        r.action,
                        r.resource,
                        reasons.join("; ")
                    )),
                // A partial secret ARN: the policy may name the full one, which we cannot know.
                Decision::ImplicitDeny if r.resource.ends_with(PARTIAL_SECRET_SUFFIX) => uncertain
                    .entry(group_of(r.action))
                    .or_default()
                    .push(format!(
                        "{} on {}: the task definition names the secret without its 6-character suffix, so whether a policy naming the full ARN matches cannot be told; use the full ARN in valueFrom",
                        r.action, r.resource
                    )),
                Decision::ExplicitDeny { .. } | Decision::ImplicitDeny if r.need_unknown.is_some() => {
                    unknown_need.push(r);
                }
                Decision::ExplicitDeny { .. } | Decision::ImplicitDeny => {
                    let list = missing.entry(group_of(r.action)).or_default();
                    if !list
                        .iter()
                        .any(|known| known.action == r.action && known.resource == r.resource)
                    {
                        list.push(r);
                    }
                }
            }
        }
    }
    for (group, requests) in &missing {
        let detail: Vec<String> = requests
            .iter()
            .map(|r| format!("{} on {} (for {})", r.action, r.resource, r.why))
            .collect();
        let bounded = if boundary.is_some() {
            " (identity policies and permissions boundary together)"
        } else {
            ""
        };
        verdicts.push(Verdict::fail(
            format!("{resource} ({group})"),
            format!("{} is not allowed{bounded}: {}", role.name, detail.join("; ")),
            format!("add to {}: aws iam put-role-policy --role-name {} --policy-name fargate-{} --policy-document '{{\"Version\":\"2012-10-17\",\"Statement\":[{}]}}'", role.name, role.name, group.replace(' ', "-").to_lowercase(), statement_for(requests)),
        ));
    }
    for r in unknown_need {
        if let Some(error) = &r.need_unknown {
            verdicts.push(Verdict::could_not_check(
                format!(
                    "{resource} ({}: {} for {})",
                    group_of(r.action),
                    r.action,
                    r.why
                ),
                &error.clone().into(),
            ));
        }
    }
    for (group, reasons) in &uncertain {
        if missing.contains_key(group) {
            continue;
        }
        verdicts.push(Verdict::warn(
            format!("{resource} ({group})"),
            format!(
                "whether {} may do this depends on conditions: {}",
                role.name,
                reasons.join("; ")
            ),
            "make sure those conditions hold when ECS uses the role at task start".to_string(),
        ));
    }
    if verdicts.is_empty() {
        let groups: std::collections::BTreeSet<&str> =
            needed.iter().map(|r| group_of(r.action)).collect();
        let allowed = if groups.is_empty() {
            "nothing is needed from it".to_string()
        } else {
            format!(
                "allows {}",
                groups.into_iter().collect::<Vec<_>>().join(", ")
            )
        };
        verdicts.push(Verdict::pass(
            resource,
            format!("{} trusts ecs-tasks.amazonaws.com and {allowed}{}; service control policies and resource policies cannot be seen from here", role.name, if boundary.is_some() { " within its permissions boundary" } else { "" }),
        ));
    }
    Ok(verdicts)
}
