//! What the task fetches at start, by metadata only: Secrets Manager DescribeSecret, SSM
//! DescribeParameters, CloudWatch Logs DescribeLogGroups, S3 GetBucketLocation and HeadObject,
//! KMS DescribeKey and GetKeyPolicy. Never GetSecretValue, GetParameter(s) or GetObject: they
//! return values.

use std::collections::BTreeSet;

use aws_sdk_ssm::types::ParameterStringFilter;
use futures::future::join_all;

use super::calls::{later_wave, Limited};
use super::errors::classify;
use crate::facts::uses::Uses;
use crate::snapshot::{
    Fetched, GatherError, GatherErrorKind, KmsKey, LogGroupMetadata, Lookup, ObjectMetadata,
    ParameterMetadata, SecretMetadata, StartResources, TaskDefinition,
};

/// Clients of the services behind the task's start, in whichever Region a reference names.
pub struct Clients<'a> {
    pub config: &'a aws_config::SdkConfig,
    pub calls: &'a super::CallLog,
}

impl Clients<'_> {
    fn secrets(&self, region: &str) -> aws_sdk_secretsmanager::Client {
        client!(aws_sdk_secretsmanager, self.config, self.calls, region)
    }
    fn ssm(&self, region: &str) -> aws_sdk_ssm::Client {
        client!(aws_sdk_ssm, self.config, self.calls, region)
    }
    fn logs(&self, region: &str) -> aws_sdk_cloudwatchlogs::Client {
        client!(aws_sdk_cloudwatchlogs, self.config, self.calls, region)
    }
    fn s3(&self, region: &str) -> aws_sdk_s3::Client {
        client!(aws_sdk_s3, self.config, self.calls, region)
    }
    fn kms(&self, region: &str) -> aws_sdk_kms::Client {
        client!(aws_sdk_kms, self.config, self.calls, region)
    }
}

/// What the task definitions reference, each once: (Region, reference).
#[derive(Default)]
pub struct Wanted {
    pub secrets: Vec<(String, String)>,
    pub parameters: Vec<(String, String)>,
    pub log_groups: Vec<(String, String)>,
    pub objects: Vec<String>,
    /// Keys named outside the task definitions: the cluster's Fargate ephemeral storage key.
    pub keys: Vec<(String, String)>,
}

impl Wanted {
    pub fn of(tds: &[&TaskDefinition], region: &str) -> Self {
        let mut secrets = BTreeSet::new();
        let mut parameters = BTreeSet::new();
        let mut log_groups = BTreeSet::new();
        let mut objects = BTreeSet::new();
        for td in tds {
            let uses = Uses::of(td, false, region);
            for s in &uses.secrets {
                if s.service == "secretsmanager" {
                    secrets.insert((s.region.clone(), s.lookup_id()));
                } else if s.account == td.account() {
                    // DescribeParameters lists only the caller's own parameters.
                    parameters.insert((s.region.clone(), s.lookup_id()));
                }
            }
            for l in &uses.logs {
                if let Some(group) = l.group {
                    log_groups.insert((l.region.to_string(), group.to_string()));
                }
            }
            for f in &uses.environment_files {
                objects.insert(f.arn.to_string());
            }
        }
        Wanted {
            secrets: secrets.into_iter().collect(),
            parameters: parameters.into_iter().collect(),
            log_groups: log_groups.into_iter().collect(),
            objects: objects.into_iter().collect(),
            keys: vec![],
        }
    }
}

/// Every lookup at once, then the KMS keys their answers name, each key once.
pub async fn gather(clients: &Clients<'_>, task_region: &str, wanted: &Wanted) -> StartResources {
    let (secrets, parameters, log_groups, environment_files) = tokio::join!(
        join_all(wanted.secrets.iter().map(|(r, id)| secret(clients, r, id))),
        join_all(
            wanted
                .parameters
                .iter()
                .map(|(r, name)| parameter(clients, r, name))
        ),
        join_all(
            wanted
                .log_groups
                .iter()
                .map(|(r, group)| log_group(clients, r, group))
        ),
        objects(clients, task_region, &wanted.objects),
    );
    let mut found = StartResources {
        secrets,
        parameters,
        log_groups,
        environment_files,
        kms_keys: vec![],
    };
    let mut keys = key_references(&found);
    keys.extend(wanted.keys.iter().cloned());
    // The keys wait for every lookup: after HeadObject when there are environment files.
    let depth = if wanted.objects.is_empty() { 1 } else { 2 };
    let kms_keys = later_wave(
        depth,
        join_all(keys.iter().map(|(r, id)| kms_key(clients, r, id))),
    )
    .await;
    found.kms_keys = kms_keys;
    found
}

/// The customer managed keys the found resources name, as (Region, key id): a key ARN names
/// its Region, an id or alias is the resource's. AWS managed keys need no lookup.
fn key_references(found: &StartResources) -> BTreeSet<(String, String)> {
    fn named<T>(lookups: &[Lookup<T>], key: fn(&T) -> Option<&String>) -> Vec<(&str, &str)> {
        lookups
            .iter()
            .filter_map(|l| {
                Some((
                    l.region.as_str(),
                    key(l.found.ok().ok()?.as_ref()?)?.as_str(),
                ))
            })
            .collect()
    }
    fn secure(p: &ParameterMetadata) -> Option<&String> {
        p.key_id.as_ref().filter(|_| p.kind == "SecureString")
    }
    named(&found.secrets, |m| m.kms_key_id.as_ref())
        .into_iter()
        .chain(named(&found.parameters, secure))
        .chain(named(&found.log_groups, |g| g.kms_key_id.as_ref()))
        .chain(named(&found.environment_files, |o| o.kms_key_id.as_ref()))
        .filter(|(_, id)| !id.contains("alias/aws/"))
        .map(|(region, id)| key_reference(region, id))
        .collect()
}

/// A key as (Region, key id): a key ARN names its Region, an id or alias is `region`'s.
pub fn key_reference(region: &str, id: &str) -> (String, String) {
    let region = id
        .starts_with("arn:")
        .then(|| id.split(':').nth(3))
        .flatten()
        .unwrap_or(region);
    (region.to_string(), id.to_string())
}

pub async fn secret(clients: &Clients<'_>, region: &str, id: &str) -> Lookup<SecretMetadata> {
    let answer = clients
        .secrets(region)
        .describe_secret()
        .secret_id(id)
        .send()
        .limited()
        .await;
    let found = match answer {
        Ok(out) => Fetched::Ok(Some(SecretMetadata {
            arn: out.arn().unwrap_or(id).to_string(),
            deleted: out.deleted_date().is_some(),
            kms_key_id: out.kms_key_id().map(str::to_string),
            versions: out
                .version_ids_to_stages()
                .map(|v| {
                    v.iter()
                        .map(|(id, stages)| (id.clone(), stages.clone()))
                        .collect()
                })
                .unwrap_or_default(),
        })),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            Fetched::Ok(None)
        }
        Err(err) => Fetched::failed(classify("secretsmanager:DescribeSecret", &err)),
    };
    lookup(id, region, found)
}

pub async fn parameter(
    clients: &Clients<'_>,
    region: &str,
    reference: &str,
) -> Lookup<ParameterMetadata> {
    let name = crate::facts::uses::parameter_name(reference);
    let filter = ParameterStringFilter::builder()
        .key("Name")
        .option("Equals")
        .values(&name)
        .build()
        .expect("the filter's key is set");
    let answer = clients
        .ssm(region)
        .describe_parameters()
        .parameter_filters(filter)
        .into_paginator()
        .send()
        .try_collect()
        .limited()
        .await;
    let found = match answer {
        Ok(pages) => Fetched::Ok(
            pages
                .iter()
                .flat_map(|page| page.parameters())
                .find(|p| p.name() == Some(name.as_str()))
                .map(|p| ParameterMetadata {
                    name: name.clone(),
                    kind: p
                        .r#type()
                        .map(|t| t.as_str())
                        .unwrap_or("String")
                        .to_string(),
                    key_id: p.key_id().map(str::to_string),
                }),
        ),
        Err(err) => Fetched::failed(classify("ssm:DescribeParameters", &err)),
    };
    lookup(reference, region, found)
}

/// DescribeLogGroups takes a prefix: the group is the one whose name matches exactly.
pub async fn log_group(
    clients: &Clients<'_>,
    region: &str,
    name: &str,
) -> Lookup<LogGroupMetadata> {
    let answer = clients
        .logs(region)
        .describe_log_groups()
        .log_group_name_prefix(name)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .limited()
        .await;
    let found = match answer {
        Ok(groups) => Fetched::Ok(
            groups
                .into_iter()
                .find(|g| g.log_group_name() == Some(name))
                .map(|g| LogGroupMetadata {
                    name: name.to_string(),
                    kms_key_id: g.kms_key_id().map(str::to_string),
                }),
        ),
        Err(err) => Fetched::failed(classify("logs:DescribeLogGroups", &err)),
    };
    lookup(name, region, found)
}

/// GetBucketLocation's answer as a Region: none means us-east-1, `EU` the old name of eu-west-1.
fn bucket_region(constraint: Option<&str>) -> String {
    match constraint {
        None | Some("") => "us-east-1".into(),
        Some("EU") => "eu-west-1".into(),
        Some(region) => region.into(),
    }
}

/// A HEAD answer carries no error body: a 403 is a denial (a 404 a missing object).
fn head_error(
    err: &aws_sdk_s3::error::SdkError<
        aws_sdk_s3::operation::head_object::HeadObjectError,
        aws_smithy_runtime_api::client::orchestrator::HttpResponse,
    >,
) -> GatherError {
    // HeadObject is authorized by s3:GetObject (S3 API reference, HeadObject).
    let mut error = classify("s3:GetObject", err);
    if err
        .raw_response()
        .is_some_and(|r| r.status().as_u16() == 403)
    {
        error.kind = GatherErrorKind::Denied;
    }
    error
}

/// A bucket's Region (GetBucketLocation, asked of the task's Region); `None` when the bucket
/// does not exist.
async fn locate(clients: &Clients<'_>, task_region: &str, bucket: &str) -> Option<Fetched<String>> {
    let located = clients
        .s3(task_region)
        .get_bucket_location()
        .bucket(bucket)
        .send()
        .limited()
        .await;
    match located {
        Ok(out) => Some(Fetched::Ok(bucket_region(
            out.location_constraint().map(|c| c.as_str()),
        ))),
        Err(err)
            if err
                .as_service_error()
                .and_then(|e| aws_sdk_s3::error::ProvideErrorMetadata::code(e))
                == Some("NoSuchBucket") =>
        {
            None
        }
        Err(err) => Some(Fetched::failed(classify("s3:GetBucketLocation", &err))),
    }
}

/// Each bucket's Region once, then each object's metadata (HeadObject, asked of its bucket's
/// Region).
async fn objects(
    clients: &Clients<'_>,
    task_region: &str,
    arns: &[String],
) -> Vec<Lookup<ObjectMetadata>> {
    let buckets: BTreeSet<&str> = arns
        .iter()
        .filter_map(|a| crate::facts::uses::object_of(a).map(|(b, _)| b))
        .collect();
    let located = join_all(buckets.iter().map(|b| locate(clients, task_region, b))).await;
    let regions: std::collections::BTreeMap<&str, Option<Fetched<String>>> =
        buckets.into_iter().zip(located).collect();
    later_wave(
        1,
        join_all(
            arns.iter()
                .map(|arn| object(clients, task_region, arn, &regions)),
        ),
    )
    .await
}

async fn object(
    clients: &Clients<'_>,
    task_region: &str,
    arn: &str,
    regions: &std::collections::BTreeMap<&str, Option<Fetched<String>>>,
) -> Lookup<ObjectMetadata> {
    let Some((bucket, key)) = crate::facts::uses::object_of(arn) else {
        return lookup(
            arn,
            task_region,
            Fetched::failed(GatherError {
                action: "s3:GetObject".into(),
                kind: GatherErrorKind::Skipped,
                message: format!("{arn} is not an S3 object ARN"),
            }),
        );
    };
    let Some(region) = regions[bucket].clone() else {
        return lookup(arn, task_region, Fetched::Ok(None));
    };
    // A bucket whose Region could not be read is asked from the task's Region.
    let ask = match &region {
        Fetched::Ok(r) => r.clone(),
        Fetched::Failed { .. } => task_region.to_string(),
    };
    let head = clients
        .s3(&ask)
        .head_object()
        .bucket(bucket)
        .key(key)
        .send()
        .limited()
        .await;
    let found = match head {
        Ok(out) => Fetched::Ok(Some(ObjectMetadata {
            bucket_region: region,
            kms_key_id: out.ssekms_key_id().map(str::to_string),
        })),
        Err(err) if err.as_service_error().is_some_and(|e| e.is_not_found()) => Fetched::Ok(None),
        Err(err) => Fetched::failed(head_error(&err)),
    };
    lookup(arn, &ask, found)
}

/// The key's metadata and, for a customer managed key, its policy. GetKeyPolicy takes a key id
/// or ARN, not an alias: for those both go out at once, for an alias the policy waits for the
/// key's ARN.
pub async fn kms_key(clients: &Clients<'_>, region: &str, key_id: &str) -> Lookup<KmsKey> {
    let client = clients.kms(region);
    let get_policy = |id: String| {
        let client = client.clone();
        async move {
            match client
                .get_key_policy()
                .key_id(id)
                .policy_name("default")
                .send()
                .limited()
                .await
            {
                Ok(out) => Fetched::Ok(out.policy().unwrap_or_default().to_string()),
                Err(err) => Fetched::failed(classify("kms:GetKeyPolicy", &err)),
            }
        }
    };
    let alias = key_id.contains("alias/");
    let (described, early_policy) = tokio::join!(
        client.describe_key().key_id(key_id).send().limited(),
        async {
            match alias {
                true => None,
                false => Some(get_policy(key_id.to_string()).await),
            }
        }
    );
    let found = match described {
        Ok(out) => match out.key_metadata() {
            None => Fetched::Ok(None),
            Some(meta) => {
                let arn = meta.arn().unwrap_or(key_id).to_string();
                let manager = meta
                    .key_manager()
                    .map_or("CUSTOMER", |m| m.as_str())
                    .to_string();
                let policy = match early_policy {
                    Some(policy) => policy,
                    None if manager == "AWS" => Fetched::failed(GatherError {
                        action: "kms:GetKeyPolicy".into(),
                        kind: GatherErrorKind::Skipped,
                        message: "not needed: an AWS managed key".into(),
                    }),
                    None => later_wave(1, get_policy(arn.clone())).await,
                };
                Fetched::Ok(Some(KmsKey {
                    arn,
                    state: meta
                        .key_state()
                        .map_or("Unavailable", |s| s.as_str())
                        .to_string(),
                    manager,
                    policy,
                }))
            }
        },
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_not_found_exception()) =>
        {
            Fetched::Ok(None)
        }
        Err(err) => Fetched::failed(classify("kms:DescribeKey", &err)),
    };
    lookup(key_id, region, found)
}

fn lookup<T>(reference: &str, region: &str, found: Fetched<Option<T>>) -> Lookup<T> {
    Lookup {
        reference: reference.to_string(),
        region: region.to_string(),
        found,
    }
}

fn pick<T: Clone>(lookups: &[Lookup<T>], refs: &[(String, String)]) -> Vec<Lookup<T>> {
    lookups
        .iter()
        .filter(|l| {
            refs.iter()
                .any(|(r, id)| *r == l.region && *id == l.reference)
        })
        .cloned()
        .collect()
}

/// One task definition's share of a scan's lookups: those it references, and their keys (with
/// the cluster's `cluster_key`).
pub fn share(
    all: &StartResources,
    td: &TaskDefinition,
    region: &str,
    cluster_key: Option<&(String, String)>,
) -> StartResources {
    let wanted = Wanted::of(&[td], region);
    let secrets: Vec<Lookup<SecretMetadata>> = pick(&all.secrets, &wanted.secrets);
    let parameters: Vec<Lookup<ParameterMetadata>> = pick(&all.parameters, &wanted.parameters);
    let log_groups: Vec<Lookup<LogGroupMetadata>> = pick(&all.log_groups, &wanted.log_groups);
    let environment_files: Vec<Lookup<ObjectMetadata>> = all
        .environment_files
        .iter()
        .filter(|l| wanted.objects.contains(&l.reference))
        .cloned()
        .collect();
    let mut share = StartResources {
        secrets,
        parameters,
        log_groups,
        environment_files,
        kms_keys: vec![],
    };
    let mut keys = key_references(&share);
    keys.extend(cluster_key.cloned());
    share.kms_keys = all
        .kms_keys
        .iter()
        .filter(|k| keys.contains(&(k.region.clone(), k.reference.clone())))
        .cloned()
        .collect();
    share
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_locations_are_regions() {
        assert_eq!(bucket_region(None), "us-east-1");
        assert_eq!(bucket_region(Some("EU")), "eu-west-1");
        assert_eq!(bucket_region(Some("ap-south-2")), "ap-south-2");
    }
}
