//! The status page's memory: per check (the cluster, each service, each endpoint) and day its
//! runs, failures and a latency histogram, and the same per hour for the last day. Each
//! health check updates it from its state alone (one read, one write: O(1) S3 work whatever
//! the history), and the page is rendered from it. Pure: time comes from the state.

use crate::health::model::{Overall, State};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::OffsetDateTime;

pub const SCHEMA_VERSION: u32 = 1;
/// Days kept per check (the page's bars).
pub const DAYS: usize = 90;
/// Hours kept per check (the 24 h uptime and the latency sparkline).
pub const HOURS: usize = 24;
/// Incidents kept for the page.
pub const INCIDENTS: usize = 20;

/// Upper bounds (ms) of the latency buckets; a last bucket holds everything slower. A
/// percentile reads as its bucket's upper bound: at most one step high.
pub const LATENCY_BOUNDS: [u32; 31] = [
    1, 2, 3, 5, 7, 10, 15, 20, 30, 40, 50, 75, 100, 150, 200, 250, 300, 400, 500, 750, 1000, 1500,
    2000, 3000, 5000, 7500, 10_000, 15_000, 20_000, 30_000, 60_000,
];

/// Runs, failures and latencies of one check in one period.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    pub runs: u32,
    pub failures: u32,
    /// Counts per [`LATENCY_BOUNDS`] bucket (trailing empty buckets left out); empty when the
    /// check has no latency.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub latency: Vec<u32>,
}

impl Period {
    fn add(&mut self, ok: bool, latency_ms: Option<u64>) {
        self.runs += 1;
        self.failures += u32::from(!ok);
        if let Some(ms) = latency_ms {
            let i = LATENCY_BOUNDS
                .iter()
                .position(|b| u64::from(*b) >= ms)
                .unwrap_or(LATENCY_BOUNDS.len());
            if self.latency.len() <= i {
                self.latency.resize(i + 1, 0);
            }
            self.latency[i] += 1;
        }
    }

    fn merge(&mut self, other: &Period) {
        self.runs += other.runs;
        self.failures += other.failures;
        if self.latency.len() < other.latency.len() {
            self.latency.resize(other.latency.len(), 0);
        }
        for (a, b) in self.latency.iter_mut().zip(&other.latency) {
            *a += b;
        }
    }

    /// The `q` quantile (0..=1) of the latencies, as its bucket's upper bound (ms); `None`
    /// without latencies or past the last bound.
    pub fn percentile(&self, q: f64) -> Option<u32> {
        let total: u64 = self.latency.iter().map(|n| u64::from(*n)).sum();
        if total == 0 {
            return None;
        }
        let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
        let mut seen = 0;
        for (i, n) in self.latency.iter().enumerate() {
            seen += u64::from(*n);
            if seen >= rank {
                return LATENCY_BOUNDS.get(i).copied();
            }
        }
        None
    }
}

/// What a check is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Cluster,
    Service,
    Endpoint,
}

/// One check's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    pub kind: Kind,
    pub name: String,
    /// `YYYY-MM-DD` (UTC) → the day's period, the newest [`DAYS`].
    pub days: BTreeMap<String, Period>,
    /// `YYYY-MM-DDTHH` (UTC) → the hour's period, the newest [`HOURS`] + 1.
    pub hours: BTreeMap<String, Period>,
    /// The status at the last run that saw it, and when.
    pub status: Overall,
    #[serde(with = "time::serde::rfc3339")]
    pub last_seen: OffsetDateTime,
}

/// An incident as the page lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incident {
    pub id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub started: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub ended: Option<OffsetDateTime>,
    pub worst: Overall,
    /// The issues when it was worst (the first few).
    pub issues: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rollup {
    pub schema_version: u32,
    pub cluster: String,
    /// `kind/name` → its history.
    pub checks: BTreeMap<String, Check>,
    /// The newest [`INCIDENTS`], oldest first.
    pub incidents: Vec<Incident>,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

fn day_key(t: OffsetDateTime) -> String {
    format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
}

fn hour_key(t: OffsetDateTime) -> String {
    format!("{}T{:02}", day_key(t), t.hour())
}

/// Keeps the newest `n` entries of a map whose keys sort by time.
fn keep_newest(map: &mut BTreeMap<String, Period>, n: usize) {
    while map.len() > n {
        map.pop_first();
    }
}

/// Uptime of a set of periods: the share of runs without failure, `None` without runs.
pub fn uptime<'a>(periods: impl IntoIterator<Item = &'a Period>) -> Option<f64> {
    let mut total = Period::default();
    for p in periods {
        total.merge(p);
    }
    (total.runs > 0).then(|| f64::from(total.runs - total.failures) / f64::from(total.runs))
}

impl Check {
    /// Uptime over the last 24 hours (from the hours), or over the last `days` days
    /// including today.
    pub fn uptime_hours(&self, now: OffsetDateTime) -> Option<f64> {
        let since = hour_key(now - time::Duration::hours(HOURS as i64 - 1));
        uptime(self.hours.range(since..).map(|(_, p)| p))
    }

    pub fn uptime_days(&self, now: OffsetDateTime, days: i64) -> Option<f64> {
        let since = day_key(now - time::Duration::days(days - 1));
        uptime(self.days.range(since..).map(|(_, p)| p))
    }

    /// The day's period for each of the last [`DAYS`] days, oldest first (`None`: no run).
    pub fn bars(&self, now: OffsetDateTime) -> Vec<(String, Option<&Period>)> {
        (0..DAYS as i64)
            .rev()
            .map(|ago| {
                let key = day_key(now - time::Duration::days(ago));
                let p = self.days.get(&key);
                (key, p)
            })
            .collect()
    }

    /// The median latency of each of the last 24 hours with latencies, oldest first.
    pub fn hourly_p50(&self, now: OffsetDateTime) -> Vec<(String, u32)> {
        let since = hour_key(now - time::Duration::hours(HOURS as i64 - 1));
        self.hours
            .range(since..)
            .filter_map(|(k, p)| p.percentile(0.5).map(|ms| (k.clone(), ms)))
            .collect()
    }

    /// Today's and the last 24 hours' latencies together.
    pub fn last_day(&self, now: OffsetDateTime) -> Period {
        let since = hour_key(now - time::Duration::hours(HOURS as i64 - 1));
        let mut total = Period::default();
        for (_, p) in self.hours.range(since..) {
            total.merge(p);
        }
        total
    }
}

impl Rollup {
    pub fn new(cluster: &str, now: OffsetDateTime) -> Self {
        Self {
            schema_version: SCHEMA_VERSION,
            cluster: cluster.to_string(),
            checks: BTreeMap::new(),
            incidents: Vec::new(),
            updated_at: now,
        }
    }

    fn add(
        &mut self,
        kind: Kind,
        name: &str,
        status: Overall,
        latency_ms: Option<u64>,
        at: OffsetDateTime,
    ) {
        let kind_name = match kind {
            Kind::Cluster => "cluster",
            Kind::Service => "service",
            Kind::Endpoint => "endpoint",
        };
        let check = self
            .checks
            .entry(format!("{kind_name}/{name}"))
            .or_insert_with(|| Check {
                kind,
                name: name.to_string(),
                days: BTreeMap::new(),
                hours: BTreeMap::new(),
                status,
                last_seen: at,
            });
        let ok = status == Overall::Healthy;
        check
            .days
            .entry(day_key(at))
            .or_default()
            .add(ok, latency_ms);
        check
            .hours
            .entry(hour_key(at))
            .or_default()
            .add(ok, latency_ms);
        keep_newest(&mut check.days, DAYS);
        keep_newest(&mut check.hours, HOURS + 1);
        check.status = status;
        check.last_seen = at;
    }

    /// Adds one health check's state. A state older than the last one added (a run that
    /// lost the race to save) is not counted twice: it is left out.
    pub fn record(&mut self, state: &State) {
        let at = state.checked_at;
        if at < self.updated_at && !self.checks.is_empty() {
            return;
        }
        self.add(Kind::Cluster, state.display_name(), state.overall, None, at);
        for s in &state.services {
            self.add(Kind::Service, &s.name, s.status.overall(), None, at);
        }
        for h in &state.http {
            self.add(
                Kind::Endpoint,
                &h.name,
                h.status.overall(),
                h.latency_ms,
                at,
            );
        }
        self.record_incident(state);
        // Checks no longer watched fall away once their history is older than the bars.
        let horizon = at - time::Duration::days(DAYS as i64);
        self.checks.retain(|_, c| c.last_seen >= horizon);
        self.updated_at = at;
    }

    fn record_incident(&mut self, state: &State) {
        let a = &state.alerting;
        let open = a
            .incident_id
            .as_deref()
            .filter(|_| a.announced != Overall::Healthy);
        let at = state.checked_at;
        for i in self.incidents.iter_mut().filter(|i| i.ended.is_none()) {
            if open != Some(i.id.as_str()) {
                i.ended = Some(at);
            }
        }
        let Some(id) = open else { return };
        let issues: Vec<String> = state.issues.iter().take(5).cloned().collect();
        match self.incidents.iter_mut().find(|i| i.id == id) {
            Some(i) => {
                // Open again (its recovery was not the last word).
                i.ended = None;
                if state.overall > i.worst || (state.overall == i.worst && i.issues.is_empty()) {
                    i.worst = state.overall;
                    i.issues = issues;
                }
            }
            None => {
                self.incidents.push(Incident {
                    id: id.to_string(),
                    started: a.status_since.unwrap_or(at),
                    ended: None,
                    worst: state.overall,
                    issues,
                });
                if self.incidents.len() > INCIDENTS {
                    self.incidents.remove(0);
                }
            }
        }
    }
}
