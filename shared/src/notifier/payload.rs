//! What each destination receives for a machine message (pure): PagerDuty Events API v2
//! events, Slack Block Kit messages, Microsoft Teams Adaptive Cards, and the generic webhook's
//! signature. Which messages a destination takes is `accepts`.

use crate::config::{Destination, Kind};
use crate::notify::{Event, Message};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use std::sync::LazyLock;

/// Whether `d` takes `m`: its events, statuses and services filters. The status filter
/// chooses what opens an alert: what follows an incident (its recovery, its diagnosis)
/// passes it, so that a destination paged only on `unhealthy` gets the probable cause and
/// is told (PagerDuty: resolved) when it is over. A message that names no service (a
/// recovery, a regional alert) passes the service filter.
pub fn accepts(d: &Destination, m: &Message) -> bool {
    if let Some(events) = &d.events
        && !events.contains(&m.event)
    {
        return false;
    }
    let follows_incident = m.event == Event::HealthRecovered
        || (m.event == Event::DiagnoseReport && m.incident_id.is_some());
    if let Some(statuses) = &d.statuses
        && !follows_incident
        && !statuses.contains(&m.status)
    {
        return false;
    }
    if let Some(services) = &d.services {
        let named = m.service_names();
        if !named.is_empty() && !named.iter().any(|n| services.contains(n)) {
            return false;
        }
    }
    true
}

/// What a PagerDuty destination does with a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PagerAction {
    Trigger,
    Resolve,
}

/// The action a message calls for, if any: a failing or still-failing cluster triggers (or
/// updates) the incident's alert, a recovery resolves it, a diagnosis updates it with the
/// probable cause, a failed deployment triggers; notices of deployments going well page no
/// one.
pub fn pager_action(m: &Message) -> Option<PagerAction> {
    let problem = !matches!(m.status.as_str(), "healthy" | "no_logs" | "");
    match m.event {
        Event::HealthDegraded | Event::HealthUnhealthy | Event::HealthReminder => {
            Some(PagerAction::Trigger)
        }
        Event::HealthRecovered => Some(PagerAction::Resolve),
        Event::HealthSilenceSummary | Event::FleetRegional => Some(if problem {
            PagerAction::Trigger
        } else {
            PagerAction::Resolve
        }),
        Event::DiagnoseReport => problem.then_some(PagerAction::Trigger),
        Event::DeploymentFailed | Event::DeploymentRollingBack => Some(PagerAction::Trigger),
        Event::DeploymentStarted
        | Event::DeploymentCompleted
        | Event::DeploymentRolledBack
        | Event::Unknown => None,
    }
}

/// PagerDuty's severity for a status (critical, error, warning or info: "Send an Alert
/// Event", Events API v2 reference).
fn severity(status: &str) -> &'static str {
    match status {
        "unhealthy" | "critical" => "critical",
        "error" | "failed" | "rolling_back" => "error",
        "degraded" => "warning",
        _ => "info",
    }
}

/// The key that makes one incident one PagerDuty incident: the incident id, else the
/// message's thread (a diagnosis or deployment outside an incident), else its id.
pub fn dedup_key(m: &Message) -> Option<String> {
    m.incident_id
        .clone()
        .or_else(|| m.chat.as_ref().map(|c| c.metadata.thread_id.clone()))
        .or_else(|| m.id.clone())
        .filter(|k| !k.is_empty())
        // At most 255 characters (Events API v2 reference).
        .map(|k| k.chars().take(255).collect())
}

/// Who the message is about: `account/region/cluster` as far as it says.
fn source(m: &Message) -> String {
    match (&m.account, &m.region) {
        (Some(a), Some(r)) => format!("{a}/{r}/{}", m.cluster),
        (None, Some(r)) => format!("{r}/{}", m.cluster),
        _ => m.cluster.clone(),
    }
}

fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// The Events API v2 event for `m`, or `None` when the message pages no one.
pub fn pagerduty(m: &Message, routing_key: &str) -> Option<Value> {
    let action = pager_action(m)?;
    let dedup = dedup_key(m);
    let mut event = json!({
        "routing_key": routing_key,
        "event_action": match action {
            PagerAction::Trigger => "trigger",
            PagerAction::Resolve => "resolve",
        },
        "client": "ecs-monitor",
    });
    if let Some(k) = &dedup {
        event["dedup_key"] = json!(k);
    }
    if action == PagerAction::Resolve {
        // A resolve needs only its key; without one there is nothing to resolve.
        return dedup.map(|_| event);
    }
    let summary = m
        .subject
        .clone()
        .unwrap_or_else(|| format!("{} {} {}", source(m), m.event.as_str(), m.status));
    let mut details = json!({
        "event": m.event.as_str(),
        "status": m.status,
        "cluster": m.cluster,
    });
    if let Some(i) = &m.incident_id {
        details["incident"] = json!(i);
    }
    let services = m.service_names();
    if !services.is_empty() {
        details["services"] = json!(services);
    }
    if let Some(issues) = m.issues.as_ref().filter(|i| !i.is_empty()) {
        let key = if m.event == Event::DiagnoseReport {
            "probable_cause"
        } else {
            "issues"
        };
        details[key] = json!(issues);
    }
    if let Some(r) = &m.report {
        details["report"] = json!(r);
    }
    let mut payload = json!({
        "summary": cut(&summary, 1024),
        "source": source(m),
        "severity": severity(&m.status),
        "component": if services.is_empty() { m.cluster.clone() } else { services.join(", ") },
        "group": m.cluster,
        "class": m.event.as_str(),
        "custom_details": details,
    });
    if let Some(r) = &m.region {
        payload["custom_details"]["region"] = json!(r);
    }
    if let Some(a) = &m.account {
        payload["custom_details"]["account"] = json!(a);
    }
    event["payload"] = payload;
    // Links must be web links: the report's s3:// URL is in the details instead.
    if let Some(r) = m.report.as_ref().filter(|r| r.starts_with("https://")) {
        event["links"] = json!([{"href": r, "text": "Diagnosis report"}]);
    }
    Some(event)
}

/// The title and the body a chat message shows: the card's when there is one (it carries
/// the links), else the subject and the text.
fn chat_parts(m: &Message) -> (String, String, Vec<String>) {
    match &m.chat {
        Some(c) => (
            c.content.title.clone(),
            c.content.description.clone(),
            c.content.next_steps.clone(),
        ),
        None => (
            m.subject.clone().unwrap_or_else(|| source(m)),
            m.text.clone().unwrap_or_default(),
            Vec::new(),
        ),
    }
}

/// The facts every chat message lists.
fn facts(m: &Message) -> Vec<(&'static str, String)> {
    let mut f = vec![
        ("Cluster", source(m)),
        ("Status", m.status.to_uppercase()),
        ("Event", m.event.as_str().to_string()),
    ];
    if let Some(i) = &m.incident_id {
        f.push(("Incident", i.clone()));
    }
    let services = m.service_names();
    if !services.is_empty() {
        f.push(("Services", cut(&services.join(", "), 500)));
    }
    f
}

/// A Slack incoming-webhook message in Block Kit: a header, the facts, the body and the next
/// steps, with the subject as the notification's text. Limits from Slack's Block Kit
/// reference: a header's text 150 characters, a section's 3,000, a field's 2,000.
/// An incoming webhook answers `ok`, never the message's timestamp, so it cannot reply in a
/// thread: every message stands alone and names its incident.
pub fn slack(m: &Message) -> Value {
    let (title, body, next) = chat_parts(m);
    let fields: Vec<Value> = facts(m)
        .into_iter()
        .map(|(k, v)| json!({"type": "mrkdwn", "text": cut(&format!("*{k}*\n{v}"), 2000)}))
        .collect();
    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text", "text": cut(&title, 150), "emoji": true}}),
        json!({"type": "section", "fields": fields}),
    ];
    if !body.trim().is_empty() {
        blocks
            .push(json!({"type": "section", "text": {"type": "mrkdwn", "text": cut(&body, 3000)}}));
    }
    if !next.is_empty() {
        blocks.push(json!({"type": "context", "elements": [
            {"type": "mrkdwn", "text": cut(&next.join("\n"), 3000)}]}));
    }
    json!({
        "text": cut(m.subject.as_deref().unwrap_or(&title), 3000),
        "blocks": blocks,
    })
}

/// Slack's link syntax, `<url|text>`, as the card bodies write links.
static SLACK_LINK: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(
        r"(?x)
        <
          (?P<url> https?://[^|>\s]+ )   # a web address
          \|
          (?P<text> [^>]+ )              # what it shows
        >",
    )
    .expect("the link pattern compiles")
});

/// Slack's `<url|text>` links as Markdown's `[text](url)`, which Adaptive Cards render.
pub fn markdown_links(s: &str) -> String {
    SLACK_LINK.replace_all(s, "[$text]($url)").into_owned()
}

/// A Microsoft Teams message for a workflow's "when a Teams webhook request is received"
/// trigger: an Adaptive Card (version 1.4) attachment with the title, the facts and the
/// body. The workflow posts each card as a new message: cards of one incident share its id.
pub fn teams(m: &Message) -> Value {
    let (title, body, next) = chat_parts(m);
    let color = match m.status.as_str() {
        "healthy" | "completed" | "rolled_back" => "Good",
        "degraded" | "in_progress" | "no_logs" => "Warning",
        _ => "Attention",
    };
    let mut card_body = vec![
        json!({"type": "TextBlock", "size": "Large", "weight": "Bolder", "wrap": true,
               "color": color, "text": cut(&title, 300)}),
        json!({"type": "FactSet", "facts": facts(m).into_iter()
            .map(|(k, v)| json!({"title": k, "value": v})).collect::<Vec<_>>()}),
    ];
    if !body.trim().is_empty() {
        card_body.push(
            json!({"type": "TextBlock", "wrap": true, "text": cut(&markdown_links(&body), 6000)}),
        );
    }
    if !next.is_empty() {
        card_body.push(json!({"type": "TextBlock", "wrap": true, "isSubtle": true,
            "text": cut(&markdown_links(&next.join("\n\n")), 2000)}));
    }
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": card_body,
            },
        }],
    })
}

/// The generic webhook's signature header value over `body` at unix time `t`:
/// `t=<t>,v1=<hex HMAC-SHA256(key, "<t>.<body>")>`. A receiver recomputes it with the shared
/// key, compares in constant time, and refuses an old `t` (a replay).
pub fn signature(key: &[u8], t: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Whether `header` is a valid signature of `body` with `key`, no older than `max_age`
/// seconds at `now` (what a receiver does; the tests' receiver uses it).
pub fn verify(key: &[u8], header: &str, body: &[u8], now: i64, max_age: i64) -> bool {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => v1 = hex::decode(v).ok(),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return false;
    };
    if (now - t).abs() > max_age {
        return false;
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    // Constant-time comparison.
    mac.verify_slice(&v1).is_ok()
}

/// The body a destination receives for `m` (none: the message is not for it), given its
/// secret (PagerDuty's routing key; the others' secret is their URL).
pub fn body(d: &Destination, m: &Message, routing_key: &str) -> Option<Value> {
    match d.kind {
        Kind::Pagerduty => pagerduty(m, routing_key),
        Kind::Slack => Some(slack(m)),
        Kind::Teams => Some(teams(m)),
        Kind::Webhook => Some(serde_json::to_value(m).unwrap_or_default()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_destinations;
    use crate::notify::{Card, ServiceRef};
    use std::collections::BTreeMap;

    fn message(event: Event, status: &str, services: &[&str]) -> Message {
        let mut m = Message::new(event, "prod", status);
        m.incident_id = Some("111111111111.eu-west-1.prod-20261206T150000Z".into());
        m.region = Some("eu-west-1".into());
        m.account = Some("111111111111".into());
        m.services = services
            .iter()
            .map(|s| ServiceRef::Name(s.to_string()))
            .collect();
        m.subject = Some(format!("[ecs-monitor] prod {}", status.to_uppercase()));
        m.issues = Some(vec!["api: 0/2 tasks running".into()]);
        m.chat = Some(Card::new(
            ":x: prod UNHEALTHY".into(),
            "• api: 0/2 tasks running\n<https://console.aws.amazon.com/ecs|ECS console>".into(),
            vec!["Full report: <https://example.com/r.html|s3://b/r.json>".into()],
            "thread-1".into(),
            "s".into(),
            BTreeMap::new(),
        ));
        m
    }

    fn dest(json: &str) -> Destination {
        parse_destinations(&format!("[{json}]")).unwrap().remove(0)
    }

    #[test]
    fn filters_decide_which_messages_a_destination_takes() {
        use Event::*;
        let pager = dest(
            r#"{"name": "p", "type": "pagerduty", "secret": "/k", "statuses": ["unhealthy"]}"#,
        );
        let api = dest(r#"{"name": "a", "type": "slack", "secret": "/k", "services": ["api"]}"#);
        let reports = dest(
            r#"{"name": "r", "type": "teams", "secret": "/k", "events": ["diagnose.report"]}"#,
        );
        let cases = [
            (
                &pager,
                message(HealthUnhealthy, "unhealthy", &["api"]),
                true,
            ),
            (&pager, message(HealthDegraded, "degraded", &["api"]), false),
            // A recovery resolves what was paged, whatever the status filter says.
            (&pager, message(HealthRecovered, "healthy", &[]), true),
            // The incident's diagnosis follows its page; one outside an incident does not.
            (&pager, message(DiagnoseReport, "critical", &["api"]), true),
            (
                &pager,
                {
                    let mut m = message(DiagnoseReport, "critical", &["api"]);
                    m.incident_id = None;
                    m
                },
                false,
            ),
            (
                &api,
                message(HealthDegraded, "degraded", &["api", "web"]),
                true,
            ),
            (&api, message(HealthDegraded, "degraded", &["web"]), false),
            (&api, message(HealthRecovered, "healthy", &[]), true),
            (
                &reports,
                message(DiagnoseReport, "critical", &["api"]),
                true,
            ),
            (
                &reports,
                message(HealthUnhealthy, "unhealthy", &["api"]),
                false,
            ),
        ];
        for (i, (d, m, want)) in cases.iter().enumerate() {
            assert_eq!(
                accepts(d, m),
                *want,
                "case {i}: {} {}",
                d.name,
                m.event.as_str()
            );
        }
    }

    #[test]
    fn pagerduty_triggers_updates_and_resolves_one_incident() {
        use Event::*;
        let trigger = pagerduty(&message(HealthUnhealthy, "unhealthy", &["api"]), "RK").unwrap();
        assert_eq!(trigger["routing_key"], "RK");
        assert_eq!(trigger["event_action"], "trigger");
        let key = "111111111111.eu-west-1.prod-20261206T150000Z";
        assert_eq!(trigger["dedup_key"], key);
        assert_eq!(trigger["payload"]["severity"], "critical");
        assert_eq!(trigger["payload"]["source"], "111111111111/eu-west-1/prod");
        assert_eq!(
            trigger["payload"]["summary"],
            "[ecs-monitor] prod UNHEALTHY"
        );
        assert_eq!(
            trigger["payload"]["custom_details"]["issues"][0],
            "api: 0/2 tasks running"
        );
        let degraded = pagerduty(&message(HealthDegraded, "degraded", &["api"]), "RK").unwrap();
        assert_eq!(degraded["payload"]["severity"], "warning");
        // The diagnosis updates the same alert with its probable cause.
        let mut report = message(DiagnoseReport, "critical", &["api"]);
        report.issues = Some(vec!["api ran out of memory (OOM)".into()]);
        report.report = Some("s3://b/reports/prod/r.json".into());
        let update = pagerduty(&report, "RK").unwrap();
        assert_eq!(
            (&update["event_action"], &update["dedup_key"]),
            (&json!("trigger"), &json!(key))
        );
        assert_eq!(
            update["payload"]["custom_details"]["probable_cause"][0],
            "api ran out of memory (OOM)"
        );
        assert_eq!(
            update["payload"]["custom_details"]["report"],
            "s3://b/reports/prod/r.json"
        );
        assert!(update.get("links").is_none(), "an s3:// URL is no link");
        let resolve = pagerduty(&message(HealthRecovered, "healthy", &[]), "RK").unwrap();
        assert_eq!(
            resolve,
            json!({"routing_key": "RK", "event_action": "resolve", "dedup_key": key, "client": "ecs-monitor"})
        );
        // Good news pages no one; a healthy diagnosis neither.
        assert!(pagerduty(&message(DeploymentCompleted, "completed", &["api"]), "RK").is_none());
        assert!(pagerduty(&message(DiagnoseReport, "healthy", &[]), "RK").is_none());
        // Without an incident, the thread keeps a diagnosis and its deployment together.
        let mut failed = message(DeploymentFailed, "failed", &["api"]);
        failed.incident_id = None;
        assert_eq!(pagerduty(&failed, "RK").unwrap()["dedup_key"], "thread-1");
        let long = message(HealthUnhealthy, &"x".repeat(2000), &[]);
        let mut long = long;
        long.subject = Some("y".repeat(2000));
        assert_eq!(
            pagerduty(&long, "RK").unwrap()["payload"]["summary"]
                .as_str()
                .unwrap()
                .chars()
                .count(),
            1024
        );
    }

    #[test]
    fn slack_and_teams_render_the_card_within_their_limits() {
        let m = message(Event::HealthUnhealthy, "unhealthy", &["api"]);
        let s = slack(&m);
        assert_eq!(s["text"], "[ecs-monitor] prod UNHEALTHY");
        assert_eq!(s["blocks"][0]["type"], "header");
        assert_eq!(s["blocks"][0]["text"]["text"], ":x: prod UNHEALTHY");
        let fields = s["blocks"][1]["fields"].as_array().unwrap();
        assert!(
            fields
                .iter()
                .any(|f| f["text"] == "*Cluster*\n111111111111/eu-west-1/prod"),
            "{fields:?}"
        );
        assert!(fields.iter().any(|f| {
            f["text"]
                .as_str()
                .unwrap()
                .contains("prod-20261206T150000Z")
        }));
        assert!(
            s["blocks"][2]["text"]["text"]
                .as_str()
                .unwrap()
                .contains("<https://console.aws.amazon.com/ecs|ECS console>")
        );
        let mut big = m.clone();
        big.chat.as_mut().unwrap().content.title = "t".repeat(400);
        big.chat.as_mut().unwrap().content.description = "d".repeat(10_000);
        let s = slack(&big);
        assert_eq!(
            s["blocks"][0]["text"]["text"]
                .as_str()
                .unwrap()
                .chars()
                .count(),
            150
        );
        assert_eq!(
            s["blocks"][2]["text"]["text"]
                .as_str()
                .unwrap()
                .chars()
                .count(),
            3000
        );

        let t = teams(&m);
        let card = &t["attachments"][0];
        assert_eq!(
            card["contentType"],
            "application/vnd.microsoft.card.adaptive"
        );
        assert_eq!(card["content"]["type"], "AdaptiveCard");
        let body = card["content"]["body"].as_array().unwrap();
        assert_eq!(body[0]["color"], "Attention");
        assert!(
            body[2]["text"]
                .as_str()
                .unwrap()
                .contains("[ECS console](https://console.aws.amazon.com/ecs)"),
            "{body:?}"
        );
        assert_eq!(
            body[1]["facts"][0],
            json!({"title": "Cluster", "value": "111111111111/eu-west-1/prod"})
        );
    }

    #[test]
    fn slack_links_become_markdown_links() {
        let cases = [
            (
                "<https://a.example/x?y=1|the report>",
                "[the report](https://a.example/x?y=1)",
            ),
            (
                "see <http://h/p|p> and <https://q/r|r>",
                "see [p](http://h/p) and [r](https://q/r)",
            ),
            // Not links: no URL, no text, a mention.
            ("<@U123>", "<@U123>"),
            ("<https://a.example>", "<https://a.example>"),
            ("a < b | c > d", "a < b | c > d"),
        ];
        for (input, want) in cases {
            assert_eq!(markdown_links(input), want, "{input}");
        }
    }

    #[test]
    fn signatures_verify_and_refuse_tampering_other_keys_and_old_times() {
        let body = br#"{"event":"health.unhealthy"}"#;
        let header = signature(b"k3y", 1_765_000_000, body);
        assert!(header.starts_with("t=1765000000,v1="), "{header}");
        assert_eq!(header.len(), "t=1765000000,v1=".len() + 64);
        assert!(verify(b"k3y", &header, body, 1_765_000_100, 300));
        assert!(!verify(
            b"k3y",
            &header,
            br#"{"event":"health.recovered"}"#,
            1_765_000_100,
            300
        ));
        assert!(!verify(b"other", &header, body, 1_765_000_100, 300));
        assert!(
            !verify(b"k3y", &header, body, 1_765_001_000, 300),
            "a replay"
        );
        assert!(!verify(b"k3y", "v1=00", body, 1_765_000_000, 300));
        // A known answer, from Python's hmac: HMAC-SHA256("key", "1.{}").
        assert_eq!(
            signature(b"key", 1, b"{}"),
            "t=1,v1=1ba6b8171186efc613e8bcc0cbdab2748f24984d7c5a84faa2637afa0e40d224"
        );
    }
}
