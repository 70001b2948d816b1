//! public-image and pull-through-cache: VPC endpoints serve only private ECR; an image from
//! any other registry needs a path out, or a pull-through cache rule and the image referenced
//! through the private registry.

use super::requests::TaskRequest;
use super::Problem;
use super::{Check, Context, Explain, Outcome, Severity, Verdict};
use crate::facts::cache;
use crate::image::ImageRef;
use crate::snapshot::{GatherError, PullThroughCacheRule};

const DOCS: &str = "https://docs.aws.amazon.com/AmazonECR/latest/userguide/pull-through-cache.html";

pub static PUBLIC_IMAGE: Check = Check {
    id: "public-image",
    title: "Images from public registries have a path out or a pull-through cache",
    severity: Severity::Error,
    docs: DOCS,
    run: public_image,
    explain: Explain {
        verifies: "That every image outside this region's private ECR (Docker Hub, public.ecr.aws, ghcr.io, quay.io, registry.k8s.io, …) has a path out.",
        why: "VPC endpoints serve only private ECR. A Docker Hub image in an endpoint-only VPC fails with 'failed to resolve ref docker.io/…: i/o timeout'.",
        decides: "Parses each image with Docker's rules (bare names are Docker Hub, hosts contain a dot or port). Non-ECR images need a verified path out: fail without one, warn when the path is unverifiable.",
        fix: "Create an ECR pull-through cache rule for the upstream (aws ecr create-pull-through-cache-rule …, with a credential secret ecr-pullthroughcache/… for Docker Hub, GHCR, GitLab, ACR) and reference the image as ACCOUNT.dkr.ecr.REGION.amazonaws.com/PREFIX/REPO:TAG; or add a NAT path.",
    },
};

pub static PULL_THROUGH_CACHE: Check = Check {
    id: "pull-through-cache",
    title: "Pull-through cache images have a rule, credentials and the right repository path",
    severity: Severity::Error,
    docs: DOCS,
    run: pull_through_cache,
    explain: Explain {
        verifies: "That a private ECR image under a pull-through cache prefix is served by a rule that works.",
        why: "The cache only works when the rule exists, upstreams that need it have a credential secret named ecr-pullthroughcache/…, and Docker Hub official images are referenced with library/. Otherwise the pull fails with repository not found or an upstream authentication error.",
        decides: "Matches each image repository against the registry's rules (longest prefix). A well-known cache prefix without a rule fails; a missing or misnamed credential fails; docker-hub/NAME without library/ fails; a cache repository that does not exist yet with no path out warns (some versions of the ECR guide say the first pull over PrivateLink needs a NAT path).",
        fix: "Create or fix the rule (aws ecr create-pull-through-cache-rule), store credentials as ecr-pullthroughcache/NAME, use …/docker-hub/library/IMAGE.",
    },
};

/// An upstream registry ECR can cache: (image registry host, upstream URL, the console's
/// default prefix, whether the rule needs a Secrets Manager credential).
struct Upstream {
    url: String,
    prefix: &'static str,
    needs_credential: bool,
}

/// ECR API reference, CreatePullThroughCacheRule `upstreamRegistryUrl`, and the ECR guide's
/// list of upstreams that need authentication.
fn upstream_for(registry: &str) -> Option<Upstream> {
    let (url, prefix, needs_credential) = match registry {
        "docker.io" | "registry-1.docker.io" | "index.docker.io" => {
            ("registry-1.docker.io", "docker-hub", true)
        }
        "public.ecr.aws" => ("public.ecr.aws", "ecr-public", false),
        "quay.io" => ("quay.io", "quay", false),
        "registry.k8s.io" => ("registry.k8s.io", "k8s", false),
        "ghcr.io" => ("ghcr.io", "github", true),
        "registry.gitlab.com" => ("registry.gitlab.com", "gitlab", true),
        "cgr.dev" => ("cgr.dev", "chainguard", true),
        host if host.ends_with(".azurecr.io") => (host, "azure", true),
        _ => return None,
    };
    Some(Upstream {
        url: url.to_string(),
        prefix,
        needs_credential,
    })
}

/// First path segments people use for cache rules (console defaults and common choices).
const KNOWN_PREFIXES: &[(&str, &str)] = &[
    ("docker-hub", "docker.io"),
    ("dockerhub", "docker.io"),
    ("ecr-public", "public.ecr.aws"),
    ("quay", "quay.io"),
    ("k8s", "registry.k8s.io"),
    ("kubernetes", "registry.k8s.io"),
    ("ghcr", "ghcr.io"),
    ("github", "ghcr.io"),
    ("github-container-registry", "ghcr.io"),
    ("gitlab", "registry.gitlab.com"),
    ("chainguard", "cgr.dev"),
];

fn needs_credential(upstream_url: &str) -> bool {
    upstream_for(upstream_url).is_some_and(|u| u.needs_credential)
}

fn is_ecr_upstream(rule: &PullThroughCacheRule) -> bool {
    rule.upstream_registry.as_deref() == Some("ecr")
        || rule.upstream_registry_url.contains(".dkr.ecr.")
}

fn private_host(ctx: &Context, acct: &str) -> String {
    let suffix = if ctx.snap.partition() == "aws-cn" {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    format!("{acct}.dkr.ecr.{}.{suffix}", ctx.region())
}

fn create_rule_command(ctx: &Context, acct: &str, upstream: &Upstream) -> String {
    let credential = if upstream.needs_credential {
        format!(
            " --credential-arn arn:{}:secretsmanager:{}:{acct}:secret:ecr-pullthroughcache/{}",
            ctx.snap.partition(),
            ctx.region(),
            upstream.prefix
        )
    } else {
        String::new()
    };
    format!(
        "aws ecr create-pull-through-cache-rule --ecr-repository-prefix {} --upstream-registry-url {}{credential} --region {}",
        upstream.prefix,
        upstream.url,
        ctx.region()
    )
}

fn public_image(ctx: &Context) -> Outcome {
    let acct = ctx.task_definition()?.account();
    let external: Vec<(&str, &str, &ImageRef)> = ctx
        .uses()?
        .images
        .iter()
        .filter(|i| i.ecr.is_none())
        .map(|i| (i.container, i.image, &i.parsed))
        .collect();
    if external.is_empty() {
        return Ok(vec![Verdict::pass(
            ctx.scope(),
            "every image is in a private ECR registry",
        )]);
    }
    let dep = ctx.dependence()?;
    // Existing rules let us point at the prefix already in use.
    let rules = ctx
        .snap
        .registry
        .ok()
        .map(|r| r.pull_through_cache_rules.clone())
        .unwrap_or_default();
    let mut verdicts = Vec::new();
    for (container, original, parsed) in external {
        let resource = format!("container {container} ({original})");
        if !dep.relies_on_endpoints() {
            let via = dep.served_summary();
            verdicts.push(Verdict::pass(
                resource,
                format!(
                    "{} is pulled from {} through the path out ({via})",
                    original, parsed.registry
                ),
            ));
            continue;
        }
        let no_path = super::context::ids(&dep.relying());
        let message = format!(
            "{original} comes from {}, which VPC endpoints do not serve, and subnets {no_path} have no verified path out",
            parsed.registry
        );
        let fix = match upstream_for(&parsed.registry) {
            Some(upstream) => {
                let existing = rules.iter().find(|r| r.upstream_registry_url == upstream.url);
                let prefix = existing.map_or(upstream.prefix, |r| r.ecr_repository_prefix.as_str());
                let rewritten = format!("{}/{prefix}/{}{}", private_host(ctx, acct), parsed.repository, parsed.reference);
                let rule_step = match existing {
                    Some(r) => format!("the registry already has rule {} for {}", r.ecr_repository_prefix, upstream.url),
                    None => format!("create a pull-through cache rule: {}", create_rule_command(ctx, acct, &upstream)),
                };
                let secret_step = if upstream.needs_credential && existing.is_none() {
                    format!(" (first store the {} credentials in Secrets Manager as ecr-pullthroughcache/{})", upstream.url, upstream.prefix)
                } else {
                    String::new()
                };
                format!(
                    "{rule_step}{secret_step}; then reference the image as {rewritten} in the task definition, and let the execution role run ecr:BatchImportUpstreamImage and ecr:CreateRepository on it (see execution-role); or give subnets {no_path} a NAT gateway path"
                )
            }
            None => format!(
                "{} has no pull-through cache support: copy the image into a private ECR repository in {} (docker pull / tag / push), or give subnets {no_path} a NAT gateway path",
                parsed.registry,
                ctx.region()
            ),
        };
        verdicts.push(dep.gap(resource, message, fix));
    }
    Ok(verdicts)
}

/// A private ECR image of this account and region that goes through a cache rule.
pub struct CachedImage {
    pub container: String,
    pub image: String,
    pub repository: String,
}

/// The cache rule that serves `repository` of this account and region's registry, if any.
pub fn cache_rule<'c>(
    ctx: &'c Context,
    repository: &str,
) -> Result<Option<&'c PullThroughCacheRule>, Problem> {
    Ok(cache::rule_for(
        &ctx.snap.registry.get()?.pull_through_cache_rules,
        repository,
    ))
}

/// Images of this account and region: (container, image, parsed).
fn own_images<'c>(ctx: &'c Context) -> Result<Vec<(&'c str, &'c str, &'c ImageRef)>, Problem> {
    Ok(ctx
        .uses()?
        .own_registry_images()
        .map(|i| (i.container, i.image, &i.parsed))
        .collect())
}

pub fn cached_images(ctx: &Context) -> Result<Vec<CachedImage>, Problem> {
    let images = own_images(ctx)?;
    if images.is_empty() {
        return Ok(vec![]);
    }
    let registry = ctx.snap.registry.get()?;
    Ok(images
        .into_iter()
        .filter_map(|(container, image, parsed)| {
            cache::rule_for(&registry.pull_through_cache_rules, &parsed.repository).map(|_| {
                CachedImage {
                    container: container.to_string(),
                    image: image.to_string(),
                    repository: parsed.repository.clone(),
                }
            })
        })
        .collect())
}

/// Whether the registry holds `name`: `Ok(None)` when it was not looked up, `Err` when the
/// lookup failed.
fn repository_exists(
    ctx: &Context,
    name: &str,
) -> Result<Result<Option<bool>, GatherError>, Problem> {
    let registry = ctx.snap.registry.get()?;
    Ok(
        match registry.repositories.iter().find(|r| r.name == name) {
            Some(r) => r.exists.get().map(|e| Some(*e)),
            None => Ok(None),
        },
    )
}

/// The first-pull requests of cache images, made with the execution role.
pub fn cache_requests(ctx: &Context) -> Result<Vec<TaskRequest>, Problem> {
    let td = ctx.task_definition()?;
    let mut requests = Vec::new();
    for cached in cached_images(ctx)? {
        let resource = format!(
            "arn:{}:ecr:{}:{}:repository/{}",
            ctx.snap.partition(),
            ctx.region(),
            td.account(),
            cached.repository
        );
        let why = format!(
            "container {} ({}, pull-through cache)",
            cached.container, cached.image
        );
        requests.push(TaskRequest::new(
            "ecr.api",
            "ecr:BatchImportUpstreamImage",
            resource.clone(),
            why.clone(),
        ));
        // ecr:CreateRepository only until the first pull has created the cache repository.
        let exists = repository_exists(ctx, &cached.repository)?;
        if exists != Ok(Some(true)) {
            let mut create = TaskRequest::new(
                "ecr.api",
                "ecr:CreateRepository",
                resource.clone(),
                why.clone(),
            );
            create.need_unknown = exists.err();
            requests.push(create);
        }
    }
    Ok(requests)
}

fn secret_name(arn: &str) -> &str {
    arn.split_once(":secret:").map_or("", |(_, name)| name)
}

fn pull_through_cache(ctx: &Context) -> Outcome {
    let images = own_images(ctx)?;
    if images.is_empty() {
        return Ok(vec![Verdict::skip(
            ctx.scope(),
            "no image is in this account's private ECR registry in this region",
        )]);
    }
    let registry = ctx.snap.registry.get()?;
    let td = ctx.task_definition()?;
    let acct = td.account();
    let dep = ctx.dependence()?;
    let mut verdicts = Vec::new();
    for (container, original, parsed) in &images {
        let resource = format!("container {container} ({original})");
        let first = parsed.repository.split('/').next().unwrap_or_default();
        let status = registry
            .repositories
            .iter()
            .find(|r| r.name == parsed.repository);
        let exists = status.and_then(|r| r.exists.ok().ok().copied());
        let Some(rule) = cache::rule_for(&registry.pull_through_cache_rules, &parsed.repository)
        else {
            // A plain repository that happens to be named like a cache prefix is fine.
            if exists == Some(true) {
                continue;
            }
            if let Some((prefix, upstream_host)) = KNOWN_PREFIXES.iter().find(|(p, _)| *p == first)
            {
                let upstream =
                    upstream_for(upstream_host).expect("known prefixes name supported upstreams");
                let upstream = Upstream { prefix, ..upstream };
                verdicts.push(Verdict::fail(
                    resource,
                    format!("{original} starts with {prefix}/, a pull-through cache prefix, but the registry has no rule with prefix {prefix}: the pull fails with repository not found"),
                    format!("create the rule: {}", create_rule_command(ctx, acct, &upstream)),
                ));
            }
            continue;
        };
        let prefix = &rule.ecr_repository_prefix;
        let upstream_repo = cache::upstream_repository(rule, &parsed.repository);
        let mut problems = Vec::new();
        let mut fixes = Vec::new();
        if needs_credential(&rule.upstream_registry_url) {
            match rule.credential_arn.as_deref() {
                None => {
                    problems.push(format!("rule {prefix} for {} has no credential secret, which that upstream requires", rule.upstream_registry_url));
                    fixes.push(format!("recreate rule {prefix} with --credential-arn pointing at a Secrets Manager secret named ecr-pullthroughcache/…"));
                }
                Some(arn) if !secret_name(arn).starts_with("ecr-pullthroughcache/") => {
                    problems.push(format!("the credential secret of rule {prefix} ({arn}) is not named ecr-pullthroughcache/…, as ECR requires"));
                    fixes.push(format!("store the credentials in a secret named ecr-pullthroughcache/{prefix} and recreate rule {prefix} with it"));
                }
                Some(_) => {}
            }
        }
        // ECR-to-ECR needs a role only across accounts (ECR guide, pull through cache).
        let upstream_account = rule
            .upstream_registry_url
            .split('.')
            .next()
            .unwrap_or_default();
        if is_ecr_upstream(rule) && upstream_account != acct && rule.custom_role_arn.is_none() {
            problems.push(format!(
                "rule {prefix} caches from ECR but has no customRoleArn"
            ));
            fixes.push(format!("recreate rule {prefix} with --custom-role-arn"));
        }
        let docker_hub =
            upstream_for(&rule.upstream_registry_url).is_some_and(|u| u.prefix == "docker-hub");
        if docker_hub && !upstream_repo.contains('/') {
            let fixed = format!(
                "{}/{prefix}/library/{upstream_repo}{}",
                parsed.registry, parsed.reference
            );
            problems.push(format!("Docker Hub official images need library/: {original} asks Docker Hub for {upstream_repo}, which does not exist there"));
            fixes.push(format!("reference the image as {fixed}"));
        }
        if !problems.is_empty() {
            verdicts.push(Verdict::fail(
                resource,
                problems.join("; "),
                fixes.join("; "),
            ));
            continue;
        }
        if let Some(Err(error)) = status.map(|r| r.exists.get()) {
            verdicts.push(Verdict::could_not_check(resource, &error.into()));
            continue;
        }
        verdicts.push(match exists {
            Some(false) if dep.relies_on_endpoints() => Verdict::warn(
                resource,
                format!("rule {prefix} ({}) matches, but the cache repository {} does not exist yet and the task subnets have no path out: some versions of the ECR guide say the first pull through a rule over PrivateLink needs a NAT path", rule.upstream_registry_url, parsed.repository),
                format!("pull the image once from somewhere with internet access (docker pull {original}) so the cache repository exists before the deploy"),
            ),
            _ => Verdict::pass(
                resource,
                format!(
                    "rule {prefix} caches {} ({}){}",
                    rule.upstream_registry_url,
                    if exists == Some(true) { "the cache repository exists" } else { "the first pull creates the cache repository" },
                    if needs_credential(&rule.upstream_registry_url) { ", with its credential secret" } else { "" }
                ),
            ),
        });
    }
    if verdicts.is_empty() {
        verdicts.push(Verdict::skip(
            ctx.scope(),
            "no image goes through a pull-through cache rule",
        ));
    }
    Ok(verdicts)
}
