//! One invocation of the diagnose Lambda: the event's trigger, the claims of an automatic
//! trigger (`claims`), the diagnosis, the report in S3, the summary to SNS, the answer.
//!
//! Lambda invokes the function asynchronously for SNS and EventBridge and retries a failed
//! invocation twice, timeouts included, before sending the event to the on-failure
//! destination (asynchronous invocation, Lambda developer guide). So whatever fails before
//! the summary is published fails the invocation, with the claims released: the retry
//! diagnoses the event again (writing a second report of it at worst) and nothing is lost.

use super::claims::{Admission, Claims};
use super::render;
use super::run::{DiagnoseError, Request, diagnose, resolve_services};
use super::trigger::{Invocation, TriggerError, parse};
use crate::classify::Classifier;
use crate::config::DiagnoseConfig;
use crate::ports::{
    AwsError, EcsServices, LogEvents, Publisher, Records, ReportWriter, StoreError, TaskHistory,
};
use serde_json::{Value, json};
use time::OffsetDateTime;

/// Lambda answers at most 6 MB synchronously: past this, the summary and the S3 key.
pub const MAX_RESPONSE: usize = 5 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    #[error("{0}")]
    Trigger(#[from] TriggerError),
    #[error("{0}")]
    Diagnose(#[from] DiagnoseError),
    #[error("cannot claim the event: {0}")]
    Claims(StoreError),
    #[error("cannot store the report: {0}")]
    Report(StoreError),
    #[error("the report is at {report}, but its summary could not be published: {error}")]
    Publish { report: String, error: AwsError },
}

/// Everything one invocation uses, built once per execution environment.
pub struct Diagnose<'a, L, E, H, S, P> {
    pub cfg: &'a DiagnoseConfig,
    pub logs: &'a L,
    pub ecs: &'a E,
    pub history: &'a H,
    pub classifier: &'a Classifier,
    pub store: &'a S,
    pub publisher: Option<&'a P>,
}

/// The invocation: its id and its deadline (claims it holds lapse then).
#[derive(Debug, Clone)]
pub struct Context<'a> {
    pub request_id: &'a str,
    pub deadline: OffsetDateTime,
}

impl<L, E, H, S, P> Diagnose<'_, L, E, H, S, P>
where
    L: LogEvents,
    E: EcsServices,
    H: TaskHistory,
    S: Records + ReportWriter,
    P: Publisher,
{
    pub async fn handle(
        &self,
        payload: &Value,
        ctx: &Context<'_>,
        now: OffsetDateTime,
    ) -> Result<Value, InvokeError> {
        let (services, minutes, trigger, key) = match parse(payload)? {
            Invocation::Ignore(reason) => return Ok(json!({"ignored": reason})),
            Invocation::Diagnose {
                services,
                minutes,
                trigger,
                dedupe_key,
            } => (services, minutes, trigger, dedupe_key),
        };
        let mut services = resolve_services(self.cfg, self.ecs, services).await?;
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
            store: self.store,
            by: ctx.request_id,
            until: ctx.deadline,
            window: time::Duration::minutes(i64::from(self.cfg.coalesce_minutes)),
        };
        let (services, covered, held) = match &key {
            None => (services, Vec::new(), None),
            Some(key) => match claims
                .admit(key, &services, now)
                .await
                .map_err(InvokeError::Claims)?
            {
                Admission::Duplicate { record } => {
                    return Ok(
                        json!({"duplicate": key, "state": record.state, "report": record.report}),
                    );
                }
                Admission::Coalesced { covered } => {
                    return Ok(json!({"coalesced": key, "covered_by": json!(covered)}));
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
        match self.diagnose_and_report(&req, ctx, now).await {
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
    async fn diagnose_and_report(
        &self,
        req: &Request,
        ctx: &Context<'_>,
        now: OffsetDateTime,
    ) -> Result<(super::report::Report, String, bool), InvokeError> {
        let report = diagnose(
            self.cfg,
            self.logs,
            self.ecs,
            self.history,
            self.classifier,
            req,
            now,
        )
        .await?;
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
        let url = self
            .store
            .put_report(&name, body)
            .await
            .map_err(InvokeError::Report)?;
        let mut published = false;
        if report.worst().is_problem()
            && let Some(p) = self.publisher
        {
            let n = render::notification(&report, &url);
            p.publish_json(&n.subject, n.document())
                .await
                .map_err(|error| InvokeError::Publish {
                    report: url.clone(),
                    error,
                })?;
            published = true;
        }
        Ok((report, url, published))
    }
}
