//! The diagnose Lambda's application (`app::Diagnosis`) against moto behind the strict layer:
//! the function's own credentials, held to its policy in template.yaml, with every sample
//! event of events/, faults injected by the proxy, and the real S3, SNS, ECS and CloudWatch
//! Logs adapters. (The handler itself is unit-tested with the ports' fakes.)

//! The handler against moto behind the strict layer: the function's own credentials,
//! held to its policy in template.yaml, with every sample event of events/.
use ecs_monitor::app::{AppError, Context, Diagnosis};
use ecs_monitor::aws::{
    ecs::Ecs, elb::Elb, logs::CloudWatchLogs, s3::ReportStore, sns::Sns, tasks::EcsTasks,
};
use ecs_monitor::config::DiagnoseConfig;
use ecs_monitor::diagnose::fetch::MAX_TRIES;
use ecs_monitor::diagnose::trigger::parse;
use ecs_monitor::ports::fakes::{DIAGNOSE_SAMPLES, sample_event};
use ecs_monitor_e2e::faults::{Fault, FaultProxy, throttle_then_5xx};
use ecs_monitor_e2e::moto::{DIAGNOSE, Moto, sdk_as};
use serde_json::Value;
use serde_json::json;
use std::collections::HashMap;
use time::OffsetDateTime;

/// Cluster prod with service api, its log group with an OOM and a refused connection,
/// the report bucket, and an alert topic with a queue; the strict layer holds
/// DiagnoseFunction to its policy for this stack. Returns (moto, topic, queue).
fn seed(bucket: &str) -> (Moto, String, String) {
    let moto = Moto::start();
    moto.ok("ecs", "create_cluster", json!({"clusterName": "prod"}));
    moto.service_with_logs("prod", "api", 1);
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
    moto.strict(
        json!({"ClusterName": "prod", "ReportPrefix": "reports/"}),
        json!({"StateBucket": bucket, "AlertTopic": topic}),
    );
    (moto, topic, queue)
}

fn config(topic: &str, extra: &[(&'static str, &'static str)]) -> DiagnoseConfig {
    let mut env = HashMap::from([
        ("ECS_CLUSTER", "prod"),
        ("ECS_SERVICES", "api"),
        ("REPORT_BUCKET", "reports"),
        ("ALERT_TOPIC_ARN", topic),
    ]);
    env.extend(extra.iter().copied());
    DiagnoseConfig::from_env(&env).unwrap()
}

type App = Diagnosis<CloudWatchLogs, Ecs, EcsTasks, Elb, ReportStore, Sns>;

async fn app_at(endpoint: &str, cfg: DiagnoseConfig) -> App {
    Diagnosis::lambda(cfg, &sdk_as(endpoint, DIAGNOSE).await).unwrap()
}

/// One invocation as the handler makes it: the event parsed, a deadline five minutes away.
async fn invoke(app: &App, payload: Value, id: &str) -> Result<Value, AppError> {
    let now = OffsetDateTime::now_utc();
    let ctx = Context {
        request_id: id,
        deadline: now + time::Duration::minutes(5),
    };
    Ok(app.run(parse(&payload)?, &ctx, now).await?.value)
}

/// The machine messages the queue received (the `sqs` key of each publish).
fn published(moto: &Moto, queue: &str) -> Vec<Value> {
    moto.drain_queue(queue)
        .iter()
        .map(|m| serde_json::from_str(m["Message"].as_str().unwrap()).unwrap())
        .collect()
}

/// The reports' JSON keys; each has its page beside it, and the index lists each.
fn report_keys(moto: &Moto) -> Vec<String> {
    let listed = moto.ok(
        "s3",
        "list_objects_v2",
        json!({"Bucket": "reports", "Prefix": "reports/prod/"}),
    );
    let all: Vec<String> = listed["Contents"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|o| o["Key"].as_str().unwrap().to_string())
        .filter(|k| !k.contains("/claims/") && !k.contains("/stops/"))
        .collect();
    let reports: Vec<String> = all
        .iter()
        .filter(|k| k.ends_with(".json") && !k.ends_with("/index.json"))
        .cloned()
        .collect();
    for r in &reports {
        let page = format!("{}.html", r.trim_end_matches(".json"));
        assert!(all.contains(&page), "no page beside {r}: {all:?}");
    }
    if !reports.is_empty() {
        let index = moto.ok(
            "s3",
            "get_object",
            json!({"Bucket": "reports", "Key": "reports/prod/index.json"}),
        );
        let index: Value = serde_json::from_str(index["Body"].as_str().unwrap()).unwrap();
        assert_eq!(
            index["reports"].as_array().unwrap().len(),
            reports.len(),
            "{index}"
        );
    }
    reports
}

#[tokio::test(flavor = "multi_thread")]
async fn every_trigger_diagnoses_and_reports() {
    let (moto, topic, queue) = seed("reports");
    // No coalescing: every sample event diagnoses.
    let app = app_at(
        &moto.endpoint,
        config(&topic, &[("DIAGNOSE_COALESCE_MINUTES", "0")]),
    )
    .await;
    let mut n = 0;
    let mut next_id = || {
        n += 1;
        format!("req{n:04}")
    };

    let mut reports = 0;
    for name in DIAGNOSE_SAMPLES.iter().chain(&["failed-event-record.json"]) {
        let out = invoke(&app, sample_event(name), &next_id())
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        if *name == "failed-event-record.json" {
            // The event it carries was diagnosed above: a replay of it is a duplicate.
            assert_eq!(out["state"], "done", "{name}: {out}");
            continue;
        }
        assert_eq!(out["services"][0]["service"], "api", "{name}: {out}");
        assert_eq!(out["services"][0]["status"], "critical", "{name}");
        assert_eq!(out["published"], true, "{name}");
        assert!(
            out["report_url"]
                .as_str()
                .unwrap()
                .starts_with("s3://reports/reports/prod/"),
            "{name}"
        );
        reports += 1;
    }
    let again = invoke(&app, sample_event("ecs-task-stopped-oom.json"), &next_id())
        .await
        .unwrap();
    assert!(
        again["duplicate"].as_str().unwrap().starts_with("task/"),
        "a redelivered event is diagnosed once: {again}"
    );
    assert!(
        again["report"]
            .as_str()
            .unwrap()
            .starts_with("s3://reports/")
    );
    let normal = invoke(&app, json!({"version": "0", "id": "x", "detail-type": "ECS Task State Change", "source": "aws.ecs", "account": "123456789012",
        "time": "2026-11-29T14:35:27Z", "region": "us-east-1", "resources": [], "detail": {"taskArn": "arn:aws:ecs:us-east-1:123456789012:task/prod/n1",
        "group": "service:api", "lastStatus": "STOPPED", "stopCode": "ServiceSchedulerInitiated", "stoppedReason": "Scaling activity initiated by (deployment ecs-svc/1)", "containers": [{"exitCode": 143}]}}), &next_id())
        .await
        .unwrap();
    assert!(normal["ignored"].is_string(), "{normal}");
    let err = invoke(&app, json!({"unexpected": true}), &next_id())
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("unsupported event"), "{err}");

    let keys = report_keys(&moto);
    assert_eq!(keys.len(), reports, "every report kept: {keys:?}");
    assert!(keys.iter().any(|k| k.contains("-ecs_event-")), "{keys:?}");
    let msgs = published(&moto, &queue);
    // One summary per diagnosis of a critical service, and the failed deployment's notice.
    let events: Vec<&str> = msgs.iter().map(|m| m["event"].as_str().unwrap()).collect();
    assert_eq!(events.len(), reports + 1, "{events:?}");
    assert_eq!(
        events.iter().filter(|e| **e == "deployment.failed").count(),
        1,
        "{events:?}"
    );
    let msgs: Vec<Value> = msgs
        .into_iter()
        .filter(|m| m["event"] == "diagnose.report")
        .collect();
    // The summary of the health alert's diagnosis names the alert's incident (its thread);
    // the others open none.
    let incidents: Vec<&Value> = msgs.iter().filter_map(|m| m.get("incident_id")).collect();
    assert_eq!(incidents, [&json!("prod-20261129T143500Z")], "{msgs:?}");
    moto.assert_no_denials();
}

/// One incident: the health alert, a task stopped for each task, a service action. One
/// diagnosis per service per window; the others answer which report covers them; a
/// redelivered alert (same SNS MessageId) is a duplicate.
#[tokio::test(flavor = "multi_thread")]
async fn a_storm_is_one_diagnosis_per_service() {
    let (moto, topic, queue) = seed("reports");
    let app = app_at(&moto.endpoint, config(&topic, &[])).await;
    let first = invoke(&app, sample_event("sns-health-alert.json"), "alert")
        .await
        .unwrap();
    let url = first["report_url"].as_str().unwrap().to_string();
    for (i, name) in [
        "ecs-task-stopped-oom.json",
        "ecs-task-stopped-exit-1.json",
        "ecs-task-stopped-elb-health-checks.json",
        "ecs-service-action-warn.json",
    ]
    .iter()
    .enumerate()
    {
        let out = invoke(&app, sample_event(name), &format!("t{i}"))
            .await
            .unwrap();
        assert_eq!(out["covered_by"][0]["service"], "api", "{name}: {out}");
        assert_eq!(
            out["covered_by"][0]["report"],
            url.as_str(),
            "{name}: {out}"
        );
    }
    let redelivered = invoke(&app, sample_event("sns-health-alert.json"), "again")
        .await
        .unwrap();
    assert_eq!(
        redelivered["duplicate"],
        "sns/95df01b4-ee98-5cb9-9903-4c221d41eb5e"
    );
    assert_eq!(redelivered["report"], url.as_str());
    // A manual invoke is never coalesced.
    let manual = invoke(&app, sample_event("diagnose-api.json"), "manual")
        .await
        .unwrap();
    assert!(manual["report_url"].is_string(), "{manual}");
    assert_eq!(
        report_keys(&moto).len(),
        2,
        "the alert's and the manual one"
    );
    assert_eq!(published(&moto, &queue).len(), 2);
    moto.assert_no_denials();
}

/// An ECS event while the health check has an incident open joins the incident: diagnose
/// reads the health state (only its latest.json, as the template grants) and the summary
/// names the incident; once the state says recovered, an event opens its own thread.
#[tokio::test(flavor = "multi_thread")]
async fn an_ecs_event_during_an_open_incident_joins_it() {
    let (moto, topic, queue) = seed("reports");
    let app = app_at(
        &moto.endpoint,
        config(
            &topic,
            &[
                ("STATE_BUCKET", "reports"),
                ("DIAGNOSE_COALESCE_MINUTES", "0"),
            ],
        ),
    )
    .await;
    // No state yet (the health check has not run): its own thread, no error.
    let out = invoke(&app, sample_event("ecs-task-stopped-oom.json"), "e0")
        .await
        .unwrap();
    assert_eq!(out["published"], true, "{out}");
    assert_eq!(out["trigger"].get("incident_id"), None, "{out}");

    let state = |announced: &str| {
        json!({"schema_version": 1, "checked_at": "2026-11-29T14:35:00Z", "cluster": "prod",
            "region": "us-east-1", "overall": announced, "services": [], "target_groups": [],
            "http": [], "tls": [], "issues": [],
            "alerting": {"announced": announced, "incident_id": "prod-20261129T143500Z"}})
        .to_string()
    };
    let put = |body: String| {
        moto.ok(
            "s3",
            "put_object",
            json!({"Bucket": "reports", "Key": "ecs-health/prod/latest.json", "Body": body}),
        );
    };
    put(state("degraded"));
    let out = invoke(&app, sample_event("ecs-task-stopped-exit-1.json"), "e1")
        .await
        .unwrap();
    assert_eq!(
        out["trigger"]["incident_id"], "prod-20261129T143500Z",
        "{out}"
    );
    put(state("healthy"));
    let out = invoke(&app, sample_event("ecs-service-action-warn.json"), "e2")
        .await
        .unwrap();
    assert_eq!(out["trigger"].get("incident_id"), None, "recovered: {out}");

    let incidents: Vec<Value> = published(&moto, &queue)
        .iter()
        .map(|m| m.get("incident_id").cloned().unwrap_or(Value::Null))
        .collect();
    assert_eq!(
        incidents,
        [Value::Null, json!("prod-20261129T143500Z"), Value::Null]
    );
    moto.assert_no_denials();
}

/// The dedupe marker used to be written before the work: Lambda's retries of a failed
/// diagnosis then answered "duplicate" and the event was lost. Now a failure releases the
/// claims and the retry diagnoses.
#[tokio::test(flavor = "multi_thread")]
async fn a_failed_diagnosis_is_retried_not_lost() {
    let (moto, topic, queue) = seed("reports");
    let proxy = FaultProxy::start(&moto.endpoint, Box::new(|_| None)).await;
    let cfg = config(&topic, &[("DIAGNOSE_COALESCE_MINUTES", "0")]);
    let app = app_at(&proxy.endpoint, cfg).await;
    // The report's PUT fails (not the claims' nor the stop's record).
    proxy.set_policy(Box::new(|c| {
        (c.op == "s3:PUT" && !c.path.contains("/claims/") && !c.path.contains("/stops/"))
            .then_some(Fault::ServerError)
    }));
    let event = sample_event("ecs-task-stopped-oom.json");
    let err = invoke(&app, event.clone(), "try1")
        .await
        .expect_err("the report cannot be stored")
        .to_string();
    assert!(
        err.contains("cannot store the report") && err.contains("InternalError"),
        "{err}"
    );
    proxy.set_policy(Box::new(|_| None));
    let retry = invoke(&app, event.clone(), "try1")
        .await
        .expect("Lambda's retry diagnoses");
    assert!(retry["report_url"].is_string(), "{retry}");
    assert_eq!(published(&moto, &queue).len(), 1);
    // SNS refuses the summary: the invocation fails, so Lambda retries it.
    proxy.set_policy(Box::new(|c| {
        (c.op == "Publish").then_some(Fault::ServerError)
    }));
    let err = invoke(&app, sample_event("ecs-task-stopped-exit-1.json"), "x1")
        .await
        .expect_err("not published")
        .to_string();
    assert!(err.contains("summary could not be published"), "{err}");
    proxy.set_policy(Box::new(|_| None));
    let retry = invoke(&app, sample_event("ecs-task-stopped-exit-1.json"), "x1")
        .await
        .unwrap();
    assert_eq!(retry["published"], true, "{retry}");
    // ... or a failed deployment's notice: the retry sends it, then the diagnosis.
    proxy.set_policy(Box::new(|c| {
        (c.op == "Publish").then_some(Fault::ServerError)
    }));
    let err = invoke(&app, sample_event("ecs-deployment-failed.json"), "d1")
        .await
        .expect_err("not published")
        .to_string();
    assert!(
        err.contains("deployment notice could not be published"),
        "{err}"
    );
    proxy.set_policy(Box::new(|_| None));
    let retry = invoke(&app, sample_event("ecs-deployment-failed.json"), "d1")
        .await
        .unwrap();
    assert_eq!(retry["published"], true, "{retry}");
    let events: Vec<Value> = published(&moto, &queue)
        .iter()
        .map(|m| m["event"].clone())
        .collect();
    assert_eq!(
        events,
        ["diagnose.report", "deployment.failed", "diagnose.report"],
        "the exit-1 retry's summary, then the notice and the summary of the deployment"
    );
}

/// A deployment's story against moto behind the strict layer: its start, its failure
/// (notice and diagnosis), the circuit breaker's rollback and the rollback's completion, in
/// one thread, with what each event says remembered in S3 under the claims the template
/// grants, the failing tasks named, a redelivery silent, and no call denied.
#[tokio::test(flavor = "multi_thread")]
async fn a_failed_deployment_is_told_from_start_to_rollback() {
    let (moto, topic, queue) = seed("reports");
    let failed = "ecs-svc/1234567890123456789";
    let ago = |s: i64| OffsetDateTime::now_utc().unix_timestamp() - s;
    for (id, at) in [("bad1", ago(240)), ("bad2", ago(120))] {
        moto.ok(
            "harness",
            "add_stopped_task",
            json!({"cluster": "prod", "service": "api", "task_id": id,
                "reason": "Essential container in task exited", "exit_code": 1, "stopped_at": at,
                "started_by": failed,
                "task_definition": "arn:aws:ecs:us-east-1:123456789012:task-definition/app:43"}),
        );
    }
    let app = app_at(
        &moto.endpoint,
        config(&topic, &[("DIAGNOSE_COALESCE_MINUTES", "0")]),
    )
    .await;
    let samples = [
        "ecs-deployment-in-progress.json",
        "ecs-deployment-failed.json",
        "ecs-deployment-rolling-back.json",
        "ecs-deployment-completed.json",
    ];
    for (i, name) in samples.iter().enumerate() {
        invoke(&app, sample_event(name), &format!("d{i}"))
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    for (i, name) in samples.iter().enumerate() {
        let again = invoke(&app, sample_event(name), &format!("again{i}"))
            .await
            .unwrap();
        assert!(again["duplicate"].is_string(), "{name}: {again}");
    }
    let msgs = published(&moto, &queue);
    let events: Vec<&str> = msgs.iter().map(|m| m["event"].as_str().unwrap()).collect();
    assert_eq!(
        events,
        [
            "deployment.started",
            "deployment.failed",
            "diagnose.report",
            "deployment.rolling_back",
            "deployment.rolled_back"
        ]
    );
    let subject = |i: usize| msgs[i]["subject"].as_str().unwrap_or_default().to_string();
    assert_eq!(
        subject(1),
        format!("[ecs-monitor] prod api: deployment {failed} (app:43) FAILED")
    );
    assert!(
        subject(4)
            .starts_with("[ecs-monitor] prod api: ROLLED BACK to ecs-svc/1111111111111111111"),
        "{}",
        subject(4)
    );
    let text = msgs[3]["text"].as_str().unwrap();
    assert!(
        text.contains("Failing tasks:\n  - task bad2: Essential container in task exited (exit 1)\n  - task bad1:"),
        "{text}"
    );
    let kept = moto.ok(
        "s3",
        "list_objects_v2",
        json!({"Bucket": "reports", "Prefix": "reports/prod/claims/deployments/api/"}),
    );
    let keys: Vec<&str> = kept["Contents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["Key"].as_str().unwrap())
        .collect();
    assert_eq!(
        keys,
        [
            "reports/prod/claims/deployments/api/ecs-svc-1234567890123456789.json",
            "reports/prod/claims/deployments/api/ecs-svc-3333333333333333333.json",
            "reports/prod/claims/deployments/api/last-failure.json"
        ]
    );
    moto.assert_no_denials();
}

/// Every task-stopped event is recorded (normal stops too) under the template's grants, and a
/// diagnosis of a window longer than ECS's hour counts the stops ECS no longer describes,
/// each saying it comes from its recorded event.
#[tokio::test(flavor = "multi_thread")]
async fn task_stops_are_kept_past_the_hour_ecs_keeps_them() {
    let (moto, topic, _) = seed("reports");
    let app = app_at(
        &moto.endpoint,
        config(&topic, &[("DIAGNOSE_COALESCE_MINUTES", "0")]),
    )
    .await;
    let now = OffsetDateTime::now_utc();
    let stop = |id: &str, minutes_ago: i64, code: &str, reason: &str, exit: i32| {
        let mut e = sample_event("ecs-task-stopped-oom.json");
        let arn = format!("arn:aws:ecs:us-east-1:123456789012:task/prod/{id}");
        e["id"] = json!(format!("event-{id}"));
        e["detail"]["taskArn"] = json!(arn);
        e["detail"]["stopCode"] = json!(code);
        e["detail"]["stoppedReason"] = json!(reason);
        e["detail"]["containers"][0]["exitCode"] = json!(exit);
        e["detail"]["containers"][0]["reason"] = Value::Null;
        e["detail"]["stoppedAt"] = json!(ecs_monitor::timefmt::rfc3339(
            now - time::Duration::minutes(minutes_ago)
        ));
        e
    };
    let crashed = invoke(
        &app,
        stop(
            "crash1",
            150,
            "EssentialContainerExited",
            "Essential container in task exited",
            1,
        ),
        "s1",
    )
    .await
    .unwrap();
    assert!(crashed["report_url"].is_string(), "{crashed}");
    let normal = invoke(
        &app,
        stop(
            "scale1",
            120,
            "ServiceSchedulerInitiated",
            "Scaling activity initiated by (deployment ecs-svc/1)",
            143,
        ),
        "s2",
    )
    .await
    .unwrap();
    assert_eq!(normal["recorded"], true, "{normal}");
    let kept = moto.ok(
        "s3",
        "list_objects_v2",
        json!({"Bucket": "reports", "Prefix": "reports/prod/stops/api/"}),
    );
    assert_eq!(kept["KeyCount"], 2, "{kept}");
    // Three hours back: ECS (moto) describes neither task any more.
    let out = invoke(&app, json!({"services": ["api"], "minutes": 180}), "m")
        .await
        .unwrap();
    let restarts = &out["services"][0]["restarts"];
    assert_eq!(restarts["count"], 1, "{restarts}");
    assert_eq!(restarts["stopped_tasks"][0]["task"], "crash1");
    assert_eq!(restarts["stopped_tasks"][0]["source"], "recorded");
    let timeline = restarts["timeline"].to_string();
    assert!(
        timeline.contains(
            "task crash1 stopped: Essential container in task exited (exit 1) [recorded ECS event]"
        ) && timeline.contains("task scale1 stopped (normal)"),
        "{timeline}"
    );
    assert!(
        restarts["notes"][0]
            .as_str()
            .unwrap()
            .contains("come from the task-stopped events recorded"),
        "{restarts}"
    );
    moto.assert_no_denials();
}

/// Where the logs are and what a dead task last said come from the task definition (its
/// awslogs group and stream prefix, its container's memory), read under the template's
/// grants (DescribeTaskDefinition, GetLogEvents on the task's own stream).
#[tokio::test(flavor = "multi_thread")]
async fn the_task_definition_names_the_logs_and_a_dead_tasks_last_lines() {
    let (moto, topic, _) = seed("reports");
    let now = OffsetDateTime::now_utc().unix_timestamp();
    moto.ok(
        "logs",
        "create_log_stream",
        json!({"logGroupName": "/ecs/api", "logStreamName": "ecs/app/oom7"}),
    );
    moto.ok(
        "logs",
        "put_log_events",
        json!({"logGroupName": "/ecs/api", "logStreamName": "ecs/app/oom7", "logEvents": [
        {"timestamp": (now - 320) * 1000, "message": "loading the catalogue"},
        {"timestamp": (now - 310) * 1000, "message": "catalogue holds 2,000,000 items"}]}),
    );
    moto.ok(
        "harness",
        "add_stopped_task",
        json!({"cluster": "prod", "service": "api", "task_id": "oom7",
            "reason": "OutOfMemoryError: Container killed due to memory usage", "exit_code": 137,
            "stopped_at": now - 300,
            "task_definition": "arn:aws:ecs:us-east-1:123456789012:task-definition/api:1"}),
    );
    let app = app_at(&moto.endpoint, config(&topic, &[])).await;
    let out = invoke(&app, json!({"services": ["api"]}), "t1")
        .await
        .unwrap();
    let api = &out["services"][0];
    assert_eq!(
        api["log_group"], "/ecs/api",
        "from the task definition: {api}"
    );
    let task = &api["restarts"]["stopped_tasks"][0];
    assert_eq!(task["task"], "oom7");
    assert_eq!(task["memory_limit_mib"], 128, "{task}");
    assert_eq!(
        task["last_lines"],
        json!(["loading the catalogue", "catalogue holds 2,000,000 items"])
    );
    let oom = &out["probable_causes"][0];
    assert_eq!(
        oom["sentence"],
        "api: 1 task was killed for running out of memory (memory limit 128 MiB)"
    );
    moto.assert_no_denials();
}

/// A deployment that failed 20 minutes ago, a target the load balancer finds unhealthy, and
/// an error that began after the deployment: the report and its causes say all three, read
/// under the template's grants (DescribeTargetHealth among them).
#[tokio::test(flavor = "multi_thread")]
async fn a_failed_deployment_and_an_unhealthy_target_lead_the_causes() {
    let (moto, topic, _) = seed("reports");
    let vpc =
        moto.ok("ec2", "create_vpc", json!({"CidrBlock": "10.0.0.0/16"}))["Vpc"]["VpcId"].clone();
    let tg = moto.ok(
        "elbv2",
        "create_target_group",
        json!({"Name": "shop-tg", "Protocol": "HTTP", "Port": 80, "VpcId": vpc, "TargetType": "ip"}),
    )["TargetGroups"][0]["TargetGroupArn"]
        .clone();
    // Port 9999: the harness's unhealthy target.
    moto.ok(
        "elbv2",
        "register_targets",
        json!({"TargetGroupArn": tg, "Targets": [{"Id": "10.0.1.5", "Port": 80}, {"Id": "10.0.1.6", "Port": 9999}]}),
    );
    moto.service_with_logs_and(
        "prod",
        "shop",
        2,
        json!({
            "loadBalancers": [{"targetGroupArn": tg, "containerName": "app", "containerPort": 80}],
            "tags": [
                {"key": "harness.running", "value": "1"},
                {"key": "harness.rollout", "value": "FAILED"},
                {"key": "harness.rollout-reason", "value": "ECS deployment circuit breaker: tasks failed to start."},
                {"key": "harness.rollout-started", "value": "20"},
                {"key": "harness.failed-tasks", "value": "3"}
            ]
        }),
    );
    moto.ok(
        "logs",
        "create_log_group",
        json!({"logGroupName": "/ecs/shop"}),
    );
    moto.ok(
        "logs",
        "create_log_stream",
        json!({"logGroupName": "/ecs/shop", "logStreamName": "ecs/app/1"}),
    );
    let now = (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
    let minute = 60_000;
    let mut events =
        vec![json!({"timestamp": now - 40 * minute, "message": "ERROR cache miss for key 1"})];
    for i in 0..6 {
        events.push(json!({"timestamp": now - (15 - i) * minute, "message": "INFO reserving"}));
        events.push(json!({"timestamp": now - (15 - i) * minute + 1, "message": "java.lang.IllegalStateException: inventory missing"}));
    }
    moto.ok(
        "logs",
        "put_log_events",
        json!({"logGroupName": "/ecs/shop", "logStreamName": "ecs/app/1", "logEvents": events}),
    );
    let app = app_at(&moto.endpoint, config(&topic, &[])).await;
    let out = invoke(&app, json!({"services": ["shop"]}), "d1")
        .await
        .unwrap();
    let shop = &out["services"][0];
    assert_eq!(shop["deployment"]["rollout_state"], "FAILED", "{shop}");
    assert_eq!(shop["deployment"]["failed_tasks"], 3);
    assert_eq!(shop["targets"]["total"], 2);
    assert_eq!(shop["targets"]["not_healthy"][0]["target"], "10.0.1.6:9999");
    let causes: Vec<&str> = out["probable_causes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["sentence"].as_str().unwrap())
        .collect();
    let deployment = shop["deployment"]["id"].as_str().unwrap();
    assert_eq!(
        causes[0],
        format!(
            "shop: deployment {deployment} (shop:1) failed: ECS deployment circuit breaker: tasks failed to start."
        )
    );
    assert_eq!(
        causes[1],
        "shop: 1 of 2 load balancer targets fail its health checks: Health checks failed with these codes: [502]"
    );
    assert!(
        causes[2].starts_with(&format!(
            "shop: 6 errors of kinds not seen before deployment {deployment} (shop:1) started at "
        )),
        "{causes:?}"
    );
    moto.assert_no_denials();
}

/// A silence of api in the state bucket (as `ecs-monitor silence` writes it): the diagnosis
/// is written, its summary held, read under the template's grants.
#[tokio::test(flavor = "multi_thread")]
async fn a_silenced_services_summary_is_held() {
    let (moto, topic, queue) = seed("reports");
    let now = OffsetDateTime::now_utc();
    let rfc = |t: OffsetDateTime| ecs_monitor::timefmt::rfc3339(t);
    let silences = json!({"schema_version": 1, "silences": [{"id": "s1", "services": ["api"],
        "starts_at": rfc(now - time::Duration::minutes(5)), "ends_at": rfc(now + time::Duration::hours(1)),
        "reason": "heap resize"}]});
    moto.ok(
        "s3",
        "put_object",
        json!({"Bucket": "reports", "Key": "ecs-health/prod/silences.json", "Body": silences.to_string()}),
    );
    let app = app_at(
        &moto.endpoint,
        config(&topic, &[("STATE_BUCKET", "reports")]),
    )
    .await;
    let out = invoke(&app, sample_event("ecs-task-stopped-oom.json"), "h1")
        .await
        .unwrap();
    assert_eq!(out["published"], false, "{out}");
    assert!(
        out["held"].as_str().unwrap().ends_with("heap resize"),
        "{out}"
    );
    assert!(out["report_url"].is_string());
    assert!(published(&moto, &queue).is_empty());
    moto.assert_no_denials();
}

/// S3's 409 ConditionalRequestConflict means "try again", not "someone else won".
#[tokio::test(flavor = "multi_thread")]
async fn a_409_on_a_claim_is_retried() {
    let (moto, topic, _) = seed("reports");
    let proxy = FaultProxy::start(&moto.endpoint, Box::new(|_| None)).await;
    let app = app_at(&proxy.endpoint, config(&topic, &[])).await;
    let mut conflicts = 0;
    proxy.set_policy(Box::new(move |c| {
        if c.op == "s3:PUT" && c.path.contains("/claims/") && conflicts < 2 {
            conflicts += 1;
            return Some(Fault::Conflict);
        }
        None
    }));
    let out = invoke(&app, sample_event("ecs-task-stopped-oom.json"), "c1")
        .await
        .unwrap();
    assert!(out["report_url"].is_string(), "{out}");
    assert_eq!(proxy.faults("s3:PUT", Fault::Conflict), 2);
}

/// Every AWS call of a diagnosis is first throttled, then answered with a 5xx: the SDK
/// (and, for CloudWatch Logs, our limiter) retries with backoff and the report and its
/// summary arrive as without faults.
#[tokio::test(flavor = "multi_thread")]
async fn throttling_and_5xx_on_every_aws_call_are_retried() {
    let (moto, topic, queue) = seed("reports");
    moto.ok(
        "harness",
        "add_stopped_task",
        json!({"cluster": "prod", "service": "api", "task_id": "oom1",
        "reason": "OutOfMemoryError: Container killed due to memory usage", "exit_code": 137,
        "stopped_at": OffsetDateTime::now_utc().unix_timestamp() - 300}),
    );
    let proxy = FaultProxy::start(&moto.endpoint, throttle_then_5xx()).await;
    let app = app_at(&proxy.endpoint, config(&topic, &[])).await;
    let out = invoke(&app, sample_event("ecs-task-stopped-oom.json"), "f1")
        .await
        .expect("diagnosed despite the faults");
    assert_eq!(out["services"][0]["status"], "critical", "{out}");
    assert_eq!(published(&moto, &queue).len(), 1, "the summary, once");
    proxy.assert_every_call_faulted(&[
        "DescribeServices",
        "DescribeTaskDefinition",
        "GetLogEvents",
        "ListTasks",
        "DescribeTasks",
        "DescribeLogStreams",
        "FilterLogEvents",
        "s3:GET",
        "s3:PUT",
        "Publish",
    ]);
}

/// The 5/s FilterLogEvents budget is the account's: a throttled request is tried
/// MAX_TRIES times in all, each through the limiter (the SDK's own retries used to
/// multiply that by three, outside it).
#[tokio::test(flavor = "multi_thread")]
async fn throttled_log_reads_stay_within_the_budget() {
    let (moto, topic, _) = seed("reports");
    let proxy = FaultProxy::start(
        &moto.endpoint,
        Box::new(|c| (c.op == "FilterLogEvents").then_some(Fault::Throttle)),
    )
    .await;
    let app = app_at(&proxy.endpoint, config(&topic, &[])).await;
    let out = invoke(&app, sample_event("diagnose-api.json"), "m1")
        .await
        .unwrap();
    let error = out["services"][0]["error"].as_str().unwrap();
    assert!(
        error.contains("throttled") && error.contains("(8 tries)"),
        "{error}"
    );
    let calls = proxy.calls()["FilterLogEvents"].0;
    assert_eq!(
        calls,
        2 * MAX_TRIES as usize,
        "the window and the previous one, {MAX_TRIES} attempts each"
    );
}

/// CloudWatch Logs evaluates log-group permissions on `log-group:NAME:*`: a template
/// deployed with an exact LogGroupArnPattern (`/ecs/api`) must still read /ecs/api.
#[tokio::test(flavor = "multi_thread")]
async fn an_exact_log_group_arn_pattern_is_granted() {
    let (moto, topic, _) = seed("reports");
    moto.strict(
        json!({"ClusterName": "prod", "LogGroupArnPattern": "/ecs/api"}),
        json!({"StateBucket": "reports", "AlertTopic": topic}),
    );
    let app = app_at(&moto.endpoint, config(&topic, &[])).await;
    let out = invoke(&app, sample_event("diagnose-api.json"), "g1")
        .await
        .unwrap();
    assert_eq!(out["services"][0]["error"], Value::Null, "{out}");
    assert_eq!(out["services"][0]["status"], "critical");
    assert_eq!(out["services"][0]["restarts"]["unavailable"], json!([]));
    moto.assert_no_denials();
}

/// A report bucket that does not exist fails the invocation with an error naming it.
#[tokio::test(flavor = "multi_thread")]
async fn a_missing_report_bucket_is_a_clear_error() {
    let (moto, topic, _) = seed("no-such-bucket");
    let cfg = DiagnoseConfig {
        report_bucket: Some("no-such-bucket".into()),
        ..config(&topic, &[])
    };
    let app = app_at(&moto.endpoint, cfg).await;
    let err = invoke(&app, sample_event("diagnose-api.json"), "b1")
        .await
        .expect_err("nowhere to write")
        .to_string();
    assert!(
        err.contains("no-such-bucket") && err.contains("NoSuchBucket"),
        "{err}"
    );
}
