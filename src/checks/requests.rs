//! The AWS requests a task makes while it starts, as (endpoint service, action, resource):
//! what endpoint policies and the execution role must allow.

use super::{Context, Problem};
use crate::policy::{self, Decision, Request};
use crate::snapshot::GatherError;
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskRequest {
    /// The endpoint service the request goes to (`ecr.api`, `logs`, …).
    pub service: &'static str,
    pub action: &'static str,
    pub resource: String,
    /// Another ARN IAM may see for the same request, when the reference is ambiguous.
    pub alternative: Option<Alternative>,
    /// Set when whether the request is needed at all could not be checked (the data that
    /// decides it was not gathered): a denial is then "could not check", not a failure.
    pub need_unknown: Option<GatherError>,
    /// Why the task makes it, for messages: "container web (…)".
    pub why: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alternative {
    pub resource: String,
    pub why: &'static str,
}

impl TaskRequest {
    pub fn new(service: &'static str, action: &'static str, resource: String, why: String) -> Self {
        TaskRequest {
            service,
            action,
            resource,
            alternative: None,
            need_unknown: None,
            why,
        }
    }

    /// The policy's decision; where the resource is ambiguous, both readings must agree.
    pub fn decide(
        &self,
        doc: &Value,
        principal: Option<&str>,
        context: &[(&str, &str)],
    ) -> Decision {
        let decide = |resource: &str| {
            policy::evaluate(
                doc,
                &Request {
                    action: self.action,
                    resource,
                    principal,
                    context,
                },
            )
        };
        let first = decide(&self.resource);
        let Some(alt) = &self.alternative else {
            return first;
        };
        let second = decide(&alt.resource);
        if first == second {
            return first;
        }
        let allowed = |d: &Decision| matches!(d, Decision::Allowed);
        if allowed(&first) == allowed(&second) && !allowed(&first) {
            return first;
        }
        Decision::Uncertain {
            reasons: vec![format!(
                "{}: as {} it is {}, as {} it is {}",
                alt.why,
                self.resource,
                verdict_word(&first),
                alt.resource,
                verdict_word(&second)
            )],
        }
    }
}

fn verdict_word(d: &Decision) -> &'static str {
    match d {
        Decision::Allowed => "allowed",
        Decision::Uncertain { .. } => "uncertain",
        _ => "not allowed",
    }
}

/// The Secrets Manager API reference: a partial ARN of a name that ends in a hyphen and six
/// characters is taken for a complete ARN, so such a reference can mean either.
const AMBIGUOUS_SECRET: &str = "the secret reference ends in '-' and six characters, which Secrets Manager reads as its random suffix, though it may be part of the name (a partial ARN); use the complete ARN";

/// A secret reference without the JSON-key / version suffix ECS allows after the ARN. A
/// partial ARN (no `-XXXXXX` suffix) gets `-??????`: IAM sees the full ARN, whose six-character
/// suffix only Secrets Manager knows.
fn secret_arn(value_from: &str) -> (String, Option<Alternative>) {
    let arn = crate::facts::uses::secret_id(value_from);
    let name = arn.rsplit(':').next().unwrap_or_default();
    let suffix = name
        .rsplit_once('-')
        .map(|(_, s)| s)
        .filter(|s| s.len() == 6 && s.bytes().all(|b| b.is_ascii_alphanumeric()));
    let Some(suffix) = suffix else {
        return (format!("{arn}{PARTIAL_SECRET_SUFFIX}"), None);
    };
    // The random suffix mixes upper case, lower case and digits; one without an upper-case
    // letter ("-secret", "-prod01") may as well be the end of the name.
    if suffix.bytes().any(|b| b.is_ascii_uppercase()) {
        return (arn, None);
    }
    {
        let partial = Alternative {
            resource: format!("{arn}{PARTIAL_SECRET_SUFFIX}"),
            why: AMBIGUOUS_SECRET,
        };
        (arn, Some(partial))
    }
}

/// Stands for the ECS task id in a log stream name (`PREFIX/CONTAINER/TASK-ID`).
const TASK_ID: &str = "0123456789abcdef0123456789abcdef";

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

/// Requests made with the task execution role: image pull, logs, environment files, secrets.
pub fn execution_requests(ctx: &Context) -> Result<Vec<TaskRequest>, Problem> {
    let td = ctx.task_definition()?;
    let uses = ctx.uses()?;
    let partition = ctx.snap.partition();
    let acct = td.account();
    let mut requests = Vec::new();
    for image in &uses.images {
        let Some(ecr) = &image.ecr else { continue };
        let repo = format!(
            "arn:{partition}:ecr:{}:{}:repository/{}",
            ecr.region, ecr.account, image.parsed.repository
        );
        // What a pull needs, as AWS's own pull-only policy (AmazonEC2ContainerRegistryPullOnly)
        // grants it: BatchCheckLayerAvailability is a push-side check a pull does not need.
        for action in ["ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"] {
            requests.push(TaskRequest::new(
                "ecr.dkr",
                action,
                repo.clone(),
                format!("container {} ({})", image.container, image.image),
            ));
        }
    }
    for log in &uses.logs {
        let group = log.group.unwrap_or("*");
        let log_region = log.region;
        // IAM sees the stream's ARN, as AccessDenied messages for both actions show
        // ("… on resource: arn:aws:logs:R:A:log-group:G:log-stream:S").
        let stream = match log.stream_prefix {
            Some(prefix) => format!("{prefix}/{}/{TASK_ID}", log.container),
            None => TASK_ID.to_string(),
        };
        let resource = format!(
            "arn:{partition}:logs:{log_region}:{acct}:log-group:{group}:log-stream:{stream}"
        );
        for action in ["logs:CreateLogStream", "logs:PutLogEvents"] {
            requests.push(TaskRequest::new(
                "logs",
                action,
                resource.clone(),
                format!("container {} (awslogs group {group})", log.container),
            ));
        }
        if log.create_group {
            requests.push(TaskRequest::new(
                "logs",
                "logs:CreateLogGroup",
                format!("arn:{partition}:logs:{log_region}:{acct}:log-group:{group}:*"),
                format!("container {} (awslogs-create-group)", log.container),
            ));
        }
    }
    // ECS guide, environment files: the execution role reads them.
    for file in &uses.environment_files {
        let why = format!("container {} environment file", file.container);
        requests.push(TaskRequest::new(
            "s3",
            "s3:GetObject",
            file.arn.to_string(),
            why.clone(),
        ));
        requests.push(TaskRequest::new(
            "s3",
            "s3:GetBucketLocation",
            format!("arn:{partition}:s3:::{}", file.bucket),
            why,
        ));
    }
    if uses.images.iter().any(|i| i.ecr.is_some()) {
        requests.push(TaskRequest::new(
            "ecr.api",
            "ecr:GetAuthorizationToken",
            "*".into(),
            "the ECR registry login".into(),
        ));
    }
    for secret in &uses.secrets {
        let secret_region = secret.region.as_str();
        let (action, (resource, alternative)) = if secret.service == "secretsmanager" {
            (
                "secretsmanager:GetSecretValue",
                secret_arn(&secret.value_from),
            )
        } else {
            (
                "ssm:GetParameters",
                (
                    parameter_arn(&secret.value_from, partition, secret_region, acct),
                    None,
                ),
            )
        };
        requests.push(TaskRequest {
            service: secret.service,
            action,
            resource,
            alternative,
            need_unknown: None,
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
            (
                "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf".to_string(),
                None
            )
        );
        let (arn, alternative) =
            secret_arn("arn:aws:secretsmanager:eu-west-1:123456789012:secret:app-secret");
        assert_eq!(
            arn,
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:app-secret"
        );
        assert_eq!(
            alternative.map(|a| a.resource).as_deref(),
            Some("arn:aws:secretsmanager:eu-west-1:123456789012:secret:app-secret-??????")
        );
        assert_eq!(
            secret_arn("arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db"),
            (
                "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-??????".to_string(),
                None
            )
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
