//! Fleet mode's overview page, `<StatePrefix>.fleet/index.html`: every cluster of the last
//! run, by region, with its status, its first issue and a link to its own page. Rendered by
//! the last invocation of a run from the summaries its shards left (one read per shard).

use super::html::{esc, page};
use crate::timefmt::rfc3339;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write;
use time::OffsetDateTime;

/// One cluster as a shard saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterRow {
    pub label: String,
    pub region: String,
    /// `healthy`, `degraded`, `unhealthy`; `None`: it could not be checked (`issue` says why).
    pub overall: Option<String>,
    pub issue: Option<String>,
    /// Its page, from the overview's folder.
    pub page: Option<String>,
}

/// The page of `rows` at `now`.
pub fn render(rows: &[ClusterRow], now: OffsetDateTime) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for r in rows {
        *counts
            .entry(r.overall.as_deref().unwrap_or("error"))
            .or_default() += 1;
    }
    let worst = ["error", "unhealthy", "degraded"]
        .into_iter()
        .find(|s| counts.contains_key(s))
        .unwrap_or("healthy");
    let summary: Vec<String> = counts.iter().map(|(s, n)| format!("{n} {s}")).collect();
    let mut body = String::new();
    let _ = writeln!(
        body,
        "<header class=\"banner {worst}\" id=\"overall\" data-overall=\"{worst}\"><h1>Fleet: {} clusters</h1>\
         <div>{} · checked {}</div></header>",
        rows.len(),
        esc(&summary.join(", ")),
        rfc3339(now)
    );
    let mut by_region: BTreeMap<&str, Vec<&ClusterRow>> = BTreeMap::new();
    for r in rows {
        by_region.entry(&r.region).or_default().push(r);
    }
    for (region, mut rs) in by_region {
        rs.sort_by(|a, b| a.label.cmp(&b.label));
        let _ = writeln!(
            body,
            "<section class=\"region\" data-region=\"{r}\"><h2>{r}</h2><table><tr><th>cluster</th><th>status</th><th>first issue</th></tr>",
            r = esc(region)
        );
        for c in rs {
            let status = c.overall.as_deref().unwrap_or("error");
            let name = match &c.page {
                Some(p) => format!("<a href=\"{}\">{}</a>", esc(p), esc(&c.label)),
                None => esc(&c.label),
            };
            let _ = writeln!(
                body,
                "<tr data-cluster=\"{}\" data-status=\"{status}\"><td>{name}</td><td><span class=\"pill {status}\">{status}</span></td><td>{}</td></tr>",
                esc(&c.label),
                esc(c.issue.as_deref().unwrap_or(""))
            );
        }
        body.push_str("</table></section>\n");
    }
    let _ = writeln!(
        body,
        "<footer><p>ecs-monitor {} · rendered {} · each cluster's own page has its 90-day history</p></footer>",
        crate::VERSION,
        rfc3339(now)
    );
    page(&format!("Fleet: {worst} · ecs-monitor"), &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_overview_lists_every_cluster_by_region_and_escapes() {
        let row = |label: &str, region: &str, overall: Option<&str>, issue: &str| ClusterRow {
            label: label.into(),
            region: region.into(),
            overall: overall.map(str::to_string),
            issue: (!issue.is_empty()).then(|| issue.to_string()),
            page: overall.map(|_| format!("../{label}/status/index.html")),
        };
        let html = render(
            &[
                row(
                    "eu-west-1/a",
                    "eu-west-1",
                    Some("unhealthy"),
                    "web: 0/2 <b>",
                ),
                row("b", "us-east-1", Some("healthy"), ""),
                row(
                    "111111111111/eu-west-1/c",
                    "eu-west-1",
                    None,
                    "AccessDenied",
                ),
            ],
            time::macros::datetime!(2026-12-06 12:00:00 UTC),
        );
        assert!(html.contains("data-overall=\"error\""), "the worst shows");
        assert!(html.contains("3 clusters") && html.contains("1 error, 1 healthy, 1 unhealthy"));
        assert_eq!(html.matches("<section class=\"region\"").count(), 2);
        assert!(html.contains("<a href=\"../eu-west-1/a/status/index.html\">eu-west-1/a</a>"));
        assert!(html.contains("web: 0/2 &lt;b&gt;") && !html.contains("<b>"));
        assert!(html.contains("data-cluster=\"111111111111/eu-west-1/c\" data-status=\"error\""));
    }
}
