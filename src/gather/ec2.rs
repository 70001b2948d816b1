//! EC2: the VPC around the task subnets. VPC-wide describes use the `vpc-id` filter, so each
//! kind of resource costs one (paginated) call no matter how many the checks look at.

use std::collections::BTreeSet;
use std::str::FromStr;

use aws_sdk_ec2::types::{Filter, VpcAttributeName};
use aws_sdk_ec2::Client;
use ipnet::{Ipv4Net, Ipv6Net};

use super::calls::{later_wave, Limited};
use super::errors::{classify, skipped};
use crate::snapshot::{
    BlockPublicAccess, BpaExclusion, DhcpOptions, EndpointState, EndpointType, Fetched,
    GatherError, GatherErrorKind, InternetGateway, NaclEntry, NatGateway, NatState, Network,
    NetworkAcl, PrefixList, Route, RouteTable, SecurityGroup, SgRule, Subnet, Vpc, VpcEndpoint,
};

/// Every page of a paginated describe, each item mapped into the snapshot's own type
/// (`Option`: items missing their id are dropped), or the classified failure.
macro_rules! all_pages {
    ($action:literal, $request:expr, $map:expr) => {
        match $request
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .limited()
            .await
        {
            Ok(items) => Fetched::Ok(items.iter().filter_map($map).collect()),
            Err(err) => Fetched::failed(classify($action, &err)),
        }
    };
}

fn vpc_filter(name: &str, vpc_id: &str) -> Filter {
    Filter::builder().name(name).values(vpc_id).build()
}

fn cidr(text: Option<&str>) -> Option<Ipv4Net> {
    text.and_then(|t| Ipv4Net::from_str(t).ok())
}

fn cidr6(text: Option<&str>) -> Option<Ipv6Net> {
    text.and_then(|t| Ipv6Net::from_str(t).ok())
}

fn subnet(s: &aws_sdk_ec2::types::Subnet) -> Option<Subnet> {
    Some(Subnet {
        id: s.subnet_id()?.to_string(),
        vpc_id: s.vpc_id()?.to_string(),
        cidr: cidr(s.cidr_block()),
        ipv6_cidrs: s
            .ipv6_cidr_block_association_set()
            .iter()
            .filter(|a| {
                a.ipv6_cidr_block_state()
                    .and_then(|s| s.state())
                    .is_none_or(|s| s.as_str() == "associated")
            })
            .filter_map(|a| cidr6(a.ipv6_cidr_block()))
            .collect(),
        enable_dns64: s.enable_dns64().unwrap_or(false),
        availability_zone: s.availability_zone().map(str::to_string),
        map_public_ip_on_launch: s.map_public_ip_on_launch().unwrap_or(false),
        available_ips: s.available_ip_address_count(),
        ipv6_native: s.ipv6_native().unwrap_or(false),
        owner_id: s.owner_id().map(str::to_string),
    })
}

/// The task subnets of every service, to learn their VPCs. A filter, not an id list: a
/// deleted subnet of one service must not fail the call for all of them.
pub async fn describe_task_subnets(client: &Client, ids: &[String]) -> Fetched<Vec<Subnet>> {
    if ids.is_empty() {
        return Fetched::Ok(vec![]);
    }
    let filter = Filter::builder()
        .name("subnet-id")
        .set_values(Some(ids.to_vec()))
        .build();
    all_pages!(
        "ec2:DescribeSubnets",
        client.describe_subnets().filters(filter),
        subnet
    )
}

/// The Region's VPC Block Public Access mode and every exclusion, once per run; each VPC's
/// share is taken by `BlockPublicAccess::of_vpc`.
pub async fn block_public_access(client: &Client) -> Fetched<BlockPublicAccess> {
    let (options, exclusions) = tokio::join!(
        client
            .describe_vpc_block_public_access_options()
            .send()
            .limited(),
        bpa_exclusions(client)
    );
    let options = match options {
        Ok(out) => out,
        Err(err) => {
            return Fetched::failed(classify("ec2:DescribeVpcBlockPublicAccessOptions", &err))
        }
    };
    let exclusions = match exclusions {
        Ok(list) => list,
        Err(error) => return Fetched::failed(error),
    };
    let o = options.vpc_block_public_access_options();
    Fetched::Ok(BlockPublicAccess {
        mode: o
            .and_then(|o| o.internet_gateway_block_mode())
            .map_or("off", |m| m.as_str())
            .to_string(),
        state: o
            .and_then(|o| o.state())
            .map_or("default-state", |s| s.as_str())
            .to_string(),
        exclusions_allowed: o
            .and_then(|o| o.exclusions_allowed())
            .is_none_or(|e| e.as_str() != "not-allowed"),
        exclusions,
    })
}

/// The Region's mode with the exclusions of VPC `vpc_id` and its subnets (all subnet
/// exclusions when the VPC's subnets are unknown).
fn of_vpc(
    all: &BlockPublicAccess,
    vpc_id: &str,
    subnets: &Fetched<Vec<Subnet>>,
) -> BlockPublicAccess {
    let mine = |id: &str| {
        id == vpc_id
            || match subnets.ok() {
                Ok(list) => list.iter().any(|s| s.id == id),
                Err(_) => id.starts_with("subnet-"),
            }
    };
    BlockPublicAccess {
        exclusions: all
            .exclusions
            .iter()
            .filter(|e| mine(&e.resource_id))
            .cloned()
            .collect(),
        ..all.clone()
    }
}

/// Every exclusion, page by page (the operation has no SDK paginator).
async fn bpa_exclusions(client: &Client) -> Result<Vec<BpaExclusion>, GatherError> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = client
            .describe_vpc_block_public_access_exclusions()
            .set_next_token(token.clone())
            .send()
            .limited()
            .await
            .map_err(|err| classify("ec2:DescribeVpcBlockPublicAccessExclusions", &err))?;
        out.extend(
            page.vpc_block_public_access_exclusions()
                .iter()
                .filter_map(|e| {
                    Some(BpaExclusion {
                        id: e.exclusion_id()?.to_string(),
                        resource_id: e.resource_arn()?.rsplit('/').next()?.to_string(),
                        mode: e.internet_gateway_exclusion_mode()?.as_str().to_string(),
                        state: e.state().map_or("", |s| s.as_str()).to_string(),
                    })
                }),
        );
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            return Ok(out);
        }
    }
}

/// Everything about one VPC: one call per kind of resource, then what those point at.
pub async fn gather_network(
    client: &Client,
    region: &str,
    vpc_id: &str,
    bpa: &Fetched<BlockPublicAccess>,
) -> Network {
    let vpc_id = vpc_id.to_string();
    let v = vpc_id.as_str();

    // Wave 2: every VPC-wide describe at once. Wave 3 follows each chain as soon as its
    // input arrives: the DHCP options after the VPC, prefix list entries after the SGs.
    let vpc_and_dhcp = async {
        let vpc = describe_vpc(client, v).await;
        let dhcp = later_wave(1, describe_dhcp_options(client, &vpc)).await;
        (vpc, dhcp)
    };
    let groups_tables_and_lists = async {
        let (groups, tables, lists) = tokio::join!(
            describe_security_groups(client, v),
            describe_route_tables(client, v),
            describe_managed_prefix_lists(client)
        );
        let lists = later_wave(
            1,
            prefix_list_entries(client, region, lists, &groups, &tables),
        )
        .await;
        (groups, tables, lists)
    };
    let (
        (vpc, dhcp_options),
        (security_groups, route_tables, prefix_lists),
        dns_support,
        dns_hostnames,
        subnets,
        nat_gateways,
        internet_gateways,
        vpc_endpoints,
        network_acls,
    ) = tokio::join!(
        vpc_and_dhcp,
        groups_tables_and_lists,
        vpc_attribute(client, v, VpcAttributeName::EnableDnsSupport),
        vpc_attribute(client, v, VpcAttributeName::EnableDnsHostnames),
        describe_vpc_subnets(client, v),
        describe_nat_gateways(client, v),
        describe_internet_gateways(client, v),
        describe_vpc_endpoints(client, v),
        describe_network_acls(client, v),
    );

    let block_public_access = bpa.map(|b| of_vpc(b, v, &subnets));
    Network {
        vpc_id,
        vpc,
        dns_support,
        dns_hostnames,
        dhcp_options,
        subnets,
        route_tables,
        nat_gateways,
        internet_gateways,
        vpc_endpoints,
        security_groups,
        network_acls,
        prefix_lists,
        block_public_access,
        read_by: None,
    }
}

async fn describe_vpc(client: &Client, vpc_id: &str) -> Fetched<Vpc> {
    match client
        .describe_vpcs()
        .vpc_ids(vpc_id)
        .send()
        .limited()
        .await
    {
        Ok(out) => match out.vpcs().first() {
            Some(vpc) => {
                let mut cidr_blocks: Vec<Ipv4Net> = vpc
                    .cidr_block_association_set()
                    .iter()
                    .filter(|a| {
                        a.cidr_block_state()
                            .and_then(|s| s.state())
                            .is_none_or(|s| s.as_str() == "associated")
                    })
                    .filter_map(|a| cidr(a.cidr_block()))
                    .collect();
                if cidr_blocks.is_empty() {
                    cidr_blocks.extend(cidr(vpc.cidr_block()));
                }
                Fetched::Ok(Vpc {
                    id: vpc_id.to_string(),
                    cidr_blocks,
                    dhcp_options_id: vpc.dhcp_options_id().map(str::to_string),
                })
            }
            None => Fetched::failed(GatherError {
                action: "ec2:DescribeVpcs".into(),
                kind: GatherErrorKind::NotFound,
                message: format!("{vpc_id} not found"),
            }),
        },
        Err(err) => Fetched::failed(classify("ec2:DescribeVpcs", &err)),
    }
}

async fn vpc_attribute(client: &Client, vpc_id: &str, name: VpcAttributeName) -> Fetched<bool> {
    let support = name == VpcAttributeName::EnableDnsSupport;
    match client
        .describe_vpc_attribute()
        .vpc_id(vpc_id)
        .attribute(name)
        .send()
        .limited()
        .await
    {
        Ok(out) => {
            let value = if support {
                out.enable_dns_support()
            } else {
                out.enable_dns_hostnames()
            };
            match value.and_then(|v| v.value()) {
                Some(v) => Fetched::Ok(v),
                None => Fetched::failed(GatherError {
                    action: "ec2:DescribeVpcAttribute".into(),
                    kind: GatherErrorKind::Unavailable,
                    message: "the answer did not contain the attribute".into(),
                }),
            }
        }
        Err(err) => Fetched::failed(classify("ec2:DescribeVpcAttribute", &err)),
    }
}

async fn describe_vpc_subnets(client: &Client, vpc_id: &str) -> Fetched<Vec<Subnet>> {
    all_pages!(
        "ec2:DescribeSubnets",
        client
            .describe_subnets()
            .filters(vpc_filter("vpc-id", vpc_id)),
        subnet
    )
}

fn route(r: &aws_sdk_ec2::types::Route) -> Route {
    let target = [
        r.gateway_id(),
        r.nat_gateway_id(),
        r.transit_gateway_id(),
        r.vpc_peering_connection_id(),
        r.network_interface_id(),
        r.instance_id(),
        r.egress_only_internet_gateway_id(),
        r.local_gateway_id(),
        r.carrier_gateway_id(),
        r.core_network_arn(),
    ]
    .into_iter()
    .flatten()
    .next()
    .unwrap_or("unknown")
    .to_string();
    Route {
        destination_cidr: cidr(r.destination_cidr_block()),
        destination_ipv6_cidr: cidr6(r.destination_ipv6_cidr_block()),
        destination_prefix_list_id: r.destination_prefix_list_id().map(str::to_string),
        target,
        state: r.state().map(|s| s.as_str().into()),
    }
}

fn route_table(t: &aws_sdk_ec2::types::RouteTable) -> Option<RouteTable> {
    let associated = |a: &&aws_sdk_ec2::types::RouteTableAssociation| {
        a.association_state()
            .and_then(|s| s.state())
            .is_none_or(|s| s.as_str() == "associated")
    };
    Some(RouteTable {
        id: t.route_table_id()?.to_string(),
        is_main: t.associations().iter().any(|a| a.main() == Some(true)),
        subnet_ids: t
            .associations()
            .iter()
            .filter(associated)
            .filter_map(|a| a.subnet_id().map(str::to_string))
            .collect(),
        routes: t.routes().iter().map(route).collect(),
    })
}

async fn describe_route_tables(client: &Client, vpc_id: &str) -> Fetched<Vec<RouteTable>> {
    all_pages!(
        "ec2:DescribeRouteTables",
        client
            .describe_route_tables()
            .filters(vpc_filter("vpc-id", vpc_id)),
        route_table
    )
}

fn nat_gateway(n: &aws_sdk_ec2::types::NatGateway) -> Option<NatGateway> {
    Some(NatGateway {
        id: n.nat_gateway_id()?.to_string(),
        subnet_id: n.subnet_id().map(str::to_string),
        state: n
            .state()
            .map_or(NatState::Other(String::new()), |s| s.as_str().into()),
        connectivity_type: n.connectivity_type().map(|c| c.as_str().into()),
    })
}

async fn describe_nat_gateways(client: &Client, vpc_id: &str) -> Fetched<Vec<NatGateway>> {
    all_pages!(
        "ec2:DescribeNatGateways",
        client
            .describe_nat_gateways()
            .filter(vpc_filter("vpc-id", vpc_id)),
        nat_gateway
    )
}

async fn describe_internet_gateways(
    client: &Client,
    vpc_id: &str,
) -> Fetched<Vec<InternetGateway>> {
    all_pages!(
        "ec2:DescribeInternetGateways",
        client
            .describe_internet_gateways()
            .filters(vpc_filter("attachment.vpc-id", vpc_id)),
        |g: &aws_sdk_ec2::types::InternetGateway| Some(InternetGateway {
            id: g.internet_gateway_id()?.to_string(),
            attachment_state: g
                .attachments()
                .iter()
                .find(|a| a.vpc_id() == Some(vpc_id))
                .and_then(|a| a.state())
                .map(|s| s.as_str().into()),
        })
    )
}

fn vpc_endpoint(e: &aws_sdk_ec2::types::VpcEndpoint) -> Option<VpcEndpoint> {
    Some(VpcEndpoint {
        id: e.vpc_endpoint_id()?.to_string(),
        service_name: e.service_name().unwrap_or_default().to_string(),
        endpoint_type: e
            .vpc_endpoint_type()
            .map_or(EndpointType::Other(String::new()), |t| t.as_str().into()),
        state: e
            .state()
            .map_or(EndpointState::Other(String::new()), |s| s.as_str().into()),
        private_dns_enabled: e.private_dns_enabled().unwrap_or(false),
        subnet_ids: e.subnet_ids().to_vec(),
        route_table_ids: e.route_table_ids().to_vec(),
        security_group_ids: e
            .groups()
            .iter()
            .filter_map(|g| g.group_id().map(str::to_string))
            .collect(),
        policy_document: e.policy_document().map(str::to_string),
        service_region: e.service_region().map(str::to_string),
        ip_address_type: e.ip_address_type().map(|t| t.as_str().to_string()),
        dns_record_ip_type: e
            .dns_options()
            .and_then(|d| d.dns_record_ip_type())
            .map(|t| t.as_str().to_string()),
    })
}

async fn describe_vpc_endpoints(client: &Client, vpc_id: &str) -> Fetched<Vec<VpcEndpoint>> {
    all_pages!(
        "ec2:DescribeVpcEndpoints",
        client
            .describe_vpc_endpoints()
            .filters(vpc_filter("vpc-id", vpc_id)),
        vpc_endpoint
    )
}

fn sg_rule(p: &aws_sdk_ec2::types::IpPermission) -> SgRule {
    SgRule {
        protocol: p.ip_protocol().unwrap_or("-1").into(),
        from_port: p.from_port(),
        to_port: p.to_port(),
        cidrs: p
            .ip_ranges()
            .iter()
            .filter_map(|r| cidr(r.cidr_ip()))
            .collect(),
        ipv6_cidrs: p
            .ipv6_ranges()
            .iter()
            .filter_map(|r| cidr6(r.cidr_ipv6()))
            .collect(),
        security_group_ids: p
            .user_id_group_pairs()
            .iter()
            .filter_map(|g| g.group_id().map(str::to_string))
            .collect(),
        prefix_list_ids: p
            .prefix_list_ids()
            .iter()
            .filter_map(|p| p.prefix_list_id().map(str::to_string))
            .collect(),
    }
}

fn security_group(g: &aws_sdk_ec2::types::SecurityGroup) -> Option<SecurityGroup> {
    Some(SecurityGroup {
        id: g.group_id()?.to_string(),
        name: g.group_name().map(str::to_string),
        ingress: g.ip_permissions().iter().map(sg_rule).collect(),
        egress: g.ip_permissions_egress().iter().map(sg_rule).collect(),
    })
}

async fn describe_security_groups(client: &Client, vpc_id: &str) -> Fetched<Vec<SecurityGroup>> {
    all_pages!(
        "ec2:DescribeSecurityGroups",
        client
            .describe_security_groups()
            .filters(vpc_filter("vpc-id", vpc_id)),
        security_group
    )
}

fn network_acl(acl: &aws_sdk_ec2::types::NetworkAcl) -> Option<NetworkAcl> {
    Some(NetworkAcl {
        id: acl.network_acl_id()?.to_string(),
        is_default: acl.is_default().unwrap_or(false),
        subnet_ids: acl
            .associations()
            .iter()
            .filter_map(|a| a.subnet_id().map(str::to_string))
            .collect(),
        entries: acl
            .entries()
            .iter()
            .map(|e| NaclEntry {
                rule_number: e.rule_number().unwrap_or(32767),
                egress: e.egress().unwrap_or(false),
                protocol: e.protocol().unwrap_or("-1").into(),
                allow: e.rule_action().is_some_and(|a| a.as_str() == "allow"),
                cidr: cidr(e.cidr_block()),
                ipv6_cidr: cidr6(e.ipv6_cidr_block()),
                from_port: e.port_range().and_then(|p| p.from()),
                to_port: e.port_range().and_then(|p| p.to()),
            })
            .collect(),
    })
}

async fn describe_network_acls(client: &Client, vpc_id: &str) -> Fetched<Vec<NetworkAcl>> {
    all_pages!(
        "ec2:DescribeNetworkAcls",
        client
            .describe_network_acls()
            .filters(vpc_filter("vpc-id", vpc_id)),
        network_acl
    )
}

/// All prefix lists visible in the region (AWS-managed service lists and the account's own):
/// one call gives the S3 list's id and the names of lists SG rules reference.
async fn describe_managed_prefix_lists(client: &Client) -> Fetched<Vec<(PrefixList, bool)>> {
    all_pages!(
        "ec2:DescribeManagedPrefixLists",
        client.describe_managed_prefix_lists(),
        |p: &aws_sdk_ec2::types::ManagedPrefixList| {
            let list = PrefixList {
                id: p.prefix_list_id()?.to_string(),
                name: p.prefix_list_name().unwrap_or_default().to_string(),
                cidrs: vec![],
            };
            Some((list, p.owner_id() == Some("AWS")))
        }
    )
}

/// Wave 3: entries of the customer-managed lists that security group rules and routes
/// reference (a prefix-list route takes part in longest prefix match with its entries).
async fn prefix_list_entries(
    client: &Client,
    region: &str,
    lists: Fetched<Vec<(PrefixList, bool)>>,
    security_groups: &Fetched<Vec<SecurityGroup>>,
    route_tables: &Fetched<Vec<RouteTable>>,
) -> Fetched<Vec<PrefixList>> {
    let lists = match lists {
        Fetched::Ok(lists) => lists,
        Fetched::Failed { error } => return Fetched::failed(error),
    };
    let mut referenced: BTreeSet<&str> = match security_groups.ok() {
        Ok(groups) => groups
            .iter()
            .flat_map(|g| g.ingress.iter().chain(&g.egress))
            .flat_map(|r| r.prefix_list_ids.iter().map(String::as_str))
            .collect(),
        Err(_) => BTreeSet::new(),
    };
    if let Ok(tables) = route_tables.ok() {
        referenced.extend(
            tables
                .iter()
                .flat_map(|t| &t.routes)
                .filter_map(|r| r.destination_prefix_list_id.as_deref()),
        );
    }
    let s3_name = format!("com.amazonaws.{region}.s3");
    let wanted: Vec<(PrefixList, bool)> = lists
        .into_iter()
        .filter(|(p, _)| p.name == s3_name || referenced.contains(p.id.as_str()))
        .collect();
    let fetches = wanted.into_iter().map(|(mut list, aws_owned)| async move {
        if aws_owned {
            return Ok(list);
        }
        let entries = client
            .get_managed_prefix_list_entries()
            .prefix_list_id(&list.id)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .limited()
            .await
            .map_err(|err| classify("ec2:GetManagedPrefixListEntries", &err))?;
        list.cidrs = entries.iter().filter_map(|e| cidr(e.cidr())).collect();
        Ok(list)
    });
    match futures::future::join_all(fetches)
        .await
        .into_iter()
        .collect::<Result<Vec<_>, GatherError>>()
    {
        Ok(lists) => Fetched::Ok(lists),
        Err(error) => Fetched::failed(error),
    }
}

async fn describe_dhcp_options(client: &Client, vpc: &Fetched<Vpc>) -> Fetched<DhcpOptions> {
    let vpc = match vpc.ok() {
        Ok(vpc) => vpc,
        Err(error) => return Fetched::failed(skipped("ec2:DescribeDhcpOptions", error)),
    };
    let id = match vpc.dhcp_options_id.as_deref() {
        None | Some("default") => {
            return Fetched::Ok(DhcpOptions {
                id: "default".into(),
                domain_name_servers: vec!["AmazonProvidedDNS".into()],
            })
        }
        Some(id) => id,
    };
    match client
        .describe_dhcp_options()
        .dhcp_options_ids(id)
        .send()
        .limited()
        .await
    {
        Ok(out) => {
            let servers = out
                .dhcp_options()
                .first()
                .map(|o| {
                    o.dhcp_configurations()
                        .iter()
                        .filter(|c| c.key() == Some("domain-name-servers"))
                        .flat_map(|c| c.values().iter().filter_map(|v| v.value()))
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            Fetched::Ok(DhcpOptions {
                id: id.to_string(),
                domain_name_servers: servers,
            })
        }
        Err(err) => Fetched::failed(classify("ec2:DescribeDhcpOptions", &err)),
    }
}
