//! Configuration from the environment, read in one place. A bad value is an error that names
//! the variable and says what is wrong with the value.

use crate::classify::HealthPaths;
use regex::Regex;
use std::collections::HashMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("{var}={value:?}: {problem}")]
    Invalid {
        var: &'static str,
        value: String,
        problem: String,
    },
    #[error("{var} is not valid UTF-8")]
    NotUnicode { var: &'static str },
}

/// Where configuration values come from: the process environment, or a map in tests.
pub trait Source {
    fn get_os(&self, var: &str) -> Option<OsString>;

    /// The value of `var`, `None` when unset or blank. The only accessor, so every variable
    /// treats blank as unset: SAM passes a parameter left blank as an empty variable.
    fn get(&self, var: &'static str) -> Result<Option<String>, ConfigError> {
        Ok(self
            .get_os(var)
            .map(|v| v.into_string().map_err(|_| ConfigError::NotUnicode { var }))
            .transpose()?
            .filter(|v| !v.trim().is_empty()))
    }
}

fn invalid(var: &'static str, value: &str, problem: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        var,
        // The message is logged and printed: no credentials of a URL in it.
        value: crate::diagnose::redact::redact(value).into_owned(),
        problem: problem.into(),
    }
}

/// An integer variable within `range`, or `default` when unset.
fn int_var(
    source: &impl Source,
    var: &'static str,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u64, ConfigError> {
    let Some(value) = source.get(var)? else {
        return Ok(default);
    };
    let n: u64 = value
        .trim()
        .parse()
        .map_err(|_| invalid(var, &value, "is not a whole number"))?;
    if !range.contains(&n) {
        return Err(invalid(
            var,
            &value,
            format!("must be between {} and {}", range.start(), range.end()),
        ));
    }
    Ok(n)
}

/// The process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl Source for ProcessEnv {
    fn get_os(&self, var: &str) -> Option<OsString> {
        std::env::var_os(var)
    }
}

impl Source for HashMap<&str, &str> {
    fn get_os(&self, var: &str) -> Option<OsString> {
        HashMap::get(self, var).map(OsString::from)
    }
}

pub const ECS_HEALTH_PATHS: &str = "ECS_HEALTH_PATHS";

/// Configuration of the log classifier.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClassifierConfig {
    /// `ECS_HEALTH_PATHS`: comma-separated paths whose GET/HEAD requests are health checks
    /// (each matches itself and the paths below it). Default: `/health,/healthz,/ping,/ready,/live`.
    pub health_paths: HealthPaths,
}

impl ClassifierConfig {
    pub fn from_env(source: &impl Source) -> Result<Self, ConfigError> {
        let health_paths = match source.get(ECS_HEALTH_PATHS)? {
            None => HealthPaths::default(),
            Some(value) => parse_health_paths(&value)?,
        };
        Ok(Self { health_paths })
    }
}

fn parse_health_paths(value: &str) -> Result<HealthPaths, ConfigError> {
    let invalid = |problem: String| ConfigError::Invalid {
        var: ECS_HEALTH_PATHS,
        value: value.to_string(),
        problem,
    };
    let mut paths = Vec::new();
    for (i, raw) in value.split(',').enumerate() {
        let path = raw.trim();
        if path.is_empty() {
            return Err(invalid(format!("entry {} is empty", i + 1)));
        }
        if !path.starts_with('/') {
            return Err(invalid(format!(
                "{path:?} is not a path (it must start with '/')"
            )));
        }
        if path.contains(|c: char| c.is_whitespace() || c == '?' || c == '#') {
            return Err(invalid(format!(
                "{path:?} has whitespace, '?' or '#': give the path alone"
            )));
        }
        paths.push(path.to_string());
    }
    Ok(HealthPaths::new(paths))
}

pub const ECS_CLUSTER: &str = "ECS_CLUSTER";
pub const ECS_REGION: &str = "ECS_REGION";
pub const ECS_DOMAIN: &str = "ECS_DOMAIN";
pub const ECS_SERVICES: &str = "ECS_SERVICES";
pub const ECS_HTTP_ENDPOINTS: &str = "ECS_HTTP_ENDPOINTS";
pub const ECS_HEALTH_STATE: &str = "ECS_HEALTH_STATE";
pub const ECS_HEALTH_OUTDIR: &str = "ECS_HEALTH_OUTDIR";
pub const ECS_CA_BUNDLE: &str = "ECS_CA_BUNDLE";
pub const STATE_BUCKET: &str = "STATE_BUCKET";
pub const STATE_PREFIX: &str = "STATE_PREFIX";
pub const ALERT_TOPIC_ARN: &str = "ALERT_TOPIC_ARN";
pub const CERT_WARN_DAYS: &str = "CERT_WARN_DAYS";
pub const CERT_CRITICAL_DAYS: &str = "CERT_CRITICAL_DAYS";
pub const PROBE_TIMEOUT_MS: &str = "PROBE_TIMEOUT_MS";
pub const FAILURE_THRESHOLD: &str = "FAILURE_THRESHOLD";
pub const SUCCESS_THRESHOLD: &str = "SUCCESS_THRESHOLD";
pub const REMINDER_MINUTES: &str = "REMINDER_MINUTES";

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
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            cert_warn_days: 14,
            cert_critical_days: 7,
            failure_threshold: 2,
            success_threshold: 1,
            reminder_minutes: 0,
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

fn valid_region(r: &str) -> bool {
    let parts: Vec<&str> = r.split('-').collect();
    parts.len() >= 3
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty()
}

impl HealthConfig {
    pub fn from_env(source: &impl Source) -> Result<Self, ConfigError> {
        let cluster = source.get(ECS_CLUSTER)?.ok_or_else(|| {
            invalid(
                ECS_CLUSTER,
                "",
                "is required: the name or ARN of the ECS cluster to watch",
            )
        })?;
        let cluster = cluster.trim().to_string();
        let region = match source.get(ECS_REGION)? {
            Some(r) => r,
            None => source
                .get("AWS_REGION")?
                .unwrap_or_else(|| "us-east-1".into()),
        };
        if !valid_region(region.trim()) {
            return Err(invalid(
                ECS_REGION,
                &region,
                "is not an AWS region like us-east-1",
            ));
        }
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
        let services = match source.get(ECS_SERVICES)? {
            None => None,
            Some(v) => {
                let list: Vec<String> = v.split(',').map(|s| s.trim().to_string()).collect();
                if let Some(i) = list.iter().position(|s| s.is_empty()) {
                    return Err(invalid(
                        ECS_SERVICES,
                        &v,
                        format!("entry {} is empty", i + 1),
                    ));
                }
                Some(list)
            }
        };
        let endpoints = match source.get(ECS_HTTP_ENDPOINTS)? {
            None => Vec::new(),
            Some(v) => parse_endpoints(&v)?,
        };
        let outdir = PathBuf::from(
            source
                .get(ECS_HEALTH_OUTDIR)?
                .unwrap_or_else(|| "./data/".into()),
        );
        let state_file = source
            .get(ECS_HEALTH_STATE)?
            .map(PathBuf::from)
            .unwrap_or_else(|| outdir.join("ecs-health.json"));
        let mut state_prefix = source
            .get(STATE_PREFIX)?
            .unwrap_or_else(|| "ecs-health/".into());
        state_prefix = state_prefix.trim().trim_start_matches('/').to_string();
        if !state_prefix.is_empty() && !state_prefix.ends_with('/') {
            state_prefix.push('/');
        }
        let alert_topic_arn = source.get(ALERT_TOPIC_ARN)?;
        if let Some(arn) = &alert_topic_arn
            && !(arn.starts_with("arn:") && arn.split(':').count() == 6 && arn.contains(":sns:"))
        {
            return Err(invalid(
                ALERT_TOPIC_ARN,
                arn,
                "is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)",
            ));
        }
        let thresholds = Thresholds {
            cert_warn_days: int_var(source, CERT_WARN_DAYS, 14, 1..=3650)? as i64,
            cert_critical_days: int_var(source, CERT_CRITICAL_DAYS, 7, 0..=3650)? as i64,
            failure_threshold: int_var(source, FAILURE_THRESHOLD, 2, 1..=100)? as u32,
            success_threshold: int_var(source, SUCCESS_THRESHOLD, 1, 1..=100)? as u32,
            reminder_minutes: int_var(source, REMINDER_MINUTES, 0, 0..=10_080)?,
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
            cluster,
            region: region.trim().to_string(),
            domain,
            services,
            endpoints,
            state_file,
            outdir,
            state_bucket: source.get(STATE_BUCKET)?.map(|b| b.trim().to_string()),
            state_prefix,
            alert_topic_arn,
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

pub const ECS_LOG_PATTERN: &str = "ECS_LOG_PATTERN";
pub const REPORT_BUCKET: &str = "REPORT_BUCKET";
pub const REPORT_PREFIX: &str = "REPORT_PREFIX";
pub const DIAGNOSE_MINUTES: &str = "DIAGNOSE_MINUTES";
pub const DIAGNOSE_EVENT_LIMIT: &str = "DIAGNOSE_EVENT_LIMIT";
pub const DIAGNOSE_CONCURRENCY: &str = "DIAGNOSE_CONCURRENCY";
pub const DIAGNOSE_COALESCE_MINUTES: &str = "DIAGNOSE_COALESCE_MINUTES";

/// Configuration of diagnose (the Lambda and `ecs-monitor logs`).
#[derive(Debug, Clone)]
pub struct DiagnoseConfig {
    pub cluster: String,
    pub region: String,
    pub services: Option<Vec<String>>,
    /// Log group of a service: `{service}` is replaced by its name. Default `/ecs/{service}`.
    pub log_pattern: String,
    /// Where reports go: `REPORT_BUCKET`, else `STATE_BUCKET`.
    pub report_bucket: Option<String>,
    pub report_prefix: String,
    pub alert_topic_arn: Option<String>,
    /// Window length when the trigger does not say.
    pub minutes: u32,
    /// Events read per service and window at most.
    pub event_limit: u64,
    /// Diagnoses that may run at once (the Lambda's reserved concurrency): they share the
    /// account's CloudWatch Logs request budget.
    pub concurrency: u32,
    /// Automatic triggers diagnose a service at most once per this many minutes; 0: each.
    pub coalesce_minutes: u32,
    /// The health state file, for `logs auto-diagnose`.
    pub state_file: PathBuf,
    pub classifier: ClassifierConfig,
}

impl DiagnoseConfig {
    pub fn from_env(source: &impl Source) -> Result<Self, ConfigError> {
        // The variables shared with the health check are read and checked the same way.
        let health = HealthConfig::from_env(source)?;
        let log_pattern = source
            .get(ECS_LOG_PATTERN)?
            .unwrap_or_else(|| "/ecs/{service}".into());
        if !log_pattern.contains("{service}") {
            return Err(invalid(
                ECS_LOG_PATTERN,
                &log_pattern,
                "must contain {service}, as in /ecs/{service}",
            ));
        }
        let mut report_prefix = source
            .get(REPORT_PREFIX)?
            .unwrap_or_else(|| "reports/".into());
        report_prefix = report_prefix.trim().trim_start_matches('/').to_string();
        if !report_prefix.is_empty() && !report_prefix.ends_with('/') {
            report_prefix.push('/');
        }
        Ok(Self {
            report_bucket: source.get(REPORT_BUCKET)?.or(health.state_bucket.clone()),
            cluster: health.cluster,
            region: health.region,
            services: health.services,
            log_pattern,
            report_prefix,
            alert_topic_arn: health.alert_topic_arn,
            minutes: int_var(source, DIAGNOSE_MINUTES, 60, 1..=10_080)? as u32,
            event_limit: int_var(source, DIAGNOSE_EVENT_LIMIT, 100_000, 1..=100_000_000)?,
            concurrency: int_var(source, DIAGNOSE_CONCURRENCY, 1, 1..=1000)? as u32,
            coalesce_minutes: int_var(source, DIAGNOSE_COALESCE_MINUTES, 10, 0..=1440)? as u32,
            state_file: health.state_file,
            classifier: ClassifierConfig::from_env(source)?,
        })
    }

    pub fn log_group(&self, service: &str) -> String {
        self.log_pattern.replace("{service}", service)
    }

    /// The report bucket, required where reports go to S3 (the Lambda).
    pub fn require_report_bucket(&self) -> Result<&str, ConfigError> {
        self.report_bucket.as_deref().ok_or_else(|| {
            invalid(
                REPORT_BUCKET,
                "",
                "is required (or STATE_BUCKET): the bucket that keeps the reports",
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn health(vars: &[(&'static str, &'static str)]) -> Result<HealthConfig, ConfigError> {
        let mut env: HashMap<&str, &str> = HashMap::from([(ECS_CLUSTER, "prod")]);
        env.extend(vars.iter().copied());
        HealthConfig::from_env(&env)
    }

    #[test]
    fn diagnose_defaults_and_errors() {
        let env = HashMap::from([(ECS_CLUSTER, "prod"), (STATE_BUCKET, "state")]);
        let c = DiagnoseConfig::from_env(&env).unwrap();
        assert_eq!(c.log_group("api"), "/ecs/api");
        assert_eq!(c.report_bucket.as_deref(), Some("state"));
        assert_eq!(c.report_prefix, "reports/");
        assert_eq!((c.minutes, c.event_limit), (60, 100_000));
        assert_eq!((c.concurrency, c.coalesce_minutes), (1, 10));
        let env = HashMap::from([(ECS_CLUSTER, "prod"), (ECS_LOG_PATTERN, "/aws/ecs/prod")]);
        let err = DiagnoseConfig::from_env(&env).unwrap_err().to_string();
        assert!(
            err.starts_with("ECS_LOG_PATTERN=") && err.contains("{service}"),
            "{err}"
        );
        let env = HashMap::from([(ECS_CLUSTER, "prod")]);
        let err = DiagnoseConfig::from_env(&env)
            .unwrap()
            .require_report_bucket()
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("REPORT_BUCKET"), "{err}");
    }

    #[test]
    fn health_defaults() {
        let c = health(&[]).unwrap();
        assert_eq!(c.cluster, "prod");
        assert_eq!(c.region, "us-east-1");
        assert_eq!(c.domain, None);
        assert_eq!(c.services, None);
        assert!(c.endpoints.is_empty());
        assert_eq!(c.state_file, PathBuf::from("./data/ecs-health.json"));
        assert_eq!(c.state_prefix, "ecs-health/");
        assert_eq!(c.probe_timeout, Duration::from_millis(5000));
        assert_eq!(c.thresholds, Thresholds::default());
        assert!(
            c.require_state_bucket()
                .unwrap_err()
                .to_string()
                .starts_with("STATE_BUCKET")
        );
    }

    /// Every variable either function reads, blank (as SAM passes a parameter left blank),
    /// gives the same configuration as unset.
    #[test]
    fn blank_variables_mean_unset() {
        let every = [
            ECS_REGION,
            ECS_DOMAIN,
            ECS_SERVICES,
            ECS_HTTP_ENDPOINTS,
            ECS_HEALTH_STATE,
            ECS_HEALTH_OUTDIR,
            ECS_CA_BUNDLE,
            STATE_BUCKET,
            STATE_PREFIX,
            ALERT_TOPIC_ARN,
            CERT_WARN_DAYS,
            CERT_CRITICAL_DAYS,
            PROBE_TIMEOUT_MS,
            FAILURE_THRESHOLD,
            SUCCESS_THRESHOLD,
            REMINDER_MINUTES,
            ECS_HEALTH_PATHS,
            ECS_LOG_PATTERN,
            REPORT_BUCKET,
            REPORT_PREFIX,
            DIAGNOSE_MINUTES,
            DIAGNOSE_EVENT_LIMIT,
            DIAGNOSE_CONCURRENCY,
            DIAGNOSE_COALESCE_MINUTES,
        ];
        for blank in ["", " "] {
            let mut env: HashMap<&str, &str> = every.iter().map(|v| (*v, blank)).collect();
            env.insert(ECS_CLUSTER, "prod");
            let unset = HashMap::from([(ECS_CLUSTER, "prod")]);
            let (h, d) = (
                HealthConfig::from_env(&env).unwrap(),
                DiagnoseConfig::from_env(&env).unwrap(),
            );
            assert_eq!(
                format!("{h:?}"),
                format!("{:?}", HealthConfig::from_env(&unset).unwrap())
            );
            assert_eq!(
                format!("{d:?}"),
                format!("{:?}", DiagnoseConfig::from_env(&unset).unwrap())
            );
        }
    }

    #[test]
    fn endpoints_simple_and_json() {
        let c = health(&[(
            ECS_HTTP_ENDPOINTS,
            "api=https://api.example.com/health, web=http://10.0.0.1:8080/",
        )])
        .unwrap();
        assert_eq!(c.endpoints.len(), 2);
        assert_eq!(c.endpoints[1].name, "web");
        assert!(c.endpoints[0].expect.statuses.contains(301));
        assert!(!c.endpoints[0].expect.statuses.contains(404));
        let c = health(&[(
            ECS_HTTP_ENDPOINTS,
            r#"[{"name":"api","url":"https://api.example.com/health","status":["2xx","404"],"body":"status.:.ok","max_latency_ms":300}]"#,
        )])
        .unwrap();
        let e = &c.endpoints[0];
        assert!(e.expect.statuses.contains(404) && e.expect.statuses.contains(204));
        assert!(!e.expect.statuses.contains(301));
        assert!(
            e.expect
                .body
                .as_ref()
                .unwrap()
                .is_match(r#"{"status":"ok"}"#)
        );
        assert_eq!(e.expect.max_latency_ms, Some(300));
    }

    #[test]
    fn bad_values_name_the_variable_and_the_problem() {
        type Vars = &'static [(&'static str, &'static str)];
        let cases: &[(Vars, &str, &str)] = &[
            (
                &[(ECS_REGION, "useast1")],
                "ECS_REGION=",
                "not an AWS region",
            ),
            (
                &[(ECS_DOMAIN, "https://api.example.com/")],
                "ECS_DOMAIN=",
                "not a URL",
            ),
            (
                &[(ECS_SERVICES, "api,,web")],
                "ECS_SERVICES=",
                "entry 2 is empty",
            ),
            (
                &[(ECS_HTTP_ENDPOINTS, "api")],
                "ECS_HTTP_ENDPOINTS=",
                "not name=url",
            ),
            (
                &[(ECS_HTTP_ENDPOINTS, "api=ftp://x")],
                "ECS_HTTP_ENDPOINTS=",
                "not an http",
            ),
            (
                &[(ECS_HTTP_ENDPOINTS, "a=http://x,a=http://y")],
                "ECS_HTTP_ENDPOINTS=",
                "used twice",
            ),
            (
                &[(
                    ECS_HTTP_ENDPOINTS,
                    r#"[{"name":"a","url":"http://x","status":["7xx"]}]"#,
                )],
                "ECS_HTTP_ENDPOINTS=",
                "status",
            ),
            (
                &[(
                    ECS_HTTP_ENDPOINTS,
                    r#"[{"name":"a","url":"http://x","body":"("}]"#,
                )],
                "ECS_HTTP_ENDPOINTS=",
                "not a valid regex",
            ),
            (
                &[(ECS_HTTP_ENDPOINTS, "[{")],
                "ECS_HTTP_ENDPOINTS=",
                "not a valid JSON",
            ),
            (
                &[(CERT_WARN_DAYS, "soon")],
                "CERT_WARN_DAYS=",
                "not a whole number",
            ),
            (
                &[(CERT_CRITICAL_DAYS, "30")],
                "CERT_CRITICAL_DAYS=",
                "must be below CERT_WARN_DAYS",
            ),
            (
                &[(FAILURE_THRESHOLD, "0")],
                "FAILURE_THRESHOLD=",
                "between 1 and 100",
            ),
            (
                &[(PROBE_TIMEOUT_MS, "-5")],
                "PROBE_TIMEOUT_MS=",
                "not a whole number",
            ),
            (
                &[(ALERT_TOPIC_ARN, "my-topic")],
                "ALERT_TOPIC_ARN=",
                "not an SNS topic ARN",
            ),
        ];
        for (vars, prefix, problem) in cases {
            let err = health(vars).unwrap_err().to_string();
            assert!(err.starts_with(prefix), "{err}");
            assert!(err.contains(problem), "{err}");
        }
        let err = HealthConfig::from_env(&HashMap::new())
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("ECS_CLUSTER") && err.contains("required"),
            "{err}"
        );
    }

    #[test]
    fn health_paths_default_and_custom() {
        let unset = HashMap::new();
        assert_eq!(
            ClassifierConfig::from_env(&unset).unwrap().health_paths,
            HealthPaths::default()
        );
        let env = HashMap::from([(ECS_HEALTH_PATHS, " /status/alive , /up ")]);
        let cfg = ClassifierConfig::from_env(&env).unwrap();
        assert_eq!(cfg.health_paths.paths(), ["/status/alive", "/up"]);
    }

    #[test]
    fn bad_health_paths_name_the_variable_and_the_problem() {
        for (value, problem) in [
            (" , ", "entry 1 is empty"),
            ("/health,,/ready", "entry 2 is empty"),
            ("health", "must start with '/'"),
            ("/health?x=1", "give the path alone"),
        ] {
            let env = HashMap::from([(ECS_HEALTH_PATHS, value)]);
            let err = ClassifierConfig::from_env(&env).unwrap_err().to_string();
            assert!(err.starts_with("ECS_HEALTH_PATHS="), "{err}");
            assert!(err.contains(problem), "{err}");
        }
    }
}
