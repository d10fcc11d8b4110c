//! `cargo bench -p ecs-monitor --bench fleet_dispatch`: one fleet dispatch over 500 clusters
//! with the ports' fakes: 20 invocations of 25 clusters (CLUSTERS_PER_WORKER), each checking
//! its clusters 25 at once with the health check of a cluster (evaluation, state, status
//! page). Prints the wall time of the first run (no state yet) and of a steady run, and the
//! port calls a cluster makes, counted. The AWS latency is not in it (the fakes answer at
//! once): this is our own work per cluster.

use ecs_monitor::app::HealthCheck;
use ecs_monitor::config::HealthConfig;
use ecs_monitor::health::Overall;
use ecs_monitor::health::model::{Alert, ServicesObservation, State, TargetObservation};
use ecs_monitor::health::probe::Prober;
use ecs_monitor::ports::fakes::{FakeEcs, FakeSns, FakeTargets, MemStore};
use ecs_monitor::ports::{
    AwsError, EcsServices, Loaded, Notifier, Silences, StateStore, StatusPages, StoreError,
    TargetHealth,
};
use futures_util::stream::{self, StreamExt};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const CLUSTERS: usize = 500;
const PER_WORKER: usize = 25;
const SERVICES: usize = 5;

/// Calls through the ports, by kind.
#[derive(Default)]
struct Calls {
    ecs: AtomicU64,
    elb: AtomicU64,
    s3_get: AtomicU64,
    s3_put: AtomicU64,
    sns: AtomicU64,
}

impl Calls {
    /// ECS, ELB, S3 GET, S3 PUT, SNS so far.
    fn snapshot(&self) -> [u64; 5] {
        [&self.ecs, &self.elb, &self.s3_get, &self.s3_put, &self.sns]
            .map(|c| c.load(Ordering::Relaxed))
    }
}

fn add(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// A fake behind a counter.
struct Counted<'a, T> {
    inner: T,
    calls: &'a Calls,
}

impl EcsServices for Counted<'_, &FakeEcs> {
    async fn list_services(&self, cluster: &str) -> Result<Vec<String>, AwsError> {
        add(&self.calls.ecs);
        self.inner.list_services(cluster).await
    }
    async fn describe_services(
        &self,
        cluster: &str,
        names: &[String],
    ) -> Result<ServicesObservation, AwsError> {
        add(&self.calls.ecs);
        self.inner.describe_services(cluster, names).await
    }
}

impl TargetHealth for Counted<'_, FakeTargets> {
    async fn target_health(&self, arn: &str) -> Result<Vec<TargetObservation>, AwsError> {
        add(&self.calls.elb);
        self.inner.target_health(arn).await
    }
}

impl Notifier for Counted<'_, FakeSns> {
    async fn publish(&self, alert: &Alert, cluster: &str) -> Result<(), AwsError> {
        add(&self.calls.sns);
        self.inner.publish(alert, cluster).await
    }
}

impl StateStore for Counted<'_, &MemStore> {
    async fn load(&self) -> Result<Loaded, StoreError> {
        add(&self.calls.s3_get);
        self.inner.load().await
    }
    async fn save(&self, state: &State, expected: Option<&str>) -> Result<String, StoreError> {
        // The S3 store writes the state and its history copy.
        add(&self.calls.s3_put);
        add(&self.calls.s3_put);
        self.inner.save(state, expected).await
    }
    fn location(&self) -> String {
        self.inner.location()
    }
}

impl Silences for Counted<'_, &MemStore> {
    async fn load_silences(
        &self,
    ) -> Result<(ecs_monitor::silence::SilenceFile, Option<String>), StoreError> {
        add(&self.calls.s3_get);
        self.inner.load_silences().await
    }
}

impl StatusPages for Counted<'_, &MemStore> {
    async fn load_rollup(&self) -> Result<Option<(Vec<u8>, String)>, StoreError> {
        add(&self.calls.s3_get);
        self.inner.load_rollup().await
    }
    async fn save_rollup(
        &self,
        body: Vec<u8>,
        expected: Option<&str>,
    ) -> Result<String, StoreError> {
        add(&self.calls.s3_put);
        self.inner.save_rollup(body, expected).await
    }
    async fn load_report_index(&self) -> Result<Option<Vec<u8>>, StoreError> {
        add(&self.calls.s3_get);
        self.inner.load_report_index().await
    }
    async fn save_page(&self, html: String) -> Result<String, StoreError> {
        add(&self.calls.s3_put);
        self.inner.save_page(html).await
    }
    fn report_links(&self) -> Option<String> {
        self.inner.report_links()
    }
}

/// One fleet dispatch at `now`: 20 invocations of 25 clusters, one after the other (Lambda
/// would run them side by side: each is timed).
async fn dispatch(
    stores: &[MemStore],
    ecs: &[FakeEcs],
    calls: &Calls,
    now: time::OffsetDateTime,
) -> (Duration, Duration, usize) {
    let started = Instant::now();
    let mut slowest = Duration::ZERO;
    let mut pending = Vec::new();
    for shard in (0..CLUSTERS).collect::<Vec<_>>().chunks(PER_WORKER) {
        let t = Instant::now();
        let runs: Vec<_> = stream::iter(shard.iter().copied())
            .map(|i| async move {
                let env = HashMap::from([
                    ("ECS_CLUSTER", format!("cluster-{i:03}")),
                    ("FAILURE_THRESHOLD", "1".to_string()),
                ]);
                let env: HashMap<&str, &str> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
                let app = HealthCheck {
                    cfg: HealthConfig::from_env(&env).expect("config"),
                    ecs: Counted {
                        inner: &ecs[i],
                        calls,
                    },
                    elb: Counted {
                        inner: FakeTargets::default(),
                        calls,
                    },
                    store: Counted {
                        inner: &stores[i],
                        calls,
                    },
                    notifier: Some(Counted {
                        inner: FakeSns::default(),
                        calls,
                    }),
                    prober: Prober::new(None, Duration::from_secs(1)).expect("prober"),
                };
                let run = app.run("schedule", now, "bench").await.expect("run");
                (i, run.outcome.state.overall)
            })
            .buffer_unordered(PER_WORKER)
            .collect()
            .await;
        for (i, overall) in runs {
            if overall != Overall::Healthy {
                pending.push(i);
            }
        }
        slowest = slowest.max(t.elapsed());
    }
    (started.elapsed(), slowest, pending.len())
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let calls = Calls::default();
    let stores: Vec<MemStore> = (0..CLUSTERS).map(|_| MemStore::default()).collect();
    let ecs: Vec<FakeEcs> = (0..CLUSTERS)
        .map(|i| {
            let services: Vec<(String, i32, i32)> = (0..SERVICES)
                .map(|s| {
                    // One cluster in ten has a service short of tasks.
                    let running = if i % 10 == 0 && s == 0 { 1 } else { 2 };
                    (format!("svc-{s}"), 2, running)
                })
                .collect();
            let refs: Vec<(&str, i32, i32)> = services
                .iter()
                .map(|(n, d, r)| (n.as_str(), *d, *r))
                .collect();
            FakeEcs::with(&refs)
        })
        .collect();
    let t0 = time::macros::datetime!(2026-12-06 12:00:00 UTC);
    for (label, at) in [
        ("first run (no state yet)", t0),
        ("steady run", t0 + time::Duration::minutes(5)),
    ] {
        let before = calls.snapshot();
        let (wall, slowest, failing) = rt.block_on(dispatch(&stores, &ecs, &calls, at));
        let after = calls.snapshot();
        let per = |k: usize| (after[k] - before[k]) as f64 / CLUSTERS as f64;
        println!(
            "{label}: {CLUSTERS} clusters × {SERVICES} services in {} invocations of {PER_WORKER}: \
             {:.0} ms in all, the slowest invocation {:.1} ms, {failing} clusters failing",
            CLUSTERS / PER_WORKER,
            wall.as_secs_f64() * 1e3,
            slowest.as_secs_f64() * 1e3
        );
        println!(
            "  calls a cluster: ECS {:.2}, ELB {:.2}, S3 GET {:.2}, S3 PUT {:.2}, SNS {:.2}",
            per(0),
            per(1),
            per(2),
            per(3),
            per(4)
        );
    }
}
