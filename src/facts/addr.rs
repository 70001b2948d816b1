//! Address space: what is private, what is public, and whether a set of CIDRs covers a range
//! (union coverage, so 0.0.0.0/1 + 128.0.0.0/1 covers 0.0.0.0/0), in both address families.

use std::net::Ipv4Addr;

use ipnet::{IpNet, Ipv4Net, Ipv4Subnets, Ipv6Net};

/// IPv6 global unicast (RFC 4291): where AWS's public IPv6 endpoints are.
pub const GLOBAL_UNICAST: &str = "2000::/3";
/// The NAT64 well-known prefix (RFC 6052) that DNS64 synthesizes addresses in.
pub const NAT64_PREFIX: &str = "64:ff9b::/96";

pub fn global_unicast() -> Ipv6Net {
    GLOBAL_UNICAST.parse().expect("valid CIDR")
}

pub fn nat64_prefix() -> Ipv6Net {
    NAT64_PREFIX.parse().expect("valid CIDR")
}

/// Address space no AWS public endpoint uses (RFC 1918, shared, link-local).
const PRIVATE: [&str; 5] = [
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "169.254.0.0/16",
];

fn private_blocks() -> Vec<Ipv4Net> {
    PRIVATE
        .iter()
        .map(|p| p.parse().expect("valid CIDR"))
        .collect()
}

/// Is `net` entirely inside private address space?
pub fn private_range(net: &Ipv4Net) -> bool {
    private_blocks().iter().any(|p| p.contains(net))
}

/// Is `net` entirely inside private address space (for IPv6: unique local fc00::/7 and
/// link-local fe80::/10)?
pub fn private_net(net: &IpNet) -> bool {
    match net {
        IpNet::V4(v4) => private_range(v4),
        IpNet::V6(v6) => ["fc00::/7", "fe80::/10"]
            .iter()
            .any(|p| p.parse::<Ipv6Net>().expect("valid CIDR").contains(v6)),
    }
}

/// The public address space (everything outside `PRIVATE`) as CIDR blocks: where AWS's
/// public service endpoints may be.
pub fn public_blocks() -> Vec<Ipv4Net> {
    let mut private = private_blocks();
    private.sort();
    let mut blocks = Vec::new();
    let mut next = Some(Ipv4Addr::UNSPECIFIED);
    for p in private {
        if let Some(start) = next {
            if start < p.network() {
                let end = Ipv4Addr::from(u32::from(p.network()) - 1);
                blocks.extend(Ipv4Subnets::new(start, end, 0));
            }
        }
        next = u32::from(p.broadcast()).checked_add(1).map(Ipv4Addr::from);
    }
    if let Some(start) = next {
        blocks.extend(Ipv4Subnets::new(start, Ipv4Addr::BROADCAST, 0));
    }
    blocks
}

/// The parts of `targets` that the union of `allowed` does not cover. `aggregate` merges
/// adjacent blocks into the smallest set of CIDRs, so a covered target sits inside one of them.
/// A block of one family is never covered by the other's.
pub fn uncovered(allowed: &[IpNet], targets: &[IpNet]) -> Vec<IpNet> {
    let union = IpNet::aggregate(&allowed.to_vec());
    targets
        .iter()
        .filter(|t| !union.iter().any(|a| a.contains(*t)))
        .copied()
        .collect()
}

/// Does the union of `allowed` cover all public IPv4 address space?
pub fn covers_public(allowed: &[IpNet]) -> bool {
    let public: Vec<IpNet> = public_blocks().into_iter().map(IpNet::V4).collect();
    uncovered(allowed, &public).is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    #[test]
    fn public_space_is_the_complement_of_private() {
        let public = public_blocks();
        let total: u64 = public.iter().map(|n| 1u64 << (32 - n.prefix_len())).sum();
        let private: u64 = private_blocks()
            .iter()
            .map(|n| 1u64 << (32 - n.prefix_len()))
            .sum();
        assert_eq!(total + private, 1u64 << 32);
        assert!(public.iter().all(|p| !private_range(p)));
    }

    #[test]
    fn ipv6_private_and_coverage() {
        assert!(private_net(&"fd00:1::/64".parse().unwrap()));
        assert!(!private_net(&"2600:1f18::/64".parse().unwrap()));
        assert!(!private_net(&"64:ff9b::/96".parse().unwrap()));
        let global = [IpNet::V6(global_unicast())];
        assert!(uncovered(&nets(&["::/0"]), &global).is_empty());
        assert!(uncovered(&nets(&["2000::/4", "3000::/4"]), &global).is_empty());
        assert_eq!(uncovered(&nets(&["0.0.0.0/0"]), &global), global.to_vec());
        assert!(!covers_public(&nets(&["::/0"])));
    }

    #[test]
    fn union_coverage() {
        assert!(covers_public(&nets(&["0.0.0.0/0"])));
        assert!(covers_public(&nets(&["0.0.0.0/1", "128.0.0.0/1"])));
        assert!(!covers_public(&nets(&["0.0.0.0/1"])));
        assert!(!covers_public(&nets(&["10.0.0.0/8"])));
        assert_eq!(
            uncovered(
                &nets(&["10.0.0.0/25", "10.0.0.128/25"]),
                &nets(&["10.0.0.0/24"])
            ),
            vec![]
        );
        assert_eq!(
            uncovered(
                &nets(&["10.0.0.0/25"]),
                &nets(&["10.0.0.0/24", "10.0.0.0/26"])
            ),
            nets(&["10.0.0.0/24"])
        );
    }
}
