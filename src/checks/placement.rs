//! subnet-capacity and deployment-configuration: whether ECS can place the deployment's tasks in
//! the task subnets, and whether the service's deployment settings let a rolling deployment move.

use super::{Check, Context, Explain, Outcome, Problem, Severity, Verdict};
use crate::snapshot::{DeploymentSettings, Workload};

pub static SUBNET_CAPACITY: Check = Check {
    id: "subnet-capacity",
    title: "The task subnets have free addresses for the deployment's peak",
    severity: Severity::Error,
    docs: "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service_definition_parameters.html#sd-deploymentconfiguration",
    run: run_capacity,
    explain: Explain {
        verifies: "Each Fargate task takes one IPv4 address of a task subnet (its ENI). A rolling deployment runs up to desiredCount × maximumPercent / 100 (rounded down) tasks at once; the extra ones beyond the running tasks need free addresses.",
        why: "Without free addresses the new tasks cannot start (\"InsufficientFreeAddressesInSubnet\") and the deployment stalls, often only at the next deploy, when the peak is reached.",
        decides: "Existing service: the peak is floor(desiredCount × maximumPercent / 100), the need is the peak minus runningCount, against the sum of AvailableIpAddressCount of the task subnets: short fails; a subnet that cannot take its even share (ECS spreads tasks across zones) warns. Pre-deploy: the first deployment starts --desired-count tasks (short fails); later rolling deployments need twice that with the default maximumPercent 200 (short warns).",
        fix: "Add task subnets with free addresses (larger CIDRs) to the service's network configuration, lower maximumPercent, or free addresses in the subnets.",
    },
};

pub static DEPLOYMENT_CONFIGURATION: Check = Check {
    id: "deployment-configuration",
    title: "The deployment configuration lets a rolling deployment make progress",
    severity: Severity::Error,
    docs: "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-type-ecs.html",
    run: run_deployment,
    explain: Explain {
        verifies: "The account has ECS's service-linked role (AWSServiceRoleForECS). For the rolling (ECS) controller: minimumHealthyPercent and maximumPercent leave room to start or stop a task for the desired count; the deployment circuit breaker is on.",
        why: "With no room ECS can neither stop an old task nor start a new one: \"unable to stop or start tasks during a deployment because of the service deployment configuration\". Without the circuit breaker a task that cannot start is retried for ever (and its image pulled again each time, through a NAT gateway at a cost).",
        decides: "ECS keeps at least ceil(desiredCount × minimumHealthyPercent / 100) tasks running and at most floor(desiredCount × maximumPercent / 100): when the maximum is not above the desired count and the minimum is not below it, the deployment cannot move (fail). Circuit breaker off: warn. No AWSServiceRoleForECS (iam:GetRole): fail for an existing service, warn before CreateService (which creates it when the caller may). Blue/green, linear and canary deployments, and the CODE_DEPLOY and EXTERNAL controllers: not judged by this version (warn, or skip for the external controllers). Pre-deploy: ECS's defaults (100 % / 200 %) always move; skip.",
        fix: "aws ecs update-service --cluster C --service S --deployment-configuration \"minimumHealthyPercent=100,maximumPercent=200,deploymentCircuitBreaker={enable=true,rollback=true}\"",
    },
};

/// The most and the fewest tasks a rolling deployment keeps, as ECS rounds them.
fn bounds(desired: i64, settings: &DeploymentSettings) -> (i64, i64) {
    let max = i64::from(settings.maximum_percent.unwrap_or(200));
    let min = i64::from(settings.minimum_healthy_percent.unwrap_or(100));
    (desired * max / 100, (desired * min + 99) / 100)
}

/// The service's deployment settings: `None` for a service that does not exist yet.
fn settings(w: &Workload) -> Result<Option<&DeploymentSettings>, Problem> {
    match (&w.service_arn, &w.deployment) {
        (None, _) => Ok(None),
        (Some(_), Some(d)) => Ok(Some(d)),
        (Some(_), None) => Err(Problem::not_in_snapshot(
            "the service's deployment configuration",
        )),
    }
}

fn update_service(w: &Workload) -> String {
    format!(
        "aws ecs update-service --cluster {} --service {}",
        w.cluster.as_deref().unwrap_or("CLUSTER"),
        w.service.as_deref().unwrap_or("SERVICE")
    )
}

/// Without AWSServiceRoleForECS ECS cannot create the tasks' network interfaces.
fn service_linked_role(ctx: &Context, new_service: bool) -> Result<Option<Verdict>, Problem> {
    let exists = *ctx.snap.ecs_service_linked_role.get()?;
    if exists {
        return Ok(None);
    }
    let fix = "aws iam create-service-linked-role --aws-service-name ecs.amazonaws.com";
    Ok(Some(if new_service {
        Verdict::warn(
            ctx.scope(),
            "the account has no AWSServiceRoleForECS: CreateService makes it only when the caller may iam:CreateServiceLinkedRole, and fails otherwise",
            fix,
        )
    } else {
        Verdict::fail(
            ctx.scope(),
            "the account has no AWSServiceRoleForECS, the service-linked role ECS uses to attach the tasks' network interfaces and register them with load balancers: new tasks cannot start",
            fix,
        )
    }))
}

fn run_deployment(ctx: &Context) -> Outcome {
    let w = &ctx.snap.workload;
    let scope = ctx.scope();
    let linked_role = service_linked_role(ctx, w.service_arn.is_none())?;
    let Some(d) = settings(w)? else {
        return Ok(linked_role.into_iter().chain([Verdict::skip(
            scope,
            "the service does not exist yet: ECS's defaults (minimumHealthyPercent 100, maximumPercent 200, circuit breaker as you create it) always let a rolling deployment move",
        )]).collect());
    };
    let mut out: Vec<Verdict> = linked_role.into_iter().collect();
    out.extend(judge_deployment(ctx, d)?);
    Ok(out)
}

fn judge_deployment(ctx: &Context, d: &DeploymentSettings) -> Outcome {
    let w = &ctx.snap.workload;
    let scope = ctx.scope();
    if d.controller != "ECS" {
        return Ok(vec![Verdict::skip(
            scope,
            format!("deployment controller {}: its deployments are run outside ECS's rolling scheduler and not judged here", d.controller),
        )]);
    }
    let strategy = d.strategy.as_deref().unwrap_or("ROLLING");
    if strategy != "ROLLING" {
        return Ok(vec![Verdict::warn(
            scope,
            format!("{strategy} deployment: the alternate target group, listener rules and infrastructure role it needs are not verified by this version"),
            "check the alternate target group and the production/test listener rules in loadBalancers[].advancedConfiguration, and that its roleArn trusts ecs.amazonaws.com",
        )]);
    }
    let desired = i64::from(w.desired_count.unwrap_or(0));
    if desired == 0 {
        return Ok(vec![Verdict::skip(
            scope,
            "desiredCount is 0: a deployment starts no task",
        )]);
    }
    let (most, fewest) = bounds(desired, d);
    let min = d.minimum_healthy_percent.unwrap_or(100);
    let max = d.maximum_percent.unwrap_or(200);
    let numbers = format!("desiredCount {desired}, minimumHealthyPercent {min} (keeps ceil({desired} × {min} / 100) = {fewest} running), maximumPercent {max} (allows floor({desired} × {max} / 100) = {most})");
    let mut out = Vec::new();
    if most <= desired && fewest >= desired {
        out.push(Verdict::fail(
            scope.clone(),
            format!("{numbers}: ECS can neither start a new task nor stop an old one, so a deployment never moves (\"unable to stop or start tasks during a deployment because of the service deployment configuration\")"),
            format!("{} --deployment-configuration \"minimumHealthyPercent=100,maximumPercent=200\" (or lower minimumHealthyPercent below 100 when the tasks cannot run side by side)", update_service(w)),
        ));
    } else {
        out.push(Verdict::pass(
            scope.clone(),
            format!("{numbers}: a rolling deployment can move"),
        ));
    }
    if !d.circuit_breaker {
        out.push(Verdict::warn(
            scope,
            "the deployment circuit breaker is off: a task that cannot start is retried for ever, and each attempt pulls the image again",
            format!("{} --deployment-configuration \"deploymentCircuitBreaker={{enable=true,rollback=true}}\"", update_service(w)),
        ));
    }
    Ok(out)
}

/// The most tasks a deployment runs at once, and for a service not created yet the tasks its
/// first deployment starts.
pub(super) struct Peak {
    pub peak: i64,
    pub first: Option<i64>,
}

pub(super) fn deployment_peak(w: &Workload) -> Result<Peak, Problem> {
    let desired = i64::from(w.desired_count.unwrap_or(0));
    Ok(match settings(w)? {
        Some(d) if d.controller == "ECS" => Peak {
            peak: bounds(desired, d).0.max(desired),
            first: None,
        },
        // Blue/green runs a whole second set of tasks.
        Some(_) => Peak {
            peak: desired * 2,
            first: None,
        },
        // A new service: the first deployment starts desiredCount tasks, later rolling ones
        // up to the default maximumPercent 200 of it.
        None => Peak {
            peak: desired * 2,
            first: Some(desired),
        },
    })
}

fn run_capacity(ctx: &Context) -> Outcome {
    let w = &ctx.snap.workload;
    let scope = ctx.scope();
    let network = ctx.network()?;
    let subnets = network.subnets.get()?;
    let task_subnets: Vec<_> = w
        .subnets
        .iter()
        .filter_map(|id| subnets.iter().find(|s| s.id == *id))
        .collect();
    if task_subnets.is_empty() {
        return Err(Problem::missing(
            w.subnets.join(", "),
            "the task's network configuration",
        ));
    }
    if task_subnets.iter().all(|s| s.ipv6_native) {
        return Ok(vec![Verdict::skip(
            scope,
            "the task subnets are IPv6-only: tasks take no IPv4 address, and a /64 has more addresses than tasks",
        )]);
    }
    let mut free = Vec::new();
    for s in task_subnets.iter().filter(|s| !s.ipv6_native) {
        match s.available_ips {
            Some(n) => free.push((s.id.as_str(), i64::from(n))),
            None => return Err(Problem::not_in_snapshot("the subnets' free address counts")),
        }
    }
    let total: i64 = free.iter().map(|(_, n)| n).sum();
    let running = i64::from(w.running_count.unwrap_or(0));
    let listing = free
        .iter()
        .map(|(id, n)| format!("{id} {n}"))
        .collect::<Vec<_>>()
        .join(", ");
    let fix = "add task subnets with free addresses (or larger CIDRs) to the service's network configuration, or lower maximumPercent";
    let Peak { peak, first } = deployment_peak(w)?;
    if let Some(first) = first.filter(|f| total < *f) {
        return Ok(vec![Verdict::fail(
            scope,
            format!("the service's first deployment starts {first} task(s), one address each, but the task subnets have {total} free ({listing})"),
            fix,
        )]);
    }
    let need = (peak - running).max(0);
    if need == 0 {
        return Ok(vec![Verdict::pass(
            scope,
            format!("no extra task at the deployment's peak of {peak}; free addresses: {listing}"),
        )]);
    }
    if total < need {
        let message = format!("a deployment runs up to {peak} task(s) ({running} running now), so it needs {need} more address(es), but the task subnets have {total} free ({listing}): \"InsufficientFreeAddressesInSubnet\"");
        return Ok(vec![if first.is_some() {
            Verdict::warn(
                scope,
                format!("{message} at the first rolling update after creation"),
                fix,
            )
        } else {
            Verdict::fail(scope, message, fix)
        }]);
    }
    let share = (need + free.len() as i64 - 1) / free.len() as i64;
    let short: Vec<String> = free
        .iter()
        .filter(|(_, n)| *n < share)
        .map(|(id, n)| format!("{id} ({n} free)"))
        .collect();
    if !short.is_empty() {
        return Ok(vec![Verdict::warn(
            scope,
            format!("{need} extra task(s) at the deployment's peak fit in {total} free addresses, but ECS spreads tasks across zones and {} cannot take an even share of {share}", short.join(", ")),
            fix,
        )]);
    }
    Ok(vec![Verdict::pass(
        scope,
        format!("{need} extra task(s) at the deployment's peak of {peak} fit: {listing} free"),
    )])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rolling(min: i32, max: i32) -> DeploymentSettings {
        DeploymentSettings {
            controller: "ECS".into(),
            strategy: None,
            minimum_healthy_percent: Some(min),
            maximum_percent: Some(max),
            circuit_breaker: true,
        }
    }

    #[test]
    fn ecs_rounds_the_minimum_up_and_the_maximum_down() {
        assert_eq!(bounds(1, &rolling(100, 100)), (1, 1));
        assert_eq!(bounds(1, &rolling(50, 100)), (1, 1));
        assert_eq!(bounds(4, &rolling(75, 100)), (4, 3));
        assert_eq!(bounds(3, &rolling(100, 120)), (3, 3));
        assert_eq!(bounds(3, &rolling(100, 150)), (4, 3));
        assert_eq!(bounds(20, &rolling(100, 200)), (40, 20));
    }
}
