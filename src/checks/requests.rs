//! The AWS requests a task makes while it starts, as (endpoint service, action, resource):
//! what endpoint policies and the execution role must allow.

use super::context::secret_uses;
use super::Context;
use crate::image;
use crate::snapshot::GatherError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskRequest {
    /// The endpoint service the request goes to (`ecr.api`, `logs`, …).
    pub service: &'static str,
    pub action: &'static str,
    pub resource: String,
    /// Why the task makes it, for messages: "container web (…)".
    pub why: String,
}

/// A secret reference without the JSON-key / version suffix ECS allows after the ARN. A
/// partial ARN (no `-XXXXXX` suffix) gets `-??????`: IAM sees the full ARN, whose six-character
/// suffix only Secrets Manager knows.
fn secret_arn(value_from: &str) -> String {
    let arn = value_from.split(':').take(7).collect::<Vec<_>>().join(":");
    let name = arn.rsplit(':').next().unwrap_or_default();
    let complete = name.rsplit_once('-').is_some_and(|(_, suffix)| {
        suffix.len() == 6 && suffix.bytes().all(|b| b.is_ascii_alphanumeric())
    });
    if complete {
        arn
    } else {
        format!("{arn}{PARTIAL_SECRET_SUFFIX}")
    }
}

/// Marks a secret ARN whose real suffix is unknown.
pub const PARTIAL_SECRET_SUFFIX: &str = "-??????";

fn parameter_arn(value_from: &str, partition: &str, region: &str, account: &str) -> String {
    if value_from.starts_with("arn:") {
        value_from.to_string()
    } else {
        format!(
            "arn:{partition}:ssm:{region}:{account}:parameter/{}",
            value_from.trim_start_matches('/')
        )
    }
}

/// Requests made with the task execution role: image pull, logs, secrets.
pub fn execution_requests(ctx: &Context) -> Result<Vec<TaskRequest>, GatherError> {
    let td = ctx.task_definition()?;
    let partition = ctx.snap.partition();
    let region = ctx.region();
    let acct = td.account();
    let mut requests = Vec::new();
    let mut token_needed = false;
    for c in &td.containers {
        let parsed = image::parse(&c.image);
        if let Some(ecr) = parsed.ecr() {
            token_needed = true;
            let repo = format!(
                "arn:{partition}:ecr:{}:{}:repository/{}",
                ecr.region, ecr.account, parsed.repository
            );
            for action in [
                "ecr:BatchCheckLayerAvailability",
                "ecr:GetDownloadUrlForLayer",
                "ecr:BatchGetImage",
            ] {
                requests.push(TaskRequest {
                    service: "ecr.dkr",
                    action,
                    resource: repo.clone(),
                    why: format!("container {} ({})", c.name, c.image),
                });
            }
        }
        if let Some(log) = c
            .log_configuration
            .as_ref()
            .filter(|l| l.log_driver == "awslogs")
        {
            let log_region = log
                .options
                .get("awslogs-region")
                .map_or(region, String::as_str);
            let group = log.options.get("awslogs-group").map_or("*", String::as_str);
            let resource = format!("arn:{partition}:logs:{log_region}:{acct}:log-group:{group}:*");
            for action in ["logs:CreateLogStream", "logs:PutLogEvents"] {
                requests.push(TaskRequest {
                    service: "logs",
                    action,
                    resource: resource.clone(),
                    why: format!("container {} (awslogs group {group})", c.name),
                });
            }
        }
    }
    for c in &td.containers {
        // ECS guide, environment files: the execution role reads them.
        for file in &c.environment_files {
            let bucket = file.split_once(":::").map_or("", |(_, rest)| rest);
            let bucket = bucket.split('/').next().unwrap_or_default();
            requests.push(TaskRequest {
                service: "s3",
                action: "s3:GetObject",
                resource: file.clone(),
                why: format!("container {} environment file", c.name),
            });
            requests.push(TaskRequest {
                service: "s3",
                action: "s3:GetBucketLocation",
                resource: format!("arn:{partition}:s3:::{bucket}"),
                why: format!("container {} environment file", c.name),
            });
        }
    }
    if token_needed {
        requests.push(TaskRequest {
            service: "ecr.api",
            action: "ecr:GetAuthorizationToken",
            resource: "*".into(),
            why: "the ECR registry login".into(),
        });
    }
    for secret in secret_uses(td) {
        let secret_region = if secret.region.is_empty() {
            region
        } else {
            secret.region.as_str()
        };
        let (action, resource) = if secret.service == "secretsmanager" {
            (
                "secretsmanager:GetSecretValue",
                secret_arn(&secret.value_from),
            )
        } else {
            (
                "ssm:GetParameters",
                parameter_arn(&secret.value_from, partition, secret_region, acct),
            )
        };
        requests.push(TaskRequest {
            service: secret.service,
            action,
            resource,
            why: format!("secret {}", secret.what),
        });
    }
    Ok(requests)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_references() {
        assert_eq!(
            secret_arn("arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf:password::"),
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf"
        );
        assert_eq!(
            secret_arn("arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db"),
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-??????"
        );
        assert_eq!(
            parameter_arn("/prod/key", "aws", "eu-west-1", "123456789012"),
            "arn:aws:ssm:eu-west-1:123456789012:parameter/prod/key"
        );
        assert_eq!(
            parameter_arn(
                "arn:aws:ssm:eu-west-1:1:parameter/x",
                "aws",
                "eu-west-1",
                "2"
            ),
            "arn:aws:ssm:eu-west-1:1:parameter/x"
        );
    }
}
