//! Which VPC endpoints serve the task: a service's interface endpoints and the one whose
//! private DNS owns its name, the S3 gateway on a route table, and so where each service the
//! task uses is reached from a subnet (an endpoint, the S3 gateway, or the internet).

use std::collections::{BTreeMap, BTreeSet};

use super::path::Egress;
use crate::snapshot::{EndpointState, EndpointType, GatherError, Network, RouteTable, VpcEndpoint};

/// The services whose interface endpoints can reach another Region ("Cross-region enabled
/// AWS services", PrivateLink guide: aws-services-cross-region-privatelink-support.html). Of
/// what a task uses, CloudWatch Logs, Secrets Manager, SSM and ssmmessages are not among them.
pub const CROSS_REGION_SERVICES: [&str; 9] = [
    "s3",
    "ecr.api",
    "ecr.dkr",
    "kms",
    "kms-fips",
    "ecs",
    "lambda",
    "kinesis-firehose",
    "kinesisanalytics",
];

/// Is `endpoint` for SERVICE of `region`? China names it `cn.com.amazonaws.…`. A cross-Region
/// endpoint carries the other Region's service name and, as ServiceRegion, that Region.
fn serves_in(endpoint: &VpcEndpoint, short: &str, region: &str) -> bool {
    let wanted = service_name(region, short);
    (endpoint.service_name == wanted
        || endpoint.service_name.strip_prefix("cn.") == Some(wanted.as_str()))
        && endpoint
            .service_region
            .as_deref()
            .is_none_or(|r| r == region)
}

/// `com.amazonaws.REGION.SERVICE`, the name a VPC endpoint for SERVICE carries.
pub fn service_name(region: &str, short: &str) -> String {
    format!("com.amazonaws.{region}.{short}")
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

/// Where the task's HTTPS traffic for an AWS service goes from one subnet.
#[derive(Clone)]
pub enum Destination<'a> {
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

impl Destination<'_> {
    pub fn key(&self) -> String {
        match self {
            Destination::Endpoint { endpoint, service } => format!("{} ({service})", endpoint.id),
            Destination::S3Gateway { gateway } => format!("{} (s3)", gateway.id),
            Destination::Internet { .. } => "internet".to_string(),
        }
    }
}

/// The endpoints of one VPC, seen from a region.
pub struct VpcEndpoints<'a> {
    pub net: &'a Network,
    pub region: &'a str,
    /// The task is in IPv6-only subnets: only endpoints that answer over IPv6 serve it.
    pub ipv6_only: bool,
}

/// Does `endpoint` answer a task that has only an IPv6 address? An interface endpoint's
/// private DNS name gets AAAA records only with DnsRecordIpType `ipv6` or `dualstack`
/// (`service-defined` gives AAAA records to its Regional and zonal names only: EC2 API
/// reference, DnsOptionsSpecification; CDK VpcEndpointDnsRecordIpType); a gateway endpoint
/// takes IPv6 traffic with IpAddressType `ipv6` or `dualstack`.
pub fn serves_ipv6(endpoint: &VpcEndpoint) -> bool {
    let any = |v: Option<&str>| matches!(v, Some("ipv6" | "dualstack"));
    match endpoint.endpoint_type {
        EndpointType::Gateway => any(endpoint.ip_address_type.as_deref()),
        _ => any(endpoint.dns_record_ip_type.as_deref()),
    }
}

impl<'a> VpcEndpoints<'a> {
    pub fn service_name(&self, short: &str) -> String {
        service_name(self.region, short)
    }

    pub fn all(&self) -> Result<&'a [VpcEndpoint], GatherError> {
        Ok(self.net.vpc_endpoints.get()?.as_slice())
    }

    /// Is `endpoint` for SERVICE of this region?
    pub fn serves(&self, endpoint: &VpcEndpoint, short: &str) -> bool {
        serves_in(endpoint, short, self.region)
    }

    /// The usable endpoints of `kind` for a service of this region.
    fn usable(&self, short: &str, kind: EndpointType) -> Result<Vec<&'a VpcEndpoint>, GatherError> {
        self.usable_in(short, kind, self.region)
    }

    fn usable_in(
        &self,
        short: &str,
        kind: EndpointType,
        region: &str,
    ) -> Result<Vec<&'a VpcEndpoint>, GatherError> {
        Ok(self
            .all()?
            .iter()
            .filter(|e| serves_in(e, short, region) && e.endpoint_type == kind && e.state.usable())
            .filter(|e| !self.ipv6_only || serves_ipv6(e))
            .collect())
    }

    /// Interface endpoints of a service of this region that a task in IPv6-only subnets cannot
    /// use: their private DNS name has no AAAA record.
    pub fn ipv4_only_interface(&self, short: &str) -> Result<Vec<&'a VpcEndpoint>, GatherError> {
        if !self.ipv6_only {
            return Ok(vec![]);
        }
        Ok(self
            .all()?
            .iter()
            .filter(|e| {
                serves_in(e, short, self.region)
                    && e.endpoint_type == EndpointType::Interface
                    && e.state.usable()
                    && !serves_ipv6(e)
            })
            .collect())
    }

    /// The first usable endpoint of `kind` for a service.
    pub fn first(
        &self,
        short: &str,
        kind: EndpointType,
    ) -> Result<Option<&'a VpcEndpoint>, GatherError> {
        Ok(self.usable(short, kind)?.into_iter().next())
    }

    /// The usable interface endpoints of a service, and which of them owns its name.
    pub fn interface(&self, short: &str) -> Result<ServiceEndpoints<'a>, GatherError> {
        self.interface_in(short, self.region)
    }

    /// The usable interface endpoints of a service of `region` (another Region's through
    /// cross-Region PrivateLink), and which of them owns its name.
    pub fn interface_in(
        &self,
        short: &str,
        region: &str,
    ) -> Result<ServiceEndpoints<'a>, GatherError> {
        let all = self.usable_in(short, EndpointType::Interface, region)?;
        // EC2 lets one endpoint per service and VPC enable private DNS ("conflicting DNS
        // domain" otherwise); should a snapshot show several, the available one is taken.
        let named = all.iter().copied().filter(|e| e.private_dns_enabled);
        let owner = named
            .clone()
            .find(|e| e.state == EndpointState::Available)
            .or_else(|| named.clone().next());
        Ok(ServiceEndpoints { owner, all })
    }

    /// Private DNS names of interface endpoints resolve only with both VPC DNS attributes on.
    pub fn private_dns_resolves(&self) -> Result<bool, GatherError> {
        Ok(*self.net.dns_support.get()? && *self.net.dns_hostnames.get()?)
    }

    /// The interface endpoint that carries the task's traffic for a service: the one whose
    /// private DNS owns the service name, when the VPC's DNS attributes let it resolve.
    pub fn in_path(&self, short: &str) -> Result<Option<&'a VpcEndpoint>, GatherError> {
        self.in_path_in(short, self.region)
    }

    /// The interface endpoint that carries the task's traffic for a service of `region`.
    pub fn in_path_in(
        &self,
        short: &str,
        region: &str,
    ) -> Result<Option<&'a VpcEndpoint>, GatherError> {
        match self.interface_in(short, region)?.owner {
            Some(e) if self.private_dns_resolves()? => Ok(Some(e)),
            _ => Ok(None),
        }
    }

    /// The S3 gateway endpoints of this region's S3 (a VPC may have several, on different tables).
    pub fn s3_gateways(&self) -> Result<Vec<&'a VpcEndpoint>, GatherError> {
        self.usable("s3", EndpointType::Gateway)
    }

    /// The S3 gateway on a route table, if any.
    pub fn s3_gateway_on(
        &self,
        table: &RouteTable,
    ) -> Result<Option<&'a VpcEndpoint>, GatherError> {
        Ok(self.s3_gateways()?.into_iter().find(|g| {
            g.route_table_ids.contains(&table.id) || table.routes.iter().any(|r| r.target == g.id)
        }))
    }
}

/// What the task sends from one subnet, for the destinations to work out.
pub struct Traffic<'u> {
    pub interface_services: &'u BTreeSet<String>,
    /// Services of other Regions, as (service, Region).
    pub remote_services: &'u BTreeSet<(String, String)>,
    pub uses_s3: bool,
    pub internet_only: &'u [String],
}

impl<'a> VpcEndpoints<'a> {
    /// Where each service the task uses is reached from a subnet with `table` and `egress`,
    /// with the services that go each way. An endpoint in the path wins over the path out.
    pub fn destinations(
        &self,
        table: &RouteTable,
        egress: &Egress,
        traffic: &Traffic,
    ) -> Result<Vec<(Destination<'a>, Vec<String>)>, GatherError> {
        let can_leave = egress.has_path() || egress.unverified();
        let mut dests: BTreeMap<String, (Destination<'a>, Vec<String>)> = BTreeMap::new();
        let mut add = |dest: Destination<'a>, service: &str| {
            dests
                .entry(dest.key())
                .or_insert_with(|| (dest, vec![]))
                .1
                .push(service.to_string());
        };
        let nat_subnet = match egress {
            Egress::Nat { nat, .. } | Egress::Nat64 { nat, .. } => self
                .net
                .nat_gateways
                .get()?
                .iter()
                .find(|n| &n.id == nat)
                .and_then(|n| n.subnet_id.clone()),
            _ => None,
        };
        let internet = || Destination::Internet {
            via: egress.describe(),
            nat_subnet: nat_subnet.clone(),
        };
        for service in traffic.interface_services {
            match self.in_path(service)? {
                Some(endpoint) => add(
                    Destination::Endpoint {
                        service: service.clone(),
                        endpoint,
                    },
                    service,
                ),
                None if can_leave => add(internet(), service),
                None => {}
            }
        }
        for (service, region) in traffic.remote_services {
            let label = format!("{service} ({region})");
            match self.in_path_in(service, region)? {
                Some(endpoint) => add(
                    Destination::Endpoint {
                        service: label.clone(),
                        endpoint,
                    },
                    &label,
                ),
                None if can_leave => add(internet(), &label),
                None => {}
            }
        }
        if traffic.uses_s3 {
            match self.s3_gateway_on(table)? {
                Some(gateway) => add(Destination::S3Gateway { gateway }, "s3"),
                None if can_leave => add(internet(), "s3"),
                None => {}
            }
        }
        if can_leave {
            for what in traffic.internet_only {
                add(internet(), what);
            }
        }
        Ok(dests.into_values().collect())
    }
}
