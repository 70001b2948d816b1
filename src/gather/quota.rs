//! Service Quotas: the region's Fargate vCPU quotas (the applied value, else AWS's default).

use aws_sdk_servicequotas::Client;

use super::calls::Limited;
use super::errors::classify;
use crate::snapshot::{Fetched, GatherErrorKind, QuotaValue};

/// Quota codes of service `fargate` (Service Quotas console and ListServiceQuotas).
pub const ON_DEMAND_VCPUS: &str = "L-3032A538";
pub const SPOT_VCPUS: &str = "L-36FBB829";

/// The applied value and AWS's default are asked at once (one round trip); the applied one
/// wins. GetServiceQuota: "If the applied quota value is not available for a quota, the quota
/// is not retrieved."
pub async fn fargate_quota(client: &Client, code: &str) -> Fetched<QuotaValue> {
    let (applied, default) = tokio::join!(
        client
            .get_service_quota()
            .service_code("fargate")
            .quota_code(code)
            .send()
            .limited(),
        client
            .get_aws_default_service_quota()
            .service_code("fargate")
            .quota_code(code)
            .send()
            .limited(),
    );
    match applied {
        Ok(out) => {
            if let Some(value) = out.quota().and_then(|q| q.value()) {
                return Fetched::Ok(QuotaValue {
                    value,
                    default: false,
                });
            }
        }
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_no_such_resource_exception()) => {}
        Err(err) => return Fetched::failed(classify("servicequotas:GetServiceQuota", &err)),
    }
    match default {
        Ok(out) => match out.quota().and_then(|q| q.value()) {
            Some(value) => Fetched::Ok(QuotaValue {
                value,
                default: true,
            }),
            None => Fetched::failed(not_found(code)),
        },
        Err(err) => {
            let mut error = classify("servicequotas:GetAWSDefaultServiceQuota", &err);
            if err
                .as_service_error()
                .is_some_and(|e| e.is_no_such_resource_exception())
            {
                error.kind = GatherErrorKind::NotFound;
            }
            Fetched::failed(error)
        }
    }
}

fn not_found(code: &str) -> crate::snapshot::GatherError {
    crate::snapshot::GatherError {
        action: "servicequotas:GetAWSDefaultServiceQuota".into(),
        kind: GatherErrorKind::NotFound,
        message: format!("no value for quota fargate/{code}"),
    }
}
