//! Facts several checks share, derived from the snapshot: each task subnet's effective route
//! table and path out, the AWS services the task definition needs, the endpoints serving them.

use std::collections::BTreeSet;

use crate::image;
use crate::snapshot::{
    EndpointState, EndpointType, Network, RouteTable, Snapshot, Subnet, TaskDefinition, VpcEndpoint,
};

use super::platform;
use super::Problem;
pub use crate::facts::path::Egress;
use crate::facts::path::{table_of, Paths};

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

/// A service's interface endpoints in the VPC.
pub struct ServiceEndpoints<'a> {
    /// The endpoint whose private DNS answers for the service name (CreateVpcEndpoint
    /// `PrivateDnsEnabled`): the one SDKs and the Fargate agent reach.
    pub owner: Option<&'a VpcEndpoint>,
    /// Every usable interface endpoint of the service, the owner included.
    pub all: Vec<&'a VpcEndpoint>,
}

impl<'a> ServiceEndpoints<'a> {
    /// The endpoint to report on: the owner, else the first one (whose private DNS is off).
    pub fn main(&self) -> Option<&'a VpcEndpoint> {
        self.owner.or_else(|| self.all.first().copied())
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

    pub fn task_definition(&self) -> Result<&'a TaskDefinition, Problem> {
        Ok(self.snap.task_definition.get()?)
    }

    pub fn network(&self) -> Result<&'a Network, Problem> {
        Ok(self.snap.network.get()?)
    }

    pub fn vpc_id(&self) -> Result<&'a str, Problem> {
        Ok(&self.network()?.vpc_id)
    }

    /// `com.amazonaws.REGION.SERVICE`, the name a VPC endpoint for SERVICE carries.
    pub fn service_name(&self, short: &str) -> String {
        format!("com.amazonaws.{}.{short}", self.region())
    }

    pub fn task_subnets(&self) -> Result<Vec<TaskSubnet<'a>>, Problem> {
        let net = self.network()?;
        let subnets = net.subnets.get()?;
        let tables = net.route_tables.get()?;
        self.snap
            .workload
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

    /// Where a task subnet's route table sends traffic for AWS's public endpoints.
    pub fn egress(&self, table: &RouteTable) -> Result<Egress, Problem> {
        Ok(Paths {
            net: self.network()?,
            assign_public_ip: self.snap.workload.assign_public_ip,
        }
        .egress(table)?)
    }

    pub fn dependence<'s>(&self, subnets: &'s [TaskSubnet<'s>]) -> Result<Dependence<'s>, Problem> {
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

    pub fn endpoints(&self) -> Result<&'a [VpcEndpoint], Problem> {
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
        kind: EndpointType,
    ) -> Result<Option<&'a VpcEndpoint>, Problem> {
        Ok(self
            .endpoints()?
            .iter()
            .find(|e| self.serves(e, short) && e.endpoint_type == kind && e.state.usable()))
    }

    /// The usable interface endpoints of a service, and which of them owns its name.
    pub fn interface_endpoints(&self, short: &str) -> Result<ServiceEndpoints<'a>, Problem> {
        let all: Vec<&'a VpcEndpoint> = self
            .endpoints()?
            .iter()
            .filter(|e| {
                self.serves(e, short)
                    && e.endpoint_type == EndpointType::Interface
                    && e.state.usable()
            })
            .collect();
        // EC2 lets one endpoint per service and VPC enable private DNS ("conflicting DNS
        // domain" otherwise); should a snapshot show several, the available one is taken.
        let named = all.iter().copied().filter(|e| e.private_dns_enabled);
        let owner = named
            .clone()
            .find(|e| e.state == EndpointState::Available)
            .or_else(|| named.clone().next());
        Ok(ServiceEndpoints { owner, all })
    }

    /// The interface endpoint that carries the task's traffic for a service: the one whose
    /// private DNS owns the service name, when the VPC's DNS attributes let it resolve.
    pub fn endpoint_in_path(&self, short: &str) -> Result<Option<&'a VpcEndpoint>, Problem> {
        match self.interface_endpoints(short)?.owner {
            Some(e) if self.private_dns_resolves()? => Ok(Some(e)),
            _ => Ok(None),
        }
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

    /// Private ECR images of the task: (container, image, registry region).
    pub fn ecr_images(&self) -> Result<Vec<(String, String, String)>, Problem> {
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
    pub fn needs_ecr_api(&self) -> Result<bool, Problem> {
        Ok(platform::resolve(&self.snap.workload, self.task_definition()?).needs_ecr_api)
    }

    /// Interface endpoint services this task uses, for the security group and NACL checks.
    pub fn interface_services(&self) -> Result<BTreeSet<String>, Problem> {
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
    pub fn private_dns_resolves(&self) -> Result<bool, Problem> {
        let net = self.network()?;
        Ok(*net.dns_support.get()? && *net.dns_hostnames.get()?)
    }

    /// The S3 gateway endpoints of this region's S3 (a VPC may have several, on different tables).
    pub fn s3_gateways(&self) -> Result<Vec<&'a VpcEndpoint>, Problem> {
        Ok(self
            .endpoints()?
            .iter()
            .filter(|e| {
                self.serves(e, "s3") && e.endpoint_type == EndpointType::Gateway && e.state.usable()
            })
            .collect())
    }

    /// The S3 gateway on this subnet's effective route table, if any.
    pub fn s3_gateway_for(&self, ts: &TaskSubnet) -> Result<Option<&'a VpcEndpoint>, Problem> {
        Ok(self.s3_gateways()?.into_iter().find(|g| {
            g.route_table_ids.contains(&ts.route_table.id)
                || ts.route_table.routes.iter().any(|r| r.target == g.id)
        }))
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

    /// What only a path out can serve: images outside this region's private ECR (VPC endpoints
    /// do not serve other registries) and calls to AWS services in other regions.
    pub fn internet_only_uses(&self) -> Result<Vec<String>, Problem> {
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
    pub fn uses_s3(&self) -> Result<bool, Problem> {
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
