//! The notifier: each machine message of the alert topic delivered to the destinations of
//! `NOTIFY_DESTINATIONS` (PagerDuty, Slack, Microsoft Teams, generic webhooks) in the payload
//! each expects.

pub mod deliver;
pub mod payload;

use crate::diagnose::trigger::TriggerError;
use crate::notify::Message;
use aws_lambda_events::sns::SnsEvent;
use serde_json::Value;

/// A message to deliver: its id (the machine message's own, else SNS's MessageId, which SNS
/// keeps across its redeliveries) and the message.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub id: String,
    pub message: Message,
}

/// The machine messages of an SNS event (the `lambda` part of each publish: SNS delivers it
/// alone to a Lambda subscriber of a MessageStructure=json publish), and why the other
/// records were left (a CloudWatch alarm's notification, someone else's text).
pub fn incoming(v: &Value) -> Result<(Vec<Incoming>, Vec<String>), TriggerError> {
    let event: SnsEvent = serde_json::from_value(v.clone())
        .map_err(|e| TriggerError(format!("not a valid SNS event: {e}")))?;
    if event.records.is_empty() {
        return Err(TriggerError("SNS event without records".into()));
    }
    let (mut messages, mut ignored) = (Vec::new(), Vec::new());
    for r in event.records {
        match Message::parse(&r.sns.message) {
            Some(m) => messages.push(Incoming {
                id: m.id.clone().unwrap_or(r.sns.message_id),
                message: m,
            }),
            None => ignored.push(format!(
                "message {} is not an ecs-monitor message ({})",
                r.sns.message_id,
                r.sns.subject.as_deref().unwrap_or("no subject")
            )),
        }
    }
    Ok((messages, ignored))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::Event;
    use serde_json::json;

    fn sns(id: &str, message: &str) -> Value {
        json!({"EventSource": "aws:sns", "EventVersion": "1.0", "EventSubscriptionArn": "arn:aws:sns:us-east-1:1:t:s",
            "Sns": {"Type": "Notification", "MessageId": id, "TopicArn": "arn:aws:sns:us-east-1:1:t", "Subject": "s",
            "Message": message, "Timestamp": "2026-12-06T15:00:00.000Z", "SignatureVersion": "1",
            "Signature": "x", "SigningCertUrl": "https://x", "UnsubscribeUrl": "https://x", "MessageAttributes": {}}})
    }

    #[test]
    fn sns_records_become_messages_with_ids() {
        let mut alert = Message::new(Event::HealthUnhealthy, "prod", "unhealthy");
        alert.id = Some("prod-1/health.unhealthy/1".into());
        let report = Message::new(Event::DiagnoseReport, "prod", "critical");
        let event = json!({"Records": [
            sns("m-1", &serde_json::to_string(&alert).unwrap()),
            sns("m-2", &serde_json::to_string(&report).unwrap()),
            sns("m-3", r#"{"AlarmName": "x", "NewStateValue": "ALARM"}"#),
            sns("m-4", "plain text"),
        ]});
        let (messages, ignored) = incoming(&event).unwrap();
        let ids: Vec<&str> = messages.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(
            ids,
            ["prod-1/health.unhealthy/1", "m-2"],
            "its own id, else SNS's"
        );
        assert_eq!(ignored.len(), 2);
        assert!(ignored[0].contains("m-3"));
        assert!(incoming(&json!({"Records": []})).is_err());
        assert!(
            incoming(&json!({"services": []}))
                .unwrap_err()
                .0
                .contains("not a valid SNS event")
        );
    }
}
