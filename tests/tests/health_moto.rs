//! The health check against moto in server mode: the CLI as users run it, and the Lambda's
//! S3 state and SNS alerts read back from a subscribed SQS queue.

use ecs_monitor::app::{AppError, HealthCheck};
use ecs_monitor::aws::{ecs::Ecs, elb::Elb, s3::S3Store, sns::Sns};
use ecs_monitor::config::HealthConfig;
use ecs_monitor::health::run::Outcome;
use ecs_monitor_e2e::cli::run as cli;
use ecs_monitor_e2e::faults::{Fault, FaultProxy, throttle_then_5xx};
use ecs_monitor_e2e::moto::{HEALTH_CHECK, Moto, sdk_as};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::PathBuf;
use time::OffsetDateTime;

const BUCKET: &str = "ecs-monitor-state";

struct Seeded {
    moto: Moto,
    tg_arn: String,
    topic_arn: String,
    queue_url: String,
}

/// Cluster prod: api (2 desired, 1 running, behind api-tg with one unhealthy target) and
/// web (1/1); a state bucket; an alert topic with an SQS queue subscribed.
fn seed() -> Seeded {
    let moto = Moto::start();
    moto.ok("ecs", "create_cluster", json!({"clusterName": "prod"}));
    moto.ok("ecs", "register_task_definition", json!({
        "family": "app",
        "containerDefinitions": [{"name": "app", "image": "nginx", "memory": 128, "portMappings": [{"containerPort": 80}]}]
    }));
    let vpc =
        moto.ok("ec2", "create_vpc", json!({"CidrBlock": "10.0.0.0/16"}))["Vpc"]["VpcId"].clone();
    let tg = moto.ok(
        "elbv2",
        "create_target_group",
        json!({
            "Name": "api-tg", "Protocol": "HTTP", "Port": 80, "VpcId": vpc, "TargetType": "ip"
        }),
    );
    let tg_arn = tg["TargetGroups"][0]["TargetGroupArn"]
        .as_str()
        .unwrap()
        .to_string();
    moto.ok(
        "elbv2",
        "register_targets",
        json!({
            "TargetGroupArn": tg_arn,
            "Targets": [{"Id": "10.0.1.5", "Port": 80}, {"Id": "10.0.1.6", "Port": 9999}]
        }),
    );
    for (name, desired, running, lb) in [("api", 2, 1, true), ("web", 1, 1, false)] {
        let mut args = json!({
            "cluster": "prod", "serviceName": name, "taskDefinition": "app", "desiredCount": desired,
            "launchType": "EC2", "tags": [{"key": "harness.running", "value": running.to_string()}]
        });
        if lb {
            args["loadBalancers"] =
                json!([{"targetGroupArn": tg_arn, "containerName": "app", "containerPort": 80}]);
        }
        moto.ok("ecs", "create_service", args);
    }
    moto.ok("s3", "create_bucket", json!({"Bucket": BUCKET}));
    let topic_arn = moto.ok("sns", "create_topic", json!({"Name": "alerts"}))["TopicArn"]
        .as_str()
        .unwrap()
        .to_string();
    let queue_url = moto.subscribe_queue(&topic_arn, "alerts");
    strict(&moto, &topic_arn);
    Seeded {
        moto,
        tg_arn,
        topic_arn,
        queue_url,
    }
}

/// Holds HealthCheckFunction to its template policy for this stack (cluster prod, the state
/// bucket, the topic `topic_arn`).
fn strict(moto: &Moto, topic_arn: &str) {
    moto.strict(
        json!({"ClusterName": "prod"}),
        json!({"StateBucket": BUCKET, "AlertTopic": topic_arn}),
    );
}

fn set_running(moto: &Moto, service: &str, running: i32) {
    moto.ok(
        "ecs",
        "tag_resource",
        json!({
            "resourceArn": format!("arn:aws:ecs:us-east-1:123456789012:service/prod/{service}"),
            "tags": [{"key": "harness.running", "value": running.to_string()}]
        }),
    );
}

fn heal(s: &Seeded) {
    set_running(&s.moto, "api", 2);
    s.moto.ok(
        "elbv2",
        "deregister_targets",
        json!({"TargetGroupArn": s.tg_arn, "Targets": [{"Id": "10.0.1.6", "Port": 9999}]}),
    );
}

fn tmp_state(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("ecs-monitor-health-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("state.json")
}

#[test]
fn cli_health_tells_the_truth_about_the_cluster() {
    let s = seed();
    let state = tmp_state("cli");
    let state_s = state.to_str().unwrap();
    let (code, out, err) = cli(
        &s.moto,
        &["health", "--json"],
        &[("ECS_CLUSTER", "prod"), ("ECS_HEALTH_STATE", state_s)],
    );
    assert_eq!(code, 1, "degraded: {err}");
    let v: Value = serde_json::from_str(&out).expect("state JSON");
    assert_eq!(v["overall"], "degraded");
    assert_eq!(v["schema_version"], 1);
    let services: HashMap<&str, &Value> = v["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap(), s))
        .collect();
    assert_eq!(services["api"]["status"], "degraded");
    assert_eq!(
        (
            services["api"]["running"].as_i64(),
            services["api"]["desired"].as_i64()
        ),
        (Some(1), Some(2))
    );
    assert_eq!(services["web"]["status"], "healthy");
    let tg = &v["target_groups"][0];
    assert_eq!(tg["name"], "api-tg");
    assert_eq!(
        (tg["healthy"].as_u64(), tg["unhealthy"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(tg["targets"][0]["id"], "10.0.1.6");
    assert_eq!(tg["targets"][0]["reason"], "Target.ResponseCodeMismatch");
    let issues: Vec<&str> = v["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i.as_str().unwrap())
        .collect();
    assert!(issues.contains(&"api: 1/2 tasks running"), "{issues:?}");
    assert!(
        issues
            .contains(&"target group api-tg: 1/2 targets unhealthy (Target.ResponseCodeMismatch)"),
        "{issues:?}"
    );
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert_eq!(written["overall"], "degraded", "the state file is written");

    // A configured service that does not exist.
    let (code, out, _) = cli(
        &s.moto,
        &["health", "--json"],
        &[
            ("ECS_CLUSTER", "prod"),
            ("ECS_HEALTH_STATE", state_s),
            ("ECS_SERVICES", "api,web,ghost"),
        ],
    );
    assert_eq!(code, 1);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["overall"], "unhealthy");
    assert!(
        v["issues"]
            .as_array()
            .unwrap()
            .contains(&json!("ghost: service not found in cluster prod"))
    );

    heal(&s);
    let (code, out, err) = cli(
        &s.moto,
        &["health"],
        &[("ECS_CLUSTER", "prod"), ("ECS_HEALTH_STATE", state_s)],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.starts_with("Cluster prod (us-east-1): HEALTHY"),
        "{out}"
    );
    let (code, out, _) = cli(
        &s.moto,
        &["health", "--quiet"],
        &[("ECS_CLUSTER", "prod"), ("ECS_HEALTH_STATE", state_s)],
    );
    assert_eq!((code, out.as_str()), (0, ""));
    // The CLI keeps its status page beside its state, and `status` points at it.
    let page = state.with_file_name("state.status").join("index.html");
    let html = std::fs::read_to_string(&page).expect("the page beside the state");
    assert!(html.contains("data-name=\"api\" data-status=\"healthy\""));
    let (code, out, err) = cli(
        &s.moto,
        &["status"],
        &[("ECS_CLUSTER", "prod"), ("ECS_HEALTH_STATE", state_s)],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim(), format!("file://{}", page.display()));
    std::fs::remove_dir_all(state.parent().unwrap()).ok();
}

/// A rollout short of tasks is `deploying` (healthy, exit 0) within DEPLOY_GRACE_MINUTES and
/// degraded past it: the primary deployment's rolloutState and createdAt as DescribeServices
/// returns them.
#[test]
fn a_rollout_is_deploying_within_the_grace_and_degraded_past_it() {
    let moto = Moto::start();
    moto.ok("ecs", "create_cluster", json!({"clusterName": "prod"}));
    moto.ok(
        "ecs",
        "register_task_definition",
        json!({
            "family": "app",
            "containerDefinitions": [{"name": "app", "image": "nginx", "memory": 128}]
        }),
    );
    for (name, started) in [("fresh", "3"), ("stuck", "40")] {
        moto.ok("ecs", "create_service", json!({
            "cluster": "prod", "serviceName": name, "taskDefinition": "app", "desiredCount": 2,
            "launchType": "EC2", "tags": [
                {"key": "harness.running", "value": "1"},
                {"key": "harness.rollout", "value": "IN_PROGRESS"},
                {"key": "harness.rollout-reason", "value": "ECS deployment ecs-svc/7 in progress."},
                {"key": "harness.rollout-started", "value": started}
            ]
        }));
    }
    let state = tmp_state("rollout");
    let state_s = state.to_str().unwrap();
    let health = |services: &str, grace: &str| {
        let (code, out, err) = cli(
            &moto,
            &["health", "--json"],
            &[
                ("ECS_CLUSTER", "prod"),
                ("ECS_SERVICES", services),
                ("ECS_HEALTH_STATE", state_s),
                ("DEPLOY_GRACE_MINUTES", grace),
            ],
        );
        let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out} {err}"));
        (code, v)
    };
    let (code, v) = health("fresh", "15");
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["overall"], "healthy");
    assert_eq!(v["services"][0]["status"], "deploying");
    assert_eq!(v["services"][0]["rollout_state"], "IN_PROGRESS");
    assert!(v["services"][0]["rollout_started_at"].is_string(), "{v}");
    assert_eq!(v["issues"], json!([]));

    let (code, v) = health("fresh,stuck", "15");
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["services"][1]["status"], "degraded");
    assert_eq!(
        v["issues"][0],
        "stuck: 1/2 tasks running (rollout stuck for 40 min, grace 15 min)"
    );
    // No grace: the same rollout is degraded at once.
    let (code, v) = health("fresh", "0");
    assert_eq!((code, &v["services"][0]["status"]), (1, &json!("degraded")));
}

#[test]
fn cli_health_rejects_bad_configuration_with_exit_2() {
    let moto = Moto::start();
    let (code, _, err) = cli(&moto, &["health"], &[]);
    assert_eq!(code, 2);
    assert!(err.contains("ECS_CLUSTER"), "{err}");
    let (code, _, err) = cli(
        &moto,
        &["health"],
        &[("ECS_CLUSTER", "prod"), ("FAILURE_THRESHOLD", "zero")],
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("FAILURE_THRESHOLD=\"zero\": is not a whole number"),
        "{err}"
    );
}

#[test]
fn more_than_ten_services_are_all_checked() {
    let moto = Moto::start();
    moto.ok("ecs", "create_cluster", json!({"clusterName": "big"}));
    moto.ok("ecs", "register_task_definition", json!({"family": "app", "containerDefinitions": [{"name": "app", "image": "nginx", "memory": 64}]}));
    for i in 0..23 {
        moto.ok("ecs", "create_service", json!({
            "cluster": "big", "serviceName": format!("svc-{i:02}"), "taskDefinition": "app", "desiredCount": 1,
            "launchType": "EC2", "tags": [{"key": "harness.running", "value": "1"}]
        }));
    }
    let state = tmp_state("big");
    let (code, out, err) = cli(
        &moto,
        &["health", "--json"],
        &[
            ("ECS_CLUSTER", "big"),
            ("ECS_HEALTH_STATE", state.to_str().unwrap()),
        ],
    );
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["services"].as_array().unwrap().len(), 23);
    std::fs::remove_dir_all(state.parent().unwrap()).ok();
}

type Lambda = HealthCheck<Ecs, Elb, S3Store, Sns>;

async fn lambda(s: &Seeded, topic_arn: &str) -> Lambda {
    lambda_at(topic_arn, &s.moto.endpoint).await
}

/// The Lambda's application, talking to the AWS at `endpoint` with the function's credentials.
async fn lambda_at(topic_arn: &str, endpoint: &str) -> Lambda {
    let env = HashMap::from([
        ("ECS_CLUSTER", "prod"),
        ("STATE_BUCKET", BUCKET),
        ("ALERT_TOPIC_ARN", topic_arn),
        ("PROBE_TIMEOUT_MS", "2000"),
    ]);
    let cfg = HealthConfig::from_env(&env).unwrap();
    HealthCheck::lambda(cfg, &sdk_as(endpoint, HEALTH_CHECK).await).unwrap()
}

const T0: OffsetDateTime = time::macros::datetime!(2026-11-29 14:00:00 UTC);

async fn tick(l: &Lambda, minute: i64, run_id: &str) -> Outcome {
    try_tick(l, minute, run_id).await.expect("run")
}

async fn try_tick(l: &Lambda, minute: i64, run_id: &str) -> Result<Outcome, AppError> {
    Ok(
        l.run("schedule", T0 + time::Duration::minutes(minute), run_id)
            .await?
            .outcome,
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn alerts_reach_subscribers_once_per_transition_and_the_state_lands_in_s3() {
    let s = seed();
    let l = lambda(&s, &s.topic_arn).await;
    tick(&l, 0, "r0").await;
    assert!(
        s.moto.drain_queue(&s.queue_url).is_empty(),
        "below the failure threshold"
    );
    let out = tick(&l, 5, "r1").await;
    assert_eq!(out.published, ["health.degraded"]);
    let msgs = s.moto.drain_queue(&s.queue_url);
    assert_eq!(msgs.len(), 1);
    let m = &msgs[0];
    assert_eq!(
        m["Subject"],
        "[ecs-monitor] prod-20261129T140500Z DEGRADED: api: 1/2 tasks running (+1 more)"
    );
    // As AWS delivers a MessageStructure=json publish: no message attributes.
    assert!(
        m.get("MessageAttributes")
            .is_none_or(|a| a.as_object().is_some_and(|o| o.is_empty())),
        "{m}"
    );
    let body: Value =
        serde_json::from_str(m["Message"].as_str().unwrap()).expect("the sqs key: machine JSON");
    assert_eq!(body["event"], "health.degraded");
    assert_eq!(body["services"], json!(["api"]));
    assert!(body["text"].as_str().unwrap().contains("Issues (2):"));
    assert_eq!(body["chat"]["source"], "custom");
    assert_eq!(body["chat"]["metadata"]["threadId"], body["incident_id"]);

    tick(&l, 10, "r2").await;
    tick(&l, 15, "r3").await;
    assert!(
        s.moto.drain_queue(&s.queue_url).is_empty(),
        "nothing changed: no alert"
    );

    heal(&s);
    let out = tick(&l, 20, "r4").await;
    assert_eq!(out.published, ["health.recovered"]);
    let msgs = s.moto.drain_queue(&s.queue_url);
    assert_eq!(msgs.len(), 1);
    assert_eq!(
        msgs[0]["Subject"],
        "[ecs-monitor] prod-20261129T140500Z RECOVERED: all checks healthy"
    );
    tick(&l, 25, "r5").await;
    assert!(s.moto.drain_queue(&s.queue_url).is_empty());

    let latest = s.moto.ok(
        "s3",
        "get_object",
        json!({"Bucket": BUCKET, "Key": "ecs-health/prod/latest.json"}),
    );
    let state: Value = serde_json::from_str(latest["Body"].as_str().unwrap()).unwrap();
    assert_eq!(state["overall"], "healthy");
    assert_eq!(state["alerting"]["consecutive_successes"], 2);
    let history = s.moto.ok(
        "s3",
        "list_objects_v2",
        json!({"Bucket": BUCKET, "Prefix": "ecs-health/prod/history/"}),
    );
    assert_eq!(history["KeyCount"], 6, "a dated copy per run");
    assert!(
        history["Contents"][0]["Key"]
            .as_str()
            .unwrap()
            .starts_with("ecs-health/prod/history/2026/11/29/1400")
    );
    s.moto.assert_no_denials();
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_runs_alert_once() {
    let s = seed();
    let l = lambda(&s, &s.topic_arn).await;
    tick(&l, 0, "first").await;
    let runs = futures_join(&l).await;
    let alerts: usize = runs.iter().map(|o| o.published.len()).sum();
    let superseded = runs.iter().filter(|o| o.superseded).count();
    println!("5 simultaneous runs: {superseded} stood down after losing the conditional write");
    assert_eq!(alerts, 1, "{runs:?}");
    assert_eq!(
        s.moto.drain_queue(&s.queue_url).len(),
        1,
        "exactly one message for the transition"
    );
    let latest = s.moto.ok(
        "s3",
        "get_object",
        json!({"Bucket": BUCKET, "Key": "ecs-health/prod/latest.json"}),
    );
    let state: Value = serde_json::from_str(latest["Body"].as_str().unwrap()).unwrap();
    assert_eq!(
        state["alerting"]["pending"],
        json!([]),
        "nothing left unpublished"
    );
}

/// Five runs of the same scheduled moment at once (a duplicated EventBridge delivery).
async fn futures_join(l: &Lambda) -> Vec<Outcome> {
    let (a, b, c, d, e) = tokio::join!(
        tick(l, 5, "a"),
        tick(l, 5, "b"),
        tick(l, 5, "c"),
        tick(l, 5, "d"),
        tick(l, 5, "e")
    );
    vec![a, b, c, d, e]
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_publish_is_kept_and_sent_by_the_next_run() {
    let s = seed();
    let missing = "arn:aws:sns:us-east-1:123456789012:late-topic";
    strict(&s.moto, missing);
    let l = lambda(&s, missing).await;
    tick(&l, 0, "r0").await;
    let out = tick(&l, 5, "r1").await;
    let err = out.publish_error.expect("the topic does not exist yet");
    assert!(err.contains("sns:Publish failed"), "{err}");
    assert_eq!(out.state.alerting.pending.len(), 1);
    assert_eq!(
        out.state.alerting.last_publish_error.as_deref(),
        Some(err.as_str())
    );
    let topic = s
        .moto
        .ok("sns", "create_topic", json!({"Name": "late-topic"}))["TopicArn"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(topic, missing);
    let queue = s.moto.subscribe_queue(&topic, "late");
    let out = tick(&l, 10, "r2").await;
    assert_eq!(out.published, ["health.degraded"], "sent late, not lost");
    assert!(out.state.alerting.pending.is_empty());
    let msgs = s.moto.drain_queue(&queue);
    assert_eq!(msgs.len(), 1);
    tick(&l, 15, "r3").await;
    assert!(s.moto.drain_queue(&queue).is_empty(), "and not twice");
}

/// Every AWS call of a run is first throttled, then answered with a 5xx: the SDK retries
/// with backoff and the run ends as it would without faults.
#[tokio::test(flavor = "multi_thread")]
async fn throttling_and_5xx_on_every_aws_call_are_retried() {
    let s = seed();
    let proxy = FaultProxy::start(&s.moto.endpoint, throttle_then_5xx()).await;
    let l = lambda_at(&s.topic_arn, &proxy.endpoint).await;
    tick(&l, 0, "r0").await;
    let out = tick(&l, 5, "r1").await;
    assert_eq!(out.published, ["health.degraded"]);
    assert_eq!(s.moto.drain_queue(&s.queue_url).len(), 1, "delivered once");
    proxy.assert_every_call_faulted(&[
        "ListServices",
        "DescribeServices",
        "DescribeTargetHealth",
        "s3:GET",
        "s3:PUT",
        "Publish",
    ]);
}

/// S3 refuses the state write: the run fails (so Lambda retries it) and publishes nothing;
/// the retry publishes the alert once. When S3 refuses only the write that records a
/// publish, the run fails too, and its retry does not publish again.
#[tokio::test(flavor = "multi_thread")]
async fn a_failed_state_write_fails_the_run_and_loses_or_doubles_no_alert() {
    let s = seed();
    let proxy = FaultProxy::start(&s.moto.endpoint, Box::new(|_| None)).await;
    let l = lambda_at(&s.topic_arn, &proxy.endpoint).await;
    tick(&l, 0, "r0").await;

    let latest_put =
        |c: &ecs_monitor_e2e::faults::Call| c.op == "s3:PUT" && c.path.ends_with("/latest.json");
    proxy.set_policy(Box::new(move |c| {
        latest_put(c).then_some(Fault::ServerError)
    }));
    let err = try_tick(&l, 5, "r1").await.expect_err("the write failed");
    assert!(
        err.to_string()
            .starts_with("cannot write the health state to s3://"),
        "{err}"
    );
    assert!(s.moto.drain_queue(&s.queue_url).is_empty(), "nothing sent");

    proxy.set_policy(Box::new(|_| None));
    let retry = tick(&l, 6, "r1-retry").await;
    assert_eq!(retry.published, ["health.degraded"], "not lost");
    assert_eq!(s.moto.drain_queue(&s.queue_url).len(), 1);

    // Recovery: the claim write goes through, the record of the publish does not.
    heal(&s);
    let mut writes = 0;
    proxy.set_policy(Box::new(move |c| {
        if !latest_put(c) {
            return None;
        }
        writes += 1;
        (writes > 1).then_some(Fault::ServerError)
    }));
    let err = try_tick(&l, 15, "r3").await.expect_err("the record failed");
    assert!(
        err.to_string().contains("cannot write the health state"),
        "{err}"
    );
    assert_eq!(s.moto.drain_queue(&s.queue_url).len(), 1, "recovered, once");
    proxy.set_policy(Box::new(|_| None));
    let retry = tick(&l, 16, "r3-retry").await;
    assert!(
        retry.published.is_empty(),
        "the retry does not send it again"
    );
    assert!(s.moto.drain_queue(&s.queue_url).is_empty());
}

/// A cluster, service or target group that does not exist is a named issue of the state; a
/// state bucket that does not exist is an error naming it.
#[tokio::test(flavor = "multi_thread")]
async fn missing_resources_are_named() {
    let s = seed();
    let sdk = s.moto.sdk().await;
    let state = tmp_state("missing");
    let check = |vars: Vec<(&'static str, &'static str)>| {
        let mut env: HashMap<&str, &str> = vars.into_iter().collect();
        env.insert("ECS_HEALTH_STATE", state.to_str().unwrap());
        env.insert("PROBE_TIMEOUT_MS", "2000");
        let app = HealthCheck::cli(HealthConfig::from_env(&env).unwrap(), &sdk).unwrap();
        async move {
            app.run("manual", T0, "m")
                .await
                .expect("a run")
                .outcome
                .state
        }
    };
    let state = check(vec![("ECS_CLUSTER", "ghost")]).await;
    assert!(
        state.issues.iter().any(|i| i.contains("ClusterNotFound")),
        "{:?}",
        state.issues
    );
    let state = check(vec![("ECS_CLUSTER", "prod"), ("ECS_SERVICES", "api,ghost")]).await;
    assert!(
        state
            .issues
            .contains(&"ghost: service not found in cluster prod".to_string()),
        "{:?}",
        state.issues
    );

    s.moto.ok(
        "elbv2",
        "delete_target_group",
        json!({"TargetGroupArn": s.tg_arn}),
    );
    let state = check(vec![("ECS_CLUSTER", "prod"), ("ECS_SERVICES", "api")]).await;
    let tg = &state.target_groups[0];
    assert!(
        tg.error
            .as_deref()
            .unwrap_or_default()
            .contains("TargetGroupNotFound"),
        "{tg:?}"
    );
    assert!(
        state.issues.iter().any(|i| i.contains("api-tg")),
        "{:?}",
        state.issues
    );

    let env = HashMap::from([("ECS_CLUSTER", "prod"), ("STATE_BUCKET", "no-such-bucket")]);
    let missing = HealthCheck::lambda(HealthConfig::from_env(&env).unwrap(), &sdk).unwrap();
    let err = missing.run("manual", T0, "m").await.expect_err("no bucket");
    assert_eq!(err.error_type(), "StateStoreError");
    assert!(err.to_string().contains("NoSuchBucket"), "{err}");
}

/// On a fresh stack latest.json does not exist. GetObject answers 404 for it only because the
/// template grants s3:ListBucket on the state prefix (without it: 403, and every run failed).
/// A 403 is never taken for "no state": a run that may not read its state fails, naming it.
#[tokio::test(flavor = "multi_thread")]
async fn the_first_run_finds_no_state_and_a_403_is_never_no_state() {
    let s = seed();
    let l = lambda(&s, &s.topic_arn).await;
    let out = tick(&l, 0, "first").await;
    assert_eq!(out.warning, None, "{out:?}");
    s.moto.assert_no_denials();
    // The same function deployed with another StatePrefix may not read ecs-health/.
    s.moto.strict(
        json!({"ClusterName": "prod", "StatePrefix": "elsewhere/"}),
        json!({"StateBucket": BUCKET, "AlertTopic": s.topic_arn}),
    );
    let err = try_tick(&l, 5, "denied")
        .await
        .expect_err("a 403 is an error");
    let text = err.to_string();
    assert!(
        text.starts_with("cannot read the health state") && text.contains("AccessDenied"),
        "{text}"
    );
}

/// Should S3 answer the missing latest.json (and silences.json) with 403 despite the
/// prefix-limited ListBucket (AWS does not document how it weighs the condition there), the
/// store confirms the absence with a ListObjectsV2 of that key, which the grant allows: the
/// first run works either way.
#[tokio::test(flavor = "multi_thread")]
async fn the_first_run_works_however_s3_weighs_the_prefix_condition() {
    let s = seed();
    s.moto.strict_without_prefix_on_missing_keys(
        json!({"ClusterName": "prod"}),
        json!({"StateBucket": BUCKET, "AlertTopic": s.topic_arn}),
    );
    let l = lambda(&s, &s.topic_arn).await;
    let out = tick(&l, 0, "first").await;
    assert_eq!(out.warning, None);
    let denied: Vec<String> = s
        .moto
        .denials()
        .iter()
        .map(|d| {
            format!(
                "{} {}",
                d["action"].as_str().unwrap(),
                d["why"].as_str().unwrap()
            )
        })
        .collect();
    // latest.json, silences.json, the status rollup and the report index, all missing on a
    // first run: only the 403s themselves.
    assert_eq!(
        denied, ["s3:GetObject missing key, no s3:ListBucket"; 4],
        "only the 403s themselves"
    );
    let out = tick(&l, 5, "second").await;
    assert_eq!(
        out.published,
        ["health.degraded"],
        "the state was written and read back"
    );
}

/// S3's 409 ConditionalRequestConflict on the state write means "retry", not "another run
/// won": the run retries, writes, and alerts.
#[tokio::test(flavor = "multi_thread")]
async fn a_409_on_the_state_write_is_retried() {
    let s = seed();
    let proxy = FaultProxy::start(&s.moto.endpoint, Box::new(|_| None)).await;
    let l = lambda_at(&s.topic_arn, &proxy.endpoint).await;
    tick(&l, 0, "r0").await;
    let mut conflicts = 0;
    proxy.set_policy(Box::new(move |c| {
        if c.op == "s3:PUT" && c.path.ends_with("/latest.json") && conflicts < 2 {
            conflicts += 1;
            return Some(Fault::Conflict);
        }
        None
    }));
    let out = tick(&l, 5, "r1").await;
    assert!(!out.superseded, "a 409 is not a lost race");
    assert_eq!(out.published, ["health.degraded"]);
    assert_eq!(proxy.faults("s3:PUT", Fault::Conflict), 2);
    assert_eq!(s.moto.drain_queue(&s.queue_url).len(), 1);
}

/// Services created before the ECS ARN format change have `service/<name>` ARNs, without the
/// cluster: the template's DescribeServices grant covers them, limited by ecs:cluster.
#[tokio::test(flavor = "multi_thread")]
async fn services_with_short_arns_are_checked() {
    let moto = Moto::start();
    moto.ok(
        "ecs",
        "put_account_setting",
        json!({"name": "serviceLongArnFormat", "value": "disabled"}),
    );
    moto.ok("ecs", "create_cluster", json!({"clusterName": "prod"}));
    moto.ok("ecs", "register_task_definition", json!({"family": "app", "containerDefinitions": [{"name": "app", "image": "nginx", "memory": 64}]}));
    let arn = moto.ok("ecs", "create_service", json!({"cluster": "prod", "serviceName": "legacy", "taskDefinition": "app", "desiredCount": 1, "launchType": "EC2"}))["service"]["serviceArn"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        arn, "arn:aws:ecs:us-east-1:123456789012:service/legacy",
        "a short ARN"
    );
    moto.ok("s3", "create_bucket", json!({"Bucket": BUCKET}));
    let topic = moto.ok("sns", "create_topic", json!({"Name": "alerts"}))["TopicArn"]
        .as_str()
        .unwrap()
        .to_string();
    strict(&moto, &topic);
    let l = lambda_at(&topic, &moto.endpoint).await;
    let out = tick(&l, 0, "r0").await;
    let names: Vec<&str> = out.state.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["legacy"], "{:?}", out.state.issues);
    moto.assert_no_denials();
}

/// `ecs-monitor silence` writes the silence where the health check reads it (the state
/// bucket); the Lambda, held to its template policy, holds the alert about api while it
/// lasts, and once `silence --end` ends it, tells what it held in one summary.
#[tokio::test(flavor = "multi_thread")]
async fn a_silence_set_from_the_cli_holds_the_lambdas_alerts() {
    let s = seed();
    let env = [("ECS_CLUSTER", "prod"), ("STATE_BUCKET", BUCKET)];
    let (code, out, err) = cli(
        &s.moto,
        &["silence", "1h", "api", "--reason", "resizing the api tasks"],
        &env,
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("Stored in s3://ecs-monitor-state/ecs-health/prod/silences.json"),
        "{out}"
    );
    let id = out
        .split("(silence ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .unwrap()
        .to_string();
    // The silence is in real time: the runs are too.
    let l = lambda(&s, &s.topic_arn).await;
    let base = OffsetDateTime::now_utc();
    let at = |m: i64| base + time::Duration::minutes(m);
    l.run("schedule", at(0), "a").await.unwrap();
    let held = l.run("schedule", at(5), "b").await.unwrap().outcome;
    assert!(held.published.is_empty(), "held: {:?}", held.published);
    assert_eq!(held.state.alerting.held.len(), 1);
    assert_eq!(held.state.silenced[0].reason, "resizing the api tasks");
    assert!(s.moto.drain_queue(&s.queue_url).is_empty());

    let (code, listed, _) = cli(&s.moto, &["silence", "--list"], &env);
    assert_eq!(code, 0);
    assert!(listed.contains(&format!("{id}  api  until")), "{listed}");
    let (code, _, err) = cli(&s.moto, &["silence", "--end", &id], &env);
    assert_eq!(code, 0, "{err}");
    let told = l.run("schedule", at(10), "c").await.unwrap().outcome;
    assert_eq!(told.published, ["health.silence_summary"]);
    let msgs = s.moto.drain_queue(&s.queue_url);
    assert_eq!(msgs.len(), 1);
    let subject = msgs[0]["Subject"].as_str().unwrap();
    assert!(
        subject.contains("silence over, 1 alert held; now DEGRADED"),
        "{subject}"
    );
    s.moto.assert_no_denials();
}

/// Each run, held to its template policy, adds to the rollup and writes the status page in
/// the state bucket; `ecs-monitor status` hands out presigned URLs of it and of the newest
/// report pages (from diagnose's index), which a plain HTTP client can fetch: the bucket
/// stays private.
#[tokio::test(flavor = "multi_thread")]
async fn the_status_page_is_written_and_shared_by_presigned_urls() {
    let s = seed();
    let l = lambda(&s, &s.topic_arn).await;
    let first = l.run("schedule", T0, "a").await.unwrap();
    let page = "s3://ecs-monitor-state/ecs-health/prod/status/index.html";
    assert_eq!(first.page, Some(Ok(page.to_string())));
    // A report and its index, as diagnose writes them.
    let entry = json!({"generated_at": "2026-11-29T14:06:00Z", "status": "critical",
        "headline": "api: 1 task was killed for running out of memory", "services": ["api"],
        "json": "20261129T140600Z-sns-r1.json", "html": "20261129T140600Z-sns-r1.html"});
    s.moto.ok(
        "s3",
        "put_object",
        json!({"Bucket": BUCKET, "Key": "reports/prod/index.json",
        "Body": json!({"reports": [entry]}).to_string()}),
    );
    s.moto.ok(
        "s3",
        "put_object",
        json!({"Bucket": BUCKET, "Key": "reports/prod/20261129T140600Z-sns-r1.html",
        "Body": "<!doctype html><title>report</title>", "ContentType": "text/html; charset=utf-8"}),
    );
    let second = l
        .run("schedule", T0 + time::Duration::minutes(5), "b")
        .await
        .unwrap();
    assert_eq!(second.answer()["status_page"], page);
    let rollup = s.moto.ok(
        "s3",
        "get_object",
        json!({"Bucket": BUCKET, "Key": "ecs-health/prod/status/rollup.json"}),
    );
    let rollup: Value = serde_json::from_str(rollup["Body"].as_str().unwrap()).unwrap();
    assert_eq!(
        rollup["checks"]["service/api"]["days"]["2026-11-29"]["runs"],
        2
    );
    s.moto.assert_no_denials();

    let env = [("ECS_CLUSTER", "prod"), ("STATE_BUCKET", BUCKET)];
    let (code, out, err) = cli(&s.moto, &["status", "--expires", "30"], &env);
    assert_eq!(code, 0, "{err}");
    let urls: Vec<&str> = out.lines().filter(|l| l.starts_with("http")).collect();
    assert_eq!(urls.len(), 2, "{out}");
    assert!(
        urls[0].contains("/ecs-monitor-state/ecs-health/prod/status/index.html?"),
        "{out}"
    );
    assert!(
        urls.iter()
            .all(|u| u.contains("X-Amz-Signature=") && u.contains("X-Amz-Expires=1800")),
        "{out}"
    );
    assert!(
        out.contains("report 2026-11-29T14:06:00Z (critical, api): api: 1 task was killed"),
        "{out}"
    );
    let got = reqwest::get(urls[0]).await.unwrap();
    assert_eq!(got.status(), 200);
    assert_eq!(got.headers()["content-type"], "text/html; charset=utf-8");
    let html = got.text().await.unwrap();
    assert!(html.contains("data-name=\"api\""), "{html}");
    assert!(
        html.contains("../../../reports/prod/20261129T140600Z-sns-r1.html"),
        "the page links the report"
    );
    assert_eq!(reqwest::get(urls[1]).await.unwrap().status(), 200);

    let (code, _, err) = cli(
        &s.moto,
        &["status"],
        &[("ECS_CLUSTER", "staging"), ("STATE_BUCKET", BUCKET)],
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("ecs-health/staging/status/index.html does not exist yet"),
        "{err}"
    );
}
