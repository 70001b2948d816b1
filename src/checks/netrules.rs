//! Security group and network ACL rule evaluation for one TCP flow.

use ipnet::IpNet;

use crate::facts::addr::{covers_public, private_net, uncovered};
use crate::snapshot::{IpProtocol, NaclEntry, PrefixList, SgRule};

fn sg_rule_covers_port(rule: &SgRule, port: i32) -> bool {
    if rule.protocol == IpProtocol::All {
        return true;
    }
    rule.protocol.covers_tcp()
        && match (rule.from_port, rule.to_port) {
            (Some(from), Some(to)) => (from == -1 && to == -1) || (from <= port && port <= to),
            _ => true,
        }
}

/// Does any rule allow TCP `port` to/from one of `groups`?
pub fn sg_allows_groups(rules: &[SgRule], port: i32, groups: &[String]) -> bool {
    rules.iter().any(|r| {
        sg_rule_covers_port(r, port) && r.security_group_ids.iter().any(|g| groups.contains(g))
    })
}

/// Does any rule allow TCP `port` to/from the prefix list `id`?
pub fn sg_allows_prefix_list(rules: &[SgRule], port: i32, id: &str) -> bool {
    rules
        .iter()
        .any(|r| sg_rule_covers_port(r, port) && r.prefix_list_ids.iter().any(|p| p == id))
}

/// Every CIDR, of both families, the rules allowing TCP `port` name (customer prefix lists
/// expanded).
fn allowed_cidrs(rules: &[SgRule], port: i32, prefix_lists: &[PrefixList]) -> Vec<IpNet> {
    rules
        .iter()
        .filter(|r| sg_rule_covers_port(r, port))
        .flat_map(|r| {
            let listed = r.prefix_list_ids.iter().flat_map(|id| {
                prefix_lists
                    .iter()
                    .filter(move |p| &p.id == id)
                    .flat_map(|p| p.cidrs.iter().copied().map(IpNet::V4))
            });
            r.cidrs
                .iter()
                .copied()
                .map(IpNet::V4)
                .chain(r.ipv6_cidrs.iter().copied().map(IpNet::V6))
                .chain(listed)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The targets that the rules allowing TCP `port`, taken together, do not cover.
pub fn sg_uncovered(
    rules: &[SgRule],
    port: i32,
    targets: &[IpNet],
    prefix_lists: &[PrefixList],
) -> Vec<IpNet> {
    uncovered(&allowed_cidrs(rules, port, prefix_lists), targets)
}

/// Do the rules allowing TCP `port` cover all public address space (AWS's public endpoints)?
/// 0.0.0.0/0 does, and so do 0.0.0.0/1 + 128.0.0.0/1.
pub fn sg_allows_public(rules: &[SgRule], port: i32, prefix_lists: &[PrefixList]) -> bool {
    covers_public(&allowed_cidrs(rules, port, prefix_lists))
}

#[derive(Debug, Clone, PartialEq)]
pub enum NaclResult {
    Allowed,
    /// Denied by a rule (`Some(number)`) or by the implicit `*` rule (`None`).
    Denied {
        rule: Option<i32>,
        /// Earlier rules that allow only part of the flow.
        partly_allowed_by: Vec<i32>,
        /// Some of those allow every port of the flow for part of the peer's addresses.
        addresses_partly_allowed: bool,
    },
    /// Allowed, but earlier rules deny part of the addresses or ports.
    PartlyDenied {
        by: Vec<i32>,
    },
}

/// Evaluate TCP traffic to/from `peer` on ports `lo..=hi` in one direction, in rule-number
/// order, first match wins, no match = the implicit deny. With `public_only`, rules that
/// only name private ranges are ignored (the peer is AWS's public address space). An entry
/// of the other address family never matches.
pub fn nacl_evaluate(
    entries: &[NaclEntry],
    egress: bool,
    peer: IpNet,
    (lo, hi): (i32, i32),
    public_only: bool,
) -> NaclResult {
    let mut rules: Vec<&NaclEntry> = entries.iter().filter(|e| e.egress == egress).collect();
    rules.sort_by_key(|e| e.rule_number);
    let mut partial_denies = Vec::new();
    let mut partial_allows = Vec::new();
    let mut addresses_partly_allowed = false;
    for e in rules {
        if !matches!(e.protocol, IpProtocol::All | IpProtocol::TcpNumber) {
            continue;
        }
        let Some(cidr) = e.cidr.map(IpNet::V4).or(e.ipv6_cidr.map(IpNet::V6)) else {
            continue;
        };
        if public_only && private_net(&cidr) {
            continue;
        }
        let (from, to) = if e.protocol == IpProtocol::All {
            (0, 65535)
        } else {
            (e.from_port.unwrap_or(0), e.to_port.unwrap_or(65535))
        };
        let ports_cover = from <= lo && hi <= to;
        let ports_overlap = from <= hi && lo <= to;
        let ips_cover = cidr.contains(&peer);
        let ips_overlap = ips_cover || peer.contains(&cidr);
        if ips_cover && ports_cover {
            return if e.allow {
                if partial_denies.is_empty() {
                    NaclResult::Allowed
                } else {
                    NaclResult::PartlyDenied { by: partial_denies }
                }
            } else {
                NaclResult::Denied {
                    rule: Some(e.rule_number),
                    partly_allowed_by: partial_allows,
                    addresses_partly_allowed,
                }
            };
        }
        if ips_overlap && ports_overlap {
            if e.allow {
                partial_allows.push(e.rule_number);
                addresses_partly_allowed |= ports_cover;
            } else {
                partial_denies.push(e.rule_number);
            }
        }
    }
    NaclResult::Denied {
        rule: None,
        partly_allowed_by: partial_allows,
        addresses_partly_allowed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(
        n: i32,
        egress: bool,
        allow: bool,
        cidr: &str,
        ports: Option<(i32, i32)>,
    ) -> NaclEntry {
        NaclEntry {
            rule_number: n,
            egress,
            protocol: if ports.is_some() {
                IpProtocol::TcpNumber
            } else {
                IpProtocol::All
            },
            allow,
            cidr: Some(cidr.parse().unwrap()),
            ipv6_cidr: None,
            from_port: ports.map(|p| p.0),
            to_port: ports.map(|p| p.1),
        }
    }

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    #[test]
    fn first_match_wins_in_rule_order() {
        let entries = vec![
            entry(200, true, true, "0.0.0.0/0", None),
            entry(100, true, false, "10.0.2.0/24", Some((443, 443))),
        ];
        assert_eq!(
            nacl_evaluate(&entries, true, net("10.0.2.0/24"), (443, 443), false),
            NaclResult::Denied {
                rule: Some(100),
                partly_allowed_by: vec![],
                addresses_partly_allowed: false
            }
        );
        assert_eq!(
            nacl_evaluate(&entries, true, net("10.0.3.0/24"), (443, 443), false),
            NaclResult::Allowed
        );
    }

    #[test]
    fn no_match_is_the_implicit_deny() {
        let entries = vec![entry(100, false, true, "0.0.0.0/0", Some((32768, 65535)))];
        assert_eq!(
            nacl_evaluate(&entries, false, net("0.0.0.0/0"), (1024, 65535), true),
            NaclResult::Denied {
                rule: None,
                partly_allowed_by: vec![100],
                addresses_partly_allowed: false
            }
        );
        assert_eq!(
            nacl_evaluate(&entries, false, net("0.0.0.0/0"), (32768, 65535), true),
            NaclResult::Allowed
        );
        assert_eq!(
            nacl_evaluate(&entries, true, net("0.0.0.0/0"), (443, 443), true),
            NaclResult::Denied {
                rule: None,
                partly_allowed_by: vec![],
                addresses_partly_allowed: false
            }
        );
    }

    #[test]
    fn catch_all_deny_after_partial_address_allows() {
        let entries = vec![
            entry(100, true, true, "52.95.0.0/16", Some((443, 443))),
            entry(32767, true, false, "0.0.0.0/0", None),
        ];
        assert_eq!(
            nacl_evaluate(&entries, true, net("0.0.0.0/0"), (443, 443), true),
            NaclResult::Denied {
                rule: Some(32767),
                partly_allowed_by: vec![100],
                addresses_partly_allowed: true
            }
        );
    }

    #[test]
    fn partial_denies_and_private_ranges() {
        let entries = vec![
            entry(90, true, false, "10.0.0.0/8", None),
            entry(95, true, false, "52.0.0.0/8", Some((443, 443))),
            entry(100, true, true, "0.0.0.0/0", None),
        ];
        assert_eq!(
            nacl_evaluate(&entries, true, net("0.0.0.0/0"), (443, 443), true),
            NaclResult::PartlyDenied { by: vec![95] }
        );
    }

    #[test]
    fn security_group_rules() {
        let rule = SgRule {
            protocol: IpProtocol::Tcp,
            from_port: Some(443),
            to_port: Some(443),
            cidrs: vec!["10.0.0.0/16".parse().unwrap()],
            ipv6_cidrs: vec![],
            security_group_ids: vec!["sg-1".into()],
            prefix_list_ids: vec!["pl-1".into()],
        };
        let rules = vec![rule];
        assert!(sg_allows_groups(&rules, 443, &["sg-1".into()]));
        assert!(!sg_allows_groups(&rules, 80, &["sg-1".into()]));
        assert!(sg_allows_prefix_list(&rules, 443, "pl-1"));
        assert!(!sg_allows_public(&rules, 443, &[]));
        let lists = vec![PrefixList {
            id: "pl-1".into(),
            name: "mine".into(),
            cidrs: vec!["192.168.0.0/24".parse().unwrap()],
        }];
        assert_eq!(
            sg_uncovered(
                &rules,
                443,
                &[
                    net("10.0.1.0/24"),
                    net("192.168.0.0/25"),
                    net("172.16.0.0/24")
                ],
                &lists
            ),
            vec![net("172.16.0.0/24")]
        );
        let halves = |port| SgRule {
            protocol: IpProtocol::Tcp,
            from_port: Some(port),
            to_port: Some(port),
            cidrs: vec!["0.0.0.0/1".parse().unwrap(), "128.0.0.0/1".parse().unwrap()],
            ipv6_cidrs: vec![],
            security_group_ids: vec![],
            prefix_list_ids: vec![],
        };
        assert!(sg_allows_public(&[halves(443)], 443, &[]));
        assert!(!sg_allows_public(&[halves(80)], 443, &[]));
    }

    mod properties {
        use super::super::*;
        use ipnet::Ipv4Net;
        use proptest::prelude::*;
        use std::net::Ipv4Addr;

        /// CIDRs inside 10.0.0.0/28 (16 addresses): small enough to check address by address.
        fn small_net() -> impl Strategy<Value = Ipv4Net> {
            (28u8..=32, 0u32..16).prop_map(|(len, offset)| {
                Ipv4Net::new(Ipv4Addr::from(0x0a00_0000 + offset), len)
                    .unwrap()
                    .trunc()
            })
        }

        fn entries() -> impl Strategy<Value = Vec<NaclEntry>> {
            let entry = (
                1i32..20,
                any::<bool>(),
                small_net(),
                prop::option::of((0i32..8, 0i32..8)),
            );
            proptest::collection::vec(entry, 0..6).prop_map(|list| {
                list.into_iter()
                    .enumerate()
                    .map(|(i, (n, allow, cidr, ports))| NaclEntry {
                        rule_number: n * 10 + i as i32,
                        egress: true,
                        protocol: if ports.is_some() {
                            IpProtocol::TcpNumber
                        } else {
                            IpProtocol::All
                        },
                        allow,
                        cidr: Some(cidr),
                        ipv6_cidr: None,
                        from_port: ports.map(|(a, b)| a.min(b)),
                        to_port: ports.map(|(a, b)| a.max(b)),
                    })
                    .collect()
            })
        }

        /// First match wins, no match denies: one address and port at a time.
        fn reference_allows(entries: &[NaclEntry], addr: Ipv4Addr, port: i32) -> bool {
            let mut sorted: Vec<&NaclEntry> = entries.iter().collect();
            sorted.sort_by_key(|e| e.rule_number);
            for e in sorted {
                let (from, to) = if e.protocol == IpProtocol::All {
                    (0, 65535)
                } else {
                    (e.from_port.unwrap_or(0), e.to_port.unwrap_or(65535))
                };
                if e.cidr.is_some_and(|c| c.contains(&addr)) && from <= port && port <= to {
                    return e.allow;
                }
            }
            false
        }

        proptest! {
            #[test]
            fn nacl_verdicts_agree_with_address_by_address(entries in entries(), peer in small_net(), lo in 0i32..8, span in 0i32..4) {
                let hi = lo + span;
                let points: Vec<bool> = peer.hosts().chain([peer.network(), peer.broadcast()])
                    .flat_map(|a| (lo..=hi).map(move |p| (a, p)))
                    .map(|(a, p)| reference_allows(&entries, a, p))
                    .collect();
                let result = nacl_evaluate(&entries, true, peer.into(), (lo, hi), false);
                match result {
                    // Never a false green.
                    NaclResult::Allowed => prop_assert!(points.iter().all(|ok| *ok)),
                    NaclResult::Denied { rule: Some(_), ref partly_allowed_by, .. } if partly_allowed_by.is_empty() => {
                        prop_assert!(points.iter().any(|ok| !ok));
                    }
                    NaclResult::Denied { rule: None, ref partly_allowed_by, .. } if partly_allowed_by.is_empty() => {
                        prop_assert!(points.iter().all(|ok| !ok));
                    }
                    _ => {}
                }
            }

            #[test]
            fn union_coverage_agrees_with_address_by_address(allowed in proptest::collection::vec(small_net(), 0..5), target in small_net()) {
                let covered = target.hosts().chain([target.network(), target.broadcast()])
                    .all(|a| allowed.iter().any(|n| n.contains(&a)));
                let allowed: Vec<IpNet> = allowed.into_iter().map(IpNet::V4).collect();
                prop_assert_eq!(crate::facts::addr::uncovered(&allowed, &[target.into()]).is_empty(), covered);
            }
        }
    }
}
