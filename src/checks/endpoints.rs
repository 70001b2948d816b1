//! Interface endpoints the task needs where it has no path out: ecr.api, ecr.dkr, logs,
//! secretsmanager / ssm, ssmmessages; and whether those endpoints resolve and are available.

use std::collections::BTreeMap;

use super::context::{ids, Dependence, TaskSubnet};
use super::requests::{execution_requests, TaskRequest};
use super::Problem;
use super::{Check, Context, Explain, Outcome, Severity, Verdict};
use crate::facts::endpoints::CROSS_REGION_SERVICES;
use crate::policy::{self, Decision};
use crate::snapshot::{EndpointState, EndpointType, VpcEndpoint};

const ECR_VPCE_DOCS: &str =
    "https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html";
const ECS_VPCE_DOCS: &str =
    "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/vpc-endpoints.html";

pub static ECR_API_ENDPOINT: Check = Check {
    id: "ecr-api-endpoint",
    title: "ecr.api interface endpoint where the platform needs it",
    severity: Severity::Error,
    docs: ECR_VPCE_DOCS,
    run: ecr_api,
    explain: Explain {
        verifies: "The com.amazonaws.REGION.ecr.api interface endpoint, where the platform needs it and the subnets have no path out; and that its policy lets the task's requests through.",
        why: "Linux platform 1.4.0+ and Windows fetch the registry credentials through ecr.api. Missing, the task fails with 'unable to pull secrets or registry auth'. With private DNS the endpoint also takes that traffic where a NAT exists, so a restrictive endpoint policy breaks pulls everywhere.",
        decides: "Required when a same-region private ECR image is used on a platform that needs ecr.api and a task subnet has no verified path out (warn when the path is unverifiable). An ECR image of another Region is served by a cross-Region interface endpoint for that Region's ecr.api (ServiceRegion), else it needs a path out. In a shared VPC seen by a participant (the subnets' OwnerId is another account), a missing endpoint warns \"cannot verify\": participants do not see the owner's endpoints (read with the owner's credentials, --network-profile or --network-role-arn, it is judged as usual). An endpoint in the path has its policy evaluated for ecr:GetAuthorizationToken with the execution role as principal.",
        fix: "aws ec2 create-vpc-endpoint --vpc-endpoint-type Interface --service-name com.amazonaws.REGION.ecr.api --subnet-ids … --security-group-ids … --private-dns-enabled; allow the task's actions in the endpoint policy.",
    },
};

pub static ECR_DKR_ENDPOINT: Check = Check {
    id: "ecr-dkr-endpoint",
    title: "ecr.dkr interface endpoint",
    severity: Severity::Error,
    docs: ECR_VPCE_DOCS,
    run: ecr_dkr,
    explain: Explain {
        verifies: "The com.amazonaws.REGION.ecr.dkr interface endpoint for private ECR images, and that its policy allows the pull.",
        why: "The Docker registry API (manifests, layer URLs) goes to ecr.dkr; without it or without a path out the pull times out: 'CannotPullContainerError … dial tcp …:443: i/o timeout'.",
        decides: "Same rule as ecr-api-endpoint, for every platform; the endpoint policy is evaluated for the pull actions AWS's pull-only policy (AmazonEC2ContainerRegistryPullOnly) grants: ecr:BatchGetImage and ecr:GetDownloadUrlForLayer on each image's repository (ecr:GetAuthorizationToken goes to ecr.api). From IPv6-only task subnets an image by its IPv4 URI fails: ECS must pull by the dual-stack URI (ACCOUNT.dkr-ecr.REGION.on.aws), which PrivateLink does not serve, so egress-path judges its IPv6 path.",
        fix: "Create the ecr.dkr interface endpoint with private DNS in the task subnets' AZs; allow the pull actions in its policy.",
    },
};

pub static ENDPOINT_PRIVATE_DNS: Check = Check {
    id: "endpoint-private-dns",
    title: "Needed interface endpoints are available with private DNS enabled",
    severity: Severity::Error,
    docs: "https://docs.aws.amazon.com/vpc/latest/privatelink/privatelink-access-aws-services.html",
    run: private_dns,
    explain: Explain {
        verifies: "That the interface endpoint carrying each service the task uses (the one whose private DNS owns the service name) is available, and that one exists with private DNS.",
        why: "An endpoint without private DNS is not used by the SDKs and agents inside the task: names resolve to public IPs. An endpoint pending acceptance or still pending does not carry traffic yet.",
        decides: "Per service: the endpoint with PrivateDnsEnabled owns the name (EC2 allows one per service and VPC) and is judged for state available; other endpoints of the service are reported as not in the path. Without such an endpoint, each endpoint of the service fails for its private DNS. Only judged where the subnets depend on the endpoint. From IPv6-only task subnets an endpoint serves only if its private DNS name has AAAA records (DnsRecordIpType ipv6 or dualstack; service-defined gives them to the Regional and zonal names only); one with only A records fails where the subnets depend on it.",
        fix: "aws ec2 modify-vpc-endpoint --vpc-endpoint-id VPCE --private-dns-enabled; wait for state available.",
    },
};

pub static LOGS_ENDPOINT: Check = Check {
    id: "logs-endpoint",
    title: "logs interface endpoint for the awslogs log driver",
    severity: Severity::Error,
    docs: ECS_VPCE_DOCS,
    run: logs,
    explain: Explain {
        verifies: "The com.amazonaws.REGION.logs interface endpoint when a container uses the awslogs log driver and the subnets have no path out.",
        why: "Without it the task fails to start its log stream and stops; logs in another region need a path out whatever endpoints exist.",
        decides: "Required per awslogs-region: same region and no path out needs the endpoint; another region needs a path out (CloudWatch Logs has no cross-Region PrivateLink). The endpoint policy is evaluated for logs:CreateLogStream and logs:PutLogEvents.",
        fix: "Create the logs interface endpoint with private DNS, or give the subnets a NAT path.",
    },
};

pub static SECRETS_ENDPOINTS: Check = Check {
    id: "secrets-endpoints",
    title: "secretsmanager / ssm interface endpoints for referenced secrets",
    severity: Severity::Error,
    docs: ECS_VPCE_DOCS,
    run: secrets,
    explain: Explain {
        verifies: "The secretsmanager / ssm interface endpoints for secrets the task definition references (container secrets, log driver secrets, private registry credentials).",
        why: "ECS fetches secrets before the containers start: 'unable to retrieve secret from asm' or an SSM timeout stops the task.",
        decides: "An ARN in secretsmanager needs secretsmanager, an ssm ARN or a bare parameter name needs ssm, in the secret's region. The endpoint policy is evaluated for GetSecretValue / GetParameters.",
        fix: "Create the secretsmanager and/or ssm interface endpoints with private DNS, or give the subnets a NAT path.",
    },
};

pub static EXEC_ENDPOINT: Check = Check {
    id: "exec-endpoint",
    title: "ssmmessages interface endpoint for ECS Exec",
    severity: Severity::Error,
    docs: "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs-exec.html",
    run: exec,
    explain: Explain {
        verifies: "The ssmmessages interface endpoint when the service enables ECS Exec.",
        why: "Without it 'aws ecs execute-command' cannot open a session into tasks in private subnets.",
        decides: "Required when enableExecuteCommand is on and a subnet has no verified path out.",
        fix: "Create the ssmmessages interface endpoint with private DNS.",
    },
};

/// Something in the task definition that calls an AWS service in a region.
pub(super) struct Use {
    pub what: String,
    pub region: String,
}

/// The command that creates `short`'s interface endpoint; `service_region`: another Region's
/// service, through cross-Region PrivateLink.
fn create_command(
    ctx: &Context,
    short: &str,
    service_region: Option<&str>,
    subnets: &[TaskSubnet],
) -> Result<String, Problem> {
    let vpc = ctx.vpc_id()?;
    // Reuse the security groups of an existing interface endpoint when there is one.
    let existing_sgs = ctx
        .endpoints()?
        .iter()
        .find(|e| e.endpoint_type == EndpointType::Interface && !e.security_group_ids.is_empty())
        .map(|e| e.security_group_ids.join(" "));
    let sgs = existing_sgs.unwrap_or_else(|| {
        format!(
            "sg-… (one that allows TCP 443 in from {})",
            ctx.snap.workload.security_groups.join(", ")
        )
    });
    let one_per_az = one_subnet_per_az(subnets);
    // IPv6-only subnets take an IPv6 endpoint; subnets with both families a dual-stack one.
    let ip_type = match (
        ctx.ipv6_only(),
        subnets.iter().all(|ts| ts.subnet.ipv6_native),
    ) {
        (false, _) => String::new(),
        (true, true) => " --ip-address-type ipv6 --dns-options DnsRecordIpType=ipv6".into(),
        (true, false) => {
            " --ip-address-type dualstack --dns-options DnsRecordIpType=dualstack".into()
        }
    };
    Ok(format!(
        "create interface endpoint {name} in subnets {list} with private DNS: aws ec2 create-vpc-endpoint --vpc-id {vpc} --vpc-endpoint-type Interface --service-name {name}{remote} --subnet-ids {args} --security-group-ids {sgs} --private-dns-enabled{ip_type}",
        name = crate::facts::endpoints::service_name(service_region.unwrap_or(ctx.region()), short),
        remote = service_region.map(|r| format!(" --service-region {r}")).unwrap_or_default(),
        list = one_per_az.join(", "),
        args = one_per_az.join(" "),
    ))
}

/// In a shared VPC seen by a participant, a VPC endpoint that is not found may well exist in
/// the owner's account: "cannot verify", never a fail.
pub fn owner_only(
    ctx: &Context,
    resource: &str,
    missing: &str,
) -> Result<Option<Verdict>, Problem> {
    let Some(owner) = ctx.snap.foreign_vpc_owner() else {
        return Ok(None);
    };
    let vpc = ctx.vpc_id()?;
    Ok(Some(Verdict::warn(
        resource,
        format!("cannot verify: owned by account {owner}, which shares {vpc} with this account; a participant cannot see the owner's VPC endpoints, so {missing} may exist there"),
        format!("read the VPC with the owner's credentials (--network-role-arn arn:aws:iam::{owner}:role/ROLE, or --network-profile PROFILE of account {owner}), or confirm in that account that {missing} exists"),
    )))
}

/// An interface endpoint takes one subnet per Availability Zone.
fn one_subnet_per_az(subnets: &[TaskSubnet]) -> Vec<String> {
    let mut by_az: BTreeMap<String, String> = BTreeMap::new();
    for ts in subnets {
        let az = ts
            .subnet
            .availability_zone
            .clone()
            .unwrap_or_else(|| ts.subnet.id.clone());
        by_az.entry(az).or_insert_with(|| ts.subnet.id.clone());
    }
    by_az.into_values().collect()
}

/// The common rule: where task subnets have no verified path out, the interface endpoint
/// for `short` must exist; uses in other regions need a cross-Region endpoint (where
/// PrivateLink offers one) or a path out.
pub(super) fn require_interface(ctx: &Context, short: &str, uses: Vec<Use>, none: &str) -> Outcome {
    let name = ctx.service_name(short);
    if uses.is_empty() {
        return Ok(vec![Verdict::skip(ctx.scope(), none)]);
    }
    let dep = ctx.dependence()?;
    let what = uses
        .iter()
        .map(|u| u.what.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    // With private DNS the endpoint takes the service's names, path out or not: its policy
    // decides whatever the route table says.
    let endpoint = ctx.interface_endpoints(short)?.main();
    let in_path = ctx.endpoint_in_path(short)?;
    let mut verdicts = match in_path {
        Some(e) => policy_verdicts(ctx, short, e)?,
        None => vec![],
    };
    if !dep.relies_on_endpoints() {
        verdicts.push(match in_path {
            Some(e) => Verdict::pass(
                e.id.as_str(),
                format!(
                    "{} serves {name} for {what}: its private DNS name takes the traffic even though every subnet has a path out",
                    e.id
                ),
            ),
            None => Verdict::pass(
                format!("{} ({name})", ctx.vpc_id()?),
                format!(
                    "not required: {what} reach {short} through the path out ({})",
                    dep.served_summary()
                ),
            ),
        });
        return Ok(verdicts);
    }
    let status_subnets = dep.stranded();
    let (local, remote): (Vec<&Use>, Vec<&Use>) =
        uses.iter().partition(|u| u.region == ctx.region());
    for u in remote {
        if let Some(e) = ctx.endpoint_in_path_of(short, &u.region)? {
            verdicts.push(Verdict::pass(
                e.id.as_str(),
                format!(
                    "{} serves {short} of {} (cross-Region PrivateLink) for {}, for subnets {} (no path out)",
                    e.id, u.region, u.what, ids(status_subnets)
                ),
            ));
            continue;
        }
        let resource = format!("{} ({short} in {})", u.what, u.region);
        let endpoint = format!("an interface endpoint for {short} of {}", u.region);
        if let Some(unseen) = owner_only(ctx, &resource, &endpoint)? {
            verdicts.push(unseen);
            continue;
        }
        let cross_region = CROSS_REGION_SERVICES.contains(&short);
        let message = if cross_region {
            format!(
                "{} uses {short} in {}, and no cross-Region interface endpoint for it is in the path; subnets {} have no verified path out",
                u.what, u.region, ids(status_subnets)
            )
        } else {
            format!(
                "{} uses {short} in {}, but {short} endpoints serve only their own Region ({}; {short} is not a cross-Region PrivateLink service); subnets {} have no verified path out",
                u.what, u.region, ctx.region(), ids(status_subnets)
            )
        };
        let fix = if cross_region {
            format!(
                "{} (cross-Region PrivateLink), or give subnets {} a NAT gateway path",
                create_command(ctx, short, Some(&u.region), status_subnets)?,
                ids(status_subnets)
            )
        } else {
            format!(
                "give subnets {} a NAT gateway path, or move the resource {} uses to {}",
                ids(status_subnets),
                u.what,
                ctx.region()
            )
        };
        verdicts.push(dep.gap(resource, message, fix));
    }
    if local.is_empty() {
        return Ok(verdicts);
    }
    match endpoint {
        Some(endpoint) => verdicts.push(Verdict::pass(
            endpoint.id.as_str(),
            format!(
                "{} ({}) serves {name} for subnets {} (no path out); used by {what}",
                endpoint.id,
                endpoint.state,
                ids(status_subnets)
            ),
        )),
        None => {
            let resource = format!("{} ({name})", ctx.vpc_id()?);
            if let Some(unseen) = owner_only(ctx, &resource, &format!("interface endpoint {name}"))?
            {
                verdicts.push(unseen);
                return Ok(verdicts);
            }
            if let Some(e) = ctx.vpc_endpoints()?.ipv4_only_interface(short)?.first() {
                let message = format!(
                    "{} serves {name} over IPv4 only, and subnets {} are IPv6-only: its private DNS name has no AAAA record for {what}",
                    e.id,
                    ids(status_subnets)
                );
                let fix = format!(
                    "aws ec2 modify-vpc-endpoint --vpc-endpoint-id {} --ip-address-type dualstack --dns-options DnsRecordIpType=dualstack, or route 64:ff9b::/96 to a NAT gateway with DNS64 on the subnets",
                    e.id
                );
                verdicts.push(dep.gap(e.id.as_str(), message, fix));
                return Ok(verdicts);
            }
            let fix = create_command(ctx, short, None, status_subnets)?;
            let message = if dep.required.is_empty() && ctx.ipv6_only() {
                format!(
                    "no interface endpoint {name} that answers over IPv6; subnets {} are IPv6-only without NAT64, and whether {short} answers {what} over their IPv6 path is not modelled",
                    ids(status_subnets)
                )
            } else if dep.required.is_empty() {
                format!(
                    "no interface endpoint {name}; subnets {} reach out only through a route this tool cannot verify",
                    ids(status_subnets)
                )
            } else {
                format!(
                    "no interface endpoint {name} in {}, and subnets {} have no path out: {what} cannot reach {short}",
                    ctx.vpc_id()?,
                    ids(status_subnets)
                )
            };
            verdicts.push(dep.gap(resource, message, fix));
        }
    }
    Ok(verdicts)
}

/// What the endpoint's policy says about the requests the task sends through it.
fn policy_verdicts(ctx: &Context, short: &str, endpoint: &VpcEndpoint) -> Outcome {
    let Some(text) = endpoint.policy_document.as_deref() else {
        return Ok(vec![]);
    };
    let resource = format!("{} (policy)", endpoint.id);
    let doc = match policy::parse_document(text) {
        Ok(doc) => doc,
        Err(e) => {
            let problem = Problem::Unreadable {
                what: format!("the endpoint policy of {}", endpoint.id),
                why: e.to_string(),
            };
            return Ok(vec![Verdict::could_not_check(resource, &problem)]);
        }
    };
    let principal = ctx.task_definition()?.execution_role_arn.clone();
    let requests: Vec<TaskRequest> = execution_requests(ctx)?
        .into_iter()
        .filter(|r| {
            r.service == short
                && (r.resource == "*" || r.resource.contains(&format!(":{}:", ctx.region())))
        })
        .collect();
    let mut denied = Vec::new();
    let mut uncertain = Vec::new();
    let known = ctx.execution_principal_context()?;
    let context = policy::pairs(&known);
    for r in &requests {
        let decision = r.decide(&doc, principal.as_deref(), &context);
        match decision {
            Decision::Allowed => {}
            Decision::ExplicitDeny { statement } => denied.push(format!(
                "{} on {} (for {}) is denied by statement {statement}",
                r.action, r.resource, r.why
            )),
            Decision::ImplicitDeny => denied.push(format!(
                "{} on {} (for {}) is not allowed",
                r.action, r.resource, r.why
            )),
            Decision::Uncertain { reasons } => uncertain.push(format!(
                "{} on {} depends on {}",
                r.action,
                r.resource,
                reasons.join("; ")
            )),
        }
    }
    let fix = format!(
        "allow those actions for the task execution role {} in the policy of {} (aws ec2 modify-vpc-endpoint --vpc-endpoint-id {} --policy-document file://policy.json)",
        principal.as_deref().unwrap_or("(none set)"),
        endpoint.id,
        endpoint.id
    );
    Ok(if !denied.is_empty() {
        vec![Verdict::fail(
            resource,
            format!(
                "the endpoint policy of {}: {}",
                endpoint.id,
                denied.join("; ")
            ),
            fix,
        )]
    } else if !uncertain.is_empty() {
        vec![Verdict::warn(
            resource,
            format!(
                "the endpoint policy of {}: {}",
                endpoint.id,
                uncertain.join("; ")
            ),
            format!("make sure those conditions hold for the task, or {fix}"),
        )]
    } else if requests.is_empty() {
        vec![]
    } else {
        vec![Verdict::pass(
            resource,
            format!(
                "the endpoint policy of {} allows {}",
                endpoint.id,
                requests
                    .iter()
                    .map(|r| r.action)
                    .collect::<std::collections::BTreeSet<_>>()
                    .into_iter()
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )]
    })
}

fn ecr_uses(ctx: &Context) -> Result<Vec<Use>, Problem> {
    Ok(ctx
        .uses()?
        .ecr_images()
        .map(|(image, ecr)| Use {
            what: format!("container {} ({})", image.container, image.image),
            region: ecr.region.clone(),
        })
        .collect())
}

/// From IPv6-only subnets "Amazon ECS workloads must use the Amazon ECR dual-stack image URI
/// endpoints when pulling images from Amazon ECR" (ECS guide, fargate-task-networking.html):
/// an image by its IPv4 URI fails, whatever endpoints exist.
fn ipv4_uris_in_ipv6_only(ctx: &Context) -> Result<Option<Vec<Verdict>>, Problem> {
    let v6 = ctx.ipv6_only_subnets()?;
    let images: Vec<_> = ctx.uses()?.ecr_images().collect();
    if v6.is_empty() || images.is_empty() {
        return Ok(None);
    }
    Ok(Some(
        images
            .into_iter()
            .map(|(image, ecr)| {
                let dual = format!(
                    "{}.dkr-ecr.{}.on.aws/{}{}",
                    ecr.account, ecr.region, image.parsed.repository, image.parsed.reference
                );
                Verdict::fail(
                    format!("container {} ({})", image.container, image.image),
                    format!(
                        "task subnets {} are IPv6-only, where ECS must pull from ECR by the dual-stack image URI; {} is the IPv4-only URI and cannot be pulled",
                        ids(&v6),
                        image.image
                    ),
                    format!(
                        "set the image of container {} to {dual} in a new task definition revision (ECR's dual-stack endpoint is reached through the IPv6 path out: PrivateLink does not serve it)",
                        image.container
                    ),
                )
            })
            .collect(),
    ))
}

/// Why no image needs the ECR endpoints.
fn no_privatelink_image(ctx: &Context) -> Result<String, Problem> {
    Ok(match ctx.uses()?.dual_stack_pulls().is_empty() {
        true => "no container image is in a private ECR registry".into(),
        false => "the task's ECR images use the dual-stack URI, which PrivateLink does not serve (egress-path judges their path out)".into(),
    })
}

fn ecr_api(ctx: &Context) -> Outcome {
    if ipv4_uris_in_ipv6_only(ctx)?.is_some() {
        return Ok(vec![Verdict::skip(
            ctx.scope(),
            "the task's ECR images use IPv4-only URIs in IPv6-only subnets (see ecr-dkr-endpoint)",
        )]);
    }
    if !ctx.needs_ecr_api()? {
        let w = &ctx.snap.workload;
        return Ok(vec![Verdict::skip(
            ctx.scope(),
            format!(
                "Linux platform version {} gets registry credentials without ecr.api",
                w.platform_version.as_deref().unwrap_or("LATEST")
            ),
        )]);
    }
    require_interface(ctx, "ecr.api", ecr_uses(ctx)?, &no_privatelink_image(ctx)?)
}

fn ecr_dkr(ctx: &Context) -> Outcome {
    if let Some(verdicts) = ipv4_uris_in_ipv6_only(ctx)? {
        return Ok(verdicts);
    }
    require_interface(ctx, "ecr.dkr", ecr_uses(ctx)?, &no_privatelink_image(ctx)?)
}

fn logs(ctx: &Context) -> Outcome {
    let uses = ctx
        .uses()?
        .logs
        .iter()
        .map(|log| Use {
            what: format!("container {} (awslogs)", log.container),
            region: log.region.to_string(),
        })
        .collect();
    require_interface(
        ctx,
        "logs",
        uses,
        "no container uses the awslogs log driver",
    )
}

fn secrets(ctx: &Context) -> Outcome {
    let mut by_service: BTreeMap<&str, Vec<Use>> = BTreeMap::new();
    for secret in &ctx.uses()?.secrets {
        by_service.entry(secret.service).or_default().push(Use {
            what: format!("secret {}", secret.what),
            region: secret.region.clone(),
        });
    }
    if by_service.is_empty() {
        return Ok(vec![Verdict::skip(
            ctx.scope(),
            "the task definition references no Secrets Manager secrets or SSM parameters",
        )]);
    }
    let mut verdicts = Vec::new();
    for (service, uses) in by_service {
        verdicts.extend(require_interface(ctx, service, uses, "")?);
    }
    Ok(verdicts)
}

fn exec(ctx: &Context) -> Outcome {
    let uses = if ctx.snap.workload.enable_execute_command {
        vec![Use {
            what: "ECS Exec (enableExecuteCommand)".into(),
            region: ctx.region().to_string(),
        }]
    } else {
        vec![]
    };
    require_interface(ctx, "ssmmessages", uses, "enableExecuteCommand is off")
}

fn private_dns(ctx: &Context) -> Outcome {
    let services = ctx.interface_services()?;
    if services.is_empty() {
        return Ok(vec![Verdict::skip(
            ctx.scope(),
            "the task uses no interface endpoint services",
        )]);
    }
    let dep = ctx.dependence()?;
    let mut verdicts = Vec::new();
    for short in &services {
        let endpoints = ctx.interface_endpoints(short)?;
        // The owner of the name is judged; the others carry none of the task's traffic.
        let judged: Vec<&VpcEndpoint> = match endpoints.owner {
            Some(owner) => vec![owner],
            None => endpoints.all.clone(),
        };
        for e in &endpoints.all {
            if let (Some(owner), false) = (endpoints.owner, judged.iter().any(|j| j.id == e.id)) {
                verdicts.push(Verdict::pass(
                    format!("{} ({short})", e.id),
                    format!(
                        "{} is not in the task's path: its private DNS is off, and {} resolves to {}, which is judged instead",
                        e.id,
                        ctx.service_name(short),
                        owner.id
                    ),
                ));
            }
        }
        for e in judged {
            verdicts.push(judge_private_dns(ctx, short, e, dep));
        }
        for e in ctx.vpc_endpoints()?.ipv4_only_interface(short)? {
            verdicts.push(ipv4_only_endpoint(ctx, short, e, dep)?);
        }
    }
    if verdicts.is_empty() {
        verdicts.push(Verdict::skip(
            ctx.scope(),
            "no interface endpoint for the services the task uses (see the endpoint checks)",
        ));
    }
    Ok(verdicts)
}

/// An endpoint whose private DNS name has only A records, seen from IPv6-only task subnets.
fn ipv4_only_endpoint(
    ctx: &Context,
    short: &str,
    e: &VpcEndpoint,
    dep: &Dependence,
) -> Result<Verdict, Problem> {
    let resource = format!("{} ({short})", e.id);
    let message = format!(
        "{} answers only over IPv4 (IP address type {}, DNS record IP type {}), and task subnets {} are IPv6-only: {} gets no AAAA record there",
        e.id,
        e.ip_address_type.as_deref().unwrap_or("ipv4"),
        e.dns_record_ip_type.as_deref().unwrap_or("ipv4"),
        ids(&ctx.ipv6_only_subnets()?),
        ctx.service_name(short)
    );
    let fix = format!(
        "aws ec2 modify-vpc-endpoint --vpc-endpoint-id {} --ip-address-type dualstack --dns-options DnsRecordIpType=dualstack (its subnets need IPv6 CIDRs)",
        e.id
    );
    Ok(if dep.relies_on_endpoints() {
        dep.gap(resource, message, fix)
    } else {
        Verdict::pass(
            resource,
            format!(
                "{message}; not needed: every task subnet reaches IPv4 endpoints through NAT64"
            ),
        )
    })
}

fn judge_private_dns(ctx: &Context, short: &str, e: &VpcEndpoint, dep: &Dependence) -> Verdict {
    let available = e.state == EndpointState::Available;
    let mut problems = Vec::new();
    let mut fixes = Vec::new();
    if !e.private_dns_enabled {
        problems.push(format!(
            "private DNS is off, so {} resolves to public IPs",
            ctx.service_name(short)
        ));
        fixes.push(format!(
            "aws ec2 modify-vpc-endpoint --vpc-endpoint-id {} --private-dns-enabled",
            e.id
        ));
    }
    if !available {
        problems.push(format!("its state is {}", e.state));
        fixes.push(if e.state == EndpointState::PendingAcceptance {
            "accept the endpoint connection (or recreate it against the AWS service)".to_string()
        } else {
            format!("wait until {} is available before deploying", e.id)
        });
    }
    let resource = format!("{} ({short})", e.id);
    if problems.is_empty() {
        Verdict::pass(resource, format!("{} is available with private DNS", e.id))
    } else if !dep.relies_on_endpoints() {
        Verdict::pass(
            resource,
            format!(
                "{} {}; not used: every task subnet has a path out",
                e.id,
                problems.join(" and ")
            ),
        )
    } else {
        dep.gap(
            resource,
            format!("{} {}", e.id, problems.join(" and ")),
            fixes.join("; "),
        )
    }
}
