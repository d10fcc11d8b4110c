//! `ecs-monitor logs pull|errors|diagnose|restarts|summary|auto-diagnose [SERVICE|all]`:
//! the commands of the original `cloudwatch-logs.sh`, on the diagnose engine.

use super::CliError;
use crate::app::Diagnosis;
use crate::aws::{self, ecs::Ecs, logs::CloudWatchLogs};
use crate::config::{DiagnoseConfig, Source};
use crate::diagnose::fetch::{Query, REQUESTS_PER_SECOND, RateLimiter, fetch_window};
use crate::diagnose::render;
use crate::diagnose::report::{Report, ServiceStatus, Trigger};
use crate::diagnose::run::Request;
use crate::health::model::State;
use std::io::{IsTerminal, Write};
use time::OffsetDateTime;

/// The `logs` subcommands (their names on the command line: pull, …, auto-diagnose).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Command {
    Pull,
    Errors,
    Diagnose,
    Restarts,
    Summary,
    AutoDiagnose,
}

pub struct Options {
    pub command: Command,
    /// A service name, or `all`.
    pub target: String,
    pub minutes: u32,
    pub json: bool,
    /// Events per service: printed (`pull`, default 200) or analysed (default DIAGNOSE_EVENT_LIMIT).
    pub limit: Option<u64>,
    pub verbose: bool,
    pub filter: Option<String>,
}

fn paint(status: ServiceStatus, text: &str, colour: bool) -> String {
    if !colour {
        return text.to_string();
    }
    let code = match status {
        ServiceStatus::Healthy => "32",
        ServiceStatus::NoLogs => "2",
        ServiceStatus::Degraded => "33",
        ServiceStatus::Unhealthy | ServiceStatus::Critical | ServiceStatus::Error => "31;1",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

fn write_out<W: Write>(out: &mut W, text: &str) -> Result<(), CliError> {
    out.write_all(text.as_bytes()).map_err(CliError::Write)?;
    out.flush().map_err(CliError::Write)
}

/// The services the health state calls failing.
fn failing_services(cfg: &DiagnoseConfig) -> Result<Vec<String>, CliError> {
    let text = std::fs::read_to_string(&cfg.state_file).map_err(|source| CliError::Read {
        name: format!(
            "{} (the health state; run `ecs-monitor health` first)",
            cfg.state_file.display()
        ),
        source,
    })?;
    let state: State = serde_json::from_str(&text).map_err(|e| CliError::Read {
        name: cfg.state_file.display().to_string(),
        source: std::io::Error::other(format!("not a health state: {e}")),
    })?;
    Ok(state.failing_services().map(str::to_string).collect())
}

/// Runs a `logs` command; returns whether issues were found.
pub async fn run<W: Write>(
    source: &impl Source,
    opts: &Options,
    out: &mut W,
) -> Result<bool, CliError> {
    let cfg = DiagnoseConfig::from_env(source)?;
    let sdk = aws::sdk_config(&cfg.region).await;
    let app = Diagnosis::cli(cfg, &sdk);
    let cfg = &app.cfg;
    let now = OffsetDateTime::now_utc();
    let mut services = if opts.target == "all" {
        None
    } else {
        Some(vec![opts.target.clone()])
    };
    if opts.command == Command::AutoDiagnose {
        let failing = failing_services(cfg)?;
        if failing.is_empty() {
            write_out(
                out,
                "The health state shows no failing service: nothing to diagnose.\n",
            )?;
            return Ok(false);
        }
        services = Some(failing);
    }
    if opts.command == Command::Pull {
        return pull(cfg, &app.logs, &app.ecs, services, opts, now, out)
            .await
            .map(|_| false);
    }
    let req = Request {
        services,
        minutes: opts.minutes,
        limit: opts.limit.unwrap_or(cfg.event_limit),
        trigger: Trigger {
            kind: "manual".into(),
            detail: format!("ecs-monitor logs {}", command_name(opts.command)),
            incident_id: None,
            thread: None,
        },
    };
    if std::io::stderr().is_terminal() {
        eprint!("reading {} minutes of logs…\r", opts.minutes);
    }
    let report = app.report(&req, now).await?;
    if std::io::stderr().is_terminal() {
        eprint!("{:40}\r", "");
    }
    let issues = report.worst().is_problem();
    let colour = std::io::stdout().is_terminal();
    let text = if opts.json {
        json_for(opts.command, &report)
    } else {
        text_for(opts.command, &report, opts.verbose, colour)
    };
    write_out(out, &text)?;
    Ok(issues)
}

fn command_name(c: Command) -> &'static str {
    match c {
        Command::Pull => "pull",
        Command::Errors => "errors",
        Command::Diagnose => "diagnose",
        Command::Restarts => "restarts",
        Command::Summary => "summary",
        Command::AutoDiagnose => "auto-diagnose",
    }
}

fn json_for(c: Command, r: &Report) -> String {
    let v = match c {
        Command::Errors => serde_json::json!(r.services.iter().map(|s| serde_json::json!({"service": s.service, "errors_total": s.errors_total, "categories": s.categories, "top_errors": s.top_errors})).collect::<Vec<_>>()),
        Command::Restarts => serde_json::json!(r.services.iter().map(|s| serde_json::json!({"service": s.service, "restarts": s.restarts})).collect::<Vec<_>>()),
        Command::Summary => serde_json::json!(r.services.iter().map(|s| serde_json::json!({"service": s.service, "status": s.status, "events_scanned": s.events_scanned, "errors_total": s.errors_total, "restarts": s.restarts.count, "truncated": s.truncated, "error": s.error})).collect::<Vec<_>>()),
        _ => serde_json::to_value(r).unwrap_or_default(),
    };
    serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"
}

fn text_for(c: Command, r: &Report, verbose: bool, colour: bool) -> String {
    let mut o = String::new();
    match c {
        Command::Summary => {
            for (line, s) in render::summary_lines(r).iter().zip(&r.services) {
                o.push_str(&paint(s.status, line, colour));
                o.push('\n');
            }
        }
        Command::Errors => {
            for s in &r.services {
                o.push_str(&format!(
                    "== {} ({} errors: {})\n",
                    s.service,
                    s.errors_total,
                    render::category_line(s)
                ));
                for e in &s.top_errors {
                    o.push_str(&format!(
                        "  {:>5} × {:<16} {}{}\n",
                        e.count,
                        e.category.as_str(),
                        e.fingerprint,
                        if e.new { "  [new]" } else { "" }
                    ));
                    let lines: Vec<&str> = e.sample.lines().collect();
                    let shown = if verbose { lines.len() } else { 1 };
                    for l in lines.iter().take(shown) {
                        o.push_str(&format!("          {l}\n"));
                    }
                }
            }
        }
        Command::Restarts => {
            for s in &r.services {
                o.push_str(&format!(
                    "== {}: {} abnormal stops, {} log streams started\n",
                    s.service, s.restarts.count, s.restarts.log_streams_started
                ));
                for t in &s.restarts.timeline {
                    o.push_str(&format!("  {t}\n"));
                }
            }
        }
        _ => o.push_str(&render::text(r)),
    }
    o
}

#[allow(clippy::too_many_arguments)]
async fn pull<W: Write>(
    cfg: &DiagnoseConfig,
    logs: &CloudWatchLogs,
    ecs: &Ecs,
    services: Option<Vec<String>>,
    opts: &Options,
    now: OffsetDateTime,
    out: &mut W,
) -> Result<(), CliError> {
    let services = match services.or_else(|| cfg.services.clone()) {
        Some(s) => s,
        None => crate::ports::EcsServices::list_services(ecs, &cfg.cluster)
            .await
            .map_err(|e| CliError::Failed(e.to_string()))?,
    };
    let limiter = RateLimiter::new(REQUESTS_PER_SECOND, cfg.concurrency);
    let progress = std::io::stderr().is_terminal();
    let end = crate::timefmt::to_millis(now);
    let start = end - i64::from(opts.minutes) * 60_000;
    for service in services {
        // ECS_LOG_PATTERN's group, else the groups of the service's task definition.
        let groups = match crate::diagnose::run::find_log_groups(cfg, ecs, &service)
            .await
            .groups
        {
            Ok(groups) => groups,
            Err(e) => {
                eprintln!("ecs-monitor: {service}: {e}");
                continue;
            }
        };
        let mut left = opts.limit.unwrap_or(200);
        for group in &groups {
            let q = Query {
                group,
                start_ms: start,
                end_ms: end,
                pattern: opts.filter.as_deref(),
                cap: left,
            };
            let mut n = 0u64;
            let mut write_err = None;
            let fetched = fetch_window(logs, &limiter, q, |e| {
                n += 1;
                if progress && n.is_multiple_of(1000) {
                    eprint!("\rpulling {service}: {n} events");
                }
                let at = crate::timefmt::millis_rfc3339(e.timestamp);
                let line = if opts.json {
                    serde_json::json!({"timestamp": at, "service": service, "stream": e.stream, "message": e.message}).to_string()
                } else {
                    format!("{at} {service} {} {}", e.stream, e.message.trim_end())
                };
                if write_err.is_none()
                    && let Err(err) = writeln!(out, "{line}")
                {
                    write_err = Some(err);
                }
            })
            .await;
            if progress {
                eprint!("\r{:60}\r", "");
            }
            if let Some(e) = write_err {
                return Err(CliError::Write(e));
            }
            match fetched {
                Ok(f) if f.truncated => {
                    eprintln!(
                        "ecs-monitor: {service}: stopped at --limit {} events",
                        opts.limit.unwrap_or(200)
                    );
                    break;
                }
                Ok(f) => left = left.saturating_sub(f.events),
                Err(e) => eprintln!("ecs-monitor: {service} ({group}): {e}"),
            }
        }
    }
    out.flush().map_err(CliError::Write)
}
