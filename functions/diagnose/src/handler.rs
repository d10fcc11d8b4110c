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
        let sdk = aws::sdk_config(&cfg.region).await;
        Self::new(cfg, &sdk)
    }

    pub fn new(cfg: DiagnoseConfig, sdk: &aws_config::SdkConfig) -> Result<Self, Error> {
        let bucket = cfg.require_report_bucket()?.to_string();
        let sdk = sdk.clone();
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
        // Several events can arrive in one second: the invocation's id keeps their reports apart.
        let unique: String = match event.context.request_id.as_str() {
            "" => format!("{:09}", now.nanosecond()),
            id => id
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .take(8)
                .collect(),
        };
        let name = format!(
            "{}-{}-{unique}.json",
            ecs_monitor::timefmt::compact(now),
            report.trigger.kind
        );
        let url = self.reports.put(&name, body.clone()).await?;
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

#[cfg(test)]
mod tests {
    //! The handler against moto, with every sample event of events/.
    use super::*;
    use ecs_monitor_e2e::faults::{FaultProxy, throttle_then_5xx};
    use ecs_monitor_e2e::moto::{Moto, sdk_at};
    use lambda_runtime::Context;
    use std::collections::HashMap;

    fn sample(name: &str) -> Value {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../events")
            .join(name);
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    /// Cluster prod with service api, its log group with an OOM and a refused connection,
    /// the report bucket, and an alert topic with a queue; returns (moto, topic, queue).
    fn seed() -> (Moto, String, String) {
        let moto = Moto::start();
        moto.ok("ecs", "create_cluster", json!({"clusterName": "prod"}));
        moto.ok("ecs", "register_task_definition", json!({"family": "app", "containerDefinitions": [{"name": "app", "image": "nginx", "memory": 64}]}));
        moto.ok("ecs", "create_service", json!({"cluster": "prod", "serviceName": "api", "taskDefinition": "app", "desiredCount": 1, "launchType": "EC2"}));
        moto.ok(
            "logs",
            "create_log_group",
            json!({"logGroupName": "/ecs/api"}),
        );
        moto.ok(
            "logs",
            "create_log_stream",
            json!({"logGroupName": "/ecs/api", "logStreamName": "ecs/app/1"}),
        );
        let now = (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
        moto.ok("logs", "put_log_events", json!({"logGroupName": "/ecs/api", "logStreamName": "ecs/app/1", "logEvents": [
            {"timestamp": now - 600_000, "message": "java.lang.OutOfMemoryError: Java heap space"},
            {"timestamp": now - 500_000, "message": "ERROR dial tcp 10.0.0.1:5432: connect: connection refused"}]}));
        moto.ok("s3", "create_bucket", json!({"Bucket": "reports"}));
        let topic = moto.ok("sns", "create_topic", json!({"Name": "alerts"}))["TopicArn"]
            .as_str()
            .unwrap()
            .to_string();
        let queue = moto.subscribe_queue(&topic, "alerts");
        (moto, topic, queue)
    }

    fn config(topic: &str) -> DiagnoseConfig {
        let env = HashMap::from([
            ("ECS_CLUSTER", "prod"),
            ("ECS_SERVICES", "api"),
            ("REPORT_BUCKET", "reports"),
            ("ALERT_TOPIC_ARN", topic),
        ]);
        DiagnoseConfig::from_env(&env).unwrap()
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn every_trigger_diagnoses_and_reports() {
        let (moto, topic, queue) = seed();
        let app = App::new(config(&topic), &moto.sdk().await).unwrap();
        let invoke = |payload: Value| app.handle(LambdaEvent::new(payload, Context::default()));

        let mut reports = 0;
        for name in [
            "diagnose-all.json",
            "diagnose-api.json",
            "diagnose-api-30-minutes.json",
            "sns-health-alert.json",
            "ecs-task-stopped-oom.json",
            "ecs-task-stopped-exit-1.json",
            "ecs-task-stopped-elb-health-checks.json",
            "ecs-deployment-failed.json",
            "ecs-service-action-warn.json",
        ] {
            let out = invoke(sample(name))
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(out["services"][0]["service"], "api", "{name}: {out}");
            assert_eq!(out["services"][0]["status"], "critical", "{name}");
            assert!(
                out["report_url"]
                    .as_str()
                    .unwrap()
                    .starts_with("s3://reports/reports/prod/"),
                "{name}"
            );
            reports += 1;
        }
        let again = invoke(sample("ecs-task-stopped-oom.json")).await.unwrap();
        assert!(
            again["duplicate"].as_str().unwrap().starts_with("task/"),
            "a redelivered event is diagnosed once: {again}"
        );
        let normal = invoke(json!({"version": "0", "id": "x", "detail-type": "ECS Task State Change", "source": "aws.ecs", "account": "123456789012",
            "time": "2026-11-29T14:35:27Z", "region": "us-east-1", "resources": [], "detail": {"taskArn": "arn:aws:ecs:us-east-1:123456789012:task/prod/n1",
            "group": "service:api", "lastStatus": "STOPPED", "stoppedReason": "Scaling activity initiated by (deployment ecs-svc/1)", "containers": [{"exitCode": 0}]}}))
            .await
            .unwrap();
        assert!(normal["ignored"].is_string(), "{normal}");
        let err = invoke(json!({"unexpected": true}))
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("unsupported event"), "{err}");

        let listed = moto.ok(
            "s3",
            "list_objects_v2",
            json!({"Bucket": "reports", "Prefix": "reports/prod/"}),
        );
        let keys: Vec<&str> = listed["Contents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["Key"].as_str().unwrap())
            .collect();
        let report_keys = keys.iter().filter(|k| !k.contains("/dedupe/")).count();
        assert_eq!(report_keys, reports, "every report kept: {keys:?}");
        assert!(keys.iter().any(|k| k.contains("-ecs_event-")), "{keys:?}");
        let msgs = moto.drain_queue(&queue);
        assert_eq!(
            msgs.len(),
            reports,
            "one summary per diagnosis of a critical service"
        );
        assert!(
            msgs.iter()
                .all(|m| m["MessageAttributes"]["event"]["Value"] == "diagnose.report")
        );
    }

    /// Every AWS call of a diagnosis is first throttled, then answered with a 5xx: the SDK
    /// retries with backoff and the report and its summary arrive as without faults.
    #[tokio::test(flavor = "multi_thread")]
    async fn throttling_and_5xx_on_every_aws_call_are_retried() {
        let (moto, topic, queue) = seed();
        moto.ok(
            "harness",
            "add_stopped_task",
            json!({"cluster": "prod", "service": "api", "task_id": "oom1",
            "reason": "OutOfMemoryError: Container killed due to memory usage", "exit_code": 137,
            "stopped_at": OffsetDateTime::now_utc().unix_timestamp() - 300}),
        );
        let proxy = FaultProxy::start(&moto.endpoint, throttle_then_5xx()).await;
        let app = App::new(config(&topic), &sdk_at(&proxy.endpoint).await).unwrap();
        let out = app
            .handle(LambdaEvent::new(
                sample("ecs-task-stopped-oom.json"),
                Context::default(),
            ))
            .await
            .expect("diagnosed despite the faults");
        assert_eq!(out["services"][0]["status"], "critical", "{out}");
        assert_eq!(moto.drain_queue(&queue).len(), 1, "the summary, once");
        proxy.assert_every_call_faulted(&[
            "DescribeServices",
            "ListTasks",
            "DescribeTasks",
            "DescribeLogStreams",
            "FilterLogEvents",
            "s3:PUT",
            "Publish",
        ]);
    }

    /// A report bucket that does not exist fails the invocation with an error naming it.
    #[tokio::test(flavor = "multi_thread")]
    async fn a_missing_report_bucket_is_a_clear_error() {
        let (moto, topic, _) = seed();
        let cfg = DiagnoseConfig {
            report_bucket: Some("no-such-bucket".into()),
            ..config(&topic)
        };
        let app = App::new(cfg, &moto.sdk().await).unwrap();
        let err = app
            .handle(LambdaEvent::new(
                sample("diagnose-api.json"),
                Context::default(),
            ))
            .await
            .expect_err("nowhere to write")
            .to_string();
        assert!(
            err.contains("no-such-bucket") && err.contains("NoSuchBucket"),
            "{err}"
        );
    }
}
