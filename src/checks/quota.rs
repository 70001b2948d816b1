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
        decides: "Extra vCPUs = (the deployment's peak tasks − running tasks) × the task's vCPUs (cpu / 1024); for a service not created yet, its first deployment's tasks (over: fail) and a later rolling update's peak (over: warn). In use + extra over the quota fails, above 90 % warns. The applied quota value is used, else AWS's default. A strategy that is only FARGATE_SPOT is judged against the Spot quota and warns that Spot capacity can be withdrawn; a mixed strategy is judged as if everything ran On-Demand and warns instead of failing, as the split is not known here. Each service is judged alone: several services deployed at once share the quota.",
        fix: "Request a quota increase (aws service-quotas request-service-quota-increase --service-code fargate --quota-code L-3032A538 --desired-value N), lower the deployment's maximumPercent, or stop tasks you no longer need.",
    },
};

const WARN_SHARE: f64 = 0.9;

fn run(ctx: &Context) -> Outcome {
    let w = &ctx.snap.workload;
    let scope = ctx.scope();
    if !is_fargate(w) {
        return Ok(vec![Verdict::skip(
            scope,
            "the service does not run on Fargate",
        )]);
    }
    let td = ctx.task_definition()?;
    let Some(units) = td
        .size
        .as_ref()
        .and_then(|s| s.cpu.as_deref())
        .and_then(cpu_units)
    else {
        return Ok(vec![Verdict::skip(
            scope,
            "the task's cpu is not known (see task-definition): its vCPUs cannot be counted",
        )]);
    };
    let vcpus = f64::from(units) / 1024.0;
    let vcpus_data = ctx.snap.fargate_vcpus.get()?;
    let on_spot = w.capacity_providers.iter().any(|c| c == "FARGATE_SPOT");
    let on_demand =
        w.capacity_providers.is_empty() || w.capacity_providers.iter().any(|c| c == "FARGATE");
    let (pool, allowance, code) = if on_spot && !on_demand {
        let spot = vcpus_data
            .spot
            .as_ref()
            .ok_or_else(|| Problem::Unreadable {
                what: "the Fargate Spot quota".into(),
                why: "it was not gathered for this run".into(),
            })?;
        ("Fargate Spot", spot, "L-36FBB829")
    } else {
        ("Fargate On-Demand", &vcpus_data.on_demand, "L-3032A538")
    };
    let (quota, in_use) = limits(allowance)?;
    let Peak { peak, first } = deployment_peak(w)?;
    let running = i64::from(w.running_count.unwrap_or(0));
    let fix = format!("request more: aws service-quotas request-service-quota-increase --service-code fargate --quota-code {code} --desired-value N (or lower maximumPercent, or stop tasks you no longer need)");
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
