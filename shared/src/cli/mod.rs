//! The `ecs-monitor` command line: each command is a function over readers and writers, so
//! the binary stays a thin clap front end and tests run commands in memory.

pub mod classify;
pub mod health;
pub mod lines;
pub mod logs;
pub mod silence;
pub mod status;

use std::io;

/// Exit codes of the original scripts.
pub mod exit {
    pub const OK: u8 = 0;
    /// Unhealthy, degraded, or issues found.
    pub const ISSUES: u8 = 1;
    /// Usage, configuration or I/O error.
    pub const ERROR: u8 = 2;
}

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("cannot read {name}: {source}")]
    Read { name: String, source: io::Error },
    #[error("cannot write output: {0}")]
    Write(#[source] io::Error),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    App(#[from] crate::app::AppError),
    #[error("{0}")]
    Failed(String),
}

impl CliError {
    /// Output closed by the reader (`ecs-monitor classify big.log | head`): not a failure.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, CliError::Write(e) if e.kind() == io::ErrorKind::BrokenPipe)
    }
}
