//! Configuration from the environment, read in one place. A bad value is an error that names
//! the variable and says what is wrong with the value.

use crate::classify::HealthPaths;
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

    /// The value of `var`, `None` when unset.
    fn get(&self, var: &'static str) -> Result<Option<String>, ConfigError> {
        self.get_os(var)
            .map(|v| v.into_string().map_err(|_| ConfigError::NotUnicode { var }))
            .transpose()
    }
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
    if value.trim().is_empty() {
        return Err(invalid(
            "is empty: unset it for the defaults, or list paths like /health,/ready".into(),
        ));
    }
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

#[cfg(test)]
mod tests {
    use super::*;

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
            ("", "is empty"),
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
