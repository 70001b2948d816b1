//! Read-only, proven: every AWS SDK operation the source invokes is found by name (against the
//! operation modules of the SDK crates in Cargo.lock), each must be a read, and the README's
//! IAM policy lists exactly those actions.

use std::collections::BTreeSet;
use std::path::PathBuf;

use crate::repo;

/// (gather file, SDK crate, IAM service prefix).
const SERVICES: [(&str, &str, &str); 15] = [
    ("ec2.rs", "aws-sdk-ec2", "ec2"),
    ("sts.rs", "aws-sdk-sts", "sts"),
    ("quota.rs", "aws-sdk-servicequotas", "servicequotas"),
    ("usage.rs", "aws-sdk-cloudwatch", "cloudwatch"),
    ("efs.rs", "aws-sdk-efs", "elasticfilesystem"),
    ("start.rs", "aws-sdk-secretsmanager", "secretsmanager"),
    ("start.rs", "aws-sdk-ssm", "ssm"),
    ("start.rs", "aws-sdk-cloudwatchlogs", "logs"),
    ("start.rs", "aws-sdk-s3", "s3"),
    ("start.rs", "aws-sdk-kms", "kms"),
    (
        "scaling.rs",
        "aws-sdk-applicationautoscaling",
        "application-autoscaling",
    ),
    ("ecs.rs", "aws-sdk-ecs", "ecs"),
    ("ecr.rs", "aws-sdk-ecr", "ecr"),
    ("iam.rs", "aws-sdk-iam", "iam"),
    (
        "elbv2.rs",
        "aws-sdk-elasticloadbalancingv2",
        "elasticloadbalancing",
    ),
];

/// Reads whose names do not start with Describe/Get/List, each with its reason.
/// head_object: S3 HeadObject returns an object's metadata, never its contents.
const NAMED_READS: [&str; 1] = ["head_object"];

fn read(path: &PathBuf) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The `src/operation` directory of an SDK crate at the version Cargo.lock pins.
fn operation_dir(krate: &str) -> PathBuf {
    let lock = read(&repo().join("Cargo.lock"));
    let marker = format!("name = \"{krate}\"\nversion = \"");
    let start = lock
        .find(&marker)
        .unwrap_or_else(|| panic!("{krate} not in Cargo.lock"))
        + marker.len();
    let version = &lock[start..start + lock[start..].find('"').unwrap()];
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cargo"));
    let registry = home.join("registry/src");
    std::fs::read_dir(&registry)
        .expect("cargo registry sources")
        .map(|e| {
            e.unwrap()
                .path()
                .join(format!("{krate}-{version}/src/operation"))
        })
        .find(|p| p.is_dir())
        .unwrap_or_else(|| {
            panic!(
                "sources of {krate} {version} not under {}",
                registry.display()
            )
        })
}

/// The operation names (snake_case) of an SDK crate at the version Cargo.lock pins.
fn operations(krate: &str) -> BTreeSet<String> {
    std::fs::read_dir(operation_dir(krate))
        .unwrap()
        .filter_map(|e| {
            let path = e.unwrap().path();
            path.is_dir()
                .then(|| path.file_name().unwrap().to_string_lossy().into_owned())
        })
        .collect()
}

/// Every `.name()` call (no arguments: how SDK fluent builders start) in a source text.
fn zero_argument_calls(text: &str) -> BTreeSet<String> {
    let mut calls = BTreeSet::new();
    let bytes = text.as_bytes();
    for (i, _) in text.match_indices("()") {
        let mut j = i;
        while j > 0 && (bytes[j - 1].is_ascii_alphanumeric() || bytes[j - 1] == b'_') {
            j -= 1;
        }
        if j > 0 && bytes[j - 1] == b'.' && j < i {
            calls.insert(text[j..i].to_string());
        }
    }
    calls
}

/// The API's own name of an operation, as its SDK module records it
/// (`Metadata::new("GetAWSDefaultServiceQuota", …)`): IAM actions carry that name, which the
/// snake_case module name does not always spell back (`get_aws_default_service_quota`).
fn api_name(krate: &str, snake: &str) -> String {
    let source = read(&operation_dir(krate).join(format!("{snake}.rs")));
    source
        .split("Metadata::new(")
        .nth(1)
        .and_then(|rest| rest.split('"').nth(1))
        .map(str::to_string)
        .unwrap_or_else(|| pascal(snake))
}

/// The IAM action that authorizes an operation whose name is not an action of its own: "To use
/// HEAD, you must have the s3:GetObject permission"
/// (https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html).
fn iam_action(operation: &str) -> &str {
    match operation {
        "s3:HeadObject" => "s3:GetObject",
        other => other,
    }
}

fn pascal(snake: &str) -> String {
    snake
        .split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn is_read(operation: &str) -> bool {
    // BatchGet* reads several resources in one call (ecr:BatchGetImage returns manifests).
    ["describe_", "get_", "list_", "batch_get_"]
        .iter()
        .any(|p| operation.starts_with(p))
        || NAMED_READS.contains(&operation)
}

/// The IAM actions the source invokes, checked to be reads.
fn invoked_actions() -> BTreeSet<String> {
    let gather = repo().join("src/gather");
    let mut actions = BTreeSet::new();
    let mut problems = Vec::new();
    let all_ops: Vec<(&str, BTreeSet<String>)> = SERVICES
        .iter()
        .map(|(file, krate, _)| (*file, operations(krate)))
        .collect();
    for entry in walk(&repo().join("src")) {
        let text = read(&entry);
        let name = entry.file_name().unwrap().to_string_lossy().into_owned();
        let in_gather = entry.starts_with(&gather);
        for call in zero_argument_calls(&text) {
            for ((file, ops), (_, krate, prefix)) in all_ops.iter().zip(SERVICES) {
                if !ops.contains(&call) {
                    continue;
                }
                if !in_gather || name != *file {
                    // The same name in another service's file is that client's method only
                    // when that file is the service's own.
                    if in_gather && SERVICES.iter().any(|(f, _, _)| *f == name) {
                        continue;
                    }
                    problems.push(format!(
                        "{}: {call} (an SDK operation outside src/gather/{file})",
                        entry.display()
                    ));
                    continue;
                }
                if !is_read(&call) {
                    problems.push(format!(
                        "{}: {call} is not a Describe/Get/List/BatchGet read",
                        entry.display()
                    ));
                }
                let action = format!("{prefix}:{}", api_name(krate, &call));
                actions.insert(iam_action(&action).to_string());
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    actions
}

fn walk(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

#[test]
fn every_aws_call_is_a_read_and_the_readme_policy_lists_exactly_them() {
    let actions = invoked_actions();
    assert!(actions.len() >= 20, "operations went missing: {actions:?}");
    assert!(
        actions.contains("ec2:DescribeVpcEndpoints") && actions.contains("iam:GetPolicyVersion")
    );
    let readme = read(&repo().join("README.md"));
    let section = &readme[readme.find("## IAM policy to run it").expect("IAM section")..];
    let block = &section[section.find("```json").expect("policy block") + 7..];
    let block = &block[..block.find("```").unwrap()];
    let policy: serde_json::Value =
        serde_json::from_str(block).expect("the README's policy is JSON");
    let listed: BTreeSet<String> = policy["Statement"][0]["Action"]
        .as_array()
        .expect("an Action list")
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        listed,
        actions,
        "the README's IAM policy must list exactly the actions the code calls; they are:\n{}",
        actions
            .iter()
            .map(|a| format!("      \"{a}\","))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn the_operation_finder_finds_writes() {
    let ops = operations("aws-sdk-ec2");
    let calls = zero_argument_calls("client\n    .create_vpc_endpoint()\n    .vpc_id(v).send()");
    let found: Vec<&String> = calls.iter().filter(|c| ops.contains(*c)).collect();
    assert_eq!(found, ["create_vpc_endpoint"]);
    assert!(!is_read("create_vpc_endpoint") && is_read("describe_vpcs"));
}
