//! What started a health-check run.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use serde_json::Value;

/// What started the run: the EventBridge schedule, or a direct invoke with `{}`.
pub fn trigger(payload: &Value) -> Result<&'static str, String> {
    match payload {
        Value::Object(m) if m.is_empty() => Ok("manual"),
        Value::Object(m) if m.contains_key("detail-type") => {
            let event: EventBridgeEvent<Value> = serde_json::from_value(payload.clone())
                .map_err(|e| format!("not a valid EventBridge event: {e}"))?;
            match event.detail_type.as_str() {
                "Scheduled Event" => Ok("schedule"),
                other => Err(format!(
                    "unsupported EventBridge event {other:?}: health-check runs on a schedule"
                )),
            }
        }
        _ => Err("unsupported event: send the EventBridge schedule event or {}".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn triggers() {
        let schedule = json!({
            "version": "0", "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa", "detail-type": "Scheduled Event",
            "source": "aws.events", "account": "123456789012", "time": "2026-11-29T14:35:00Z",
            "region": "us-east-1", "resources": ["arn:aws:events:us-east-1:123456789012:rule/health"], "detail": {}
        });
        assert_eq!(trigger(&schedule), Ok("schedule"));
        assert_eq!(trigger(&json!({})), Ok("manual"));
        let other = json!({
            "version": "0", "id": "x", "detail-type": "ECS Task State Change", "source": "aws.ecs",
            "account": "1", "time": "2026-11-29T14:35:00Z", "region": "us-east-1", "resources": [], "detail": {}
        });
        assert!(
            trigger(&other)
                .unwrap_err()
                .contains("unsupported EventBridge event")
        );
        assert!(
            trigger(&json!([1, 2]))
                .unwrap_err()
                .contains("unsupported event")
        );
        assert!(
            trigger(&json!({"detail-type": 5}))
                .unwrap_err()
                .contains("not a valid EventBridge event")
        );
    }
}
