//! `ecs-monitor health [--json] [--quiet]`: the health check from a laptop.

use super::CliError;
use crate::app::HealthCheck;
use crate::aws;
use crate::config::{HealthConfig, Source};
use crate::health::model::Overall;
use crate::health::report;
use std::io::Write;
use time::OffsetDateTime;

pub struct Options {
    pub json: bool,
    pub quiet: bool,
}

/// Runs the check; writes the state to `ECS_HEALTH_STATE`; returns the overall status.
pub async fn run<W: Write>(
    source: &impl Source,
    opts: &Options,
    out: &mut W,
) -> Result<Overall, CliError> {
    let cfg = HealthConfig::from_env(source)?;
    let sdk = aws::sdk_config(&cfg.region).await;
    let app = HealthCheck::cli(cfg, &sdk)?;
    let now = OffsetDateTime::now_utc();
    let run_id = format!("cli-{}-{}", std::process::id(), now.unix_timestamp_nanos());
    let outcome = app.run("manual", now, &run_id).await?.outcome;
    if let Some(w) = &outcome.warning {
        eprintln!("ecs-monitor: warning: {w}");
    }
    if let Some(e) = &outcome.publish_error {
        eprintln!("ecs-monitor: the alert could not be published (kept for the next run): {e}");
    }
    if !opts.quiet {
        let text = if opts.json {
            serde_json::to_string_pretty(&outcome.state).map_err(|e| CliError::Write(e.into()))?
                + "\n"
        } else {
            report::text(&outcome.state)
        };
        out.write_all(text.as_bytes()).map_err(CliError::Write)?;
        out.flush().map_err(CliError::Write)?;
    }
    Ok(outcome.state.overall)
}
