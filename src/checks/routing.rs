//! route-table and egress-path: which route table each task subnet really uses, and whether
//! its traffic can leave the VPC.

use super::context::{Egress, Egress6, Ipv6Paths, TaskSubnet};
use super::Problem;
use super::{Check, Context, Explain, Outcome, Severity, Verdict};

pub static ROUTE_TABLE: Check = Check {
    id: "route-table",
    title: "Each task subnet's effective route table",
    severity: Severity::Error,
    docs: "https://docs.aws.amazon.com/vpc/latest/userguide/VPC_Route_Tables.html",
    run: route_table,
    explain: Explain {
        verifies: "Which route table each task subnet really uses.",
        why: "A subnet without an explicit association uses the VPC's main route table; people often edit a different table than the one their subnets use, and the S3 gateway or NAT route then never applies.",
        decides: "Finds the table explicitly associated with each task subnet, else the main table, and lists its routes.",
        fix: "Associate the subnet with the intended table (aws ec2 associate-route-table) or put the routes on the table it uses.",
    },
};

pub static EGRESS_PATH: Check = Check {
    id: "egress-path",
    title: "Path out of the VPC (NAT gateway / internet gateway) per task subnet",
    severity: Severity::Error,
    docs:
        "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-task-networking.html",
    run: egress_path,
    explain: Explain {
        verifies: "Whether each task subnet has a path out of the VPC: a NAT gateway, or an internet gateway with a public IP on the task.",
        why: "Without a path out, every AWS service the task touches needs a VPC endpoint, and images from public registries cannot be pulled at all. Broken paths (blackholes, NAT gateways that are not available, NAT subnets without an internet gateway route, an IGW route with assignPublicIp DISABLED, a NAT gateway behind VPC Block Public Access) look fine in the console.",
        decides: "Resolves the effective route table for public addresses by longest prefix match (prefix-list routes count with their entries; where routes disagree the worst wins), and the NAT gateway's subnet's table the same way: NAT gateway available, public, in a subnet whose own default route is an attached IGW; or IGW plus a public IP. VPC Block Public Access (ec2:DescribeVpcBlockPublicAccessOptions and Exclusions): block-bidirectional blocks both paths unless the NAT gateway's subnet (or the task subnet, for a public IP) or its VPC has an allow-egress or allow-bidirectional exclusion in effect; block-ingress leaves the NAT path open and blocks a public IP's path unless allow-bidirectional excludes it; a mode or exclusion still changing warns. A transit gateway, peering, firewall or appliance cannot be verified: warn. No default route: pass when endpoints can serve everything, fail when something needs the internet (public images, resources in other regions). An IPv6-only subnet (Ipv6Native) is judged on its IPv6 routes: ::/0 (longest prefix match over the global unicast space) to an egress-only internet gateway (Block Public Access treats it as it treats a NAT gateway) or an attached internet gateway, which ECR's dual-stack image URI needs (PrivateLink does not serve it); and NAT64 (64:ff9b::/96 to a public NAT gateway, with DNS64 on the subnet) for AWS's IPv4-only endpoints. Without NAT64, what the task reaches by IPv4-only names needs IPv6-capable endpoints; whether other destinations answer over IPv6 is not modelled: warn.",
        fix: "Route 0.0.0.0/0 to an available public NAT gateway, enable assignPublicIp for public subnets, or create the VPC endpoints the other checks list.",
    },
};

fn label(ts: &TaskSubnet) -> String {
    format!("{} ({})", ts.subnet.id, ts.route_table.id)
}

fn route_table(ctx: &Context) -> Outcome {
    let subnets = ctx.task_subnets()?;
    Ok(subnets
        .iter()
        .map(|ts| {
            let how = if ts.via_main {
                format!(
                    "has no explicit association and uses the VPC's main route table {}",
                    ts.route_table.id
                )
            } else {
                format!("is explicitly associated with {}", ts.route_table.id)
            };
            let routes = ts
                .route_table
                .routes
                .iter()
                .map(|r| {
                    let dest = r
                        .destination_cidr
                        .map(|c| c.to_string())
                        .or_else(|| r.destination_ipv6_cidr.map(|c| c.to_string()))
                        .or_else(|| r.destination_prefix_list_id.clone())
                        .unwrap_or_default();
                    format!("{dest} → {}", r.target)
                })
                .collect::<Vec<_>>()
                .join(", ");
            Verdict::pass(
                label(ts),
                format!("{} {how}; routes: {routes}", ts.subnet.id),
            )
        })
        .collect())
}

/// Would the task still reach everything it needs through endpoints alone (with
/// `dual_stack_served`: everything but ECR's dual-stack pulls, which an IPv6 path serves)?
fn endpoints_cover(
    ctx: &Context,
    ts: &TaskSubnet,
    dual_stack_served: bool,
) -> Result<bool, Problem> {
    let uses = ctx.uses()?;
    let internet_only = match dual_stack_served {
        true => uses.internet_only_but_dual_stack(),
        false => uses.internet_only(),
    };
    if !internet_only.is_empty() {
        return Ok(false);
    }
    for service in ctx.interface_services()? {
        if ctx.endpoint_in_path(&service)?.is_none() {
            return Ok(false);
        }
    }
    if uses.uses_s3() && ctx.s3_gateway_for(ts)?.is_none() {
        return Ok(false);
    }
    Ok(true)
}

fn egress_path(ctx: &Context) -> Outcome {
    let subnets = ctx.task_subnets()?;
    let internet_only = ctx.uses()?.internet_only();
    let mut verdicts = Vec::new();
    for ts in subnets {
        if let Some(v6) = ctx.ipv6_of(ts)? {
            verdicts.push(ipv6_only(ctx, ts, v6)?);
            continue;
        }
        let egress = ctx.egress_of(ts)?;
        let resource = label(ts);
        let summary = format!("{} {}", ts.subnet.id, egress.describe());
        let verdict = match &egress {
            Egress::Nat { .. } | Egress::Igw { .. } | Egress::Nat64 { .. } => Verdict::pass(
                resource,
                format!("{summary}: AWS services are reachable without endpoints"),
            ),
            Egress::Isolated if !internet_only.is_empty() => Verdict::fail(
                resource,
                format!(
                    "{summary}, but VPC endpoints cannot serve {}",
                    internet_only.join("; ")
                ),
                format!(
                    "route 0.0.0.0/0 in {} to a NAT gateway (aws ec2 create-route --route-table-id {} --destination-cidr-block 0.0.0.0/0 --nat-gateway-id nat-…), or move those images into this region's ECR (a pull-through cache rule, see public-image) and those resources into {}",
                    ts.route_table.id, ts.route_table.id, ctx.region()
                ),
            ),
            Egress::Isolated => Verdict::pass(
                resource,
                format!("{summary}: every AWS service the task uses needs a VPC endpoint (checked below)"),
            ),
            Egress::Unverifiable { target } => Verdict::warn(
                resource,
                format!("{summary}: whether it reaches the internet depends on what is behind {target}"),
                format!("confirm {target} forwards to a NAT or internet gateway, or create the VPC endpoints the checks below list so the task does not depend on it"),
            ),
            Egress::Ipv6Only { .. } => Verdict::warn(
                resource,
                format!("{summary}: AWS's IPv4-only endpoints are not reachable this way"),
                "route 64:ff9b::/96 to a NAT gateway and enable DNS64 on the subnet, or create IPv6-capable VPC endpoints",
            ),
            Egress::IgwWithoutPublicIp { igw } => {
                let fix = format!(
                    "either set assignPublicIp ENABLED in the service's awsvpcConfiguration (aws ecs update-service … --network-configuration 'awsvpcConfiguration={{subnets=[…],securityGroups=[…],assignPublicIp=ENABLED}}'), or route 0.0.0.0/0 in {} to a NAT gateway instead of {igw}, or rely on VPC endpoints",
                    ts.route_table.id
                );
                if endpoints_cover(ctx, ts, false)? {
                    Verdict::warn(resource, format!("{summary}; the VPC endpoints cover what the task needs, but nothing else on the internet is reachable"), fix)
                } else {
                    Verdict::fail(resource, format!("{summary}, and the VPC endpoints do not cover everything the task needs"), fix)
                }
            }
            Egress::Blocked {
                subnet, exclusion, ..
            } => {
                let fix = format!(
                    "exclude {subnet} from VPC Block Public Access (aws ec2 create-vpc-block-public-access-exclusion --subnet-id {subnet} --internet-gateway-exclusion-mode {exclusion}){}, or rely on VPC endpoints",
                    if *exclusion == "allow-bidirectional" { ", or route 0.0.0.0/0 through a NAT gateway (block-ingress lets NAT gateways' connections out)" } else { "" }
                );
                if endpoints_cover(ctx, ts, false)? {
                    Verdict::warn(resource, format!("{summary}; the VPC endpoints cover what the task needs"), fix)
                } else {
                    Verdict::fail(resource, format!("{summary}, and the VPC endpoints do not cover everything the task needs"), fix)
                }
            }
            Egress::Broken { target, culprit, .. } => {
                let fix = match culprit {
                    Some(c) => format!(
                        "the route {} → {} in {} takes public traffic away from the path out: repair its target or remove it ({})",
                        c.destination, c.target, c.route_table, c.delete_command()
                    ),
                    None => format!(
                        "point 0.0.0.0/0 in {} at an available public NAT gateway whose subnet routes to an attached internet gateway (aws ec2 replace-route --route-table-id {} --destination-cidr-block 0.0.0.0/0 --nat-gateway-id nat-…), replacing {target}",
                        ts.route_table.id, ts.route_table.id
                    ),
                };
                if endpoints_cover(ctx, ts, false)? {
                    Verdict::warn(resource, format!("{summary}; the VPC endpoints cover what the task needs"), fix)
                } else {
                    Verdict::fail(resource, format!("{summary}, and the VPC endpoints do not cover everything the task needs"), fix)
                }
            }
        };
        verdicts.push(verdict);
    }
    Ok(verdicts)
}

/// An IPv6-only subnet (ECS guide, fargate-task-networking.html, "Using a VPC in IPv6-only
/// mode"): ECR's dual-stack URI needs an IPv6 path out, since "Amazon ECR does not support AWS
/// PrivateLink traffic over dual-stack endpoints" (ecr-requests.html); IPv4-only endpoints need
/// DNS64 and NAT64. What answers over IPv6 beyond ECR is not modelled: a warning, never a pass.
fn ipv6_only(ctx: &Context, ts: &TaskSubnet, v6: &Ipv6Paths) -> Result<Verdict, Problem> {
    let resource = label(ts);
    let uses = ctx.uses()?;
    let dual_stack = uses.dual_stack_pulls();
    let others = uses.internet_only_but_dual_stack();
    let nat64 = matches!(ctx.egress_of(ts)?, Egress::Nat64 { .. });
    let summary = format!("{} (IPv6-only) {}", ts.subnet.id, v6.describe());
    let table = &ts.route_table.id;
    let eigw_fix = match &v6.direct {
        Egress6::Blocked {
            subnet, exclusion, ..
        } => format!("exclude {subnet} from VPC Block Public Access (aws ec2 create-vpc-block-public-access-exclusion --subnet-id {subnet} --internet-gateway-exclusion-mode {exclusion})"),
        _ => format!("route ::/0 in {table} to an egress-only internet gateway (aws ec2 create-egress-only-internet-gateway --vpc-id {vpc}; aws ec2 create-route --route-table-id {table} --destination-ipv6-cidr-block ::/0 --egress-only-internet-gateway-id eigw-…)", vpc = ctx.vpc_id()?),
    };
    let nat64_fix = match (&v6.nat64, v6.dns64) {
        (Some(Egress::Nat { .. }), false) => format!(
            "enable DNS64 on the subnet (aws ec2 modify-subnet-attribute --subnet-id {} --enable-dns64)",
            ts.subnet.id
        ),
        _ => format!(
            "route 64:ff9b::/96 in {table} to a public NAT gateway (aws ec2 create-route --route-table-id {table} --destination-ipv6-cidr-block 64:ff9b::/96 --nat-gateway-id nat-…) and enable DNS64 on the subnet (aws ec2 modify-subnet-attribute --subnet-id {} --enable-dns64)",
            ts.subnet.id
        ),
    };
    if !dual_stack.is_empty() && !v6.direct.has_path() {
        let message = format!(
            "{summary}, but {} need an IPv6 path out",
            dual_stack.join(", ")
        );
        return Ok(match v6.direct {
            Egress6::Unverifiable { .. } => Verdict::warn(resource, message, eigw_fix),
            _ => Verdict::fail(resource, message, eigw_fix),
        });
    }
    if nat64 {
        return Ok(Verdict::pass(
            resource,
            format!("{summary}: IPv4-only AWS endpoints are reachable through NAT64"),
        ));
    }
    if !others.is_empty() {
        let message = format!(
            "{summary}; {} need a path out, and whether they answer over IPv6 is not modelled (IPv4-only ones need NAT64)",
            others.join("; ")
        );
        return Ok(match v6.direct.has_path() {
            true => Verdict::warn(resource, message, nat64_fix),
            false => Verdict::fail(resource, message, nat64_fix),
        });
    }
    if endpoints_cover(ctx, ts, true)? {
        return Ok(Verdict::pass(
            resource,
            format!("{summary}: the VPC endpoints that answer over IPv6 serve every AWS service the task uses besides ECR's dual-stack pull"),
        ));
    }
    let message = format!("{summary}: AWS services the task reaches by their IPv4-only names have neither NAT64 nor an IPv6-capable VPC endpoint (the endpoint checks below name them)");
    let fix = format!("{nat64_fix}, or create those endpoints with --ip-address-type dualstack --dns-options DnsRecordIpType=dualstack");
    Ok(match v6.direct.has_path() {
        true => Verdict::warn(resource, message, fix),
        false => Verdict::fail(resource, message, fix),
    })
}
