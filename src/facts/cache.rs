//! Which ECR pull-through cache rule serves a repository of the registry (ECR guide, "Pull
//! through cache"): the longest matching prefix, else a `ROOT` rule.

use crate::snapshot::PullThroughCacheRule;

/// The prefix `ROOT` (ECR-to-ECR rules) matches every repository no other rule matches.
pub const ROOT_PREFIX: &str = "ROOT";

pub fn rule_for<'r>(
    rules: &'r [PullThroughCacheRule],
    repository: &str,
) -> Option<&'r PullThroughCacheRule> {
    rules
        .iter()
        .filter(|r| {
            repository
                .strip_prefix(r.ecr_repository_prefix.as_str())
                .is_some_and(|rest| rest.starts_with('/'))
        })
        .max_by_key(|r| r.ecr_repository_prefix.len())
        .or_else(|| {
            rules
                .iter()
                .find(|r| r.ecr_repository_prefix == ROOT_PREFIX)
        })
}

/// The repository name the rule asks its upstream for.
pub fn upstream_repository(rule: &PullThroughCacheRule, repository: &str) -> String {
    if rule.ecr_repository_prefix == ROOT_PREFIX {
        repository.to_string()
    } else {
        repository[rule.ecr_repository_prefix.len() + 1..].to_string()
    }
}
