//! Classifying SDK errors: denied and unavailable calls become data the checks report;
//! only failures that make the whole run meaningless are fatal.

use std::fmt::Debug;

use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};

use crate::snapshot::{GatherError, GatherErrorKind};

#[derive(Debug)]
pub enum FatalError {
    NoRegion,
    /// The cluster, service or task definition to check does not exist.
    TargetMissing(String),
    /// The first call could not be made or was refused: no credentials, no endpoint, denied.
    Aws(String),
}

impl std::fmt::Display for FatalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FatalError::NoRegion => {
                write!(f, "no AWS region: pass --region or set AWS_REGION")
            }
            FatalError::TargetMissing(msg) | FatalError::Aws(msg) => f.write_str(msg),
        }
    }
}

impl std::error::Error for FatalError {}

const DENIED_CODES: &[&str] = &[
    "UnauthorizedOperation",
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedException",
];

pub fn classify<E, R>(action: &str, err: &SdkError<E, R>) -> GatherError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: Debug,
{
    let code = err.code().unwrap_or_default();
    let kind = if DENIED_CODES.contains(&code) {
        GatherErrorKind::Denied
    } else if code.ends_with("NotFound") || code.ends_with("NotFoundException") {
        GatherErrorKind::NotFound
    } else {
        GatherErrorKind::Unavailable
    };
    GatherError {
        action: action.to_string(),
        kind,
        message: one_line(err),
    }
}

/// The whole error chain on one line (stderr messages and findings are one line each).
pub fn one_line<E>(err: &E) -> String
where
    E: std::error::Error,
{
    let mut parts = vec![err.to_string()];
    let mut source = err.source();
    while let Some(inner) = source {
        let text = inner.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = inner.source();
    }
    let text = parts.join(": ");
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.contains("no credentials found") || text.contains("CredentialsNotLoaded") {
        format!("no AWS credentials found (set AWS_PROFILE or --profile, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run `aws sso login`): {text}")
    } else {
        text
    }
}

pub fn skipped(action: &str, because: &GatherError) -> GatherError {
    GatherError {
        action: action.to_string(),
        kind: GatherErrorKind::Skipped,
        message: because.describe(),
    }
}
