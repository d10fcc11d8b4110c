//! The notifier's destinations (`NOTIFY_DESTINATIONS`): where each machine message of the
//! alert topic is delivered, in the payload each service expects. Only the names of the
//! secrets are configuration; their values are read from SSM Parameter Store or Secrets
//! Manager by the function and never appear here.

use super::{ConfigError, Source, invalid};
use crate::notify::Event;
use serde::Deserialize;

pub const NOTIFY_DESTINATIONS: &str = "NOTIFY_DESTINATIONS";

/// PagerDuty's Events API v2 enqueue endpoint ("Send an Alert Event", PagerDuty Events API
/// v2 reference).
pub const PAGERDUTY_ENQUEUE: &str = "https://events.pagerduty.com/v2/enqueue";

/// A destination's kind: the payload it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Pagerduty,
    Slack,
    Teams,
    Webhook,
}

/// Where a secret's value is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretRef {
    /// An SSM Parameter Store SecureString, by name (`/…`).
    Parameter(String),
    /// A Secrets Manager secret, by ARN.
    Secret(String),
}

impl SecretRef {
    fn parse(value: &str) -> Result<Self, String> {
        if value.starts_with('/') {
            // Parameter names: letters, digits and .-_/ , at most 1011 characters after the
            // first slash hierarchy ("Creating Parameter Store parameters", SSM user guide).
            let ok = value.len() <= 2048
                && value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"/._-".contains(&b))
                && !value.contains("//");
            return if ok {
                Ok(SecretRef::Parameter(value.to_string()))
            } else {
                Err(format!(
                    "{value:?} is not an SSM parameter name (letters, digits and /._-)"
                ))
            };
        }
        let parts: Vec<&str> = value.splitn(7, ':').collect();
        match parts[..] {
            ["arn", _, "secretsmanager", region, account, "secret", name]
                if !region.is_empty()
                    && account.len() == 12
                    && account.bytes().all(|b| b.is_ascii_digit())
                    && !name.is_empty() =>
            {
                Ok(SecretRef::Secret(value.to_string()))
            }
            _ => Err(
                "must name an SSM SecureString parameter (starting with /) or a Secrets Manager secret ARN (arn:aws:secretsmanager:region:account:secret:name)"
                    .into(),
            ),
        }
    }
}

/// One destination, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub name: String,
    pub kind: Kind,
    /// The PagerDuty routing key, or the webhook's URL (Slack, Teams, generic).
    pub secret: SecretRef,
    /// PagerDuty's enqueue URL.
    pub endpoint: Option<String>,
    /// A generic webhook's HMAC key.
    pub signing_secret: Option<SecretRef>,
    /// Only these statuses (`degraded`, `unhealthy`, `healthy`, …); none: all.
    pub statuses: Option<Vec<String>>,
    /// Only these events; none: all.
    pub events: Option<Vec<Event>>,
    /// Only messages about these services; none: all.
    pub services: Option<Vec<String>>,
}

impl Destination {
    /// PagerDuty's enqueue URL for this destination.
    pub fn pagerduty_endpoint(&self) -> &str {
        self.endpoint.as_deref().unwrap_or(PAGERDUTY_ENQUEUE)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    name: String,
    #[serde(rename = "type")]
    kind: Kind,
    secret: String,
    endpoint: Option<String>,
    signing_secret: Option<String>,
    statuses: Option<Vec<String>>,
    events: Option<Vec<String>>,
    services: Option<Vec<String>>,
}

/// The statuses a message may carry: a health alert's, a diagnosis's worst service's, a
/// deployment notice's.
const STATUSES: &[&str] = &[
    "healthy",
    "degraded",
    "unhealthy",
    "critical",
    "error",
    "no_logs",
    "failed",
    "rolling_back",
    "rolled_back",
    "in_progress",
    "completed",
];

/// An endpoint: https, or http to this machine only (a local stand-in).
fn valid_endpoint(url: &str) -> Result<(), String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("{url:?} is not a URL: {e}"))?;
    let local = matches!(parsed.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if local => Ok(()),
        _ => Err(format!(
            "{url:?} must be https (http only to 127.0.0.1 or localhost)"
        )),
    }
}

fn entry(i: usize, v: &serde_json::Value, seen: &[String]) -> Result<Destination, String> {
    let label = v.get("name").and_then(|n| n.as_str()).map_or_else(
        || format!("entry {}", i + 1),
        |n| format!("entry {} ({n:?})", i + 1),
    );
    let at = |field: &str, why: String| format!("{label}: {field}: {why}");
    let e: Entry = serde_json::from_value(v.clone()).map_err(|e| format!("{label}: {e}"))?;
    if e.name.is_empty()
        || e.name.len() > 64
        || !e
            .name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-".contains(&b))
    {
        return Err(at("name", "must be 1 to 64 letters, digits, - or _".into()));
    }
    if seen.contains(&e.name) {
        return Err(at("name", "is used by another destination".into()));
    }
    let secret = SecretRef::parse(&e.secret).map_err(|w| at("secret", w))?;
    if let Some(url) = &e.endpoint {
        if e.kind != Kind::Pagerduty {
            return Err(at(
                "endpoint",
                "only a pagerduty destination takes one (the others' URL is their secret)".into(),
            ));
        }
        valid_endpoint(url).map_err(|w| at("endpoint", w))?;
    }
    let signing_secret = match &e.signing_secret {
        Some(_) if e.kind != Kind::Webhook => {
            return Err(at(
                "signing_secret",
                "only a webhook destination is signed".into(),
            ));
        }
        Some(s) => Some(SecretRef::parse(s).map_err(|w| at("signing_secret", w))?),
        None => None,
    };
    if let Some(statuses) = &e.statuses
        && let Some(bad) = statuses.iter().find(|s| !STATUSES.contains(&s.as_str()))
    {
        return Err(at(
            "statuses",
            format!("{bad:?} is not one of {}", STATUSES.join(", ")),
        ));
    }
    let events = match &e.events {
        None => None,
        Some(names) => Some(
            names
                .iter()
                .map(
                    |n| match serde_json::from_value::<Event>(serde_json::json!(n)) {
                        Ok(Event::Unknown) | Err(_) => Err(at(
                            "events",
                            format!("{n:?} is not an event (health.unhealthy, diagnose.report, …)"),
                        )),
                        Ok(ev) => Ok(ev),
                    },
                )
                .collect::<Result<Vec<_>, _>>()?,
        ),
    };
    if let Some(services) = &e.services
        && services.iter().any(|s| s.trim().is_empty())
    {
        return Err(at("services", "names must not be empty".into()));
    }
    for (field, list) in [
        ("statuses", e.statuses.as_ref().map(Vec::len)),
        ("events", e.events.as_ref().map(Vec::len)),
        ("services", e.services.as_ref().map(Vec::len)),
    ] {
        if list == Some(0) {
            return Err(at(
                field,
                "an empty list would deliver nothing; leave it out for all".into(),
            ));
        }
    }
    Ok(Destination {
        name: e.name,
        kind: e.kind,
        secret,
        endpoint: e.endpoint,
        signing_secret,
        statuses: e.statuses,
        events,
        services: e.services,
    })
}

/// Parses `NOTIFY_DESTINATIONS`; the problem names the entry and the field.
pub fn parse_destinations(value: &str) -> Result<Vec<Destination>, String> {
    let list: Vec<serde_json::Value> = serde_json::from_str(value)
        .map_err(|e| format!("must be a JSON list of destinations: {e}"))?;
    let mut out: Vec<Destination> = Vec::new();
    for (i, v) in list.iter().enumerate() {
        let names: Vec<String> = out.iter().map(|d| d.name.clone()).collect();
        out.push(entry(i, v, &names)?);
    }
    Ok(out)
}

pub const NOTIFY_TIMEOUT_MS: &str = "NOTIFY_TIMEOUT_MS";
pub const NOTIFY_SECRET_PATH: &str = "NOTIFY_SECRET_PATH";

/// The notifier's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifierConfig {
    pub destinations: Vec<Destination>,
    /// Where the delivery claims are kept (`<StatePrefix>.notify/`): required.
    pub state_bucket: String,
    pub state_prefix: String,
    /// Each request's timeout.
    pub timeout: std::time::Duration,
    /// The function's region (`AWS_REGION`): SSM parameters and the claims' bucket.
    pub region: String,
}

impl SecretRef {
    /// The parameter's name or the secret's name (after `secret:` in its ARN).
    pub fn name(&self) -> &str {
        match self {
            SecretRef::Parameter(n) => n,
            SecretRef::Secret(arn) => arn.splitn(7, ':').nth(6).unwrap_or(arn),
        }
    }
}

impl NotifierConfig {
    pub fn from_env(source: &impl Source) -> Result<Self, ConfigError> {
        let destinations = destinations_from_env(source)?;
        if destinations.is_empty() {
            return Err(invalid(
                NOTIFY_DESTINATIONS,
                "",
                "is required: a JSON list of the destinations to deliver to",
            ));
        }
        // The template grants reads under one path: a secret elsewhere would be refused
        // at every delivery, so it is refused here, at the cold start.
        if let Some(path) = source.get(NOTIFY_SECRET_PATH)? {
            let bare = path.trim_matches('/');
            for d in &destinations {
                for (field, r) in std::iter::once(("secret", &d.secret))
                    .chain(d.signing_secret.iter().map(|s| ("signing_secret", s)))
                {
                    let name = r.name().trim_start_matches('/');
                    if !name.starts_with(&format!("{bare}/")) {
                        return Err(invalid(
                            NOTIFY_DESTINATIONS,
                            "(JSON)",
                            format!(
                                "destination {:?}: {field}: {:?} is outside {path}, the only secrets the function may read",
                                d.name,
                                r.name()
                            ),
                        ));
                    }
                }
            }
        }
        let state_bucket = source.get(super::STATE_BUCKET)?.ok_or_else(|| {
            invalid(
                super::STATE_BUCKET,
                "",
                "is required: the bucket that keeps which messages each destination has",
            )
        })?;
        Ok(Self {
            destinations,
            state_bucket,
            state_prefix: super::common::key_prefix(source, super::STATE_PREFIX, "ecs-health/")?,
            timeout: std::time::Duration::from_millis(super::int_var(
                source,
                NOTIFY_TIMEOUT_MS,
                10_000,
                100..=60_000,
            )?),
            region: source
                .get("AWS_REGION")?
                .unwrap_or_else(|| "us-east-1".into()),
        })
    }
}

/// The destinations in `NOTIFY_DESTINATIONS` (none when unset or blank).
pub fn destinations_from_env(source: &impl Source) -> Result<Vec<Destination>, ConfigError> {
    match source.get(NOTIFY_DESTINATIONS)? {
        None => Ok(Vec::new()),
        Some(v) => {
            parse_destinations(&v).map_err(|why| invalid(NOTIFY_DESTINATIONS, "(JSON)", why))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PD: &str = r#"{"name": "pager", "type": "pagerduty", "secret": "/ecs-monitor/pagerduty-key", "statuses": ["unhealthy"]}"#;

    #[test]
    fn destinations_parse_with_their_filters() {
        let list = format!(
            r#"[{PD},
              {{"name": "chat", "type": "slack", "secret": "arn:aws:secretsmanager:us-east-1:123456789012:secret:slack-AbCdEf", "services": ["api"]}},
              {{"name": "ops", "type": "teams", "secret": "/teams/url", "events": ["health.unhealthy", "diagnose.report"]}},
              {{"name": "hook", "type": "webhook", "secret": "/hook/url", "signing_secret": "/hook/key"}},
              {{"name": "pd-local", "type": "pagerduty", "secret": "/pd", "endpoint": "http://127.0.0.1:8080/v2/enqueue"}}]"#
        );
        let d = parse_destinations(&list).unwrap();
        assert_eq!(d.len(), 5);
        assert_eq!(d[0].kind, Kind::Pagerduty);
        assert_eq!(d[0].pagerduty_endpoint(), PAGERDUTY_ENQUEUE);
        assert_eq!(
            d[0].statuses.as_deref(),
            Some(&["unhealthy".to_string()][..])
        );
        assert!(matches!(d[1].secret, SecretRef::Secret(_)));
        assert_eq!(
            d[2].events.as_deref(),
            Some(&[Event::HealthUnhealthy, Event::DiagnoseReport][..])
        );
        assert_eq!(
            d[3].signing_secret,
            Some(SecretRef::Parameter("/hook/key".into()))
        );
        assert_eq!(
            d[4].pagerduty_endpoint(),
            "http://127.0.0.1:8080/v2/enqueue"
        );
        assert_eq!(parse_destinations("[]").unwrap(), Vec::new());
    }

    #[test]
    fn a_bad_entry_names_the_entry_and_the_field() {
        let cases = [
            ("{}", "must be a JSON list"),
            ("[1]", "entry 1: invalid type"),
            (
                r#"[{"name": "x", "type": "sms", "secret": "/a"}]"#,
                "unknown variant `sms`",
            ),
            (
                r#"[{"name": "x", "type": "slack", "secret": "/a", "channel": "ops"}]"#,
                "entry 1 (\"x\"): unknown field `channel`",
            ),
            (
                r#"[{"name": "x", "type": "slack"}]"#,
                "missing field `secret`",
            ),
            (
                r#"[{"name": "x y", "type": "slack", "secret": "/a"}]"#,
                "name: must be 1 to 64",
            ),
            (
                &format!("[{PD}, {PD}]"),
                "entry 2 (\"pager\"): name: is used by another",
            ),
            (
                r#"[{"name": "x", "type": "slack", "secret": "https://hooks.slack.com/services/T/B/X"}]"#,
                "secret: must name an SSM",
            ),
            (
                r#"[{"name": "x", "type": "slack", "secret": "/a b"}]"#,
                "secret: \"/a b\" is not an SSM parameter name",
            ),
            (
                r#"[{"name": "x", "type": "slack", "secret": "arn:aws:secretsmanager:us-east-1:123:secret:s"}]"#,
                "secret: must name",
            ),
            (
                r#"[{"name": "x", "type": "slack", "secret": "/a", "endpoint": "https://x"}]"#,
                "endpoint: only a pagerduty",
            ),
            (
                r#"[{"name": "x", "type": "pagerduty", "secret": "/a", "endpoint": "http://events.example.com"}]"#,
                "endpoint: \"http://events.example.com\" must be https",
            ),
            (
                r#"[{"name": "x", "type": "slack", "secret": "/a", "signing_secret": "/k"}]"#,
                "signing_secret: only a webhook",
            ),
            (
                r#"[{"name": "x", "type": "webhook", "secret": "/a", "signing_secret": "key"}]"#,
                "signing_secret: must name",
            ),
            (
                r#"[{"name": "x", "type": "slack", "secret": "/a", "statuses": ["down"]}]"#,
                "statuses: \"down\" is not one of",
            ),
            (
                r#"[{"name": "x", "type": "slack", "secret": "/a", "events": ["health.down"]}]"#,
                "events: \"health.down\" is not an event",
            ),
            (
                r#"[{"name": "x", "type": "slack", "secret": "/a", "services": [" "]}]"#,
                "services: names must not be empty",
            ),
            (
                r#"[{"name": "x", "type": "slack", "secret": "/a", "events": []}]"#,
                "events: an empty list",
            ),
        ];
        for (value, want) in cases {
            let err = parse_destinations(value).unwrap_err();
            assert!(err.contains(want), "{value}: {err}");
        }
    }

    #[test]
    fn the_notifier_config_needs_destinations_a_bucket_and_secrets_on_its_path() {
        use std::collections::HashMap;
        let list = r#"[{"name": "p", "type": "pagerduty", "secret": "/ecs-monitor/pd"},
            {"name": "w", "type": "webhook", "secret": "arn:aws:secretsmanager:us-east-1:123456789012:secret:ecs-monitor/hook-Ab12", "signing_secret": "/ecs-monitor/hook-key"}]"#;
        let ok = HashMap::from([
            (NOTIFY_DESTINATIONS, list),
            ("STATE_BUCKET", "state"),
            (NOTIFY_SECRET_PATH, "/ecs-monitor/"),
            (NOTIFY_TIMEOUT_MS, "2500"),
        ]);
        let c = NotifierConfig::from_env(&ok).unwrap();
        assert_eq!(c.destinations.len(), 2);
        assert_eq!(
            (c.state_bucket.as_str(), c.state_prefix.as_str()),
            ("state", "ecs-health/")
        );
        assert_eq!(c.timeout, std::time::Duration::from_millis(2500));
        assert_eq!(c.destinations[1].secret.name(), "ecs-monitor/hook-Ab12");
        let err = |pairs: &[(&'static str, &'static str)]| {
            let mut env = ok.clone();
            for (k, v) in pairs {
                env.insert(k, v);
            }
            env.retain(|_, v| !v.is_empty());
            NotifierConfig::from_env(&env).unwrap_err().to_string()
        };
        assert!(err(&[(NOTIFY_DESTINATIONS, "")]).contains("is required"));
        assert!(err(&[("STATE_BUCKET", "")]).contains("STATE_BUCKET"));
        assert!(err(&[(NOTIFY_TIMEOUT_MS, "5")]).contains(NOTIFY_TIMEOUT_MS));
        let outside = err(&[(NOTIFY_SECRET_PATH, "/other")]);
        assert!(
            outside.contains("destination \"p\": secret: \"/ecs-monitor/pd\" is outside /other"),
            "{outside}"
        );
    }

    #[test]
    fn the_variable_is_optional_and_its_error_hides_the_value() {
        use std::collections::HashMap;
        let none: HashMap<&str, &str> = HashMap::new();
        assert_eq!(destinations_from_env(&none).unwrap(), Vec::new());
        let bad = HashMap::from([(
            NOTIFY_DESTINATIONS,
            r#"[{"name": "x", "type": "slack", "secret": "nope"}]"#,
        )]);
        let e = destinations_from_env(&bad).unwrap_err().to_string();
        assert!(
            e.contains(NOTIFY_DESTINATIONS) && e.contains("secret: must name"),
            "{e}"
        );
    }
}
