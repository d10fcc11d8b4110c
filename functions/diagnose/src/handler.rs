//! Event in, report out; the analysis is `ecs_monitor::diagnose::run`.

use ecs_monitor::aws::{
    self, ecs::Ecs, logs::CloudWatchLogs, s3::ReportStore, sns::Sns, tasks::EcsTasks,
};
use ecs_monitor::classify::Classifier;
use ecs_monitor::config::{DiagnoseConfig, ProcessEnv};
use ecs_monitor::diagnose::render;
use ecs_monitor::diagnose::run::{Request, diagnose};
use ecs_monitor::diagnose::trigger::{Invocation, parse};
use lambda_runtime::{Error, LambdaEvent};
use serde_json::{Value, json};
use time::OffsetDateTime;

/// Lambda answers at most 6 MB synchronously: past this, the summary and the S3 key.
const MAX_RESPONSE: usize = 5 * 1024 * 1024;

pub struct App {
    cfg: DiagnoseConfig,
    logs: CloudWatchLogs,
    ecs: Ecs,
    tasks: EcsTasks,
    reports: ReportStore,
    sns: Option<Sns>,
    classifier: Classifier,
}

impl App {
    pub async fn from_env() -> Result<Self, Error> {
        let cfg = DiagnoseConfig::from_env(&ProcessEnv)?;
        let bucket = cfg.require_report_bucket()?.to_string();
        let sdk = aws::sdk_config(&cfg.region).await;
        Ok(Self {
            logs: CloudWatchLogs::new(&sdk),
            ecs: Ecs::new(&sdk),
            tasks: EcsTasks::new(&sdk),
            reports: ReportStore::new(&sdk, &bucket, &cfg.report_prefix, &cfg.cluster),
            sns: cfg.alert_topic_arn.as_deref().map(|t| Sns::new(&sdk, t)),
            classifier: Classifier::new(cfg.classifier.health_paths.clone()),
            cfg,
        })
    }

    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<Value, Error> {
        let (services, minutes, trigger, dedupe_key) = match parse(&event.payload)? {
            Invocation::Ignore(reason) => return Ok(json!({"ignored": reason})),
            Invocation::Diagnose {
                services,
                minutes,
                trigger,
                dedupe_key,
            } => (services, minutes, trigger, dedupe_key),
        };
        if let Some(key) = &dedupe_key
            && !self.reports.claim(&format!("dedupe/{key}")).await?
        {
            return Ok(json!({"duplicate": key}));
        }
        let now = OffsetDateTime::now_utc();
        let req = Request {
            services,
            minutes: minutes.unwrap_or(self.cfg.minutes),
            limit: self.cfg.event_limit,
            trigger,
        };
        let report = diagnose(
            &self.cfg,
            &self.logs,
            &self.ecs,
            &self.tasks,
            &self.classifier,
            &req,
            now,
        )
        .await?;
        let body = serde_json::to_vec_pretty(&report)?;
        let url = self
            .reports
            .put(
                &format!(
                    "{}-{}.json",
                    ecs_monitor::timefmt::compact(now),
                    report.trigger.kind
                ),
                body.clone(),
            )
            .await?;
        let worst = report.worst();
        let mut published = false;
        if worst.is_problem()
            && let Some(sns) = &self.sns
        {
            let (subject, message) = render::sns_message(&report, &url);
            match sns
                .publish_json(
                    &subject,
                    message,
                    &report.cluster,
                    worst.as_str(),
                    "diagnose.report",
                )
                .await
            {
                Ok(()) => published = true,
                // The report is in S3 already: say so, do not fail the invocation.
                Err(e) => lambda_runtime::tracing::error!("diagnose summary not published: {e}"),
            }
        }
        lambda_runtime::tracing::info!(cluster = %report.cluster, status = worst.as_str(), report = %url, published, "diagnosis done");
        if body.len() <= MAX_RESPONSE {
            let mut v = serde_json::to_value(&report)?;
            v["report_url"] = json!(url);
            Ok(v)
        } else {
            Ok(json!({
                "report_url": url,
                "status": worst.as_str(),
                "summary": render::summary_lines(&report),
                "note": "the report is larger than a Lambda response; read it from S3",
            }))
        }
    }
}
