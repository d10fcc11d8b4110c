//! Restarts from ECS's own evidence and the logs: abnormally stopped tasks (exit codes,
//! OOM kills, failed health checks, failed starts), log streams that started in the window
//! (one per task), the service's events, and startup/shutdown lines.

use super::report::{Restarts, StoppedTask};
use super::stops::{StopKind, classify, classify_exit};
use crate::aws::tasks::task_id;
use crate::ports::{StopSource, StoppedTaskInfo};
use crate::timefmt::{from_millis as at, millis_rfc3339 as stamp};

/// Timeline entries kept at most (the latest).
const MAX_TIMELINE: usize = 100;

/// Service events that tell of trouble (placement, unhealthy targets, failing starts).
pub fn is_troubling_event(message: &str) -> bool {
    [
        "unable to place",
        "is unhealthy in",
        "unable to consistently start",
        "failed",
        "deregistered",
    ]
    .iter()
    .any(|w| message.contains(w))
}

/// Assembles the restart evidence of one service for [start, end] (milliseconds).
pub fn assemble(
    start_ms: i64,
    end_ms: i64,
    stopped: &[StoppedTaskInfo],
    streams_started: &[(i64, String)],
    events: &[(i64, String)],
    lifecycle: &[(i64, String)],
) -> Restarts {
    let in_window = |ms: i64| (start_ms..=end_ms).contains(&ms);
    let mut timeline: Vec<(i64, String)> = Vec::new();
    let mut tasks = Vec::new();
    for t in stopped
        .iter()
        .filter(|t| t.stopped_at.is_some_and(in_window))
    {
        let ms = t.stopped_at.unwrap_or_default();
        let exit = classify_exit(t);
        // ECS reasons can quote a registry URL with its credentials.
        let reason = t
            .stopped_reason
            .as_deref()
            .or_else(|| t.containers.iter().find_map(|c| c.reason.as_deref()))
            .map(|r| crate::redact::redact(r).into_owned());
        let kind = classify(t);
        timeline.push((
            ms,
            format!(
                "task {} stopped{}: {}{}{}",
                task_id(&t.task_arn),
                if kind.is_failure() { "" } else { " (normal)" },
                reason.as_deref().unwrap_or("no reason given"),
                exit.map(|e| format!(" (exit {e})")).unwrap_or_default(),
                match t.source {
                    StopSource::Ecs => "",
                    StopSource::Recorded => " [recorded ECS event]",
                }
            ),
        ));
        if kind.is_failure() {
            tasks.push(StoppedTask {
                task: task_id(&t.task_arn).to_string(),
                stopped_at: at(ms),
                stop_code: t.stop_code.clone(),
                reason,
                exit_code: exit,
                kind,
                oom: kind == StopKind::Oom,
                source: t.source,
                memory_limit_mib: None,
                last_lines: Vec::new(),
                started_by: t.started_by.clone(),
            });
        }
    }
    let started: Vec<&(i64, String)> = streams_started
        .iter()
        .filter(|(ms, _)| in_window(*ms))
        .collect();
    for (ms, name) in &started {
        timeline.push((*ms, format!("log stream {name} started (a task started)")));
    }
    for (ms, msg) in events
        .iter()
        .filter(|(ms, m)| in_window(*ms) && is_troubling_event(m))
    {
        timeline.push((*ms, format!("ecs: {msg}")));
    }
    timeline.extend(lifecycle.iter().filter(|(ms, _)| in_window(*ms)).cloned());
    timeline.sort_by_key(|(ms, _)| *ms);
    if timeline.len() > MAX_TIMELINE {
        timeline.drain(..timeline.len() - MAX_TIMELINE);
    }
    tasks.sort_by_key(|t| t.stopped_at);
    Restarts {
        count: tasks.len(),
        stopped_tasks: tasks,
        log_streams_started: started.len(),
        timeline: timeline
            .into_iter()
            .map(|(ms, s)| format!("{} {s}", stamp(ms)))
            .collect(),
        unavailable: Vec::new(),
        notes: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::ContainerExit;

    fn task(id: &str, ms: i64, code: &str, reason: &str, exit: Option<i32>) -> StoppedTaskInfo {
        StoppedTaskInfo {
            task_arn: format!("arn:aws:ecs:us-east-1:123456789012:task/prod/{id}"),
            stopped_at: Some(ms),
            stop_code: Some(code.into()),
            stopped_reason: Some(reason.into()),
            containers: vec![ContainerExit {
                name: "app".into(),
                exit_code: exit,
                reason: None,
            }],
            ..Default::default()
        }
    }

    #[test]
    fn abnormal_stops_count_and_everything_lands_in_the_timeline() {
        let stopped = [
            task(
                "oom1",
                2_000,
                "EssentialContainerExited",
                "OutOfMemoryError: Container killed due to memory usage",
                Some(137),
            ),
            task(
                "crash",
                3_000,
                "EssentialContainerExited",
                "Essential container in task exited",
                Some(1),
            ),
            task(
                "elb",
                4_000,
                "ServiceSchedulerInitiated",
                "Task failed ELB health checks in (target-group arn:…/api-tg/1)",
                Some(0),
            ),
            task(
                "deploy",
                5_000,
                "ServiceSchedulerInitiated",
                "Scaling activity initiated by (deployment ecs-svc/123)",
                Some(0),
            ),
            task(
                "old",
                -50_000,
                "EssentialContainerExited",
                "Essential container in task exited",
                Some(1),
            ),
        ];
        let streams = [
            (2_500, "ecs/app/abc".to_string()),
            (-9_000, "ecs/app/old".to_string()),
        ];
        let events = [(3_500, "(service api) was unable to place a task because no container instance met all of its requirements.".to_string()), (3_600, "(service api) has reached a steady state.".to_string())];
        let lifecycle = [(2_600, "startup: Server started on :8080".to_string())];
        let r = assemble(0, 10_000, &stopped, &streams, &events, &lifecycle);
        assert_eq!(
            r.count, 3,
            "OOM, crash and failed health checks; not the deployment, not before the window"
        );
        assert!(r.stopped_tasks[0].oom);
        assert_eq!(r.stopped_tasks[0].exit_code, Some(137));
        assert_eq!(r.stopped_tasks[1].exit_code, Some(1));
        assert!(!r.stopped_tasks[2].oom);
        assert_eq!(r.log_streams_started, 1);
        let tl = r.timeline.join("\n");
        assert!(tl.contains("task oom1 stopped: OutOfMemoryError"), "{tl}");
        assert!(
            tl.contains("task deploy stopped (normal): Scaling activity"),
            "{tl}"
        );
        assert!(tl.contains("log stream ecs/app/abc started"), "{tl}");
        assert!(
            tl.contains("ecs: (service api) was unable to place a task"),
            "{tl}"
        );
        assert!(!tl.contains("steady state"), "{tl}");
        assert!(tl.contains("startup: Server started"), "{tl}");
        assert!(
            r.timeline[0].starts_with("1970-01-01T00:00:02Z task oom1"),
            "{tl}"
        );
    }

    #[test]
    fn credentials_in_stop_reasons_are_masked() {
        let stopped = [task(
            "t1",
            1_000,
            "TaskFailedToStart",
            "CannotPullContainerError: pull https://deploy:r3g1stry-pw@registry.example.com/app failed",
            None,
        )];
        let r = assemble(0, 10_000, &stopped, &[], &[], &[]);
        let text = format!("{r:?}");
        assert!(!text.contains("r3g1stry-pw"), "{text}");
        assert!(
            text.contains("https://deploy:[REDACTED]@registry.example.com"),
            "{text}"
        );
    }
}
