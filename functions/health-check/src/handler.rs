//! Event in, summary out; the check itself is `ecs_monitor::health::run`.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use ecs_monitor::aws::{self, StateStore, ecs::Ecs, elb::Elb, s3::S3Store, sns::Sns};
use ecs_monitor::config::{HealthConfig, ProcessEnv};
use ecs_monitor::health::{probe::Prober, run};
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

/// What started the run: the EventBridge schedule, or a direct invoke with `{}`.
pub fn trigger(payload: &Value) -> Result<&'static str, String> {
    match payload {
        Value::Object(m) if m.is_empty() => Ok("manual"),
        Value::Object(m) if m.contains_key("detail-type") => {
            let event: EventBridgeEvent<Value> = serde_json::from_value(payload.clone())
                .map_err(|e| format!("not a valid EventBridge event: {e}"))?;
            match event.detail_type.as_str() {
                "Scheduled Event" => Ok("schedule"),
                other => Err(format!(
                    "unsupported EventBridge event {other:?}: health-check runs on a schedule"
                )),
            }
        }
        _ => Err("unsupported event: send the EventBridge schedule event or {}".into()),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triggers() {
        let schedule = json!({
            "version": "0", "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa", "detail-type": "Scheduled Event",
            "source": "aws.events", "account": "123456789012", "time": "2026-11-29T14:35:00Z",
            "region": "us-east-1", "resources": ["arn:aws:events:us-east-1:123456789012:rule/health"], "detail": {}
        });
        assert_eq!(trigger(&schedule), Ok("schedule"));
        assert_eq!(trigger(&json!({})), Ok("manual"));
        let other = json!({
            "version": "0", "id": "x", "detail-type": "ECS Task State Change", "source": "aws.ecs",
            "account": "1", "time": "2026-11-29T14:35:00Z", "region": "us-east-1", "resources": [], "detail": {}
        });
        assert!(
            trigger(&other)
                .unwrap_err()
                .contains("unsupported EventBridge event")
        );
        assert!(
            trigger(&json!([1, 2]))
                .unwrap_err()
                .contains("unsupported event")
        );
        assert!(
            trigger(&json!({"detail-type": 5}))
                .unwrap_err()
                .contains("not a valid EventBridge event")
        );
    }
}
