//! Facts several checks share, derived from the snapshot: each task subnet's effective route
//! table and path out, the AWS services the task definition needs, the endpoints serving them.

use std::collections::BTreeSet;

use crate::image;
use crate::snapshot::{
    GatherError, GatherErrorKind, Network, RouteTable, Snapshot, Subnet, TaskDefinition,
    VpcEndpoint,
};

use super::netrules::private_range;
use super::platform;

pub struct Context<'a> {
    pub snap: &'a Snapshot,
    pub options: &'a super::Options,
}

pub struct TaskSubnet<'a> {
    pub subnet: &'a Subnet,
    pub route_table: &'a RouteTable,
    /// True when the table is the VPC's main table (no explicit association).
    pub via_main: bool,
}

/// How a subnet's `0.0.0.0/0` traffic leaves the VPC.
#[derive(Debug, Clone, PartialEq)]
pub enum Egress {
    /// Through an available public NAT gateway whose own subnet routes to an attached IGW.
    Nat { nat: String, igw: String },
    /// Straight to an attached internet gateway, with a public IP on the task.
    Igw { igw: String },
    /// Routed to an IGW, but the task gets no public IP: nothing leaves.
    IgwWithoutPublicIp { igw: String },
    /// Routed somewhere we cannot follow (transit gateway, peering, firewall, appliance).
    Unverifiable { target: String },
    /// A default route that leads nowhere (blackhole, NAT not available, NAT without IGW).
    Broken { target: String, why: String },
    /// No default route at all.
    Isolated,
}

impl Egress {
    pub fn has_path(&self) -> bool {
        matches!(self, Egress::Nat { .. } | Egress::Igw { .. })
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
            Egress::Broken { target, why } => format!("sends 0.0.0.0/0 to {target}, but {why}"),
            Egress::Isolated => "has no route to the internet".to_string(),
        }
    }
}

/// Which task subnets depend on a VPC endpoint for a service.
pub struct Dependence<'a> {
    /// No path out at all: the endpoint is required.
    pub required: Vec<&'a TaskSubnet<'a>>,
    /// A path we cannot verify: the endpoint is the only sure way.
    pub unverified: Vec<&'a TaskSubnet<'a>>,
    /// A verified NAT / IGW path.
    pub served: Vec<(&'a TaskSubnet<'a>, Egress)>,
}

pub fn ids<'b>(subnets: impl IntoIterator<Item = &'b &'b TaskSubnet<'b>>) -> String {
    subnets
        .into_iter()
        .map(|s| s.subnet.id.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn endpoint_usable(state: &str) -> bool {
    !matches!(
        state.to_ascii_lowercase().as_str(),
        "deleting" | "deleted" | "rejected" | "failed" | "expired"
    )
}

impl<'a> Context<'a> {
    pub fn new(snap: &'a Snapshot, options: &'a super::Options) -> Self {
        Context { snap, options }
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

    pub fn task_definition(&self) -> Result<&'a TaskDefinition, GatherError> {
        self.snap.task_definition.get()
    }

    pub fn network(&self) -> Result<&'a Network, GatherError> {
        self.snap.network.get()
    }

    pub fn vpc_id(&self) -> Result<&'a str, GatherError> {
        Ok(&self.network()?.vpc_id)
    }

    /// `com.amazonaws.REGION.SERVICE`, the name a VPC endpoint for SERVICE carries.
    pub fn service_name(&self, short: &str) -> String {
        format!("com.amazonaws.{}.{short}", self.region())
    }

    pub fn task_subnets(&self) -> Result<Vec<TaskSubnet<'a>>, GatherError> {
        let net = self.network()?;
        let subnets = net.subnets.get()?;
        let tables = net.route_tables.get()?;
        let main = tables.iter().find(|t| t.is_main);
        self.snap
            .workload
            .subnets
            .iter()
            .map(|id| {
                let subnet = subnets
                    .iter()
                    .find(|s| &s.id == id)
                    .ok_or_else(|| GatherError {
                        action: "ec2:DescribeSubnets".into(),
                        kind: GatherErrorKind::NotFound,
                        message: format!("task subnet {id} is not in {}", net.vpc_id),
                    })?;
                let explicit = tables.iter().find(|t| t.subnet_ids.contains(id));
                let route_table = explicit.or(main).ok_or_else(|| GatherError {
                    action: "ec2:DescribeRouteTables".into(),
                    kind: GatherErrorKind::NotFound,
                    message: format!("no route table for {id} and no main route table"),
                })?;
                Ok(TaskSubnet {
                    subnet,
                    route_table,
                    via_main: explicit.is_none(),
                })
            })
            .collect()
    }

    pub fn egress(&self, table: &RouteTable) -> Result<Egress, GatherError> {
        let net = self.network()?;
        let Some(route) = default_route(table) else {
            return Ok(Egress::Isolated);
        };
        let target = route.target.clone();
        if route.state.as_deref() == Some("blackhole") {
            return Ok(Egress::Broken {
                target,
                why: "the route is a blackhole (its target was deleted)".into(),
            });
        }
        // Longest prefix wins: a more specific route over public addresses (0.0.0.0/1 to a
        // transit gateway, say) takes AWS's public endpoints away from the default route.
        if let Some(specific) = more_specific_public_route(table) {
            let cidr = specific
                .destination_cidr
                .map(|c| c.to_string())
                .unwrap_or_default();
            return Ok(if specific.state.as_deref() == Some("blackhole") {
                Egress::Broken {
                    target,
                    why: format!("the more specific route {cidr} is a blackhole"),
                }
            } else {
                Egress::Unverifiable {
                    target: format!(
                        "{} (route {cidr} is more specific than 0.0.0.0/0 → {target})",
                        specific.target
                    ),
                }
            });
        }
        if target.starts_with("igw-") {
            let igw = self.attached_igw(&target)?;
            return Ok(match igw {
                Err(why) => Egress::Broken { target, why },
                Ok(()) if self.snap.workload.assign_public_ip => Egress::Igw { igw: target },
                Ok(()) => Egress::IgwWithoutPublicIp { igw: target },
            });
        }
        if !target.starts_with("nat-") {
            return Ok(Egress::Unverifiable { target });
        }
        let nats = net.nat_gateways.get()?;
        let Some(nat) = nats.iter().find(|n| n.id == target) else {
            return Ok(Egress::Broken {
                target,
                why: "that NAT gateway does not exist in this VPC".into(),
            });
        };
        if !nat.state.eq_ignore_ascii_case("available") {
            let why = format!("the NAT gateway is {}", nat.state);
            return Ok(Egress::Broken { target, why });
        }
        if nat.connectivity_type.as_deref() == Some("private") {
            return Ok(Egress::Unverifiable {
                target: format!("{target} (a private NAT gateway)"),
            });
        }
        let tables = net.route_tables.get()?;
        let nat_subnet = nat.subnet_id.as_deref().unwrap_or_default();
        let nat_table = tables
            .iter()
            .find(|t| t.subnet_ids.iter().any(|s| s == nat_subnet))
            .or_else(|| tables.iter().find(|t| t.is_main));
        let no_igw = || Egress::Broken {
            target: target.clone(),
            why: format!("the NAT gateway's subnet {nat_subnet} has no 0.0.0.0/0 route"),
        };
        let Some(nat_route) = nat_table.and_then(default_route) else {
            return Ok(no_igw());
        };
        if nat_route.state.as_deref() == Some("blackhole") {
            return Ok(no_igw());
        }
        if !nat_route.target.starts_with("igw-") {
            // E.g. AWS Network Firewall between the NAT and the internet gateway.
            return Ok(Egress::Unverifiable {
                target: format!(
                    "{target}, whose subnet {nat_subnet} sends 0.0.0.0/0 to {}",
                    nat_route.target
                ),
            });
        }
        let igw = nat_route.target.clone();
        Ok(match self.attached_igw(&igw)? {
            Ok(()) => Egress::Nat { nat: target, igw },
            Err(why) => Egress::Broken {
                target,
                why: format!("its subnet's {why}"),
            },
        })
    }

    fn attached_igw(&self, id: &str) -> Result<Result<(), String>, GatherError> {
        let igws = self.network()?.internet_gateways.get()?;
        Ok(match igws.iter().find(|g| g.id == id) {
            None => Err(format!("internet gateway {id} is not attached to this VPC")),
            Some(g) => match g.attachment_state.as_deref() {
                Some("available") | Some("attached") | None => Ok(()),
                Some(state) => Err(format!("internet gateway {id} attachment is {state}")),
            },
        })
    }

    pub fn dependence<'s>(
        &self,
        subnets: &'s [TaskSubnet<'s>],
    ) -> Result<Dependence<'s>, GatherError> {
        let mut dep = Dependence {
            required: vec![],
            unverified: vec![],
            served: vec![],
        };
        for ts in subnets {
            match self.egress(ts.route_table)? {
                e if e.has_path() => dep.served.push((ts, e)),
                Egress::Unverifiable { .. } => dep.unverified.push(ts),
                _ => dep.required.push(ts),
            }
        }
        Ok(dep)
    }

    pub fn endpoints(&self) -> Result<&'a [VpcEndpoint], GatherError> {
        Ok(self.network()?.vpc_endpoints.get()?.as_slice())
    }

    /// Is `endpoint` for SERVICE of this region? China names it `cn.com.amazonaws.…`.
    pub fn serves(&self, endpoint: &VpcEndpoint, short: &str) -> bool {
        let wanted = self.service_name(short);
        endpoint.service_name == wanted
            || endpoint.service_name.strip_prefix("cn.") == Some(wanted.as_str())
    }

    /// The usable endpoint of `kind` (Interface / Gateway) for a service of this region.
    pub fn endpoint(
        &self,
        short: &str,
        kind: &str,
    ) -> Result<Option<&'a VpcEndpoint>, GatherError> {
        Ok(self.endpoints()?.iter().find(|e| {
            self.serves(e, short)
                && e.endpoint_type.eq_ignore_ascii_case(kind)
                && endpoint_usable(&e.state)
        }))
    }

    /// Private ECR images of the task: (container, image, registry region).
    pub fn ecr_images(&self) -> Result<Vec<(String, String, String)>, GatherError> {
        Ok(self
            .task_definition()?
            .containers
            .iter()
            .filter_map(|c| {
                image::parse(&c.image)
                    .ecr()
                    .filter(|r| !r.dualstack)
                    .map(|r| (c.name.clone(), c.image.clone(), r.region))
            })
            .collect())
    }

    /// Does the platform this task runs on fetch the ECR auth token through ecr.api?
    pub fn needs_ecr_api(&self) -> Result<bool, GatherError> {
        Ok(platform::resolve(&self.snap.workload, self.task_definition()?).needs_ecr_api)
    }

    /// Interface endpoint services this task uses, for the security group and NACL checks.
    pub fn interface_services(&self) -> Result<BTreeSet<String>, GatherError> {
        let td = self.task_definition()?;
        let mut services = BTreeSet::new();
        if !self.ecr_images()?.is_empty() {
            services.insert("ecr.dkr".to_string());
            if self.needs_ecr_api()? {
                services.insert("ecr.api".to_string());
            }
        }
        for c in &td.containers {
            if c.log_configuration
                .as_ref()
                .is_some_and(|l| l.log_driver == "awslogs")
            {
                services.insert("logs".into());
            }
        }
        for secret in secret_uses(td) {
            services.insert(secret.service.to_string());
        }
        if self.snap.workload.enable_execute_command {
            services.insert("ssmmessages".into());
        }
        Ok(services)
    }

    /// Private DNS names of interface endpoints resolve only with both VPC DNS attributes on.
    pub fn private_dns_resolves(&self) -> Result<bool, GatherError> {
        let net = self.network()?;
        Ok(*net.dns_support.get()? && *net.dns_hostnames.get()?)
    }

    /// The S3 gateway endpoints of this region's S3 (a VPC may have several, on different tables).
    pub fn s3_gateways(&self) -> Result<Vec<&'a VpcEndpoint>, GatherError> {
        Ok(self
            .endpoints()?
            .iter()
            .filter(|e| {
                self.serves(e, "s3")
                    && e.endpoint_type.eq_ignore_ascii_case("Gateway")
                    && endpoint_usable(&e.state)
            })
            .collect())
    }

    /// The S3 gateway on this subnet's effective route table, if any.
    pub fn s3_gateway_for(&self, ts: &TaskSubnet) -> Result<Option<&'a VpcEndpoint>, GatherError> {
        Ok(self.s3_gateways()?.into_iter().find(|g| {
            g.route_table_ids.contains(&ts.route_table.id)
                || ts.route_table.routes.iter().any(|r| r.target == g.id)
        }))
    }

    /// The task's security groups; with none configured, ECS uses the VPC's default group.
    pub fn task_security_groups(&self) -> Result<Vec<String>, GatherError> {
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

    /// What only a path out can serve: images outside this region's private ECR (VPC endpoints
    /// do not serve other registries) and calls to AWS services in other regions.
    pub fn internet_only_uses(&self) -> Result<Vec<String>, GatherError> {
        let td = self.task_definition()?;
        let region = self.region();
        let mut uses = Vec::new();
        for c in &td.containers {
            match image::parse(&c.image).ecr() {
                None => uses.push(format!("container {} image {}", c.name, c.image)),
                Some(ecr) if ecr.region != region => uses.push(format!(
                    "container {} image {} (ECR in {})",
                    c.name, c.image, ecr.region
                )),
                Some(ecr) if ecr.dualstack => uses.push(format!(
                    "container {} image {} (ECR's dual-stack endpoint, which PrivateLink does not serve)",
                    c.name, c.image
                )),
                Some(_) => {}
            }
            if let Some(log) = &c.log_configuration {
                let log_region = log.options.get("awslogs-region");
                if log.log_driver == "awslogs" && log_region.is_some_and(|r| r != region) {
                    uses.push(format!(
                        "container {} logs (CloudWatch Logs in {})",
                        c.name,
                        log_region.map(String::as_str).unwrap_or_default()
                    ));
                }
            }
        }
        for secret in secret_uses(td) {
            if !secret.region.is_empty() && secret.region != region {
                uses.push(format!(
                    "secret {} ({} in {})",
                    secret.what, secret.service, secret.region
                ));
            }
        }
        Ok(uses)
    }

    /// True when the task reads anything from S3 (ECR layers, environment files).
    pub fn uses_s3(&self) -> Result<bool, GatherError> {
        let td = self.task_definition()?;
        Ok(!self.ecr_images()?.is_empty()
            || td
                .containers
                .iter()
                .any(|c| !c.environment_files.is_empty()))
    }
}

/// A secret the task reads at start-up.
pub struct SecretUse {
    /// `secretsmanager` or `ssm`.
    pub service: &'static str,
    /// Empty when it is the task's own region (a bare parameter name).
    pub region: String,
    /// "container/NAME".
    pub what: String,
    pub value_from: String,
}

/// Secrets the task references: container secrets, log driver secrets, registry credentials.
pub fn secret_uses(td: &TaskDefinition) -> Vec<SecretUse> {
    let mut uses = Vec::new();
    for c in &td.containers {
        let log_secrets = c
            .log_configuration
            .iter()
            .flat_map(|l| l.secret_options.iter());
        for s in c.secrets.iter().chain(log_secrets) {
            let (service, region) = secret_source(&s.value_from);
            uses.push(SecretUse {
                service,
                region,
                what: format!("{}/{}", c.name, s.name),
                value_from: s.value_from.clone(),
            });
        }
        if let Some(arn) = &c.repository_credentials {
            let (_, region) = secret_source(arn);
            uses.push(SecretUse {
                service: "secretsmanager",
                region,
                what: format!("{}/repositoryCredentials", c.name),
                value_from: arn.clone(),
            });
        }
    }
    uses
}

/// The service and region of a secret reference; an empty region means the task's region.
fn secret_source(value_from: &str) -> (&'static str, String) {
    let parts: Vec<&str> = value_from.splitn(6, ':').collect();
    if parts.len() >= 4 && parts[0] == "arn" {
        let service = if parts[2] == "secretsmanager" {
            "secretsmanager"
        } else {
            "ssm"
        };
        return (service, parts[3].to_string());
    }
    // A bare name refers to an SSM parameter in the task's region.
    ("ssm", String::new())
}

fn more_specific_public_route(table: &RouteTable) -> Option<&crate::snapshot::Route> {
    table.routes.iter().find(|r| {
        r.target != "local"
            && r.destination_cidr
                .is_some_and(|c| c.prefix_len() > 0 && !private_range(&c))
    })
}

fn default_route(table: &RouteTable) -> Option<&crate::snapshot::Route> {
    table
        .routes
        .iter()
        .find(|r| r.destination_cidr.is_some_and(|c| c.prefix_len() == 0))
}
