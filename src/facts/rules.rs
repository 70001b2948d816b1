//! The security group and network ACL rule sets of a resource: the rules of a set of groups in
//! one direction, the CIDRs of subnets, the NACL a subnet uses.

use ipnet::IpNet;

use crate::snapshot::{NetworkAcl, SecurityGroup, SgRule, Subnet};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Ingress,
    Egress,
}

/// The groups with these ids, or the first id that is not in `all`.
pub fn find_groups<'a>(
    all: &'a [SecurityGroup],
    ids: &'a [String],
) -> Result<Vec<&'a SecurityGroup>, &'a str> {
    ids.iter()
        .map(|id| all.iter().find(|g| &g.id == id).ok_or(id.as_str()))
        .collect()
}

/// Every rule of `groups` in one direction (a flow is allowed when any of them allows it).
pub fn rules_of(groups: &[&SecurityGroup], direction: Direction) -> Vec<SgRule> {
    groups
        .iter()
        .flat_map(|g| match direction {
            Direction::Ingress => &g.ingress,
            Direction::Egress => &g.egress,
        })
        .cloned()
        .collect()
}

/// The address blocks of the subnets with these ids (those the snapshot holds) that traffic
/// of one family uses: their IPv4 CIDRs, or with `ipv6` their IPv6 CIDRs.
pub fn subnet_cidrs(subnets: &[Subnet], ids: &[String], ipv6: bool) -> Vec<IpNet> {
    subnets
        .iter()
        .filter(|s| ids.contains(&s.id))
        .flat_map(|s| s.nets(ipv6))
        .collect()
}

/// The network ACL a subnet uses: its explicit association, else the VPC's default ACL.
pub fn acl_of<'a>(acls: &'a [NetworkAcl], subnet: &str) -> Option<&'a NetworkAcl> {
    acls.iter()
        .find(|a| a.subnet_ids.iter().any(|s| s == subnet))
        .or_else(|| acls.iter().find(|a| a.is_default))
}
