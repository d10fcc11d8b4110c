//! diagnose against moto: realistic logs of several services, many pages, a previous window,
//! stopped tasks, a missing log group, secrets to redact; the CLI as users run it.

use ecs_monitor::aws::s3::ReportStore;
use ecs_monitor_e2e::moto::Moto;
use serde_json::{Value, json};

fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

fn put(moto: &Moto, group: &str, stream: &str, events: &[(i64, String)]) {
    let _ = moto.call("logs", "create_log_group", json!({"logGroupName": group}));
    moto.ok(
        "logs",
        "create_log_stream",
        json!({"logGroupName": group, "logStreamName": stream}),
    );
    for chunk in events.chunks(5000) {
        let evs: Vec<Value> = chunk
            .iter()
            .map(|(t, m)| json!({"timestamp": t, "message": m}))
            .collect();
        moto.ok(
            "logs",
            "put_log_events",
            json!({"logGroupName": group, "logStreamName": stream, "logEvents": evs}),
        );
    }
}

const SECRET_LINE: &str = "ERROR login to postgres://app:hunter2@db:5432/orders failed, key AKIAIOSFODNN7EXAMPLE password=hunter2";

/// api: 12,000 events now (two FilterLogEvents pages), a panic dump, a Python traceback over
/// four events, a Java trace, JSON errors, 5xx and ALB health checks; connection refused
/// errors now and in the previous hour. worker: a crash. ghost: no log group.
fn seed() -> Moto {
    let moto = Moto::start();
    moto.ok("ecs", "create_cluster", json!({"clusterName": "prod"}));
    for s in ["api", "worker", "ghost"] {
        moto.service_with_logs("prod", s, 1);
    }
    let now = now_ms();
    let t = |minutes_ago: i64, i: i64| now - minutes_ago * 60_000 + i;
    let mut a1: Vec<(i64, String)> = Vec::new();
    for i in 0..11_900 {
        let m = match i % 10 {
            0 => r#"10.0.0.5 - - [29/Nov/2026:14:35:27 +0000] "GET /health HTTP/1.1" 200 2 "-" "ELB-HealthChecker/2.0""#.to_string(),
            1 => format!(r#"10.0.2.9 - - [29/Nov/2026:14:35:27 +0000] "GET /api/orders/{i} HTTP/1.1" 200 512 "-" "Mozilla/5.0""#),
            _ => format!("2026-11-29T14:35:27Z INFO orders: served order {i} in 12ms"),
        };
        a1.push((t(50, i), m));
    }
    for i in 0..20 {
        a1.push((
            t(40, i * 100),
            format!(
                "2026-11-29T14:35:27Z ERROR dial tcp 10.0.8.{i}:5432: connect: connection refused"
            ),
        ));
    }
    for i in 0..30 {
        a1.push((t(35, i * 100), format!(r#"10.0.2.9 - - [29/Nov/2026:14:35:27 +0000] "POST /api/checkout HTTP/1.1" 502 157 "-" "Mozilla/5.0" {i}"#)));
    }
    a1.push((t(30, 0), r#"{"level":"error","ts":"2026-11-29T14:35:27Z","msg":"failed to reserve inventory","order_id":42}"#.into()));
    a1.push((t(30, 10), SECRET_LINE.into()));
    a1.sort();
    put(&moto, "/ecs/api", "ecs/app/task-1", &a1);
    let panic = [
        "panic: runtime error: invalid memory address or nil pointer dereference",
        "[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x4a5b2c]",
        " ",
        "goroutine 1 [running]:",
        "main.(*Server).handle(0xc0001a2000)",
        "\t/app/server.go:88 +0x1d",
    ];
    let python = [
        "Traceback (most recent call last):",
        "  File \"/app/worker.py\", line 42, in run",
        "    total = order[\"amount\"]",
        "KeyError: 'amount'",
    ];
    let mut a2: Vec<(i64, String)> = panic
        .iter()
        .enumerate()
        .map(|(i, m)| (t(20, i as i64), m.to_string()))
        .collect();
    a2.extend(
        python
            .iter()
            .enumerate()
            .map(|(i, m)| (t(15, i as i64), m.to_string())),
    );
    a2.extend([
        (
            t(10, 0),
            "java.lang.IllegalStateException: inventory missing".to_string(),
        ),
        (
            t(10, 1),
            "\tat com.example.OrderService.place(OrderService.java:42)".to_string(),
        ),
        (
            t(10, 2),
            "Caused by: java.net.SocketTimeoutException: Read timed out".to_string(),
        ),
    ]);
    put(&moto, "/ecs/api", "ecs/app/task-2", &a2);
    let previous: Vec<(i64, String)> = (0..5)
        .map(|i| (t(90, i * 1000), format!("2026-11-29T13:35:27Z ERROR dial tcp 10.0.8.{i}:5432: connect: connection refused")))
        .collect();
    put(&moto, "/ecs/api", "ecs/app/task-0", &previous);
    put(
        &moto,
        "/ecs/worker",
        "ecs/worker/task-9",
        &[
            (t(5, 0), "fatal error: concurrent map writes".to_string()),
            (t(4, 0), "INFO Server started on :8080".to_string()),
        ],
    );
    let ago = |m: i64| (now / 1000) - m * 60;
    moto.ok("harness", "add_stopped_task", json!({"cluster": "prod", "service": "api", "task_id": "oomkilled1", "reason": "OutOfMemoryError: Container killed due to memory usage", "exit_code": 137, "stopped_at": ago(12)}));
    moto.ok("harness", "add_stopped_task", json!({"cluster": "prod", "service": "api", "task_id": "deployed1", "reason": "Scaling activity initiated by (deployment ecs-svc/1)", "stop_code": "ServiceSchedulerInitiated", "exit_code": 0, "stopped_at": ago(25)}));
    moto.ok("harness", "add_stopped_task", json!({"cluster": "prod", "service": "worker", "task_id": "crashed1", "reason": "Essential container in task exited", "exit_code": 2, "stopped_at": ago(5)}));
    moto
}

fn cli(moto: &Moto, args: &[&str], vars: &[(&str, &str)]) -> (i32, String, String) {
    let mut all = vec![("ECS_CLUSTER", "prod")];
    all.extend_from_slice(vars);
    ecs_monitor_e2e::cli::run(moto, args, &all)
}

#[test]
fn logs_diagnose_explains_what_broke() {
    let moto = seed();
    let (code, out, err) = cli(
        &moto,
        &["logs", "diagnose", "all", "--json"],
        &[("ECS_SERVICES", "api,worker,ghost")],
    );
    assert_eq!(code, 1, "issues found: {err}");
    let r: Value = serde_json::from_str(&out).expect("report JSON");
    assert_eq!(r["schema_version"], 1);
    assert_eq!(r["window"]["minutes"], 60);
    // Why, most severe first: the OOM kill, the panic and the fatal error, the database that
    // refuses connections, the new kinds of error.
    let causes: Vec<(&str, &str)> = r["probable_causes"]
        .as_array()
        .expect("probable causes")
        .iter()
        .map(|c| (c["service"].as_str().unwrap(), c["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(
        causes,
        [
            ("api", "oom_killed"),
            ("api", "panic"),
            ("worker", "panic"),
            ("api", "dependency_down"),
            ("api", "new_errors")
        ]
    );
    assert_eq!(
        r["probable_causes"][3]["sentence"],
        "api cannot reach a dependency: 20 connection errors, the first to 10.0.8.0:5432"
    );
    let (_, text, _) = cli(
        &moto,
        &["logs", "diagnose", "all"],
        &[("ECS_SERVICES", "api,worker,ghost")],
    );
    assert!(
        text.contains(
            "\nProbable cause:\n  1. api: 1 task was killed for running out of memory (memory limit 128 MiB)\n"
        ),
        "{text}"
    );
    let svc = |name: &str| {
        r["services"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["service"] == name)
            .unwrap()
            .clone()
    };
    let api = svc("api");
    assert_eq!(api["status"], "critical");
    assert_eq!(api["events_scanned"], 11_900 + 20 + 30 + 2 + 6 + 4 + 3);
    assert_eq!(api["health_noise"], 1190);
    assert_eq!(api["categories"]["connection_error"], 20);
    assert_eq!(api["categories"]["http_5xx"], 30);
    assert_eq!(
        api["categories"]["panic"], 1,
        "the goroutine dump is one occurrence"
    );
    assert_eq!(
        api["categories"]["python_traceback"], 1,
        "four events, one traceback"
    );
    assert_eq!(api["categories"]["exception"], 1);
    assert_eq!(api["categories"]["structured_error"], 1);
    assert_eq!(api["http_status"]["200"], 1190);
    assert_eq!(api["http_status"]["502"], 30);
    assert!(api["http_status"].get("503").is_none());
    assert_eq!(api["previous_window"]["errors_total"], 5);
    let top: Vec<&Value> = api["top_errors"].as_array().unwrap().iter().collect();
    let refused = top
        .iter()
        .find(|e| e["category"] == "connection_error")
        .unwrap();
    assert_eq!(refused["count"], 20);
    assert_eq!(refused["new"], false, "seen in the previous hour too");
    let python = top
        .iter()
        .find(|e| e["category"] == "python_traceback")
        .unwrap();
    assert_eq!(python["fingerprint"], "KeyError: '<str>'");
    assert_eq!(python["new"], true);
    assert_eq!(api["restarts"]["count"], 1);
    assert_eq!(api["restarts"]["stopped_tasks"][0]["task"], "oomkilled1");
    assert_eq!(api["restarts"]["stopped_tasks"][0]["exit_code"], 137);
    assert_eq!(api["restarts"]["stopped_tasks"][0]["oom"], true);
    assert!(
        api["restarts"]["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t.as_str().unwrap().contains("deployed1 stopped (normal)"))
    );
    assert_eq!(api["truncated"], false);
    assert!(
        !out.contains("hunter2") && !out.contains("IOSFODNN"),
        "secrets redacted"
    );
    let worker = svc("worker");
    assert_eq!(worker["status"], "critical");
    assert_eq!(worker["restarts"]["stopped_tasks"][0]["exit_code"], 2);
    let ghost = svc("ghost");
    assert_eq!(ghost["status"], "error");
    assert!(
        ghost["error"].as_str().unwrap().contains("/ecs/ghost"),
        "{ghost}"
    );
    assert_eq!(
        r["totals"]["errors_total"],
        api["errors_total"].as_u64().unwrap() + worker["errors_total"].as_u64().unwrap()
    );
}

#[test]
fn the_other_logs_commands() {
    let moto = seed();
    let (code, out, err) = cli(&moto, &["logs", "pull", "api", "--limit", "5"], &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 5);
    assert!(err.contains("stopped at --limit 5 events"), "{err}");
    let (code, out, _) = cli(
        &moto,
        &["logs", "summary", "all"],
        &[("ECS_SERVICES", "api,worker")],
    );
    assert_eq!(code, 1);
    assert!(out.lines().next().unwrap().starts_with("api"), "{out}");
    assert!(out.contains("critical"), "{out}");
    let (_, out, _) = cli(&moto, &["logs", "errors", "api"], &[]);
    assert!(out.contains("connection_error"), "{out}");
    let (_, out, _) = cli(&moto, &["logs", "restarts", "worker"], &[]);
    assert!(
        out.contains("task crashed1 stopped: Essential container in task exited (exit 2)"),
        "{out}"
    );
    let (code, out, _) = cli(&moto, &["logs", "diagnose", "api", "--limit", "100"], &[]);
    assert_eq!(code, 1);
    assert!(out.contains("truncated"), "{out}");

    let dir = std::env::temp_dir().join(format!("ecs-monitor-auto-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let state = dir.join("state.json");
    std::fs::write(&state, json!({
        "schema_version": 1, "checked_at": "2026-11-29T14:35:00Z", "cluster": "prod", "region": "us-east-1", "overall": "degraded",
        "services": [
            {"name": "worker", "desired": 1, "running": 0, "pending": 1, "status": "unhealthy", "rollout_state": null, "rollout_reason": null, "failed_tasks": 0, "events": []},
            {"name": "api", "desired": 1, "running": 1, "pending": 0, "status": "healthy", "rollout_state": null, "rollout_reason": null, "failed_tasks": 0, "events": []}],
        "target_groups": [], "http": [], "tls": [], "issues": ["worker: 0/1 tasks running"], "alerting": {}
    }).to_string()).unwrap();
    let (code, out, err) = cli(
        &moto,
        &["logs", "auto-diagnose", "--json"],
        &[("ECS_HEALTH_STATE", state.to_str().unwrap())],
    );
    assert_eq!(code, 1, "{err}");
    let r: Value = serde_json::from_str(&out).unwrap();
    let names: Vec<&str> = r["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["service"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["worker"], "only the failing service");
    std::fs::remove_dir_all(&dir).ok();
    let (code, _, err) = cli(
        &moto,
        &["logs", "diagnose", "api"],
        &[("ECS_LOG_PATTERN", "/ecs/prod")],
    );
    assert_eq!(code, 2);
    assert!(err.contains("ECS_LOG_PATTERN"), "{err}");
}

/// Reports and the claims' conditional records in S3, with the diagnose function's own
/// credentials and policy: a claim not yet written reads as absent (404, which takes the
/// template's s3:ListBucket), a second create or a stale version conflicts (412).
#[tokio::test(flavor = "multi_thread")]
async fn reports_land_in_s3_and_claims_are_conditional() {
    use ecs_monitor::ports::Records;
    use ecs_monitor_e2e::moto::DIAGNOSE;
    let moto = Moto::start();
    moto.ok("s3", "create_bucket", json!({"Bucket": "reports"}));
    moto.strict(
        json!({"ClusterName": "prod"}),
        json!({"StateBucket": "reports", "AlertTopic": "arn:aws:sns:us-east-1:123456789012:alerts"}),
    );
    let sdk = moto.sdk_as(DIAGNOSE).await;
    let store = ReportStore::new(&sdk, "reports", "reports/", "prod");
    let url = store
        .put("20261129T143500Z-manual.json", b"{\"ok\":true}".to_vec())
        .await
        .unwrap();
    assert_eq!(
        url,
        "s3://reports/reports/prod/20261129T143500Z-manual.json"
    );
    let body = moto.ok(
        "s3",
        "get_object",
        json!({"Bucket": "reports", "Key": "reports/prod/20261129T143500Z-manual.json"}),
    );
    assert_eq!(body["Body"], "{\"ok\":true}");
    let name = "claims/events/task/0f1e2d3c/4.json";
    assert_eq!(
        store.get_record(name).await.unwrap(),
        None,
        "not claimed yet"
    );
    let v1 = store.put_record(name, b"{}".to_vec(), None).await.unwrap();
    assert_eq!(
        store.put_record(name, b"{}".to_vec(), None).await,
        Err(ecs_monitor::ports::StoreError::Conflict),
        "the same event: claimed once"
    );
    let (_, read) = store.get_record(name).await.unwrap().unwrap();
    assert_eq!(read, v1);
    let v2 = store
        .put_record(name, b"{\"a\":1}".to_vec(), Some(&v1))
        .await
        .unwrap();
    assert_eq!(
        store.put_record(name, b"{}".to_vec(), Some(&v1)).await,
        Err(ecs_monitor::ports::StoreError::Conflict),
        "a stale version"
    );
    assert_ne!(v1, v2);
    moto.assert_no_denials();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_diagnose_summary_reaches_subscribers() {
    use ecs_monitor::aws::sns::Sns;
    use ecs_monitor::diagnose::render;
    use ecs_monitor::diagnose::report::Report;
    let moto = seed();
    let topic = moto.ok("sns", "create_topic", json!({"Name": "alerts"}))["TopicArn"]
        .as_str()
        .unwrap()
        .to_string();
    let queue = moto.subscribe_queue(&topic, "alerts");
    let (_, out, _) = cli(
        &moto,
        &["logs", "diagnose", "all", "--json"],
        &[("ECS_SERVICES", "api,worker")],
    );
    let report: Report = serde_json::from_str(&out).expect("a report");
    let n = render::notification(&report, "s3://reports/reports/prod/x.json");
    let (subject, message) = (n.subject.clone(), n.document());
    assert_eq!(
        subject,
        "[ecs-monitor] prod diagnose: api CRITICAL, worker CRITICAL"
    );
    let sns = Sns::new(&moto.sdk().await, &topic);
    ecs_monitor::ports::Publisher::publish_json(&sns, &subject, message)
        .await
        .unwrap();
    let msgs = moto.drain_queue(&queue);
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0]["Subject"], subject);
    let body: Value = serde_json::from_str(msgs[0]["Message"].as_str().unwrap()).unwrap();
    assert_eq!(body["event"], "diagnose.report");
    assert_eq!(body["report"], "s3://reports/reports/prod/x.json");
    assert_eq!(body["services"][0]["service"], "api");
    assert_eq!(body["services"][0]["status"], "critical");
    assert_eq!(body["status"], "critical");
}
