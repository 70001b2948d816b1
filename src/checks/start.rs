//! secrets-exist, log-group and environment-files: what the Fargate agent fetches before the
//! first container starts exists where the task definition says, judged from metadata only.

use super::context::Dependence;
use super::iam::{role_decides, worse};
use super::{Check, Context, Explain, Outcome, Problem, Severity, Verdict};
use crate::facts::uses::{object_of, SecretUse};
use crate::policy::Decision;
use crate::snapshot::{GatherErrorKind, Lookup, StartResources};

pub static SECRETS_EXIST: Check = Check {
    id: "secrets-exist",
    title: "The secrets and parameters the task references exist",
    severity: Severity::Error,
    docs: "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/secrets-envvar-secrets-manager.html",
    run: run_secrets,
    explain: Explain {
        verifies: "Every secrets[].valueFrom, logConfiguration.secretOptions[].valueFrom and repositoryCredentials.credentialsParameter names a Secrets Manager secret (DescribeSecret) or SSM parameter (DescribeParameters, filtered by name) that exists in its Region and account; a version stage or id after the secret's ARN exists. Never reads a value.",
        why: "A missing or deleted secret stops the task before its first container: \"ResourceInitializationError: unable to pull secrets or registry auth: … ResourceNotFoundException\".",
        decides: "Not found or scheduled for deletion (DeletedDate): fail. A version stage or id missing from VersionIdsToStages: fail. A JSON key cannot be verified without the value: said in the pass. A bare parameter name means the task's own Region and account. A secret or parameter in another account that cannot be read: warn \"cannot verify\". A lookup that failed otherwise: error.",
        fix: "Create the secret or parameter (or restore a deleted secret: aws secretsmanager restore-secret --secret-id ARN), or point valueFrom at one that exists; a parameter in another Region or account needs its full ARN.",
    },
};

pub static LOG_GROUP: Check = Check {
    id: "log-group",
    title: "The awslogs log groups exist, or the task may create them",
    severity: Severity::Error,
    docs: "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using_awslogs.html",
    run: run_log_groups,
    explain: Explain {
        verifies: "Each container with the awslogs driver sets awslogs-group, awslogs-region and (on Fargate) awslogs-stream-prefix, and its group exists in that Region (DescribeLogGroups, matched exactly) unless awslogs-create-group is true.",
        why: "The agent creates the container's log stream before starting it: a missing group stops the task (\"failed to create Cloudwatch log stream: ResourceNotFoundException: The specified log group does not exist\"), and a missing awslogs-region or stream prefix is rejected.",
        decides: "A missing option fails; a missing group without awslogs-create-group fails; with it the task creates the group (execution-role judges logs:CreateLogGroup). A group in another Region needs a path out (logs-endpoint judges it). FireLens and other drivers: skip.",
        fix: "aws logs create-log-group --log-group-name GROUP --region REGION, or set awslogs-create-group to true (and allow logs:CreateLogGroup to the execution role).",
    },
};

pub static ENVIRONMENT_FILES: Check = Check {
    id: "environment-files",
    title: "The S3 environment files exist and can be reached",
    severity: Severity::Error,
    docs: "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/use-environment-file.html",
    run: run_environment_files,
    explain: Explain {
        verifies: "Each environmentFiles[] value is an S3 object ARN whose name ends in .env, the object exists (s3:HeadObject: metadata only, never its contents), and a bucket in another Region than the task (s3:GetBucketLocation) is reachable.",
        why: "The agent downloads the files before the first container starts: a missing object stops the task (\"ResourceInitializationError: failed to download env files: … NoSuchKey\").",
        decides: "Not an S3 object ARN, not named *.env, or not found: fail. A bucket in another Region: an S3 gateway endpoint serves only its own Region, so without a path out it fails (warn where the path cannot be verified). The gateway endpoint's policy is judged by s3-endpoint-policy; the object's KMS key by kms-keys.",
        fix: "Upload the file (aws s3 cp app.env s3://BUCKET/KEY.env), fix the ARN in environmentFiles, or give the task subnets a path out for a bucket in another Region.",
    },
};

fn resources<'a>(ctx: &Context<'a>) -> Result<&'a StartResources, Problem> {
    Ok(ctx.snap.start_resources.get()?)
}

fn find<'a, T>(lookups: &'a [Lookup<T>], reference: &str) -> Result<&'a Lookup<T>, Problem> {
    lookups
        .iter()
        .find(|l| l.reference == reference)
        .ok_or_else(|| Problem::not_in_snapshot(&format!("the lookup of {reference}")))
}

/// A lookup that failed: another account's data we may not read is "cannot verify", anything
/// else the project's error.
fn unread(resource: &str, owner: Option<&str>, error: &crate::snapshot::GatherError) -> Verdict {
    match owner {
        Some(account) if error.kind == GatherErrorKind::Denied => Verdict::warn(
            resource,
            format!("cannot verify: owned by account {account}, which does not let this identity read it ({} was denied)", error.action),
            "run the check with credentials of that account, or make sure the resource exists there",
        ),
        _ => Verdict::could_not_check(resource, &Problem::from(error.clone())),
    }
}

fn run_secrets(ctx: &Context) -> Outcome {
    let uses = ctx.uses()?;
    if uses.secrets.is_empty() {
        return Ok(vec![Verdict::skip(
            ctx.scope(),
            "the task definition references no secret or parameter",
        )]);
    }
    let found = resources(ctx)?;
    let account = ctx.task_definition()?.account();
    let mut out = Vec::new();
    for secret in &uses.secrets {
        let other_account = (secret.account != account).then_some(secret.account.as_str());
        out.push(if secret.service == "secretsmanager" {
            judge_secret(
                secret,
                find(&found.secrets, &secret.lookup_id())?,
                other_account,
            )
        } else {
            judge_parameter(ctx, secret, &found.parameters, other_account)?
        });
    }
    Ok(out)
}

fn judge_secret(
    secret: &SecretUse,
    lookup: &Lookup<crate::snapshot::SecretMetadata>,
    other_account: Option<&str>,
) -> Verdict {
    let id = secret.lookup_id();
    let found = match lookup.found.ok() {
        Ok(found) => found,
        Err(error) => return unread(&id, other_account, error),
    };
    let Some(meta) = found else {
        return Verdict::fail(
            &id,
            format!("{} names {id}, which does not exist in {}: the task stops with \"ResourceInitializationError: unable to pull secrets or registry auth: … ResourceNotFoundException\"", secret.what, lookup.region),
            format!("create the secret (aws secretsmanager create-secret --name NAME --region {}) or fix valueFrom", lookup.region),
        );
    };
    if meta.deleted {
        return Verdict::fail(
            &id,
            format!(
                "{} names {}, which is scheduled for deletion: Secrets Manager refuses to read it",
                secret.what, meta.arn
            ),
            format!(
                "aws secretsmanager restore-secret --secret-id {} --region {}",
                meta.arn, lookup.region
            ),
        );
    }
    let (json_key, stage, version) = secret.secret_suffix();
    if let (Some(stage), Some(version)) = (stage, version) {
        return Verdict::fail(
            &id,
            format!("{} names both version stage {stage} and version id {version}: ECS takes one or the other", secret.what),
            "keep either the version stage or the version id in valueFrom (leave the other empty)",
        );
    }
    if let Some(stage) = stage {
        if !meta.versions.values().any(|s| s.iter().any(|x| x == stage)) {
            return Verdict::fail(
                &id,
                format!("{} asks for version stage {stage} of {}, which no version carries", secret.what, meta.arn),
                "name a stage the secret has (AWSCURRENT, AWSPREVIOUS or one you set), or leave it empty for AWSCURRENT",
            );
        }
    }
    if let Some(version) = version {
        if !meta.versions.contains_key(version) {
            return Verdict::fail(
                &id,
                format!(
                    "{} asks for version {version} of {}, which does not exist",
                    secret.what, meta.arn
                ),
                "name an existing version id, or leave it empty for AWSCURRENT",
            );
        }
    }
    let note = json_key.map_or(String::new(), |k| {
        format!("; its JSON key {k} cannot be verified without reading the value")
    });
    Verdict::pass(&id, format!("{}: {} exists{note}", secret.what, meta.arn))
}

fn judge_parameter(
    ctx: &Context,
    secret: &SecretUse,
    lookups: &[Lookup<crate::snapshot::ParameterMetadata>],
    other_account: Option<&str>,
) -> Result<Verdict, Problem> {
    let reference = &secret.value_from;
    // DescribeParameters lists the caller's own parameters only.
    if let Some(account) = other_account {
        return Ok(Verdict::warn(
            reference,
            format!("cannot verify: {} names a parameter of account {account}, which DescribeParameters does not list", secret.what),
            "run the check with credentials of that account, or make sure the parameter exists there",
        ));
    }
    let lookup = find(lookups, reference)?;
    let found = match lookup.found.ok() {
        Ok(found) => found,
        Err(error) => return Ok(unread(reference, None, error)),
    };
    Ok(match found {
        Some(p) => Verdict::pass(
            reference,
            format!(
                "{}: parameter {} ({}) exists in {}",
                secret.what, p.name, p.kind, lookup.region
            ),
        ),
        None => {
            let bare = if reference.starts_with("arn:") {
                String::new()
            } else {
                format!(" (a bare name means the task's Region, {}: a parameter in another Region or account must be named by its full ARN)", ctx.region())
            };
            Verdict::fail(
                reference,
                format!("{} names parameter {reference}, which does not exist in {}{bare}: the task stops with \"ResourceInitializationError: unable to pull secrets or registry auth\"", secret.what, lookup.region),
                format!("aws ssm put-parameter --name {} --type SecureString --value … --region {}, or fix valueFrom", crate::facts::uses::parameter_name(reference), lookup.region),
            )
        }
    })
}

fn run_log_groups(ctx: &Context) -> Outcome {
    let td = ctx.task_definition()?;
    let mut out = Vec::new();
    let mut found = None;
    for c in &td.containers {
        let Some(log) = &c.log_configuration else {
            continue;
        };
        let resource = format!("container {}", c.name);
        if log.log_driver != "awslogs" {
            out.push(Verdict::skip(
                resource,
                if log.log_driver == "awsfirelens" {
                    "FireLens: the log router container delivers the logs; its destinations are its own configuration's business".to_string()
                } else {
                    format!("log driver {}: not judged here", log.log_driver)
                },
            ));
            continue;
        }
        let option = |key: &str| log.options.get(key).map(String::as_str);
        let missing: Vec<&str> = ["awslogs-group", "awslogs-region", "awslogs-stream-prefix"]
            .into_iter()
            .filter(|k| option(k).is_none())
            .collect();
        let (Some(group), Some(region)) = (option("awslogs-group"), option("awslogs-region"))
        else {
            out.push(Verdict::fail(
                resource,
                format!("the awslogs driver needs {} (the task is rejected or stops: \"awslogs-region is required\")", missing.join(" and ")),
                format!("set {} in the container's logConfiguration.options", missing.join(", ")),
            ));
            continue;
        };
        if missing.contains(&"awslogs-stream-prefix") {
            out.push(Verdict::fail(
                resource.clone(),
                "awslogs-stream-prefix is required on Fargate: the stream is named PREFIX/CONTAINER/TASK-ID",
                "set awslogs-stream-prefix (e.g. ecs) in the container's logConfiguration.options",
            ));
        }
        let resources = match found {
            Some(r) => r,
            None => *found.insert(resources(ctx)?),
        };
        let lookup = resources
            .log_groups
            .iter()
            .find(|l| l.reference == group && l.region == region)
            .ok_or_else(|| Problem::not_in_snapshot(&format!("the lookup of {group}")))?;
        let label = format!("{group} ({region})");
        let create = option("awslogs-create-group") == Some("true");
        let elsewhere = if region == ctx.region() {
            String::new()
        } else {
            format!("; logs-endpoint judges the path to CloudWatch Logs in {region}")
        };
        out.push(match lookup.found.ok() {
            Err(error) => unread(&label, None, error),
            Ok(Some(_)) => Verdict::pass(
                label,
                format!("container {}'s log group exists{elsewhere}", c.name),
            ),
            Ok(None) if create => Verdict::pass(
                label,
                format!("container {}'s log group does not exist yet; awslogs-create-group makes the task create it (execution-role judges logs:CreateLogGroup){elsewhere}", c.name),
            ),
            Ok(None) => Verdict::fail(
                label,
                format!("container {}'s log group does not exist: the task stops with \"failed to create Cloudwatch log stream: ResourceNotFoundException: The specified log group does not exist\"", c.name),
                format!("aws logs create-log-group --log-group-name {group} --region {region} (or set awslogs-create-group to true)"),
            ),
        });
    }
    if out.is_empty() {
        out.push(Verdict::skip(
            ctx.scope(),
            "no container has a log configuration",
        ));
    }
    Ok(out)
}

fn run_environment_files(ctx: &Context) -> Outcome {
    let uses = ctx.uses()?;
    if uses.environment_files.is_empty() {
        return Ok(vec![Verdict::skip(
            ctx.scope(),
            "the task definition has no environment file",
        )]);
    }
    let found = resources(ctx)?;
    let mut out = Vec::new();
    for file in &uses.environment_files {
        let arn = file.arn;
        let who = format!("container {}", file.container);
        let Some((_, key)) = object_of(arn) else {
            out.push(Verdict::fail(
                arn,
                format!("{who}'s environment file {arn} is not an S3 object ARN (arn:aws:s3:::BUCKET/KEY)"),
                "set environmentFiles[].value to the object's ARN",
            ));
            continue;
        };
        if !key.ends_with(".env") {
            out.push(Verdict::fail(
                arn,
                format!("{who}'s environment file {key} does not end in .env, which ECS requires of the file name"),
                "rename the object to *.env and update environmentFiles",
            ));
            continue;
        }
        let lookup = find(&found.environment_files, arn)?;
        let meta = match lookup.found.ok() {
            Err(error) => {
                out.push(unread(arn, None, error));
                continue;
            }
            Ok(None) => {
                out.push(Verdict::fail(
                    arn,
                    format!("{who}'s environment file does not exist: the task stops with \"ResourceInitializationError: failed to download env files: … NoSuchKey\""),
                    format!("aws s3 cp FILE.env s3://{}/{key}", file.bucket),
                ));
                continue;
            }
            Ok(Some(meta)) => meta,
        };
        let region = match meta.bucket_region.ok() {
            Ok(r) => r,
            Err(error) => {
                out.push(Verdict::could_not_check(arn, &Problem::from(error.clone())));
                continue;
            }
        };
        if region != ctx.region() {
            out.push(cross_region(ctx.dependence()?, arn, &who, region));
            continue;
        }
        out.push(Verdict::pass(
            arn,
            format!("{who}'s environment file exists (s3-endpoint-policy judges a gateway endpoint's policy for it)"),
        ));
    }
    Ok(out)
}

/// The agent reads a bucket of another Region there; a gateway endpoint serves its own Region
/// only, so only a path out reaches it.
fn cross_region(dependence: &Dependence, arn: &str, who: &str, region: &str) -> Verdict {
    if !dependence.relies_on_endpoints() {
        return Verdict::pass(
            arn,
            format!("{who}'s environment file exists in a bucket in {region}, reached over the task subnets' path out"),
        );
    }
    dependence.gap(
        arn,
        format!("{who}'s environment file is in a bucket in {region}: an S3 gateway endpoint serves only its own Region, and {} have no verified path out", super::context::ids(dependence.stranded())),
        "give the task subnets a NAT gateway route, or copy the file to a bucket in the task's Region",
    )
}

pub static KMS_KEYS: Check = Check {
    id: "kms-keys",
    title: "The KMS keys the task's start depends on are enabled and usable",
    severity: Severity::Error,
    docs: "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/secrets-envvar-secrets-manager.html",
    run: run_kms_keys,
    explain: Explain {
        verifies: "Each customer managed key behind the task's secrets (KmsKeyId), SecureString parameters (KeyId), environment files (SSE-KMS) and log groups (kmsKeyId), and the cluster's Fargate ephemeral storage key (managedStorageConfiguration, ecs:DescribeClusters), exists and is Enabled (kms:DescribeKey). For secrets, parameters and environment files the execution role may kms:Decrypt with it (kms:ViaService secretsmanager / ssm / s3 of the resource's Region), as the key policy (kms:GetKeyPolicy) and the role's policies decide together; for a log group the key policy lets logs.REGION.amazonaws.com use it; for ephemeral storage it lets fargate.amazonaws.com call kms:GenerateDataKeyWithoutPlaintext and kms:CreateGrant (Decrypt grants) with the cluster's account and name as encryption context.",
        why: "A disabled, deleted or forbidden key stops the task before its first container: \"ResourceInitializationError: unable to pull secrets or registry auth: … AccessDeniedException … kms\"; a log group whose key CloudWatch Logs may not use cannot take the log stream; an ephemeral storage key Fargate may not use stops every task of the cluster.",
        decides: "Missing, Disabled or PendingDeletion: fail. AWS managed keys (aws/secretsmanager, aws/ssm, aws/s3): pass without policy evaluation. A key policy that grants the role by name decides alone; one that grants the role's account delegates to IAM, whose policies must allow kms:Decrypt too; a key in another account needs both. A key policy that cannot be read: warn naming kms:GetKeyPolicy. Conditions the tool cannot evaluate: warn. An ephemeral storage key that is an alias, a multi-Region key or an AWS managed key: fail (Fargate does not support them). Before the deploy (no cluster) the ephemeral storage key is not known.",
        fix: "Enable the key (aws kms enable-key --key-id KEY, or cancel-key-deletion), and allow kms:Decrypt on it to the execution role in its key policy or (when the key policy delegates to the account) in the role's policies. For the cluster's ephemeral storage key, add the two fargate.amazonaws.com statements of https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-create-storage-key.html to its key policy.",
    },
};

/// Who must be able to use a key, and through which service.
enum KeyUser {
    /// The execution role, calling through `via` (secretsmanager.REGION.amazonaws.com …).
    ExecutionRole { via: String },
    /// CloudWatch Logs itself, for a log group.
    LogsService {
        group_arn: String,
        principal: String,
    },
    /// Fargate itself, for the cluster's ephemeral storage.
    FargateStorage {
        cluster_account: String,
        cluster_name: String,
    },
}

struct KeyUse<'a> {
    key: &'a str,
    /// What uses it, for messages.
    what: String,
    user: KeyUser,
}

/// The service principal that encrypts a cluster's Fargate ephemeral storage.
const FARGATE: &str = "fargate.amazonaws.com";

/// What Fargate ephemeral storage does not accept: "Multi-Region keys are not supported …
/// KMS key aliases are not supported" (fargate-create-storage-key.html). A multi-Region key's
/// id begins with `mrk-`.
fn unsupported_storage_key(key: &str) -> Option<&'static str> {
    let id = key.rsplit(['/', ':']).next().unwrap_or(key);
    if key.contains("alias/") {
        Some("KMS key aliases")
    } else if id.starts_with("mrk-") {
        Some("multi-Region keys")
    } else {
        None
    }
}

/// The AWS managed keys' aliases: their policies let the service use them for the account.
fn aws_managed_alias(key: &str) -> bool {
    key.contains("alias/aws/")
}

fn key_uses<'a>(ctx: &Context<'a>, found: &'a StartResources) -> Vec<KeyUse<'a>> {
    let mut uses = Vec::new();
    if let Ok(Some(storage)) = ctx.snap.cluster_storage.ok() {
        if let Some(key) = &storage.fargate_ephemeral_storage_kms_key_id {
            uses.push(KeyUse {
                key,
                what: format!(
                    "cluster {}'s Fargate ephemeral storage",
                    storage.cluster_name
                ),
                user: KeyUser::FargateStorage {
                    cluster_account: storage
                        .cluster_arn
                        .split(':')
                        .nth(4)
                        .unwrap_or_default()
                        .to_string(),
                    cluster_name: storage.cluster_name.clone(),
                },
            });
        }
    }
    let via = |service: &str, region: &str| KeyUser::ExecutionRole {
        via: format!("{service}.{region}.amazonaws.com"),
    };
    for l in &found.secrets {
        if let Ok(Some(meta)) = l.found.ok() {
            if let Some(key) = &meta.kms_key_id {
                uses.push(KeyUse {
                    key,
                    what: format!("secret {}", meta.arn),
                    user: via("secretsmanager", &l.region),
                });
            }
        }
    }
    for l in &found.parameters {
        if let Ok(Some(p)) = l.found.ok() {
            if let (Some(key), "SecureString") = (&p.key_id, p.kind.as_str()) {
                uses.push(KeyUse {
                    key,
                    what: format!("parameter {}", p.name),
                    user: via("ssm", &l.region),
                });
            }
        }
    }
    for l in &found.environment_files {
        if let Ok(Some(o)) = l.found.ok() {
            if let Some(key) = &o.kms_key_id {
                let region = o.bucket_region.ok().map_or(ctx.region(), |r| r.as_str());
                uses.push(KeyUse {
                    key,
                    what: format!("environment file {}", l.reference),
                    user: via("s3", region),
                });
            }
        }
    }
    for l in &found.log_groups {
        if let Ok(Some(g)) = l.found.ok() {
            if let Some(key) = &g.kms_key_id {
                uses.push(KeyUse {
                    key,
                    what: format!("log group {}", g.name),
                    user: KeyUser::LogsService {
                        group_arn: format!(
                            "arn:{}:logs:{}:{}:log-group:{}",
                            ctx.snap.partition(),
                            l.region,
                            ctx.task_definition().map_or("", |t| t.account()),
                            g.name
                        ),
                        principal: format!("logs.{}.amazonaws.com", l.region),
                    },
                });
            }
        }
    }
    uses
}

/// Lookups that failed: which key they use is unknown, and must not read as "none".
fn unknown_keys(found: &StartResources, account: &str) -> Vec<Verdict> {
    let failed = |reference: &str, error: Option<&crate::snapshot::GatherError>| {
        let owner = reference
            .starts_with("arn:")
            .then(|| reference.split(':').nth(4))
            .flatten()
            .filter(|a| !a.is_empty() && *a != account);
        error.map(|e| unread(reference, owner, e))
    };
    let mut out = Vec::new();
    out.extend(
        found
            .secrets
            .iter()
            .filter_map(|l| failed(&l.reference, l.found.ok().err())),
    );
    out.extend(
        found
            .parameters
            .iter()
            .filter_map(|l| failed(&l.reference, l.found.ok().err())),
    );
    out.extend(
        found
            .log_groups
            .iter()
            .filter_map(|l| failed(&l.reference, l.found.ok().err())),
    );
    out.extend(
        found
            .environment_files
            .iter()
            .filter_map(|l| failed(&l.reference, l.found.ok().err())),
    );
    out
}

fn run_kms_keys(ctx: &Context) -> Outcome {
    let found = resources(ctx)?;
    let account = ctx.task_definition()?.account();
    let uses = key_uses(ctx, found);
    let mut out = unknown_keys(found, account);
    if let Err(error) = ctx.snap.cluster_storage.ok() {
        out.push(Verdict::could_not_check(
            ctx.scope(),
            &Problem::from(error.clone()),
        ));
    }
    if uses.is_empty() && out.is_empty() {
        let storage = match ctx.snap.cluster_storage.ok() {
            Ok(None) => {
                "; the cluster's Fargate ephemeral storage key is not known before the deploy"
            }
            _ => ", nor does the cluster's Fargate ephemeral storage",
        };
        return Ok(vec![Verdict::skip(
            ctx.scope(),
            format!("no secret, parameter, environment file or log group of the task uses a customer managed KMS key{storage}"),
        )]);
    }
    for u in &uses {
        if let KeyUser::FargateStorage { cluster_name, .. } = &u.user {
            if let Some(unsupported) = unsupported_storage_key(u.key) {
                // An alias of a single-Region key: its ARN is the fix.
                let target = find(&found.kms_keys, u.key)
                    .ok()
                    .and_then(|l| l.found.ok().ok()?.as_ref())
                    .map(|k| k.arn.as_str())
                    .filter(|arn| unsupported_storage_key(arn).is_none())
                    .unwrap_or("SINGLE_REGION_KEY_ARN");
                out.push(Verdict::fail(
                    u.key,
                    format!("{} names {}: {unsupported} are not supported for Fargate ephemeral storage, so no task of the cluster can start", u.what, u.key),
                    format!("aws ecs update-cluster --cluster {cluster_name} --configuration 'managedStorageConfiguration={{fargateEphemeralStorageKmsKeyId={target}}}'"),
                ));
                continue;
            }
        } else if aws_managed_alias(u.key) {
            out.push(Verdict::pass(
                u.key,
                format!("{} uses an AWS managed key, whose policy lets the service use it for the account", u.what),
            ));
            continue;
        }
        let lookup = find(&found.kms_keys, u.key)?;
        let key_account = u
            .key
            .starts_with("arn:")
            .then(|| u.key.split(':').nth(4))
            .flatten()
            .filter(|a| *a != account);
        let key = match lookup.found.ok() {
            Err(error) => {
                out.push(unread(u.key, key_account, error));
                continue;
            }
            Ok(None) => {
                out.push(Verdict::fail(
                    u.key,
                    format!(
                        "{} is encrypted with KMS key {}, which does not exist in {}",
                        u.what, u.key, lookup.region
                    ),
                    "point the resource at an existing key, or re-encrypt it",
                ));
                continue;
            }
            Ok(Some(key)) => key,
        };
        if key.state != "Enabled" {
            let fix = if key.state == "PendingDeletion" {
                format!(
                    "aws kms cancel-key-deletion --key-id {} && aws kms enable-key --key-id {}",
                    key.arn, key.arn
                )
            } else {
                format!("aws kms enable-key --key-id {}", key.arn)
            };
            out.push(Verdict::fail(
                &key.arn,
                format!(
                    "{} is encrypted with {}, which is {}: nothing can decrypt with it",
                    u.what, key.arn, key.state
                ),
                fix,
            ));
            continue;
        }
        if key.manager == "AWS" {
            if matches!(u.user, KeyUser::FargateStorage { .. }) {
                out.push(Verdict::fail(
                    &key.arn,
                    format!("{} names {}, an AWS managed key: Fargate ephemeral storage needs a customer managed key whose policy lets fargate.amazonaws.com use it", u.what, key.arn),
                    "create a customer managed key for it (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-create-storage-key.html), or remove managedStorageConfiguration.fargateEphemeralStorageKmsKeyId",
                ));
                continue;
            }
            out.push(Verdict::pass(
                &key.arn,
                format!("{} uses an AWS managed key, whose policy lets the service use it for the account", u.what),
            ));
            continue;
        }
        out.push(judge_key_use(ctx, u, key)?);
    }
    Ok(out)
}

fn judge_key_use(
    ctx: &Context,
    u: &KeyUse,
    key: &crate::snapshot::KmsKey,
) -> Result<Verdict, Problem> {
    let policy = match key.policy.ok() {
        Ok(text) => crate::policy::parse_document(text).map_err(|e| Problem::Unreadable {
            what: format!("the key policy of {}", key.arn),
            why: e.to_string(),
        })?,
        Err(error) => {
            return Ok(Verdict::warn(
                &key.arn,
                format!(
                    "cannot verify who may use {} for {}: {} ({})",
                    key.arn,
                    u.what,
                    error.action,
                    error.describe()
                ),
                format!(
                    "allow kms:GetKeyPolicy on {} to the identity running fargate-preflight",
                    key.arn
                ),
            ))
        }
    };
    match &u.user {
        KeyUser::LogsService {
            group_arn,
            principal,
        } => {
            let context = [("kms:EncryptionContext:aws:logs:arn", group_arn.as_str())];
            let decisions: Vec<Decision> = ["kms:GenerateDataKey", "kms:Decrypt"]
                .into_iter()
                .map(|action| {
                    crate::policy::evaluate(
                        &policy,
                        &crate::policy::Request {
                            action,
                            resource: &key.arn,
                            principal: Some(principal),
                            context: &context,
                        },
                    )
                })
                .collect();
            let decision = decisions
                .into_iter()
                .reduce(worse)
                .unwrap_or(Decision::Allowed);
            Ok(decided(
                &key.arn,
                decision,
                format!("the key policy of {} lets {principal} encrypt {}'s logs", key.arn, u.what),
                format!("the key policy of {} does not let {principal} use it: {} cannot take log events", key.arn, u.what),
                format!("add to the key policy: {{\"Effect\":\"Allow\",\"Principal\":{{\"Service\":\"{principal}\"}},\"Action\":[\"kms:Encrypt*\",\"kms:Decrypt*\",\"kms:ReEncrypt*\",\"kms:GenerateDataKey*\",\"kms:Describe*\"],\"Resource\":\"*\",\"Condition\":{{\"ArnLike\":{{\"kms:EncryptionContext:aws:logs:arn\":\"{group_arn}\"}}}}}}"),
            ))
        }
        KeyUser::FargateStorage {
            cluster_account,
            cluster_name,
        } => {
            let context = [
                (
                    "kms:EncryptionContext:aws:ecs:clusterAccount",
                    cluster_account.as_str(),
                ),
                (
                    "kms:EncryptionContext:aws:ecs:clusterName",
                    cluster_name.as_str(),
                ),
                ("kms:GrantOperations", "Decrypt"),
            ];
            let decision = ["kms:GenerateDataKeyWithoutPlaintext", "kms:CreateGrant"]
                .into_iter()
                .map(|action| {
                    crate::policy::evaluate(
                        &policy,
                        &crate::policy::Request {
                            action,
                            resource: &key.arn,
                            principal: Some(FARGATE),
                            context: &context,
                        },
                    )
                })
                .reduce(worse)
                .unwrap_or(Decision::Allowed);
            Ok(decided(
                &key.arn,
                decision,
                format!("the key policy of {} lets {FARGATE} generate data keys and create Decrypt grants for {}", key.arn, u.what),
                format!("the key policy of {} does not let {FARGATE} use it for cluster {cluster_name} (kms:GenerateDataKeyWithoutPlaintext and kms:CreateGrant): no task of the cluster can start", key.arn),
                format!("add to the key policy of {}: {{\"Effect\":\"Allow\",\"Principal\":{{\"Service\":\"{FARGATE}\"}},\"Action\":\"kms:GenerateDataKeyWithoutPlaintext\",\"Resource\":\"*\",\"Condition\":{{\"StringEquals\":{{\"kms:EncryptionContext:aws:ecs:clusterAccount\":\"{cluster_account}\",\"kms:EncryptionContext:aws:ecs:clusterName\":\"{cluster_name}\"}}}}}} and the same for kms:CreateGrant with \"ForAllValues:StringEquals\":{{\"kms:GrantOperations\":[\"Decrypt\"]}}", key.arn),
            ))
        }
        KeyUser::ExecutionRole { via } => {
            let role = match ctx.snap.execution_role.get()? {
                Some(role) => role,
                None => {
                    return Ok(Verdict::fail(
                        &key.arn,
                        format!("{} needs kms:Decrypt with {}, but the task definition names no execution role", u.what, key.arn),
                        "set executionRoleArn (see execution-role)",
                    ))
                }
            };
            Ok(role_may_decrypt(role, &policy, key, via, &u.what)?)
        }
    }
}

/// The key policy's Deny statements and the Allow statements that name principals, without
/// those granting the account as a whole (`ACCOUNT`, `arn:…:iam::ACCOUNT:root`) or everyone.
fn without_account_grants(policy: &serde_json::Value, account: &str) -> serde_json::Value {
    let account_wide = |p: &str| {
        p == "*"
            || p == account
            || (p.starts_with("arn:") && p.ends_with(&format!(":iam::{account}:root")))
    };
    let statements: Vec<serde_json::Value> = match policy.get("Statement") {
        Some(serde_json::Value::Array(items)) => items.clone(),
        Some(one) => vec![one.clone()],
        None => vec![],
    };
    let kept: Vec<serde_json::Value> = statements
        .into_iter()
        .filter(|st| {
            if st.get("Effect").and_then(|e| e.as_str()) == Some("Deny") {
                return true;
            }
            let principals: Vec<&str> = match st.get("Principal") {
                Some(serde_json::Value::String(p)) => vec![p.as_str()],
                Some(serde_json::Value::Object(map)) => map
                    .values()
                    .flat_map(|v| match v {
                        serde_json::Value::String(p) => vec![p.as_str()],
                        serde_json::Value::Array(ps) => {
                            ps.iter().filter_map(|p| p.as_str()).collect()
                        }
                        _ => vec![],
                    })
                    .collect(),
                _ => vec![],
            };
            !principals.iter().any(|p| account_wide(p))
        })
        .collect();
    serde_json::json!({ "Statement": kept })
}

/// A verdict from one policy decision.
fn decided(resource: &str, d: Decision, allowed: String, denied: String, fix: String) -> Verdict {
    match d {
        Decision::Allowed => Verdict::pass(resource, allowed),
        Decision::Uncertain { reasons } => Verdict::warn(
            resource,
            format!("{allowed}, depending on: {}", reasons.join("; ")),
            fix,
        ),
        Decision::ExplicitDeny { .. } | Decision::ImplicitDeny => {
            Verdict::fail(resource, denied, fix)
        }
    }
}

/// KMS lets a principal use a key when the key policy allows it by name; a key policy that
/// allows the principal's account (`arn:aws:iam::ACCOUNT:root`) delegates to IAM, whose
/// policies must then allow it too. A key in another account always needs both.
fn role_may_decrypt(
    role: &crate::snapshot::Role,
    key_policy: &serde_json::Value,
    key: &crate::snapshot::KmsKey,
    via: &str,
    what: &str,
) -> Result<Verdict, Problem> {
    let account = role.arn.split(':').nth(4).unwrap_or_default();
    let context = [("kms:ViaService", via), ("kms:CallerAccount", account)];
    let by_key_policy = |policy: &serde_json::Value, principal: &str| {
        crate::policy::evaluate(
            policy,
            &crate::policy::Request {
                action: "kms:Decrypt",
                resource: &key.arn,
                principal: Some(principal),
                context: &context,
            },
        )
    };
    let for_role = by_key_policy(key_policy, &role.arn);
    let same_account = key.arn.split(':').nth(4) == Some(account);
    // The key policy without its grants to the whole account: what it allows the role by name.
    let named = same_account
        && matches!(
            by_key_policy(&without_account_grants(key_policy, account), &role.arn),
            Decision::Allowed
        );
    let decision = if named {
        Decision::Allowed
    } else {
        worse(
            for_role,
            role_decides(role, "kms:Decrypt", &key.arn, &context)?,
        )
    };
    Ok(decided(
        &key.arn,
        decision,
        format!("{} may kms:Decrypt with {} via {via} for {what}", role.name, key.arn),
        format!("{} may not kms:Decrypt with {} via {via}: {what} cannot be read (\"AccessDeniedException … kms\")", role.name, key.arn),
        format!("allow kms:Decrypt on {} to {} in the key policy (aws kms put-key-policy) or, where the key policy delegates to the account, in the role's policies: {{\"Effect\":\"Allow\",\"Action\":\"kms:Decrypt\",\"Resource\":\"{}\"}}", key.arn, role.arn, key.arn),
    ))
}
