//! CloudWatch metrics as Embedded Metric Format (EMF) records: one JSON object a line, which
//! CloudWatch Logs turns into metrics when a Lambda writes it to standard output ("Using the
//! embedded metric format with Lambda" and "Specification: Embedded metric format",
//! CloudWatch user guide). Pure: the records of a health state and of a diagnose report.
//!
//! Cost decides the dimensions. A custom metric costs $0.30 a month for the hours it is
//! published (CloudWatch pricing, the first 10,000 metrics). The health check publishes every
//! run, so every one of its metrics is billed the whole month: by default they are the
//! cluster's alone (9 metrics, $2.70 a month whatever the number of services), and the
//! per-service, per-endpoint and per-certificate ones (`DETAILED_METRICS`) cost 3 a service,
//! 2 an endpoint and 1 a certificate more. Diagnose publishes only when it runs, so its
//! per-service and per-category metrics are billed for those hours only.

use crate::classify::Category;
use crate::diagnose::report::Report;
use crate::health::model::{Overall, State, Status};
use serde_json::{Map, Value, json};

/// The EMF limits: metrics per directive, dimensions per dimension set, values per metric.
pub const MAX_METRICS: usize = 100;
pub const MAX_DIMENSIONS: usize = 30;
pub const MAX_VALUES: usize = 100;
/// A dimension value is 1 to 1024 ASCII characters, not all whitespace (Dimension, CloudWatch
/// API reference).
const MAX_DIMENSION_VALUE: usize = 1024;

/// Where the metrics go, and how many.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsConfig {
    pub namespace: String,
    /// Per service, endpoint and certificate too (billed each).
    pub detailed: bool,
}

/// Why a namespace is not one CloudWatch takes: 1 to 255 characters among letters, digits,
/// `. - _ / # :` and space, not all spaces, not starting with `AWS/` (reserved for AWS).
pub fn namespace_problem(ns: &str) -> Option<&'static str> {
    if ns.is_empty() || ns.len() > 255 || ns.trim().is_empty() {
        Some("must be 1 to 255 characters, not all spaces")
    } else if !ns
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b".-_/#: ".contains(&b))
    {
        Some("may hold only letters, digits, spaces and . - _ / # :")
    } else if ns.starts_with("AWS/") {
        Some("must not start with AWS/ (reserved for AWS's own metrics)")
    } else {
        None
    }
}

#[derive(Clone, Copy)]
enum Unit {
    Count,
    Milliseconds,
    None,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
            Unit::None => "None",
        }
    }
}

/// A dimension value as CloudWatch takes it: ASCII without control characters, at most 1024.
fn dimension_value(v: &str) -> String {
    let mut out: String = v
        .chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() {
                c
            } else {
                '?'
            }
        })
        .take(MAX_DIMENSION_VALUE)
        .collect();
    if out.trim().is_empty() {
        out = "unnamed".into();
    }
    out
}

/// One record: its dimensions (name, value) and its metrics (name, unit, value or values).
struct Record {
    dimensions: Vec<(&'static str, String)>,
    metrics: Vec<(&'static str, Unit, Value)>,
}

impl Record {
    fn new(dimensions: Vec<(&'static str, &str)>) -> Self {
        Self {
            dimensions: dimensions
                .into_iter()
                .map(|(k, v)| (k, dimension_value(v)))
                .collect(),
            metrics: Vec::new(),
        }
    }

    fn add(mut self, name: &'static str, unit: Unit, value: impl Into<Value>) -> Self {
        self.metrics.push((name, unit, value.into()));
        self
    }

    /// The record as one line: the dimensions and values at the root, the directive in `_aws`.
    fn line(&self, namespace: &str, timestamp_ms: i64) -> String {
        let mut root = Map::new();
        for (k, v) in &self.dimensions {
            root.insert((*k).to_string(), json!(v));
        }
        for (name, _, value) in &self.metrics {
            root.insert((*name).to_string(), value.clone());
        }
        let keys: Vec<&str> = self.dimensions.iter().map(|(k, _)| *k).collect();
        let metrics: Vec<Value> = self
            .metrics
            .iter()
            .map(|(name, unit, _)| json!({"Name": name, "Unit": unit.as_str()}))
            .collect();
        root.insert(
            "_aws".into(),
            json!({
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": namespace,
                    "Dimensions": [keys],
                    "Metrics": metrics,
                }],
            }),
        );
        Value::Object(root).to_string()
    }
}

fn flag(b: bool) -> u8 {
    u8::from(b)
}

/// The health check's records for `state`: the cluster's always (zeros included, so an alarm
/// never sits in "no data"), the services', endpoints' and certificates' when detailed.
pub fn health(state: &State, cfg: &MetricsConfig) -> Vec<String> {
    let at = crate::timefmt::to_millis(state.checked_at);
    // A fleet's label: two clusters of one name in two regions must not share a metric.
    let cluster = state.display_name();
    let serving = |s: &Status| !matches!(s, Status::ScaledDown);
    let services_failing = state
        .services
        .iter()
        .filter(|s| s.status.overall() != Overall::Healthy)
        .count();
    let without_tasks = state
        .services
        .iter()
        .filter(|s| s.desired > 0 && s.running == 0 && serving(&s.status))
        .count();
    let endpoints_down = state
        .http
        .iter()
        .filter(|h| h.status.overall() != Overall::Healthy)
        .count();
    let mut record = Record::new(vec![("Cluster", cluster)])
        .add(
            "Status",
            Unit::None,
            match state.overall {
                Overall::Healthy => 0,
                Overall::Degraded => 1,
                Overall::Unhealthy => 2,
            },
        )
        .add("ServicesFailing", Unit::Count, services_failing)
        .add("ServicesWithoutTasks", Unit::Count, without_tasks)
        .add(
            "TasksRunning",
            Unit::Count,
            state
                .services
                .iter()
                .map(|s| i64::from(s.running))
                .sum::<i64>(),
        )
        .add(
            "TasksDesired",
            Unit::Count,
            state
                .services
                .iter()
                .map(|s| i64::from(s.desired))
                .sum::<i64>(),
        )
        .add(
            "TargetsUnhealthy",
            Unit::Count,
            state
                .target_groups
                .iter()
                .map(|g| u64::from(g.unhealthy))
                .sum::<u64>(),
        )
        .add("EndpointsDown", Unit::Count, endpoints_down);
    // A latency or an expiry nobody measured is left out, never made a zero.
    let latencies: Vec<u64> = state
        .http
        .iter()
        .filter_map(|h| h.latency_ms)
        .take(MAX_VALUES)
        .collect();
    if !latencies.is_empty() {
        record = record.add("EndpointLatencyMs", Unit::Milliseconds, latencies);
    }
    if let Some(days) = state.tls.iter().filter_map(|t| t.days_left).min() {
        record = record.add("CertificateDaysLeft", Unit::None, days);
    }
    let mut records = vec![record];
    if cfg.detailed {
        for s in &state.services {
            records.push(
                Record::new(vec![("Cluster", cluster), ("Service", &s.name)])
                    .add("Running", Unit::Count, s.running)
                    .add("Desired", Unit::Count, s.desired)
                    .add(
                        "Healthy",
                        Unit::None,
                        flag(s.status.overall() == Overall::Healthy),
                    ),
            );
        }
        for h in &state.http {
            let mut r = Record::new(vec![("Cluster", cluster), ("Endpoint", &h.name)]).add(
                "Up",
                Unit::None,
                flag(h.status.overall() == Overall::Healthy),
            );
            if let Some(ms) = h.latency_ms {
                r = r.add("LatencyMs", Unit::Milliseconds, ms);
            }
            records.push(r);
        }
        for t in &state.tls {
            if let Some(days) = t.days_left {
                records.push(
                    Record::new(vec![("Cluster", cluster), ("Host", &t.host)]).add(
                        "DaysLeft",
                        Unit::None,
                        days,
                    ),
                );
            }
        }
    }
    records.iter().map(|r| r.line(&cfg.namespace, at)).collect()
}

/// Diagnose's records for `report`: per service its errors and restarts over the window, and
/// its errors per category (zeros included).
pub fn diagnose(report: &Report, cfg: &MetricsConfig) -> Vec<String> {
    let at = crate::timefmt::to_millis(report.generated_at);
    // As the health check's records name it (a fleet's label).
    let cluster = report.display_name();
    let mut lines = Vec::new();
    for s in report.services.iter().filter(|s| s.error.is_none()) {
        lines.push(
            Record::new(vec![("Cluster", cluster), ("Service", &s.service)])
                .add("Errors", Unit::Count, s.errors_total)
                .add("Restarts", Unit::Count, s.restarts.count)
                .line(&cfg.namespace, at),
        );
        for c in Category::PRIORITY {
            lines.push(
                Record::new(vec![
                    ("Cluster", cluster),
                    ("Service", &s.service),
                    ("Category", c.as_str()),
                ])
                .add(
                    "Errors",
                    Unit::Count,
                    s.categories.get(&c).copied().unwrap_or(0),
                )
                .line(&cfg.namespace, at),
            );
        }
    }
    lines
}

/// Writes `lines` to standard output, each whole: with the function's JSON log format, EMF
/// must be a line of its own, not a field of a tracing event. A failed write is logged, never
/// fatal: metrics are worth less than the run.
pub fn emit(lines: &[String]) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    for l in lines {
        if let Err(e) = writeln!(out, "{l}") {
            tracing::warn!("metrics not written: {e}");
            return;
        }
    }
    let _ = out.flush();
}

/// Checks `line` against the EMF specification: one JSON object; `_aws.Timestamp` an integer
/// of milliseconds; each directive's namespace, its dimension sets (at most 30 keys, each a
/// string member of the root) and its metrics (at most 100, each a number or at most 100
/// numbers at the root). The parsed object, for the tests' own assertions.
#[cfg(test)]
pub(crate) fn check_emf(line: &str) -> Result<Map<String, Value>, String> {
    let Value::Object(root) = serde_json::from_str::<Value>(line).map_err(|e| e.to_string())?
    else {
        return Err("not an object".into());
    };
    let aws = root.get("_aws").ok_or("no _aws")?;
    aws["Timestamp"]
        .as_u64()
        .ok_or("Timestamp is not an integer")?;
    let directives = aws["CloudWatchMetrics"]
        .as_array()
        .ok_or("CloudWatchMetrics is not an array")?;
    for d in directives {
        let ns = d["Namespace"].as_str().ok_or("no Namespace")?;
        if let Some(why) = namespace_problem(ns) {
            return Err(format!("Namespace {ns:?} {why}"));
        }
        for set in d["Dimensions"].as_array().ok_or("no Dimensions")? {
            let keys = set.as_array().ok_or("a dimension set is not an array")?;
            if keys.len() > MAX_DIMENSIONS {
                return Err("more than 30 dimensions".into());
            }
            for k in keys {
                let k = k.as_str().ok_or("a dimension key is not a string")?;
                root.get(k)
                    .and_then(Value::as_str)
                    .ok_or(format!("dimension {k} is not a string at the root"))?;
            }
        }
        let metrics = d["Metrics"].as_array().ok_or("no Metrics")?;
        if metrics.is_empty() || metrics.len() > MAX_METRICS {
            return Err(format!("{} metrics", metrics.len()));
        }
        for m in metrics {
            let name = m["Name"].as_str().ok_or("a metric without a Name")?;
            let ok = match root.get(name) {
                Some(Value::Number(_)) => true,
                Some(Value::Array(v)) => {
                    !v.is_empty() && v.len() <= MAX_VALUES && v.iter().all(Value::is_number)
                }
                _ => false,
            };
            if !ok {
                return Err(format!("metric {name} has no number value at the root"));
            }
        }
    }
    Ok(root)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces() {
        for ok in ["ECSMonitor", "Team/ecs monitor", "a.b-c_d#e:f"] {
            assert_eq!(namespace_problem(ok), None, "{ok}");
        }
        for (bad, why) in [
            ("", "1 to 255"),
            ("   ", "1 to 255"),
            ("AWS/ECS", "reserved"),
            ("ecs|monitor", "only letters"),
            ("é", "only letters"),
        ] {
            assert!(namespace_problem(bad).unwrap().contains(why), "{bad}");
        }
        assert!(namespace_problem(&"n".repeat(256)).is_some());
    }

    #[test]
    fn dimension_values_are_ascii_and_bounded() {
        assert_eq!(dimension_value("api"), "api");
        assert_eq!(dimension_value("café\n"), "caf??");
        assert_eq!(dimension_value("   "), "unnamed");
        assert_eq!(dimension_value(&"x".repeat(2000)).len(), 1024);
    }
}
