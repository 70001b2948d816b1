//! load-balancer-ingress: the load balancer can reach the task on the container and
//! health-check ports, the target group fits awsvpc tasks, and the task subnets' zones are
//! enabled on the load balancer.

use super::health::{no_load_balancer, target_container, target_groups};
use super::netrules::{sg_allows_groups, sg_uncovered};
use super::{Check, Context, Explain, Outcome, Severity, Verdict};
use crate::facts::rules::{self, Direction};
use crate::snapshot::{TargetGroup, TargetType};

pub static LOAD_BALANCER_INGRESS: Check = Check {
    id: "load-balancer-ingress",
    title: "Load balancer can reach the task on the container port; target type ip, ports match",
    severity: Severity::Error,
    docs: "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/alb.html",
    run: ingress,
    explain: Explain {
        verifies: "That the load balancer can reach the task: SG rules both ways on the container and health-check ports, target type ip, ports that map to a container port.",
        why: "A task SG that does not admit the load balancer makes every health check fail ('Task failed ELB health checks'), which looks like a slow application.",
        decides: "Task SG ingress must allow the port from the load balancer's SGs (or, for an NLB without SGs, its subnets' CIDRs); the load balancer SG egress must allow it to the task SG or subnets. awsvpc needs target type ip; the health-check port must be traffic-port or a mapped container port; each task subnet's Availability Zone must be enabled on the load balancer (ELB TargetHealth: otherwise Target.NotInUse). Tasks in IPv6-only subnets need an IPv6 target group on a dual-stack load balancer (ECS guide, \"Using a VPC in IPv6-only mode\"); SG rules are then judged for the subnets' IPv6 CIDRs.",
        fix: "aws ec2 authorize-security-group-ingress on the task SG from the load balancer SG for the container port; use an ip target group; set the health-check port to traffic-port.",
    },
};

fn ingress(ctx: &Context) -> Outcome {
    if let Some(skip) = no_load_balancer(ctx) {
        return Ok(vec![skip]);
    }
    let subnets = ctx.network()?.subnets.get()?;
    let task_sgs = ctx.task_security_groups()?;
    let task_ingress = ctx.rules_of(
        &task_sgs,
        "a security group of the task",
        Direction::Ingress,
    )?;
    let task_cidrs = ctx.subnet_cidrs(&ctx.snap.workload.subnets)?;
    let mut verdicts = Vec::new();
    for (index, tg) in target_groups(ctx)? {
        let resource = tg.name.clone();
        let Some((container, Some(port))) = target_container(ctx, index)? else {
            verdicts.push(Verdict::fail(resource, "no container of the task definition serves this target group (no container with a port mapping)", "add a portMappings entry for the application port and name that container and port in the service's loadBalancers"));
            continue;
        };
        let mut problems = Vec::new();
        let mut fixes = Vec::new();
        let mut notes = Vec::new();
        if tg.load_balancers.is_empty() {
            problems.push(format!("target group {} is not attached to any load balancer: ECS rejects the service (\"does not have an associated load balancer\")", tg.name));
            fixes.push(format!("forward to {} from a listener or listener rule of the load balancer (aws elbv2 create-rule / modify-listener)", tg.arn));
        }
        if tg.target_type != Some(TargetType::Ip) {
            problems.push(format!(
                "target type is {}, but awsvpc tasks register by IP",
                tg.target_type.as_ref().map_or("unset", TargetType::as_str)
            ));
            fixes.push(format!("create a target group with --target-type ip (the type cannot be changed) and use it instead of {}", tg.name));
        }
        if ctx.ipv6_only() {
            ipv6_targets(tg, &mut problems, &mut fixes, &mut notes);
        }
        if !container
            .port_mappings
            .iter()
            .any(|p| p.container_port == Some(port))
        {
            problems.push(format!(
                "container {} has no port mapping for {port}",
                container.name
            ));
            fixes.push(format!(
                "add containerPort {port} to the portMappings of {}",
                container.name
            ));
        }
        let health_port = match tg.health_check.port.as_deref() {
            None | Some("traffic-port") => port,
            Some(p) => p.parse().unwrap_or(port),
        };
        // awsvpc exposes every port the container listens on; an unmapped health-check port
        // works if the app listens there, which the API cannot show.
        if health_port != port
            && !container
                .port_mappings
                .iter()
                .any(|p| p.container_port == Some(health_port))
        {
            notes.push((
                format!("the health check goes to port {health_port}, which no port mapping names: it works only if the application listens there"),
                format!("make sure the application answers health checks on {health_port}, or use traffic-port: aws elbv2 modify-target-group --target-group-arn {} --health-check-port traffic-port", tg.arn),
            ));
        }
        for lb in &tg.load_balancers {
            // ELB TargetHealth: a target "in an Availability Zone that is not enabled for its
            // load balancer" stays unused (Target.NotInUse) and never becomes healthy.
            match load_balancer_zones(lb, subnets) {
                Some(zones) => {
                    let outside: Vec<String> = subnets
                        .iter()
                        .filter(|s| ctx.snap.workload.subnets.contains(&s.id))
                        .filter(|s| s.availability_zone.as_ref().is_some_and(|az| !zones.contains(az)))
                        .map(|s| format!("{} ({})", s.id, s.availability_zone.as_deref().unwrap_or_default()))
                        .collect();
                    if !outside.is_empty() {
                        problems.push(format!(
                            "task subnets {} are in Availability Zones that {} does not enable ({}): tasks there stay unused (Target.NotInUse) and never pass health checks",
                            outside.join(", "), lb.name, zones.join(", ")
                        ));
                        fixes.push(format!(
                            "enable those zones on the load balancer (aws elbv2 set-subnets --load-balancer-arn {} --subnets {} SUBNET-IN-EACH-MISSING-AZ) or run the service only in subnets of {}",
                            lb.arn, lb.subnets.join(" "), zones.join(", ")
                        ));
                    }
                }
                None => notes.push((
                    format!("the Availability Zones of {} are not known (its subnets {} are not in the task's VPC data), so whether the task subnets' zones are enabled cannot be verified", lb.name, lb.subnets.join(", ")),
                    format!("make sure {} has a subnet in every Availability Zone of the task subnets", lb.name),
                )),
            }
            let lb_cidrs = rules::subnet_cidrs(subnets, &lb.subnets, ctx.ipv6_only());
            for p in [port, health_port]
                .into_iter()
                .collect::<std::collections::BTreeSet<_>>()
            {
                let from_lb = (!lb.security_groups.is_empty()
                    && sg_allows_groups(&task_ingress, p, &lb.security_groups))
                    || (!lb_cidrs.is_empty()
                        && sg_uncovered(&task_ingress, p, &lb_cidrs, &[]).is_empty());
                if !from_lb {
                    let source = if lb.security_groups.is_empty() {
                        format!(
                            "its subnets {}",
                            lb_cidrs
                                .iter()
                                .map(|c| c.to_string())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    } else {
                        format!("its security groups {}", lb.security_groups.join(", "))
                    };
                    problems.push(format!("task security groups {} do not allow TCP {p} in from load balancer {} ({source})", task_sgs.join(", "), lb.name));
                    let peer = lb.security_groups.first().map_or_else(
                        || {
                            format!(
                                "IpRanges=[{{CidrIp={}}}]",
                                lb_cidrs.first().map(|c| c.to_string()).unwrap_or_default()
                            )
                        },
                        |sg| format!("UserIdGroupPairs=[{{GroupId={sg}}}]"),
                    );
                    fixes.push(format!("aws ec2 authorize-security-group-ingress --group-id {} --ip-permissions 'IpProtocol=tcp,FromPort={p},ToPort={p},{peer}'", task_sgs.first().map(String::as_str).unwrap_or("sg-…")));
                }
                if !lb.security_groups.is_empty() {
                    let lb_egress = ctx.rules_of(
                        &lb.security_groups,
                        &format!("a security group of load balancer {}", lb.name),
                        Direction::Egress,
                    )?;
                    let out_ok = sg_allows_groups(&lb_egress, p, &task_sgs)
                        || sg_uncovered(&lb_egress, p, &task_cidrs, &[]).is_empty();
                    if !out_ok {
                        problems.push(format!("load balancer {} security groups {} do not allow TCP {p} out to the task", lb.name, lb.security_groups.join(", ")));
                        fixes.push(format!("aws ec2 authorize-security-group-egress --group-id {} --ip-permissions 'IpProtocol=tcp,FromPort={p},ToPort={p},UserIdGroupPairs=[{{GroupId={}}}]'", lb.security_groups[0], task_sgs.first().map(String::as_str).unwrap_or("sg-…")));
                    }
                }
            }
        }
        let (note_text, note_fix): (Vec<String>, Vec<String>) = notes.into_iter().unzip();
        if !problems.is_empty() {
            problems.extend(note_text.iter().cloned());
            fixes.extend(note_fix.iter().cloned());
        }
        verdicts.push(if problems.is_empty() && !note_text.is_empty() {
            Verdict::warn(resource, note_text.join("; "), note_fix.join("; "))
        } else if problems.is_empty() {
            Verdict::pass(resource, format!("{} reaches container {} on port {port} (target type ip; health checks on {health_port})", tg.load_balancers.iter().map(|l| l.name.as_str()).collect::<Vec<_>>().join(", "), container.name))
        } else {
            Verdict::fail(resource, problems.join("; "), fixes.join("; "))
        });
    }
    Ok(verdicts)
}

/// The zones a load balancer enables: as DescribeLoadBalancers reports them, else those of its
/// subnets; `None` when neither is known.
fn load_balancer_zones(
    lb: &crate::snapshot::LoadBalancer,
    subnets: &[crate::snapshot::Subnet],
) -> Option<Vec<String>> {
    if !lb.availability_zones.is_empty() {
        return Some(lb.availability_zones.clone());
    }
    lb.subnets
        .iter()
        .map(|id| {
            subnets
                .iter()
                .find(|s| &s.id == id)
                .and_then(|s| s.availability_zone.clone())
        })
        .collect::<Option<Vec<_>>>()
        .filter(|zones| !zones.is_empty())
}

/// "IPv6-only Amazon ECS services must use dual-stack load balancers with IPv6 target groups"
/// (ECS guide, fargate-task-networking.html): a task without an IPv4 address cannot be
/// registered in an IPv4 target group.
fn ipv6_targets(
    tg: &TargetGroup,
    problems: &mut Vec<String>,
    fixes: &mut Vec<String>,
    notes: &mut Vec<(String, String)>,
) {
    match tg.ip_address_type.as_deref() {
        Some("ipv6") => {}
        Some(other) => {
            problems.push(format!("target group {} has IP address type {other}, but the task subnets are IPv6-only: tasks without an IPv4 address cannot be registered", tg.name));
            fixes.push(format!("create an IPv6 target group (aws elbv2 create-target-group --target-type ip --ip-address-type ipv6 …) on a dual-stack load balancer and use it instead of {}", tg.name));
        }
        None => notes.push((
            format!("the IP address type of target group {} is not in this snapshot: whether it takes the IPv6-only tasks is not verified", tg.name),
            "take a new snapshot, or make sure the target group's IP address type is ipv6".to_string(),
        )),
    }
    for lb in &tg.load_balancers {
        match lb.ip_address_type.as_deref() {
            Some(t) if t.starts_with("dualstack") => {}
            Some(other) => {
                problems.push(format!("load balancer {} has IP address type {other}, but IPv6-only tasks need a dual-stack load balancer", lb.name));
                fixes.push(format!("aws elbv2 set-ip-address-type --load-balancer-arn {} --ip-address-type dualstack", lb.arn));
            }
            None => notes.push((
                format!(
                    "the IP address type of load balancer {} is not in this snapshot",
                    lb.name
                ),
                format!("make sure {} is dual-stack", lb.name),
            )),
        }
    }
}
