//! The readable report of `ecs-monitor health`.

use super::model::{State, Status};
use std::fmt::Write;
use time::format_description::well_known::Rfc3339;

fn word(s: Status) -> &'static str {
    match s {
        Status::Healthy => "healthy",
        Status::ScaledDown => "scaled down",
        Status::Deploying => "deploying",
        Status::Degraded => "DEGRADED",
        Status::Unknown => "UNKNOWN",
        Status::Unhealthy => "UNHEALTHY",
        Status::Missing => "MISSING",
    }
}

/// The state as a short aligned report.
pub fn text(state: &State) -> String {
    let mut o = String::new();
    let at = state.checked_at.format(&Rfc3339).unwrap_or_default();
    let _ = writeln!(
        o,
        "Cluster {} ({}): {}   checked {at}",
        state.cluster,
        state.region,
        state.overall.as_str().to_uppercase()
    );
    if !state.services.is_empty() {
        let w = state
            .services
            .iter()
            .map(|s| s.name.len())
            .max()
            .unwrap_or(0)
            .max(8);
        let _ = writeln!(o, "\nServices");
        for s in &state.services {
            let pending = if s.pending > 0 {
                format!(" ({} pending)", s.pending)
            } else {
                String::new()
            };
            let rollout = s
                .rollout_state
                .as_deref()
                .map(|r| format!("  rollout {r}"))
                .unwrap_or_default();
            let running = format!("{}/{} running{pending}", s.running, s.desired);
            let _ = writeln!(
                o,
                "  {:<w$}  {running:<24} {}{rollout}",
                s.name,
                word(s.status)
            );
        }
    }
    if !state.target_groups.is_empty() {
        let w = state
            .target_groups
            .iter()
            .map(|g| g.name.len())
            .max()
            .unwrap_or(0)
            .max(8);
        let _ = writeln!(o, "\nTarget groups");
        for g in &state.target_groups {
            let counts = format!("{} healthy, {} unhealthy", g.healthy, g.unhealthy);
            let _ = writeln!(o, "  {:<w$}  {counts:<24} {}", g.name, word(g.status));
            for t in g.targets.iter().filter(|t| t.state != "healthy") {
                let port = t.port.map(|p| format!(":{p}")).unwrap_or_default();
                let why = [t.reason.as_deref(), t.description.as_deref()]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(": ");
                let _ = writeln!(o, "  {:<w$}    {}{port} {} {why}", "", t.id, t.state);
            }
        }
    }
    if !state.http.is_empty() {
        let w = state
            .http
            .iter()
            .map(|h| h.name.len())
            .max()
            .unwrap_or(0)
            .max(8);
        let _ = writeln!(o, "\nHTTP");
        for h in &state.http {
            let code = h.status_code.map_or("---".into(), |c| c.to_string());
            let ms = h.latency_ms.map_or(String::new(), |l| format!("{l} ms"));
            let _ = writeln!(
                o,
                "  {:<w$}  {code} {ms:>8}  {:<10} {}",
                h.name,
                word(h.status),
                h.url
            );
        }
    }
    if !state.tls.is_empty() {
        let w = state
            .tls
            .iter()
            .map(|t| t.host.len())
            .max()
            .unwrap_or(0)
            .max(8);
        let _ = writeln!(o, "\nTLS certificates");
        for t in &state.tls {
            let left = match (t.days_left, t.not_after) {
                (Some(d), Some(at)) => format!("{d} days left ({})", at.date()),
                _ => "unknown".into(),
            };
            let _ = writeln!(o, "  {:<w$}  {left:<28} {}", t.host, word(t.status));
        }
    }
    if !state.issues.is_empty() {
        let _ = writeln!(o, "\nIssues ({})", state.issues.len());
        for i in &state.issues {
            let _ = writeln!(o, "  - {i}");
        }
    }
    if !state.silenced.is_empty() {
        let _ = writeln!(o, "\nSilenced (alerts about these are held)");
        for a in &state.silenced {
            let until = a.until.format(&Rfc3339).unwrap_or_default();
            let _ = writeln!(o, "  {} until {until}: {}", a.scope(), a.reason);
        }
    }
    if !state.alerting.held.is_empty() {
        let _ = writeln!(
            o,
            "\nHeld alerts ({}), told when their silences are over",
            state.alerting.held.len()
        );
        for h in &state.alerting.held {
            let at = h.decided_at.format(&Rfc3339).unwrap_or_default();
            let _ = writeln!(o, "  {at} {}", h.subject);
        }
    }
    o
}
