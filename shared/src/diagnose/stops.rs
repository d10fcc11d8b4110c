//! Why a task stopped: the one rule the diagnose trigger (an ECS task-stopped event) and the
//! restart count (DescribeTasks of stopped tasks) share.
//!
//! - ECS stops tasks itself for deployments and scale-in, and on StopTask: SIGTERM, then
//!   SIGKILL after the stop timeout (StopTask, API reference), so such a task's containers exit
//!   0, 143 or 137. Stop codes `ServiceSchedulerInitiated` (without a health-check reason),
//!   `UserInitiated`, `SpotInterruption`, `TerminationNotice` and `InfrastructureHealth` are
//!   such stops (TaskStopCode, API reference; "Amazon ECS stopped tasks error codes", developer
//!   guide): **normal**, never diagnosed, never a restart, never `oom`.
//! - **OOM** only when the stopped reason or a container's reason says `OutOfMemory`; exit
//!   137 alone is SIGKILL (**killed**), which a deployment's stop timeout also causes.
//! - Failed health checks (ELB or container), failed starts (`TaskFailedToStart`, image pull,
//!   resource initialization) and an essential container that exited on its own (any code, 0
//!   included: a service's task is meant to keep running) are failures.

use crate::ports::StoppedTaskInfo;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopKind {
    /// Stopped by ECS or a user on purpose (deployment, scale-in, StopTask, Spot, maintenance).
    Normal,
    /// A container ran out of memory.
    Oom,
    /// SIGKILL (exit 137) without an out-of-memory reason.
    Killed,
    /// The essential container exited on its own (its exit code in [`classify_exit`]).
    Exited,
    /// Failed ELB or container health checks.
    FailedHealthCheck,
    /// Could not start: image pull, secrets, network interface.
    FailedToStart,
}

impl StopKind {
    /// A stop that says something broke: diagnosed, counted as a restart.
    pub fn is_failure(self) -> bool {
        self != StopKind::Normal
    }

    pub fn as_str(self) -> &'static str {
        match self {
            StopKind::Normal => "normal",
            StopKind::Oom => "oom",
            StopKind::Killed => "killed",
            StopKind::Exited => "exited",
            StopKind::FailedHealthCheck => "failed_health_check",
            StopKind::FailedToStart => "failed_to_start",
        }
    }
}

/// Stop codes of stops ECS or a user made on purpose.
const ON_PURPOSE: &[&str] = &[
    "UserInitiated",
    "SpotInterruption",
    "TerminationNotice",
    "InfrastructureHealth",
];

/// Reasons of a task that could not start.
const START_FAILURES: &[&str] = &[
    "CannotPullContainer",
    "ResourceInitializationError",
    "CannotStartContainer",
    "CannotCreateContainer",
    "CannotInspectContainer",
];

/// The exit code that tells of the stop: the first non-zero one, else the first reported.
pub fn classify_exit(t: &StoppedTaskInfo) -> Option<i32> {
    t.containers
        .iter()
        .find_map(|c| c.exit_code.filter(|e| *e != 0))
        .or_else(|| t.containers.iter().find_map(|c| c.exit_code))
}

/// Why the task stopped.
pub fn classify(t: &StoppedTaskInfo) -> StopKind {
    let reason = t.stopped_reason.as_deref().unwrap_or_default();
    let says = |s: &str| {
        reason.contains(s)
            || t.containers
                .iter()
                .any(|c| c.reason.as_deref().is_some_and(|r| r.contains(s)))
    };
    let code = t.stop_code.as_deref().unwrap_or_default();
    if says("OutOfMemory") {
        return StopKind::Oom;
    }
    if reason.contains("health check") {
        return StopKind::FailedHealthCheck;
    }
    if code == "TaskFailedToStart" || START_FAILURES.iter().any(|s| says(s)) {
        return StopKind::FailedToStart;
    }
    if code == "ServiceSchedulerInitiated" || ON_PURPOSE.contains(&code) {
        return StopKind::Normal;
    }
    match classify_exit(t) {
        Some(137) => StopKind::Killed,
        Some(0) | None if code != "EssentialContainerExited" => StopKind::Normal,
        _ => StopKind::Exited,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::ContainerExit;

    fn task(
        code: &str,
        reason: &str,
        exit: Option<i32>,
        container_reason: Option<&str>,
    ) -> StoppedTaskInfo {
        StoppedTaskInfo {
            task_arn: "arn:aws:ecs:us-east-1:123456789012:task/prod/t1".into(),
            stopped_at: Some(0),
            stop_code: (!code.is_empty()).then(|| code.to_string()),
            stopped_reason: (!reason.is_empty()).then(|| reason.to_string()),
            containers: vec![ContainerExit {
                name: "app".into(),
                exit_code: exit,
                reason: container_reason.map(str::to_string),
            }],
            ..Default::default()
        }
    }

    #[test]
    fn every_kind_of_stop() {
        use StopKind::*;
        type Case = (
            &'static str,
            &'static str,
            Option<i32>,
            Option<&'static str>,
            StopKind,
        );
        let cases: &[Case] = &[
            // Deployments and scale-in: SIGTERM, then SIGKILL after the stop timeout.
            (
                "ServiceSchedulerInitiated",
                "Scaling activity initiated by (deployment ecs-svc/1)",
                Some(143),
                None,
                Normal,
            ),
            (
                "ServiceSchedulerInitiated",
                "Scaling activity initiated by (deployment ecs-svc/1)",
                Some(137),
                None,
                Normal,
            ),
            (
                "ServiceSchedulerInitiated",
                "Scaling activity initiated by (deployment ecs-svc/1)",
                Some(0),
                None,
                Normal,
            ),
            (
                "UserInitiated",
                "Task stopped by user",
                Some(137),
                None,
                Normal,
            ),
            ("UserInitiated", "", Some(143), None, Normal),
            (
                "SpotInterruption",
                "Your Spot Task was interrupted.",
                Some(143),
                None,
                Normal,
            ),
            ("TerminationNotice", "", Some(137), None, Normal),
            // Out of memory: only when a reason says so.
            (
                "EssentialContainerExited",
                "OutOfMemoryError: Container killed due to memory usage",
                Some(137),
                None,
                Oom,
            ),
            (
                "EssentialContainerExited",
                "Essential container in task exited",
                Some(137),
                Some("OutOfMemoryError: Container killed due to memory usage"),
                Oom,
            ),
            (
                "EssentialContainerExited",
                "Essential container in task exited",
                Some(137),
                None,
                Killed,
            ),
            ("", "", Some(137), None, Killed),
            // Crashes, health checks, failed starts.
            (
                "EssentialContainerExited",
                "Essential container in task exited",
                Some(1),
                None,
                Exited,
            ),
            (
                "EssentialContainerExited",
                "Essential container in task exited",
                Some(0),
                None,
                Exited,
            ),
            (
                "ServiceSchedulerInitiated",
                "Task failed ELB health checks in (target-group arn:x)",
                Some(0),
                None,
                FailedHealthCheck,
            ),
            (
                "ServiceSchedulerInitiated",
                "Task failed container health checks",
                Some(143),
                None,
                FailedHealthCheck,
            ),
            (
                "TaskFailedToStart",
                "CannotPullContainerError: pull image manifest has been retried 5 time(s)",
                None,
                None,
                FailedToStart,
            ),
            (
                "TaskFailedToStart",
                "ResourceInitializationError: unable to pull secrets",
                None,
                None,
                FailedToStart,
            ),
            (
                "",
                "",
                Some(0),
                Some("CannotStartContainerError: API error (500)"),
                FailedToStart,
            ),
            // Nothing says it broke.
            ("", "", None, None, Normal),
            ("", "", Some(0), None, Normal),
        ];
        for (code, reason, exit, creason, want) in cases {
            let t = task(code, reason, *exit, *creason);
            assert_eq!(
                classify(&t),
                *want,
                "{code} / {reason} / {exit:?} / {creason:?}"
            );
        }
    }

    #[test]
    fn the_exit_code_that_tells() {
        let mut t = task("EssentialContainerExited", "", Some(0), None);
        t.containers.push(ContainerExit {
            name: "sidecar".into(),
            exit_code: Some(2),
            reason: None,
        });
        assert_eq!(classify_exit(&t), Some(2));
        assert_eq!(classify_exit(&task("", "", Some(0), None)), Some(0));
        assert_eq!(classify_exit(&task("", "", None, None)), None);
    }
}
