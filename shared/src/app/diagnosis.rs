//! One invocation of the diagnose Lambda: the event's trigger, the claims of an automatic
//! trigger (`claims`), the diagnosis, the report in S3, the summary to SNS, the answer.
//!
//! Lambda invokes the function asynchronously for SNS and EventBridge and retries a failed
//! invocation twice, timeouts included, before sending the event to the on-failure
//! destination (asynchronous invocation, Lambda developer guide). So whatever fails before
//! the summary is published fails the invocation, with the claims released: the retry
//! diagnoses the event again (writing a second report of it at worst) and nothing is lost.

use super::AppError;
use crate::aws::{
    self, ecs::Ecs, logs::CloudWatchLogs, s3::ReportStore, sns::Sns, tasks::EcsTasks,
};
use crate::classify::Classifier;
use crate::config::{DiagnoseConfig, ProcessEnv};
use crate::diagnose::claims::{Admission, Claims};
use crate::diagnose::render;
use crate::diagnose::report::Report;
use crate::diagnose::run::{Request, diagnose, resolve_services};
use crate::diagnose::trigger::Invocation;
use crate::ports::{
    EcsServices, LogEvents, OpenIncident, Publisher, Records, ReportWriter, TaskHistory,
};
use serde_json::{Value, json};
use time::OffsetDateTime;

/// Lambda answers at most 6 MB synchronously: past this, the summary and the S3 key.
pub const MAX_RESPONSE: usize = 5 * 1024 * 1024;

/// Diagnose, with the ports it runs on.
pub struct Diagnosis<L, E, H, S, P> {
    pub cfg: DiagnoseConfig,
    pub logs: L,
    pub ecs: E,
    pub history: H,
    pub classifier: Classifier,
    /// Reports and claims; none for the CLI, which prints its reports.
    pub store: Option<S>,
    /// Where summaries go; none: no summaries.
    pub publisher: Option<P>,
}

/// The invocation: its id and its deadline (claims it holds lapse then).
#[derive(Debug, Clone)]
pub struct Context<'a> {
    pub request_id: &'a str,
    pub deadline: OffsetDateTime,
}

impl Diagnosis<CloudWatchLogs, Ecs, EcsTasks, ReportStore, Sns> {
    /// The Lambda's: configuration from the process environment.
    pub async fn from_env() -> Result<Self, AppError> {
        let cfg = DiagnoseConfig::from_env(&ProcessEnv)?;
        let sdk = aws::sdk_config(&cfg.region).await;
        Self::lambda(cfg, &sdk)
    }

    /// Reports and claims in `s3://REPORT_BUCKET/REPORT_PREFIX<cluster>/` (required),
    /// summaries to `ALERT_TOPIC_ARN`, the open incident from the health state in
    /// `s3://STATE_BUCKET/STATE_PREFIX<cluster>/latest.json` (when `STATE_BUCKET` is set).
    pub fn lambda(cfg: DiagnoseConfig, sdk: &aws_config::SdkConfig) -> Result<Self, AppError> {
        let mut store = ReportStore::new(
            sdk,
            cfg.require_report_bucket()?,
            &cfg.report_prefix,
            &cfg.cluster,
        );
        if let Some(bucket) = &cfg.state_bucket {
            store = store.with_health_state(bucket, &cfg.state_prefix, &cfg.cluster);
        }
        let mut d = Self::cli(cfg, sdk);
        d.store = Some(store);
        d.publisher = d.cfg.alert_topic_arn.as_deref().map(|t| Sns::new(sdk, t));
        Ok(d)
    }

    /// The CLI's: it reads and prints; nothing is stored or published.
    pub fn cli(cfg: DiagnoseConfig, sdk: &aws_config::SdkConfig) -> Self {
        Self {
            logs: CloudWatchLogs::new(sdk),
            ecs: Ecs::new(sdk),
            history: EcsTasks::new(sdk),
            classifier: Classifier::new(cfg.classifier.health_paths.clone()),
            store: None,
            publisher: None,
            cfg,
        }
    }
}

impl<L, E, H, S, P> Diagnosis<L, E, H, S, P>
where
    L: LogEvents,
    E: EcsServices,
    H: TaskHistory,
    S: Records + ReportWriter + OpenIncident,
    P: Publisher,
{
    /// The report of `req` over the window ending at `now` (nothing stored).
    pub async fn report(&self, req: &Request, now: OffsetDateTime) -> Result<Report, AppError> {
        Ok(diagnose(
            &self.cfg,
            &self.logs,
            &self.ecs,
            &self.history,
            &self.classifier,
            req,
            now,
        )
        .await?)
    }

    /// One invocation for `invocation`: claims (automatic triggers), diagnosis, report,
    /// summary; the answer.
    pub async fn run(
        &self,
        invocation: Invocation,
        ctx: &Context<'_>,
        now: OffsetDateTime,
    ) -> Result<Value, AppError> {
        let Some(store) = &self.store else {
            return Err(crate::config::invalid(
                crate::config::REPORT_BUCKET,
                "",
                "is required (or STATE_BUCKET): the bucket that keeps the reports",
            )
            .into());
        };
        let (services, minutes, mut trigger, key) = match invocation {
            Invocation::Ignore(reason) => return Ok(json!({"ignored": reason})),
            Invocation::Diagnose {
                services,
                minutes,
                trigger,
                dedupe_key,
            } => (services, minutes, trigger, dedupe_key),
        };
        if trigger.kind == "ecs_event" && trigger.incident_id.is_none() {
            // An ECS event during an open incident belongs to it. Not knowing is no reason to
            // lose the diagnosis: it then posts in a thread of its own.
            match store.open_incident().await {
                Ok(incident) => trigger.incident_id = incident,
                Err(e) => tracing::warn!("could not read the open incident: {e}"),
            }
        }
        let mut services = resolve_services(&self.cfg, &self.ecs, services).await?;
        if key.is_some() {
            // An ECS event names any service of the cluster: diagnose only the watched ones.
            if let Some(watched) = &self.cfg.services {
                services.retain(|s| watched.contains(s));
            }
            if services.is_empty() {
                return Ok(json!({"ignored": "no watched service to diagnose"}));
            }
        }
        let claims = Claims {
            store,
            by: ctx.request_id,
            until: ctx.deadline,
            window: time::Duration::minutes(i64::from(self.cfg.coalesce_minutes)),
        };
        let (services, covered, held) = match &key {
            None => (services, Vec::new(), None),
            Some(key) => match claims
                .admit(key, &services, now)
                .await
                .map_err(AppError::Claims)?
            {
                Admission::Duplicate { record } => {
                    return Ok(
                        json!({"duplicate": key, "state": record.state, "report": record.report}),
                    );
                }
                Admission::Coalesced { covered } => {
                    return Ok(json!({"coalesced": key, "covered_by": covered}));
                }
                Admission::Go {
                    services,
                    covered,
                    held,
                } => (services, covered, Some(held)),
            },
        };
        let req = Request {
            services: Some(services),
            minutes: minutes.unwrap_or(self.cfg.minutes),
            limit: self.cfg.event_limit,
            trigger,
        };
        match self.report_and_publish(store, &req, ctx, now).await {
            Ok((report, url, published)) => {
                if let Some(held) = held
                    && let Err(e) = claims.settle(held, Some(&url), now).await
                {
                    // The report and its summary are out: a redelivery may diagnose again.
                    tracing::warn!("could not mark the event diagnosed: {e}");
                }
                let worst = report.worst();
                tracing::info!(cluster = %report.cluster, status = worst.as_str(), report = %url, published, "diagnosis done");
                let body = serde_json::to_vec(&report).unwrap_or_default();
                let mut answer = if body.len() <= MAX_RESPONSE {
                    serde_json::to_value(&report).unwrap_or_default()
                } else {
                    json!({
                        "status": worst.as_str(),
                        "summary": render::summary_lines(&report),
                        "note": "the report is larger than a Lambda response; read it from S3",
                    })
                };
                answer["report_url"] = json!(url);
                answer["published"] = json!(published);
                if !covered.is_empty() {
                    answer["covered_by"] = json!(covered);
                }
                Ok(answer)
            }
            Err(e) => {
                if let Some(held) = held {
                    claims.release(held, now).await;
                }
                Err(e)
            }
        }
    }

    /// The report, stored, and its summary published when a service is not healthy.
    async fn report_and_publish(
        &self,
        store: &S,
        req: &Request,
        ctx: &Context<'_>,
        now: OffsetDateTime,
    ) -> Result<(Report, String, bool), AppError> {
        let report = self.report(req, now).await?;
        let body = serde_json::to_vec_pretty(&report).unwrap_or_default();
        // Several events can arrive in one second: the invocation's id keeps their reports apart.
        let unique: String = match ctx.request_id {
            "" => format!("{:09}", now.nanosecond()),
            id => id
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .take(8)
                .collect(),
        };
        let name = format!(
            "{}-{}-{unique}.json",
            crate::timefmt::compact(now),
            report.trigger.kind
        );
        let url = store
            .put_report(&name, body)
            .await
            .map_err(AppError::ReportStore)?;
        let mut published = false;
        if report.worst().is_problem()
            && let Some(p) = &self.publisher
        {
            let n = render::notification(&report, &url);
            p.publish_json(&n.subject, n.document())
                .await
                .map_err(|error| AppError::Publish {
                    report: url.clone(),
                    error,
                })?;
            published = true;
        }
        Ok((report, url, published))
    }
}
