//! Task stops kept past ECS's hour: ECS describes a stopped task for about an hour
//! (DescribeTasks, ECS API reference), while a diagnosis may look back six. Every
//! `ECS Task State Change` to STOPPED that reaches diagnose (normal stops too) is recorded as a
//! small object, `stops/<service>/<time>-<task>.json` beside the reports (expired with them by
//! the bucket's lifecycle rule); a diagnosis reads the window's records and merges them with
//! what ECS still has, each stop saying where it came from.

use crate::ports::{ContainerExit, StopSource, StoppedTaskInfo};
use serde::{Deserialize, Serialize};

/// Recorded stops read for one service and window at most (the newest).
pub const MAX_RECORDED: usize = 500;

/// An id or a name as one key segment (a task id, a service name).
pub(crate) fn safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// Where a service's records are: `stops/<service>/`.
pub fn prefix(service: &str) -> String {
    format!("stops/{}/", safe(service))
}

/// A time in a record's name: sortable as text, to the millisecond.
pub fn stamp(ms: i64) -> String {
    let t = crate::timefmt::from_millis(ms).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let c = crate::timefmt::compact(t);
    format!("{}.{:03}Z", c.trim_end_matches('Z'), t.millisecond())
}

/// The record's name: its stop time first, so a window is a range of names.
pub fn name(service: &str, task: &StoppedTaskInfo, fallback_ms: i64) -> String {
    format!(
        "{}{}-{}.json",
        prefix(service),
        stamp(task.stopped_at.unwrap_or(fallback_ms)),
        safe(crate::aws::tasks::task_id(&task.task_arn))
    )
}

/// Whether the record `name` (as [`name`] makes it, relative to its prefix) stopped at or
/// before `end_ms`.
pub fn ends_by(relative: &str, end_ms: i64) -> bool {
    relative
        .get(..stamp(0).len())
        .is_some_and(|t| *t <= *stamp(end_ms))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Container {
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    exit_code: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

/// What a record holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Recorded {
    task_arn: String,
    stopped_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    started_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    task_definition: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    stop_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    stopped_reason: Option<String>,
    #[serde(default)]
    containers: Vec<Container>,
}

/// The record of a stop, as JSON.
pub fn encode(task: &StoppedTaskInfo) -> Vec<u8> {
    let r = Recorded {
        task_arn: task.task_arn.clone(),
        stopped_at: task.stopped_at,
        started_by: task.started_by.clone(),
        task_definition: task.task_definition.clone(),
        stop_code: task.stop_code.clone(),
        stopped_reason: task.stopped_reason.clone(),
        containers: task
            .containers
            .iter()
            .map(|c| Container {
                name: c.name.clone(),
                exit_code: c.exit_code,
                reason: c.reason.clone(),
            })
            .collect(),
    };
    serde_json::to_vec(&r).unwrap_or_default()
}

/// A record read back; `None` when it is not one.
pub fn decode(body: &[u8]) -> Option<StoppedTaskInfo> {
    let r: Recorded = serde_json::from_slice(body).ok()?;
    Some(StoppedTaskInfo {
        task_arn: r.task_arn,
        stopped_at: r.stopped_at,
        started_by: r.started_by,
        task_definition: r.task_definition,
        stop_code: r.stop_code,
        stopped_reason: r.stopped_reason,
        containers: r
            .containers
            .into_iter()
            .map(|c| ContainerExit {
                name: c.name,
                exit_code: c.exit_code,
                reason: c.reason,
            })
            .collect(),
        source: StopSource::Recorded,
    })
}

/// ECS's stopped tasks with the recorded ones it no longer has (one entry per task: ECS's,
/// when it still describes it).
pub fn merge(ecs: Vec<StoppedTaskInfo>, recorded: Vec<StoppedTaskInfo>) -> Vec<StoppedTaskInfo> {
    let known: std::collections::HashSet<String> = ecs.iter().map(|t| t.task_arn.clone()).collect();
    let mut all = ecs;
    all.extend(
        recorded
            .into_iter()
            .filter(|t| !known.contains(&t.task_arn)),
    );
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(id: &str, ms: Option<i64>) -> StoppedTaskInfo {
        StoppedTaskInfo {
            task_arn: format!("arn:aws:ecs:us-east-1:123456789012:task/prod/{id}"),
            stopped_at: ms,
            started_by: Some("ecs-svc/1".into()),
            task_definition: Some(
                "arn:aws:ecs:us-east-1:123456789012:task-definition/api:4".into(),
            ),
            stop_code: Some("EssentialContainerExited".into()),
            stopped_reason: Some("Essential container in task exited".into()),
            containers: vec![ContainerExit {
                name: "app".into(),
                exit_code: Some(1),
                reason: None,
            }],
            source: StopSource::Ecs,
        }
    }

    #[test]
    fn names_sort_by_stop_time_and_bound_a_window() {
        let t0 = crate::timefmt::to_millis(time::macros::datetime!(2026-11-29 14:35:27.123 UTC));
        let a = name("api", &task("aaa", Some(t0)), 0);
        let b = name("api", &task("000", Some(t0 + 1)), 0);
        assert_eq!(a, "stops/api/20261129T143527.123Z-aaa.json");
        assert!(a < b, "later stops sort later, whatever their task id");
        assert_eq!(
            name("a/b", &task("t1", None), t0),
            "stops/a-b/20261129T143527.123Z-t1.json",
            "no stop time: the event's"
        );
        let rel = a.trim_start_matches(&prefix("api"));
        assert!(ends_by(rel, t0) && ends_by(rel, t0 + 1) && !ends_by(rel, t0 - 1));
        assert!(!ends_by("x", t0), "not a record's name");
    }

    #[test]
    fn a_record_reads_back_as_the_stop_it_recorded() {
        let t = task("t1", Some(1_000));
        let back = decode(&encode(&t)).unwrap();
        assert_eq!(
            back,
            StoppedTaskInfo {
                source: StopSource::Recorded,
                ..t
            }
        );
        assert_eq!(decode(b"{\"not\": \"a record\"}"), None);
        assert_eq!(decode(b"garbage"), None);
    }

    #[test]
    fn ecs_wins_and_records_fill_in_what_it_forgot() {
        let ecs = vec![task("t1", Some(1)), task("t2", Some(2))];
        let mut old = task("t0", Some(0));
        old.source = StopSource::Recorded;
        let mut again = task("t2", Some(2));
        again.source = StopSource::Recorded;
        let merged = merge(ecs, vec![old.clone(), again]);
        let ids: Vec<(&str, StopSource)> = merged
            .iter()
            .map(|t| (crate::aws::tasks::task_id(&t.task_arn), t.source))
            .collect();
        assert_eq!(
            ids,
            [
                ("t1", StopSource::Ecs),
                ("t2", StopSource::Ecs),
                ("t0", StopSource::Recorded)
            ]
        );
    }
}
