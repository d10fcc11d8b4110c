//! One health-check run: load the previous state, gather every check at once, evaluate,
//! save conditionally, publish the alerts this run owns, record the outcome.
//!
//! Guarantees: a transition is decided once (the decision moves `announced` in the state
//! that the conditional write makes the only successor of the state it was derived from);
//! of two runs that read the same state only the one that writes first publishes; an alert
//! that could not be published stays in `alerting.pending` and is retried by the next run;
//! an alert is published twice only if a run dies between the publish and the write that
//! records it (its claim expires after [`CLAIM_LEASE`]).

use super::evaluate::{Context, evaluate};
use super::model::*;
use super::probe::Prober;
use crate::config::HealthConfig;
use crate::ports::{EcsServices, Notifier, Silences, StateStore, StoreError, TargetHealth};
use futures_util::future::join_all;
use std::time::Duration;
use time::OffsetDateTime;

/// How long a run's claim on a pending alert keeps other runs from publishing it.
pub const CLAIM_LEASE: time::Duration = time::Duration::seconds(120);
/// Bound on each AWS call (the SDK retries inside it).
pub const AWS_CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// DescribeServices takes at most this many services per call.
pub const DESCRIBE_BATCH: usize = 10;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot read the health state: {0}")]
    Load(StoreError),
    #[error("cannot write the health state to {location}: {error}")]
    Save { location: String, error: StoreError },
}

#[derive(Debug, Clone)]
pub struct Outcome {
    pub state: State,
    /// Another run wrote the state first: this run published nothing.
    pub superseded: bool,
    /// Events of the alerts this run published, in order.
    pub published: Vec<String>,
    pub publish_error: Option<String>,
    /// A problem with the stored state that did not stop the run.
    pub warning: Option<String>,
}

async fn bounded<T, E: ToString>(f: impl Future<Output = Result<T, E>>) -> Result<T, String> {
    match tokio::time::timeout(AWS_CALL_TIMEOUT, f).await {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(_) => Err(format!("no answer within {} s", AWS_CALL_TIMEOUT.as_secs())),
    }
}

/// ECS services (listed when not configured, described 10 at a time, all batches at once),
/// then the target groups of those services.
pub async fn gather_ecs<E: EcsServices, T: TargetHealth>(
    cfg: &HealthConfig,
    ecs: &E,
    elb: &T,
) -> (
    Result<ServicesObservation, String>,
    Vec<TargetGroupObservation>,
) {
    let names = match &cfg.services {
        Some(n) => n.clone(),
        None => match bounded(ecs.list_services(&cfg.cluster)).await {
            Ok(n) => n,
            Err(e) => return (Err(e), Vec::new()),
        },
    };
    let batches = join_all(
        names
            .chunks(DESCRIBE_BATCH)
            .map(|chunk| bounded(ecs.describe_services(&cfg.cluster, chunk))),
    )
    .await;
    let mut services = ServicesObservation::default();
    for batch in batches {
        match batch {
            Ok(b) => {
                services.found.extend(b.found);
                services.missing.extend(b.missing);
            }
            Err(e) => return (Err(e), Vec::new()),
        }
    }
    let mut arns: Vec<&String> = Vec::new();
    for arn in services.found.iter().flat_map(|s| &s.target_group_arns) {
        if !arns.contains(&arn) {
            arns.push(arn);
        }
    }
    let groups = join_all(arns.into_iter().map(|arn| async move {
        TargetGroupObservation {
            arn: arn.clone(),
            targets: bounded(elb.target_health(arn)).await,
        }
    }))
    .await;
    (Ok(services), groups)
}

/// Removes the alerts published by this run and records the publish error on `state`.
fn record_publishing(
    state: &mut State,
    run_id: &str,
    published: &[String],
    error: &Option<String>,
) {
    let a = &mut state.alerting;
    a.pending.retain(|p| !published.contains(&p.id));
    for p in a
        .pending
        .iter_mut()
        .filter(|p| p.claimed_by.as_deref() == Some(run_id))
    {
        // Not published: free it for the next run.
        p.claimed_by = None;
        p.claimed_at = None;
    }
    if error.is_some() || !published.is_empty() {
        a.last_publish_error = error.clone();
    }
}

/// Runs one health check.
#[allow(clippy::too_many_arguments)]
pub async fn run_check<E, T, S, N>(
    cfg: &HealthConfig,
    ecs: &E,
    elb: &T,
    store: &S,
    notifier: Option<&N>,
    prober: &Prober,
    now: OffsetDateTime,
    run_id: &str,
) -> Result<Outcome, RunError>
where
    E: EcsServices,
    T: TargetHealth,
    S: StateStore + Silences,
    N: Notifier,
{
    let (loaded, silences) = tokio::join!(store.load(), store.load_silences());
    let mut loaded = loaded.map_err(RunError::Load)?;
    // Silences that cannot be read hold nothing: an alert too many beats one lost.
    let silences = match silences {
        Ok((file, _)) => file.silences,
        Err(e) => {
            let w = format!("the silences could not be read, none applies: {e}");
            loaded.warning = Some(match loaded.warning.take() {
                Some(other) => format!("{other}; {w}"),
                None => w,
            });
            Vec::new()
        }
    };
    let ((services, target_groups), (http, tls)) = tokio::join!(
        gather_ecs(cfg, ecs, elb),
        prober.probe_all(cfg.domain.as_deref(), &cfg.endpoints)
    );
    let obs = Observations {
        services,
        target_groups,
        http,
        tls,
    };
    let ctx = Context {
        cluster: &cfg.cluster,
        label: cfg.label.as_deref(),
        account: cfg.account.as_deref(),
        region: &cfg.region,
        thresholds: cfg.thresholds,
    };
    let (mut state, alert) = evaluate(&obs, loaded.state.as_ref(), now, &ctx);
    let active = crate::silence::active(&silences, &cfg.maintenance_windows, now);
    super::hold::apply(
        &mut state,
        alert.as_ref().map(|a| a.id.as_str()),
        &active,
        cfg.thresholds.failure_threshold,
        now,
    );
    if notifier.is_none() {
        // No channel configured: there is nobody to retry for.
        state.alerting.pending.clear();
    }
    for p in state.alerting.pending.iter_mut() {
        let free = p.claimed_at.is_none_or(|at| now - at >= CLAIM_LEASE);
        if free {
            p.claimed_by = Some(run_id.to_string());
            p.claimed_at = Some(now);
        }
    }
    let save_err = |error| RunError::Save {
        location: store.location(),
        error,
    };
    let mut version = match store.save(&state, loaded.version.as_deref()).await {
        Ok(v) => v,
        Err(StoreError::Conflict) => {
            return Ok(Outcome {
                state,
                superseded: true,
                published: Vec::new(),
                publish_error: None,
                warning: loaded.warning,
            });
        }
        Err(e) => return Err(save_err(e)),
    };

    let mut published_ids = Vec::new();
    let mut published = Vec::new();
    let mut publish_error = None;
    if let Some(n) = notifier {
        let mine: Vec<Alert> = state
            .alerting
            .pending
            .iter()
            .filter(|p| p.claimed_by.as_deref() == Some(run_id))
            .cloned()
            .collect();
        for alert in mine {
            match bounded(n.publish(&alert, &cfg.cluster)).await {
                Ok(()) => {
                    published_ids.push(alert.id.clone());
                    published.push(alert.event.as_str().to_string());
                }
                Err(e) => {
                    publish_error = Some(e);
                    break;
                }
            }
        }
    }
    if !published_ids.is_empty() || publish_error.is_some() {
        let mut current = state.clone();
        for _attempt in 0..3 {
            record_publishing(&mut current, run_id, &published_ids, &publish_error);
            match store.save(&current, Some(&version)).await {
                Ok(_) => {
                    state = current;
                    break;
                }
                Err(StoreError::Conflict) => {
                    // A later run wrote meanwhile: record on top of what it wrote.
                    let latest = store.load().await.map_err(RunError::Load)?;
                    match (latest.state, latest.version) {
                        (Some(s), Some(v)) => {
                            current = s;
                            version = v;
                        }
                        _ => break,
                    }
                }
                Err(e) => return Err(save_err(e)),
            }
        }
    }
    Ok(Outcome {
        state,
        superseded: false,
        published,
        publish_error,
        warning: loaded.warning,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::HealthConfig;
    use crate::ports::fakes::{FakeEcs, FakeSns, FakeTargets, MemStore};
    use std::collections::HashMap;
    use std::sync::Mutex;
    use std::sync::atomic::Ordering;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-11-29 14:00:00 UTC);

    fn config(services: Option<Vec<String>>) -> HealthConfig {
        let env = HashMap::from([("ECS_CLUSTER", "prod")]);
        let mut c = HealthConfig::from_env(&env).unwrap();
        c.services = services;
        c
    }

    fn prober() -> Prober {
        Prober::new(None, Duration::from_secs(1)).unwrap()
    }

    async fn run(
        cfg: &HealthConfig,
        ecs: &FakeEcs,
        store: &MemStore,
        sns: &FakeSns,
        minute: i64,
        id: &str,
    ) -> Outcome {
        run_check(
            cfg,
            ecs,
            &FakeTargets::default(),
            store,
            Some(sns),
            &prober(),
            T0 + time::Duration::minutes(minute),
            id,
        )
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn one_alert_per_transition_and_none_when_nothing_changes() {
        let cfg = config(None);
        let ecs = FakeEcs::with(&[("api", 2, 2)]);
        let store = MemStore::default();
        let sns = FakeSns::default();
        run(&cfg, &ecs, &store, &sns, 0, "r0").await;
        run(&cfg, &ecs, &store, &sns, 5, "r1").await;
        assert!(sns.events().is_empty(), "healthy and unchanged: silence");
        ecs.set_running("api", 1);
        for (i, m) in [10, 15, 20, 25].into_iter().enumerate() {
            run(&cfg, &ecs, &store, &sns, m, &format!("d{i}")).await;
        }
        assert_eq!(sns.events(), ["health.degraded"]);
        ecs.set_running("api", 2);
        let out = run(&cfg, &ecs, &store, &sns, 30, "h").await;
        assert_eq!(out.published, ["health.recovered"]);
        run(&cfg, &ecs, &store, &sns, 35, "h2").await;
        assert_eq!(sns.events(), ["health.degraded", "health.recovered"]);
        let state = store.state().unwrap();
        assert!(state.alerting.pending.is_empty());
    }

    #[tokio::test]
    async fn concurrent_runs_send_one_alert_and_lose_no_update() {
        let cfg = config(None);
        let ecs = FakeEcs::with(&[("api", 2, 0)]);
        let store = MemStore::default();
        let sns = FakeSns::default();
        run(&cfg, &ecs, &store, &sns, 0, "first").await; // one bad run: below the threshold
        let racing = MemStore {
            data: Mutex::new(store.data.lock().unwrap().clone()),
            gate: Some(tokio::sync::Barrier::new(2)),
            ..MemStore::default()
        };
        let p = prober();
        let now = T0 + time::Duration::minutes(5);
        let elb = FakeTargets::default();
        let (a, b) = tokio::join!(
            run_check(&cfg, &ecs, &elb, &racing, Some(&sns), &p, now, "a"),
            run_check(&cfg, &ecs, &elb, &racing, Some(&sns), &p, now, "b"),
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(sns.events(), ["health.unhealthy"], "exactly one alert");
        assert!(
            a.superseded != b.superseded,
            "one run wins, the other stands down"
        );
        let stored = racing.state().unwrap();
        assert_eq!(
            stored.alerting.consecutive_failures, 2,
            "the winner's update is kept"
        );
        assert!(stored.alerting.pending.is_empty());
    }

    #[tokio::test]
    async fn a_failed_publish_is_retried_by_the_next_run() {
        let cfg = config(None);
        let ecs = FakeEcs::with(&[("api", 2, 0)]);
        let store = MemStore::default();
        let sns = FakeSns::default();
        sns.fail.store(true, Ordering::SeqCst);
        run(&cfg, &ecs, &store, &sns, 0, "r0").await;
        let out = run(&cfg, &ecs, &store, &sns, 5, "r1").await;
        assert_eq!(
            out.publish_error.as_deref(),
            Some("sns:Publish failed: InternalError: try again")
        );
        let state = store.state().unwrap();
        assert_eq!(state.alerting.pending.len(), 1);
        assert_eq!(
            state.alerting.pending[0].claimed_by, None,
            "released for the next run"
        );
        assert!(state.alerting.last_publish_error.is_some());
        sns.fail.store(false, Ordering::SeqCst);
        let out = run(&cfg, &ecs, &store, &sns, 10, "r2").await;
        assert_eq!(out.published, ["health.unhealthy"]);
        let state = store.state().unwrap();
        assert!(state.alerting.pending.is_empty());
        assert_eq!(state.alerting.last_publish_error, None);
        run(&cfg, &ecs, &store, &sns, 15, "r3").await;
        assert_eq!(
            sns.events(),
            ["health.unhealthy"],
            "sent once, late, not lost"
        );
    }

    #[tokio::test]
    async fn an_alert_claimed_by_a_live_run_is_left_to_it() {
        let cfg = config(None);
        let ecs = FakeEcs::with(&[("api", 2, 0)]);
        let store = MemStore::default();
        let sns = FakeSns::default();
        sns.fail.store(true, Ordering::SeqCst);
        run(&cfg, &ecs, &store, &sns, 0, "r0").await;
        run(&cfg, &ecs, &store, &sns, 5, "r1").await;
        // Another run claimed the pending alert a moment ago and is publishing it.
        {
            let mut data = store.data.lock().unwrap();
            let (s, _) = data.as_mut().unwrap();
            s.alerting.pending[0].claimed_by = Some("other".into());
            s.alerting.pending[0].claimed_at = Some(T0 + time::Duration::minutes(10));
        }
        sns.fail.store(false, Ordering::SeqCst);
        let out = run(&cfg, &ecs, &store, &sns, 10, "r2").await;
        assert!(out.published.is_empty(), "not ours to send");
        let out = run(&cfg, &ecs, &store, &sns, 15, "r3").await;
        assert_eq!(
            out.published,
            ["health.unhealthy"],
            "the claim expired: sent"
        );
    }

    #[tokio::test]
    async fn services_are_described_ten_at_a_time() {
        let names: Vec<String> = (0..25).map(|i| format!("svc{i:02}")).collect();
        let specs: Vec<(&str, i32, i32)> = names.iter().map(|n| (n.as_str(), 1, 1)).collect();
        let ecs = FakeEcs::with(&specs);
        let mut wanted = names.clone();
        wanted.push("ghost".into());
        let cfg = config(Some(wanted));
        let out = run(
            &cfg,
            &ecs,
            &MemStore::default(),
            &FakeSns::default(),
            0,
            "r",
        )
        .await;
        assert_eq!(ecs.describe_calls.load(Ordering::SeqCst), 3, "ceil(26/10)");
        assert_eq!(ecs.max_batch.load(Ordering::SeqCst), 10);
        assert_eq!(out.state.services.len(), 26);
        assert!(
            out.state
                .issues
                .contains(&"ghost: service not found in cluster prod".to_string())
        );
    }

    /// A silence in the store and a maintenance window in the configuration each hold the
    /// alert of what they cover; silences that cannot be read hold nothing, and say so.
    #[tokio::test]
    async fn silences_and_windows_hold_alerts() {
        use crate::silence::{Silence, SilenceFile, parse_windows};
        let ecs = FakeEcs::with(&[("api", 2, 1)]);
        let sns = FakeSns::default();
        // A silence of api for the first hour.
        let store = MemStore::default();
        *store.silences.lock().unwrap() = Some((
            SilenceFile {
                schema_version: 1,
                silences: vec![Silence {
                    id: "s1".into(),
                    services: vec!["api".into()],
                    starts_at: T0,
                    ends_at: T0 + time::Duration::hours(1),
                    reason: "migrating the orders table".into(),
                    created_by: Some("jane".into()),
                }],
            },
            1,
        ));
        let cfg = config(None);
        run(&cfg, &ecs, &store, &sns, 0, "a").await;
        let out = run(&cfg, &ecs, &store, &sns, 5, "b").await;
        assert!(sns.events().is_empty(), "held");
        assert_eq!(out.state.silenced[0].id, "s1");
        assert_eq!(out.state.alerting.held.len(), 1);
        let out = run(&cfg, &ecs, &store, &sns, 61, "c").await;
        assert_eq!(out.published, ["health.silence_summary"]);

        // T0 is a Sunday 14:00 UTC: a window of Sundays 13:00-15:00 holds the same alert.
        let sns = FakeSns::default();
        let store = MemStore::default();
        let mut cfg = config(None);
        cfg.maintenance_windows = parse_windows("sun 13:00-15:00").unwrap();
        run(&cfg, &ecs, &store, &sns, 0, "a").await;
        let out = run(&cfg, &ecs, &store, &sns, 5, "b").await;
        assert!(sns.events().is_empty());
        assert_eq!(
            out.state.silenced[0].reason,
            "maintenance window sun 13:00-15:00"
        );
        let out = run(&cfg, &ecs, &store, &sns, 60, "c").await;
        assert_eq!(out.published, ["health.silence_summary"], "15:00: over");

        // Unreadable silences: nothing is held, and the run says why.
        let sns = FakeSns::default();
        let store = MemStore::default();
        store.fail_silences.store(true, Ordering::SeqCst);
        let cfg = config(None);
        run(&cfg, &ecs, &store, &sns, 0, "a").await;
        let out = run(&cfg, &ecs, &store, &sns, 5, "b").await;
        assert_eq!(sns.events(), ["health.degraded"]);
        assert!(
            out.warning
                .unwrap()
                .contains("the silences could not be read"),
            "said"
        );
    }
}
