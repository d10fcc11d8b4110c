//! The one notification contract. Both producers (the health check's alerts, diagnose's
//! summaries) build a [`Notification`]; one SNS publish (`MessageStructure=json`) carries
//! it to every kind of subscriber: plain text for email (`default`, `email`), the Amazon Q
//! Developer custom notification for Slack (`https`), and the machine [`Message`] for programs
//! (`lambda`, `sqs`). The diagnose trigger reads the same [`Message`] back.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The `source` of every machine message.
pub const SOURCE: &str = "ecs-monitor";
pub const SCHEMA_VERSION: u32 = 1;

/// What a message tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Event {
    /// An incident opened, or changed to, degraded.
    #[serde(rename = "health.degraded")]
    HealthDegraded,
    /// An incident opened, or changed to, unhealthy.
    #[serde(rename = "health.unhealthy")]
    HealthUnhealthy,
    #[serde(rename = "health.recovered")]
    HealthRecovered,
    /// Still failing (every `REMINDER_MINUTES`).
    #[serde(rename = "health.reminder")]
    HealthReminder,
    /// What silences held, told when they are over (or something they do not cover fails),
    /// with the status now.
    #[serde(rename = "health.silence_summary")]
    HealthSilenceSummary,
    /// A diagnosis found problems.
    #[serde(rename = "diagnose.report")]
    DiagnoseReport,
    /// A deployment started (ECS SERVICE_DEPLOYMENT_IN_PROGRESS).
    #[serde(rename = "deployment.started")]
    DeploymentStarted,
    /// A deployment failed (ECS SERVICE_DEPLOYMENT_FAILED: its circuit breaker gave up).
    #[serde(rename = "deployment.failed")]
    DeploymentFailed,
    /// A circuit breaker rolls a failed deployment back.
    #[serde(rename = "deployment.rolling_back")]
    DeploymentRollingBack,
    #[serde(rename = "deployment.completed")]
    DeploymentCompleted,
    /// A rollback completed: the failed deployment did not land.
    #[serde(rename = "deployment.rolled_back")]
    DeploymentRolledBack,
    /// Several clusters of one region changed at once (fleet mode): one alert lists them.
    #[serde(rename = "fleet.regional")]
    FleetRegional,
    /// An event of a later version: read, never acted on.
    #[serde(other)]
    Unknown,
}

impl Event {
    pub fn as_str(self) -> &'static str {
        match self {
            Event::HealthDegraded => "health.degraded",
            Event::HealthUnhealthy => "health.unhealthy",
            Event::HealthRecovered => "health.recovered",
            Event::HealthReminder => "health.reminder",
            Event::HealthSilenceSummary => "health.silence_summary",
            Event::DiagnoseReport => "diagnose.report",
            Event::DeploymentStarted => "deployment.started",
            Event::DeploymentFailed => "deployment.failed",
            Event::DeploymentRollingBack => "deployment.rolling_back",
            Event::DeploymentCompleted => "deployment.completed",
            Event::DeploymentRolledBack => "deployment.rolled_back",
            Event::FleetRegional => "fleet.regional",
            Event::Unknown => "unknown",
        }
    }

    /// A new incident or a change of its status: what diagnose explains. Recoveries,
    /// reminders and diagnose's own summaries never start a diagnosis, so a diagnosis cannot
    /// trigger another whatever the topic's subscriptions.
    pub fn starts_diagnosis(self) -> bool {
        matches!(self, Event::HealthDegraded | Event::HealthUnhealthy)
    }
}

/// The Amazon Q Developer in chat applications custom notification: the only schema it
/// renders from SNS; anything else is dropped silently.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Card {
    pub version: String,
    pub source: String,
    pub content: CardContent,
    pub metadata: CardMetadata,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CardContent {
    pub text_type: String,
    pub title: String,
    pub description: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub next_steps: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CardMetadata {
    /// Messages with the same thread id are one Slack thread.
    pub thread_id: String,
    pub summary: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub additional_context: BTreeMap<String, String>,
}

impl Card {
    pub fn new(
        title: String,
        description: String,
        next_steps: Vec<String>,
        thread_id: String,
        summary: String,
        additional_context: BTreeMap<String, String>,
    ) -> Self {
        Self {
            version: "1.0".into(),
            source: "custom".into(),
            content: CardContent {
                text_type: "client-markdown".into(),
                title,
                description,
                next_steps,
            },
            metadata: CardMetadata {
                thread_id,
                summary,
                additional_context,
            },
        }
    }
}

/// A service in a machine message: its name (health alerts), or its findings (diagnose).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ServiceRef {
    Name(String),
    Findings {
        service: String,
        status: String,
        errors_total: u64,
        restarts: usize,
    },
}

impl ServiceRef {
    pub fn name(&self) -> &str {
        match self {
            ServiceRef::Name(n) => n,
            ServiceRef::Findings { service, .. } => service,
        }
    }
}

/// The machine message: what programs subscribed to the topic receive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub source: String,
    #[serde(default)]
    pub schema_version: u32,
    /// Unique per health alert (`<incident>/<event>/<unix time>`): a duplicate has the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub event: Event,
    #[serde(default)]
    pub cluster: String,
    /// The cluster's region, and its account in a fleet: diagnose finds the cluster by them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(default)]
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident_id: Option<String>,
    /// The failing services (a health alert), or each service's findings (diagnose).
    #[serde(default)]
    pub services: Vec<ServiceRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issues: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The alert's card; a card this version cannot read is left out, not fatal.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_card"
    )]
    pub chat: Option<Card>,
    /// The diagnose report's URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<String>,
    /// Failing services in all, when `services` is cut.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub services_total: Option<usize>,
}

fn lenient_card<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Card>, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    Ok(serde_json::from_value(v).ok())
}

impl Message {
    /// A message of `event` about `cluster`; the optional parts are filled by the producer.
    pub fn new(event: Event, cluster: &str, status: &str) -> Self {
        Self {
            source: SOURCE.into(),
            schema_version: SCHEMA_VERSION,
            id: None,
            event,
            cluster: cluster.into(),
            region: None,
            account: None,
            status: status.into(),
            incident_id: None,
            services: Vec::new(),
            issues: None,
            subject: None,
            text: None,
            chat: None,
            report: None,
            services_total: None,
        }
    }

    /// Our machine message in `text` (an SNS `Message`), or `None` when it is not one (some
    /// other publisher's text on the topic).
    pub fn parse(text: &str) -> Option<Self> {
        serde_json::from_str::<Self>(text)
            .ok()
            .filter(|m| m.source == SOURCE)
    }

    pub fn service_names(&self) -> Vec<String> {
        self.services.iter().map(|s| s.name().to_string()).collect()
    }
}

/// One publish: its subject (ASCII, under 100 characters), the email text, the Slack card
/// and the machine message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub subject: String,
    pub text: String,
    pub card: Card,
    pub message: Message,
}

impl Notification {
    /// The `MessageStructure=json` document: a string per protocol, `default` required.
    pub fn document(&self) -> String {
        let machine = serde_json::to_string(&self.message).unwrap_or_default();
        serde_json::json!({
            "default": self.text,
            "email": self.text,
            "https": serde_json::to_string(&self.card).unwrap_or_default(),
            "lambda": machine,
            "sqs": machine,
        })
        .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_by_name_and_unknown_ones() {
        for e in [
            Event::HealthDegraded,
            Event::HealthUnhealthy,
            Event::HealthRecovered,
            Event::HealthReminder,
            Event::DiagnoseReport,
            Event::DeploymentStarted,
            Event::DeploymentFailed,
            Event::DeploymentRollingBack,
            Event::DeploymentCompleted,
            Event::DeploymentRolledBack,
        ] {
            let json = serde_json::to_string(&e).unwrap();
            assert_eq!(json, format!("\"{}\"", e.as_str()));
            assert_eq!(serde_json::from_str::<Event>(&json).unwrap(), e);
        }
        assert_eq!(
            serde_json::from_str::<Event>("\"health.flapping\"").unwrap(),
            Event::Unknown
        );
        let starts: Vec<&str> = [
            Event::HealthDegraded,
            Event::HealthUnhealthy,
            Event::HealthRecovered,
            Event::HealthReminder,
            Event::DiagnoseReport,
            Event::DeploymentStarted,
            Event::DeploymentFailed,
            Event::DeploymentRollingBack,
            Event::DeploymentCompleted,
            Event::DeploymentRolledBack,
            Event::Unknown,
        ]
        .into_iter()
        .filter(|e| e.starts_diagnosis())
        .map(Event::as_str)
        .collect();
        assert_eq!(starts, ["health.degraded", "health.unhealthy"]);
    }

    #[test]
    fn the_card_is_amazon_qs_custom_notification() {
        let card = Card::new(
            "t".into(),
            "d".into(),
            vec!["n".into()],
            "prod-1".into(),
            "s".into(),
            BTreeMap::from([("cluster".into(), "prod".into())]),
        );
        let v = serde_json::to_value(&card).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"version": "1.0", "source": "custom",
                "content": {"textType": "client-markdown", "title": "t", "description": "d", "nextSteps": ["n"]},
                "metadata": {"threadId": "prod-1", "summary": "s", "additionalContext": {"cluster": "prod"}}})
        );
    }

    #[test]
    fn other_publishers_text_is_not_a_message() {
        assert_eq!(Message::parse("Cluster prod is DEGRADED"), None);
        assert_eq!(
            Message::parse(r#"{"source": "someone-else", "event": "health.degraded"}"#),
            None
        );
        let m = Message::parse(r#"{"source": "ecs-monitor", "schema_version": 1, "event": "health.degraded", "cluster": "prod", "status": "degraded", "services": ["api", {"service": "web", "status": "critical", "errors_total": 3, "restarts": 1}]}"#).unwrap();
        assert_eq!(m.service_names(), ["api", "web"]);
        let odd = Message::parse(r#"{"source": "ecs-monitor", "event": "health.unhealthy", "services": ["api"], "chat": {}}"#).unwrap();
        assert_eq!(
            (odd.event, odd.chat),
            (Event::HealthUnhealthy, None),
            "an odd card is no reason to misread the rest"
        );
    }
}
