//! The S3 gateway endpoint that serves ECR image layers: it must exist, sit on every task
//! subnet's effective route table, and its policy must let the layer bucket through.

use super::context::{ids, TaskSubnet};
use super::{Check, Context, Outcome, Severity, Verdict};
use crate::policy::{self, Decision, Request};
use crate::snapshot::VpcEndpoint;

const DOCS: &str = "https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html";

pub static S3_GATEWAY_ENDPOINT: Check = Check {
    id: "s3-gateway-endpoint",
    title: "S3 gateway endpoint exists (interface S3 endpoints do not serve ECR layers)",
    severity: Severity::Error,
    docs: DOCS,
    run: gateway_endpoint,
};

pub static S3_GATEWAY_ROUTE: Check = Check {
    id: "s3-gateway-route",
    title: "S3 gateway endpoint is on every task subnet's effective route table",
    severity: Severity::Error,
    docs: DOCS,
    run: gateway_route,
};

pub static S3_ENDPOINT_POLICY: Check = Check {
    id: "s3-endpoint-policy",
    title: "S3 gateway endpoint policy allows the ECR layer bucket",
    severity: Severity::Error,
    docs: DOCS,
    run: endpoint_policy,
};

pub fn attached(gateway: &VpcEndpoint, ts: &TaskSubnet) -> bool {
    gateway.route_table_ids.contains(&ts.route_table.id)
        || ts.route_table.routes.iter().any(|r| r.target == gateway.id)
}

fn not_used(ctx: &Context) -> Option<Verdict> {
    match ctx.uses_s3() {
        Ok(false) => Some(Verdict::skip(
            ctx.scope(),
            "the task pulls no private ECR image and reads no S3 environment file",
        )),
        _ => None,
    }
}

fn gateway_endpoint(ctx: &Context) -> Outcome {
    ctx.uses_s3()?;
    if let Some(skip) = not_used(ctx) {
        return Ok(vec![skip]);
    }
    let name = ctx.service_name("s3");
    let vpc = ctx.vpc_id()?;
    let subnets = ctx.task_subnets()?;
    let dep = ctx.dependence(&subnets)?;
    if let Some(g) = ctx.endpoint("s3", "Gateway")? {
        return Ok(vec![Verdict::pass(
            g.id.as_str(),
            format!("gateway endpoint {} serves {name}", g.id),
        )]);
    }
    if dep.required.is_empty() && dep.unverified.is_empty() {
        return Ok(vec![Verdict::pass(
            format!("{vpc} ({name})"),
            "not required: every task subnet reaches S3 through its path out",
        )]);
    }
    let needing: Vec<&TaskSubnet> = dep
        .required
        .iter()
        .chain(&dep.unverified)
        .copied()
        .collect();
    let tables: Vec<String> = {
        let mut t: Vec<String> = needing.iter().map(|ts| ts.route_table.id.clone()).collect();
        t.sort();
        t.dedup();
        t
    };
    let interface = ctx.endpoint("s3", "Interface")?;
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
    let fix = format!(
        "create a Gateway endpoint {name} on route tables {}: aws ec2 create-vpc-endpoint --vpc-id {vpc} --vpc-endpoint-type Gateway --service-name {name} --route-table-ids {}",
        tables.join(", "),
        tables.join(" ")
    );
    Ok(vec![if dep.required.is_empty() {
        Verdict::warn(format!("{vpc} ({name})"), message, fix)
    } else {
        Verdict::fail(format!("{vpc} ({name})"), message, fix)
    }])
}

fn gateway_route(ctx: &Context) -> Outcome {
    ctx.uses_s3()?;
    if let Some(skip) = not_used(ctx) {
        return Ok(vec![skip]);
    }
    let subnets = ctx.task_subnets()?;
    let gateway = ctx.endpoint("s3", "Gateway")?;
    let mut verdicts = Vec::new();
    for ts in &subnets {
        let resource = format!("{} ({})", ts.subnet.id, ts.route_table.id);
        let egress = ctx.egress(ts.route_table)?;
        let verdict = match gateway {
            Some(g) if attached(g, ts) => Verdict::pass(
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
            None => Verdict::skip(resource, "no S3 gateway endpoint (see s3-gateway-endpoint)"),
            Some(g) => {
                let others = if g.route_table_ids.is_empty() {
                    "no route table".to_string()
                } else {
                    g.route_table_ids.join(", ")
                };
                let main_note = if ts.via_main {
                    format!(
                        " ({} has no explicit association, so it uses the main table)",
                        ts.subnet.id
                    )
                } else {
                    String::new()
                };
                let message = format!(
                    "{} is attached to {others}, not to {}, the effective route table of {}{main_note}; {} {}, so its S3 traffic (image layers) has no route",
                    g.id, ts.route_table.id, ts.subnet.id, ts.subnet.id, egress.describe()
                );
                let fix = format!(
                    "add {} to the gateway endpoint: aws ec2 modify-vpc-endpoint --vpc-endpoint-id {} --add-route-table-ids {}",
                    ts.route_table.id, g.id, ts.route_table.id
                );
                if matches!(egress, super::context::Egress::Unverifiable { .. }) {
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

fn endpoint_policy(ctx: &Context) -> Outcome {
    if ctx.ecr_images()?.is_empty() {
        return Ok(vec![Verdict::skip(
            ctx.scope(),
            "no container image is in a private ECR registry",
        )]);
    }
    let subnets = ctx.task_subnets()?;
    // Every gateway on a task subnet's route table is in the layer download's path,
    // even where a NAT exists: the prefix-list route is more specific than 0.0.0.0/0.
    let gateways: Vec<&VpcEndpoint> = ctx
        .endpoints()?
        .iter()
        .filter(|e| {
            e.endpoint_type.eq_ignore_ascii_case("Gateway")
                && (e.service_name == ctx.service_name("s3")
                    || e.service_name == format!("cn.{}", ctx.service_name("s3")))
                && subnets.iter().any(|ts| attached(e, ts))
        })
        .collect();
    if gateways.is_empty() {
        return Ok(vec![Verdict::skip(
            ctx.scope(),
            "no S3 gateway endpoint on the task subnets' route tables",
        )]);
    }
    let partition = ctx.snap.partition();
    let bucket_objects = format!(
        "arn:{partition}:s3:::prod-{}-starport-layer-bucket/*",
        ctx.region()
    );
    let minimal = format!(
        "{{\"Statement\":[{{\"Sid\":\"EcrLayers\",\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"s3:GetObject\",\"Resource\":\"{bucket_objects}\"}}]}}"
    );
    let mut verdicts = Vec::new();
    for g in gateways {
        let resource = g.id.as_str();
        let Some(text) = g.policy_document.as_deref() else {
            verdicts.push(Verdict::pass(
                resource,
                "no endpoint policy: full access (the default)",
            ));
            continue;
        };
        let doc = match policy::parse_document(text) {
            Ok(doc) => doc,
            Err(e) => {
                verdicts.push(Verdict::new(
                    super::Status::Error,
                    resource,
                    format!("could not evaluate the endpoint policy: {e}"),
                ));
                continue;
            }
        };
        let decision = policy::evaluate(
            &doc,
            &Request {
                action: "s3:GetObject",
                resource: &bucket_objects,
                principal: None,
            },
        );
        let fix = format!(
            "allow s3:GetObject on {bucket_objects} in the policy of {}, e.g. add {minimal} (aws ec2 modify-vpc-endpoint --vpc-endpoint-id {} --policy-document file://policy.json)",
            g.id, g.id
        );
        verdicts.push(match decision {
            Decision::Allowed => Verdict::pass(
                resource,
                format!("the policy of {} allows s3:GetObject on {bucket_objects}", g.id),
            ),
            Decision::ExplicitDeny { statement } => Verdict::fail(
                resource,
                format!("the policy of {} denies s3:GetObject on {bucket_objects} (statement {statement}): image layer downloads fail", g.id),
                fix,
            ),
            Decision::ImplicitDeny => Verdict::fail(
                resource,
                format!("no statement in the policy of {} allows s3:GetObject on {bucket_objects}: image layer downloads fail", g.id),
                fix,
            ),
            Decision::Uncertain { reasons } => Verdict::warn(
                resource,
                format!("whether the policy of {} allows s3:GetObject on {bucket_objects} depends on: {}", g.id, reasons.join("; ")),
                format!("make sure those conditions hold for ECR layer downloads, or {fix}"),
            ),
        });
    }
    Ok(verdicts)
}
