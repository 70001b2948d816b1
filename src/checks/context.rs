//! What the checks read: the snapshot and the facts derived from it once per snapshot (what
//! the task uses, each task subnet's effective route table and path out, which subnets rely on
//! endpoints), plus lookups over the VPC's endpoints and groups.

use std::collections::BTreeSet;

pub use crate::facts::endpoints::{Destination, ServiceEndpoints};
use crate::facts::endpoints::{Traffic, VpcEndpoints};
pub use crate::facts::path::Egress;
use crate::facts::path::{table_of, Paths};
pub use crate::facts::path::{Egress6, Ipv6Paths};
use crate::facts::platform;
use crate::facts::rules::{self, Direction};
pub use crate::facts::uses::Uses;
use crate::snapshot::{
    EndpointType, Network, SecurityGroup, SgRule, Snapshot, Subnet, TaskDefinition, VpcEndpoint,
};
use ipnet::IpNet;

use super::{Problem, Verdict};

pub struct Context<'a> {
    pub snap: &'a Snapshot,
    pub options: &'a super::Options,
    uses: Result<Uses<'a>, Problem>,
    subnets: Result<Vec<TaskSubnet<'a>>, Problem>,
    /// The path out of each task subnet to AWS's IPv4 endpoints, in the order of `subnets`.
    egress: Result<Vec<Egress>, Problem>,
    /// The IPv6 paths of each IPv6-only task subnet (`None` for the others).
    ipv6: Result<Vec<Option<Ipv6Paths>>, Problem>,
    dependence: Result<Dependence<'a>, Problem>,
}

#[derive(Clone, Copy)]
pub struct TaskSubnet<'a> {
    pub subnet: &'a Subnet,
    pub route_table: &'a crate::snapshot::RouteTable,
    /// True when the table is the VPC's main table (no explicit association).
    pub via_main: bool,
}

/// Which task subnets rely on VPC endpoints, by their path out.
#[derive(Clone)]
pub struct Dependence<'a> {
    /// No path out at all: endpoints are required.
    pub required: Vec<TaskSubnet<'a>>,
    /// A path we cannot verify: endpoints are the only sure way.
    pub unverified: Vec<TaskSubnet<'a>>,
    /// A verified NAT / IGW path.
    pub served: Vec<(TaskSubnet<'a>, Egress)>,
}

impl<'a> Dependence<'a> {
    /// Does any task subnet reach AWS only through endpoints (or an unverified path)?
    pub fn relies_on_endpoints(&self) -> bool {
        !self.required.is_empty() || !self.unverified.is_empty()
    }

    /// The subnets a missing endpoint strands: those without a path out, else those whose
    /// path cannot be verified.
    pub fn stranded(&self) -> &[TaskSubnet<'a>] {
        if self.required.is_empty() {
            &self.unverified
        } else {
            &self.required
        }
    }

    /// Both kinds together.
    pub fn relying(&self) -> Vec<TaskSubnet<'a>> {
        self.required
            .iter()
            .chain(&self.unverified)
            .copied()
            .collect()
    }

    /// A gap in what endpoints provide: a failure where subnets have no path out, a warning
    /// where their path only cannot be verified.
    pub fn gap(
        &self,
        resource: impl Into<String>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Verdict {
        if self.required.is_empty() {
            Verdict::warn(resource, message, fix)
        } else {
            Verdict::fail(resource, message, fix)
        }
    }

    /// "subnet-a (reaches the internet via …); …" for messages.
    pub fn served_summary(&self) -> String {
        self.served
            .iter()
            .map(|(ts, e)| format!("{} {}", ts.subnet.id, e.describe()))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

pub fn ids<'b>(subnets: impl IntoIterator<Item = &'b TaskSubnet<'b>>) -> String {
    subnets
        .into_iter()
        .map(|s| s.subnet.id.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Each task subnet's effective route table: its explicit association, else the main table.
fn task_subnets(snap: &Snapshot) -> Result<Vec<TaskSubnet<'_>>, Problem> {
    let net = snap.network.get()?;
    let subnets = net.subnets.get()?;
    let tables = net.route_tables.get()?;
    snap.workload
        .subnets
        .iter()
        .map(|id| {
            let subnet = subnets.iter().find(|s| &s.id == id).ok_or_else(|| {
                Problem::missing(
                    format!("{id} in {}", net.vpc_id),
                    "a subnet of the service's network configuration",
                )
            })?;
            let explicit = tables.iter().find(|t| t.subnet_ids.contains(id));
            let route_table = table_of(tables, id).ok_or_else(|| {
                Problem::missing(
                    format!("a route table for {id} (no association and no main table)"),
                    format!("the route tables of {}", net.vpc_id),
                )
            })?;
            Ok(TaskSubnet {
                subnet,
                route_table,
                via_main: explicit.is_none(),
            })
        })
        .collect()
}

fn paths(snap: &Snapshot) -> Result<Paths<'_>, Problem> {
    Ok(Paths {
        net: snap.network.get()?,
        assign_public_ip: snap.workload.assign_public_ip,
        foreign_owner: snap.foreign_vpc_owner(),
    })
}

fn dependence<'a>(subnets: &[TaskSubnet<'a>], egress: &[Egress]) -> Dependence<'a> {
    let mut dep = Dependence {
        required: vec![],
        unverified: vec![],
        served: vec![],
    };
    for (ts, e) in subnets.iter().zip(egress) {
        match e {
            e if e.has_path() => dep.served.push((*ts, e.clone())),
            e if e.unverified() => dep.unverified.push(*ts),
            _ => dep.required.push(*ts),
        }
    }
    dep
}

impl<'a> Context<'a> {
    pub fn new(snap: &'a Snapshot, options: &'a super::Options) -> Self {
        let uses = snap
            .task_definition
            .get()
            .map(|td| Uses::of(td, snap.workload.enable_execute_command, &snap.region))
            .map_err(Problem::from);
        let subnets = task_subnets(snap);
        let ipv6 = subnets.clone().and_then(|list| {
            let paths = paths(snap)?;
            list.iter()
                .map(|ts| {
                    Ok(match ts.subnet.ipv6_native {
                        true => Some(paths.ipv6(ts.subnet, ts.route_table)?),
                        false => None,
                    })
                })
                .collect::<Result<Vec<_>, Problem>>()
        });
        let egress = match (&subnets, &ipv6) {
            (Ok(list), Ok(v6)) => list
                .iter()
                .zip(v6)
                .map(|(ts, v6)| match v6 {
                    Some(v6) => Ok(v6.ipv4_egress()),
                    None => Ok(paths(snap)?.egress(&ts.subnet.id, ts.route_table)?),
                })
                .collect::<Result<Vec<_>, Problem>>(),
            (Err(p), _) | (_, Err(p)) => Err(p.clone()),
        };
        let dependence = match (&subnets, &egress) {
            (Ok(s), Ok(e)) => Ok(dependence(s, e)),
            (Err(p), _) | (_, Err(p)) => Err(p.clone()),
        };
        Context {
            snap,
            options,
            uses,
            subnets,
            egress,
            ipv6,
            dependence,
        }
    }

    /// The IPv6 paths of a task subnet, when it is IPv6-only.
    pub fn ipv6_of(&self, ts: &TaskSubnet) -> Result<Option<&Ipv6Paths>, Problem> {
        let ipv6 = self.ipv6.as_ref().map_err(Clone::clone)?;
        Ok(ipv6[self.position_of(ts)?].as_ref())
    }

    /// Where `ts` is in `subnets`, and so in the facts derived per task subnet.
    fn position_of(&self, ts: &TaskSubnet) -> Result<usize, Problem> {
        Ok(self
            .task_subnets()?
            .iter()
            .position(|s| s.subnet.id == ts.subnet.id)
            .expect("a task subnet of this context"))
    }

    /// The IPv6-only task subnets (no IPv4 address on the task).
    pub fn ipv6_only_subnets(&self) -> Result<Vec<TaskSubnet<'a>>, Problem> {
        Ok(self
            .task_subnets()?
            .iter()
            .filter(|ts| ts.subnet.ipv6_native)
            .copied()
            .collect())
    }

    /// What the task uses (images, logs, secrets, environment files, ECS Exec).
    pub fn uses(&self) -> Result<&Uses<'a>, Problem> {
        self.uses.as_ref().map_err(Clone::clone)
    }

    pub fn task_subnets(&self) -> Result<&[TaskSubnet<'a>], Problem> {
        self.subnets.as_deref().map_err(Clone::clone)
    }

    /// Where a task subnet's route table sends traffic for AWS's public endpoints.
    pub fn egress_of(&self, ts: &TaskSubnet) -> Result<&Egress, Problem> {
        let egress = self.egress.as_ref().map_err(Clone::clone)?;
        Ok(&egress[self.position_of(ts)?])
    }

    /// Which task subnets rely on endpoints.
    pub fn dependence(&self) -> Result<&Dependence<'a>, Problem> {
        self.dependence.as_ref().map_err(Clone::clone)
    }

    pub fn region(&self) -> &str {
        &self.snap.region
    }

    /// A resource label for findings about the whole target.
    pub fn scope(&self) -> String {
        match (&self.snap.workload.cluster, &self.snap.workload.service) {
            (Some(c), Some(s)) => format!("{c}/{s}"),
            _ => self.snap.workload.task_definition.clone(),
        }
    }

    pub fn task_definition(&self) -> Result<&'a TaskDefinition, Problem> {
        Ok(self.snap.task_definition.get()?)
    }

    pub fn network(&self) -> Result<&'a Network, Problem> {
        Ok(self.snap.network.get()?)
    }

    pub fn vpc_id(&self) -> Result<&'a str, Problem> {
        Ok(&self.network()?.vpc_id)
    }

    /// The VPC's endpoints, seen from the task's region.
    pub fn vpc_endpoints(&self) -> Result<VpcEndpoints<'a>, Problem> {
        Ok(VpcEndpoints {
            net: self.network()?,
            region: &self.snap.region,
            ipv6_only: self.ipv6_only(),
        })
    }

    /// `com.amazonaws.REGION.SERVICE`, the name a VPC endpoint for SERVICE carries.
    pub fn service_name(&self, short: &str) -> String {
        crate::facts::endpoints::service_name(self.region(), short)
    }

    pub fn endpoints(&self) -> Result<&'a [VpcEndpoint], Problem> {
        Ok(self.vpc_endpoints()?.all()?)
    }

    /// The first usable endpoint of `kind` (Interface / Gateway) for a service of this region.
    pub fn endpoint(
        &self,
        short: &str,
        kind: EndpointType,
    ) -> Result<Option<&'a VpcEndpoint>, Problem> {
        Ok(self.vpc_endpoints()?.first(short, kind)?)
    }

    /// The usable interface endpoints of a service, and which of them owns its name.
    pub fn interface_endpoints(&self, short: &str) -> Result<ServiceEndpoints<'a>, Problem> {
        Ok(self.vpc_endpoints()?.interface(short)?)
    }

    /// The interface endpoint that carries the task's traffic for a service.
    pub fn endpoint_in_path(&self, short: &str) -> Result<Option<&'a VpcEndpoint>, Problem> {
        Ok(self.vpc_endpoints()?.in_path(short)?)
    }

    /// The interface endpoint that carries traffic for a service of another `region`
    /// (cross-Region PrivateLink).
    pub fn endpoint_in_path_of(
        &self,
        short: &str,
        region: &str,
    ) -> Result<Option<&'a VpcEndpoint>, Problem> {
        Ok(self.vpc_endpoints()?.in_path_in(short, region)?)
    }

    /// Where each service the task uses is reached from a task subnet.
    pub fn destinations(
        &self,
        ts: &TaskSubnet<'a>,
    ) -> Result<Vec<(Destination<'a>, Vec<String>)>, Problem> {
        let uses = self.uses()?;
        let traffic = Traffic {
            interface_services: &self.interface_services()?,
            remote_services: &uses.remote_interface_services(self.needs_ecr_api()?),
            uses_s3: uses.uses_s3(),
            internet_only: &uses.internet_only(),
        };
        Ok(self
            .vpc_endpoints()?
            .destinations(ts.route_table, self.egress_of(ts)?, &traffic)?)
    }

    /// What IAM knows of the execution role when it makes the task's requests.
    pub fn execution_principal_context(&self) -> Result<Vec<(String, String)>, Problem> {
        if let Ok(Some(role)) = self.snap.execution_role.ok() {
            return Ok(crate::policy::principal_context(&role.arn, &role.tags));
        }
        let Some(arn) = self.task_definition()?.execution_role_arn.clone() else {
            return Ok(vec![]);
        };
        let account = arn.split(':').nth(4).unwrap_or_default().to_string();
        Ok(vec![
            ("aws:PrincipalArn".into(), arn),
            ("aws:PrincipalAccount".into(), account),
        ])
    }

    /// Does the platform this task runs on fetch the ECR auth token through ecr.api?
    pub fn needs_ecr_api(&self) -> Result<bool, Problem> {
        Ok(platform::resolve(&self.snap.workload, self.task_definition()?).needs_ecr_api)
    }

    /// Interface endpoint services this task uses, for the security group and NACL checks.
    pub fn interface_services(&self) -> Result<BTreeSet<String>, Problem> {
        Ok(self.uses()?.interface_services(self.needs_ecr_api()?))
    }

    /// Private DNS names of interface endpoints resolve only with both VPC DNS attributes on.
    pub fn private_dns_resolves(&self) -> Result<bool, Problem> {
        Ok(self.vpc_endpoints()?.private_dns_resolves()?)
    }

    /// The S3 gateway endpoints of this region's S3.
    pub fn s3_gateways(&self) -> Result<Vec<&'a VpcEndpoint>, Problem> {
        Ok(self.vpc_endpoints()?.s3_gateways()?)
    }

    /// The S3 gateway on this subnet's effective route table, if any.
    pub fn s3_gateway_for(&self, ts: &TaskSubnet) -> Result<Option<&'a VpcEndpoint>, Problem> {
        Ok(self.vpc_endpoints()?.s3_gateway_on(ts.route_table)?)
    }

    /// The security groups with these ids; one that does not exist is a `Problem::Missing`
    /// naming `referenced_by`.
    pub fn security_groups(
        &self,
        ids: &'a [String],
        referenced_by: &str,
    ) -> Result<Vec<&'a SecurityGroup>, Problem> {
        let net = self.network()?;
        rules::find_groups(net.security_groups.get()?, ids)
            .map_err(|id| Problem::missing(format!("{id} in {}", net.vpc_id), referenced_by))
    }

    /// The rules of those groups in one direction.
    pub fn rules_of(
        &self,
        ids: &'a [String],
        referenced_by: &str,
        direction: Direction,
    ) -> Result<Vec<SgRule>, Problem> {
        Ok(rules::rules_of(
            &self.security_groups(ids, referenced_by)?,
            direction,
        ))
    }

    /// The address blocks of the VPC's subnets with these ids that the task's traffic meets:
    /// IPv6 for a task in IPv6-only subnets, else IPv4.
    pub fn subnet_cidrs(&self, ids: &[String]) -> Result<Vec<IpNet>, Problem> {
        Ok(rules::subnet_cidrs(
            self.network()?.subnets.get()?,
            ids,
            self.ipv6_only(),
        ))
    }

    /// Where a task subnet's traffic to AWS's public endpoints goes: 0.0.0.0/0, or from an
    /// IPv6-only subnet the global unicast space its IPv6 path reaches and the NAT64 prefix.
    pub fn public_peers(&self, ts: &TaskSubnet) -> Result<Vec<IpNet>, Problem> {
        use crate::facts::addr::{global_unicast, nat64_prefix};
        let Some(v6) = self.ipv6_of(ts)? else {
            return Ok(vec!["0.0.0.0/0".parse().expect("valid CIDR")]);
        };
        let mut peers = Vec::new();
        if !matches!(self.egress_of(ts)?, Egress::Nat64 { .. }) || v6.direct.has_path() {
            peers.push(IpNet::V6(global_unicast()));
        }
        if matches!(self.egress_of(ts)?, Egress::Nat64 { .. }) {
            peers.push(IpNet::V6(nat64_prefix()));
        }
        Ok(peers)
    }

    /// Does the task run in IPv6-only subnets (any of them: the stricter rules apply)?
    pub fn ipv6_only(&self) -> bool {
        self.task_subnets()
            .is_ok_and(|s| s.iter().any(|ts| ts.subnet.ipv6_native))
    }

    /// The task's security groups; with none configured, ECS uses the VPC's default group.
    pub fn task_security_groups(&self) -> Result<Vec<String>, Problem> {
        let configured = &self.snap.workload.security_groups;
        if !configured.is_empty() {
            return Ok(configured.clone());
        }
        let groups = self.network()?.security_groups.get()?;
        Ok(groups
            .iter()
            .filter(|g| g.name.as_deref() == Some("default"))
            .map(|g| g.id.clone())
            .collect())
    }
}
