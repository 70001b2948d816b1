//! Every check on snapshot fixtures: the exact check ids and statuses each scenario yields.

use std::collections::BTreeSet;

use fargate_preflight::checks::{self, Finding, Options, Status};
use fargate_preflight::report::{ExitStatus, Summary};
use fargate_preflight::snapshot::Snapshot;

use crate::fixture;

fn load(name: &str) -> Snapshot {
    let text = std::fs::read_to_string(fixture(name)).expect("fixture exists");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn status(s: &str) -> Status {
    match s {
        "fail" => Status::Fail,
        "warn" => Status::Warn,
        "error" => Status::Error,
        other => panic!("unexpected status {other}"),
    }
}

fn run_all(snapshot: &Snapshot) -> Vec<Finding> {
    checks::run_all(snapshot, &Options::default())
}

/// `expected` lists every (check, status) that is not pass/skip: each must occur, and no
/// other fail/warn/error may.
fn assert_verdicts(name: &str, expected: &[(&str, &str)]) -> Vec<Finding> {
    assert_verdicts_with(name, &Options::default(), expected)
}

fn assert_verdicts_with(name: &str, options: &Options, expected: &[(&str, &str)]) -> Vec<Finding> {
    let findings = checks::run_all(&load(name), options);
    let expected: BTreeSet<(&str, Status)> =
        expected.iter().map(|(c, s)| (*c, status(s))).collect();
    let actual: BTreeSet<(&str, Status)> = findings
        .iter()
        .filter(|f| matches!(f.status, Status::Fail | Status::Warn | Status::Error))
        .map(|f| (f.check, f.status))
        .collect();
    assert_eq!(
        actual,
        expected,
        "{name}: unexpected verdicts:\n{}",
        findings
            .iter()
            .filter(|f| f.status != Status::Pass)
            .map(|f| format!(
                "  {} {:?} {} — {}",
                f.check, f.status, f.resource, f.message
            ))
            .collect::<Vec<_>>()
            .join("\n")
    );
    for f in &findings {
        if matches!(f.status, Status::Fail | Status::Warn) {
            assert!(
                !f.remediation.is_empty(),
                "{name}: {} has no remediation",
                f.check
            );
        }
    }
    findings
}

fn find<'a>(findings: &'a [Finding], check: &str, status: Status) -> &'a Finding {
    findings
        .iter()
        .find(|f| f.check == check && f.status == status)
        .unwrap_or_else(|| panic!("no {check} {status:?}"))
}

#[test]
fn good_setups_are_green() {
    for name in [
        "endpoint-only",
        "nat-only",
        "main-table-with-gateway",
        "egress-igw-public-ip",
        "nat-dns-hostnames-off",
        "sg-cidr-rules",
        "nat-exec",
    ] {
        let findings = assert_verdicts(name, &[]);
        assert_eq!(
            Summary::of(&findings).exit_status(false),
            ExitStatus::Success,
            "{name}"
        );
    }
}

#[test]
fn every_check_runs_in_product_order() {
    let findings = run_all(&load("endpoint-only"));
    let order: Vec<&str> = findings.iter().map(|f| f.check).fold(vec![], |mut v, c| {
        if v.last() != Some(&c) {
            v.push(c);
        }
        v
    });
    assert_eq!(
        order,
        [
            "task-definition",
            "platform-version",
            "vpc-dns",
            "dhcp-dns",
            "route-table",
            "egress-path",
            "ecr-api-endpoint",
            "ecr-dkr-endpoint",
            "s3-gateway-endpoint",
            "s3-gateway-route",
            "s3-endpoint-policy",
            "endpoint-private-dns",
            "endpoint-security-groups",
            "network-acl",
            "logs-endpoint",
            "secrets-endpoints",
            "exec-endpoint",
            "ecs-exec",
            "public-image",
            "pull-through-cache",
            "image-exists",
            "image-platform",
            "execution-role",
            "task-role",
            "secrets-exist",
            "kms-keys",
            "log-group",
            "environment-files",
            "efs-volumes",
            "subnet-capacity",
            "deployment-configuration",
            "fargate-quota",
            "health-check-timing",
            "health-check-grace",
            "load-balancer-ingress",
            "container-health-check"
        ]
    );
}

#[test]
fn nat_path_makes_endpoints_optional_and_says_why() {
    let findings = assert_verdicts("nat-only", &[]);
    let api = find(&findings, "ecr-api-endpoint", Status::Pass);
    assert!(api.message.contains("nat-0app"), "{}", api.message);
    let egress = find(&findings, "egress-path", Status::Pass);
    assert!(egress.message.contains("nat-0app") && egress.message.contains("igw-0app"));
}

#[test]
fn platform_version() {
    let f = assert_verdicts("platform-retired", &[("platform-version", "fail")]);
    assert!(find(&f, "platform-version", Status::Fail)
        .message
        .contains("2026-03-16"));
    assert_verdicts("platform-scheduled", &[("platform-version", "warn")]);
    let f = assert_verdicts("platform-scheduled-china", &[("platform-version", "warn")]);
    assert!(find(&f, "platform-version", Status::Warn)
        .message
        .contains("2026-06-15"));
    assert_verdicts("platform-unknown", &[("platform-version", "warn")]);
    // Linux 1.3.0 does not use ecr.api; Windows (LATEST = 1.0.0) does.
    let f = assert_verdicts("linux-130-no-ecr-api", &[("platform-version", "fail")]);
    find(&f, "ecr-api-endpoint", Status::Skip);
    let f = assert_verdicts("windows-latest-no-ecr-api", &[("ecr-api-endpoint", "fail")]);
    assert!(find(&f, "platform-version", Status::Pass)
        .message
        .contains("LATEST resolves to 1.0.0 (Windows)"));
}

#[test]
fn dns() {
    assert_verdicts("dns-support-off", &[("vpc-dns", "fail")]);
    let f = assert_verdicts("dns-hostnames-off", &[("vpc-dns", "fail")]);
    assert!(find(&f, "vpc-dns", Status::Fail)
        .remediation
        .contains("--enable-dns-hostnames"));
    assert_verdicts("dhcp-custom-dns", &[("dhcp-dns", "warn")]);
}

#[test]
fn s3_gateway_on_the_effective_route_table() {
    let f = assert_verdicts(
        "main-table-without-gateway",
        &[("s3-gateway-route", "fail")],
    );
    let row = find(&f, "s3-gateway-route", Status::Fail);
    assert_eq!(row.resource, "subnet-0b2 (rtb-0main)");
    assert!(row.message.contains("main table"), "{}", row.message);
    assert!(row.remediation.contains("--add-route-table-ids rtb-0main"));
    let route = f
        .iter()
        .find(|f| f.check == "route-table" && f.resource.starts_with("subnet-0b2"))
        .unwrap();
    assert!(route.message.contains("main route table rtb-0main"));

    let f = assert_verdicts("s3-wrong-route-table", &[("s3-gateway-route", "fail")]);
    assert!(f
        .iter()
        .filter(|f| f.check == "s3-gateway-route")
        .all(|f| f.status == Status::Fail));
}

#[test]
fn egress_paths() {
    let missing_everything = |first: (&'static str, &'static str)| {
        vec![
            first,
            ("ecr-api-endpoint", "fail"),
            ("ecr-dkr-endpoint", "fail"),
            ("s3-gateway-endpoint", "fail"),
            ("logs-endpoint", "fail"),
            ("secrets-endpoints", "fail"),
        ]
    };
    assert_verdicts(
        "egress-transit-gateway",
        &[
            ("egress-path", "warn"),
            ("ecr-api-endpoint", "warn"),
            ("ecr-dkr-endpoint", "warn"),
            ("s3-gateway-endpoint", "warn"),
            ("logs-endpoint", "warn"),
            ("secrets-endpoints", "warn"),
            ("endpoint-security-groups", "fail"),
        ],
    );
    let f = assert_verdicts(
        "egress-igw-no-public-ip",
        &missing_everything(("egress-path", "fail")),
    );
    assert!(find(&f, "egress-path", Status::Fail)
        .remediation
        .contains("assignPublicIp"));
    assert_verdicts(
        "egress-igw-no-public-ip-endpoints",
        &[("egress-path", "warn")],
    );
    for name in [
        "egress-nat-blackhole",
        "egress-nat-without-igw",
        "egress-nat-pending",
    ] {
        assert_verdicts(name, &missing_everything(("egress-path", "fail")));
    }
    let f = run_all(&load("egress-nat-without-igw"));
    assert!(find(&f, "egress-path", Status::Fail)
        .message
        .contains("subnet-0pub"));
}

#[test]
fn routing_subtleties() {
    // A more specific route over public space beats the NAT default route.
    let f = assert_verdicts(
        "forced-tunnel",
        &[
            ("egress-path", "warn"),
            ("ecr-api-endpoint", "warn"),
            ("ecr-dkr-endpoint", "warn"),
            ("s3-gateway-endpoint", "warn"),
            ("logs-endpoint", "warn"),
            ("secrets-endpoints", "warn"),
        ],
    );
    assert!(find(&f, "egress-path", Status::Warn)
        .message
        .contains("0.0.0.0/1"));
    // A firewall between the NAT and the IGW cannot be followed: a warning, not a failure.
    let f = assert_verdicts(
        "nat-behind-firewall",
        &[
            ("egress-path", "warn"),
            ("ecr-api-endpoint", "warn"),
            ("ecr-dkr-endpoint", "warn"),
            ("s3-gateway-endpoint", "warn"),
            ("logs-endpoint", "warn"),
            ("secrets-endpoints", "warn"),
        ],
    );
    assert!(find(&f, "egress-path", Status::Warn)
        .message
        .contains("vpce-0firewall"));
    // Each subnet is judged by the gateway on its own route table.
    assert_verdicts("two-s3-gateways", &[]);
    // No security groups configured: ECS uses the VPC's default group, which is evaluated.
    assert_verdicts("no-task-sg-default-group", &[]);
}

#[test]
fn what_only_a_path_out_serves() {
    // Logs in another region leave through the NAT: the task SG must allow it.
    let f = assert_verdicts(
        "nat-logs-other-region-restricted-sg",
        &[("endpoint-security-groups", "fail")],
    );
    let row = find(&f, "endpoint-security-groups", Status::Fail);
    assert!(row.message.contains("us-east-1"), "{}", row.message);
    // An image from Docker Hub cannot come through VPC endpoints.
    let f = assert_verdicts(
        "public-image-isolated",
        &[("egress-path", "fail"), ("public-image", "fail")],
    );
    assert!(find(&f, "egress-path", Status::Fail)
        .message
        .contains("nginx:1.27"));
}

#[test]
fn ecr_endpoints() {
    let f = assert_verdicts("missing-ecr-api", &[("ecr-api-endpoint", "fail")]);
    let row = find(&f, "ecr-api-endpoint", Status::Fail);
    assert!(row.remediation.contains(
        "create interface endpoint com.amazonaws.ap-northeast-1.ecr.api in subnets subnet-0a1, subnet-0b2 with private DNS"
    ), "{}", row.remediation);
    assert!(row.remediation.contains("--vpc-id vpc-0app"));
    assert_verdicts("missing-ecr-dkr", &[("ecr-dkr-endpoint", "fail")]);
    let f = assert_verdicts(
        "ecr-image-other-region",
        &[
            ("egress-path", "fail"),
            ("ecr-api-endpoint", "fail"),
            ("ecr-dkr-endpoint", "fail"),
            // The layers are in us-west-2's bucket, which this Region's gateway cannot reach.
            ("s3-gateway-endpoint", "fail"),
        ],
    );
    assert!(find(&f, "ecr-dkr-endpoint", Status::Fail)
        .message
        .contains("us-west-2"));
    assert!(find(&f, "ecr-dkr-endpoint", Status::Fail)
        .remediation
        .contains("--service-name com.amazonaws.us-west-2.ecr.dkr --service-region us-west-2"));
    // Cross-Region endpoints for the image's Region serve its registry calls; its layers
    // still need a path out.
    let f = assert_verdicts(
        "ecr-cross-region-endpoints",
        &[("egress-path", "fail"), ("s3-gateway-endpoint", "fail")],
    );
    assert!(find(&f, "ecr-dkr-endpoint", Status::Pass)
        .message
        .contains("cross-Region PrivateLink"));
    assert_verdicts(
        "ecr-cross-region-endpoints-wrong-region",
        &[
            ("egress-path", "fail"),
            ("ecr-api-endpoint", "fail"),
            ("ecr-dkr-endpoint", "fail"),
            ("s3-gateway-endpoint", "fail"),
        ],
    );
}

/// No path out and no endpoints: every check of a way to AWS fails.
const STRANDED: [(&str, &str); 6] = [
    ("egress-path", "fail"),
    ("ecr-api-endpoint", "fail"),
    ("ecr-dkr-endpoint", "fail"),
    ("s3-gateway-endpoint", "fail"),
    ("logs-endpoint", "fail"),
    ("secrets-endpoints", "fail"),
];

#[test]
fn block_public_access() {
    for stranded in [
        "bpa-bidirectional-nat",
        "bpa-bidirectional-only-task-subnets-excluded",
        "bpa-bidirectional-exclusion-deleted",
        "bpa-exclusions-not-allowed",
        // allow-egress does nothing in block-ingress mode.
        "bpa-ingress-public-ip-allow-egress",
    ] {
        assert_verdicts(stranded, &STRANDED);
    }
    for green in [
        "bpa-bidirectional-nat-subnet-allow-egress",
        "bpa-bidirectional-vpc-allow-bidirectional",
        "bpa-ingress-nat",
        "bpa-off-with-exclusions",
        "bpa-ingress-public-ip-allow-bidirectional",
        "bpa-bidirectional-public-ip-allow-egress",
        "bpa-denied-endpoints-only",
        "bpa-bidirectional-endpoints-only",
    ] {
        assert_verdicts(green, &[]);
    }
    let f = assert_verdicts("bpa-ingress-public-ip", &STRANDED);
    assert!(find(&f, "egress-path", Status::Fail)
        .remediation
        .contains("--internet-gateway-exclusion-mode allow-bidirectional"));
    for changing in [
        "bpa-bidirectional-exclusion-in-progress",
        "bpa-mode-changing",
    ] {
        let f = checks::run_all(&load(changing), &Options::default());
        let egress: Vec<Status> = f
            .iter()
            .filter(|x| x.check == "egress-path")
            .map(|x| x.status)
            .collect();
        assert_eq!(egress, [Status::Warn, Status::Warn], "{changing}");
    }
    for (unread, says) in [
        (
            "bpa-denied",
            "ec2:DescribeVpcBlockPublicAccessOptions was denied",
        ),
        ("bpa-old-snapshot", "written without that data"),
    ] {
        let f = checks::run_all(&load(unread), &Options::default());
        let egress = f.iter().find(|x| x.check == "egress-path").unwrap();
        assert_eq!(egress.status, Status::Error, "{unread}");
        assert!(egress.message.contains(says), "{}", egress.message);
    }
}

#[test]
fn s3_gateway_endpoint_and_policy() {
    assert_verdicts("s3-missing", &[("s3-gateway-endpoint", "fail")]);
    let f = assert_verdicts("s3-interface-only", &[("s3-gateway-endpoint", "fail")]);
    assert!(find(&f, "s3-gateway-endpoint", Status::Fail)
        .message
        .contains("vpce-0s3if is an Interface"));
    let f = assert_verdicts("s3-policy-deny", &[("s3-endpoint-policy", "fail")]);
    assert!(find(&f, "s3-endpoint-policy", Status::Fail)
        .message
        .contains("OnlyOurBuckets"));
    assert_verdicts("s3-policy-no-allow", &[("s3-endpoint-policy", "fail")]);
    let f = assert_verdicts("s3-policy-condition", &[("s3-endpoint-policy", "warn")]);
    assert!(find(&f, "s3-endpoint-policy", Status::Warn)
        .message
        .contains("aws:PrincipalOrgID"));
    // A gateway on the route table is in the path even when a NAT exists.
    assert_verdicts("nat-s3-gateway-deny", &[("s3-endpoint-policy", "fail")]);
    // Environment files are S3 objects too: the minimal ECR policy does not cover them.
    let f = assert_verdicts(
        "s3-policy-env-file",
        &[("s3-endpoint-policy", "fail"), ("execution-role", "fail")],
    );
    assert_eq!(
        find(&f, "s3-endpoint-policy", Status::Fail).resource,
        "vpce-0s3 (environment file of container web)"
    );
}

#[test]
fn interface_endpoint_policies() {
    let f = assert_verdicts(
        "ecr-dkr-policy-other-repos",
        &[("ecr-dkr-endpoint", "fail")],
    );
    let row = find(&f, "ecr-dkr-endpoint", Status::Fail);
    assert_eq!(row.resource, "vpce-0ecrdkr (policy)");
    assert!(
        row.message.contains(
            "ecr:BatchGetImage on arn:aws:ecr:ap-northeast-1:123456789012:repository/web"
        ),
        "{}",
        row.message
    );
    let f = assert_verdicts("logs-policy-condition", &[("logs-endpoint", "warn")]);
    assert!(find(&f, "logs-endpoint", Status::Warn)
        .message
        .contains("aws:PrincipalOrgID"));
    // Private DNS sends the task to the endpoint even with a NAT path: its policy still applies.
    let f = assert_verdicts(
        "nat-ecr-api-policy-deny",
        &[
            ("ecr-api-endpoint", "fail"),
            ("endpoint-security-groups", "fail"),
        ],
    );
    assert!(find(&f, "ecr-api-endpoint", Status::Fail)
        .message
        .contains("NoTokens"));
    // A statement for the execution role matches the role the task pulls with.
    assert_verdicts("ecr-policy-execution-role", &[]);
}

#[test]
fn endpoint_dns_and_state() {
    let f = assert_verdicts("private-dns-off", &[("endpoint-private-dns", "fail")]);
    assert!(find(&f, "endpoint-private-dns", Status::Fail)
        .remediation
        .contains("--private-dns-enabled"));
    assert_verdicts(
        "endpoint-pending-acceptance",
        &[("endpoint-private-dns", "fail")],
    );
}

#[test]
fn security_groups() {
    let f = assert_verdicts(
        "sg-task-egress-s3-only",
        &[("endpoint-security-groups", "fail")],
    );
    assert_eq!(
        f.iter()
            .filter(|f| f.check == "endpoint-security-groups" && f.status == Status::Fail)
            .count(),
        4
    );
    let f = assert_verdicts(
        "sg-endpoint-ingress-wrong-group",
        &[("endpoint-security-groups", "fail")],
    );
    assert!(find(&f, "endpoint-security-groups", Status::Fail)
        .remediation
        .contains("authorize-security-group-ingress --group-id sg-0vpce"));
    let f = assert_verdicts(
        "sg-task-egress-no-s3",
        &[("endpoint-security-groups", "fail")],
    );
    let row = find(&f, "endpoint-security-groups", Status::Fail);
    assert_eq!(row.resource, "vpce-0s3 (s3)");
    assert!(row.remediation.contains("PrefixListId=pl-61a54008"));
    let f = assert_verdicts(
        "sg-endpoint-ingress-partial-cidr",
        &[("endpoint-security-groups", "fail")],
    );
    assert!(find(&f, "endpoint-security-groups", Status::Fail)
        .message
        .contains("10.0.2.0/24"));
    assert_verdicts(
        "nat-sg-egress-vpc-only",
        &[("endpoint-security-groups", "fail")],
    );
}

#[test]
fn network_acls() {
    let f = assert_verdicts("nacl-deny-https-out", &[("network-acl", "fail")]);
    assert!(find(&f, "network-acl", Status::Fail)
        .message
        .contains("denied by rule 50"));
    let f = assert_verdicts("nacl-no-return-traffic", &[("network-acl", "fail")]);
    assert!(find(&f, "network-acl", Status::Fail)
        .message
        .contains("implicit"));
    // Linux tasks use 32768-60999 for their connections: that range is enough, a narrower one is not.
    assert_verdicts("nacl-narrow-ephemeral", &[]);
    let f = assert_verdicts("nacl-too-narrow-ephemeral", &[("network-acl", "fail")]);
    assert!(find(&f, "network-acl", Status::Fail)
        .message
        .contains("32768-60999"));
    // A NAT gateway uses 1024-65535 for its own connections.
    let f = assert_verdicts("nacl-nat-side-linux-range", &[("network-acl", "fail")]);
    let row = find(&f, "network-acl", Status::Fail);
    assert_eq!(row.resource, "subnet-0pub (acl-0public, NAT side)");
    assert!(row.message.contains("1024-65535"), "{}", row.message);
    let f = assert_verdicts("nacl-endpoint-subnet-blocks", &[("network-acl", "fail")]);
    assert_eq!(
        find(&f, "network-acl", Status::Fail).resource,
        "subnet-0e1 (acl-0endpoints, endpoint side)"
    );
}

#[test]
fn logs_secrets_exec() {
    assert_verdicts("missing-logs", &[("logs-endpoint", "fail")]);
    let f = assert_verdicts(
        "logs-other-region",
        &[("egress-path", "fail"), ("logs-endpoint", "fail")],
    );
    assert!(find(&f, "logs-endpoint", Status::Fail)
        .message
        .contains("us-east-1"));
    let f = assert_verdicts(
        "missing-ssm",
        &[("secrets-endpoints", "fail"), ("execution-role", "fail")],
    );
    assert!(find(&f, "secrets-endpoints", Status::Fail)
        .remediation
        .contains("com.amazonaws.ap-northeast-1.ssm "));
    assert_verdicts("missing-secretsmanager", &[("secrets-endpoints", "fail")]);
    assert_verdicts("missing-ssmmessages", &[("exec-endpoint", "fail")]);
}

#[test]
fn denied_data_is_an_error_never_a_pass() {
    let f = assert_verdicts(
        "denied-vpc-endpoints",
        &[
            ("ecr-api-endpoint", "error"),
            ("ecr-dkr-endpoint", "error"),
            ("s3-gateway-endpoint", "error"),
            ("s3-gateway-route", "error"),
            ("s3-endpoint-policy", "error"),
            ("endpoint-private-dns", "error"),
            ("endpoint-security-groups", "error"),
            ("network-acl", "error"),
            ("logs-endpoint", "error"),
            ("secrets-endpoints", "error"),
        ],
    );
    assert!(find(&f, "ecr-api-endpoint", Status::Error)
        .message
        .contains("ec2:DescribeVpcEndpoints was denied"));
    assert_eq!(Summary::of(&f).exit_status(false), ExitStatus::Error);
    let f = run_all(&load("denied-task-definition"));
    assert!(find(&f, "platform-version", Status::Error)
        .message
        .contains("ecs:DescribeTaskDefinition was denied"));
    assert!(f
        .iter()
        .all(|f| f.status != Status::Pass || !f.check.ends_with("-endpoint")));
}

#[test]
fn public_images() {
    let f = assert_verdicts(
        "public-image-isolated",
        &[("egress-path", "fail"), ("public-image", "fail")],
    );
    let row = find(&f, "public-image", Status::Fail);
    assert_eq!(row.resource, "container web (nginx:1.27)");
    assert!(row.remediation.contains(
        "aws ecr create-pull-through-cache-rule --ecr-repository-prefix docker-hub --upstream-registry-url registry-1.docker.io --credential-arn arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:ecr-pullthroughcache/docker-hub"
    ), "{}", row.remediation);
    assert!(row.remediation.contains(
        "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/docker-hub/library/nginx:1.27"
    ));
    let f = assert_verdicts("public-image-nat", &[]);
    assert!(find(&f, "public-image", Status::Pass)
        .message
        .contains("nat-0app"));
    let f = assert_verdicts(
        "public-image-unsupported-registry",
        &[("egress-path", "fail"), ("public-image", "fail")],
    );
    assert!(find(&f, "public-image", Status::Fail)
        .remediation
        .contains("no pull-through cache support"));
}

#[test]
fn pull_through_cache_rules() {
    let f = assert_verdicts("ptc-ok", &[]);
    assert!(find(&f, "pull-through-cache", Status::Pass)
        .message
        .contains("rule ecr-public caches public.ecr.aws"));
    // The repository a rule would create does not exist either.
    let f = assert_verdicts(
        "ptc-missing-rule",
        &[("pull-through-cache", "fail"), ("image-exists", "fail")],
    );
    assert!(find(&f, "pull-through-cache", Status::Fail)
        .remediation
        .contains("--ecr-repository-prefix ecr-public --upstream-registry-url public.ecr.aws"));
    let f = assert_verdicts(
        "ptc-docker-hub-no-credential",
        &[("pull-through-cache", "fail")],
    );
    assert!(find(&f, "pull-through-cache", Status::Fail)
        .message
        .contains("no credential secret"));
    let f = assert_verdicts(
        "ptc-docker-hub-bad-secret-name",
        &[("pull-through-cache", "fail")],
    );
    assert!(find(&f, "pull-through-cache", Status::Fail)
        .message
        .contains("ecr-pullthroughcache/"));
    let f = assert_verdicts(
        "ptc-docker-hub-no-library",
        &[("pull-through-cache", "fail")],
    );
    assert!(find(&f, "pull-through-cache", Status::Fail)
        .remediation
        .contains("/docker-hub/library/nginx:1.27"));
    let f = assert_verdicts("ptc-first-pull", &[("pull-through-cache", "warn")]);
    assert!(find(&f, "pull-through-cache", Status::Warn)
        .message
        .contains("first pull"));
    let f = assert_verdicts(
        "ptc-role-lacks-import",
        &[("pull-through-cache", "warn"), ("execution-role", "fail")],
    );
    let row = find(&f, "execution-role", Status::Fail);
    assert!(row.resource.ends_with("(pull-through cache)"));
    assert!(
        row.message.contains("ecr:BatchImportUpstreamImage")
            && row.message.contains("ecr:CreateRepository")
    );
    assert!(
        row.remediation
            .contains("\"Action\":[\"ecr:BatchImportUpstreamImage\",\"ecr:CreateRepository\"]"),
        "{}",
        row.remediation
    );
}

#[test]
fn execution_role() {
    let f = assert_verdicts("endpoint-only", &[]);
    assert!(find(&f, "execution-role", Status::Pass)
        .message
        .contains("cannot be seen"));
    assert_verdicts("role-missing", &[("execution-role", "fail")]);
    let f = assert_verdicts("role-untrusted", &[("execution-role", "fail")]);
    assert!(find(&f, "execution-role", Status::Fail)
        .remediation
        .contains("ecs-tasks.amazonaws.com"));
    assert_verdicts("role-none-set", &[("execution-role", "fail")]);
    let f = assert_verdicts("role-without-logs", &[("execution-role", "fail")]);
    let row = find(&f, "execution-role", Status::Fail);
    assert!(
        row.message.contains("logs:CreateLogStream") && row.message.contains("logs:PutLogEvents")
    );
    let f = assert_verdicts("role-create-group", &[("execution-role", "fail")]);
    assert!(find(&f, "execution-role", Status::Fail)
        .message
        .contains("logs:CreateLogGroup"));
    let f = assert_verdicts("role-secret-condition", &[("execution-role", "warn")]);
    assert!(find(&f, "execution-role", Status::Warn)
        .message
        .contains("aws:ResourceTag/team"));
    let f = assert_verdicts("role-boundary-ecr-only", &[("execution-role", "fail")]);
    assert_eq!(
        f.iter()
            .filter(|f| f.check == "execution-role" && f.status == Status::Fail)
            .count(),
        2
    );
    assert_verdicts("role-trust-source-account", &[]);
    assert_verdicts("role-denied", &[("execution-role", "error")]);
    assert_verdicts(
        "registry-denied",
        &[("pull-through-cache", "error"), ("execution-role", "error")],
    );
}

fn startup(seconds: u32) -> Options {
    Options {
        startup_time: Some(seconds),
        ..Options::default()
    }
}

#[test]
fn health_check_timing_and_grace() {
    // Grace 300 covers a 120 s start plus 2 × 10 s recovery.
    let f = assert_verdicts_with("alb", &startup(120), &[]);
    let row = find(&f, "health-check-timing", Status::Pass);
    // (unhealthy threshold 2 − 1) × interval 10: the first probe comes at registration.
    assert_eq!(
        row.details.as_ref().unwrap()["detection_window_seconds"],
        10
    );
    assert_eq!(row.details.as_ref().unwrap()["recovery_seconds"], 20);
    // Grace 0, 10 s window, 120 s start: killed, and the grace check says what grace does.
    let f = assert_verdicts_with(
        "alb-grace-0",
        &startup(120),
        &[
            ("health-check-timing", "fail"),
            ("health-check-grace", "fail"),
        ],
    );
    let row = find(&f, "health-check-timing", Status::Fail);
    assert!(
        row.remediation
            .contains("at least startup + interval × healthy threshold = 120 + 20 = 140"),
        "{}",
        row.remediation
    );
    assert!(row
        .remediation
        .contains("--health-check-grace-period-seconds 140"));
    assert!(find(&f, "health-check-grace", Status::Fail)
        .message
        .contains("does not delay"));
    // No startup time: a warning that states the window.
    let f = assert_verdicts(
        "alb-grace-0",
        &[
            ("health-check-timing", "warn"),
            ("health-check-grace", "warn"),
        ],
    );
    assert!(find(&f, "health-check-timing", Status::Warn)
        .message
        .contains("within 10 s"));
    // A fast app needs no grace; one answering at the second probe is already too late.
    assert_verdicts_with("alb-grace-0", &startup(9), &[]);
    assert_verdicts_with(
        "alb-grace-0",
        &startup(10),
        &[
            ("health-check-timing", "fail"),
            ("health-check-grace", "fail"),
        ],
    );
    // Without a load balancer these checks do not apply.
    let f = assert_verdicts_with("endpoint-only", &startup(120), &[]);
    find(&f, "health-check-timing", Status::Skip);
    find(&f, "load-balancer-ingress", Status::Skip);
}

#[test]
fn container_health_checks() {
    // startPeriod 30, interval 10, retries 3: counted probes at 30, 40, 50 s < 120 s.
    let f = assert_verdicts_with(
        "container-health-check",
        &startup(120),
        &[
            ("health-check-timing", "fail"),
            ("health-check-grace", "fail"),
            ("container-health-check", "fail"),
        ],
    );
    assert!(find(&f, "container-health-check", Status::Fail)
        .message
        .contains("unhealthy at 50 s"));
    // Without --startup-time, the startPeriod is the startup time, and the finding says so.
    let f = assert_verdicts(
        "container-health-check",
        &[
            ("health-check-timing", "fail"),
            ("health-check-grace", "fail"),
        ],
    );
    assert!(find(&f, "health-check-timing", Status::Fail)
        .message
        .contains("startPeriod"));
    let f = assert_verdicts(
        "container-health-check-invalid",
        &[("container-health-check", "fail")],
    );
    let row = find(&f, "container-health-check", Status::Fail);
    assert!(row.message.contains("interval 400") && row.message.contains("startPeriod 301"));
    find(
        &run_all(&load("endpoint-only")),
        "container-health-check",
        Status::Skip,
    );
}

#[test]
fn load_balancer_ingress() {
    let f = assert_verdicts("alb", &[("health-check-timing", "warn")]);
    find(&f, "load-balancer-ingress", Status::Pass);
    let f = assert_verdicts_with(
        "alb-task-sg-closed",
        &startup(30),
        &[("load-balancer-ingress", "fail")],
    );
    let row = find(&f, "load-balancer-ingress", Status::Fail);
    assert!(
        row.message
            .contains("TCP 8080 in from load balancer web-alb"),
        "{}",
        row.message
    );
    assert!(row
        .remediation
        .contains("authorize-security-group-ingress --group-id sg-0task"));
    let f = assert_verdicts_with(
        "alb-egress-blocked",
        &startup(30),
        &[("load-balancer-ingress", "fail")],
    );
    assert!(find(&f, "load-balancer-ingress", Status::Fail)
        .message
        .contains("out to the task"));
    let f = assert_verdicts_with(
        "alb-instance-target",
        &startup(30),
        &[("load-balancer-ingress", "fail")],
    );
    assert!(find(&f, "load-balancer-ingress", Status::Fail)
        .message
        .contains("target type is instance"));
    let f = assert_verdicts_with(
        "alb-health-port-unmapped",
        &startup(30),
        &[("load-balancer-ingress", "fail")],
    );
    assert!(find(&f, "load-balancer-ingress", Status::Fail)
        .message
        .contains("port 9090"));
    assert_verdicts_with("nlb-without-sg", &startup(30), &[]);
    let f = assert_verdicts_with(
        "nlb-without-sg-closed",
        &startup(30),
        &[("load-balancer-ingress", "fail")],
    );
    assert!(find(&f, "load-balancer-ingress", Status::Fail)
        .message
        .contains("its subnets 10.0.1.0/24, 10.0.2.0/24"));
}

#[test]
fn partial_secret_arns() {
    // IAM sees prod/db-AbCdEf: a policy on prod/db-* matches it.
    assert_verdicts("secret-partial-arn-wildcard-policy", &[]);
    // A policy on the full ARN may or may not be that secret: a warning, not a verdict.
    let f = assert_verdicts(
        "secret-partial-arn-exact-policy",
        &[("execution-role", "warn")],
    );
    assert!(find(&f, "execution-role", Status::Warn)
        .message
        .contains("6-character suffix"));
}

#[test]
fn second_review_cases() {
    // One repository that could not be looked up is that image's error, not a pass.
    let f = assert_verdicts(
        "ptc-repository-lookup-denied",
        &[("pull-through-cache", "error")],
    );
    assert!(find(&f, "pull-through-cache", Status::Error)
        .message
        .contains("ecr:DescribeRepositories was denied"));
    // ROOT (ECR-to-ECR) matches any repository; across accounts it needs a custom role, and the
    // execution role then needs the first-pull actions.
    let f = assert_verdicts(
        "ptc-root-rule",
        &[("pull-through-cache", "fail"), ("execution-role", "fail")],
    );
    assert!(find(&f, "pull-through-cache", Status::Fail)
        .message
        .contains("customRoleArn"));
    assert!(find(&f, "execution-role", Status::Fail)
        .message
        .contains("ecr:BatchImportUpstreamImage"));
    // A target group no listener forwards to: ECS rejects the service.
    let f = assert_verdicts_with(
        "alb-target-group-without-lb",
        &startup(30),
        &[("load-balancer-ingress", "fail")],
    );
    assert!(find(&f, "load-balancer-ingress", Status::Fail)
        .message
        .contains("not attached to any load balancer"));
    // IfExists on a key we cannot see is not a pass.
    let f = assert_verdicts("policy-if-exists", &[("execution-role", "warn")]);
    assert!(find(&f, "execution-role", Status::Warn)
        .message
        .contains("aws:RequestedRegion"));
    // ECS ignores container health checks during the service's grace period.
    let f = assert_verdicts_with("container-health-check-within-grace", &startup(120), &[]);
    assert!(find(&f, "container-health-check", Status::Pass)
        .message
        .contains("grace period covers it"));
}

#[test]
fn nacls_judge_only_traffic_that_crosses_a_subnet() {
    // Task and endpoints in one subnet: a NACL denying the VPC never sees that traffic.
    assert_verdicts("nacl-one-subnet-intra-vpc-denied", &[]);
    let f = assert_verdicts(
        "nacl-two-subnets-intra-vpc-denied",
        &[("network-acl", "fail")],
    );
    let task_side = f
        .iter()
        .find(|f| f.check == "network-acl" && f.resource == "subnet-0a1 (acl-0tasks)")
        .expect("subnet-0a1's finding");
    // The flows to the endpoint interfaces in the other subnet, not in its own.
    assert!(
        task_side.message.contains("at 10.0.2.0/24"),
        "{}",
        task_side.message
    );
    assert!(
        !task_side.message.contains("at 10.0.1.0/24"),
        "{}",
        task_side.message
    );
}

#[test]
fn the_pull_actions_are_those_of_awss_pull_only_policy() {
    assert_verdicts("ecr-dkr-policy-pull-only", &[]);
    assert_verdicts("role-pull-only", &[]);
    let f = assert_verdicts(
        "ecr-dkr-policy-without-layer-urls",
        &[("ecr-dkr-endpoint", "fail")],
    );
    assert!(find(&f, "ecr-dkr-endpoint", Status::Fail)
        .message
        .contains("ecr:GetDownloadUrlForLayer"));
}

#[test]
fn a_more_specific_route_that_breaks_the_path_is_the_one_to_repair() {
    let f = run_all(&load("route-prefix-list-blackhole"));
    let row = find(&f, "egress-path", Status::Fail);
    assert!(
        row.remediation.contains(
            "delete-route --route-table-id rtb-0private --destination-prefix-list-id pl-0partners"
        ),
        "{}",
        row.remediation
    );
    // On the NAT gateway's subnet's table, not the task's.
    let f = run_all(&load("route-nat-subnet-split-blackhole"));
    let row = find(&f, "egress-path", Status::Fail);
    assert!(row.message.contains("subnet-0pub"), "{}", row.message);
    assert!(
        row.remediation.contains("--route-table-id rtb-0public"),
        "{}",
        row.remediation
    );
}

#[test]
fn image_existence_and_platform() {
    let f = assert_verdicts("image-tag-missing", &[("image-exists", "fail")]);
    let row = find(&f, "image-exists", Status::Fail);
    assert!(
        row.message.contains("no image with tag 1.1"),
        "{}",
        row.message
    );
    assert!(row
        .remediation
        .contains("aws ecr describe-images --repository-name web"));
    let f = assert_verdicts("image-digest-missing", &[("image-exists", "fail")]);
    assert!(find(&f, "image-exists", Status::Fail)
        .message
        .contains("no image with digest sha256:"));
    let f = assert_verdicts("image-archived", &[("image-exists", "fail")]);
    assert!(find(&f, "image-exists", Status::Fail)
        .remediation
        .contains("update-image-storage-class --repository-name web --registry-id 123456789012 --region ap-northeast-1 --image-id imageDigest=sha256:"));
    assert_verdicts("image-activating", &[("image-exists", "warn")]);
    assert_verdicts("image-repository-missing", &[("image-exists", "fail")]);

    // Another account's data we may not read is "cannot verify", never pass or fail.
    let f = assert_verdicts(
        "image-cross-account-denied",
        &[("image-exists", "warn"), ("image-platform", "warn")],
    );
    assert!(find(&f, "image-exists", Status::Warn)
        .message
        .starts_with("cannot verify 210987654321.dkr.ecr"));
    let f = assert_verdicts("image-cross-account-no-policy", &[("image-exists", "fail")]);
    assert!(find(&f, "image-exists", Status::Fail)
        .message
        .contains("has no repository policy"));
    let f = assert_verdicts(
        "image-cross-account-policy-other",
        &[("image-exists", "fail")],
    );
    let row = find(&f, "image-exists", Status::Fail);
    assert!(
        row.message
            .contains("ecr:BatchGetImage (no statement allows it)"),
        "{}",
        row.message
    );
    assert!(row
        .remediation
        .contains("arn:aws:iam::123456789012:role/ecsTaskExecutionRole"));
    assert_verdicts("image-cross-account-policy-allows", &[]);

    // Both platforms are named, with the fix.
    let f = assert_verdicts("image-arm64-only-on-x86", &[("image-platform", "fail")]);
    let row = find(&f, "image-platform", Status::Fail);
    assert!(row.message.contains("linux/amd64") && row.message.contains("linux/arm64"));
    assert!(row
        .remediation
        .contains("--platform linux/amd64,linux/arm64"));
    assert!(row
        .remediation
        .contains("runtimePlatform.cpuArchitecture to ARM64"));
    let f = assert_verdicts("image-amd64-single-on-arm64", &[("image-platform", "fail")]);
    let row = find(&f, "image-platform", Status::Fail);
    assert!(row.message.contains("exec format error"), "{}", row.message);
    assert!(row.remediation.contains("cpuArchitecture to X86_64"));
    assert_verdicts("image-multi-arch-on-arm64", &[]);
    let f = assert_verdicts(
        "image-windows-build-mismatch",
        &[("image-platform", "fail")],
    );
    let row = find(&f, "image-platform", Status::Fail);
    assert!(row.message.contains("10.0.20348") && row.message.contains("10.0.17763"));
    assert!(row.remediation.contains("WINDOWS_SERVER_2019_CORE"));
    assert_verdicts("image-attestations-only", &[("image-platform", "fail")]);
    assert_verdicts("image-schema1", &[("image-platform", "warn")]);
    let f = assert_verdicts("image-config-denied", &[("image-platform", "error")]);
    assert!(find(&f, "image-platform", Status::Error)
        .message
        .contains("ecr:GetDownloadUrlForLayer"));

    assert_verdicts(
        "image-cross-account-policy-unreadable",
        &[("image-exists", "warn")],
    );
    let f = assert_verdicts("image-policy-denies-role", &[("image-exists", "fail")]);
    assert!(find(&f, "image-exists", Status::Fail)
        .message
        .contains("denied by statement \"CiOnly\""));
    assert_verdicts("image-policy-deny-unless-vpce", &[("image-exists", "warn")]);
    assert_verdicts("image-index-unlabeled", &[("image-platform", "warn")]);
    let f = assert_verdicts("image-single-amd64", &[]);
    assert!(find(&f, "image-platform", Status::Pass)
        .message
        .contains("its config says linux/amd64"));
    assert_verdicts("image-dualstack-uri", &[]);

    // Size against ephemeral storage is a warning, and only when it does not fit.
    let f = assert_verdicts("image-oversized", &[("image-exists", "warn")]);
    let row = find(&f, "image-exists", Status::Warn);
    assert!(row.message.contains("6.0 GiB compressed") && row.message.contains("20 GiB"));
    assert!(row.remediation.contains("\"sizeInGiB\": 25"));
    assert_verdicts("image-oversized-with-storage", &[]);

    // A cache repository not created yet is the first pull's job, not a failure.
    let f = assert_verdicts("image-cache-not-pulled-yet", &[]);
    assert_eq!(
        f.iter()
            .filter(|f| f.check.starts_with("image-"))
            .map(|f| f.status)
            .collect::<Vec<_>>(),
        [Status::Skip, Status::Skip]
    );
}

#[test]
fn efs_volumes_task_role_and_exec() {
    assert_verdicts("efs-ok", &[]);
    let f = assert_verdicts("efs-one-zone-two-azs", &[("efs-volumes", "fail")]);
    assert!(find(&f, "efs-volumes", Status::Fail)
        .message
        .contains("One Zone file system in ap-northeast-1a"));
    let f = assert_verdicts("efs-no-mount-target-second-az", &[("efs-volumes", "fail")]);
    let row = find(&f, "efs-volumes", Status::Fail);
    assert!(
        row.message.contains("no mount target in ap-northeast-1c"),
        "{}",
        row.message
    );
    assert!(row.remediation.contains(
        "aws efs create-mount-target --file-system-id fs-0a1b2c3d --subnet-id subnet-0b2"
    ));
    let f = assert_verdicts("efs-sg-wrong-group", &[("efs-volumes", "fail")]);
    assert!(find(&f, "efs-volumes", Status::Fail)
        .remediation
        .contains("authorize-security-group-ingress --group-id sg-0efs"));
    let f = assert_verdicts("efs-nacl-blocks-replies", &[("efs-volumes", "fail")]);
    assert!(find(&f, "efs-volumes", Status::Fail)
        .message
        .contains("return traffic"));
    let f = assert_verdicts(
        "efs-access-point-root-directory",
        &[("efs-volumes", "fail")],
    );
    assert!(find(&f, "efs-volumes", Status::Fail)
        .message
        .contains("rootDirectory"));
    let f = assert_verdicts("efs-iam-without-transit", &[("efs-volumes", "fail")]);
    assert!(find(&f, "efs-volumes", Status::Fail)
        .message
        .contains("IAM authorization needs transitEncryption ENABLED"));
    let f = assert_verdicts("efs-role-without-client-write", &[("efs-volumes", "fail")]);
    let row = find(&f, "efs-volumes", Status::Fail);
    assert!(
        row.message.contains("elasticfilesystem:ClientWrite"),
        "{}",
        row.message
    );
    assert!(!row.message.contains("ClientMount ("), "{}", row.message);
    assert_verdicts("efs-read-only-without-client-write", &[]);
    assert_verdicts("efs-default-policy-role-without-efs-actions", &[]);
    let f = assert_verdicts("efs-policy-denies-role", &[("efs-volumes", "fail")]);
    assert!(find(&f, "efs-volumes", Status::Fail)
        .message
        .contains("explicit deny in the file system policy"));
    assert_verdicts("efs-policy-allows-role", &[]);
    let f = assert_verdicts("efs-iam-without-task-role", &[("efs-volumes", "fail")]);
    assert!(find(&f, "efs-volumes", Status::Fail)
        .message
        .contains("no taskRoleArn"));
    assert_verdicts("efs-missing-file-system", &[("efs-volumes", "fail")]);
    // A Deny that may apply is never outvoted by an allow elsewhere.
    let f = assert_verdicts("efs-policy-conditional-deny", &[("efs-volumes", "warn")]);
    assert!(find(&f, "efs-volumes", Status::Warn)
        .message
        .contains("a Deny in the file system policy may apply"));
    let f = assert_verdicts(
        "efs-anonymous-named-role-policy",
        &[("efs-volumes", "fail")],
    );
    assert!(find(&f, "efs-volumes", Status::Fail)
        .message
        .contains("an anonymous client"));
    assert_verdicts("efs-windows", &[("efs-volumes", "fail")]);
    assert_verdicts("efs-mount-target-other-vpc", &[("efs-volumes", "warn")]);

    assert_verdicts("task-role-ok", &[]);
    let f = assert_verdicts("task-role-ec2-trust", &[("task-role", "fail")]);
    assert!(find(&f, "task-role", Status::Fail)
        .remediation
        .contains("update-assume-role-policy --role-name webTaskRole"));
    assert_verdicts("task-role-missing", &[("task-role", "fail")]);

    assert_verdicts("exec-ok", &[]);
    let f = assert_verdicts("exec-ssm-on-execution-role", &[("ecs-exec", "fail")]);
    assert!(find(&f, "ecs-exec", Status::Fail)
        .message
        .starts_with("webTaskRole is not allowed: ssmmessages:CreateControlChannel"));
    let f = assert_verdicts("exec-kms-key-denied", &[("ecs-exec", "fail")]);
    assert!(find(&f, "ecs-exec", Status::Fail)
        .message
        .contains("kms:Decrypt on arn:aws:kms:"));
    let f = assert_verdicts("exec-kms-key-allowed-no-endpoint", &[("ecs-exec", "fail")]);
    assert!(find(&f, "ecs-exec", Status::Fail).message.contains(".kms"));
    let f = assert_verdicts("exec-readonly-root", &[("ecs-exec", "fail")]);
    assert!(find(&f, "ecs-exec", Status::Fail)
        .message
        .contains("readonlyRootFilesystem"));
    assert_verdicts("exec-without-init", &[("ecs-exec", "warn")]);
    assert_verdicts("exec-kms-alias", &[("ecs-exec", "warn")]);
    let f = assert_verdicts("exec-pre-deploy", &[("ecs-exec", "warn")]);
    assert!(find(&f, "ecs-exec", Status::Warn)
        .message
        .starts_with("cannot verify the cluster's Exec settings"));
    let f = assert_verdicts(
        "exec-logging-s3-no-gateway",
        &[("ecs-exec", "fail"), ("s3-gateway-endpoint", "fail")],
    );
    assert!(find(&f, "ecs-exec", Status::Fail)
        .message
        .contains("neither a path out nor an S3 gateway endpoint"));
    let f = assert_verdicts("exec-logging-s3-denied", &[("ecs-exec", "fail")]);
    assert!(find(&f, "ecs-exec", Status::Fail)
        .message
        .contains("s3:PutObject on arn:aws:s3:::exec-logs/web/*"));
}

fn messages(findings: &[Finding], check: &str) -> Vec<String> {
    findings
        .iter()
        .filter(|f| f.check == check && f.status != Status::Pass)
        .map(|f| f.message.clone())
        .collect()
}

#[test]
fn task_definition_sizes_follow_the_fargate_table() {
    let f = assert_verdicts("td-memory-3000-at-256", &[("task-definition", "fail")]);
    let m = &find(&f, "task-definition", Status::Fail).message;
    assert!(
        m.contains(
            "task memory 3000 MiB is not a Fargate size for 256 CPU units (512, 1024, 2048 MiB)"
        ),
        "{m}"
    );
    for good in [
        "td-largest-quarter-vcpu",
        "td-8-vcpu-60-gib",
        "td-windows-one-vcpu",
    ] {
        let f = run_all(&load(good));
        assert_eq!(
            find(&f, "task-definition", Status::Pass).resource,
            "web:7",
            "{good}"
        );
    }
    let f = assert_verdicts("td-8-vcpu-off-step", &[("task-definition", "fail")]);
    assert!(find(&f, "task-definition", Status::Fail)
        .message
        .contains("16384 to 61440 MiB in steps of 4096"));
    let f = assert_verdicts(
        "td-16-vcpu-on-130",
        &[("task-definition", "fail"), ("platform-version", "fail")],
    );
    assert!(find(&f, "task-definition", Status::Fail)
        .message
        .contains("needs Linux platform version 1.4.0; the task gets 1.3.0"));
    let f = run_all(&load("td-windows-half-vcpu"));
    assert!(messages(&f, "task-definition")
        .iter()
        .any(|m| m.contains("not available to Windows containers")));
    let f = assert_verdicts("td-no-task-memory", &[("task-definition", "fail")]);
    assert!(find(&f, "task-definition", Status::Fail)
        .message
        .starts_with("task-level memory is not set"));
    // A snapshot from before the size was gathered: could not check, never a verdict.
    assert_verdicts("td-old-snapshot", &[("task-definition", "error")]);
}

#[test]
fn task_definition_fields_each_name_the_container() {
    let f = assert_verdicts("td-bridge-ec2-only", &[("task-definition", "fail")]);
    let m = messages(&f, "task-definition");
    assert_eq!(m.len(), 2, "{m:#?}");
    assert!(m[0].starts_with("networkMode is bridge"));
    assert!(m[1].contains("does not support launch_type FARGATE"));
    let f = assert_verdicts("td-container-over-task", &[("task-definition", "fail")]);
    let m = messages(&f, "task-definition");
    assert_eq!(
        m,
        [
            "container web: memory 1024 MiB exceeds the task's 512 MiB",
            "the containers reserve 1024 MiB together (memoryReservation, else memory) but the task has 512 MiB",
            "the containers' cpu adds up to 512 units but the task has 256",
        ]
    );
    for good in [
        "td-reservations-fit",
        "td-stop-timeout-120",
        "td-depends-success-ok",
        "td-start-timeout-enough",
    ] {
        let f = run_all(&load(good));
        assert!(
            messages(&f, "task-definition").is_empty(),
            "{good}: {:#?}",
            messages(&f, "task-definition")
        );
    }
    for (name, needle) in [
        (
            "td-stop-timeout-300",
            "container web: stopTimeout 300 s is over Fargate's maximum of 120 s",
        ),
        (
            "td-ephemeral-20",
            "ephemeralStorage.sizeInGiB 20 is outside Fargate's 21-200 GiB",
        ),
        (
            "td-host-port-differs",
            "container web: hostPort 80 differs from containerPort 8080",
        ),
        ("td-no-essential", "no container is essential"),
        (
            "td-depends-on-missing",
            "container web: dependsOn names container migrate",
        ),
        (
            "td-depends-healthy-without-check",
            "init has no health check, so it never becomes HEALTHY",
        ),
        (
            "td-depends-success-on-essential",
            "dependsOn init SUCCESS, but init is essential",
        ),
        (
            "td-depends-cycle",
            "dependsOn forms a cycle: web → init → web",
        ),
        (
            "td-lb-container-missing",
            "load balancer names container api",
        ),
    ] {
        let f = run_all(&load(name));
        let m = messages(&f, "task-definition");
        assert!(
            f.iter()
                .any(|f| f.check == "task-definition" && f.status == Status::Fail),
            "{name}: {m:#?}"
        );
        assert!(m.iter().any(|m| m.contains(needle)), "{name}: {m:#?}");
    }
}

#[test]
fn a_start_timeout_shorter_than_the_dependency_may_need_warns() {
    let f = assert_verdicts("td-start-timeout-short", &[("task-definition", "warn")]);
    let m = &find(&f, "task-definition", Status::Warn).message;
    assert!(m.contains("init's startTimeout 30 s is shorter than the 90 s its health check allows it to become HEALTHY (startPeriod 60 s + retries 3 × interval 10 s)"), "{m}");
    let f = assert_verdicts(
        "td-start-timeout-before-first-probe",
        &[("task-definition", "fail")],
    );
    let m = &find(&f, "task-definition", Status::Fail).message;
    assert!(
        m.contains("init's startTimeout 5 s ends before its first health check at 10 s"),
        "{m}"
    );
}

#[test]
fn deployment_settings_that_cannot_move_fail() {
    let f = assert_verdicts("deploy-1-100-100", &[("deployment-configuration", "fail")]);
    let row = find(&f, "deployment-configuration", Status::Fail);
    assert!(row.message.starts_with("desiredCount 1, minimumHealthyPercent 100 (keeps ceil(1 × 100 / 100) = 1 running), maximumPercent 100 (allows floor(1 × 100 / 100) = 1)"), "{}", row.message);
    assert!(row.remediation.starts_with(
        "aws ecs update-service --cluster app --service web --deployment-configuration"
    ));
    assert_verdicts("deploy-3-100-120", &[("deployment-configuration", "fail")]);
    assert_verdicts("deploy-4-75-100", &[]);
    assert_verdicts(
        "deploy-no-circuit-breaker",
        &[("deployment-configuration", "warn")],
    );
    let f = assert_verdicts("deploy-blue-green", &[]);
    assert!(find(&f, "deployment-configuration", Status::Skip)
        .message
        .contains("without a load balancer"));
    let f = assert_verdicts(
        "no-service-linked-role",
        &[("deployment-configuration", "fail")],
    );
    assert_eq!(
        find(&f, "deployment-configuration", Status::Fail).remediation,
        "aws iam create-service-linked-role --aws-service-name ecs.amazonaws.com"
    );
    let f = run_all(&load("no-service-linked-role-pre-deploy"));
    assert!(find(&f, "deployment-configuration", Status::Warn)
        .message
        .contains("CreateService makes it only when the caller may iam:CreateServiceLinkedRole"));
    let f = assert_verdicts("deploy-code-deploy", &[]);
    assert!(f
        .iter()
        .any(|f| f.check == "deployment-configuration" && f.status == Status::Skip));
}

#[test]
fn subnets_without_addresses_for_the_peak_fail() {
    let f = assert_verdicts("capacity-short", &[("subnet-capacity", "fail")]);
    let m = &find(&f, "subnet-capacity", Status::Fail).message;
    assert!(m.contains("runs up to 40 task(s) (20 running now), so it needs 20 more address(es), but the task subnets have 10 free (subnet-0a1 5, subnet-0b2 5)"), "{m}");
    assert_verdicts("capacity-exact", &[]);
    let f = assert_verdicts("capacity-uneven", &[("subnet-capacity", "warn")]);
    assert!(find(&f, "subnet-capacity", Status::Warn)
        .message
        .contains("subnet-0b2 (1 free) cannot take an even share of 2"));
    let f = run_all(&load("capacity-pre-deploy-first-short"));
    assert!(find(&f, "subnet-capacity", Status::Fail)
        .message
        .starts_with("the service's first deployment starts 5 task(s), one address each, but the task subnets have 4 free"));
    let f = run_all(&load("capacity-pre-deploy-rolling-short"));
    assert!(find(&f, "subnet-capacity", Status::Warn)
        .message
        .ends_with("at the first rolling update after creation"));
    let f = run_all(&load("capacity-ipv6-only"));
    assert!(f
        .iter()
        .any(|f| f.check == "subnet-capacity" && f.status == Status::Skip));
    let f = run_all(&load("td-ec2-service"));
    assert!(f
        .iter()
        .any(|f| f.check == "task-definition" && f.status == Status::Skip));
    assert_verdicts(
        "placement-old-snapshot",
        &[
            ("subnet-capacity", "error"),
            ("deployment-configuration", "error"),
            ("fargate-quota", "error"),
        ],
    );
}

#[test]
fn the_fargate_vcpu_quota_must_have_room_for_the_deployment() {
    let f = assert_verdicts("quota-exhausted", &[("fargate-quota", "fail")]);
    let m = &find(&f, "fargate-quota", Status::Fail).message;
    assert!(m.starts_with("99.75 vCPUs in use + 0.5 for the deployment's peak (2 task(s) × 0.25 vCPU) = 100.25 of the Fargate On-Demand quota of 100"), "{m}");
    assert!(find(&f, "fargate-quota", Status::Fail)
        .remediation
        .contains("--service-code fargate --quota-code L-3032A538"));
    assert_verdicts("quota-near", &[("fargate-quota", "warn")]);
    let f = assert_verdicts("quota-default-fits", &[]);
    assert!(find(&f, "fargate-quota", Status::Pass)
        .message
        .contains("(AWS's default: no increase applied)"));
    let f = assert_verdicts("quota-spot-only", &[("fargate-quota", "warn")]);
    assert!(find(&f, "fargate-quota", Status::Pass)
        .message
        .contains("Fargate Spot quota"));
    let f = run_all(&load("quota-mixed-over"));
    let warns: Vec<_> = f
        .iter()
        .filter(|f| f.check == "fargate-quota" && f.status == Status::Warn)
        .collect();
    assert_eq!(warns.len(), 2, "{warns:#?}");
    assert!(!f
        .iter()
        .any(|f| f.check == "fargate-quota" && f.status == Status::Fail));
    let f = assert_verdicts("quota-usage-denied", &[("fargate-quota", "error")]);
    assert!(find(&f, "fargate-quota", Status::Error)
        .message
        .contains("cloudwatch:GetMetricData was denied"));
    let f = run_all(&load("quota-pre-deploy-first-over"));
    assert!(find(&f, "fargate-quota", Status::Fail).message.starts_with(
        "90 vCPUs in use + 40 for the service's first deployment (10 task(s) × 4 vCPU)"
    ));
}

/// The deployment-configuration fail message of a blue/green fixture.
fn traffic_shift_failure(name: &str) -> String {
    let f = assert_verdicts_with(name, &startup(30), &[("deployment-configuration", "fail")]);
    find(&f, "deployment-configuration", Status::Fail)
        .message
        .clone()
}

#[test]
fn blue_green_needs_its_alternate_target_group_rules_and_role() {
    for good in [
        "bg-ok",
        "bg-linear-ok",
        "bg-green-only-on-test-rule",
        "bg-nlb-listeners",
    ] {
        let f = assert_verdicts_with(good, &startup(30), &[]);
        assert!(
            find(&f, "deployment-configuration", Status::Pass)
                .message
                .contains("the alternate target group, the listener rules"),
            "{good}"
        );
    }
    for (name, needle) in [
        ("bg-no-advanced", "needs loadBalancers[0].advancedConfiguration"),
        ("bg-alternate-missing", "the alternate target group arn:aws:elasticloadbalancing:ap-northeast-1:123456789012:targetgroup/web-tg-green/fedcba9876543210 does not exist"),
        ("bg-alternate-is-primary", "the alternate target group is the primary one"),
        ("bg-alternate-instance-target", "web-tg-green has target type instance"),
        ("bg-rule-missing", "the productionListenerRule arn:aws:elasticloadbalancing:ap-northeast-1:123456789012:listener-rule/app/web-alb/0a1b/1c2d/aaaa does not exist"),
        ("bg-alb-without-test-rule", "testListenerRule is required when productionListenerRule is not associated with both"),
        ("bg-alb-without-test-rule", "targetgroup/web-tg-green/fedcba9876543210 is not associated with either productionListenerRule or testListenerRule"),
        ("bg-unexpected-target-group", "forwards to arn:aws:elasticloadbalancing:ap-northeast-1:123456789012:targetgroup/legacy/1111, not a target group of the service"),
        ("bg-same-rule-twice", "is both the production and the test listener rule"),
        ("bg-listener-arn-on-alb", "Must be RuleArn for ALB or ListenerArn for NLB"),
        ("bg-role-missing", "the infrastructure role arn:aws:iam::123456789012:role/ecsInfrastructureRoleForLoadBalancers does not exist"),
        ("bg-role-trusts-tasks", "ecsInfrastructureRoleForLoadBalancers does not trust ecs.amazonaws.com"),
        ("bg-no-role", "roleArn is not set"),
    ] {
        let m = traffic_shift_failure(name);
        assert!(m.starts_with("the BLUE_GREEN deployment cannot shift traffic: ") || name == "bg-no-advanced", "{name}: {m}");
        assert!(m.contains(needle), "{name}: {m}");
    }
    let f = assert_verdicts_with(
        "bg-split-traffic",
        &startup(30),
        &[("deployment-configuration", "warn")],
    );
    assert!(find(&f, "deployment-configuration", Status::Warn)
        .message
        .contains("sends traffic to 2 target groups"));
    let f = assert_verdicts_with(
        "bg-rules-denied",
        &startup(30),
        &[("deployment-configuration", "error")],
    );
    assert!(find(&f, "deployment-configuration", Status::Error)
        .remediation
        .starts_with("allow elasticloadbalancing:DescribeRules"));
    let f = assert_verdicts_with(
        "bg-old-snapshot",
        &startup(30),
        &[("deployment-configuration", "error")],
    );
    assert!(find(&f, "deployment-configuration", Status::Error)
        .remediation
        .contains("take the snapshot again"));
}

#[test]
fn the_auto_scaling_maximum_raises_the_peak() {
    let f = assert_verdicts("capacity-autoscaling-short", &[("subnet-capacity", "warn")]);
    let m = &find(&f, "subnet-capacity", Status::Warn).message;
    assert!(m.starts_with("scaled out to its Application Auto Scaling maximum of 20, a deployment runs up to 40 task(s), 38 more than the 2 running now, but the task subnets have 20 free"), "{m}");
    assert_verdicts("capacity-autoscaling-fits", &[]);
    let f = assert_verdicts(
        "capacity-autoscaling-denied",
        &[("subnet-capacity", "error")],
    );
    let row = find(&f, "subnet-capacity", Status::Error);
    assert!(
        row.message
            .contains("application-autoscaling:DescribeScalableTargets")
            && row
                .message
                .ends_with("the Application Auto Scaling maximum was not considered"),
        "{}",
        row.message
    );
    // The desired count's own verdict still stands beside it.
    find(&f, "subnet-capacity", Status::Pass);
}

/// Every finding of a cluster scan fixture, the scan-wide ones included.
fn scan(name: &str) -> Vec<Finding> {
    scan_with(name, &Options::default())
}

fn scan_with(name: &str, options: &Options) -> Vec<Finding> {
    let text = std::fs::read_to_string(fixture(name)).expect("fixture");
    let file: fargate_preflight::snapshot::SnapshotFile =
        serde_json::from_str(&text).expect("snapshot file");
    checks::run_scan(&file.into_snapshots(), options).findings
}

#[test]
fn a_cluster_scan_adds_up_what_services_share() {
    let f = scan("scan-shared-subnets-short");
    let shared: Vec<&Finding> = f.iter().filter(|f| f.service.is_none()).collect();
    assert_eq!(shared.len(), 1, "{shared:#?}");
    assert_eq!(shared[0].check, "subnet-capacity");
    assert_eq!(shared[0].status, Status::Warn);
    assert_eq!(shared[0].resource, "subnet-0a1, subnet-0b2");
    assert!(shared[0].message.starts_with("the services sharing these subnets need 12 more address(es) together at their deployments' peaks (web 6, api 6), but the subnets have 10 free"), "{}", shared[0].message);
    // Alone, each service fits.
    assert!(f
        .iter()
        .filter(|f| f.service.is_some() && f.check == "subnet-capacity")
        .all(|f| f.status == Status::Pass));
    assert!(scan("scan-shared-subnets-fit")
        .iter()
        .all(|f| f.service.is_some()));
    let f = scan("scan-shared-quota-over");
    let shared: Vec<&Finding> = f.iter().filter(|f| f.service.is_none()).collect();
    assert_eq!(shared.len(), 1, "{shared:#?}");
    assert_eq!(
        (shared[0].check, shared[0].status),
        ("fargate-quota", Status::Warn)
    );
    assert!(shared[0].message.starts_with("70 vCPUs in use + 32 for the services' deployment peaks together (web 16, api 16) = 102 of the Fargate On-Demand quota of 100"), "{}", shared[0].message);
    assert!(scan("scan-shared-quota-fits")
        .iter()
        .all(|f| f.service.is_some()));
    // --skip drops the scan-wide rule with the check.
    let options = Options {
        skip: vec!["fargate-quota".into()],
        ..Options::default()
    };
    assert!(scan_with("scan-shared-quota-over", &options)
        .iter()
        .all(|f| f.check != "fargate-quota"));
}

/// The `status` finding of `check` in a fixture whose only fail/warn/error it is.
fn only(name: &str, check: &str, status: &str) -> Finding {
    if status == "pass" {
        return find(&assert_verdicts(name, &[]), check, Status::Pass).clone();
    }
    let f = assert_verdicts(name, &[(check, status)]);
    find(&f, check, self::status(status)).clone()
}

#[test]
fn what_the_task_fetches_at_start_exists() {
    for good in [
        "secret-stage-current",
        "parameter-bare",
        "kms-ok",
        "kms-key-policy-names-role",
        "kms-key-policy-names-role-and-root",
        "kms-via-service-ok",
        "kms-log-group-ok",
        "log-group-created",
        "env-file-ok",
        "env-file-kms-ok",
    ] {
        assert_verdicts(good, &[]);
    }
    let m = |name, check, status| only(name, check, status).message;
    assert!(m("secret-stage-current", "secrets-exist", "pass")
        .contains("its JSON key password cannot be verified without reading the value"));
    assert!(m("secret-missing", "secrets-exist", "fail").contains("does not exist in ap-northeast-1: the task stops with \"ResourceInitializationError: unable to pull secrets or registry auth: … ResourceNotFoundException\""));
    assert!(only("secret-pending-deletion", "secrets-exist", "fail")
        .remediation
        .starts_with("aws secretsmanager restore-secret --secret-id arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:prod/db-AbCdEf"));
    assert!(m("secret-stage-missing", "secrets-exist", "fail")
        .contains("asks for version stage AWSPENDING"));
    assert!(m("parameter-bare-missing", "secrets-exist", "fail").contains("a bare name means the task's Region, ap-northeast-1: a parameter in another Region or account must be named by its full ARN"));
    assert!(m("parameter-other-account", "secrets-exist", "warn")
        .starts_with("cannot verify: web/DB_PASSWORD names a parameter of account 210987654321"));
    let f = assert_verdicts(
        "secret-other-account-denied",
        &[("secrets-exist", "warn"), ("kms-keys", "warn")],
    );
    for check in ["secrets-exist", "kms-keys"] {
        assert!(find(&f, check, Status::Warn)
            .message
            .starts_with("cannot verify: owned by account 210987654321"));
    }
    let f = assert_verdicts(
        "secret-describe-denied",
        &[("secrets-exist", "error"), ("kms-keys", "error")],
    );
    assert!(find(&f, "secrets-exist", Status::Error)
        .remediation
        .starts_with("allow secretsmanager:DescribeSecret"));
    // Which key the unread secret uses is unknown: never "no customer managed key".
    assert!(find(&f, "kms-keys", Status::Error)
        .message
        .contains("secretsmanager:DescribeSecret"));
    let f = assert_verdicts(
        "start-old-snapshot",
        &[
            ("secrets-exist", "error"),
            ("kms-keys", "error"),
            ("log-group", "error"),
        ],
    );
    assert!(find(&f, "log-group", Status::Error)
        .remediation
        .contains("take the snapshot again"));
}

#[test]
fn the_keys_behind_the_start_are_enabled_and_usable() {
    let m = |name, status| only(name, "kms-keys", status).message;
    assert!(m("kms-disabled", "fail").ends_with("which is Disabled: nothing can decrypt with it"));
    assert!(only("kms-pending-deletion", "kms-keys", "fail")
        .remediation
        .starts_with("aws kms cancel-key-deletion"));
    assert!(m("kms-missing", "fail").contains("which does not exist in ap-northeast-1"));
    for denied in [
        "kms-role-without-decrypt",
        "kms-key-policy-other-role",
        "kms-via-service-wrong",
        "env-file-kms-denied",
    ] {
        assert!(
            m(denied, "fail").starts_with("ecsTaskExecutionRole may not kms:Decrypt with arn:aws:kms:ap-northeast-1:123456789012:key/1111aaaa-2222-bbbb-3333-cccc4444dddd via "),
            "{denied}"
        );
    }
    assert!(m("kms-via-service-wrong", "fail")
        .contains("via secretsmanager.ap-northeast-1.amazonaws.com"));
    assert!(m("env-file-kms-denied", "fail").contains("via s3.ap-northeast-1.amazonaws.com"));
    assert!(m("kms-policy-unreadable", "warn").contains("kms:GetKeyPolicy"));
    assert!(m("kms-log-group-no-logs-principal", "fail")
        .contains("does not let logs.ap-northeast-1.amazonaws.com use it"));
    let f = assert_verdicts("kms-log-group-ok", &[]);
    assert!(find(&f, "kms-keys", Status::Pass)
        .message
        .contains("lets logs.ap-northeast-1.amazonaws.com encrypt log group /ecs/web's logs"));
}

#[test]
fn log_groups_and_environment_files_exist() {
    assert!(only("log-group-missing", "log-group", "fail")
        .message
        .contains("The specified log group does not exist"));
    assert!(only("log-group-missing", "log-group", "fail")
        .remediation
        .starts_with(
            "aws logs create-log-group --log-group-name /ecs/web --region ap-northeast-1"
        ));
    assert!(only("log-no-region", "log-group", "fail")
        .message
        .starts_with("the awslogs driver needs awslogs-region"));
    assert!(only("log-no-stream-prefix", "log-group", "fail")
        .message
        .starts_with("awslogs-stream-prefix is required on Fargate"));
    let f = assert_verdicts(
        "log-group-denied",
        &[("log-group", "error"), ("kms-keys", "error")],
    );
    assert!(find(&f, "log-group", Status::Error)
        .remediation
        .starts_with("allow logs:DescribeLogGroups"));
    let f = assert_verdicts("log-firelens", &[]);
    assert!(find(&f, "log-group", Status::Skip)
        .message
        .starts_with("FireLens"));
    assert!(only("env-file-missing", "environment-files", "fail")
        .message
        .contains("NoSuchKey"));
    assert!(only("env-file-not-env", "environment-files", "fail")
        .message
        .contains("does not end in .env"));
    let m = only("env-file-other-region", "environment-files", "fail").message;
    assert!(m.contains("is in a bucket in us-west-2: an S3 gateway endpoint serves only its own Region, and subnet-0a1, subnet-0b2 have no verified path out"), "{m}");
}

/// A participant in a shared VPC cannot see the owner's NAT gateways and VPC endpoints: what
/// it cannot see is "cannot verify: owned by …", never a fail.
#[test]
fn shared_vpc_participants_cannot_verify_the_owners_resources() {
    let unseen = [
        ("ecr-api-endpoint", "warn"),
        ("ecr-dkr-endpoint", "warn"),
        ("s3-gateway-endpoint", "warn"),
        ("logs-endpoint", "warn"),
        ("secrets-endpoints", "warn"),
    ];
    let f = assert_verdicts("shared-vpc-participant", &unseen);
    assert!(find(&f, "ecr-dkr-endpoint", Status::Warn)
        .message
        .starts_with("cannot verify: owned by account 210987654321"));
    let mut with_nat = unseen.to_vec();
    with_nat.push(("egress-path", "warn"));
    let f = assert_verdicts("shared-vpc-participant-nat", &with_nat);
    assert!(find(&f, "egress-path", Status::Warn)
        .message
        .contains("cannot verify: owned by account 210987654321"));
    // Subnets of the account itself hide nothing: a missing endpoint fails as usual.
    assert_verdicts("shared-vpc-own-subnets", &[("ecr-api-endpoint", "fail")]);
}
