//! ECS: the service and its task definition.

use aws_sdk_ecs::Client;
use futures::future::join_all;

use super::calls::{in_wave, Limited};
use super::errors::{classify, one_line, FatalError};
use crate::snapshot::{
    AdvancedConfiguration, ClusterStorage, Container, ContainerDependency, ContainerHealthCheck,
    DeploymentSettings, EfsVolume, ExecConfiguration, Fetched, GatherErrorKind, LogConfiguration,
    MountPoint, PortMapping, SecretRef, ServiceEvent, ServiceLoadBalancer, StoppedContainer,
    StoppedTask, TaskDefinition, TaskSize, Volume, Workload,
};

/// DescribeServices takes at most 10 services per call.
const SERVICES_PER_CALL: usize = 10;

fn lookup_error(
    cluster: &str,
    what: &str,
    err: &impl std::error::Error,
    classified: &crate::snapshot::GatherError,
) -> FatalError {
    match classified.kind {
        GatherErrorKind::NotFound => {
            FatalError::TargetMissing(format!("cluster {cluster} not found"))
        }
        GatherErrorKind::Denied => FatalError::Aws(format!(
            "{} was denied, cannot read {what}: {}",
            classified.action, classified.message
        )),
        _ => FatalError::Aws(format!(
            "cannot describe {what} in cluster {cluster}: {}",
            one_line(err)
        )),
    }
}

/// ListServices' largest page (the default is 10).
const LIST_PAGE: i32 = 100;

type Described =
    Result<aws_sdk_ecs::operation::describe_services::DescribeServicesOutput, FatalError>;

/// The services to check: the named ones, or every service of the cluster (ListServices in
/// pages of 100, each page's DescribeServices batches starting while later pages are listed).
/// Returns them with the number of sequential waves the lookup took.
pub async fn describe_services(
    client: &Client,
    cluster: &str,
    names: &[String],
) -> Result<(Vec<Workload>, u8), FatalError> {
    let describe = |batch: Vec<String>, wave: u8| {
        let what = format!("service {}", batch.join(", "));
        let call = client
            .describe_services()
            .cluster(cluster)
            .set_services(Some(batch))
            .send()
            .limited();
        in_wave(wave, async move {
            call.await.map_err(|err| {
                lookup_error(
                    cluster,
                    &what,
                    &err,
                    &classify("ecs:DescribeServices", &err),
                )
            })
        })
    };
    let mut described: Vec<Described> = Vec::new();
    let waves = if names.is_empty() {
        let (pages_tx, mut pages_rx) = tokio::sync::mpsc::unbounded_channel::<(u8, Vec<String>)>();
        let list = async move {
            let mut pages = client
                .list_services()
                .cluster(cluster)
                .max_results(LIST_PAGE)
                .into_paginator()
                .send();
            let mut wave = 1;
            while let Some(page) = in_wave(wave, pages.next().limited()).await {
                let page = page.map_err(|err| {
                    lookup_error(
                        cluster,
                        "its services",
                        &err,
                        &classify("ecs:ListServices", &err),
                    )
                })?;
                // The receiver lives as long as this future is polled.
                let _ = pages_tx.send((wave, page.service_arns().to_vec()));
                wave += 1;
            }
            Ok::<u8, FatalError>(wave)
        };
        let describe_pages = async {
            let mut pending = futures::stream::FuturesUnordered::new();
            let mut listing = true;
            loop {
                tokio::select! {
                    page = pages_rx.recv(), if listing => match page {
                        Some((wave, arns)) => {
                            for batch in arns.chunks(SERVICES_PER_CALL) {
                                pending.push(describe(batch.to_vec(), wave + 1));
                            }
                        }
                        None => listing = false,
                    },
                    Some(out) = futures::StreamExt::next(&mut pending), if !pending.is_empty() => {
                        described.push(out);
                    }
                    else => break,
                }
            }
        };
        let (listed, ()) = tokio::join!(list, describe_pages);
        listed?
    } else {
        let batches = names
            .chunks(SERVICES_PER_CALL)
            .map(|batch| describe(batch.to_vec(), 1));
        described = join_all(batches).await;
        1
    };
    let mut workloads = Vec::new();
    let mut missing = Vec::new();
    for out in described {
        let out = out?;
        for failure in out.failures() {
            missing.push((
                failure
                    .arn()
                    .unwrap_or_default()
                    .rsplit('/')
                    .next()
                    .unwrap_or_default()
                    .to_string(),
                failure.reason().unwrap_or("MISSING").to_string(),
            ));
        }
        for svc in out.services() {
            if svc.status() == Some("INACTIVE") {
                missing.push((
                    svc.service_name().unwrap_or_default().to_string(),
                    "INACTIVE".to_string(),
                ));
            } else {
                workloads.push(workload(cluster, svc));
            }
        }
    }
    if !missing.is_empty() {
        let noun = if missing.len() == 1 {
            "service"
        } else {
            "services"
        };
        let names: Vec<&str> = missing.iter().map(|(n, _)| n.as_str()).collect();
        let reasons: Vec<&str> = missing.iter().map(|(_, r)| r.as_str()).collect();
        return Err(FatalError::TargetMissing(format!(
            "{noun} {} not found in cluster {cluster} ({})",
            names.join(", "),
            reasons.join(", ")
        )));
    }
    workloads.sort_by(|a, b| a.service.cmp(&b.service));
    Ok((workloads, waves))
}

fn workload(cluster: &str, svc: &aws_sdk_ecs::types::Service) -> Workload {
    let vpc = svc
        .network_configuration()
        .and_then(|n| n.awsvpc_configuration());
    Workload {
        cluster: Some(cluster.to_string()),
        service: svc.service_name().map(str::to_string),
        service_arn: svc.service_arn().map(str::to_string),
        task_definition: svc.task_definition().unwrap_or_default().to_string(),
        launch_type: svc.launch_type().map(|l| l.as_str().into()),
        capacity_providers: svc
            .capacity_provider_strategy()
            .iter()
            .map(|c| c.capacity_provider().to_string())
            .collect(),
        platform_version: svc.platform_version().map(str::to_string),
        subnets: vpc.map(|v| v.subnets().to_vec()).unwrap_or_default(),
        security_groups: vpc
            .map(|v| v.security_groups().to_vec())
            .unwrap_or_default(),
        assign_public_ip: vpc
            .and_then(|v| v.assign_public_ip())
            .is_some_and(|a| a.as_str() == "ENABLED"),
        enable_execute_command: svc.enable_execute_command(),
        health_check_grace_period_seconds: svc.health_check_grace_period_seconds(),
        load_balancers: svc
            .load_balancers()
            .iter()
            .map(|lb| ServiceLoadBalancer {
                target_group_arn: lb.target_group_arn().map(str::to_string),
                container_name: lb.container_name().map(str::to_string),
                container_port: lb.container_port(),
                advanced: lb.advanced_configuration().map(|a| AdvancedConfiguration {
                    alternate_target_group_arn: a.alternate_target_group_arn().map(str::to_string),
                    production_listener_rule: a.production_listener_rule().map(str::to_string),
                    test_listener_rule: a.test_listener_rule().map(str::to_string),
                    role_arn: a.role_arn().map(str::to_string),
                }),
            })
            .collect(),
        desired_count: Some(svc.desired_count()),
        running_count: Some(svc.running_count()),
        deployment: Some(deployment_settings(svc)),
        events: svc
            .events()
            .iter()
            .map(|e| ServiceEvent {
                id: e.id().unwrap_or_default().to_string(),
                created_at: e.created_at().and_then(timestamp),
                message: e.message().unwrap_or_default().to_string(),
            })
            .collect(),
    }
}

fn deployment_settings(svc: &aws_sdk_ecs::types::Service) -> DeploymentSettings {
    let config = svc.deployment_configuration();
    DeploymentSettings {
        // No deploymentController means the ECS (rolling) controller.
        controller: svc
            .deployment_controller()
            .map_or("ECS", |c| c.r#type().as_str())
            .to_string(),
        strategy: config
            .and_then(|c| c.strategy())
            .map(|s| s.as_str().to_string()),
        minimum_healthy_percent: config.and_then(|c| c.minimum_healthy_percent()),
        maximum_percent: config.and_then(|c| c.maximum_percent()),
        circuit_breaker: config
            .and_then(|c| c.deployment_circuit_breaker())
            .is_some_and(|b| b.enable()),
    }
}

fn timestamp(t: &aws_smithy_types::DateTime) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::from_timestamp(t.secs(), t.subsec_nanos())
}

/// DescribeTasks takes at most 100 tasks per call.
const TASKS_PER_CALL: usize = 100;

/// The service's recently stopped tasks (ECS keeps them for about an hour).
pub async fn stopped_tasks(
    client: &Client,
    cluster: &str,
    service: &str,
) -> Fetched<Vec<StoppedTask>> {
    let listed = client
        .list_tasks()
        .cluster(cluster)
        .service_name(service)
        .desired_status(aws_sdk_ecs::types::DesiredStatus::Stopped)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .limited()
        .await;
    let arns: Vec<String> = match listed {
        Ok(arns) => arns,
        Err(err) => return Fetched::failed(classify("ecs:ListTasks", &err)),
    };
    let described = join_all(arns.chunks(TASKS_PER_CALL).map(|batch| {
        client
            .describe_tasks()
            .cluster(cluster)
            .set_tasks(Some(batch.to_vec()))
            .send()
            .limited()
    }))
    .await;
    let mut tasks = Vec::new();
    for out in described {
        let out = match out {
            Ok(out) => out,
            Err(err) => return Fetched::failed(classify("ecs:DescribeTasks", &err)),
        };
        tasks.extend(out.tasks().iter().map(|t| {
            StoppedTask {
                arn: t.task_arn().unwrap_or_default().to_string(),
                task_definition: t.task_definition_arn().unwrap_or_default().to_string(),
                stopped_reason: t.stopped_reason().map(str::to_string),
                stop_code: t.stop_code().map(|c| c.as_str().to_string()),
                stopped_at: t.stopped_at().and_then(timestamp),
                subnets: t
                    .attachments()
                    .iter()
                    .flat_map(|a| a.details())
                    .filter(|d| d.name() == Some("subnetId"))
                    .filter_map(|d| d.value().map(str::to_string))
                    .collect(),
                containers: t
                    .containers()
                    .iter()
                    .map(|c| StoppedContainer {
                        name: c.name().unwrap_or_default().to_string(),
                        reason: c.reason().map(str::to_string),
                        exit_code: c.exit_code(),
                    })
                    .collect(),
            }
        }));
    }
    Fetched::Ok(tasks)
}

pub async fn describe_task_definition(client: &Client, arn: &str) -> Fetched<TaskDefinition> {
    let out = match client
        .describe_task_definition()
        .task_definition(arn)
        .send()
        .limited()
        .await
    {
        Ok(out) => out,
        Err(err) => {
            let mut error = classify("ecs:DescribeTaskDefinition", &err);
            // ECS answers a missing task definition with ClientException.
            if err
                .as_service_error()
                .and_then(|e| e.meta().message())
                .is_some_and(|m| {
                    m.contains("Unable to describe task definition") || m.contains("does not exist")
                })
            {
                error.kind = GatherErrorKind::NotFound;
            }
            return Fetched::failed(error);
        }
    };
    let Some(td) = out.task_definition() else {
        return Fetched::failed(crate::snapshot::GatherError {
            action: "ecs:DescribeTaskDefinition".into(),
            kind: GatherErrorKind::NotFound,
            message: format!("no task definition {arn}"),
        });
    };
    let platform = td.runtime_platform();
    Fetched::Ok(TaskDefinition {
        arn: td.task_definition_arn().unwrap_or(arn).to_string(),
        family: td.family().unwrap_or_default().to_string(),
        revision: td.revision(),
        network_mode: td.network_mode().map(|m| m.as_str().to_string()),
        requires_compatibilities: td
            .requires_compatibilities()
            .iter()
            .map(|c| c.as_str().to_string())
            .collect(),
        os_family: platform
            .and_then(|p| p.operating_system_family())
            .map(|f| f.as_str().to_string()),
        cpu_architecture: platform
            .and_then(|p| p.cpu_architecture())
            .map(|c| c.as_str().to_string()),
        execution_role_arn: td.execution_role_arn().map(str::to_string),
        task_role_arn: td.task_role_arn().map(str::to_string),
        ephemeral_storage_gib: td.ephemeral_storage().map(|e| e.size_in_gib()),
        size: Some(TaskSize {
            cpu: td.cpu().map(str::to_string),
            memory: td.memory().map(str::to_string),
        }),
        volumes: td.volumes().iter().map(volume).collect(),
        containers: td.container_definitions().iter().map(container).collect(),
    })
}

fn secret_refs(secrets: &[aws_sdk_ecs::types::Secret]) -> Vec<SecretRef> {
    secrets
        .iter()
        .map(|s| SecretRef {
            name: s.name().to_string(),
            value_from: s.value_from().to_string(),
        })
        .collect()
}

fn container(c: &aws_sdk_ecs::types::ContainerDefinition) -> Container {
    Container {
        name: c.name().unwrap_or_default().to_string(),
        image: c.image().unwrap_or_default().to_string(),
        // ECS defaults `essential` to true when omitted.
        essential: c.essential().unwrap_or(true),
        port_mappings: c
            .port_mappings()
            .iter()
            .map(|p| PortMapping {
                container_port: p.container_port(),
                host_port: p.host_port(),
                protocol: p.protocol().map(|p| p.as_str().to_string()),
            })
            .collect(),
        log_configuration: c.log_configuration().map(|l| LogConfiguration {
            log_driver: l.log_driver().as_str().to_string(),
            options: l
                .options()
                .map(|o| o.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default(),
            secret_options: secret_refs(l.secret_options()),
        }),
        secrets: secret_refs(c.secrets()),
        // Names only: values can be credentials and must never be stored.
        environment_names: c
            .environment()
            .iter()
            .filter_map(|kv| kv.name().map(str::to_string))
            .collect(),
        environment_files: c
            .environment_files()
            .iter()
            .map(|f| f.value().to_string())
            .collect(),
        repository_credentials: c
            .repository_credentials()
            .map(|r| r.credentials_parameter().to_string()),
        health_check: c.health_check().map(|h| ContainerHealthCheck {
            command: h.command().to_vec(),
            interval: h.interval(),
            timeout: h.timeout(),
            retries: h.retries(),
            start_period: h.start_period(),
        }),
        mount_points: c
            .mount_points()
            .iter()
            .map(|m| MountPoint {
                source_volume: m.source_volume().unwrap_or_default().to_string(),
                container_path: m.container_path().unwrap_or_default().to_string(),
                read_only: m.read_only().unwrap_or(false),
            })
            .collect(),
        readonly_root_filesystem: c.readonly_root_filesystem().unwrap_or(false),
        init_process_enabled: c
            .linux_parameters()
            .and_then(|l| l.init_process_enabled())
            .unwrap_or(false),
        cpu: Some(c.cpu()).filter(|cpu| *cpu != 0),
        memory: c.memory(),
        memory_reservation: c.memory_reservation(),
        start_timeout: c.start_timeout(),
        stop_timeout: c.stop_timeout(),
        depends_on: c
            .depends_on()
            .iter()
            .map(|d| ContainerDependency {
                container_name: d.container_name().to_string(),
                condition: d.condition().as_str().to_string(),
            })
            .collect(),
    }
}

fn volume(v: &aws_sdk_ecs::types::Volume) -> Volume {
    Volume {
        name: v.name().unwrap_or_default().to_string(),
        efs: v.efs_volume_configuration().map(|e| {
            let auth = e.authorization_config();
            EfsVolume {
                file_system_id: e.file_system_id().to_string(),
                root_directory: e.root_directory().map(str::to_string),
                transit_encryption: e
                    .transit_encryption()
                    .is_some_and(|t| t.as_str() == "ENABLED"),
                access_point_id: auth.and_then(|a| a.access_point_id()).map(str::to_string),
                iam: auth
                    .and_then(|a| a.iam())
                    .is_some_and(|i| i.as_str() == "ENABLED"),
            }
        }),
    }
}

/// What one DescribeClusters call says of the cluster: its ECS Exec settings (`None`: it has
/// none) and its managed storage.
#[derive(Clone)]
pub struct ClusterSettings {
    pub exec: Option<ExecConfiguration>,
    pub storage: ClusterStorage,
}

pub async fn cluster_settings(client: &Client, cluster: &str) -> Fetched<ClusterSettings> {
    // Without CONFIGURATIONS DescribeClusters leaves the Exec and storage settings out (ECS API
    // reference).
    let result = client
        .describe_clusters()
        .clusters(cluster)
        .include(aws_sdk_ecs::types::ClusterField::Configurations)
        .send()
        .limited()
        .await;
    let out = match result {
        Ok(out) => out,
        Err(err) => return Fetched::failed(classify("ecs:DescribeClusters", &err)),
    };
    let Some(found) = out.clusters().first() else {
        return Fetched::failed(crate::snapshot::GatherError {
            action: "ecs:DescribeClusters".into(),
            kind: GatherErrorKind::NotFound,
            message: format!("no cluster {cluster}"),
        });
    };
    let configuration = found.configuration();
    let exec = configuration
        .and_then(|c| c.execute_command_configuration())
        .map(|e| {
            let log = e.log_configuration();
            ExecConfiguration {
                kms_key_id: e.kms_key_id().map(str::to_string),
                logging: e.logging().map(|l| l.as_str().to_string()),
                log_group: log
                    .and_then(|l| l.cloud_watch_log_group_name())
                    .map(str::to_string),
                s3_bucket: log.and_then(|l| l.s3_bucket_name()).map(str::to_string),
                s3_key_prefix: log.and_then(|l| l.s3_key_prefix()).map(str::to_string),
            }
        });
    let storage = ClusterStorage {
        cluster_arn: found.cluster_arn().unwrap_or_default().to_string(),
        cluster_name: found.cluster_name().unwrap_or(cluster).to_string(),
        fargate_ephemeral_storage_kms_key_id: configuration
            .and_then(|c| c.managed_storage_configuration())
            .and_then(|m| m.fargate_ephemeral_storage_kms_key_id())
            .map(str::to_string),
    };
    Fetched::Ok(ClusterSettings { exec, storage })
}
