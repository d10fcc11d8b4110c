//! The health state (versioned JSON, written to S3 or the local state file) and the
//! observations the checks gather. Plain data: no I/O.

use crate::config::Expectation;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::OffsetDateTime;

pub const SCHEMA_VERSION: u32 = 1;

/// The status of the whole cluster, as alerts announce it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "snake_case")]
pub enum Overall {
    #[default]
    Healthy,
    Degraded,
    Unhealthy,
}

impl Overall {
    pub fn as_str(self) -> &'static str {
        match self {
            Overall::Healthy => "healthy",
            Overall::Degraded => "degraded",
            Overall::Unhealthy => "unhealthy",
        }
    }
}

/// The status of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Healthy,
    /// desired 0: scaled down on purpose, not a failure.
    ScaledDown,
    /// Fewer tasks than desired while the primary deployment is rolling out, within the
    /// grace period: not a failure yet. It neither opens an incident nor closes one.
    Deploying,
    Degraded,
    /// The check could not run (an AWS call failed, no connection for the TLS check).
    Unknown,
    Unhealthy,
    /// A configured service that does not exist (or is inactive).
    Missing,
}

impl Status {
    /// The name the state JSON uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Healthy => "healthy",
            Status::ScaledDown => "scaled_down",
            Status::Deploying => "deploying",
            Status::Degraded => "degraded",
            Status::Unknown => "unknown",
            Status::Unhealthy => "unhealthy",
            Status::Missing => "missing",
        }
    }

    /// What this check contributes to the overall status.
    pub fn overall(self) -> Overall {
        match self {
            Status::Healthy | Status::ScaledDown | Status::Deploying => Overall::Healthy,
            Status::Degraded | Status::Unknown => Overall::Degraded,
            Status::Unhealthy | Status::Missing => Overall::Unhealthy,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceState {
    pub name: String,
    pub desired: i32,
    pub running: i32,
    pub pending: i32,
    pub status: Status,
    pub rollout_state: Option<String>,
    pub rollout_reason: Option<String>,
    /// When the primary deployment started (its `createdAt`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub rollout_started_at: Option<OffsetDateTime>,
    pub failed_tasks: i32,
    /// The latest service events, newest first.
    pub events: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetState {
    pub id: String,
    pub port: Option<i32>,
    pub state: String,
    pub reason: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetGroupState {
    pub name: String,
    pub arn: String,
    pub healthy: u32,
    pub unhealthy: u32,
    /// Targets per state (healthy, unhealthy, initial, draining, unused, unavailable).
    pub states: BTreeMap<String, u32>,
    pub status: Status,
    /// The targets that are not healthy, with the ALB's reason.
    pub targets: Vec<TargetState>,
    pub error: Option<String>,
    /// The services registered with it (a silence of all of them covers it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HttpState {
    pub name: String,
    pub url: String,
    pub status_code: Option<u16>,
    pub latency_ms: Option<u64>,
    pub redirects: u32,
    pub status: Status,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TlsState {
    pub host: String,
    /// The earliest expiry in the presented chain.
    #[serde(with = "time::serde::rfc3339::option")]
    pub not_after: Option<OffsetDateTime>,
    pub days_left: Option<i64>,
    /// Subject and issuer of the certificate that expires first.
    pub subject: Option<String>,
    pub issuer: Option<String>,
    pub chain_length: usize,
    pub status: Status,
    pub error: Option<String>,
}

/// A decided alert, rendered once so a retry publishes exactly the same message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Unique per decision: `<incident>/<event>/<unix time>`.
    pub id: String,
    /// The services that are not healthy (what the diagnose function should look at).
    #[serde(default)]
    pub services: Vec<String>,
    #[serde(default)]
    pub issues: Vec<String>,
    /// `health.degraded`, `health.unhealthy`, `health.recovered` or `health.reminder`.
    pub event: crate::notify::Event,
    pub status: Overall,
    pub incident_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub decided_at: OffsetDateTime,
    pub subject: String,
    /// Plain text for email and the SNS default.
    pub text: String,
    /// The Amazon Q Developer in chat applications (AWS Chatbot) custom notification.
    pub chat: crate::notify::Card,
    /// The run that is publishing it, and since when: another run leaves it alone until the
    /// claim is older than the lease.
    #[serde(default)]
    pub claimed_by: Option<String>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub claimed_at: Option<OffsetDateTime>,
    /// Where the cluster is: its region and (a fleet's) account, for the machine message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
}

/// Alerting memory carried from run to run. Every field has a default, so a state written
/// by hand or by an older version still reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Alerting {
    /// Since when the overall status has been what it is now.
    #[serde(with = "time::serde::rfc3339::option")]
    pub status_since: Option<OffsetDateTime>,
    pub consecutive_failures: u32,
    pub consecutive_successes: u32,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_alert_at: Option<OffsetDateTime>,
    /// The open incident, if any: the Slack thread of its alerts.
    pub incident_id: Option<String>,
    /// The status subscribers were last told about.
    #[serde(default)]
    pub announced: Overall,
    /// Alerts decided but not yet published (SNS failed): sent, oldest first, on the next run.
    #[serde(default)]
    pub pending: Vec<Alert>,
    /// Why the last publish failed, if it did.
    #[serde(default)]
    pub last_publish_error: Option<String>,
    /// Alerts decided while a silence covered what they were about: not published; told in
    /// one summary when the silences that held them are over (`health::silence`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub held: Vec<HeldAlert>,
    /// Consecutive runs with held alerts in which something the silences do not cover failed.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub uncovered_runs: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// An alert held by silences.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeldAlert {
    pub event: crate::notify::Event,
    pub status: Overall,
    pub incident_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub decided_at: OffsetDateTime,
    pub subject: String,
    /// The silences (and window occurrences) that held it.
    pub held_by: Vec<crate::silence::Active>,
}

/// The state JSON, `schema_version` 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct State {
    pub schema_version: u32,
    #[serde(with = "time::serde::rfc3339")]
    pub checked_at: OffsetDateTime,
    pub cluster: String,
    pub region: String,
    pub overall: Overall,
    pub services: Vec<ServiceState>,
    pub target_groups: Vec<TargetGroupState>,
    pub http: Vec<HttpState>,
    pub tls: Vec<TlsState>,
    /// One line per problem, e.g. "api: 1/2 tasks running".
    pub issues: Vec<String>,
    pub alerting: Alerting,
    /// The silences and maintenance windows active at this run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub silenced: Vec<crate::silence::Active>,
    /// How a fleet names this cluster when its name alone is ambiguous
    /// (`region/cluster`, `account/region/cluster`): alerts, incidents, metrics and the page
    /// use it; ECS calls and console links use `cluster`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Its account, when a fleet knows it (alerts carry it, so diagnose finds the cluster).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
}

impl State {
    /// The name people read: the fleet's label, else the cluster's name.
    pub fn display_name(&self) -> &str {
        self.label.as_deref().unwrap_or(&self.cluster)
    }

    /// The services that are not healthy (scaled to zero is healthy): what an alert names and
    /// what `logs auto-diagnose` diagnoses.
    pub fn failing_services(&self) -> impl Iterator<Item = &str> {
        self.services
            .iter()
            .filter(|s| s.status.overall() != Overall::Healthy)
            .map(|s| s.name.as_str())
    }
}

// ---- observations: what the checks saw, before evaluation ----

#[derive(Debug, Clone, PartialEq)]
pub struct ServiceObservation {
    pub name: String,
    /// ACTIVE, DRAINING or INACTIVE.
    pub status: String,
    pub desired: i32,
    pub running: i32,
    pub pending: i32,
    pub rollout_state: Option<String>,
    pub rollout_reason: Option<String>,
    /// When the primary deployment started (its `createdAt`).
    pub rollout_started_at: Option<OffsetDateTime>,
    /// The primary deployment's id (`ecs-svc/…`) and task definition ARN.
    pub primary_deployment: Option<String>,
    pub task_definition: Option<String>,
    pub failed_tasks: i32,
    pub events: Vec<String>,
    pub target_group_arns: Vec<String>,
    /// Every deployment DescribeServices lists: the primary and those still draining (a
    /// failed one stays, rollout state FAILED, while its rollback replaces its tasks).
    pub deployments: Vec<DeploymentObservation>,
}

/// One deployment of a service (Deployment, ECS API reference).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DeploymentObservation {
    /// `ecs-svc/…`.
    pub id: String,
    /// PRIMARY, ACTIVE (older, draining) or INACTIVE.
    pub status: String,
    /// IN_PROGRESS, COMPLETED or FAILED.
    pub rollout_state: Option<String>,
    pub rollout_reason: Option<String>,
    pub created_at: Option<OffsetDateTime>,
    pub task_definition: Option<String>,
    pub failed_tasks: i32,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ServicesObservation {
    pub found: Vec<ServiceObservation>,
    /// Configured services ECS does not know.
    pub missing: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TargetObservation {
    pub id: String,
    pub port: Option<i32>,
    pub state: String,
    pub reason: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TargetGroupObservation {
    pub arn: String,
    pub targets: Result<Vec<TargetObservation>, String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HttpResponse {
    pub status: u16,
    pub latency_ms: u64,
    pub redirects: u32,
    /// Whether the body matched the expectation's regex (None: no regex).
    pub body_matched: Option<bool>,
}

#[derive(Debug, Clone)]
pub struct HttpObservation {
    pub name: String,
    pub url: String,
    pub expect: Expectation,
    pub result: Result<HttpResponse, String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CertInfo {
    pub subject: String,
    pub issuer: String,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TlsChain {
    /// As presented, leaf first.
    pub certs: Vec<CertInfo>,
    /// Why the chain does not validate for the host (expired, unknown issuer, wrong name).
    pub verify_error: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TlsObservation {
    /// host:port as checked.
    pub host: String,
    pub result: Result<TlsChain, String>,
}

/// Everything one run saw.
#[derive(Debug, Clone)]
pub struct Observations {
    pub services: Result<ServicesObservation, String>,
    pub target_groups: Vec<TargetGroupObservation>,
    pub http: Vec<HttpObservation>,
    pub tls: Vec<TlsObservation>,
}

/// The target group's name from its ARN (`…:targetgroup/<name>/<id>`).
pub fn target_group_name(arn: &str) -> &str {
    arn.rsplit_once(":targetgroup/")
        .and_then(|(_, rest)| rest.split('/').next())
        .unwrap_or(arn)
}
