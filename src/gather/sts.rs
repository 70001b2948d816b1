//! The account behind the network credentials (`--network-profile` / `--network-role-arn`).

use super::calls::Limited;
use super::errors::{one_line, FatalError};

/// The account of the network credentials (sts:GetCallerIdentity, which needs no permission).
/// It is their first use, so credentials that cannot be had (a role that cannot be assumed)
/// end the run here, in one line naming the flag.
pub async fn network_account(sts: &aws_sdk_sts::Client, flag: &str) -> Result<String, FatalError> {
    let identity = sts
        .get_caller_identity()
        .send()
        .limited()
        .await
        .map_err(|e| {
            FatalError::Credentials(format!(
                "{flag}: the credentials for the VPC could not be used: {}",
                one_line(&e)
            ))
        })?;
    identity.account().map(str::to_string).ok_or_else(|| {
        FatalError::Credentials(format!("{flag}: sts:GetCallerIdentity named no account"))
    })
}
