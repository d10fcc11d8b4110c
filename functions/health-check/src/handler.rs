//! Event in, summary out; the check itself is `ecs_monitor::health::run`.

use ecs_monitor::aws::{self, ecs::Ecs, elb::Elb, s3::S3Store, sns::Sns};
use ecs_monitor::config::{HealthConfig, ProcessEnv};
use ecs_monitor::health::{probe::Prober, run, trigger::trigger};
use ecs_monitor::ports::StateStore;
use lambda_runtime::{Error, LambdaEvent};
use serde_json::{Value, json};
use time::OffsetDateTime;

/// Configuration and clients, built once per execution environment.
pub struct App {
    cfg: HealthConfig,
    ecs: Ecs,
    elb: Elb,
    store: S3Store,
    sns: Option<Sns>,
    prober: Prober,
}

impl App {
    pub async fn from_env() -> Result<Self, Error> {
        let cfg = HealthConfig::from_env(&ProcessEnv)?;
        let bucket = cfg.require_state_bucket()?.to_string();
        let prober = Prober::new(cfg.ca_bundle.as_deref(), cfg.probe_timeout)?;
        let sdk = aws::sdk_config(&cfg.region).await;
        Ok(Self {
            ecs: Ecs::new(&sdk),
            elb: Elb::new(&sdk),
            store: S3Store::new(&sdk, &bucket, &cfg.state_prefix, &cfg.cluster),
            sns: cfg.alert_topic_arn.as_deref().map(|t| Sns::new(&sdk, t)),
            prober,
            cfg,
        })
    }

    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<Value, Error> {
        let trigger = trigger(&event.payload)?;
        let now = OffsetDateTime::now_utc();
        let outcome = run::run_check(
            &self.cfg,
            &self.ecs,
            &self.elb,
            &self.store,
            self.sns.as_ref(),
            &self.prober,
            now,
            &event.context.request_id,
        )
        .await?;
        let s = &outcome.state;
        lambda_runtime::tracing::info!(
            cluster = %s.cluster, overall = s.overall.as_str(), issues = s.issues.len(),
            published = ?outcome.published, superseded = outcome.superseded, "health check done"
        );
        if let Some(w) = &outcome.warning {
            lambda_runtime::tracing::warn!("{w}");
        }
        if let Some(e) = &outcome.publish_error {
            lambda_runtime::tracing::error!("alert not published, kept for the next run: {e}");
        }
        Ok(json!({
            "cluster": s.cluster,
            "checked_at": s.checked_at.format(&time::format_description::well_known::Rfc3339)?,
            "trigger": trigger,
            "overall": s.overall.as_str(),
            "issues": s.issues,
            "state": self.store.location(),
            "alerts_published": outcome.published,
            "publish_error": outcome.publish_error,
            "superseded": outcome.superseded,
        }))
    }
}
