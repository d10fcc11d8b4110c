//! The report as a page, written beside its JSON: probable causes, per service its
//! categories, a chart of its errors over the window, its top errors with samples and its
//! restart timeline. Static like the status page; every text from the logs is escaped.

use super::report::{Report, ServiceReport};
use crate::status::html::{bar_chart, esc, page};
use crate::timefmt::rfc3339;
use std::fmt::Write;

fn chart(r: &ServiceReport, report: &Report) -> String {
    let Some(series) = &r.errors_over_time else {
        return String::new();
    };
    if series.counts.iter().all(|n| *n == 0) {
        return "<p class=\"muted\">No errors in the window.</p>".into();
    }
    let step = time::Duration::minutes(i64::from(series.bucket_minutes));
    let start = report.window.start;
    let svg = bar_chart(&series.counts, |i| {
        let from = start + step * i as u32;
        format!(
            "{}: {} errors",
            rfc3339(from),
            series.counts.get(i).copied().unwrap_or(0)
        )
    });
    format!(
        "<figure class=\"errors\" data-buckets=\"{}\">{svg}<figcaption class=\"muted\">errors per {} min, {} to {}</figcaption></figure>",
        series.counts.len(),
        series.bucket_minutes,
        rfc3339(report.window.start),
        rfc3339(report.window.end)
    )
}

fn service_section(r: &ServiceReport, report: &Report) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<section class=\"service\" data-service=\"{name}\" data-status=\"{st}\">\
         <h2>{name} <span class=\"pill {st}\">{st}</span></h2>\n\
         <p class=\"muted\">{groups} · {scanned} events read, {noise} health checks filtered, {errors} errors{trunc}</p>\n",
        name = esc(&r.service),
        st = r.status.as_str(),
        groups = esc(&if r.log_groups.is_empty() {
            r.log_group.clone()
        } else {
            r.log_groups.join(", ")
        }),
        scanned = r.events_scanned,
        noise = r.health_noise,
        errors = r.errors_total,
        trunc = if r.truncated {
            " (stopped at the event limit)"
        } else {
            ""
        },
    );
    if let Some(e) = &r.error {
        let _ = writeln!(out, "<p class=\"error\">Not read: {}</p>", esc(e));
    }
    for e in &r.log_group_errors {
        let _ = writeln!(out, "<p class=\"error\">Not read: {}</p>", esc(e));
    }
    out.push_str(&chart(r, report));
    let counted: Vec<_> = r.categories.iter().filter(|(_, n)| **n > 0).collect();
    if !counted.is_empty() {
        out.push_str("<h3>Categories</h3><table class=\"categories\"><tr><th>category</th><th class=\"num\">now</th><th class=\"num\">previous window</th></tr>\n");
        for (c, n) in counted {
            let _ = writeln!(
                out,
                "<tr data-category=\"{c}\"><td>{c}</td><td class=\"num\">{n}</td><td class=\"num\">{}</td></tr>",
                r.previous_window.categories.get(c).copied().unwrap_or(0),
                c = c.as_str(),
            );
        }
        out.push_str("</table>\n");
    }
    if !r.top_errors.is_empty() {
        out.push_str("<h3>Top errors</h3>\n");
        for e in &r.top_errors {
            let mut tags = Vec::new();
            if e.new {
                tags.push("new");
            }
            if e.since_deployment {
                tags.push("since the deployment");
            }
            let _ = writeln!(
                out,
                "<div class=\"top-error\"><p><b>{count}×</b> <span class=\"pill\">{cat}</span> {fp}{tags}<br>\
                 <span class=\"muted\">{first} – {last}</span></p><pre>{sample}</pre></div>",
                count = e.count,
                cat = e.category.as_str(),
                fp = esc(&e.fingerprint),
                tags = if tags.is_empty() {
                    String::new()
                } else {
                    format!(" <i>({})</i>", tags.join(", "))
                },
                first = rfc3339(e.first_seen),
                last = rfc3339(e.last_seen),
                sample = esc(&e.sample),
            );
        }
    }
    let restarts = &r.restarts;
    if restarts.count > 0 || !restarts.timeline.is_empty() {
        let _ = writeln!(
            out,
            "<h3>Restarts: {}</h3><ol class=\"timeline\">",
            restarts.count
        );
        for line in &restarts.timeline {
            let _ = write!(out, "<li>{}</li>", esc(line));
        }
        out.push_str("</ol>\n");
        for u in &restarts.unavailable {
            let _ = writeln!(out, "<p class=\"muted\">Not available: {}</p>", esc(u));
        }
    }
    out.push_str("</section>\n");
    out
}

/// The page of `report`.
pub fn render(report: &Report) -> String {
    let worst = report.worst().as_str();
    let mut body = String::new();
    let _ = writeln!(
        body,
        "<header class=\"banner {worst}\" data-status=\"{worst}\"><h1>{cluster}: diagnosis, {worst}</h1>\
         <div>{start} to {end} ({minutes} min) · {kind}: {detail}</div></header>",
        cluster = esc(report.display_name()),
        start = rfc3339(report.window.start),
        end = rfc3339(report.window.end),
        minutes = report.window.minutes,
        kind = esc(&report.trigger.kind),
        detail = esc(&report.trigger.detail),
    );
    body.push_str("<section id=\"causes\"><h2>Probable causes</h2>\n");
    if report.probable_causes.is_empty() {
        body.push_str("<p class=\"muted\">No clear cause in the evidence read.</p>\n");
    } else {
        body.push_str("<ol>");
        for c in &report.probable_causes {
            let _ = write!(
                body,
                "<li data-kind=\"{:?}\"><b>{}</b>",
                c.kind,
                esc(&c.sentence)
            );
            if !c.evidence.is_empty() {
                body.push_str("<ul>");
                for e in &c.evidence {
                    let _ = write!(body, "<li>{}</li>", esc(e));
                }
                body.push_str("</ul>");
            }
            body.push_str("</li>\n");
        }
        body.push_str("</ol>\n");
    }
    body.push_str("</section>\n");
    // The services that need attention first, as the summary orders them.
    let mut services: Vec<&ServiceReport> = report.services.iter().collect();
    services.sort_by(|a, b| b.status.cmp(&a.status).then(a.service.cmp(&b.service)));
    for s in services {
        body.push_str(&service_section(s, report));
    }
    let _ = writeln!(
        body,
        "<footer><p>ecs-monitor {} · generated {} · times are UTC · the JSON beside this page \
         has every field</p></footer>",
        crate::VERSION,
        rfc3339(report.generated_at)
    );
    page(
        &format!(
            "{}: diagnosis {}",
            report.display_name(),
            rfc3339(report.generated_at)
        ),
        &body,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::Category;
    use crate::diagnose::report::*;
    use std::collections::BTreeMap;
    use time::macros::datetime;

    /// Log text is shown, never run: a sample or a fingerprint with markup stays text; the
    /// chart has a bar per bucket with errors.
    #[test]
    fn the_report_page_escapes_log_text_and_charts_errors() {
        let t = datetime!(2026-12-06 12:00:00 UTC);
        let per_minute = BTreeMap::from([
            (t.unix_timestamp() / 60 - 50, 3),
            (t.unix_timestamp() / 60 - 5, 7),
        ]);
        let service = ServiceReport {
            service: "api".into(),
            log_group: "/ecs/api".into(),
            log_groups: vec![],
            log_group_errors: vec![],
            status: ServiceStatus::Critical,
            events_scanned: 100,
            health_noise: 10,
            errors_total: 10,
            categories: BTreeMap::from([(Category::Error, 10)]),
            http_status: BTreeMap::new(),
            top_errors: vec![TopError {
                fingerprint: "ERROR <script>alert(1)</script> in <N>".into(),
                category: Category::Error,
                count: 10,
                first_seen: t,
                last_seen: t,
                sample: "ERROR <script>alert(1)</script>\n\tat <img src=x onerror=y>".into(),
                new: true,
                since_deployment: false,
            }],
            restarts: Restarts::default(),
            previous_window: Counts::default(),
            truncated: false,
            error: None,
            deployment: None,
            targets: None,
            errors_over_time: Some(ErrorSeries::from_minutes(
                &per_minute,
                (t - time::Duration::hours(1)).unix_timestamp() * 1000,
                t.unix_timestamp() * 1000,
            )),
        };
        let series = service.errors_over_time.clone().unwrap();
        assert_eq!((series.bucket_minutes, series.counts.len()), (2, 31));
        assert_eq!(series.counts.iter().sum::<u64>(), 10);
        let mut report = crate::ports::fakes::report(t, "manual <b>", vec![service]);
        report.window.start = t - time::Duration::hours(1);
        let html = render(&report);
        assert!(!html.contains("<script") && !html.contains("<img") && !html.contains("<b>\""));
        assert!(html.contains("ERROR &lt;script&gt;alert(1)&lt;/script&gt;"));
        assert_eq!(html.matches("<rect ").count(), 2, "two buckets with errors");
        assert!(html.contains("data-count=\"7\""));
        assert!(html.contains("data-service=\"api\" data-status=\"critical\""));
    }
}
