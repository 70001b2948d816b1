//! Health checks that kill slow starters. The load balancer checks a target from the moment
//! it registers; `healthCheckGracePeriodSeconds` does not delay those checks, it only keeps ECS
//! from acting on failures for that long (ECS service definition parameters; ELB target group
//! health checks).

use serde_json::json;

use super::{Check, Context, Explain, Outcome, Problem, Severity, Verdict};
use crate::snapshot::{Container, ContainerHealthCheck, TargetGroup};

const ELB_DOCS: &str =
    "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html";

pub static HEALTH_CHECK_TIMING: Check = Check {
    id: "health-check-timing",
    title: "Startup time fits the window the load balancer and grace period give",
    severity: Severity::Error,
    docs: ELB_DOCS,
    run: timing,
    explain: Explain {
        verifies: "That the application's startup time fits the time a task survives failing load balancer health checks.",
        why: "The load balancer checks a target from the moment it registers. A slow starter can be marked unhealthy at the U-th failed probe, (unhealthy threshold − 1) × interval after registration, and ECS replaces it unless the grace period still covers it: start, fail, stop, start again, forever.",
        decides: "With startup S (--startup-time, else the container health check's startPeriod), detection D = (unhealthy threshold − 1) × interval (first probe at registration, no later first probe is documented), grace G and healthy threshold H: S < D passes; G ≥ S + H × interval passes; S + (H − 1) × interval < G < S + H × interval warns (recovery may not be complete); otherwise the target is still unhealthy for certain when the grace period ends: fail. Without a startup time it warns with the window.",
        fix: "Set healthCheckGracePeriodSeconds to at least S + R (aws ecs update-service --health-check-grace-period-seconds N), or loosen the target group (interval, unhealthy threshold).",
    },
};

pub static HEALTH_CHECK_GRACE: Check = Check {
    id: "health-check-grace",
    title: "Service behind a load balancer has a health check grace period",
    severity: Severity::Warning,
    docs: "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service_definition_parameters.html",
    run: grace,
    explain: Explain {
        verifies: "That a service behind a load balancer has a health check grace period when the application needs time to start.",
        why: "People read the grace period as 'health checks start after N seconds'. It does not delay the load balancer's checks; it only keeps ECS from acting on failed checks for N seconds.",
        decides: "Grace 0 with a load balancer: fail when the startup time reaches the detection window, warn when the startup time is unknown, pass when the app answers in time.",
        fix: "aws ecs update-service --health-check-grace-period-seconds N with N covering startup plus recovery.",
    },
};

pub static CONTAINER_HEALTH_CHECK: Check = Check {
    id: "container-health-check",
    title: "Container health check gives the application enough time and is valid",
    severity: Severity::Error,
    docs: "https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_HealthCheck.html",
    run: container_check,
    explain: Explain {
        verifies: "That an essential container's health check is valid and gives the application enough time.",
        why: "An essential container marked unhealthy stops the whole task. Docker probes one interval after start and then every interval; failures during startPeriod do not count.",
        decides: "Defaults interval 30, timeout 5, retries 3, startPeriod 0. Values outside interval 5-300, timeout 2-60, retries 1-10, startPeriod 0-300 fail (ECS rejects them). The container is unhealthy at max(1, ceil(startPeriod / interval)) × interval + (retries − 1) × interval; not above the startup time fails.",
        fix: "Raise startPeriod (max 300) or retries × interval.",
    },
};

/// Target group health check numbers, with the ELB defaults where a field is absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TargetGroupTiming {
    pub interval: u32,
    pub healthy_threshold: u32,
    pub unhealthy_threshold: u32,
}

impl TargetGroupTiming {
    pub fn of(tg: &TargetGroup) -> Self {
        let hc = &tg.health_check;
        let get =
            |v: Option<i32>, default: u32| v.and_then(|v| u32::try_from(v).ok()).unwrap_or(default);
        TargetGroupTiming {
            interval: get(hc.interval_seconds, 30),
            healthy_threshold: get(hc.healthy_threshold, 5),
            unhealthy_threshold: get(hc.unhealthy_threshold, 2),
        }
    }

    /// Seconds after registration by which the target can be marked unhealthy. The load
    /// balancer checks from registration on, and no AWS page promises a later first probe: the
    /// U-th consecutive failure can come at (U − 1) × interval (a refused connection fails at
    /// once; a hanging probe adds its timeout).
    pub fn detection(&self) -> u32 {
        self.interval * (self.unhealthy_threshold.max(1) - 1)
    }

    /// The earliest a target that answers from `startup` on is healthy again: H passes in a row,
    /// the first at `startup` at best.
    pub fn earliest_recovery(&self) -> u32 {
        self.interval * (self.healthy_threshold.max(1) - 1)
    }

    /// Seconds of passing checks an unhealthy target needs to become healthy again.
    pub fn recovery(&self) -> u32 {
        self.interval * self.healthy_threshold
    }
}

/// What a task that needs `startup` seconds gets from a target group and the grace period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Survival {
    /// Answers before the target is ever marked unhealthy.
    BeforeDetection { margin: u32 },
    /// Marked unhealthy first, but healthy again before the grace period ends.
    WithinGrace { margin: u32 },
    /// The grace period may end while the target is still recovering.
    Tight { short_by: u32 },
    /// The grace period ends while the target is still unhealthy for certain: ECS stops it.
    Killed { short_by: u32 },
}

pub fn survival(startup: u32, grace: u32, tg: TargetGroupTiming) -> Survival {
    let detection = tg.detection();
    if startup < detection {
        return Survival::BeforeDetection {
            margin: detection - startup,
        };
    }
    let healthy_again = startup + tg.recovery();
    if grace >= healthy_again {
        Survival::WithinGrace {
            margin: grace - healthy_again,
        }
    } else if grace > startup + tg.earliest_recovery() {
        Survival::Tight {
            short_by: healthy_again - grace,
        }
    } else {
        Survival::Killed {
            short_by: healthy_again - grace,
        }
    }
}

/// Container health check numbers with the ECS defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContainerTiming {
    pub interval: i32,
    pub timeout: i32,
    pub retries: i32,
    pub start_period: i32,
}

impl ContainerTiming {
    pub fn of(hc: &ContainerHealthCheck) -> Self {
        ContainerTiming {
            interval: hc.interval.unwrap_or(30),
            timeout: hc.timeout.unwrap_or(5),
            retries: hc.retries.unwrap_or(3),
            start_period: hc.start_period.unwrap_or(0),
        }
    }

    /// Seconds before an app that never answers is marked unhealthy. Docker runs the first
    /// probe one interval after start and stays on that grid; failures inside startPeriod do not
    /// count, so the first that counts is the first probe at or after it, and `retries` of them
    /// in a row mark the container unhealthy (Docker HEALTHCHECK reference).
    pub fn window(&self) -> i32 {
        let interval = self.interval.max(1);
        let first_counted = (self.start_period + interval - 1) / interval;
        first_counted.max(1) * interval + (self.retries - 1).max(0) * interval
    }

    /// Values outside the ranges of the ECS HealthCheck API.
    pub fn invalid(&self) -> Vec<String> {
        let mut bad = Vec::new();
        for (name, value, lo, hi) in [
            ("interval", self.interval, 5, 300),
            ("timeout", self.timeout, 2, 60),
            ("retries", self.retries, 1, 10),
            ("startPeriod", self.start_period, 0, 300),
        ] {
            if value < lo || value > hi {
                bad.push(format!("{name} {value} is outside {lo}-{hi}"));
            }
        }
        bad
    }
}

/// The container and port a target group sends traffic to.
pub(super) fn target_container<'a>(
    ctx: &Context<'a>,
    index: usize,
) -> Result<Option<(&'a Container, Option<i32>)>, Problem> {
    let td = ctx.task_definition()?;
    let lb = &ctx.snap.workload.load_balancers[index];
    let container = match &lb.container_name {
        Some(name) => td.containers.iter().find(|c| &c.name == name),
        None => td
            .containers
            .iter()
            .find(|c| c.essential && !c.port_mappings.is_empty()),
    };
    Ok(container.map(|c| {
        let port = lb
            .container_port
            .or_else(|| c.port_mappings.first().and_then(|p| p.container_port));
        (c, port)
    }))
}

/// The startup time to judge with, and where it came from.
fn startup(ctx: &Context, container: Option<&Container>) -> Option<(u32, String)> {
    if let Some(s) = ctx.options.startup_time {
        return Some((s, "--startup-time".into()));
    }
    let period = container?.health_check.as_ref()?.start_period?;
    (period > 0).then(|| {
        (
            period as u32,
            "the container health check's startPeriod (no --startup-time given)".to_string(),
        )
    })
}

/// Each target group of the service, with its index in the service's load balancer list.
pub(super) fn target_groups<'a>(
    ctx: &Context<'a>,
) -> Result<Vec<(usize, &'a TargetGroup)>, Problem> {
    let groups = ctx.snap.target_groups.get()?;
    let mut found = Vec::new();
    for (i, lb) in ctx.snap.workload.load_balancers.iter().enumerate() {
        // Classic load balancers (no target group) are outside these checks.
        let Some(arn) = lb.target_group_arn.as_deref() else {
            continue;
        };
        let group = groups.iter().find(|g| g.arn == arn).ok_or_else(|| {
            Problem::missing(arn, "a target group of the service's loadBalancers")
        })?;
        found.push((i, group));
    }
    Ok(found)
}

pub(super) fn no_load_balancer(ctx: &Context) -> Option<Verdict> {
    ctx.snap
        .workload
        .load_balancers
        .is_empty()
        .then(|| Verdict::skip(ctx.scope(), "the service has no load balancer"))
}

fn update_service_command(ctx: &Context, grace: u32) -> String {
    let w = &ctx.snap.workload;
    format!(
        "aws ecs update-service --cluster {} --service {} --health-check-grace-period-seconds {grace}",
        w.cluster.as_deref().unwrap_or("CLUSTER"),
        w.service.as_deref().unwrap_or("SERVICE")
    )
}

/// `healthCheckGracePeriodSeconds`, 0 when unset (the ECS default).
fn grace_seconds(ctx: &Context) -> u32 {
    let grace = ctx.snap.workload.health_check_grace_period_seconds;
    grace.and_then(|g| u32::try_from(g).ok()).unwrap_or(0)
}

fn timing(ctx: &Context) -> Outcome {
    if let Some(skip) = no_load_balancer(ctx) {
        return Ok(vec![skip]);
    }
    let grace = grace_seconds(ctx);
    let mut verdicts = Vec::new();
    for (index, tg) in target_groups(ctx)? {
        if tg.health_check.enabled == Some(false) {
            verdicts.push(Verdict::pass(
                tg.name.as_str(),
                "the target group's health checks are disabled: every registered target counts as healthy",
            ));
            continue;
        }
        let t = TargetGroupTiming::of(tg);
        let container = target_container(ctx, index)?.map(|(c, _)| c);
        let numbers = format!(
            "detection window {} s ((unhealthy threshold {} − 1) × interval {} s, counting the first probe at registration), grace {grace} s, recovery up to {} s (interval × healthy threshold {})",
            t.detection(), t.unhealthy_threshold, t.interval, t.recovery(), t.healthy_threshold
        );
        let resource = tg.name.clone();
        let Some((s, source)) = startup(ctx, container) else {
            let window = t.detection().max(grace);
            verdicts.push(Verdict::warn(
                resource,
                format!("no startup time known: the application must answer {} within {window} s of starting or ECS replaces the task; {numbers}", tg.health_check.path.as_deref().unwrap_or("its health check")),
                "pass --startup-time SECONDS (how long the app needs to answer its health check) to get a verdict, or set a container health check startPeriod",
            ));
            continue;
        };
        let needed = s + t.recovery();
        // A target group that tolerates the start-up on its own: interval × (threshold − 1) > S,
        // within ELB's limits (threshold ≤ 10, interval ≤ 300).
        let interval = t.interval.max((s + 1).div_ceil(9)).min(300);
        let threshold = ((s + 1).div_ceil(interval) + 1).clamp(2, 10);
        let fix = format!(
            "set healthCheckGracePeriodSeconds to at least startup + interval × healthy threshold = {s} + {} = {needed} ({}), or let the target group tolerate the start-up ({interval} s × ({threshold} − 1) = {} s): aws elbv2 modify-target-group --target-group-arn {} --health-check-interval-seconds {interval} --unhealthy-threshold-count {threshold}",
            t.recovery(), update_service_command(ctx, needed), interval * (threshold - 1), tg.arn
        );
        let message =
            |verdict: &str| format!("startup {s} s (from {source}): {verdict}; {numbers}");
        verdicts.push(match survival(s, grace, t) {
            Survival::BeforeDetection { margin } => Verdict::pass(resource, message(&format!("answers {margin} s before the target could be marked unhealthy"))),
            Survival::WithinGrace { margin } => Verdict::pass(resource, message(&format!("the target is marked unhealthy at {} s but is healthy again at {needed} s, {margin} s before the grace period ends", t.detection()))),
            Survival::Tight { short_by } => Verdict::warn(resource, message(&format!("the target is marked unhealthy at {} s and is healthy again only at {needed} s, {short_by} s after the grace period ends: ECS may stop the task", t.detection())), fix),
            Survival::Killed { short_by } => Verdict::fail(resource, message(&format!("the target can be marked unhealthy at {} s, and when the grace period ends at {grace} s it is still unhealthy for certain (healthy again at {} s at the earliest): ECS stops the task and starts another, forever (short by {short_by} s)", t.detection(), s + t.earliest_recovery())), fix),
        }.with_details(json!({
            "startup_seconds": s,
            "detection_window_seconds": t.detection(),
            "grace_period_seconds": grace,
            "recovery_seconds": t.recovery(),
            "earliest_recovery_seconds": t.earliest_recovery(),
            "container_window_seconds": container.and_then(|c| c.health_check.as_ref()).map(|h| ContainerTiming::of(h).window()),
        })));
    }
    Ok(verdicts)
}

const GRACE_MEANING: &str = "the grace period does not delay the load balancer's health checks (they start when the target registers); it only stops ECS from acting on failed checks for that many seconds";

fn grace(ctx: &Context) -> Outcome {
    if let Some(skip) = no_load_balancer(ctx) {
        return Ok(vec![skip]);
    }
    let grace = grace_seconds(ctx);
    if grace > 0 {
        return Ok(vec![Verdict::pass(
            ctx.scope(),
            format!("grace period {grace} s: {GRACE_MEANING}"),
        )]);
    }
    let mut verdicts = Vec::new();
    for (index, tg) in target_groups(ctx)? {
        let t = TargetGroupTiming::of(tg);
        let container = target_container(ctx, index)?.map(|(c, _)| c);
        let resource = format!("{} ({})", ctx.scope(), tg.name);
        verdicts.push(match startup(ctx, container) {
            Some((s, _)) if s >= t.detection() => Verdict::fail(
                resource,
                format!("grace period 0 and the app needs {s} s while {} marks it unhealthy after {} s: {GRACE_MEANING}", tg.name, t.detection()),
                update_service_command(ctx, s + t.recovery()),
            ),
            Some((s, _)) => Verdict::pass(resource, format!("grace period 0, and the app answers in {s} s, within the {} s detection window of {}", t.detection(), tg.name)),
            None => Verdict::warn(
                resource,
                format!("grace period 0 behind {}: the app must answer within {} s of starting; {GRACE_MEANING}", tg.name, t.detection()),
                format!("set a grace period covering the start-up plus {} s of recovery: {}", t.recovery(), update_service_command(ctx, 60 + t.recovery())),
            ),
        });
    }
    Ok(verdicts)
}

fn container_check(ctx: &Context) -> Outcome {
    let td = ctx.task_definition()?;
    let mut verdicts = Vec::new();
    for c in td.containers.iter().filter(|c| c.essential) {
        let resource = format!("container {}", c.name);
        let Some(hc) = &c.health_check else {
            verdicts.push(Verdict::skip(resource, "no container health check"));
            continue;
        };
        let t = ContainerTiming::of(hc);
        let invalid = t.invalid();
        let numbers = format!(
            "unhealthy at {} s (first counted probe at the first interval mark at or after startPeriod {} s, then retries {} × interval {} s, the first probe one interval after start)",
            t.window(),
            t.start_period,
            t.retries,
            t.interval
        );
        if !invalid.is_empty() {
            verdicts.push(Verdict::fail(
                resource,
                format!("ECS rejects this health check: {}", invalid.join("; ")),
                "use interval 5-300, timeout 2-60, retries 1-10, startPeriod 0-300 (seconds)",
            ));
            continue;
        }
        let startup = ctx.options.startup_time;
        // A service's scheduler ignores container health checks during the grace period.
        let grace = if ctx.snap.workload.service.is_some() {
            i64::from(grace_seconds(ctx))
        } else {
            0
        };
        verdicts.push(match startup {
            Some(s) if grace >= i64::from(s) + i64::from(t.interval) => Verdict::pass(
                resource,
                format!("{numbers} is shorter than the {s} s start-up, but the service's {grace} s grace period covers it (ECS ignores container health checks during the grace period)"),
            ),
            Some(s) if i64::from(t.window()) <= i64::from(s) => Verdict::fail(
                resource,
                format!("the app needs {s} s but the container is marked unhealthy after {numbers}: an essential container marked unhealthy stops the task"),
                format!("raise startPeriod to at least {} (max 300) or retries × interval", (i64::from(s) - i64::from((t.retries - 1) * t.interval) + 1).clamp(0, 300)),
            ),
            Some(s) => Verdict::pass(resource, format!("{numbers} leaves the {s} s start-up {} s to spare", i64::from(t.window()) - i64::from(s))),
            None => Verdict::pass(resource, format!("the app must answer within {numbers} (pass --startup-time to compare)")),
        });
    }
    if verdicts.is_empty() {
        verdicts.push(Verdict::skip(ctx.scope(), "no essential container"));
    }
    Ok(verdicts)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TG: TargetGroupTiming = TargetGroupTiming {
        interval: 10,
        healthy_threshold: 2,
        unhealthy_threshold: 2,
    };

    #[test]
    fn startup_against_the_detection_window() {
        // Probes at 0 and 10 s: the second failure, at 10 s, marks the target unhealthy.
        assert_eq!(survival(9, 0, TG), Survival::BeforeDetection { margin: 1 });
        assert_eq!(survival(10, 0, TG), Survival::Killed { short_by: 30 });
        // The defaults (30 s, 2): a 45 s starter can be marked unhealthy at 30 s.
        let defaults = TargetGroupTiming {
            interval: 30,
            healthy_threshold: 5,
            unhealthy_threshold: 2,
        };
        assert_eq!(defaults.detection(), 30);
        assert_eq!(
            survival(29, 0, defaults),
            Survival::BeforeDetection { margin: 1 }
        );
        assert_eq!(
            survival(45, 0, defaults),
            Survival::Killed { short_by: 195 }
        );
        // grace = startup = 120 s: still unhealthy for certain when the grace period ends.
        assert_eq!(
            survival(120, 120, defaults),
            Survival::Killed { short_by: 150 }
        );
    }

    #[test]
    fn grace_must_cover_startup_plus_recovery() {
        // Healthy again at 130 s at the earliest, 140 s at the latest.
        assert_eq!(survival(120, 140, TG), Survival::WithinGrace { margin: 0 });
        assert_eq!(
            survival(120, 300, TG),
            Survival::WithinGrace { margin: 160 }
        );
        assert_eq!(survival(120, 139, TG), Survival::Tight { short_by: 1 });
        assert_eq!(survival(120, 131, TG), Survival::Tight { short_by: 9 });
        assert_eq!(survival(120, 130, TG), Survival::Killed { short_by: 10 });
        assert_eq!(survival(120, 120, TG), Survival::Killed { short_by: 20 });
    }

    #[test]
    fn container_window_on_the_probe_grid() {
        let timing = |start_period, interval, retries| ContainerTiming {
            interval,
            timeout: 5,
            retries,
            start_period,
        };
        // startPeriod 45 / interval 30 / retries 3: probes at 30 (ignored), 60, 90, 120.
        assert_eq!(timing(45, 30, 3).window(), 120);
        assert_eq!(timing(60, 30, 3).window(), 120);
        assert_eq!(timing(61, 30, 3).window(), 150);
        assert_eq!(timing(0, 30, 3).window(), 90);
        assert_eq!(timing(0, 10, 1).window(), 10);
    }

    #[test]
    fn defaults_when_fields_are_absent() {
        let tg = TargetGroup {
            arn: "arn".into(),
            name: "tg".into(),
            target_type: Some(crate::snapshot::TargetType::Ip),
            protocol: None,
            port: None,
            ip_address_type: None,
            health_check: crate::snapshot::TargetGroupHealthCheck {
                enabled: None,
                protocol: None,
                port: None,
                path: None,
                interval_seconds: None,
                timeout_seconds: None,
                healthy_threshold: None,
                unhealthy_threshold: None,
                matcher: None,
            },
            load_balancers: vec![],
        };
        let t = TargetGroupTiming::of(&tg);
        assert_eq!((t.detection(), t.recovery()), (30, 150));
        let c = ContainerTiming::of(&ContainerHealthCheck {
            command: vec![],
            interval: None,
            timeout: None,
            retries: None,
            start_period: None,
        });
        assert_eq!(c.window(), 90);
        assert!(c.invalid().is_empty());
    }
}
