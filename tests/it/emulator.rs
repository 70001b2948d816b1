//! The real binary against moto in server mode: scenarios are built through the AWS API
//! (tests/emulator/scenario.py), the tool reads them back with the AWS SDK.
//! The emulator is installed into a venv under the target dir on first use and started once
//! per test run; it exits when this process does (it watches its stdin).

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};

use serde_json::Value;

use crate::{bin, repo};

struct Emulator {
    url: String,
    python: PathBuf,
    // Held so the server's stdin stays open for the life of the test process.
    _stdin: Mutex<ChildStdin>,
    _child: Mutex<Child>,
}

const HOW_TO_FIX: &str = "the emulator tests need python3 with venv and pip, and PyPI reachable \
    (or FP_MOTO_PYTHON pointing at a python that has moto[server] installed, see tests/emulator/README.md)";

pub fn venv_python() -> Result<PathBuf, String> {
    if let Ok(python) = std::env::var("FP_MOTO_PYTHON") {
        return Ok(PathBuf::from(python));
    }
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("moto-venv");
    let python = venv.join("bin/python");
    let requirements = repo().join("tests/emulator/requirements.txt");
    let wanted = std::fs::read_to_string(&requirements).map_err(|e| e.to_string())?;
    let marker = venv.join("installed-requirements.txt");
    if std::fs::read_to_string(&marker).ok().as_deref() == Some(wanted.as_str()) && python.exists()
    {
        return Ok(python);
    }
    let status = Command::new("python3")
        .args(["-m", "venv", "--clear"])
        .arg(&venv)
        .status()
        .map_err(|e| format!("python3 -m venv: {e}"))?;
    if !status.success() {
        return Err(format!("python3 -m venv {} failed", venv.display()));
    }
    let out = Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-r",
        ])
        .arg(&requirements)
        .output()
        .map_err(|e| format!("pip install: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "pip install -r {} failed: {}",
            requirements.display(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    std::fs::write(&marker, wanted).map_err(|e| e.to_string())?;
    Ok(python)
}

fn start() -> Result<Emulator, String> {
    let python = venv_python()?;
    let mut child = Command::new(&python)
        .arg(repo().join("tests/emulator/server.py"))
        .args(["--port", "0"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start the emulator: {e}"))?;
    let stdout = child.stdout.take().expect("piped stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .map_err(|e| format!("emulator did not report readiness: {e}"))?;
    let url = line
        .trim()
        .strip_prefix("READY ")
        .ok_or_else(|| format!("emulator did not start (printed {line:?})"))?
        .to_string();
    let stdin = child.stdin.take().expect("piped stdin");
    Ok(Emulator {
        url,
        python,
        _stdin: Mutex::new(stdin),
        _child: Mutex::new(child),
    })
}

fn emulator() -> &'static Emulator {
    static EMULATOR: OnceLock<Result<Emulator, String>> = OnceLock::new();
    match EMULATOR.get_or_init(start) {
        Ok(e) => e,
        Err(why) => panic!("AWS emulator unavailable: {why}\nFix: {HOW_TO_FIX}"),
    }
}

/// Builds a scenario (tests/emulator/scenario.py) in its own region; returns what it created.
fn scenario(name: &str, region: &str) -> Value {
    let emu = emulator();
    let out = Command::new(&emu.python)
        .arg(repo().join("tests/emulator/scenario.py"))
        .args(["--endpoint", &emu.url, "--region", region, name])
        .output()
        .expect("scenario builder runs");
    assert!(
        out.status.success(),
        "scenario {name} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("scenario prints JSON")
}

fn deny(access_key: &str, actions: &[&str]) {
    post(
        "/_fp/deny",
        serde_json::json!({"access_key_id": access_key, "actions": actions}),
    );
}

/// Every action called with `access_key` is throttled for its first `first` calls.
fn throttle(access_key: &str, first: u32) {
    post(
        "/_fp/throttle",
        serde_json::json!({"access_key_id": access_key, "first": first}),
    );
}

/// Only `actions` are throttled for their first `first` calls.
fn throttle_only(access_key: &str, first: u32, actions: &[&str]) {
    post(
        "/_fp/throttle",
        serde_json::json!({"access_key_id": access_key, "first": first, "actions": actions}),
    );
}

fn post(path: &str, body: Value) {
    let emu = emulator();
    let body = body.to_string();
    let out = Command::new(&emu.python)
        .args(["-c", "import sys, urllib.request; urllib.request.urlopen(urllib.request.Request(sys.argv[1], data=sys.argv[2].encode(), method='POST', headers={'Content-Type': 'application/json'}))"])
        .arg(format!("{}{path}", emu.url))
        .arg(body)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("{e}: stdout {} stderr {}", self.stdout, self.stderr))
    }
}

fn tool(region: &str, access_key: &str, args: &[&str]) -> Run {
    tool_with_env(region, access_key, args, &[("AWS_MAX_ATTEMPTS", "1")])
}

fn tool_with_env(region: &str, access_key: &str, args: &[&str], env: &[(&str, &str)]) -> Run {
    let out = bin()
        .args(args)
        .envs(env.iter().copied())
        .env("AWS_ENDPOINT_URL", &emulator().url)
        .env("AWS_REGION", region)
        .env("AWS_ACCESS_KEY_ID", access_key)
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .expect("binary runs");
    Run {
        code: out.status.code().expect("exit code"),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

fn check_json(region: &str) -> Run {
    tool(region, "AKIATESTING", &CHECK_WEB)
}

fn statuses<'a>(doc: &'a Value, check: &str) -> Vec<&'a str> {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == check)
        .map(|f| f["status"].as_str().unwrap())
        .collect()
}

fn finding<'a>(doc: &'a Value, check: &str) -> &'a Value {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == check)
        .unwrap_or_else(|| panic!("no {check} finding"))
}

fn failing(doc: &Value) -> Vec<String> {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["status"] == "fail" || f["status"] == "error")
        .map(|f| {
            format!(
                "{} {} {}: {}",
                f["check"], f["status"], f["resource"], f["message"]
            )
        })
        .collect()
}

#[test]
fn endpoint_only_service_is_green() {
    let region = "us-east-2";
    let built = scenario("endpoint-only", region);
    let run = check_json(region);
    let doc = run.json();
    assert_eq!(run.code, 0, "{:#?}\n{}", failing(&doc), run.stderr);
    assert!(failing(&doc).is_empty());
    assert_eq!(doc["target"]["region"], region);
    assert_eq!(
        doc["target"]["task_definition"],
        built["task_definition_arn"]
    );
    for check in [
        "ecr-api-endpoint",
        "ecr-dkr-endpoint",
        "s3-gateway-route",
        "s3-endpoint-policy",
        "endpoint-security-groups",
        "network-acl",
    ] {
        assert!(
            statuses(&doc, check).iter().all(|s| *s == "pass"),
            "{check}: {:?}",
            statuses(&doc, check)
        );
    }
    let api = finding(&doc, "ecr-api-endpoint");
    assert_eq!(api["resource"], built["endpoints"]["ecr.api"]);
    // Exact call counts: each kind of resource is one (VPC-filtered) call.
    let expected = serde_json::json!({
        "ec2:DescribeInternetGateways": 1, "ec2:DescribeManagedPrefixLists": 1,
        "ec2:DescribeNatGateways": 1, "ec2:DescribeNetworkAcls": 1, "ec2:DescribeRouteTables": 1,
        "ec2:DescribeSecurityGroups": 1, "ec2:DescribeSubnets": 2, "ec2:DescribeVpcAttribute": 2,
        "ec2:DescribeVpcEndpoints": 1, "ec2:DescribeVpcs": 1,
        "ecr:DescribePullThroughCacheRules": 1, "ecr:DescribeRepositories": 1,
        "ecr:DescribeImages": 1, "ecr:BatchGetImage": 1, "ecr:GetRepositoryPolicy": 1,
        "ecs:DescribeServices": 1, "ecs:DescribeTaskDefinition": 1,
        // The cluster's settings (Fargate ephemeral storage key), beside DescribeServices.
        "ecs:DescribeClusters": 1,
        // The Region's Block Public Access, beside the task subnets.
        "ec2:DescribeVpcBlockPublicAccessOptions": 1,
        "ec2:DescribeVpcBlockPublicAccessExclusions": 1,
        // The execution role and AWSServiceRoleForECS.
        "iam:GetPolicy": 1, "iam:GetPolicyVersion": 1, "iam:GetRole": 2,
        "iam:ListAttachedRolePolicies": 1, "iam:ListRolePolicies": 1,
        // The applied Fargate quota and AWS's default, asked at once.
        "servicequotas:GetServiceQuota": 1, "servicequotas:GetAWSDefaultServiceQuota": 1,
        "cloudwatch:GetMetricData": 1,
        // Whether Application Auto Scaling may raise the desired count.
        "application-autoscaling:DescribeScalableTargets": 1,
        // The container's awslogs group exists.
        "logs:DescribeLogGroups": 1
    });
    assert_eq!(doc["stats"]["api_calls_by_operation"], expected);
    assert_eq!(doc["stats"]["api_calls"], 33);
    assert_eq!(doc["stats"]["waves"], 5);
    // The pushed index offers linux/amd64 next to linux/arm64 and an attestation.
    assert_eq!(statuses(&doc, "image-exists"), ["pass"]);
    assert_eq!(statuses(&doc, "image-platform"), ["pass"]);
    task_definition_files_are_checked_without_registering(region, &built);
    placement_in_small_subnets_and_a_deployment_without_room(region);
}

/// A new service of 20 tasks in two /28 subnets (11 free addresses each) cannot place its
/// deployment's 40; then web with desired 1 and 100 % / 100 % can never roll.
fn placement_in_small_subnets_and_a_deployment_without_room(region: &str) {
    let emu = emulator();
    let out = Command::new(&emu.python)
        .arg(repo().join("tests/emulator/scenario.py"))
        .args([
            "--endpoint",
            &emu.url,
            "--region",
            region,
            "--small-subnet-service",
            "big",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let small: Value = serde_json::from_slice(&out.stdout).unwrap();
    let run = tool(
        region,
        "AKIAPLACEMENT",
        &[
            "check",
            "--cluster",
            "app",
            "--service",
            "big",
            "--format",
            "json",
        ],
    );
    let doc = run.json();
    assert_eq!(run.code, 1, "{}", run.stderr);
    let row = finding(&doc, "subnet-capacity");
    assert_eq!(row["status"], "fail", "{row}");
    let first = small["subnets"][0].as_str().unwrap();
    let message = row["message"].as_str().unwrap();
    assert!(message.contains("runs up to 40 task(s) (0 running now), so it needs 40 more address(es), but the task subnets have 22 free"), "{message}");
    assert!(message.contains(&format!("{first} 11")), "{message}");
    assert_eq!(statuses(&doc, "deployment-configuration"), ["pass"]);
    // No applied quota: AWS's default (4000) and nothing in use.
    assert_eq!(statuses(&doc, "fargate-quota"), ["pass"]);
    let requests = emulator_requests("AKIAPLACEMENT");
    assert_eq!(requests["servicequotas:GetServiceQuota"], 1, "{requests}");
    assert_eq!(requests["servicequotas:GetAWSDefaultServiceQuota"], 1);
    assert_eq!(requests["cloudwatch:GetMetricData"], 1);

    // An applied quota of 8 vCPUs with 3 in use: the 40 tasks of 0.25 vCPU do not fit.
    post(
        "/_fp/service-quota",
        serde_json::json!({"region": region, "quota_code": "L-3032A538", "value": 8}),
    );
    post(
        "/_fp/fargate-usage",
        serde_json::json!({"region": region, "vcpus": 3}),
    );
    let run = tool(
        region,
        "AKIAQUOTA",
        &[
            "check",
            "--cluster",
            "app",
            "--service",
            "big",
            "--format",
            "json",
        ],
    );
    let doc = run.json();
    let row = finding(&doc, "fargate-quota");
    assert_eq!(row["status"], "fail", "{row}");
    assert!(row["message"].as_str().unwrap().starts_with("3 vCPUs in use + 10 for the deployment's peak (40 task(s) × 0.25 vCPU) = 13 of the Fargate On-Demand quota of 8:"), "{row}");
    // The applied value and the default are asked at once; the applied one decides.
    assert_eq!(
        emulator_requests("AKIAQUOTA")["servicequotas:GetAWSDefaultServiceQuota"],
        1
    );

    deny("AKIAQUOTADENIED", &["cloudwatch:GetMetricData"]);
    let run = tool(
        region,
        "AKIAQUOTADENIED",
        &[
            "check",
            "--cluster",
            "app",
            "--service",
            "big",
            "--format",
            "json",
        ],
    );
    let row = finding(&run.json(), "fargate-quota").clone();
    assert_eq!(row["status"], "error", "{row}");
    assert!(row["message"]
        .as_str()
        .unwrap()
        .contains("cloudwatch:GetMetricData was denied"));

    change(region, &["--no-room"]);
    let run = tool(
        region,
        "AKIAPLACEMENT",
        &[
            "check",
            "--cluster",
            "app",
            "--service",
            "web",
            "--format",
            "json",
        ],
    );
    let doc = run.json();
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(failing(&doc).len(), 1, "{:#?}", failing(&doc));
    let row = finding(&doc, "deployment-configuration");
    assert_eq!(row["status"], "fail");
    assert!(row["message"]
        .as_str()
        .unwrap()
        .contains("ECS can neither start a new task nor stop an old one"));
    assert_eq!(statuses(&doc, "subnet-capacity"), ["pass"]);
    blue_green_wiring_and_the_auto_scaling_ceiling(region);
}

/// A native blue/green service with its alternate target group, rules and role is green; with
/// the test listener deleted (and its rule with it) it fails. An Application Auto Scaling maximum of 30 on
/// the 20-task service in the /28 pair adds a warning for the scaled-out peak.
fn blue_green_wiring_and_the_auto_scaling_ceiling(region: &str) {
    let made: Value = serde_json::from_str(&change(region, &["--blue-green-service", "shift"]))
        .expect("the blue/green service's ARNs");
    let args = [
        "check",
        "--cluster",
        "app",
        "--service",
        "shift",
        "--format",
        "json",
        "--startup-time",
        "5",
    ];
    let run = tool(region, "AKIABLUEGREEN", &args);
    let doc = run.json();
    let row = finding(&doc, "deployment-configuration");
    assert_eq!(row["status"], "pass", "{row}");
    assert_eq!(row["resource"], made["blue"]);
    let requests = emulator_requests("AKIABLUEGREEN");
    assert_eq!(
        requests["elasticloadbalancing:DescribeRules"], 1,
        "{requests}"
    );
    // The infrastructure role, the execution role and AWSServiceRoleForECS.
    assert_eq!(requests["iam:GetRole"], 3, "{requests}");

    change(
        region,
        &["--delete-listener", made["test_listener"].as_str().unwrap()],
    );
    let run = tool(region, "AKIABLUEGREEN2", &args);
    let row = finding(&run.json(), "deployment-configuration").clone();
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(row["status"], "fail", "{row}");
    let message = row["message"].as_str().unwrap();
    assert!(
        message.contains(&format!(
            "the testListenerRule {} does not exist",
            made["test"].as_str().unwrap()
        )),
        "{message}"
    );

    change(region, &["--scale-to", "big=30"]);
    let run = tool(
        region,
        "AKIASCALING",
        &[
            "check",
            "--cluster",
            "app",
            "--service",
            "big",
            "--format",
            "json",
        ],
    );
    let doc = run.json();
    assert_eq!(statuses(&doc, "subnet-capacity"), ["fail", "warn"]);
    let warn = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "subnet-capacity" && f["status"] == "warn")
        .unwrap();
    assert!(warn["message"].as_str().unwrap().starts_with(
        "scaled out to its Application Auto Scaling maximum of 30, a deployment runs up to 60 task(s)"
    ), "{warn}");
    assert_eq!(
        emulator_requests("AKIASCALING")["application-autoscaling:DescribeScalableTargets"],
        1
    );
}

/// What `aws ecs describe-task-definition --task-definition FAMILY` prints.
fn described_task_definition(region: &str, family: &str) -> Value {
    let emu = emulator();
    let out = Command::new(&emu.python)
        .args(["-c", "import boto3, json, sys; print(json.dumps(boto3.client('ecs', endpoint_url=sys.argv[1], region_name=sys.argv[2], aws_access_key_id='testing', aws_secret_access_key='testing').describe_task_definition(taskDefinition=sys.argv[3]), default=str))"])
        .args([emu.url.as_str(), region, family])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// --task-definition-file: the service's own definition as describe-task-definition prints
/// it is green; the same with memory 3000 at cpu 256 fails; nothing is registered or described.
/// `check --task-definition-file FILE` in the scenario's task subnets and security group.
fn check_task_definition_file(
    region: &str,
    key: &str,
    file: &std::path::Path,
    built: &Value,
) -> Run {
    let subnets: Vec<&str> = built["subnet_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    tool(
        region,
        key,
        &[
            "check",
            "--task-definition-file",
            file.to_str().unwrap(),
            "--subnets",
            &subnets.join(","),
            "--security-groups",
            built["task_sg"].as_str().unwrap(),
            "--format",
            "json",
            "--sarif-output",
            file.with_extension("sarif").to_str().unwrap(),
        ],
    )
}

fn task_definition_files_are_checked_without_registering(region: &str, built: &Value) {
    let mut described = described_task_definition(region, "web");
    let dir = std::env::temp_dir().join(format!("fp-taskdef-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.json");
    std::fs::write(&good, described.to_string()).unwrap();
    described["taskDefinition"]["memory"] = Value::from("3000");
    let bad = dir.join("bad.json");
    std::fs::write(&bad, described["taskDefinition"].to_string()).unwrap();
    let key = "AKIATASKDEFFILE";
    let run_file = |file: &std::path::Path| check_task_definition_file(region, key, file, built);
    let run = run_file(&good);
    let doc = run.json();
    assert_eq!(run.code, 0, "{:#?}\n{}", failing(&doc), run.stderr);
    assert_eq!(statuses(&doc, "task-definition"), ["pass"]);
    assert_eq!(statuses(&doc, "execution-role"), ["pass"]);
    assert!(doc["target"]["task_definition"]
        .as_str()
        .unwrap()
        .ends_with(":task-definition/web:0"));

    let run = run_file(&bad);
    let doc = run.json();
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(failing(&doc).len(), 1, "{:#?}", failing(&doc));
    let row = finding(&doc, "task-definition");
    assert_eq!(row["status"], "fail");
    assert!(row["message"]
        .as_str()
        .unwrap()
        .contains("task memory 3000 MiB is not a Fargate size for 256 CPU units"));
    // Code scanning alerts point at the checked file.
    let sarif: Value =
        serde_json::from_str(&std::fs::read_to_string(bad.with_extension("sarif")).unwrap())
            .unwrap();
    let result = &sarif["runs"][0]["results"][0];
    assert_eq!(result["ruleId"], "task-definition");
    assert_eq!(
        result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        bad.to_str().unwrap()
    );
    let requests = emulator_requests(key);
    assert!(
        requests.get("ecs:RegisterTaskDefinition").is_none(),
        "{requests}"
    );
    assert!(
        requests.get("ecs:DescribeTaskDefinition").is_none(),
        "{requests}"
    );
    assert!(
        requests["ecr:DescribeImages"].as_u64().unwrap() >= 1,
        "{requests}"
    );
}

#[test]
fn snapshot_replays_offline_and_never_holds_env_values() {
    let region = "us-west-1";
    scenario("endpoint-only", region);
    let snap = tool(
        region,
        "AKIATESTING",
        &["snapshot", "--cluster", "app", "--service", "web"],
    );
    assert_eq!(snap.code, 0, "{}", snap.stderr);
    assert!(
        snap.stdout.contains("DB_PASSWORD"),
        "the variable's name is kept"
    );
    assert!(
        !snap.stdout.contains("hunter2"),
        "an environment value leaked into the snapshot"
    );
    let live = check_json(region).json();

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("snap.json");
    std::fs::write(&path, &snap.stdout).unwrap();
    // No endpoint, no credentials, no region: only the file.
    let out = bin()
        .args([
            "check",
            "--snapshot",
            path.to_str().unwrap(),
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let replay: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(replay["findings"], live["findings"]);
    assert_eq!(replay["summary"], live["summary"]);
}

#[test]
fn missing_ecr_api_on_1_4_0_fails() {
    let region = "eu-west-1";
    scenario("missing-ecr-api", region);
    let run = check_json(region);
    let doc = run.json();
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(statuses(&doc, "ecr-api-endpoint"), ["fail"]);
    let row = finding(&doc, "ecr-api-endpoint");
    assert!(row["remediation"]
        .as_str()
        .unwrap()
        .contains(&format!("com.amazonaws.{region}.ecr.api")));
    assert!(statuses(&doc, "ecr-dkr-endpoint")
        .iter()
        .all(|s| *s == "pass"));
    the_vpc_is_read_with_the_network_role(region);
}

/// `--network-role-arn`: the main credentials assume the role and read no VPC data; the VPC is
/// read with the role's (its account asked once, sts:GetCallerIdentity), the verdicts are the
/// same, and the snapshot records which account read the network.
fn the_vpc_is_read_with_the_network_role(region: &str) {
    let role = "arn:aws:iam::123456789012:role/vpc-reader";
    let mut args = CHECK_WEB.to_vec();
    args.extend(["--network-role-arn", role]);
    let run = tool(region, "AKIANETROLE", &args);
    let doc = run.json();
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(statuses(&doc, "ecr-api-endpoint"), ["fail"]);
    let main = emulator_requests("AKIANETROLE");
    assert_eq!(main["sts:AssumeRole"], 1, "{main}");
    assert_eq!(main["ecs:DescribeServices"], 1, "{main}");
    let ec2: Vec<&String> = main
        .as_object()
        .unwrap()
        .keys()
        .filter(|a| a.starts_with("ec2:"))
        .collect();
    assert!(ec2.is_empty(), "the main credentials read {ec2:?}");
    let by_operation = &doc["stats"]["api_calls_by_operation"];
    assert_eq!(by_operation["sts:GetCallerIdentity"], 1, "{by_operation}");
    assert_eq!(
        by_operation["ec2:DescribeVpcEndpoints"], 1,
        "{by_operation}"
    );

    let run = tool(
        region,
        "AKIANETROLESNAP",
        &[
            "snapshot",
            "--cluster",
            "app",
            "--service",
            "web",
            "--network-role-arn",
            role,
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let snapshot = run.json();
    let network = snapshot
        .get("services")
        .map_or(&snapshot["network"], |s| &s[0]["network"]);
    assert_eq!(network["read_by"], "123456789012", "{}", network["read_by"]);

    // A role that cannot be assumed ends the run in one line naming the flag.
    deny("AKIANETROLEDENIED", &["sts:AssumeRole"]);
    let run = tool(region, "AKIANETROLEDENIED", &args);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    assert_eq!(run.stderr.trim().lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!("--network-role-arn {role}")),
        "{}",
        run.stderr
    );
}

#[test]
fn s3_gateway_on_another_route_table_fails() {
    let region = "eu-central-1";
    let built = scenario("s3-wrong-route-table", region);
    let run = check_json(region);
    let doc = run.json();
    assert_eq!(run.code, 1, "{}", run.stderr);
    let rows: Vec<&Value> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == "s3-gateway-route")
        .collect();
    assert_eq!(rows.len(), 2);
    let private = built["route_table_ids"]["private"].as_str().unwrap();
    for row in rows {
        assert_eq!(row["status"], "fail");
        assert!(row["remediation"]
            .as_str()
            .unwrap()
            .contains(&format!("--add-route-table-ids {private}")));
    }
}

#[test]
fn nat_only_service_is_green_through_the_nat() {
    let region = "ap-southeast-1";
    let built = scenario("nat-only", region);
    let run = check_json(region);
    let doc = run.json();
    assert_eq!(run.code, 0, "{:#?}", failing(&doc));
    let nat = built["nat_gateway_id"].as_str().unwrap();
    let egress = finding(&doc, "egress-path");
    assert!(
        egress["message"].as_str().unwrap().contains(nat),
        "{egress}"
    );
    block_public_access_closes_the_nat_path(region);
}

/// Block Public Access in block-bidirectional mode closes the NAT gateway's way out until the
/// NAT gateway's subnet is excluded (allow-egress); its options denied are an error.
fn block_public_access_closes_the_nat_path(region: &str) {
    change(region, &["--bpa", "block-bidirectional"]);
    let run = tool(region, "AKIABPA", &CHECK_WEB);
    let doc = run.json();
    assert_eq!(run.code, 1, "{}", run.stderr);
    let egress = finding(&doc, "egress-path");
    assert_eq!(egress["status"], "fail", "{egress}");
    assert!(
        egress["message"]
            .as_str()
            .unwrap()
            .contains("VPC Block Public Access blocks it"),
        "{egress}"
    );
    assert!(egress["remediation"]
        .as_str()
        .unwrap()
        .contains("--internet-gateway-exclusion-mode allow-egress"));
    // The Region's options and exclusions, once each.
    let requests = emulator_requests("AKIABPA");
    assert_eq!(requests["ec2:DescribeVpcBlockPublicAccessOptions"], 1);
    assert_eq!(requests["ec2:DescribeVpcBlockPublicAccessExclusions"], 1);

    deny(
        "AKIABPADENIED",
        &["ec2:DescribeVpcBlockPublicAccessOptions"],
    );
    let run = tool(region, "AKIABPADENIED", &CHECK_WEB);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let egress = finding(&run.json(), "egress-path").clone();
    assert_eq!(egress["status"], "error", "{egress}");
    assert!(egress["message"]
        .as_str()
        .unwrap()
        .contains("ec2:DescribeVpcBlockPublicAccessOptions"));

    change(region, &["--bpa-exclude", "nat-subnet=allow-egress"]);
    let run = tool(region, "AKIABPAEXCLUDED", &CHECK_WEB);
    assert_eq!(run.code, 0, "{:#?}", failing(&run.json()));
}

#[test]
fn latest_platform_resolves_to_1_4_0() {
    let region = "ap-northeast-2";
    scenario("latest-platform", region);
    let doc = check_json(region).json();
    let row = finding(&doc, "platform-version");
    assert_eq!(row["status"], "pass");
    assert!(
        row["message"]
            .as_str()
            .unwrap()
            .contains("LATEST resolves to 1.4.0"),
        "{row}"
    );
}

#[test]
fn denied_describe_is_an_error_not_a_pass() {
    let region = "ca-central-1";
    scenario("endpoint-only", region);
    deny("AKIADENIEDVPCE", &["ec2:DescribeVpcEndpoints"]);
    let run = tool(
        region,
        "AKIADENIEDVPCE",
        &[
            "check",
            "--cluster",
            "app",
            "--service",
            "web",
            "--format",
            "json",
        ],
    );
    let doc = run.json();
    assert_eq!(run.code, 2, "{}", run.stderr);
    for check in [
        "ecr-api-endpoint",
        "ecr-dkr-endpoint",
        "s3-gateway-endpoint",
        "s3-gateway-route",
        "endpoint-security-groups",
    ] {
        assert_eq!(statuses(&doc, check), ["error"], "{check}");
    }
    let row = finding(&doc, "ecr-api-endpoint");
    assert!(
        row["message"]
            .as_str()
            .unwrap()
            .contains("ec2:DescribeVpcEndpoints was denied"),
        "{row}"
    );
    // Checks that do not need the endpoints still ran.
    assert_eq!(statuses(&doc, "vpc-dns"), ["pass"]);
    assert_eq!(statuses(&doc, "platform-version"), ["pass"]);
}

#[test]
fn nonexistent_service_exits_2_with_a_clear_message() {
    let region = "sa-east-1";
    scenario("no-service", region);
    let run = check_json(region);
    assert_eq!(run.code, 2);
    assert!(run.stdout.is_empty());
    assert_eq!(run.stderr.trim().lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("service web not found in cluster app"),
        "{}",
        run.stderr
    );

    let run = tool(
        region,
        "AKIATESTING",
        &["check", "--cluster", "nope", "--service", "web"],
    );
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("nope"), "{}", run.stderr);
    ipv6_only_tasks_pull_by_the_dual_stack_uri(region);
}

/// IPv6-only subnets (Ipv6Native, no IPv4 CIDR) with ::/0 to an egress-only internet gateway:
/// the image by ECR's dual-stack URI passes; the same task definition by the IPv4 URI fails
/// ecr-dkr-endpoint. Built in the region of the no-service scenario, which made only the cluster.
fn ipv6_only_tasks_pull_by_the_dual_stack_uri(region: &str) {
    let built = scenario("ipv6-only", region);
    let run = tool(region, "AKIAIPV6", &CHECK_WEB);
    let doc = run.json();
    assert_eq!(run.code, 0, "{:#?}", failing(&doc));
    let egress = finding(&doc, "egress-path");
    assert!(
        egress["message"].as_str().unwrap().contains("eigw-"),
        "{egress}"
    );
    assert_eq!(statuses(&doc, "endpoint-security-groups"), ["pass", "pass"]);

    let mut described = described_task_definition(region, "web");
    let dual = described["taskDefinition"]["containerDefinitions"][0]["image"]
        .as_str()
        .unwrap()
        .to_string();
    let ipv4 = dual
        .replace(".dkr-ecr.", ".dkr.ecr.")
        .replace(".on.aws/", ".amazonaws.com/");
    described["taskDefinition"]["containerDefinitions"][0]["image"] = Value::from(ipv4.clone());
    let file = std::env::temp_dir().join(format!("fp-ipv6-{}.json", std::process::id()));
    std::fs::write(&file, described["taskDefinition"].to_string()).unwrap();
    let run = check_task_definition_file(region, "AKIAIPV6URI", &file, &built);
    let doc = run.json();
    assert_eq!(run.code, 1, "{}", run.stderr);
    let dkr = finding(&doc, "ecr-dkr-endpoint");
    assert_eq!(dkr["status"], "fail", "{dkr}");
    assert!(
        dkr["remediation"].as_str().unwrap().contains(&dual),
        "{dkr}"
    );
    assert!(dkr["message"].as_str().unwrap().contains(&ipv4), "{dkr}");
}

#[test]
fn pre_deploy_flags_check_the_same_rules_without_a_service() {
    let region = "eu-north-1";
    let built = scenario("missing-ecr-api", region);
    let subnets: Vec<&str> = built["subnet_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    let run = tool(
        region,
        "AKIATESTING",
        &[
            "check",
            "--task-definition",
            "web",
            "--subnets",
            &subnets.join(","),
            "--security-groups",
            built["task_sg"].as_str().unwrap(),
            "--platform-version",
            "1.4.0",
            "--format",
            "json",
        ],
    );
    let doc = run.json();
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(statuses(&doc, "ecr-api-endpoint"), ["fail"]);
    assert!(statuses(&doc, "s3-gateway-route")
        .iter()
        .all(|s| *s == "pass"));
    assert_eq!(
        doc["target"]["task_definition"],
        built["task_definition_arn"]
    );
    assert!(doc["target"].get("service").is_none());

    let run = tool(
        region,
        "AKIATESTING",
        &[
            "check",
            "--task-definition",
            "nope",
            "--subnets",
            subnets[0],
            "--security-groups",
            "sg-1",
        ],
    );
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("nope"), "{}", run.stderr);
}

#[test]
fn public_image_with_endpoints_only_fails() {
    let region = "ap-south-1";
    scenario("public-image", region);
    let run = check_json(region);
    let doc = run.json();
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(statuses(&doc, "public-image"), ["fail"]);
    let row = finding(&doc, "public-image");
    assert!(row["remediation"]
        .as_str()
        .unwrap()
        .contains("create-pull-through-cache-rule --ecr-repository-prefix docker-hub"));
}

#[test]
fn pull_through_cache_image_with_rule_and_permissions_is_green() {
    let region = "eu-west-2";
    let built = scenario("ptc-ok", region);
    let key = "AKIAPTCOK";
    let run = tool(
        region,
        key,
        &[
            "check",
            "--cluster",
            "app",
            "--service",
            "web",
            "--format",
            "json",
        ],
    );
    let doc = run.json();
    assert_eq!(run.code, 0, "{:#?}\n{}", failing(&doc), run.stderr);
    let row = finding(&doc, "pull-through-cache");
    assert_eq!(row["status"], "pass");
    assert!(row["message"]
        .as_str()
        .unwrap()
        .contains(built["ptc_rule_prefix"].as_str().unwrap()));
    assert_eq!(statuses(&doc, "execution-role"), ["pass"]);
    // The cached image is not in the cache yet; reading its manifest would be a pull that
    // imports it, so BatchGetImage is never called on a cache repository.
    assert_eq!(statuses(&doc, "image-exists"), ["skip"]);
    assert_eq!(statuses(&doc, "image-platform"), ["skip"]);
    let requests = emulator_requests(key);
    assert_eq!(requests["ecr:DescribeImages"], 1, "{requests}");
    assert!(requests.get("ecr:BatchGetImage").is_none(), "{requests}");
}

#[test]
fn pull_through_cache_image_without_rule_fails() {
    let region = "eu-west-3";
    scenario("ptc-missing-rule", region);
    let run = check_json(region);
    let doc = run.json();
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(statuses(&doc, "pull-through-cache"), ["fail"]);
}

#[test]
fn execution_role_with_only_an_unrelated_inline_policy_fails() {
    let region = "us-west-2";
    let built = scenario("role-unrelated-inline", region);
    let run = check_json(region);
    let doc = run.json();
    assert_eq!(run.code, 1, "{}", run.stderr);
    let failures: Vec<&Value> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == "execution-role")
        .collect();
    assert!(
        failures.iter().all(|f| f["status"] == "fail"),
        "{failures:#?}"
    );
    let text = serde_json::to_string(&failures).unwrap();
    assert!(
        text.contains("ecr:GetAuthorizationToken") && text.contains("logs:PutLogEvents"),
        "{text}"
    );
    assert!(text.contains(built["execution_role_name"].as_str().unwrap()));
}

#[test]
fn missing_execution_role_fails() {
    let region = "ap-northeast-3";
    scenario("role-missing", region);
    let run = check_json(region);
    let doc = run.json();
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(statuses(&doc, "execution-role"), ["fail"]);
    assert!(finding(&doc, "execution-role")["message"]
        .as_str()
        .unwrap()
        .contains("does not exist"));
}

#[test]
fn secrets_through_their_endpoint_with_permission_are_green() {
    let region = "ap-southeast-2";
    scenario("secrets-ok", region);
    let run = check_json(region);
    let doc = run.json();
    assert_eq!(run.code, 0, "{:#?}", failing(&doc));
    assert!(statuses(&doc, "secrets-endpoints")
        .iter()
        .all(|s| *s == "pass"));
    assert_eq!(statuses(&doc, "secrets-exist"), ["pass"]);
    assert_eq!(statuses(&doc, "log-group"), ["pass"]);
    // The secret uses the AWS managed key: no key to look up.
    assert_eq!(statuses(&doc, "kms-keys"), ["skip"]);

    deny("AKIANODESCRIBESECRET", &["secretsmanager:DescribeSecret"]);
    let run = tool(
        region,
        "AKIANODESCRIBESECRET",
        &[
            "check",
            "--cluster",
            "app",
            "--service",
            "web",
            "--format",
            "json",
        ],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    let row = finding(&run.json(), "secrets-exist").clone();
    assert_eq!(row["status"], "error", "{row}");
    assert!(row["remediation"]
        .as_str()
        .unwrap()
        .starts_with("allow secretsmanager:DescribeSecret"));

    diagnose_a_failed_deploy(region);
    what_the_task_fetches_breaks(region);
}

/// After diagnose's breakage: a CMK the execution role may not use, the log group deleted,
/// then the secret scheduled for deletion, each red in its own check. No call in the whole
/// test returned a value.
fn what_the_task_fetches_breaks(region: &str) {
    let args = [
        "check",
        "--cluster",
        "app",
        "--service",
        "web",
        "--format",
        "json",
    ];
    let made: Value =
        serde_json::from_str(&change(region, &["--cmk-secret"])).expect("the key's ARN");
    let run = tool(region, "AKIACMK", &args);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let row = finding(&run.json(), "kms-keys").clone();
    assert_eq!(row["status"], "fail", "{row}");
    assert_eq!(row["resource"], made["key"]);
    assert!(row["message"]
        .as_str()
        .unwrap()
        .contains("may not kms:Decrypt with"));
    let requests = emulator_requests("AKIACMK");
    assert_eq!(requests["kms:DescribeKey"], 1, "{requests}");
    assert_eq!(requests["kms:GetKeyPolicy"], 1, "{requests}");

    // The cluster's Fargate ephemeral storage key: read with DescribeClusters beside the
    // services, judged by its key policy.
    let storage_key = |policy: &str, access_key: &str| {
        let made: Value =
            serde_json::from_str(&change(region, &["--storage-key", policy])).expect("the key");
        let doc = tool(region, access_key, &args).json();
        let key = made["key"].as_str().unwrap().to_string();
        let row = doc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["check"] == "kms-keys" && f["resource"] == key.as_str())
            .unwrap_or_else(|| panic!("no kms-keys finding on {key}: {doc:#}"))
            .clone();
        assert_eq!(emulator_requests(access_key)["ecs:DescribeClusters"], 1);
        row
    };
    let row = storage_key("account-only", "AKIASTORAGEKEY");
    assert_eq!(row["status"], "fail", "{row}");
    assert!(row["message"]
        .as_str()
        .unwrap()
        .contains("does not let fargate.amazonaws.com use it for cluster app"));
    let row = storage_key("fargate", "AKIAFARGATEKEY");
    assert_eq!(row["status"], "pass", "{row}");

    change(region, &["--delete-log-group", "/ecs/web"]);
    let run = tool(region, "AKIANOLOGGROUP", &args);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(statuses(&run.json(), "log-group"), ["fail"]);

    change(region, &["--delete-secret"]);
    let run = tool(region, "AKIADELETEDSECRET", &args);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let row = finding(&run.json(), "secrets-exist").clone();
    assert_eq!(row["status"], "fail", "{row}");
    assert!(row["message"]
        .as_str()
        .unwrap()
        .contains("scheduled for deletion"));

    let made: Value =
        serde_json::from_str(&change(region, &["--env-files"])).expect("the bucket's name");
    let bucket = made["bucket"].as_str().unwrap();
    let run = tool(region, "AKIAENVFILES", &args);
    let doc = run.json();
    let files: Vec<(&str, &str)> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == "environment-files")
        .map(|f| {
            (
                f["resource"].as_str().unwrap(),
                f["status"].as_str().unwrap(),
            )
        })
        .collect();
    let config = format!("arn:aws:s3:::{bucket}/config.env");
    let missing = format!("arn:aws:s3:::{bucket}/missing.env");
    assert_eq!(
        files,
        [(config.as_str(), "pass"), (missing.as_str(), "fail")],
        "{doc:#}"
    );
    let requests = emulator_requests("AKIAENVFILES");
    assert_eq!(requests["s3:HeadObject"], 2, "{requests}");
    // Both files are in one bucket: its Region is asked once.
    assert_eq!(requests["s3:GetBucketLocation"], 1, "{requests}");

    for key in [
        "AKIANODESCRIBESECRET",
        "AKIADIAGNOSE",
        "AKIACMK",
        "AKIASTORAGEKEY",
        "AKIAFARGATEKEY",
        "AKIANOLOGGROUP",
        "AKIADELETEDSECRET",
        "AKIAENVFILES",
    ] {
        let requests = emulator_requests(key);
        for value_read in [
            "secretsmanager:GetSecretValue",
            "ssm:GetParameter",
            "ssm:GetParameters",
            "s3:GetObject",
        ] {
            assert!(requests.get(value_read).is_none(), "{key}: {requests}");
        }
    }
}

/// The real stoppedReason of a task whose secret could not be fetched
/// (https://github.com/Releem/releem-agent/issues/195).
const ASM_TIMEOUT: &str = "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve secret from asm: service call has been retried 5 time(s): failed to fetch secret arn:aws:secretsmanager:us-west-2:*:secret:DBPasswordSecret-* from secrets manager: RequestCanceled: request context canceled caused by: context deadline exceeded. Please check your task network configuration.";

fn failures(doc: &Value) -> &Vec<Value> {
    doc["failures"].as_array().expect("failures")
}

/// diagnose on the green secrets service, then as its deploy breaks: the secretsmanager
/// endpoint is deleted and ECS stops a task with the real timeout text.
fn diagnose_a_failed_deploy(region: &str) {
    let key = "AKIADIAGNOSE";
    let args = [
        "diagnose",
        "--cluster",
        "app",
        "--service",
        "web",
        "--format",
        "json",
    ];
    let run = tool(region, key, &args);
    let doc = run.json();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(failures(&doc).len(), 0, "{doc}");
    assert_eq!(doc["summary"]["fail"], 0);
    // The preflight's own calls plus one ListTasks; no stopped task, so no DescribeTasks.
    assert_eq!(emulator_requests(key)["ecs:ListTasks"], 1);
    assert!(emulator_requests(key).get("ecs:DescribeTasks").is_none());

    change(region, &["--drop-endpoint", "secretsmanager"]);
    change(region, &["--failed-task", ASM_TIMEOUT]);
    change(
        region,
        &[
            "--service-event",
            "(service web) has reached a steady state.",
        ],
    );
    let run = tool(region, key, &args);
    let doc = run.json();
    assert_eq!(run.code, 1, "{}", run.stderr);
    let found = failures(&doc);
    assert_eq!(found.len(), 1, "the steady state is no failure: {doc:#}");
    let failure = &found[0];
    assert_eq!(failure["source"], "stopped-task");
    assert!(failure["id"].as_str().unwrap().contains(":task/app/"));
    assert!(failure["text"].as_str().unwrap().starts_with(ASM_TIMEOUT));
    assert!(failure["at"].as_str().unwrap().starts_with("20"));
    assert_eq!(failure["stale_task_definition"], false);
    assert_eq!(failure["patterns"], serde_json::json!(["secrets-manager"]));
    assert_eq!(failure["explained"], true);
    let first = &failure["explained_by"][0];
    assert_eq!(first["check"], "secrets-endpoints");
    assert_eq!(first["status"], "fail");
    assert_eq!(statuses(&doc, "secrets-endpoints"), ["fail"]);

    // A text no pattern knows is listed as unmatched; a failure event is listed, and with
    // no load balancer to judge, honestly not explained.
    change(region, &["--failed-task", "The moon is made of cheese"]);
    let unhealthy = "(service web) (port 80) is unhealthy in (target-group arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/1b16379bd7038558) due to (reason Health checks failed).";
    change(region, &["--service-event", unhealthy]);
    let run = tool(region, key, &args);
    let doc = run.json();
    assert_eq!(run.code, 1, "{}", run.stderr);
    let found = failures(&doc);
    assert_eq!(found.len(), 3, "{doc:#}");
    let cheese = found
        .iter()
        .find(|f| f["text"] == "The moon is made of cheese")
        .expect("the unknown text is listed");
    assert_eq!(cheese["patterns"], serde_json::json!([]));
    assert_eq!(cheese["explained"], false);
    assert!(cheese["note"].as_str().unwrap().starts_with("unmatched"));
    let event = found
        .iter()
        .find(|f| f["source"] == "service-event")
        .expect("the failure event is listed");
    assert_eq!(event["text"], unhealthy);
    assert_eq!(event["patterns"], serde_json::json!(["elb-health-check"]));
    assert_eq!(event["explained"], false);
    assert!(event["note"]
        .as_str()
        .unwrap()
        .starts_with("not explained by the current configuration"));
    let table = tool(region, key, &args[..5]);
    assert_eq!(table.code, 1);
    assert!(
        table.stdout.contains("pattern: secrets-manager")
            && table.stdout.contains("FAIL secrets-endpoints"),
        "{}",
        table.stdout
    );

    // Without ListTasks the preflight and the events still stand and the gap is named; the
    // failing check outranks it (exit 1), as in `check`.
    deny("AKIADIAGNOSEDENIED", &["ecs:ListTasks"]);
    let run = tool(region, "AKIADIAGNOSEDENIED", &args);
    let doc = run.json();
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(doc["errors"][0]["action"], "ecs:ListTasks");
    assert_eq!(statuses(&doc, "secrets-endpoints"), ["fail"]);
    assert!(failures(&doc)
        .iter()
        .all(|f| f["source"] == "service-event"));
}

fn check_with_startup(region: &str, seconds: &str) -> Run {
    tool(
        region,
        "AKIATESTING",
        &[
            "check",
            "--cluster",
            "app",
            "--service",
            "web",
            "--format",
            "json",
            "--startup-time",
            seconds,
        ],
    )
}

#[test]
fn grace_0_with_a_slow_start_is_killed() {
    let region = "eu-south-1";
    scenario("alb-grace-0", region);
    let run = check_with_startup(region, "120");
    let doc = run.json();
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(statuses(&doc, "health-check-timing"), ["fail"]);
    let row = finding(&doc, "health-check-timing");
    // Probes at 0 and 10 s: the second failure marks it unhealthy at (2 − 1) × 10 s.
    assert_eq!(row["details"]["detection_window_seconds"], 10);
    assert_eq!(row["details"]["grace_period_seconds"], 0);
    assert_eq!(statuses(&doc, "health-check-grace"), ["fail"]);
    assert_eq!(statuses(&doc, "load-balancer-ingress"), ["pass"]);
}

#[test]
fn grace_300_covers_the_slow_start() {
    let region = "me-south-1";
    scenario("alb-grace-300", region);
    let run = check_with_startup(region, "120");
    let doc = run.json();
    assert_eq!(run.code, 0, "{:#?}", failing(&doc));
    assert_eq!(statuses(&doc, "health-check-timing"), ["pass"]);
    assert_eq!(statuses(&doc, "health-check-grace"), ["pass"]);
}

#[test]
fn task_sg_closed_to_the_load_balancer_fails() {
    let region = "af-south-1";
    let built = scenario("alb-task-sg-closed", region);
    let run = check_with_startup(region, "30");
    let doc = run.json();
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(statuses(&doc, "load-balancer-ingress"), ["fail"]);
    let row = finding(&doc, "load-balancer-ingress");
    assert!(
        row["message"]
            .as_str()
            .unwrap()
            .contains(built["alb_sg"].as_str().unwrap()),
        "{row}"
    );
}

/// What the emulator saw this access key ask for, per operation.
fn emulator_requests(access_key: &str) -> Value {
    get(&format!("/_fp/requests?access_key_id={access_key}"))
}

/// A test-only GET of the emulator, as JSON.
fn get(path: &str) -> Value {
    let emu = emulator();
    let out = Command::new(&emu.python)
        .args(["-c", "import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1]).read().decode())"])
        .arg(format!("{}{path}", emu.url))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn a_cluster_of_25_services_is_checked_with_a_fixed_number_of_calls() {
    let region = "ap-southeast-3";
    let built = scenario("cluster-25", region);
    let key = "AKIACLUSTER25";
    let run = tool(
        region,
        key,
        &["check", "--cluster", "app", "--format", "json"],
    );
    let doc = run.json();
    assert_eq!(run.code, 0, "{:#?}\n{}", failing(&doc), run.stderr);

    // Every service has its summary and its findings.
    let services: BTreeSet<&str> = built["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert_eq!(services.len(), 25);
    let summarised: BTreeSet<&str> = doc["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["service"].as_str().unwrap())
        .collect();
    assert_eq!(summarised, services);
    let with_findings: BTreeSet<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["service"].as_str().unwrap())
        .collect();
    assert_eq!(with_findings, services);

    // Shared data is fetched once: 1 ListServices, 3 DescribeServices (10 + 10 + 5),
    // 3 task definitions, 1 batch of target groups and of load balancers, one VPC, one role
    // (and AWSServiceRoleForECS), the cluster's settings,
    // the image all three task definitions name, and the region's Fargate quota and usage.
    let expected = serde_json::json!({
        "servicequotas:GetServiceQuota": 1, "servicequotas:GetAWSDefaultServiceQuota": 1,
        "cloudwatch:GetMetricData": 1,
        // The 25 services' scalable targets in one call (up to 50 resource ids each).
        "application-autoscaling:DescribeScalableTargets": 1,
        // One log group per task definition family.
        "logs:DescribeLogGroups": 3,
        "ecs:ListServices": 1, "ecs:DescribeServices": 3, "ecs:DescribeTaskDefinition": 3,
        "ecs:DescribeClusters": 1,
        "ec2:DescribeVpcBlockPublicAccessOptions": 1,
        "ec2:DescribeVpcBlockPublicAccessExclusions": 1,
        "elasticloadbalancing:DescribeTargetGroups": 1, "elasticloadbalancing:DescribeLoadBalancers": 1,
        "ec2:DescribeInternetGateways": 1, "ec2:DescribeManagedPrefixLists": 1,
        "ec2:DescribeNatGateways": 1, "ec2:DescribeNetworkAcls": 1, "ec2:DescribeRouteTables": 1,
        "ec2:DescribeSecurityGroups": 1, "ec2:DescribeSubnets": 2, "ec2:DescribeVpcAttribute": 2,
        "ec2:DescribeVpcEndpoints": 1, "ec2:DescribeVpcs": 1,
        "ecr:DescribePullThroughCacheRules": 1, "ecr:DescribeRepositories": 1,
        "ecr:DescribeImages": 1, "ecr:BatchGetImage": 1, "ecr:GetRepositoryPolicy": 1,
        "iam:GetPolicy": 1, "iam:GetPolicyVersion": 1, "iam:GetRole": 2,
        "iam:ListAttachedRolePolicies": 1, "iam:ListRolePolicies": 1
    });
    assert_eq!(doc["stats"]["api_calls_by_operation"], expected);
    // The emulator's own request log agrees call for call.
    assert_eq!(emulator_requests(key), expected);
    assert_eq!(doc["stats"]["waves"], 6);
}

#[test]
fn a_fault_in_one_service_is_that_services_error_not_the_runs() {
    let region = "ca-west-1";
    scenario("cluster-5-broken", region);
    let run = tool(
        region,
        "AKIABROKEN",
        &[
            "check",
            "--cluster",
            "app",
            "--format",
            "json",
            "--startup-time",
            "30",
        ],
    );
    let doc = run.json();
    // The deleted target group leaves svc-broken's load balancer checks unevaluated.
    assert_eq!(run.code, 2, "{:#?}", failing(&doc));
    let findings = doc["findings"].as_array().unwrap();
    let errors: Vec<&Value> = findings.iter().filter(|f| f["status"] == "error").collect();
    assert!(!errors.is_empty());
    for e in &errors {
        assert_eq!(e["service"], "svc-broken", "{e}");
        assert!(e["message"].as_str().unwrap().contains("broken-tg"), "{e}");
    }
    // The other services were checked in full.
    let summaries = doc["services"].as_array().unwrap();
    assert_eq!(summaries.len(), 6);
    for s in summaries.iter().filter(|s| s["service"] != "svc-broken") {
        assert_eq!(s["summary"]["error"], 0, "{s}");
        assert_eq!(s["summary"]["fail"], 0, "{s}");
        assert!(s["summary"]["pass"].as_u64().unwrap() > 10, "{s}");
    }
}

#[test]
fn pre_deploy_with_a_target_group_judges_the_health_check_timing() {
    let region = "eu-south-2";
    let built = scenario("alb-grace-0", region);
    let subnets: Vec<&str> = built["subnet_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    let run = tool(
        region,
        "AKIATESTING",
        &[
            "check",
            "--task-definition",
            "web",
            "--subnets",
            &subnets.join(","),
            "--security-groups",
            built["task_sg"].as_str().unwrap(),
            "--target-group",
            built["target_group_arn"].as_str().unwrap(),
            "--grace-period",
            "0",
            "--startup-time",
            "120",
            "--format",
            "json",
        ],
    );
    let doc = run.json();
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(statuses(&doc, "health-check-timing"), ["fail"]);
    assert_eq!(statuses(&doc, "load-balancer-ingress"), ["pass"]);
}

/// (check, status, resource) of every finding: what a run decided.
fn verdicts(doc: &Value) -> Vec<(String, String, String)> {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["check"].as_str().unwrap().to_string(),
                f["status"].as_str().unwrap().to_string(),
                f["resource"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

const CHECK_WEB: [&str; 7] = [
    "check",
    "--cluster",
    "app",
    "--service",
    "web",
    "--format",
    "json",
];

#[test]
fn throttling_slows_the_run_down_and_changes_no_verdict() {
    let region = "il-central-1";
    scenario("alb-grace-300", region);
    let clean = tool_with_env(region, "AKIACLEANRUN", &CHECK_WEB, &[]);
    assert_eq!(clean.code, 0, "{:#?}", failing(&clean.json()));
    // Every action throttled for its first two calls: the default retries get through.
    throttle("AKIATHROTTLE2", 2);
    let throttled = tool_with_env(region, "AKIATHROTTLE2", &CHECK_WEB, &[]);
    assert_eq!(throttled.code, clean.code, "{}", throttled.stderr);
    assert_eq!(verdicts(&throttled.json()), verdicts(&clean.json()));
    eprintln!(
        "throttled run: {} ms, clean run: {} ms",
        throttled.json()["stats"]["wall_ms"],
        clean.json()["stats"]["wall_ms"]
    );
    let requests = emulator_requests("AKIATHROTTLE2");
    let calls = throttled.json()["stats"]["api_calls_by_operation"].clone();
    for (operation, count) in calls.as_object().unwrap() {
        // The first two requests of each action were throttled and retried.
        assert_eq!(
            requests[operation],
            count.as_u64().unwrap() + 2,
            "{operation}"
        );
    }
}

#[test]
fn throttling_past_the_retry_budget_is_an_error_naming_the_action() {
    let region = "mx-central-1";
    scenario("endpoint-only", region);
    throttle("AKIATHROTTLE9", 9);
    let run = tool_with_env(
        region,
        "AKIATHROTTLE9",
        &CHECK_WEB,
        &[("AWS_MAX_ATTEMPTS", "2")],
    );
    // The service lookup itself is throttled: no report, one line naming the action.
    assert_eq!(run.code, 2);
    assert!(run.stdout.is_empty());
    assert!(
        run.stderr.contains("DescribeServices") || run.stderr.contains("describe service"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.to_lowercase().contains("throttl") || run.stderr.contains("Rate exceeded"),
        "{}",
        run.stderr
    );
}

/// The real binary on the issue-18 states the emulator can hold: the endpoint that owns the
/// name is the one judged; every hop and prefix-list route takes part in route resolution.
#[test]
fn several_endpoints_and_specific_routes_through_the_real_api() {
    let cases = [
        (
            "nat-shadowed-ecr-dkr-denies",
            "ap-south-2",
            "ecr-dkr-endpoint",
            "fail",
        ),
        (
            "nat-subnet-split-to-tgw",
            "ap-southeast-4",
            "egress-path",
            "warn",
        ),
        (
            "nat-prefix-list-to-tgw",
            "eu-central-2",
            "egress-path",
            "warn",
        ),
    ];
    for (name, region, check, status) in cases {
        scenario(name, region);
        let run = check_json(region);
        let doc = run.json();
        assert!(
            statuses(&doc, check).contains(&status),
            "{name}: {check} {:?}\n{}",
            statuses(&doc, check),
            run.stderr
        );
        if name == "nat-shadowed-ecr-dkr-denies" {
            let row = doc["findings"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["check"] == check && f["status"] == "fail")
                .unwrap();
            assert!(
                row["message"]
                    .as_str()
                    .unwrap()
                    .contains("ecr:BatchGetImage"),
                "{row}"
            );
        }
        if name == "nat-prefix-list-to-tgw" {
            // The list's entries were gathered (GetManagedPrefixListEntries): the route is judged
            // by its public CIDRs, not as an unknown list.
            let message = finding(&doc, check)["message"].as_str().unwrap();
            assert!(message.contains("tgw-"), "{message}");
            assert!(!message.contains("not known"), "{message}");
        }
    }
}

/// Nothing secret leaves the tool: planted credentials, an environment variable's value and a
/// secret's value appear in no format's output, on stderr, or in the snapshot.
#[test]
fn no_credential_or_secret_value_in_any_output() {
    let region = "ap-southeast-5";
    scenario("secrets-ok", region);
    let planted_key = "PLANTEDsecretACCESSkey0123456789abcdefXYZ";
    let planted_token = "PLANTEDsessionTOKENvalue9876543210";
    let env = [
        ("AWS_SECRET_ACCESS_KEY", planted_key),
        ("AWS_SESSION_TOKEN", planted_token),
        ("AWS_MAX_ATTEMPTS", "1"),
    ];
    let mut runs = Vec::new();
    for format in ["table", "json", "junit", "github", "markdown"] {
        let args = [
            "check",
            "--cluster",
            "app",
            "--service",
            "web",
            "--format",
            format,
            "-v",
        ];
        runs.push((format, tool_with_env(region, "AKIAPLANTED", &args, &env)));
    }
    let snapshot = ["snapshot", "--cluster", "app", "--service", "web"];
    runs.push((
        "snapshot",
        tool_with_env(region, "AKIAPLANTED", &snapshot, &env),
    ));
    for (what, run) in &runs {
        assert!(!run.stdout.is_empty(), "{what}: {}", run.stderr);
        for planted in [planted_key, planted_token, "hunter2", "s3cr3t-value"] {
            assert!(!run.stdout.contains(planted), "{what}: {planted} on stdout");
            assert!(!run.stderr.contains(planted), "{what}: {planted} on stderr");
        }
    }
    // The secret is referenced, so the check did look at it (by name, never by value).
    assert!(runs[1].1.stdout.contains("DB_PASSWORD") || runs[1].1.stdout.contains("prod/db"));
}

/// ListServices pages of 100 (the emulator pages as the API does: 10 unless maxResults says
/// more): 120 services cost 2 ListServices and 12 DescribeServices, and every one is checked.
#[test]
fn services_are_listed_in_pages_of_100() {
    let region = "me-central-1";
    scenario("cluster-120", region);
    let key = "AKIACLUSTER120";
    let run = tool(
        region,
        key,
        &["check", "--cluster", "app", "--format", "json"],
    );
    let doc = run.json();
    assert_eq!(run.code, 0, "{:#?}\n{}", failing(&doc), run.stderr);
    assert_eq!(doc["services"].as_array().unwrap().len(), 120);
    let calls = &doc["stats"]["api_calls_by_operation"];
    assert_eq!(calls["ecs:ListServices"], 2);
    assert_eq!(calls["ecs:DescribeServices"], 12);
    let log = emulator_requests(key);
    assert_eq!(log["ecs:ListServices"], 2);
    assert_eq!(log["ecs:DescribeServices"], 12);
}

/// One VPC-wide call throttled past the retry budget: the checks that need its data report
/// `error` naming the action (never pass, never a hang), the rest are judged in full.
#[test]
fn one_call_throttled_past_the_budget_is_an_error_of_the_checks_that_need_it() {
    let region = "us-east-1";
    scenario("endpoint-only", region);
    throttle_only("AKIATHROTTLEVPCE", 9, &["ec2:DescribeVpcEndpoints"]);
    let run = tool_with_env(
        region,
        "AKIATHROTTLEVPCE",
        &CHECK_WEB,
        &[("AWS_MAX_ATTEMPTS", "2")],
    );
    let doc = run.json();
    assert_eq!(run.code, 2, "{}", run.stderr);
    let errors: Vec<&Value> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["status"] == "error")
        .collect();
    assert!(!errors.is_empty());
    for f in &errors {
        assert!(
            f["message"]
                .as_str()
                .unwrap()
                .contains("ec2:DescribeVpcEndpoints"),
            "{f}"
        );
    }
    for check in [
        "ecr-dkr-endpoint",
        "endpoint-private-dns",
        "endpoint-security-groups",
    ] {
        assert_eq!(statuses(&doc, check), ["error"], "{check}");
    }
    // What does not need the endpoints is still judged.
    assert_eq!(statuses(&doc, "vpc-dns"), ["pass"]);
    assert!(statuses(&doc, "route-table").iter().all(|s| *s == "pass"));
}

/// [seconds, action] of each request of `access_key`, in arrival order (with `/_fp/delay`).
fn arrivals(access_key: &str) -> Vec<(f64, String)> {
    serde_json::from_value(get(&format!("/_fp/arrivals?access_key_id={access_key}")))
        .expect("arrival log")
}

fn first_arrival(log: &[(f64, String)], action: &str) -> f64 {
    log.iter()
        .find(|(_, a)| a == action)
        .unwrap_or_else(|| panic!("no {action} in {log:?}"))
        .0
}

/// With a fixed 100 ms round trip, each call starts as soon as the answers it needs are in:
/// the VPC-wide calls do not wait for DescribeLoadBalancers, the inline policies do not wait
/// for the attached ones, and the critical path is the data's own depth of 5.
#[test]
fn calls_start_as_soon_as_their_inputs_are_known() {
    for (scenario_name, region, key) in [
        ("alb-grace-300", "ap-east-1", "AKIADELAYALB"),
        ("ptc-ok", "ap-east-2", "AKIADELAYPTC"),
    ] {
        scenario(scenario_name, region);
        post(
            "/_fp/delay",
            serde_json::json!({"access_key_id": key, "ms": 100}),
        );
        let run = tool(region, key, &CHECK_WEB);
        let doc = run.json();
        assert_eq!(
            run.code,
            0,
            "{scenario_name}: {:#?}\n{}",
            failing(&doc),
            run.stderr
        );
        assert_eq!(doc["stats"]["waves"], 5, "{scenario_name}");
        let log = arrivals(key);
        if scenario_name == "alb-grace-300" {
            let lb = first_arrival(&log, "elasticloadbalancing:DescribeLoadBalancers");
            let vpc = first_arrival(&log, "ec2:DescribeVpcs");
            assert!(
                vpc < lb + 0.05,
                "DescribeVpcs at {vpc} s waited for DescribeLoadBalancers at {lb} s"
            );
        } else {
            let inline = first_arrival(&log, "iam:GetRolePolicy");
            let version = first_arrival(&log, "iam:GetPolicyVersion");
            assert!(
                inline < version,
                "GetRolePolicy at {inline} s waited for GetPolicyVersion at {version} s"
            );
        }
        eprintln!(
            "{scenario_name} at 100 ms per call: {} ms",
            doc["stats"]["wall_ms"]
        );
    }
}

/// Images pushed to the emulator's ECR the way `docker push` pushes them: first nothing
/// under the tag, then an arm64-only index, then a multi-arch one.
#[test]
fn a_missing_tag_and_an_arm64_only_image_fail_with_exit_1() {
    let region = "ap-northeast-1";
    scenario("image-tag-missing", region);
    let run = check_json(region);
    let doc = run.json();
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(failing(&doc).len(), 1, "{:#?}", failing(&doc));
    let row = finding(&doc, "image-exists");
    assert_eq!(row["status"], "fail");
    assert!(
        row["message"]
            .as_str()
            .unwrap()
            .contains("has no image with tag 1.0"),
        "{row}"
    );

    change(region, &["--push-image", "arm64-only"]);
    let run = check_json(region);
    let doc = run.json();
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(failing(&doc).len(), 1, "{:#?}", failing(&doc));
    let row = finding(&doc, "image-platform");
    assert_eq!(row["status"], "fail");
    let message = row["message"].as_str().unwrap();
    assert!(message.contains("offers linux/arm64"), "{row}");
    // The index's attestation entry (unknown/unknown) is not a platform.
    assert!(!message.contains("unknown"), "{row}");
    let fix = row["remediation"].as_str().unwrap();
    assert!(fix.contains("--platform linux/amd64,linux/arm64"), "{row}");

    change(region, &["--push-image", "multi-arch"]);
    let run = check_json(region);
    assert_eq!(run.code, 0, "{:#?}", failing(&run.json()));
}

/// A change to what a scenario built, as it happens in a live account (scenario.py's flags).
/// Applies a scenario change; what it prints (JSON, for the flags that create something).
fn change(region: &str, flags: &[&str]) -> String {
    let emu = emulator();
    let out = Command::new(&emu.python)
        .arg(repo().join("tests/emulator/scenario.py"))
        .args(["--endpoint", &emu.url, "--region", region])
        .args(flags)
        .output()
        .expect("scenario builder runs");
    assert!(
        out.status.success(),
        "{flags:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// A single manifest's platform is in its config blob: the URL from GetDownloadUrlForLayer,
/// then the blob itself. A denied DescribeImages is an error; archiving the image afterwards
/// turns the verdict red.
#[test]
fn a_single_manifest_is_judged_by_its_config_blob_until_it_is_archived() {
    let region = "ap-southeast-6";
    scenario("image-amd64", region);
    let key = "AKIASINGLEMANIFEST";
    let args = [
        "check",
        "--cluster",
        "app",
        "--service",
        "web",
        "--format",
        "json",
    ];
    let run = tool(region, key, &args);
    let doc = run.json();
    assert_eq!(run.code, 0, "{:#?}\n{}", failing(&doc), run.stderr);
    let row = finding(&doc, "image-platform");
    assert_eq!(row["status"], "pass");
    let message = row["message"].as_str().unwrap();
    assert!(message.contains("its config says linux/amd64"), "{row}");
    let calls = &doc["stats"]["api_calls_by_operation"];
    assert_eq!(calls["ecr:GetDownloadUrlForLayer"], 1);
    assert_eq!(calls["http:GET image config blob"], 1);
    assert_eq!(emulator_requests(key)["ecr:GetDownloadUrlForLayer"], 1);
    // Service, task definition, the cache rules (a cache repository's manifest is never
    // read), manifest, URL, blob: one round trip deeper than the IAM chain.
    assert_eq!(doc["stats"]["waves"], 6);

    // DescribeImages denied: an error naming the action, exit 2; the rest still runs.
    deny("AKIADENIEDIMAGES", &["ecr:DescribeImages"]);
    let run = tool(region, "AKIADENIEDIMAGES", &args);
    let doc = run.json();
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(statuses(&doc, "image-exists"), ["error"]);
    let row = finding(&doc, "image-exists");
    assert!(
        row["message"]
            .as_str()
            .unwrap()
            .contains("ecr:DescribeImages was denied"),
        "{row}"
    );
    assert_eq!(statuses(&doc, "execution-role"), ["pass"]);

    change(region, &["--archive-image"]);
    let run = tool(region, key, &args);
    let doc = run.json();
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(statuses(&doc, "image-exists"), ["fail"]);
    let row = finding(&doc, "image-exists");
    assert!(
        row["message"].as_str().unwrap().contains("is archived"),
        "{row}"
    );
    assert!(row["remediation"]
        .as_str()
        .unwrap()
        .contains("--target-storage-class STANDARD"));
    assert_eq!(statuses(&doc, "image-platform"), ["skip"]);
}

/// moto implements EFS; the emulator adds the REST routes its fault injection needs.
#[test]
fn efs_volumes_and_ecs_exec_against_the_real_api() {
    let region = "ap-southeast-7";
    let built = scenario("efs-exec-without-ssm", region);
    let key = "AKIAEFSEXEC";
    let args = [
        "check",
        "--cluster",
        "app",
        "--service",
        "web",
        "--format",
        "json",
    ];
    let run = tool(region, key, &args);
    let doc = run.json();
    // The EFS volume mounts; Exec's task role may neither open the SSM channels nor use
    // the cluster's Exec KMS key (read with DescribeClusters include=CONFIGURATIONS).
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        statuses(&doc, "efs-volumes"),
        ["pass"],
        "{:#?}",
        failing(&doc)
    );
    assert_eq!(statuses(&doc, "task-role"), ["pass"]);
    let failed = failing(&doc);
    assert_eq!(failed.len(), 2, "{failed:#?}");
    let exec_fail = |f: &String| f.starts_with("\"ecs-exec\" \"fail\"");
    assert!(failed.iter().all(exec_fail), "{failed:#?}");
    assert!(failed
        .iter()
        .any(|f| f.contains("ssmmessages:CreateControlChannel")));
    assert!(failed
        .iter()
        .any(|f| f.contains("kms:Decrypt on arn:aws:kms:")));
    // One file system: each EFS read once, the security groups once per mount target.
    let efs = serde_json::json!({
        "elasticfilesystem:DescribeAccessPoints": 1,
        "elasticfilesystem:DescribeFileSystemPolicy": 1,
        "elasticfilesystem:DescribeFileSystems": 1,
        "elasticfilesystem:DescribeMountTargetSecurityGroups": 2,
        "elasticfilesystem:DescribeMountTargets": 1,
    });
    let requests = emulator_requests(key);
    for (action, count) in efs.as_object().unwrap() {
        assert_eq!(&requests[action], count, "{action}: {requests}");
        assert_eq!(
            &doc["stats"]["api_calls_by_operation"][action], count,
            "{action}"
        );
    }
    assert_eq!(requests["ecs:DescribeClusters"], 1);
    let file_system = built["file_system_id"].as_str().unwrap();

    // A denied EFS read is an error naming it, never a pass.
    deny("AKIAEFSDENIED", &["elasticfilesystem:DescribeMountTargets"]);
    let run = tool(region, "AKIAEFSDENIED", &args);
    let doc = run.json();
    // Exit 1, not 2: ecs-exec still fails, and a failure outranks an error.
    assert_eq!(run.code, 1, "{}", run.stderr);
    let row = finding(&doc, "efs-volumes");
    assert_eq!(row["status"], "error");
    assert!(row["message"]
        .as_str()
        .unwrap()
        .contains("elasticfilesystem:DescribeMountTargets"));

    change(region, &["--drop-mount-target"]);
    let run = tool(region, key, &args);
    let doc = run.json();
    assert_eq!(run.code, 1);
    let gone = format!("{file_system} has no mount target in");
    assert!(
        failing(&doc).iter().any(|f| f.contains(&gone)),
        "{:#?}",
        failing(&doc)
    );

    change(region, &["--close-efs-sg"]);
    let run = tool(region, key, &args);
    let doc = run.json();
    assert!(
        failing(&doc)
            .iter()
            .any(|f| f.contains("do not allow inbound TCP 2049 from the task")),
        "{:#?}",
        failing(&doc)
    );
}
