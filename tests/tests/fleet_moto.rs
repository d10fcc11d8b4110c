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
    moto.ok("s3", "create_bucket", json!({"Bucket": BUCKET}));
    let topic = moto.ok("sns", "create_topic", json!({"Name": "alerts"}))["TopicArn"]
        .as_str()
        .unwrap()
        .to_string();
    let queue = moto.subscribe_queue(&topic, "alerts");
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
    let subjects: Vec<String> = moto
        .drain_queue(&queue)
        .iter()
        .map(|m| m["Subject"].as_str().unwrap_or_default().to_string())
        .collect();
    let mut heads: Vec<&str> = subjects
        .iter()
        .map(|s| s.split(": ").next().unwrap())
        .collect();
    heads.sort();
    assert_eq!(
        heads,
        [
            "[ecs-monitor] 111111111111.us-east-1.orders-20261129T140000Z DEGRADED",
            "[ecs-monitor] eu-west-1.prod-20261129T140000Z UNHEALTHY",
            "[ecs-monitor] ghost-20261129T140000Z DEGRADED",
        ],
        "{subjects:#?}"
    );
    assert_eq!(eu["label"], "eu-west-1/prod");
    assert_eq!(
        moto.denials(),
        Vec::<Value>::new(),
        "the template grants every call"
    );
}

/// Past CLUSTERS_PER_WORKER, the run checks its share and hands the rest to other invocations
/// of the function (asynchronous invokes, here of the function under `cargo lambda watch`,
/// held to its template policy like the dispatcher): every cluster is checked once.
#[tokio::test(flavor = "multi_thread")]
async fn a_fleet_larger_than_a_worker_is_split_into_shards() {
    let moto = Moto::start();
    let names = ["c1", "c2", "c3", "c4", "c5"];
    for (i, name) in names.iter().enumerate() {
        cluster(&moto, None, "us-east-1", name, (i % 3) as i32, json!([]));
    }
    moto.ok("s3", "create_bucket", json!({"Bucket": BUCKET}));
    let clusters = names.join(",");
    moto.strict(
        json!({"ClusterName": "c1", "Clusters": clusters}),
        json!({"StateBucket": BUCKET, "AlertTopic": "arn:aws:sns:us-east-1:123456789012:unused"}),
    );
    let vars = [
        ("ECS_CLUSTERS", clusters.clone()),
        ("STATE_BUCKET", BUCKET.to_string()),
        ("CLUSTERS_PER_WORKER", "2".to_string()),
    ];
    let mut function_env: Vec<(&str, String)> = vars.to_vec();
    function_env.extend([
        ("AWS_ENDPOINT_URL", moto.endpoint.clone()),
        ("AWS_ACCESS_KEY_ID", HEALTH_CHECK.to_string()),
        ("AWS_SECRET_ACCESS_KEY", "test".to_string()),
        ("AWS_REGION", "us-east-1".to_string()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_string()),
        ("RUST_LOG", "info".to_string()),
    ]);
    let watch = ecs_monitor_e2e::watch::Watch::start(&function_env);
    let env: HashMap<&str, &str> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let invoker = ecs_monitor::aws::lambda::SelfInvoker::new(
        &sdk_as(&watch.endpoint, HEALTH_CHECK).await,
        "health-check",
    );
    let fleet = Fleet::with_home(env, sdk_as(&moto.endpoint, HEALTH_CHECK).await)
        .unwrap()
        .unwrap()
        .with_shards(invoker);
    let answer = fleet.run("schedule", T0, "dispatch").await.answer();
    assert_eq!(
        (
            answer["shards_sent"].as_u64(),
            answer["shards_kept"].as_u64()
        ),
        (Some(2), Some(0)),
        "{answer}"
    );
    let here: Vec<&str> = answer["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["target"].as_str().unwrap())
        .collect();
    assert_eq!(here, ["c1", "c2"], "its own share");
    // `cargo lambda watch` runs an event at once: the shards are done when the run is.
    for name in names {
        let history = moto.ok(
            "s3",
            "list_objects_v2",
            json!({"Bucket": BUCKET, "Prefix": format!("ecs-health/{name}/history/")}),
        );
        assert_eq!(history["KeyCount"], 1, "{name} checked once");
        assert_eq!(
            state(&moto, &format!("ecs-health/{name}/latest.json"))["cluster"],
            name
        );
    }
    assert_eq!(
        moto.denials(),
        Vec::<Value>::new(),
        "the template grants every call"
    );
}
