//! One diagnosis: for each service at once (within one shared rate limiter), the window's
//! logs and the previous window's, the log streams started, the stopped tasks and the
//! service events, into a [`Report`].

use super::analyze::{Analyzer, Findings, LogEvent};
use super::fetch::{Limiters, Query, fetch_window, streams_started};
use super::report::*;
use super::restarts;
use super::stoplog;
use crate::classify::{Category, Classifier};
use crate::config::DiagnoseConfig;
use crate::ports::{EcsServices, LogEvents, StopLog, StoppedTaskInfo, StoreError, TaskHistory};
use futures_util::future::join_all;
use std::collections::{BTreeMap, HashSet};
use time::OffsetDateTime;

/// What to diagnose.
#[derive(Debug, Clone)]
pub struct Request {
    /// Services to diagnose; the configured ones (or all) when `None`.
    pub services: Option<Vec<String>>,
    pub minutes: u32,
    /// Events read per service and window at most.
    pub limit: u64,
    pub trigger: Trigger,
}

#[derive(Debug, thiserror::Error)]
pub enum DiagnoseError {
    #[error("cannot list the services of {cluster}: {error}")]
    ListServices { cluster: String, error: String },
}

/// Top errors listed per service.
pub const TOP_ERRORS: usize = 10;
/// How long ECS keeps a stopped task describable: "at least one hour" (DescribeTasks and
/// ListTasks, ECS API reference).
pub const STOPPED_TASKS_KEPT_MS: i64 = 60 * 60 * 1000;

/// The services a request names, else the configured ones, else every service of the cluster.
pub async fn resolve_services<E: EcsServices>(
    cfg: &DiagnoseConfig,
    ecs: &E,
    requested: Option<Vec<String>>,
) -> Result<Vec<String>, DiagnoseError> {
    match requested.or_else(|| cfg.services.clone()) {
        Some(s) => Ok(s),
        None => ecs
            .list_services(&cfg.cluster)
            .await
            .map_err(|e| DiagnoseError::ListServices {
                cluster: cfg.cluster.clone(),
                error: e.to_string(),
            }),
    }
}

use crate::timefmt::to_millis as ms;

fn at(ms: i64) -> OffsetDateTime {
    crate::timefmt::from_millis(ms).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

fn all_categories(counts: &BTreeMap<Category, u64>) -> BTreeMap<Category, u64> {
    Category::PRIORITY
        .iter()
        .map(|c| (*c, counts.get(c).copied().unwrap_or(0)))
        .collect()
}

struct Ctx<'a, L, H, R> {
    cfg: &'a DiagnoseConfig,
    logs: &'a L,
    history: &'a H,
    /// The task stops recorded from ECS events; none for the CLI.
    stop_log: Option<&'a R>,
    classifier: &'a Classifier,
    limiters: &'a Limiters,
    start: i64,
    end: i64,
    prev_start: i64,
    limit: u64,
}

async fn analyze_window<L: LogEvents>(
    ctx: &Ctx<'_, L, impl TaskHistory, impl StopLog>,
    group: &str,
    start: i64,
    end: i64,
) -> Result<(Findings, bool), String> {
    let mut analyzer = Analyzer::new(ctx.classifier);
    let q = Query {
        group,
        start_ms: start,
        end_ms: end,
        pattern: None,
        cap: ctx.limit,
    };
    let fetched = fetch_window(ctx.logs, &ctx.limiters.filter, q, |e| {
        analyzer.add(&LogEvent {
            timestamp: e.timestamp,
            stream: &e.stream,
            message: &e.message,
        })
    })
    .await
    .map_err(|e| e.to_string())?;
    Ok((analyzer.finish(), fetched.truncated))
}

/// The window's recorded stops, when there is a record to read.
async fn recorded<R: StopLog>(
    ctx: &Ctx<'_, impl LogEvents, impl TaskHistory, R>,
    service: &str,
) -> Option<Result<Vec<StoppedTaskInfo>, StoreError>> {
    match ctx.stop_log {
        Some(log) => Some(log.recorded_stops(service, ctx.start, ctx.end).await),
        None => None,
    }
}

async fn service_report<L: LogEvents, H: TaskHistory, R: StopLog>(
    ctx: &Ctx<'_, L, H, R>,
    service: &str,
) -> ServiceReport {
    let group = ctx.cfg.log_group(service);
    let (current, previous, streams, stopped, events, recorded) = tokio::join!(
        analyze_window(ctx, &group, ctx.start, ctx.end),
        analyze_window(ctx, &group, ctx.prev_start, ctx.start),
        streams_started(ctx.logs, &ctx.limiters.streams, &group, ctx.start, ctx.end),
        ctx.history.stopped_tasks(&ctx.cfg.cluster, service),
        ctx.history.service_events(&ctx.cfg.cluster, service),
        recorded(ctx, service),
    );
    let recorded_error = match &recorded {
        Some(Err(e)) => Some(e.to_string()),
        _ => None,
    };
    let have_records = matches!(recorded, Some(Ok(_)));
    let stopped =
        stopped.map(|ecs| stoplog::merge(ecs, recorded.and_then(Result::ok).unwrap_or_default()));
    let (findings, truncated, error) = match current {
        Ok((f, t)) => (f, t, None),
        Err(e) => (Findings::default(), false, Some(e)),
    };
    let (prev_counts, prev_fps) = match &previous {
        Ok((p, _)) => (
            Counts {
                errors_total: p.summary.errors_total,
                categories: all_categories(&p.summary.categories),
            },
            p.fingerprints(),
        ),
        Err(_) => (Counts::default(), HashSet::new()),
    };
    let s = &findings.summary;
    let top_errors = s
        .top(TOP_ERRORS)
        .into_iter()
        .map(|f| TopError {
            fingerprint: f.fingerprint.clone(),
            category: f.category,
            count: f.count,
            first_seen: at(f.first_seen.unwrap_or(ctx.start)),
            last_seen: at(f.last_seen.unwrap_or(ctx.end)),
            sample: f.sample.clone(),
            new: previous.is_ok() && !prev_fps.contains(&f.fingerprint),
        })
        .collect();
    let mut r = ServiceReport {
        service: service.to_string(),
        log_group: group,
        status: ServiceStatus::Healthy,
        events_scanned: s.lines,
        health_noise: s.health_noise,
        errors_total: s.errors_total,
        categories: all_categories(&s.categories),
        http_status: s
            .http_status
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect(),
        top_errors,
        restarts: {
            let mut r = restarts::assemble(
                ctx.start,
                ctx.end,
                stopped.as_deref().unwrap_or_default(),
                streams.as_deref().unwrap_or_default(),
                events.as_deref().unwrap_or_default(),
                &findings.lifecycle,
            );
            r.unavailable = [
                stopped
                    .as_ref()
                    .err()
                    .map(|e| format!("stopped tasks: {e}")),
                recorded_error.map(|e| format!("recorded task stops: {e}")),
                events
                    .as_ref()
                    .err()
                    .map(|e| format!("service events: {e}")),
                streams.as_ref().err().map(|e| format!("log streams: {e}")),
            ]
            .into_iter()
            .flatten()
            .collect();
            if ctx.end - ctx.start > STOPPED_TASKS_KEPT_MS && have_records {
                r.notes.push(format!(
                    "ECS keeps stopped tasks about an hour: stops before {} come from the task-stopped events recorded since the stack was deployed",
                    crate::timefmt::rfc3339(at(ctx.end - STOPPED_TASKS_KEPT_MS)),
                ));
            } else if ctx.end - ctx.start > STOPPED_TASKS_KEPT_MS {
                r.notes.push(format!(
                    "ECS keeps stopped tasks about an hour: the stopped-task evidence covers {} to {}, not the whole window",
                    crate::timefmt::rfc3339(at(ctx.end - STOPPED_TASKS_KEPT_MS)),
                    crate::timefmt::rfc3339(at(ctx.end))
                ));
            }
            r
        },
        previous_window: prev_counts,
        truncated,
        error,
    };
    r.status = service_status(&r);
    r
}

/// Diagnoses the services of `req` over the window ending at `now`.
#[allow(clippy::too_many_arguments)] // the ports of one diagnosis
pub async fn diagnose<L: LogEvents, E: EcsServices, H: TaskHistory, R: StopLog>(
    cfg: &DiagnoseConfig,
    logs: &L,
    ecs: &E,
    history: &H,
    stop_log: Option<&R>,
    classifier: &Classifier,
    req: &Request,
    now: OffsetDateTime,
) -> Result<Report, DiagnoseError> {
    let services = resolve_services(cfg, ecs, req.services.clone()).await?;
    let minutes = time::Duration::minutes(i64::from(req.minutes));
    let limiters = Limiters::new(cfg.concurrency);
    let ctx = Ctx {
        cfg,
        logs,
        history,
        stop_log,
        classifier,
        limiters: &limiters,
        start: ms(now - minutes),
        end: ms(now),
        prev_start: ms(now - minutes - minutes),
        limit: req.limit,
    };
    let reports: Vec<ServiceReport> =
        join_all(services.iter().map(|s| service_report(&ctx, s))).await;
    let mut totals = Counts::default();
    for r in &reports {
        totals.errors_total += r.errors_total;
        for (c, n) in &r.categories {
            *totals.categories.entry(*c).or_default() += n;
        }
    }
    let mut report = Report {
        schema_version: SCHEMA_VERSION,
        cluster: cfg.cluster.clone(),
        region: cfg.region.clone(),
        generated_at: now,
        window: Window {
            start: now - minutes,
            end: now,
            minutes: req.minutes,
        },
        trigger: req.trigger.clone(),
        services: reports,
        totals,
        probable_causes: Vec::new(),
    };
    report.probable_causes = super::cause::rank(&report);
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::StopSource;
    use crate::ports::fakes::{FakeEcs, FakeLogs, MemRecords};
    use std::collections::HashMap;

    /// api: one error 10 minutes before `now`; its log streams and stopped tasks unreadable.
    fn fakes(now: OffsetDateTime) -> (FakeLogs, FakeEcs) {
        let logs = FakeLogs {
            streams_denied: true,
            ..FakeLogs::default()
        };
        logs.put("/ecs/api", &[(ms(now) - 600_000, "ERROR boom")]);
        let ecs = FakeEcs::with(&[("api", 1, 1)]);
        ecs.fail("ecs:ListTasks", "AccessDeniedException: not authorized");
        (logs, ecs)
    }

    #[tokio::test(start_paused = true)]
    async fn unreadable_evidence_is_reported_not_dropped() {
        let env = HashMap::from([("ECS_CLUSTER", "prod")]);
        let cfg = DiagnoseConfig::from_env(&env).unwrap();
        let req = Request {
            services: None,
            minutes: 60,
            limit: 100,
            trigger: Trigger {
                kind: "manual".into(),
                detail: String::new(),
                incident_id: None,
                thread: None,
            },
        };
        let now = time::macros::datetime!(2026-11-29 14:35:00 UTC);
        let (logs, ecs) = fakes(now);
        let none = None::<&MemRecords>;
        let r = diagnose(
            &cfg,
            &logs,
            &ecs,
            &ecs,
            none,
            &Classifier::default(),
            &req,
            now,
        )
        .await
        .unwrap();
        let api = &r.services[0];
        assert_eq!(
            (api.service.as_str(), api.errors_total, api.status),
            ("api", 1, ServiceStatus::Degraded)
        );
        assert_eq!(
            api.restarts.unavailable,
            [
                "stopped tasks: ecs:ListTasks failed: AccessDeniedException: not authorized",
                "log streams: access denied: AccessDeniedException: logs:DescribeLogStreams"
            ]
        );
        assert!(super::super::render::text(&r).contains("could not read stopped tasks"));
        assert!(
            api.restarts.notes.is_empty(),
            "an hour: ECS still has every stopped task"
        );
        let long = Request {
            minutes: 180,
            ..req
        };
        let r = diagnose(
            &cfg,
            &logs,
            &ecs,
            &ecs,
            none,
            &Classifier::default(),
            &long,
            now,
        )
        .await
        .unwrap();
        assert_eq!(
            r.services[0].restarts.notes,
            [
                "ECS keeps stopped tasks about an hour: the stopped-task evidence covers 2026-11-29T13:35:00Z to 2026-11-29T14:35:00Z, not the whole window"
            ]
        );
    }

    /// Stops ECS no longer describes come from the recorded task-stopped events, each saying
    /// so; ECS's own description wins for a task it still has; a record that cannot be read
    /// is said, not hidden.
    #[tokio::test]
    async fn recorded_stops_complete_a_window_longer_than_ecs_keeps_tasks() {
        let cfg = DiagnoseConfig::from_env(&HashMap::from([("ECS_CLUSTER", "prod")])).unwrap();
        let now = time::macros::datetime!(2026-11-29 14:35:00 UTC);
        let logs = FakeLogs::default();
        let ecs = FakeEcs::with(&[("api", 2, 2)]);
        let task = |id: &str, minutes_ago: i64| StoppedTaskInfo {
            task_arn: format!("arn:aws:ecs:us-east-1:123456789012:task/prod/{id}"),
            stopped_at: Some(ms(now) - minutes_ago * 60_000),
            stop_code: Some("EssentialContainerExited".into()),
            stopped_reason: Some("Essential container in task exited".into()),
            containers: vec![crate::ports::ContainerExit {
                name: "app".into(),
                exit_code: Some(1),
                reason: None,
            }],
            ..Default::default()
        };
        ecs.add_stopped("api", task("recent", 10));
        let log = MemRecords::default();
        for t in [task("recent", 10), task("old", 150), task("older", 400)] {
            log.record_stop("api", &t, 0).await.unwrap();
        }
        let req = Request {
            services: Some(vec!["api".into()]),
            minutes: 180,
            limit: 100,
            trigger: Trigger::default(),
        };
        let classifier = Classifier::default();
        let run = |log| diagnose(&cfg, &logs, &ecs, &ecs, Some(log), &classifier, &req, now);
        let r = run(&log).await.unwrap();
        let restarts = &r.services[0].restarts;
        let stops: Vec<(&str, StopSource)> = restarts
            .stopped_tasks
            .iter()
            .map(|t| (t.task.as_str(), t.source))
            .collect();
        assert_eq!(
            stops,
            [("old", StopSource::Recorded), ("recent", StopSource::Ecs)],
            "the 400-minute-old one is outside the window"
        );
        assert!(
            restarts.timeline[0].ends_with("(exit 1) [recorded ECS event]"),
            "{:?}",
            restarts.timeline
        );
        assert_eq!(
            restarts.notes,
            [
                "ECS keeps stopped tasks about an hour: stops before 2026-11-29T13:35:00Z come from the task-stopped events recorded since the stack was deployed"
            ]
        );
        log.fail_stops
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let r = run(&log).await.unwrap();
        let restarts = &r.services[0].restarts;
        assert_eq!(restarts.count, 1, "ECS's stops still count");
        assert_eq!(
            restarts.unavailable,
            ["recorded task stops: s3:ListObjectsV2 failed: AccessDenied"]
        );
    }
}
