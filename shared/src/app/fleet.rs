//! Fleet mode's health check: every cluster of `ECS_CLUSTERS` (named, or discovered by tag)
//! checked in one invocation, up to `CLUSTERS_PER_WORKER` at once. Each cluster is a
//! [`HealthCheck`] of its own (its state, thresholds, incidents, silences and status page
//! under its own key) with ECS and ELB clients for its region, through the member role in
//! another account; the state and the alerts stay in the deployment's account. One
//! cluster's failure (missing, access denied) is that cluster's answer and hides no other.

use super::{AppError, HealthCheck, HealthRun};
use crate::aws::{self, ecs::Ecs};
use crate::config::{
    Clusters, ECS_CLUSTER, ECS_REGION, FleetConfig, HealthConfig, Overlay, REPORT_PREFIX, Resolved,
    STATE_PREFIX, Source, WATCH_TAG,
};
use crate::ports::ClusterDiscovery;
use futures_util::stream::{self, StreamExt};
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashMap};
use time::OffsetDateTime;
use tokio::sync::Mutex;

/// The fleet, built once per cold start.
pub struct Fleet<Src> {
    pub fleet: FleetConfig,
    source: Src,
    /// The deployment's own configuration (its region, state bucket, prefixes, topic).
    base: HealthConfig,
    home: aws_config::SdkConfig,
    /// SDK configurations per (account, region): an assumed role's credentials are cached
    /// and refreshed by its provider.
    sdks: Mutex<HashMap<(Option<String>, String), aws_config::SdkConfig>>,
}

/// One cluster's outcome, or why it has none.
pub struct ClusterRun {
    pub target: String,
    pub result: Result<HealthRun, AppError>,
}

/// What one fleet run did.
pub struct FleetRun {
    pub trigger: String,
    pub clusters: Vec<ClusterRun>,
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
        Ok(Some(Self::build(fleet, source, base, home)))
    }

    /// The same with the deployment's SDK configuration given (its endpoint and credentials
    /// are every target's, but for the region and an assumed role).
    pub fn with_home(source: Src, home: aws_config::SdkConfig) -> Result<Option<Self>, AppError> {
        let Some(fleet) = FleetConfig::from_env(&source)? else {
            return Ok(None);
        };
        let base = Self::base(&source)?;
        Ok(Some(Self::build(fleet, source, base, home)))
    }

    fn base(source: &Src) -> Result<HealthConfig, AppError> {
        let base = HealthConfig::from_env(&Overlay {
            base: source,
            // Any cluster: the deployment's settings do not depend on it.
            vars: HashMap::from([(ECS_CLUSTER, "fleet".to_string())]),
        })?;
        base.require_state_bucket()?;
        Ok(base)
    }

    fn build(
        fleet: FleetConfig,
        source: Src,
        base: HealthConfig,
        home: aws_config::SdkConfig,
    ) -> Self {
        Self {
            fleet,
            source,
            base,
            home,
            sdks: Mutex::new(HashMap::new()),
        }
    }

    /// The SDK configuration for clusters of `account` (none: this one) in `region`.
    async fn sdk(&self, account: Option<&str>, region: &str) -> aws_config::SdkConfig {
        let key = (account.map(str::to_string), region.to_string());
        let mut sdks = self.sdks.lock().await;
        if let Some(sdk) = sdks.get(&key) {
            return sdk.clone();
        }
        let mut sdk = self
            .home
            .to_builder()
            .region(aws_config::Region::new(region.to_string()));
        if let Some(account) = account {
            // AssumeRole with the deployment's own credentials ("AssumeRole", STS API
            // reference); the ExternalId guards against the confused deputy.
            let mut role =
                aws_config::sts::AssumeRoleProvider::builder(self.fleet.role_arn(account, region))
                    .session_name("ecs-monitor")
                    .region(aws_config::Region::new(region.to_string()))
                    .configure(&self.home);
            if let Some(x) = &self.fleet.external_id {
                role = role.external_id(x);
            }
            sdk = sdk.credentials_provider(aws_sdk_ecs::config::SharedCredentialsProvider::new(
                role.build().await,
            ));
        }
        let sdk = sdk.build();
        sdks.insert(key, sdk.clone());
        sdk
    }

    /// The clusters to check now: the named ones, and those discovered by tag (a discovery
    /// that fails is an error of its own, named `account/region/*`).
    async fn resolve(&self) -> (Vec<Resolved>, Vec<ClusterRun>) {
        let mut found = BTreeSet::new();
        let mut failed = Vec::new();
        for t in &self.fleet.targets {
            let region = t.region.clone().unwrap_or_else(|| self.base.region.clone());
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
                    let sdk = self.sdk(t.account.as_deref(), &region).await;
                    match Ecs::new(&sdk)
                        .tagged_clusters(WATCH_TAG.0, WATCH_TAG.1)
                        .await
                    {
                        Ok(names) => found.extend(names.into_iter().map(resolved)),
                        Err(e) => failed.push(ClusterRun {
                            target: resolved("*".into()).label(),
                            result: Err(AppError::Discovery(e)),
                        }),
                    }
                }
            }
        }
        (found.into_iter().collect(), failed)
    }

    /// One cluster's check: the deployment's configuration with the cluster's name, region
    /// and key prefixes.
    async fn check(
        &self,
        r: &Resolved,
        trigger: &str,
        now: OffsetDateTime,
        run_id: &str,
    ) -> Result<HealthRun, AppError> {
        let segment = r.key_segment();
        let mut cfg = HealthConfig::from_env(&Overlay {
            base: &self.source,
            vars: HashMap::from([
                (ECS_CLUSTER, r.cluster.clone()),
                (ECS_REGION, r.region.clone()),
                (STATE_PREFIX, format!("{}{segment}", self.base.state_prefix)),
                (
                    REPORT_PREFIX,
                    format!("{}{segment}", self.base.report_prefix),
                ),
            ]),
        })?;
        if r.label() != r.cluster {
            cfg.label = Some(r.label());
        }
        let sdk = self.sdk(r.account.as_deref(), &r.region).await;
        let app = HealthCheck::member(cfg, &self.home, &sdk)?;
        app.run(trigger, now, run_id).await
    }

    /// Checks every cluster, up to `CLUSTERS_PER_WORKER` at once.
    pub async fn run(&self, trigger: &str, now: OffsetDateTime, run_id: &str) -> FleetRun {
        let (targets, mut clusters) = self.resolve().await;
        let runs: Vec<ClusterRun> = stream::iter(targets.iter())
            .map(|r| async move {
                let result = self.check(r, trigger, now, run_id).await;
                if let Err(e) = &result {
                    tracing::error!(target_cluster = %r.label(), "cluster not checked: {e}");
                }
                ClusterRun {
                    target: r.label(),
                    result,
                }
            })
            .buffer_unordered(self.fleet.per_worker)
            .collect()
            .await;
        clusters.extend(runs);
        clusters.sort_by(|a, b| a.target.cmp(&b.target));
        tracing::info!(
            clusters = clusters.len(),
            failed = clusters.iter().filter(|c| c.result.is_err()).count(),
            "fleet check done"
        );
        FleetRun {
            trigger: trigger.to_string(),
            clusters,
        }
    }
}
