//! What both functions and the CLI read: the cluster, its region and services, where the
//! state is kept and where alerts go.

use super::{ConfigError, Source, invalid};
use std::path::PathBuf;

pub const ECS_CLUSTER: &str = "ECS_CLUSTER";
pub const ECS_REGION: &str = "ECS_REGION";
pub const ECS_SERVICES: &str = "ECS_SERVICES";
pub const ECS_HEALTH_STATE: &str = "ECS_HEALTH_STATE";
pub const ECS_HEALTH_OUTDIR: &str = "ECS_HEALTH_OUTDIR";
pub const STATE_BUCKET: &str = "STATE_BUCKET";
pub const STATE_PREFIX: &str = "STATE_PREFIX";
pub const ALERT_TOPIC_ARN: &str = "ALERT_TOPIC_ARN";
pub const MAINTENANCE_WINDOWS: &str = "MAINTENANCE_WINDOWS";
pub const METRICS_NAMESPACE: &str = "METRICS_NAMESPACE";
pub const DETAILED_METRICS: &str = "DETAILED_METRICS";

/// The variables every part reads.
#[derive(Debug, Clone)]
pub struct CommonConfig {
    pub cluster: String,
    pub region: String,
    /// Services to watch; every service of the cluster when unset.
    pub services: Option<Vec<String>>,
    /// The CLI's state file (`ECS_HEALTH_STATE`, else `$ECS_HEALTH_OUTDIR/ecs-health.json`).
    pub state_file: PathBuf,
    pub outdir: PathBuf,
    pub state_bucket: Option<String>,
    pub state_prefix: String,
    pub alert_topic_arn: Option<String>,
    /// Recurring maintenance windows (`MAINTENANCE_WINDOWS`, syntax in `silence`).
    pub maintenance_windows: Vec<crate::silence::Window>,
    /// CloudWatch metrics (EMF) of each Lambda run: off when `METRICS_NAMESPACE` is unset.
    pub metrics: Option<crate::metrics::MetricsConfig>,
}

pub(crate) fn valid_region(r: &str) -> bool {
    let parts: Vec<&str> = r.split('-').collect();
    parts.len() >= 3
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty()
}

/// A key prefix of `var` (default `default`): no leading `/`, a trailing one.
pub(crate) fn key_prefix(
    source: &impl Source,
    var: &'static str,
    default: &str,
) -> Result<String, ConfigError> {
    let mut prefix = source.get(var)?.unwrap_or_else(|| default.into());
    prefix = prefix.trim().trim_start_matches('/').to_string();
    if !prefix.is_empty() && !prefix.ends_with('/') {
        prefix.push('/');
    }
    Ok(prefix)
}

impl CommonConfig {
    pub fn from_env(source: &impl Source) -> Result<Self, ConfigError> {
        let cluster = source.get(ECS_CLUSTER)?.ok_or_else(|| {
            invalid(
                ECS_CLUSTER,
                "",
                "is required: the name or ARN of the ECS cluster to watch",
            )
        })?;
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
        let outdir = PathBuf::from(
            source
                .get(ECS_HEALTH_OUTDIR)?
                .unwrap_or_else(|| "./data/".into()),
        );
        let state_file = source
            .get(ECS_HEALTH_STATE)?
            .map(PathBuf::from)
            .unwrap_or_else(|| outdir.join("ecs-health.json"));
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
        Ok(Self {
            cluster: cluster.trim().to_string(),
            region: region.trim().to_string(),
            services,
            state_file,
            outdir,
            state_bucket: source.get(STATE_BUCKET)?.map(|b| b.trim().to_string()),
            state_prefix: key_prefix(source, STATE_PREFIX, "ecs-health/")?,
            alert_topic_arn,
            maintenance_windows: match source.get(MAINTENANCE_WINDOWS)? {
                Some(v) => crate::silence::parse_windows(&v)
                    .map_err(|why| invalid(MAINTENANCE_WINDOWS, &v, why))?,
                None => Vec::new(),
            },
            metrics: metrics_config(source)?,
        })
    }
}

/// `METRICS_NAMESPACE` (unset: no metrics) and `DETAILED_METRICS` (`true`/`false`).
fn metrics_config(
    source: &impl Source,
) -> Result<Option<crate::metrics::MetricsConfig>, ConfigError> {
    let detailed = match source.get(DETAILED_METRICS)?.as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => return Err(invalid(DETAILED_METRICS, other, "must be true or false")),
    };
    let Some(namespace) = source.get(METRICS_NAMESPACE)? else {
        return Ok(None);
    };
    if let Some(why) = crate::metrics::namespace_problem(&namespace) {
        return Err(invalid(METRICS_NAMESPACE, &namespace, why));
    }
    Ok(Some(crate::metrics::MetricsConfig {
        namespace,
        detailed,
    }))
}
