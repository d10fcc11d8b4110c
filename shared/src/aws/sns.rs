//! Alerts through SNS: one publish serves email (`email`, `default`: plain text) and Slack
//! through Amazon Q Developer in chat applications (`https`: its custom-notification JSON),
//! with message attributes `cluster`, `status` and `event` for subscription filter policies.

use super::{AwsError, Notifier};
use crate::health::model::Alert;
use aws_sdk_sns::types::MessageAttributeValue;

pub struct Sns {
    client: aws_sdk_sns::Client,
    topic_arn: String,
}

impl Sns {
    pub fn new(sdk: &aws_config::SdkConfig, topic_arn: &str) -> Self {
        Self {
            client: aws_sdk_sns::Client::new(sdk),
            topic_arn: topic_arn.to_string(),
        }
    }
}

/// What programs subscribed to the topic receive (the `lambda` and `sqs` protocols): the
/// alert with the failing services, its text and its chat notification.
pub fn machine_message(alert: &Alert, cluster: &str) -> serde_json::Value {
    serde_json::json!({
        "source": "ecs-monitor",
        "schema_version": 1,
        "id": alert.id,
        "event": alert.event,
        "cluster": cluster,
        "status": alert.status.as_str(),
        "incident_id": alert.incident_id,
        "services": alert.services,
        "issues": alert.issues,
        "subject": alert.subject,
        "text": alert.text,
        "chat": alert.chat,
    })
}

/// The `MessageStructure=json` body of an alert: plain text for email (and the default),
/// the Amazon Q Developer custom notification for `https` (Slack), the machine message for
/// `lambda` and `sqs`.
pub fn message_json(alert: &Alert, cluster: &str) -> String {
    let machine = machine_message(alert, cluster).to_string();
    serde_json::json!({
        "default": alert.text,
        "email": alert.text,
        "https": alert.chat.to_string(),
        "lambda": machine,
        "sqs": machine,
    })
    .to_string()
}

fn attr(value: &str) -> MessageAttributeValue {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .expect("data type is set")
}

impl Sns {
    /// Publishes a `MessageStructure=json` message with the `cluster`, `status` and `event`
    /// attributes.
    pub async fn publish_json(
        &self,
        subject: &str,
        message: String,
        cluster: &str,
        status: &str,
        event: &str,
    ) -> Result<(), AwsError> {
        self.client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(subject)
            .message_structure("json")
            .message(message)
            .message_attributes("cluster", attr(cluster))
            .message_attributes("status", attr(status))
            .message_attributes("event", attr(event))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("sns:Publish", &e))?;
        Ok(())
    }
}

impl Notifier for Sns {
    async fn publish(&self, alert: &Alert, cluster: &str) -> Result<(), AwsError> {
        self.publish_json(
            &alert.subject,
            message_json(alert, cluster),
            cluster,
            alert.status.as_str(),
            &alert.event,
        )
        .await
    }
}
