//! The diagnose report (versioned JSON) and the service status rules:
//!
//! | status | when |
//! |---|---|
//! | `error` | the service's logs could not be read (missing log group, access denied) |
//! | `critical` | a panic, fatal or oom error, or a task stopped for running out of memory |
//! | `unhealthy` | more than 10 errors, 3 or more abnormal task stops, or no healthy load balancer target |
//! | `degraded` | any error, an abnormal task stop, a target failing the load balancer's health checks, or a failed deployment |
//! | `no_logs` | no event in the window and no stopped task |
//! | `healthy` | otherwise |

use super::stops::StopKind;
use crate::classify::Category;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::OffsetDateTime;

pub const SCHEMA_VERSION: u32 = 1;
/// More errors than this make a service unhealthy.
pub const UNHEALTHY_ERRORS: u64 = 10;
/// This many abnormal task stops make a service unhealthy (a crash loop).
pub const UNHEALTHY_RESTARTS: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceStatus {
    Healthy,
    NoLogs,
    Degraded,
    Unhealthy,
    Critical,
    Error,
}

impl ServiceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceStatus::Healthy => "healthy",
            ServiceStatus::NoLogs => "no_logs",
            ServiceStatus::Degraded => "degraded",
            ServiceStatus::Unhealthy => "unhealthy",
            ServiceStatus::Critical => "critical",
            ServiceStatus::Error => "error",
        }
    }

    /// Worth telling someone about.
    pub fn is_problem(self) -> bool {
        matches!(
            self,
            ServiceStatus::Degraded
                | ServiceStatus::Unhealthy
                | ServiceStatus::Critical
                | ServiceStatus::Error
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    #[serde(with = "time::serde::rfc3339")]
    pub start: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub end: OffsetDateTime,
    pub minutes: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Trigger {
    /// `manual`, `sns` or `ecs_event`.
    pub kind: String,
    pub detail: String,
    /// The health incident that started the diagnosis (its alert through SNS): the summary
    /// joins its thread.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident_id: Option<String>,
    /// The thread the summary posts in when no incident is open (a failed deployment's
    /// diagnosis joins the service's deployment thread); none: the cluster's diagnose thread.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopError {
    pub fingerprint: String,
    pub category: Category,
    pub count: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub first_seen: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub last_seen: OffsetDateTime,
    /// The first occurrence (a whole trace for multi-line ones), secrets redacted.
    pub sample: String,
    /// Not seen in the previous window of equal length.
    pub new: bool,
    /// First seen after the report's deployment started, and never before it in the two
    /// windows read (only when that deployment started within them).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub since_deployment: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoppedTask {
    pub task: String,
    #[serde(with = "time::serde::rfc3339::option")]
    pub stopped_at: Option<OffsetDateTime>,
    pub stop_code: Option<String>,
    pub reason: Option<String>,
    pub exit_code: Option<i32>,
    /// Why it stopped (`diagnose::stops`): never `normal` here, normal stops are not restarts.
    pub kind: StopKind,
    /// Killed for memory: an OutOfMemory reason (exit 137 alone is `killed`).
    pub oom: bool,
    /// Where it is known from: `ecs` (ECS still describes the task) or `recorded` (its
    /// task-stopped event, kept past ECS's hour).
    #[serde(default)]
    pub source: crate::ports::StopSource,
    /// For an OOM kill: the memory limit (MiB) its container ran under (its own hard limit,
    /// else the task's), from its task definition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_limit_mib: Option<i32>,
    /// The last lines its container wrote (its own log stream), secrets redacted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub last_lines: Vec<String>,
    /// The deployment that started it (`ecs-svc/…`, Task.startedBy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_by: Option<String>,
}

/// The deployment a diagnosis is about: a failed one (ECS still lists it while its rollback
/// replaces its tasks), else the primary one when it started within the two windows read or
/// is still rolling out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentReport {
    /// `ecs-svc/…`.
    pub id: String,
    /// Its revision, `family:revision`.
    pub task_definition: Option<String>,
    /// IN_PROGRESS, COMPLETED or FAILED.
    pub rollout_state: Option<String>,
    /// ECS's rollout state reason (why it failed).
    pub reason: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub started_at: Option<OffsetDateTime>,
    /// Tasks it started that failed to run (the circuit breaker's count).
    pub failed_tasks: i32,
    /// A failed one's rollback: the primary deployment's revision, when another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rolling_back_to: Option<String>,
}

impl DeploymentReport {
    pub fn failed(&self) -> bool {
        self.rollout_state.as_deref() == Some("FAILED")
    }
}

/// One of a service's load balancer targets that is not healthy (DescribeTargetHealth).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetReport {
    /// The target group's name.
    pub target_group: String,
    /// `id:port`.
    pub target: String,
    /// unhealthy, initial, draining, unused, unavailable.
    pub state: String,
    /// The load balancer's reason code (`Target.ResponseCodeMismatch`, …) and its words.
    pub reason: Option<String>,
    pub description: Option<String>,
}

/// The service's targets behind its load balancers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct TargetsReport {
    /// Targets registered, over all its target groups read.
    pub total: usize,
    /// The ones not healthy.
    pub not_healthy: Vec<TargetReport>,
    /// Target groups that could not be read, with why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unavailable: Vec<String>,
}

impl TargetsReport {
    pub fn unhealthy(&self) -> impl Iterator<Item = &TargetReport> {
        self.not_healthy.iter().filter(|t| t.state == "unhealthy")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Restarts {
    pub count: usize,
    pub stopped_tasks: Vec<StoppedTask>,
    pub log_streams_started: usize,
    /// Time-ordered evidence: task stops, new log streams, service events, startup and
    /// shutdown lines.
    pub timeline: Vec<String>,
    /// Evidence that could not be read (the count may then be low).
    #[serde(default)]
    pub unavailable: Vec<String>,
    /// What the evidence does not cover (stopped tasks older than ECS keeps them).
    #[serde(default)]
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Counts {
    pub errors_total: u64,
    pub categories: BTreeMap<Category, u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceReport {
    pub service: String,
    /// Its main log group (its essential container's); empty when none could be found.
    pub log_group: String,
    /// Every group read: the main one, then its sidecars' (from the task definition).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub log_groups: Vec<String>,
    /// Groups besides the main one that could not be read, with why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub log_group_errors: Vec<String>,
    pub status: ServiceStatus,
    pub events_scanned: u64,
    pub health_noise: u64,
    pub errors_total: u64,
    pub categories: BTreeMap<Category, u64>,
    pub http_status: BTreeMap<String, u64>,
    pub top_errors: Vec<TopError>,
    pub restarts: Restarts,
    pub previous_window: Counts,
    /// The event cap (`--limit`) stopped the reading before the window was covered.
    pub truncated: bool,
    pub error: Option<String>,
    /// Its recent or failed deployment, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<DeploymentReport>,
    /// Its load balancer targets (none: it has no target group, or they were not read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub targets: Option<TargetsReport>,
    /// Its errors over the window, for the report page's chart (none when nothing was read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors_over_time: Option<ErrorSeries>,
}

/// Errors counted in equal buckets from the window's start; an error counts in the bucket of
/// its first line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorSeries {
    pub bucket_minutes: u32,
    pub counts: Vec<u64>,
}

/// Buckets of a series at most: enough for a chart, small in the report.
pub const SERIES_BUCKETS: u32 = 60;

impl ErrorSeries {
    /// The series of `per_minute` (minutes since the epoch → errors) over `start..end` (ms).
    pub fn from_minutes(per_minute: &BTreeMap<i64, u64>, start_ms: i64, end_ms: i64) -> Self {
        let first = start_ms.div_euclid(60_000);
        let minutes = u64::try_from(end_ms.div_euclid(60_000) - first + 1)
            .unwrap_or(1)
            .max(1);
        let bucket = minutes.div_ceil(u64::from(SERIES_BUCKETS)).max(1);
        let mut counts = vec![0u64; usize::try_from(minutes.div_ceil(bucket)).unwrap_or(1)];
        for (&m, &n) in per_minute.range(first..first.saturating_add_unsigned(minutes)) {
            let i = u64::try_from(m - first).unwrap_or(0) / bucket;
            counts[usize::try_from(i).unwrap_or(0)] += n;
        }
        Self {
            bucket_minutes: u32::try_from(bucket).unwrap_or(u32::MAX),
            counts,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub schema_version: u32,
    pub cluster: String,
    /// The cluster's region, for the console links (empty in reports written before it).
    #[serde(default)]
    pub region: String,
    #[serde(with = "time::serde::rfc3339")]
    pub generated_at: OffsetDateTime,
    pub window: Window,
    pub trigger: Trigger,
    pub services: Vec<ServiceReport>,
    pub totals: Counts,
    /// The probable causes (`diagnose::cause`), most severe first; empty: no clear cause.
    #[serde(default)]
    pub probable_causes: Vec<super::cause::Cause>,
    /// How a fleet names the cluster (`account/region/cluster`), and its account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
}

impl Report {
    /// The name people read: the fleet's label, else the cluster's name.
    pub fn display_name(&self) -> &str {
        self.label.as_deref().unwrap_or(&self.cluster)
    }
}

/// The status of a service from its findings (the table above).
pub fn service_status(r: &ServiceReport) -> ServiceStatus {
    if r.error.is_some() {
        return ServiceStatus::Error;
    }
    let severe = [Category::Panic, Category::Fatal, Category::Oom]
        .iter()
        .any(|c| r.categories.get(c).copied().unwrap_or(0) > 0);
    let abnormal = r.restarts.stopped_tasks.len();
    let unhealthy_targets = r.targets.as_ref().map_or(0, |t| t.unhealthy().count());
    let no_target_healthy = unhealthy_targets > 0
        && r.targets
            .as_ref()
            .is_some_and(|t| t.not_healthy.len() == t.total);
    let failed_deployment = r.deployment.as_ref().is_some_and(DeploymentReport::failed);
    if severe || r.restarts.stopped_tasks.iter().any(|t| t.oom) {
        ServiceStatus::Critical
    } else if r.errors_total > UNHEALTHY_ERRORS
        || abnormal >= UNHEALTHY_RESTARTS
        || no_target_healthy
    {
        ServiceStatus::Unhealthy
    } else if r.errors_total > 0 || abnormal > 0 || unhealthy_targets > 0 || failed_deployment {
        ServiceStatus::Degraded
    } else if r.events_scanned == 0 {
        ServiceStatus::NoLogs
    } else {
        ServiceStatus::Healthy
    }
}

impl Report {
    /// The worst service status (healthy when there is no service).
    pub fn worst(&self) -> ServiceStatus {
        self.services
            .iter()
            .map(|s| s.status)
            .max()
            .unwrap_or(ServiceStatus::Healthy)
    }
}
