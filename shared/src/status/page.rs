//! `status/index.html`: the cluster at a glance, rendered from the rollup, the latest state
//! and the report index. Static: no script, no external resource, inline SVG; it works from
//! S3, CloudFront or a file on disk alike.

use super::ReportEntry;
use super::html::{esc, page, percent, sparkline};
use super::rollup::{Check, Kind, Period, Rollup};
use crate::health::model::State;
use crate::timefmt::rfc3339;
use std::fmt::Write;
use time::OffsetDateTime;

/// Reports listed on the page.
pub const PAGE_REPORTS: usize = 10;

/// Where the page links to the reports: the path from the page to the reports' folder
/// (relative, so the links work wherever the bucket's keys are served from, CloudFront or a
/// copy on disk); `None`: no links.
pub struct Links<'a> {
    pub reports: Option<&'a str>,
}

/// A day's bar class: no run, no failure, failures in at most 5 % of runs, more.
fn bar_class(p: Option<&Period>) -> &'static str {
    match p {
        None => "none",
        Some(p) if p.runs == 0 => "none",
        Some(p) if p.failures == 0 => "ok",
        Some(p) if u64::from(p.failures) * 20 <= u64::from(p.runs) => "partial",
        Some(_) => "bad",
    }
}

fn uptime_text(u: Option<f64>) -> String {
    u.map(percent).unwrap_or_else(|| "–".into())
}

fn bars(check: &Check, now: OffsetDateTime) -> String {
    let days = check.bars(now);
    let w = 6.0;
    let mut svg = format!(
        "<svg class=\"bars\" viewBox=\"0 0 {} 28\" preserveAspectRatio=\"none\" role=\"img\" aria-label=\"{} days of {}\">",
        days.len() as f64 * w,
        days.len(),
        esc(&check.name)
    );
    for (i, (day, p)) in days.iter().enumerate() {
        let title = match p {
            Some(p) if p.runs > 0 => format!(
                "{day}: {} runs, {} failed ({})",
                p.runs,
                p.failures,
                percent(f64::from(p.runs - p.failures) / f64::from(p.runs))
            ),
            _ => format!("{day}: no data"),
        };
        let _ = write!(
            svg,
            "<rect class=\"{}\" x=\"{:.1}\" y=\"0\" width=\"{:.1}\" height=\"28\"><title>{}</title></rect>",
            bar_class(*p),
            i as f64 * w + 0.5,
            w - 1.5,
            esc(&title)
        );
    }
    svg.push_str("</svg>");
    svg
}

fn check_block(check: &Check, now: OffsetDateTime, extra: &str) -> String {
    let kind = match check.kind {
        Kind::Cluster => "cluster",
        Kind::Service => "service",
        Kind::Endpoint => "endpoint",
    };
    let mut uptimes = String::new();
    for (label, u) in [
        ("24 h", check.uptime_hours(now)),
        ("7 d", check.uptime_days(now, 7)),
        ("30 d", check.uptime_days(now, 30)),
        ("90 d", check.uptime_days(now, 90)),
    ] {
        let _ = write!(
            uptimes,
            "<span class=\"uptime\" data-window=\"{label}\">{label} <b>{}</b></span>",
            uptime_text(u)
        );
    }
    format!(
        "<div class=\"check\" data-kind=\"{kind}\" data-name=\"{name}\" data-status=\"{st}\">\
         <div class=\"row\"><span class=\"name\">{name}</span><span class=\"pill {st}\">{st}</span>{uptimes}{extra}</div>\
         {bars}</div>\n",
        name = esc(&check.name),
        st = check.status.as_str(),
        bars = bars(check, now),
    )
}

fn latency(check: &Check, now: OffsetDateTime) -> String {
    let day = check.last_day(now);
    let Some(p50) = day.percentile(0.5) else {
        return String::new();
    };
    let p95 = day
        .percentile(0.95)
        .map_or("> 60 s".into(), |v| format!("{v} ms"));
    let p99 = day
        .percentile(0.99)
        .map_or("> 60 s".into(), |v| format!("{v} ms"));
    let hourly: Vec<u32> = check.hourly_p50(now).into_iter().map(|(_, v)| v).collect();
    format!(
        "<span class=\"uptime latency\">24 h latency p50 ≤ <b>{p50} ms</b>, p95 ≤ {p95}, p99 ≤ {p99}</span>{}",
        sparkline(&hourly, "median latency per hour, last 24 hours")
    )
}

/// The page.
pub fn render(
    rollup: &Rollup,
    state: &State,
    reports: &[ReportEntry],
    links: &Links<'_>,
    now: OffsetDateTime,
) -> String {
    let mut body = String::new();
    let overall = state.overall.as_str();
    let since = state
        .alerting
        .status_since
        .map(|t| format!(" since {}", rfc3339(t)))
        .unwrap_or_default();
    let _ = writeln!(
        body,
        "<header class=\"banner {overall}\" id=\"overall\" data-overall=\"{overall}\">\
         <h1>{cluster}: {upper}</h1><div>{region} · checked {checked}{since}</div></header>",
        cluster = esc(state.display_name()),
        upper = overall.to_uppercase(),
        region = esc(&state.region),
        checked = rfc3339(state.checked_at),
    );
    if !state.issues.is_empty() {
        body.push_str("<ul id=\"issues\">");
        for i in &state.issues {
            let _ = write!(body, "<li>{}</li>", esc(i));
        }
        body.push_str("</ul>\n");
    }
    if !state.silenced.is_empty() {
        body.push_str("<p class=\"muted\" id=\"silenced\">Silenced: ");
        let list: Vec<String> = state
            .silenced
            .iter()
            .map(|s| {
                let what = if s.whole_cluster() {
                    "the cluster".to_string()
                } else {
                    s.services.join(", ")
                };
                esc(&format!("{what} until {}: {}", rfc3339(s.until), s.reason))
            })
            .collect();
        body.push_str(&list.join("; "));
        body.push_str("</p>\n");
    }
    let of_kind = |k: Kind| rollup.checks.values().filter(move |c| c.kind == k);
    if let Some(cluster) = of_kind(Kind::Cluster).next() {
        body.push_str("<section id=\"cluster\"><h2>Cluster</h2>\n");
        body.push_str(&check_block(cluster, now, ""));
        body.push_str("</section>\n");
    }
    // Only what the latest run still saw: a service removed from the cluster keeps its
    // history in the rollup until it ages out, but is no longer on the page.
    let current = |c: &&Check| c.last_seen >= state.checked_at;
    body.push_str("<section id=\"services\"><h2>Services</h2>\n");
    let mut any = false;
    for c in of_kind(Kind::Service).filter(current) {
        body.push_str(&check_block(c, now, ""));
        any = true;
    }
    if !any {
        body.push_str("<p class=\"muted\">No service was checked.</p>\n");
    }
    body.push_str("</section>\n");
    let endpoints: Vec<&Check> = of_kind(Kind::Endpoint).filter(current).collect();
    if !endpoints.is_empty() {
        body.push_str("<section id=\"endpoints\"><h2>Endpoints</h2>\n");
        for c in endpoints {
            body.push_str(&check_block(c, now, &latency(c, now)));
        }
        body.push_str("</section>\n");
    }
    if !state.tls.is_empty() {
        body.push_str(
            "<section id=\"certificates\"><h2>Certificates</h2><table><tr><th>host</th>\
             <th class=\"num\">days left</th><th>expires</th><th>issuer</th><th>status</th></tr>\n",
        );
        for t in &state.tls {
            let _ = writeln!(
                body,
                "<tr data-host=\"{h}\"><td>{h}</td><td class=\"num\">{d}</td><td>{e}</td><td>{i}</td>\
                 <td><span class=\"pill {o}\">{s}</span>{err}</td></tr>",
                h = esc(&t.host),
                d = t.days_left.map_or("–".into(), |d| d.to_string()),
                e = t.not_after.map(rfc3339).unwrap_or_default(),
                i = esc(t.issuer.as_deref().unwrap_or_default()),
                o = t.status.overall().as_str(),
                s = t.status.as_str(),
                err = t
                    .error
                    .as_deref()
                    .map(|e| format!(" {}", esc(e)))
                    .unwrap_or_default(),
            );
        }
        body.push_str("</table></section>\n");
    }
    body.push_str("<section id=\"incidents\"><h2>Incidents</h2>\n");
    if rollup.incidents.is_empty() {
        body.push_str("<p class=\"muted\">None recorded.</p>\n");
    } else {
        body.push_str("<table><tr><th>incident</th><th>started</th><th>ended</th><th>worst</th><th>issues</th></tr>\n");
        for i in rollup.incidents.iter().rev() {
            let ended = i.ended.map(rfc3339).unwrap_or_else(|| "open".into());
            let issues: Vec<String> = i.issues.iter().map(|s| esc(s)).collect();
            let _ = writeln!(
                body,
                "<tr data-open=\"{}\"><td>{}</td><td>{}</td><td>{ended}</td><td><span class=\"pill {w}\">{w}</span></td><td>{}</td></tr>",
                i.ended.is_none(),
                esc(&i.id),
                rfc3339(i.started),
                issues.join("<br>"),
                w = i.worst.as_str(),
            );
        }
        body.push_str("</table>\n");
    }
    body.push_str("</section>\n<section id=\"reports\"><h2>Latest diagnoses</h2>\n");
    if reports.is_empty() {
        body.push_str("<p class=\"muted\">None yet.</p>\n");
    } else {
        body.push_str(
            "<table><tr><th>when</th><th>status</th><th>services</th><th>finding</th></tr>\n",
        );
        for r in reports.iter().take(PAGE_REPORTS) {
            let when = esc(&rfc3339(r.generated_at));
            let when = match links.reports {
                Some(base) => format!("<a href=\"{}{}\">{when}</a>", esc(base), esc(&r.html)),
                None => when,
            };
            let _ = writeln!(
                body,
                "<tr><td>{when}</td><td><span class=\"pill {s}\">{s}</span></td><td>{}</td><td>{}</td></tr>",
                esc(&r.services.join(", ")),
                esc(&r.headline),
                s = esc(&r.status),
            );
        }
        body.push_str("</table>\n");
    }
    body.push_str("</section>\n");
    let _ = writeln!(
        body,
        "<footer><p>ecs-monitor {} · rendered {} · times are UTC · a bar is a day: green no \
         failed check, amber failures in at most 5 % of the runs, red more, grey no data · \
         latency percentiles are bucketed (each at most one step high)</p></footer>",
        crate::VERSION,
        rfc3339(now)
    );
    page(
        &format!("{}: {} · ecs-monitor", state.display_name(), overall),
        &body,
    )
}
