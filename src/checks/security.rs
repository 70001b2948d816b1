//! endpoint-security-groups and network-acl: the rules on the way from the task to each AWS
//! service it uses, whichever way that service is reached (interface endpoint, S3 gateway,
//! NAT / internet gateway).

use std::collections::BTreeMap;

use ipnet::Ipv4Net;

use super::context::{Egress, TaskSubnet};
use super::netrules::{
    nacl_evaluate, sg_allows_groups, sg_allows_prefix_list, sg_allows_public, sg_uncovered,
    NaclResult,
};
use super::{Check, Context, Explain, Outcome, Problem, Severity, Verdict};
use crate::snapshot::{NetworkAcl, SecurityGroup, SgRule, VpcEndpoint};

pub static ENDPOINT_SECURITY_GROUPS: Check = Check {
    id: "endpoint-security-groups",
    title: "Security groups allow HTTPS from the task to each endpoint, S3 and the internet path",
    severity: Severity::Error,
    docs: "https://docs.aws.amazon.com/vpc/latest/privatelink/create-interface-endpoint.html",
    run: security_groups,
    explain: Explain {
        verifies: "That HTTPS can flow from the task to each AWS destination it uses: task SG egress and endpoint SG ingress on 443, egress to the S3 prefix list, or to 0.0.0.0/0 when the path is the internet.",
        why: "Security groups that allow only the application's own ports are the most common reason a correct endpoint setup still times out.",
        decides: "Works out each service's destination per subnet (the interface endpoint whose private DNS owns the name, S3 gateway, or the internet through the path out), then evaluates the rules: SG references, CIDRs covering the endpoint or task subnets together, prefix lists (customer lists expanded), protocol -1; the internet needs the whole public address space.",
        fix: "Allow TCP 443 from the task SG to the endpoint SG (or the endpoint subnets), 443 to the S3 prefix list, and 443 into the endpoint SG from the task SG.",
    },
};

pub static NETWORK_ACL: Check = Check {
    id: "network-acl",
    title: "Network ACLs allow HTTPS out and the return traffic in (stateless)",
    severity: Severity::Error,
    docs: "https://docs.aws.amazon.com/vpc/latest/userguide/vpc-network-acls.html",
    run: network_acls,
    explain: Explain {
        verifies: "That the network ACLs on the way allow HTTPS out and the replies back in, for the task subnets, the endpoint subnets and the NAT gateway's subnet.",
        why: "NACLs are stateless: an outbound 443 allow is useless without an inbound allow for the ephemeral ports the replies come back to.",
        decides: "Evaluates entries in rule-number order, first match wins, no match means the implicit deny. Replies must reach the client's ephemeral ports: Linux tasks 32768-60999, Windows 49152-65535, a NAT gateway 1024-65535. Toward AWS's public ranges, allows that cover only part of the address space before a deny (rule 32767 or another) warn: whether they hold the endpoints cannot be verified.",
        fix: "Add allow entries numbered before any deny: outbound TCP 443 and inbound TCP 1024-65535 on the task subnets' NACL, and the mirror image on the endpoint and NAT subnets.",
    },
};

const HTTPS: i32 = 443;

/// Where the task's HTTPS traffic for an AWS service goes.
#[derive(Clone)]
enum Dest<'a> {
    Endpoint {
        service: String,
        endpoint: &'a VpcEndpoint,
    },
    S3Gateway {
        gateway: &'a VpcEndpoint,
    },
    Internet {
        via: String,
        /// The subnet of the NAT gateway on the way, whose NACL the traffic crosses too.
        nat_subnet: Option<String>,
    },
}

impl Dest<'_> {
    fn key(&self) -> String {
        match self {
            Dest::Endpoint { endpoint, service } => format!("{} ({service})", endpoint.id),
            Dest::S3Gateway { gateway } => format!("{} (s3)", gateway.id),
            Dest::Internet { .. } => "internet".to_string(),
        }
    }
}

/// Destinations per task subnet, with the services that go each way.
fn destinations<'a>(
    ctx: &Context<'a>,
    ts: &TaskSubnet<'a>,
) -> Result<Vec<(Dest<'a>, Vec<String>)>, Problem> {
    let egress = ctx.egress(ts.route_table)?;
    let can_leave = egress.has_path() || matches!(egress, Egress::Unverifiable { .. });
    let net = ctx.network()?;
    let mut dests: BTreeMap<String, (Dest<'a>, Vec<String>)> = BTreeMap::new();
    let mut add = |dest: Dest<'a>, service: &str| {
        dests
            .entry(dest.key())
            .or_insert_with(|| (dest, vec![]))
            .1
            .push(service.to_string());
    };
    let via = egress.describe();
    let nat_subnet = match &egress {
        Egress::Nat { nat, .. } => net
            .nat_gateways
            .get()?
            .iter()
            .find(|n| &n.id == nat)
            .and_then(|n| n.subnet_id.clone()),
        _ => None,
    };
    let internet = || Dest::Internet {
        via: via.clone(),
        nat_subnet: nat_subnet.clone(),
    };
    for service in ctx.interface_services()? {
        match ctx.endpoint_in_path(&service)? {
            Some(e) => add(
                Dest::Endpoint {
                    service: service.clone(),
                    endpoint: e,
                },
                &service,
            ),
            _ if can_leave => add(internet(), &service),
            _ => {}
        }
    }
    if ctx.uses_s3()? {
        match ctx.s3_gateway_for(ts)? {
            Some(g) => add(Dest::S3Gateway { gateway: g }, "s3"),
            None if can_leave => add(internet(), "s3"),
            None => {}
        }
    }
    if can_leave {
        for what in ctx.internet_only_uses()? {
            add(internet(), &what);
        }
    }
    Ok(dests.into_values().collect())
}

fn groups<'a>(
    ctx: &Context<'a>,
    ids: &[String],
    referenced_by: &str,
) -> Result<Vec<&'a SecurityGroup>, Problem> {
    let net = ctx.network()?;
    let all = net.security_groups.get()?;
    ids.iter()
        .map(|id| {
            all.iter()
                .find(|g| &g.id == id)
                .ok_or_else(|| Problem::missing(format!("{id} in {}", net.vpc_id), referenced_by))
        })
        .collect()
}

fn rules(groups: &[&SecurityGroup], egress: bool) -> Vec<SgRule> {
    groups
        .iter()
        .flat_map(|g| if egress { &g.egress } else { &g.ingress })
        .cloned()
        .collect()
}

fn subnet_cidrs(ctx: &Context, ids: &[String]) -> Result<Vec<Ipv4Net>, Problem> {
    let subnets = ctx.network()?.subnets.get()?;
    Ok(subnets
        .iter()
        .filter(|s| ids.contains(&s.id))
        .map(|s| s.cidr)
        .collect())
}

fn s3_prefix_list(ctx: &Context) -> Result<Option<String>, Problem> {
    let lists = ctx.network()?.prefix_lists.get()?;
    let name = ctx.service_name("s3");
    Ok(lists.iter().find(|p| p.name == name).map(|p| p.id.clone()))
}

fn security_groups(ctx: &Context) -> Outcome {
    let subnets = ctx.task_subnets()?;
    let task_sg_ids = &ctx.task_security_groups()?;
    if task_sg_ids.is_empty() {
        return Ok(vec![Verdict::fail(
            ctx.scope(),
            "the task has no security groups and the VPC has no default security group",
            "set securityGroups in the service's awsvpcConfiguration",
        )]);
    }
    let task_groups = groups(ctx, task_sg_ids, "a security group of the task")?;
    let task_egress = rules(&task_groups, true);
    let task_label = task_sg_ids.join(", ");
    let prefix_lists = ctx.network()?.prefix_lists.get()?;
    let task_cidrs: Vec<Ipv4Net> = subnets.iter().map(|ts| ts.subnet.cidr).collect();

    let mut all: BTreeMap<String, (Dest, Vec<String>)> = BTreeMap::new();
    for ts in &subnets {
        for (dest, services) in destinations(ctx, ts)? {
            let entry = all.entry(dest.key()).or_insert_with(|| (dest, vec![]));
            for s in services {
                if !entry.1.contains(&s) {
                    entry.1.push(s);
                }
            }
        }
    }
    if all.is_empty() {
        return Ok(vec![Verdict::skip(
            ctx.scope(),
            "the task has no reachable destination to evaluate (see the endpoint checks)",
        )]);
    }
    let mut verdicts = Vec::new();
    for (key, (dest, services)) in all {
        let used_by = services.join(", ");
        let verdict = match dest {
            Dest::Endpoint { endpoint, .. } => {
                let endpoint_cidrs = subnet_cidrs(ctx, &endpoint.subnet_ids)?;
                let mut problems = Vec::new();
                let mut fixes = Vec::new();
                let egress_ok = sg_allows_groups(&task_egress, HTTPS, &endpoint.security_group_ids)
                    || (!endpoint_cidrs.is_empty()
                        && sg_uncovered(&task_egress, HTTPS, &endpoint_cidrs, prefix_lists)
                            .is_empty());
                if !egress_ok {
                    problems.push(format!("task security groups {task_label} do not allow outbound TCP 443 to {} (its groups {} or subnets {})", endpoint.id, endpoint.security_group_ids.join(", "), endpoint.subnet_ids.join(", ")));
                    fixes.push(format!(
                        "aws ec2 authorize-security-group-egress --group-id {} --ip-permissions 'IpProtocol=tcp,FromPort=443,ToPort=443,UserIdGroupPairs=[{{GroupId={}}}]'",
                        task_sg_ids[0],
                        endpoint.security_group_ids.first().map(String::as_str).unwrap_or("sg-…")
                    ));
                }
                let endpoint_groups = groups(
                    ctx,
                    &endpoint.security_group_ids,
                    &format!("a security group of {}", endpoint.id),
                )?;
                let ingress = rules(&endpoint_groups, false);
                let ingress_ok = sg_allows_groups(&ingress, HTTPS, task_sg_ids)
                    || sg_uncovered(&ingress, HTTPS, &task_cidrs, prefix_lists).is_empty();
                if !ingress_ok {
                    let uncovered = sg_uncovered(&ingress, HTTPS, &task_cidrs, prefix_lists)
                        .iter()
                        .map(|c| c.to_string())
                        .collect::<Vec<_>>()
                        .join(", ");
                    problems.push(format!(
                        "endpoint security groups {} do not allow inbound TCP 443 from the task (groups {task_label}, or CIDRs covering {uncovered})",
                        endpoint.security_group_ids.join(", ")
                    ));
                    fixes.push(format!(
                        "aws ec2 authorize-security-group-ingress --group-id {} --ip-permissions 'IpProtocol=tcp,FromPort=443,ToPort=443,UserIdGroupPairs=[{{GroupId={}}}]'",
                        endpoint.security_group_ids.first().map(String::as_str).unwrap_or("sg-…"),
                        task_sg_ids[0]
                    ));
                }
                if problems.is_empty() {
                    Verdict::pass(key, format!("{task_label} → {}: TCP 443 allowed out of the task and into the endpoint (used by {used_by})", endpoint.id))
                } else {
                    Verdict::fail(
                        key,
                        format!("{} (used by {used_by})", problems.join("; ")),
                        fixes.join("; "),
                    )
                }
            }
            Dest::S3Gateway { gateway } => {
                let pl = s3_prefix_list(ctx)?;
                let allowed = pl
                    .as_deref()
                    .is_some_and(|pl| sg_allows_prefix_list(&task_egress, HTTPS, pl))
                    || sg_allows_public(&task_egress, HTTPS, prefix_lists);
                let pl_label = pl
                    .clone()
                    .unwrap_or_else(|| format!("the {} prefix list", ctx.service_name("s3")));
                if allowed {
                    Verdict::pass(
                        key,
                        format!(
                            "task security groups {task_label} allow TCP 443 to {pl_label} through {}",
                            gateway.id
                        ),
                    )
                } else {
                    Verdict::fail(
                        key,
                        format!("task security groups {task_label} do not allow outbound TCP 443 to S3 ({pl_label} or 0.0.0.0/0): layer downloads through {} are blocked", gateway.id),
                        format!(
                            "aws ec2 authorize-security-group-egress --group-id {} --ip-permissions 'IpProtocol=tcp,FromPort=443,ToPort=443,PrefixListIds=[{{PrefixListId={}}}]'",
                            task_sg_ids[0],
                            pl.as_deref().unwrap_or("pl-…")
                        ),
                    )
                }
            }
            Dest::Internet { via, .. } => {
                let key = format!("{task_label} → internet");
                if sg_allows_public(&task_egress, HTTPS, prefix_lists) {
                    Verdict::pass(
                        key,
                        format!("task security groups {task_label} allow TCP 443 to 0.0.0.0/0 for {used_by}; the subnet {via}"),
                    )
                } else {
                    Verdict::fail(
                        key,
                        format!("task security groups {task_label} do not allow outbound TCP 443 to 0.0.0.0/0, but {used_by} are reached on public AWS addresses (the subnet {via})"),
                        format!(
                            "aws ec2 authorize-security-group-egress --group-id {} --ip-permissions 'IpProtocol=tcp,FromPort=443,ToPort=443,IpRanges=[{{CidrIp=0.0.0.0/0}}]', or create VPC endpoints for {used_by}",
                            task_sg_ids[0]
                        ),
                    )
                }
            }
        };
        verdicts.push(verdict);
    }
    Ok(verdicts)
}

fn acl_of<'a>(acls: &'a [NetworkAcl], subnet: &str) -> Option<&'a NetworkAcl> {
    acls.iter()
        .find(|a| a.subnet_ids.iter().any(|s| s == subnet))
        .or_else(|| acls.iter().find(|a| a.is_default))
}

enum Gap {
    Blocked(String),
    Partial(String),
}

fn describe_nacl(result: &NaclResult) -> String {
    match result {
        NaclResult::Allowed => "allowed".into(),
        NaclResult::Denied {
            rule: Some(n),
            partly_allowed_by,
            ..
        } if !partly_allowed_by.is_empty() => format!(
            "only partly allowed (rules {}), the rest is denied by rule {n}",
            join_numbers(partly_allowed_by)
        ),
        NaclResult::Denied { rule: Some(n), .. } => format!("denied by rule {n}"),
        NaclResult::Denied {
            rule: None,
            partly_allowed_by,
            ..
        } if partly_allowed_by.is_empty() => {
            "denied by the implicit * rule (no rule matches)".into()
        }
        NaclResult::Denied {
            rule: None,
            partly_allowed_by,
            ..
        } => format!(
            "only partly allowed (rules {}), the rest falls to the implicit * deny",
            join_numbers(partly_allowed_by)
        ),
        NaclResult::PartlyDenied { by } => format!("partly denied by rules {}", join_numbers(by)),
    }
}

fn join_numbers(n: &[i32]) -> String {
    n.iter()
        .map(|n| n.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Ephemeral ports a NAT gateway uses for its connections (VPC guide, NACL ephemeral ports).
const NAT_PORTS: (i32, i32) = (1024, 65535);

/// The ephemeral ports the task's OS picks (Linux 32768-60999, Windows 49152-65535).
fn task_ports(ctx: &Context) -> Result<(i32, i32), Problem> {
    Ok(if ctx.task_definition()?.is_windows() {
        (49152, 65535)
    } else {
        (32768, 60999)
    })
}

/// What a NACL result means for a flow. Toward AWS's public ranges, allows that cover only
/// part of the peer before a deny (the catch-all rule 32767 that every NACL ends with, or any
/// other) with every port of the flow may well cover the real endpoint addresses: that cannot be
/// verified, not a block. Ports partly allowed are a block.
fn gap(result: &NaclResult, public_only: bool, flow: String) -> Option<Gap> {
    let text = format!("{flow} is {}", describe_nacl(result));
    match result {
        NaclResult::Allowed => None,
        NaclResult::PartlyDenied { .. } => Some(Gap::Partial(text)),
        NaclResult::Denied {
            addresses_partly_allowed: true,
            ..
        } if public_only => Some(Gap::Partial(format!(
            "{text}; whether the allowed ranges hold AWS's public endpoints cannot be verified"
        ))),
        NaclResult::Denied { .. } => Some(Gap::Blocked(text)),
    }
}

/// HTTPS out (or in) and the return traffic on ephemeral ports the other way.
fn flow_gaps(
    acl: &NetworkAcl,
    outbound_443: bool,
    peer: Ipv4Net,
    public_only: bool,
    client_ports: (i32, i32),
    what: &str,
) -> Vec<Gap> {
    let mut gaps = Vec::new();
    let https = nacl_evaluate(
        &acl.entries,
        outbound_443,
        peer,
        (HTTPS, HTTPS),
        public_only,
    );
    let dir = if outbound_443 { "outbound" } else { "inbound" };
    let back = if outbound_443 { "inbound" } else { "outbound" };
    gaps.extend(gap(&https, public_only, format!("{dir} TCP 443 {what}")));
    let full = nacl_evaluate(
        &acl.entries,
        !outbound_443,
        peer,
        (1024, 65535),
        public_only,
    );
    if full != NaclResult::Allowed {
        // The replies go to the client's ephemeral ports: AWS recommends allowing
        // 1024-65535; the client's own range is what must be open.
        let (lo, hi) = client_ports;
        let client = nacl_evaluate(&acl.entries, !outbound_443, peer, client_ports, public_only);
        gaps.extend(gap(
            &client,
            public_only,
            format!("{back} return traffic {what} to ephemeral ports {lo}-{hi}"),
        ));
    }
    gaps
}

fn verdict_from_gaps(resource: String, gaps: Vec<Gap>, ok: String, fix: String) -> Verdict {
    let blocked: Vec<String> = gaps
        .iter()
        .filter_map(|g| match g {
            Gap::Blocked(t) => Some(t.clone()),
            _ => None,
        })
        .collect();
    let partial: Vec<String> = gaps
        .iter()
        .filter_map(|g| match g {
            Gap::Partial(t) => Some(t.clone()),
            _ => None,
        })
        .collect();
    if !blocked.is_empty() {
        let mut all = blocked;
        all.extend(partial);
        Verdict::fail(resource, all.join("; "), fix)
    } else if !partial.is_empty() {
        Verdict::warn(resource, partial.join("; "), fix)
    } else {
        Verdict::pass(resource, ok)
    }
}

fn network_acls(ctx: &Context) -> Outcome {
    let subnets = ctx.task_subnets()?;
    let acls = ctx.network()?.network_acls.get()?;
    let ports = task_ports(ctx)?;
    let mut verdicts = Vec::new();
    let mut endpoint_sides: BTreeMap<String, Verdict> = BTreeMap::new();
    for ts in &subnets {
        let Some(acl) = acl_of(acls, &ts.subnet.id) else {
            return Err(Problem::missing(
                format!("a network ACL for {}", ts.subnet.id),
                "the network ACLs of the VPC (every subnet has one)",
            ));
        };
        let resource = format!("{} ({})", ts.subnet.id, acl.id);
        let mut gaps = Vec::new();
        let mut reached = Vec::new();
        for (dest, services) in destinations(ctx, ts)? {
            let used_by = services.join(", ");
            match dest {
                Dest::Endpoint { endpoint, .. } => {
                    for cidr in subnet_cidrs(ctx, &endpoint.subnet_ids)? {
                        gaps.extend(flow_gaps(
                            acl,
                            true,
                            cidr,
                            false,
                            ports,
                            &format!("to {} at {cidr} ({used_by})", endpoint.id),
                        ));
                    }
                    for ep_subnet in &endpoint.subnet_ids {
                        let Some(ep_acl) = acl_of(acls, ep_subnet) else {
                            continue;
                        };
                        let key = format!("{ep_subnet} ({}, endpoint side)", ep_acl.id);
                        let ep_gaps = flow_gaps(
                            ep_acl,
                            false,
                            ts.subnet.cidr,
                            false,
                            ports,
                            &format!(
                                "from task subnet {} ({}) to {}",
                                ts.subnet.id, ts.subnet.cidr, endpoint.id
                            ),
                        );
                        let fix = format!("in {} add an inbound allow for TCP 443 from {} and an outbound allow for TCP 1024-65535 (at least the task's ephemeral ports) to {} with rule numbers lower than any deny (aws ec2 create-network-acl-entry --network-acl-id {} …)", ep_acl.id, ts.subnet.cidr, ts.subnet.cidr, ep_acl.id);
                        let v = verdict_from_gaps(
                            key.clone(),
                            ep_gaps,
                            format!(
                                "{} lets HTTPS from the task subnets in and the replies out",
                                ep_acl.id
                            ),
                            fix,
                        );
                        let worse = endpoint_sides
                            .get(&key)
                            .is_none_or(|old| v.status < old.status);
                        if worse {
                            endpoint_sides.insert(key, v);
                        }
                    }
                    reached.push(endpoint.id.clone());
                }
                Dest::S3Gateway { gateway } => {
                    gaps.extend(flow_gaps(
                        acl,
                        true,
                        "0.0.0.0/0".parse().expect("valid"),
                        true,
                        ports,
                        &format!("to S3 through {}", gateway.id),
                    ));
                    reached.push(gateway.id.clone());
                }
                Dest::Internet { nat_subnet, .. } => {
                    let anywhere: Ipv4Net = "0.0.0.0/0".parse().expect("valid");
                    gaps.extend(flow_gaps(
                        acl,
                        true,
                        anywhere,
                        true,
                        ports,
                        &format!("to public AWS endpoints ({used_by})"),
                    ));
                    if let Some(nat_acl) = nat_subnet.as_deref().and_then(|s| acl_of(acls, s)) {
                        let nat_subnet = nat_subnet.as_deref().unwrap_or_default();
                        let key = format!("{nat_subnet} ({}, NAT side)", nat_acl.id);
                        let mut nat_gaps = flow_gaps(
                            nat_acl,
                            false,
                            ts.subnet.cidr,
                            false,
                            ports,
                            &format!(
                                "from task subnet {} ({}) into the NAT gateway",
                                ts.subnet.id, ts.subnet.cidr
                            ),
                        );
                        nat_gaps.extend(flow_gaps(
                            nat_acl,
                            true,
                            anywhere,
                            true,
                            NAT_PORTS,
                            "from the NAT gateway to public AWS endpoints",
                        ));
                        let fix = format!("in {} allow inbound TCP 443 from {} and TCP 1024-65535 from 0.0.0.0/0, and outbound TCP 443 to 0.0.0.0/0 and TCP 1024-65535 to {}, numbered before any deny (aws ec2 create-network-acl-entry --network-acl-id {} …)", nat_acl.id, ts.subnet.cidr, ts.subnet.cidr, nat_acl.id);
                        let v = verdict_from_gaps(key.clone(), nat_gaps, format!("{} lets the task's HTTPS through the NAT gateway and the replies back", nat_acl.id), fix);
                        if endpoint_sides
                            .get(&key)
                            .is_none_or(|old| v.status < old.status)
                        {
                            endpoint_sides.insert(key, v);
                        }
                    }
                    reached.push("internet".into());
                }
            }
        }
        let fix = format!(
            "in {} allow outbound TCP 443 to the destinations above and inbound TCP 1024-65535 from them, numbered before any deny: aws ec2 create-network-acl-entry --network-acl-id {} --egress --rule-number 100 --protocol 6 --port-range From=443,To=443 --cidr-block 0.0.0.0/0 --rule-action allow; aws ec2 create-network-acl-entry --network-acl-id {} --ingress --rule-number 100 --protocol 6 --port-range From=1024,To=65535 --cidr-block 0.0.0.0/0 --rule-action allow",
            acl.id, acl.id, acl.id
        );
        if reached.is_empty() {
            verdicts.push(Verdict::skip(
                resource,
                "no reachable destination to evaluate (see the endpoint checks)",
            ));
        } else {
            verdicts.push(verdict_from_gaps(
                resource,
                gaps,
                format!(
                    "{} allows HTTPS out and the replies in for {}",
                    acl.id,
                    reached.join(", ")
                ),
                fix,
            ));
        }
    }
    verdicts.extend(endpoint_sides.into_values());
    Ok(verdicts)
}
