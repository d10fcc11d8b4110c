//! Alerts through SNS: one `MessageStructure=json` publish serves email (`email`, `default`:
//! plain text), Slack through Amazon Q Developer in chat applications (`https`: its
//! custom-notification JSON) and programs (`lambda`, `sqs`: the machine message).
//!
//! No message attributes: "Message attributes are sent only when the message structure is
//! String, not JSON" (SNS developer guide, Amazon SNS message attributes), so subscribers
//! decide from the machine message, and no subscription filter policy can rely on them.

use crate::health::model::Alert;
use crate::ports::{AwsError, Notifier, Publisher};

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

/// The `MessageStructure=json` document of an alert (`notify::Notification::document`).
pub fn message_json(alert: &Alert, cluster: &str) -> String {
    alert.notification(cluster).document()
}

impl Publisher for Sns {
    async fn publish_json(&self, subject: &str, message: String) -> Result<(), AwsError> {
        self.client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(subject)
            .message_structure("json")
            .message(message)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("sns:Publish", &e))?;
        Ok(())
    }
}

impl Notifier for Sns {
    async fn publish(&self, alert: &Alert, cluster: &str) -> Result<(), AwsError> {
        self.publish_json(&alert.subject, message_json(alert, cluster))
            .await
    }
}
