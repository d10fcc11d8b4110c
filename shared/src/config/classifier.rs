//! The log classifier's configuration (both functions and `ecs-monitor classify`).

use super::{ConfigError, Source};
use crate::classify::HealthPaths;

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
