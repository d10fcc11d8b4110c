//! `ecs-monitor health [--json] [--quiet]`: the health check from a laptop; with
//! `ECS_CLUSTERS`, every cluster of the fleet.

use super::CliError;
use crate::app::{Accounts, AppError, HealthCheck, resolve_targets};
use crate::aws;
use crate::config::{ECS_HEALTH_STATE, FleetConfig, HealthConfig, Overlay, Resolved, Source};
use crate::health::model::{Overall, State};
use crate::health::report;
use futures_util::stream::{self, StreamExt};
use std::io::Write;
use std::path::{Path, PathBuf};
use time::OffsetDateTime;

pub struct Options {
    pub json: bool,
    pub quiet: bool,
}

/// Runs the check; writes the state to `ECS_HEALTH_STATE`; returns the overall status. With
/// `ECS_CLUSTERS`, checks each cluster into a state file of its own and returns the worst
/// status, or, after printing every cluster, an error naming those that could not be
/// checked.
pub async fn run<W: Write>(
    source: &impl Source,
    opts: &Options,
    out: &mut W,
) -> Result<Overall, CliError> {
    if let Some(fleet) = FleetConfig::from_env(source)? {
        return run_fleet(source, fleet, opts, out).await;
    }
    let cfg = HealthConfig::from_env(source)?;
    let sdk = aws::sdk_config(&cfg.region).await;
    let app = HealthCheck::cli(cfg, &sdk)?;
    let now = OffsetDateTime::now_utc();
    let state = check(&app, now).await?;
    if !opts.quiet {
        let text = if opts.json {
            serde_json::to_string_pretty(&state).map_err(|e| CliError::Write(e.into()))? + "\n"
        } else {
            report::text(&state)
        };
        write(out, &text)?;
    }
    Ok(state.overall)
}

/// One cluster's check, its warnings said on standard error.
async fn check<E, T>(
    app: &HealthCheck<E, T, crate::aws::local::FileStore, crate::aws::sns::Sns>,
    now: OffsetDateTime,
) -> Result<State, AppError>
where
    E: crate::ports::EcsServices,
    T: crate::ports::TargetHealth,
{
    let run_id = format!("cli-{}-{}", std::process::id(), now.unix_timestamp_nanos());
    let outcome = app.run("manual", now, &run_id).await?.outcome;
    let name = outcome.state.display_name().to_string();
    if let Some(w) = &outcome.warning {
        eprintln!("ecs-monitor: warning: {name}: {w}");
    }
    if let Some(e) = &outcome.publish_error {
        eprintln!(
            "ecs-monitor: {name}: the alert could not be published (kept for the next run): {e}"
        );
    }
    Ok(outcome.state)
}

fn write<W: Write>(out: &mut W, text: &str) -> Result<(), CliError> {
    out.write_all(text.as_bytes()).map_err(CliError::Write)?;
    out.flush().map_err(CliError::Write)
}

/// A fleet cluster's state file: the configured one with the cluster's entry in its name
/// (`ecs-health.json` → `ecs-health.eu-west-1.prod.json`), so that clusters never share one.
pub fn fleet_state_file(base: &Path, r: &Resolved) -> PathBuf {
    let stem = base
        .file_stem()
        .map_or("ecs-health".into(), |s| s.to_string_lossy().into_owned());
    let ext = base
        .extension()
        .map_or("json".into(), |e| e.to_string_lossy().into_owned());
    base.with_file_name(format!("{stem}.{}.{ext}", r.label().replace('/', ".")))
}

async fn run_fleet<W: Write>(
    source: &impl Source,
    fleet: FleetConfig,
    opts: &Options,
    out: &mut W,
) -> Result<Overall, CliError> {
    let base = HealthConfig::from_env(&Overlay::any_cluster(source))?;
    let accounts = Accounts::new(aws::sdk_config(&base.region).await, fleet.clone()).await;
    let (targets, undiscovered) = resolve_targets(&fleet, &accounts, &base.region).await;
    let now = OffsetDateTime::now_utc();
    let results: Vec<(String, Result<State, AppError>)> = stream::iter(targets.iter())
        .map(|r| async {
            let one = async {
                let mut overlay = r.overlay(source, &base.state_prefix, &base.report_prefix);
                overlay.vars.insert(
                    ECS_HEALTH_STATE,
                    fleet_state_file(&base.state_file, r)
                        .to_string_lossy()
                        .into_owned(),
                );
                let mut cfg = HealthConfig::from_env(&overlay)?;
                (cfg.label, cfg.account) = accounts.naming(r);
                let sdk = accounts.sdk(r.account.as_deref(), &r.region).await;
                let app = HealthCheck::cli_member(cfg, accounts.home(), &sdk)?;
                check(&app, now).await
            };
            (r.label(), one.await)
        })
        .buffered(fleet.per_worker)
        .collect()
        .await;
    let mut worst = Overall::Healthy;
    let mut failed: Vec<String> = Vec::new();
    let mut json = Vec::new();
    let mut text = String::new();
    for (label, result) in results.into_iter().chain(
        undiscovered
            .into_iter()
            .map(|c| (c.target, c.result.map(|r| r.outcome.state))),
    ) {
        match result {
            Ok(state) => {
                worst = worst.max(state.overall);
                text.push_str(&format!("== {label}\n{}\n", report::text(&state)));
                json.push(serde_json::json!({"cluster": label, "state": state}));
            }
            Err(e) => {
                text.push_str(&format!("== {label}\nnot checked: {e}\n\n"));
                json.push(serde_json::json!({"cluster": label, "error_type": e.error_type(), "error": e.to_string()}));
                failed.push(label);
            }
        }
    }
    if !opts.quiet {
        let body = if opts.json {
            serde_json::to_string_pretty(&json).map_err(|e| CliError::Write(e.into()))? + "\n"
        } else {
            text
        };
        write(out, &body)?;
    }
    if !failed.is_empty() {
        return Err(CliError::Failed(format!(
            "{} of {} clusters could not be checked: {}",
            failed.len(),
            json.len(),
            failed.join(", ")
        )));
    }
    Ok(worst)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_fleet_cluster_has_a_state_file_of_its_own() {
        let r = |account: Option<&str>, region: &str, explicit: bool| Resolved {
            account: account.map(str::to_string),
            region: region.into(),
            cluster: "prod".into(),
            explicit_region: explicit,
        };
        let base = Path::new("/tmp/out/ecs-health.json");
        assert_eq!(
            fleet_state_file(base, &r(None, "us-east-1", false)),
            Path::new("/tmp/out/ecs-health.prod.json")
        );
        assert_eq!(
            fleet_state_file(base, &r(None, "eu-west-1", true)),
            Path::new("/tmp/out/ecs-health.eu-west-1.prod.json")
        );
        assert_eq!(
            fleet_state_file(
                Path::new("state"),
                &r(Some("111111111111"), "eu-west-1", true)
            ),
            Path::new("state.111111111111.eu-west-1.prod.json")
        );
    }
}
