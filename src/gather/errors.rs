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
    /// The credential chain found nothing, or what it found is unusable (an expired SSO session).
    Credentials(String),
}

impl std::fmt::Display for FatalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FatalError::NoRegion => {
                write!(f, "no AWS region: pass --region or set AWS_REGION")
            }
            FatalError::TargetMissing(msg)
            | FatalError::Aws(msg)
            | FatalError::Credentials(msg) => f.write_str(msg),
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

/// Where the SDK's default credential chain looks, in its order.
const CHAIN: &str = "the environment (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY), the shared config and credentials files (~/.aws/config, ~/.aws/credentials: AWS_PROFILE or --profile, SSO, credential_process), web identity (AWS_WEB_IDENTITY_TOKEN_FILE), the ECS container credentials endpoint and the EC2 instance metadata service";

/// One line that says what is wrong with the credentials and how to fix it.
pub fn credentials_problem(
    error: &aws_credential_types::provider::error::CredentialsError,
    profile: Option<&str>,
) -> FatalError {
    use aws_credential_types::provider::error::CredentialsError;
    let detail = one_line(error);
    let lower = detail.to_ascii_lowercase();
    if let CredentialsError::CredentialsNotLoaded(_) = error {
        return FatalError::Credentials(format!(
            "no AWS credentials were found; the default chain looked in {CHAIN}. Set credentials there, or pass --profile"
        ));
    }
    if lower.contains("sso") && (lower.contains("expired") || lower.contains("refresh")) {
        let login = match profile
            .map(str::to_string)
            .or_else(|| std::env::var("AWS_PROFILE").ok())
        {
            Some(p) => format!("aws sso login --profile {p}"),
            None => "aws sso login".to_string(),
        };
        return FatalError::Credentials(format!(
            "the AWS SSO session is expired or not logged in: run `{login}`, then try again ({detail})"
        ));
    }
    FatalError::Credentials(format!("AWS credentials could not be loaded: {detail}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_credential_types::provider::error::CredentialsError;

    #[test]
    fn credential_problems_say_where_and_how() {
        let none = credentials_problem(&CredentialsError::not_loaded("nothing in the chain"), None);
        assert!(
            none.to_string()
                .starts_with("no AWS credentials were found"),
            "{none}"
        );
        assert!(none.to_string().contains("instance metadata"), "{none}");
        let expired = credentials_problem(
            &CredentialsError::provider_error(
                "the SSO session associated with this profile has expired",
            ),
            Some("dev"),
        );
        assert!(
            expired.to_string().contains("aws sso login --profile dev"),
            "{expired}"
        );
        let other = credentials_problem(
            &CredentialsError::provider_error("credential_process failed"),
            None,
        );
        assert!(
            other
                .to_string()
                .starts_with("AWS credentials could not be loaded"),
            "{other}"
        );
    }
}
