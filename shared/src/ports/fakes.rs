//! In-memory fakes of every port, shared by all unit and handler tests (the library's, and
//! the functions' with the `fakes` feature). Each keeps what it was given or asked, so a test
//! asserts on behaviour, and each can be told to fail the way AWS does.

use super::*;
use crate::health::model::{DeploymentObservation, ServiceObservation};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// ECS: services with desired and running counts (and target groups), their stopped tasks
/// and events. An operation named in `fail` (`ecs:ListServices`, `ecs:DescribeServices`,
/// `ecs:ListTasks`) answers that error.
#[derive(Default)]
pub struct FakeEcs {
    pub services: Mutex<BTreeMap<String, (i32, i32)>>,
    pub target_groups: Mutex<BTreeMap<String, Vec<String>>>,
    pub stopped: Mutex<BTreeMap<String, Vec<StoppedTaskInfo>>>,
    pub events: Mutex<BTreeMap<String, Vec<(i64, String)>>>,
    pub failing: Mutex<BTreeMap<&'static str, String>>,
    /// Each service's primary deployment and its task definition (default `ecs-svc/1` and
    /// revision 1 of a family named after the service).
    pub primary: Mutex<BTreeMap<String, (String, String)>>,
    /// Each service's deployments when a test sets them (`set_deployments`); else one
    /// PRIMARY deployment, `primary`'s.
    pub deployments: Mutex<BTreeMap<String, Vec<DeploymentObservation>>>,
    /// Task definitions by ARN. One not given is the default of its family: one essential
    /// container `app` with 512 MiB, logging to `/ecs/<family>` with stream prefix `ecs`.
    pub task_definitions: Mutex<BTreeMap<String, TaskDefinitionInfo>>,
    /// DescribeServices calls of the health check, and the largest batch asked for.
    pub describe_calls: AtomicUsize,
    pub max_batch: AtomicUsize,
}

impl FakeEcs {
    /// Services (name, desired, running).
    pub fn with(services: &[(&str, i32, i32)]) -> Self {
        let fake = Self::default();
        lock(&fake.services).extend(services.iter().map(|(n, d, r)| (n.to_string(), (*d, *r))));
        fake
    }

    pub fn set_running(&self, name: &str, running: i32) {
        if let Some(s) = lock(&self.services).get_mut(name) {
            s.1 = running;
        }
    }

    pub fn set_primary(&self, service: &str, deployment: &str, task_definition: &str) {
        lock(&self.primary).insert(service.into(), (deployment.into(), task_definition.into()));
    }

    /// The deployments DescribeServices lists for `service`; the PRIMARY one is also its
    /// primary deployment.
    pub fn set_deployments(&self, service: &str, deployments: Vec<DeploymentObservation>) {
        if let Some(p) = deployments.iter().find(|d| d.status == "PRIMARY") {
            self.set_primary(
                service,
                &p.id,
                p.task_definition.as_deref().unwrap_or_default(),
            );
        }
        lock(&self.deployments).insert(service.into(), deployments);
    }

    pub fn add_stopped(&self, service: &str, task: StoppedTaskInfo) {
        lock(&self.stopped)
            .entry(service.into())
            .or_default()
            .push(task);
    }

    pub fn fail(&self, operation: &'static str, message: &str) {
        lock(&self.failing).insert(operation, message.to_string());
    }

    fn check(&self, operation: &'static str) -> Result<(), AwsError> {
        match lock(&self.failing).get(operation) {
            Some(message) => Err(AwsError {
                operation,
                message: message.clone(),
            }),
            None => Ok(()),
        }
    }
}

impl EcsServices for FakeEcs {
    async fn list_services(&self, _cluster: &str) -> Result<Vec<String>, AwsError> {
        self.check("ecs:ListServices")?;
        Ok(lock(&self.services).keys().cloned().collect())
    }

    async fn describe_services(
        &self,
        _cluster: &str,
        names: &[String],
    ) -> Result<ServicesObservation, AwsError> {
        self.check("ecs:DescribeServices")?;
        self.describe_calls.fetch_add(1, Ordering::SeqCst);
        self.max_batch.fetch_max(names.len(), Ordering::SeqCst);
        let services = lock(&self.services);
        let groups = lock(&self.target_groups);
        let primary = lock(&self.primary);
        let mut obs = ServicesObservation::default();
        for n in names {
            let (deployment, task_definition) = primary.get(n).cloned().unwrap_or_else(|| {
                (
                    "ecs-svc/1".into(),
                    format!("arn:aws:ecs:us-east-1:123456789012:task-definition/{n}:1"),
                )
            });
            let deployments = lock(&self.deployments).get(n).cloned().unwrap_or_else(|| {
                vec![DeploymentObservation {
                    id: deployment.clone(),
                    status: "PRIMARY".into(),
                    rollout_state: Some("COMPLETED".into()),
                    task_definition: Some(task_definition.clone()),
                    ..Default::default()
                }]
            });
            let p = deployments.iter().find(|d| d.status == "PRIMARY");
            match services.get(n) {
                Some((desired, running)) => obs.found.push(ServiceObservation {
                    name: n.clone(),
                    status: "ACTIVE".into(),
                    desired: *desired,
                    running: *running,
                    pending: desired - running,
                    rollout_state: None,
                    rollout_reason: None,
                    rollout_started_at: None,
                    primary_deployment: Some(deployment),
                    task_definition: Some(task_definition),
                    failed_tasks: p.map_or(0, |d| d.failed_tasks),
                    events: vec![],
                    target_group_arns: groups.get(n).cloned().unwrap_or_default(),
                    deployments,
                }),
                None => obs.missing.push(n.clone()),
            }
        }
        Ok(obs)
    }
}

impl TaskDefinitions for FakeEcs {
    async fn task_definition(&self, arn: &str) -> Result<TaskDefinitionInfo, AwsError> {
        self.check("ecs:DescribeTaskDefinition")?;
        if let Some(td) = lock(&self.task_definitions).get(arn) {
            return Ok(td.clone());
        }
        let family = crate::aws::short_name(arn)
            .split(':')
            .next()
            .unwrap_or_default()
            .to_string();
        Ok(TaskDefinitionInfo {
            arn: arn.to_string(),
            memory: None,
            containers: vec![ContainerDefinitionInfo {
                name: "app".into(),
                essential: true,
                memory: Some(512),
                log: Some(AwsLogs {
                    group: format!("/ecs/{family}"),
                    region: Some("us-east-1".into()),
                    stream_prefix: Some("ecs".into()),
                }),
            }],
        })
    }
}

impl TaskHistory for FakeEcs {
    async fn stopped_tasks(
        &self,
        _cluster: &str,
        service: &str,
    ) -> Result<Vec<StoppedTaskInfo>, AwsError> {
        self.check("ecs:ListTasks")?;
        Ok(lock(&self.stopped)
            .get(service)
            .cloned()
            .unwrap_or_default())
    }

    async fn service_events(
        &self,
        _cluster: &str,
        service: &str,
    ) -> Result<Vec<(i64, String)>, AwsError> {
        self.check("ecs:DescribeServices")?;
        Ok(lock(&self.events).get(service).cloned().unwrap_or_default())
    }
}

/// ALB target health per target group ARN (none registered when not given).
#[derive(Default)]
pub struct FakeTargets {
    pub groups: Mutex<BTreeMap<String, Vec<TargetObservation>>>,
}

impl TargetHealth for FakeTargets {
    async fn target_health(&self, arn: &str) -> Result<Vec<TargetObservation>, AwsError> {
        Ok(lock(&self.groups).get(arn).cloned().unwrap_or_default())
    }
}

/// The health state with S3's conditional-write contract. With `gate`, loads wait until
/// that many runs have loaded, so concurrent runs all read the same version. `fail_saves`
/// saves fail before one succeeds.
#[derive(Default)]
pub struct MemStore {
    pub data: Mutex<Option<(State, u64)>>,
    pub gate: Option<tokio::sync::Barrier>,
    pub fail_saves: AtomicU32,
    /// The silences file and its version; `fail_silences`: reading it fails.
    pub silences: Mutex<Option<(crate::silence::SilenceFile, u64)>>,
    pub fail_silences: AtomicBool,
    /// The status page's rollup (bytes, version), the last page written, the report index.
    pub rollup: Mutex<Option<(Vec<u8>, u64)>>,
    pub page: Mutex<Option<String>>,
    pub report_index: Mutex<Option<Vec<u8>>>,
}

impl crate::ports::StatusPages for MemStore {
    async fn load_rollup(&self) -> Result<Option<(Vec<u8>, String)>, StoreError> {
        Ok(lock(&self.rollup)
            .as_ref()
            .map(|(b, v)| (b.clone(), v.to_string())))
    }

    async fn save_rollup(
        &self,
        body: Vec<u8>,
        expected: Option<&str>,
    ) -> Result<String, StoreError> {
        let mut r = lock(&self.rollup);
        let current = r.as_ref().map(|(_, v)| v.to_string());
        if current.as_deref() != expected {
            return Err(StoreError::Conflict);
        }
        let v = r.as_ref().map_or(1, |(_, v)| v + 1);
        *r = Some((body, v));
        Ok(v.to_string())
    }

    async fn load_report_index(&self) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(lock(&self.report_index).clone())
    }

    async fn save_page(&self, html: String) -> Result<String, StoreError> {
        *lock(&self.page) = Some(html);
        Ok("memory".into())
    }

    fn report_links(&self) -> Option<String> {
        Some("../reports/".into())
    }
}

impl Silences for MemStore {
    async fn load_silences(
        &self,
    ) -> Result<(crate::silence::SilenceFile, Option<String>), StoreError> {
        if self.fail_silences.load(Ordering::SeqCst) {
            return Err(StoreError::Failed(
                "s3:GetObject failed: AccessDenied".into(),
            ));
        }
        Ok(match &*lock(&self.silences) {
            Some((f, v)) => (f.clone(), Some(v.to_string())),
            None => (Default::default(), None),
        })
    }
}

impl SilenceWriter for MemStore {
    async fn save_silences(
        &self,
        file: &crate::silence::SilenceFile,
        expected: Option<&str>,
    ) -> Result<String, StoreError> {
        let mut data = lock(&self.silences);
        let current = data.as_ref().map(|(_, v)| v.to_string());
        if current.as_deref() != expected {
            return Err(StoreError::Conflict);
        }
        let next = data.as_ref().map_or(1, |(_, v)| v + 1);
        *data = Some((file.clone(), next));
        Ok(next.to_string())
    }

    fn silences_location(&self) -> String {
        "memory".into()
    }
}

impl MemStore {
    pub fn state(&self) -> Option<State> {
        lock(&self.data).as_ref().map(|(s, _)| s.clone())
    }
}

impl StateStore for MemStore {
    async fn load(&self) -> Result<Loaded, StoreError> {
        let loaded = match &*lock(&self.data) {
            Some((s, v)) => Loaded {
                state: Some(s.clone()),
                version: Some(v.to_string()),
                warning: None,
            },
            None => Loaded::default(),
        };
        if let Some(g) = &self.gate {
            g.wait().await;
        }
        Ok(loaded)
    }

    async fn save(&self, state: &State, expected: Option<&str>) -> Result<String, StoreError> {
        if self
            .fail_saves
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err(StoreError::Failed(
                "s3:PutObject failed: InternalError".into(),
            ));
        }
        let mut data = lock(&self.data);
        let current = data.as_ref().map(|(_, v)| v.to_string());
        if current.as_deref() != expected {
            return Err(StoreError::Conflict);
        }
        let next = data.as_ref().map_or(1, |(_, v)| v + 1);
        *data = Some((state.clone(), next));
        Ok(next.to_string())
    }

    fn location(&self) -> String {
        "memory".into()
    }
}

/// One message an [`FakeSns`] accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub subject: String,
    /// The `MessageStructure=json` document.
    pub message: String,
}

/// SNS: keeps what it accepted; refuses everything while `fail` is set.
#[derive(Default)]
pub struct FakeSns {
    pub sent: Mutex<Vec<Sent>>,
    pub fail: AtomicBool,
}

impl FakeSns {
    /// The machine messages sent (the `lambda` key of each document).
    pub fn machine_messages(&self) -> Vec<serde_json::Value> {
        lock(&self.sent)
            .iter()
            .filter_map(|s| {
                let doc: serde_json::Value = serde_json::from_str(&s.message).ok()?;
                serde_json::from_str(doc["lambda"].as_str()?).ok()
            })
            .collect()
    }

    /// The Amazon Q thread of each message sent (the card's `threadId`), in order.
    pub fn threads(&self) -> Vec<String> {
        lock(&self.sent)
            .iter()
            .filter_map(|s| {
                let doc: serde_json::Value = serde_json::from_str(&s.message).ok()?;
                let card: serde_json::Value = serde_json::from_str(doc["https"].as_str()?).ok()?;
                Some(card["metadata"]["threadId"].as_str()?.to_string())
            })
            .collect()
    }

    /// The `event` of each machine message sent, in order.
    pub fn events(&self) -> Vec<String> {
        self.machine_messages()
            .iter()
            .map(|m| m["event"].as_str().unwrap_or_default().to_string())
            .collect()
    }
}

impl Publisher for FakeSns {
    async fn publish_json(&self, subject: &str, message: String) -> Result<(), AwsError> {
        if self.fail.load(Ordering::SeqCst) {
            return Err(AwsError {
                operation: "sns:Publish",
                message: "InternalError: try again".into(),
            });
        }
        lock(&self.sent).push(Sent {
            subject: subject.into(),
            message,
        });
        Ok(())
    }
}

impl Notifier for FakeSns {
    async fn publish(&self, alert: &Alert, cluster: &str) -> Result<(), AwsError> {
        self.publish_json(
            &alert.subject,
            crate::aws::sns::message_json(alert, cluster),
        )
        .await
    }
}

/// CloudWatch Logs: events and streams per log group. FilterLogEvents answers the events of
/// the window, `page_size` a page (every `empty_every`-th page empty, as CloudWatch's pages
/// may be); every `fail_every`-th call of either API answers `failure`. A group without
/// events does not exist; `streams_denied` refuses DescribeLogStreams.
#[derive(Default)]
pub struct FakeLogs {
    pub groups: Mutex<BTreeMap<String, Vec<OwnedEvent>>>,
    pub streams: Mutex<BTreeMap<String, Vec<StreamInfo>>>,
    pub page_size: usize,
    pub empty_every: u32,
    pub fail_every: u32,
    pub failure: Option<LogsError>,
    pub streams_denied: bool,
    pub filter_calls: AtomicU32,
    pub stream_calls: AtomicU32,
}

impl FakeLogs {
    /// `messages` of one stream of `group`, as (timestamp ms, text).
    pub fn put_stream(&self, group: &str, stream: &str, events: &[(i64, &str)]) {
        lock(&self.groups)
            .entry(group.into())
            .or_default()
            .extend(events.iter().map(|(t, m)| OwnedEvent {
                timestamp: *t,
                stream: stream.into(),
                message: m.to_string(),
            }));
    }

    /// `messages` of `group` as (timestamp ms, text), stream `s`.
    pub fn put(&self, group: &str, events: &[(i64, &str)]) {
        lock(&self.groups)
            .entry(group.into())
            .or_default()
            .extend(events.iter().map(|(t, m)| OwnedEvent {
                timestamp: *t,
                stream: "s".into(),
                message: m.to_string(),
            }));
    }

    fn fails(&self, call: u32) -> Result<(), LogsError> {
        match &self.failure {
            Some(f) if self.fail_every > 0 && call.is_multiple_of(self.fail_every) => {
                Err(f.clone())
            }
            _ => Ok(()),
        }
    }
}

impl LogEvents for FakeLogs {
    async fn filter_page(
        &self,
        group: &str,
        start_ms: i64,
        end_ms: i64,
        _pattern: Option<&str>,
        token: Option<String>,
    ) -> Result<LogPage, LogsError> {
        let call = self.filter_calls.fetch_add(1, Ordering::SeqCst) + 1;
        self.fails(call)?;
        let groups = lock(&self.groups);
        let events: Vec<&OwnedEvent> = groups
            .get(group)
            .ok_or_else(|| LogsError::MissingGroup(group.into()))?
            .iter()
            .filter(|e| (start_ms..=end_ms).contains(&e.timestamp))
            .collect();
        // Token "offset/page".
        let (offset, page) = token
            .as_deref()
            .and_then(|t| t.split_once('/'))
            .and_then(|(o, p)| Some((o.parse::<usize>().ok()?, p.parse::<u32>().ok()?)))
            .unwrap_or((0, 0));
        let size = if self.page_size == 0 {
            events.len().max(1)
        } else {
            self.page_size
        };
        let empty = self.empty_every > 0 && page % self.empty_every == self.empty_every - 1;
        let end = if empty {
            offset
        } else {
            (offset + size).min(events.len())
        };
        Ok(LogPage {
            events: events[offset..end].iter().map(|e| (*e).clone()).collect(),
            next_token: (end < events.len() || (empty && offset < events.len()))
                .then(|| format!("{end}/{}", page + 1)),
        })
    }

    async fn streams_page(
        &self,
        group: &str,
        token: Option<String>,
    ) -> Result<StreamPage, LogsError> {
        let call = self.stream_calls.fetch_add(1, Ordering::SeqCst) + 1;
        self.fails(call)?;
        if self.streams_denied {
            return Err(LogsError::Denied(
                "AccessDeniedException: logs:DescribeLogStreams".into(),
            ));
        }
        let streams = lock(&self.streams);
        let all = streams.get(group).cloned().unwrap_or_default();
        let offset: usize = token.and_then(|t| t.parse().ok()).unwrap_or(0);
        let end = (offset + 50).min(all.len());
        Ok(StreamPage {
            streams: all[offset.min(end)..end].to_vec(),
            next_token: (end < all.len()).then(|| end.to_string()),
        })
    }

    async fn last_events(
        &self,
        group: &str,
        stream: &str,
        limit: i32,
    ) -> Result<Vec<(i64, String)>, LogsError> {
        let groups = lock(&self.groups);
        let mut events: Vec<(i64, String)> = groups
            .get(group)
            .ok_or_else(|| LogsError::MissingGroup(group.into()))?
            .iter()
            .filter(|e| e.stream == stream)
            .map(|e| (e.timestamp, e.message.clone()))
            .collect();
        events.sort_by_key(|(t, _)| *t);
        let keep = usize::try_from(limit).unwrap_or(0);
        Ok(events.split_off(events.len().saturating_sub(keep)))
    }
}

/// Diagnose's reports and claims, with S3's conditional-write contract. `fail_writes` names
/// records whose next write fails; `fail_reports` fails report writes while set.
#[derive(Default)]
pub struct MemRecords {
    pub data: Mutex<BTreeMap<String, (Vec<u8>, u64)>>,
    pub fail_writes: Mutex<Vec<String>>,
    pub reports: Mutex<Vec<(String, Vec<u8>)>>,
    pub fail_reports: AtomicBool,
    /// What [`OpenIncident::open_incident`] answers: an incident id, or an error text.
    pub incident: Mutex<Option<Result<String, String>>>,
    /// Recorded task stops (service, stop).
    pub stops: Mutex<Vec<(String, StoppedTaskInfo)>>,
    /// Recording and reading stops answers this error.
    pub fail_stops: AtomicBool,
    /// The silences beside the health state.
    pub silences: Mutex<crate::silence::SilenceFile>,
}

impl Silences for MemRecords {
    async fn load_silences(
        &self,
    ) -> Result<(crate::silence::SilenceFile, Option<String>), StoreError> {
        Ok((lock(&self.silences).clone(), None))
    }
}

impl StopLog for MemRecords {
    async fn record_stop(
        &self,
        service: &str,
        task: &StoppedTaskInfo,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        if self.fail_stops.load(Ordering::SeqCst) {
            return Err(StoreError::Failed(
                "s3:PutObject failed: InternalError".into(),
            ));
        }
        let mut task = task.clone();
        task.stopped_at = task.stopped_at.or(Some(now_ms));
        let mut stops = lock(&self.stops);
        // The same stop again (a redelivery) replaces its record.
        stops.retain(|(s, t)| !(s == service && t.task_arn == task.task_arn));
        stops.push((service.to_string(), task));
        Ok(())
    }

    async fn recorded_stops(
        &self,
        service: &str,
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<StoppedTaskInfo>, StoreError> {
        if self.fail_stops.load(Ordering::SeqCst) {
            return Err(StoreError::Failed(
                "s3:ListObjectsV2 failed: AccessDenied".into(),
            ));
        }
        Ok(lock(&self.stops)
            .iter()
            .filter(|(s, t)| {
                s == service
                    && t.stopped_at
                        .is_some_and(|ms| (start_ms..=end_ms).contains(&ms))
            })
            .map(|(_, t)| StoppedTaskInfo {
                source: StopSource::Recorded,
                ..t.clone()
            })
            .collect())
    }
}

impl MemRecords {
    /// The record `name`, parsed.
    pub fn get<T: serde::de::DeserializeOwned>(&self, name: &str) -> Option<T> {
        lock(&self.data)
            .get(name)
            .and_then(|(b, _)| serde_json::from_slice(b).ok())
    }
}

impl Records for MemRecords {
    async fn get_record(&self, name: &str) -> Result<Option<(Vec<u8>, String)>, StoreError> {
        Ok(lock(&self.data)
            .get(name)
            .map(|(b, v)| (b.clone(), v.to_string())))
    }

    async fn put_record(
        &self,
        name: &str,
        body: Vec<u8>,
        expected: Option<&str>,
    ) -> Result<String, StoreError> {
        {
            let mut fail = lock(&self.fail_writes);
            if let Some(i) = fail.iter().position(|n| n == name) {
                fail.remove(i);
                return Err(StoreError::Failed(format!("{name}: InternalError")));
            }
        }
        let mut data = lock(&self.data);
        let current = data.get(name).map(|(_, v)| v.to_string());
        if current.as_deref() != expected {
            return Err(StoreError::Conflict);
        }
        let next = data.get(name).map_or(1, |(_, v)| v + 1);
        data.insert(name.to_string(), (body, next));
        Ok(next.to_string())
    }
}

impl OpenIncident for MemRecords {
    async fn open_incident(&self) -> Result<Option<String>, StoreError> {
        lock(&self.incident)
            .clone()
            .transpose()
            .map_err(StoreError::Failed)
    }
}

impl ReportWriter for MemRecords {
    async fn put_report(&self, name: &str, body: Vec<u8>) -> Result<String, StoreError> {
        if self.fail_reports.load(Ordering::SeqCst) {
            return Err(StoreError::Failed(format!(
                "s3:PutObject s3://memory/{name} failed: InternalError"
            )));
        }
        lock(&self.reports).push((name.to_string(), body));
        Ok(format!("s3://memory/{name}"))
    }
}

/// A sample event of the repository's `events/` folder, as the Lambdas receive it.
pub fn sample_event(name: &str) -> serde_json::Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../events")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The sample events of every diagnose trigger (all of `events/` but the schedule and the
/// failed-event record), each naming service api.
pub const DIAGNOSE_SAMPLES: &[&str] = &[
    "diagnose-all.json",
    "diagnose-api.json",
    "diagnose-api-30-minutes.json",
    "sns-health-alert.json",
    "ecs-task-stopped-oom.json",
    "ecs-task-stopped-exit-1.json",
    "ecs-task-stopped-elb-health-checks.json",
    "ecs-deployment-failed.json",
    "ecs-service-action-warn.json",
];

/// The sample events (events/) that need a deployment notice, not a diagnosis: a deployment
/// starts, and (after `ecs-deployment-failed.json`) its circuit breaker rolls back and the
/// rollback completes.
pub const NOTICE_SAMPLES: &[&str] = &[
    "ecs-deployment-in-progress.json",
    "ecs-deployment-rolling-back.json",
    "ecs-deployment-completed.json",
];

/// A report of cluster prod at `at` over 60 minutes, triggered by SNS with `detail`.
pub fn report(
    at: time::OffsetDateTime,
    detail: &str,
    services: Vec<crate::diagnose::report::ServiceReport>,
) -> crate::diagnose::report::Report {
    use crate::diagnose::report::{Counts, Report, SCHEMA_VERSION, Trigger, Window};
    Report {
        schema_version: SCHEMA_VERSION,
        cluster: "prod".into(),
        region: "us-east-1".into(),
        generated_at: at,
        window: Window {
            start: at,
            end: at,
            minutes: 60,
        },
        trigger: Trigger {
            kind: "sns".into(),
            detail: detail.into(),
            incident_id: None,
            thread: None,
        },
        services,
        totals: Counts::default(),
        probable_causes: Vec::new(),
        label: None,
        account: None,
    }
}
