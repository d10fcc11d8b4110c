//! SNS event → machine messages → `Delivery::run` → answer; a failure is a `Diagnostic`
//! whose `errorType` says which kind (`TriggerError`, `DeliveryError`).

use ecs_monitor::app::{AppError, Context, Delivery};
use ecs_monitor::notifier::incoming;
use ecs_monitor::ports::{Records, SecretSource};
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::{Value, json};
use time::OffsetDateTime;

fn diagnostic(e: AppError) -> Diagnostic {
    Diagnostic {
        error_type: e.error_type().into(),
        error_message: e.to_string(),
    }
}

pub async fn handle<S: SecretSource, R: Records>(
    app: &Delivery<S, R>,
    event: LambdaEvent<Value>,
) -> Result<Value, Diagnostic> {
    let (messages, ignored) = incoming(&event.payload).map_err(|e| diagnostic(e.into()))?;
    let now = OffsetDateTime::now_utc();
    // Claims held past the runtime's deadline lapse.
    let ctx = Context::lambda(&event.context.request_id, event.context.deadline, now);
    let mut answer = app.run(&messages, &ctx, now).await.map_err(diagnostic)?;
    if !ignored.is_empty() {
        answer["ignored"] = json!(ignored);
    }
    Ok(answer)
}

#[cfg(test)]
mod tests {
    //! The handler with the ports' fakes; delivery over HTTP is tested end to end
    //! (tests/tests/notifier_lambda.rs).
    use super::*;
    use ecs_monitor::config::{NotifierConfig, SecretRef};
    use ecs_monitor::ports::AwsError;
    use ecs_monitor::ports::fakes::MemRecords;
    use lambda_runtime::Context as LambdaContext;
    use std::collections::HashMap;

    struct NoSecrets;
    impl SecretSource for NoSecrets {
        async fn secret(&self, r: &SecretRef) -> Result<String, AwsError> {
            Err(AwsError {
                operation: "ssm:GetParameter",
                message: format!("{} not found", r.name()),
            })
        }
    }

    fn app() -> Delivery<NoSecrets, MemRecords> {
        let env = HashMap::from([
            (
                "NOTIFY_DESTINATIONS",
                r#"[{"name": "pager", "type": "pagerduty", "secret": "/ecs-monitor/pd"}]"#,
            ),
            ("STATE_BUCKET", "state"),
        ]);
        Delivery::with(
            NotifierConfig::from_env(&env).unwrap(),
            NoSecrets,
            MemRecords::default(),
        )
        .unwrap()
    }

    fn sns(message: &str) -> Value {
        json!({"Records": [{"EventSource": "aws:sns", "EventVersion": "1.0", "EventSubscriptionArn": "arn:aws:sns:us-east-1:1:t:s",
            "Sns": {"Type": "Notification", "MessageId": "m-1", "TopicArn": "arn:aws:sns:us-east-1:1:t", "Subject": "s",
            "Message": message, "Timestamp": "2026-12-06T15:00:00.000Z", "SignatureVersion": "1",
            "Signature": "x", "SigningCertUrl": "https://x", "UnsubscribeUrl": "https://x", "MessageAttributes": {}}}]})
    }

    async fn invoke(payload: Value) -> Result<Value, Diagnostic> {
        handle(&app(), LambdaEvent::new(payload, LambdaContext::default())).await
    }

    #[tokio::test]
    async fn what_is_not_an_sns_event_is_refused() {
        let e = invoke(json!({"services": ["api"]})).await.unwrap_err();
        assert_eq!(e.error_type, "TriggerError");
    }

    #[tokio::test]
    async fn someone_elses_message_is_left_and_good_news_pages_no_one() {
        let a = invoke(sns("plain text")).await.unwrap();
        assert_eq!(a["delivered"], json!([]));
        assert!(
            a["ignored"][0]
                .as_str()
                .unwrap()
                .contains("not an ecs-monitor message")
        );
        let done = r#"{"source": "ecs-monitor", "schema_version": 1, "event": "deployment.completed", "cluster": "prod", "status": "completed"}"#;
        let a = invoke(sns(done)).await.unwrap();
        assert_eq!(
            a["delivered"][0]["destinations"]["pager"],
            "nothing to send"
        );
    }

    #[tokio::test]
    async fn a_secret_that_cannot_be_read_fails_the_invocation_by_name() {
        let alert = r#"{"source": "ecs-monitor", "schema_version": 1, "id": "prod-1/health.unhealthy/1", "event": "health.unhealthy", "cluster": "prod", "status": "unhealthy", "incident_id": "prod-1"}"#;
        let e = invoke(sns(alert)).await.unwrap_err();
        assert_eq!(e.error_type, "DeliveryError");
        assert!(
            e.error_message
                .contains("pager: ssm:GetParameter failed: /ecs-monitor/pd not found"),
            "{}",
            e.error_message
        );
    }
}
