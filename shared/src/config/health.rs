//! The health check's configuration (the Lambda and `ecs-monitor health`).

use super::{CommonConfig, ConfigError, STATE_BUCKET, Source, int_var, invalid};
use regex::Regex;
use std::path::PathBuf;
use std::time::Duration;

pub const ECS_DOMAIN: &str = "ECS_DOMAIN";
pub const ECS_HTTP_ENDPOINTS: &str = "ECS_HTTP_ENDPOINTS";
pub const ECS_CA_BUNDLE: &str = "ECS_CA_BUNDLE";
pub const CERT_WARN_DAYS: &str = "CERT_WARN_DAYS";
pub const CERT_CRITICAL_DAYS: &str = "CERT_CRITICAL_DAYS";
pub const PROBE_TIMEOUT_MS: &str = "PROBE_TIMEOUT_MS";
pub const FAILURE_THRESHOLD: &str = "FAILURE_THRESHOLD";
pub const SUCCESS_THRESHOLD: &str = "SUCCESS_THRESHOLD";
pub const REMINDER_MINUTES: &str = "REMINDER_MINUTES";
pub const DEPLOY_GRACE_MINUTES: &str = "DEPLOY_GRACE_MINUTES";

/// Which HTTP statuses an endpoint may answer with (after redirects).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusSet(Vec<(u16, u16)>);

impl Default for StatusSet {
    /// 2xx and 3xx.
    fn default() -> Self {
        Self(vec![(200, 399)])
    }
}

impl StatusSet {
    pub fn contains(&self, status: u16) -> bool {
        self.0.iter().any(|(lo, hi)| (*lo..=*hi).contains(&status))
    }

    /// `"2xx"`, `"301"`, `"200-204"`.
    fn parse_one(spec: &str) -> Option<(u16, u16)> {
        let spec = spec.trim();
        if let Some(class) = spec.strip_suffix("xx").or_else(|| spec.strip_suffix("XX")) {
            let d: u16 = class.parse().ok().filter(|d| (1..=5).contains(d))?;
            return Some((d * 100, d * 100 + 99));
        }
        let (lo, hi) = spec.split_once('-').unwrap_or((spec, spec));
        let (lo, hi): (u16, u16) = (lo.trim().parse().ok()?, hi.trim().parse().ok()?);
        ((100..=599).contains(&lo) && (lo..=599).contains(&hi)).then_some((lo, hi))
    }
}

/// What an endpoint must do to pass.
#[derive(Debug, Clone, Default)]
pub struct Expectation {
    pub statuses: StatusSet,
    /// The body must match this regex.
    pub body: Option<Regex>,
    /// The answer must arrive within this many milliseconds.
    pub max_latency_ms: Option<u64>,
}

/// A named HTTP endpoint to probe.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub name: String,
    pub url: String,
    pub expect: Expectation,
}

/// Thresholds of evaluation and alerting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    pub cert_warn_days: i64,
    pub cert_critical_days: i64,
    /// Consecutive bad runs before an alert.
    pub failure_threshold: u32,
    /// Consecutive good runs before a recovery notice.
    pub success_threshold: u32,
    /// Minutes between reminders while still failing; 0 = no reminders.
    pub reminder_minutes: u64,
    /// Minutes a rollout may run with fewer tasks than desired before it counts as
    /// degraded; 0 = no grace.
    pub deploy_grace_minutes: u64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            cert_warn_days: 14,
            cert_critical_days: 7,
            failure_threshold: 2,
            success_threshold: 1,
            reminder_minutes: 0,
            deploy_grace_minutes: 15,
        }
    }
}

/// Configuration of the health check (the Lambda and `ecs-monitor health`).
#[derive(Debug, Clone)]
pub struct HealthConfig {
    pub cluster: String,
    pub region: String,
    /// Host or host:port; HTTP and TLS checks of the domain are skipped when unset.
    pub domain: Option<String>,
    /// Services to watch; every service of the cluster when unset.
    pub services: Option<Vec<String>>,
    pub endpoints: Vec<Endpoint>,
    pub state_file: PathBuf,
    pub outdir: PathBuf,
    pub state_bucket: Option<String>,
    pub state_prefix: String,
    pub alert_topic_arn: Option<String>,
    /// Extra trusted CA certificates (PEM) for private endpoints.
    pub ca_bundle: Option<PathBuf>,
    pub probe_timeout: Duration,
    pub thresholds: Thresholds,
    /// Recurring maintenance windows (`MAINTENANCE_WINDOWS`).
    pub maintenance_windows: Vec<crate::silence::Window>,
    pub metrics: Option<crate::metrics::MetricsConfig>,
    /// Diagnose's reports (`REPORT_BUCKET`, else the state bucket; `REPORT_PREFIX`): the
    /// status page lists them.
    pub report_bucket: Option<String>,
    pub report_prefix: String,
    /// A fleet's name for the cluster (`account/region/cluster`) when its name alone is
    /// ambiguous; set by fleet mode, never read from the environment.
    pub label: Option<String>,
    /// Its account, when a fleet knows it.
    pub account: Option<String>,
}

fn parse_endpoints(value: &str) -> Result<Vec<Endpoint>, ConfigError> {
    let var = ECS_HTTP_ENDPOINTS;
    let bad = |problem: String| invalid(var, value, problem);
    let mut endpoints: Vec<Endpoint> = Vec::new();
    if value.trim_start().starts_with('[') {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Raw {
            name: String,
            url: String,
            #[serde(default)]
            status: Vec<String>,
            body: Option<String>,
            max_latency_ms: Option<u64>,
        }
        let raw: Vec<Raw> = serde_json::from_str(value)
            .map_err(|e| bad(format!("is not a valid JSON list of endpoints: {e}")))?;
        for r in raw {
            let mut expect = Expectation::default();
            if !r.status.is_empty() {
                let ranges = r
                    .status
                    .iter()
                    .map(|s| {
                        StatusSet::parse_one(s).ok_or_else(|| {
                            bad(format!(
                                "{}: status {s:?} is not like 200, 2xx or 200-204",
                                r.name
                            ))
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                expect.statuses = StatusSet(ranges);
            }
            if let Some(body) = &r.body {
                expect.body = Some(
                    regex::RegexBuilder::new(body)
                        .size_limit(1 << 20)
                        .build()
                        .map_err(|e| bad(format!("{}: body is not a valid regex: {e}", r.name)))?,
                );
            }
            expect.max_latency_ms = r.max_latency_ms;
            endpoints.push(Endpoint {
                name: r.name,
                url: r.url,
                expect,
            });
        }
    } else {
        for (i, entry) in value.split(',').enumerate() {
            let entry = entry.trim();
            let (name, url) = entry
                .split_once('=')
                .ok_or_else(|| bad(format!("entry {} ({entry:?}) is not name=url", i + 1)))?;
            endpoints.push(Endpoint {
                name: name.trim().to_string(),
                url: url.trim().to_string(),
                expect: Expectation::default(),
            });
        }
    }
    for (i, e) in endpoints.iter().enumerate() {
        if e.name.is_empty()
            || !e
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(bad(format!(
                "endpoint name {:?} must be letters, digits, '-', '_' or '.'",
                e.name
            )));
        }
        if endpoints[..i].iter().any(|o| o.name == e.name) {
            return Err(bad(format!("endpoint name {:?} is used twice", e.name)));
        }
        let ok = reqwest::Url::parse(&e.url)
            .ok()
            .is_some_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some());
        if !ok {
            return Err(bad(format!(
                "{}: {:?} is not an http:// or https:// URL",
                e.name, e.url
            )));
        }
    }
    Ok(endpoints)
}

impl HealthConfig {
    pub fn from_env(source: &impl Source) -> Result<Self, ConfigError> {
        let CommonConfig {
            cluster,
            region,
            services,
            state_file,
            outdir,
            state_bucket,
            state_prefix,
            alert_topic_arn,
            maintenance_windows,
            metrics,
        } = CommonConfig::from_env(source)?;
        let domain = source.get(ECS_DOMAIN)?.map(|d| d.trim().to_string());
        if let Some(d) = &domain
            && (d.contains("://") || d.contains('/') || d.contains(char::is_whitespace))
        {
            return Err(invalid(
                ECS_DOMAIN,
                d,
                "give a host or host:port (like api.example.com), not a URL",
            ));
        }
        let endpoints = match source.get(ECS_HTTP_ENDPOINTS)? {
            None => Vec::new(),
            Some(v) => parse_endpoints(&v)?,
        };
        let thresholds = Thresholds {
            cert_warn_days: int_var(source, CERT_WARN_DAYS, 14, 1..=3650)? as i64,
            cert_critical_days: int_var(source, CERT_CRITICAL_DAYS, 7, 0..=3650)? as i64,
            failure_threshold: int_var(source, FAILURE_THRESHOLD, 2, 1..=100)? as u32,
            success_threshold: int_var(source, SUCCESS_THRESHOLD, 1, 1..=100)? as u32,
            reminder_minutes: int_var(source, REMINDER_MINUTES, 0, 0..=10_080)?,
            deploy_grace_minutes: int_var(source, DEPLOY_GRACE_MINUTES, 15, 0..=1_440)?,
        };
        if thresholds.cert_critical_days >= thresholds.cert_warn_days {
            return Err(invalid(
                CERT_CRITICAL_DAYS,
                &thresholds.cert_critical_days.to_string(),
                format!(
                    "must be below {CERT_WARN_DAYS} ({})",
                    thresholds.cert_warn_days
                ),
            ));
        }
        Ok(Self {
            report_bucket: source
                .get(super::REPORT_BUCKET)?
                .or_else(|| state_bucket.clone()),
            report_prefix: super::common::key_prefix(source, super::REPORT_PREFIX, "reports/")?,
            label: None,
            account: None,
            cluster,
            region,
            domain,
            services,
            endpoints,
            state_file,
            outdir,
            state_bucket,
            state_prefix,
            alert_topic_arn,
            maintenance_windows,
            metrics,
            ca_bundle: source.get(ECS_CA_BUNDLE)?.map(PathBuf::from),
            probe_timeout: Duration::from_millis(int_var(
                source,
                PROBE_TIMEOUT_MS,
                5000,
                100..=60_000,
            )?),
            thresholds,
        })
    }

    /// The S3 bucket, required where the state lives in S3 (the Lambda).
    pub fn require_state_bucket(&self) -> Result<&str, ConfigError> {
        self.state_bucket.as_deref().ok_or_else(|| {
            invalid(
                STATE_BUCKET,
                "",
                "is required: the bucket that keeps the health state",
            )
        })
    }
}
