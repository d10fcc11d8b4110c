//! What started a diagnosis, from the event the Lambda received: the health-check's alert
//! through SNS, an ECS event through EventBridge, or a direct invoke
//! (`{"services": ["api"], "minutes": 30}`, every field optional).

use super::deployment::{DeploymentEvent, Phase};
use super::report::Trigger;
use super::stops;
use crate::notify::Message;
use crate::ports::{ContainerExit, StopSource, StoppedTaskInfo};
use aws_lambda_events::eventbridge::EventBridgeEvent;
use aws_lambda_events::sns::SnsEvent;
use serde::Deserialize;
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// What to do with an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invocation {
    Diagnose {
        /// `None`: every configured service.
        services: Option<Vec<String>>,
        minutes: Option<u32>,
        trigger: Trigger,
        /// ECS events are delivered at least once: the same key is diagnosed once.
        dedupe_key: Option<String>,
        /// A failed deployment: its notice goes out before the diagnosis.
        notice: Option<Box<DeploymentEvent>>,
        /// A task stopped: recorded (past ECS's hour) before the diagnosis.
        stop: Option<Box<TaskStop>>,
    },
    /// A task stopped normally: recorded, not diagnosed.
    RecordStop { stop: Box<TaskStop>, reason: String },
    /// A deployment started, is rolling back, or completed: a notice, not a diagnosis.
    Deployment(DeploymentEvent),
    /// A well-formed event that needs no diagnosis (a task stopped by a deployment).
    Ignore(String),
}

/// A task of a service that stopped, as its ECS event told it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskStop {
    pub service: String,
    pub task: StoppedTaskInfo,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TriggerError(pub String);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Manual {
    services: Option<Vec<String>>,
    minutes: Option<u32>,
    /// Fleet mode: which cluster (`cluster`, `region/cluster`, `account/region/cluster`).
    #[serde(default)]
    cluster: Option<String>,
}

/// Where the cluster an event is about is: what a fleet deployment routes it by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// `None`: the deployment's own account.
    pub account: Option<String>,
    /// `None`: the deployment's region.
    pub region: Option<String>,
    pub cluster: String,
}

/// The cluster named by `arn:aws:ecs:<region>:<account>:cluster/<name>`, or by a service ARN
/// in the long format, `...:service/<cluster>/<service>` (the short one names no cluster).
fn origin_of_arn(arn: &str) -> Option<Origin> {
    let mut parts = arn.splitn(6, ':');
    let (_, _, service, region, account, resource) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    if service != "ecs" {
        return None;
    }
    let cluster = match resource.split('/').collect::<Vec<_>>()[..] {
        ["cluster", c] | ["service", c, _] | ["task", c, _] => c,
        _ => return None,
    };
    Some(Origin {
        account: Some(account.to_string()).filter(|a| !a.is_empty()),
        region: Some(region.to_string()).filter(|r| !r.is_empty()),
        cluster: cluster.to_string(),
    })
}

/// The cluster `event` is about, where it says: an ECS event's cluster ARN (or its service's),
/// a health alert's machine message, a direct invoke's `cluster`; `None` when it names none
/// (someone else's message on the topic, an invoke without `cluster`). An invocation record
/// is read for the event inside it.
pub fn origin(v: &Value) -> Option<Origin> {
    match v {
        Value::Object(m) if m.contains_key("Records") => {
            let event: SnsEvent = serde_json::from_value(v.clone()).ok()?;
            event.records.iter().find_map(|r| {
                let m = Message::parse(&r.sns.message)?;
                (!m.cluster.is_empty()).then_some(Origin {
                    account: m.account,
                    region: m.region,
                    cluster: m.cluster,
                })
            })
        }
        Value::Object(m) if m.contains_key("detail-type") => {
            let arn = v["detail"]["clusterArn"].as_str().map(str::to_string);
            let from_resources = || {
                v["resources"]
                    .as_array()?
                    .iter()
                    .find_map(|a| origin_of_arn(a.as_str()?))
            };
            let mut o = arn
                .as_deref()
                .and_then(origin_of_arn)
                .or_else(from_resources)?;
            // The ARN says where the cluster is; the event's own account and region (which
            // EventBridge keeps when it sends an event to another bus) are the same.
            if o.account.is_none() {
                o.account = v["account"].as_str().map(str::to_string);
            }
            if o.region.is_none() {
                o.region = v["region"].as_str().map(str::to_string);
            }
            Some(o)
        }
        Value::Object(m) if m.contains_key("requestPayload") => origin(&m["requestPayload"]),
        Value::Object(m) => cluster_ref(m.get("cluster")?.as_str()?),
        _ => None,
    }
}

/// `cluster`, `region/cluster` or `account/region/cluster`, each part non-empty.
fn cluster_ref(named: &str) -> Option<Origin> {
    let parts: Vec<&str> = named.split('/').map(str::trim).collect();
    if parts.iter().any(|p| p.is_empty()) {
        return None;
    }
    let (account, region, cluster) = match parts[..] {
        [c] => (None, None, c),
        [r, c] => (None, Some(r), c),
        [a, r, c] => (Some(a), Some(r), c),
        _ => return None,
    };
    Some(Origin {
        account: account.map(str::to_string),
        region: region.map(str::to_string),
        cluster: cluster.to_string(),
    })
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct TaskDetail {
    task_arn: String,
    group: String,
    started_by: Option<String>,
    task_definition_arn: Option<String>,
    stopped_at: Option<String>,
    last_status: String,
    stop_code: Option<String>,
    stopped_reason: Option<String>,
    containers: Vec<ContainerDetail>,
    version: Option<u64>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct ContainerDetail {
    name: String,
    exit_code: Option<i32>,
    reason: Option<String>,
}

fn service_of_arn(arn: &str) -> Option<String> {
    arn.split_once(":service/")
        .map(|(_, rest)| rest.rsplit('/').next().unwrap_or(rest).to_string())
}

fn manual(v: &Value) -> Result<Invocation, TriggerError> {
    let m: Manual = serde_json::from_value(v.clone()).map_err(|e| {
        TriggerError(format!(
            "unsupported event: expected an SNS alert, an ECS event from EventBridge, or {{\"services\": [...], \"minutes\": N}} ({e})"
        ))
    })?;
    if let Some(n) = m.minutes
        && !(1..=10_080).contains(&n)
    {
        return Err(TriggerError(format!(
            "minutes must be between 1 and 10080, got {n}"
        )));
    }
    if let Some(s) = &m.services
        && s.iter().any(|n| n.trim().is_empty())
    {
        return Err(TriggerError("services must be non-empty names".into()));
    }
    if let Some(c) = &m.cluster
        && cluster_ref(c).is_none()
    {
        return Err(TriggerError(format!(
            "cluster {c:?} is not cluster, region/cluster or account/region/cluster"
        )));
    }
    let detail = match &m.services {
        Some(s) => format!("services {}", s.join(", ")),
        None => "all services".into(),
    };
    Ok(Invocation::Diagnose {
        services: m.services.filter(|s| !(s.is_empty() || s == &["all"])),
        minutes: m.minutes,
        trigger: Trigger {
            kind: "manual".into(),
            detail,
            incident_id: None,
            thread: None,
        },
        dedupe_key: None,
        notice: None,
        stop: None,
    })
}

/// The name of the alarm whose CloudWatch notification `message` is (the template's optional
/// alarms notify the alert topic too), as CloudWatch sends it: a JSON object with
/// `AlarmName` and `NewStateValue` ("Using Amazon SNS topics for alarm actions", CloudWatch
/// user guide).
fn cloudwatch_alarm(message: &str) -> Option<String> {
    let v: Value = serde_json::from_str(message).ok()?;
    v.get("NewStateValue")?.as_str()?;
    Some(v.get("AlarmName")?.as_str()?.to_string())
}

fn sns(v: &Value) -> Result<Invocation, TriggerError> {
    let event: SnsEvent = serde_json::from_value(v.clone())
        .map_err(|e| TriggerError(format!("not a valid SNS event: {e}")))?;
    if event.records.is_empty() {
        return Err(TriggerError("SNS event without records".into()));
    }
    let mut services: Vec<String> = Vec::new();
    let mut all = false;
    let mut detail = Vec::new();
    let mut ignored = Vec::new();
    let mut ids = Vec::new();
    // The first alert's incident: its thread is the one the summary joins.
    let mut incident_id: Option<String> = None;
    for r in &event.records {
        // SNS delivers no message attributes for a MessageStructure=json publish (SNS
        // developer guide): what to do is decided from the machine message itself.
        if let Some(alarm) = cloudwatch_alarm(&r.sns.message) {
            ignored.push(format!(
                "CloudWatch alarm {alarm}: the health check's own alert starts the diagnosis"
            ));
            continue;
        }
        match Message::parse(&r.sns.message) {
            Some(m) if !m.event.starts_diagnosis() => {
                ignored.push(format!("{} needs no diagnosis", m.event.as_str()));
                continue;
            }
            Some(m) => {
                detail.push(format!(
                    "{} {}",
                    m.event.as_str(),
                    m.incident_id.as_deref().unwrap_or_default()
                ));
                if incident_id.is_none() {
                    incident_id = m.incident_id.clone().filter(|i| !i.is_empty());
                }
                let named = m.service_names();
                if named.is_empty() {
                    all = true;
                }
                for s in named {
                    if !services.contains(&s) {
                        services.push(s);
                    }
                }
            }
            // Not our machine message (someone else's text on the topic): every service.
            None => {
                all = true;
                detail.push(
                    r.sns
                        .subject
                        .clone()
                        .unwrap_or_else(|| "SNS message".into()),
                );
            }
        }
        // SNS keeps the MessageId across its retries: a redelivery is the same key.
        ids.push(r.sns.message_id.clone());
    }
    if detail.is_empty() {
        return Ok(Invocation::Ignore(ignored.join("; ")));
    }
    Ok(Invocation::Diagnose {
        services: if all { None } else { Some(services) },
        minutes: None,
        trigger: Trigger {
            kind: "sns".into(),
            detail: detail.join("; "),
            incident_id,
            thread: None,
        },
        dedupe_key: Some(format!("sns/{}", ids.join("+"))),
        notice: None,
        stop: None,
    })
}

/// The record Lambda sends to the failed-event queue (the on-failure destination) after the
/// retries of an asynchronous invocation ("Capturing records of Lambda asynchronous
/// invocations", Lambda developer guide): invoking the function with it replays the event.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InvocationRecord {
    request_context: RecordContext,
    request_payload: Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RecordContext {
    #[serde(default)]
    condition: String,
    #[serde(default)]
    approximate_invoke_count: u32,
}

fn replay(v: &Value) -> Result<Invocation, TriggerError> {
    let record: InvocationRecord = serde_json::from_value(v.clone())
        .map_err(|e| TriggerError(format!("not a valid Lambda invocation record: {e}")))?;
    if record.request_payload.get("requestPayload").is_some() {
        return Err(TriggerError(
            "an invocation record inside an invocation record: replay the inner event".into(),
        ));
    }
    let mut inv = parse(&record.request_payload)?;
    if let Invocation::Diagnose { trigger, .. } = &mut inv {
        trigger.detail.push_str(&format!(
            " (replayed: {} after {} attempts)",
            record.request_context.condition, record.request_context.approximate_invoke_count
        ));
    }
    Ok(inv)
}

fn ecs(v: &Value) -> Result<Invocation, TriggerError> {
    let event: EventBridgeEvent<Value> = serde_json::from_value(v.clone())
        .map_err(|e| TriggerError(format!("not a valid EventBridge event: {e}")))?;
    let service_from_resources = || {
        event
            .resources
            .as_ref()
            .and_then(|r| r.iter().find_map(|a| service_of_arn(a)))
    };
    let on = |service: String, detail: String, key: Option<String>| Invocation::Diagnose {
        services: Some(vec![service]),
        minutes: None,
        trigger: Trigger {
            kind: "ecs_event".into(),
            detail,
            incident_id: None,
            thread: None,
        },
        dedupe_key: key,
        notice: None,
        stop: None,
    };
    match event.detail_type.as_str() {
        "ECS Task State Change" => {
            let d: TaskDetail = serde_json::from_value(event.detail.clone()).map_err(|e| {
                TriggerError(format!(
                    "ECS Task State Change with an unreadable detail: {e}"
                ))
            })?;
            let Some(service) = d.group.strip_prefix("service:").map(str::to_string) else {
                return Ok(Invocation::Ignore(format!(
                    "task {} is not part of a service",
                    d.task_arn
                )));
            };
            if d.last_status != "STOPPED" {
                return Ok(Invocation::Ignore(format!(
                    "task is {}, not stopped",
                    d.last_status
                )));
            }
            let reason = d.stopped_reason.clone().unwrap_or_default();
            let info = StoppedTaskInfo {
                task_arn: d.task_arn.clone(),
                stopped_at: d
                    .stopped_at
                    .as_deref()
                    .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok())
                    .or(event
                        .time
                        .and_then(|t| OffsetDateTime::from_unix_timestamp(t.timestamp()).ok()))
                    .map(crate::timefmt::to_millis),
                started_by: d.started_by.clone(),
                task_definition: d.task_definition_arn.clone(),
                stop_code: d.stop_code.clone(),
                stopped_reason: d.stopped_reason.clone(),
                containers: d
                    .containers
                    .iter()
                    .map(|c| ContainerExit {
                        name: c.name.clone(),
                        exit_code: c.exit_code,
                        reason: c.reason.clone(),
                    })
                    .collect(),
                source: StopSource::Ecs,
            };
            let kind = stops::classify(&info);
            let stop = Box::new(TaskStop {
                service: service.clone(),
                task: info.clone(),
            });
            if !kind.is_failure() {
                return Ok(Invocation::RecordStop {
                    stop,
                    reason: format!(
                        "task stopped normally ({}): {reason}",
                        d.stop_code.as_deref().unwrap_or("no stop code")
                    ),
                });
            }
            let exit = stops::classify_exit(&info).filter(|e| *e != 0);
            let task = d
                .task_arn
                .rsplit('/')
                .next()
                .unwrap_or(&d.task_arn)
                .to_string();
            let detail = format!(
                "task {task} of {service} stopped: {reason}{}",
                exit.map(|e| format!(" (exit {e})")).unwrap_or_default()
            );
            let key = format!("task/{task}/{}", d.version.unwrap_or_default());
            let mut diagnose = on(service, detail, Some(key));
            if let Invocation::Diagnose { stop: s, .. } = &mut diagnose {
                *s = Some(stop);
            }
            Ok(diagnose)
        }
        "ECS Deployment State Change" => {
            let name = event.detail["eventName"].as_str().unwrap_or_default();
            if !matches!(
                name,
                "SERVICE_DEPLOYMENT_FAILED"
                    | "SERVICE_DEPLOYMENT_IN_PROGRESS"
                    | "SERVICE_DEPLOYMENT_COMPLETED"
            ) {
                return Ok(Invocation::Ignore(format!("deployment event {name}")));
            }
            let service = service_from_resources().ok_or_else(|| {
                TriggerError("deployment event without a service ARN in resources".into())
            })?;
            let reason = event.detail["reason"].as_str().unwrap_or_default();
            let id = event.detail["deploymentId"]
                .as_str()
                .or(event.id.as_deref())
                .unwrap_or("unknown");
            let phase = match name {
                "SERVICE_DEPLOYMENT_COMPLETED" => Phase::Completed,
                "SERVICE_DEPLOYMENT_FAILED" => Phase::Failed,
                _ => DeploymentEvent::in_progress_phase(reason),
            };
            let at = event.detail["updatedAt"]
                .as_str()
                .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok())
                .or(event
                    .time
                    .and_then(|t| OffsetDateTime::from_unix_timestamp(t.timestamp()).ok()));
            let notice = DeploymentEvent {
                service: service.clone(),
                deployment_id: id.to_string(),
                phase,
                reason: reason.to_string(),
                at,
            };
            if notice.phase != Phase::Failed {
                return Ok(Invocation::Deployment(notice));
            }
            let reason = if reason.is_empty() {
                "no reason given"
            } else {
                reason
            };
            let mut diagnose = on(
                service.clone(),
                format!("deployment of {service} failed: {reason}"),
                Some(format!("deployment/{id}")),
            );
            if let Invocation::Diagnose { notice: n, .. } = &mut diagnose {
                *n = Some(Box::new(notice));
            }
            Ok(diagnose)
        }
        "ECS Service Action" => {
            let kind = event.detail["eventType"].as_str().unwrap_or_default();
            let name = event.detail["eventName"].as_str().unwrap_or_default();
            if !matches!(kind, "WARN" | "ERROR") {
                return Ok(Invocation::Ignore(format!("service action {kind} {name}")));
            }
            let service = service_from_resources().ok_or_else(|| {
                TriggerError("service action without a service ARN in resources".into())
            })?;
            Ok(on(
                service.clone(),
                format!("{kind} {name} on {service}"),
                Some(format!(
                    "action/{}",
                    event.id.as_deref().unwrap_or("unknown")
                )),
            ))
        }
        other => Err(TriggerError(format!(
            "unsupported EventBridge event {other:?} from {}",
            event.source
        ))),
    }
}

/// Reads the event a diagnose invocation received.
pub fn parse(v: &Value) -> Result<Invocation, TriggerError> {
    match v {
        Value::Object(m) if m.contains_key("Records") => sns(v),
        Value::Object(m) if m.contains_key("detail-type") => ecs(v),
        Value::Object(m) if m.contains_key("requestPayload") => replay(v),
        Value::Object(_) => manual(v),
        _ => Err(TriggerError(
            "unsupported event: expected a JSON object".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn bridge(detail_type: &str, detail: Value, resources: &[&str]) -> Value {
        json!({"version": "0", "id": "9bcdac79-b31f-4d3d-9410-fbd727c29fab", "detail-type": detail_type, "source": "aws.ecs",
               "account": "123456789012", "time": "2026-11-29T14:35:27Z", "region": "us-east-1", "resources": resources, "detail": detail})
    }

    fn task_stopped(code: &str, reason: &str, exit: i32) -> Value {
        bridge(
            "ECS Task State Change",
            json!({
                "clusterArn": "arn:aws:ecs:us-east-1:123456789012:cluster/prod",
                "taskArn": "arn:aws:ecs:us-east-1:123456789012:task/prod/0f1e2d3c", "group": "service:api",
                "lastStatus": "STOPPED", "desiredStatus": "STOPPED", "stopCode": code, "stoppedReason": reason,
                "containers": [{"name": "app", "exitCode": exit, "lastStatus": "STOPPED"}], "version": 4
            }),
            &["arn:aws:ecs:us-east-1:123456789012:task/prod/0f1e2d3c"],
        )
    }

    #[test]
    fn the_cluster_an_event_is_about() {
        let o = |a: Option<&str>, r: Option<&str>, c: &str| {
            Some(Origin {
                account: a.map(str::to_string),
                region: r.map(str::to_string),
                cluster: c.to_string(),
            })
        };
        let mut stopped = task_stopped("EssentialContainerExited", "Essential container exited", 1);
        stopped["account"] = json!("111111111111");
        stopped["region"] = json!("eu-west-1");
        stopped["detail"]["clusterArn"] =
            json!("arn:aws:ecs:eu-west-1:111111111111:cluster/payments");
        let deploy = bridge(
            "ECS Deployment State Change",
            json!({"eventName": "SERVICE_DEPLOYMENT_FAILED"}),
            &["arn:aws:ecs:us-west-2:222222222222:service/orders/api"],
        );
        let short = bridge(
            "ECS Deployment State Change",
            json!({"eventName": "SERVICE_DEPLOYMENT_FAILED"}),
            &["arn:aws:ecs:us-west-2:222222222222:service/api"],
        );
        let cases: Vec<(Value, Option<Origin>)> = vec![
            (
                stopped.clone(),
                o(Some("111111111111"), Some("eu-west-1"), "payments"),
            ),
            (deploy, o(Some("222222222222"), Some("us-west-2"), "orders")),
            // The short service ARN names no cluster.
            (short, None),
            (
                json!({"requestPayload": stopped}),
                o(Some("111111111111"), Some("eu-west-1"), "payments"),
            ),
            (json!({"services": ["api"]}), None),
            (json!({"cluster": "prod"}), o(None, None, "prod")),
            (
                json!({"cluster": "eu-west-1/prod"}),
                o(None, Some("eu-west-1"), "prod"),
            ),
            (
                json!({"cluster": "111111111111/eu-west-1/prod"}),
                o(Some("111111111111"), Some("eu-west-1"), "prod"),
            ),
            (json!({"cluster": "a/b/c/d"}), None),
            (json!({"cluster": "eu-west-1/"}), None),
            (json!([1]), None),
        ];
        for (event, want) in cases {
            assert_eq!(origin(&event), want, "{event}");
        }
        assert!(
            parse(&json!({"cluster": "a//b"}))
                .unwrap_err()
                .0
                .contains("is not cluster")
        );
        assert!(parse(&json!({"cluster": "eu-west-1/prod", "services": ["api"]})).is_ok());
        // A health alert says where its cluster is.
        let mut m = Message::new(crate::notify::Event::HealthUnhealthy, "prod", "unhealthy");
        m.region = Some("eu-west-1".into());
        m.account = Some("111111111111".into());
        let sns = json!({"Records": [{"EventSource": "aws:sns", "EventVersion": "1.0", "EventSubscriptionArn": "arn:aws:sns:us-east-1:1:t:s",
            "Sns": {"Type": "Notification", "MessageId": "m", "TopicArn": "arn:aws:sns:us-east-1:1:t", "Subject": "s",
            "Message": serde_json::to_string(&m).unwrap(), "Timestamp": "2026-11-29T14:35:00.000Z", "SignatureVersion": "1",
            "Signature": "x", "SigningCertUrl": "https://x", "UnsubscribeUrl": "https://x", "MessageAttributes": {}}}]});
        assert_eq!(
            origin(&sns),
            o(Some("111111111111"), Some("eu-west-1"), "prod")
        );
    }

    #[test]
    fn manual_invokes() {
        let Invocation::Diagnose {
            services,
            minutes,
            trigger,
            ..
        } = parse(&json!({})).unwrap()
        else {
            panic!()
        };
        assert_eq!(
            (services, minutes, trigger.kind.as_str()),
            (None, None, "manual")
        );
        let Invocation::Diagnose {
            services, minutes, ..
        } = parse(&json!({"services": ["api"], "minutes": 30})).unwrap()
        else {
            panic!()
        };
        assert_eq!(
            (services, minutes),
            (Some(vec!["api".to_string()]), Some(30))
        );
        assert!(
            parse(&json!({"minutes": 0}))
                .unwrap_err()
                .0
                .contains("between 1 and 10080")
        );
        assert!(
            parse(&json!({"servics": ["api"]}))
                .unwrap_err()
                .0
                .contains("unsupported event")
        );
        assert!(parse(&json!("diagnose")).is_err());
        assert!(parse(&json!({"services": "api"})).is_err());
    }

    #[test]
    fn ecs_task_stops() {
        let oom = parse(&task_stopped(
            "EssentialContainerExited",
            "OutOfMemoryError: Container killed due to memory usage",
            137,
        ))
        .unwrap();
        let Invocation::Diagnose {
            services,
            trigger,
            dedupe_key,
            stop: Some(stop),
            ..
        } = oom
        else {
            panic!()
        };
        assert_eq!(services, Some(vec!["api".to_string()]));
        assert_eq!(trigger.kind, "ecs_event");
        assert!(
            trigger.detail.contains("OutOfMemoryError") && trigger.detail.contains("(exit 137)")
        );
        assert_eq!(dedupe_key.as_deref(), Some("task/0f1e2d3c/4"));
        // The stop is recorded too: without its own stoppedAt, at the event's time.
        assert_eq!(stop.service, "api");
        assert_eq!(
            stop.task.stopped_at,
            Some(crate::timefmt::to_millis(
                time::macros::datetime!(2026-11-29 14:35:27 UTC)
            ))
        );
        let mut with_time = task_stopped(
            "EssentialContainerExited",
            "Essential container in task exited",
            1,
        );
        with_time["detail"]["stoppedAt"] = json!("2026-11-29T14:30:01.5Z");
        with_time["detail"]["startedBy"] = json!("ecs-svc/77");
        let Invocation::Diagnose {
            stop: Some(stop), ..
        } = parse(&with_time).unwrap()
        else {
            panic!()
        };
        assert_eq!(
            stop.task.stopped_at,
            Some(crate::timefmt::to_millis(
                time::macros::datetime!(2026-11-29 14:30:01.5 UTC)
            ))
        );
        assert_eq!(stop.task.started_by.as_deref(), Some("ecs-svc/77"));
        assert!(matches!(
            parse(&task_stopped(
                "EssentialContainerExited",
                "Essential container in task exited",
                1
            ))
            .unwrap(),
            Invocation::Diagnose { .. }
        ));
        assert!(matches!(
            parse(&task_stopped(
                "ServiceSchedulerInitiated",
                "Task failed ELB health checks in (target-group x)",
                0
            ))
            .unwrap(),
            Invocation::Diagnose { .. }
        ));
        assert!(matches!(
            parse(&task_stopped(
                "TaskFailedToStart",
                "CannotPullContainerError: not found",
                0
            ))
            .unwrap(),
            Invocation::Diagnose { .. }
        ));
        // A deployment or scale-in stops with SIGTERM, then SIGKILL: 143 and 137 are normal.
        for (code, reason, exit) in [
            (
                "ServiceSchedulerInitiated",
                "Scaling activity initiated by (deployment ecs-svc/1)",
                0,
            ),
            (
                "ServiceSchedulerInitiated",
                "Scaling activity initiated by (deployment ecs-svc/1)",
                143,
            ),
            (
                "ServiceSchedulerInitiated",
                "Scaling activity initiated by (deployment ecs-svc/1)",
                137,
            ),
            ("UserInitiated", "Task stopped by user", 137),
        ] {
            // Not diagnosed, but recorded: a later, longer window counts it as a normal stop.
            let Invocation::RecordStop { stop, reason: why } =
                parse(&task_stopped(code, reason, exit)).unwrap()
            else {
                panic!("{code} {exit}")
            };
            assert_eq!(stop.service, "api");
            assert_eq!(stop.task.stop_code.as_deref(), Some(code));
            assert!(why.starts_with("task stopped normally"), "{why}");
        }
        // Exit 137 without an OutOfMemory reason is a kill, diagnosed but not called OOM.
        let Invocation::Diagnose { trigger, .. } = parse(&task_stopped(
            "EssentialContainerExited",
            "Essential container in task exited",
            137,
        ))
        .unwrap() else {
            panic!()
        };
        assert!(trigger.detail.contains("(exit 137)"), "{}", trigger.detail);
    }

    /// The record Lambda puts in the failed-event queue replays the event it carries.
    #[test]
    fn a_failed_event_record_replays_its_event() {
        let inner = task_stopped(
            "EssentialContainerExited",
            "Essential container in task exited",
            1,
        );
        let record = json!({"version": "1.0", "timestamp": "2026-11-29T14:40:00.000Z",
            "requestContext": {"requestId": "r1", "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:diagnose:$LATEST",
                               "condition": "RetriesExhausted", "approximateInvokeCount": 3},
            "requestPayload": inner,
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "responsePayload": {"errorMessage": "timed out"}});
        let Invocation::Diagnose {
            services,
            trigger,
            dedupe_key,
            ..
        } = parse(&record).unwrap()
        else {
            panic!()
        };
        assert_eq!(services, Some(vec!["api".to_string()]));
        assert_eq!(
            dedupe_key.as_deref(),
            Some("task/0f1e2d3c/4"),
            "the original's key"
        );
        assert!(
            trigger
                .detail
                .ends_with("(replayed: RetriesExhausted after 3 attempts)"),
            "{}",
            trigger.detail
        );
        let nested = json!({"requestContext": {}, "requestPayload": record});
        assert!(
            parse(&nested)
                .unwrap_err()
                .0
                .contains("inside an invocation record")
        );
        assert!(
            parse(&json!({"requestPayload": 1}))
                .unwrap_err()
                .0
                .contains("invocation record")
        );
    }

    #[test]
    fn ecs_deployments_and_service_actions() {
        let svc = "arn:aws:ecs:us-east-1:123456789012:service/prod/api";
        let failed = bridge(
            "ECS Deployment State Change",
            json!({"eventType": "ERROR", "eventName": "SERVICE_DEPLOYMENT_FAILED", "deploymentId": "ecs-svc/123", "reason": "ECS deployment circuit breaker: tasks failed to start."}),
            &[svc],
        );
        let Invocation::Diagnose {
            services,
            trigger,
            dedupe_key,
            notice: Some(failure),
            ..
        } = parse(&failed).unwrap()
        else {
            panic!()
        };
        assert_eq!(services, Some(vec!["api".to_string()]));
        assert!(trigger.detail.contains("circuit breaker"));
        assert_eq!(dedupe_key.as_deref(), Some("deployment/ecs-svc/123"));
        // Its notice goes with it.
        assert_eq!(
            (
                failure.phase,
                failure.deployment_id.as_str(),
                failure.service.as_str()
            ),
            (Phase::Failed, "ecs-svc/123", "api")
        );
        assert_eq!(
            failure.reason,
            "ECS deployment circuit breaker: tasks failed to start."
        );
        // IN_PROGRESS and COMPLETED are notices, a rollback told apart by its reason.
        let notice =
            |detail: Value| match parse(&bridge("ECS Deployment State Change", detail, &[svc])) {
                Ok(Invocation::Deployment(d)) => d,
                other => panic!("{other:?}"),
            };
        let started = notice(
            json!({"eventType": "INFO", "eventName": "SERVICE_DEPLOYMENT_IN_PROGRESS", "deploymentId": "ecs-svc/124", "updatedAt": "2026-11-29T14:30:00Z", "reason": "ECS deployment ecs-svc/124 in progress."}),
        );
        assert_eq!(
            (
                started.service.as_str(),
                started.deployment_id.as_str(),
                &started.phase
            ),
            ("api", "ecs-svc/124", &Phase::Started)
        );
        assert_eq!(
            started.at,
            Some(time::macros::datetime!(2026-11-29 14:30:00 UTC))
        );
        let back = notice(
            json!({"eventType": "INFO", "eventName": "SERVICE_DEPLOYMENT_IN_PROGRESS", "deploymentId": "ecs-svc/125", "reason": "ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/122."}),
        );
        assert_eq!(
            back.phase,
            Phase::RollingBack {
                to: "ecs-svc/122".into()
            }
        );
        assert_eq!(
            back.at,
            Some(time::macros::datetime!(2026-11-29 14:35:27 UTC)),
            "the event's time when ECS gives no updatedAt"
        );
        let done = notice(
            json!({"eventName": "SERVICE_DEPLOYMENT_COMPLETED", "deploymentId": "ecs-svc/125"}),
        );
        assert_eq!((done.phase, done.reason.as_str()), (Phase::Completed, ""));
        let other = bridge(
            "ECS Deployment State Change",
            json!({"eventName": "SERVICE_DEPLOYMENT_SOMETHING_NEW"}),
            &[svc],
        );
        assert!(matches!(parse(&other).unwrap(), Invocation::Ignore(_)));
        let anonymous = bridge(
            "ECS Deployment State Change",
            json!({"eventName": "SERVICE_DEPLOYMENT_COMPLETED"}),
            &[],
        );
        assert!(parse(&anonymous).unwrap_err().0.contains("service ARN"));
        let warn = bridge(
            "ECS Service Action",
            json!({"eventType": "WARN", "eventName": "SERVICE_TASK_START_IMPAIRED"}),
            &[svc],
        );
        assert!(matches!(parse(&warn).unwrap(), Invocation::Diagnose { .. }));
        let info = bridge(
            "ECS Service Action",
            json!({"eventType": "INFO", "eventName": "SERVICE_STEADY_STATE"}),
            &[svc],
        );
        assert!(matches!(parse(&info).unwrap(), Invocation::Ignore(_)));
        let other = bridge("ECS Container Instance State Change", json!({}), &[]);
        assert!(
            parse(&other)
                .unwrap_err()
                .0
                .contains("unsupported EventBridge event")
        );
    }

    #[test]
    fn the_health_alert_through_sns() {
        let machine = json!({"source": "ecs-monitor", "event": "health.degraded", "incident_id": "prod-20261129T143500Z", "services": ["api", "web"]});
        let event = json!({"Records": [{"EventSource": "aws:sns", "EventVersion": "1.0", "EventSubscriptionArn": "arn:aws:sns:us-east-1:123456789012:alerts:1",
            "Sns": {"Type": "Notification", "MessageId": "m1", "TopicArn": "arn:aws:sns:us-east-1:123456789012:alerts", "Subject": "[ecs-monitor] prod DEGRADED",
                    "Message": machine.to_string(), "Timestamp": "2026-11-29T14:35:00.000Z", "SignatureVersion": "1", "Signature": "x",
                    "SigningCertUrl": "https://x", "UnsubscribeUrl": "https://x", "MessageAttributes": {}}}]});
        let Invocation::Diagnose {
            services,
            trigger,
            dedupe_key,
            ..
        } = parse(&event).unwrap()
        else {
            panic!()
        };
        assert_eq!(services, Some(vec!["api".to_string(), "web".to_string()]));
        assert_eq!(trigger.kind, "sns");
        assert_eq!(
            dedupe_key.as_deref(),
            Some("sns/m1"),
            "SNS retries keep the MessageId"
        );
        assert!(
            trigger
                .detail
                .contains("health.degraded prod-20261129T143500Z")
        );
        assert_eq!(
            trigger.incident_id.as_deref(),
            Some("prod-20261129T143500Z"),
            "the summary joins the alert's thread"
        );
        let mut text = event.clone();
        text["Records"][0]["Sns"]["Message"] = json!("Cluster prod is DEGRADED");
        let Invocation::Diagnose {
            services, trigger, ..
        } = parse(&text).unwrap()
        else {
            panic!()
        };
        assert_eq!(services, None, "plain text: every service");
        assert_eq!(trigger.incident_id, None, "plain text opens no thread");
        // The template's alarms notify the same topic, as CloudWatch words it.
        let mut alarm = event.clone();
        alarm["Records"][0]["Sns"]["Message"] = json!(json!({
            "AlarmName": "ecs-monitor-ServiceWithoutTasksAlarm-1", "NewStateValue": "ALARM",
            "NewStateReason": "Threshold Crossed", "Trigger": {"MetricName": "ServicesWithoutTasks"}
        }).to_string());
        let Invocation::Ignore(why) = parse(&alarm).unwrap() else {
            panic!("an alarm starts no diagnosis of its own")
        };
        assert!(
            why.contains("ecs-monitor-ServiceWithoutTasksAlarm-1"),
            "{why}"
        );
        for (name, diagnosed) in [
            ("health.unhealthy", true),
            ("health.recovered", false),
            ("health.reminder", false),
            ("diagnose.report", false),
            ("health.something_new", false),
        ] {
            let mut e = event.clone();
            let mut m = machine.clone();
            m["event"] = json!(name);
            e["Records"][0]["Sns"]["Message"] = json!(m.to_string());
            // Deliveries as AWS makes them for a MessageStructure=json publish: no attributes.
            e["Records"][0]["Sns"]["MessageAttributes"] = json!({});
            let inv = parse(&e).unwrap();
            assert_eq!(
                matches!(inv, Invocation::Diagnose { .. }),
                diagnosed,
                "{name}: {inv:?}"
            );
        }
        assert!(
            parse(&json!({"Records": "x"}))
                .unwrap_err()
                .0
                .contains("not a valid SNS event")
        );
    }
}
