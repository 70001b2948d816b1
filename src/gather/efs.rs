//! EFS: each file system the task's volumes mount, with its mount targets (and their security
//! groups), access points and file system policy.

use aws_sdk_efs::Client;
use futures::future::join_all;

use super::calls::{self, Limited};
use super::errors::classify;
use crate::snapshot::{
    AccessPoint, Fetched, FileSystem, FileSystemDescription, MountTarget, ResourcePolicy,
};

pub async fn gather_file_system(client: &Client, id: &str) -> FileSystem {
    let (description, mount_targets, access_points, policy) = tokio::join!(
        describe(client, id),
        mount_targets(client, id),
        access_points(client, id),
        policy(client, id),
    );
    FileSystem {
        id: id.to_string(),
        description,
        mount_targets,
        access_points,
        policy,
    }
}

async fn describe(client: &Client, id: &str) -> Fetched<FileSystemDescription> {
    let result = client
        .describe_file_systems()
        .file_system_id(id)
        .send()
        .limited()
        .await;
    match result {
        Ok(out) => match out.file_systems().first() {
            Some(fs) => Fetched::Ok(FileSystemDescription {
                arn: fs.file_system_arn().unwrap_or_default().to_string(),
                life_cycle_state: fs.life_cycle_state().as_str().to_string(),
                availability_zone_name: fs.availability_zone_name().map(str::to_string),
            }),
            None => Fetched::failed(not_found(id)),
        },
        Err(err) => Fetched::failed(classify("elasticfilesystem:DescribeFileSystems", &err)),
    }
}

fn not_found(id: &str) -> crate::snapshot::GatherError {
    crate::snapshot::GatherError {
        action: "elasticfilesystem:DescribeFileSystems".into(),
        kind: crate::snapshot::GatherErrorKind::NotFound,
        message: format!("FileSystemNotFound: no file system {id}"),
    }
}

/// Every mount target, each with its security groups (asked one wave later: they need its id).
async fn mount_targets(client: &Client, id: &str) -> Fetched<Vec<MountTarget>> {
    let listed = client
        .describe_mount_targets()
        .file_system_id(id)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .limited()
        .await;
    let listed = match listed {
        Ok(listed) => listed,
        Err(err) => {
            return Fetched::failed(classify("elasticfilesystem:DescribeMountTargets", &err))
        }
    };
    let groups = calls::later_wave(
        1,
        join_all(
            listed
                .iter()
                .map(|mt| security_groups(client, mt.mount_target_id())),
        ),
    )
    .await;
    Fetched::Ok(
        listed
            .iter()
            .zip(groups)
            .map(|(mt, security_groups)| MountTarget {
                id: mt.mount_target_id().to_string(),
                subnet_id: mt.subnet_id().to_string(),
                availability_zone_name: mt.availability_zone_name().map(str::to_string),
                life_cycle_state: mt.life_cycle_state().as_str().to_string(),
                ip_address: mt.ip_address().map(str::to_string),
                security_groups,
            })
            .collect(),
    )
}

async fn security_groups(client: &Client, mount_target: &str) -> Fetched<Vec<String>> {
    let result = client
        .describe_mount_target_security_groups()
        .mount_target_id(mount_target)
        .send()
        .limited()
        .await;
    match result {
        Ok(out) => Fetched::Ok(out.security_groups().to_vec()),
        Err(err) => Fetched::failed(classify(
            "elasticfilesystem:DescribeMountTargetSecurityGroups",
            &err,
        )),
    }
}

async fn access_points(client: &Client, id: &str) -> Fetched<Vec<AccessPoint>> {
    let listed = client
        .describe_access_points()
        .file_system_id(id)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .limited()
        .await;
    match listed {
        Ok(listed) => Fetched::Ok(
            listed
                .iter()
                .map(|ap| AccessPoint {
                    id: ap.access_point_id().unwrap_or_default().to_string(),
                    arn: ap.access_point_arn().unwrap_or_default().to_string(),
                    file_system_id: ap.file_system_id().unwrap_or_default().to_string(),
                    root_directory: ap
                        .root_directory()
                        .and_then(|r| r.path())
                        .map(str::to_string),
                    life_cycle_state: ap.life_cycle_state().map_or("", |s| s.as_str()).to_string(),
                })
                .collect(),
        ),
        Err(err) => Fetched::failed(classify("elasticfilesystem:DescribeAccessPoints", &err)),
    }
}

async fn policy(client: &Client, id: &str) -> Fetched<ResourcePolicy> {
    let result = client
        .describe_file_system_policy()
        .file_system_id(id)
        .send()
        .limited()
        .await;
    match result {
        Ok(out) => Fetched::Ok(ResourcePolicy {
            text: out.policy().map(str::to_string),
        }),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_policy_not_found()) =>
        {
            Fetched::Ok(ResourcePolicy { text: None })
        }
        Err(err) => Fetched::failed(classify("elasticfilesystem:DescribeFileSystemPolicy", &err)),
    }
}
