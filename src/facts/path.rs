//! Where a route table sends traffic for AWS's public endpoints. Route resolution follows the
//! VPC guide's route priority: the most specific route wins (longest prefix match), prefix-list
//! destinations count with their entries, and every hop (the task subnet's table, then the NAT
//! gateway's subnet's table) is resolved the same way.

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use super::addr::{covers_public, global_unicast, nat64_prefix, private_range, uncovered};
use crate::snapshot::{
    AttachmentState, BlockPublicAccess, BpaExclusion, Connectivity, GatherError, NatState, Network,
    Route, RouteTable, Subnet,
};

/// How a subnet's traffic to public addresses leaves the VPC.
#[derive(Debug, Clone, PartialEq)]
pub enum Egress {
    /// Through an available public NAT gateway whose own subnet routes to an attached IGW.
    Nat { nat: String, igw: String },
    /// Straight to an attached internet gateway, with a public IP on the task.
    Igw { igw: String },
    /// Routed to an IGW, but the task gets no public IP: nothing leaves.
    IgwWithoutPublicIp { igw: String },
    /// Routed to an internet gateway that VPC Block Public Access closes to this traffic.
    Blocked {
        igw: String,
        /// The Region's mode and what is not excluded.
        why: String,
        /// The subnet whose exclusion would open the path.
        subnet: String,
        /// The exclusion mode that would open it.
        exclusion: &'static str,
    },
    /// Routed somewhere we cannot follow (transit gateway, peering, firewall, appliance).
    Unverifiable { target: String },
    /// A route that leads nowhere (blackhole, NAT not available, NAT without IGW).
    Broken {
        target: String,
        why: String,
        /// The more specific route to repair, when that is what breaks the path.
        culprit: Option<Culprit>,
    },
    /// No route covers the public address space.
    Isolated,
    /// An IPv6-only subnet: IPv4-only destinations through NAT64 (`64:ff9b::/96` to a public
    /// NAT gateway, with DNS64 on the subnet).
    Nat64 { nat: String, igw: String },
    /// An IPv6-only subnet without NAT64: AWS's IPv4 endpoints are not reachable; what its
    /// IPv6 path reaches is said in `summary`.
    Ipv6Only {
        summary: String,
        /// Whether IPv6 traffic leaves the VPC (then the services may be reached over IPv6).
        leaves: bool,
    },
}

impl Egress {
    pub fn has_path(&self) -> bool {
        matches!(
            self,
            Egress::Nat { .. } | Egress::Igw { .. } | Egress::Nat64 { .. }
        )
    }

    /// A path out whose reach this tool cannot verify.
    pub fn unverified(&self) -> bool {
        matches!(
            self,
            Egress::Unverifiable { .. } | Egress::Ipv6Only { leaves: true, .. }
        )
    }

    pub fn describe(&self) -> String {
        match self {
            Egress::Nat { nat, igw } => format!("reaches the internet via {nat} (to {igw})"),
            Egress::Igw { igw } => format!("reaches the internet via {igw} with a public IP"),
            Egress::IgwWithoutPublicIp { igw } => format!(
                "routes 0.0.0.0/0 to {igw} but the task gets no public IP (assignPublicIp DISABLED)"
            ),
            Egress::Unverifiable { target } => {
                format!("sends 0.0.0.0/0 to {target}, which this tool cannot follow")
            }
            Egress::Broken { target, why, .. } => format!("sends 0.0.0.0/0 to {target}, but {why}"),
            Egress::Blocked { igw, why, .. } => {
                format!("leaves through {igw}, but VPC Block Public Access blocks it: {why}")
            }
            Egress::Isolated => "has no route to the internet".to_string(),
            Egress::Nat64 { nat, igw } => format!(
                "reaches IPv4 destinations through NAT64 on {nat} (to {igw}), with DNS64 on"
            ),
            Egress::Ipv6Only { summary, .. } => summary.clone(),
        }
    }

    /// Which outcome decides when routes of one table disagree: the worst.
    fn badness(&self) -> u8 {
        match self {
            Egress::Nat { .. } | Egress::Igw { .. } | Egress::Nat64 { .. } => 0,
            Egress::Isolated => 1,
            Egress::Unverifiable { .. } | Egress::Ipv6Only { .. } => 2,
            Egress::IgwWithoutPublicIp { .. } => 3,
            Egress::Broken { .. } | Egress::Blocked { .. } => 4,
        }
    }
}

/// A route that takes public traffic away from the path out.
#[derive(Debug, Clone, PartialEq)]
pub struct Culprit {
    pub route_table: String,
    /// A CIDR, or a prefix list id.
    pub destination: String,
    pub target: String,
}

impl Culprit {
    /// The AWS CLI command that removes the route.
    pub fn delete_command(&self) -> String {
        let kind = if self.destination.starts_with("pl-") {
            "destination-prefix-list-id"
        } else {
            "destination-cidr-block"
        };
        format!(
            "aws ec2 delete-route --route-table-id {} --{kind} {}",
            self.route_table, self.destination
        )
    }
}

/// A route that decides traffic to some public addresses.
struct PublicRoute<'a> {
    route: &'a Route,
    /// Its public destinations; `None` for a prefix list whose entries are unknown.
    destinations: Option<Vec<Ipv4Net>>,
    /// The destination as the route table shows it.
    label: String,
    specificity: u8,
}

/// Routes that carry traffic to public addresses, least specific first. The local route and
/// gateway endpoint routes (a prefix list to a `vpce-`: S3 or DynamoDB only) are left out.
fn public_routes<'a>(
    net: &Network,
    table: &'a RouteTable,
) -> Result<Vec<PublicRoute<'a>>, GatherError> {
    let mut routes = Vec::new();
    for route in &table.routes {
        if route.target == "local" {
            continue;
        }
        if let Some(cidr) = route.destination_cidr {
            if !private_range(&cidr) {
                routes.push(PublicRoute {
                    route,
                    destinations: Some(vec![cidr]),
                    label: cidr.to_string(),
                    specificity: cidr.prefix_len(),
                });
            }
        } else if let Some(list) = route.destination_prefix_list_id.as_deref() {
            if route.target.starts_with("vpce-") {
                continue;
            }
            let entries = net
                .prefix_lists
                .get()?
                .iter()
                .find(|p| p.id == list)
                .map(|p| p.cidrs.clone())
                .filter(|c| !c.is_empty());
            let public: Option<Vec<Ipv4Net>> =
                entries.map(|c| c.into_iter().filter(|c| !private_range(c)).collect());
            if public.as_ref().is_some_and(Vec::is_empty) {
                continue;
            }
            let specificity = public
                .as_ref()
                .and_then(|c| c.iter().map(Ipv4Net::prefix_len).min())
                .unwrap_or(32);
            routes.push(PublicRoute {
                route,
                destinations: public,
                label: list.to_string(),
                specificity,
            });
        }
    }
    routes.sort_by_key(|r| r.specificity);
    Ok(routes)
}

/// Resolves a table: each public route's target through `hop`, then the worst outcome wins
/// (a more specific route takes its addresses away from the default route).
fn resolve(
    net: &Network,
    table: &RouteTable,
    hop: impl Fn(&Route) -> Result<Egress, GatherError>,
) -> Result<Egress, GatherError> {
    let routes = public_routes(net, table)?;
    let known: Vec<Ipv4Net> = routes
        .iter()
        .flat_map(|r| r.destinations.iter().flatten().copied())
        .collect();
    let unknown = routes.iter().find(|r| r.destinations.is_none());
    let known: Vec<IpNet> = known.into_iter().map(IpNet::V4).collect();
    if !covers_public(&known) {
        return Ok(match unknown {
            Some(r) => Egress::Unverifiable {
                target: format!(
                    "{} (for prefix list {}, whose entries are not known)",
                    r.route.target, r.label
                ),
            },
            None => Egress::Isolated,
        });
    }
    let mut outcomes = Vec::new();
    for r in &routes {
        let outcome = hop(r.route)?;
        let outcome = match (&r.destinations, outcome.has_path()) {
            (None, false) => Egress::Unverifiable {
                target: format!(
                    "{} (for prefix list {}, whose entries are not known)",
                    r.route.target, r.label
                ),
            },
            _ => outcome,
        };
        outcomes.push(outcome);
    }
    let base = &routes[0];
    let worst = (0..outcomes.len())
        .max_by_key(|&i| (outcomes[i].badness(), std::cmp::Reverse(i)))
        .expect("at least one route");
    let outcome = outcomes[worst].clone();
    if worst == 0 || outcome.has_path() {
        return Ok(outcomes.swap_remove(0));
    }
    let specific = &routes[worst];
    let more_specific = format!(
        "route {} is more specific than {} → {}",
        specific.label, base.label, base.route.target
    );
    Ok(match outcome {
        Egress::Broken {
            target,
            why,
            culprit,
        } => Egress::Broken {
            target: base.route.target.clone(),
            why: format!(
                "the more specific route {} → {target}: {why}",
                specific.label
            ),
            culprit: culprit.or_else(|| {
                Some(Culprit {
                    route_table: table.id.clone(),
                    destination: specific.label.clone(),
                    target: specific.route.target.clone(),
                })
            }),
        },
        Egress::Unverifiable { target } => Egress::Unverifiable {
            target: format!("{target} ({more_specific})"),
        },
        other => other,
    })
}

/// The route table a subnet uses: its explicit association, else the VPC's main table.
pub fn table_of<'a>(tables: &'a [RouteTable], subnet: &str) -> Option<&'a RouteTable> {
    tables
        .iter()
        .find(|t| t.subnet_ids.iter().any(|s| s == subnet))
        .or_else(|| tables.iter().find(|t| t.is_main))
}

/// Paths out of one VPC for a task with or without a public IP.
pub struct Paths<'a> {
    pub net: &'a Network,
    pub assign_public_ip: bool,
    /// The VPC's owner when another account owns it: its NAT gateways are not visible here.
    pub foreign_owner: Option<&'a str>,
}

/// A route whose target was deleted.
fn blackhole(target: String) -> Egress {
    Egress::Broken {
        target,
        why: "the route is a blackhole (its target was deleted)".into(),
        culprit: None,
    }
}

/// Whether VPC Block Public Access lets a subnet's traffic through an internet gateway
/// (security-vpc-bpa.html). `block-bidirectional` blocks every internet gateway's traffic but
/// that of excluded VPCs and subnets (allow-bidirectional, or allow-egress for connections
/// started inside); `block-ingress` lets only NAT gateways' (and egress-only internet
/// gateways') connections out, and only allow-bidirectional exempts other traffic from it.
enum Gate {
    Open,
    Closed {
        why: String,
        exclusion: &'static str,
    },
    /// An exclusion or the mode is changing: which applies cannot be told.
    Changing(String),
}

fn bpa_gate(bpa: &BlockPublicAccess, vpc_id: &str, subnet: &str, from_nat: bool) -> Gate {
    let mode = bpa.mode.as_str();
    let blocked = match mode {
        "block-bidirectional" => true,
        "block-ingress" => !from_nat,
        _ => false,
    };
    if bpa.state == "update-in-progress" {
        return Gate::Changing(format!(
            "the Region's VPC Block Public Access mode is being changed (now {mode})"
        ));
    }
    if !blocked {
        return Gate::Open;
    }
    // allow-egress "only applies when the global mode is set to block-bidirectional".
    let opens = |e: &BpaExclusion| {
        e.mode == "allow-bidirectional"
            || (e.mode == "allow-egress" && mode == "block-bidirectional")
    };
    let applying: Vec<&BpaExclusion> = bpa
        .exclusions
        .iter()
        .filter(|e| e.resource_id == subnet || e.resource_id == vpc_id)
        .filter(|e| opens(e))
        .collect();
    if bpa.exclusions_allowed {
        if applying
            .iter()
            .any(|e| matches!(e.state.as_str(), "create-complete" | "update-complete"))
        {
            return Gate::Open;
        }
        if let Some(e) = applying.iter().find(|e| e.state.ends_with("-in-progress")) {
            return Gate::Changing(format!(
                "exclusion {} of {} is {}",
                e.id, e.resource_id, e.state
            ));
        }
    }
    let exclusion = if mode == "block-bidirectional" {
        "allow-egress"
    } else {
        "allow-bidirectional"
    };
    let why = match (bpa.exclusions_allowed, applying.is_empty()) {
        (false, _) => format!(
            "the Region's mode is {mode} and exclusions are not allowed (a declarative policy)"
        ),
        (true, true) => format!("the Region's mode is {mode} and neither {subnet} nor {vpc_id} is excluded"),
        (true, false) => format!("the Region's mode is {mode} and the exclusion of {subnet} or {vpc_id} is not in effect"),
    };
    Gate::Closed { why, exclusion }
}

impl Paths<'_> {
    /// Where `table` (task subnet `subnet`'s effective route table) sends public traffic.
    pub fn egress(&self, subnet: &str, table: &RouteTable) -> Result<Egress, GatherError> {
        resolve(self.net, table, |route| self.task_hop(subnet, route))
    }

    /// The internet gateway hop of traffic from `subnet`, after Block Public Access.
    fn through_igw(
        &self,
        igw: String,
        subnet: &str,
        from_nat: bool,
        open: Egress,
    ) -> Result<Egress, GatherError> {
        let bpa = self.net.block_public_access.get()?;
        Ok(match bpa_gate(bpa, &self.net.vpc_id, subnet, from_nat) {
            Gate::Open => open,
            Gate::Closed { why, exclusion } => Egress::Blocked {
                igw,
                why,
                subnet: subnet.to_string(),
                exclusion,
            },
            Gate::Changing(why) => Egress::Unverifiable {
                target: format!("{igw} ({why})"),
            },
        })
    }

    fn task_hop(&self, subnet: &str, route: &Route) -> Result<Egress, GatherError> {
        let target = route.target.clone();
        if route.is_blackhole() {
            return Ok(blackhole(target));
        }
        if target.starts_with("igw-") {
            return Ok(match self.attached_igw(&target)? {
                Err(why) => Egress::Broken {
                    target,
                    why,
                    culprit: None,
                },
                Ok(()) if self.assign_public_ip => {
                    self.through_igw(target.clone(), subnet, false, Egress::Igw { igw: target })?
                }
                Ok(()) => Egress::IgwWithoutPublicIp { igw: target },
            });
        }
        if target.starts_with("nat-") {
            return self.nat_hop(target);
        }
        Ok(Egress::Unverifiable { target })
    }

    fn nat_hop(&self, nat_id: String) -> Result<Egress, GatherError> {
        let nats = self.net.nat_gateways.get()?;
        let Some(nat) = nats.iter().find(|n| n.id == nat_id) else {
            if let Some(owner) = self.foreign_owner {
                // VPC sharing: participants cannot describe the owner's NAT gateways.
                return Ok(Egress::Unverifiable {
                    target: format!("{nat_id} (cannot verify: owned by account {owner}, which shares the VPC; a participant cannot describe its NAT gateways)"),
                });
            }
            return Ok(Egress::Broken {
                target: nat_id,
                why: "that NAT gateway does not exist in this VPC".into(),
                culprit: None,
            });
        };
        if nat.state != NatState::Available {
            let why = format!("the NAT gateway is {}", nat.state);
            return Ok(Egress::Broken {
                target: nat_id,
                why,
                culprit: None,
            });
        }
        if nat.connectivity_type == Some(Connectivity::Private) {
            return Ok(Egress::Unverifiable {
                target: format!("{nat_id} (a private NAT gateway)"),
            });
        }
        let nat_subnet = nat.subnet_id.as_deref().unwrap_or_default();
        let tables = self.net.route_tables.get()?;
        let no_route = || Egress::Broken {
            target: nat_id.clone(),
            why: format!("the NAT gateway's subnet {nat_subnet} has no 0.0.0.0/0 route"),
            culprit: None,
        };
        let Some(table) = table_of(tables, nat_subnet) else {
            return Ok(no_route());
        };
        // The NAT gateway has its own public IP: an attached IGW is the way out.
        let out = resolve(self.net, table, |route| {
            let target = route.target.clone();
            if route.is_blackhole() {
                return Ok(blackhole(target));
            }
            if !target.starts_with("igw-") {
                return Ok(Egress::Unverifiable { target });
            }
            Ok(match self.attached_igw(&target)? {
                Ok(()) => self.through_igw(
                    target.clone(),
                    nat_subnet,
                    true,
                    Egress::Nat {
                        nat: nat_id.clone(),
                        igw: target,
                    },
                )?,
                Err(why) => Egress::Broken {
                    target,
                    why,
                    culprit: None,
                },
            })
        })?;
        Ok(match out {
            Egress::Isolated => no_route(),
            Egress::Blocked {
                igw,
                why,
                subnet,
                exclusion,
            } => Egress::Blocked {
                igw,
                why: format!("NAT gateway {nat_id} is in {subnet}; {why}"),
                subnet,
                exclusion,
            },
            Egress::Broken { why, culprit, .. } => Egress::Broken {
                target: nat_id.clone(),
                why: format!("in the NAT gateway's subnet {nat_subnet}: {why}"),
                culprit,
            },
            // E.g. AWS Network Firewall between the NAT and the internet gateway.
            Egress::Unverifiable { target } => Egress::Unverifiable {
                target: format!("{nat_id}, whose subnet {nat_subnet} sends 0.0.0.0/0 to {target}"),
            },
            other => other,
        })
    }

    fn attached_igw(&self, id: &str) -> Result<Result<(), String>, GatherError> {
        let igws = self.net.internet_gateways.get()?;
        Ok(match igws.iter().find(|g| g.id == id) {
            None => Err(format!("internet gateway {id} is not attached to this VPC")),
            Some(g) => match &g.attachment_state {
                Some(AttachmentState::Available | AttachmentState::Attached) | None => Ok(()),
                Some(state) => Err(format!("internet gateway {id} attachment is {state}")),
            },
        })
    }
}

/// How an IPv6-only subnet's traffic to IPv6 global unicast addresses leaves the VPC.
#[derive(Debug, Clone, PartialEq)]
pub enum Egress6 {
    /// To an egress-only internet gateway (outbound only) or an attached internet gateway.
    Out { gateway: String },
    /// To a gateway that VPC Block Public Access closes to this traffic.
    Blocked {
        gateway: String,
        why: String,
        subnet: String,
        exclusion: &'static str,
    },
    /// A route that leads nowhere; `route` is its destination.
    Broken {
        route: String,
        target: String,
        why: String,
    },
    /// Somewhere this tool cannot follow (transit gateway, peering, appliance).
    Unverifiable { route: String, target: String },
    /// No route covers the IPv6 global unicast space.
    Isolated,
}

impl Egress6 {
    pub fn has_path(&self) -> bool {
        matches!(self, Egress6::Out { .. })
    }

    pub fn describe(&self) -> String {
        match self {
            Egress6::Out { gateway } => format!("sends IPv6 traffic (::/0) out through {gateway}"),
            Egress6::Blocked { gateway, why, .. } => {
                format!("sends ::/0 to {gateway}, but VPC Block Public Access blocks it: {why}")
            }
            Egress6::Broken { route, target, why } => {
                format!("sends {route} to {target}, but {why}")
            }
            Egress6::Unverifiable { route, target } => {
                format!("sends {route} to {target}, which this tool cannot follow")
            }
            Egress6::Isolated => "has no IPv6 route out of the VPC (::/0)".to_string(),
        }
    }

    fn badness(&self) -> u8 {
        match self {
            Egress6::Out { .. } => 0,
            Egress6::Isolated => 1,
            Egress6::Unverifiable { .. } => 2,
            Egress6::Broken { .. } | Egress6::Blocked { .. } => 4,
        }
    }
}

/// The paths out of an IPv6-only subnet (ECS guide, "Using a VPC in IPv6-only mode": IPv6
/// route targets, and DNS64 with NAT64 for IPv4-only endpoints).
#[derive(Debug, Clone, PartialEq)]
pub struct Ipv6Paths {
    pub direct: Egress6,
    /// Where `64:ff9b::/96` goes when a route sends it to a NAT gateway (or somewhere this tool
    /// cannot follow); `None` without such a route.
    pub nat64: Option<Egress>,
    /// EnableDns64: without it an IPv4-only name has no address an IPv6-only task can use.
    pub dns64: bool,
}

impl Ipv6Paths {
    /// What the subnet's traffic to AWS's IPv4-only endpoints does.
    pub fn ipv4_egress(&self) -> Egress {
        match &self.nat64 {
            Some(Egress::Nat { nat, igw }) if self.dns64 => Egress::Nat64 {
                nat: nat.clone(),
                igw: igw.clone(),
            },
            _ => Egress::Ipv6Only {
                summary: self.describe(),
                leaves: self.direct.has_path()
                    || matches!(self.direct, Egress6::Unverifiable { .. }),
            },
        }
    }

    /// What NAT64 gives the subnet.
    pub fn describe_nat64(&self) -> String {
        match (&self.nat64, self.dns64) {
            (None, _) => "no NAT64 route (64:ff9b::/96 to a NAT gateway) for IPv4-only destinations".to_string(),
            (Some(Egress::Nat { nat, igw }), true) => format!("reaches IPv4-only destinations through NAT64 on {nat} (to {igw}), with DNS64 on"),
            (Some(Egress::Nat { nat, .. }), false) => format!("routes 64:ff9b::/96 to {nat}, but DNS64 is off on the subnet, so IPv4-only names get no IPv6 address"),
            (Some(Egress::Broken { target, why, .. }), _) => format!("routes 64:ff9b::/96 to {target}, but {why}"),
            (Some(Egress::Blocked { igw, why, .. }), _) => format!("routes 64:ff9b::/96 to a NAT gateway whose way out through {igw} VPC Block Public Access blocks: {why}"),
            (Some(Egress::Unverifiable { target }), _) => format!("routes 64:ff9b::/96 to {target}, which this tool cannot follow"),
            (Some(other), _) => format!("routes 64:ff9b::/96 to a NAT gateway that {}", other.describe()),
        }
    }

    pub fn describe(&self) -> String {
        format!("{}; {}", self.direct.describe(), self.describe_nat64())
    }
}

impl Paths<'_> {
    /// The paths out of IPv6-only `subnet`, whose effective route table is `table`.
    pub fn ipv6(&self, subnet: &Subnet, table: &RouteTable) -> Result<Ipv6Paths, GatherError> {
        Ok(Ipv6Paths {
            direct: self.direct6(&subnet.id, table)?,
            nat64: self.nat64(table)?,
            dns64: subnet.enable_dns64,
        })
    }

    /// Longest prefix match over the routes that carry global unicast traffic; where they
    /// disagree the worst wins, as for IPv4.
    fn direct6(&self, subnet: &str, table: &RouteTable) -> Result<Egress6, GatherError> {
        let global = global_unicast();
        let mut routes: Vec<(&Route, Ipv6Net)> = table
            .routes
            .iter()
            .filter(|r| r.target != "local")
            .filter_map(|r| r.destination_ipv6_cidr.map(|d| (r, d)))
            .filter(|(_, d)| d.contains(&global) || global.contains(d))
            .collect();
        routes.sort_by_key(|(_, d)| d.prefix_len());
        // A prefix-list route (not a gateway endpoint's) whose entries are not known may be an
        // IPv6 list that takes part of the traffic.
        let unknown_list = self.unknown_prefix_list_route(table)?;
        let known: Vec<IpNet> = routes.iter().map(|(_, d)| IpNet::V6(*d)).collect();
        if !uncovered(&known, &[IpNet::V6(global)]).is_empty() {
            return Ok(match unknown_list {
                Some((target, list)) => Egress6::Unverifiable {
                    route: list,
                    target: format!("{target} (a prefix list whose entries are not known)"),
                },
                None => Egress6::Isolated,
            });
        }
        let mut worst = Egress6::Isolated;
        let mut worst_badness = 0;
        for (route, dest) in &routes {
            let outcome = self.hop6(subnet, route, dest.to_string())?;
            if worst == Egress6::Isolated || outcome.badness() > worst_badness {
                worst_badness = outcome.badness();
                worst = outcome;
            }
        }
        Ok(match (worst, unknown_list) {
            (Egress6::Out { gateway }, Some((target, list))) => Egress6::Unverifiable {
                route: list,
                target: format!(
                    "{target} (a prefix list whose entries are not known; ::/0 goes to {gateway})"
                ),
            },
            (worst, _) => worst,
        })
    }

    fn unknown_prefix_list_route(
        &self,
        table: &RouteTable,
    ) -> Result<Option<(String, String)>, GatherError> {
        for route in &table.routes {
            let Some(list) = route.destination_prefix_list_id.as_deref() else {
                continue;
            };
            if route.target.starts_with("vpce-") {
                continue;
            }
            let lists = self.net.prefix_lists.get()?;
            let ipv4_entries = lists
                .iter()
                .find(|p| p.id == list)
                .is_some_and(|p| !p.cidrs.is_empty());
            if !ipv4_entries {
                return Ok(Some((route.target.clone(), list.to_string())));
            }
        }
        Ok(None)
    }

    fn hop6(&self, subnet: &str, route: &Route, dest: String) -> Result<Egress6, GatherError> {
        let target = route.target.clone();
        if route.is_blackhole() {
            return Ok(Egress6::Broken {
                route: dest,
                target,
                why: "the route is a blackhole (its target was deleted)".into(),
            });
        }
        // An egress-only internet gateway belongs to one VPC, and a route can name only its
        // own; Block Public Access's block-ingress lets its traffic out as it does a NAT's.
        if target.starts_with("eigw-") {
            return self.gate6(target, subnet, true, dest);
        }
        if target.starts_with("igw-") {
            if let Err(why) = self.attached_igw(&target)? {
                return Ok(Egress6::Broken {
                    route: dest,
                    target,
                    why,
                });
            }
            return self.gate6(target, subnet, false, dest);
        }
        Ok(Egress6::Unverifiable {
            route: dest,
            target,
        })
    }

    fn gate6(
        &self,
        gateway: String,
        subnet: &str,
        egress_only: bool,
        route: String,
    ) -> Result<Egress6, GatherError> {
        let bpa = self.net.block_public_access.get()?;
        Ok(match bpa_gate(bpa, &self.net.vpc_id, subnet, egress_only) {
            Gate::Open => Egress6::Out { gateway },
            Gate::Closed { why, exclusion } => Egress6::Blocked {
                gateway,
                why,
                subnet: subnet.to_string(),
                exclusion,
            },
            Gate::Changing(why) => Egress6::Unverifiable {
                route,
                target: format!("{gateway} ({why})"),
            },
        })
    }

    /// The route that takes `64:ff9b::/96`: a NAT gateway translates it to IPv4; an
    /// egress-only or internet gateway that a wider route names does not.
    fn nat64(&self, table: &RouteTable) -> Result<Option<Egress>, GatherError> {
        let prefix = nat64_prefix();
        let route = table
            .routes
            .iter()
            .filter(|r| r.target != "local")
            .filter(|r| r.destination_ipv6_cidr.is_some_and(|d| d.contains(&prefix)))
            .max_by_key(|r| r.destination_ipv6_cidr.map(|d| d.prefix_len()));
        let Some(route) = route else {
            return Ok(None);
        };
        let target = route.target.clone();
        if target.starts_with("eigw-") || target.starts_with("igw-") {
            return Ok(None);
        }
        if route.is_blackhole() {
            return Ok(Some(blackhole(target)));
        }
        if target.starts_with("nat-") {
            return self.nat_hop(target).map(Some);
        }
        Ok(Some(Egress::Unverifiable { target }))
    }
}
