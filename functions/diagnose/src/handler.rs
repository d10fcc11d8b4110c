//! Event → trigger → `Diagnosis::run` → answer; a failure is a `Diagnostic` whose
//! `errorType` says which kind (`TriggerError`, `ReportStoreError`, `PublishError`, …).

use ecs_monitor::app::{AppError, Context, DiagnoseFleet, Diagnosis, Routed};
use ecs_monitor::config::Source;
use ecs_monitor::diagnose::trigger::{Invocation, origin, parse};
use ecs_monitor::ports::{
    EcsServices, LogEvents, OpenIncident, Publisher, Records, ReportWriter, Silences, StopLog,
    TargetHealth, TaskDefinitions, TaskHistory,
};
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::{Value, json};
use time::OffsetDateTime;

fn diagnostic(e: AppError) -> Diagnostic {
    Diagnostic {
        error_type: e.error_type().into(),
        error_message: e.to_string(),
    }
}

pub async fn handle<L, E, H, T, S, P>(
    app: &Diagnosis<L, E, H, T, S, P>,
    event: LambdaEvent<Value>,
) -> Result<Value, Diagnostic>
where
    L: LogEvents,
    E: EcsServices + TaskDefinitions,
    H: TaskHistory,
    T: TargetHealth,
    S: Records + ReportWriter + OpenIncident + StopLog + Silences,
    P: Publisher,
{
    let invocation = parse(&event.payload).map_err(|e| diagnostic(e.into()))?;
    run(app, invocation, &event).await
}

/// Fleet mode: the event's cluster found among the fleet's, then diagnosed as one.
pub async fn handle_fleet<Src: Source + Sync>(
    fleet: &DiagnoseFleet<Src>,
    event: LambdaEvent<Value>,
) -> Result<Value, Diagnostic> {
    let invocation = parse(&event.payload).map_err(|e| diagnostic(e.into()))?;
    if let Invocation::Ignore(reason) = &invocation {
        return Ok(json!({"ignored": reason}));
    }
    let Some(origin) = origin(&event.payload) else {
        let manual = event.payload.get("Records").is_none()
            && event.payload.get("detail-type").is_none()
            && event.payload.get("requestPayload").is_none();
        if manual {
            return Err(diagnostic(AppError::Trigger(
                "fleet mode: name the cluster, as in {\"cluster\": \"account/region/cluster\", \"services\": [...]}".into(),
            )));
        }
        return Ok(json!({"ignored": "the event names no cluster"}));
    };
    match fleet.route(&origin).await.map_err(diagnostic)? {
        Routed::Outside(reason) => Ok(json!({"ignored": reason})),
        Routed::To(app) => run(&app, invocation, &event).await,
    }
}

async fn run<L, E, H, T, S, P>(
    app: &Diagnosis<L, E, H, T, S, P>,
    invocation: Invocation,
    event: &LambdaEvent<Value>,
) -> Result<Value, Diagnostic>
where
    L: LogEvents,
    E: EcsServices + TaskDefinitions,
    H: TaskHistory,
    T: TargetHealth,
    S: Records + ReportWriter + OpenIncident + StopLog + Silences,
    P: Publisher,
{
    let now = OffsetDateTime::now_utc();
    // Claims held past the runtime's deadline lapse.
    let ctx = Context::lambda(&event.context.request_id, event.context.deadline, now);
    let answer = app.run(invocation, &ctx, now).await.map_err(diagnostic)?;
    ecs_monitor::metrics::emit(&answer.metrics);
    Ok(answer.value)
}

#[cfg(test)]
mod tests {
    //! The handler with the ports' fakes: every sample trigger, duplicates and coalescing,
    //! and each failure path with its error type.
    use super::*;
    use ecs_monitor::classify::Classifier;
    use ecs_monitor::config::DiagnoseConfig;
    use ecs_monitor::ports::StoppedTaskInfo;
    use ecs_monitor::ports::fakes::{
        DIAGNOSE_SAMPLES, FakeEcs, FakeLogs, FakeSns, FakeTargets, MemRecords, NOTICE_SAMPLES,
        sample_event,
    };
    use lambda_runtime::Context as LambdaContext;
    use serde_json::json;
    use std::collections::HashMap;
    use std::sync::atomic::Ordering;

    type App = Diagnosis<FakeLogs, FakeEcs, FakeEcs, FakeTargets, MemRecords, FakeSns>;

    /// api: an OOM and a refused connection in its logs, a task OOM-killed; coalescing
    /// `coalesce` minutes.
    fn fake_app(coalesce: &'static str) -> App {
        fake_app_with(coalesce, "true")
    }

    fn fake_app_with(coalesce: &'static str, notices: &'static str) -> App {
        let env = HashMap::from([
            ("ECS_CLUSTER", "prod"),
            ("ECS_SERVICES", "api"),
            ("REPORT_BUCKET", "reports"),
            ("DIAGNOSE_COALESCE_MINUTES", coalesce),
            ("DEPLOYMENT_NOTICES", notices),
        ]);
        let cfg = DiagnoseConfig::from_env(&env).unwrap();
        let now = ecs_monitor::timefmt::to_millis(OffsetDateTime::now_utc());
        let logs = FakeLogs::default();
        logs.put(
            "/ecs/api",
            &[
                (now - 600_000, "java.lang.OutOfMemoryError: Java heap space"),
                (
                    now - 500_000,
                    "ERROR dial tcp 10.0.0.1:5432: connect: connection refused",
                ),
            ],
        );
        let history = FakeEcs::default();
        history.add_stopped(
            "api",
            StoppedTaskInfo {
                task_arn: "arn:aws:ecs:us-east-1:123456789012:task/prod/oom1".into(),
                stopped_at: Some(now - 300_000),
                stop_code: Some("EssentialContainerExited".into()),
                stopped_reason: Some(
                    "OutOfMemoryError: Container killed due to memory usage".into(),
                ),
                containers: vec![],
                ..Default::default()
            },
        );
        Diagnosis {
            classifier: Classifier::new(cfg.classifier.health_paths.clone()),
            cfg,
            logs,
            history,
            ecs: FakeEcs::with(&[("api", 2, 1)]),
            targets: FakeTargets::default(),
            store: Some(MemRecords::default()),
            publisher: Some(FakeSns::default()),
        }
    }

    async fn invoke(app: &App, payload: Value, id: &str) -> Result<Value, Diagnostic> {
        let mut ctx = LambdaContext::default();
        ctx.request_id = id.into();
        ctx.deadline = (OffsetDateTime::now_utc().unix_timestamp() as u64 + 300) * 1000;
        handle(app, LambdaEvent::new(payload, ctx)).await
    }

    /// The reports written (their JSON; each has its page beside it).
    fn reports(app: &App) -> usize {
        let written = app.store.as_ref().unwrap().reports.lock().unwrap();
        let pages = written.iter().filter(|(n, _)| n.ends_with(".html")).count();
        let json = written.iter().filter(|(n, _)| n.ends_with(".json")).count();
        assert_eq!(pages, json, "a page beside each report");
        json
    }

    fn sns(app: &App) -> &FakeSns {
        app.publisher.as_ref().unwrap()
    }

    #[tokio::test]
    async fn every_trigger_diagnoses_reports_and_summarises() {
        let app = fake_app("0");
        let mut n = 0;
        for name in DIAGNOSE_SAMPLES {
            n += 1;
            let out = invoke(&app, sample_event(name), &format!("req{n}"))
                .await
                .unwrap_or_else(|e| panic!("{name}: {e:?}"));
            assert_eq!(out["services"][0]["service"], "api", "{name}: {out}");
            assert_eq!(out["services"][0]["status"], "critical", "{name}");
            assert_eq!(out["published"], true, "{name}");
            assert!(
                out["report_url"]
                    .as_str()
                    .unwrap()
                    .starts_with("s3://memory/"),
                "{name}"
            );
        }
        assert_eq!(reports(&app), n);
        // A failed deployment's notice goes out before its diagnosis.
        let want: Vec<&str> = DIAGNOSE_SAMPLES
            .iter()
            .flat_map(|name| match *name {
                "ecs-deployment-failed.json" => vec!["deployment.failed", "diagnose.report"],
                _ => vec!["diagnose.report"],
            })
            .collect();
        assert_eq!(sns(&app).events(), want);
        // The OOM event again, and the failed-event record carrying it: duplicates.
        for name in ["ecs-task-stopped-oom.json", "failed-event-record.json"] {
            let out = invoke(&app, sample_event(name), "again").await.unwrap();
            assert_eq!(out["state"], "done", "{name}: {out}");
            assert!(out["report"].as_str().unwrap().starts_with("s3://memory/"));
        }
        assert_eq!(reports(&app), n, "no more reports");
    }

    #[tokio::test]
    async fn what_needs_no_diagnosis_is_ignored() {
        let app = fake_app("10");
        let mut recovered = sample_event("sns-health-alert.json");
        let msg = recovered["Records"][0]["Sns"]["Message"]
            .as_str()
            .unwrap()
            .replace("health.degraded", "health.recovered");
        recovered["Records"][0]["Sns"]["Message"] = json!(msg);
        let mut normal = sample_event("ecs-task-stopped-exit-1.json");
        normal["detail"]["stopCode"] = json!("ServiceSchedulerInitiated");
        normal["detail"]["stoppedReason"] =
            json!("Scaling activity initiated by (deployment ecs-svc/1)");
        normal["detail"]["containers"][0]["exitCode"] = json!(143);
        let mut other = sample_event("ecs-task-stopped-exit-1.json");
        other["detail"]["group"] = json!("service:batch");
        for payload in [recovered, normal, other] {
            let out = invoke(&app, payload, "i").await.unwrap();
            assert!(out["ignored"].is_string(), "{out}");
        }
        assert_eq!((reports(&app), sns(&app).events().len()), (0, 0));
        // The normal stop of the watched service is kept for later windows; the other
        // service's is not.
        let stops = app.store.as_ref().unwrap().stops.lock().unwrap().clone();
        let kept: Vec<(&str, Option<&str>)> = stops
            .iter()
            .map(|(s, t)| (s.as_str(), t.stop_code.as_deref()))
            .collect();
        assert_eq!(kept, [("api", Some("ServiceSchedulerInitiated"))]);
    }

    #[tokio::test]
    async fn an_incident_is_one_diagnosis_per_service() {
        let app = fake_app("10");
        let first = invoke(&app, sample_event("sns-health-alert.json"), "alert")
            .await
            .unwrap();
        for name in ["ecs-task-stopped-oom.json", "ecs-service-action-warn.json"] {
            let out = invoke(&app, sample_event(name), name).await.unwrap();
            assert_eq!(out["covered_by"][0]["report"], first["report_url"], "{out}");
        }
        assert_eq!(reports(&app), 1);
    }

    /// An ECS event during an open incident posts into the incident's thread; without one,
    /// or when the health state cannot be read, in a thread of its own, and the diagnosis
    /// goes on. An alert's own incident is never replaced.
    #[tokio::test]
    async fn an_ecs_event_joins_the_open_incident() {
        let incident = |app: &App| {
            sns(app)
                .machine_messages()
                .last()
                .map(|m| m["incident_id"].clone())
        };
        for (open, want) in [
            (
                Some(Ok("prod-20261129T140000Z")),
                json!("prod-20261129T140000Z"),
            ),
            (None, Value::Null),
            (Some(Err("s3:GetObject failed: AccessDenied")), Value::Null),
        ] {
            let app = fake_app("0");
            *app.store.as_ref().unwrap().incident.lock().unwrap() =
                open.map(|r| r.map(str::to_string).map_err(str::to_string));
            let out = invoke(&app, sample_event("ecs-task-stopped-oom.json"), "e")
                .await
                .unwrap();
            assert_eq!(out["published"], true, "{open:?}: {out}");
            assert_eq!(
                out["trigger"]["incident_id"], want,
                "{open:?}: the report says"
            );
            assert_eq!(incident(&app), Some(want.clone()), "{open:?}");
            // The health alert names its own incident, whatever the state says.
            invoke(&app, sample_event("sns-health-alert.json"), "a")
                .await
                .unwrap();
            assert_eq!(incident(&app), Some(json!("prod-20261129T143500Z")));
        }
    }

    #[tokio::test]
    async fn failures_release_the_event_and_have_a_stable_error_type() {
        let app = fake_app("10");
        let e = invoke(&app, json!({"servics": ["api"]}), "t")
            .await
            .unwrap_err();
        assert_eq!(e.error_type, "TriggerError");
        // The report cannot be stored: the retry (same event) diagnoses.
        let store = app.store.as_ref().unwrap();
        store.fail_reports.store(true, Ordering::SeqCst);
        let e = invoke(&app, sample_event("ecs-task-stopped-oom.json"), "r1")
            .await
            .unwrap_err();
        assert_eq!(e.error_type, "ReportStoreError", "{}", e.error_message);
        store.fail_reports.store(false, Ordering::SeqCst);
        let retry = invoke(&app, sample_event("ecs-task-stopped-oom.json"), "r1")
            .await
            .unwrap();
        assert_eq!(retry["published"], true, "{retry}");
        // SNS refuses the summary: the invocation fails, its retry publishes.
        let app = fake_app("10");
        sns(&app).fail.store(true, Ordering::SeqCst);
        let e = invoke(&app, sample_event("ecs-task-stopped-oom.json"), "o1")
            .await
            .unwrap_err();
        assert_eq!(e.error_type, "PublishError");
        assert!(
            e.error_message.contains("s3://memory/"),
            "names the stored report: {}",
            e.error_message
        );
        sns(&app).fail.store(false, Ordering::SeqCst);
        assert_eq!(
            invoke(&app, sample_event("ecs-task-stopped-oom.json"), "o1")
                .await
                .unwrap()["published"],
            true
        );
        // ... or a failed deployment's notice: nothing is diagnosed yet; the retry sends the
        // notice, then the diagnosis.
        let app = fake_app("10");
        sns(&app).fail.store(true, Ordering::SeqCst);
        let e = invoke(&app, sample_event("ecs-deployment-failed.json"), "d1")
            .await
            .unwrap_err();
        assert_eq!(e.error_type, "PublishError");
        assert!(
            e.error_message.contains("deployment notice"),
            "{}",
            e.error_message
        );
        assert_eq!(reports(&app), 0);
        sns(&app).fail.store(false, Ordering::SeqCst);
        let retry = invoke(&app, sample_event("ecs-deployment-failed.json"), "d1")
            .await
            .unwrap();
        assert_eq!(retry["published"], true, "{retry}");
        assert_eq!(retry["notice"]["notice"], "deployment.failed", "{retry}");
        assert_eq!(sns(&app).events(), ["deployment.failed", "diagnose.report"]);
        // The claim cannot be written.
        let app = fake_app("10");
        app.store
            .as_ref()
            .unwrap()
            .fail_writes
            .lock()
            .unwrap()
            .push("claims/events/action/9bcdac79-b31f-4d3d-9410-fbd727c29fab.json".into());
        let e = invoke(&app, sample_event("ecs-service-action-warn.json"), "c1")
            .await
            .unwrap_err();
        assert_eq!(e.error_type, "ClaimsError", "{}", e.error_message);
        // The stop cannot be recorded: the invocation fails (Lambda retries), nothing diagnosed.
        let app = fake_app("10");
        let store = app.store.as_ref().unwrap();
        store.fail_stops.store(true, Ordering::SeqCst);
        let e = invoke(&app, sample_event("ecs-task-stopped-oom.json"), "s1")
            .await
            .unwrap_err();
        assert_eq!(e.error_type, "StopLogError", "{}", e.error_message);
        assert_eq!(reports(&app), 0);
        store.fail_stops.store(false, Ordering::SeqCst);
        assert!(
            invoke(&app, sample_event("ecs-task-stopped-oom.json"), "s1")
                .await
                .unwrap()["report_url"]
                .is_string()
        );
        // ECS cannot list the services an alert without names asks for.
        let mut app = fake_app("10");
        app.cfg.services = None;
        app.ecs
            .fail("ecs:ListServices", "AccessDeniedException: not authorized");
        let e = invoke(&app, json!({}), "l1").await.unwrap_err();
        assert_eq!(e.error_type, "EcsError");
    }

    /// A task of deployment `by` (revision `revision` of api) that stopped `ago_ms` ago.
    fn failed_task(id: &str, by: &str, revision: u32, ago_ms: i64) -> StoppedTaskInfo {
        let now = ecs_monitor::timefmt::to_millis(OffsetDateTime::now_utc());
        StoppedTaskInfo {
            task_arn: format!("arn:aws:ecs:us-east-1:123456789012:task/prod/{id}"),
            stopped_at: Some(now - ago_ms),
            started_by: Some(by.into()),
            task_definition: Some(format!(
                "arn:aws:ecs:us-east-1:123456789012:task-definition/api:{revision}"
            )),
            stop_code: Some("EssentialContainerExited".into()),
            stopped_reason: Some("Essential container in task exited".into()),
            containers: vec![ecs_monitor::ports::ContainerExit {
                name: "app".into(),
                exit_code: Some(1),
                reason: None,
            }],
            source: Default::default(),
        }
    }

    const FAILED: &str = "ecs-svc/1234567890123456789";
    const ROLLBACK: &str = "ecs-svc/3333333333333333333";

    /// One deployment's story, told in one thread: it starts, fails (its notice, then its
    /// diagnosis), the circuit breaker rolls back, the rollback completes, announced as a
    /// rollback. A redelivered event says nothing twice.
    #[tokio::test]
    async fn a_failed_deployment_is_one_thread_from_start_to_rollback() {
        let app = fake_app("0");
        app.history
            .add_stopped("api", failed_task("bad1", FAILED, 43, 240_000));
        app.history
            .add_stopped("api", failed_task("bad2", FAILED, 43, 120_000));
        let mut answers = Vec::new();
        for (i, name) in [
            "ecs-deployment-in-progress.json",
            "ecs-deployment-failed.json",
            "ecs-deployment-rolling-back.json",
            "ecs-deployment-completed.json",
        ]
        .into_iter()
        .enumerate()
        {
            if name == "ecs-deployment-rolling-back.json" {
                app.ecs.set_primary(
                    "api",
                    ROLLBACK,
                    "arn:aws:ecs:us-east-1:123456789012:task-definition/api:42",
                );
            }
            if name == "ecs-deployment-in-progress.json" {
                app.ecs.set_primary(
                    "api",
                    FAILED,
                    "arn:aws:ecs:us-east-1:123456789012:task-definition/api:43",
                );
            }
            let out = invoke(&app, sample_event(name), &format!("d{i}"))
                .await
                .unwrap_or_else(|e| panic!("{name}: {e:?}"));
            answers.push(out);
        }
        assert_eq!(
            sns(&app).events(),
            [
                "deployment.started",
                "deployment.failed",
                "diagnose.report",
                "deployment.rolling_back",
                "deployment.rolled_back"
            ]
        );
        let thread = ecs_monitor::diagnose::deployment::thread_id(
            "prod",
            "api",
            None,
            OffsetDateTime::now_utc(),
        );
        assert_eq!(sns(&app).threads(), vec![thread.clone(); 5]);
        let sent = sns(&app).machine_messages();
        let subjects: Vec<String> = sns(&app)
            .sent
            .lock()
            .unwrap()
            .iter()
            .map(|s| s.subject.clone())
            .collect();
        assert_eq!(
            subjects[0],
            format!("[ecs-monitor] prod api: deployment {FAILED} (api:43) started")
        );
        assert_eq!(
            subjects[1],
            format!("[ecs-monitor] prod api: deployment {FAILED} (api:43) FAILED")
        );
        assert_eq!(
            subjects[3],
            "[ecs-monitor] prod api: deployment FAILED, rolling back to ecs-svc/1111111111111111111 (api:42)"
        );
        assert_eq!(
            subjects[4],
            "[ecs-monitor] prod api: ROLLED BACK to ecs-svc/1111111111111111111 (api:42)"
        );
        // The failing tasks are the failed deployment's, newest first.
        for i in [1, 3] {
            let text = sent[i]["text"].as_str().unwrap();
            assert!(
                text.contains("Failing tasks:\n  - task bad2: Essential container in task exited (exit 1)\n  - task bad1:"),
                "{text}"
            );
        }
        let done = sent[4]["text"].as_str().unwrap();
        assert!(
            done.contains(&format!("The failed deployment did not land: {FAILED}.")),
            "{done}"
        );
        assert_eq!(answers[1]["notice"]["notice"], "deployment.failed");
        assert_eq!(answers[1]["trigger"]["thread"], thread.as_str());
        // EventBridge delivers at least once.
        for (i, name) in NOTICE_SAMPLES.iter().enumerate() {
            let out = invoke(&app, sample_event(name), &format!("again{i}"))
                .await
                .unwrap();
            assert!(out["duplicate"].is_string(), "{name}: {out}");
        }
        assert_eq!(sns(&app).events().len(), 5);
    }

    /// A rollback whose start was not seen is still a rollback when it completes right after
    /// the service's failure; a completion with no failure before is a success.
    #[tokio::test]
    async fn a_completion_after_a_failure_is_a_rollback_even_unseen() {
        let app = fake_app("0");
        invoke(&app, sample_event("ecs-deployment-failed.json"), "f")
            .await
            .unwrap();
        invoke(&app, sample_event("ecs-deployment-completed.json"), "c")
            .await
            .unwrap();
        let last = sns(&app).machine_messages().pop().unwrap();
        assert_eq!(last["event"], "deployment.rolled_back");
        assert!(
            last["subject"]
                .as_str()
                .unwrap()
                .contains("ROLLED BACK to the previous deployment"),
            "{last}"
        );
        let app = fake_app("0");
        invoke(&app, sample_event("ecs-deployment-completed.json"), "c")
            .await
            .unwrap();
        assert_eq!(sns(&app).events(), ["deployment.completed"]);
    }

    /// Notices join the open incident's thread; turned off, only diagnoses go out.
    #[tokio::test]
    async fn notices_join_the_incident_and_can_be_turned_off() {
        let app = fake_app("0");
        *app.store.as_ref().unwrap().incident.lock().unwrap() =
            Some(Ok("prod-20261129T140000Z".into()));
        invoke(&app, sample_event("ecs-deployment-in-progress.json"), "s")
            .await
            .unwrap();
        let m = sns(&app).machine_messages().pop().unwrap();
        assert_eq!(m["incident_id"], "prod-20261129T140000Z");
        assert_eq!(m["chat"]["metadata"]["threadId"], "prod-20261129T140000Z");

        // Only the watched services' deployments are told (ECS_SERVICES=api).
        let app = fake_app("0");
        for name in [
            "ecs-deployment-in-progress.json",
            "ecs-deployment-failed.json",
        ] {
            let mut other = sample_event(name);
            other["resources"][0] = json!("arn:aws:ecs:us-east-1:123456789012:service/prod/web");
            let out = invoke(&app, other, "w").await.unwrap();
            assert!(
                out["ignored"].is_string() && out.get("notice").is_none(),
                "{out}"
            );
        }
        assert_eq!(sns(&app).events().len(), 0);

        let app = fake_app_with("0", "false");
        let out = invoke(&app, sample_event("ecs-deployment-in-progress.json"), "s")
            .await
            .unwrap();
        assert_eq!(out["ignored"], "deployment notices are off");
        let out = invoke(&app, sample_event("ecs-deployment-failed.json"), "f")
            .await
            .unwrap();
        assert!(out.get("notice").is_none(), "{out}");
        assert_eq!(out["trigger"].get("thread"), None);
        assert_eq!(sns(&app).events(), ["diagnose.report"]);
    }

    /// While api is silenced its diagnoses are still written but not published, and its
    /// deployment notices are held too; the answers say why.
    #[tokio::test]
    async fn a_silenced_service_is_diagnosed_quietly() {
        use ecs_monitor::silence::{Silence, SilenceFile};
        let app = fake_app("0");
        let now = OffsetDateTime::now_utc();
        *app.store.as_ref().unwrap().silences.lock().unwrap() = SilenceFile {
            schema_version: 1,
            silences: vec![Silence {
                id: "s1".into(),
                services: vec!["api".into()],
                starts_at: now - time::Duration::minutes(5),
                ends_at: now + time::Duration::hours(1),
                reason: "resizing the heap".into(),
                created_by: None,
            }],
        };
        let out = invoke(&app, sample_event("ecs-task-stopped-oom.json"), "o")
            .await
            .unwrap();
        assert_eq!(out["published"], false, "{out}");
        assert!(
            out["held"].as_str().unwrap().contains("api silenced until")
                && out["held"].as_str().unwrap().ends_with("resizing the heap"),
            "{out}"
        );
        assert_eq!(reports(&app), 1, "the report is written all the same");
        let out = invoke(&app, sample_event("ecs-deployment-in-progress.json"), "d")
            .await
            .unwrap();
        assert_eq!(
            (out["published"].as_bool(), out["held"].is_string()),
            (Some(false), true),
            "{out}"
        );
        assert!(sns(&app).events().is_empty());
        // The silence over: published again.
        app.store
            .as_ref()
            .unwrap()
            .silences
            .lock()
            .unwrap()
            .silences
            .clear();
        let out = invoke(&app, json!({"services": ["api"]}), "m")
            .await
            .unwrap();
        assert_eq!(out["published"], true, "{out}");
    }
}
