//! The only place that talks to AWS. Turns SDK answers into the `Snapshot`.
//!
//! A `check` makes these sequential waves (`calls::in_wave` tags them), for one service or a
//! whole cluster alike — each unique task definition, VPC, role… is fetched once:
//! 1. the service lookup (ListServices first when no service is named: one more wave);
//! 2. the task definition, the task subnets (to learn the VPC) and the target groups;
//! 3. everything VPC-wide at once (`ec2::gather_network`), the load balancers, the ECR
//!    registry, the images (DescribeImages and BatchGetImage per repository, GetRepositoryPolicy
//!    across accounts), and the execution role with its policy lists;
//! 4. what wave 3 points at: DHCP options, customer prefix list entries, each attached
//!    policy's default version id and each inline policy, a single manifest's config blob URL;
//! 5. the attached policies' documents (IAM needs the version id from wave 4), the config blob.
//!
//! Each chain moves on as soon as its own input arrives; nothing waits for a whole wave.

/// Builds a client of one AWS service with the call log attached, in the config's Region or
/// the one given.
macro_rules! client {
    ($sdk:ident, $config:expr, $calls:expr) => {
        $sdk::Client::from_conf(
            $sdk::config::Builder::from($config)
                .interceptor($calls.clone())
                .build(),
        )
    };
    ($sdk:ident, $config:expr, $calls:expr, $region:expr) => {
        $sdk::Client::from_conf(
            $sdk::config::Builder::from($config)
                .region(aws_config::Region::new($region.to_string()))
                .interceptor($calls.clone())
                .build(),
        )
    };
}

mod blob;
mod calls;
mod ec2;
mod ecr;
mod ecs;
mod efs;
mod elbv2;
mod errors;
mod iam;
mod quota;
mod scaling;
mod start;
mod sts;
mod usage;

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use chrono::Utc;

use std::collections::{BTreeMap, BTreeSet};

use futures::future::{join_all, FutureExt};

use crate::facts::uses::Uses;
use crate::snapshot::{
    AdvancedConfiguration, FargateVcpus, Fetched, GatherError, GatherErrorKind, InfrastructureRole,
    LaunchType, ListenerRule, Network, Role, Snapshot, TaskDefinition, TrafficShift, VcpuAllowance,
    Workload, SCHEMA_VERSION,
};

pub use calls::CallLog;
pub use errors::FatalError;

/// Watches a gather: every AWS call, and the step a progress display should show.
pub struct Observer {
    pub calls: CallLog,
    pub step: Box<dyn Fn(&str) + Send + Sync>,
}

#[derive(Debug, Clone)]
pub struct AwsOptions {
    pub region: Option<String>,
    pub profile: Option<String>,
    /// Other credentials for the VPC-wide data (a shared VPC's owner).
    pub network: Option<NetworkCredentials>,
    pub endpoint_url: Option<String>,
    /// AWS calls in flight at most, across all services of a run.
    pub max_concurrency: usize,
}

/// `--network-profile` / `--network-role-arn`.
#[derive(Debug, Clone)]
pub enum NetworkCredentials {
    Profile(String),
    /// Assumed with the main credentials.
    Role(String),
}

/// The config the VPC-wide data is read with when it is not the main one: the profile's
/// credentials, or the role's (sts:AssumeRole from the main credentials), in the main Region;
/// with the flag that chose it, for messages.
async fn network_config(
    config: &SdkConfig,
    opts: &AwsOptions,
    region: &str,
) -> Option<(SdkConfig, String)> {
    Some(match opts.network.as_ref()? {
        NetworkCredentials::Profile(profile) => {
            let options = AwsOptions {
                region: Some(region.to_string()),
                profile: Some(profile.clone()),
                ..opts.clone()
            };
            (
                load_config(&options).await,
                format!("--network-profile {profile}"),
            )
        }
        NetworkCredentials::Role(arn) => {
            let provider = aws_config::sts::AssumeRoleProvider::builder(arn)
                .session_name("fargate-preflight")
                .configure(config)
                .build()
                .await;
            let network = config
                .to_builder()
                .credentials_provider(
                    aws_credential_types::provider::SharedCredentialsProvider::new(provider),
                )
                .build();
            (network, format!("--network-role-arn {arn}"))
        }
    })
}

/// What to look at: an existing service, or the flags of a deploy that has not happened yet.
#[derive(Debug, Clone)]
pub enum Target {
    /// Services of a cluster: the named ones, or all of them when none is named.
    Services {
        cluster: String,
        services: Vec<String>,
    },
    PreDeploy(PreDeploy),
}

/// The flags of a deploy that has not happened yet.
#[derive(Debug, Clone)]
pub struct PreDeploy {
    pub task_definition: String,
    /// `--task-definition-file`: used as it is, never registered or described.
    pub task_definition_file: Option<Box<TaskDefinition>>,
    /// `--desired-count`: the tasks the service will be created with.
    pub desired_count: i32,
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
    pub platform_version: Option<String>,
    pub assign_public_ip: bool,
    pub enable_execute_command: bool,
    pub grace_period: Option<i32>,
    pub target_group: Option<String>,
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
    config
        .to_builder()
        .retry_config(retry_config(config.retry_config()))
        .build()
}

/// The SDK's standard retries (exponential backoff with jitter) unless AWS_RETRY_MODE / the
/// profile's `retry_mode` asks for adaptive, with `DEFAULT_MAX_ATTEMPTS` unless
/// AWS_MAX_ATTEMPTS / `max_attempts` sets a number. Adaptive mode is no longer forced: its
/// client-side rate limiter is what made a throttled run hang, since smithy-rs deducted capacity
/// even for requests it refused, so concurrent requests drove the send rate towards zero and
/// slept past the operation timeout (smithy-rs PR #4632, "Fix adaptive retry rate limiter
/// negative capacity bug").
fn retry_config(configured: Option<&RetryConfig>) -> RetryConfig {
    // Half the SDK's 1 s first backoff: a throttled chain of six dependent calls then waits at
    // most 9 s for two retries each, not 18 s.
    let base = configured
        .cloned()
        .unwrap_or_else(RetryConfig::standard)
        .with_initial_backoff(Duration::from_millis(500));
    let attempts_set = std::env::var_os("AWS_MAX_ATTEMPTS").is_some()
        || base.max_attempts() != RetryConfig::standard().max_attempts();
    if attempts_set {
        base
    } else {
        base.with_max_attempts(DEFAULT_MAX_ATTEMPTS)
    }
}

/// Attempts per call, the first included. The SDK default of 3 survives two throttled answers;
/// a scan of a busy account meets more. The backoff before the 5th attempt is at most 4 s
/// (7.5 s in all), within the 30 s operation timeout.
const DEFAULT_MAX_ATTEMPTS: u32 = 5;

/// Resolves the credentials once before any call, so that a missing or expired identity is
/// one line saying where the chain looked, not a dispatch failure of the first call.
async fn check_credentials(config: &SdkConfig, profile: Option<&str>) -> Result<(), FatalError> {
    use aws_credential_types::provider::error::CredentialsError;
    use aws_credential_types::provider::ProvideCredentials;
    let Some(provider) = config.credentials_provider() else {
        let none = CredentialsError::not_loaded("no credentials provider is configured");
        return Err(errors::credentials_problem(&none, profile));
    };
    provider
        .provide_credentials()
        .await
        .map(|_| ())
        .map_err(|e| errors::credentials_problem(&e, profile))
}

/// The service's recently stopped tasks, for `diagnose`.
pub async fn stopped_tasks(
    opts: &AwsOptions,
    cluster: &str,
    service: &str,
    observer: &Observer,
) -> Fetched<Vec<crate::snapshot::StoppedTask>> {
    let config = load_config(opts).await;
    let client = client!(aws_sdk_ecs, &config, &observer.calls);
    calls::with_max_concurrency(
        opts.max_concurrency,
        calls::in_wave(1, ecs::stopped_tasks(&client, cluster, service)),
    )
    .await
}

/// The role ECS uses to manage the tasks' network interfaces and load balancer targets.
const ECS_SERVICE_LINKED_ROLE: &str = "AWSServiceRoleForECS";

/// One snapshot per service, with at most `opts.max_concurrency` AWS calls in flight.
pub async fn gather(
    opts: &AwsOptions,
    target: &Target,
    observer: &Observer,
) -> Result<Vec<Snapshot>, FatalError> {
    calls::with_max_concurrency(opts.max_concurrency, gather_all(opts, target, observer)).await
}

async fn gather_all(
    opts: &AwsOptions,
    target: &Target,
    observer: &Observer,
) -> Result<Vec<Snapshot>, FatalError> {
    let config = load_config(opts).await;
    let region = config
        .region()
        .map(|r| r.to_string())
        .ok_or(FatalError::NoRegion)?;
    check_credentials(&config, opts.profile.as_deref()).await?;
    let network_config = network_config(&config, opts, &region).await;
    let endpoint_url = opts
        .endpoint_url
        .clone()
        .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok());
    let calls = &observer.calls;
    let ecs_client = client!(aws_sdk_ecs, &config, calls);
    let ec2_client = client!(
        aws_sdk_ec2,
        network_config.as_ref().map_or(&config, |(c, _)| c),
        calls
    );
    let elb_client = client!(aws_sdk_elasticloadbalancingv2, &config, calls);
    let ecr_client = client!(aws_sdk_ecr, &config, calls);
    let iam_client = client!(aws_sdk_iam, &config, calls);
    let efs_client = client!(aws_sdk_efs, &config, calls);
    let quota_client = client!(aws_sdk_servicequotas, &config, calls);
    let usage_client = client!(aws_sdk_cloudwatch, &config, calls);
    let scaling_client = client!(aws_sdk_applicationautoscaling, &config, calls);
    let blobs = blob::BlobClient::new(calls.clone());
    let start_clients = start::Clients {
        config: &config,
        calls,
    };
    (observer.step)("describing the ECS services…");

    // A task definition from a file is known by the ARN its first registration would get.
    let from_file = match target {
        Target::PreDeploy(flags) => flags
            .task_definition_file
            .as_deref()
            .cloned()
            .map(|mut td| {
                td.arn = unregistered_arn(&td, &region);
                td
            }),
        Target::Services { .. } => None,
    };
    // The one cluster's settings are read beside its services: nothing they say is needed first.
    // With other credentials for the network, which account they are (the snapshot says who
    // read what) is asked beside the service lookup.
    let (described, cluster_settings, read_by) = tokio::join!(
        async {
            match target {
                Target::Services { cluster, services } => {
                    ecs::describe_services(&ecs_client, cluster, services).await
                }
                Target::PreDeploy(flags) => Ok((vec![pre_deploy_workload(flags)], 0)),
            }
        },
        async {
            match target {
                Target::Services { cluster, .. } => {
                    Some(calls::in_wave(1, ecs::cluster_settings(&ecs_client, cluster)).await)
                }
                // Before the deploy there is no cluster to read.
                Target::PreDeploy(_) => None,
            }
        },
        async {
            match &network_config {
                Some((network, flag)) => {
                    let sts = client!(aws_sdk_sts, network, calls);
                    calls::in_wave(1, sts::network_account(&sts, flag))
                        .await
                        .map(Some)
                }
                None => Ok(None),
            }
        },
    );
    let read_by = read_by?;
    let (mut workloads, lookup_waves) = described?;
    let cluster_key = cluster_settings
        .as_ref()
        .and_then(|s| s.ok().ok())
        .and_then(|s| s.storage.fargate_ephemeral_storage_kms_key_id.as_deref())
        .map(|id| start::key_reference(&region, id));
    if let Some(td) = &from_file {
        for w in &mut workloads {
            w.task_definition = td.arn.clone();
        }
    }

    let spot = workloads
        .iter()
        .any(|w| w.capacity_providers.iter().any(|c| c == "FARGATE_SPOT"));
    // Everything below is fetched once per unique id, however many services share it.
    let td_arns = unique(workloads.iter().map(|w| w.task_definition.clone()));
    let subnet_ids = unique(workloads.iter().flat_map(|w| w.subnets.clone()));
    // Blue/green's alternate target groups are read with the primary ones.
    let tg_arns = unique(workloads.iter().flat_map(|w| {
        w.load_balancers.iter().flat_map(|lb| {
            [
                lb.target_group_arn.clone(),
                lb.advanced
                    .as_ref()
                    .and_then(|a| a.alternate_target_group_arn.clone()),
            ]
            .into_iter()
            .flatten()
        })
    }));
    let shifting = |pick: fn(&AdvancedConfiguration) -> [Option<String>; 2]| {
        unique(workloads.iter().flat_map(|w| {
            w.load_balancers
                .iter()
                .filter_map(|lb| lb.advanced.as_ref())
                .flat_map(pick)
                .flatten()
        }))
    };
    let rule_arns = shifting(|a| {
        [
            a.production_listener_rule.clone(),
            a.test_listener_rule.clone(),
        ]
    });
    let infrastructure_roles = shifting(|a| [a.role_arn.clone(), None]);
    let scaling_ids = unique(workloads.iter().filter_map(scaling_id));
    (observer.step)("describing task definitions, the VPC, target groups and execution roles…");
    // Three chains, each moving on as soon as its own input arrives (no barrier between them):
    // subnets → their VPCs; task definitions → the ECR registry and the execution roles;
    // target groups → their load balancers.
    let network_chain = async {
        // Block Public Access is the Region's: read once, beside the subnets.
        let (task_subnets, block_public_access) = tokio::join!(
            ec2::describe_task_subnets(&ec2_client, &subnet_ids),
            ec2::block_public_access(&ec2_client),
        );
        let vpc_ids = match task_subnets.ok() {
            Ok(subnets) => unique(subnets.iter().map(|s| s.vpc_id.clone())),
            Err(_) => vec![],
        };
        let networks = calls::later_wave(
            1,
            join_all(
                vpc_ids
                    .iter()
                    .map(|v| ec2::gather_network(&ec2_client, &region, v, &block_public_access)),
            ),
        )
        .await;
        let networks: BTreeMap<String, Network> = vpc_ids
            .into_iter()
            .zip(networks)
            .map(|(vpc, network)| {
                let read_by = read_by.clone();
                (vpc, Network { read_by, ..network })
            })
            .collect();
        // The account-wide reads need nothing and nobody waits for them: they go out once the
        // VPC-wide answers are in, beside the role's policy reads, so they never queue ahead of
        // a request on the critical path.
        let account = tokio::join!(
            fargate_vcpus(&quota_client, &usage_client, spot),
            iam::role_exists(&iam_client, ECS_SERVICE_LINKED_ROLE),
        );
        (task_subnets, networks, account)
    };
    let task_definition_chain = async {
        let fetched = join_all(td_arns.iter().map(|arn| async {
            match &from_file {
                Some(td) if td.arn == *arn => Fetched::Ok(td.clone()),
                _ => ecs::describe_task_definition(&ecs_client, arn).await,
            }
        }))
        .await;
        let task_definitions: BTreeMap<String, Fetched<TaskDefinition>> =
            td_arns.iter().cloned().zip(fetched).collect();
        let good_tds: Vec<&TaskDefinition> = task_definitions
            .values()
            .filter_map(|t| t.ok().ok())
            .collect();
        // Execution and task roles alike: a role both name is fetched once.
        let role_arns = unique(good_tds.iter().flat_map(|td| {
            [td.execution_role_arn.clone(), td.task_role_arn.clone()]
                .into_iter()
                .flatten()
        }));
        let mut start_wanted = start::Wanted::of(&good_tds, &region);
        start_wanted.keys.extend(cluster_key.clone());
        let file_system_ids = unique(good_tds.iter().flat_map(|td| {
            td.volumes
                .iter()
                .filter_map(|v| v.efs.as_ref().map(|e| e.file_system_id.clone()))
        }));
        let repositories = unique(good_tds.iter().flat_map(|td| own_repositories(td, &region)));
        let wanted: Vec<ecr::WantedImage> = good_tds
            .iter()
            .flat_map(|td| wanted_images(td, &region))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let image_clients: BTreeMap<String, aws_sdk_ecr::Client> = wanted
            .iter()
            .map(|w| w.region.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .map(|r| {
                let client = client!(aws_sdk_ecr, &config, calls, r);
                (r, client)
            })
            .collect();
        // Read once, by whichever of the registry and the image lookups asks first.
        let rules = ecr::pull_through_cache_rules(&ecr_client).shared();
        let (roles, registry, images, file_systems, start_resources) =
            calls::later_wave(1, async {
                tokio::join!(
                    join_all(
                        role_arns
                            .iter()
                            .map(|arn| iam::gather_role(&iam_client, Some(arn)))
                    ),
                    async {
                        if good_tds.is_empty() {
                            not_gathered("ecr:DescribePullThroughCacheRules", &task_definitions)
                        } else {
                            ecr::gather_registry(&ecr_client, rules.clone(), &repositories).await
                        }
                    },
                    ecr::gather_images(&image_clients, &blobs, rules.clone(), &wanted),
                    join_all(
                        file_system_ids
                            .iter()
                            .map(|id| efs::gather_file_system(&efs_client, id))
                    ),
                    start::gather(&start_clients, &region, &start_wanted),
                )
            })
            .await;
        let roles: BTreeMap<String, Fetched<Option<Role>>> =
            role_arns.into_iter().zip(roles).collect();
        (
            task_definitions,
            registry,
            roles,
            images,
            file_systems,
            start_resources,
        )
    };
    // The longest chain first (task definition → role → policy → version): its requests go
    // out ahead of the others in each round, so an endpoint serving them in order answers the
    // critical path first.
    let (
        (task_definitions, registry, roles, images, file_systems, start_resources),
        (task_subnets, networks, (fargate_vcpus, ecs_service_linked_role)),
        target_groups,
        (listener_rules, trust_policies),
        scalable_targets,
    ) = calls::in_wave(lookup_waves + 1, async {
        // Boxed: nested this deep, the futures exceed the compiler's layout depth limit.
        tokio::join!(
            Box::pin(task_definition_chain),
            Box::pin(network_chain),
            elbv2::gather_target_groups(&elb_client, &tg_arns),
            async {
                tokio::join!(
                    elbv2::gather_listener_rules(&elb_client, &rule_arns),
                    join_all(
                        infrastructure_roles
                            .iter()
                            .map(|arn| iam::trust_policy(&iam_client, arn))
                    ),
                )
            },
            scaling::scalable_targets(&scaling_client, &scaling_ids),
        )
    })
    .await;
    let trust_policies: BTreeMap<String, Fetched<Option<String>>> = infrastructure_roles
        .into_iter()
        .zip(trust_policies)
        .collect();
    if let Target::PreDeploy(PreDeploy {
        task_definition, ..
    }) = target
    {
        if let Some(Fetched::Failed { error }) = task_definitions.values().next() {
            if error.kind == GatherErrorKind::NotFound {
                return Err(FatalError::TargetMissing(format!(
                    "task definition {task_definition} not found: {}",
                    error.message
                )));
            }
        }
    }

    let gathered_at = Utc::now();
    Ok(workloads
        .into_iter()
        .map(|workload| {
            let task_definition = task_definitions[&workload.task_definition].clone();
            let network = network_of(&workload, &task_subnets, &networks);
            let execution_role = match task_definition.ok() {
                Err(error) => Fetched::failed(errors::skipped("iam:GetRole", error)),
                Ok(td) => match &td.execution_role_arn {
                    None => Fetched::Ok(None),
                    Some(arn) => roles[arn].clone(),
                },
            };
            let task_role = match task_definition.ok() {
                Err(error) => Fetched::failed(errors::skipped("iam:GetRole", error)),
                Ok(td) => match &td.task_role_arn {
                    None => Fetched::Ok(None),
                    Some(arn) => roles[arn].clone(),
                },
            };
            let file_systems = match task_definition.ok() {
                Err(error) => Fetched::failed(errors::skipped(
                    "elasticfilesystem:DescribeFileSystems",
                    error,
                )),
                Ok(td) => Fetched::Ok(
                    file_systems
                        .iter()
                        .filter(|fs| {
                            td.volumes
                                .iter()
                                .any(|v| v.efs.as_ref().is_some_and(|e| e.file_system_id == fs.id))
                        })
                        .cloned()
                        .collect(),
                ),
            };
            let exec_configuration = match &cluster_settings {
                _ if !workload.enable_execute_command => Fetched::failed(GatherError {
                    action: "ecs:DescribeClusters".into(),
                    kind: GatherErrorKind::Skipped,
                    message: "not needed: ECS Exec is off".into(),
                }),
                Some(settings) => settings.map(|s| s.exec.clone()),
                None => Fetched::Ok(None),
            };
            let cluster_storage = match &cluster_settings {
                Some(settings) => settings.map(|s| Some(s.storage.clone())),
                None => Fetched::Ok(None),
            };
            let target_groups = match target_groups.ok() {
                Err(error) => Fetched::failed(error.clone()),
                Ok(groups) => Fetched::Ok(
                    groups
                        .iter()
                        .filter(|g| {
                            workload.load_balancers.iter().any(|lb| {
                                lb.target_group_arn.as_deref() == Some(g.arn.as_str())
                                    || lb.advanced.as_ref().is_some_and(|a| {
                                        a.alternate_target_group_arn.as_deref()
                                            == Some(g.arn.as_str())
                                    })
                            })
                        })
                        .cloned()
                        .collect(),
                ),
            };
            let images = match task_definition.ok() {
                Err(error) => Fetched::failed(errors::skipped("ecr:DescribeImages", error)),
                Ok(td) => {
                    let used: BTreeSet<String> =
                        wanted_images(td, &region).map(|w| w.image).collect();
                    Fetched::Ok(
                        images
                            .iter()
                            .filter(|i| used.contains(&i.image))
                            .cloned()
                            .collect(),
                    )
                }
            };
            let scalable_target = match scaling_id(&workload) {
                Some(id) => scaling::target_of(&scalable_targets, &id),
                // Before the service exists nothing can scale it.
                None => Fetched::Ok(None),
            };
            let start_resources = match task_definition.ok() {
                Err(error) => {
                    Fetched::failed(errors::skipped("secretsmanager:DescribeSecret", error))
                }
                Ok(td) => Fetched::Ok(start::share(
                    &start_resources,
                    td,
                    &region,
                    cluster_key.as_ref(),
                )),
            };
            let traffic_shift = Fetched::Ok(traffic_shift_of(
                &workload,
                &listener_rules,
                &trust_policies,
            ));
            Snapshot {
                schema_version: SCHEMA_VERSION,
                gathered_at,
                region: region.clone(),
                endpoint_url: endpoint_url.clone(),
                workload,
                task_definition,
                network,
                registry: registry.clone(),
                execution_role,
                target_groups,
                images,
                task_role,
                file_systems,
                exec_configuration,
                fargate_vcpus: Fetched::Ok(fargate_vcpus.clone()),
                ecs_service_linked_role: ecs_service_linked_role.clone(),
                scalable_target,
                traffic_shift,
                start_resources,
                cluster_storage,
            }
        })
        .collect())
}

/// The Application Auto Scaling resource id of an existing service.
fn scaling_id(w: &Workload) -> Option<String> {
    w.service_arn.as_ref()?;
    Some(scaling::resource_id(
        w.cluster.as_deref()?,
        w.service.as_deref()?,
    ))
}

/// The listener rules and infrastructure roles the service's advancedConfiguration names.
fn traffic_shift_of(
    workload: &Workload,
    rules: &Fetched<Vec<ListenerRule>>,
    roles: &BTreeMap<String, Fetched<Option<String>>>,
) -> TrafficShift {
    let configs: Vec<&AdvancedConfiguration> = workload
        .load_balancers
        .iter()
        .filter_map(|lb| lb.advanced.as_ref())
        .collect();
    let named = |arn: &str| {
        configs.iter().any(|a| {
            a.production_listener_rule.as_deref() == Some(arn)
                || a.test_listener_rule.as_deref() == Some(arn)
        })
    };
    TrafficShift {
        rules: match rules {
            Fetched::Ok(all) => {
                Fetched::Ok(all.iter().filter(|r| named(&r.arn)).cloned().collect())
            }
            Fetched::Failed { error } => Fetched::failed(error.clone()),
        },
        roles: unique(configs.iter().filter_map(|a| a.role_arn.clone()))
            .into_iter()
            .map(|arn| InfrastructureRole {
                trust_policy: roles[&arn].clone(),
                arn,
            })
            .collect(),
    }
}

/// The region's Fargate vCPU quotas and usage, once per run (Spot only when a service uses it).
async fn fargate_vcpus(
    quotas: &aws_sdk_servicequotas::Client,
    usage: &aws_sdk_cloudwatch::Client,
    spot: bool,
) -> FargateVcpus {
    let allowance = |code, class| async move {
        let (quota, in_use) = tokio::join!(
            quota::fargate_quota(quotas, code),
            usage::vcpus_in_use(usage, class)
        );
        VcpuAllowance { quota, in_use }
    };
    let (on_demand, spot) = tokio::join!(
        allowance(quota::ON_DEMAND_VCPUS, "Standard/OnDemand"),
        async {
            match spot {
                true => Some(allowance(quota::SPOT_VCPUS, "Standard/Spot").await),
                false => None,
            }
        }
    );
    FargateVcpus { on_demand, spot }
}

/// A task definition file checked without AWS: the gather could not start (no credentials,
/// no region), so every AWS part is that error and only what the file itself decides is judged.
pub fn without_aws(
    flags: &PreDeploy,
    region: Option<String>,
    why: &FatalError,
) -> Option<Snapshot> {
    let mut td = flags.task_definition_file.as_deref()?.clone();
    let region = region.unwrap_or_default();
    td.arn = unregistered_arn(&td, &region);
    let mut workload = pre_deploy_workload(flags);
    workload.task_definition = td.arn.clone();
    let cause = GatherError {
        action: "the AWS lookup".into(),
        kind: GatherErrorKind::Skipped,
        message: why.to_string(),
    };
    Some(Snapshot {
        schema_version: SCHEMA_VERSION,
        gathered_at: Utc::now(),
        region,
        endpoint_url: None,
        workload,
        task_definition: Fetched::Ok(td),
        network: Fetched::failed(cause.clone()),
        registry: Fetched::failed(cause.clone()),
        execution_role: Fetched::failed(cause.clone()),
        target_groups: Fetched::failed(cause.clone()),
        images: Fetched::failed(cause.clone()),
        task_role: Fetched::failed(cause.clone()),
        file_systems: Fetched::failed(cause.clone()),
        exec_configuration: Fetched::failed(cause.clone()),
        fargate_vcpus: Fetched::failed(cause.clone()),
        ecs_service_linked_role: Fetched::failed(cause.clone()),
        scalable_target: Fetched::failed(cause.clone()),
        traffic_shift: Fetched::failed(cause.clone()),
        start_resources: Fetched::failed(cause.clone()),
        cluster_storage: Fetched::failed(cause.clone()),
    })
}

fn unique(items: impl IntoIterator<Item = String>) -> Vec<String> {
    items
        .into_iter()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// Repositories of the task definition's own account and this region: the ones a cache
/// rule or the first pull concerns.
fn own_repositories(td: &TaskDefinition, region: &str) -> Vec<String> {
    Uses::of(td, false, region)
        .own_registry_images()
        .map(|i| i.parsed.repository.clone())
        .collect()
}

/// The task definition's private ECR images, in any account and region.
fn wanted_images<'a>(
    td: &'a TaskDefinition,
    region: &'a str,
) -> impl Iterator<Item = ecr::WantedImage> + 'a {
    let account = td.account();
    Uses::of(td, false, region)
        .images
        .into_iter()
        .filter_map(move |i| {
            let ecr = i.ecr?;
            Some(ecr::WantedImage {
                own_registry: ecr.account == account && ecr.region == region,
                region: ecr.region,
                registry_id: ecr.account,
                repository: i.parsed.repository,
                reference: i.parsed.reference,
                image: i.image.to_string(),
            })
        })
}

fn not_gathered<T>(action: &str, tds: &BTreeMap<String, Fetched<TaskDefinition>>) -> Fetched<T> {
    match tds.values().find_map(|t| t.ok().err()) {
        Some(error) => Fetched::failed(errors::skipped(action, error)),
        None => Fetched::failed(GatherError {
            action: action.into(),
            kind: GatherErrorKind::Skipped,
            message: "no task definition to read".into(),
        }),
    }
}

/// The network of the VPC the service's subnets are in, or why it is unknown.
fn network_of(
    workload: &Workload,
    task_subnets: &Fetched<Vec<crate::snapshot::Subnet>>,
    networks: &BTreeMap<String, Network>,
) -> Fetched<Network> {
    let subnets = match task_subnets.ok() {
        Ok(subnets) => subnets,
        Err(error) => return Fetched::failed(error.clone()),
    };
    let missing = |message: String| {
        Fetched::failed(GatherError {
            action: "ec2:DescribeSubnets".into(),
            kind: GatherErrorKind::NotFound,
            message,
        })
    };
    if workload.subnets.is_empty() {
        return missing("the service has no awsvpc subnets configured".into());
    }
    let vpc = workload
        .subnets
        .iter()
        .find_map(|id| subnets.iter().find(|s| &s.id == id))
        .map(|s| s.vpc_id.clone());
    match vpc.and_then(|v| networks.get(&v)) {
        Some(network) => Fetched::Ok(network.clone()),
        None => missing(format!(
            "none of the task subnets {} exist",
            workload.subnets.join(", ")
        )),
    }
}

/// `arn:PARTITION:ecs:REGION:ACCOUNT:task-definition/FAMILY:0`, the account taken from the
/// roles it names (a task definition's roles are in its own account).
fn unregistered_arn(td: &TaskDefinition, region: &str) -> String {
    let account = [&td.execution_role_arn, &td.task_role_arn]
        .into_iter()
        .flatten()
        .find_map(|arn| arn.split(':').nth(4).filter(|a| !a.is_empty()))
        .unwrap_or_default();
    format!(
        "arn:{}:ecs:{region}:{account}:task-definition/{}:{}",
        crate::snapshot::partition_of(region),
        td.family,
        crate::taskdef_file::UNREGISTERED
    )
}

fn pre_deploy_workload(flags: &PreDeploy) -> Workload {
    let PreDeploy {
        task_definition,
        task_definition_file: _,
        desired_count,
        subnets,
        security_groups,
        platform_version,
        assign_public_ip,
        enable_execute_command,
        grace_period,
        target_group,
    } = flags;
    Workload {
        cluster: None,
        service: None,
        service_arn: None,
        task_definition: task_definition.clone(),
        launch_type: Some(LaunchType::Fargate),
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
                advanced: None,
            })
            .collect(),
        desired_count: Some(*desired_count),
        running_count: Some(0),
        deployment: None,
        events: vec![],
    }
}
