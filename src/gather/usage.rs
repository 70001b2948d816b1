//! CloudWatch: the Fargate vCPUs in use, from the AWS/Usage ResourceCount metric Fargate
//! publishes for its quotas (ECS guide, "AWS Fargate usage metrics").

use std::time::{Duration, SystemTime};

use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat};
use aws_sdk_cloudwatch::Client;
use aws_smithy_types::DateTime;

use super::calls::Limited;
use super::errors::classify;
use crate::snapshot::Fetched;

/// How far back the latest published minute is looked for.
const LOOKBACK: Duration = Duration::from_secs(15 * 60);

/// The latest vCPU count of `class` (Standard/OnDemand or Standard/Spot); 0 when nothing was
/// published in the last 15 minutes (Fargate publishes while tasks run).
pub async fn vcpus_in_use(client: &Client, class: &str) -> Fetched<f64> {
    let dimension = |name: &str, value: &str| Dimension::builder().name(name).value(value).build();
    let metric = Metric::builder()
        .namespace("AWS/Usage")
        .metric_name("ResourceCount")
        .dimensions(dimension("Service", "Fargate"))
        .dimensions(dimension("Type", "Resource"))
        .dimensions(dimension("Resource", "vCPU"))
        .dimensions(dimension("Class", class))
        .build();
    let now = SystemTime::now();
    let result = client
        .get_metric_data()
        .metric_data_queries(
            MetricDataQuery::builder()
                .id("vcpus")
                .metric_stat(
                    MetricStat::builder()
                        .metric(metric)
                        .period(60)
                        .stat("Maximum")
                        .build(),
                )
                .build(),
        )
        .start_time(DateTime::from(now - LOOKBACK))
        .end_time(DateTime::from(now))
        .send()
        .limited()
        .await;
    match result {
        // Results come newest first (ScanBy TimestampDescending, the default).
        Ok(out) => Fetched::Ok(
            out.metric_data_results()
                .first()
                .and_then(|r| r.values().first().copied())
                .unwrap_or(0.0),
        ),
        Err(err) => Fetched::failed(classify("cloudwatch:GetMetricData", &err)),
    }
}
