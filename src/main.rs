use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{CommandFactory, Parser};

use fargate_preflight::checks::{self, REGISTRY};
use fargate_preflight::cli::{
    AwsArgs, CheckArgs, Cli, ColorChoice, Command, DiagnoseArgs, DiagnoseFormat, FailOn,
    ListFormat, TargetArgs,
};
use fargate_preflight::diagnose;
use fargate_preflight::gather::{
    self, AwsOptions, CallLog, FatalError, NetworkCredentials, Observer, PreDeploy, Target,
};
use fargate_preflight::report::{self, ExitStatus, Format, Style};
use fargate_preflight::snapshot::{Fetched, Snapshot, SnapshotFile, SCHEMA_VERSION};

fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.verbose {
        init_logging();
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match runtime.block_on(run(cli)) {
        Ok(status) => status.into(),
        Err(err) => {
            eprintln!("error: {}", format!("{err:#}").replace('\n', " "));
            ExitStatus::Error.into()
        }
    }
}

/// `-v`: our own debug lines (one per AWS call) on stderr; the SDK's stay quiet.
fn init_logging() {
    use tracing_subscriber::prelude::*;
    let filter = tracing_subscriber::filter::Targets::new()
        .with_target("fargate_preflight", tracing::Level::DEBUG);
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(std::io::stderr().is_terminal())
                .without_time(),
        )
        .with(filter)
        .init();
}

fn color_enabled(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stdout().is_terminal()
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitStatus> {
    let color = color_enabled(cli.color);
    match cli.command {
        Command::Check(args) => check(args, color, cli.verbose).await,
        Command::Diagnose(args) => diagnose_command(args, cli.verbose).await,
        Command::Snapshot(args) => {
            let snapshots = gather_snapshots(&args.target, &args.aws, cli.verbose)
                .await?
                .0;
            let text = serde_json::to_string_pretty(&SnapshotFile::new(snapshots))? + "\n";
            match args.output {
                Some(path) => std::fs::write(&path, text)
                    .with_context(|| format!("cannot write {}", path.display()))?,
                None => write_stdout(&text)?,
            }
            Ok(ExitStatus::Success)
        }
        Command::Checks { format } => {
            write_stdout(&list_checks(format))?;
            Ok(ExitStatus::Success)
        }
        Command::Explain { id } => match checks::find(&id) {
            Some(check) => {
                write_stdout(&check.explanation())?;
                Ok(ExitStatus::Success)
            }
            None => {
                let ids: Vec<&str> = REGISTRY.iter().map(|c| c.id).collect();
                anyhow::bail!("unknown check {id:?}; valid ids: {}", ids.join(", "))
            }
        },
        Command::Completions { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "fargate-preflight", &mut out);
            write_stdout(&String::from_utf8(out)?)?;
            Ok(ExitStatus::Success)
        }
        Command::Man => {
            let mut out = Vec::new();
            clap_mangen::Man::new(Cli::command()).render(&mut out)?;
            write_stdout(&String::from_utf8(out)?)?;
            Ok(ExitStatus::Success)
        }
    }
}

fn list_checks(format: ListFormat) -> String {
    match format {
        ListFormat::Markdown => checks::markdown_table(),
        ListFormat::Json => {
            let list: Vec<_> = REGISTRY
                .iter()
                .map(|c| {
                    serde_json::json!({"id": c.id, "title": c.title, "severity": c.severity, "docs": c.docs})
                })
                .collect();
            serde_json::to_string_pretty(&list).expect("serializes") + "\n"
        }
        ListFormat::Table => {
            let mut table = comfy_table::Table::new();
            table
                .load_preset(comfy_table::presets::NOTHING)
                .set_header(vec!["ID", "SEVERITY", "TITLE"]);
            for c in REGISTRY {
                let severity = serde_json::to_value(c.severity).expect("serializes");
                table.add_row(vec![c.id, severity.as_str().unwrap_or_default(), c.title]);
            }
            format!("{table}\n")
        }
    }
}

async fn check(args: CheckArgs, color: bool, verbose: bool) -> anyhow::Result<ExitStatus> {
    let (snapshots, calls) = match &args.snapshot {
        Some(path) => (read_snapshots(path)?, None),
        None => {
            let (snapshots, calls) = gather_snapshots(&args.target, &args.aws, verbose).await?;
            (snapshots, Some(calls))
        }
    };
    let options = checks::Options {
        startup_time: args.startup_time,
        only: args.only.clone(),
        skip: args.skip.clone(),
    };
    let scan = checks::run_scan(&snapshots, &options);
    let mut report = report::Report::new(&snapshots, scan);
    report.stats = calls.map(|c| c.stats());
    report.artifact = args
        .sarif_artifact
        .as_deref()
        .map(std::path::Path::new)
        .or(args.target.task_definition_file.as_deref())
        .map(relative_to_cwd);
    if let (true, Some(stats)) = (verbose, &report.stats) {
        eprintln!(
            "{} AWS calls, {} round trips on the critical path, {} ms: {}",
            stats.api_calls,
            stats.waves,
            stats.wall_ms,
            stats
                .api_calls_by_operation
                .iter()
                .map(|(op, n)| format!("{op} ×{n}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let status = report.summary.exit_status(args.fail_on == FailOn::Warn);
    // Before --quiet: code scanning keeps its warnings.
    if let Some(path) = &args.sarif_output {
        let sarif = Format::Sarif.renderer().render(&report, Style::default());
        std::fs::write(path, sarif).with_context(|| format!("cannot write {}", path.display()))?;
    }
    if args.quiet {
        report = report.only_failures();
    }
    // Colors only on a terminal: a file or a pipe gets plain text.
    let style = Style {
        color: color && args.output.is_none() && args.format == Format::Table,
        all_rows: args.all || verbose,
    };
    let text = args.format.renderer().render(&report, style);
    match &args.output {
        Some(path) => std::fs::write(path, text)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => write_stdout(&text)?,
    }
    if args.format == Format::Github {
        if let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY") {
            let markdown = Format::Markdown
                .renderer()
                .render(&report, Style::default());
            append(std::path::Path::new(&path), &markdown)
                .context("cannot append to $GITHUB_STEP_SUMMARY")?;
        }
    }
    Ok(status)
}

/// A path under the working directory (in Actions, the repository root) as a relative one:
/// code scanning places alerts at repository-relative paths.
fn relative_to_cwd(path: &std::path::Path) -> String {
    let cwd = std::env::current_dir().unwrap_or_default();
    path.strip_prefix(&cwd)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

async fn diagnose_command(args: DiagnoseArgs, verbose: bool) -> anyhow::Result<ExitStatus> {
    if let Some(error) = &args.error {
        let text = if error == "-" {
            std::io::read_to_string(std::io::stdin()).context("cannot read the text from stdin")?
        } else {
            error.clone()
        };
        let out = match args.format {
            DiagnoseFormat::Json => {
                serde_json::to_string_pretty(&diagnose::matches_document(&text))? + "\n"
            }
            _ => diagnose::matches_text(&text),
        };
        write_stdout(&out)?;
        return Ok(ExitStatus::Success);
    }
    let (Some(cluster), Some(service)) = (&args.cluster, &args.service) else {
        anyhow::bail!("pass --cluster NAME --service NAME, or --error TEXT");
    };
    let target = TargetArgs {
        cluster: Some(cluster.clone()),
        service: vec![service.clone()],
        task_definition: None,
        task_definition_file: None,
        desired_count: 1,
        subnets: vec![],
        security_groups: vec![],
        platform_version: None,
        assign_public_ip: false,
        enable_execute_command: false,
        grace_period: None,
        target_group: None,
    };
    let opts = aws_options(&args.aws);
    let observer = Observer {
        calls: CallLog::default(),
        step: Box::new(|_| {}),
    };
    // The preflight and the stopped tasks are read at the same time.
    let (gathered, stopped) = tokio::join!(
        gather_snapshots(&target, &args.aws, verbose),
        gather::stopped_tasks(&opts, cluster, service, &observer),
    );
    let (snapshots, calls) = gathered?;
    let options = checks::Options {
        startup_time: args.startup_time,
        only: args.only.clone(),
        skip: args.skip.clone(),
    };
    let scan = checks::run_scan(&snapshots, &options);
    // Without the stopped tasks the events and the preflight still stand; the gap is an
    // error of its own.
    let (stopped, unread) = match stopped {
        Fetched::Ok(tasks) => (tasks, None),
        Fetched::Failed { error } => (vec![], Some(error)),
    };
    let occurrences = diagnose::occurrences(&snapshots[0].workload, &stopped);
    let failures = diagnose::explain(occurrences, &scan.findings);
    let unread_text = unread
        .as_ref()
        .map(|e| format!("Could not read the stopped tasks: {}\n\n", e.describe()))
        .unwrap_or_default();
    let mut report = report::Report::new(&snapshots, scan);
    let mut stats = calls.stats();
    for (operation, n) in observer.calls.stats().api_calls_by_operation {
        stats.api_calls += n;
        *stats.api_calls_by_operation.entry(operation).or_insert(0) += n;
    }
    report.stats = Some(stats);
    // As in `check`: a failure outranks what could not be read.
    let status = match report.summary.exit_status(args.fail_on == FailOn::Warn) {
        ExitStatus::Success if unread.is_some() => ExitStatus::Error,
        status => status,
    };
    let failures_text = unread_text + &diagnose::failures_text(&failures);
    let text = match args.format {
        DiagnoseFormat::Json => {
            let mut doc: serde_json::Value =
                serde_json::from_str(&Format::Json.renderer().render(&report, Style::default()))?;
            doc["failures"] = serde_json::to_value(&failures)?;
            if let Some(e) = &unread {
                doc["errors"] = serde_json::to_value([e])?;
            }
            serde_json::to_string_pretty(&doc)? + "\n"
        }
        DiagnoseFormat::Markdown => {
            format!(
                "## Recent failures\n\n```\n{failures_text}```\n\n{}",
                Format::Markdown
                    .renderer()
                    .render(&report, Style::default())
            )
        }
        DiagnoseFormat::Github => {
            failures_text + &Format::Github.renderer().render(&report, Style::default())
        }
        DiagnoseFormat::Table => {
            failures_text + &Format::Table.renderer().render(&report, Style::default())
        }
    };
    write_stdout(&text)?;
    Ok(status)
}

fn aws_options(aws: &AwsArgs) -> AwsOptions {
    AwsOptions {
        region: aws.region.clone(),
        profile: aws.profile.clone(),
        network: match (&aws.network_profile, &aws.network_role_arn) {
            (Some(profile), _) => Some(NetworkCredentials::Profile(profile.clone())),
            (None, Some(arn)) => Some(NetworkCredentials::Role(arn.clone())),
            (None, None) => None,
        },
        endpoint_url: aws.endpoint_url.clone(),
        max_concurrency: usize::from(aws.max_concurrency),
    }
}

fn read_snapshots(path: &std::path::Path) -> anyhow::Result<Vec<Snapshot>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    // The schema first: a newer file says so instead of failing on a field it added.
    let version = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v.get("schema_version").and_then(serde_json::Value::as_u64));
    if let Some(version) = version.filter(|v| *v > u64::from(SCHEMA_VERSION)) {
        anyhow::bail!(
            "{} has snapshot schema {version}, newer than this version reads ({SCHEMA_VERSION}): update fargate-preflight",
            path.display()
        );
    }
    let file: SnapshotFile = parse_snapshot(&text).map_err(|e| {
        anyhow::anyhow!(
            "{} is not a fargate-preflight snapshot: {e}",
            path.display()
        )
    })?;
    anyhow::ensure!(
        file.schema_version() == SCHEMA_VERSION,
        "{} has snapshot schema {}, this tool reads {SCHEMA_VERSION}",
        path.display(),
        file.schema_version()
    );
    let snapshots = file.into_snapshots();
    anyhow::ensure!(!snapshots.is_empty(), "{} holds no service", path.display());
    Ok(snapshots)
}

/// Parses a snapshot file; an error names the JSON path of the problem. The file is one
/// service or a list of them (`SnapshotFile` is untagged), so each shape is tried for its own
/// path, and the one that got further is reported.
fn parse_snapshot(text: &str) -> Result<SnapshotFile, String> {
    let single = |text: &str| -> Result<Snapshot, serde_path_to_error::Error<serde_json::Error>> {
        serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_str(text))
    };
    let many = |text: &str| -> Result<ServiceList, serde_path_to_error::Error<serde_json::Error>> {
        serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_str(text))
    };
    let describe = |e: &serde_path_to_error::Error<serde_json::Error>| {
        if e.inner().is_eof() {
            return format!("the file ends early, it is cut short ({})", e.inner());
        }
        let (path, message) =
            fargate_preflight::snapshot::error_at(&e.path().to_string(), &e.inner().to_string());
        let path = if path.is_empty() {
            "the top level".to_string()
        } else {
            format!("at {path}")
        };
        format!("{path}: {message}")
    };
    let is_list = serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .is_some_and(|v| v.get("services").is_some());
    if is_list {
        many(text)
            .map(|l| SnapshotFile::Services {
                schema_version: l.schema_version,
                services: l.services,
            })
            .map_err(|e| describe(&e))
    } else {
        single(text)
            .map(|s| SnapshotFile::Single(Box::new(s)))
            .map_err(|e| describe(&e))
    }
}

/// The several-services shape of a snapshot file.
#[derive(serde::Deserialize)]
struct ServiceList {
    schema_version: u32,
    services: Vec<Snapshot>,
}

/// A spinner on stderr, only when stderr is a terminal and nothing else logs there.
fn spinner(verbose: bool) -> indicatif::ProgressBar {
    if verbose || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new_spinner();
    bar.enable_steady_tick(std::time::Duration::from_millis(100));
    bar
}

async fn gather_snapshots(
    target: &TargetArgs,
    aws: &AwsArgs,
    verbose: bool,
) -> anyhow::Result<(Vec<Snapshot>, CallLog)> {
    let from_file = match &target.task_definition_file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let td = fargate_preflight::taskdef_file::parse(&text, "")
                .map_err(|e| anyhow::anyhow!("{}: not a task definition: {e}", path.display()))?;
            Some((path.display().to_string(), td))
        }
        None => None,
    };
    let named = target
        .task_definition
        .clone()
        .or_else(|| from_file.as_ref().map(|(path, _)| path.clone()));
    let target = match (&target.cluster, named) {
        (Some(cluster), _) => Target::Services {
            cluster: cluster.clone(),
            services: target.service.clone(),
        },
        (_, Some(td)) => Target::PreDeploy(PreDeploy {
            task_definition: td,
            task_definition_file: from_file.map(|(_, td)| Box::new(td)),
            desired_count: target.desired_count,
            subnets: target.subnets.clone(),
            security_groups: target.security_groups.clone(),
            platform_version: target.platform_version.clone(),
            assign_public_ip: target.assign_public_ip,
            enable_execute_command: target.enable_execute_command,
            grace_period: target.grace_period,
            target_group: target.target_group.clone(),
        }),
        _ => anyhow::bail!(
            "nothing to check: pass --cluster NAME [--service NAME…], --task-definition … (or --task-definition-file FILE) --subnets … --security-groups …, or --snapshot FILE"
        ),
    };
    let opts = aws_options(aws);
    let bar = spinner(verbose);
    let progress = bar.clone();
    let observer = Observer {
        calls: CallLog::default(),
        step: Box::new(move |step: &str| progress.set_message(step.to_string())),
    };
    // Boxed: the gather's nested futures are deeper than the compiler's default layout limit.
    let result = Box::pin(gather::gather(&opts, &target, &observer)).await;
    bar.finish_and_clear();
    // A task definition file still gets its own verdict when AWS cannot be reached at all.
    let snapshots = match (result, &target) {
        (
            Err(why @ (FatalError::Credentials(_) | FatalError::NoRegion)),
            Target::PreDeploy(flags),
        ) if flags.task_definition_file.is_some() => {
            eprintln!("warning: {why}; only the task definition file itself is checked");
            gather::without_aws(flags, aws.region.clone(), &why)
                .into_iter()
                .collect()
        }
        (result, _) => result?,
    };
    anyhow::ensure!(
        !snapshots.is_empty(),
        "the cluster has no services to check"
    );
    Ok((snapshots, observer.calls))
}

fn append(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?
        .write_all(text.as_bytes())
}

/// stdout carries results only; a closed pipe (`| head`) ends quietly.
fn write_stdout(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}
