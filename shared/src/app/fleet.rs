//! Fleet mode's health check: every cluster of `ECS_CLUSTERS` (named, or discovered by tag)
//! checked in one invocation, up to `CLUSTERS_PER_WORKER` at once. Each cluster is a
//! [`HealthCheck`] of its own (its state, thresholds, incidents, silences and status page
//! under its own key) with ECS and ELB clients for its region, through the member role in
//! another account; the state and the alerts stay in the deployment's account. One
//! cluster's failure (missing, access denied) is that cluster's answer and hides no other.

use super::{AppError, HealthCheck, HealthRun, accounts::Accounts};
use crate::aws::lambda::SelfInvoker;
use crate::aws::s3::{FleetRuns, Unsent};
use crate::aws::sns::Sns;
use crate::aws::{self, ecs::Ecs};
use crate::config::{Clusters, FleetConfig, HealthConfig, Overlay, Resolved, Source, WATCH_TAG};
use crate::health::group::{Outgoing, Pending, group};
use crate::health::model::Alert;
use crate::ports::{AwsError, ClusterDiscovery, Notifier, Publisher, ShardSender, StoreError};
use crate::status::fleet::ClusterRow;
use futures_util::stream::{self, StreamExt};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::Arc;
use time::OffsetDateTime;

/// The fleet, built once per cold start.
pub struct Fleet<Src> {
    pub fleet: FleetConfig,
    source: Src,
    /// The deployment's own configuration (its region, state bucket, prefixes, topic).
    base: HealthConfig,
    /// The deployment's SDK configuration, and each account's and region's.
    accounts: Accounts,
    /// This function, for the shards past `CLUSTERS_PER_WORKER` (none outside Lambda: every
    /// cluster is checked here).
    shards: Option<SelfInvoker>,
    /// The runs' outboxes, progress and the overview page.
    runs: Arc<FleetRuns>,
    /// Where the clusters' alerts wait until the run sends them, grouped by region, and
    /// where they go (none without `ALERT_TOPIC_ARN`).
    alerts: Option<(Arc<FleetRuns>, Sns)>,
}

/// Settles a run's claim with `outcome`. A claim left unsettled reads as a sender that died:
/// a later run sends the alerts again, so the failure is said.
async fn settle(runs: &FleetRuns, run_key: &str, version: &str, outcome: Value) {
    if let Err(e) = runs.settle(run_key, version, &outcome).await {
        tracing::warn!(
            run = run_key,
            "the run's sending was not recorded ({outcome}): {e}; a later run may send its alerts again"
        );
    }
}

/// A run's alerts older than this without a sender are sent by a later run: longer than
/// any invocation of the run lasts (the function's timeout is 2 minutes).
const UNSENT_AFTER_SECONDS: i64 = 15 * 60;

/// A cluster's notifier in fleet mode: its alert goes to the run's outbox, and the run sends
/// the run's alerts together.
struct Outbox {
    runs: Arc<FleetRuns>,
    run: String,
    label: String,
    region: String,
}

impl Notifier for Outbox {
    async fn publish(&self, alert: &Alert, cluster: &str) -> Result<(), AwsError> {
        let pending = Pending {
            label: self.label.clone(),
            cluster: cluster.to_string(),
            region: self.region.clone(),
            alert: alert.clone(),
        };
        self.runs
            .put_alert(
                &self.run,
                &pending.outbox_name(),
                serde_json::to_vec(&pending).unwrap_or_default(),
            )
            .await
            .map_err(|e| AwsError {
                operation: "s3:PutObject",
                message: e.to_string(),
            })
    }
}

/// The payload key of a shard: the clusters another invocation checks for this run.
pub const SHARD_KEY: &str = "ecs_monitor_shard";

/// A part of a fleet run, sent to another invocation of this function.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Shard {
    /// The run it belongs to (the invocation that split it).
    pub run: String,
    pub index: usize,
    pub of: usize,
    pub trigger: String,
    pub targets: Vec<Resolved>,
}

impl Shard {
    /// The shard in `payload`, if it is one; a malformed one is an error.
    pub fn from_payload(payload: &Value) -> Option<Result<Shard, String>> {
        let v = payload.get(SHARD_KEY)?;
        Some(serde_json::from_value(v.clone()).map_err(|e| format!("not a valid fleet shard: {e}")))
    }
}

/// One cluster's outcome, or why it has none.
pub struct ClusterRun {
    pub target: String,
    pub region: String,
    /// Its status page from the fleet's overview page.
    pub page: Option<String>,
    pub result: Result<HealthRun, AppError>,
}

/// What one fleet run did.
pub struct FleetRun {
    pub trigger: String,
    /// When it ran.
    pub now: OffsetDateTime,
    pub clusters: Vec<ClusterRun>,
    /// Messages this invocation published for the run's alerts (it sent them: it was the
    /// last of the run's invocations), or why it could not; none: another one sends them.
    pub alerts: Option<Result<usize, String>>,
    /// Earlier runs whose alerts this one sent (their sender had failed or died).
    pub swept: usize,
    /// Where the fleet's overview page is (this invocation was the run's last), or why it
    /// was not written.
    pub overview: Option<Result<String, String>>,
    /// Shards handed to other invocations, and those that could not be (checked here).
    pub shards_sent: usize,
    pub shards_kept: usize,
}

impl FleetRun {
    /// The Lambda's answer: each cluster's answer (or error), and the counts.
    pub fn answer(&self) -> Value {
        let clusters: Vec<Value> = self
            .clusters
            .iter()
            .map(|c| match &c.result {
                Ok(run) => {
                    let mut a = run.answer();
                    a["target"] = json!(c.target);
                    a
                }
                Err(e) => json!({"target": c.target, "error_type": e.error_type(), "error": e.to_string()}),
            })
            .collect();
        let failed = self.clusters.iter().filter(|c| c.result.is_err()).count();
        json!({
            "trigger": self.trigger,
            "shards_sent": self.shards_sent,
            "shards_kept": self.shards_kept,
            "alert_messages": self.alerts.as_ref().and_then(|a| a.as_ref().ok()),
            "alerts_error": self.alerts.as_ref().and_then(|a| a.as_ref().err()),
            "earlier_runs_sent": self.swept,
            "fleet_page": self.overview.as_ref().and_then(|p| p.as_ref().ok()),
            "fleet_page_error": self.overview.as_ref().and_then(|p| p.as_ref().err()),
            "checked": self.clusters.len() - failed,
            "failed": failed,
            "clusters": clusters,
        })
    }

    /// Every cluster's metric lines.
    pub fn metrics(&self) -> Vec<String> {
        self.clusters
            .iter()
            .filter_map(|c| c.result.as_ref().ok())
            .flat_map(|r| r.metrics.iter().cloned())
            .collect()
    }
}

impl<Src: Source + Sync> Fleet<Src> {
    /// `None` without `ECS_CLUSTERS`. The deployment's own settings are checked here, once, so
    /// that a bad variable fails the cold start rather than every cluster.
    pub async fn from_source(source: Src) -> Result<Option<Self>, AppError> {
        let Some(fleet) = FleetConfig::from_env(&source)? else {
            return Ok(None);
        };
        let base = Self::base(&source)?;
        let home = aws::sdk_config(&base.region).await;
        let function = source.get("AWS_LAMBDA_FUNCTION_NAME")?;
        let mut fleet = Self::build(fleet, source, base, home).await;
        if let Some(f) = function {
            fleet.shards = Some(SelfInvoker::new(fleet.accounts.home(), &f));
        }
        Ok(Some(fleet))
    }

    /// Shards go to `invoker` (tests: `cargo lambda watch`).
    pub fn with_shards(mut self, invoker: SelfInvoker) -> Self {
        self.shards = Some(invoker);
        self
    }

    /// The same with the deployment's SDK configuration given (its endpoint and credentials
    /// are every target's, but for the region and an assumed role).
    pub async fn with_home(
        source: Src,
        home: aws_config::SdkConfig,
    ) -> Result<Option<Self>, AppError> {
        let Some(fleet) = FleetConfig::from_env(&source)? else {
            return Ok(None);
        };
        let base = Self::base(&source)?;
        Ok(Some(Self::build(fleet, source, base, home).await))
    }

    fn base(source: &Src) -> Result<HealthConfig, AppError> {
        let base = HealthConfig::from_env(&Overlay::any_cluster(source))?;
        base.require_state_bucket()?;
        Ok(base)
    }

    async fn build(
        fleet: FleetConfig,
        source: Src,
        base: HealthConfig,
        home: aws_config::SdkConfig,
    ) -> Self {
        let bucket = base.state_bucket.clone().unwrap_or_default();
        let runs = Arc::new(FleetRuns::new(&home, &bucket, &base.state_prefix));
        let alerts = base
            .alert_topic_arn
            .as_ref()
            .map(|topic| (runs.clone(), Sns::new(&home, topic)));
        Self {
            accounts: Accounts::new(home, fleet.clone()).await,
            fleet,
            source,
            base,
            shards: None,
            runs,
            alerts,
        }
    }

    /// The clusters to check now (see [`resolve_targets`]).
    async fn resolve(&self) -> (Vec<Resolved>, Vec<ClusterRun>) {
        resolve_targets(&self.fleet, &self.accounts, &self.base.region).await
    }

    /// One cluster's check: the deployment's configuration with the cluster's name, region
    /// and key prefixes.
    async fn check(
        &self,
        r: &Resolved,
        trigger: &str,
        now: OffsetDateTime,
        run_id: &str,
        run_key: &str,
    ) -> Result<HealthRun, AppError> {
        let mut cfg = HealthConfig::from_env(&r.overlay(
            &self.source,
            &self.base.state_prefix,
            &self.base.report_prefix,
        ))?;
        (cfg.label, cfg.account) = self.accounts.naming(r);
        let name = r.display(self.accounts.home_account());
        let sdk = self.accounts.sdk(r.account.as_deref(), &r.region).await;
        let m = HealthCheck::member(cfg, self.accounts.home(), &sdk)?;
        let outbox = match (&self.alerts, &m.notifier) {
            (Some((runs, _)), Some(_)) => Some(Outbox {
                runs: runs.clone(),
                run: run_key.to_string(),
                label: name.clone(),
                region: r.region.clone(),
            }),
            _ => None,
        };
        let app = HealthCheck {
            cfg: m.cfg,
            ecs: m.ecs,
            elb: m.elb,
            store: m.store,
            notifier: outbox,
            prober: m.prober,
        };
        app.run(trigger, now, run_id).await
    }

    /// Marks `shards` of `run_key` done, with the summaries of the clusters checked here; the
    /// last invocation of the run writes the overview page and sends the run's alerts.
    async fn finish(&self, run_key: &str, shards: &[usize], of: usize, run: &mut FleetRun) {
        let rows: Vec<ClusterRow> = run
            .clusters
            .iter()
            .map(|c| match &c.result {
                Ok(h) => ClusterRow {
                    label: c.target.clone(),
                    region: c.region.clone(),
                    overall: Some(h.outcome.state.overall.as_str().to_string()),
                    issue: h.outcome.state.issues.first().cloned(),
                    page: c.page.clone(),
                },
                Err(e) => ClusterRow {
                    label: c.target.clone(),
                    region: c.region.clone(),
                    overall: None,
                    issue: Some(e.to_string()),
                    page: None,
                },
            })
            .collect();
        let mut done = 0;
        for (n, i) in shards.iter().enumerate() {
            // This invocation's rows go with its first marker.
            let body = if n == 0 { &rows[..] } else { &[] };
            match self
                .runs
                .done(run_key, *i, serde_json::to_vec(body).unwrap_or_default())
                .await
            {
                Ok(count) => done = count,
                Err(e) => {
                    let e = format!("the run's progress was not recorded: {e}");
                    run.alerts = self.alerts.as_ref().map(|_| Err(e.clone()));
                    run.overview = Some(Err(e));
                    return;
                }
            }
        }
        if done < of {
            return;
        }
        run.overview = Some(self.overview(run_key, run.now).await);
        run.alerts = self.send(run_key, None).await;
    }

    /// The overview page of the run, from its shards' summaries.
    async fn overview(&self, run_key: &str, now: OffsetDateTime) -> Result<String, String> {
        let mut rows: Vec<ClusterRow> = Vec::new();
        for bytes in self
            .runs
            .summaries(run_key)
            .await
            .map_err(|e| e.to_string())?
        {
            match serde_json::from_slice::<Vec<ClusterRow>>(&bytes) {
                Ok(r) => rows.extend(r),
                Err(e) => tracing::warn!(
                    run = run_key,
                    "a shard's summary is unreadable, left out of the overview: {e}"
                ),
            }
        }
        let html = crate::status::fleet::render(&rows, now);
        self.runs.put_page(html).await.map_err(|e| e.to_string())
    }

    /// Sends `run_key`'s alerts, grouped by region, if this invocation claims them first;
    /// `takeover`: the claim of an earlier attempt, whose sent alerts are not sent again.
    /// The settled claim lists every alert sent, so that one written later (a shard Lambda
    /// retried after the run's alerts went out) is found and sent by a later run.
    async fn send(
        &self,
        run_key: &str,
        takeover: Option<&Unsent>,
    ) -> Option<Result<usize, String>> {
        let (runs, sns) = self.alerts.as_ref()?;
        let expected = takeover.and_then(|t| t.version.as_deref());
        let version = match runs.claim(run_key, expected).await {
            Ok(v) => v,
            Err(StoreError::Conflict) => return None,
            Err(e) => return Some(Err(e.to_string())),
        };
        let mut done: Vec<String> = takeover.map(|t| t.sent.clone()).unwrap_or_default();
        let pending: Vec<Pending> = match runs.alerts(run_key).await {
            Ok(all) => all
                .iter()
                .filter(|(name, _)| !done.contains(name))
                .filter_map(|(_, b)| {
                    serde_json::from_slice(b)
                        .map_err(|e| {
                            tracing::error!(
                                run = run_key,
                                "an outbox alert is unreadable, not sent: {e}"
                            )
                        })
                        .ok()
                })
                .collect(),
            Err(e) => {
                settle(
                    runs,
                    run_key,
                    &version,
                    json!({"failed": e.to_string(), "sent_alerts": done}),
                )
                .await;
                return Some(Err(e.to_string()));
            }
        };
        let (count, mut sent) = (pending.len(), 0);
        for o in group(pending, self.fleet.group_min, run_key) {
            let result = match &o {
                Outgoing::One(p) => sns.publish(&p.alert, &p.cluster).await,
                Outgoing::Regional(n, _) => sns.publish_json(&n.subject, n.document()).await,
            };
            if let Err(e) = result {
                // A later run sends the rest.
                settle(
                    runs,
                    run_key,
                    &version,
                    json!({"failed": e.to_string(), "sent": sent, "sent_alerts": done}),
                )
                .await;
                return Some(Err(format!("alerts not sent, a later run retries: {e}")));
            }
            done.extend(o.names());
            sent += 1;
        }
        settle(
            runs,
            run_key,
            &version,
            json!({"alerts": count, "messages": sent, "sent_alerts": done}),
        )
        .await;
        tracing::info!(
            run = run_key,
            alerts = count,
            messages = sent,
            "fleet alerts sent"
        );
        Some(Ok(sent))
    }

    /// Earlier runs whose alerts nobody sent (their last invocation failed, or the sending
    /// did): sent now. How many.
    async fn sweep(&self, now: OffsetDateTime) -> usize {
        let Some((runs, _)) = &self.alerts else {
            return 0;
        };
        let before = now.unix_timestamp() - UNSENT_AFTER_SECONDS;
        // Runs of the last two hours: an older one's alerts are stale news by now.
        let since = crate::timefmt::compact(now - time::Duration::hours(2));
        let unsent = match runs.unsent(before, &since).await {
            Ok(u) => u,
            Err(e) => {
                tracing::warn!("earlier runs' alerts not looked for: {e}");
                return 0;
            }
        };
        let mut swept = 0;
        for u in unsent {
            if let Some(Ok(_)) = self.send(&u.run, Some(&u)).await {
                swept += 1;
            }
        }
        swept
    }

    /// Checks every cluster: up to `CLUSTERS_PER_WORKER` here, at once; the rest in shards of
    /// that size sent to other invocations of this function. A shard that cannot be sent is
    /// checked here, so no cluster goes unchecked.
    pub async fn run(&self, trigger: &str, now: OffsetDateTime, run_id: &str) -> FleetRun {
        // The run's key: time first, so that runs list in order.
        let unique: String = run_id
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(12)
            .collect();
        let run_key = format!("{}-{unique}", crate::timefmt::compact(now));
        let swept = self.sweep(now).await;
        let (targets, failed) = self.resolve().await;
        let mut of = 1;
        let mut mine = vec![0];
        let mut here: Vec<Resolved> = Vec::new();
        let (mut sent, mut kept) = (0, 0);
        let per = self.fleet.per_worker;
        match &self.shards {
            Some(sender) if targets.len() > per => {
                let chunks: Vec<&[Resolved]> = targets.chunks(per).collect();
                of = chunks.len();
                here.extend_from_slice(chunks[0]);
                let sends = chunks.iter().enumerate().skip(1).map(|(index, chunk)| {
                    let shard = Shard {
                        run: run_key.clone(),
                        index,
                        of: chunks.len(),
                        trigger: trigger.to_string(),
                        targets: chunk.to_vec(),
                    };
                    async move {
                        let payload =
                            serde_json::to_vec(&json!({SHARD_KEY: &shard})).unwrap_or_default();
                        (shard, sender.send_shard(payload).await)
                    }
                });
                for (shard, result) in futures_util::future::join_all(sends).await {
                    match result {
                        Ok(()) => sent += 1,
                        Err(e) => {
                            tracing::error!(
                                shard = shard.index,
                                "shard not sent, checked here: {e}"
                            );
                            kept += 1;
                            mine.push(shard.index);
                            here.extend(shard.targets);
                        }
                    }
                }
            }
            _ => here = targets,
        }
        let mut run = self.check_all(&here, trigger, now, run_id, &run_key).await;
        run.clusters.extend(failed);
        run.clusters.sort_by(|a, b| a.target.cmp(&b.target));
        self.finish(&run_key, &mine, of, &mut run).await;
        run.swept = swept;
        run.shards_sent = sent;
        run.shards_kept = kept;
        run
    }

    /// A shard another invocation sent: its clusters, checked here.
    pub async fn run_shard(&self, shard: &Shard, now: OffsetDateTime, run_id: &str) -> FleetRun {
        tracing::info!(run = %shard.run, shard = shard.index, of = shard.of, clusters = shard.targets.len(), "fleet shard");
        let mut run = self
            .check_all(&shard.targets, &shard.trigger, now, run_id, &shard.run)
            .await;
        self.finish(&shard.run, &[shard.index], shard.of, &mut run)
            .await;
        run
    }

    /// `targets`, up to `CLUSTERS_PER_WORKER` at once.
    async fn check_all(
        &self,
        targets: &[Resolved],
        trigger: &str,
        now: OffsetDateTime,
        run_id: &str,
        run_key: &str,
    ) -> FleetRun {
        let mut clusters: Vec<ClusterRun> = stream::iter(targets.iter())
            .map(|r| async move {
                let result = self.check(r, trigger, now, run_id, run_key).await;
                if let Err(e) = &result {
                    tracing::error!(target_cluster = %r.label(), "cluster not checked: {e}");
                }
                ClusterRun {
                    target: r.label(),
                    region: r.region.clone(),
                    // From `<StatePrefix>.fleet/index.html` to the cluster's own page.
                    page: result.is_ok().then(|| {
                        format!(
                            "../{}{}/status/index.html",
                            r.key_segment(),
                            aws::short_name(&r.cluster)
                        )
                    }),
                    result,
                }
            })
            .buffer_unordered(self.fleet.per_worker)
            .collect()
            .await;
        clusters.sort_by(|a, b| a.target.cmp(&b.target));
        tracing::info!(
            clusters = clusters.len(),
            failed = clusters.iter().filter(|c| c.result.is_err()).count(),
            "fleet check done"
        );
        FleetRun {
            trigger: trigger.to_string(),
            clusters,
            shards_sent: 0,
            shards_kept: 0,
            alerts: None,
            swept: 0,
            overview: None,
            now,
        }
    }
}

/// The clusters of `fleet` to check now: the named ones, and those discovered by tag through
/// each account's role (a discovery that fails is an error of its own, named
/// `account/region/*`). Sorted, each once.
pub async fn resolve_targets(
    fleet: &FleetConfig,
    accounts: &Accounts,
    home_region: &str,
) -> (Vec<Resolved>, Vec<ClusterRun>) {
    let mut found = BTreeSet::new();
    let mut failed = Vec::new();
    for t in &fleet.targets {
        let region = t.region.clone().unwrap_or_else(|| home_region.to_string());
        let resolved = |cluster: String| Resolved {
            account: t.account.clone(),
            region: region.clone(),
            cluster,
            explicit_region: t.region.is_some(),
        };
        match &t.clusters {
            Clusters::Named(c) => {
                found.insert(resolved(c.clone()));
            }
            Clusters::Tagged => {
                let sdk = accounts.sdk(t.account.as_deref(), &region).await;
                match Ecs::new(&sdk)
                    .tagged_clusters(WATCH_TAG.0, WATCH_TAG.1)
                    .await
                {
                    Ok(names) => found.extend(names.into_iter().map(resolved)),
                    Err(e) => failed.push(ClusterRun {
                        target: resolved("*".into()).label(),
                        region: region.clone(),
                        page: None,
                        result: Err(AppError::Discovery(e)),
                    }),
                }
            }
        }
    }
    (found.into_iter().collect(), failed)
}
