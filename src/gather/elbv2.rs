//! ELBv2: the service's target groups (one batched call) and their load balancers (one
//! batched call per 20, the API's limit).

use aws_sdk_elasticloadbalancingv2::Client;
use futures::future::join_all;

use super::calls::in_wave;
use super::errors::classify;
use crate::snapshot::{Fetched, LoadBalancer, TargetGroup, TargetGroupHealthCheck};

/// DescribeLoadBalancers takes at most 20 ARNs per call.
const LOAD_BALANCERS_PER_CALL: usize = 20;

pub async fn gather_target_groups(client: &Client, arns: &[String]) -> Fetched<Vec<TargetGroup>> {
    if arns.is_empty() {
        return Fetched::Ok(vec![]);
    }
    let groups = match client
        .describe_target_groups()
        .set_target_group_arns(Some(arns.to_vec()))
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
    {
        Ok(groups) => groups,
        Err(err) => {
            return Fetched::failed(classify("elasticloadbalancing:DescribeTargetGroups", &err))
        }
    };
    let mut lb_arns: Vec<String> = groups
        .iter()
        .flat_map(|g| g.load_balancer_arns().iter().cloned())
        .collect();
    lb_arns.sort();
    lb_arns.dedup();
    let batches = lb_arns.chunks(LOAD_BALANCERS_PER_CALL).map(|chunk| {
        client
            .describe_load_balancers()
            .set_load_balancer_arns(Some(chunk.to_vec()))
            .send()
    });
    let mut load_balancers = Vec::new();
    for result in in_wave(3, join_all(batches)).await {
        match result {
            Ok(out) => load_balancers.extend(out.load_balancers().iter().map(|lb| {
                LoadBalancer {
                    arn: lb.load_balancer_arn().unwrap_or_default().to_string(),
                    name: lb.load_balancer_name().unwrap_or_default().to_string(),
                    kind: lb.r#type().map(|t| t.as_str().to_string()),
                    scheme: lb.scheme().map(|s| s.as_str().to_string()),
                    security_groups: lb.security_groups().to_vec(),
                    subnets: lb
                        .availability_zones()
                        .iter()
                        .filter_map(|z| z.subnet_id().map(str::to_string))
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
                target_type: g.target_type().map(|t| t.as_str().to_string()),
                protocol: g.protocol().map(|p| p.as_str().to_string()),
                port: g.port(),
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
