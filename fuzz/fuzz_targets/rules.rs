//! The NACL evaluator and CIDR coverage on rules inside 10.0.0.0/28, held to first-match-wins
//! address by address: an `Allowed` verdict with a denied address is a false green.
#![no_main]

use std::net::Ipv4Addr;

use fargate_preflight::checks::netrules::{nacl_evaluate, NaclResult};
use fargate_preflight::facts::addr::uncovered;
use fargate_preflight::snapshot::{IpProtocol, NaclEntry};
use ipnet::{IpNet, Ipv4Net};
use libfuzzer_sys::fuzz_target;

fn net(byte: u8) -> Ipv4Net {
    let len = 28 + (byte >> 4) % 5;
    Ipv4Net::new(Ipv4Addr::from(0x0a00_0000 + u32::from(byte & 0x0f)), len)
        .expect("valid prefix")
        .trunc()
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 3 {
        return;
    }
    let (peer, lo, span) = (net(data[0]), i32::from(data[1] % 8), i32::from(data[2] % 4));
    let hi = lo + span;
    let entries: Vec<NaclEntry> = data[3..]
        .chunks(4)
        .filter(|c| c.len() == 4)
        .enumerate()
        .map(|(i, c)| {
            let ports = (c[2] & 1 == 1).then(|| (i32::from(c[3] % 8), i32::from(c[3] / 32)));
            NaclEntry {
                rule_number: i32::from(c[0] % 50) * 10 + i as i32,
                egress: true,
                protocol: if ports.is_some() {
                    IpProtocol::TcpNumber
                } else {
                    IpProtocol::All
                },
                allow: c[2] & 2 == 2,
                cidr: Some(net(c[1])),
                ipv6_cidr: None,
                from_port: ports.map(|(a, b)| a.min(b)),
                to_port: ports.map(|(a, b)| a.max(b)),
            }
        })
        .collect();
    let allows = |addr: Ipv4Addr, port: i32| {
        let mut sorted: Vec<&NaclEntry> = entries.iter().collect();
        sorted.sort_by_key(|e| e.rule_number);
        sorted
            .into_iter()
            .find(|e| {
                let (from, to) = match e.protocol {
                    IpProtocol::All => (0, 65535),
                    _ => (e.from_port.unwrap_or(0), e.to_port.unwrap_or(65535)),
                };
                e.cidr.is_some_and(|c| c.contains(&addr)) && from <= port && port <= to
            })
            .is_some_and(|e| e.allow)
    };
    let addresses: Vec<Ipv4Addr> = peer
        .hosts()
        .chain([peer.network(), peer.broadcast()])
        .collect();
    if nacl_evaluate(&entries, true, peer.into(), (lo, hi), false) == NaclResult::Allowed {
        assert!(addresses.iter().all(|a| (lo..=hi).all(|p| allows(*a, p))));
    }
    let allowed: Vec<Ipv4Net> = entries.iter().filter_map(|e| e.cidr).collect();
    let covered = addresses
        .iter()
        .all(|a| allowed.iter().any(|n| n.contains(a)));
    let allowed: Vec<IpNet> = allowed.into_iter().map(IpNet::V4).collect();
    assert_eq!(uncovered(&allowed, &[peer.into()]).is_empty(), covered);
});
