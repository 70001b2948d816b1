//! ECR: the registry's pull-through cache rules, and whether the task's repositories exist
//! (a cache repository appears only after the first pull).

use aws_sdk_ecr::Client;
use futures::future::join_all;

use super::calls::Limited;
use super::errors::classify;
use crate::snapshot::{Fetched, PullThroughCacheRule, Registry, RepositoryStatus};

/// The registry's cache rules, and whether each of `names` (repositories of this account and
/// region that the tasks pull) exists.
pub async fn gather_registry(client: &Client, names: &[String]) -> Fetched<Registry> {
    let rules = client
        .describe_pull_through_cache_rules()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .limited();
    let repositories = join_all(names.iter().map(|name| repository_exists(client, name)));
    let (rules, repositories) = tokio::join!(rules, repositories);
    let rules = match rules {
        Ok(rules) => rules,
        Err(err) => return Fetched::failed(classify("ecr:DescribePullThroughCacheRules", &err)),
    };
    Fetched::Ok(Registry {
        pull_through_cache_rules: rules
            .iter()
            .filter_map(|r| {
                Some(PullThroughCacheRule {
                    ecr_repository_prefix: r.ecr_repository_prefix()?.to_string(),
                    upstream_registry_url: r
                        .upstream_registry_url()
                        .unwrap_or_default()
                        .to_string(),
                    upstream_registry: r.upstream_registry().map(|u| u.as_str().to_string()),
                    credential_arn: r.credential_arn().map(str::to_string),
                    custom_role_arn: r.custom_role_arn().map(str::to_string),
                    upstream_repository_prefix: r.upstream_repository_prefix().map(str::to_string),
                })
            })
            .collect(),
        repositories,
    })
}

async fn repository_exists(client: &Client, name: &str) -> RepositoryStatus {
    let result = client
        .describe_repositories()
        .repository_names(name)
        .send()
        .limited()
        .await;
    let exists = match result {
        Ok(_) => Fetched::Ok(true),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_repository_not_found_exception()) =>
        {
            Fetched::Ok(false)
        }
        Err(err) => Fetched::failed(classify("ecr:DescribeRepositories", &err)),
    };
    RepositoryStatus {
        name: name.to_string(),
        exists,
    }
}
