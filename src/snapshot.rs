//! The snapshot: everything gathered from AWS, as our own serde types.
//! Checks read only this; `snapshot` writes it; `check --snapshot` reads it back.
//! Environment variable values and secret values are never part of it (names only).

use chrono::{DateTime, Utc};
use ipnet::{Ipv4Net, Ipv6Net};
use serde::{Deserialize, Serialize};

pub const SCHEMA_VERSION: u32 = 1;

/// Data that was either gathered or could not be (denied, API unavailable, …).
/// Checks must handle both: "could not check" is never a pass.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(untagged)]
pub enum Fetched<T> {
    Failed { error: GatherError },
    Ok(T),
}

/// Written by hand instead of `untagged`, which reports a bad value deep inside as "did not
/// match any variant" at the part: the error names the JSON path down to the value.
impl<'de, T: serde::de::DeserializeOwned> Deserialize<'de> for Fetched<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        if let Some(error) = value
            .as_object()
            .filter(|o| o.len() == 1)
            .and_then(|o| o.get("error"))
        {
            if let Ok(error) = GatherError::deserialize(error) {
                return Ok(Fetched::Failed { error });
            }
        }
        serde_path_to_error::deserialize(value)
            .map(Fetched::Ok)
            .map_err(|e| {
                let (path, message) = error_at(&e.path().to_string(), &e.inner().to_string());
                serde::de::Error::custom(format!("{path}{PATH_END}{message}"))
            })
    }
}

/// Separates a nested part's path from its message inside a deserialization error.
const PATH_END: char = '\u{1f}';

/// The full JSON path and the message of an error raised at `outer` (serde_path_to_error's
/// path, `.` for the root) whose message may carry a nested part's own path.
pub fn error_at(outer: &str, message: &str) -> (String, String) {
    let outer = if outer == "." { "" } else { outer };
    match message.split_once(PATH_END) {
        Some((inner, rest)) => {
            let path = match (outer.is_empty(), inner.starts_with('[')) {
                (true, _) => inner.to_string(),
                (false, true) => format!("{outer}{inner}"),
                (false, false) => format!("{outer}.{inner}"),
            };
            (path, rest.to_string())
        }
        None => (outer.to_string(), message.to_string()),
    }
}

impl<T> Fetched<T> {
    pub fn ok(&self) -> Result<&T, &GatherError> {
        match self {
            Fetched::Ok(v) => Ok(v),
            Fetched::Failed { error } => Err(error),
        }
    }

    /// The value, or the gather error as an owned value, so checks can use `?`.
    pub fn get(&self) -> Result<&T, GatherError> {
        self.ok().map_err(Clone::clone)
    }

    pub fn failed(error: GatherError) -> Self {
        Fetched::Failed { error }
    }

    /// What `f` makes of the value; the same error when there is none.
    pub fn map<U>(&self, f: impl FnOnce(&T) -> U) -> Fetched<U> {
        match self {
            Fetched::Ok(v) => Fetched::Ok(f(v)),
            Fetched::Failed { error } => Fetched::failed(error.clone()),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct GatherError {
    /// The API action that failed, e.g. `ec2:DescribeVpcEndpoints`.
    pub action: String,
    pub kind: GatherErrorKind,
    pub message: String,
}

impl GatherError {
    /// How a finding names the gap, e.g. "ec2:DescribeVpcEndpoints was denied".
    pub fn describe(&self) -> String {
        match self.kind {
            GatherErrorKind::Denied => format!("{} was denied ({})", self.action, self.message),
            GatherErrorKind::Unavailable => {
                format!("{} is unavailable ({})", self.action, self.message)
            }
            GatherErrorKind::NotFound => {
                format!("{} found nothing ({})", self.action, self.message)
            }
            GatherErrorKind::Skipped => format!("{} was not called: {}", self.action, self.message),
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum GatherErrorKind {
    /// AccessDenied / UnauthorizedOperation.
    Denied,
    /// Any other failure of the call (HTTP 5xx, timeout, unimplemented API).
    Unavailable,
    /// The referenced resource does not exist.
    NotFound,
    /// Not called because data it depends on is missing.
    Skipped,
}

/// An AWS enum value the checks branch on: the known values as variants (matched without
/// regard to case, so every comparison is the same), anything else kept as `Other`.
/// Serialized as the plain string, so snapshot files are unchanged.
macro_rules! aws_value {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(from = "String", into = "String")]
        pub enum $name {
            $($variant,)+
            /// A value this version does not know, as AWS sent it.
            Other(String),
        }

        impl From<String> for $name {
            fn from(text: String) -> Self {
                $(if text.eq_ignore_ascii_case($text) {
                    return $name::$variant;
                })+
                $name::Other(text)
            }
        }

        impl From<&str> for $name {
            fn from(text: &str) -> Self {
                text.to_string().into()
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.as_str().to_string()
            }
        }

        impl $name {
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $text,)+
                    $name::Other(text) => text,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

aws_value!(
    /// EC2 RouteState.
    RouteState { Active = "active", Blackhole = "blackhole" }
);

aws_value!(
    /// EC2 VpcEndpointType.
    EndpointType {
        Interface = "Interface",
        Gateway = "Gateway",
        GatewayLoadBalancer = "GatewayLoadBalancer",
        Resource = "Resource",
        ServiceNetwork = "ServiceNetwork",
    }
);

aws_value!(
    /// EC2 State of a VPC endpoint.
    EndpointState {
        PendingAcceptance = "pendingAcceptance",
        Pending = "pending",
        Available = "available",
        Deleting = "deleting",
        Deleted = "deleted",
        Rejected = "rejected",
        Failed = "failed",
        Expired = "expired",
        Partial = "partial",
    }
);

aws_value!(
    /// EC2 IpProtocol of a security group rule, or a NACL entry's protocol number.
    IpProtocol { All = "-1", Tcp = "tcp", Udp = "udp", Icmp = "icmp", TcpNumber = "6" }
);

impl IpProtocol {
    /// Does the rule cover TCP (all traffic, `tcp`, or protocol number 6)?
    pub fn covers_tcp(&self) -> bool {
        matches!(
            self,
            IpProtocol::All | IpProtocol::Tcp | IpProtocol::TcpNumber
        )
    }
}

aws_value!(
    /// ELBv2 TargetTypeEnum.
    TargetType { Ip = "ip", Instance = "instance", Lambda = "lambda", Alb = "alb" }
);

aws_value!(
    /// ECS LaunchType.
    LaunchType { Fargate = "FARGATE", Ec2 = "EC2", External = "EXTERNAL", ManagedInstances = "MANAGED_INSTANCES" }
);

aws_value!(
    /// EC2 NatGatewayState.
    NatState { Pending = "pending", Failed = "failed", Available = "available", Deleting = "deleting", Deleted = "deleted" }
);

aws_value!(
    /// EC2 ConnectivityType of a NAT gateway.
    Connectivity { Public = "public", Private = "private" }
);

aws_value!(
    /// EC2 AttachmentStatus of an internet gateway.
    AttachmentState { Attaching = "attaching", Attached = "attached", Detaching = "detaching", Detached = "detached", Available = "available" }
);

impl EndpointState {
    /// Can the endpoint carry traffic now or soon (not gone or refused)?
    pub fn usable(&self) -> bool {
        !matches!(
            self,
            EndpointState::Deleting
                | EndpointState::Deleted
                | EndpointState::Rejected
                | EndpointState::Failed
                | EndpointState::Expired
        )
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Snapshot {
    pub schema_version: u32,
    pub gathered_at: DateTime<Utc>,
    pub region: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_url: Option<String>,
    pub workload: Workload,
    pub task_definition: Fetched<TaskDefinition>,
    pub network: Fetched<Network>,
    /// The ECR registry of the task's account and region: pull-through cache rules and
    /// whether the image repositories exist.
    #[serde(default = "not_in_snapshot")]
    pub registry: Fetched<Registry>,
    /// The task execution role; `null` when the task definition names none.
    #[serde(default = "not_in_snapshot")]
    pub execution_role: Fetched<Option<Role>>,
    /// The target groups the service registers with, and their load balancers.
    #[serde(default = "not_in_snapshot")]
    pub target_groups: Fetched<Vec<TargetGroup>>,
    /// The task's private ECR images (any account or region): status, size and platforms.
    #[serde(default = "not_in_snapshot")]
    pub images: Fetched<Vec<EcrImage>>,
    /// The task role; `null` when the task definition names none.
    #[serde(default = "not_in_snapshot")]
    pub task_role: Fetched<Option<Role>>,
    /// The EFS file systems the task's volumes mount.
    #[serde(default = "not_in_snapshot")]
    pub file_systems: Fetched<Vec<FileSystem>>,
    /// The cluster's ECS Exec settings; `null` when the cluster has none (or there is no
    /// cluster yet).
    #[serde(default = "not_in_snapshot")]
    pub exec_configuration: Fetched<Option<ExecConfiguration>>,
    /// The region's Fargate vCPU quotas and the vCPUs in use against them.
    #[serde(default = "not_in_snapshot")]
    pub fargate_vcpus: Fetched<FargateVcpus>,
    /// Whether the account has ECS's service-linked role, AWSServiceRoleForECS.
    #[serde(default = "not_in_snapshot")]
    pub ecs_service_linked_role: Fetched<bool>,
    /// The Application Auto Scaling target of the service's desired count; `null` when there
    /// is none (and before the service exists).
    #[serde(default = "not_in_snapshot")]
    pub scalable_target: Fetched<Option<ScalableTarget>>,
    /// What a blue/green, linear or canary deployment shifts traffic with: the listener rules
    /// and infrastructure roles named in `loadBalancers[].advancedConfiguration` (empty for
    /// other services).
    #[serde(default = "not_in_snapshot")]
    pub traffic_shift: Fetched<TrafficShift>,
    /// What the task fetches at start, as its metadata says (never a value): the secrets and
    /// parameters it references, its awslogs groups, its S3 environment files and the KMS keys
    /// they are encrypted with.
    #[serde(default = "not_in_snapshot")]
    pub start_resources: Fetched<StartResources>,
    /// The cluster's managed storage settings; `null` before there is a cluster.
    #[serde(default = "not_in_snapshot")]
    pub cluster_storage: Fetched<Option<ClusterStorage>>,
}

/// What DescribeClusters says of the cluster's managed storage.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClusterStorage {
    pub cluster_arn: String,
    pub cluster_name: String,
    /// `managedStorageConfiguration.fargateEphemeralStorageKmsKeyId`, as set (an id, ARN or
    /// alias); its key, when set, is among the start resources' `kms_keys`.
    pub fargate_ephemeral_storage_kms_key_id: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StartResources {
    pub secrets: Vec<Lookup<SecretMetadata>>,
    pub parameters: Vec<Lookup<ParameterMetadata>>,
    pub log_groups: Vec<Lookup<LogGroupMetadata>>,
    pub environment_files: Vec<Lookup<ObjectMetadata>>,
    pub kms_keys: Vec<Lookup<KmsKey>>,
}

/// One referenced resource: `None` when it does not exist, or why it could not be read.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(bound(deserialize = "T: serde::de::DeserializeOwned"))]
pub struct Lookup<T> {
    /// As the task definition (or the resource pointing at it) names it.
    pub reference: String,
    pub region: String,
    pub found: Fetched<Option<T>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SecretMetadata {
    pub arn: String,
    /// DescribeSecret's DeletedDate: the secret is scheduled for deletion.
    pub deleted: bool,
    /// `None`: the AWS managed key aws/secretsmanager.
    pub kms_key_id: Option<String>,
    /// VersionIdsToStages.
    #[serde(default)]
    pub versions: std::collections::BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ParameterMetadata {
    pub name: String,
    /// String, StringList or SecureString.
    pub kind: String,
    /// The key of a SecureString.
    pub key_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LogGroupMetadata {
    pub name: String,
    pub kms_key_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ObjectMetadata {
    /// The bucket's Region (GetBucketLocation), when it could be read.
    pub bucket_region: Fetched<String>,
    /// `aws:kms` or `aws:kms:dsse` objects name their key.
    pub kms_key_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KmsKey {
    pub arn: String,
    /// Enabled, Disabled, PendingDeletion, PendingImport, Unavailable…
    pub state: String,
    /// AWS or CUSTOMER.
    pub manager: String,
    /// The key policy (GetKeyPolicy, policy name `default`).
    pub policy: Fetched<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScalableTarget {
    pub min_capacity: i32,
    pub max_capacity: i32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrafficShift {
    /// The production and test listener rules (ALB) or listeners (NLB).
    pub rules: Fetched<Vec<ListenerRule>>,
    pub roles: Vec<InfrastructureRole>,
}

/// A listener rule, or a listener (whose default actions act as its rule).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ListenerRule {
    pub arn: String,
    /// The target groups its forward actions send to.
    pub forwards: Vec<Forward>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Forward {
    pub target_group_arn: String,
    /// The weight in a weighted forward action; `None` for a plain one (all the traffic).
    pub weight: Option<i32>,
}

impl Forward {
    pub fn serves_traffic(&self) -> bool {
        self.weight != Some(0)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InfrastructureRole {
    pub arn: String,
    /// The trust policy (JSON, decoded); `None` when the role does not exist.
    pub trust_policy: Fetched<Option<String>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FargateVcpus {
    pub on_demand: VcpuAllowance,
    /// Gathered when a service's capacity provider strategy names FARGATE_SPOT.
    pub spot: Option<VcpuAllowance>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VcpuAllowance {
    pub quota: Fetched<QuotaValue>,
    /// The latest AWS/Usage ResourceCount (0 when none was published lately).
    pub in_use: Fetched<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct QuotaValue {
    pub value: f64,
    /// No applied value exists: this is AWS's default for the account.
    pub default: bool,
}

/// The action named by data an older snapshot file does not hold.
pub const NOT_IN_SNAPSHOT: &str = "snapshot";

/// Snapshots written before a part existed read it as "not gathered", never as empty.
fn not_in_snapshot<T>() -> Fetched<T> {
    Fetched::failed(GatherError {
        action: NOT_IN_SNAPSHOT.into(),
        kind: GatherErrorKind::Skipped,
        message: "this snapshot was written without that data".into(),
    })
}

/// What a gather from AWS cost: reported beside the snapshot's metadata (`-v`, JSON `stats`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Stats {
    pub api_calls: usize,
    pub api_calls_by_operation: std::collections::BTreeMap<String, usize>,
    /// The critical path: the longest chain of calls each needing an answer of the one before
    /// (the service lookup is the first).
    pub waves: usize,
    pub wall_ms: u128,
}

/// What `snapshot` writes and `check --snapshot` reads: one service, or several (a cluster).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SnapshotFile {
    Services {
        schema_version: u32,
        services: Vec<Snapshot>,
    },
    Single(Box<Snapshot>),
}

impl SnapshotFile {
    pub fn new(mut snapshots: Vec<Snapshot>) -> Self {
        if snapshots.len() == 1 {
            SnapshotFile::Single(Box::new(snapshots.remove(0)))
        } else {
            SnapshotFile::Services {
                schema_version: SCHEMA_VERSION,
                services: snapshots,
            }
        }
    }

    pub fn schema_version(&self) -> u32 {
        match self {
            SnapshotFile::Services { schema_version, .. } => *schema_version,
            SnapshotFile::Single(s) => s.schema_version,
        }
    }

    pub fn into_snapshots(self) -> Vec<Snapshot> {
        match self {
            SnapshotFile::Services { services, .. } => services,
            SnapshotFile::Single(s) => vec![*s],
        }
    }
}

impl Snapshot {
    /// AWS partition of the region (retirement dates differ in China).
    pub fn partition(&self) -> &'static str {
        partition_of(&self.region)
    }

    /// The account the service runs in, which is the account that read it: ECS describes only
    /// the caller's own services and task definitions.
    pub fn account(&self) -> Option<&str> {
        fn of(arn: &str) -> Option<&str> {
            arn.split(':').nth(4).filter(|a| !a.is_empty())
        }
        self.workload
            .service_arn
            .as_deref()
            .and_then(of)
            .or_else(|| self.task_definition.ok().ok().and_then(|td| of(&td.arn)))
    }

    /// The owner of the task subnets when another account owns them and the VPC-wide data was
    /// not read with the owner's credentials: a shared VPC (AWS RAM) seen by a participant, who
    /// cannot describe the owner's NAT gateways or VPC endpoints.
    pub fn foreign_vpc_owner(&self) -> Option<&str> {
        let net = self.network.ok().ok()?;
        let account = net.read_by.as_deref().or_else(|| self.account())?;
        net.subnets
            .ok()
            .ok()?
            .iter()
            .filter(|s| self.workload.subnets.contains(&s.id))
            .find_map(|s| s.owner_id.as_deref().filter(|o| *o != account))
    }
}

pub fn partition_of(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// What will run: an existing ECS service, or the pre-deploy flags.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Workload {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_arn: Option<String>,
    pub task_definition: String,
    /// Absent with a capacity provider strategy (see `capacity_providers`).
    pub launch_type: Option<LaunchType>,
    #[serde(default)]
    pub capacity_providers: Vec<String>,
    /// As configured (may be `LATEST` or absent).
    pub platform_version: Option<String>,
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
    pub assign_public_ip: bool,
    #[serde(default)]
    pub enable_execute_command: bool,
    #[serde(default)]
    pub health_check_grace_period_seconds: Option<i32>,
    #[serde(default)]
    pub load_balancers: Vec<ServiceLoadBalancer>,
    /// desiredCount and runningCount; for a pre-deploy run, `--desired-count` and none running.
    #[serde(default)]
    pub desired_count: Option<i32>,
    #[serde(default)]
    pub running_count: Option<i32>,
    /// How ECS rolls the service; `None` before the service exists, or in a snapshot taken
    /// before it was gathered (then `service_arn` tells the two apart).
    #[serde(default)]
    pub deployment: Option<DeploymentSettings>,
    /// The service's recent events (DescribeServices keeps the last 100), newest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<ServiceEvent>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeploymentSettings {
    /// deploymentController.type: ECS, CODE_DEPLOY or EXTERNAL.
    pub controller: String,
    /// deploymentConfiguration.strategy: ROLLING, BLUE_GREEN, LINEAR or CANARY.
    pub strategy: Option<String>,
    pub minimum_healthy_percent: Option<i32>,
    pub maximum_percent: Option<i32>,
    /// deploymentCircuitBreaker.enable.
    pub circuit_breaker: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServiceEvent {
    pub id: String,
    pub created_at: Option<DateTime<Utc>>,
    pub message: String,
}

/// A task of the service that stopped, as DescribeTasks reports it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoppedTask {
    pub arn: String,
    pub task_definition: String,
    pub stopped_reason: Option<String>,
    pub stop_code: Option<String>,
    pub stopped_at: Option<DateTime<Utc>>,
    /// The subnets of the task's network interface.
    #[serde(default)]
    pub subnets: Vec<String>,
    pub containers: Vec<StoppedContainer>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoppedContainer {
    pub name: String,
    pub reason: Option<String>,
    pub exit_code: Option<i32>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServiceLoadBalancer {
    pub target_group_arn: Option<String>,
    pub container_name: Option<String>,
    pub container_port: Option<i32>,
    /// advancedConfiguration: the blue/green, linear and canary deployments' traffic shift.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advanced: Option<AdvancedConfiguration>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AdvancedConfiguration {
    pub alternate_target_group_arn: Option<String>,
    pub production_listener_rule: Option<String>,
    pub test_listener_rule: Option<String>,
    pub role_arn: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TaskDefinition {
    pub arn: String,
    pub family: String,
    pub revision: i32,
    pub network_mode: Option<String>,
    #[serde(default)]
    pub requires_compatibilities: Vec<String>,
    /// `runtimePlatform.operatingSystemFamily`; absent means Linux.
    pub os_family: Option<String>,
    pub cpu_architecture: Option<String>,
    pub execution_role_arn: Option<String>,
    pub task_role_arn: Option<String>,
    /// `ephemeralStorage.sizeInGiB`; absent means the 20 GiB default.
    #[serde(default)]
    pub ephemeral_storage_gib: Option<i32>,
    /// Task-level cpu and memory; `None` in a snapshot taken before they were gathered.
    #[serde(default)]
    pub size: Option<TaskSize>,
    #[serde(default)]
    pub volumes: Vec<Volume>,
    pub containers: Vec<Container>,
}

/// Task-level `cpu` and `memory` as written ("256", "0.25 vCPU", "1GB"; ECS stores units and MiB).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TaskSize {
    pub cpu: Option<String>,
    pub memory: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Volume {
    pub name: String,
    /// `efsVolumeConfiguration`, when the volume is an EFS file system.
    pub efs: Option<EfsVolume>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EfsVolume {
    pub file_system_id: String,
    pub root_directory: Option<String>,
    /// `transitEncryption` ENABLED.
    pub transit_encryption: bool,
    pub access_point_id: Option<String>,
    /// `authorizationConfig.iam` ENABLED: the mount uses the task role.
    pub iam: bool,
}

impl TaskDefinition {
    /// The account that registered it (its ARN's fifth field).
    pub fn account(&self) -> &str {
        self.arn.split(':').nth(4).unwrap_or_default()
    }

    pub fn is_windows(&self) -> bool {
        self.os_family
            .as_deref()
            .is_some_and(|f| f.to_ascii_uppercase().starts_with("WINDOWS"))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Container {
    pub name: String,
    pub image: String,
    pub essential: bool,
    #[serde(default)]
    pub port_mappings: Vec<PortMapping>,
    pub log_configuration: Option<LogConfiguration>,
    /// Secret names and where they come from; never their values.
    #[serde(default)]
    pub secrets: Vec<SecretRef>,
    /// Names of environment variables only; values are never gathered.
    #[serde(default)]
    pub environment_names: Vec<String>,
    #[serde(default)]
    pub environment_files: Vec<String>,
    pub repository_credentials: Option<String>,
    pub health_check: Option<ContainerHealthCheck>,
    #[serde(default)]
    pub mount_points: Vec<MountPoint>,
    #[serde(default)]
    pub readonly_root_filesystem: bool,
    /// `linuxParameters.initProcessEnabled`.
    #[serde(default)]
    pub init_process_enabled: bool,
    /// Container-level cpu units, hard memory limit and soft reservation (MiB).
    #[serde(default)]
    pub cpu: Option<i32>,
    #[serde(default)]
    pub memory: Option<i32>,
    #[serde(default)]
    pub memory_reservation: Option<i32>,
    #[serde(default)]
    pub start_timeout: Option<i32>,
    #[serde(default)]
    pub stop_timeout: Option<i32>,
    #[serde(default)]
    pub depends_on: Vec<ContainerDependency>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ContainerDependency {
    pub container_name: String,
    /// START, COMPLETE, SUCCESS or HEALTHY.
    pub condition: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MountPoint {
    pub source_volume: String,
    pub container_path: String,
    pub read_only: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PortMapping {
    pub container_port: Option<i32>,
    #[serde(default)]
    pub host_port: Option<i32>,
    pub protocol: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LogConfiguration {
    pub log_driver: String,
    #[serde(default)]
    pub options: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    pub secret_options: Vec<SecretRef>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SecretRef {
    pub name: String,
    /// ARN or parameter name of the secret (a reference, not the value).
    pub value_from: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ContainerHealthCheck {
    #[serde(default)]
    pub command: Vec<String>,
    pub interval: Option<i32>,
    pub timeout: Option<i32>,
    pub retries: Option<i32>,
    pub start_period: Option<i32>,
}

/// The VPC the task subnets live in, and everything about it the checks read.
/// Each part is fetched separately so one denied call only blinds the checks that need it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Network {
    pub vpc_id: String,
    pub vpc: Fetched<Vpc>,
    pub dns_support: Fetched<bool>,
    pub dns_hostnames: Fetched<bool>,
    pub dhcp_options: Fetched<DhcpOptions>,
    /// All subnets of the VPC (task, endpoint and NAT subnets).
    pub subnets: Fetched<Vec<Subnet>>,
    pub route_tables: Fetched<Vec<RouteTable>>,
    pub nat_gateways: Fetched<Vec<NatGateway>>,
    pub internet_gateways: Fetched<Vec<InternetGateway>>,
    pub vpc_endpoints: Fetched<Vec<VpcEndpoint>>,
    /// All security groups of the VPC.
    pub security_groups: Fetched<Vec<SecurityGroup>>,
    pub network_acls: Fetched<Vec<NetworkAcl>>,
    /// Managed prefix lists: the region's S3 list and those referenced by security group rules.
    pub prefix_lists: Fetched<Vec<PrefixList>>,
    /// VPC Block Public Access as it applies to this VPC.
    #[serde(default = "not_in_snapshot")]
    pub block_public_access: Fetched<BlockPublicAccess>,
    /// The account whose credentials read this VPC-wide data (`--network-profile` /
    /// `--network-role-arn`, sts:GetCallerIdentity); `None`: the service's own account.
    #[serde(default)]
    pub read_by: Option<String>,
}

/// The Region's VPC Block Public Access mode (DescribeVpcBlockPublicAccessOptions) and the
/// exclusions (DescribeVpcBlockPublicAccessExclusions) of one VPC and its subnets.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BlockPublicAccess {
    /// InternetGatewayBlockMode: `off`, `block-bidirectional` or `block-ingress`.
    pub mode: String,
    /// State: `default-state`, `update-in-progress` or `update-complete`.
    pub state: String,
    /// ExclusionsAllowed: `false` when a declarative policy forbids exclusions.
    pub exclusions_allowed: bool,
    pub exclusions: Vec<BpaExclusion>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BpaExclusion {
    pub id: String,
    /// The excluded VPC or subnet (`vpc-…`, `subnet-…`).
    pub resource_id: String,
    /// InternetGatewayExclusionMode: `allow-bidirectional` or `allow-egress`.
    pub mode: String,
    /// `create-complete`, `update-in-progress`, `delete-complete` …
    pub state: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Vpc {
    pub id: String,
    pub cidr_blocks: Vec<Ipv4Net>,
    pub dhcp_options_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DhcpOptions {
    /// `default` when the VPC uses the AWS default set (AmazonProvidedDNS).
    pub id: String,
    #[serde(default)]
    pub domain_name_servers: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Subnet {
    pub id: String,
    pub vpc_id: String,
    /// The IPv4 CIDR; an IPv6-only subnet has none.
    #[serde(default)]
    pub cidr: Option<Ipv4Net>,
    /// Its associated IPv6 CIDR blocks.
    #[serde(default)]
    pub ipv6_cidrs: Vec<Ipv6Net>,
    /// EnableDns64: the Route 53 Resolver synthesizes AAAA records (64:ff9b::/96) for
    /// IPv4-only names, for NAT64.
    #[serde(default)]
    pub enable_dns64: bool,
    pub availability_zone: Option<String>,
    #[serde(default)]
    pub map_public_ip_on_launch: bool,
    /// AvailableIpAddressCount: free IPv4 addresses; `None` in older snapshots.
    #[serde(default)]
    pub available_ips: Option<i32>,
    /// Ipv6Native: an IPv6-only subnet (tasks get no IPv4 address).
    #[serde(default)]
    pub ipv6_native: bool,
    /// OwnerId: the account that owns the subnet (another account's in a shared VPC);
    /// `None` in older snapshots.
    #[serde(default)]
    pub owner_id: Option<String>,
}

impl Subnet {
    /// Its IPv4 CIDR, or with `ipv6` its IPv6 CIDRs.
    pub fn nets(&self, ipv6: bool) -> Vec<ipnet::IpNet> {
        match ipv6 {
            true => self.ipv6_cidrs.iter().copied().map(Into::into).collect(),
            false => self.cidr.iter().copied().map(Into::into).collect(),
        }
    }

    /// The addresses its tasks use: IPv6 in an IPv6-only subnet, else IPv4.
    pub fn task_nets(&self) -> Vec<ipnet::IpNet> {
        self.nets(self.ipv6_native)
    }

    /// `task_nets` for messages: "10.0.1.0/24", or the IPv6 blocks joined by ", ".
    pub fn task_nets_label(&self) -> String {
        self.task_nets()
            .iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RouteTable {
    pub id: String,
    pub is_main: bool,
    /// Subnets explicitly associated with this table.
    #[serde(default)]
    pub subnet_ids: Vec<String>,
    pub routes: Vec<Route>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Route {
    pub destination_cidr: Option<Ipv4Net>,
    #[serde(default)]
    pub destination_ipv6_cidr: Option<Ipv6Net>,
    pub destination_prefix_list_id: Option<String>,
    /// igw-…, vpce-…, local, nat-…, tgw-…, pcx-…, eni-…, eigw-…, …
    pub target: String,
    pub state: Option<RouteState>,
}

impl Route {
    pub fn is_blackhole(&self) -> bool {
        self.state == Some(RouteState::Blackhole)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NatGateway {
    pub id: String,
    pub subnet_id: Option<String>,
    pub state: NatState,
    /// A private NAT gateway has no internet path.
    pub connectivity_type: Option<Connectivity>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InternetGateway {
    pub id: String,
    /// State of the attachment to this VPC.
    pub attachment_state: Option<AttachmentState>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VpcEndpoint {
    pub id: String,
    pub service_name: String,
    pub endpoint_type: EndpointType,
    pub state: EndpointState,
    #[serde(default)]
    pub private_dns_enabled: bool,
    #[serde(default)]
    pub subnet_ids: Vec<String>,
    #[serde(default)]
    pub route_table_ids: Vec<String>,
    #[serde(default)]
    pub security_group_ids: Vec<String>,
    pub policy_document: Option<String>,
    /// ServiceRegion: the Region of the service it reaches (another Region's, for cross-Region
    /// PrivateLink); `None` in older snapshots, where the service name's Region says it.
    #[serde(default)]
    pub service_region: Option<String>,
    /// IpAddressType: `ipv4`, `dualstack` or `ipv6`; `None` in older snapshots.
    #[serde(default)]
    pub ip_address_type: Option<String>,
    /// DnsOptions.DnsRecordIpType: `ipv4`, `dualstack`, `ipv6` or `service-defined`.
    #[serde(default)]
    pub dns_record_ip_type: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SecurityGroup {
    pub id: String,
    pub name: Option<String>,
    pub ingress: Vec<SgRule>,
    pub egress: Vec<SgRule>,
}

/// One IpPermission: protocol and ports, and every peer it names.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SgRule {
    pub protocol: IpProtocol,
    pub from_port: Option<i32>,
    pub to_port: Option<i32>,
    #[serde(default)]
    pub cidrs: Vec<Ipv4Net>,
    #[serde(default)]
    pub ipv6_cidrs: Vec<Ipv6Net>,
    #[serde(default)]
    pub security_group_ids: Vec<String>,
    #[serde(default)]
    pub prefix_list_ids: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NetworkAcl {
    pub id: String,
    pub is_default: bool,
    #[serde(default)]
    pub subnet_ids: Vec<String>,
    pub entries: Vec<NaclEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NaclEntry {
    pub rule_number: i32,
    pub egress: bool,
    /// `-1` (all), or a protocol number such as `6` (TCP).
    pub protocol: IpProtocol,
    pub allow: bool,
    pub cidr: Option<Ipv4Net>,
    #[serde(default)]
    pub ipv6_cidr: Option<Ipv6Net>,
    pub from_port: Option<i32>,
    pub to_port: Option<i32>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PrefixList {
    pub id: String,
    pub name: String,
    /// Entries of customer-managed lists; AWS-managed service lists leave this empty.
    #[serde(default)]
    pub cidrs: Vec<Ipv4Net>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Registry {
    pub pull_through_cache_rules: Vec<PullThroughCacheRule>,
    /// The task's private ECR repositories in this account and region, and whether each exists.
    #[serde(default)]
    pub repositories: Vec<RepositoryStatus>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PullThroughCacheRule {
    pub ecr_repository_prefix: String,
    pub upstream_registry_url: String,
    pub upstream_registry: Option<String>,
    pub credential_arn: Option<String>,
    pub custom_role_arn: Option<String>,
    pub upstream_repository_prefix: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(from = "RepositoryStatusFile")]
pub struct RepositoryStatus {
    pub name: String,
    /// Whether it exists, or why that is not known: one repository's failed lookup stays with
    /// the services that pull from it.
    pub exists: Fetched<bool>,
}

/// A repository status as files hold it: `exists` as a `Fetched`, or (files written before
/// that) `exists: null` with the failure in `error`.
#[derive(Deserialize)]
struct RepositoryStatusFile {
    name: String,
    exists: Option<Fetched<bool>>,
    #[serde(default)]
    error: Option<GatherError>,
}

impl From<RepositoryStatusFile> for RepositoryStatus {
    fn from(file: RepositoryStatusFile) -> Self {
        let exists = match (file.exists, file.error) {
            (Some(exists), _) => exists,
            (None, Some(error)) => Fetched::failed(error),
            (None, None) => not_in_snapshot(),
        };
        RepositoryStatus {
            name: file.name,
            exists,
        }
    }
}

/// An EFS file system and what its mounts depend on.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileSystem {
    pub id: String,
    /// DescribeFileSystems; NotFound when it does not exist.
    pub description: Fetched<FileSystemDescription>,
    pub mount_targets: Fetched<Vec<MountTarget>>,
    pub access_points: Fetched<Vec<AccessPoint>>,
    /// DescribeFileSystemPolicy (`text: None`: no policy, the default applies).
    pub policy: Fetched<ResourcePolicy>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileSystemDescription {
    pub arn: String,
    /// `available`, `creating`, …
    pub life_cycle_state: String,
    /// One Zone file systems live in one Availability Zone.
    pub availability_zone_name: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MountTarget {
    pub id: String,
    pub subnet_id: String,
    pub availability_zone_name: Option<String>,
    pub life_cycle_state: String,
    pub ip_address: Option<String>,
    /// DescribeMountTargetSecurityGroups.
    pub security_groups: Fetched<Vec<String>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessPoint {
    pub id: String,
    pub arn: String,
    pub file_system_id: String,
    pub root_directory: Option<String>,
    pub life_cycle_state: String,
}

/// The cluster's `configuration.executeCommandConfiguration`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExecConfiguration {
    pub kms_key_id: Option<String>,
    /// NONE, DEFAULT or OVERRIDE.
    pub logging: Option<String>,
    pub log_group: Option<String>,
    pub s3_bucket: Option<String>,
    pub s3_key_prefix: Option<String>,
}

/// One private ECR image the tasks pull, looked up once however many tasks name it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EcrImage {
    /// As the task definition names it.
    pub image: String,
    pub registry_id: String,
    pub region: String,
    pub repository: String,
    /// DescribeImages of its tag or digest.
    pub lookup: Fetched<ImageLookup>,
    /// BatchGetImage: the manifest's platforms (a single manifest's from its config blob).
    pub manifest: Fetched<ImageManifest>,
    /// GetRepositoryPolicy: across accounts it must allow the pull; in one account its
    /// explicit denies still apply.
    #[serde(default = "not_in_snapshot")]
    pub repository_policy: Fetched<ResourcePolicy>,
}

/// A resource policy (an ECR repository's, an EFS file system's).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ResourcePolicy {
    /// The policy document; `None` when the resource has none.
    pub text: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "found", rename_all = "snake_case")]
pub enum ImageLookup {
    RepositoryMissing,
    ImageMissing,
    Image(ImageDetails),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImageDetails {
    pub digest: String,
    /// ACTIVE, ARCHIVED or ACTIVATING.
    pub status: Option<ImageStatus>,
    /// Compressed; for a manifest list, its largest image.
    pub size_in_bytes: Option<i64>,
    pub pushed_at: Option<DateTime<Utc>>,
}

aws_value!(
    /// ECR ImageDetail imageStatus.
    ImageStatus { Active = "ACTIVE", Archived = "ARCHIVED", Activating = "ACTIVATING" }
);

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImageManifest {
    pub media_type: String,
    #[serde(flatten)]
    pub content: ManifestContent,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ManifestContent {
    /// An OCI index or Docker manifest list: the platforms it offers (attestations left out).
    Index {
        platforms: Vec<ImagePlatform>,
        /// Entries that name no platform (optional in the OCI spec): what they hold is unknown.
        #[serde(default)]
        unlabeled: usize,
    },
    /// One image: its platform, read from its config blob.
    Single {
        config_digest: String,
        platform: Fetched<ImagePlatform>,
    },
    /// A manifest whose platform cannot be read (Docker schema 1, an unknown media type).
    Unreadable { why: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImagePlatform {
    pub os: String,
    pub architecture: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_version: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Role {
    pub arn: String,
    pub name: String,
    /// The trust policy (JSON, decoded).
    pub trust_policy: Option<String>,
    pub attached_policies: Vec<PolicyDocument>,
    pub inline_policies: Vec<PolicyDocument>,
    pub permissions_boundary: Option<PolicyDocument>,
    /// The role's tags (GetRole): the values of `aws:PrincipalTag/KEY` in its requests.
    #[serde(default)]
    pub tags: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PolicyDocument {
    /// The policy ARN (managed) or name (inline).
    pub name: String,
    pub document: Fetched<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TargetGroup {
    pub arn: String,
    pub name: String,
    /// awsvpc tasks need `ip`.
    pub target_type: Option<TargetType>,
    pub protocol: Option<String>,
    pub port: Option<i32>,
    /// IpAddressType: `ipv4` or `ipv6`; `None` in older snapshots.
    #[serde(default)]
    pub ip_address_type: Option<String>,
    pub health_check: TargetGroupHealthCheck,
    pub load_balancers: Vec<LoadBalancer>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TargetGroupHealthCheck {
    pub enabled: Option<bool>,
    pub protocol: Option<String>,
    /// `traffic-port` or a port number.
    pub port: Option<String>,
    pub path: Option<String>,
    pub interval_seconds: Option<i32>,
    pub timeout_seconds: Option<i32>,
    pub healthy_threshold: Option<i32>,
    pub unhealthy_threshold: Option<i32>,
    pub matcher: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoadBalancer {
    pub arn: String,
    pub name: String,
    /// `application`, `network` or `gateway`.
    pub kind: Option<String>,
    pub scheme: Option<String>,
    /// IpAddressType: `ipv4`, `dualstack` or `dualstack-without-public-ipv4`; `None` in older
    /// snapshots.
    #[serde(default)]
    pub ip_address_type: Option<String>,
    #[serde(default)]
    pub security_groups: Vec<String>,
    #[serde(default)]
    pub subnets: Vec<String>,
    /// The Availability Zones enabled on the load balancer; targets elsewhere stay unused.
    #[serde(default)]
    pub availability_zones: Vec<String>,
}
