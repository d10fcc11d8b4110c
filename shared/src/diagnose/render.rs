//! Reports as text: the terminal view of `ecs-monitor logs diagnose` and the short summary
//! published to SNS.

use super::report::{Report, ServiceReport, ServiceStatus};
use crate::timefmt::rfc3339 as fmt_time;
use std::fmt::Write;

/// "panic ×3, oom ×1" for the non-zero categories, most specific first.
pub fn category_line(r: &ServiceReport) -> String {
    let parts: Vec<String> = r
        .categories
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(c, n)| format!("{c} ×{n}"))
        .collect();
    if parts.is_empty() {
        "no errors".into()
    } else {
        parts.join(", ")
    }
}

/// One line per service.
pub fn summary_lines(report: &Report) -> Vec<String> {
    let w = report
        .services
        .iter()
        .map(|s| s.service.len())
        .max()
        .unwrap_or(0)
        .max(8);
    report
        .services
        .iter()
        .map(|s| {
            let detail = match &s.error {
                Some(e) => e.clone(),
                None => format!(
                    "{} events, {} errors ({}), {} restarts{}",
                    s.events_scanned,
                    s.errors_total,
                    category_line(s),
                    s.restarts.count,
                    if s.truncated { ", truncated" } else { "" }
                ),
            };
            format!("{:<w$}  {:<10} {detail}", s.service, s.status.as_str())
        })
        .collect()
}

/// The full text report.
pub fn text(report: &Report) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "Diagnosis of cluster {} over {} minutes ({} to {}), trigger {}{}",
        report.cluster,
        report.window.minutes,
        fmt_time(report.window.start),
        fmt_time(report.window.end),
        report.trigger.kind,
        if report.trigger.detail.is_empty() {
            String::new()
        } else {
            format!(": {}", report.trigger.detail)
        }
    );
    for line in summary_lines(report) {
        let _ = writeln!(o, "  {line}");
    }
    for s in &report.services {
        if s.status == ServiceStatus::Healthy || s.status == ServiceStatus::NoLogs {
            continue;
        }
        let _ = writeln!(
            o,
            "\n== {} ({}) — {}",
            s.service,
            s.log_group,
            s.status.as_str().to_uppercase()
        );
        if let Some(e) = &s.error {
            let _ = writeln!(o, "  cannot read the logs: {e}");
        }
        if s.previous_window.errors_total > 0 || s.errors_total > 0 {
            let _ = writeln!(
                o,
                "  errors: {} now, {} in the previous {} minutes",
                s.errors_total, s.previous_window.errors_total, report.window.minutes
            );
        }
        for e in &s.top_errors {
            let _ = writeln!(
                o,
                "  {:>5} × {:<16} {}{}",
                e.count,
                e.category.as_str(),
                e.fingerprint,
                if e.new { "  [new]" } else { "" }
            );
            let first = e.sample.lines().next().unwrap_or_default();
            let _ = writeln!(
                o,
                "          e.g. {}",
                first.chars().take(160).collect::<String>()
            );
        }
        for u in &s.restarts.unavailable {
            let _ = writeln!(o, "  could not read {u}");
        }
        if !s.restarts.timeline.is_empty() {
            let _ = writeln!(o, "  restarts: {} (timeline)", s.restarts.count);
            for t in s.restarts.timeline.iter().rev().take(15).rev() {
                let _ = writeln!(o, "    {t}");
            }
        }
    }
    o
}

/// Subject (SNS: ASCII, under 100 characters) and body of the diagnose summary.
pub fn alert(report: &Report) -> (String, String) {
    let worst: Vec<&ServiceReport> = report
        .services
        .iter()
        .filter(|s| s.status.is_problem())
        .collect();
    let names: Vec<String> = worst
        .iter()
        .map(|s| format!("{} {}", s.service, s.status.as_str().to_uppercase()))
        .collect();
    let subject = crate::health::alert::subject_line(&format!(
        "[ecs-monitor] {} diagnose: {}",
        report.cluster,
        names.join(", ")
    ));
    (subject, text(report))
}

/// The SNS message of a diagnose report (same formats as the health alerts; `event` =
/// `diagnose.report`).
pub fn sns_message(report: &Report, report_url: &str) -> (String, String) {
    let (subject, mut text) = alert(report);
    text.push_str(&format!("\nFull report: {report_url}\n"));
    let mut description = String::new();
    for line in summary_lines(report) {
        description.push_str(&format!("• `{line}`\n"));
    }
    for s in report.services.iter().filter(|s| s.status.is_problem()) {
        for e in s.top_errors.iter().take(3) {
            description.push_str(&format!(
                "• *{}* {} × {}: {}\n",
                s.service,
                e.count,
                e.category.as_str(),
                e.fingerprint
            ));
        }
    }
    let chat = serde_json::json!({
        "version": "1.0",
        "source": "custom",
        "content": {
            "textType": "client-markdown",
            "title": format!(":mag: {}", subject.trim_start_matches("[ecs-monitor] ")),
            "description": description,
            "nextSteps": [format!("Full report: {report_url}")],
        },
        "metadata": {"threadId": format!("{}-diagnose", report.cluster), "summary": subject},
    });
    let machine = serde_json::json!({
        "source": "ecs-monitor",
        "schema_version": 1,
        "event": "diagnose.report",
        "cluster": report.cluster,
        "status": report.worst().as_str(),
        "report": report_url,
        "services": report.services.iter().map(|s| serde_json::json!({"service": s.service, "status": s.status.as_str(), "errors_total": s.errors_total, "restarts": s.restarts.count})).collect::<Vec<_>>(),
    })
    .to_string();
    let message = serde_json::json!({
        "default": text,
        "email": text,
        "https": chat.to_string(),
        "lambda": machine,
        "sqs": machine,
    })
    .to_string();
    (subject, message)
}
