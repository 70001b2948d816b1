//! IAM: the task execution role, its trust policy and every policy document that applies.
//! Waves: GetRole + both policy lists; then GetPolicy + GetRolePolicy (at once); then
//! GetPolicyVersion.

use aws_sdk_iam::Client;
use futures::future::join_all;

use super::calls::{later_wave, Limited};
use super::errors::{classify, skipped};
use crate::snapshot::{Fetched, GatherErrorKind, PolicyDocument, Role};

/// `arn:aws:iam::ACCOUNT:role/path/NAME` → `NAME`.
fn role_name(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

pub async fn gather_role(client: &Client, arn: Option<&str>) -> Fetched<Option<Role>> {
    let Some(arn) = arn else {
        return Fetched::Ok(None);
    };
    let name = role_name(arn);
    let (role, attached, inline) = tokio::join!(
        client.get_role().role_name(name).send().limited(),
        client
            .list_attached_role_policies()
            .role_name(name)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .limited(),
        client
            .list_role_policies()
            .role_name(name)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .limited(),
    );
    let role = match role {
        Ok(out) => match out.role() {
            Some(role) => role.clone(),
            None => return Fetched::failed(not_found(arn)),
        },
        Err(err) => {
            let mut error = classify("iam:GetRole", &err);
            if err
                .as_service_error()
                .is_some_and(|e| e.is_no_such_entity_exception())
            {
                error.kind = GatherErrorKind::NotFound;
            }
            return Fetched::failed(error);
        }
    };
    // The attached, inline and boundary documents do not depend on each other: fetched at once.
    let attached_policies = async {
        match attached {
            Ok(list) => {
                let arns: Vec<String> = list
                    .iter()
                    .filter_map(|p| p.policy_arn().map(str::to_string))
                    .collect();
                join_all(arns.iter().map(|arn| managed_policy(client, arn))).await
            }
            Err(err) => vec![PolicyDocument {
                name: "(attached policies)".into(),
                document: Fetched::failed(classify("iam:ListAttachedRolePolicies", &err)),
            }],
        }
    };
    let inline_policies = async {
        match inline {
            Ok(names) => {
                later_wave(
                    1,
                    join_all(names.iter().map(|n| inline_policy(client, name, n))),
                )
                .await
            }
            Err(err) => vec![PolicyDocument {
                name: "(inline policies)".into(),
                document: Fetched::failed(classify("iam:ListRolePolicies", &err)),
            }],
        }
    };
    let boundary_arn = role
        .permissions_boundary()
        .and_then(|b| b.permissions_boundary_arn())
        .map(str::to_string);
    let permissions_boundary = async {
        match &boundary_arn {
            Some(boundary) => Some(managed_policy(client, boundary).await),
            None => None,
        }
    };
    let (attached_policies, inline_policies, permissions_boundary) =
        tokio::join!(attached_policies, inline_policies, permissions_boundary);
    Fetched::Ok(Some(Role {
        arn: role.arn().to_string(),
        name: role.role_name().to_string(),
        trust_policy: role.assume_role_policy_document().map(str::to_string),
        attached_policies,
        inline_policies,
        permissions_boundary,
        tags: role
            .tags()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect(),
    }))
}

/// GetRole alone; NoSuchEntity is `None`.
async fn get_role(client: &Client, name: &str) -> Fetched<Option<aws_sdk_iam::types::Role>> {
    match client.get_role().role_name(name).send().limited().await {
        Ok(out) => Fetched::Ok(out.role().cloned()),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_no_such_entity_exception()) =>
        {
            Fetched::Ok(None)
        }
        Err(err) => Fetched::failed(classify("iam:GetRole", &err)),
    }
}

/// Whether role `name` exists.
pub async fn role_exists(client: &Client, name: &str) -> Fetched<bool> {
    match get_role(client, name).await {
        Fetched::Ok(role) => Fetched::Ok(role.is_some()),
        Fetched::Failed { error } => Fetched::failed(error),
    }
}

/// The trust policy of the role `arn` names; `None` when the role does not exist.
pub async fn trust_policy(client: &Client, arn: &str) -> Fetched<Option<String>> {
    match get_role(client, role_name(arn)).await {
        Fetched::Ok(role) => Fetched::Ok(role.map(|r| {
            r.assume_role_policy_document()
                .unwrap_or_default()
                .to_string()
        })),
        Fetched::Failed { error } => Fetched::failed(error),
    }
}

fn not_found(arn: &str) -> crate::snapshot::GatherError {
    crate::snapshot::GatherError {
        action: "iam:GetRole".into(),
        kind: GatherErrorKind::NotFound,
        message: format!("role {arn} does not exist"),
    }
}

async fn managed_policy(client: &Client, arn: &str) -> PolicyDocument {
    let document = match later_wave(1, client.get_policy().policy_arn(arn).send().limited()).await {
        Ok(out) => match out.policy().and_then(|p| p.default_version_id()) {
            Some(version) => {
                let request = client
                    .get_policy_version()
                    .policy_arn(arn)
                    .version_id(version)
                    .send()
                    .limited();
                match later_wave(2, request).await {
                    Ok(out) => match out.policy_version().and_then(|v| v.document()) {
                        Some(doc) => Fetched::Ok(doc.to_string()),
                        None => Fetched::failed(crate::snapshot::GatherError {
                            action: "iam:GetPolicyVersion".into(),
                            kind: GatherErrorKind::Unavailable,
                            message: format!("no document in {arn} {version}"),
                        }),
                    },
                    Err(err) => Fetched::failed(classify("iam:GetPolicyVersion", &err)),
                }
            }
            None => Fetched::failed(crate::snapshot::GatherError {
                action: "iam:GetPolicy".into(),
                kind: GatherErrorKind::Unavailable,
                message: format!("{arn} has no default version"),
            }),
        },
        Err(err) => {
            let error = classify("iam:GetPolicy", &err);
            Fetched::failed(skipped("iam:GetPolicyVersion", &error))
        }
    };
    PolicyDocument {
        name: arn.to_string(),
        document,
    }
}

async fn inline_policy(client: &Client, role: &str, name: &str) -> PolicyDocument {
    let document = match client
        .get_role_policy()
        .role_name(role)
        .policy_name(name)
        .send()
        .limited()
        .await
    {
        Ok(out) => Fetched::Ok(out.policy_document().to_string()),
        Err(err) => Fetched::failed(classify("iam:GetRolePolicy", &err)),
    };
    PolicyDocument {
        name: name.to_string(),
        document,
    }
}
