//! image-exists and image-platform: the private ECR image a container names is there, can be
//! pulled by the task's execution role, fits the task's storage, and offers the task's OS and
//! CPU architecture.

use super::images::cache_rule;
use super::{Check, Context, Explain, Outcome, Problem, Verdict};
use crate::facts::uses::ContainerImage;
use crate::policy::{self, Decision, Request};
use crate::snapshot::{
    EcrImage, GatherError, GatherErrorKind, ImageLookup, ImagePlatform, ImageStatus,
    ManifestContent, TaskDefinition,
};

pub static IMAGE_EXISTS: Check = Check {
    id: "image-exists",
    title: "Private ECR images exist, are not archived, and can be pulled across accounts",
    severity: super::Severity::Error,
    docs: "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_cannot_pull_image.html",
    run: image_exists,
    explain: Explain {
        verifies: "That every private ECR image (any account or region) exists with its tag or digest, is not archived, that another account's repository policy lets the execution role pull it, and (warning) that it plausibly fits the task's ephemeral storage.",
        why: "A tag that was never pushed, removed by a lifecycle policy or archived fails the start with 'CannotPullContainerError: … not found'; a repository in another account without a policy for the execution role fails with access denied; an image too big for the task's storage fails with 'no space left on device' while extracting.",
        decides: "DescribeImages (all statuses) of the tag or digest (the digest when the image names both): missing repository or image fails, ARCHIVED fails, ACTIVATING warns. A pull-through cache repository or image not cached yet is skipped (the first pull fetches it; pull-through-cache judges the rule). Across accounts the repository policy must allow ecr:BatchGetImage and ecr:GetDownloadUrlForLayer to the execution role; data the other account does not let us read warns. Images outside ECR are skipped (not fetched from the internet). Size: the pulled and the extracted image share the ephemeral storage (20 GiB unless ephemeralStorage.sizeInGiB); estimating the extracted image at 3× its compressed size, a warning when 4× the compressed total exceeds the storage.",
        fix: "Push the tag (docker push), point the task definition at one that exists, restore an archived image (aws ecr update-image-storage-class … --target-storage-class STANDARD), add a repository policy statement for the execution role in the other account, or raise ephemeralStorage.sizeInGiB.",
    },
};

pub static IMAGE_PLATFORM: Check = Check {
    id: "image-platform",
    title: "Images offer the task's OS and CPU architecture",
    severity: super::Severity::Error,
    docs: "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_definition_parameters.html#runtime-platform",
    run: image_platform,
    explain: Explain {
        verifies: "That every private ECR image offers the platform the task runs on: runtimePlatform.operatingSystemFamily (LINUX unless set) and cpuArchitecture (X86_64 unless set), and for Windows the OS build of the family.",
        why: "An image built on an arm64 laptop for an X86_64 task fails with 'image Manifest does not contain descriptor matching platform linux/amd64', or starts and dies with 'exec format error'; a Windows image must match the host's OS build (Server 2019 = 10.0.17763, 2022 = 10.0.20348).",
        decides: "Reads the manifest (BatchGetImage, accepting OCI and Docker indexes and manifests): an index must list a matching entry (attestation manifests are not platforms); a single manifest's platform comes from its config blob (GetDownloadUrlForLayer and a GET of the URL it returns, never a layer). A manifest whose platform cannot be read (schema 1) warns.",
        fix: "Build for the task's platform, or for both: docker buildx build --platform linux/amd64,linux/arm64 --push; or set runtimePlatform.cpuArchitecture to the architecture the image has.",
    },
};

/// The task's platform in the image spec's words.
struct TaskPlatform {
    os: &'static str,
    architecture: &'static str,
    /// Windows: the OS build (`10.0.20348`) images must match.
    windows_build: Option<&'static str>,
    /// As the task definition says it (`LINUX/X86_64`).
    declared: String,
}

/// Windows Server releases and their OS builds (Microsoft, "Windows container version
/// compatibility"); process isolation, which Fargate uses, needs the build to match.
const WINDOWS_BUILDS: &[(&str, &str)] = &[
    ("WINDOWS_SERVER_2016", "10.0.14393"),
    ("WINDOWS_SERVER_2019", "10.0.17763"),
    ("WINDOWS_SERVER_2004", "10.0.19041"),
    ("WINDOWS_SERVER_20H2", "10.0.19042"),
    ("WINDOWS_SERVER_2022", "10.0.20348"),
    ("WINDOWS_SERVER_2025", "10.0.26100"),
];

fn task_platform(td: &TaskDefinition) -> TaskPlatform {
    let family = td
        .os_family
        .as_deref()
        .unwrap_or("LINUX")
        .to_ascii_uppercase();
    let cpu = td
        .cpu_architecture
        .as_deref()
        .unwrap_or("X86_64")
        .to_ascii_uppercase();
    let windows = td.is_windows();
    TaskPlatform {
        os: if windows { "windows" } else { "linux" },
        architecture: if cpu == "ARM64" { "arm64" } else { "amd64" },
        windows_build: WINDOWS_BUILDS
            .iter()
            .find(|(prefix, _)| family.starts_with(prefix))
            .map(|(_, build)| *build),
        declared: format!("{family}/{cpu}"),
    }
}

/// `amd64`/`arm64` however a tool spelled it.
fn architecture(name: &str) -> &str {
    match name {
        "x86_64" | "x86-64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

fn describe_platform(p: &ImagePlatform) -> String {
    let mut text = format!("{}/{}", p.os, p.architecture);
    if let Some(v) = &p.variant {
        text.push('/');
        text.push_str(v);
    }
    if let Some(v) = &p.os_version {
        text.push_str(&format!(" ({v})"));
    }
    text
}

enum Fit {
    Yes,
    No,
    /// Right OS and architecture, but the Windows build is not stated.
    BuildUnknown,
}

fn fits(task: &TaskPlatform, p: &ImagePlatform) -> Fit {
    if p.os != task.os || architecture(&p.architecture) != task.architecture {
        return Fit::No;
    }
    match (task.windows_build, p.os_version.as_deref()) {
        (Some(build), Some(version)) => {
            if version == build || version.starts_with(&format!("{build}.")) {
                Fit::Yes
            } else {
                Fit::No
            }
        }
        // A Windows family this table does not know: its build cannot be compared.
        (None, _) if task.os == "windows" => Fit::BuildUnknown,
        (Some(_), None) => Fit::BuildUnknown,
        (None, _) => Fit::Yes,
    }
}

fn resource(i: &ContainerImage) -> String {
    format!("container {} ({})", i.container, i.image)
}

/// The gathered data of one container's image.
fn gathered<'s>(images: &'s [EcrImage], image: &str) -> Result<&'s EcrImage, Problem> {
    images.iter().find(|i| i.image == image).ok_or_else(|| {
        Problem::NotGathered(GatherError {
            action: "ecr:DescribeImages".into(),
            kind: GatherErrorKind::Skipped,
            message: format!("{image} was not looked up"),
        })
    })
}

/// A failed lookup: another account's data we may not read warns "cannot verify"; anything
/// else is an error.
fn unreadable(resource: String, error: &GatherError, image: &EcrImage, own: &str) -> Verdict {
    if image.registry_id != own && error.kind == GatherErrorKind::Denied {
        Verdict::warn(
            resource,
            format!(
                "cannot verify {}: {} in account {} is denied to the caller ({})",
                image.image, error.action, image.registry_id, error.message
            ),
            format!(
                "run the preflight with a role that account {} lets call {} on repository {}, or verify the image there",
                image.registry_id, error.action, image.repository
            ),
        )
    } else {
        Verdict::could_not_check(resource, &Problem::NotGathered(error.clone()))
    }
}

fn repository_arn(ctx: &Context, image: &EcrImage) -> String {
    format!(
        "arn:{}:ecr:{}:{}:repository/{}",
        ctx.snap.partition(),
        image.region,
        image.registry_id,
        image.repository
    )
}

fn cli_scope(image: &EcrImage) -> String {
    format!(
        "--repository-name {} --registry-id {} --region {}",
        image.repository, image.registry_id, image.region
    )
}

/// A pull-through cache image of this registry fetches what is missing on the first pull.
fn cached_upstream(ctx: &Context, i: &ContainerImage) -> Result<Option<String>, Problem> {
    let own = i.ecr.as_ref().is_some_and(|r| {
        r.account == ctx.task_definition().map_or("", |td| td.account()) && r.region == ctx.region()
    });
    if !own {
        return Ok(None);
    }
    Ok(cache_rule(ctx, &i.parsed.repository)?.map(|rule| {
        format!(
            "rule {} ({})",
            rule.ecr_repository_prefix, rule.upstream_registry_url
        )
    }))
}

/// The part of the start-up storage an image plausibly takes: ECS stores the pulled
/// (compressed) and the extracted image on the task's ephemeral storage (ECS guide, "Fargate
/// task ephemeral storage"); extracted layers are taken to be 3× their gzip size, typical
/// for container file systems.
const FOOTPRINT_FACTOR: i64 = 4;
const DEFAULT_EPHEMERAL_GIB: i64 = 20;
const GIB: f64 = (1u64 << 30) as f64;

fn image_exists(ctx: &Context) -> Outcome {
    let td = ctx.task_definition()?;
    let uses = ctx.uses()?;
    let mut verdicts = Vec::new();
    for i in uses.images.iter().filter(|i| i.ecr.is_none()) {
        verdicts.push(Verdict::skip(
            resource(i),
            format!(
                "{} is in {}, which the preflight does not fetch from the internet; its existence is checked once it goes through a pull-through cache rule",
                i.image, i.parsed.registry
            ),
        ));
    }
    let ecr: Vec<&ContainerImage> = uses.images.iter().filter(|i| i.ecr.is_some()).collect();
    if ecr.is_empty() {
        if verdicts.is_empty() {
            verdicts.push(Verdict::skip(
                ctx.scope(),
                "the task has no container image",
            ));
        }
        return Ok(verdicts);
    }
    let images = ctx.snap.images.get()?;
    // Each distinct image once: (digest, compressed bytes).
    let mut sizes: Vec<(String, i64)> = Vec::new();
    for i in ecr {
        // One image's missing data is that image's error, never the others'.
        let verdict = one_image_exists(ctx, images, i, &mut sizes)
            .unwrap_or_else(|problem| Verdict::could_not_check(resource(i), &problem));
        verdicts.push(verdict);
    }
    if !td.is_windows() {
        verdicts.extend(storage_warning(td, &sizes));
    }
    Ok(verdicts)
}

fn one_image_exists(
    ctx: &Context,
    images: &[EcrImage],
    i: &ContainerImage,
    sizes: &mut Vec<(String, i64)>,
) -> Result<Verdict, Problem> {
    let own = ctx.task_definition()?.account();
    let res = resource(i);
    let image = gathered(images, i.image)?;
    let details = match image.lookup.get() {
        Err(error) => return Ok(unreadable(res, &error, image, own)),
        Ok(ImageLookup::RepositoryMissing) => {
            return Ok(match cached_upstream(ctx, i)? {
                Some(rule) => Verdict::skip(res, format!("{rule} matches and the cache repository {} does not exist yet: the first pull creates it and fetches the image from the upstream, which the preflight does not reach (pull-through-cache judges the rule)", image.repository)),
                None => Verdict::fail(
                    res,
                    format!("repository {} does not exist in registry {} ({}): the pull fails with 'CannotPullContainerError: … not found'", image.repository, image.registry_id, image.region),
                    format!("create it and push the image (aws ecr create-repository {}; docker push {}), or fix the repository name in the task definition", cli_scope(image), i.image),
                ),
            });
        }
        Ok(ImageLookup::ImageMissing) => {
            let what = if i.parsed.reference.starts_with('@') {
                format!("digest {}", &i.parsed.reference[1..])
            } else {
                format!("tag {}", &i.parsed.reference[1..])
            };
            return Ok(match cached_upstream(ctx, i)? {
                Some(rule) => Verdict::skip(res, format!("{rule} caches repository {}, which does not hold {what} yet: the first pull fetches it from the upstream, which the preflight does not reach", image.repository)),
                None => Verdict::fail(
                    res,
                    format!("repository {} has no image with {what}: the pull fails with 'CannotPullContainerError: … not found' (never pushed, or removed by a lifecycle policy)", image.repository),
                    format!("push it (docker push {}) or point the task definition at an image that exists (aws ecr describe-images {}); if a lifecycle policy removed it, check aws ecr get-lifecycle-policy {}", i.image, cli_scope(image), cli_scope(image)),
                ),
            });
        }
        Ok(ImageLookup::Image(details)) => details,
    };
    match &details.status {
        Some(ImageStatus::Archived) => {
            return Ok(Verdict::fail(
                res,
                format!("{} is archived (imageStatus ARCHIVED): archived images cannot be pulled", i.image),
                format!("restore it: aws ecr update-image-storage-class {} --image-id imageDigest={} --target-storage-class STANDARD, and deploy once describe-images shows it ACTIVE (or push the image again)", cli_scope(image), details.digest),
            ));
        }
        Some(ImageStatus::Activating) => {
            return Ok(Verdict::warn(
                res,
                format!("{} is being restored from the archive (imageStatus ACTIVATING): pulls fail until it is ACTIVE", i.image),
                format!("wait until aws ecr describe-images {} --image-ids imageDigest={} shows imageStatus ACTIVE, then deploy", cli_scope(image), details.digest),
            ));
        }
        Some(ImageStatus::Other(status)) => {
            return Ok(Verdict::warn(
                res,
                format!("{} has imageStatus {status}, which the preflight does not know; only ACTIVE images are known to pull", i.image),
                format!("check aws ecr describe-images {} --image-ids imageDigest={}", cli_scope(image), details.digest),
            ));
        }
        // Images described before ECR had an archive report no status: they are active.
        Some(ImageStatus::Active) | None => {}
    }
    if let Some(size) = details.size_in_bytes {
        if !sizes.iter().any(|(d, _)| *d == details.digest) {
            sizes.push((details.digest.clone(), size));
        }
    }
    let found = format!(
        "{} exists (digest {}{})",
        i.image,
        details.digest,
        details
            .size_in_bytes
            .map(|s| format!(", {:.2} GiB compressed", s as f64 / GIB))
            .unwrap_or_default()
    );
    repository_policy_verdict(ctx, res, image, found)
}

/// The repository policy: across accounts it must allow the execution role to pull; in the
/// task's own account the role's IAM policy suffices, but an explicit deny here still wins.
fn repository_policy_verdict(
    ctx: &Context,
    res: String,
    image: &EcrImage,
    found: String,
) -> Result<Verdict, Problem> {
    let td = ctx.task_definition()?;
    let cross_account = image.registry_id != td.account();
    let role = td
        .execution_role_arn
        .as_deref()
        .unwrap_or("the execution role");
    let policy = match image.repository_policy.ok() {
        Ok(policy) => policy,
        Err(error) => return Ok(unreadable(res, error, image, td.account())),
    };
    let statement = format!(
        "a statement allowing {{\"AWS\": \"{role}\"}} ecr:BatchGetImage and ecr:GetDownloadUrlForLayer (aws ecr set-repository-policy {} --policy-text …, in account {})",
        cli_scope(image),
        image.registry_id
    );
    let Some(text) = &policy.text else {
        if !cross_account {
            return Ok(Verdict::pass(res, found));
        }
        return Ok(Verdict::fail(
            res,
            format!("{found}, but repository {} in account {} has no repository policy: the execution role of account {} cannot pull it", image.repository, image.registry_id, td.account()),
            format!("add a repository policy with {statement}"),
        ));
    };
    let mut doc = policy::parse_document(text).map_err(|e| Problem::Unreadable {
        what: format!("the repository policy of {}", image.repository),
        why: e.to_string(),
    })?;
    if !cross_account {
        doc = policy::denies_only(&doc);
    }
    let arn = repository_arn(ctx, image);
    let known = ctx.execution_principal_context()?;
    let context = policy::pairs(&known);
    let mut refused = Vec::new();
    let mut uncertain = Vec::new();
    for action in ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"] {
        let decision = policy::evaluate(
            &doc,
            &Request {
                action,
                resource: &arn,
                principal: td.execution_role_arn.as_deref(),
                context: &context,
            },
        );
        match decision {
            Decision::Allowed => {}
            Decision::ExplicitDeny { statement } => {
                refused.push(format!("{action} (denied by statement {statement})"))
            }
            Decision::ImplicitDeny => refused.push(format!("{action} (no statement allows it)")),
            Decision::Uncertain { reasons } => {
                uncertain.push(format!("{action} ({})", reasons.join("; ")))
            }
        }
    }
    let whose = if cross_account {
        format!("the repository policy in account {}", image.registry_id)
    } else {
        "the repository policy".to_string()
    };
    let fix = if cross_account {
        format!("add to the repository policy {statement}")
    } else {
        format!("remove or narrow the Deny statement of the repository policy (aws ecr get-repository-policy {}) so that it does not match {role}", cli_scope(image))
    };
    Ok(if !refused.is_empty() {
        Verdict::fail(
            res,
            format!(
                "{found}, but {whose} does not let {role} run {}",
                refused.join(", ")
            ),
            fix,
        )
    } else if !uncertain.is_empty() {
        Verdict::warn(
            res,
            format!("{found}; whether {whose} lets {role} pull depends on what the preflight cannot evaluate: {}", uncertain.join(", ")),
            fix,
        )
    } else if cross_account {
        Verdict::pass(res, format!("{found}; {whose} lets {role} pull it"))
    } else {
        Verdict::pass(res, found)
    })
}

fn storage_warning(td: &TaskDefinition, sizes: &[(String, i64)]) -> Option<Verdict> {
    // Saturating: sizes come from the snapshot file, which may hold any value.
    let compressed: i64 = sizes.iter().fold(0, |sum, (_, s)| sum.saturating_add(*s));
    let storage_gib = td
        .ephemeral_storage_gib
        .map_or(DEFAULT_EPHEMERAL_GIB, i64::from);
    let estimate = compressed.saturating_mul(FOOTPRINT_FACTOR);
    if estimate <= storage_gib << 30 {
        return None;
    }
    let needed = ((estimate as f64 / GIB).ceil() as i64 + 1).max(21);
    let fix = if needed <= 200 {
        format!("set \"ephemeralStorage\": {{\"sizeInGiB\": {needed}}} in the task definition (21–200), or make the images smaller")
    } else {
        format!("make the images smaller: the estimate, {needed} GiB, is over the 200 GiB Fargate maximum of ephemeralStorage.sizeInGiB")
    };
    Some(Verdict::warn(
        format!("task definition {}:{} ephemeral storage", td.family, td.revision),
        format!(
            "the images total {:.1} GiB compressed; the task's {storage_gib} GiB of ephemeral storage holds the pulled and the extracted images, estimated at {:.1} GiB (extracted ≈ 3× compressed, a rule of thumb): the pull may fail with 'no space left on device'",
            compressed as f64 / GIB,
            estimate as f64 / GIB
        ),
        fix,
    ))
}

fn image_platform(ctx: &Context) -> Outcome {
    let td = ctx.task_definition()?;
    let uses = ctx.uses()?;
    let ecr: Vec<&ContainerImage> = uses.images.iter().filter(|i| i.ecr.is_some()).collect();
    if ecr.is_empty() {
        return Ok(vec![Verdict::skip(
            ctx.scope(),
            "no image is in private ECR; images from other registries are not fetched",
        )]);
    }
    let images = ctx.snap.images.get()?;
    let task = task_platform(td);
    Ok(ecr
        .into_iter()
        .map(|i| {
            one_image_platform(ctx, images, &task, i)
                .unwrap_or_else(|problem| Verdict::could_not_check(resource(i), &problem))
        })
        .collect())
}

fn one_image_platform(
    ctx: &Context,
    images: &[EcrImage],
    task: &TaskPlatform,
    i: &ContainerImage,
) -> Result<Verdict, Problem> {
    let own = ctx.task_definition()?.account();
    let res = resource(i);
    let image = gathered(images, i.image)?;
    match image.lookup.get() {
        Err(error) => return Ok(unreadable(res, &error, image, own)),
        Ok(ImageLookup::Image(d)) if matches!(d.status, Some(ImageStatus::Active) | None) => {}
        Ok(_) => {
            return Ok(Verdict::skip(
                res,
                "the image cannot be pulled as it is (image-exists says why)",
            ))
        }
    }
    let manifest = match image.manifest.get() {
        Ok(m) => m,
        Err(error) => {
            // Reading a cache repository's manifest is a pull, which can import from the
            // upstream: the gather leaves it alone.
            if error.kind == GatherErrorKind::Skipped {
                if let Some(rule) = cached_upstream(ctx, i)? {
                    return Ok(Verdict::skip(
                        res,
                        format!("{rule} serves it: the preflight does not read a cache image's manifest, because that is a pull which can import from the upstream"),
                    ));
                }
            }
            return Ok(unreadable(res, &error, image, own));
        }
    };
    let (offered, unlabeled, single) = match &manifest.content {
        ManifestContent::Index {
            platforms,
            unlabeled,
        } => (platforms.clone(), *unlabeled, false),
        ManifestContent::Single { platform, .. } => match platform.get() {
            Ok(p) => (vec![p.clone()], 0, true),
            Err(error) => return Ok(unreadable(res, &error, image, own)),
        },
        ManifestContent::Unreadable { why } => {
            return Ok(Verdict::warn(
                res,
                format!("cannot tell which platform {} is for: {why}", i.image),
                format!("rebuild and push it with a current Docker or BuildKit (an OCI or Docker schema 2 manifest), for {}/{}", task.os, task.architecture),
            ));
        }
    };
    Ok(judge_platform(task, i, &offered, unlabeled, single))
}

fn judge_platform(
    task: &TaskPlatform,
    i: &ContainerImage,
    offered: &[ImagePlatform],
    unlabeled: usize,
    single: bool,
) -> Verdict {
    let res = resource(i);
    let wanted = match task.windows_build {
        Some(build) => format!("{}/{} {build}", task.os, task.architecture),
        None => format!("{}/{}", task.os, task.architecture),
    };
    let list = offered
        .iter()
        .map(describe_platform)
        .collect::<Vec<_>>()
        .join(", ");
    let source = if single {
        "its config says"
    } else {
        "its index offers"
    };
    if let Some(p) = offered.iter().find(|p| matches!(fits(task, p), Fit::Yes)) {
        return Verdict::pass(
            res,
            format!(
                "the task runs {wanted} ({}); {source} {}",
                task.declared,
                describe_platform(p)
            ),
        );
    }
    if unlabeled > 0 {
        let labelled = if list.is_empty() {
            "no labelled platform".to_string()
        } else {
            list
        };
        return Verdict::warn(
            res,
            format!("the task runs {wanted} ({}); {source} {labelled}, and {unlabeled} entries that name no platform, which the preflight does not open", task.declared),
            format!("push the image with a platform on every index entry (docker buildx build --platform {}/{} --push does)", task.os, task.architecture),
        );
    }
    if offered
        .iter()
        .any(|p| matches!(fits(task, p), Fit::BuildUnknown))
    {
        let fix = match task.windows_build {
            Some(build) => format!("build the image FROM a Windows Server base image of build {build} and push it with its os.version"),
            None => format!("make sure the image's Windows build matches the host of {}, which the preflight has no build number for", task.declared),
        };
        return Verdict::warn(
            res,
            format!("the task runs {wanted} ({}); {source} {list}, and the preflight cannot compare the Windows builds (the image or the task's family does not name one)", task.declared),
            fix,
        );
    }
    if offered.is_empty() {
        return Verdict::fail(
            res,
            format!("{} is an index that lists no image platform (only attestations or unknown/unknown): the pull fails with 'no matching manifest for {wanted}'", i.image),
            format!("build and push an image for {wanted}: docker buildx build --platform {}/{} --push", task.os, task.architecture),
        );
    }
    let other_arch = offered
        .iter()
        .find(|p| p.os == task.os && architecture(&p.architecture) != task.architecture)
        .map(|p| architecture(&p.architecture).to_string());
    let symptom = if single {
        "the container starts and dies with 'exec format error' (or the pull fails)"
    } else {
        "the pull fails with 'image Manifest does not contain descriptor matching platform'"
    };
    let mut fix = if task.os == "linux" {
        format!(
            "build for the task's platform, or for both: docker buildx build --platform linux/amd64,linux/arm64 -t {} --push .",
            i.image
        )
    } else {
        let mut fix = format!(
            "build the image FROM a Windows Server base image of build {} (the task's family {})",
            task.windows_build.unwrap_or("of the task's family"),
            task.declared
        );
        let image_family = offered.iter().find_map(|p| {
            let version = p.os_version.as_deref()?;
            WINDOWS_BUILDS
                .iter()
                .find(|(_, build)| version.starts_with(&format!("{build}.")) || version == *build)
        });
        if let Some((family, _)) = image_family {
            fix.push_str(&format!(
                "; or set runtimePlatform.operatingSystemFamily to {family}_CORE or {family}_FULL, the release the image was built for"
            ));
        }
        fix
    };
    if let Some(arch) = other_arch.filter(|_| task.os == "linux") {
        let cpu = if arch == "arm64" { "ARM64" } else { "X86_64" };
        if arch == "arm64" || arch == "amd64" {
            fix.push_str(&format!(
                "; or set runtimePlatform.cpuArchitecture to {cpu} in the task definition"
            ));
        }
    }
    Verdict::fail(
        res,
        format!(
            "the task runs {wanted} ({}), but {source} {list}: {symptom}",
            task.declared
        ),
        fix,
    )
}
