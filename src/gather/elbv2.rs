//! ELBv2: the services' target groups and their load balancers, in batches of 20 ARNs.

use aws_sdk_elasticloadbalancingv2::Client;
use futures::future::join_all;

use super::calls::{later_wave, Limited};
use super::errors::classify;
use crate::snapshot::{
    Fetched, Forward, ListenerRule, LoadBalancer, TargetGroup, TargetGroupHealthCheck,
};

/// DescribeLoadBalancers takes at most 20 ARNs per call; target groups go in the same batches.
const ARNS_PER_CALL: usize = 20;

type Groups = Vec<aws_sdk_elasticloadbalancingv2::types::TargetGroup>;

fn describe_batch<'a>(
    client: &'a Client,
    arns: &'a [String],
) -> futures::future::BoxFuture<'a, Result<Groups, crate::snapshot::GatherError>> {
    Box::pin(async move {
        let result = client
            .describe_target_groups()
            .set_target_group_arns(Some(arns.to_vec()))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .limited()
            .await;
        match result {
            Ok(groups) => Ok(groups),
            // One deleted target group fails its whole batch: ask for each one alone, so
            // that only its own service cannot be checked.
            Err(err)
                if arns.len() > 1
                    && err
                        .as_service_error()
                        .is_some_and(|e| e.is_target_group_not_found_exception()) =>
            {
                let singles = join_all(arns.chunks(1).map(|one| describe_batch(client, one))).await;
                Ok(singles
                    .into_iter()
                    .filter_map(Result::ok)
                    .flatten()
                    .collect())
            }
            Err(err) => Err(classify("elasticloadbalancing:DescribeTargetGroups", &err)),
        }
    })
}

pub async fn gather_target_groups(client: &Client, arns: &[String]) -> Fetched<Vec<TargetGroup>> {
    if arns.is_empty() {
        return Fetched::Ok(vec![]);
    }
    let batches = join_all(
        arns.chunks(ARNS_PER_CALL)
            .map(|b| describe_batch(client, b)),
    )
    .await;
    let groups: Groups = match batches.into_iter().collect::<Result<Vec<_>, _>>() {
        Ok(groups) => groups.into_iter().flatten().collect(),
        Err(error) => return Fetched::failed(error),
    };
    let mut lb_arns: Vec<String> = groups
        .iter()
        .flat_map(|g| g.load_balancer_arns().iter().cloned())
        .collect();
    lb_arns.sort();
    lb_arns.dedup();
    let batches = lb_arns.chunks(ARNS_PER_CALL).map(|chunk| {
        client
            .describe_load_balancers()
            .set_load_balancer_arns(Some(chunk.to_vec()))
            .send()
            .limited()
    });
    let mut load_balancers = Vec::new();
    for result in later_wave(1, join_all(batches)).await {
        match result {
            Ok(out) => load_balancers.extend(out.load_balancers().iter().map(|lb| {
                LoadBalancer {
                    arn: lb.load_balancer_arn().unwrap_or_default().to_string(),
                    name: lb.load_balancer_name().unwrap_or_default().to_string(),
                    kind: lb.r#type().map(|t| t.as_str().to_string()),
                    scheme: lb.scheme().map(|s| s.as_str().to_string()),
                    ip_address_type: lb.ip_address_type().map(|t| t.as_str().to_string()),
                    security_groups: lb.security_groups().to_vec(),
                    subnets: lb
                        .availability_zones()
                        .iter()
                        .filter_map(|z| z.subnet_id().map(str::to_string))
                        .collect(),
                    availability_zones: lb
                        .availability_zones()
                        .iter()
                        .filter_map(|z| z.zone_name().map(str::to_string))
                        .collect(),
                }
            })),
            Err(err) => {
                return Fetched::failed(classify(
                    "elasticloadbalancing:DescribeLoadBalancers",
                    &err,
                ))
            }
        }
    }
    Fetched::Ok(
        groups
            .iter()
            .map(|g| TargetGroup {
                arn: g.target_group_arn().unwrap_or_default().to_string(),
                name: g.target_group_name().unwrap_or_default().to_string(),
                target_type: g.target_type().map(|t| t.as_str().into()),
                protocol: g.protocol().map(|p| p.as_str().to_string()),
                port: g.port(),
                ip_address_type: g.ip_address_type().map(|t| t.as_str().to_string()),
                health_check: TargetGroupHealthCheck {
                    enabled: g.health_check_enabled(),
                    protocol: g.health_check_protocol().map(|p| p.as_str().to_string()),
                    port: g.health_check_port().map(str::to_string),
                    path: g.health_check_path().map(str::to_string),
                    interval_seconds: g.health_check_interval_seconds(),
                    timeout_seconds: g.health_check_timeout_seconds(),
                    healthy_threshold: g.healthy_threshold_count(),
                    unhealthy_threshold: g.unhealthy_threshold_count(),
                    matcher: g
                        .matcher()
                        .and_then(|m| m.http_code().or(m.grpc_code()))
                        .map(str::to_string),
                },
                load_balancers: load_balancers
                    .iter()
                    .filter(|lb| g.load_balancer_arns().contains(&lb.arn))
                    .cloned()
                    .collect(),
            })
            .collect(),
    )
}

type Rules = Vec<ListenerRule>;

/// The target groups the forward actions send to: a plain target group, or a weighted list.
fn forward_targets(actions: &[aws_sdk_elasticloadbalancingv2::types::Action]) -> Vec<Forward> {
    let mut forwards: Vec<Forward> = Vec::new();
    for a in actions
        .iter()
        .filter(|a| a.r#type().is_some_and(|t| t.as_str() == "forward"))
    {
        let weighted = a
            .forward_config()
            .map(|f| f.target_groups())
            .unwrap_or_default();
        if weighted.is_empty() {
            forwards.extend(a.target_group_arn().map(|arn| Forward {
                target_group_arn: arn.to_string(),
                weight: None,
            }));
        }
        forwards.extend(weighted.iter().filter_map(|t| {
            Some(Forward {
                target_group_arn: t.target_group_arn()?.to_string(),
                // ELB's default weight.
                weight: Some(t.weight().unwrap_or(1)),
            })
        }));
    }
    forwards
}

/// A listener rule's ARN has `listener-rule/`; a Network Load Balancer is named by its
/// listener, whose default actions route the traffic.
fn is_listener(arn: &str) -> bool {
    arn.contains(":listener/")
}

fn describe_rules<'a>(
    client: &'a Client,
    arns: &'a [String],
) -> futures::future::BoxFuture<'a, Result<Rules, crate::snapshot::GatherError>> {
    Box::pin(async move {
        let result = client
            .describe_rules()
            .set_rule_arns(Some(arns.to_vec()))
            .send()
            .limited()
            .await;
        match result {
            Ok(out) => Ok(out
                .rules()
                .iter()
                .map(|r| ListenerRule {
                    arn: r.rule_arn().unwrap_or_default().to_string(),
                    forwards: forward_targets(r.actions()),
                })
                .collect()),
            // A deleted rule fails its whole batch: ask for each alone, so the others are read.
            Err(err)
                if arns.len() > 1
                    && err
                        .as_service_error()
                        .is_some_and(|e| e.is_rule_not_found_exception()) =>
            {
                let singles = join_all(arns.chunks(1).map(|one| describe_rules(client, one))).await;
                Ok(singles
                    .into_iter()
                    .filter_map(Result::ok)
                    .flatten()
                    .collect())
            }
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_rule_not_found_exception()) =>
            {
                Ok(vec![])
            }
            Err(err) => Err(classify("elasticloadbalancing:DescribeRules", &err)),
        }
    })
}

fn describe_listeners<'a>(
    client: &'a Client,
    arns: &'a [String],
) -> futures::future::BoxFuture<'a, Result<Rules, crate::snapshot::GatherError>> {
    Box::pin(async move {
        let result = client
            .describe_listeners()
            .set_listener_arns(Some(arns.to_vec()))
            .send()
            .limited()
            .await;
        match result {
            Ok(out) => Ok(out
                .listeners()
                .iter()
                .map(|l| ListenerRule {
                    arn: l.listener_arn().unwrap_or_default().to_string(),
                    forwards: forward_targets(l.default_actions()),
                })
                .collect()),
            Err(err)
                if arns.len() > 1
                    && err
                        .as_service_error()
                        .is_some_and(|e| e.is_listener_not_found_exception()) =>
            {
                let singles =
                    join_all(arns.chunks(1).map(|one| describe_listeners(client, one))).await;
                Ok(singles
                    .into_iter()
                    .filter_map(Result::ok)
                    .flatten()
                    .collect())
            }
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_listener_not_found_exception()) =>
            {
                Ok(vec![])
            }
            Err(err) => Err(classify("elasticloadbalancing:DescribeListeners", &err)),
        }
    })
}

/// The production and test listener rules (and NLB listeners) of blue/green, linear and canary
/// services; one that does not exist is absent from the answer.
pub async fn gather_listener_rules(client: &Client, arns: &[String]) -> Fetched<Rules> {
    let (listeners, rules): (Vec<String>, Vec<String>) =
        arns.iter().cloned().partition(|a| is_listener(a));
    let (listeners, rules) = tokio::join!(
        join_all(
            listeners
                .chunks(ARNS_PER_CALL)
                .map(|b| describe_listeners(client, b))
        ),
        join_all(
            rules
                .chunks(ARNS_PER_CALL)
                .map(|b| describe_rules(client, b))
        ),
    );
    match listeners
        .into_iter()
        .chain(rules)
        .collect::<Result<Vec<_>, _>>()
    {
        Ok(found) => Fetched::Ok(found.into_iter().flatten().collect()),
        Err(error) => Fetched::failed(error),
    }
}
