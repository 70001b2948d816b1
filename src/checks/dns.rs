//! vpc-dns and dhcp-dns: interface endpoints are reached by name only through private DNS,
//! which needs both VPC DNS attributes and the Amazon-provided resolver.

use super::Problem;
use super::{Check, Context, Explain, Outcome, Severity, Verdict};

pub static VPC_DNS: Check = Check {
    id: "vpc-dns",
    title: "VPC has enableDnsSupport and enableDnsHostnames",
    severity: Severity::Error,
    docs:
        "https://docs.aws.amazon.com/vpc/latest/userguide/AmazonDNS-concepts.html#vpc-dns-support",
    run: vpc_dns,
    explain: Explain {
        verifies: "That the VPC has enableDnsSupport and, where the task relies on interface endpoints, enableDnsHostnames.",
        why: "Interface endpoints answer under the service's own name (api.ecr.REGION.amazonaws.com) only through private DNS, which needs both attributes. Without them the name resolves to a public IP the private task cannot reach: 'ResourceInitializationError: unable to pull secrets or registry auth … i/o timeout'.",
        decides: "Reads both attributes (DescribeVpcAttribute). DNS support off always fails; DNS hostnames off fails when a task subnet has no verified path out.",
        fix: "aws ec2 modify-vpc-attribute --vpc-id VPC --enable-dns-support '{\"Value\":true}' and --enable-dns-hostnames '{\"Value\":true}'.",
    },
};

pub static DHCP_DNS: Check = Check {
    id: "dhcp-dns",
    title: "DHCP options use the Amazon-provided DNS resolver",
    severity: Severity::Warning,
    docs: "https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html",
    run: dhcp_dns,
    explain: Explain {
        verifies: "That the VPC's DHCP options hand out the Amazon-provided resolver.",
        why: "Endpoint private DNS lives in the VPC resolver. Custom DNS servers resolve endpoint names correctly only if they forward AWS names to it; otherwise the task gets public IPs and times out.",
        decides: "Reads the DHCP options set. Only the Amazon DNS server (AmazonProvidedDNS, 169.254.169.253, fd00:ec2::253, or the primary VPC CIDR base + 2): pass. Custom servers: warn where the task relies on endpoints (the forwarders cannot be seen from the API), pass where it has a path out.",
        fix: "Forward *.amazonaws.com (at least the endpoint services) from your DNS servers to the VPC resolver (VPC CIDR base + 2, or a Route 53 Resolver inbound endpoint), or use AmazonProvidedDNS.",
    },
};

/// Does any task subnet depend on interface endpoints (and so on private DNS)? Where a path
/// out exists, names that do not resolve privately still reach AWS through it.
fn relies_on_private_dns(ctx: &Context) -> Result<bool, Problem> {
    Ok(ctx.dependence()?.relies_on_endpoints())
}

fn vpc_dns(ctx: &Context) -> Outcome {
    let net = ctx.network()?;
    let vpc = &net.vpc_id;
    let support = *net.dns_support.get()?;
    let hostnames = *net.dns_hostnames.get()?;
    let modify = |attr: &str| {
        format!("aws ec2 modify-vpc-attribute --vpc-id {vpc} --{attr} '{{\"Value\":true}}'")
    };
    if !support {
        return Ok(vec![Verdict::fail(
            vpc.as_str(),
            "enableDnsSupport is off: the Amazon-provided resolver does not answer in this VPC, so tasks cannot resolve ECR, S3 or endpoint names",
            format!("turn DNS resolution on: {}", modify("enable-dns-support")),
        )]);
    }
    if !hostnames {
        return Ok(vec![if relies_on_private_dns(ctx)? {
            Verdict::fail(
                vpc.as_str(),
                "enableDnsHostnames is off: private DNS names of interface endpoints do not resolve to the endpoints, so ECR and other AWS names resolve to public IPs the task cannot reach",
                format!("turn DNS hostnames on: {}", modify("enable-dns-hostnames")),
            )
        } else {
            Verdict::pass(
                vpc.as_str(),
                "enableDnsSupport is on; enableDnsHostnames is off, which only matters for interface endpoints, and the task reaches AWS through its path out",
            )
        }]);
    }
    Ok(vec![Verdict::pass(
        vpc.as_str(),
        "enableDnsSupport and enableDnsHostnames are both on",
    )])
}

/// The Amazon DNS server's addresses: 169.254.169.253, fd00:ec2::253, and the VPC's primary
/// IPv4 CIDR plus two (VPC guide, "Amazon DNS server").
fn amazon_resolvers(net: &crate::snapshot::Network) -> Result<Vec<String>, Problem> {
    let mut addresses = vec!["169.254.169.253".to_string(), "fd00:ec2::253".to_string()];
    if let Some(primary) = net.vpc.get()?.cidr_blocks.first() {
        let base = u32::from(primary.network());
        addresses.push(std::net::Ipv4Addr::from(base.wrapping_add(2)).to_string());
    }
    Ok(addresses)
}

fn dhcp_dns(ctx: &Context) -> Outcome {
    let net = ctx.network()?;
    let dhcp = net.dhcp_options.get()?;
    let resource = format!("{} ({})", net.vpc_id, dhcp.id);
    let servers = &dhcp.domain_name_servers;
    let amazon_only = servers.is_empty() || {
        let resolvers = amazon_resolvers(net)?;
        servers
            .iter()
            .all(|s| s.eq_ignore_ascii_case("AmazonProvidedDNS") || resolvers.contains(s))
    };
    if amazon_only {
        return Ok(vec![Verdict::pass(
            resource,
            "DHCP options use AmazonProvidedDNS",
        )]);
    }
    let list = servers.join(", ");
    Ok(vec![if relies_on_private_dns(ctx)? {
        Verdict::warn(
            resource,
            format!("DHCP options set custom DNS servers ({list}): interface endpoint names resolve to the endpoints only if these servers forward AWS service names to the VPC resolver, which this tool cannot see"),
            format!("make sure {list} forward *.amazonaws.com (at least the endpoint services) to the Route 53 Resolver (VPC CIDR base +2) with a conditional forwarder or Route 53 Resolver endpoint, or use AmazonProvidedDNS in {}", dhcp.id),
        )
    } else {
        Verdict::pass(
            resource,
            format!("DHCP options set custom DNS servers ({list}); the task reaches AWS through its path out, so public names are enough"),
        )
    }])
}
