//! endpoint-security-groups: the security group rules on the way from the task to each AWS
//! service it uses, whichever way that service is reached (interface endpoint, S3 gateway,
//! NAT / internet gateway).

use std::collections::BTreeMap;

use ipnet::IpNet;

use super::context::Destination;
use super::netrules::{sg_allows_groups, sg_allows_prefix_list, sg_allows_public, sg_uncovered};
use super::{Check, Context, Explain, Outcome, Problem, Severity, Verdict};
use crate::facts::rules::Direction;

pub static ENDPOINT_SECURITY_GROUPS: Check = Check {
    id: "endpoint-security-groups",
    title: "Security groups allow HTTPS from the task to each endpoint, S3 and the internet path",
    severity: Severity::Error,
    docs: "https://docs.aws.amazon.com/vpc/latest/privatelink/create-interface-endpoint.html",
    run: security_groups,
    explain: Explain {
        verifies: "That HTTPS can flow from the task to each AWS destination it uses: task SG egress and endpoint SG ingress on 443, egress to the S3 prefix list, or to 0.0.0.0/0 when the path is the internet (from IPv6-only subnets: IPv6 rules, to the global unicast space 2000::/3 its IPv6 path reaches and to NAT64's 64:ff9b::/96).",
        why: "Security groups that allow only the application's own ports are the most common reason a correct endpoint setup still times out.",
        decides: "Works out each service's destination per subnet (the interface endpoint whose private DNS owns the name, S3 gateway, or the internet through the path out), then evaluates the rules: SG references, CIDRs covering the endpoint or task subnets together, prefix lists (customer lists expanded), protocol -1; the internet needs the whole public address space.",
        fix: "Allow TCP 443 from the task SG to the endpoint SG (or the endpoint subnets), 443 to the S3 prefix list, and 443 into the endpoint SG from the task SG.",
    },
};

const HTTPS: i32 = 443;

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
    let task_egress = ctx.rules_of(
        task_sg_ids,
        "a security group of the task",
        Direction::Egress,
    )?;
    let task_label = task_sg_ids.join(", ");
    let prefix_lists = ctx.network()?.prefix_lists.get()?;
    let task_cidrs: Vec<IpNet> = subnets
        .iter()
        .flat_map(|ts| ts.subnet.task_nets())
        .collect();
    // From IPv6-only subnets the task's public traffic is IPv6 (and NAT64's 64:ff9b::/96).
    let mut public_v6: Vec<IpNet> = Vec::new();
    for ts in subnets.iter().filter(|ts| ts.subnet.ipv6_native) {
        for peer in ctx.public_peers(ts)? {
            if !public_v6.contains(&peer) {
                public_v6.push(peer);
            }
        }
    }
    let needs_v4 = subnets.iter().any(|ts| !ts.subnet.ipv6_native);
    let public_allowed = |rules: &[crate::snapshot::SgRule]| {
        (!needs_v4 || sg_allows_public(rules, HTTPS, prefix_lists))
            && sg_uncovered(rules, HTTPS, &public_v6, prefix_lists).is_empty()
    };
    let public_label = needs_v4
        .then(|| "0.0.0.0/0".to_string())
        .into_iter()
        .chain(public_v6.iter().map(|n| n.to_string()))
        .collect::<Vec<_>>()
        .join(" and ");
    let public_ranges = match (needs_v4, public_v6.is_empty()) {
        (true, true) => "IpRanges=[{CidrIp=0.0.0.0/0}]",
        (false, _) => "Ipv6Ranges=[{CidrIpv6=::/0}]",
        (true, false) => "IpRanges=[{CidrIp=0.0.0.0/0}],Ipv6Ranges=[{CidrIpv6=::/0}]",
    };

    let mut all: BTreeMap<String, (Destination, Vec<String>)> = BTreeMap::new();
    for ts in subnets {
        for (dest, services) in ctx.destinations(ts)? {
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
            Destination::Endpoint { endpoint, .. } => {
                let endpoint_cidrs = ctx.subnet_cidrs(&endpoint.subnet_ids)?;
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
                let ingress = ctx.rules_of(
                    &endpoint.security_group_ids,
                    &format!("a security group of {}", endpoint.id),
                    Direction::Ingress,
                )?;
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
            Destination::S3Gateway { gateway } => {
                let pl = s3_prefix_list(ctx)?;
                let allowed = pl
                    .as_deref()
                    .is_some_and(|pl| sg_allows_prefix_list(&task_egress, HTTPS, pl))
                    || public_allowed(&task_egress);
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
                        format!("task security groups {task_label} do not allow outbound TCP 443 to S3 ({pl_label} or {public_label}): layer downloads through {} are blocked", gateway.id),
                        format!(
                            "aws ec2 authorize-security-group-egress --group-id {} --ip-permissions 'IpProtocol=tcp,FromPort=443,ToPort=443,PrefixListIds=[{{PrefixListId={}}}]'",
                            task_sg_ids[0],
                            pl.as_deref().unwrap_or("pl-…")
                        ),
                    )
                }
            }
            Destination::Internet { via, .. } => {
                let key = format!("{task_label} → internet");
                if public_allowed(&task_egress) {
                    Verdict::pass(
                        key,
                        format!("task security groups {task_label} allow TCP 443 to {public_label} for {used_by}; the subnet {via}"),
                    )
                } else {
                    Verdict::fail(
                        key,
                        format!("task security groups {task_label} do not allow outbound TCP 443 to {public_label}, but {used_by} are reached on public AWS addresses (the subnet {via})"),
                        format!(
                            "aws ec2 authorize-security-group-egress --group-id {} --ip-permissions 'IpProtocol=tcp,FromPort=443,ToPort=443,{public_ranges}', or create VPC endpoints for {used_by}",
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
