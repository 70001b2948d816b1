//! Command-line definitions.

use std::path::PathBuf;

use clap::builder::PossibleValuesParser;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::checks::REGISTRY;
use crate::report::Format;

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
    /// When to color the output (NO_COLOR is respected with auto).
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,
    /// Log every AWS call and its duration, and the run's statistics, to stderr.
    #[arg(long, short, global = true)]
    pub verbose: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Gather the service's AWS state (or read a snapshot) and run the checks.
    Check(CheckArgs),
    /// Gather the service's AWS state and write it as a snapshot JSON (no checks).
    Snapshot(SnapshotArgs),
    /// Explain a failed deploy: its stopped tasks and failure events, matched to the checks.
    Diagnose(DiagnoseArgs),
    /// List the checks: id, title, default severity.
    Checks {
        #[arg(long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
    },
    /// Explain a check: what it verifies, why it matters, how it decides, the fix.
    Explain {
        /// A check id (see `fargate-preflight checks`).
        id: String,
    },
    /// Print a shell completion script.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff).
    Man,
}

fn check_ids() -> PossibleValuesParser {
    PossibleValuesParser::new(REGISTRY.iter().map(|c| c.id))
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
    /// Write the report to FILE instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Also write the report as SARIF to FILE, beside the --format output (one gather, two
    /// reports: annotations for the run and alerts for code scanning).
    #[arg(long, value_name = "FILE")]
    pub sarif_output: Option<PathBuf>,
    /// SARIF: the repository file the alerts point at, e.g. the Terraform or CloudFormation
    /// file that defines the service (default: the --task-definition-file, else
    /// fargate-preflight/REGION/CLUSTER/SERVICE).
    #[arg(long, value_name = "PATH")]
    pub sarif_artifact: Option<String>,
    /// Run only these checks (comma-separated ids).
    #[arg(long, value_name = "IDS", value_delimiter = ',', value_parser = check_ids())]
    pub only: Vec<String>,
    /// Skip these checks (comma-separated ids).
    #[arg(long, value_name = "IDS", value_delimiter = ',', value_parser = check_ids())]
    pub skip: Vec<String>,
    /// Exit 1 on failures only (default), or on warnings too.
    #[arg(long, value_enum, default_value_t = FailOn::Fail)]
    pub fail_on: FailOn,
    /// Print only failures and errors (the summary still counts everything).
    #[arg(long, short)]
    pub quiet: bool,
    /// Table: one row per passing finding too (by default a check's passes share one row).
    #[arg(long, conflicts_with = "quiet")]
    pub all: bool,
    /// Seconds the application needs from container start until its health endpoint answers
    /// (default: the container health check's startPeriod, when set).
    #[arg(long, value_name = "SECONDS")]
    pub startup_time: Option<u32>,
}

#[derive(Debug, Args)]
pub struct DiagnoseArgs {
    /// ECS cluster name or ARN.
    #[arg(
        long,
        value_name = "NAME|ARN",
        requires = "service",
        conflicts_with = "error"
    )]
    pub cluster: Option<String>,
    /// ECS service name or ARN.
    #[arg(long, value_name = "NAME|ARN", requires = "cluster")]
    pub service: Option<String>,
    /// A failure text from a ticket or the console, explained without AWS access (`-` reads
    /// it from stdin).
    #[arg(long, value_name = "TEXT", required_unless_present = "cluster")]
    pub error: Option<String>,
    #[command(flatten)]
    pub aws: AwsArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = DiagnoseFormat::Table)]
    pub format: DiagnoseFormat,
    /// Run only these checks (comma-separated ids).
    #[arg(long, value_name = "IDS", value_delimiter = ',', value_parser = check_ids())]
    pub only: Vec<String>,
    /// Skip these checks (comma-separated ids).
    #[arg(long, value_name = "IDS", value_delimiter = ',', value_parser = check_ids())]
    pub skip: Vec<String>,
    /// Exit 1 on failures only (default), or on warnings too.
    #[arg(long, value_enum, default_value_t = FailOn::Fail)]
    pub fail_on: FailOn,
    /// Seconds the application needs from container start until its health endpoint answers.
    #[arg(long, value_name = "SECONDS")]
    pub startup_time: Option<u32>,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum DiagnoseFormat {
    Table,
    Json,
    Markdown,
    Github,
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
#[command(group(clap::ArgGroup::new("pre_deploy").args(["task_definition", "task_definition_file"])))]
pub struct TargetArgs {
    /// ECS cluster name or ARN; without --service, every service of the cluster is checked.
    #[arg(long, value_name = "NAME|ARN")]
    pub cluster: Option<String>,
    /// ECS service name or ARN (repeat for several).
    #[arg(long, value_name = "NAME|ARN", requires = "cluster")]
    pub service: Vec<String>,

    /// Pre-deploy: the task definition to run (family, family:revision or ARN).
    #[arg(long, value_name = "FAMILY[:REV]", conflicts_with = "cluster", requires_all = ["subnets", "security_groups"])]
    pub task_definition: Option<String>,
    /// Pre-deploy: a task definition not registered yet, as the JSON `aws ecs
    /// register-task-definition --cli-input-json` takes (or `describe-task-definition` prints).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["cluster", "task_definition"], requires_all = ["subnets", "security_groups"])]
    pub task_definition_file: Option<PathBuf>,
    /// Pre-deploy: the task subnets, comma-separated.
    #[arg(
        long,
        value_name = "IDS",
        value_delimiter = ',',
        requires = "pre_deploy"
    )]
    pub subnets: Vec<String>,
    /// Pre-deploy: the task security groups, comma-separated.
    #[arg(
        long,
        value_name = "IDS",
        value_delimiter = ',',
        requires = "pre_deploy"
    )]
    pub security_groups: Vec<String>,
    /// Pre-deploy: the platform version the service will use (default LATEST).
    #[arg(long, value_name = "VERSION", requires = "pre_deploy")]
    pub platform_version: Option<String>,
    /// Pre-deploy: the tasks get a public IP (assignPublicIp ENABLED).
    #[arg(long, requires = "pre_deploy")]
    pub assign_public_ip: bool,
    /// Pre-deploy: the service will enable ECS Exec.
    #[arg(long, requires = "pre_deploy")]
    pub enable_execute_command: bool,
    /// Pre-deploy: healthCheckGracePeriodSeconds of the service.
    #[arg(long, value_name = "SECONDS", requires = "pre_deploy")]
    pub grace_period: Option<i32>,
    /// Pre-deploy: the desiredCount the service will be created with.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(i32).range(0..))]
    pub desired_count: i32,
    /// Pre-deploy: the target group the service will register its tasks with.
    #[arg(long, value_name = "ARN", requires = "pre_deploy")]
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
    /// Read the VPC-wide data (subnets, route tables, NAT and internet gateways, endpoints,
    /// security groups, NACLs, Block Public Access) with this profile: the VPC owner's, when
    /// the task subnets are shared with this account (AWS RAM).
    #[arg(long, value_name = "NAME", conflicts_with = "network_role_arn")]
    pub network_profile: Option<String>,
    /// Read the VPC-wide data as this role, assumed with the main credentials: the VPC owner's
    /// role, for a shared VPC.
    #[arg(long, value_name = "ARN")]
    pub network_role_arn: Option<String>,
    /// Send every AWS call to this URL (an emulator, a proxy); AWS_ENDPOINT_URL works too.
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// AWS calls in flight at most (throttled calls are retried with backoff within this limit).
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub max_concurrency: u16,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ListFormat {
    Table,
    Json,
    /// The README's checks table.
    Markdown,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum FailOn {
    Fail,
    Warn,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}
