//! ECR: the registry's pull-through cache rules, whether the task's repositories exist (a
//! cache repository appears only after the first pull), and each image the tasks pull: its
//! status and size, its manifest's platforms and, across accounts, the repository policy.

use std::collections::BTreeMap;
use std::future::Future;

use aws_sdk_ecr::types::{DescribeImagesFilter, ImageDetail, ImageIdentifier, ImageStatusFilter};
use aws_sdk_ecr::Client;
use futures::future::join_all;

use super::blob::{self, BlobClient};
use super::calls::{self, Limited};
use super::errors::{classify, skipped};
use crate::facts::cache;
use crate::manifest::{self, Parsed};
use crate::snapshot::{
    EcrImage, Fetched, GatherError, GatherErrorKind, ImageDetails, ImageLookup, ImageManifest,
    ImagePlatform, ImageStatus, ManifestContent, PullThroughCacheRule, Registry, RepositoryStatus,
    ResourcePolicy,
};

/// The registry's pull-through cache rules.
pub async fn pull_through_cache_rules(client: &Client) -> Fetched<Vec<PullThroughCacheRule>> {
    let rules = client
        .describe_pull_through_cache_rules()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .limited()
        .await;
    match rules {
        Ok(rules) => Fetched::Ok(
            rules
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
                        upstream_repository_prefix: r
                            .upstream_repository_prefix()
                            .map(str::to_string),
                    })
                })
                .collect(),
        ),
        Err(err) => Fetched::failed(classify("ecr:DescribePullThroughCacheRules", &err)),
    }
}

/// The registry's cache rules (`rules`, shared with the image lookups), and whether each of
/// `names` (repositories of this account and region that the tasks pull) exists.
pub async fn gather_registry(
    client: &Client,
    rules: impl Future<Output = Fetched<Vec<PullThroughCacheRule>>>,
    names: &[String],
) -> Fetched<Registry> {
    let repositories = join_all(names.iter().map(|name| repository_exists(client, name)));
    let (rules, repositories) = tokio::join!(rules, repositories);
    match rules {
        Fetched::Ok(pull_through_cache_rules) => Fetched::Ok(Registry {
            pull_through_cache_rules,
            repositories,
        }),
        Fetched::Failed { error } => Fetched::failed(error),
    }
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

/// A private ECR image some task pulls.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct WantedImage {
    pub region: String,
    pub registry_id: String,
    pub repository: String,
    /// `:tag` or `@sha256:…` (the digest when the image names both).
    pub reference: String,
    /// As the task definition names it.
    pub image: String,
    /// In the registry of the task's account and region, where pull-through cache rules apply.
    pub own_registry: bool,
}

const IMAGE_IDS_PER_CALL: usize = 100;

/// Every wanted image, with one DescribeImages and one BatchGetImage per repository (per 100
/// references).
/// `clients` holds an ECR client for each region the images are in.
/// `rules` are the own registry's cache rules: a repository they serve is never asked for a
/// manifest, because BatchGetImage there is a pull, which can import from the upstream.
pub async fn gather_images<R>(
    clients: &BTreeMap<String, Client>,
    blobs: &BlobClient,
    rules: R,
    wanted: &[WantedImage],
) -> Vec<EcrImage>
where
    R: Future<Output = Fetched<Vec<PullThroughCacheRule>>> + Clone,
{
    let mut repositories: BTreeMap<(&str, &str, &str), Vec<&WantedImage>> = BTreeMap::new();
    for w in wanted {
        repositories
            .entry((&w.region, &w.registry_id, &w.repository))
            .or_default()
            .push(w);
    }
    // DescribeImages and BatchGetImage take at most 100 image ids a call.
    let mut batches: Vec<(&str, Vec<&WantedImage>)> = Vec::new();
    for ((region, _, _), images) in repositories {
        let mut references: Vec<&str> = images.iter().map(|w| w.reference.as_str()).collect();
        references.sort_unstable();
        references.dedup();
        for chunk in references.chunks(IMAGE_IDS_PER_CALL) {
            let batch = images
                .iter()
                .copied()
                .filter(|w| chunk.contains(&w.reference.as_str()))
                .collect();
            batches.push((region, batch));
        }
    }
    join_all(
        batches.into_iter().map(|(region, images)| {
            repository_images(&clients[region], blobs, rules.clone(), images)
        }),
    )
    .await
    .into_iter()
    .flatten()
    .collect()
}

fn image_id(reference: &str) -> ImageIdentifier {
    match reference.strip_prefix('@') {
        Some(digest) => ImageIdentifier::builder().image_digest(digest).build(),
        None => ImageIdentifier::builder()
            .image_tag(reference.trim_start_matches(':'))
            .build(),
    }
}

fn names(reference: &str, tag: Option<&str>, digest: Option<&str>) -> bool {
    match reference.strip_prefix('@') {
        Some(wanted) => digest == Some(wanted),
        None => tag == Some(reference.trim_start_matches(':')),
    }
}

/// One repository's images (all share its registry and region).
async fn repository_images(
    client: &Client,
    blobs: &BlobClient,
    rules: impl Future<Output = Fetched<Vec<PullThroughCacheRule>>>,
    images: Vec<&WantedImage>,
) -> Vec<EcrImage> {
    let first = images[0];
    let (registry_id, repository) = (first.registry_id.as_str(), first.repository.as_str());
    let mut references: Vec<&str> = images.iter().map(|w| w.reference.as_str()).collect();
    references.sort_unstable();
    references.dedup();
    let (lookups, fetched, policy) = tokio::join!(
        describe_images(client, registry_id, repository, &references),
        async {
            if !first.own_registry {
                return batch_get_image(client, registry_id, repository, &references).await;
            }
            match rules.await {
                Fetched::Ok(rules) => match cache::rule_for(&rules, repository) {
                    Some(rule) => Err(GatherError {
                        action: "ecr:BatchGetImage".into(),
                        kind: GatherErrorKind::Skipped,
                        message: format!(
                            "not called: pull-through cache rule {} serves {repository}, where BatchGetImage is a pull that can import from the upstream",
                            rule.ecr_repository_prefix
                        ),
                    }),
                    None => {
                        calls::later_wave(
                            1,
                            batch_get_image(client, registry_id, repository, &references),
                        )
                        .await
                    }
                },
                Fetched::Failed { error } => Err(skipped("ecr:BatchGetImage", &error)),
            }
        },
        repository_policy(client, registry_id, repository),
    );
    // A single manifest's config blob comes after the manifest, which in the own registry came
    // after the cache rules.
    let manifests = calls::later_wave(
        if first.own_registry { 2 } else { 1 },
        join_all(references.iter().map(|reference| {
            let lookup = &lookups[*reference];
            manifest_of(
                client,
                blobs,
                registry_id,
                repository,
                reference,
                lookup,
                &fetched,
            )
        })),
    )
    .await;
    let manifests: BTreeMap<&str, Fetched<ImageManifest>> =
        references.iter().copied().zip(manifests).collect();
    images
        .iter()
        .map(|w| EcrImage {
            image: w.image.clone(),
            registry_id: w.registry_id.clone(),
            region: w.region.clone(),
            repository: w.repository.clone(),
            lookup: lookups[w.reference.as_str()].clone(),
            manifest: manifests[w.reference.as_str()].clone(),
            repository_policy: policy.clone(),
        })
        .collect()
}

fn details(detail: &ImageDetail) -> ImageDetails {
    ImageDetails {
        digest: detail.image_digest().unwrap_or_default().to_string(),
        status: detail
            .image_status()
            .map(|s| ImageStatus::from(s.as_str().to_string())),
        size_in_bytes: detail.image_size_in_bytes(),
        pushed_at: detail
            .image_pushed_at()
            .and_then(|t| chrono::DateTime::from_timestamp(t.secs(), t.subsec_nanos())),
    }
}

/// DescribeImages of every reference at once; ECR fails the whole call when one is missing,
/// and then each is asked alone (one wave later) to tell which.
async fn describe_images(
    client: &Client,
    registry_id: &str,
    repository: &str,
    references: &[&str],
) -> BTreeMap<String, Fetched<ImageLookup>> {
    let all = describe(client, registry_id, repository, references).await;
    match all {
        Err(Missing::Image) if references.len() > 1 => {
            let each =
                calls::later_wave(
                    1,
                    join_all(references.iter().map(|r| {
                        describe(client, registry_id, repository, std::slice::from_ref(r))
                    })),
                )
                .await;
            references
                .iter()
                .zip(each)
                .map(|(r, found)| (r.to_string(), lookup_of(r, found)))
                .collect()
        }
        all => references
            .iter()
            .map(|r| (r.to_string(), lookup_of(r, all.clone())))
            .collect(),
    }
}

#[derive(Clone)]
enum Missing {
    Repository,
    Image,
    Failed(GatherError),
}

async fn describe(
    client: &Client,
    registry_id: &str,
    repository: &str,
    references: &[&str],
) -> Result<Vec<ImageDetail>, Missing> {
    // Without the filter DescribeImages answers only ACTIVE images: an archived one would
    // read as missing.
    let filter = DescribeImagesFilter::builder()
        .image_status(ImageStatusFilter::Any)
        .build();
    let result = client
        .describe_images()
        .registry_id(registry_id)
        .repository_name(repository)
        .set_image_ids(Some(references.iter().map(|r| image_id(r)).collect()))
        .filter(filter)
        .send()
        .limited()
        .await;
    match result {
        Ok(out) => Ok(out.image_details().to_vec()),
        Err(err) => Err(match err.as_service_error() {
            Some(e) if e.is_repository_not_found_exception() => Missing::Repository,
            Some(e) if e.is_image_not_found_exception() => Missing::Image,
            _ => Missing::Failed(classify("ecr:DescribeImages", &err)),
        }),
    }
}

fn lookup_of(reference: &str, found: Result<Vec<ImageDetail>, Missing>) -> Fetched<ImageLookup> {
    match found {
        Ok(all) => Fetched::Ok(
            all.iter()
                .find(|d| {
                    d.image_tags()
                        .iter()
                        .any(|t| names(reference, Some(t), None))
                        || names(reference, None, d.image_digest())
                })
                .map_or(ImageLookup::ImageMissing, |d| {
                    ImageLookup::Image(details(d))
                }),
        ),
        Err(Missing::Repository) => Fetched::Ok(ImageLookup::RepositoryMissing),
        Err(Missing::Image) => Fetched::Ok(ImageLookup::ImageMissing),
        Err(Missing::Failed(error)) => Fetched::failed(error),
    }
}

/// BatchGetImage's answer for one repository.
struct Manifests {
    images: Vec<FetchedManifest>,
    /// (tag, digest, failure) of each reference it could not return.
    failures: Vec<(Option<String>, Option<String>, GatherError)>,
}

struct FetchedManifest {
    tag: Option<String>,
    digest: Option<String>,
    media_type: Option<String>,
    body: String,
}

async fn batch_get_image(
    client: &Client,
    registry_id: &str,
    repository: &str,
    references: &[&str],
) -> Result<Manifests, GatherError> {
    let out = client
        .batch_get_image()
        .registry_id(registry_id)
        .repository_name(repository)
        .set_image_ids(Some(references.iter().map(|r| image_id(r)).collect()))
        .set_accepted_media_types(Some(
            manifest::ACCEPTED_MEDIA_TYPES.map(str::to_string).to_vec(),
        ))
        .send()
        .limited()
        .await
        .map_err(|err| classify("ecr:BatchGetImage", &err))?;
    let id = |i: Option<&ImageIdentifier>| {
        (
            i.and_then(|i| i.image_tag()).map(str::to_string),
            i.and_then(|i| i.image_digest()).map(str::to_string),
        )
    };
    Ok(Manifests {
        images: out
            .images()
            .iter()
            .filter_map(|image| {
                let (tag, digest) = id(image.image_id());
                Some(FetchedManifest {
                    tag,
                    digest,
                    media_type: image.image_manifest_media_type().map(str::to_string),
                    body: image.image_manifest()?.to_string(),
                })
            })
            .collect(),
        failures: out
            .failures()
            .iter()
            .map(|f| {
                let (tag, digest) = id(f.image_id());
                let code = f.failure_code().map_or("", |c| c.as_str());
                let kind = if code == "ImageNotFound" {
                    GatherErrorKind::NotFound
                } else {
                    GatherErrorKind::Unavailable
                };
                let error = GatherError {
                    action: "ecr:BatchGetImage".into(),
                    kind,
                    message: format!("{code}: {}", f.failure_reason().unwrap_or_default()),
                };
                (tag, digest, error)
            })
            .collect(),
    })
}

fn not_found(action: &str, message: String) -> Fetched<ImageManifest> {
    Fetched::failed(GatherError {
        action: action.into(),
        kind: GatherErrorKind::NotFound,
        message,
    })
}

/// The manifest of one reference, with the config blob's platform for a single manifest.
async fn manifest_of(
    client: &Client,
    blobs: &BlobClient,
    registry_id: &str,
    repository: &str,
    reference: &str,
    lookup: &Fetched<ImageLookup>,
    fetched: &Result<Manifests, GatherError>,
) -> Fetched<ImageManifest> {
    let fetched = match fetched {
        Ok(m) => m,
        Err(error) => return Fetched::failed(error.clone()),
    };
    // ECR may answer with the image's newest tag rather than the one asked for: the digest
    // DescribeImages found ties them together.
    let digest = match lookup.ok() {
        Ok(ImageLookup::Image(d)) => Some(d.digest.as_str()),
        _ => None,
    };
    let found = fetched.images.iter().find(|m| {
        names(reference, m.tag.as_deref(), m.digest.as_deref())
            || (digest.is_some() && m.digest.as_deref() == digest)
    });
    let Some(FetchedManifest {
        media_type, body, ..
    }) = found
    else {
        return match fetched
            .failures
            .iter()
            .find(|(tag, d, _)| names(reference, tag.as_deref(), d.as_deref()))
        {
            Some((_, _, error)) => Fetched::failed(error.clone()),
            None => not_found(
                "ecr:BatchGetImage",
                format!("BatchGetImage returned no manifest for {repository}{reference}"),
            ),
        };
    };
    let media_type_name = media_type.clone().unwrap_or_default();
    let content = match manifest::parse(media_type.as_deref(), body) {
        Parsed::Index(platforms, unlabeled) => ManifestContent::Index {
            platforms,
            unlabeled,
        },
        Parsed::Unreadable(why) => ManifestContent::Unreadable { why },
        Parsed::Single { config_digest } => {
            let platform =
                config_platform(client, blobs, registry_id, repository, &config_digest).await;
            ManifestContent::Single {
                config_digest,
                platform,
            }
        }
    };
    Fetched::Ok(ImageManifest {
        media_type: media_type_name,
        content,
    })
}

/// GetDownloadUrlForLayer of the config digest, then a GET of the URL it returns.
async fn config_platform(
    client: &Client,
    blobs: &BlobClient,
    registry_id: &str,
    repository: &str,
    digest: &str,
) -> Fetched<ImagePlatform> {
    let result = client
        .get_download_url_for_layer()
        .registry_id(registry_id)
        .repository_name(repository)
        .layer_digest(digest)
        .send()
        .limited()
        .await;
    let failed = |kind, message: String| {
        Fetched::failed(GatherError {
            action: blob::OPERATION.into(),
            kind,
            message,
        })
    };
    let url = match result {
        Ok(out) => match out.download_url() {
            Some(url) => url.to_string(),
            None => {
                return failed(
                    GatherErrorKind::Unavailable,
                    format!("GetDownloadUrlForLayer returned no URL for {digest}"),
                )
            }
        },
        Err(err) => return Fetched::failed(classify("ecr:GetDownloadUrlForLayer", &err)),
    };
    calls::later_wave(1, async {
        match blobs.get(&url).await {
            Ok(body) => match manifest::config_platform(&body) {
                Ok(platform) => Fetched::Ok(platform),
                Err(why) => failed(GatherErrorKind::Unavailable, format!("{digest}: {why}")),
            },
            Err(why) => failed(
                GatherErrorKind::Unavailable,
                format!("downloading config blob {digest}: {why}"),
            ),
        }
    })
    .await
}

async fn repository_policy(
    client: &Client,
    registry_id: &str,
    repository: &str,
) -> Fetched<ResourcePolicy> {
    let result = client
        .get_repository_policy()
        .registry_id(registry_id)
        .repository_name(repository)
        .send()
        .limited()
        .await;
    match result {
        Ok(out) => Fetched::Ok(ResourcePolicy {
            text: out.policy_text().map(str::to_string),
        }),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_repository_policy_not_found_exception()) =>
        {
            Fetched::Ok(ResourcePolicy { text: None })
        }
        Err(err) => Fetched::failed(classify("ecr:GetRepositoryPolicy", &err)),
    }
}
