//! Reports as text: the terminal view of `ecs-monitor logs diagnose` and the short summary
//! published to SNS.

use super::report::{DeploymentReport, Report, ServiceReport, ServiceStatus};
use crate::links::{self, EcsPage};
use crate::notify::{Card, Event, Message, Notification, ServiceRef};
use crate::timefmt::rfc3339 as fmt_time;
use std::fmt::Write;

/// Where to look next for one service: its errors in Logs Insights over the report's window,
/// its ECS events and, when tasks stopped, its stopped tasks.
struct ServiceLinks {
    logs: String,
    events: String,
    stopped: Option<String>,
}

/// `None` for a report without a region (written before reports carried it).
fn service_links(report: &Report, s: &ServiceReport) -> Option<ServiceLinks> {
    let region = report.region.as_str();
    if region.is_empty() {
        return None;
    }
    let ecs = |page| links::ecs_service(region, &report.cluster, &s.service, page);
    // Every group read: the main one and its sidecars'.
    let groups: Vec<&str> = if s.log_groups.is_empty() {
        vec![s.log_group.as_str()]
    } else {
        s.log_groups.iter().map(String::as_str).collect()
    };
    Some(ServiceLinks {
        logs: links::logs_insights(
            region,
            &groups,
            report.window.start,
            report.window.end,
            links::ERROR_QUERY,
        ),
        events: ecs(EcsPage::Events),
        stopped: (s.restarts.count > 0).then(|| ecs(EcsPage::StoppedTasks)),
    })
}

/// The report in the S3 console, when its URL is an S3 one and the region is known.
fn report_console(report: &Report, report_url: &str) -> Option<String> {
    (!report.region.is_empty())
        .then(|| links::s3_object(&report.region, report_url))
        .flatten()
}

/// The links of a service as text lines (email, terminal): whole, never cut.
fn link_lines(o: &mut String, links: &ServiceLinks) {
    let _ = writeln!(o, "  Logs Insights: {}", links.logs);
    let _ = writeln!(o, "  ECS events:    {}", links.events);
    if let Some(stopped) = &links.stopped {
        let _ = writeln!(o, "  Stopped tasks: {stopped}");
    }
}

/// Probable causes shown in a summary at most.
const SUMMARY_CAUSES: usize = 3;

/// The probable causes as text lines (the top [`SUMMARY_CAUSES`], each with its evidence),
/// or "no clear cause" said plainly.
fn cause_lines(report: &Report) -> Vec<String> {
    use crate::health::alert::cut;
    if report.probable_causes.is_empty() {
        return vec![
            "Probable cause: none clear (no memory kill, crash loop, failed start or health check, panic, unreachable dependency or new kind of error)".into(),
        ];
    }
    let mut lines = vec!["Probable cause:".to_string()];
    for (i, c) in report
        .probable_causes
        .iter()
        .take(SUMMARY_CAUSES)
        .enumerate()
    {
        lines.push(cut(format!("  {}. {}", i + 1, c.sentence)));
        for e in &c.evidence {
            lines.push(cut(format!("       {e}")));
        }
    }
    lines
}

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

/// "Diagnosis of cluster prod over 60 minutes (… to …), trigger sns: …".
fn headline(report: &Report) -> String {
    format!(
        "Diagnosis of cluster {} over {} minutes ({} to {}), trigger {}{}",
        report.display_name(),
        report.window.minutes,
        fmt_time(report.window.start),
        fmt_time(report.window.end),
        report.trigger.kind,
        if report.trigger.detail.is_empty() {
            String::new()
        } else {
            format!(": {}", report.trigger.detail)
        }
    )
}

/// "deployment ecs-svc/1 (app:43) FAILED at …, rolling back to app:42: why; 3 failed tasks".
fn deployment_line(d: &DeploymentReport) -> String {
    let mut line = format!(
        "deployment {}{} {}",
        d.id,
        d.task_definition
            .as_deref()
            .map(|r| format!(" ({r})"))
            .unwrap_or_default(),
        d.rollout_state.as_deref().unwrap_or("of unknown state")
    );
    if let Some(t) = d.started_at {
        let _ = write!(line, ", started {}", fmt_time(t));
    }
    if let Some(r) = &d.rolling_back_to {
        let _ = write!(line, ", rolling back to {r}");
    }
    if let Some(r) = &d.reason {
        let _ = write!(line, ": {r}");
    }
    if d.failed_tasks > 0 {
        let _ = write!(line, " ({} failed tasks)", d.failed_tasks);
    }
    line
}

/// The full text report.
pub fn text(report: &Report) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "{}", headline(report));
    for line in summary_lines(report) {
        let _ = writeln!(o, "  {line}");
    }
    if report.worst().is_problem() {
        let _ = writeln!(o);
        for line in cause_lines(report) {
            let _ = writeln!(o, "{line}");
        }
    }
    for s in &report.services {
        if s.status == ServiceStatus::Healthy || s.status == ServiceStatus::NoLogs {
            continue;
        }
        let groups = if s.log_groups.is_empty() {
            s.log_group.clone()
        } else {
            s.log_groups.join(", ")
        };
        let _ = writeln!(
            o,
            "\n== {} ({groups}) — {}",
            s.service,
            s.status.as_str().to_uppercase()
        );
        if let Some(e) = &s.error {
            let _ = writeln!(o, "  cannot read the logs: {e}");
        }
        for e in &s.log_group_errors {
            let _ = writeln!(o, "  cannot read the log group {e}");
        }
        if let Some(d) = &s.deployment {
            let _ = writeln!(o, "  {}", deployment_line(d));
        }
        if let Some(t) = &s.targets {
            let _ = writeln!(
                o,
                "  load balancer targets: {} of {} healthy",
                t.total - t.not_healthy.len(),
                t.total
            );
            for b in &t.not_healthy {
                let _ = writeln!(
                    o,
                    "    {} {} {}{}{}",
                    b.target_group,
                    b.target,
                    b.state,
                    b.reason
                        .as_deref()
                        .map(|r| format!(": {r}"))
                        .unwrap_or_default(),
                    b.description
                        .as_deref()
                        .map(|d| format!(" ({d})"))
                        .unwrap_or_default()
                );
            }
            for u in &t.unavailable {
                let _ = writeln!(o, "    could not read target group {u}");
            }
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
                if e.since_deployment {
                    "  [new since the deployment]"
                } else if e.new {
                    "  [new]"
                } else {
                    ""
                }
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
        for n in &s.restarts.notes {
            let _ = writeln!(o, "  note: {n}");
        }
        if !s.restarts.timeline.is_empty() {
            let _ = writeln!(o, "  restarts: {} (timeline)", s.restarts.count);
            for t in s.restarts.timeline.iter().rev().take(15).rev() {
                let _ = writeln!(o, "    {t}");
            }
        }
        for t in s
            .restarts
            .stopped_tasks
            .iter()
            .filter(|t| !t.last_lines.is_empty())
        {
            let limit = t
                .memory_limit_mib
                .map(|m| format!(" (memory limit {m} MiB)"))
                .unwrap_or_default();
            let _ = writeln!(o, "  task {} wrote last{limit}:", t.task);
            for l in &t.last_lines {
                let _ = writeln!(o, "    | {l}");
            }
        }
        if let Some(links) = service_links(report, s) {
            link_lines(&mut o, &links);
        }
    }
    o
}

/// SNS takes a message of at most 256 KiB (Publish, SNS API reference), the whole
/// `MessageStructure=json` document included.
pub const SNS_MAX_BYTES: usize = 256 * 1024;
/// Services named in a summary at most (as in the health alert), and detailed at most.
const SUMMARY_SERVICES: usize = crate::health::alert::MAX_ALERT_SERVICES;
const DETAILED_SERVICES: usize = 10;
/// Top errors of a detailed service in a summary.
const SUMMARY_ERRORS: usize = 3;

/// The services worth telling about, worst first.
fn problems(report: &Report) -> Vec<&ServiceReport> {
    let mut worst: Vec<&ServiceReport> = report
        .services
        .iter()
        .filter(|s| s.status.is_problem())
        .collect();
    worst.sort_by_key(|s| std::cmp::Reverse(s.status));
    worst
}

/// The subject (ASCII, under 100 characters).
fn subject(report: &Report, worst: &[&ServiceReport]) -> String {
    let names: Vec<String> = worst
        .iter()
        .map(|s| format!("{} {}", s.service, s.status.as_str().to_uppercase()))
        .collect();
    // The incident id (it starts with the cluster's name) in place of the cluster: the
    // subject names the incident the summary belongs to.
    let scope = report
        .trigger
        .incident_id
        .as_deref()
        .unwrap_or(report.display_name());
    crate::health::alert::subject_line(&format!(
        "[ecs-monitor] {scope} diagnose: {}",
        names.join(", ")
    ))
}

/// The email text of the summary: bounded whatever the incident's size (every line cut,
/// at most 50 services named and 10 detailed).
fn summary_text(report: &Report, worst: &[&ServiceReport], url: &str) -> String {
    use crate::health::alert::cut;
    let mut o = String::new();
    // The trigger's detail can be long (an alert of many issues): the line is cut.
    let _ = writeln!(o, "{}", cut(headline(report)));
    if let Some(incident) = &report.trigger.incident_id {
        let _ = writeln!(o, "{}", cut(format!("Incident {incident}.")));
    }
    // Why first: the causes lead, the counts follow.
    let _ = writeln!(o);
    for line in cause_lines(report) {
        let _ = writeln!(o, "{line}");
    }
    let _ = writeln!(
        o,
        "\n{} of {} services need attention:",
        worst.len(),
        report.services.len()
    );
    let lines = summary_lines(report);
    let mut named = 0;
    for (line, s) in lines.iter().zip(&report.services) {
        if s.status.is_problem() && named < SUMMARY_SERVICES {
            let _ = writeln!(o, "  {}", cut(line.clone()));
            named += 1;
        }
    }
    if worst.len() > named {
        let _ = writeln!(o, "  ... and {} more", worst.len() - named);
    }
    for s in worst.iter().take(DETAILED_SERVICES) {
        let _ = writeln!(
            o,
            "\n== {} — {}",
            s.service,
            s.status.as_str().to_uppercase()
        );
        if let Some(e) = &s.error {
            let _ = writeln!(o, "  {}", cut(format!("cannot read the logs: {e}")));
        }
        for e in s.top_errors.iter().take(SUMMARY_ERRORS) {
            let line = format!("{} × {} {}", e.count, e.category.as_str(), e.fingerprint);
            let _ = writeln!(o, "  {}", cut(line));
        }
        if s.restarts.count > 0 {
            let _ = writeln!(o, "  {} abnormal task stops", s.restarts.count);
        }
        if let Some(links) = service_links(report, s) {
            link_lines(&mut o, &links);
        }
    }
    if worst.len() > DETAILED_SERVICES {
        let _ = writeln!(
            o,
            "\n{} more services are in the full report.",
            worst.len() - DETAILED_SERVICES
        );
    }
    let _ = writeln!(o, "\nFull report: {url}");
    if let Some(console) = report_console(report, url) {
        let _ = writeln!(o, "In the S3 console: {console}");
    }
    o
}

/// The diagnose summary as one notification (the health alerts' formats: text for email,
/// the Amazon Q custom notification for Slack, a machine message for programs with `event` =
/// `diagnose.report`), whose SNS document is always within [`SNS_MAX_BYTES`].
pub fn notification(report: &Report, report_url: &str) -> Notification {
    use crate::health::alert::cut;
    let worst = problems(report);
    let subject = subject(report, &worst);
    let mut description = String::new();
    match report.probable_causes.as_slice() {
        [] => description.push_str("*Probable cause:* none clear\n"),
        causes => {
            description.push_str("*Probable cause*\n");
            for (i, c) in causes.iter().take(SUMMARY_CAUSES).enumerate() {
                let _ = writeln!(description, "{}. {}", i + 1, cut(c.sentence.clone()));
                if let Some(e) = c.evidence.first() {
                    let _ = writeln!(description, "    {}", cut(e.clone()));
                }
            }
        }
    }
    for s in worst.iter().take(DETAILED_SERVICES) {
        let _ = writeln!(
            description,
            "• *{}* {}: {} errors, {} restarts",
            s.service,
            s.status.as_str(),
            s.errors_total,
            s.restarts.count
        );
        for e in s.top_errors.iter().take(SUMMARY_ERRORS) {
            let line = format!("{} × {}: {}", e.count, e.category.as_str(), e.fingerprint);
            let _ = writeln!(description, "    {}", crate::health::alert::cut(line));
        }
        // Slack's link syntax: Amazon Q renders `client-markdown` in the chat platform's own
        // markdown (custom notifications, Amazon Q Developer in chat applications guide).
        if let Some(links) = service_links(report, s) {
            let _ = write!(
                description,
                "    <{}|Logs Insights> · <{}|ECS events>",
                links.logs, links.events
            );
            if let Some(stopped) = &links.stopped {
                let _ = write!(description, " · <{stopped}|stopped tasks>");
            }
            description.push('\n');
        }
    }
    if worst.len() > DETAILED_SERVICES {
        let _ = writeln!(
            description,
            "• … and {} more services",
            worst.len() - DETAILED_SERVICES
        );
    }
    let card = |description: String| {
        Card::new(
            format!(":mag: {}", subject.trim_start_matches("[ecs-monitor] ")),
            description,
            match report_console(report, report_url) {
                Some(console) => vec![format!("Full report: <{console}|{report_url}>")],
                None => vec![format!("Full report: {report_url}")],
            },
            // One incident, one thread: the health alert's, when the alert started this.
            report
                .trigger
                .incident_id
                .clone()
                .or_else(|| report.trigger.thread.clone())
                .unwrap_or_else(|| format!("{}-diagnose", report.display_name())),
            subject.clone(),
            Default::default(),
        )
    };
    let message = |services: &[&ServiceReport]| Message {
        report: Some(report_url.to_string()),
        subject: Some(subject.clone()),
        services: services
            .iter()
            .map(|s| ServiceRef::Findings {
                service: s.service.clone(),
                status: s.status.as_str().to_string(),
                errors_total: s.errors_total,
                restarts: s.restarts.count,
            })
            .collect(),
        services_total: Some(worst.len()),
        incident_id: report.trigger.incident_id.clone(),
        // The probable causes, for programs (a pager's details): the three most severe.
        issues: Some(
            report
                .probable_causes
                .iter()
                .take(3)
                .map(|c| c.sentence.clone())
                .collect(),
        )
        .filter(|c: &Vec<String>| !c.is_empty()),
        region: Some(report.region.clone()).filter(|r| !r.is_empty()),
        account: report.account.clone(),
        ..Message::new(
            Event::DiagnoseReport,
            &report.cluster,
            report.worst().as_str(),
        )
    };
    let named: Vec<&ServiceReport> = worst.iter().take(SUMMARY_SERVICES).copied().collect();
    let full = Notification {
        subject: subject.clone(),
        text: summary_text(report, &worst, report_url),
        card: card(description),
        message: message(&named),
    };
    if full.document().len() <= SNS_MAX_BYTES {
        return full;
    }
    // Bounded by construction; should a future field break that, a short message still goes.
    let short = format!(
        "{subject}\n{} services need attention. Full report: {report_url}\n",
        worst.len()
    );
    Notification {
        subject: subject.clone(),
        text: short.clone(),
        card: card(short),
        message: message(&[]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::Category;
    use crate::diagnose::report::*;
    use std::collections::BTreeMap;
    use time::macros::datetime;

    fn service(i: usize) -> ServiceReport {
        let t = datetime!(2026-11-29 14:00:00 UTC);
        let long = "x".repeat(20_000);
        ServiceReport {
            service: format!("service-with-a-long-name-{i:03}-{}", "s".repeat(60)),
            log_group: format!("/ecs/service-{i}"),
            log_groups: vec![],
            log_group_errors: vec![],
            status: ServiceStatus::Critical,
            events_scanned: 1_000_000,
            health_noise: 0,
            errors_total: 50_000,
            categories: BTreeMap::from([(Category::Panic, 10), (Category::Error, 49_990)]),
            http_status: BTreeMap::new(),
            top_errors: (0..10)
                .map(|e| TopError {
                    fingerprint: format!("ERROR distinct failure {e} of {i}: {long}"),
                    category: Category::Error,
                    count: 5000,
                    first_seen: t,
                    last_seen: t,
                    sample: format!("ERROR distinct failure {e}: {long}"),
                    new: true,
                    since_deployment: false,
                })
                .collect(),
            restarts: Restarts::default(),
            previous_window: Counts::default(),
            truncated: false,
            error: None,
            deployment: None,
            targets: None,
            errors_over_time: None,
        }
    }

    /// Diagnose's EMF records: per service its errors and restarts, and one record per
    /// category, zeros included; a service that could not be read has none.
    #[test]
    fn metrics_of_a_report() {
        use crate::metrics::{MetricsConfig, check_emf, diagnose};
        let t = datetime!(2026-11-29 14:00:00 UTC);
        let mut broken = service(1);
        broken.error = Some("AccessDenied".into());
        let report = crate::ports::fakes::report(t, "manual", vec![service(0), broken]);
        let cfg = MetricsConfig {
            namespace: "ECSMonitor".into(),
            detailed: false,
        };
        let records: Vec<_> = diagnose(&report, &cfg)
            .iter()
            .map(|l| check_emf(l).unwrap())
            .collect();
        assert_eq!(records.len(), 1 + Category::PRIORITY.len());
        assert_eq!(records[0]["Errors"], 50_000);
        assert_eq!(records[0]["Restarts"], 0);
        let by_category = |c: Category| {
            records
                .iter()
                .find(|r| r.get("Category") == Some(&c.as_str().into()))
                .unwrap()["Errors"]
                .clone()
        };
        assert_eq!(by_category(Category::Panic), 10);
        assert_eq!(by_category(Category::Oom), 0, "a zero is written");
        assert!(
            records
                .iter()
                .all(|r| r["Service"] == report.services[0].service)
        );
    }

    /// SNS refuses messages over 256 KiB: 50 failing services, each with ten distinct errors
    /// of 20 KB, still make one summary that fits, naming every service.
    #[test]
    fn the_summary_of_a_huge_incident_fits_one_sns_message() {
        let t = datetime!(2026-11-29 14:00:00 UTC);
        let report = crate::ports::fakes::report(
            t,
            &"health.unhealthy prod-20261129T140000Z".repeat(1000),
            (0..50).map(service).collect(),
        );
        let n = notification(&report, "s3://b/reports/prod/r.json");
        let (subject, message) = (n.subject.clone(), n.document());
        println!(
            "50 services × 10 errors of 20 KB: a summary of {} bytes",
            message.len()
        );
        assert!(message.len() <= SNS_MAX_BYTES, "{} bytes", message.len());
        assert!(subject.len() < 100, "{subject}");
        let doc: serde_json::Value = serde_json::from_str(&message).unwrap();
        let text = doc["email"].as_str().unwrap();
        assert!(text.contains("50 of 50 services need attention"), "{text}");
        assert_eq!(
            text.matches("service-with-a-long-name-").count(),
            50 + 10 + 10,
            "named, then detailed, with the ECS link of each detailed one"
        );
        assert!(text.contains("40 more services are in the full report"));
        let machine: serde_json::Value =
            serde_json::from_str(doc["lambda"].as_str().unwrap()).unwrap();
        assert_eq!(machine["services"].as_array().unwrap().len(), 50);
        let card: serde_json::Value = serde_json::from_str(doc["https"].as_str().unwrap()).unwrap();
        assert_eq!(card["source"], "custom");
    }

    /// Email, Slack and the terminal report carry the console links of each failing service
    /// and of the report; a report without a region (older ones) carries none.
    #[test]
    fn summaries_link_to_the_logs_the_service_and_the_report() {
        let t = datetime!(2026-11-29 14:00:00 UTC);
        let mut api = service(1);
        api.service = "api".into();
        api.log_group = "/ecs/api".into();
        api.top_errors.truncate(1);
        api.restarts.count = 2;
        let mut web = service(2);
        web.service = "web".into();
        web.log_group = "/ecs/web".into();
        web.top_errors.truncate(1);
        let mut report = crate::ports::fakes::report(t, "health.degraded", vec![api, web]);
        report.window.start = t - time::Duration::hours(1);
        let url = "s3://ops/reports/prod/r.json";
        let n = notification(&report, url);

        let insights = links::logs_insights(
            "us-east-1",
            &["/ecs/api"],
            report.window.start,
            report.window.end,
            links::ERROR_QUERY,
        );
        let events = links::ecs_service("us-east-1", "prod", "api", EcsPage::Events);
        let stopped = links::ecs_service("us-east-1", "prod", "api", EcsPage::StoppedTasks);
        let console = links::s3_object("us-east-1", url).unwrap();
        for (what, text) in [("email", &n.text), ("terminal", &text(&report))] {
            assert!(
                text.contains(&format!("Logs Insights: {insights}\n")),
                "{what}: {text}"
            );
            assert!(
                text.contains(&format!("ECS events:    {events}\n")),
                "{what}"
            );
            assert!(
                text.contains(&format!("Stopped tasks: {stopped}\n")),
                "{what}"
            );
            assert!(
                !text.contains("services/web/tasks?status=STOPPED"),
                "{what}: no stopped-task link without stopped tasks"
            );
            assert!(text.contains("services/web/events?"), "{what}");
        }
        assert!(n.text.contains(&format!("In the S3 console: {console}\n")));
        let card = &n.card.content;
        assert!(
            card.description.contains(&format!(
                "<{insights}|Logs Insights> · <{events}|ECS events> · <{stopped}|stopped tasks>"
            )),
            "{}",
            card.description
        );
        assert_eq!(card.next_steps, [format!("Full report: <{console}|{url}>")]);

        // Not started by a health alert: its own thread.
        assert_eq!(n.card.metadata.thread_id, "prod-diagnose");
        assert_eq!(n.message.incident_id, None);
        assert!(n.subject.starts_with("[ecs-monitor] prod diagnose: "));

        report.region.clear();
        let old = notification(&report, url);
        assert!(!old.text.contains("console.aws.amazon.com"), "{}", old.text);
        assert!(
            !old.card
                .content
                .description
                .contains("console.aws.amazon.com")
        );
        assert_eq!(old.card.content.next_steps, [format!("Full report: {url}")]);
    }

    /// A diagnosis started by a health alert posts into the alert's thread and names its
    /// incident in the subject, the text and the machine message.
    #[test]
    fn the_summary_of_an_alert_joins_its_incident_thread() {
        let t = datetime!(2026-11-29 14:00:00 UTC);
        let mut api = service(1);
        api.service = "api".into();
        api.top_errors.truncate(1);
        let mut report =
            crate::ports::fakes::report(t, "health.degraded prod-20261129T135500Z", vec![api]);
        report.trigger.incident_id = Some("prod-20261129T135500Z".into());
        let n = notification(&report, "s3://b/r.json");
        assert_eq!(n.card.metadata.thread_id, "prod-20261129T135500Z");
        assert_eq!(
            n.message.incident_id.as_deref(),
            Some("prod-20261129T135500Z")
        );
        assert_eq!(
            n.subject,
            "[ecs-monitor] prod-20261129T135500Z diagnose: api CRITICAL"
        );
        assert!(
            n.text.contains("\nIncident prod-20261129T135500Z.\n"),
            "{}",
            n.text
        );
        let doc: serde_json::Value = serde_json::from_str(&n.document()).unwrap();
        let machine: serde_json::Value =
            serde_json::from_str(doc["lambda"].as_str().unwrap()).unwrap();
        assert_eq!(machine["incident_id"], "prod-20261129T135500Z");
        let card: serde_json::Value = serde_json::from_str(doc["https"].as_str().unwrap()).unwrap();
        assert_eq!(card["metadata"]["threadId"], "prod-20261129T135500Z");
    }

    /// The probable causes lead the email, the Slack card and the text view (the top three,
    /// with their evidence); without one, "none clear" is said plainly.
    #[test]
    fn summaries_lead_with_the_probable_cause() {
        use crate::diagnose::cause::{Cause, CauseKind};
        let t = datetime!(2026-11-29 14:00:00 UTC);
        let mut api = service(1);
        api.service = "api".into();
        api.top_errors.truncate(1);
        let mut report = crate::ports::fakes::report(t, "manual", vec![api]);
        report.probable_causes = (1..=4)
            .map(|i| Cause {
                service: "api".into(),
                kind: CauseKind::OomKilled,
                sentence: format!("cause {i}"),
                evidence: vec![format!("evidence {i}a"), format!("evidence {i}b")],
            })
            .collect();
        let n = notification(&report, "s3://b/r.json");
        let cause_at = n.text.find(
            "Probable cause:\n  1. cause 1\n       evidence 1a\n       evidence 1b\n  2. cause 2\n",
        );
        let counts_at = n.text.find("services need attention");
        assert!(cause_at.is_some() && cause_at < counts_at, "{}", n.text);
        assert!(n.text.contains("  3. cause 3\n") && !n.text.contains("cause 4"));
        assert!(
            n.card
                .content
                .description
                .starts_with("*Probable cause*\n1. cause 1\n    evidence 1a\n2. cause 2\n"),
            "{}",
            n.card.content.description
        );
        assert!(text(&report).contains("\nProbable cause:\n  1. cause 1\n"));

        report.probable_causes.clear();
        let n = notification(&report, "s3://b/r.json");
        assert!(
            n.text.contains("\nProbable cause: none clear ("),
            "{}",
            n.text
        );
        assert!(
            n.card
                .content
                .description
                .starts_with("*Probable cause:* none clear\n")
        );
    }
}
