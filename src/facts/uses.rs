//! What the task uses while it starts, read once from its task definition: the images, the
//! awslogs destinations, the secrets, the S3 environment files, ECS Exec. Checks and the
//! request model read these; nothing else parses images or log options.

use std::collections::BTreeSet;

use crate::image::{self, EcrRegistry, ImageRef};
use crate::snapshot::TaskDefinition;

pub struct ContainerImage<'a> {
    pub container: &'a str,
    pub image: &'a str,
    pub parsed: ImageRef,
    /// The private ECR registry it is in, if any.
    pub ecr: Option<EcrRegistry>,
}

/// A container's awslogs log driver settings.
pub struct LogDestination<'a> {
    pub container: &'a str,
    pub group: Option<&'a str>,
    /// `awslogs-region`, else the task's region.
    pub region: &'a str,
    pub stream_prefix: Option<&'a str>,
    /// `awslogs-create-group: true`: the role must be allowed logs:CreateLogGroup.
    pub create_group: bool,
}

/// A secret the task reads at start-up.
pub struct SecretUse {
    /// `secretsmanager` or `ssm`.
    pub service: &'static str,
    /// The region it lives in (a bare parameter name is in the task's region).
    pub region: String,
    /// "container/NAME".
    pub what: String,
    pub value_from: String,
    /// The account of an ARN; a bare parameter name is the task's own account.
    pub account: String,
}

impl SecretUse {
    /// What the lookups ask for: the secret's ARN without the suffix ECS allows after it, or
    /// the parameter reference as written.
    pub fn lookup_id(&self) -> String {
        if self.service == "secretsmanager" {
            secret_id(&self.value_from)
        } else {
            self.value_from.clone()
        }
    }

    /// `json-key:version-stage:version-id` after a secret's ARN (ECS's valueFrom syntax); each
    /// part may be empty.
    pub fn secret_suffix(&self) -> (Option<&str>, Option<&str>, Option<&str>) {
        let parts: Vec<&str> = self.value_from.split(':').collect();
        let part = |i: usize| parts.get(i).copied().filter(|p| !p.is_empty());
        (part(7), part(8), part(9))
    }
}

/// The secret a reference names: the ARN without the `:json-key:version-stage:version-id`
/// suffix ECS allows after it.
pub fn secret_id(value_from: &str) -> String {
    value_from.split(':').take(7).collect::<Vec<_>>().join(":")
}

/// The parameter name a reference names: a bare name, or the name inside a parameter ARN
/// (`parameter/a/b` is `/a/b`, `parameter/flat` is `flat`).
pub fn parameter_name(value_from: &str) -> String {
    match value_from.split_once(":parameter/") {
        Some((_, rest)) if value_from.starts_with("arn:") => {
            if rest.contains('/') {
                format!("/{rest}")
            } else {
                rest.to_string()
            }
        }
        _ => value_from.to_string(),
    }
}

/// `arn:PARTITION:s3:::BUCKET/KEY` as (bucket, key).
pub fn object_of(arn: &str) -> Option<(&str, &str)> {
    let rest = arn.strip_prefix("arn:")?;
    let (_, rest) = rest.split_once(":s3:::")?;
    let (bucket, key) = rest.split_once('/')?;
    (!bucket.is_empty() && !key.is_empty()).then_some((bucket, key))
}

pub struct EnvironmentFile<'a> {
    pub container: &'a str,
    /// The object's ARN, `arn:aws:s3:::bucket/key`.
    pub arn: &'a str,
    pub bucket: &'a str,
}

pub struct Uses<'a> {
    pub images: Vec<ContainerImage<'a>>,
    pub logs: Vec<LogDestination<'a>>,
    pub secrets: Vec<SecretUse>,
    pub environment_files: Vec<EnvironmentFile<'a>>,
    /// `enableExecuteCommand` on the service (or the pre-deploy flag).
    pub exec: bool,
    region: &'a str,
    account: &'a str,
}

impl<'a> Uses<'a> {
    /// `exec`: `enableExecuteCommand` of the service (or the pre-deploy flag).
    pub fn of(td: &'a TaskDefinition, exec: bool, region: &'a str) -> Self {
        let mut uses = Uses {
            images: Vec::new(),
            logs: Vec::new(),
            secrets: Vec::new(),
            environment_files: Vec::new(),
            exec,
            region,
            account: td.account(),
        };
        for c in &td.containers {
            let parsed = image::parse(&c.image);
            uses.images.push(ContainerImage {
                container: &c.name,
                image: &c.image,
                ecr: parsed.ecr(),
                parsed,
            });
            if let Some(log) = c
                .log_configuration
                .as_ref()
                .filter(|l| l.log_driver == "awslogs")
            {
                let option = |key: &str| log.options.get(key).map(String::as_str);
                uses.logs.push(LogDestination {
                    container: &c.name,
                    group: option("awslogs-group"),
                    region: option("awslogs-region").unwrap_or(region),
                    stream_prefix: option("awslogs-stream-prefix"),
                    create_group: option("awslogs-create-group") == Some("true"),
                });
            }
            let log_secrets = c
                .log_configuration
                .iter()
                .flat_map(|l| l.secret_options.iter());
            let account = td.account();
            let owner = |value_from: &str| {
                value_from
                    .starts_with("arn:")
                    .then(|| value_from.split(':').nth(4))
                    .flatten()
                    .unwrap_or(account)
                    .to_string()
            };
            for s in c.secrets.iter().chain(log_secrets) {
                let (service, secret_region) = secret_source(&s.value_from, region);
                uses.secrets.push(SecretUse {
                    service,
                    region: secret_region,
                    what: format!("{}/{}", c.name, s.name),
                    value_from: s.value_from.clone(),
                    account: owner(&s.value_from),
                });
            }
            if let Some(arn) = &c.repository_credentials {
                let (_, secret_region) = secret_source(arn, region);
                uses.secrets.push(SecretUse {
                    service: "secretsmanager",
                    region: secret_region,
                    what: format!("{}/repositoryCredentials", c.name),
                    value_from: arn.clone(),
                    account: owner(arn),
                });
            }
            for file in &c.environment_files {
                let bucket = file.split_once(":::").map_or("", |(_, rest)| rest);
                uses.environment_files.push(EnvironmentFile {
                    container: &c.name,
                    arn: file,
                    bucket: bucket.split('/').next().unwrap_or_default(),
                });
            }
        }
        uses
    }

    /// Images in a private ECR registry reached through PrivateLink (not dual-stack), any region.
    pub fn ecr_images(&self) -> impl Iterator<Item = (&ContainerImage<'a>, &EcrRegistry)> {
        self.images
            .iter()
            .filter_map(|i| i.ecr.as_ref().filter(|r| !r.dualstack).map(|r| (i, r)))
    }

    /// Images in the task's own account and region of ECR: its repositories and cache rules.
    pub fn own_registry_images(&self) -> impl Iterator<Item = &ContainerImage<'a>> {
        self.images.iter().filter(|i| {
            i.ecr
                .as_ref()
                .is_some_and(|r| r.account == self.account && r.region == self.region)
        })
    }

    /// Does the task read anything from S3 (ECR layers, environment files)?
    pub fn uses_s3(&self) -> bool {
        self.ecr_images().next().is_some() || !self.environment_files.is_empty()
    }

    /// Interface endpoint services the task uses (`ecr.api` only where the platform needs it).
    pub fn interface_services(&self, needs_ecr_api: bool) -> BTreeSet<String> {
        let mut services = BTreeSet::new();
        if self.ecr_images().next().is_some() {
            services.insert("ecr.dkr".to_string());
            if needs_ecr_api {
                services.insert("ecr.api".to_string());
            }
        }
        if !self.logs.is_empty() {
            services.insert("logs".into());
        }
        for secret in &self.secrets {
            services.insert(secret.service.to_string());
        }
        if self.exec {
            services.insert("ssmmessages".into());
        }
        services
    }

    /// Interface endpoint services of other Regions the task calls, as (service, Region): a
    /// cross-Region endpoint can serve those PrivateLink supports.
    pub fn remote_interface_services(&self, needs_ecr_api: bool) -> BTreeSet<(String, String)> {
        let mut services = BTreeSet::new();
        for (_, ecr) in self.ecr_images().filter(|(_, e)| e.region != self.region) {
            services.insert(("ecr.dkr".to_string(), ecr.region.clone()));
            if needs_ecr_api {
                services.insert(("ecr.api".to_string(), ecr.region.clone()));
            }
        }
        for log in self.logs.iter().filter(|l| l.region != self.region) {
            services.insert(("logs".to_string(), log.region.to_string()));
        }
        for secret in self.secrets.iter().filter(|s| s.region != self.region) {
            services.insert((secret.service.to_string(), secret.region.clone()));
        }
        services
    }

    /// What only a path out can serve: images outside this region's private ECR (VPC endpoints
    /// do not serve other registries), ECR's dual-stack endpoint, and calls to AWS services in
    /// other regions.
    pub fn internet_only(&self) -> Vec<String> {
        let mut uses = self.dual_stack_pulls();
        uses.extend(self.internet_only_but_dual_stack());
        uses
    }

    /// Pulls through ECR's dual-stack endpoint, which PrivateLink does not serve.
    pub fn dual_stack_pulls(&self) -> Vec<String> {
        self.images
            .iter()
            .filter(|i| i.ecr.as_ref().is_some_and(|e| e.dualstack))
            .map(|i| format!(
                "container {} image {} (ECR's dual-stack endpoint, which PrivateLink does not serve)",
                i.container, i.image
            ))
            .collect()
    }

    /// What only a path out can serve, ECR's dual-stack pulls left out.
    pub fn internet_only_but_dual_stack(&self) -> Vec<String> {
        let mut uses = Vec::new();
        for i in &self.images {
            let (container, image) = (i.container, i.image);
            match &i.ecr {
                None => uses.push(format!("container {container} image {image}")),
                Some(ecr) if ecr.dualstack => {}
                Some(ecr) if ecr.region != self.region => uses.push(format!(
                    "container {container} image {image} (ECR in {})",
                    ecr.region
                )),
                Some(_) => {}
            }
        }
        for log in self.logs.iter().filter(|l| l.region != self.region) {
            uses.push(format!(
                "container {} logs (CloudWatch Logs in {})",
                log.container, log.region
            ));
        }
        for secret in self.secrets.iter().filter(|s| s.region != self.region) {
            uses.push(format!(
                "secret {} ({} in {})",
                secret.what, secret.service, secret.region
            ));
        }
        uses
    }
}

/// The service and region of a secret reference.
fn secret_source(value_from: &str, task_region: &str) -> (&'static str, String) {
    let parts: Vec<&str> = value_from.splitn(6, ':').collect();
    if parts.len() >= 4 && parts[0] == "arn" {
        let service = if parts[2] == "secretsmanager" {
            "secretsmanager"
        } else {
            "ssm"
        };
        return (service, parts[3].to_string());
    }
    // A bare name refers to an SSM parameter in the task's region.
    ("ssm", task_region.to_string())
}
