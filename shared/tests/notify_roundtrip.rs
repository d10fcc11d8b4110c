//! Producers and consumer agree on the one message contract: a health alert and a diagnose
//! summary, published as SNS delivers them to Lambda (the `lambda` key of the document, no
//! message attributes), read back by the diagnose trigger.

use ecs_monitor::diagnose::{render, trigger};
use ecs_monitor::health::model::{Alert, Overall};
use ecs_monitor::notify::{Card, Event, Message};
use ecs_monitor::ports::fakes;
use serde_json::{Value, json};
use time::macros::datetime;

/// The SNS event Lambda receives for a publish of `document` (MessageStructure=json).
fn delivered(subject: &str, document: &str) -> Value {
    let doc: Value = serde_json::from_str(document).unwrap();
    for key in ["default", "email", "https", "lambda", "sqs"] {
        assert!(doc[key].is_string(), "every protocol has its string: {key}");
    }
    json!({"Records": [{"EventSource": "aws:sns", "EventVersion": "1.0", "EventSubscriptionArn": "arn:aws:sns:us-east-1:123456789012:alerts:1",
        "Sns": {"Type": "Notification", "MessageId": "m-1", "TopicArn": "arn:aws:sns:us-east-1:123456789012:alerts", "Subject": subject,
                "Message": doc["lambda"], "Timestamp": "2026-11-29T14:35:00.000Z", "SignatureVersion": "1", "Signature": "x",
                "SigningCertUrl": "https://x", "UnsubscribeUrl": "https://x", "MessageAttributes": {}}}]})
}

fn alert(event: Event, services: &[&str]) -> Alert {
    let t = datetime!(2026-11-29 14:35:00 UTC);
    Alert {
        id: format!("prod-20261129T143500Z/{}/1", event.as_str()),
        services: services.iter().map(|s| s.to_string()).collect(),
        issues: vec!["api: 1/3 tasks running".into()],
        event,
        status: Overall::Degraded,
        incident_id: "prod-20261129T143500Z".into(),
        decided_at: t,
        subject: "[ecs-monitor] prod DEGRADED: api: 1/3 tasks running".into(),
        text: "Cluster prod (us-east-1) is DEGRADED".into(),
        chat: Card::new(
            "t".into(),
            "d".into(),
            vec![],
            "prod-20261129T143500Z".into(),
            "s".into(),
            Default::default(),
        ),
        claimed_by: None,
        claimed_at: None,
        region: Some("eu-west-1".into()),
        account: Some("111122223333".into()),
    }
}

#[test]
fn a_health_alert_is_read_back_by_the_diagnose_trigger() {
    let a = alert(Event::HealthDegraded, &["api", "web"]);
    let n = a.notification("prod");
    let back = Message::parse(&serde_json::to_string(&n.message).unwrap()).unwrap();
    assert_eq!(back, n.message, "one definition, both ways");
    let trigger::Invocation::Diagnose {
        services,
        trigger,
        dedupe_key,
        ..
    } = trigger::parse(&delivered(&n.subject, &n.document())).unwrap()
    else {
        panic!("a degraded alert starts a diagnosis")
    };
    assert_eq!(services, Some(vec!["api".to_string(), "web".to_string()]));
    assert_eq!(trigger.detail, "health.degraded prod-20261129T143500Z");
    assert_eq!(dedupe_key.as_deref(), Some("sns/m-1"));
    for quiet in [Event::HealthRecovered, Event::HealthReminder] {
        let n = alert(quiet, &["api"]).notification("prod");
        assert!(
            matches!(
                trigger::parse(&delivered(&n.subject, &n.document())).unwrap(),
                trigger::Invocation::Ignore(_)
            ),
            "{quiet:?}"
        );
    }
}

#[test]
fn a_diagnose_summary_never_triggers_a_diagnosis() {
    let t = datetime!(2026-11-29 14:35:00 UTC);
    let report = fakes::report(t, "", vec![]);
    let n = render::notification(&report, "s3://b/r.json");
    assert_eq!(n.message.event, Event::DiagnoseReport);
    let back = Message::parse(&serde_json::to_string(&n.message).unwrap()).unwrap();
    assert_eq!(back, n.message);
    assert!(matches!(
        trigger::parse(&delivered(&n.subject, &n.document())).unwrap(),
        trigger::Invocation::Ignore(reason) if reason.contains("diagnose.report")
    ));
}
