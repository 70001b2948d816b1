//! Every AWS call the gather makes, timed: for `-v`, the JSON `stats` and the benchmark.
//! An SDK interceptor sees each operation once, however many retries it took.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::snapshot::Stats;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};

tokio::task_local! {
    /// The sequential wave the running gather step belongs to (see `gather`'s module docs).
    static WAVE: u8;
    /// `--max-concurrency`: slots for AWS calls in flight, shared by the whole gather.
    static SLOTS: Arc<tokio::sync::Semaphore>;
}

/// Runs a whole gather with at most `max` AWS calls in flight.
pub async fn with_max_concurrency<F: std::future::Future>(max: usize, gather: F) -> F::Output {
    let slots = Arc::new(tokio::sync::Semaphore::new(max.max(1)));
    SLOTS.scope(slots, gather).await
}

/// `.limited()` on an AWS call's future: waits for a `--max-concurrency` slot first.
pub trait Limited: std::future::Future + Sized {
    fn limited(self) -> impl std::future::Future<Output = Self::Output> {
        limited(self)
    }
}

impl<F: std::future::Future> Limited for F {}

/// Makes one AWS call (all pages of it) when a slot is free.
pub async fn limited<F: std::future::Future>(call: F) -> F::Output {
    let slots = SLOTS.try_with(Arc::clone).ok();
    let _slot = match &slots {
        Some(s) => Some(s.acquire().await.expect("the semaphore is never closed")),
        None => None,
    };
    call.await
}

/// Runs `step` as part of `wave`: every AWS call it makes is counted in that wave.
pub async fn in_wave<F: std::future::Future>(wave: u8, step: F) -> F::Output {
    WAVE.scope(wave, step).await
}

/// Runs `step` `k` waves after the current one: it needs answers from the calls before.
pub async fn later_wave<F: std::future::Future>(k: u8, step: F) -> F::Output {
    let current = WAVE.try_with(|w| *w).unwrap_or(0);
    WAVE.scope(current + k, step).await
}

#[derive(Debug, Clone)]
pub struct Call {
    /// `ec2:DescribeVpcEndpoints`
    pub operation: String,
    pub wave: u8,
    pub elapsed: Duration,
    pub ok: bool,
}

/// Shared by every client of one run.
#[derive(Debug, Clone)]
pub struct CallLog {
    origin: Instant,
    calls: Arc<Mutex<Vec<Call>>>,
}

impl Default for CallLog {
    fn default() -> Self {
        CallLog {
            origin: Instant::now(),
            calls: Arc::default(),
        }
    }
}

#[derive(Debug, Clone)]
struct Started(Instant);

impl Storable for Started {
    type Storer = StoreReplace<Self>;
}

impl Intercept for CallLog {
    fn name(&self) -> &'static str {
        "fargate-preflight call log"
    }

    fn read_before_execution(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        cfg.interceptor_state().store_put(Started(Instant::now()));
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let now = Instant::now();
        let started = cfg.load::<Started>().map_or(now, |s| s.0);
        let operation = cfg.load::<Metadata>().map_or_else(
            || "unknown".to_string(),
            |m| format!("{}:{}", service_prefix(m.service()), m.name()),
        );
        let ok = context.output_or_error().is_some_and(|r| r.is_ok());
        let call = Call {
            operation,
            wave: WAVE.try_with(|w| *w).unwrap_or(0),
            elapsed: now - started,
            ok,
        };
        tracing::debug!(
            "{} {} in {} ms",
            call.operation,
            if ok { "ok" } else { "failed" },
            call.elapsed.as_millis()
        );
        self.calls.lock().expect("call log lock").push(call);
        Ok(())
    }
}

/// The IAM-style prefix of an SDK service name (`EC2` → `ec2`).
fn service_prefix(service: &str) -> String {
    match service {
        "Elastic Load Balancing v2" | "ElasticLoadBalancingv2" => "elasticloadbalancing".into(),
        "EFS" => "elasticfilesystem".into(),
        "Application Auto Scaling" => "application-autoscaling".into(),
        "CloudWatch Logs" => "logs".into(),
        other => other.to_ascii_lowercase().replace(' ', ""),
    }
}

impl CallLog {
    /// A request the SDK does not make (and so the interceptor does not see), in the current
    /// wave.
    pub fn record(&self, operation: &str, elapsed: Duration, ok: bool) {
        let call = Call {
            operation: operation.to_string(),
            wave: WAVE.try_with(|w| *w).unwrap_or(0),
            elapsed,
            ok,
        };
        self.calls.lock().expect("call log lock").push(call);
    }

    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().expect("call log lock").clone()
    }

    pub fn stats(&self) -> Stats {
        let calls = self.calls();
        // Each call's wave is one more than the calls whose answers it needs: the deepest one
        // is the critical path of round trips.
        let waves = calls.iter().map(|c| usize::from(c.wave)).max().unwrap_or(0);
        let mut by_operation = BTreeMap::new();
        for c in &calls {
            *by_operation.entry(c.operation.clone()).or_insert(0) += 1;
        }
        Stats {
            api_calls: calls.len(),
            api_calls_by_operation: by_operation,
            waves,
            wall_ms: self.origin.elapsed().as_millis(),
        }
    }
}
