//! ecs-exec: with enableExecuteCommand on, the task can open Exec sessions: the task role
//! may open the SSM message channels, use the cluster's Exec KMS key and write the session
//! log, no container has a read-only root file system, and the platform supports it.

use super::endpoints::{require_interface, Use};
use super::iam::{permission_verdicts, task_role_for};
use super::requests::TaskRequest;
use super::{Check, Context, Explain, Outcome, Severity, Verdict};
use crate::facts::platform;

pub static ECS_EXEC: Check = Check {
    id: "ecs-exec",
    title: "ECS Exec can open sessions: task role, KMS key, session logging, root file system",
    severity: Severity::Error,
    docs: "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs-exec.html",
    run: ecs_exec,
    explain: Explain {
        verifies: "With enableExecuteCommand on: the task role allows ssmmessages:CreateControlChannel, CreateDataChannel, OpenControlChannel and OpenDataChannel; the cluster's Exec KMS key (kms:Decrypt) and session logging (CloudWatch Logs or S3) are allowed to the task role and reachable; no container has readonlyRootFilesystem; the platform is Linux 1.4.0+ (or Windows); initProcessEnabled is on.",
        why: "Exec runs the SSM agent inside the task with the task role, not the execution role: without these 'aws ecs execute-command' answers 'The execute command failed'. A read-only root file system is not supported.",
        decides: "Reads executeCommandConfiguration of the cluster (ecs:DescribeClusters): a kmsKeyId needs kms:Decrypt; logging OVERRIDE needs logs:DescribeLogGroups, CreateLogStream, DescribeLogStreams and PutLogEvents on the log group, or s3:PutObject and s3:GetEncryptionConfiguration on the bucket; DEFAULT (or no configuration) logs to the containers' awslogs groups with the same logs actions; NONE logs nothing. Evaluates the task role's policies like execution-role does. The kms and logs endpoints are required where the subnets have no path out (the ssmmessages endpoint is exec-endpoint's). initProcessEnabled off warns, as the ECS guide recommends it.",
        fix: "Give the task role the ssmmessages actions (and kms:Decrypt / the logging actions); set readonlyRootFilesystem to false; set linuxParameters.initProcessEnabled to true.",
    },
};

const SSM_MESSAGES: [&str; 4] = [
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
];

const SESSION_LOG_ACTIONS: [&str; 3] = [
    "logs:CreateLogStream",
    "logs:DescribeLogStreams",
    "logs:PutLogEvents",
];

fn ecs_exec(ctx: &Context) -> Outcome {
    if !ctx.uses()?.exec {
        return Ok(vec![Verdict::skip(
            ctx.scope(),
            "enableExecuteCommand is off",
        )]);
    }
    let td = ctx.task_definition()?;
    let mut verdicts = Vec::new();
    let resolved = platform::resolve(&ctx.snap.workload, td);
    if !resolved.at_least_1_4_0() {
        verdicts.push(Verdict::fail(
            ctx.scope(),
            format!(
                "platform version {} does not support ECS Exec (Linux 1.4.0 or later)",
                resolved.version
            ),
            "set the service's platformVersion to LATEST (or 1.4.0)",
        ));
    }
    for c in &td.containers {
        if c.readonly_root_filesystem {
            verdicts.push(Verdict::fail(
                format!("container {}", c.name),
                format!("container {} has readonlyRootFilesystem: ECS Exec does not support a read-only root file system", c.name),
                format!("set readonlyRootFilesystem to false in container {} (or turn enableExecuteCommand off)", c.name),
            ));
        }
        if !c.init_process_enabled && !td.is_windows() {
            verdicts.push(Verdict::warn(
                format!("container {} (initProcessEnabled)", c.name),
                format!("container {} runs without initProcessEnabled: exec sessions can leave zombie processes behind (the ECS guide recommends the init process)", c.name),
                format!("set \"linuxParameters\": {{\"initProcessEnabled\": true}} in container {}", c.name),
            ));
        }
    }
    let config = match ctx.snap.exec_configuration.ok() {
        Ok(config) => config.as_ref(),
        Err(error) => {
            verdicts.push(Verdict::could_not_check(
                "cluster executeCommandConfiguration",
                &error.clone().into(),
            ));
            None
        }
    };
    if ctx.snap.workload.cluster.is_none() {
        verdicts.push(Verdict::warn(
            "cluster executeCommandConfiguration",
            "cannot verify the cluster's Exec settings (KMS key, session logging) before the service has a cluster; judged as if it had none",
            "run the check again with --cluster once the cluster is chosen",
        ));
    }
    let partition = ctx.snap.partition();
    let region = ctx.region();
    let account = td.account();
    let why = "ECS Exec".to_string();
    let mut needed: Vec<TaskRequest> = SSM_MESSAGES
        .iter()
        .map(|a| TaskRequest::new("ssmmessages", a, "*".into(), why.clone()))
        .collect();
    let mut endpoint_uses: Vec<(&str, Use)> = Vec::new();
    if let Some(key) = config
        .and_then(|c| c.kms_key_id.as_deref())
        .filter(|k| k.starts_with("alias/") || k.contains(":alias/"))
    {
        verdicts.push(Verdict::warn(
            "cluster executeCommandConfiguration (KMS key)",
            format!("the cluster names its Exec KMS key by alias ({key}): IAM judges kms:Decrypt on the key's ARN, which the preflight does not look up"),
            "name the key by its ARN in the cluster's executeCommandConfiguration, or make sure the task role may kms:Decrypt with it",
        ));
    }
    if let Some(key) = config
        .and_then(|c| c.kms_key_id.as_deref())
        .filter(|k| !(k.starts_with("alias/") || k.contains(":alias/")))
    {
        let arn = if key.starts_with("arn:") {
            key.to_string()
        } else {
            format!("arn:{partition}:kms:{region}:{account}:key/{key}")
        };
        let key_region = arn.split(':').nth(3).unwrap_or(region).to_string();
        needed.push(TaskRequest::new(
            "kms",
            "kms:Decrypt",
            arn,
            "ECS Exec session encryption (the cluster's kmsKeyId)".into(),
        ));
        endpoint_uses.push((
            "kms",
            Use {
                what: "the ECS Exec KMS key".into(),
                region: key_region,
            },
        ));
    }
    let logging = config
        .and_then(|c| c.logging.as_deref())
        .unwrap_or("DEFAULT")
        .to_ascii_uppercase();
    let mut log_groups: Vec<(String, String)> = Vec::new();
    match logging.as_str() {
        "OVERRIDE" => {
            let c = config.expect("OVERRIDE comes from a configuration");
            if let Some(group) = &c.log_group {
                log_groups.push((group.clone(), region.to_string()));
            }
            if let Some(bucket) = &c.s3_bucket {
                let prefix = c.s3_key_prefix.as_deref().unwrap_or("");
                needed.push(TaskRequest::new(
                    "s3",
                    "s3:PutObject",
                    format!("arn:{partition}:s3:::{bucket}/{prefix}*"),
                    "ECS Exec session logs (S3)".into(),
                ));
                needed.push(TaskRequest::new(
                    "s3",
                    "s3:GetEncryptionConfiguration",
                    format!("arn:{partition}:s3:::{bucket}"),
                    "ECS Exec session logs (S3)".into(),
                ));
            }
        }
        "NONE" => {}
        // DEFAULT: the session is logged to the containers' awslogs groups.
        _ => {
            for log in &ctx.uses()?.logs {
                if let Some(group) = log.group {
                    log_groups.push((group.to_string(), log.region.to_string()));
                }
            }
        }
    }
    log_groups.sort();
    log_groups.dedup();
    for (group, group_region) in &log_groups {
        let why = format!("ECS Exec session logs ({group})");
        needed.push(TaskRequest::new(
            "logs",
            "logs:DescribeLogGroups",
            "*".into(),
            why.clone(),
        ));
        for action in SESSION_LOG_ACTIONS {
            needed.push(TaskRequest::new(
                "logs",
                action,
                format!("arn:{partition}:logs:{group_region}:{account}:log-group:{group}:*"),
                why.clone(),
            ));
        }
        if logging == "OVERRIDE" {
            endpoint_uses.push((
                "logs",
                Use {
                    what: why,
                    region: group_region.clone(),
                },
            ));
        }
    }
    match task_role_for(ctx, "ECS Exec") {
        Err(problem) => verdicts.push(Verdict::could_not_check(ctx.scope(), &problem)),
        Ok(Err(verdict)) => verdicts.push(verdict),
        Ok(Ok(role)) => match permission_verdicts(role, &needed) {
            Err(problem) => verdicts.push(Verdict::could_not_check(role.arn.as_str(), &problem)),
            Ok(problems) if problems.is_empty() => verdicts.push(Verdict::pass(
                role.arn.as_str(),
                format!(
                    "{} allows the ssmmessages channels{}{} for ECS Exec; key and bucket policies cannot be seen from here",
                    role.name,
                    if needed.iter().any(|r| r.service == "kms") {
                        ", kms:Decrypt on the cluster's Exec key"
                    } else {
                        ""
                    },
                    match logging.as_str() {
                        "NONE" => ", and sessions are not logged (logging NONE)".to_string(),
                        _ if needed.iter().any(|r| r.service == "logs" || r.service == "s3") => {
                            ", and writing the session log".to_string()
                        }
                        _ => ", and no session log destination is configured".to_string(),
                    }
                ),
            )),
            Ok(problems) => verdicts.extend(problems),
        },
    }
    // An S3 session log from subnets without a path out goes through an S3 gateway endpoint.
    let bucket = config
        .and_then(|c| c.s3_bucket.as_deref())
        .filter(|_| logging == "OVERRIDE");
    if let Some(bucket) = bucket {
        match s3_log_gap(ctx, bucket) {
            Ok(gap) => verdicts.extend(gap),
            Err(problem) => verdicts.push(Verdict::could_not_check(
                format!("ECS Exec session logs (s3://{bucket})"),
                &problem,
            )),
        }
    }
    // The ssmmessages endpoint is exec-endpoint's, and the awslogs groups' logs endpoint is
    // logs-endpoint's: these are the needs only Exec has.
    for short in ["kms", "logs"] {
        let uses: Vec<Use> = endpoint_uses
            .iter()
            .filter(|(s, _)| *s == short)
            .map(|(_, u)| Use {
                what: u.what.clone(),
                region: u.region.clone(),
            })
            .collect();
        if !uses.is_empty() {
            match require_interface(ctx, short, uses, "") {
                Ok(found) => verdicts.extend(found),
                Err(problem) => verdicts.push(Verdict::could_not_check(
                    format!("{} endpoint", ctx.service_name(short)),
                    &problem,
                )),
            }
        }
    }
    Ok(verdicts)
}

/// Subnets without a path out reach an S3 bucket only through an S3 gateway endpoint.
fn s3_log_gap(ctx: &Context, bucket: &str) -> Result<Option<Verdict>, super::Problem> {
    let dep = ctx.dependence()?;
    let mut without = Vec::new();
    for ts in dep.relying() {
        if ctx.s3_gateway_for(&ts)?.is_none() {
            without.push(ts.subnet.id.clone());
        }
    }
    if without.is_empty() {
        return Ok(None);
    }
    Ok(Some(dep.gap(
        format!("ECS Exec session logs (s3://{bucket})"),
        format!("Exec writes session logs to S3 bucket {bucket}, and subnets {} have neither a path out nor an S3 gateway endpoint on their route table", without.join(", ")),
        format!("attach an S3 gateway endpoint to the subnets' route tables (aws ec2 create-vpc-endpoint --vpc-endpoint-type Gateway --service-name {} --vpc-id {} --route-table-ids …)", ctx.service_name("s3"), ctx.vpc_id()?),
    )))
}
