//! A picture of each task subnet's path, for the reports that people read: subnet → effective
//! route table → the way out → each endpoint or path the task's AWS services take → the
//! service, every link with the failing findings that break it. Subnets whose pictures are
//! the same share one.

use super::context::{Context, Destination, Egress, TaskSubnet};
use super::{Finding, Status};

/// One distinct path, and the task subnets that have it.
#[derive(Debug, Clone, PartialEq)]
pub struct PathPicture {
    /// The service the path belongs to (a pre-deploy check names its task definition).
    pub workload: String,
    pub subnets: Vec<String>,
    pub nodes: Vec<Node>,
    pub links: Vec<Link>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub id: String,
    /// Lines of the node's text.
    pub lines: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    pub from: String,
    pub to: String,
    /// What travels over the link (AWS services), if it is worth saying.
    pub label: String,
    /// The ids of the checks whose failing findings break this link.
    pub failing: Vec<&'static str>,
}

const SUBNET: &str = "subnet";
const ROUTE_TABLE: &str = "routes";
const OUT: &str = "out";
const WORKLOAD: &str = "workload";

/// The pictures of one service's task subnets, from its context and its findings. None when
/// the path cannot be worked out (that is a finding of its own).
pub fn pictures(ctx: &Context, findings: &[Finding]) -> Vec<PathPicture> {
    let Ok(subnets) = ctx.task_subnets() else {
        return vec![];
    };
    let mut pictures: Vec<PathPicture> = Vec::new();
    for ts in subnets {
        let Some(picture) = picture(ctx, ts, findings) else {
            continue;
        };
        match pictures.iter_mut().find(|p| same_path(p, &picture)) {
            Some(shared) => shared.subnets.push(ts.subnet.id.clone()),
            None => pictures.push(picture),
        }
    }
    for p in &mut pictures {
        p.nodes[0].lines = p.subnets.clone();
    }
    pictures
}

/// Two subnets share a picture when everything but the subnet node is the same.
fn same_path(a: &PathPicture, b: &PathPicture) -> bool {
    a.workload == b.workload && a.links == b.links && a.nodes[1..] == b.nodes[1..]
}

/// The failing findings about `target`, seen from `subnet`: named as the resource, or named
/// in the message of a finding about the subnet (a NACL, a gateway on the wrong table).
fn failing(findings: &[Finding], subnet: &str, target: &str, checks: &[&str]) -> Vec<&'static str> {
    let mut ids: Vec<&'static str> = findings
        .iter()
        .filter(|f| f.status == Status::Fail)
        .filter(|f| checks.is_empty() || checks.contains(&f.check))
        .filter(|f| {
            mentions(&f.resource, target)
                || (mentions(&f.resource, subnet) && mentions(&f.message, target))
        })
        .map(|f| f.check)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Does `text` name `id` as a whole word (subnet-1 is not in subnet-10, nor
/// com.amazonaws.R.ecr in com.amazonaws.R.ecr.dkr)?
fn mentions(text: &str, id: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '-';
    text.match_indices(id).any(|(at, _)| {
        let before = text[..at].chars().next_back().is_none_or(|c| !word(c));
        let mut rest = text[at + id.len()..].chars();
        let after = match rest.next() {
            None => true,
            Some('.') => rest.next().is_none_or(|c| !word(c)),
            Some(c) => !word(c),
        };
        before && after
    })
}

/// The way out of a subnet, as nodes after the route table (NAT gateway, then its internet
/// gateway), and the node the internet-bound services leave from.
fn way_out(egress: &Egress) -> Vec<Node> {
    let node = |id: &str, lines: Vec<String>| Node {
        id: id.to_string(),
        lines,
    };
    match egress {
        Egress::Nat { nat, igw } => vec![
            node(OUT, vec![nat.clone(), "NAT gateway".into()]),
            node("igw", vec![igw.clone(), "internet gateway".into()]),
        ],
        Egress::Nat64 { nat, igw } => vec![
            node(OUT, vec![nat.clone(), "NAT gateway (NAT64)".into()]),
            node("igw", vec![igw.clone(), "internet gateway".into()]),
        ],
        Egress::Igw { igw } => vec![node(
            OUT,
            vec![igw.clone(), "internet gateway, public IP".into()],
        )],
        Egress::IgwWithoutPublicIp { igw } => vec![node(
            OUT,
            vec![igw.clone(), "internet gateway, no public IP".into()],
        )],
        Egress::Blocked { igw, .. } => vec![node(
            OUT,
            vec![igw.clone(), "blocked by VPC Block Public Access".into()],
        )],
        Egress::Unverifiable { target } => {
            vec![node(OUT, vec![target.clone(), "not followed".into()])]
        }
        Egress::Broken { target, .. } => {
            vec![node(OUT, vec![target.clone(), "leads nowhere".into()])]
        }
        Egress::Isolated => vec![node(OUT, vec!["no route out".into()])],
        Egress::Ipv6Only { leaves, .. } => vec![node(
            OUT,
            vec![match leaves {
                true => "IPv6 only, out over IPv6".into(),
                false => "IPv6 only, no route out".into(),
            }],
        )],
    }
}

fn picture(ctx: &Context, ts: &TaskSubnet, findings: &[Finding]) -> Option<PathPicture> {
    let egress = ctx.egress_of(ts).ok()?;
    let destinations = ctx.destinations(ts).ok()?;
    let uses = ctx.uses().ok()?;
    let subnet = ts.subnet.id.as_str();
    let table = ts.route_table.id.as_str();
    let mut nodes = vec![
        Node {
            id: SUBNET.into(),
            lines: vec![subnet.to_string()],
        },
        Node {
            id: ROUTE_TABLE.into(),
            lines: vec![
                table.to_string(),
                match ts.via_main {
                    true => "main route table".into(),
                    false => "route table".into(),
                },
            ],
        },
    ];
    let mut links = vec![Link {
        from: SUBNET.into(),
        to: ROUTE_TABLE.into(),
        label: String::new(),
        failing: failing(findings, subnet, subnet, &["route-table"]),
    }];
    let out = way_out(egress);
    links.push(Link {
        from: ROUTE_TABLE.into(),
        to: OUT.into(),
        label: String::new(),
        failing: failing(findings, subnet, subnet, &["egress-path"]),
    });
    if out.len() > 1 {
        links.push(Link {
            from: OUT.into(),
            to: out[1].id.clone(),
            label: String::new(),
            failing: vec![],
        });
    }
    let exit = out.last().map(|n| n.id.clone()).unwrap_or_default();
    nodes.extend(out);
    let mut reached: Vec<String> = Vec::new();
    for (index, (destination, services)) in destinations.iter().enumerate() {
        reached.extend(services.iter().cloned());
        let label = services.join(", ");
        let (from, node) = match destination {
            Destination::Endpoint { endpoint, .. } => (
                SUBNET,
                Some(Node {
                    id: format!("e{index}"),
                    lines: vec![endpoint.id.clone(), "interface endpoint".into()],
                }),
            ),
            Destination::S3Gateway { gateway } => (
                ROUTE_TABLE,
                Some(Node {
                    id: format!("e{index}"),
                    lines: vec![gateway.id.clone(), "S3 gateway endpoint".into()],
                }),
            ),
            Destination::Internet { .. } => (exit.as_str(), None),
        };
        match node {
            Some(node) => {
                let id = match destination {
                    Destination::Endpoint { endpoint, .. } => endpoint.id.as_str(),
                    Destination::S3Gateway { gateway } => gateway.id.as_str(),
                    Destination::Internet { .. } => unreachable!("no node for the internet"),
                };
                links.push(Link {
                    from: from.into(),
                    to: node.id.clone(),
                    label: String::new(),
                    failing: failing(findings, subnet, id, &[]),
                });
                links.push(Link {
                    from: node.id.clone(),
                    to: WORKLOAD.into(),
                    label,
                    failing: vec![],
                });
                nodes.push(node);
            }
            None => {
                let mut checks = failing(findings, subnet, "internet", &[]);
                for service in services {
                    checks.extend(failing(findings, subnet, &ctx.service_name(service), &[]));
                }
                checks.sort_unstable();
                checks.dedup();
                links.push(Link {
                    from: from.into(),
                    to: WORKLOAD.into(),
                    label,
                    failing: checks,
                });
            }
        }
    }
    let needs_ecr_api = ctx.needs_ecr_api().ok()?;
    // What the task needs, as drawn, and how findings name it: the service's endpoint name,
    // or "SERVICE in REGION" for another Region's.
    let mut needed: Vec<(String, String)> = uses
        .interface_services(needs_ecr_api)
        .into_iter()
        .map(|s| (s.clone(), ctx.service_name(&s)))
        .collect();
    needed.extend(
        uses.remote_interface_services(needs_ecr_api)
            .into_iter()
            .map(|(s, region)| (format!("{s} ({region})"), format!("{s} in {region}"))),
    );
    if uses.uses_s3() {
        needed.push(("s3".into(), ctx.service_name("s3")));
    }
    for (index, (short, named)) in needed.iter().enumerate() {
        if reached.contains(short) {
            continue;
        }
        let id = format!("m{index}");
        nodes.push(Node {
            id: id.clone(),
            lines: vec![short.clone(), "not reached".into()],
        });
        let mut checks = failing(findings, subnet, named, &[]);
        checks.extend(
            findings
                .iter()
                .filter(|f| f.status == Status::Fail && mentions(&f.message, named))
                .map(|f| f.check),
        );
        if short == "s3" {
            checks.extend(failing(findings, subnet, subnet, &["s3-gateway-route"]));
        }
        checks.sort_unstable();
        checks.dedup();
        links.push(Link {
            from: exit.clone(),
            to: id,
            label: String::new(),
            failing: checks,
        });
    }
    let workload = ctx.scope();
    nodes.push(Node {
        id: WORKLOAD.into(),
        lines: vec![workload.clone()],
    });
    Some(PathPicture {
        workload,
        subnets: vec![subnet.to_string()],
        nodes,
        links,
    })
}

#[cfg(test)]
mod tests {
    use super::mentions;

    #[test]
    fn an_id_is_found_only_as_a_whole_word() {
        assert!(mentions("subnet-1 (rtb-0a)", "subnet-1"));
        assert!(mentions("acl allows vpce-0a, vpce-0b", "vpce-0b"));
        assert!(!mentions("subnet-10 (rtb-0a)", "subnet-1"));
        assert!(!mentions("xsubnet-1", "subnet-1"));
        assert!(mentions("no route to vpce-0a.", "vpce-0a"));
        assert!(!mentions(
            "vpc-0 (com.amazonaws.r.ecr.dkr)",
            "com.amazonaws.r.ecr"
        ));
    }
}
