//! `--task-definition-file`: the JSON a user passes to `aws ecs register-task-definition
//! --cli-input-json` (or what `describe-task-definition` prints, inside `taskDefinition`), read
//! into the snapshot's own type without registering anything. Environment values are never kept.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::snapshot::{
    Container, ContainerDependency, ContainerHealthCheck, EfsVolume, LogConfiguration, MountPoint,
    PortMapping, SecretRef, TaskDefinition, TaskSize, Volume,
};

/// The revision a definition that is not registered yet is shown with.
pub const UNREGISTERED: i32 = 0;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Wrapper {
    task_definition: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FileTaskDefinition {
    family: String,
    task_role_arn: Option<String>,
    execution_role_arn: Option<String>,
    network_mode: Option<String>,
    #[serde(default)]
    requires_compatibilities: Vec<String>,
    /// A number or a string ("1 vCPU") in the JSON.
    cpu: Option<Value>,
    memory: Option<Value>,
    runtime_platform: Option<RuntimePlatform>,
    ephemeral_storage: Option<EphemeralStorage>,
    #[serde(default)]
    volumes: Vec<FileVolume>,
    #[serde(default)]
    container_definitions: Vec<FileContainer>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RuntimePlatform {
    operating_system_family: Option<String>,
    cpu_architecture: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EphemeralStorage {
    size_in_gi_b: i32,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FileVolume {
    name: String,
    efs_volume_configuration: Option<FileEfs>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FileEfs {
    file_system_id: String,
    root_directory: Option<String>,
    transit_encryption: Option<String>,
    authorization_config: Option<FileEfsAuth>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FileEfsAuth {
    access_point_id: Option<String>,
    iam: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FileContainer {
    name: String,
    image: String,
    essential: Option<bool>,
    cpu: Option<i32>,
    memory: Option<i32>,
    memory_reservation: Option<i32>,
    start_timeout: Option<i32>,
    stop_timeout: Option<i32>,
    #[serde(default)]
    port_mappings: Vec<FilePort>,
    log_configuration: Option<FileLog>,
    #[serde(default)]
    secrets: Vec<FileSecret>,
    /// Only the names are read.
    #[serde(default)]
    environment: Vec<FileName>,
    #[serde(default)]
    environment_files: Vec<FileEnvFile>,
    repository_credentials: Option<FileRepositoryCredentials>,
    health_check: Option<FileHealthCheck>,
    #[serde(default)]
    mount_points: Vec<FileMountPoint>,
    readonly_root_filesystem: Option<bool>,
    linux_parameters: Option<FileLinuxParameters>,
    #[serde(default)]
    depends_on: Vec<FileDependency>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FilePort {
    container_port: Option<i32>,
    host_port: Option<i32>,
    protocol: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FileLog {
    log_driver: String,
    #[serde(default)]
    options: BTreeMap<String, String>,
    #[serde(default)]
    secret_options: Vec<FileSecret>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FileSecret {
    name: String,
    value_from: String,
}

#[derive(Deserialize)]
struct FileName {
    name: Option<String>,
}

#[derive(Deserialize)]
struct FileEnvFile {
    value: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FileRepositoryCredentials {
    credentials_parameter: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FileHealthCheck {
    #[serde(default)]
    command: Vec<String>,
    interval: Option<i32>,
    timeout: Option<i32>,
    retries: Option<i32>,
    start_period: Option<i32>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FileMountPoint {
    source_volume: Option<String>,
    container_path: Option<String>,
    read_only: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FileLinuxParameters {
    init_process_enabled: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FileDependency {
    container_name: String,
    condition: String,
}

/// A number or a string as ECS accepts both for task cpu and memory.
fn size_text(v: Option<Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn secrets(list: Vec<FileSecret>) -> Vec<SecretRef> {
    list.into_iter()
        .map(|s| SecretRef {
            name: s.name,
            value_from: s.value_from,
        })
        .collect()
}

/// The task definition in `text`; `arn` is where the checks will know it by.
pub fn parse(text: &str, arn: &str) -> Result<TaskDefinition, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let value = match serde_json::from_value::<Wrapper>(value.clone()) {
        Ok(Wrapper {
            task_definition: Some(inner),
        }) => inner,
        _ => value,
    };
    let td: FileTaskDefinition = serde_path_to_error::deserialize(value)
        .map_err(|e| format!("at {}: {}", e.path(), e.inner()))?;
    let platform = td.runtime_platform;
    Ok(TaskDefinition {
        arn: arn.to_string(),
        family: td.family,
        revision: UNREGISTERED,
        network_mode: td.network_mode,
        requires_compatibilities: td.requires_compatibilities,
        os_family: platform
            .as_ref()
            .and_then(|p| p.operating_system_family.clone()),
        cpu_architecture: platform.and_then(|p| p.cpu_architecture),
        execution_role_arn: td.execution_role_arn,
        task_role_arn: td.task_role_arn,
        ephemeral_storage_gib: td.ephemeral_storage.map(|e| e.size_in_gi_b),
        size: Some(TaskSize {
            cpu: size_text(td.cpu),
            memory: size_text(td.memory),
        }),
        volumes: td
            .volumes
            .into_iter()
            .map(|v| Volume {
                name: v.name,
                efs: v.efs_volume_configuration.map(|e| EfsVolume {
                    file_system_id: e.file_system_id,
                    root_directory: e.root_directory,
                    transit_encryption: e.transit_encryption.as_deref() == Some("ENABLED"),
                    access_point_id: e
                        .authorization_config
                        .as_ref()
                        .and_then(|a| a.access_point_id.clone()),
                    iam: e.authorization_config.and_then(|a| a.iam).as_deref() == Some("ENABLED"),
                }),
            })
            .collect(),
        containers: td
            .container_definitions
            .into_iter()
            .map(container)
            .collect(),
    })
}

fn container(c: FileContainer) -> Container {
    Container {
        name: c.name,
        image: c.image,
        // ECS defaults `essential` to true when omitted.
        essential: c.essential.unwrap_or(true),
        port_mappings: c
            .port_mappings
            .into_iter()
            .map(|p| PortMapping {
                container_port: p.container_port,
                host_port: p.host_port,
                protocol: p.protocol,
            })
            .collect(),
        log_configuration: c.log_configuration.map(|l| LogConfiguration {
            log_driver: l.log_driver,
            options: l.options,
            secret_options: secrets(l.secret_options),
        }),
        secrets: secrets(c.secrets),
        environment_names: c.environment.into_iter().filter_map(|e| e.name).collect(),
        environment_files: c.environment_files.into_iter().map(|f| f.value).collect(),
        repository_credentials: c.repository_credentials.map(|r| r.credentials_parameter),
        health_check: c.health_check.map(|h| ContainerHealthCheck {
            command: h.command,
            interval: h.interval,
            timeout: h.timeout,
            retries: h.retries,
            start_period: h.start_period,
        }),
        mount_points: c
            .mount_points
            .into_iter()
            .map(|m| MountPoint {
                source_volume: m.source_volume.unwrap_or_default(),
                container_path: m.container_path.unwrap_or_default(),
                read_only: m.read_only.unwrap_or(false),
            })
            .collect(),
        readonly_root_filesystem: c.readonly_root_filesystem.unwrap_or(false),
        init_process_enabled: c
            .linux_parameters
            .and_then(|l| l.init_process_enabled)
            .unwrap_or(false),
        cpu: c.cpu.filter(|cpu| *cpu != 0),
        memory: c.memory,
        memory_reservation: c.memory_reservation,
        start_timeout: c.start_timeout,
        stop_timeout: c.stop_timeout,
        depends_on: c
            .depends_on
            .into_iter()
            .map(|d| ContainerDependency {
                container_name: d.container_name,
                condition: d.condition,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REGISTER_INPUT: &str = r#"{
      "family": "web",
      "networkMode": "awsvpc",
      "requiresCompatibilities": ["FARGATE"],
      "cpu": "1 vCPU",
      "memory": 2048,
      "executionRoleArn": "arn:aws:iam::123456789012:role/exec",
      "containerDefinitions": [{
        "name": "app",
        "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:1",
        "environment": [{"name": "DB_PASSWORD", "value": "hunter2"}],
        "portMappings": [{"containerPort": 8080, "hostPort": 8080}],
        "dependsOn": [{"containerName": "init", "condition": "SUCCESS"}]
      }, {
        "name": "init", "image": "busybox", "essential": false, "stopTimeout": 10
      }]
    }"#;

    #[test]
    fn reads_register_input_and_never_keeps_env_values() {
        let td = parse(REGISTER_INPUT, "arn").unwrap();
        assert_eq!(td.revision, UNREGISTERED);
        let size = td.size.unwrap();
        assert_eq!(size.cpu.as_deref(), Some("1 vCPU"));
        assert_eq!(size.memory.as_deref(), Some("2048"));
        assert_eq!(td.containers[0].environment_names, ["DB_PASSWORD"]);
        assert!(td.containers[0].essential);
        assert!(!td.containers[1].essential);
        assert_eq!(td.containers[0].depends_on[0].condition, "SUCCESS");
        assert_eq!(td.containers[1].stop_timeout, Some(10));
        let json = serde_json::to_string(&td.containers).unwrap();
        assert!(!json.contains("hunter2"), "{json}");
    }

    #[test]
    fn reads_the_describe_output_wrapper() {
        let wrapped = format!("{{\"taskDefinition\": {REGISTER_INPUT}, \"tags\": []}}");
        assert_eq!(parse(&wrapped, "arn").unwrap().family, "web");
    }

    #[test]
    fn a_bad_value_names_its_path() {
        let bad = r#"{"family": "web", "containerDefinitions": [{"name": "a", "image": 5}]}"#;
        let err = parse(bad, "arn").unwrap_err();
        assert!(err.starts_with("at containerDefinitions[0].image"), "{err}");
    }
}
