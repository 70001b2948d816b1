//! task-definition: the task definition is one Fargate accepts and can run — its size, network
//! mode, containers, timeouts, dependencies and the load balancer's container. No AWS call.

use super::platform::is_fargate;
use super::{Check, Context, Explain, Outcome, Problem, Severity, Verdict};
use crate::facts::platform::resolve;
use crate::snapshot::{Container, TaskDefinition};

pub static TASK_DEFINITION: Check = Check {
    id: "task-definition",
    title: "The task definition is valid for Fargate",
    severity: Severity::Error,
    docs: "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html#fargate-tasks-size",
    run,
    explain: Explain {
        verifies: "Task cpu and memory are a Fargate size for the OS family and platform version; networkMode awsvpc and FARGATE in requiresCompatibilities; container cpu and memory within the task's; an essential container; stopTimeout at most 120 s; ephemeral storage 21-200 GiB; hostPort equal to containerPort; dependsOn names existing containers without cycles, HEALTHY only on a container with a health check, COMPLETE/SUCCESS never on an essential one, and a startTimeout long enough for the dependency; the service's load balancer container and port exist.",
        why: "ECS refuses such a definition (\"No Fargate configuration exists for given values\", \"Invalid 'cpu' setting for task\") or the task stops at start: a dependency that never becomes HEALTHY, a start timeout that gives up first, a load balancer container that does not exist.",
        decides: "From the task definition alone (registered, or the file given with --task-definition-file). cpu and memory are read as ECS reads them (\"1 vCPU\", \"2GB\" or units and MiB) and matched against the Fargate table: 256 → 512/1024/2048 MiB; 512 → 1-4 GiB; 1024 → 2-8 GiB; 2048 → 4-16 GiB; 4096 → 8-30 GiB (1 GiB steps); 8192 → 16-60 GiB (4 GiB steps) and 16384 → 32-120 GiB (8 GiB steps) on Linux platform 1.4.0 only; Windows 1024, 2048 or 4096 only. A HEALTHY dependency whose startTimeout ends before its first health check (one interval) fails; one shorter than startPeriod + retries × interval warns (it depends on how fast that container starts).",
        fix: "Correct the field the finding names in the task definition JSON and register a new revision: aws ecs register-task-definition --cli-input-json file://taskdef.json, then point the service at it.",
    },
};

/// One thing wrong with the task definition: a failure, or a warning where it depends on
/// what the tool cannot know.
struct Flaw {
    warn: bool,
    message: String,
    fix: String,
}

fn flaw(message: String, fix: String) -> Flaw {
    Flaw {
        warn: false,
        message,
        fix,
    }
}

const REGISTER: &str =
    "then register a new revision: aws ecs register-task-definition --cli-input-json file://taskdef.json";

/// Fargate's maximum stopTimeout (ContainerDefinition stopTimeout).
const MAX_STOP_TIMEOUT: i32 = 120;

fn run(ctx: &Context) -> Outcome {
    if !is_fargate(&ctx.snap.workload) {
        return Ok(vec![Verdict::skip(
            ctx.scope(),
            "the service does not run on Fargate; these are Fargate's rules",
        )]);
    }
    let td = ctx.task_definition()?;
    let resource = format!("{}:{}", td.family, td.revision);
    let size = td
        .size
        .as_ref()
        .ok_or_else(|| Problem::not_in_snapshot("the task size (cpu and memory)"))?;
    let mut problems: Vec<Flaw> = Vec::new();
    let windows = td.is_windows();
    let version = resolve(&ctx.snap.workload, td).version;
    let cpu = task_level(size.cpu.as_deref(), "cpu", &mut problems);
    let memory = task_level(size.memory.as_deref(), "memory", &mut problems);
    if let (Some(cpu), Some(memory)) = (cpu, memory) {
        if let Some(problem) = size_problem(cpu, memory, windows, &version) {
            problems.push(problem);
        }
    }
    if td.network_mode.as_deref() != Some("awsvpc") {
        problems.push(flaw(
            format!(
                "networkMode is {}: Fargate tasks need awsvpc",
                td.network_mode.as_deref().unwrap_or("not set (bridge)")
            ),
            format!("set \"networkMode\": \"awsvpc\", {REGISTER}"),
        ));
    }
    if !td.requires_compatibilities.iter().any(|c| c == "FARGATE") {
        problems.push(flaw(
            format!(
                "requiresCompatibilities is [{}] without FARGATE: ECS answers \"Task definition does not support launch_type FARGATE\"",
                td.requires_compatibilities.join(", ")
            ),
            format!("set \"requiresCompatibilities\": [\"FARGATE\"], {REGISTER}"),
        ));
    }
    problems.extend(container_problems(td, memory, cpu));
    problems.extend(dependency_problems(td));
    problems.extend(load_balancer_problems(ctx, td));
    if problems.is_empty() {
        let size = match (cpu, memory) {
            (Some(c), Some(m)) => format!("{c} CPU units / {m} MiB"),
            _ => String::new(),
        };
        return Ok(vec![Verdict::pass(
            resource,
            format!(
                "valid for Fargate: {size}, awsvpc, {} container(s)",
                td.containers.len()
            ),
        )]);
    }
    Ok(problems
        .into_iter()
        .map(|f| match f.warn {
            true => Verdict::warn(resource.clone(), f.message, f.fix),
            false => Verdict::fail(resource.clone(), f.message, f.fix),
        })
        .collect())
}

/// A task-level size in units (cpu) or MiB (memory), or the flaw of its absence or form.
fn task_level(value: Option<&str>, field: &str, problems: &mut Vec<Flaw>) -> Option<u32> {
    let (read, form) = match field {
        "cpu" => (
            value.and_then(cpu_units),
            "CPU units like 256 or \"1 vCPU\"",
        ),
        _ => (value.and_then(memory_mib), "MiB like 512 or \"1GB\""),
    };
    match value {
        None => problems.push(flaw(
            format!(
                "task-level {field} is not set: Fargate requires both cpu and memory on the task"
            ),
            format!(
                "set \"{field}\" on the task definition (not only on its containers), {REGISTER}"
            ),
        )),
        Some(v) if read.is_none() => problems.push(flaw(
            format!("task-level {field} \"{v}\" is not a value ECS reads ({form})"),
            format!("write {field} as a number or with its unit, {REGISTER}"),
        )),
        Some(_) => {}
    }
    read
}

/// Task cpu as ECS reads it: CPU units ("256") or vCPUs ("0.25 vCPU", "1 vcpu").
pub(super) fn cpu_units(text: &str) -> Option<u32> {
    let t = text.trim().to_ascii_lowercase();
    if let Some(v) = t.strip_suffix("vcpu") {
        let v: f64 = v.trim().parse().ok()?;
        return Some((v * 1024.0).round() as u32);
    }
    t.parse().ok()
}

/// Task memory as ECS reads it: MiB ("512") or GB ("1GB", "0.5 gb").
fn memory_mib(text: &str) -> Option<u32> {
    let t = text.trim().to_ascii_lowercase();
    if let Some(v) = t.strip_suffix("gb") {
        let v: f64 = v.trim().parse().ok()?;
        return Some((v * 1024.0).round() as u32);
    }
    t.strip_suffix("mb").unwrap_or(&t).trim().parse().ok()
}

/// The Fargate memory values (MiB) for a cpu value, as the ECS task size table lists them.
fn memory_choices(cpu: u32) -> Option<Vec<u32>> {
    let range = |lo: u32, hi: u32, step: u32| (lo..=hi).step_by(step as usize).collect();
    Some(match cpu {
        256 => vec![512, 1024, 2048],
        512 => range(1024, 4096, 1024),
        1024 => range(2048, 8192, 1024),
        2048 => range(4096, 16384, 1024),
        4096 => range(8192, 30720, 1024),
        8192 => range(16384, 61440, 4096),
        16384 => range(32768, 122880, 8192),
        _ => return None,
    })
}

fn describe_choices(choices: &[u32]) -> String {
    if choices.len() <= 4 {
        let list: Vec<String> = choices.iter().map(u32::to_string).collect();
        return format!("{} MiB", list.join(", "));
    }
    format!(
        "{} to {} MiB in steps of {}",
        choices[0],
        choices[choices.len() - 1],
        choices[1] - choices[0]
    )
}

fn size_problem(cpu: u32, memory: u32, windows: bool, version: &str) -> Option<Flaw> {
    const CPU_VALUES: &str = "256, 512, 1024, 2048, 4096, 8192 or 16384";
    let Some(choices) = memory_choices(cpu) else {
        return Some(flaw(
            format!("task cpu {cpu} is not a Fargate size: ECS answers \"No Fargate configuration exists for given values\""),
            format!("set cpu to one of {CPU_VALUES} units, {REGISTER}"),
        ));
    };
    if windows && !matches!(cpu, 1024 | 2048 | 4096) {
        return Some(flaw(
            format!("task cpu {cpu} is not available to Windows containers on Fargate (1024, 2048 or 4096 only)"),
            format!("set cpu to 1024, 2048 or 4096, {REGISTER}"),
        ));
    }
    if cpu >= 8192 && version != "1.4.0" {
        return Some(flaw(
            format!("task cpu {cpu} needs Linux platform version 1.4.0; the task gets {version}"),
            "run the service on platform version 1.4.0 (or LATEST), or choose 4096 CPU units or fewer".to_string(),
        ));
    }
    if !choices.contains(&memory) {
        return Some(flaw(
            format!(
                "task memory {memory} MiB is not a Fargate size for {cpu} CPU units ({}): ECS answers \"No Fargate configuration exists for given values\"",
                describe_choices(&choices)
            ),
            format!(
                "set memory to one of {} for cpu {cpu}, or change cpu to a size that allows {memory} MiB, {REGISTER}",
                describe_choices(&choices)
            ),
        ));
    }
    None
}

fn container_problems(td: &TaskDefinition, memory: Option<u32>, cpu: Option<u32>) -> Vec<Flaw> {
    let mut out = Vec::new();
    if !td.containers.iter().any(|c| c.essential) {
        out.push(flaw(
            "no container is essential: a task needs at least one essential container".to_string(),
            format!("set \"essential\": true on the main container, {REGISTER}"),
        ));
    }
    for c in &td.containers {
        if let (Some(limit), Some(task)) = (c.memory, memory) {
            if limit as u32 > task {
                out.push(flaw(
                    format!("container {}: memory {limit} MiB exceeds the task's {task} MiB", c.name),
                    format!("lower container {}'s memory to at most {task}, or raise the task memory, {REGISTER}", c.name),
                ));
            }
        }
        if let Some(stop) = c.stop_timeout.filter(|s| *s > MAX_STOP_TIMEOUT) {
            out.push(flaw(
                format!("container {}: stopTimeout {stop} s is over Fargate's maximum of {MAX_STOP_TIMEOUT} s", c.name),
                format!("set container {}'s stopTimeout to {MAX_STOP_TIMEOUT} or less, {REGISTER}", c.name),
            ));
        }
        for p in &c.port_mappings {
            if let (Some(host), Some(port)) = (p.host_port, p.container_port) {
                if host != port {
                    out.push(flaw(
                        format!("container {}: hostPort {host} differs from containerPort {port}; in awsvpc mode they must be equal", c.name),
                        format!("remove hostPort or set it to {port} in container {}, {REGISTER}", c.name),
                    ));
                }
            }
        }
    }
    // u64: a snapshot may hold any i32, and the sum must not overflow.
    let reserved: u64 = td
        .containers
        .iter()
        .map(|c| u64::from(reservation(c)))
        .sum();
    if let Some(task) = memory.filter(|m| reserved > u64::from(*m)) {
        out.push(flaw(
            format!("the containers reserve {reserved} MiB together (memoryReservation, else memory) but the task has {task} MiB"),
            format!("lower the containers' memory reservations or raise the task memory, {REGISTER}"),
        ));
    }
    let units: u64 = td
        .containers
        .iter()
        .filter_map(|c| c.cpu)
        .map(|c| u64::from(c.max(0) as u32))
        .sum();
    if let Some(task) = cpu.filter(|t| units > u64::from(*t)) {
        out.push(flaw(
            format!("the containers' cpu adds up to {units} units but the task has {task}"),
            format!("lower the containers' cpu or raise the task cpu, {REGISTER}"),
        ));
    }
    if let Some(gib) = td.ephemeral_storage_gib.filter(|g| !(21..=200).contains(g)) {
        out.push(flaw(
            format!("ephemeralStorage.sizeInGiB {gib} is outside Fargate's 21-200 GiB (leave it out for the 20 GiB default)"),
            format!("set ephemeralStorage.sizeInGiB between 21 and 200, or remove it, {REGISTER}"),
        ));
    }
    out
}

fn reservation(c: &Container) -> u32 {
    c.memory_reservation.or(c.memory).unwrap_or(0).max(0) as u32
}

/// A dependency's health check: the earliest it can report HEALTHY (Docker's first probe runs
/// one interval after start) and the longest it may take (startPeriod + retries × interval).
fn healthy_window(c: &Container) -> Option<(i64, i64, String)> {
    let hc = c.health_check.as_ref()?;
    let interval = i64::from(hc.interval.unwrap_or(30));
    let start_period = i64::from(hc.start_period.unwrap_or(0));
    let retries = i64::from(hc.retries.unwrap_or(3));
    Some((
        interval,
        start_period + retries * interval,
        format!("startPeriod {start_period} s + retries {retries} × interval {interval} s"),
    ))
}

fn dependency_problems(td: &TaskDefinition) -> Vec<Flaw> {
    let mut out = Vec::new();
    let find = |name: &str| td.containers.iter().find(|c| c.name == name);
    for c in &td.containers {
        for d in &c.depends_on {
            let Some(dep) = find(&d.container_name) else {
                out.push(flaw(
                    format!("container {}: dependsOn names container {}, which the task definition does not have", c.name, d.container_name),
                    format!("fix the containerName in {}'s dependsOn, {REGISTER}", c.name),
                ));
                continue;
            };
            match d.condition.as_str() {
                "HEALTHY" if dep.health_check.is_none() => out.push(flaw(
                    format!("container {}: dependsOn {} HEALTHY, but {} has no health check, so it never becomes HEALTHY and {} never starts", c.name, dep.name, dep.name, c.name),
                    format!("add a healthCheck to container {} or use the START condition, {REGISTER}", dep.name),
                )),
                "COMPLETE" | "SUCCESS" if dep.essential => out.push(flaw(
                    format!("container {}: dependsOn {} {}, but {} is essential: the condition cannot be set on an essential container (its exit stops the task)", c.name, dep.name, d.condition, dep.name),
                    format!("mark container {} \"essential\": false, or use START or HEALTHY, {REGISTER}", dep.name),
                )),
                _ => {}
            }
            if d.condition == "HEALTHY" {
                if let (Some(timeout), Some((earliest, longest, how))) =
                    (dep.start_timeout, healthy_window(dep))
                {
                    let timeout = i64::from(timeout);
                    let fix = format!(
                        "raise container {}'s startTimeout to at least {longest}, {REGISTER}",
                        dep.name
                    );
                    if timeout < earliest {
                        out.push(flaw(
                            format!("container {}: {}'s startTimeout {timeout} s ends before its first health check at {earliest} s, so it can never be HEALTHY in time; {} gives up and the task stops", c.name, dep.name, c.name),
                            fix,
                        ));
                    } else if timeout < longest {
                        out.push(Flaw {
                            warn: true,
                            message: format!("container {}: {}'s startTimeout {timeout} s is shorter than the {longest} s its health check allows it to become HEALTHY ({how}); if it needs that long, {} gives up and the task stops", c.name, dep.name, c.name),
                            fix,
                        });
                    }
                }
            }
        }
    }
    if let Some(cycle) = dependency_cycle(td) {
        out.push(flaw(
            format!(
                "dependsOn forms a cycle: {}; none of these containers can start",
                cycle.join(" → ")
            ),
            format!("remove one dependency of the cycle, {REGISTER}"),
        ));
    }
    out
}

/// The first dependency cycle, as the container names along it.
fn dependency_cycle(td: &TaskDefinition) -> Option<Vec<String>> {
    fn visit<'a>(
        td: &'a TaskDefinition,
        name: &'a str,
        path: &mut Vec<&'a str>,
        done: &mut Vec<&'a str>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| *n == name) {
            let mut cycle: Vec<String> = path[at..].iter().map(|n| n.to_string()).collect();
            cycle.push(name.to_string());
            return Some(cycle);
        }
        if done.contains(&name) {
            return None;
        }
        path.push(name);
        let container = td.containers.iter().find(|c| c.name == name)?;
        for d in &container.depends_on {
            if let Some(cycle) = visit(td, &d.container_name, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.push(name);
        None
    }
    let mut done = Vec::new();
    td.containers
        .iter()
        .find_map(|c| visit(td, &c.name, &mut Vec::new(), &mut done))
}

fn load_balancer_problems(ctx: &Context, td: &TaskDefinition) -> Vec<Flaw> {
    let mut out = Vec::new();
    for lb in &ctx.snap.workload.load_balancers {
        let Some(name) = lb.container_name.as_deref() else {
            continue;
        };
        let Some(c) = td.containers.iter().find(|c| c.name == name) else {
            out.push(flaw(
                format!("the service's load balancer names container {name}, which the task definition does not have"),
                format!("name an existing container in the service's loadBalancers, or add container {name}, {REGISTER}"),
            ));
            continue;
        };
        if let Some(port) = lb.container_port {
            if !c
                .port_mappings
                .iter()
                .any(|p| p.container_port == Some(port))
            {
                out.push(flaw(
                    format!("the service's load balancer sends traffic to container {name} port {port}, which has no port mapping for it"),
                    format!("add a portMapping with containerPort {port} to container {name}, {REGISTER}"),
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_read_as_ecs_reads_them() {
        assert_eq!(cpu_units("256"), Some(256));
        assert_eq!(cpu_units("0.25 vCPU"), Some(256));
        assert_eq!(cpu_units("1 vcpu"), Some(1024));
        assert_eq!(cpu_units("1vCPU"), Some(1024));
        assert_eq!(memory_mib("512"), Some(512));
        assert_eq!(memory_mib("1GB"), Some(1024));
        assert_eq!(memory_mib("0.5 GB"), Some(512));
        assert_eq!(memory_mib("lots"), None);
    }

    #[test]
    fn the_fargate_table_edges() {
        assert!(size_problem(256, 512, false, "1.4.0").is_none());
        assert!(size_problem(256, 2048, false, "1.4.0").is_none());
        assert!(size_problem(256, 3072, false, "1.4.0").is_some());
        assert!(size_problem(512, 4096, false, "1.4.0").is_none());
        assert!(size_problem(512, 5120, false, "1.4.0").is_some());
        assert!(size_problem(4096, 30720, false, "1.4.0").is_none());
        assert!(size_problem(4096, 31744, false, "1.4.0").is_some());
        assert!(size_problem(8192, 16384, false, "1.4.0").is_none());
        assert!(size_problem(8192, 17408, false, "1.4.0").is_some());
        assert!(size_problem(8192, 16384, false, "1.3.0").is_some());
        assert!(size_problem(16384, 122880, false, "1.4.0").is_none());
        assert!(size_problem(1024, 2048, true, "1.0.0").is_none());
        assert!(size_problem(512, 1024, true, "1.0.0").is_some());
        assert!(size_problem(300, 1024, false, "1.4.0").is_some());
    }
}
