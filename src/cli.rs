//! Command-line definitions.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "fargate-preflight",
    version,
    about = "Checks, before you deploy, that an ECS Fargate service in private subnets can pull its images and reach AWS",
    long_about = None
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Gather the service's AWS state (or read a snapshot) and run every check.
    Check(CheckArgs),
    /// Gather the service's AWS state and write it as a snapshot JSON (no checks).
    Snapshot(SnapshotArgs),
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Read a snapshot written by `fargate-preflight snapshot` instead of calling AWS.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["cluster", "task_definition"])]
    pub snapshot: Option<PathBuf>,
    #[command(flatten)]
    pub aws: AwsArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Seconds the application needs from container start until its health endpoint answers
    /// (default: the container health check's startPeriod, when set).
    #[arg(long, value_name = "SECONDS")]
    pub startup_time: Option<u32>,
}

#[derive(Debug, Args)]
pub struct SnapshotArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
    /// Write the snapshot to FILE instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct TargetArgs {
    /// ECS cluster name or ARN.
    #[arg(long, value_name = "NAME|ARN", requires = "service")]
    pub cluster: Option<String>,
    /// ECS service name or ARN.
    #[arg(long, value_name = "NAME|ARN", requires = "cluster")]
    pub service: Option<String>,

    /// Pre-deploy: the task definition to run (family, family:revision or ARN).
    #[arg(long, value_name = "FAMILY[:REV]", conflicts_with = "cluster", requires_all = ["subnets", "security_groups"])]
    pub task_definition: Option<String>,
    /// Pre-deploy: the task subnets, comma-separated.
    #[arg(
        long,
        value_name = "IDS",
        value_delimiter = ',',
        requires = "task_definition"
    )]
    pub subnets: Vec<String>,
    /// Pre-deploy: the task security groups, comma-separated.
    #[arg(
        long,
        value_name = "IDS",
        value_delimiter = ',',
        requires = "task_definition"
    )]
    pub security_groups: Vec<String>,
    /// Pre-deploy: the platform version the service will use (default LATEST).
    #[arg(long, value_name = "VERSION", requires = "task_definition")]
    pub platform_version: Option<String>,
    /// Pre-deploy: the tasks get a public IP (assignPublicIp ENABLED).
    #[arg(long, requires = "task_definition")]
    pub assign_public_ip: bool,
    /// Pre-deploy: the service will enable ECS Exec.
    #[arg(long, requires = "task_definition")]
    pub enable_execute_command: bool,
    /// Pre-deploy: healthCheckGracePeriodSeconds of the service.
    #[arg(long, value_name = "SECONDS", requires = "task_definition")]
    pub grace_period: Option<i32>,
    /// Pre-deploy: the target group the service will register its tasks with.
    #[arg(long, value_name = "ARN", requires = "task_definition")]
    pub target_group: Option<String>,
}

#[derive(Debug, Args)]
pub struct AwsArgs {
    /// AWS region (default: the standard chain, e.g. AWS_REGION or the profile).
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// Named profile from the AWS config files.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Send every AWS call to this URL (an emulator, a proxy); AWS_ENDPOINT_URL works too.
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
}
