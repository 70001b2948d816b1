//! platform-version: which Fargate platform the task really gets, and whether it can still start.

use chrono::NaiveDate;

use super::{Check, Context, Explain, Outcome, Severity, Verdict};
use crate::facts::platform::{resolve, LATEST_LINUX, LATEST_WINDOWS};
use crate::snapshot::{LaunchType, Workload};

pub static PLATFORM_VERSION: Check = Check {
    id: "platform-version",
    title: "Fargate platform version is current and resolves as expected",
    severity: Severity::Error,
    docs:
        "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/platform-versions-retired.html",
    run,
    explain: Explain {
        verifies: "Which Fargate platform version the service really gets (LATEST resolves to 1.4.0 on Linux and 1.0.0 on Windows) and whether that version can still start tasks.",
        why: "Linux platform version 1.3.0 and earlier are retired: since 2026-03-16 (2026-06-15 in the China regions) ECS no longer launches new tasks or creates services on them. A pinned old version also changes which VPC endpoints the image pull needs.",
        decides: "Resolves LATEST per OS family from the task definition's runtimePlatform, then compares the version with a retirement table per partition, using the time the snapshot was gathered (a replayed snapshot gives the same verdict). Retired: fail; scheduled: warn; unknown version: warn.",
        fix: "Update the service to platform version 1.4.0 (aws ecs update-service --platform-version 1.4.0 --force-new-deployment) and add the ecr.api endpoint where the subnets have no path out.",
    },
};

/// Linux 1.3.0 and every earlier version stop launching tasks on these dates, per partition
/// (retirement page; its China copy gives 2026-06-15). Data, compared with the snapshot's time.
const RETIRED_LINUX_VERSIONS: &[&str] = &["1.0.0", "1.1.0", "1.2.0", "1.3.0"];
const RETIREMENT_DATES: &[(&str, (i32, u32, u32))] = &[
    ("aws", (2026, 3, 16)),
    ("aws-us-gov", (2026, 3, 16)),
    ("aws-cn", (2026, 6, 15)),
];

const KNOWN_LINUX: &[&str] = &["1.0.0", "1.1.0", "1.2.0", "1.3.0", "1.4.0"];
const KNOWN_WINDOWS: &[&str] = &["1.0.0"];

pub(super) fn is_fargate(w: &Workload) -> bool {
    match &w.launch_type {
        Some(lt) => *lt == LaunchType::Fargate,
        // A capacity provider strategy: Fargate when it names FARGATE / FARGATE_SPOT.
        None => {
            w.capacity_providers.is_empty()
                || w.capacity_providers
                    .iter()
                    .any(|c| c.starts_with("FARGATE"))
        }
    }
}

fn run(ctx: &Context) -> Outcome {
    let w = &ctx.snap.workload;
    let scope = ctx.scope();
    if !is_fargate(w) {
        return Ok(vec![Verdict::skip(
            scope,
            format!(
                "launch type {} is not Fargate; platform versions apply to Fargate only",
                w.launch_type
                    .as_ref()
                    .map_or("(capacity providers)", LaunchType::as_str)
            ),
        )]);
    }
    let r = resolve(w, ctx.task_definition()?);
    let family = if r.windows { "Windows" } else { "Linux" };
    let resolved_note = if r.configured != r.version {
        format!("{} resolves to {} ({family})", r.configured, r.version)
    } else {
        format!("{} ({family})", r.version)
    };
    let known = if r.windows {
        KNOWN_WINDOWS
    } else {
        KNOWN_LINUX
    };
    if !known.contains(&r.version.as_str()) {
        return Ok(vec![Verdict::warn(
            scope,
            format!("platform version {resolved_note} is not one this tool knows; ECS rejects versions that do not exist"),
            format!("use LATEST or {} unless {} is a newly released version", if r.windows { LATEST_WINDOWS } else { LATEST_LINUX }, r.version),
        )]);
    }
    let partition = ctx.snap.partition();
    let retirement = (!r.windows && RETIRED_LINUX_VERSIONS.contains(&r.version.as_str()))
        .then(|| RETIREMENT_DATES.iter().find(|(p, _)| *p == partition))
        .flatten();
    let Some((_, (y, m, d))) = retirement else {
        return Ok(vec![Verdict::pass(
            scope,
            format!("platform version {resolved_note} is supported"),
        )]);
    };
    let retired = NaiveDate::from_ymd_opt(*y, *m, *d).expect("valid retirement date");
    let gathered = ctx.snap.gathered_at.date_naive();
    let fix = format!(
        "move to platform version {LATEST_LINUX}: aws ecs update-service --cluster {} --service {} --platform-version {LATEST_LINUX} --force-new-deployment (1.4.0 also needs the ecr.api endpoint in private subnets)",
        w.cluster.as_deref().unwrap_or("CLUSTER"),
        w.service.as_deref().unwrap_or("SERVICE")
    );
    Ok(vec![if gathered >= retired {
        Verdict::fail(
            scope,
            format!("platform version {resolved_note} is retired in {partition} since {retired}: ECS no longer launches new tasks or creates services on it"),
            fix,
        )
    } else {
        Verdict::warn(
            scope,
            format!("platform version {resolved_note} is scheduled for retirement in {partition} on {retired}: new tasks cannot start after that date"),
            fix,
        )
    }])
}
