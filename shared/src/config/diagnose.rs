//! Diagnose's configuration (the Lambda and `ecs-monitor logs`).

use super::common::key_prefix;
use super::{ClassifierConfig, CommonConfig, ConfigError, Source, int_var, invalid};
use std::path::PathBuf;

pub const ECS_LOG_PATTERN: &str = "ECS_LOG_PATTERN";
pub const REPORT_BUCKET: &str = "REPORT_BUCKET";
pub const REPORT_PREFIX: &str = "REPORT_PREFIX";
pub const DIAGNOSE_MINUTES: &str = "DIAGNOSE_MINUTES";
pub const DIAGNOSE_EVENT_LIMIT: &str = "DIAGNOSE_EVENT_LIMIT";
pub const DIAGNOSE_CONCURRENCY: &str = "DIAGNOSE_CONCURRENCY";
pub const DIAGNOSE_COALESCE_MINUTES: &str = "DIAGNOSE_COALESCE_MINUTES";
pub const DEPLOYMENT_NOTICES: &str = "DEPLOYMENT_NOTICES";

/// Configuration of diagnose (the Lambda and `ecs-monitor logs`).
#[derive(Debug, Clone)]
pub struct DiagnoseConfig {
    pub cluster: String,
    pub region: String,
    pub services: Option<Vec<String>>,
    /// Log group of a service: `{service}` is replaced by its name. Unset: the groups its task
    /// definition's containers log to (`diagnose::logsource`).
    pub log_pattern: Option<String>,
    /// Where reports go: `REPORT_BUCKET`, else `STATE_BUCKET`.
    pub report_bucket: Option<String>,
    pub report_prefix: String,
    /// The health check's state (`STATE_BUCKET`, `STATE_PREFIX`): read for its open incident,
    /// whose thread a diagnosis of an ECS event joins.
    pub state_bucket: Option<String>,
    pub state_prefix: String,
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
    /// Post a notice when a deployment starts, rolls back or completes.
    pub deployment_notices: bool,
    /// The health state file, for `logs auto-diagnose`.
    pub state_file: PathBuf,
    pub classifier: ClassifierConfig,
    /// Recurring maintenance windows (`MAINTENANCE_WINDOWS`).
    pub maintenance_windows: Vec<crate::silence::Window>,
    pub metrics: Option<crate::metrics::MetricsConfig>,
    /// How a fleet names the cluster (`account/region/cluster`), and its account.
    pub label: Option<String>,
    pub account: Option<String>,
}

impl DiagnoseConfig {
    pub fn from_env(source: &impl Source) -> Result<Self, ConfigError> {
        // Only the common variables and diagnose's own: a health-only variable, good or bad,
        // does not concern it.
        let common = CommonConfig::from_env(source)?;
        let log_pattern = source.get(ECS_LOG_PATTERN)?;
        if let Some(p) = &log_pattern
            && !p.contains("{service}")
        {
            return Err(invalid(
                ECS_LOG_PATTERN,
                p,
                "must contain {service}, as in /ecs/{service}",
            ));
        }
        let report_prefix = key_prefix(source, REPORT_PREFIX, "reports/")?;
        Ok(Self {
            report_bucket: source.get(REPORT_BUCKET)?.or(common.state_bucket.clone()),
            state_bucket: common.state_bucket.clone(),
            state_prefix: common.state_prefix.clone(),
            cluster: common.cluster,
            region: common.region,
            services: common.services,
            log_pattern,
            report_prefix,
            alert_topic_arn: common.alert_topic_arn,
            minutes: int_var(source, DIAGNOSE_MINUTES, 60, 1..=10_080)? as u32,
            event_limit: int_var(source, DIAGNOSE_EVENT_LIMIT, 100_000, 1..=100_000_000)?,
            concurrency: int_var(source, DIAGNOSE_CONCURRENCY, 1, 1..=1000)? as u32,
            coalesce_minutes: int_var(source, DIAGNOSE_COALESCE_MINUTES, 10, 0..=1440)? as u32,
            deployment_notices: match source.get(DEPLOYMENT_NOTICES)?.as_deref() {
                None | Some("true") => true,
                Some("false") => false,
                Some(other) => {
                    return Err(invalid(DEPLOYMENT_NOTICES, other, "must be true or false"));
                }
            },
            state_file: common.state_file,
            classifier: ClassifierConfig::from_env(source)?,
            maintenance_windows: common.maintenance_windows,
            metrics: common.metrics,
            label: None,
            account: None,
        })
    }

    /// The name people read: the fleet's label, else the cluster's name.
    pub fn display_name(&self) -> &str {
        self.label.as_deref().unwrap_or(&self.cluster)
    }

    /// The log group ECS_LOG_PATTERN names for `service`; `None` when it is unset (the task
    /// definition says).
    pub fn log_group(&self, service: &str) -> Option<String> {
        self.log_pattern
            .as_ref()
            .map(|p| p.replace("{service}", service))
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
