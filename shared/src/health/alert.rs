//! When to alert, and what the alert says. Pure.
//!
//! - An alert goes out when the overall status differs from the one subscribers were last
//!   told (`announced`) and the new status held for `FAILURE_THRESHOLD` consecutive runs
//!   (`health.degraded`, `health.unhealthy`), or when it is healthy again for
//!   `SUCCESS_THRESHOLD` runs (`health.recovered`); while still failing, a reminder every
//!   `REMINDER_MINUTES` (`health.reminder`). Flapping below the thresholds stays quiet.
//! - A decided alert is recorded in the state (`alerting.pending`) before it is published and
//!   removed once SNS accepted it: a failed publish is retried on the next run, and a
//!   transition is decided once, since `announced` moves with the decision.

use super::model::{Alert, Alerting, Overall, State, Status};
use crate::config::Thresholds;
use crate::links::{self, EcsPage};
use crate::notify::{Card, Event, Message, Notification, ServiceRef};
use crate::timefmt::rfc3339;
use std::collections::{BTreeMap, BTreeSet};
use time::OffsetDateTime;

/// Alerts kept for retry at most; the oldest go first (they are superseded by newer ones).
pub const MAX_PENDING: usize = 10;
/// Lines of a table or list shown in one message; SNS takes at most 256 KB.
const MAX_LINES: usize = 20;
/// Bytes of one line of a message at most.
pub const MAX_LINE_BYTES: usize = 200;
/// Failing services named in the machine message at most (diagnose looks at these).
pub const MAX_ALERT_SERVICES: usize = 50;
/// Failing services whose console pages an alert links at most.
const LINKED_SERVICES: usize = 10;

pub struct Decision {
    pub alerting: Alerting,
    pub alert: Option<Alert>,
}

/// `<cluster>-<start>`: the cluster's short name (an ARN's last part), or a fleet label with
/// its `/` as `.` (`eu-west-1.prod-…`), so that same-named clusters never share an incident.
fn incident_id(current: &State, now: OffsetDateTime) -> String {
    let name = match &current.label {
        Some(label) => label.replace('/', "."),
        None => crate::aws::short_name(&current.cluster).to_string(),
    };
    format!("{name}-{}", crate::timefmt::compact(now))
}

/// "2 h 5 min", "12 min", "40 s".
pub fn human_duration(d: time::Duration) -> String {
    let s = d.whole_seconds().max(0);
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min", s / 60),
        3600..86400 => format!("{} h {} min", s / 3600, (s % 3600) / 60),
        _ => format!("{} d {} h", s / 86400, (s % 86400) / 3600),
    }
}

/// Decides whether this run alerts, and the alerting memory to carry on.
pub fn decide(
    current: &State,
    previous: Option<&State>,
    now: OffsetDateTime,
    t: &Thresholds,
) -> Decision {
    let prev = previous.map(|p| p.alerting.clone()).unwrap_or_default();
    let mut a = prev.clone();
    let status = current.overall;
    if previous.map(|p| p.overall) != Some(status) || a.status_since.is_none() {
        a.status_since = Some(now);
    }
    // A rollout still short of tasks is not a recovery: while an incident is open it is not
    // a good run, so the fix's own deployment does not announce "recovered" half-way.
    let deploying = current
        .services
        .iter()
        .any(|s| s.status == Status::Deploying);
    if status == Overall::Healthy && deploying && prev.announced != Overall::Healthy {
        a.consecutive_successes = 0;
    } else if status == Overall::Healthy {
        a.consecutive_successes += 1;
        a.consecutive_failures = 0;
    } else {
        a.consecutive_failures += 1;
        a.consecutive_successes = 0;
    }
    let reminder_due = t.reminder_minutes > 0
        && a.last_alert_at
            .is_some_and(|last| now - last >= time::Duration::minutes(t.reminder_minutes as i64));
    let event = if status != Overall::Healthy
        && status != prev.announced
        && a.consecutive_failures >= t.failure_threshold
    {
        if prev.announced == Overall::Healthy {
            a.incident_id = Some(incident_id(current, now));
        }
        Some(if status == Overall::Unhealthy {
            Event::HealthUnhealthy
        } else {
            Event::HealthDegraded
        })
    } else if status == Overall::Healthy
        && prev.announced != Overall::Healthy
        && a.consecutive_successes >= t.success_threshold
    {
        Some(Event::HealthRecovered)
    } else if status != Overall::Healthy && status == prev.announced && reminder_due {
        Some(Event::HealthReminder)
    } else {
        None
    };
    let Some(event) = event else {
        return Decision {
            alerting: a,
            alert: None,
        };
    };
    let incident = a
        .incident_id
        .clone()
        .unwrap_or_else(|| incident_id(current, now));
    let alert = render(event, current, previous, &a, &incident, now);
    a.announced = if event == Event::HealthRecovered {
        Overall::Healthy
    } else {
        status
    };
    if event == Event::HealthRecovered {
        a.incident_id = None;
    }
    // The reminder clock runs from the decision, so a failing SNS does not cause a reminder storm.
    a.last_alert_at = Some(now);
    a.pending.push(alert.clone());
    if a.pending.len() > MAX_PENDING {
        let drop = a.pending.len() - MAX_PENDING;
        a.pending.drain(..drop);
    }
    Decision {
        alerting: a,
        alert: Some(alert),
    }
}

/// SNS subjects: ASCII, no line breaks, under 100 characters.
pub fn subject_line(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() {
                c
            } else if c.is_whitespace() {
                ' '
            } else {
                '?'
            }
        })
        .collect();
    if out.len() > 99 {
        out.truncate(96);
        out.push_str("...");
    }
    out
}

/// The subject: the incident's id (its cluster and start) where the cluster alone would be,
/// so that every message of one incident (its alert, reminders, diagnoses, deployment
/// notices, its recovery) carries it and mail clients thread them.
fn headline(
    event: Event,
    current: &State,
    incident: &str,
    since: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> String {
    let cluster = incident;
    let first = current
        .issues
        .first()
        .map(String::as_str)
        .unwrap_or("no issue recorded");
    let more = match current.issues.len() {
        0 | 1 => String::new(),
        n => format!(" (+{} more)", n - 1),
    };
    let status = current.overall.as_str().to_uppercase();
    match event {
        Event::HealthRecovered => {
            format!("[ecs-monitor] {cluster} RECOVERED: all checks healthy")
        }
        Event::HealthReminder => {
            let for_ = since
                .map(|s| format!(" for {}", human_duration(now - s)))
                .unwrap_or_default();
            format!("[ecs-monitor] {cluster} STILL {status}{for_}: {first}{more}")
        }
        _ => format!("[ecs-monitor] {cluster} {status}: {first}{more}"),
    }
}

/// `line` cut to [`MAX_LINE_BYTES`] (an issue can quote a long URL or error).
pub fn cut(mut line: String) -> String {
    if line.len() > MAX_LINE_BYTES {
        line.truncate(crate::classify::level::floor_boundary(
            &line,
            MAX_LINE_BYTES,
        ));
        line.push_str("...");
    }
    line
}

fn capped<'a>(lines: impl ExactSizeIterator<Item = String> + 'a) -> Vec<String> {
    let total = lines.len();
    let mut out: Vec<String> = lines.take(MAX_LINES).map(cut).collect();
    if total > MAX_LINES {
        out.push(format!("... and {} more", total - MAX_LINES));
    }
    out
}

fn render(
    event: Event,
    current: &State,
    previous: Option<&State>,
    alerting: &Alerting,
    incident: &str,
    now: OffsetDateTime,
) -> Alert {
    let subject = subject_line(&headline(
        event,
        current,
        incident,
        alerting.status_since,
        now,
    ));
    // What subscribers were last told, not what the last run saw below the threshold.
    let was = previous.map(|p| p.alerting.announced).unwrap_or_default();
    let before: BTreeSet<&String> = previous
        .map(|p| p.issues.iter().collect())
        .unwrap_or_default();
    let after: BTreeSet<&String> = current.issues.iter().collect();
    let new: Vec<String> = current
        .issues
        .iter()
        .filter(|i| !before.contains(i))
        .map(|i| format!("+ {i}"))
        .collect();
    let gone: Vec<String> = previous
        .map(|p| {
            p.issues
                .iter()
                .filter(|i| !after.contains(i))
                .map(|i| format!("- {i} (resolved)"))
                .collect()
        })
        .unwrap_or_default();
    let changes: Vec<String> = capped(new.into_iter().chain(gone).collect::<Vec<_>>().into_iter());
    let issues = capped(
        current
            .issues
            .iter()
            .map(|i| format!("- {i}"))
            .collect::<Vec<_>>()
            .into_iter(),
    );

    let mut text = String::new();
    let status = current.overall.as_str().to_uppercase();
    let since = alerting
        .status_since
        .map(rfc3339)
        .unwrap_or_else(|| rfc3339(now));
    if event == Event::HealthRecovered {
        text.push_str(&format!(
            "Cluster {} ({}) has RECOVERED: every check is healthy (was {}).\n",
            current.display_name(),
            current.region,
            was.as_str().to_uppercase()
        ));
    } else {
        text.push_str(&format!(
            "Cluster {} ({}) is {status} since {since} (was {}).\n",
            current.display_name(),
            current.region,
            was.as_str().to_uppercase()
        ));
    }
    text.push_str(&format!(
        "Checked at {}. Incident {incident}.\n",
        rfc3339(current.checked_at)
    ));
    if !issues.is_empty() {
        text.push_str(&format!(
            "\nIssues ({}):\n{}\n",
            current.issues.len(),
            issues.join("\n")
        ));
    }
    if !changes.is_empty() {
        text.push_str(&format!(
            "\nWhat changed since the last check:\n{}\n",
            changes.join("\n")
        ));
    }
    let services = capped(
        current
            .services
            .iter()
            .map(|s| {
                format!(
                    "  {:<24} {:>3}/{:<3} running  {}",
                    s.name,
                    s.running,
                    s.desired,
                    s.status.as_str()
                )
            })
            .collect::<Vec<_>>()
            .into_iter(),
    );
    if !services.is_empty() {
        text.push_str(&format!("\nServices:\n{}\n", services.join("\n")));
    }
    let tgs = capped(
        current
            .target_groups
            .iter()
            .map(|g| {
                format!(
                    "  {:<24} {} healthy, {} unhealthy  {}",
                    g.name,
                    g.healthy,
                    g.unhealthy,
                    g.status.as_str()
                )
            })
            .collect::<Vec<_>>()
            .into_iter(),
    );
    if !tgs.is_empty() {
        text.push_str(&format!("\nTarget groups:\n{}\n", tgs.join("\n")));
    }
    let http = capped(
        current
            .http
            .iter()
            .map(|h| {
                let code = h.status_code.map_or("---".to_string(), |c| c.to_string());
                let ms = h.latency_ms.map_or(String::new(), |l| format!("{l} ms"));
                format!("  {:<24} {code} {ms:>8}  {}", h.name, h.status.as_str())
            })
            .collect::<Vec<_>>()
            .into_iter(),
    );
    if !http.is_empty() {
        text.push_str(&format!("\nHTTP:\n{}\n", http.join("\n")));
    }
    let tls = capped(
        current
            .tls
            .iter()
            .map(|t| {
                let left = t
                    .days_left
                    .map_or("unknown".to_string(), |d| format!("{d} days left"));
                format!("  {:<24} {left}  {}", t.host, t.status.as_str())
            })
            .collect::<Vec<_>>()
            .into_iter(),
    );
    if !tls.is_empty() {
        text.push_str(&format!("\nTLS certificates:\n{}\n", tls.join("\n")));
    }
    // Console pages of the failing services (never cut: a cut link is a broken one).
    let linked: Vec<(&str, String, String)> = if event == Event::HealthRecovered {
        Vec::new()
    } else {
        current
            .failing_services()
            .take(LINKED_SERVICES)
            .map(|name| {
                let page = |p| links::ecs_service(&current.region, &current.cluster, name, p);
                (name, page(EcsPage::Health), page(EcsPage::Events))
            })
            .collect()
    };
    if !linked.is_empty() {
        text.push_str("\nIn the ECS console:\n");
        for (name, health, events) in &linked {
            text.push_str(&format!(
                "  {name}\n    health: {health}\n    events: {events}\n"
            ));
        }
    }
    text.push_str("\n-- ecs-monitor health-check. The diagnose function explains failures from the services' logs.\n");

    let emoji = match event {
        Event::HealthRecovered => ":white_check_mark:",
        Event::HealthReminder => ":bell:",
        _ if current.overall == Overall::Unhealthy => ":rotating_light:",
        _ => ":warning:",
    };
    let mut description = String::new();
    if !issues.is_empty() {
        description.push_str(&format!("*Issues ({})*\n", current.issues.len()));
        for i in &issues {
            description.push_str(&format!("• {}\n", i.trim_start_matches("- ")));
        }
    }
    if !changes.is_empty() {
        description.push_str("*What changed*\n");
        for c in &changes {
            description.push_str(&format!("• {c}\n"));
        }
    }
    if !linked.is_empty() {
        // Slack's link syntax: Amazon Q renders `client-markdown` in the chat platform's own
        // markdown (custom notifications, Amazon Q Developer in chat applications guide).
        description.push_str("*In the ECS console*\n");
        for (name, health, events) in &linked {
            description.push_str(&format!("• <{health}|{name}> · <{events}|events>\n"));
        }
    }
    if description.is_empty() {
        description.push_str("Every check is healthy.\n");
    }
    // In Slack the thread already is the incident: the title names the cluster.
    let title = format!(
        "{emoji} {}",
        subject_line(&headline(
            event,
            current,
            current.display_name(),
            alerting.status_since,
            now
        ))
        .trim_start_matches("[ecs-monitor] ")
    );
    let next_steps: Vec<String> = if event == Event::HealthRecovered {
        vec!["No action needed; the incident thread is closed.".into()]
    } else {
        vec![
            format!(
                "See the diagnose report for cluster {} in the report bucket.",
                current.display_name()
            ),
            "Run `ecs-monitor health` for the live view.".into(),
        ]
    };
    let chat = Card::new(
        title,
        description,
        next_steps,
        incident.to_string(),
        subject.clone(),
        BTreeMap::from([
            ("cluster".to_string(), current.cluster.clone()),
            ("status".to_string(), current.overall.as_str().to_string()),
            ("event".to_string(), event.as_str().to_string()),
        ]),
    );
    let services = current
        .failing_services()
        .map(str::to_string)
        .take(MAX_ALERT_SERVICES)
        .collect();
    Alert {
        id: format!("{incident}/{}/{}", event.as_str(), now.unix_timestamp()),
        services,
        // Bounded like the text: an SNS message takes at most 256 KB.
        issues: capped(current.issues.clone().into_iter()),
        event,
        status: if event == Event::HealthRecovered {
            Overall::Healthy
        } else {
            current.overall
        },
        incident_id: incident.to_string(),
        decided_at: now,
        subject,
        text,
        chat,
        claimed_by: None,
        claimed_at: None,
        region: Some(current.region.clone()),
        account: current.account.clone(),
    }
}

impl Alert {
    /// What one publish of this alert carries.
    pub fn notification(&self, cluster: &str) -> Notification {
        let message = Message {
            id: Some(self.id.clone()),
            incident_id: Some(self.incident_id.clone()),
            services: self
                .services
                .iter()
                .cloned()
                .map(ServiceRef::Name)
                .collect(),
            issues: Some(self.issues.clone()),
            subject: Some(self.subject.clone()),
            text: Some(self.text.clone()),
            chat: Some(self.chat.clone()),
            region: self.region.clone(),
            account: self.account.clone(),
            ..Message::new(self.event, cluster, self.status.as_str())
        };
        Notification {
            subject: self.subject.clone(),
            text: self.text.clone(),
            card: self.chat.clone(),
            message,
        }
    }
}
