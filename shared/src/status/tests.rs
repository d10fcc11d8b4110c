//! The rollup's arithmetic and the page rendered from it.

use super::rollup::{LATENCY_BOUNDS, Period, Rollup};
use super::*;
use crate::health::model::{Alerting, HttpState, Overall, ServiceState, State, Status, TlsState};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const T0: OffsetDateTime = datetime!(2026-12-06 12:00:00 UTC);

fn service(name: &str, status: Status) -> ServiceState {
    ServiceState {
        name: name.into(),
        desired: 2,
        running: if status == Status::Healthy { 2 } else { 0 },
        pending: 0,
        status,
        rollout_state: None,
        rollout_reason: None,
        rollout_started_at: None,
        failed_tasks: 0,
        events: vec![],
    }
}

fn state(at: OffsetDateTime, api: Status, latency_ms: u64) -> State {
    let overall = api.overall();
    State {
        schema_version: 1,
        checked_at: at,
        cluster: "prod".into(),
        region: "us-east-1".into(),
        overall,
        services: vec![
            service("api", api),
            service("<script>alert(1)</script>", Status::Healthy),
        ],
        target_groups: vec![],
        http: vec![HttpState {
            name: "status".into(),
            url: "https://example.com/".into(),
            status_code: Some(200),
            latency_ms: Some(latency_ms),
            redirects: 0,
            status: Status::Healthy,
            error: None,
        }],
        tls: vec![TlsState {
            host: "example.com:443".into(),
            not_after: Some(at + Duration::days(40)),
            days_left: Some(40),
            subject: None,
            issuer: Some("CN=<b>CA</b>".into()),
            chain_length: 2,
            status: Status::Healthy,
            error: None,
        }],
        issues: if overall == Overall::Healthy {
            vec![]
        } else {
            vec!["api: 0/2 tasks running <img src=x>".into()]
        },
        alerting: Alerting {
            incident_id: (overall != Overall::Healthy).then(|| "prod-20261206T110000Z".into()),
            announced: overall,
            status_since: Some(at),
            ..Alerting::default()
        },
        silenced: vec![],
        label: None,
        account: None,
    }
}

#[test]
fn percentiles_read_the_bucket_bounds() {
    let mut p = Period::default();
    assert_eq!(p.percentile(0.5), None);
    for ms in [4, 4, 4, 90, 2000] {
        let i = LATENCY_BOUNDS
            .iter()
            .position(|b| u64::from(*b) >= ms)
            .unwrap();
        if p.latency.len() <= i {
            p.latency.resize(i + 1, 0);
        }
        p.latency[i] += 1;
        p.runs += 1;
    }
    assert_eq!(p.percentile(0.5), Some(5), "4 ms is in the ≤ 5 ms bucket");
    assert_eq!(p.percentile(0.8), Some(100));
    assert_eq!(p.percentile(0.99), Some(2000));
}

/// Two days of 5-minute runs, api down for an hour of the second: the uptimes, the bars,
/// the incident and the rollup's bounds.
#[test]
fn the_rollup_counts_runs_failures_and_incidents() {
    let mut r = Rollup::new("prod", T0);
    let start = T0 - Duration::days(1);
    let mut at = start;
    let mut runs = 0;
    while at <= T0 {
        let down = at > T0 - Duration::hours(2) && at <= T0 - Duration::hours(1);
        r.record(&state(
            at,
            if down {
                Status::Unhealthy
            } else {
                Status::Healthy
            },
            40,
        ));
        at += Duration::minutes(5);
        runs += 1;
    }
    let api = &r.checks["service/api"];
    let day = api.days.values().map(|p| p.runs).sum::<u32>();
    assert_eq!(day, runs);
    assert_eq!(api.days.values().map(|p| p.failures).sum::<u32>(), 12);
    // The last 24 hours are 13:00 yesterday to 12:00 today: 23 whole hours and one run.
    let u = api.uptime_hours(T0).unwrap();
    assert!((u - (1.0 - 12.0 / 277.0)).abs() < 1e-9, "24 h: {u}");
    assert!(api.hours.len() <= rollup::HOURS + 1);
    assert_eq!(api.bars(T0).len(), rollup::DAYS);
    assert_eq!(api.bars(T0).iter().filter(|(_, p)| p.is_some()).count(), 2);
    assert_eq!(r.incidents.len(), 1);
    let i = &r.incidents[0];
    assert_eq!(
        (i.worst, i.ended),
        (Overall::Unhealthy, Some(T0 - Duration::minutes(55)))
    );
    let endpoint = &r.checks["endpoint/status"];
    assert_eq!(endpoint.last_day(T0).percentile(0.5), Some(40));
    // A state older than the last recorded (a run that lost the race) is not counted.
    r.record(&state(T0 - Duration::minutes(3), Status::Healthy, 40));
    assert_eq!(
        r.checks["service/api"]
            .days
            .values()
            .map(|p| p.runs)
            .sum::<u32>(),
        runs
    );
    // Ninety-odd days later, only the newest 90 days are kept, and a check that went away
    // is dropped.
    let later = T0 + Duration::days(100);
    let mut s = state(later, Status::Healthy, 40);
    s.services.truncate(1);
    r.record(&s);
    assert!(r.checks.values().all(|c| c.days.len() <= rollup::DAYS));
    assert!(!r.checks.contains_key("service/<script>alert(1)</script>"));
}

/// The page names every check, draws 90 bars each, gives the uptimes and latencies, lists
/// the incident and the reports with links, and turns no input into markup.
#[test]
fn the_page_shows_every_check_and_escapes_every_text() {
    let mut r = Rollup::new("prod", T0);
    r.record(&state(T0 - Duration::minutes(10), Status::Unhealthy, 30));
    r.record(&state(T0 - Duration::minutes(5), Status::Healthy, 50));
    let s = state(T0, Status::Unhealthy, 40);
    r.record(&s);
    let reports = vec![ReportEntry {
        generated_at: T0,
        status: "critical".into(),
        headline: "api: OOM <script>x</script>".into(),
        services: vec!["api".into()],
        json: "20261206T120000Z-sns-abc.json".into(),
        html: "20261206T120000Z-sns-abc.html".into(),
    }];
    let html = page::render(
        &r,
        &s,
        &reports,
        &page::Links {
            reports: Some("../../../reports/prod/"),
        },
        T0,
    );
    assert!(!html.contains("<script"), "no markup from input");
    assert!(!html.contains("<img") && !html.contains("<b>CA"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert_eq!(html.matches("class=\"check\"").count(), 1 + 2 + 1);
    assert_eq!(html.matches("<rect class=").count(), 4 * rollup::DAYS);
    assert!(html.contains("data-name=\"api\" data-status=\"unhealthy\""));
    assert!(
        html.contains("data-window=\"24 h\">24 h <b>33.33%</b>"),
        "1 of 3 runs ok"
    );
    assert!(html.contains("p50 ≤ <b>40 ms</b>"));
    assert!(html.contains("<tr data-open=\"true\"><td>prod-20261206T110000Z</td>"));
    assert!(html.contains(
        "<a href=\"../../../reports/prod/20261206T120000Z-sns-abc.html\">2026-12-06T12:00:00Z</a>"
    ));
    assert!(
        html.contains("<td class=\"num\">40</td>"),
        "certificate days left"
    );
}

#[test]
fn the_index_keeps_the_newest_reports_first() {
    let mut index = ReportIndex::default();
    for i in 0..(INDEX_REPORTS as i64 + 5) {
        index.add(ReportEntry {
            generated_at: T0 + Duration::minutes(i),
            status: "healthy".into(),
            headline: String::new(),
            services: vec![],
            json: format!("{i}.json"),
            html: format!("{i}.html"),
        });
    }
    assert_eq!(index.reports.len(), INDEX_REPORTS);
    assert_eq!(index.reports[0].json, format!("{}.json", INDEX_REPORTS + 4));
    let again = index.reports[3].clone();
    index.add(again);
    assert_eq!(
        index.reports.len(),
        INDEX_REPORTS,
        "the same report is listed once"
    );
}

/// `update` against the in-memory store: a rollup that cannot be read (written by hand, or by
/// a newer version) is started again rather than failing every run, and the page is written
/// with the reports of the index.
#[tokio::test]
async fn an_unreadable_rollup_starts_again_and_the_page_lists_the_index() {
    let store = crate::ports::fakes::MemStore::default();
    *store.rollup.lock().unwrap() = Some((b"{not json".to_vec(), 7));
    let mut index = ReportIndex::default();
    index.add(ReportEntry {
        generated_at: T0,
        status: "critical".into(),
        headline: "api: out of memory".into(),
        services: vec!["api".into()],
        json: "r.json".into(),
        html: "r.html".into(),
    });
    *store.report_index.lock().unwrap() = Some(serde_json::to_vec(&index).unwrap());
    let at = update(&store, &state(T0, Status::Unhealthy, 40), T0).await;
    assert_eq!(at, Ok("memory".to_string()));
    let (bytes, version) = store.rollup.lock().unwrap().clone().unwrap();
    assert_eq!(version, 8, "written over the unreadable one, conditionally");
    let rollup: Rollup = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(
        rollup.checks["service/api"]
            .days
            .values()
            .map(|p| p.runs)
            .sum::<u32>(),
        1
    );
    let page = store.page.lock().unwrap().clone().unwrap();
    assert!(page.contains("<a href=\"../reports/r.html\">"), "{page}");
    assert!(page.contains("api: out of memory"));
}
