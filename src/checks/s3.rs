//! The S3 gateway endpoint that serves ECR image layers: it must exist, sit on every task
//! subnet's effective route table, and its policy must let the layer bucket through.

use super::context::ids;
use super::Problem;
use super::{Check, Context, Explain, Outcome, Severity, Verdict};
use crate::policy::{self, Decision, Request};
use crate::snapshot::{EndpointType, VpcEndpoint};

const DOCS: &str = "https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html";

pub static S3_GATEWAY_ENDPOINT: Check = Check {
    id: "s3-gateway-endpoint",
    title: "S3 gateway endpoint exists (interface S3 endpoints do not serve ECR layers)",
    severity: Severity::Error,
    docs: DOCS,
    run: gateway_endpoint,
    explain: Explain {
        verifies: "That an S3 Gateway endpoint exists where image layers (or environment files) must come from S3 without a path out.",
        why: "ECR stores layers in S3 (prod-REGION-starport-layer-bucket). The download goes through the S3 Gateway endpoint; an Interface S3 endpoint does not serve it.",
        decides: "Required when the task pulls a same-region private ECR image or reads S3 environment files and a subnet has no verified path out. Layers of an image from another Region's ECR are in that Region's bucket, which no gateway endpoint here serves (and S3 interface endpoints do not serve ECR layers): without a path out that fails. In a shared VPC seen by a participant a missing gateway warns \"cannot verify\". From IPv6-only task subnets only a gateway with IP address type dualstack (or ipv6) takes the traffic.",
        fix: "aws ec2 create-vpc-endpoint --vpc-endpoint-type Gateway --service-name com.amazonaws.REGION.s3 --route-table-ids (the task subnets' effective tables).",
    },
};

pub static S3_GATEWAY_ROUTE: Check = Check {
    id: "s3-gateway-route",
    title: "S3 gateway endpoint is on every task subnet's effective route table",
    severity: Severity::Error,
    docs: DOCS,
    run: gateway_route,
    explain: Explain {
        verifies: "That the S3 gateway endpoint is attached to the effective route table of every task subnet.",
        why: "A gateway endpoint only works through a prefix-list route on the subnet's own route table. The classic miss: the gateway sits on the main table while the task subnets have their own explicit table, or the other way round.",
        decides: "For each task subnet without a path out, looks for a gateway of this region's S3 listed on its effective table (RouteTableIds, or a route to the vpce).",
        fix: "aws ec2 modify-vpc-endpoint --vpc-endpoint-id VPCE --add-route-table-ids RTB.",
    },
};

pub static S3_ENDPOINT_POLICY: Check = Check {
    id: "s3-endpoint-policy",
    title: "S3 gateway endpoint policy allows the ECR layer bucket",
    severity: Severity::Error,
    docs: DOCS,
    run: endpoint_policy,
    explain: Explain {
        verifies: "That the policy of every S3 gateway endpoint on the task subnets' tables allows s3:GetObject on the ECR layer bucket (and on the task's environment files).",
        why: "A restrictive gateway policy (e.g. 'only our buckets') silently blocks layer downloads: the pull fails at the first layer. The gateway's prefix-list route is more specific than 0.0.0.0/0, so this applies even with a NAT gateway.",
        decides: "Evaluates the policy: explicit Deny wins, Allow must match action and resource (wildcards, NotAction, NotResource, Principal). A decision that depends on a Condition or a specific principal is a warning that names it.",
        fix: "Add {\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::prod-REGION-starport-layer-bucket/*\"} to the endpoint policy.",
    },
};

/// A skip when the task reads nothing from S3.
fn not_used(ctx: &Context) -> Result<Option<Verdict>, Problem> {
    let uses = ctx.uses()?;
    if uses.uses_s3() && ctx.ipv6_only() && uses.environment_files.is_empty() {
        return Ok(Some(Verdict::skip(
            ctx.scope(),
            "the task's ECR images use IPv4-only URIs, which IPv6-only subnets cannot pull (see ecr-dkr-endpoint), and it reads no S3 environment file",
        )));
    }
    Ok((!uses.uses_s3()).then(|| {
        Verdict::skip(
            ctx.scope(),
            "the task pulls no private ECR image and reads no S3 environment file",
        )
    }))
}

fn gateway_endpoint(ctx: &Context) -> Outcome {
    if let Some(skip) = not_used(ctx)? {
        return Ok(vec![skip]);
    }
    let name = ctx.service_name("s3");
    let vpc = ctx.vpc_id()?;
    let dep = ctx.dependence()?;
    let mut verdicts = remote_layers(ctx)?;
    let uses = ctx.uses()?;
    let local = uses.ecr_images().any(|(_, ecr)| ecr.region == ctx.region())
        || !uses.environment_files.is_empty();
    if !local {
        return Ok(verdicts);
    }
    if let Some(g) = ctx.endpoint("s3", EndpointType::Gateway)? {
        verdicts.push(Verdict::pass(
            g.id.as_str(),
            format!("gateway endpoint {} serves {name}", g.id),
        ));
        return Ok(verdicts);
    }
    if !dep.relies_on_endpoints() {
        verdicts.push(Verdict::pass(
            format!("{vpc} ({name})"),
            "not required: every task subnet reaches S3 through its path out",
        ));
        return Ok(verdicts);
    }
    if let Some(unseen) = super::endpoints::owner_only(
        ctx,
        &format!("{vpc} ({name})"),
        &format!("gateway endpoint {name}"),
    )? {
        verdicts.push(unseen);
        return Ok(verdicts);
    }
    let needing = dep.relying();
    let tables: Vec<String> = {
        let mut t: Vec<String> = needing.iter().map(|ts| ts.route_table.id.clone()).collect();
        t.sort();
        t.dedup();
        t
    };
    let interface = ctx.endpoint("s3", EndpointType::Interface)?;
    let mut message = format!(
        "no S3 gateway endpoint in {vpc}; subnets {} have no path out, so image layers (prod-{}-starport-layer-bucket) cannot be downloaded",
        ids(&needing),
        ctx.region()
    );
    if let Some(i) = interface {
        message.push_str(&format!(
            "; {} is an Interface S3 endpoint, which does not serve ECR layer downloads",
            i.id
        ));
    }
    let ipv4_gateway = ctx.endpoints()?.iter().find(|e| {
        ctx.ipv6_only()
            && e.endpoint_type == EndpointType::Gateway
            && ctx.vpc_endpoints().is_ok_and(|v| v.serves(e, "s3"))
            && e.state.usable()
    });
    if let Some(g) = ipv4_gateway {
        message.push_str(&format!(
            "; {} takes IPv4 traffic only (IP address type {}), and subnets {} are IPv6-only",
            g.id,
            g.ip_address_type.as_deref().unwrap_or("ipv4"),
            ids(&ctx.ipv6_only_subnets()?)
        ));
        let fix = format!(
            "aws ec2 modify-vpc-endpoint --vpc-endpoint-id {} --ip-address-type dualstack",
            g.id
        );
        verdicts.push(dep.gap(format!("{vpc} ({name})"), message, fix));
        return Ok(verdicts);
    }
    let fix = format!(
        "create a Gateway endpoint {name} on route tables {}: aws ec2 create-vpc-endpoint --vpc-id {vpc} --vpc-endpoint-type Gateway --service-name {name} --route-table-ids {}",
        tables.join(", "),
        tables.join(" ")
    );
    verdicts.push(dep.gap(format!("{vpc} ({name})"), message, fix));
    Ok(verdicts)
}

/// Images from another Region's ECR: their layers are in that Region's layer bucket, which
/// this Region's S3 gateway endpoint does not serve (a gateway endpoint reaches only its own
/// Region's S3: VPC guide, gateway-endpoints-s3.html).
fn remote_layers(ctx: &Context) -> Outcome {
    let dep = ctx.dependence()?;
    let regions: std::collections::BTreeSet<&str> = ctx
        .uses()?
        .ecr_images()
        .map(|(_, ecr)| ecr.region.as_str())
        .filter(|r| *r != ctx.region())
        .collect();
    let mut out = Vec::new();
    for region in regions {
        let bucket = format!("prod-{region}-starport-layer-bucket");
        let resource = format!("{bucket} ({region})");
        if !dep.relies_on_endpoints() {
            out.push(Verdict::pass(
                resource,
                format!("image layers from {region} are fetched from {bucket} through the task subnets' path out"),
            ));
            continue;
        }
        out.push(dep.gap(
            resource,
            format!(
                "image layers from {region} are in {bucket}, which an S3 gateway endpoint in {} does not serve (a gateway endpoint reaches only its own Region); subnets {} have no path out",
                ctx.region(),
                ids(dep.stranded())
            ),
            format!(
                "give subnets {} a NAT gateway path, or replicate the image into {} (ECR replication or a pull-through cache rule)",
                ids(dep.stranded()),
                ctx.region()
            ),
        ));
    }
    Ok(out)
}

fn gateway_route(ctx: &Context) -> Outcome {
    if let Some(skip) = not_used(ctx)? {
        return Ok(vec![skip]);
    }
    let subnets = ctx.task_subnets()?;
    let gateways = ctx.s3_gateways()?;
    let mut verdicts = Vec::new();
    for ts in subnets {
        let resource = format!("{} ({})", ts.subnet.id, ts.route_table.id);
        let egress = ctx.egress_of(ts)?;
        let verdict = match (ctx.s3_gateway_for(ts)?, gateways.first()) {
            (Some(g), _) => Verdict::pass(
                resource,
                format!(
                    "{} is on {}, the effective route table of {}",
                    g.id, ts.route_table.id, ts.subnet.id
                ),
            ),
            _ if egress.has_path() => Verdict::pass(
                resource,
                format!(
                    "{} {}, so S3 is reachable without the gateway endpoint",
                    ts.subnet.id,
                    egress.describe()
                ),
            ),
            (None, None) => {
                Verdict::skip(resource, "no S3 gateway endpoint (see s3-gateway-endpoint)")
            }
            (None, Some(g)) => {
                let attached_to: Vec<String> = gateways
                    .iter()
                    .map(|g| {
                        let tables = if g.route_table_ids.is_empty() {
                            "no route table".to_string()
                        } else {
                            g.route_table_ids.join(", ")
                        };
                        format!("{} is attached to {tables}", g.id)
                    })
                    .collect();
                let main_note = if ts.via_main {
                    format!(
                        " ({} has no explicit association, so it uses the main table)",
                        ts.subnet.id
                    )
                } else {
                    String::new()
                };
                let message = format!(
                    "{}, not to {}, the effective route table of {}{main_note}; {} {}, so its S3 traffic (image layers) has no route",
                    attached_to.join("; "), ts.route_table.id, ts.subnet.id, ts.subnet.id, egress.describe()
                );
                let fix = format!(
                    "add {} to the gateway endpoint: aws ec2 modify-vpc-endpoint --vpc-endpoint-id {} --add-route-table-ids {}",
                    ts.route_table.id, g.id, ts.route_table.id
                );
                if egress.unverified() {
                    Verdict::warn(resource, message, fix)
                } else {
                    Verdict::fail(resource, message, fix)
                }
            }
        };
        verdicts.push(verdict);
    }
    Ok(verdicts)
}

/// The S3 objects the task reads: ECR layers (same-region images) and environment files.
fn s3_objects(ctx: &Context) -> Result<Vec<(String, String)>, Problem> {
    let partition = ctx.snap.partition();
    let mut objects = Vec::new();
    let uses = ctx.uses()?;
    if uses.ecr_images().any(|(_, ecr)| ecr.region == ctx.region()) {
        objects.push((
            "ECR image layers".to_string(),
            format!(
                "arn:{partition}:s3:::prod-{}-starport-layer-bucket/*",
                ctx.region()
            ),
        ));
    }
    for file in &uses.environment_files {
        objects.push((
            format!("environment file of container {}", file.container),
            file.arn.to_string(),
        ));
    }
    Ok(objects)
}

fn endpoint_policy(ctx: &Context) -> Outcome {
    let objects = s3_objects(ctx)?;
    if objects.is_empty() {
        return Ok(vec![Verdict::skip(
            ctx.scope(),
            "the task reads nothing from S3 in this region (no private ECR image here, no environment file)",
        )]);
    }
    let subnets = ctx.task_subnets()?;
    // Every gateway on a task subnet's route table is in the download's path,
    // even where a NAT exists: the prefix-list route is more specific than 0.0.0.0/0.
    let mut gateways: Vec<&VpcEndpoint> = Vec::new();
    for ts in subnets {
        if let Some(g) = ctx.s3_gateway_for(ts)? {
            if !gateways.iter().any(|known| known.id == g.id) {
                gateways.push(g);
            }
        }
    }
    if gateways.is_empty() {
        return Ok(vec![Verdict::skip(
            ctx.scope(),
            "no S3 gateway endpoint on the task subnets' route tables",
        )]);
    }
    let mut verdicts = Vec::new();
    for g in gateways {
        let Some(text) = g.policy_document.as_deref() else {
            verdicts.push(Verdict::pass(
                g.id.as_str(),
                "no endpoint policy: full access (the default)",
            ));
            continue;
        };
        let doc = match policy::parse_document(text) {
            Ok(doc) => doc,
            Err(e) => {
                let problem = Problem::Unreadable {
                    what: format!("the endpoint policy of {}", g.id),
                    why: e.to_string(),
                };
                verdicts.push(Verdict::could_not_check(g.id.as_str(), &problem));
                continue;
            }
        };
        for (what, resource) in &objects {
            verdicts.push(judge_object(g, &doc, what, resource));
        }
    }
    Ok(verdicts)
}

fn judge_object(g: &VpcEndpoint, doc: &serde_json::Value, what: &str, object: &str) -> Verdict {
    let resource = format!("{} ({what})", g.id);
    let decision = policy::evaluate(
        doc,
        &Request {
            action: "s3:GetObject",
            resource: object,
            principal: None,
            context: &[],
        },
    );
    let statement = format!(
        "{{\"Sid\":\"AllowTaskReads\",\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"s3:GetObject\",\"Resource\":\"{object}\"}}"
    );
    let fix = format!(
        "add the statement {statement} to the policy of {} (aws ec2 modify-vpc-endpoint --vpc-endpoint-id {} --policy-document file://policy.json)",
        g.id, g.id
    );
    match decision {
        Decision::Allowed => Verdict::pass(
            resource,
            format!("the policy of {} allows s3:GetObject on {object}", g.id),
        ),
        Decision::ExplicitDeny { statement } => Verdict::fail(
            resource,
            format!("the policy of {} denies s3:GetObject on {object} (statement {statement}): the {what} cannot be downloaded", g.id),
            fix,
        ),
        Decision::ImplicitDeny => Verdict::fail(
            resource,
            format!("no statement in the policy of {} allows s3:GetObject on {object}: the {what} cannot be downloaded", g.id),
            fix,
        ),
        Decision::Uncertain { reasons } => Verdict::warn(
            resource,
            format!("whether the policy of {} allows s3:GetObject on {object} depends on: {}", g.id, reasons.join("; ")),
            format!("make sure those conditions hold for the task's downloads, or {fix}"),
        ),
    }
}
