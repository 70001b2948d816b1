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
        a if a.starts_with("ssmmessages:") => "ECS Exec",
        "s3:PutObject" | "s3:GetEncryptionConfiguration" => "ECS Exec logging",
        a if a.starts_with("logs:") => "CloudWatch Logs",
        a if a.starts_with("s3:") => "environment files",
        a if a.starts_with("elasticfilesystem:") => "EFS",
        a if a.starts_with("kms:") => "KMS",
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

/// The role's identity policies, within its permissions boundary, on one request; `extra` adds
/// to the role's own context (e.g. kms:ViaService).
pub(super) fn role_decides(
    role: &Role,
    action: &str,
    resource: &str,
    extra: &[(&str, &str)],
) -> Result<Decision, Problem> {
    let known = policy::principal_context(&role.arn, &role.tags);
    let mut context = policy::pairs(&known);
    context.extend_from_slice(extra);
    let request = Request {
        action,
        resource,
        principal: None,
        context: &context,
    };
    let identity = policy::evaluate(&identity_document(role)?, &request);
    let Some(boundary) = &role.permissions_boundary else {
        return Ok(identity);
    };
    let bounded = policy::evaluate(&document(boundary)?, &request);
    Ok(worse(identity, bounded))
}

/// Of two decisions that must both allow, the one that stops the request.
pub(super) fn worse(a: Decision, b: Decision) -> Decision {
    let rank = |d: &Decision| match d {
        Decision::ExplicitDeny { .. } => 0,
        Decision::ImplicitDeny => 1,
        Decision::Uncertain { .. } => 2,
        Decision::Allowed => 3,
    };
    if rank(&b) < rank(&a) {
        b
    } else {
        a
    }
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
    let mut verdicts: Vec<Verdict> = trust_verdict(ctx, role, "pull images or read secrets")?
        .into_iter()
        .collect();
    let boundary = role.permissions_boundary.is_some();
    verdicts.extend(permission_verdicts(role, &needed)?);
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
            format!("{} trusts ecs-tasks.amazonaws.com and {allowed}{}; service control policies and resource policies cannot be seen from here", role.name, if boundary { " within its permissions boundary" } else { "" }),
        ));
    }
    Ok(verdicts)
}

/// Whether `principal` (a service) may assume the role with trust policy `trust`. The service
/// passes aws:SourceAccount; which aws:SourceArn it passes is not documented, so conditions on
/// it stay uncertain rather than guessed.
pub(super) fn may_assume(
    name: &str,
    arn: &str,
    trust: &str,
    principal: &str,
    account: &str,
) -> Result<Decision, Problem> {
    let doc = policy::parse_document(trust).map_err(|e| Problem::Unreadable {
        what: format!("the trust policy of {name}"),
        why: e.to_string(),
    })?;
    Ok(policy::evaluate(
        &doc,
        &Request {
            action: "sts:AssumeRole",
            resource: arn,
            principal: Some(principal),
            context: &[("aws:SourceAccount", account)],
        },
    ))
}

/// Can ECS tasks assume `role`? `None` when they can; a fail or warn otherwise. `uses` says
/// what the role is for ("pull images or read secrets").
pub(super) fn trust_verdict(
    ctx: &Context,
    role: &Role,
    uses: &str,
) -> Result<Option<Verdict>, Problem> {
    let td = ctx.task_definition()?;
    let trusted = role
        .trust_policy
        .as_deref()
        .map(|doc| {
            may_assume(
                &role.name,
                &role.arn,
                doc,
                "ecs-tasks.amazonaws.com",
                td.account(),
            )
        })
        .transpose()?;
    let trust_fix = format!(
        "let ECS tasks assume it: aws iam update-assume-role-policy --role-name {} --policy-document '{{\"Version\":\"2012-10-17\",\"Statement\":[{{\"Effect\":\"Allow\",\"Principal\":{{\"Service\":\"ecs-tasks.amazonaws.com\"}},\"Action\":\"sts:AssumeRole\"}}]}}'",
        role.name
    );
    let resource = format!("{} (trust)", role.arn);
    Ok(match trusted {
        Some(Decision::Allowed) => None,
        Some(Decision::Uncertain { reasons }) => Some(Verdict::warn(
            resource,
            format!(
                "whether ecs-tasks.amazonaws.com may assume {} depends on: {}",
                role.name,
                reasons.join("; ")
            ),
            trust_fix,
        )),
        _ => Some(Verdict::fail(
            resource,
            format!(
                "{} does not trust ecs-tasks.amazonaws.com: ECS cannot use it to {uses}",
                role.name
            ),
            trust_fix,
        )),
    })
}

/// Each request the role's policies (with its permissions boundary) do not allow: a fail per
/// group of missing actions, a warn per group that hangs on conditions, an error where the
/// need itself could not be checked.
pub(super) fn permission_verdicts(
    role: &Role,
    needed: &[TaskRequest],
) -> Result<Vec<Verdict>, Problem> {
    let resource = role.arn.clone();
    let mut verdicts = Vec::new();
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
    for r in needed {
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
    Ok(verdicts)
}

pub static TASK_ROLE: Check = Check {
    id: "task-role",
    title: "The task role exists and trusts ECS tasks",
    severity: Severity::Error,
    docs: "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html",
    run: task_role,
    explain: Explain {
        verifies: "That the taskRoleArn of the task definition names a role that exists and lets ecs-tasks.amazonaws.com assume it.",
        why: "A missing role or a trust policy for another service stops the task with 'ECS was unable to assume the role … that was provided for this task'.",
        decides: "Evaluates the trust policy for sts:AssumeRole by ecs-tasks.amazonaws.com with aws:SourceAccount set to the task's account; conditions on other keys (aws:SourceArn, whose value ECS does not document) are warnings. No task role: skipped here; efs-volumes and ecs-exec fail when they need one.",
        fix: "Create the role with a trust policy for ecs-tasks.amazonaws.com (aws iam update-assume-role-policy …), or point taskRoleArn at one that has it.",
    },
};

/// The task role, or the verdict that says why there is none to use for `need`.
pub(super) fn task_role_for<'c>(
    ctx: &'c Context,
    need: &str,
) -> Result<Result<&'c Role, Verdict>, Problem> {
    let td = ctx.task_definition()?;
    let Some(arn) = td.task_role_arn.as_deref() else {
        return Ok(Err(Verdict::fail(
            td.arn.as_str(),
            format!("{need} runs with the task role, and the task definition has no taskRoleArn"),
            "set taskRoleArn to a role that trusts ecs-tasks.amazonaws.com and allows what it needs (see the other findings of this check)",
        )));
    };
    match ctx.snap.task_role.ok() {
        Ok(Some(role)) => Ok(Ok(role)),
        Err(e) if e.kind == GatherErrorKind::NotFound => Ok(Err(Verdict::fail(
            arn,
            format!("{need} runs with the task role {arn}, which does not exist"),
            "create the role, or point taskRoleArn at an existing one",
        ))),
        Err(e) => Err(e.clone().into()),
        Ok(None) => Err(Problem::NotGathered(crate::snapshot::GatherError {
            action: "iam:GetRole".into(),
            kind: GatherErrorKind::Skipped,
            message: format!("the task role {arn} was not looked up"),
        })),
    }
}

fn task_role(ctx: &Context) -> Outcome {
    let td = ctx.task_definition()?;
    let Some(arn) = td.task_role_arn.as_deref() else {
        return Ok(vec![Verdict::skip(
            ctx.scope(),
            "the task definition names no taskRoleArn (efs-volumes and ecs-exec fail if they need one)",
        )]);
    };
    let role = match ctx.snap.task_role.ok() {
        Ok(Some(role)) => role,
        Err(e) if e.kind == GatherErrorKind::NotFound => {
            return Ok(vec![Verdict::fail(
                arn,
                format!("the task role {arn} does not exist: the task stops with 'ECS was unable to assume the role'"),
                format!("create it with a trust policy for ecs-tasks.amazonaws.com (aws iam create-role --role-name {} --assume-role-policy-document '{{\"Version\":\"2012-10-17\",\"Statement\":[{{\"Effect\":\"Allow\",\"Principal\":{{\"Service\":\"ecs-tasks.amazonaws.com\"}},\"Action\":\"sts:AssumeRole\"}}]}}'), or point taskRoleArn at an existing role", arn.rsplit('/').next().unwrap_or(arn)),
            )]);
        }
        Err(e) => return Err(e.clone().into()),
        Ok(None) => {
            return Err(Problem::NotGathered(crate::snapshot::GatherError {
                action: "iam:GetRole".into(),
                kind: GatherErrorKind::Skipped,
                message: format!("the task role {arn} was not looked up"),
            }))
        }
    };
    Ok(vec![
        match trust_verdict(ctx, role, "run the task's containers with it")? {
            Some(v) => v,
            None => Verdict::pass(
                role.arn.as_str(),
                format!("{} trusts ecs-tasks.amazonaws.com", role.name),
            ),
        },
    ])
}

/// What the role's own policies (within its permissions boundary) say to one request.
pub(super) fn identity_decision(
    role: &Role,
    action: &str,
    resource: &str,
    context: &[(&str, &str)],
) -> Result<Decision, Problem> {
    let request = Request {
        action,
        resource,
        principal: None,
        context,
    };
    let identity = policy::evaluate(&identity_document(role)?, &request);
    let Some(boundary) = &role.permissions_boundary else {
        return Ok(identity);
    };
    let bounded = policy::evaluate(&document(boundary)?, &request);
    Ok(match (identity, bounded) {
        (d @ Decision::ExplicitDeny { .. }, _) | (_, d @ Decision::ExplicitDeny { .. }) => d,
        (Decision::Allowed, Decision::Allowed) => Decision::Allowed,
        (Decision::ImplicitDeny, _) | (_, Decision::ImplicitDeny) => Decision::ImplicitDeny,
        (Decision::Uncertain { mut reasons }, Decision::Uncertain { reasons: more }) => {
            reasons.extend(more);
            Decision::Uncertain { reasons }
        }
        (d @ Decision::Uncertain { .. }, _) | (_, d @ Decision::Uncertain { .. }) => d,
    })
}

/// Whether a Deny of the role's policies (or its boundary) applies to one request.
pub(super) fn identity_decision_of_denies(
    role: &Role,
    action: &str,
    resource: &str,
    context: &[(&str, &str)],
) -> Result<Decision, Problem> {
    let request = Request {
        action,
        resource,
        principal: None,
        context,
    };
    let mut decision = policy::evaluate(&policy::denies_only(&identity_document(role)?), &request);
    if let Some(boundary) = &role.permissions_boundary {
        let bounded = policy::evaluate(&policy::denies_only(&document(boundary)?), &request);
        decision = match (decision, bounded) {
            (d @ Decision::ExplicitDeny { .. }, _) | (_, d @ Decision::ExplicitDeny { .. }) => d,
            (d @ Decision::Uncertain { .. }, _) | (_, d @ Decision::Uncertain { .. }) => d,
            (d, _) => d,
        };
    }
    Ok(decision)
}
