//! The health check: one run per schedule tick (or `ecs-monitor health`).

use super::AppError;
use crate::aws::{self, ecs::Ecs, elb::Elb, local::FileStore, s3::S3Store, sns::Sns};
use crate::config::{HealthConfig, ProcessEnv};
use crate::health::probe::Prober;
use crate::health::run::{Outcome, run_check};
use crate::ports::{EcsServices, Notifier, Silences, StateStore, StatusPages, TargetHealth};
use serde_json::{Value, json};
use time::OffsetDateTime;

/// The health check of one cluster, with the ports it runs on.
pub struct HealthCheck<E, T, S, N> {
    pub cfg: HealthConfig,
    pub ecs: E,
    pub elb: T,
    pub store: S,
    /// Where alerts go; none: no alerts (and nothing kept to retry).
    pub notifier: Option<N>,
    pub prober: Prober,
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct HealthRun {
    /// `schedule`, `manual`.
    pub trigger: String,
    pub outcome: Outcome,
    /// Where the state is.
    pub location: String,
    /// The run's metric lines (EMF), when metrics are on: the Lambda writes them to stdout.
    pub metrics: Vec<String>,
    /// Where the status page is, or why it was not updated (`None`: this run's state lost
    /// the race to another run's, which updates it).
    pub page: Option<Result<String, String>>,
}

impl HealthRun {
    /// The Lambda's answer.
    pub fn answer(&self) -> Value {
        let s = &self.outcome.state;
        json!({
            "cluster": s.cluster,
            "checked_at": s
                .checked_at
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            "trigger": self.trigger,
            "overall": s.overall.as_str(),
            "issues": s.issues,
            "state": self.location,
            "alerts_published": self.outcome.published,
            "publish_error": self.outcome.publish_error,
            "superseded": self.outcome.superseded,
            "status_page": self.page.as_ref().and_then(|p| p.as_ref().ok()),
            "status_page_error": self.page.as_ref().and_then(|p| p.as_ref().err()),
        })
    }
}

impl HealthCheck<Ecs, Elb, S3Store, Sns> {
    /// The Lambda's: configuration from the process environment, state in S3.
    pub async fn from_env() -> Result<Self, AppError> {
        let cfg = HealthConfig::from_env(&ProcessEnv)?;
        let sdk = aws::sdk_config(&cfg.region).await;
        Self::lambda(cfg, &sdk)
    }

    /// The state in `s3://STATE_BUCKET/STATE_PREFIX<cluster>/` (required).
    pub fn lambda(cfg: HealthConfig, sdk: &aws_config::SdkConfig) -> Result<Self, AppError> {
        Self::member(cfg, sdk, sdk)
    }

    /// A cluster of a fleet: its ECS services and target groups through `target` (its region,
    /// its account's member role), the state and the alerts through `home` (the deployment's).
    pub fn member(
        cfg: HealthConfig,
        home: &aws_config::SdkConfig,
        target: &aws_config::SdkConfig,
    ) -> Result<Self, AppError> {
        let mut store = S3Store::new(
            home,
            cfg.require_state_bucket()?,
            &cfg.state_prefix,
            &cfg.cluster,
        );
        if let Some(bucket) = &cfg.report_bucket {
            store = store.with_reports(bucket, &cfg.report_prefix, &cfg.cluster);
        }
        Self::with_store(cfg, home, target, store)
    }
}

impl HealthCheck<Ecs, Elb, FileStore, Sns> {
    /// The CLI's: the state in `ECS_HEALTH_STATE`.
    pub fn cli(cfg: HealthConfig, sdk: &aws_config::SdkConfig) -> Result<Self, AppError> {
        let store = FileStore {
            path: cfg.state_file.clone(),
        };
        Self::with_store(cfg, sdk, sdk, store)
    }

    /// The CLI's, for a cluster of a fleet: ECS and ELB through `target` (its region, its
    /// account's role), alerts through `home`.
    pub fn cli_member(
        cfg: HealthConfig,
        home: &aws_config::SdkConfig,
        target: &aws_config::SdkConfig,
    ) -> Result<Self, AppError> {
        let store = FileStore {
            path: cfg.state_file.clone(),
        };
        Self::with_store(cfg, home, target, store)
    }
}

impl<S> HealthCheck<Ecs, Elb, S, Sns> {
    /// ECS and ELB through `target`; alerts through `home`.
    fn with_store(
        cfg: HealthConfig,
        home: &aws_config::SdkConfig,
        target: &aws_config::SdkConfig,
        store: S,
    ) -> Result<Self, AppError> {
        Ok(Self {
            ecs: Ecs::new(target),
            elb: Elb::new(target),
            store,
            notifier: cfg.alert_topic_arn.as_deref().map(|t| Sns::new(home, t)),
            prober: Prober::new(cfg.ca_bundle.as_deref(), cfg.probe_timeout)?,
            cfg,
        })
    }
}

impl<E, T, S, N> HealthCheck<E, T, S, N>
where
    E: EcsServices,
    T: TargetHealth,
    S: StateStore + Silences + StatusPages,
    N: Notifier,
{
    /// One run at `now`; `run_id` tells this run's claims from another's (the invocation id).
    pub async fn run(
        &self,
        trigger: &str,
        now: OffsetDateTime,
        run_id: &str,
    ) -> Result<HealthRun, AppError> {
        let outcome = run_check(
            &self.cfg,
            &self.ecs,
            &self.elb,
            &self.store,
            self.notifier.as_ref(),
            &self.prober,
            now,
            run_id,
        )
        .await?;
        let s = &outcome.state;
        tracing::info!(
            cluster = %s.cluster, overall = s.overall.as_str(), issues = s.issues.len(),
            published = ?outcome.published, superseded = outcome.superseded, "health check done"
        );
        if let Some(w) = &outcome.warning {
            tracing::warn!("{w}");
        }
        if let Some(e) = &outcome.publish_error {
            tracing::error!("alert not published, kept for the next run: {e}");
        }
        let page = if outcome.superseded {
            None
        } else {
            let page = crate::status::update(&self.store, &outcome.state, now).await;
            if let Err(e) = &page {
                tracing::warn!("status page not updated: {e}");
            }
            Some(page)
        };
        let metrics = match &self.cfg.metrics {
            Some(m) => crate::metrics::health(&outcome.state, m),
            None => Vec::new(),
        };
        Ok(HealthRun {
            trigger: trigger.to_string(),
            location: self.store.location(),
            outcome,
            metrics,
            page,
        })
    }
}
