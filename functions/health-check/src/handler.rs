//! Event → trigger → `HealthCheck::run` → answer; a failure is a `Diagnostic` whose
//! `errorType` says which kind (`TriggerError`, `StateStoreError`, …).

use ecs_monitor::app::{AppError, Fleet, HealthCheck, Shard};
use ecs_monitor::config::Source;
use ecs_monitor::health::trigger::trigger;
use ecs_monitor::ports::{EcsServices, Notifier, Silences, StateStore, StatusPages, TargetHealth};
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::Value;
use time::OffsetDateTime;

fn diagnostic(e: AppError) -> Diagnostic {
    Diagnostic {
        error_type: e.error_type().into(),
        error_message: e.to_string(),
    }
}

pub async fn handle<E, T, S, N>(
    app: &HealthCheck<E, T, S, N>,
    event: LambdaEvent<Value>,
) -> Result<Value, Diagnostic>
where
    E: EcsServices,
    T: TargetHealth,
    S: StateStore + Silences + StatusPages,
    N: Notifier,
{
    let trigger = trigger(&event.payload).map_err(|e| diagnostic(AppError::Trigger(e)))?;
    let now = OffsetDateTime::now_utc();
    let run = app
        .run(trigger, now, &event.context.request_id)
        .await
        .map_err(diagnostic)?;
    ecs_monitor::metrics::emit(&run.metrics);
    Ok(run.answer())
}

/// Fleet mode: every cluster checked; each one's answer or error in the answer.
pub async fn handle_fleet<Src: Source + Sync>(
    fleet: &Fleet<Src>,
    event: LambdaEvent<Value>,
) -> Result<Value, Diagnostic> {
    let (now, id) = (OffsetDateTime::now_utc(), &event.context.request_id);
    let run = match Shard::from_payload(&event.payload) {
        Some(shard) => {
            let shard = shard.map_err(|e| diagnostic(AppError::Trigger(e)))?;
            fleet.run_shard(&shard, now, id).await
        }
        None => {
            let trigger = trigger(&event.payload).map_err(|e| diagnostic(AppError::Trigger(e)))?;
            fleet.run(trigger, now, id).await
        }
    };
    ecs_monitor::metrics::emit(&run.metrics());
    Ok(run.answer())
}

#[cfg(test)]
mod tests {
    //! The handler with the ports' fakes: every trigger, the answer, the failures.
    use super::*;
    use ecs_monitor::config::HealthConfig;
    use ecs_monitor::health::probe::Prober;
    use ecs_monitor::ports::fakes::{FakeEcs, FakeSns, FakeTargets, MemStore, sample_event};
    use lambda_runtime::Context;
    use serde_json::json;
    use std::collections::HashMap;
    use std::sync::atomic::Ordering;
    use std::time::Duration;

    type App = HealthCheck<FakeEcs, FakeTargets, MemStore, FakeSns>;

    fn app(threshold: &'static str) -> App {
        let env = HashMap::from([("ECS_CLUSTER", "prod"), ("FAILURE_THRESHOLD", threshold)]);
        HealthCheck {
            cfg: HealthConfig::from_env(&env).unwrap(),
            ecs: FakeEcs::with(&[("api", 2, 1), ("web", 1, 1)]),
            elb: FakeTargets::default(),
            store: MemStore::default(),
            notifier: Some(FakeSns::default()),
            prober: Prober::new(None, Duration::from_secs(1)).unwrap(),
        }
    }

    async fn invoke(app: &App, payload: Value, id: &str) -> Result<Value, Diagnostic> {
        let mut ctx = Context::default();
        ctx.request_id = id.into();
        handle(app, LambdaEvent::new(payload, ctx)).await
    }

    #[tokio::test]
    async fn the_schedule_and_a_manual_invoke_check_and_alert() {
        let app = app("1");
        let out = invoke(&app, sample_event("schedule.json"), "r1")
            .await
            .unwrap();
        assert_eq!(out["trigger"], "schedule");
        assert_eq!(out["cluster"], "prod");
        assert_eq!(out["overall"], "degraded");
        assert_eq!(out["issues"], json!(["api: 1/2 tasks running"]));
        assert_eq!(out["state"], "memory");
        assert_eq!(out["alerts_published"], json!(["health.degraded"]));
        assert_eq!(out["superseded"], false);
        assert_eq!(app.notifier.as_ref().unwrap().events(), ["health.degraded"]);
        assert_eq!(out["status_page"], "memory");
        let page = app.store.page.lock().unwrap().clone().unwrap();
        assert!(page.contains("data-name=\"api\" data-status=\"degraded\""));
        let out = invoke(&app, json!({}), "r2").await.unwrap();
        assert_eq!(out["trigger"], "manual");
        assert_eq!(out["alerts_published"], json!([]), "nothing changed");
        assert_eq!(app.store.state().unwrap().alerting.consecutive_failures, 2);
    }

    #[tokio::test]
    async fn a_refused_alert_is_an_answer_not_a_failure() {
        let app = app("1");
        app.notifier
            .as_ref()
            .unwrap()
            .fail
            .store(true, Ordering::SeqCst);
        let out = invoke(&app, json!({}), "r1").await.unwrap();
        assert_eq!(
            out["publish_error"],
            "sns:Publish failed: InternalError: try again"
        );
        assert_eq!(
            app.store.state().unwrap().alerting.pending.len(),
            1,
            "kept for the next run"
        );
    }

    #[tokio::test]
    async fn failures_have_a_stable_error_type() {
        let app = app("1");
        for (payload, problem) in [
            (json!([1]), "unsupported event"),
            (
                sample_event("ecs-task-stopped-oom.json"),
                "unsupported EventBridge event",
            ),
        ] {
            let e = invoke(&app, payload, "t").await.unwrap_err();
            assert_eq!(e.error_type, "TriggerError");
            assert!(e.error_message.contains(problem), "{}", e.error_message);
        }
        app.store.fail_saves.store(1, Ordering::SeqCst);
        let e = invoke(&app, json!({}), "s").await.unwrap_err();
        assert_eq!(e.error_type, "StateStoreError");
        assert!(
            e.error_message
                .starts_with("cannot write the health state to memory"),
            "{}",
            e.error_message
        );
        assert!(
            app.notifier.as_ref().unwrap().events().is_empty(),
            "nothing sent"
        );
    }
}
