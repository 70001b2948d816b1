//! subnet-capacity and deployment-configuration: whether ECS can place the deployment's tasks in
//! the task subnets, and whether the service's deployment settings let a rolling deployment move.

use super::iam::may_assume;
use super::{Check, Context, Explain, Outcome, Problem, Severity, Verdict};
use crate::policy::Decision;
use crate::snapshot::{
    AdvancedConfiguration, DeploymentSettings, ListenerRule, ServiceLoadBalancer, TargetType,
    Workload,
};

pub static SUBNET_CAPACITY: Check = Check {
    id: "subnet-capacity",
    title: "The task subnets have free addresses for the deployment's peak",
    severity: Severity::Error,
    docs: "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service_definition_parameters.html#sd-deploymentconfiguration",
    run: run_capacity,
    explain: Explain {
        verifies: "Each Fargate task takes one IPv4 address of a task subnet (its ENI). A rolling deployment runs up to desiredCount × maximumPercent / 100 (rounded down) tasks at once; the extra ones beyond the running tasks need free addresses.",
        why: "Without free addresses the new tasks cannot start (\"InsufficientFreeAddressesInSubnet\") and the deployment stalls, often only at the next deploy, when the peak is reached.",
        decides: "Existing service: the peak is floor(desiredCount × maximumPercent / 100) for a rolling deployment and twice desiredCount for blue/green, linear and canary; the need is the peak minus runningCount, against the sum of AvailableIpAddressCount of the task subnets: short fails; a subnet that cannot take its even share (ECS spreads tasks across zones) warns. An Application Auto Scaling target (DescribeScalableTargets) whose maxCapacity is above desiredCount: the same peak from maxCapacity, short warns; a target that could not be read is an error saying so. Pre-deploy: the first deployment starts --desired-count tasks (short fails); later rolling deployments need twice that with the default maximumPercent 200 (short warns). A cluster scan also warns once when services sharing subnets need more addresses together at their peaks than are free.",
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
        verifies: "The account has ECS's service-linked role (AWSServiceRoleForECS). For the rolling (ECS) controller: minimumHealthyPercent and maximumPercent leave room to start or stop a task for the desired count; the deployment circuit breaker is on. For blue/green, linear and canary: the alternate target group, listener rules and infrastructure role ECS shifts traffic with.",
        why: "With no room ECS can neither stop an old task nor start a new one: \"unable to stop or start tasks during a deployment because of the service deployment configuration\". A blue/green deployment whose rules or role are wrong is rejected or rolled back (\"Service deployment rolled back because of invalid networking configuration\"). Without the circuit breaker a task that cannot start is retried for ever (and its image pulled again each time, through a NAT gateway at a cost).",
        decides: "ECS keeps at least ceil(desiredCount × minimumHealthyPercent / 100) tasks running and at most floor(desiredCount × maximumPercent / 100): when the maximum is not above the desired count and the minimum is not below it, the deployment cannot move (fail). Circuit breaker off: warn. No AWSServiceRoleForECS (iam:GetRole): fail for an existing service, warn before CreateService (which creates it when the caller may). Blue/green, linear and canary deployments behind a load balancer: every loadBalancers entry has advancedConfiguration; its alternate target group exists, differs from the primary and has target type ip; the production listener rule (a rule ARN for an ALB, a listener ARN for an NLB; DescribeRules / DescribeListeners) exists and differs from the test rule, forwards only to the service's target groups, and the two rules together reach both target groups (an ALB whose production rule lacks one needs a test rule); the roleArn exists and trusts ecs.amazonaws.com (iam:GetRole). Any of these missing fails; a production rule that already splits traffic warns. The CODE_DEPLOY and EXTERNAL controllers: skip. Pre-deploy: ECS's defaults (100 % / 200 %) always move; skip.",
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
        return traffic_shift(ctx, strategy);
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

/// A blue/green, linear or canary deployment registers the new tasks with the alternate target
/// group and shifts the listener rules' weights to it, as the infrastructure role.
fn traffic_shift(ctx: &Context, strategy: &str) -> Outcome {
    let w = &ctx.snap.workload;
    let scope = ctx.scope();
    let shift = ctx.snap.traffic_shift.get()?;
    let balanced: Vec<(usize, &ServiceLoadBalancer)> = w
        .load_balancers
        .iter()
        .enumerate()
        .filter(|(_, lb)| lb.target_group_arn.is_some())
        .collect();
    if balanced.is_empty() {
        return Ok(vec![Verdict::skip(
            scope,
            format!("{strategy} deployment without a load balancer: ECS shifts no listener traffic (Service Connect and VPC Lattice shifts are not judged here)"),
        )]);
    }
    let groups = ctx.snap.target_groups.get()?;
    let rules = shift.rules.get()?;
    let account = w
        .service_arn
        .as_deref()
        .and_then(|a| a.split(':').nth(4))
        .unwrap_or_default();
    let mut out = Vec::new();
    for (i, lb) in balanced {
        let primary = lb.target_group_arn.as_deref().unwrap_or_default();
        let field = format!("loadBalancers[{i}].advancedConfiguration");
        let fix = format!(
            "{}: set {field} (alternateTargetGroupArn, productionListenerRule, roleArn)",
            update_service(w)
        );
        let Some(a) = &lb.advanced else {
            out.push(Verdict::fail(
                primary,
                format!("a {strategy} deployment needs {field}: without an alternate target group, a production listener rule and an infrastructure role ECS cannot register the new tasks or shift traffic to them"),
                fix,
            ));
            continue;
        };
        let mut problems = Vec::new();
        match a.alternate_target_group_arn.as_deref() {
            None => problems.push(format!("{field}.alternateTargetGroupArn is not set")),
            Some(alt) if alt == primary => problems.push(format!(
                "the alternate target group is the primary one ({alt}): the new tasks need a second target group"
            )),
            Some(alt) => match groups.iter().find(|g| g.arn == alt) {
                None => problems.push(format!("the alternate target group {alt} does not exist")),
                Some(g) if g.target_type != Some(TargetType::Ip) => problems.push(format!(
                    "the alternate target group {} has target type {}: awsvpc tasks register by IP address (target type ip)",
                    g.name,
                    g.target_type.as_ref().map_or("(none)", |t| t.as_str())
                )),
                Some(_) => {}
            },
        }
        let kind = groups
            .iter()
            .find(|g| g.arn == primary)
            .and_then(|g| g.load_balancers.first())
            .and_then(|l| l.kind.as_deref());
        let (rule_problems, split) = listener_rule_problems(&field, primary, a, rules, kind);
        problems.extend(rule_problems);
        out.extend(split.map(|message| {
            Verdict::warn(
                primary,
                message,
                "let the deployment in progress finish, or set the production rule's weights back to one target group",
            )
        }));
        match a.role_arn.as_deref() {
            None => problems.push(format!(
                "{field}.roleArn is not set: ECS needs an infrastructure role to change the listener rules"
            )),
            Some(arn) => match shift.roles.iter().find(|r| r.arn == arn) {
                None => return Err(Problem::not_in_snapshot("the infrastructure role")),
                Some(role) => match role.trust_policy.get()? {
                    None => problems.push(format!("the infrastructure role {arn} does not exist")),
                    Some(trust) => {
                        let name = arn.rsplit('/').next().unwrap_or(arn);
                        match may_assume(name, arn, trust, "ecs.amazonaws.com", account)? {
                            Decision::Allowed => {}
                            Decision::Uncertain { reasons } => out.push(Verdict::warn(
                                format!("{arn} (trust)"),
                                format!("whether ecs.amazonaws.com may assume {name} depends on: {}", reasons.join("; ")),
                                trust_fix(name),
                            )),
                            _ => problems.push(format!(
                                "the infrastructure role {name} does not trust ecs.amazonaws.com"
                            )),
                        }
                    }
                },
            },
        }
        if problems.is_empty() {
            out.push(Verdict::pass(
                primary,
                format!("{strategy} deployment: the alternate target group, the listener rules (forwarding to both target groups) and the infrastructure role are in place"),
            ));
        } else {
            out.push(Verdict::fail(
                primary,
                format!("the {strategy} deployment cannot shift traffic: {}", problems.join("; ")),
                format!("fix {field}: an alternate target group of target type ip, listener rules whose forward action lists both target groups, and a role that trusts ecs.amazonaws.com with AmazonECSInfrastructureRolePolicyForLoadBalancers ({})", update_service(w)),
            ));
        }
    }
    Ok(out)
}

/// What keeps the listener rules from serving a blue/green shift, as the ECS guide's
/// troubleshooting page lists it; and a warning when production traffic is split already.
fn listener_rule_problems(
    field: &str,
    primary: &str,
    a: &AdvancedConfiguration,
    rules: &[ListenerRule],
    kind: Option<&str>,
) -> (Vec<String>, Option<String>) {
    let mut problems = Vec::new();
    let Some(production) = a.production_listener_rule.as_deref() else {
        return (
            vec![format!("{field}.productionListenerRule is not set: ECS has no listener rule to shift production traffic on")],
            None,
        );
    };
    let network = kind == Some("network");
    let named = [
        ("productionListenerRule", Some(production)),
        ("testListenerRule", a.test_listener_rule.as_deref()),
    ];
    for (name, arn) in named {
        let Some(arn) = arn else { continue };
        let listener = arn.contains(":listener/");
        if kind.is_some() && listener != network {
            problems.push(format!(
                "{name} {arn} has the wrong kind of ARN: \"Must be RuleArn for ALB or ListenerArn for NLB\""
            ));
        }
    }
    if a.test_listener_rule.as_deref() == Some(production) {
        problems.push(format!(
            "{production} is both the production and the test listener rule: they must differ"
        ));
    }
    let find = |arn: &str| rules.iter().find(|r| r.arn == arn);
    let Some(prod) = find(production) else {
        problems.push(format!(
            "the productionListenerRule {production} does not exist"
        ));
        return (problems, None);
    };
    let test = match a.test_listener_rule.as_deref() {
        None => None,
        Some(arn) => match find(arn) {
            Some(rule) => Some(rule),
            None => {
                problems.push(format!("the testListenerRule {arn} does not exist"));
                return (problems, None);
            }
        },
    };
    let groups: Vec<&str> = [Some(primary), a.alternate_target_group_arn.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    let forwards_to =
        |rule: &ListenerRule, tg: &str| rule.forwards.iter().any(|f| f.target_group_arn == tg);
    let unexpected: Vec<&str> = prod
        .forwards
        .iter()
        .map(|f| f.target_group_arn.as_str())
        .filter(|tg| !groups.contains(tg))
        .collect();
    if !unexpected.is_empty() {
        problems.push(format!(
            "the production listener rule forwards to {}, not a target group of the service (\"Production listener rule is forwarding traffic to unexpected target group\")",
            unexpected.join(", ")
        ));
    }
    for tg in &groups {
        if !forwards_to(prod, tg) && !test.is_some_and(|t| forwards_to(t, tg)) {
            problems.push(format!(
                "target group {tg} is not associated with either productionListenerRule or testListenerRule"
            ));
        }
    }
    let prod_has_both = groups.iter().all(|tg| forwards_to(prod, tg));
    if !network && !prod_has_both && test.is_none() {
        problems.push("for an Application Load Balancer, testListenerRule is required when productionListenerRule is not associated with both the target group and the alternate target group".to_string());
    }
    let serving = prod.forwards.iter().filter(|f| f.serves_traffic()).count();
    let split = (serving > 1).then(|| format!(
        "the production listener rule {production} sends traffic to {serving} target groups: unless a deployment is shifting traffic right now, the next one fails (\"should have exactly one target group serving traffic\")"
    ));
    (problems, split)
}

fn trust_fix(name: &str) -> String {
    format!("let ECS assume it: aws iam update-assume-role-policy --role-name {name} --policy-document '{{\"Version\":\"2012-10-17\",\"Statement\":[{{\"Effect\":\"Allow\",\"Principal\":{{\"Service\":\"ecs.amazonaws.com\"}},\"Action\":\"sts:AssumeRole\"}}]}}'")
}

/// The most tasks a deployment runs at once, and for a service not created yet the tasks its
/// first deployment starts.
pub(super) struct Peak {
    pub peak: i64,
    pub first: Option<i64>,
}

pub(super) fn deployment_peak(w: &Workload) -> Result<Peak, Problem> {
    peak_at(w, i64::from(w.desired_count.unwrap_or(0)))
}

/// The peak of a deployment that starts at `desired` tasks.
fn peak_at(w: &Workload, desired: i64) -> Result<Peak, Problem> {
    Ok(match settings(w)? {
        Some(d) if d.controller == "ECS" && rolling(d) => Peak {
            peak: bounds(desired, d).0.max(desired),
            first: None,
        },
        // Blue/green, linear and canary run a whole second set of tasks.
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

fn rolling(d: &DeploymentSettings) -> bool {
    d.strategy.as_deref().unwrap_or("ROLLING") == "ROLLING"
}

/// The free IPv4 addresses of each task subnet that takes IPv4 addresses; `None` when the
/// subnets are all IPv6-only.
fn free_addresses<'a>(ctx: &Context<'a>) -> Result<Option<Vec<(&'a str, i64)>>, Problem> {
    let w = &ctx.snap.workload;
    let subnets = ctx.network()?.subnets.get()?;
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
        return Ok(None);
    }
    task_subnets
        .iter()
        .filter(|s| !s.ipv6_native)
        .map(|s| match s.available_ips {
            Some(n) => Ok((s.id.as_str(), i64::from(n))),
            None => Err(Problem::not_in_snapshot("the subnets' free address counts")),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

fn listing(free: &[(&str, i64)]) -> String {
    free.iter()
        .map(|(id, n)| format!("{id} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

const CAPACITY_FIX: &str = "add task subnets with free addresses (or larger CIDRs) to the service's network configuration, or lower maximumPercent";

fn run_capacity(ctx: &Context) -> Outcome {
    let w = &ctx.snap.workload;
    let scope = ctx.scope();
    let Some(free) = free_addresses(ctx)? else {
        return Ok(vec![Verdict::skip(
            scope,
            "the task subnets are IPv6-only: tasks take no IPv4 address, and a /64 has more addresses than tasks",
        )]);
    };
    let total: i64 = free.iter().map(|(_, n)| n).sum();
    let running = i64::from(w.running_count.unwrap_or(0));
    let listing = listing(&free);
    let Peak { peak, first } = deployment_peak(w)?;
    if let Some(first) = first.filter(|f| total < *f) {
        return Ok(vec![Verdict::fail(
            scope,
            format!("the service's first deployment starts {first} task(s), one address each, but the task subnets have {total} free ({listing})"),
            CAPACITY_FIX,
        )]);
    }
    let mut out = vec![judge_capacity(ctx, &free, peak, first.is_some())];
    out.extend(scaled_out(ctx, &free, running)?);
    Ok(out)
}

/// The deployment's peak against the free addresses.
fn judge_capacity(ctx: &Context, free: &[(&str, i64)], peak: i64, new_service: bool) -> Verdict {
    let scope = ctx.scope();
    let running = i64::from(ctx.snap.workload.running_count.unwrap_or(0));
    let total: i64 = free.iter().map(|(_, n)| n).sum();
    let listing = listing(free);
    let need = (peak - running).max(0);
    if need == 0 {
        return Verdict::pass(
            scope,
            format!("no extra task at the deployment's peak of {peak}; free addresses: {listing}"),
        );
    }
    if total < need {
        let message = format!("a deployment runs up to {peak} task(s) ({running} running now), so it needs {need} more address(es), but the task subnets have {total} free ({listing}): \"InsufficientFreeAddressesInSubnet\"");
        return if new_service {
            Verdict::warn(
                scope,
                format!("{message} at the first rolling update after creation"),
                CAPACITY_FIX,
            )
        } else {
            Verdict::fail(scope, message, CAPACITY_FIX)
        };
    }
    let share = (need + free.len() as i64 - 1) / free.len() as i64;
    let short: Vec<String> = free
        .iter()
        .filter(|(_, n)| *n < share)
        .map(|(id, n)| format!("{id} ({n} free)"))
        .collect();
    if !short.is_empty() {
        return Verdict::warn(
            scope,
            format!("{need} extra task(s) at the deployment's peak fit in {total} free addresses, but ECS spreads tasks across zones and {} cannot take an even share of {share}", short.join(", ")),
            CAPACITY_FIX,
        );
    }
    Verdict::pass(
        scope,
        format!("{need} extra task(s) at the deployment's peak of {peak} fit: {listing} free"),
    )
}

/// Application Auto Scaling may raise the desired count to its maximum: a deployment then
/// peaks higher. Short there is a warning (the service is not scaled out now); a target that
/// could not be read is said, never taken as "no target".
fn scaled_out(ctx: &Context, free: &[(&str, i64)], running: i64) -> Result<Vec<Verdict>, Problem> {
    let w = &ctx.snap.workload;
    let scope = ctx.scope();
    let target = match ctx.snap.scalable_target.ok() {
        Ok(target) => target,
        Err(error) => {
            let mut verdict = Verdict::could_not_check(scope, &Problem::from(error.clone()));
            verdict.message = format!(
                "{}: the Application Auto Scaling maximum was not considered",
                verdict.message
            );
            return Ok(vec![verdict]);
        }
    };
    let desired = i64::from(w.desired_count.unwrap_or(0));
    let Some(max) = target
        .as_ref()
        .map(|t| i64::from(t.max_capacity))
        .filter(|m| *m > desired)
    else {
        return Ok(vec![]);
    };
    let peak = peak_at(w, max)?.peak;
    let need = peak - running;
    let total: i64 = free.iter().map(|(_, n)| n).sum();
    if total >= need {
        return Ok(vec![]);
    }
    Ok(vec![Verdict::warn(
        scope,
        format!("scaled out to its Application Auto Scaling maximum of {max}, a deployment runs up to {peak} task(s), {need} more than the {running} running now, but the task subnets have {total} free ({})", listing(free)),
        format!("{CAPACITY_FIX}, or lower the scalable target's maximum: aws application-autoscaling register-scalable-target --service-namespace ecs --scalable-dimension ecs:service:DesiredCount --resource-id service/{}/{} --max-capacity N", w.cluster.as_deref().unwrap_or("CLUSTER"), w.service.as_deref().unwrap_or("SERVICE")),
    )])
}

/// What one service of a scan asks of its subnets at its deployment's peak.
struct SubnetDemand<'a> {
    service: &'a str,
    free: Vec<(&'a str, i64)>,
    need: i64,
}

fn subnet_demand<'a>(ctx: &Context<'a>) -> Option<SubnetDemand<'a>> {
    let w = &ctx.snap.workload;
    let free = free_addresses(ctx).ok()??;
    let peak = deployment_peak(w).ok()?.peak;
    let need = (peak - i64::from(w.running_count.unwrap_or(0))).max(0);
    Some(SubnetDemand {
        service: w.service.as_deref()?,
        free,
        need,
    })
}

/// A cluster scan: services whose subnets overlap draw on the same free addresses. Deployed at
/// once (a pipeline that deploys everything), their peaks add up.
pub(super) fn shared_subnets(contexts: &[Context]) -> Vec<Verdict> {
    let demands: Vec<SubnetDemand> = contexts
        .iter()
        .filter_map(subnet_demand)
        .filter(|d| d.need > 0)
        .collect();
    let mut groups: Vec<Vec<&SubnetDemand>> = Vec::new();
    for d in &demands {
        let shares = |g: &Vec<&SubnetDemand>| {
            g.iter().any(|o| {
                o.free
                    .iter()
                    .any(|(s, _)| d.free.iter().any(|(t, _)| s == t))
            })
        };
        let (mut joined, rest): (Vec<_>, Vec<_>) = groups.drain(..).partition(shares);
        let mut group: Vec<&SubnetDemand> = joined.drain(..).flatten().collect();
        group.push(d);
        groups = rest;
        groups.push(group);
    }
    let mut out = Vec::new();
    for group in groups.iter().filter(|g| g.len() > 1) {
        let mut subnets: Vec<(&str, i64)> = group.iter().flat_map(|d| d.free.clone()).collect();
        subnets.sort();
        subnets.dedup();
        let total: i64 = subnets.iter().map(|(_, n)| n).sum();
        let need: i64 = group.iter().map(|d| d.need).sum();
        if need <= total {
            continue;
        }
        let services = group
            .iter()
            .map(|d| format!("{} {}", d.service, d.need))
            .collect::<Vec<_>>()
            .join(", ");
        let ids = subnets
            .iter()
            .map(|(id, _)| *id)
            .collect::<Vec<_>>()
            .join(", ");
        out.push(Verdict::warn(
            ids,
            format!("the services sharing these subnets need {need} more address(es) together at their deployments' peaks ({services}), but the subnets have {total} free ({}): deployed at once, some of their tasks cannot start", listing(&subnets)),
            "deploy these services one after another, or give them task subnets with more free addresses",
        ));
    }
    out
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
