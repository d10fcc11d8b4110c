//! One diagnosis: for each service at once (within one shared rate limiter), the window's
//! logs and the previous window's, the log streams started, the stopped tasks and the
//! service events, into a [`Report`].

use super::analyze::{Analyzer, Findings, LogEvent};
use super::change;
use super::fetch::{Limiters, Query, fetch_window, last_lines, streams_started};
use super::logsource;
use super::report::*;
use super::restarts;
use super::stoplog;
use crate::classify::{Category, Classifier};
use crate::config::DiagnoseConfig;
use crate::health::model::ServiceObservation;
use crate::ports::{
    EcsServices, LogEvents, LogsError, StopLog, StoppedTaskInfo, StoreError, TargetHealth,
    TaskDefinitionInfo, TaskDefinitions, TaskHistory,
};
use futures_util::future::join_all;
use std::collections::BTreeMap;
use std::sync::Mutex;
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
/// Stopped tasks whose last lines are read (the newest), and how many lines each.
pub const LAST_LINES_TASKS: usize = 5;
pub const LAST_LINES: i32 = 5;
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

struct Ctx<'a, L, E, H, R, T> {
    cfg: &'a DiagnoseConfig,
    logs: &'a L,
    ecs: &'a E,
    /// Task definitions read in this diagnosis, by ARN.
    task_definitions: Mutex<BTreeMap<String, TaskDefinitionInfo>>,
    history: &'a H,
    /// The load balancers' view of the services' targets.
    targets: &'a T,
    /// The task stops recorded from ECS events; none for the CLI.
    stop_log: Option<&'a R>,
    classifier: &'a Classifier,
    limiters: &'a Limiters,
    start: i64,
    end: i64,
    prev_start: i64,
    limit: u64,
}

impl<L, E: TaskDefinitions, H, R, T> Ctx<'_, L, E, H, R, T> {
    /// A task definition, read once per diagnosis.
    async fn task_definition(&self, arn: &str) -> Result<TaskDefinitionInfo, String> {
        if let Some(td) = self
            .task_definitions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(arn)
        {
            return Ok(td.clone());
        }
        let td = self
            .ecs
            .task_definition(arn)
            .await
            .map_err(|e| e.to_string())?;
        self.task_definitions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(arn.to_string(), td.clone());
        Ok(td)
    }
}

/// One window of a service's logs, over its groups (the main one first; the event cap is the
/// service's, over all of them). The main group's failure is the window's; the others' are
/// listed.
async fn analyze_window<L: LogEvents, E, H, R, T>(
    ctx: &Ctx<'_, L, E, H, R, T>,
    groups: &[String],
    start: i64,
    end: i64,
) -> Result<(Findings, bool, Vec<String>), String> {
    let mut analyzer = Analyzer::new(ctx.classifier);
    let (mut truncated, mut left, mut failed) = (false, ctx.limit, Vec::new());
    for (i, group) in groups.iter().enumerate() {
        let q = Query {
            group,
            start_ms: start,
            end_ms: end,
            pattern: None,
            cap: left,
        };
        let fetched = fetch_window(ctx.logs, &ctx.limiters.filter, q, |e| {
            analyzer.add(&LogEvent {
                timestamp: e.timestamp,
                stream: &e.stream,
                message: &e.message,
            })
        })
        .await;
        match fetched {
            Ok(f) => {
                truncated |= f.truncated;
                left = left.saturating_sub(f.events);
            }
            Err(e) if i == 0 => return Err(e.to_string()),
            Err(e) => failed.push(format!("{group}: {e}")),
        }
    }
    Ok((analyzer.finish(), truncated, failed))
}

/// Where a service's logs are: ECS_LOG_PATTERN's group, else the groups the containers of its
/// task definition (its primary deployment's) log to, the main one first; with that task
/// definition and the service as ECS describes it, when they can be read.
pub async fn find_log_groups<E: EcsServices + TaskDefinitions>(
    cfg: &DiagnoseConfig,
    ecs: &E,
    service: &str,
) -> ServiceSource {
    let (td, observed) = match ecs
        .describe_services(&cfg.cluster, &[service.to_string()])
        .await
    {
        Ok(obs) => match obs.found.into_iter().next() {
            Some(o) => match o.task_definition.as_deref() {
                Some(arn) => (
                    ecs.task_definition(arn).await.map_err(|e| e.to_string()),
                    Some(o),
                ),
                None => (Err(format!("{service} has no task definition")), Some(o)),
            },
            None => (
                Err(format!(
                    "{service} is not an active service of {}",
                    cfg.cluster
                )),
                None,
            ),
        },
        Err(e) => (Err(e.to_string()), None),
    };
    let (groups, td) = match (cfg.log_group(service), td) {
        (Some(group), td) => (Ok(vec![group]), td.ok()),
        (None, Ok(td)) => (logsource::groups(&td, &cfg.region), Some(td)),
        (None, Err(e)) => (
            Err(format!(
                "cannot find the log groups of {service} (its task definition): {e}"
            )),
            None,
        ),
    };
    ServiceSource {
        groups,
        task_definition: td,
        observed,
    }
}

/// What ECS says of a service before its logs are read.
pub struct ServiceSource {
    /// Its log groups, the main one first, or why they are unknown.
    pub groups: Result<Vec<String>, String>,
    /// Its primary deployment's task definition.
    pub task_definition: Option<TaskDefinitionInfo>,
    /// DescribeServices' answer for it.
    pub observed: Option<ServiceObservation>,
}

/// Adds what the newest failing stopped tasks' task definitions tell: an OOM-killed
/// container's memory limit, and the last lines each task wrote (its own stream). Whatever
/// cannot be read is listed in `unavailable`, the rest goes on.
async fn stopped_task_details<L: LogEvents, E: TaskDefinitions, H, R, T>(
    ctx: &Ctx<'_, L, E, H, R, T>,
    service_td: Option<&TaskDefinitionInfo>,
    infos: &[StoppedTaskInfo],
    restarts: &mut Restarts,
) {
    let mut unavailable = Vec::new();
    for t in restarts
        .stopped_tasks
        .iter_mut()
        .rev()
        .take(LAST_LINES_TASKS)
    {
        let Some(info) = infos
            .iter()
            .find(|i| crate::aws::tasks::task_id(&i.task_arn) == t.task)
        else {
            continue;
        };
        let td = match info.task_definition.as_deref() {
            Some(arn) => match ctx.task_definition(arn).await {
                Ok(td) => Some(td),
                Err(e) => {
                    unavailable.push(format!("task definition of task {}: {e}", t.task));
                    continue;
                }
            },
            None => service_td.cloned(),
        };
        let Some(td) = td else { continue };
        // The containers that exited badly first: theirs are the lines that tell.
        let failing: Vec<&str> = info
            .containers
            .iter()
            .filter(|c| c.exit_code.is_some_and(|e| e != 0) || c.reason.is_some())
            .map(|c| c.name.as_str())
            .collect();
        if t.oom {
            t.memory_limit_mib = logsource::memory_limit(&td, failing.first().copied());
        }
        let Some(stream) = logsource::task_streams(&td, &ctx.cfg.region, &t.task, &failing)
            .into_iter()
            .next()
        else {
            continue;
        };
        let name = stream.stream_prefix.unwrap_or_default();
        match last_lines(
            ctx.logs,
            &ctx.limiters.streams,
            &stream.group,
            &name,
            LAST_LINES,
        )
        .await
        {
            Ok(lines) => {
                t.last_lines = lines
                    .into_iter()
                    .map(|(_, m)| {
                        crate::health::alert::cut(crate::redact::redact(m.trim_end()).into_owned())
                    })
                    .collect();
            }
            // A task that failed before writing has no stream.
            Err(LogsError::MissingGroup(_)) => {}
            Err(e) => unavailable.push(format!("last lines of task {}: {e}", t.task)),
        }
    }
    restarts.unavailable.extend(unavailable);
}

/// The service's load balancer targets, when it has target groups.
async fn targets<L, E, H, R, T: TargetHealth>(
    ctx: &Ctx<'_, L, E, H, R, T>,
    observed: Option<&ServiceObservation>,
) -> Option<TargetsReport> {
    let arns = &observed?.target_group_arns;
    if arns.is_empty() {
        return None;
    }
    let read = join_all(arns.iter().map(|arn| async move {
        (
            arn.clone(),
            ctx.targets
                .target_health(arn)
                .await
                .map_err(|e| e.to_string()),
        )
    }))
    .await;
    Some(change::targets(read))
}

/// The window's recorded stops, when there is a record to read.
async fn recorded<L, E, H, R: StopLog, T>(
    ctx: &Ctx<'_, L, E, H, R, T>,
    service: &str,
) -> Option<Result<Vec<StoppedTaskInfo>, StoreError>> {
    match ctx.stop_log {
        Some(log) => Some(log.recorded_stops(service, ctx.start, ctx.end).await),
        None => None,
    }
}

async fn service_report<
    L: LogEvents,
    E: EcsServices + TaskDefinitions,
    H: TaskHistory,
    R: StopLog,
    T: TargetHealth,
>(
    ctx: &Ctx<'_, L, E, H, R, T>,
    service: &str,
) -> ServiceReport {
    let ServiceSource {
        groups,
        task_definition: service_td,
        observed,
    } = find_log_groups(ctx.cfg, ctx.ecs, service).await;
    if let Some(td) = &service_td {
        ctx.task_definitions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(td.arn.clone(), td.clone());
    }
    let found: &[String] = groups.as_deref().unwrap_or_default();
    let main = found.first().cloned().unwrap_or_default();
    let logs = async {
        match &groups {
            Ok(g) => tokio::join!(
                analyze_window(ctx, g, ctx.start, ctx.end),
                analyze_window(ctx, g, ctx.prev_start, ctx.start),
                // One stream per task: the main group's (a sidecar's would count it twice).
                streams_started(ctx.logs, &ctx.limiters.streams, &main, ctx.start, ctx.end),
            ),
            Err(e) => (
                Err(e.clone()),
                Err(e.clone()),
                Err(LogsError::Other(e.clone())),
            ),
        }
    };
    let ((current, previous, streams), stopped, events, recorded, targets) = tokio::join!(
        logs,
        ctx.history.stopped_tasks(&ctx.cfg.cluster, service),
        ctx.history.service_events(&ctx.cfg.cluster, service),
        recorded(ctx, service),
        targets(ctx, observed.as_ref()),
    );
    let deployment = observed
        .as_ref()
        .and_then(|o| change::deployment_of_interest(o, at(ctx.prev_start)));
    let recorded_error = match &recorded {
        Some(Err(e)) => Some(e.to_string()),
        _ => None,
    };
    let have_records = matches!(recorded, Some(Ok(_)));
    let stopped =
        stopped.map(|ecs| stoplog::merge(ecs, recorded.and_then(Result::ok).unwrap_or_default()));
    let (findings, truncated, log_group_errors, error) = match current {
        Ok((f, t, failed)) => (f, t, failed, None),
        Err(e) => (Findings::default(), false, Vec::new(), Some(e)),
    };
    let (prev_counts, prev_seen) = match &previous {
        Ok((p, _, _)) => (
            Counts {
                errors_total: p.summary.errors_total,
                categories: all_categories(&p.summary.categories),
            },
            Some(p.first_seen()),
        ),
        Err(_) => (Counts::default(), None),
    };
    let since_deployment = deployment
        .as_ref()
        .and_then(|d| d.started_at)
        .and_then(|t| {
            change::new_since(
                ms(t),
                (ctx.start, ctx.end),
                ctx.prev_start,
                prev_seen.as_ref(),
            )
        });
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
            new: prev_seen
                .as_ref()
                .is_some_and(|p| !p.contains_key(&f.fingerprint)),
            since_deployment: since_deployment
                .as_ref()
                .is_some_and(|new| new(&f.fingerprint, f.first_seen.unwrap_or(ctx.start))),
        })
        .collect();
    let mut r = ServiceReport {
        service: service.to_string(),
        log_group: main,
        log_groups: if found.len() > 1 {
            found.to_vec()
        } else {
            Vec::new()
        },
        log_group_errors,
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
        errors_over_time: error.is_none().then(|| {
            crate::diagnose::report::ErrorSeries::from_minutes(
                &findings.error_minutes,
                ctx.start,
                ctx.end,
            )
        }),
        error,
        deployment,
        targets,
    };
    stopped_task_details(
        ctx,
        service_td.as_ref(),
        stopped.as_deref().unwrap_or_default(),
        &mut r.restarts,
    )
    .await;
    r.status = service_status(&r);
    r
}

/// Diagnoses the services of `req` over the window ending at `now`.
#[allow(clippy::too_many_arguments)] // the ports of one diagnosis
pub async fn diagnose<
    L: LogEvents,
    E: EcsServices + TaskDefinitions,
    H: TaskHistory,
    T: TargetHealth,
    R: StopLog,
>(
    cfg: &DiagnoseConfig,
    logs: &L,
    ecs: &E,
    history: &H,
    targets: &T,
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
        ecs,
        task_definitions: Mutex::new(BTreeMap::new()),
        history,
        targets,
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
        label: cfg.label.clone(),
        account: cfg.account.clone(),
    };
    report.probable_causes = super::cause::rank(&report);
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::StopSource;
    use crate::ports::fakes::{FakeEcs, FakeLogs, FakeTargets, MemRecords};
    use std::collections::HashMap;

    /// A diagnosis on the fakes (ECS serves the services and the task history), without
    /// recorded stops.
    async fn diag(
        cfg: &DiagnoseConfig,
        logs: &FakeLogs,
        ecs: &FakeEcs,
        targets: &FakeTargets,
        req: &Request,
        now: OffsetDateTime,
    ) -> Report {
        let none = None::<&MemRecords>;
        diagnose(
            cfg,
            logs,
            ecs,
            ecs,
            targets,
            none,
            &Classifier::default(),
            req,
            now,
        )
        .await
        .unwrap()
    }

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
        let r = diag(&cfg, &logs, &ecs, &FakeTargets::default(), &req, now).await;
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
        let r = diag(&cfg, &logs, &ecs, &FakeTargets::default(), &long, now).await;
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
        let targets = FakeTargets::default();
        let run = |log| {
            diagnose(
                &cfg,
                &logs,
                &ecs,
                &ecs,
                &targets,
                Some(log),
                &classifier,
                &req,
                now,
            )
        };
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

    fn td(containers: Vec<crate::ports::ContainerDefinitionInfo>) -> TaskDefinitionInfo {
        TaskDefinitionInfo {
            arn: "arn:aws:ecs:us-east-1:123456789012:task-definition/api:7".into(),
            memory: Some("1024".into()),
            containers,
        }
    }

    fn container(
        name: &str,
        essential: bool,
        group: Option<&str>,
    ) -> crate::ports::ContainerDefinitionInfo {
        crate::ports::ContainerDefinitionInfo {
            name: name.into(),
            essential,
            memory: (name == "app").then_some(768),
            log: group.map(|g| crate::ports::AwsLogs {
                group: g.into(),
                region: Some("us-east-1".into()),
                stream_prefix: Some("ecs".into()),
            }),
        }
    }

    /// Without ECS_LOG_PATTERN the task definition says where the logs are: the app's group
    /// and its sidecar's are both read (a sidecar's that cannot be is said); a task definition
    /// without awslogs is a clear error, never a guess; ECS_LOG_PATTERN overrides it.
    #[tokio::test]
    async fn log_groups_come_from_the_task_definition() {
        let now = time::macros::datetime!(2026-11-29 14:35:00 UTC);
        let t = ms(now) - 60_000;
        let req = Request {
            services: Some(vec!["api".into()]),
            minutes: 60,
            limit: 100,
            trigger: Trigger::default(),
        };
        let ecs = FakeEcs::with(&[("api", 1, 1)]);
        let arn = "arn:aws:ecs:us-east-1:123456789012:task-definition/api:7";
        ecs.set_primary("api", "ecs-svc/1", arn);
        ecs.task_definitions.lock().unwrap().insert(
            arn.into(),
            td(vec![
                container("envoy", false, Some("/mesh/envoy")),
                container("app", true, Some("/custom/api")),
                container("router", false, None),
            ]),
        );
        let logs = FakeLogs::default();
        logs.put("/custom/api", &[(t, "ERROR app broke")]);
        logs.put(
            "/mesh/envoy",
            &[(
                t,
                "upstream connect error or disconnect/reset before headers",
            )],
        );
        let cfg = DiagnoseConfig::from_env(&HashMap::from([("ECS_CLUSTER", "prod")])).unwrap();
        let r = diag(&cfg, &logs, &ecs, &FakeTargets::default(), &req, now).await;
        let api = &r.services[0];
        assert_eq!(api.log_group, "/custom/api");
        assert_eq!(api.log_groups, ["/custom/api", "/mesh/envoy"]);
        assert_eq!((api.errors_total, api.error.as_deref()), (2, None));

        // The sidecar's group is gone: the app's still counts, the gap is said.
        logs.groups.lock().unwrap().remove("/mesh/envoy");
        let r = diag(&cfg, &logs, &ecs, &FakeTargets::default(), &req, now).await;
        let api = &r.services[0];
        assert_eq!(api.errors_total, 1);
        assert_eq!(
            api.log_group_errors,
            ["/mesh/envoy: log group /mesh/envoy does not exist"]
        );

        ecs.task_definitions
            .lock()
            .unwrap()
            .insert(arn.into(), td(vec![container("app", true, None)]));
        let r = diag(&cfg, &logs, &ecs, &FakeTargets::default(), &req, now).await;
        let e = r.services[0].error.as_deref().unwrap();
        assert!(e.contains("api:7") && e.contains("awslogs"), "{e}");
        assert_eq!(r.services[0].status, ServiceStatus::Error);

        let cfg = DiagnoseConfig::from_env(&HashMap::from([
            ("ECS_CLUSTER", "prod"),
            ("ECS_LOG_PATTERN", "/custom/{service}"),
        ]))
        .unwrap();
        let r = diag(&cfg, &logs, &ecs, &FakeTargets::default(), &req, now).await;
        assert_eq!(
            (r.services[0].log_group.as_str(), r.services[0].errors_total),
            ("/custom/api", 1)
        );
    }

    /// A failing stopped task carries the last lines of its own stream (the container that
    /// exited badly), redacted, and an OOM kill its container's memory limit.
    #[tokio::test]
    async fn stopped_tasks_carry_their_last_lines_and_memory_limit() {
        let now = time::macros::datetime!(2026-11-29 14:35:00 UTC);
        let t = ms(now) - 120_000;
        let ecs = FakeEcs::with(&[("api", 1, 1)]);
        let arn = "arn:aws:ecs:us-east-1:123456789012:task-definition/api:7";
        ecs.task_definitions.lock().unwrap().insert(
            arn.into(),
            td(vec![
                container("app", true, Some("/ecs/api")),
                container("envoy", false, Some("/ecs/api")),
            ]),
        );
        ecs.add_stopped(
            "api",
            StoppedTaskInfo {
                task_arn: "arn:aws:ecs:us-east-1:123456789012:task/prod/oom9".into(),
                stopped_at: Some(t),
                task_definition: Some(arn.into()),
                stop_code: Some("EssentialContainerExited".into()),
                stopped_reason: Some(
                    "OutOfMemoryError: Container killed due to memory usage".into(),
                ),
                containers: vec![
                    crate::ports::ContainerExit {
                        name: "envoy".into(),
                        exit_code: Some(0),
                        reason: None,
                    },
                    crate::ports::ContainerExit {
                        name: "app".into(),
                        exit_code: Some(137),
                        reason: Some("OutOfMemoryError".into()),
                    },
                ],
                ..Default::default()
            },
        );
        let logs = FakeLogs::default();
        logs.put_stream(
            "/ecs/api",
            "ecs/app/oom9",
            &[
                (t - 3000, "loading catalogue"),
                (t - 2000, "cache holds 2,000,000 items"),
                (t - 1000, "connecting to postgres://app:s3cr3t@db:5432/app"),
            ],
        );
        logs.put_stream("/ecs/api", "ecs/envoy/oom9", &[(t - 500, "envoy draining")]);
        let cfg = DiagnoseConfig::from_env(&HashMap::from([("ECS_CLUSTER", "prod")])).unwrap();
        let req = Request {
            services: Some(vec!["api".into()]),
            minutes: 60,
            limit: 100,
            trigger: Trigger::default(),
        };
        let r = diag(&cfg, &logs, &ecs, &FakeTargets::default(), &req, now).await;
        let task = &r.services[0].restarts.stopped_tasks[0];
        assert_eq!(
            (task.task.as_str(), task.oom, task.memory_limit_mib),
            ("oom9", true, Some(768))
        );
        assert_eq!(
            task.last_lines,
            [
                "loading catalogue",
                "cache holds 2,000,000 items",
                "connecting to postgres://app:[REDACTED]@db:5432/app"
            ]
        );
    }

    /// A deployment that failed 20 minutes ago while its rollback runs: the report names it and
    /// what it rolls back to, marks the errors that began after it (and not the ones seen
    /// before it, in this window or the previous one), lists the targets the load balancer
    /// finds unhealthy with its reason, and the causes lead with the deployment.
    #[tokio::test]
    async fn a_failed_deployment_its_new_errors_and_unhealthy_targets() {
        use crate::health::model::{DeploymentObservation, TargetObservation};
        let now = time::macros::datetime!(2026-12-06 12:00:00 UTC);
        let deployed = now - time::Duration::minutes(20);
        let td = |rev: u32| format!("arn:aws:ecs:us-east-1:123456789012:task-definition/api:{rev}");
        let ecs = FakeEcs::with(&[("api", 2, 1)]);
        ecs.set_deployments(
            "api",
            vec![
                DeploymentObservation {
                    id: "ecs-svc/2".into(),
                    status: "PRIMARY".into(),
                    rollout_state: Some("IN_PROGRESS".into()),
                    created_at: Some(now - time::Duration::minutes(5)),
                    task_definition: Some(td(42)),
                    ..Default::default()
                },
                DeploymentObservation {
                    id: "ecs-svc/1".into(),
                    status: "ACTIVE".into(),
                    rollout_state: Some("FAILED".into()),
                    rollout_reason: Some(
                        "ECS deployment circuit breaker: tasks failed to start.".into(),
                    ),
                    created_at: Some(deployed),
                    task_definition: Some(td(43)),
                    failed_tasks: 3,
                },
            ],
        );
        let tg = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/api-tg/73e2d6bc24d8a067";
        ecs.target_groups
            .lock()
            .unwrap()
            .insert("api".into(), vec![tg.into()]);
        let targets = FakeTargets::default();
        targets.groups.lock().unwrap().insert(
            tg.into(),
            vec![
                TargetObservation {
                    id: "10.0.1.5".into(),
                    port: Some(8080),
                    state: "healthy".into(),
                    reason: None,
                    description: None,
                },
                TargetObservation {
                    id: "10.0.1.6".into(),
                    port: Some(8080),
                    state: "unhealthy".into(),
                    reason: Some("Target.ResponseCodeMismatch".into()),
                    description: Some("Health checks failed with these codes: [502]".into()),
                },
            ],
        );
        let logs = FakeLogs::default();
        let at = |minutes_ago: i64| ms(now - time::Duration::minutes(minutes_ago));
        let mut events = vec![
            // Before the deployment: in the previous window, and in this one.
            (at(90), "ERROR cache miss for key 1".to_string()),
            (at(30), "ERROR payment gateway slow".to_string()),
        ];
        // Apart, each after an ordinary line: six occurrences, not one multi-line trace.
        for i in 0..6 {
            events.push((at(15 - i), "INFO reserving".to_string()));
            events.push((
                at(15 - i) + 1,
                "java.lang.IllegalStateException: inventory missing".to_string(),
            ));
        }
        events.extend((0..3).map(|i| (at(10) + i, "ERROR payment gateway slow".to_string())));
        events.extend((0..2).map(|i| (at(10) + i, "ERROR cache miss for key 2".to_string())));
        let events: Vec<(i64, &str)> = events.iter().map(|(t, m)| (*t, m.as_str())).collect();
        logs.put("/ecs/api", &events);
        let cfg = DiagnoseConfig::from_env(&HashMap::from([("ECS_CLUSTER", "prod")])).unwrap();
        let req = Request {
            services: Some(vec!["api".into()]),
            minutes: 60,
            limit: 1000,
            trigger: Trigger::default(),
        };
        let r = diag(&cfg, &logs, &ecs, &targets, &req, now).await;
        let api = &r.services[0];
        let d = api.deployment.as_ref().unwrap();
        assert_eq!(
            (
                d.id.as_str(),
                d.task_definition.as_deref(),
                d.rolling_back_to.as_deref()
            ),
            ("ecs-svc/1", Some("api:43"), Some("api:42"))
        );
        let since: BTreeMap<&str, bool> = api
            .top_errors
            .iter()
            .map(|e| (e.fingerprint.as_str(), e.since_deployment))
            .collect();
        assert_eq!(
            since,
            BTreeMap::from([
                ("ERROR cache miss for key <n>", false),
                ("ERROR payment gateway slow", false),
                ("java.lang.IllegalStateException: inventory missing", true),
            ])
        );
        let t = api.targets.as_ref().unwrap();
        assert_eq!((t.total, t.unhealthy().count()), (2, 1));
        let kinds: Vec<_> = r.probable_causes.iter().map(|c| c.kind).collect();
        use super::super::cause::CauseKind;
        assert_eq!(
            kinds,
            [
                CauseKind::FailedDeployment,
                CauseKind::TargetsUnhealthy,
                CauseKind::NewSinceDeployment
            ]
        );
        let text = super::super::render::text(&r);
        assert!(
            text.contains("deployment ecs-svc/1 (api:43) FAILED"),
            "{text}"
        );
        assert!(text.contains("10.0.1.6:8080 unhealthy"), "{text}");
    }
}
