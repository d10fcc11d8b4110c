//! The notifier under `cargo lambda watch`, held to its template policy by the strict layer,
//! with SNS events as AWS delivers them: local stand-ins for PagerDuty, Slack, Teams and a
//! generic receiver (which verifies the signature), the secrets in moto's SSM and Secrets
//! Manager.

use ecs_monitor::notify::{Card, Event, Message, ServiceRef};
use ecs_monitor_e2e::moto::{Moto, NOTIFIER};
use ecs_monitor_e2e::receivers::Receivers;
use ecs_monitor_e2e::watch::Watch;
use serde_json::{Value, json};
use std::collections::BTreeMap;

const BUCKET: &str = "ecs-monitor-state";
const ROUTING_KEY: &str = "R0UT1NGKEYr0ut1ngkeyR0UT1NGKEY00";
const SIGNING_KEY: &str = "whsec-4f9a1c2e";
const INCIDENT: &str = "prod-20261206T150000Z";

/// A machine message as the health check or diagnose publishes it.
fn message(event: Event, status: &str, services: &[&str]) -> Message {
    let mut m = Message::new(event, "prod", status);
    m.id = Some(format!("{INCIDENT}/{}/1", event.as_str()));
    m.incident_id = Some(INCIDENT.into());
    m.region = Some("us-east-1".into());
    m.services = services
        .iter()
        .map(|s| ServiceRef::Name(s.to_string()))
        .collect();
    m.subject = Some(format!(
        "[ecs-monitor] {INCIDENT} prod {}",
        status.to_uppercase()
    ));
    m.text = Some(format!(
        "Cluster prod (us-east-1) is {}.",
        status.to_uppercase()
    ));
    m.chat = Some(Card::new(
        format!(":rotating_light: prod {}", status.to_uppercase()),
        "• api: 0/2 tasks running".into(),
        vec![],
        INCIDENT.into(),
        "s".into(),
        BTreeMap::new(),
    ));
    m
}

/// The SNS event Lambda receives for one publish (MessageStructure=json: its `lambda` part).
fn sns(sns_id: &str, m: &Message) -> Value {
    json!({"Records": [{"EventSource": "aws:sns", "EventVersion": "1.0",
        "EventSubscriptionArn": "arn:aws:sns:us-east-1:123456789012:ecs-monitor-alerts:0b1c",
        "Sns": {"Type": "Notification", "MessageId": sns_id,
            "TopicArn": "arn:aws:sns:us-east-1:123456789012:ecs-monitor-alerts",
            "Subject": m.subject, "Message": serde_json::to_string(m).unwrap(),
            "Timestamp": "2026-12-06T15:00:00.000Z", "SignatureVersion": "1", "Signature": "x",
            "SigningCertUrl": "https://sns.us-east-1.amazonaws.com/x.pem",
            "UnsubscribeUrl": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe", "MessageAttributes": {}}}]})
}

async fn invoke(watch: &Watch, event: &Value) -> Value {
    reqwest::Client::new()
        .post(format!(
            "{}/2015-03-31/functions/notifier/invocations",
            watch.endpoint
        ))
        .json(event)
        .timeout(std::time::Duration::from_secs(600))
        .send()
        .await
        .expect("cargo lambda watch answers")
        .json()
        .await
        .expect("a JSON answer")
}

#[tokio::test(flavor = "multi_thread")]
async fn each_destination_gets_its_payload_once_and_secrets_stay_secret() {
    let moto = Moto::start();
    let rx = Receivers::start(Some(("/hook", SIGNING_KEY.as_bytes()))).await;
    moto.ok("s3", "create_bucket", json!({"Bucket": BUCKET}));
    let param = |name: &str, value: &str| {
        moto.ok(
            "ssm",
            "put_parameter",
            json!({"Name": name, "Value": value, "Type": "SecureString", "Overwrite": true}),
        );
    };
    param("/ecs-monitor/pagerduty", ROUTING_KEY);
    param("/ecs-monitor/slack", &rx.url("/services/T0/B0/slack-token"));
    param("/ecs-monitor/teams", &rx.url("/workflows/teams-one"));
    param("/ecs-monitor/hook-key", SIGNING_KEY);
    let hook = moto.ok(
        "secretsmanager",
        "create_secret",
        json!({"Name": "ecs-monitor/hook", "SecretString": rx.url("/hook")}),
    )["ARN"]
        .as_str()
        .unwrap()
        .to_string();
    let destinations = json!([
        {"name": "pager", "type": "pagerduty", "secret": "/ecs-monitor/pagerduty", "endpoint": rx.url("/v2/enqueue"), "statuses": ["unhealthy"]},
        {"name": "chat", "type": "slack", "secret": "/ecs-monitor/slack"},
        {"name": "web-team", "type": "slack", "secret": "/ecs-monitor/slack", "services": ["web"]},
        {"name": "ops", "type": "teams", "secret": "/ecs-monitor/teams"},
        {"name": "hook", "type": "webhook", "secret": hook, "signing_secret": "/ecs-monitor/hook-key"},
    ])
    .to_string();
    moto.strict(
        json!({"ClusterName": "prod", "NotifyDestinations": destinations}),
        json!({"StateBucket": BUCKET, "AlertTopic": "arn:aws:sns:us-east-1:123456789012:ecs-monitor-alerts"}),
    );
    let mut env: Vec<(&str, String)> = vec![
        ("NOTIFY_DESTINATIONS", destinations.clone()),
        ("NOTIFY_SECRET_PATH", "/ecs-monitor/".into()),
        ("NOTIFY_TIMEOUT_MS", "3000".into()),
        ("STATE_BUCKET", BUCKET.into()),
    ];
    env.extend(moto.function_env(NOTIFIER));
    let watch = Watch::start(&env);

    // The incident opens. PagerDuty is busy once (429, Retry-After 1): retried.
    rx.script("/v2/enqueue", &[(429, &[("Retry-After", "1")])]);
    let unhealthy = sns(
        "sns-1",
        &message(Event::HealthUnhealthy, "unhealthy", &["api"]),
    );
    let a = invoke(&watch, &unhealthy).await;
    let d = &a["delivered"][0]["destinations"];
    assert_eq!(d["pager"], "delivered in 2 attempt(s)", "{a}");
    assert_eq!(d["chat"], "delivered in 1 attempt(s)", "{a}");
    assert_eq!(d["web-team"], "filtered", "{a}");
    assert_eq!(d["ops"], "delivered in 1 attempt(s)", "{a}");
    assert_eq!(d["hook"], "delivered in 1 attempt(s)", "{a}");
    let pd = rx.received("/v2/enqueue");
    assert_eq!(pd.len(), 2);
    let trigger = &pd[1].body;
    assert_eq!(
        (
            &trigger["routing_key"],
            &trigger["event_action"],
            &trigger["dedup_key"]
        ),
        (&json!(ROUTING_KEY), &json!("trigger"), &json!(INCIDENT)),
        "{trigger}"
    );
    assert_eq!(trigger["payload"]["severity"], "critical");
    let slack = rx.received("/services/T0/B0/slack-token");
    assert_eq!(slack.len(), 1, "web-team's filter left it out");
    assert_eq!(slack[0].body["blocks"][0]["type"], "header");
    let teams = rx.received("/workflows/teams-one");
    assert_eq!(
        teams[0].body["attachments"][0]["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    let hooked = rx.received("/hook");
    assert_eq!(
        hooked[0].verified,
        Some(true),
        "the receiver verified the signature"
    );
    assert_eq!(hooked[0].body["event"], "health.unhealthy");
    assert_eq!(hooked[0].body["incident_id"], INCIDENT);

    // SNS delivers the same message again: nobody hears it twice.
    let before = rx.count();
    let again = invoke(&watch, &unhealthy).await;
    for name in ["pager", "chat", "ops", "hook"] {
        assert_eq!(
            again["delivered"][0]["destinations"][name], "duplicate",
            "{again}"
        );
    }
    assert_eq!(rx.count(), before);

    // The Teams workflow URL was rotated: the old one answers 404, the secret is read again.
    moto.ok("ssm", "put_parameter", json!({"Name": "/ecs-monitor/teams", "Value": rx.url("/workflows/teams-two"), "Type": "SecureString", "Overwrite": true}));
    rx.script("/workflows/teams-one", &[(404, &[])]);
    // The webhook receiver is down for good: that destination fails the invocation, and only
    // it; the others are delivered and claimed.
    rx.script("/hook", &[(500, &[]), (502, &[]), (503, &[]), (500, &[])]);
    let mut report = message(Event::DiagnoseReport, "critical", &["api"]);
    report.id = None;
    report.issues = Some(vec![
        "api ran out of memory: 3 tasks OOM-killed (exit 137)".into(),
    ]);
    report.report = Some(format!("s3://{BUCKET}/reports/prod/r.json"));
    let diagnosed = sns("sns-2", &report);
    let failed = invoke(&watch, &diagnosed).await;
    assert_eq!(failed["errorType"], "DeliveryError", "{failed}");
    let why = failed["errorMessage"].as_str().unwrap();
    assert!(why.contains("hook: HTTP 500 after 4 attempts"), "{why}");
    assert!(!why.contains("pager") && !why.contains("ops"), "{why}");
    let update = rx.received("/v2/enqueue")[2].body.clone();
    assert_eq!(
        (&update["event_action"], &update["dedup_key"]),
        (&json!("trigger"), &json!(INCIDENT))
    );
    assert_eq!(
        update["payload"]["custom_details"]["probable_cause"][0],
        "api ran out of memory: 3 tasks OOM-killed (exit 137)"
    );
    assert_eq!(
        rx.received("/workflows/teams-two").len(),
        1,
        "the rotated URL was read again"
    );
    // Lambda's retry: only the webhook is delivered now.
    let retried = invoke(&watch, &diagnosed).await;
    let d = &retried["delivered"][0]["destinations"];
    assert_eq!(
        (&d["pager"], &d["ops"], &d["chat"]),
        (
            &json!("duplicate"),
            &json!("duplicate"),
            &json!("duplicate")
        ),
        "{retried}"
    );
    assert_eq!(d["hook"], "delivered in 1 attempt(s)", "{retried}");

    // The incident is over: PagerDuty resolves it, whatever its status filter says.
    let recovered = sns("sns-3", &message(Event::HealthRecovered, "healthy", &[]));
    let r = invoke(&watch, &recovered).await;
    assert_eq!(
        r["delivered"][0]["destinations"]["pager"], "delivered in 1 attempt(s)",
        "{r}"
    );
    let resolve = rx.received("/v2/enqueue").last().unwrap().body.clone();
    assert_eq!(
        resolve,
        json!({"routing_key": ROUTING_KEY, "event_action": "resolve", "dedup_key": INCIDENT, "client": "ecs-monitor"})
    );

    moto.assert_no_denials();
    // The secrets never reach a log, an answer or a stored object.
    let port = watch.endpoint.rsplit(':').next().unwrap();
    let log = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(format!("../target/watch-{port}.log")),
    )
    .unwrap();
    let listed = moto.ok("s3", "list_objects_v2", json!({"Bucket": BUCKET}));
    let mut stored = String::new();
    for o in listed["Contents"].as_array().unwrap() {
        let key = o["Key"].as_str().unwrap();
        assert!(key.starts_with("ecs-health/.notify/claims/"), "{key}");
        stored += moto.ok("s3", "get_object", json!({"Bucket": BUCKET, "Key": key}))["Body"]
            .as_str()
            .unwrap();
    }
    let answers = format!("{a}{again}{failed}{retried}{r}");
    for secret in [
        ROUTING_KEY,
        SIGNING_KEY,
        "slack-token",
        "teams-one",
        "teams-two",
    ] {
        assert!(!log.contains(secret), "{secret} in the function's log");
        assert!(!stored.contains(secret), "{secret} in a stored claim");
        assert!(!answers.contains(secret), "{secret} in an answer");
    }
}
