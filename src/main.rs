use std::io::Write;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser;

use fargate_preflight::cli::{AwsArgs, CheckArgs, Cli, Command, Format, TargetArgs};
use fargate_preflight::gather::{self, AwsOptions, Target};
use fargate_preflight::snapshot::{Snapshot, SCHEMA_VERSION};
use fargate_preflight::{checks, report};

/// product.md: 0 nothing failed, 1 a check failed, 2 the tool could not do its job.
const EXIT_ERROR: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match runtime.block_on(run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("error: {}", format!("{err:#}").replace('\n', " "));
            ExitCode::from(EXIT_ERROR)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::Check(args) => check(args).await,
        Command::Snapshot(args) => {
            let snapshot = gather_snapshot(&args.target, &args.aws).await?;
            let text = serde_json::to_string_pretty(&snapshot)? + "\n";
            match args.output {
                Some(path) => std::fs::write(&path, text)
                    .with_context(|| format!("cannot write {}", path.display()))?,
                None => write_stdout(&text)?,
            }
            Ok(0)
        }
    }
}

async fn check(args: CheckArgs) -> anyhow::Result<u8> {
    let snapshot = match &args.snapshot {
        Some(path) => read_snapshot(path)?,
        None => gather_snapshot(&args.target, &args.aws).await?,
    };
    let options = checks::Options {
        startup_time: args.startup_time,
    };
    let findings = checks::run_all(&snapshot, &options);
    let report = report::Report::new(&snapshot, findings);
    let text = match args.format {
        Format::Table => report::render_table(&report),
        Format::Json => report::render_json(&report),
    };
    write_stdout(&text)?;
    Ok(report.summary.exit_code() as u8)
}

fn read_snapshot(path: &std::path::Path) -> anyhow::Result<Snapshot> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let snapshot: Snapshot = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a fargate-preflight snapshot", path.display()))?;
    anyhow::ensure!(
        snapshot.schema_version == SCHEMA_VERSION,
        "{} has snapshot schema {}, this tool reads {SCHEMA_VERSION}",
        path.display(),
        snapshot.schema_version
    );
    Ok(snapshot)
}

async fn gather_snapshot(target: &TargetArgs, aws: &AwsArgs) -> anyhow::Result<Snapshot> {
    let target = match (&target.cluster, &target.service, &target.task_definition) {
        (Some(cluster), Some(service), _) => Target::Service {
            cluster: cluster.clone(),
            service: service.clone(),
        },
        (_, _, Some(td)) => Target::PreDeploy {
            task_definition: td.clone(),
            subnets: target.subnets.clone(),
            security_groups: target.security_groups.clone(),
            platform_version: target.platform_version.clone(),
            assign_public_ip: target.assign_public_ip,
            enable_execute_command: target.enable_execute_command,
            grace_period: target.grace_period,
            target_group: target.target_group.clone(),
        },
        _ => anyhow::bail!(
            "nothing to check: pass --cluster NAME --service NAME, --task-definition … --subnets … --security-groups …, or --snapshot FILE"
        ),
    };
    let opts = AwsOptions {
        region: aws.region.clone(),
        profile: aws.profile.clone(),
        endpoint_url: aws.endpoint_url.clone(),
    };
    Ok(gather::gather(&opts, &target).await?)
}

/// stdout carries results only; a closed pipe (`| head`) ends quietly.
fn write_stdout(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}
