//! The ports: one narrow trait per thing a run touches, and the plain data they carry. The
//! SDK adapters in `aws/` implement them for AWS (and moto, LocalStack); the fakes in
//! `fakes` implement them in memory for every unit and handler test. Nothing here sees an SDK
//! or Lambda type.

#[cfg(any(test, feature = "fakes"))]
pub mod fakes;

use crate::health::model::{Alert, ServicesObservation, State, TargetObservation};
use std::future::Future;

/// A failed AWS call, with the service's error code and message when it gave them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{operation} failed: {message}")]
pub struct AwsError {
    pub operation: &'static str,
    pub message: String,
}

/// ECS services: list and describe.
pub trait EcsServices: Send + Sync {
    /// Every service of the cluster (all pages).
    fn list_services(
        &self,
        cluster: &str,
    ) -> impl Future<Output = Result<Vec<String>, AwsError>> + Send;
    /// Describes at most 10 services (the API's limit per call).
    fn describe_services(
        &self,
        cluster: &str,
        names: &[String],
    ) -> impl Future<Output = Result<ServicesObservation, AwsError>> + Send;
}

/// Secret values: SSM Parameter Store SecureStrings and Secrets Manager secrets.
pub trait SecretSource: Send + Sync {
    fn secret(
        &self,
        secret: &crate::config::SecretRef,
    ) -> impl Future<Output = Result<String, AwsError>> + Send;
}

/// ALB target health, one target group per call.
pub trait TargetHealth: Send + Sync {
    fn target_health(
        &self,
        target_group_arn: &str,
    ) -> impl Future<Output = Result<Vec<TargetObservation>, AwsError>> + Send;
}

/// What the store holds: the last state (if readable) and its version for a conditional write.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    pub state: Option<State>,
    /// The version to replace (an S3 ETag, a file hash); `None` when nothing is stored yet.
    pub version: Option<String>,
    /// Why a stored state could not be used (it is then replaced).
    pub warning: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// Another run wrote the state since it was loaded.
    #[error("the state changed since it was read (another run wrote it)")]
    Conflict,
    #[error("{0}")]
    Failed(String),
}

/// Where the health state lives: S3 for the Lambda, a file for the CLI.
pub trait StateStore: Send + Sync {
    fn load(&self) -> impl Future<Output = Result<Loaded, StoreError>> + Send;
    /// Writes `state` if the stored version is still `expected` (`None`: nothing stored);
    /// returns the new version.
    fn save(
        &self,
        state: &State,
        expected: Option<&str>,
    ) -> impl Future<Output = Result<String, StoreError>> + Send;
    /// Where the state is, for messages (`s3://bucket/key`, a path).
    fn location(&self) -> String;
}

/// The silences set by hand (`silences.json` beside the health state).
pub trait Silences: Send + Sync {
    /// The silences and the file's version; an empty file and `None` when there is none.
    fn load_silences(
        &self,
    ) -> impl Future<Output = Result<(crate::silence::SilenceFile, Option<String>), StoreError>> + Send;
}

/// Writes the silences (the CLI's `silence` command), conditionally like the state.
pub trait SilenceWriter: Silences {
    /// Writes `file` if the stored version is still `expected` (`None`: nothing stored).
    fn save_silences(
        &self,
        file: &crate::silence::SilenceFile,
        expected: Option<&str>,
    ) -> impl Future<Output = Result<String, StoreError>> + Send;
    /// Where the silences are, for messages.
    fn silences_location(&self) -> String;
}

/// Hands a shard of a fleet run to another invocation of this function (an asynchronous
/// Lambda invoke), so that no invocation checks more than its share.
pub trait ShardSender: Send + Sync {
    fn send_shard(&self, payload: Vec<u8>) -> impl Future<Output = Result<(), AwsError>> + Send;
}

/// The clusters of an account and region tagged for watching (fleet mode's `*`).
pub trait ClusterDiscovery: Send + Sync {
    /// The names of the clusters whose tags include `key` = `value`.
    fn tagged_clusters(
        &self,
        key: &str,
        value: &str,
    ) -> impl Future<Output = Result<Vec<String>, AwsError>> + Send;
}

/// The status page beside the health state: its rollup (written conditionally, like the
/// state), the page itself, and the index of the reports it links to.
pub trait StatusPages: Send + Sync {
    /// The rollup's bytes and version; `None` when there is none yet.
    fn load_rollup(
        &self,
    ) -> impl Future<Output = Result<Option<(Vec<u8>, String)>, StoreError>> + Send;
    /// Writes the rollup if its version is still `expected` (`None`: there is none).
    fn save_rollup(
        &self,
        body: Vec<u8>,
        expected: Option<&str>,
    ) -> impl Future<Output = Result<String, StoreError>> + Send;
    /// The report index diagnose keeps (`None`: none, or this store has no reports).
    fn load_report_index(&self)
    -> impl Future<Output = Result<Option<Vec<u8>>, StoreError>> + Send;
    /// Writes the page; returns where it is.
    fn save_page(&self, html: String) -> impl Future<Output = Result<String, StoreError>> + Send;
    /// The path from the page to the reports' folder, for links (`None`: no reports).
    fn report_links(&self) -> Option<String>;
}

/// Publishes alerts (SNS).
pub trait Notifier: Send + Sync {
    fn publish(
        &self,
        alert: &Alert,
        cluster: &str,
    ) -> impl Future<Output = Result<(), AwsError>> + Send;
}

/// Publishes a prepared `MessageStructure=json` message (the diagnose summary).
pub trait Publisher: Send + Sync {
    fn publish_json(
        &self,
        subject: &str,
        message: String,
    ) -> impl Future<Output = Result<(), AwsError>> + Send;
}

// CloudWatch Logs.

/// A log event as CloudWatch returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedEvent {
    pub timestamp: i64,
    pub stream: String,
    pub message: String,
}

#[derive(Debug, Clone, Default)]
pub struct LogPage {
    pub events: Vec<OwnedEvent>,
    /// More events remain (pages may be short or empty while a token remains).
    pub next_token: Option<String>,
}

/// One log stream as DescribeLogStreams lists it (times in ms).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StreamInfo {
    pub name: String,
    pub first_event: Option<i64>,
    pub last_event: Option<i64>,
    pub created: Option<i64>,
}

#[derive(Debug, Clone, Default)]
pub struct StreamPage {
    /// Newest last event first.
    pub streams: Vec<StreamInfo>,
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogsError {
    /// ThrottlingException (5 FilterLogEvents per second per account and region).
    #[error("throttled: {0}")]
    Throttled(String),
    /// A 5xx answer, a timeout or a broken connection: worth another try.
    #[error("{0}")]
    Transient(String),
    #[error("log group {0} does not exist")]
    MissingGroup(String),
    #[error("access denied: {0}")]
    Denied(String),
    #[error("{0}")]
    Other(String),
}

/// FilterLogEvents and DescribeLogStreams.
pub trait LogEvents: Send + Sync {
    /// One page of events of `group` in [start, end] (milliseconds), interleaved by time.
    fn filter_page(
        &self,
        group: &str,
        start_ms: i64,
        end_ms: i64,
        pattern: Option<&str>,
        token: Option<String>,
    ) -> impl Future<Output = Result<LogPage, LogsError>> + Send;

    /// One page of `group`'s log streams, the newest last event first.
    fn streams_page(
        &self,
        group: &str,
        token: Option<String>,
    ) -> impl Future<Output = Result<StreamPage, LogsError>> + Send;

    /// The last `limit` events of one stream (time, message), oldest first: what a task wrote
    /// before it stopped.
    fn last_events(
        &self,
        group: &str,
        stream: &str,
        limit: i32,
    ) -> impl Future<Output = Result<Vec<(i64, String)>, LogsError>> + Send;
}

// ECS task definitions.

/// Where a container's awslogs log driver sends its output (its `awslogs-group`,
/// `awslogs-region` and `awslogs-stream-prefix` options).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsLogs {
    pub group: String,
    pub region: Option<String>,
    pub stream_prefix: Option<String>,
}

/// What diagnose needs of a container definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerDefinitionInfo {
    pub name: String,
    pub essential: bool,
    /// Its hard memory limit (MiB), when it has one.
    pub memory: Option<i32>,
    pub log: Option<AwsLogs>,
}

/// What diagnose needs of a task definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskDefinitionInfo {
    pub arn: String,
    /// The task's memory (MiB, as ECS writes it: `"512"`), when set at the task level.
    pub memory: Option<String>,
    pub containers: Vec<ContainerDefinitionInfo>,
}

/// DescribeTaskDefinition.
pub trait TaskDefinitions: Send + Sync {
    fn task_definition(
        &self,
        arn: &str,
    ) -> impl Future<Output = Result<TaskDefinitionInfo, AwsError>> + Send;
}

// ECS task history.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerExit {
    pub name: String,
    pub exit_code: Option<i32>,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StoppedTaskInfo {
    pub task_arn: String,
    /// Milliseconds since the epoch.
    pub stopped_at: Option<i64>,
    /// What started it: a service's tasks carry the id of the deployment that started them
    /// (`ecs-svc/…`; Task.startedBy, ECS API reference).
    pub started_by: Option<String>,
    /// Its task definition's ARN (the revision it ran).
    pub task_definition: Option<String>,
    /// Where the diagnosis learned of it.
    pub source: StopSource,
    pub stop_code: Option<String>,
    pub stopped_reason: Option<String>,
    pub containers: Vec<ContainerExit>,
}

/// Where a stop is known from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopSource {
    /// ECS still describes the task (about an hour after it stopped).
    #[default]
    Ecs,
    /// Its task-stopped event, recorded by diagnose when it came.
    Recorded,
}

/// Task stops recorded from ECS's events, kept past the hour ECS keeps them.
pub trait StopLog: Send + Sync {
    /// Records the stop of a task of `service` (again: the same record).
    fn record_stop(
        &self,
        service: &str,
        task: &StoppedTaskInfo,
        now_ms: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The recorded stops of `service` in [start, end] (milliseconds), at most
    /// `diagnose::stoplog::MAX_RECORDED` (the newest).
    fn recorded_stops(
        &self,
        service: &str,
        start_ms: i64,
        end_ms: i64,
    ) -> impl Future<Output = Result<Vec<StoppedTaskInfo>, StoreError>> + Send;
}

/// Stopped tasks and events of a service.
pub trait TaskHistory: Send + Sync {
    fn stopped_tasks(
        &self,
        cluster: &str,
        service: &str,
    ) -> impl Future<Output = Result<Vec<StoppedTaskInfo>, AwsError>> + Send;
    /// (time in ms, message), newest first.
    fn service_events(
        &self,
        cluster: &str,
        service: &str,
    ) -> impl Future<Output = Result<Vec<(i64, String)>, AwsError>> + Send;
}

// Diagnose's claims and reports.

/// Small JSON records with conditional writes (S3 for the Lambda).
pub trait Records: Send + Sync {
    /// The record `name` and its version (ETag); `None` when there is none.
    fn get_record(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<(Vec<u8>, String)>, StoreError>> + Send;
    /// Writes `name` if its version is still `expected` (`None`: there is none);
    /// [`StoreError::Conflict`] when another writer came first. Returns the new version.
    fn put_record(
        &self,
        name: &str,
        body: Vec<u8>,
        expected: Option<&str>,
    ) -> impl Future<Output = Result<String, StoreError>> + Send;
}

/// The health check's incident, while one is open (its last alert was not a recovery): a
/// diagnosis of an ECS event posts into that incident's thread.
pub trait OpenIncident: Send + Sync {
    fn open_incident(&self) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;
}

/// Where reports are written.
pub trait ReportWriter: Send + Sync {
    /// Writes the report `name`; returns its URL.
    fn put_report(
        &self,
        name: &str,
        body: Vec<u8>,
    ) -> impl Future<Output = Result<String, StoreError>> + Send;
}
