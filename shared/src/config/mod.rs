//! Configuration from the environment, one module per function: `common` (what both
//! functions and the CLI read), `health`, `diagnose`, `classifier`. Each reads only its own
//! variables: diagnose never parses a health-only one. A bad value is an error that names the
//! variable and says what is wrong with the value.

mod classifier;
mod common;
mod diagnose;
mod fleet;
mod health;
mod notifier;

pub use classifier::*;
pub use common::*;
pub use diagnose::*;
pub use fleet::*;
pub use health::*;
pub use notifier::*;

use std::collections::HashMap;
use std::ffi::OsString;

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

pub(crate) fn invalid(var: &'static str, value: &str, problem: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        var,
        // The message is logged and printed: no credentials of a URL in it.
        value: crate::redact::redact(value).into_owned(),
        problem: problem.into(),
    }
}

/// An integer variable within `range`, or `default` when unset.
pub(crate) fn int_var(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::HealthPaths;
    use std::path::PathBuf;
    use std::time::Duration;

    fn health(vars: &[(&'static str, &'static str)]) -> Result<HealthConfig, ConfigError> {
        let mut env: HashMap<&str, &str> = HashMap::from([(ECS_CLUSTER, "prod")]);
        env.extend(vars.iter().copied());
        HealthConfig::from_env(&env)
    }

    #[test]
    fn diagnose_defaults_and_errors() {
        let env = HashMap::from([(ECS_CLUSTER, "prod"), (STATE_BUCKET, "state")]);
        let c = DiagnoseConfig::from_env(&env).unwrap();
        assert_eq!(c.log_group("api"), None, "unset: the task definition says");
        assert_eq!(c.report_bucket.as_deref(), Some("state"));
        assert_eq!(c.report_prefix, "reports/");
        assert_eq!((c.minutes, c.event_limit), (60, 100_000));
        assert_eq!((c.concurrency, c.coalesce_minutes), (1, 10));
        assert!(c.deployment_notices);
        for (value, on) in [("false", Some(false)), ("true", Some(true)), ("off", None)] {
            let env = HashMap::from([(ECS_CLUSTER, "prod"), (DEPLOYMENT_NOTICES, value)]);
            match DiagnoseConfig::from_env(&env) {
                Ok(c) => assert_eq!(Some(c.deployment_notices), on, "{value}"),
                Err(e) => {
                    assert_eq!(on, None, "{value}");
                    assert_eq!(
                        e.to_string(),
                        "DEPLOYMENT_NOTICES=\"off\": must be true or false"
                    );
                }
            }
        }
        let env = HashMap::from([
            (ECS_CLUSTER, "prod"),
            (ECS_LOG_PATTERN, "/aws/ecs/{service}"),
        ]);
        assert_eq!(
            DiagnoseConfig::from_env(&env)
                .unwrap()
                .log_group("api")
                .as_deref(),
            Some("/aws/ecs/api")
        );
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

    /// Diagnose reads only the common variables and its own: a bad health-only one must not
    /// break `ecs-monitor logs` or the diagnose Lambda.
    #[test]
    fn diagnose_ignores_health_only_variables() {
        for var in [
            ECS_DOMAIN,
            ECS_HTTP_ENDPOINTS,
            CERT_WARN_DAYS,
            CERT_CRITICAL_DAYS,
            PROBE_TIMEOUT_MS,
            FAILURE_THRESHOLD,
            SUCCESS_THRESHOLD,
            REMINDER_MINUTES,
            DEPLOY_GRACE_MINUTES,
        ] {
            let env = HashMap::from([(ECS_CLUSTER, "prod"), (var, "https://not valid/")]);
            assert!(HealthConfig::from_env(&env).is_err(), "{var}");
            DiagnoseConfig::from_env(&env).unwrap_or_else(|e| panic!("{var}: {e}"));
        }
        // The common ones are read and checked the same way by both.
        let env = HashMap::from([(ECS_CLUSTER, "prod"), (ECS_REGION, "mars")]);
        let (h, d) = (
            HealthConfig::from_env(&env).unwrap_err(),
            DiagnoseConfig::from_env(&env).unwrap_err(),
        );
        assert_eq!(h, d);
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
        assert_eq!(c.metrics, None, "no metrics without a namespace");
        let c = health(&[(METRICS_NAMESPACE, "Team/ECS"), (DETAILED_METRICS, "true")]).unwrap();
        assert_eq!(
            c.metrics,
            Some(crate::metrics::MetricsConfig {
                namespace: "Team/ECS".into(),
                detailed: true
            })
        );
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
            DEPLOY_GRACE_MINUTES,
            ECS_HEALTH_PATHS,
            ECS_LOG_PATTERN,
            REPORT_BUCKET,
            REPORT_PREFIX,
            DIAGNOSE_MINUTES,
            DIAGNOSE_EVENT_LIMIT,
            DIAGNOSE_CONCURRENCY,
            DIAGNOSE_COALESCE_MINUTES,
            DEPLOYMENT_NOTICES,
            METRICS_NAMESPACE,
            DETAILED_METRICS,
            MAINTENANCE_WINDOWS,
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
                &[(METRICS_NAMESPACE, "AWS/ECS")],
                "METRICS_NAMESPACE=",
                "reserved",
            ),
            (
                &[(DETAILED_METRICS, "yes")],
                "DETAILED_METRICS=",
                "must be true or false",
            ),
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
