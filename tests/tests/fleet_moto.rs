//! Fleet mode against moto: clusters in two regions and two accounts (moto keeps a backend per
//! account and region, and AssumeRole's credentials land in the role's account), named and
//! discovered by tag, checked in one run with few at a time.

use ecs_monitor::app::Fleet;
use ecs_monitor_e2e::moto::{HEALTH_CHECK, Moto, sdk_as};
use serde_json::{Value, json};
use std::collections::HashMap;

const BUCKET: &str = "ecs-monitor-state";
const MEMBER: &str = "111111111111";
const T0: time::OffsetDateTime = time::macros::datetime!(2026-11-29 14:00:00 UTC);

/// A cluster with one service `web`: `running` of 2 tasks.
fn cluster(
    moto: &Moto,
    account: Option<&str>,
    region: &str,
    name: &str,
    running: i32,
    tags: Value,
) {
    moto.ok_in(
        account,
        region,
        "ecs",
        "create_cluster",
        json!({"clusterName": name, "tags": tags}),
    );
    moto.ok_in(account, region, "ecs", "register_task_definition", json!({
        "family": "web", "containerDefinitions": [{"name": "app", "image": "nginx", "memory": 128}]}));
    moto.ok_in(
        account,
        region,
        "ecs",
        "create_service",
        json!({"cluster": name, "serviceName": "web",
        "taskDefinition": "web", "desiredCount": 2, "launchType": "EC2",
        "tags": [{"key": "harness.running", "value": running.to_string()}]}),
    );
}

/// The state bucket, and the alert topic with a queue subscribed: (topic ARN, queue URL).
fn bucket_and_topic(moto: &Moto) -> (String, String) {
    moto.ok("s3", "create_bucket", json!({"Bucket": BUCKET}));
    let topic = moto.ok("sns", "create_topic", json!({"Name": "alerts"}))["TopicArn"]
        .as_str()
        .unwrap()
        .to_string();
    let queue = moto.subscribe_queue(&topic, "alerts");
    (topic, queue)
}

/// The subjects of the messages waiting in `queue`, taken.
fn subjects(moto: &Moto, queue: &str) -> Vec<String> {
    moto.drain_queue(queue)
        .iter()
        .map(|m| m["Subject"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn state(moto: &Moto, key: &str) -> Value {
    let o = moto.ok("s3", "get_object", json!({"Bucket": BUCKET, "Key": key}));
    serde_json::from_str(o["Body"].as_str().unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn one_run_checks_named_and_discovered_clusters_across_regions_and_accounts() {
    let moto = Moto::start();
    let watch = json!([{"key": "ecs-monitor:watch", "value": "true"}]);
    cluster(&moto, None, "us-east-1", "prod", 2, json!([]));
    cluster(&moto, None, "eu-west-1", "prod", 0, json!([]));
    cluster(
        &moto,
        Some(MEMBER),
        "us-east-1",
        "payments",
        2,
        watch.clone(),
    );
    cluster(&moto, Some(MEMBER), "us-east-1", "orders", 1, watch);
    cluster(&moto, Some(MEMBER), "us-east-1", "sandbox", 0, json!([]));
    let (topic, queue) = bucket_and_topic(&moto);
    let clusters = format!("prod, eu-west-1/prod, {MEMBER}/us-east-1/*, ghost");
    // The function held to its template policy with this fleet (calls in the member account
    // are the member role's, whose policy is the member's own).
    moto.strict(
        json!({"ClusterName": "prod", "Clusters": clusters}),
        json!({"StateBucket": BUCKET, "AlertTopic": topic}),
    );
    let env = HashMap::from([
        ("ECS_CLUSTERS", clusters),
        ("STATE_BUCKET", BUCKET.to_string()),
        ("ALERT_TOPIC_ARN", topic),
        ("FAILURE_THRESHOLD", "1".into()),
        ("CLUSTERS_PER_WORKER", "2".into()),
    ]);
    let env: HashMap<&str, &str> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let fleet = Fleet::with_home(env, sdk_as(&moto.endpoint, HEALTH_CHECK).await)
        .await
        .unwrap()
        .unwrap();
    let run = fleet.run("schedule", T0, "r1").await;
    let answer = run.answer();
    let by_target: HashMap<&str, &Value> = answer["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["target"].as_str().unwrap(), c))
        .collect();
    let mut targets: Vec<&str> = by_target.keys().copied().collect();
    targets.sort();
    assert_eq!(
        targets,
        [
            "111111111111/us-east-1/orders",
            "111111111111/us-east-1/payments",
            "eu-west-1/prod",
            "ghost",
            "prod"
        ],
        "the tagged clusters found, the untagged one left: {answer}"
    );
    assert_eq!(by_target["prod"]["overall"], "healthy", "{answer}");
    assert_eq!(
        by_target["111111111111/us-east-1/payments"]["overall"],
        "healthy"
    );
    assert_eq!(
        by_target["111111111111/us-east-1/orders"]["overall"],
        "degraded"
    );
    assert_eq!(
        by_target["eu-west-1/prod"]["overall"], "unhealthy",
        "{answer}"
    );
    // A missing cluster is that cluster's issue, and hides no other.
    assert_eq!(by_target["ghost"]["overall"], "degraded");
    assert!(
        by_target["ghost"]["issues"][0]
            .as_str()
            .unwrap()
            .contains("ClusterNotFoundException")
    );
    // Each state under its own key: two clusters named prod never share one.
    assert_eq!(
        state(&moto, "ecs-health/prod/latest.json")["region"],
        "us-east-1"
    );
    let eu = state(&moto, "ecs-health/eu-west-1/prod/latest.json");
    assert_eq!(
        (eu["region"].as_str(), eu["overall"].as_str()),
        (Some("eu-west-1"), Some("unhealthy"))
    );
    let payments = state(
        &moto,
        "ecs-health/111111111111/us-east-1/payments/latest.json",
    );
    assert_eq!(payments["cluster"], "payments");
    // One alert per failing cluster, each named as the fleet names it.
    let subjects = subjects(&moto, &queue);
    let mut heads: Vec<&str> = subjects
        .iter()
        .map(|s| s.split(": ").next().unwrap())
        .collect();
    heads.sort();
    assert_eq!(
        heads,
        [
            "[ecs-monitor] 111111111111.us-east-1.orders-20261129T140000Z DEGRADED",
            "[ecs-monitor] 123456789012.eu-west-1.prod-20261129T140000Z UNHEALTHY",
            "[ecs-monitor] 123456789012.us-east-1.ghost-20261129T140000Z DEGRADED",
        ],
        "{subjects:#?}"
    );
    assert_eq!(
        eu["label"], "123456789012/eu-west-1/prod",
        "each alert names account, region and cluster"
    );
    moto.assert_no_denials();
}

/// The proof at scale, offline: 12 clusters in 3 accounts and 2 regions (some discovered by
/// tag), sharding forced small (4 a worker: 3 invocations, 2 of them shards sent to the
/// function under `cargo lambda watch`, held to its template policy like the dispatcher).
/// Every cluster is checked once; the regional outage (6 clusters of eu-west-1, across the 3
/// accounts) is one alert; the one failing cluster of us-east-1 keeps its own.
#[tokio::test(flavor = "multi_thread")]
async fn twelve_clusters_in_three_accounts_and_two_regions_one_regional_alert() {
    let moto = Moto::start();
    let (b, c) = (Some(MEMBER), Some("222222222222"));
    let watch_tag = json!([{"key": "ecs-monitor:watch", "value": "true"}]);
    let healthy = [
        (None, "us-east-1", "a1"),
        (None, "us-east-1", "a2"),
        (c, "us-east-1", "c1"),
        (c, "us-east-1", "c4"),
    ];
    let outage = [
        (None, "eu-west-1", "a3"),
        (None, "eu-west-1", "a4"),
        (b, "eu-west-1", "b4"),
        (b, "eu-west-1", "b5"),
        (c, "eu-west-1", "c2"),
        (c, "eu-west-1", "c3"),
    ];
    for (account, region, name) in healthy.iter().chain(&outage) {
        let running = if outage.iter().any(|o| o.2 == *name) {
            0
        } else {
            2
        };
        cluster(&moto, *account, region, name, running, json!([]));
    }
    cluster(&moto, b, "us-east-1", "b1", 2, watch_tag.clone());
    cluster(&moto, b, "us-east-1", "b2", 0, watch_tag);
    cluster(&moto, b, "us-east-1", "b3", 0, json!([]));
    let (topic, queue) = bucket_and_topic(&moto);
    let clusters = format!(
        "a1,a2,eu-west-1/a3,eu-west-1/a4,{MEMBER}/us-east-1/*,{MEMBER}/eu-west-1/b4,{MEMBER}/eu-west-1/b5,\
         222222222222/us-east-1/c1,222222222222/us-east-1/c4,222222222222/eu-west-1/c2,222222222222/eu-west-1/c3"
    );
    moto.strict(
        json!({"ClusterName": "a1", "Clusters": clusters}),
        json!({"StateBucket": BUCKET, "AlertTopic": topic}),
    );
    let vars = [
        ("ECS_CLUSTERS", clusters.clone()),
        ("STATE_BUCKET", BUCKET.to_string()),
        ("ALERT_TOPIC_ARN", topic.clone()),
        ("FAILURE_THRESHOLD", "1".to_string()),
        ("CLUSTERS_PER_WORKER", "4".to_string()),
    ];
    let mut function_env: Vec<(&str, String)> = vars.to_vec();
    function_env.extend(moto.function_env(HEALTH_CHECK));
    let watch = ecs_monitor_e2e::watch::Watch::start(&function_env);
    let env: HashMap<&str, &str> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let invoker = ecs_monitor::aws::lambda::SelfInvoker::new(
        &sdk_as(&watch.endpoint, HEALTH_CHECK).await,
        "health-check",
    );
    let fleet = Fleet::with_home(env, sdk_as(&moto.endpoint, HEALTH_CHECK).await)
        .await
        .unwrap()
        .unwrap()
        .with_shards(invoker);
    let before = moto.calls();
    let started = std::time::Instant::now();
    let answer = fleet.run("schedule", T0, "dispatch").await.answer();
    let wall = started.elapsed();
    assert_eq!(
        (
            answer["shards_sent"].as_u64(),
            answer["shards_kept"].as_u64()
        ),
        (Some(2), Some(0)),
        "{answer}"
    );
    assert_eq!(
        answer["clusters"].as_array().unwrap().len(),
        4,
        "its own share: {answer}"
    );
    // The calls the run made (the dispatcher's and the shards', with the function's and the
    // member role's credentials), per cluster.
    let calls: Vec<(String, u64)> = moto
        .calls()
        .into_iter()
        .map(|(op, n)| {
            let n = n - before.get(&op).copied().unwrap_or(0);
            (op, n)
        })
        .filter(|(_, n)| *n > 0)
        .collect();
    println!(
        "one run of 12 clusters (3 invocations, debug build under cargo lambda watch): {wall:?}"
    );
    for (op, n) in &calls {
        println!("  {op:<40} {n:>4}  ({:.2} a cluster)", *n as f64 / 12.0);
    }
    let of = |op: &str| calls.iter().find(|(o, _)| o == op).map_or(0, |(_, n)| *n);
    assert_eq!(
        of("ecs:ListServices"),
        12,
        "one listing a cluster: {calls:?}"
    );
    assert_eq!(
        of("ecs:DescribeServices"),
        12,
        "one describe a cluster (1 service each)"
    );
    assert_eq!(of("sns:Publish"), 2, "the two messages");
    // `cargo lambda watch` runs an event at once: the shards are done when the run is, and
    // the dispatcher, last, sent the run's alerts.
    assert_eq!(answer["alert_messages"], 2, "{answer}");
    let keys: Vec<String> = moto.ok(
        "s3",
        "list_objects_v2",
        json!({"Bucket": BUCKET, "Prefix": "ecs-health/"}),
    )["Contents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["Key"].as_str().unwrap().to_string())
        .collect();
    let checked: Vec<&str> = keys
        .iter()
        .filter_map(|k| k.strip_suffix("/latest.json"))
        .collect();
    assert_eq!(checked.len(), 12, "{checked:#?}");
    for c in &checked {
        let history = keys
            .iter()
            .filter(|k| k.starts_with(&format!("{c}/history/")))
            .count();
        assert_eq!(history, 1, "{c} checked once");
    }
    assert!(
        !checked.iter().any(|c| c.ends_with("/b3")),
        "untagged, not watched"
    );
    let mut subjects: Vec<String> = moto
        .drain_queue(&queue)
        .iter()
        .map(|m| m["Subject"].as_str().unwrap_or_default().to_string())
        .collect();
    subjects.sort();
    assert_eq!(subjects.len(), 2, "{subjects:#?}");
    assert!(
        subjects[0].starts_with("[ecs-monitor] 111111111111.us-east-1.b2-"),
        "{subjects:#?}"
    );
    assert_eq!(subjects[1], "[ecs-monitor] eu-west-1: 6 clusters UNHEALTHY");
    // The overview page, written by the run's last invocation from every shard's summaries.
    assert_eq!(
        answer["fleet_page"],
        "s3://ecs-monitor-state/ecs-health/.fleet/index.html"
    );
    let page = moto.ok(
        "s3",
        "get_object",
        json!({"Bucket": BUCKET, "Key": "ecs-health/.fleet/index.html"}),
    );
    let html = page["Body"].as_str().unwrap();
    assert_eq!(html.matches("<tr data-cluster=").count(), 12, "{html}");
    assert_eq!(html.matches("data-status=\"unhealthy\"").count(), 7);
    assert!(html.contains(
        "<a href=\"../222222222222/eu-west-1/c2/status/index.html\">222222222222/eu-west-1/c2</a>"
    ));
    for c in &checked {
        assert!(
            keys.contains(&format!("{c}/status/index.html")),
            "{c}'s own page"
        );
    }
    moto.assert_no_denials();
}

/// Alerts a run could not send (here: its topic did not exist yet) stay in the run's outbox,
/// and a later run sends them.
#[tokio::test(flavor = "multi_thread")]
async fn alerts_a_run_could_not_send_are_sent_by_a_later_run() {
    let moto = Moto::start();
    cluster(&moto, None, "us-east-1", "prod", 0, json!([]));
    moto.ok("s3", "create_bucket", json!({"Bucket": BUCKET}));
    let topic = "arn:aws:sns:us-east-1:123456789012:alerts";
    let env = HashMap::from([
        ("ECS_CLUSTERS", "prod"),
        ("STATE_BUCKET", BUCKET),
        ("ALERT_TOPIC_ARN", topic),
        ("FAILURE_THRESHOLD", "1"),
    ]);
    let fleet = Fleet::with_home(env, moto.sdk().await)
        .await
        .unwrap()
        .unwrap();
    // Real time: a run is "over" by the S3 times of its objects.
    let now = time::OffsetDateTime::now_utc();
    let first = fleet.run("schedule", now, "first").await.answer();
    assert!(
        first["alerts_error"]
            .as_str()
            .unwrap()
            .contains("a later run retries"),
        "{first}"
    );
    assert_eq!(
        first["clusters"][0]["alerts_published"],
        json!(["health.unhealthy"]),
        "decided, kept"
    );
    moto.ok("sns", "create_topic", json!({"Name": "alerts"}));
    let queue = moto.subscribe_queue(topic, "alerts");
    let later = fleet
        .run("schedule", now + time::Duration::minutes(20), "later")
        .await
        .answer();
    assert_eq!(later["earlier_runs_sent"], 1, "{later}");
    let subjects = subjects(&moto, &queue);
    assert_eq!(subjects.len(), 1, "{subjects:?}");
    assert!(
        subjects[0].contains("prod-") && subjects[0].contains("UNHEALTHY"),
        "{subjects:?}"
    );
}

/// A shard Lambda retries after its run's alerts went out (its first attempt died, the run
/// was swept): its alert is not lost, a later run sends it, once.
#[tokio::test(flavor = "multi_thread")]
async fn a_shard_retried_after_its_run_was_sent_has_its_alert_sent_by_a_later_run() {
    let moto = Moto::start();
    cluster(&moto, None, "us-east-1", "prod", 2, json!([]));
    cluster(&moto, None, "us-east-1", "late", 0, json!([]));
    let (topic, queue) = bucket_and_topic(&moto);
    let env = HashMap::from([
        ("ECS_CLUSTERS", "prod"),
        ("STATE_BUCKET", BUCKET),
        ("ALERT_TOPIC_ARN", topic.as_str()),
        ("FAILURE_THRESHOLD", "1"),
    ]);
    let fleet = Fleet::with_home(env, moto.sdk().await)
        .await
        .unwrap()
        .unwrap();
    let now = time::OffsetDateTime::now_utc();
    let first = fleet.run("schedule", now, "first").await.answer();
    assert_eq!(first["alert_messages"], 0, "{first}");
    // The retried shard of that run, with a failing cluster.
    let shard = ecs_monitor::app::Shard {
        run: format!("{}-first", ecs_monitor::timefmt::compact(now)),
        index: 0,
        of: 1,
        trigger: "schedule".into(),
        targets: vec![ecs_monitor::config::Resolved {
            account: None,
            region: "us-east-1".into(),
            cluster: "late".into(),
            explicit_region: false,
        }],
    };
    let late = fleet.run_shard(&shard, now, "retry").await.answer();
    assert_eq!(
        late["clusters"][0]["alerts_published"],
        json!(["health.unhealthy"]),
        "decided, kept: {late}"
    );
    assert_eq!(
        late["alert_messages"],
        Value::Null,
        "the run was sent: {late}"
    );
    assert!(moto.drain_queue(&queue).is_empty());
    let next = fleet
        .run("schedule", now + time::Duration::minutes(5), "next")
        .await
        .answer();
    assert_eq!(next["earlier_runs_sent"], 1, "{next}");
    let subjects = subjects(&moto, &queue);
    assert_eq!(subjects.len(), 1, "{subjects:?}");
    assert!(subjects[0].contains("late"), "{subjects:?}");
    // Sent once: the run after does not send it again.
    let after = fleet
        .run("schedule", now + time::Duration::minutes(10), "after")
        .await
        .answer();
    assert_eq!(after["earlier_runs_sent"], 0, "{after}");
    assert!(moto.drain_queue(&queue).is_empty());
}

/// A task of `cluster`/`service` in `account`/`region` stopped with exit 137: the ECS event
/// as EventBridge delivers it (forwarded from a member account, it keeps its own account).
fn task_stopped(account: &str, region: &str, cluster: &str, service: &str, task: &str) -> Value {
    json!({"version": "0", "id": format!("ev-{task}"), "detail-type": "ECS Task State Change", "source": "aws.ecs",
        "account": account, "time": "2026-11-29T14:35:27Z", "region": region,
        "resources": [format!("arn:aws:ecs:{region}:{account}:task/{cluster}/{task}")],
        "detail": {
            "clusterArn": format!("arn:aws:ecs:{region}:{account}:cluster/{cluster}"),
            "taskArn": format!("arn:aws:ecs:{region}:{account}:task/{cluster}/{task}"), "group": format!("service:{service}"),
            "lastStatus": "STOPPED", "desiredStatus": "STOPPED", "stopCode": "EssentialContainerExited",
            "stoppedReason": "Essential container in task exited",
            "containers": [{"name": "app", "exitCode": 137, "lastStatus": "STOPPED"}], "version": 3}})
}

/// Diagnose in fleet mode, the function under `cargo lambda watch` held to its template
/// policy: a member account's forwarded ECS event is diagnosed from that account's logs in
/// its region (through the member role), its report kept under the cluster's own key and
/// named account/region/cluster; events of clusters outside the fleet are ignored.
#[tokio::test(flavor = "multi_thread")]
async fn diagnose_follows_each_event_to_its_cluster_in_the_fleet() {
    let moto = Moto::start();
    let watch_tag = json!([{"key": "ecs-monitor:watch", "value": "true"}]);
    let (region, member) = ("eu-west-1", Some(MEMBER));
    for (name, tags) in [("payments", watch_tag), ("sandbox", json!([]))] {
        moto.ok_in(
            member,
            region,
            "ecs",
            "create_cluster",
            json!({"clusterName": name, "tags": tags}),
        );
    }
    moto.ok_in(
        member,
        region,
        "ecs",
        "register_task_definition",
        json!({"family": "web",
        "containerDefinitions": [{"name": "app", "image": "nginx", "memory": 128,
        "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/web",
            "awslogs-region": region, "awslogs-stream-prefix": "ecs"}}}]}),
    );
    moto.ok_in(
        member,
        region,
        "ecs",
        "create_service",
        json!({"cluster": "payments", "serviceName": "web",
        "taskDefinition": "web", "desiredCount": 1, "launchType": "EC2"}),
    );
    moto.ok_in(
        member,
        region,
        "logs",
        "create_log_group",
        json!({"logGroupName": "/ecs/web"}),
    );
    moto.ok_in(
        member,
        region,
        "logs",
        "create_log_stream",
        json!({"logGroupName": "/ecs/web", "logStreamName": "ecs/app/t1"}),
    );
    let now = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
    moto.ok_in(member, region, "logs", "put_log_events", json!({"logGroupName": "/ecs/web", "logStreamName": "ecs/app/t1",
        "logEvents": [{"timestamp": now - 300_000, "message": "java.lang.OutOfMemoryError: Java heap space"}]}));
    let (topic, queue) = bucket_and_topic(&moto);
    let clusters = format!("prod, {MEMBER}/{region}/*");
    moto.strict(
        json!({"ClusterName": "prod", "Clusters": clusters}),
        json!({"StateBucket": BUCKET, "AlertTopic": topic}),
    );
    let mut function_env: Vec<(&str, String)> = vec![
        ("ECS_CLUSTERS", clusters.clone()),
        ("REPORT_BUCKET", BUCKET.to_string()),
        ("STATE_BUCKET", BUCKET.to_string()),
        ("ALERT_TOPIC_ARN", topic.clone()),
    ];
    function_env.extend(moto.function_env(ecs_monitor_e2e::moto::DIAGNOSE));
    let watch = ecs_monitor_e2e::watch::Watch::start(&function_env);
    let invoke = |event: Value| {
        let url = format!(
            "{}/2015-03-31/functions/diagnose/invocations",
            watch.endpoint
        );
        async move {
            let r = reqwest::Client::new()
                .post(url)
                .json(&event)
                .timeout(std::time::Duration::from_secs(600))
                .send()
                .await
                .expect("cargo lambda watch answers");
            r.json::<Value>().await.expect("a JSON answer")
        }
    };

    let answer = invoke(task_stopped(MEMBER, region, "payments", "web", "t1")).await;
    assert_eq!(answer["cluster"], "payments", "{answer}");
    assert_eq!(
        answer["label"],
        format!("{MEMBER}/{region}/payments"),
        "{answer}"
    );
    assert_eq!(answer["region"], region);
    let web = &answer["services"][0];
    assert_eq!(web["service"], "web", "{answer}");
    assert!(
        web["categories"]["oom"].as_u64() >= Some(1),
        "the member's logs in its region were read: {web}"
    );
    let report = answer["report_url"].as_str().unwrap();
    assert!(
        report.starts_with(&format!(
            "s3://{BUCKET}/reports/{MEMBER}/{region}/payments/"
        )),
        "kept under the cluster's own key: {report}"
    );
    let messages = moto.drain_queue(&queue);
    assert_eq!(messages.len(), 1, "{messages:?}");
    let m: Value = serde_json::from_str(messages[0]["Message"].as_str().unwrap()).unwrap();
    assert_eq!(
        (&m["event"], &m["cluster"], &m["region"], &m["account"]),
        (
            &json!("diagnose.report"),
            &json!("payments"),
            &json!(region),
            &json!(MEMBER)
        ),
        "{m}"
    );
    assert!(
        messages[0]["Subject"]
            .as_str()
            .unwrap()
            .contains(&format!("{MEMBER}/{region}/payments")),
        "{messages:?}"
    );

    // Untagged in a * entry, another account, an invoke that names no cluster.
    let untagged = invoke(task_stopped(MEMBER, region, "sandbox", "web", "t2")).await;
    assert!(
        untagged["ignored"]
            .as_str()
            .unwrap_or_default()
            .contains("is not tagged"),
        "{untagged}"
    );
    let stranger = invoke(task_stopped(
        "333333333333",
        region,
        "payments",
        "web",
        "t3",
    ))
    .await;
    assert!(
        stranger["ignored"]
            .as_str()
            .unwrap_or_default()
            .contains("is not one of ECS_CLUSTERS"),
        "{stranger}"
    );
    let unnamed = invoke(json!({"services": ["web"]})).await;
    assert_eq!(unnamed["errorType"], "TriggerError", "{unnamed}");
    let named = invoke(json!({"cluster": format!("{MEMBER}/{region}/payments"), "services": ["web"], "minutes": 30})).await;
    assert_eq!(
        named["label"],
        format!("{MEMBER}/{region}/payments"),
        "{named}"
    );
    assert!(
        moto.drain_queue(&queue).len() == 1,
        "the manual diagnosis's summary"
    );
    moto.assert_no_denials();
    assert!(
        moto.calls().get("sts:AssumeRole").copied().unwrap_or(0) >= 1,
        "the member account was read through its role: {:?}",
        moto.calls()
    );
}

/// `ecs-monitor health` with ECS_CLUSTERS, as a user runs it from a laptop: every cluster of
/// the fleet (named, discovered by tag in another account), each into a state file of its
/// own; the exit code is the worst status, 2 when a cluster could not be checked.
#[test]
fn the_cli_checks_every_cluster_of_the_fleet() {
    let moto = Moto::start();
    let watch = json!([{"key": "ecs-monitor:watch", "value": "true"}]);
    cluster(&moto, None, "us-east-1", "prod", 2, json!([]));
    cluster(&moto, None, "eu-west-1", "prod", 0, json!([]));
    cluster(&moto, Some(MEMBER), "us-east-1", "payments", 2, watch);
    let dir = std::env::temp_dir().join(format!("ecs-monitor-fleet-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let outdir = dir.to_string_lossy().into_owned();
    let clusters = format!("prod, eu-west-1/prod, {MEMBER}/us-east-1/*");
    let vars = [
        ("ECS_CLUSTERS", clusters.as_str()),
        ("ECS_HEALTH_OUTDIR", outdir.as_str()),
    ];
    let (code, out, err) = ecs_monitor_e2e::cli::run(&moto, &["health"], &vars);
    assert_eq!(code, 1, "eu-west-1/prod is unhealthy\n{out}\n{err}");
    for header in [
        "== prod\n",
        "== eu-west-1/prod\n",
        &format!("== {MEMBER}/us-east-1/payments\n"),
    ] {
        assert!(out.contains(header), "{header:?} in\n{out}");
    }
    let files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".json"))
        .collect();
    for f in [
        "ecs-health.prod.json".to_string(),
        "ecs-health.eu-west-1.prod.json".to_string(),
        format!("ecs-health.{MEMBER}.us-east-1.payments.json"),
    ] {
        assert!(files.contains(&f), "{f} in {files:?}");
    }
    let eu: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("ecs-health.eu-west-1.prod.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        (&eu["region"], &eu["overall"]),
        (&json!("eu-west-1"), &json!("unhealthy"))
    );
    // Each cluster's status page beside its own state.
    let page = std::fs::read_to_string(dir.join("ecs-health.eu-west-1.prod.status/index.html"))
        .expect("the cluster's own page");
    assert!(
        page.contains("eu-west-1/prod"),
        "the page names its cluster"
    );
    assert!(dir.join("ecs-health.prod.status/index.html").exists());

    // --json: one entry per cluster; a cluster that does not exist is its own issue.
    let clusters = format!("{clusters}, ghost");
    let vars = [
        ("ECS_CLUSTERS", clusters.as_str()),
        ("ECS_HEALTH_OUTDIR", outdir.as_str()),
    ];
    let (code, out, err) = ecs_monitor_e2e::cli::run(&moto, &["health", "--json"], &vars);
    let all: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    let names: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["cluster"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 4, "{names:?}");
    let ghost = all
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["cluster"] == "ghost")
        .unwrap();
    assert_eq!(ghost["state"]["overall"], "degraded", "{ghost}");
    assert!(
        ghost["state"]["issues"][0]
            .as_str()
            .unwrap()
            .contains("ClusterNotFoundException"),
        "{ghost}"
    );
    assert_eq!(code, 1, "{err}");

    // A cluster whose state cannot be written (a directory is in its way) is an error: every
    // other cluster is still reported, and the exit code is 2.
    std::fs::create_dir_all(dir.join("ecs-health.blocked.json")).unwrap();
    let clusters = format!("{clusters}, blocked");
    let vars = [
        ("ECS_CLUSTERS", clusters.as_str()),
        ("ECS_HEALTH_OUTDIR", outdir.as_str()),
    ];
    let (code, out, err) = ecs_monitor_e2e::cli::run(&moto, &["health"], &vars);
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(
        err.contains("1 of 5 clusters could not be checked: blocked"),
        "{err}"
    );
    assert!(
        out.contains("== blocked\nnot checked: ") && out.contains("== eu-west-1/prod\n"),
        "{out}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The deployed path, end to end: the scheduled invocation itself runs under
/// `cargo lambda watch`, and its Lambda client reaches the function's shards through
/// `AWS_ENDPOINT_URL_LAMBDA` (the SDK's per-service endpoint variable, as a user would point
/// it at an emulator) while every other client reaches moto. A second watch plays the
/// function's other instances (Lambda runs each asynchronous invoke in an instance of its
/// own).
#[tokio::test(flavor = "multi_thread")]
async fn the_deployed_function_sends_its_shards_through_the_lambda_endpoint_variable() {
    let moto = Moto::start();
    for name in ["a1", "a2", "a3"] {
        cluster(&moto, None, "us-east-1", name, 2, json!([]));
    }
    let (topic, _queue) = bucket_and_topic(&moto);
    moto.strict(
        json!({"ClusterName": "a1", "Clusters": "a1,a2,a3"}),
        json!({"StateBucket": BUCKET, "AlertTopic": topic}),
    );
    let mut env: Vec<(&str, String)> = vec![
        ("ECS_CLUSTERS", "a1,a2,a3".into()),
        ("STATE_BUCKET", BUCKET.into()),
        ("ALERT_TOPIC_ARN", topic.clone()),
        ("CLUSTERS_PER_WORKER", "1".into()),
        // What Lambda sets for the function.
        ("AWS_LAMBDA_FUNCTION_NAME", "health-check".into()),
    ];
    env.extend(moto.function_env(HEALTH_CHECK));
    let shards = ecs_monitor_e2e::watch::Watch::start(&env);
    env.push(("AWS_ENDPOINT_URL_LAMBDA", shards.endpoint.clone()));
    let dispatcher = ecs_monitor_e2e::watch::Watch::start(&env);
    let answer: Value = reqwest::Client::new()
        .post(format!(
            "{}/2015-03-31/functions/health-check/invocations",
            dispatcher.endpoint
        ))
        .json(&json!({}))
        .timeout(std::time::Duration::from_secs(900))
        .send()
        .await
        .expect("cargo lambda watch answers")
        .json()
        .await
        .expect("a JSON answer");
    assert_eq!(
        (answer["shards_sent"].as_u64(), answer["checked"].as_u64()),
        (Some(2), Some(1)),
        "one cluster here, two shards sent: {answer}"
    );
    for name in ["a1", "a2", "a3"] {
        assert_eq!(
            state(&moto, &format!("ecs-health/{name}/latest.json"))["overall"],
            "healthy",
            "{name} checked"
        );
    }
    assert!(
        !moto.calls().keys().any(|op| op.starts_with("lambda:")),
        "no Lambda call reached moto: {:?}",
        moto.calls()
    );
    moto.assert_no_denials();
}
