//! Silences at work in a health run: an alert about what active silences cover is held
//! instead of published, and the held alerts are told in one summary
//! (`health.silence_summary`) once the silences that held them are over, or as soon as
//! something they do not cover fails. Pure.
//!
//! - A degraded or unhealthy alert is held when every failing check is covered: a service by
//!   a silence of it (or of the cluster), a target group when all the services registered
//!   with it are, an HTTP endpoint, a certificate or an ECS error only by a silence of the
//!   whole cluster.
//! - A recovery is held when the incident's own alerts were held (or the whole cluster is
//!   silenced): nobody was told it started.
//! - A reminder about covered failures is dropped: the summary tells the status anyway.
//! - A held alert still moves the alerting memory (`announced`), so the summary is the only
//!   message about it, and nothing is told twice.

use super::alert::{cut, subject_line};
use super::model::{Alert, HeldAlert, Overall, State};
use crate::notify::{Card, Event};
use crate::silence::{Active, covering};
use crate::timefmt::rfc3339;
use std::collections::{BTreeMap, HashSet};
use time::OffsetDateTime;

/// Held alerts kept at most (the newest); a flapping cluster cannot grow the state.
pub const MAX_HELD: usize = 20;

/// What is failing, each with the scope a silence must cover (`None`: the whole cluster).
fn failing(state: &State) -> Vec<(String, Vec<Option<&str>>)> {
    let mut out = Vec::new();
    for s in state
        .services
        .iter()
        .filter(|s| s.status.overall() != Overall::Healthy)
    {
        out.push((s.name.clone(), vec![Some(s.name.as_str())]));
    }
    for g in state
        .target_groups
        .iter()
        .filter(|g| g.status.overall() != Overall::Healthy)
    {
        let scopes = if g.services.is_empty() {
            vec![None]
        } else {
            g.services.iter().map(|s| Some(s.as_str())).collect()
        };
        out.push((format!("target group {}", g.name), scopes));
    }
    for h in state
        .http
        .iter()
        .filter(|h| h.status.overall() != Overall::Healthy)
    {
        out.push((format!("http {}", h.name), vec![None]));
    }
    for t in state
        .tls
        .iter()
        .filter(|t| t.status.overall() != Overall::Healthy)
    {
        out.push((format!("tls {}", t.host), vec![None]));
    }
    // ECS could not be read: nothing but a silence of the cluster covers that.
    if state.issues.iter().any(|i| i.starts_with("ecs: ")) {
        out.push(("ecs".into(), vec![None]));
    }
    out
}

/// The active silences covering what is failing, and what is failing that none covers.
pub fn coverage(state: &State, active: &[Active]) -> (Vec<Active>, Vec<String>) {
    let mut by: Vec<Active> = Vec::new();
    let mut uncovered = Vec::new();
    for (what, scopes) in failing(state) {
        let mut all = true;
        for scope in scopes {
            let c = covering(active, scope);
            if c.is_empty() {
                all = false;
            }
            for a in c {
                if !by.iter().any(|b| b.id == a.id) {
                    by.push(a.clone());
                }
            }
        }
        if !all {
            uncovered.push(what);
        }
    }
    (by, uncovered)
}

/// Applies the active silences to a run's state: records them, releases held alerts into a
/// summary when their silences are over or something they do not cover has failed for
/// `failure_threshold` runs (as long as an alert waits for), and holds the alert `decided`
/// this run (its id) when the silences cover it.
pub fn apply(
    state: &mut State,
    decided: Option<&str>,
    active: &[Active],
    failure_threshold: u32,
    now: OffsetDateTime,
) {
    state.silenced = active.to_vec();
    let (by, uncovered) = coverage(state, active);
    let live: HashSet<&str> = active.iter().map(|a| a.id.as_str()).collect();
    let a = &mut state.alerting;
    a.uncovered_runs = if uncovered.is_empty() || a.held.is_empty() {
        0
    } else {
        a.uncovered_runs + 1
    };
    let outside = a.uncovered_runs >= failure_threshold.max(1);

    // Release: every silence that held it is over, or a failure outside the silences lasts.
    let (released, kept): (Vec<HeldAlert>, Vec<HeldAlert>) = std::mem::take(&mut a.held)
        .into_iter()
        .partition(|h| outside || h.held_by.iter().all(|s| !live.contains(s.id.as_str())));
    if !released.is_empty() {
        a.uncovered_runs = 0;
    }
    state.alerting.held = kept;
    let decided_at = decided.and_then(|id| state.alerting.pending.iter().position(|p| p.id == id));
    if !released.is_empty() {
        let outside: &[String] = if outside { &uncovered } else { &[] };
        let s = summary(state, &released, outside, now);
        // Before this run's own alert: what was held happened first.
        let at = decided_at.unwrap_or(state.alerting.pending.len());
        state.alerting.pending.insert(at, s);
    }

    // Hold this run's alert.
    let Some(id) = decided else { return };
    let Some(pos) = state.alerting.pending.iter().position(|p| p.id == id) else {
        return;
    };
    let alert = &state.alerting.pending[pos];
    let held_by: Vec<Active> = match alert.event {
        Event::HealthRecovered => {
            let cluster: Vec<Active> = active
                .iter()
                .filter(|a| a.whole_cluster())
                .cloned()
                .collect();
            let mut own: Vec<Active> = state
                .alerting
                .held
                .iter()
                .filter(|h| h.incident_id == alert.incident_id)
                .flat_map(|h| h.held_by.iter())
                .filter(|a| live.contains(a.id.as_str()))
                .cloned()
                .collect();
            own.extend(cluster);
            let mut seen = HashSet::new();
            own.retain(|a| seen.insert(a.id.clone()));
            own
        }
        _ if !uncovered.is_empty() => Vec::new(),
        _ => by,
    };
    if held_by.is_empty() {
        return;
    }
    let alert = state.alerting.pending.remove(pos);
    if alert.event == Event::HealthReminder {
        return;
    }
    let held = &mut state.alerting.held;
    held.push(HeldAlert {
        event: alert.event,
        status: alert.status,
        incident_id: alert.incident_id,
        decided_at: alert.decided_at,
        subject: alert.subject,
        held_by,
    });
    if held.len() > MAX_HELD {
        let drop = held.len() - MAX_HELD;
        held.drain(..drop);
    }
}

/// The summary of `released` alerts, with the status now and what fails outside the
/// silences (`uncovered`).
fn summary(
    state: &State,
    released: &[HeldAlert],
    uncovered: &[String],
    now: OffsetDateTime,
) -> Alert {
    let incident = state
        .alerting
        .incident_id
        .clone()
        .or_else(|| released.last().map(|h| h.incident_id.clone()))
        .unwrap_or_else(|| state.cluster.clone());
    let mut silences: Vec<&Active> = Vec::new();
    for a in released.iter().flat_map(|h| &h.held_by) {
        if !silences.iter().any(|s| s.id == a.id) {
            silences.push(a);
        }
    }
    let n = released.len();
    let alerts = if n == 1 {
        "1 alert".to_string()
    } else {
        format!("{n} alerts")
    };
    let status = state.overall.as_str().to_uppercase();
    let first = state.issues.first().map(String::as_str).unwrap_or("");
    let more = match state.issues.len() {
        0 | 1 => String::new(),
        k => format!(" (+{} more)", k - 1),
    };
    let headline = if state.overall == Overall::Healthy {
        format!("{alerts} held while silenced; now HEALTHY")
    } else if !uncovered.is_empty() {
        format!(
            "{status} outside the silence: {}; {alerts} held",
            uncovered.join(", ")
        )
    } else {
        format!("silence over, {alerts} held; now {status}: {first}{more}")
    };
    let subject = subject_line(&format!("[ecs-monitor] {incident} {headline}"));

    let mut text = String::new();
    if uncovered.is_empty() {
        text.push_str(&format!(
            "Cluster {} ({}): the silences are over.\n",
            state.display_name(),
            state.region
        ));
    } else {
        text.push_str(&format!(
            "Cluster {} ({}): {} failing outside the active silences, so what they held is told now.\n",
            state.display_name(),
            state.region,
            uncovered.join(", ")
        ));
    }
    text.push_str("\nSilences:\n");
    for s in &silences {
        text.push_str(&cut(format!(
            "- {} (until {}): {}",
            s.scope(),
            rfc3339(s.until),
            s.reason
        )));
        text.push('\n');
    }
    text.push_str(&format!("\nHeld while silenced ({n}):\n"));
    for h in released {
        text.push_str(&cut(format!("- {} {}", rfc3339(h.decided_at), h.subject)));
        text.push('\n');
    }
    text.push_str(&format!(
        "\nNow ({}): {status}.\n",
        rfc3339(state.checked_at)
    ));
    for i in state.issues.iter().take(20) {
        text.push_str(&cut(format!("- {i}")));
        text.push('\n');
    }
    text.push_str(&format!("Incident {incident}.\n"));
    text.push_str("\n-- ecs-monitor health-check.\n");

    let mut description = format!("*Held while silenced ({n})*\n");
    for h in released.iter().take(10) {
        description.push_str(&format!(
            "• {} {}\n",
            rfc3339(h.decided_at),
            h.subject.trim_start_matches("[ecs-monitor] ")
        ));
    }
    description.push_str(&format!("*Now: {status}*\n"));
    for i in state.issues.iter().take(10) {
        description.push_str(&format!("• {i}\n"));
    }
    let emoji = if state.overall == Overall::Healthy {
        ":white_check_mark:"
    } else {
        ":warning:"
    };
    let chat = Card::new(
        format!(
            "{emoji} {}",
            subject_line(&format!("{} {headline}", state.display_name()))
        ),
        description,
        Vec::new(),
        incident.clone(),
        subject.clone(),
        BTreeMap::from([
            ("cluster".to_string(), state.cluster.clone()),
            ("status".to_string(), state.overall.as_str().to_string()),
            (
                "event".to_string(),
                Event::HealthSilenceSummary.as_str().to_string(),
            ),
        ]),
    );
    Alert {
        id: format!(
            "{incident}/{}/{}",
            Event::HealthSilenceSummary.as_str(),
            now.unix_timestamp()
        ),
        services: state.failing_services().map(str::to_string).collect(),
        issues: state.issues.iter().take(20).cloned().collect(),
        event: Event::HealthSilenceSummary,
        status: state.overall,
        incident_id: incident,
        decided_at: now,
        subject,
        text,
        chat,
        claimed_by: None,
        claimed_at: None,
        region: Some(state.region.clone()),
        account: state.account.clone(),
    }
}
