//! The only place that talks to AWS. Turns SDK answers into the `Snapshot`.
//!
//! One `check` of one service makes these sequential waves (`calls::in_wave` tags them):
//! 1. the service lookup;
//! 2. the task definition, the task subnets (to learn the VPC) and the target groups;
//! 3. everything VPC-wide at once (`ec2::gather_network`), the load balancers, the ECR
//!    registry, and the execution role with its policy lists;
//! 4. what wave 3 points at: DHCP options, customer prefix list entries, each attached
//!    policy's default version id and each inline policy;
//! 5. the attached policies' documents (IAM needs the version id from wave 4).
//!
//! Each chain moves on as soon as its own input arrives; nothing waits for a whole wave.

mod calls;
mod ec2;
mod ecr;
mod ecs;
mod elbv2;
mod errors;
mod iam;

use std::time::Duration;

use aws_config::retry::{RetryConfig, RetryMode};
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use chrono::Utc;

use crate::snapshot::{Fetched, Snapshot, Workload, SCHEMA_VERSION};

pub use calls::{CallLog, Stats};
pub use errors::FatalError;

/// Watches a gather: every AWS call, and the step a progress display should show.
pub struct Observer {
    pub calls: CallLog,
    pub step: Box<dyn Fn(&str) + Send + Sync>,
}

/// Builds a client of one AWS service with the call log attached.
macro_rules! client {
    ($sdk:ident, $config:expr, $calls:expr) => {
        $sdk::Client::from_conf(
            $sdk::config::Builder::from($config)
                .interceptor($calls.clone())
                .build(),
        )
    };
}

#[derive(Debug, Clone, Default)]
pub struct AwsOptions {
    pub region: Option<String>,
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
}

/// What to look at: an existing service, or the flags of a deploy that has not happened yet.
#[derive(Debug, Clone)]
pub enum Target {
    Service {
        cluster: String,
        service: String,
    },
    PreDeploy {
        task_definition: String,
        subnets: Vec<String>,
        security_groups: Vec<String>,
        platform_version: Option<String>,
        assign_public_ip: bool,
        enable_execute_command: bool,
        grace_period: Option<i32>,
        target_group: Option<String>,
    },
}

pub async fn load_config(opts: &AwsOptions) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).timeout_config(
        TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(3))
            .operation_attempt_timeout(Duration::from_secs(10))
            .operation_timeout(Duration::from_secs(30))
            .build(),
    );
    if let Some(region) = &opts.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(profile) = &opts.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(url) = &opts.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    let config = loader.load().await;
    // Keep AWS_MAX_ATTEMPTS / the profile's max_attempts, but always adapt to throttling.
    let retry = config
        .retry_config()
        .cloned()
        .unwrap_or_else(RetryConfig::standard)
        .with_retry_mode(RetryMode::Adaptive);
    config.to_builder().retry_config(retry).build()
}

pub async fn gather(
    opts: &AwsOptions,
    target: &Target,
    observer: &Observer,
) -> Result<Snapshot, FatalError> {
    let config = load_config(opts).await;
    let region = config
        .region()
        .map(|r| r.to_string())
        .ok_or(FatalError::NoRegion)?;
    let endpoint_url = opts
        .endpoint_url
        .clone()
        .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok());
    let calls = &observer.calls;
    let ecs_client = client!(aws_sdk_ecs, &config, calls);
    let ec2_client = client!(aws_sdk_ec2, &config, calls);
    (observer.step)("describing the ECS service…");

    let workload = match target {
        Target::Service { cluster, service } => {
            calls::in_wave(1, ecs::describe_service(&ecs_client, cluster, service)).await?
        }
        Target::PreDeploy {
            task_definition,
            subnets,
            security_groups,
            platform_version,
            assign_public_ip,
            enable_execute_command,
            grace_period,
            target_group,
        } => Workload {
            cluster: None,
            service: None,
            service_arn: None,
            task_definition: task_definition.clone(),
            launch_type: Some("FARGATE".into()),
            capacity_providers: vec![],
            platform_version: Some(platform_version.clone().unwrap_or_else(|| "LATEST".into())),
            subnets: subnets.clone(),
            security_groups: security_groups.clone(),
            assign_public_ip: *assign_public_ip,
            enable_execute_command: *enable_execute_command,
            health_check_grace_period_seconds: *grace_period,
            // Container name and port come from the task definition (see the health checks).
            load_balancers: target_group
                .iter()
                .map(|arn| crate::snapshot::ServiceLoadBalancer {
                    target_group_arn: Some(arn.clone()),
                    container_name: None,
                    container_port: None,
                })
                .collect(),
        },
    };

    // Wave 1: the task definition, the task subnets and the target groups, concurrently.
    let elb_client = client!(aws_sdk_elasticloadbalancingv2, &config, calls);
    (observer.step)("describing the task definition, subnets and target groups…");
    let target_group_arns: Vec<String> = workload
        .load_balancers
        .iter()
        .filter_map(|lb| lb.target_group_arn.clone())
        .collect();
    let (task_definition, task_subnets, target_groups) = calls::in_wave(2, async {
        tokio::join!(
            ecs::describe_task_definition(&ecs_client, &workload.task_definition),
            ec2::describe_task_subnets(&ec2_client, &workload.subnets),
            elbv2::gather_target_groups(&elb_client, &target_group_arns),
        )
    })
    .await;
    if let (Target::PreDeploy { .. }, Fetched::Failed { error }) = (target, &task_definition) {
        if error.kind == crate::snapshot::GatherErrorKind::NotFound {
            return Err(FatalError::TargetMissing(format!(
                "task definition {} not found: {}",
                workload.task_definition, error.message
            )));
        }
    }
    // Waves 2 and 3 (IAM takes one more: GetPolicy, then GetPolicyVersion), side by side.
    let ecr_client = client!(aws_sdk_ecr, &config, calls);
    let iam_client = client!(aws_sdk_iam, &config, calls);
    (observer.step)(
        "describing the VPC (routes, endpoints, security groups, NACLs), ECR rules and the execution role…",
    );
    let role_arn = task_definition
        .ok()
        .ok()
        .and_then(|td| td.execution_role_arn.clone());
    let (network, registry, execution_role) = calls::in_wave(3, async {
        tokio::join!(
            ec2::gather_network(&ec2_client, &region, task_subnets),
            ecr::gather_registry(&ecr_client, &region, &task_definition),
            async {
                match task_definition.ok() {
                    Ok(_) => iam::gather_role(&iam_client, role_arn.as_deref()).await,
                    Err(error) => Fetched::failed(errors::skipped("iam:GetRole", error)),
                }
            },
        )
    })
    .await;

    Ok(Snapshot {
        schema_version: SCHEMA_VERSION,
        gathered_at: Utc::now(),
        region,
        endpoint_url,
        workload,
        task_definition,
        network,
        registry,
        execution_role,
        target_groups,
    })
}
