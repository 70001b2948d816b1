//! fargate-quota: the region's Fargate vCPU quota against the vCPUs in use plus what this
//! deployment adds.

use super::placement::{deployment_peak, Peak};
use super::platform::is_fargate;
use super::taskdef::cpu_units;
use super::{Check, Context, Explain, Outcome, Problem, Severity, Verdict};
use crate::snapshot::VcpuAllowance;

pub static FARGATE_QUOTA: Check = Check {
    id: "fargate-quota",
    title: "The Fargate vCPU quota has room for the deployment",
    severity: Severity::Error,
    docs: "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/monitoring-fargate-usage.html",
    run,
    explain: Explain {
        verifies: "The region's Fargate On-Demand vCPU quota (Service Quotas fargate/L-3032A538; FARGATE_SPOT: L-36FBB829) against the vCPUs in use (CloudWatch AWS/Usage ResourceCount, Service Fargate, Resource vCPU, Class Standard/OnDemand or Standard/Spot) plus the vCPUs the deployment adds.",
        why: "Past the quota ECS cannot start the tasks: \"You've reached the limit on the number of vCPUs you can run concurrently\", and the deployment stalls.",
        decides: "Extra vCPUs = (the deployment's peak tasks − running tasks) × the task's vCPUs (cpu / 1024); for a service not created yet, its first deployment's tasks (over: fail) and a later rolling update's peak (over: warn). In use + extra over the quota fails, above 90 % warns. The applied quota value is used, else AWS's default. A strategy that is only FARGATE_SPOT is judged against the Spot quota and warns that Spot capacity can be withdrawn; a mixed strategy is judged as if everything ran On-Demand and warns instead of failing, as the split is not known here. A cluster scan also counts every service's extra vCPUs once against the shared quota and warns when together they do not fit.",
        fix: "Request a quota increase (aws service-quotas request-service-quota-increase --service-code fargate --quota-code L-3032A538 --desired-value N), lower the deployment's maximumPercent, or stop tasks you no longer need.",
    },
};

const WARN_SHARE: f64 = 0.9;

/// The quota a service's tasks count against.
struct Pool<'a> {
    name: &'static str,
    code: &'static str,
    allowance: &'a VcpuAllowance,
    /// vCPUs per task.
    vcpus: f64,
    on_spot: bool,
    on_demand: bool,
}

/// `Ok(None)` when the service does not run on Fargate or its size is unknown; the verdict
/// that says so is `unsized`.
fn pool<'a>(ctx: &Context<'a>) -> Result<Option<Pool<'a>>, Problem> {
    let w = &ctx.snap.workload;
    if !is_fargate(w) {
        return Ok(None);
    }
    let Some(units) = ctx
        .task_definition()?
        .size
        .as_ref()
        .and_then(|s| s.cpu.as_deref())
        .and_then(cpu_units)
    else {
        return Ok(None);
    };
    let vcpus_data = ctx.snap.fargate_vcpus.get()?;
    let on_spot = w.capacity_providers.iter().any(|c| c == "FARGATE_SPOT");
    let on_demand =
        w.capacity_providers.is_empty() || w.capacity_providers.iter().any(|c| c == "FARGATE");
    let (name, code, allowance) = if on_spot && !on_demand {
        let spot = vcpus_data
            .spot
            .as_ref()
            .ok_or_else(|| Problem::Unreadable {
                what: "the Fargate Spot quota".into(),
                why: "it was not gathered for this run".into(),
            })?;
        ("Fargate Spot", "L-36FBB829", spot)
    } else {
        ("Fargate On-Demand", "L-3032A538", &vcpus_data.on_demand)
    };
    Ok(Some(Pool {
        name,
        code,
        allowance,
        vcpus: f64::from(units) / 1024.0,
        on_spot,
        on_demand,
    }))
}

fn increase(code: &str) -> String {
    format!("request more: aws service-quotas request-service-quota-increase --service-code fargate --quota-code {code} --desired-value N (or lower maximumPercent, or stop tasks you no longer need)")
}

fn run(ctx: &Context) -> Outcome {
    let w = &ctx.snap.workload;
    let scope = ctx.scope();
    if !is_fargate(w) {
        return Ok(vec![Verdict::skip(
            scope,
            "the service does not run on Fargate",
        )]);
    }
    let Some(Pool {
        name: pool,
        code,
        allowance,
        vcpus,
        on_spot,
        on_demand,
    }) = pool(ctx)?
    else {
        return Ok(vec![Verdict::skip(
            scope,
            "the task's cpu is not known (see task-definition): its vCPUs cannot be counted",
        )]);
    };
    let (quota, in_use) = limits(allowance)?;
    let Peak { peak, first } = deployment_peak(w)?;
    let running = i64::from(w.running_count.unwrap_or(0));
    let fix = increase(code);
    let quota_note = if quota.default {
        " (AWS's default: no increase applied)"
    } else {
        ""
    };
    let mut out = Vec::new();
    let mixed = on_spot && on_demand;
    let judge = |tasks: i64, when: &str, soft: bool| -> Option<Verdict> {
        let extra = tasks as f64 * vcpus;
        let total = in_use + extra;
        let numbers = format!(
            "{in_use} vCPUs in use + {extra} for {when} ({tasks} task(s) × {vcpus} vCPU) = {total} of the {pool} quota of {}{quota_note}",
            quota.value
        );
        if total > quota.value {
            let message = format!("{numbers}: ECS cannot start them (\"You've reached the limit on the number of vCPUs you can run concurrently\")");
            Some(if soft || mixed {
                Verdict::warn(scope.clone(), message, fix.clone())
            } else {
                Verdict::fail(scope.clone(), message, fix.clone())
            })
        } else if total > WARN_SHARE * quota.value {
            Some(Verdict::warn(
                scope.clone(),
                format!("{numbers}: above 90 % of the quota"),
                fix.clone(),
            ))
        } else {
            None
        }
    };
    if let Some(first) = first {
        out.extend(judge(first, "the service's first deployment", false));
    }
    let extra_tasks = (peak - running).max(0);
    if out.is_empty() {
        let when = if first.is_some() {
            "a later rolling update's peak"
        } else {
            "the deployment's peak"
        };
        out.extend(judge(extra_tasks, when, first.is_some()));
    }
    if out.is_empty() {
        out.push(Verdict::pass(
            scope.clone(),
            format!(
                "{in_use} vCPUs in use + {} for the deployment's peak fit the {pool} quota of {}{quota_note}",
                extra_tasks as f64 * vcpus,
                quota.value
            ),
        ));
    }
    if mixed {
        out.push(Verdict::warn(
            scope.clone(),
            "the capacity provider strategy mixes FARGATE and FARGATE_SPOT: the split between the two quotas is not known here, so the On-Demand quota was judged as if every task ran there",
            "check both quotas in the Service Quotas console for the strategy's weights",
        ));
    } else if on_spot {
        out.push(Verdict::warn(
            scope,
            "every task runs on FARGATE_SPOT: AWS can reclaim Spot capacity with two minutes' notice, and a deployment waits while none is free",
            "add FARGATE with a base to the capacity provider strategy for the tasks that must keep running",
        ));
    }
    Ok(out)
}

fn limits(allowance: &VcpuAllowance) -> Result<(&crate::snapshot::QuotaValue, f64), Problem> {
    let quota = allowance.quota.get()?;
    let in_use = *allowance.in_use.get()?;
    Ok((quota, in_use))
}

/// A cluster scan: every service's extra vCPUs at its deployment's peak, counted once against
/// the quota they share. Deployed at once, they must fit together.
pub(super) fn shared_quota(contexts: &[Context]) -> Vec<Verdict> {
    // Each quota with the services drawing on it and their extra vCPUs.
    let mut pools: Vec<(Pool, Vec<(String, f64)>)> = Vec::new();
    for ctx in contexts {
        let Ok(Some(p)) = pool(ctx) else { continue };
        let w = &ctx.snap.workload;
        let Ok(Peak { peak, .. }) = deployment_peak(w) else {
            continue;
        };
        let extra = (peak - i64::from(w.running_count.unwrap_or(0))).max(0) as f64 * p.vcpus;
        if extra == 0.0 {
            continue;
        }
        let service = w.service.clone().unwrap_or_default();
        match pools.iter_mut().find(|(q, _)| q.name == p.name) {
            Some((_, services)) => services.push((service, extra)),
            None => pools.push((p, vec![(service, extra)])),
        }
    }
    let mut out = Vec::new();
    for (
        Pool {
            name,
            code,
            allowance,
            ..
        },
        services,
    ) in pools.iter().filter(|p| p.1.len() > 1)
    {
        let Ok((quota, in_use)) = limits(allowance) else {
            continue;
        };
        let extra: f64 = services.iter().map(|(_, v)| v).sum();
        if in_use + extra <= quota.value {
            continue;
        }
        let each = services
            .iter()
            .map(|(s, v)| format!("{s} {v}"))
            .collect::<Vec<_>>()
            .join(", ");
        out.push(Verdict::warn(
            format!("fargate/{code}"),
            format!("{in_use} vCPUs in use + {extra} for the services' deployment peaks together ({each}) = {} of the {name} quota of {}: deployed at once, some of their tasks cannot start", in_use + extra, quota.value),
            increase(code),
        ));
    }
    out
}
