//! Application Auto Scaling: the scalable targets of the services' desired counts, the ceiling
//! a scale-out can raise a deployment's peak to.

use std::collections::BTreeMap;

use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace};
use aws_sdk_applicationautoscaling::Client;
use futures::future::join_all;

use super::calls::Limited;
use super::errors::classify;
use crate::snapshot::{Fetched, GatherError, ScalableTarget};

/// DescribeScalableTargets takes at most 50 resource ids per call.
const IDS_PER_CALL: usize = 50;

/// `service/CLUSTER/SERVICE`, the resource id Application Auto Scaling knows an ECS service by;
/// the cluster may be given by name or ARN.
pub fn resource_id(cluster: &str, service: &str) -> String {
    let name = cluster.rsplit_once(":cluster/").map_or(cluster, |(_, n)| n);
    format!("service/{name}/{service}")
}

/// The scalable target of each resource id that has one; a denied or failed call is the answer
/// for all of them.
pub async fn scalable_targets(
    client: &Client,
    resource_ids: &[String],
) -> Result<BTreeMap<String, ScalableTarget>, GatherError> {
    let batches = join_all(resource_ids.chunks(IDS_PER_CALL).map(|ids| {
        client
            .describe_scalable_targets()
            .service_namespace(ServiceNamespace::Ecs)
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .set_resource_ids(Some(ids.to_vec()))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .limited()
    }))
    .await;
    let mut found = BTreeMap::new();
    for batch in batches {
        let targets =
            batch.map_err(|e| classify("application-autoscaling:DescribeScalableTargets", &e))?;
        for t in targets {
            found.insert(
                t.resource_id().to_string(),
                ScalableTarget {
                    min_capacity: t.min_capacity(),
                    max_capacity: t.max_capacity(),
                },
            );
        }
    }
    Ok(found)
}

/// Each service's entry: its target, `None` when it has none, or why it is unknown.
pub fn target_of(
    found: &Result<BTreeMap<String, ScalableTarget>, GatherError>,
    id: &str,
) -> Fetched<Option<ScalableTarget>> {
    match found {
        Ok(targets) => Fetched::Ok(targets.get(id).cloned()),
        Err(error) => Fetched::failed(error.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::resource_id;

    #[test]
    fn the_resource_id_names_the_cluster_by_name() {
        assert_eq!(resource_id("prod", "web"), "service/prod/web");
        assert_eq!(
            resource_id("arn:aws:ecs:eu-west-1:123456789012:cluster/prod", "web"),
            "service/prod/web"
        );
    }
}
