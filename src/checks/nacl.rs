//! network-acl: the network ACLs on the way from the task to each AWS service it uses, in
//! both directions (they are stateless), on the task, endpoint and NAT gateway subnets.

use std::collections::BTreeMap;

use ipnet::IpNet;

use super::context::Destination;
use super::netrules::{nacl_evaluate, NaclResult};
use super::{Check, Context, Explain, Outcome, Problem, Severity, Verdict};
use crate::facts::rules::acl_of;
use crate::snapshot::NetworkAcl;

pub static NETWORK_ACL: Check = Check {
    id: "network-acl",
    title: "Network ACLs allow HTTPS out and the return traffic in (stateless)",
    severity: Severity::Error,
    docs: "https://docs.aws.amazon.com/vpc/latest/userguide/vpc-network-acls.html",
    run: network_acls,
    explain: Explain {
        verifies: "That the network ACLs on the way allow HTTPS out and the replies back in, for the task subnets, the endpoint subnets and the NAT gateway's subnet.",
        why: "NACLs are stateless: an outbound 443 allow is useless without an inbound allow for the ephemeral ports the replies come back to.",
        decides: "Judges only traffic that crosses a subnet boundary (a NACL does not filter traffic inside its subnet): the task subnet out and the endpoint or NAT subnet in, and the replies. Evaluates entries in rule-number order, first match wins, no match means the implicit deny. Replies must reach the client's ephemeral ports: Linux tasks 32768-60999, Windows 49152-65535, a NAT gateway 1024-65535. Toward AWS's public ranges, allows that cover only part of the address space before a deny (rule 32767 or another) warn: whether they hold the endpoints cannot be verified.",
        fix: "Add allow entries numbered before any deny: outbound TCP 443 and inbound TCP 1024-65535 on the task subnets' NACL, and the mirror image on the endpoint and NAT subnets.",
    },
};

const HTTPS: i32 = 443;

pub(super) enum Gap {
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
pub(super) fn task_ports(ctx: &Context) -> Result<(i32, i32), Problem> {
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
    peer: IpNet,
    public_only: bool,
    client_ports: (i32, i32),
    what: &str,
) -> Vec<Gap> {
    port_flow_gaps(
        acl,
        HTTPS,
        outbound_443,
        peer,
        public_only,
        client_ports,
        what,
    )
}

/// TCP `port` out (or in) and the return traffic on ephemeral ports the other way.
pub(super) fn port_flow_gaps(
    acl: &NetworkAcl,
    port: i32,
    outbound: bool,
    peer: IpNet,
    public_only: bool,
    client_ports: (i32, i32),
    what: &str,
) -> Vec<Gap> {
    let mut gaps = Vec::new();
    let https = nacl_evaluate(&acl.entries, outbound, peer, (port, port), public_only);
    let dir = if outbound { "outbound" } else { "inbound" };
    let back = if outbound { "inbound" } else { "outbound" };
    gaps.extend(gap(&https, public_only, format!("{dir} TCP {port} {what}")));
    let full = nacl_evaluate(&acl.entries, !outbound, peer, (1024, 65535), public_only);
    if full != NaclResult::Allowed {
        // The replies go to the client's ephemeral ports: AWS recommends allowing
        // 1024-65535; the client's own range is what must be open.
        let (lo, hi) = client_ports;
        let client = nacl_evaluate(&acl.entries, !outbound, peer, client_ports, public_only);
        gaps.extend(gap(
            &client,
            public_only,
            format!("{back} return traffic {what} to ephemeral ports {lo}-{hi}"),
        ));
    }
    gaps
}

pub(super) fn verdict_from_gaps(
    resource: String,
    gaps: Vec<Gap>,
    ok: String,
    fix: String,
) -> Verdict {
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
    for ts in subnets {
        let Some(acl) = acl_of(acls, &ts.subnet.id) else {
            return Err(Problem::missing(
                format!("a network ACL for {}", ts.subnet.id),
                "the network ACLs of the VPC (every subnet has one)",
            ));
        };
        let resource = format!("{} ({})", ts.subnet.id, acl.id);
        let task_nets = ts.subnet.task_nets();
        let task_label = ts.subnet.task_nets_label();
        let public = ctx.public_peers(ts)?;
        // HTTPS from the task's addresses into another subnet's ACL, and the replies back.
        let from_task = |other: &NetworkAcl, to: &str| -> Vec<Gap> {
            task_nets
                .iter()
                .flat_map(|net| {
                    let what = format!("from task subnet {} ({net}) {to}", ts.subnet.id);
                    flow_gaps(other, false, *net, false, ports, &what)
                })
                .collect()
        };
        let mut gaps = Vec::new();
        let mut reached = Vec::new();
        for (dest, services) in ctx.destinations(ts)? {
            let used_by = services.join(", ");
            match dest {
                Destination::Endpoint { endpoint, .. } => {
                    // A NACL filters traffic into and out of a subnet, not inside it: only the
                    // endpoint's interfaces in other subnets are behind a boundary.
                    let other_subnets: Vec<String> = endpoint
                        .subnet_ids
                        .iter()
                        .filter(|s| **s != ts.subnet.id)
                        .cloned()
                        .collect();
                    for cidr in ctx.subnet_cidrs(&other_subnets)? {
                        gaps.extend(flow_gaps(
                            acl,
                            true,
                            cidr,
                            false,
                            ports,
                            &format!("to {} at {cidr} ({used_by})", endpoint.id),
                        ));
                    }
                    for ep_subnet in &other_subnets {
                        let Some(ep_acl) = acl_of(acls, ep_subnet) else {
                            continue;
                        };
                        let key = format!("{ep_subnet} ({}, endpoint side)", ep_acl.id);
                        let ep_gaps = from_task(ep_acl, &format!("to {}", endpoint.id));
                        let fix = format!("in {} add an inbound allow for TCP 443 from {task_label} and an outbound allow for TCP 1024-65535 (at least the task's ephemeral ports) to {task_label} with rule numbers lower than any deny (aws ec2 create-network-acl-entry --network-acl-id {} …)", ep_acl.id, ep_acl.id);
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
                Destination::S3Gateway { gateway } => {
                    for peer in &public {
                        gaps.extend(flow_gaps(
                            acl,
                            true,
                            *peer,
                            true,
                            ports,
                            &format!("to S3 through {}", gateway.id),
                        ));
                    }
                    reached.push(gateway.id.clone());
                }
                Destination::Internet { nat_subnet, .. } => {
                    let anywhere: IpNet = "0.0.0.0/0".parse().expect("valid");
                    for peer in &public {
                        gaps.extend(flow_gaps(
                            acl,
                            true,
                            *peer,
                            true,
                            ports,
                            &format!("to public AWS endpoints at {peer} ({used_by})"),
                        ));
                    }
                    if let Some(nat_acl) = nat_subnet.as_deref().and_then(|s| acl_of(acls, s)) {
                        let nat_subnet = nat_subnet.as_deref().unwrap_or_default();
                        let key = format!("{nat_subnet} ({}, NAT side)", nat_acl.id);
                        let mut nat_gaps = from_task(nat_acl, "into the NAT gateway");
                        nat_gaps.extend(flow_gaps(
                            nat_acl,
                            true,
                            anywhere,
                            true,
                            NAT_PORTS,
                            "from the NAT gateway to public AWS endpoints",
                        ));
                        let fix = format!("in {} allow inbound TCP 443 from {task_label} and TCP 1024-65535 from 0.0.0.0/0, and outbound TCP 443 to 0.0.0.0/0 and TCP 1024-65535 to {task_label}, numbered before any deny (aws ec2 create-network-acl-entry --network-acl-id {} …)", nat_acl.id, nat_acl.id);
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
