//! Deployment notices: what ECS's `ECS Deployment State Change` events say, told in the
//! incident's thread. Pure: the event, what was remembered of the service's deployments and
//! the ECS evidence in; the notification out.
//!
//! ECS sends SERVICE_DEPLOYMENT_IN_PROGRESS for a deployment and for a circuit breaker's
//! rollback alike; only the reason tells them apart ("ECS deployment circuit breaker: rolling
//! back to deploymentId ecs-svc/…", naming the deployment rolled back to), and the rollback
//! deployment's SERVICE_DEPLOYMENT_COMPLETED reads like any other completion (Amazon ECS
//! Developer Guide, "Amazon ECS service deployment state change events"). So a rollback is
//! remembered when it starts, and its completion is announced as a rollback, never as a
//! successful deployment. Should its start not have been seen (a lost or late event), a
//! completion that follows a failure of the same service within [`ROLLBACK_WINDOW`] is taken
//! for the rollback it almost surely is.
//!
//! A service's tasks carry the id of the deployment that started them (Task.startedBy, ECS
//! API reference): the failing tasks of a deployment are its stopped tasks that failed.

use super::stoplog::safe;
use super::stops;
use crate::health::alert::{cut, subject_line};
use crate::notify::{Card, Event, Message, Notification, ServiceRef};
use crate::ports::StoppedTaskInfo;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::{Duration, OffsetDateTime};

/// A completion this soon after a failure of the service, its start unseen, is a rollback's.
pub const ROLLBACK_WINDOW: Duration = Duration::hours(1);
/// Failing tasks a notice names.
const FAILURES: usize = 5;

/// What a deployment event announces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phase {
    Started,
    /// A circuit breaker rolls the service back to the deployment `to`.
    RollingBack {
        to: String,
    },
    Completed,
    /// SERVICE_DEPLOYMENT_FAILED (a circuit breaker gave up on it).
    Failed,
}

impl Phase {
    /// The name of the notice's claim: one per deployment and event (a rollback's start is
    /// its deployment's `started`).
    fn name(&self) -> &'static str {
        match self {
            Phase::Started | Phase::RollingBack { .. } => "started",
            Phase::Completed => "completed",
            Phase::Failed => "failed",
        }
    }
}

/// A deployment event that needs a notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentEvent {
    pub service: String,
    pub deployment_id: String,
    pub phase: Phase,
    /// ECS's reason, as it wrote it.
    pub reason: String,
    /// ECS's `updatedAt`, else the event's time.
    pub at: Option<OffsetDateTime>,
}

/// The prefix ECS gives a rollback's reason.
const ROLLING_BACK: &str = "rolling back to deploymentId ";

impl DeploymentEvent {
    /// The phase of an IN_PROGRESS event, from its reason.
    pub fn in_progress_phase(reason: &str) -> Phase {
        match reason.split_once(ROLLING_BACK) {
            Some((_, rest)) => Phase::RollingBack {
                to: rest
                    .split_whitespace()
                    .next()
                    .map(|id| id.trim_end_matches('.'))
                    .filter(|id| !id.is_empty())
                    .unwrap_or("the previous deployment")
                    .to_string(),
            },
            None => Phase::Started,
        }
    }

    /// The claim that makes its notice go out once (EventBridge delivers at least once).
    pub fn notice_key(&self) -> String {
        format!(
            "deployment/{}/{}",
            safe(&self.deployment_id),
            self.phase.name()
        )
    }
}

/// What is remembered of a deployment from its start: whether it is a rollback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Started {
    pub deployment: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_to: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// The last failed deployment of a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub deployment: String,
    pub reason: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// Where a deployment's [`Started`] is kept (beside diagnose's claims).
pub fn started_record(service: &str, deployment: &str) -> String {
    format!(
        "claims/deployments/{}/{}.json",
        safe(service),
        safe(deployment)
    )
}

/// Where a service's last [`Failure`] is kept.
pub fn failure_record(service: &str) -> String {
    format!("claims/deployments/{}/last-failure.json", safe(service))
}

/// How a completion reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Completion {
    Succeeded,
    /// The completed deployment was a rollback: to `to` (when its start named it), after the
    /// failure of `failed` (when one was recorded).
    RolledBack {
        to: Option<String>,
        failed: Option<String>,
    },
}

/// What the completion of `deployment` at `at` (ECS's time of the event) is, from its start's
/// record and the service's last failure.
pub fn completion(
    deployment: &str,
    started: Option<&Started>,
    failure: Option<&Failure>,
    at: OffsetDateTime,
) -> Completion {
    let failed = failure
        .filter(|f| f.deployment != deployment)
        .map(|f| f.deployment.clone());
    match started {
        Some(s) => match &s.rollback_to {
            Some(to) => Completion::RolledBack {
                to: Some(to.clone()),
                failed,
            },
            None => Completion::Succeeded,
        },
        // Its start unseen: right after a failure of the service, it is the rollback.
        None => match failure
            .filter(|f| f.deployment != deployment && at - f.at <= ROLLBACK_WINDOW && f.at <= at)
        {
            Some(f) => Completion::RolledBack {
                to: None,
                failed: Some(f.deployment.clone()),
            },
            None => Completion::Succeeded,
        },
    }
}

/// The ECS evidence a notice carries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Evidence {
    /// The deployment's task definition (`family:revision`), when known.
    pub revision: Option<String>,
    /// Why the failing deployment's tasks stopped, newest first.
    pub failures: Vec<String>,
}

/// `family:revision` of a task definition ARN.
fn revision(task_definition: &str) -> String {
    task_definition
        .rsplit_once("task-definition/")
        .map_or(task_definition, |(_, r)| r)
        .to_string()
}

/// The evidence of a notice: the revision of the event's deployment (the service's primary
/// when it is that deployment, else the one its stopped tasks ran) and the failing tasks of
/// the deployment that failed (`failed`: known from ECS's event or the service's last
/// failure; unknown, the failing tasks of other deployments than the event's and the one it
/// rolls back to).
pub fn evidence(
    ev: &DeploymentEvent,
    primary: Option<(&str, &str)>,
    stopped: &[StoppedTaskInfo],
    failed: Option<&str>,
) -> Evidence {
    let revision = primary
        .filter(|(id, _)| *id == ev.deployment_id)
        .map(|(_, td)| revision(td))
        .or_else(|| {
            stopped
                .iter()
                .filter(|t| t.started_by.as_deref() == Some(ev.deployment_id.as_str()))
                .find_map(|t| t.task_definition.as_deref().map(revision))
        });
    let rolled_back_to = match &ev.phase {
        Phase::RollingBack { to } => Some(to.as_str()),
        _ => None,
    };
    let failing_deployment = |t: &StoppedTaskInfo| match (&ev.phase, failed) {
        (Phase::Failed, _) => t.started_by.as_deref() == Some(ev.deployment_id.as_str()),
        (_, Some(f)) => t.started_by.as_deref() == Some(f),
        (_, None) => t
            .started_by
            .as_deref()
            .is_some_and(|by| by != ev.deployment_id && Some(by) != rolled_back_to),
    };
    let failures = match ev.phase {
        Phase::Started => Vec::new(),
        _ => {
            let mut failing: Vec<&StoppedTaskInfo> = stopped
                .iter()
                .filter(|t| failing_deployment(t) && stops::classify(t).is_failure())
                .collect();
            failing.sort_by_key(|t| std::cmp::Reverse(t.stopped_at));
            failing
                .into_iter()
                .take(FAILURES)
                .map(|t| {
                    let exit = stops::classify_exit(t)
                        .map(|e| format!(" (exit {e})"))
                        .unwrap_or_default();
                    cut(format!(
                        "task {}: {}{exit}",
                        crate::aws::tasks::task_id(&t.task_arn),
                        t.stopped_reason.as_deref().unwrap_or("stopped")
                    ))
                })
                .collect()
        }
    };
    Evidence { revision, failures }
}

/// Everything a notice needs besides the event.
#[derive(Debug, Clone)]
pub struct NoticeContext<'a> {
    pub cluster: &'a str,
    /// How a fleet names the cluster (`account/region/cluster`), and its account.
    pub label: Option<&'a str>,
    pub account: Option<&'a str>,
    pub region: &'a str,
    /// The open incident: the notice posts in its thread.
    pub incident_id: Option<&'a str>,
    /// For a completion: what it was.
    pub completion: Completion,
    pub evidence: &'a Evidence,
}

/// The event a notice announces.
pub fn event_of(ev: &DeploymentEvent, completion: &Completion) -> Event {
    match (&ev.phase, completion) {
        (Phase::Started, _) => Event::DeploymentStarted,
        (Phase::RollingBack { .. }, _) => Event::DeploymentRollingBack,
        (Phase::Failed, _) => Event::DeploymentFailed,
        (Phase::Completed, Completion::RolledBack { .. }) => Event::DeploymentRolledBack,
        (Phase::Completed, Completion::Succeeded) => Event::DeploymentCompleted,
    }
}

/// The thread of a service's deployment messages: the open incident's, else one per service
/// and UTC day, so that a day's deployments of a service read as one conversation. A
/// diagnosis of a failed deployment posts there too.
pub fn thread_id(
    cluster: &str,
    service: &str,
    incident_id: Option<&str>,
    now: OffsetDateTime,
) -> String {
    match incident_id {
        Some(i) => i.to_string(),
        None => {
            let d = now.date();
            format!(
                "{cluster}-{service}-deployments-{:04}{:02}{:02}",
                d.year(),
                u8::from(d.month()),
                d.day()
            )
        }
    }
}

/// The notice: subject, email text, Slack card and machine message.
pub fn notice(ev: &DeploymentEvent, ctx: &NoticeContext<'_>, now: OffsetDateTime) -> Notification {
    let event = event_of(ev, &ctx.completion);
    let name = ctx.label.unwrap_or(ctx.cluster);
    let service = &ev.service;
    let id = &ev.deployment_id;
    let revision = ctx
        .evidence
        .revision
        .as_deref()
        .map(|r| format!(" ({r})"))
        .unwrap_or_default();
    let (status, emoji, headline) = match (&ev.phase, &ctx.completion) {
        (Phase::Started, _) => (
            "in_progress",
            ":rocket:",
            format!("{service}: deployment {id}{revision} started"),
        ),
        (Phase::Failed, _) => (
            "failed",
            ":x:",
            format!("{service}: deployment {id}{revision} FAILED"),
        ),
        (Phase::RollingBack { to }, _) => (
            "rolling_back",
            ":rewind:",
            format!("{service}: deployment FAILED, rolling back to {to}{revision}"),
        ),
        (Phase::Completed, Completion::RolledBack { to, .. }) => (
            "rolled_back",
            ":rewind:",
            // A subject holds under 100 characters: what did not land is said in the text.
            format!(
                "{service}: ROLLED BACK to {}{revision}",
                to.as_deref().unwrap_or("the previous deployment")
            ),
        ),
        (Phase::Completed, Completion::Succeeded) => (
            "completed",
            ":white_check_mark:",
            format!("{service}: deployment {id}{revision} completed"),
        ),
    };
    // As the incident's other messages: its id in the subject, so mail clients thread them.
    let subject = subject_line(&format!(
        "[ecs-monitor] {} {headline}",
        ctx.incident_id.unwrap_or(name)
    ));
    let failed = match &ctx.completion {
        Completion::RolledBack { failed, .. } => Some(match failed {
            Some(f) => format!("The failed deployment did not land: {f}."),
            None => "The failed deployment did not land.".to_string(),
        }),
        _ => None,
    };
    let mut lines = vec![format!("{headline}.")];
    if !ev.reason.is_empty() {
        lines.push(format!("ECS: {}", cut(ev.reason.clone())));
    }
    lines.extend(failed.clone());
    if let Some(at) = ev.at {
        lines.push(format!("At {}.", crate::timefmt::rfc3339(at)));
    }
    if let Some(i) = ctx.incident_id {
        lines.push(format!("Incident {i}."));
    }
    if !ctx.evidence.failures.is_empty() {
        lines.push(String::new());
        lines.push("Failing tasks:".into());
        for f in &ctx.evidence.failures {
            lines.push(format!("  - {f}"));
        }
    }
    let deployments = crate::links::ecs_service(
        ctx.region,
        ctx.cluster,
        service,
        crate::links::EcsPage::Deployments,
    );
    let stopped = crate::links::ecs_service(
        ctx.region,
        ctx.cluster,
        service,
        crate::links::EcsPage::StoppedTasks,
    );
    lines.push(String::new());
    lines.push(format!("Deployments: {deployments}"));
    if !ctx.evidence.failures.is_empty() {
        lines.push(format!("Stopped tasks: {stopped}"));
    }
    let text = lines.join("\n");

    let mut description = String::new();
    if !ev.reason.is_empty() {
        description.push_str(&format!("ECS: {}\n", cut(ev.reason.clone())));
    }
    if let Some(f) = &failed {
        description.push_str(&format!("{f}\n"));
    }
    if !ctx.evidence.failures.is_empty() {
        description.push_str("*Failing tasks*\n");
        for f in &ctx.evidence.failures {
            description.push_str(&format!("• {f}\n"));
        }
    }
    description.push_str(&format!("<{deployments}|Deployments of {service}>"));
    if !ctx.evidence.failures.is_empty() {
        description.push_str(&format!(" · <{stopped}|stopped tasks>"));
    }
    description.push('\n');
    let card = Card::new(
        format!("{emoji} {name} {headline}"),
        description,
        Vec::new(),
        thread_id(name, service, ctx.incident_id, now),
        subject.clone(),
        BTreeMap::from([
            ("cluster".to_string(), name.to_string()),
            ("service".to_string(), service.clone()),
            ("deployment".to_string(), id.clone()),
        ]),
    );
    let mut message = Message::new(event, ctx.cluster, status);
    message.region = Some(ctx.region.to_string());
    message.account = ctx.account.map(str::to_string);
    message.id = Some(format!("{}/{}", ev.notice_key(), event.as_str()));
    message.incident_id = ctx.incident_id.map(str::to_string);
    message.services = vec![ServiceRef::Name(service.clone())];
    message.subject = Some(subject.clone());
    message.text = Some(text.clone());
    message.chat = Some(card.clone());
    Notification {
        subject,
        text,
        card,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::ContainerExit;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-29 14:35:00 UTC);

    fn ev(phase: Phase, reason: &str) -> DeploymentEvent {
        DeploymentEvent {
            service: "api".into(),
            deployment_id: "ecs-svc/222".into(),
            phase,
            reason: reason.into(),
            at: Some(NOW),
        }
    }

    fn ctx<'a>(
        incident: Option<&'a str>,
        completion: Completion,
        evidence: &'a Evidence,
    ) -> NoticeContext<'a> {
        NoticeContext {
            cluster: "prod",
            label: None,
            account: None,
            region: "us-east-1",
            incident_id: incident,
            completion,
            evidence,
        }
    }

    fn task(
        id: &str,
        by: &str,
        revision: u32,
        ms: i64,
        reason: &str,
        exit: i32,
    ) -> StoppedTaskInfo {
        StoppedTaskInfo {
            task_arn: format!("arn:aws:ecs:us-east-1:123456789012:task/prod/{id}"),
            stopped_at: Some(ms),
            started_by: Some(by.into()),
            task_definition: Some(format!(
                "arn:aws:ecs:us-east-1:123456789012:task-definition/api:{revision}"
            )),
            stop_code: Some("EssentialContainerExited".into()),
            stopped_reason: Some(reason.into()),
            containers: vec![ContainerExit {
                name: "app".into(),
                exit_code: Some(exit),
                reason: None,
            }],
            source: Default::default(),
        }
    }

    #[test]
    fn in_progress_reasons() {
        let back = |to: &str| Phase::RollingBack { to: to.into() };
        let cases = [
            ("ECS deployment ecs-svc/222 in progress.", Phase::Started),
            (
                "ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/111.",
                back("ecs-svc/111"),
            ),
            (
                "ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/111",
                back("ecs-svc/111"),
            ),
            ("", Phase::Started),
            (
                "rolling back to deploymentId ",
                back("the previous deployment"),
            ),
            (
                "rolling back to deploymentId .",
                back("the previous deployment"),
            ),
        ];
        for (reason, phase) in cases {
            assert_eq!(
                DeploymentEvent::in_progress_phase(reason),
                phase,
                "{reason}"
            );
        }
    }

    #[test]
    fn keys_are_one_segment_per_part() {
        let e = ev(Phase::Completed, "");
        assert_eq!(e.notice_key(), "deployment/ecs-svc-222/completed");
        let r = ev(Phase::RollingBack { to: "x".into() }, "");
        assert_eq!(r.notice_key(), "deployment/ecs-svc-222/started");
        assert_eq!(
            ev(Phase::Failed, "").notice_key(),
            "deployment/ecs-svc-222/failed"
        );
        assert_eq!(
            started_record("api/../x", "ecs-svc/1"),
            "claims/deployments/api-..-x/ecs-svc-1.json"
        );
        assert_eq!(
            failure_record("api"),
            "claims/deployments/api/last-failure.json"
        );
    }

    /// A rollback's completion is a rollback, never a successful deployment: by its start's
    /// record, or, that start unseen, by a failure of the service just before.
    #[test]
    fn completions() {
        let started = |rollback_to: Option<&str>| Started {
            deployment: "ecs-svc/333".into(),
            rollback_to: rollback_to.map(str::to_string),
            at: NOW - Duration::minutes(5),
        };
        let failure = |minutes_ago: i64, deployment: &str| Failure {
            deployment: deployment.into(),
            reason: "ECS deployment circuit breaker: tasks failed to start.".into(),
            at: NOW - Duration::minutes(minutes_ago),
        };
        let id = "ecs-svc/333";
        assert_eq!(
            completion(id, Some(&started(None)), None, NOW),
            Completion::Succeeded
        );
        assert_eq!(
            completion(
                id,
                Some(&started(Some("ecs-svc/111"))),
                Some(&failure(6, "ecs-svc/222")),
                NOW
            ),
            Completion::RolledBack {
                to: Some("ecs-svc/111".into()),
                failed: Some("ecs-svc/222".into())
            }
        );
        // A successful start on record is believed, whatever failed before.
        assert_eq!(
            completion(
                id,
                Some(&started(None)),
                Some(&failure(6, "ecs-svc/222")),
                NOW
            ),
            Completion::Succeeded
        );
        // The start unseen.
        assert_eq!(
            completion(id, None, Some(&failure(6, "ecs-svc/222")), NOW),
            Completion::RolledBack {
                to: None,
                failed: Some("ecs-svc/222".into())
            }
        );
        assert_eq!(
            completion(id, None, Some(&failure(61, "ecs-svc/222")), NOW),
            Completion::Succeeded,
            "a failure long before is another story"
        );
        assert_eq!(
            completion(id, None, Some(&failure(6, id)), NOW),
            Completion::Succeeded,
            "its own failure is not a rollback's"
        );
        assert_eq!(completion(id, None, None, NOW), Completion::Succeeded);
    }

    #[test]
    fn evidence_names_the_revision_and_the_failing_deployments_tasks() {
        let ms = |m: i64| (NOW - Duration::minutes(m)).unix_timestamp() * 1000;
        let stopped = [
            task(
                "f1",
                "ecs-svc/222",
                43,
                ms(9),
                "Essential container in task exited",
                1,
            ),
            task(
                "f2",
                "ecs-svc/222",
                43,
                ms(4),
                "Essential container in task exited",
                2,
            ),
            // Normal stops and other deployments' tasks are not its failures.
            StoppedTaskInfo {
                stop_code: Some("ServiceSchedulerInitiated".into()),
                ..task(
                    "ok",
                    "ecs-svc/222",
                    43,
                    ms(3),
                    "Scaling activity initiated by (deployment ecs-svc/333)",
                    143,
                )
            },
            task(
                "old",
                "ecs-svc/111",
                42,
                ms(2),
                "Essential container in task exited",
                1,
            ),
        ];
        let failed = ev(
            Phase::Failed,
            "ECS deployment circuit breaker: tasks failed to start.",
        );
        let e = evidence(
            &failed,
            Some(("ecs-svc/333", "arn:…:task-definition/api:42")),
            &stopped,
            None,
        );
        assert_eq!(e.revision.as_deref(), Some("api:43"), "from its own tasks");
        assert_eq!(
            e.failures,
            [
                "task f2: Essential container in task exited (exit 2)",
                "task f1: Essential container in task exited (exit 1)"
            ]
        );
        // The rollback (ecs-svc/333 to ecs-svc/111): its own revision, the failures of the
        // recorded failed deployment, or of any third deployment when none is recorded.
        let mut back = ev(
            Phase::RollingBack {
                to: "ecs-svc/111".into(),
            },
            "",
        );
        back.deployment_id = "ecs-svc/333".into();
        let primary = Some((
            "ecs-svc/333",
            "arn:aws:ecs:us-east-1:123456789012:task-definition/api:42",
        ));
        let known = evidence(&back, primary, &stopped, Some("ecs-svc/222"));
        assert_eq!(known.revision.as_deref(), Some("api:42"));
        assert_eq!(known.failures.len(), 2);
        assert_eq!(evidence(&back, primary, &stopped, None), known);
        // A start names no failures.
        let start = ev(Phase::Started, "");
        assert_eq!(
            evidence(&start, None, &stopped, None).failures,
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_completed_rollback_is_announced_as_a_rollback() {
        let none = Evidence::default();
        let done = ev(Phase::Completed, "ECS deployment ecs-svc/222 completed.");
        let ok = notice(&done, &ctx(None, Completion::Succeeded, &none), NOW);
        assert_eq!(ok.message.event, Event::DeploymentCompleted);
        assert_eq!(
            ok.subject,
            "[ecs-monitor] prod api: deployment ecs-svc/222 completed"
        );
        for (to, failed) in [(Some("ecs-svc/111"), Some("ecs-svc/200")), (None, None)] {
            let rolled_back = Completion::RolledBack {
                to: to.map(str::to_string),
                failed: failed.map(str::to_string),
            };
            let back = notice(&done, &ctx(None, rolled_back, &none), NOW);
            assert_eq!(back.message.event, Event::DeploymentRolledBack);
            assert_eq!(back.message.status, "rolled_back");
            assert!(
                back.subject.contains("ROLLED BACK to") && !back.subject.contains("completed"),
                "{}",
                back.subject
            );
            assert!(back.card.content.title.starts_with(":rewind:"));
            assert_eq!(
                back.text
                    .contains("The failed deployment did not land: ecs-svc/200."),
                failed.is_some(),
                "{}",
                back.text
            );
            assert!(back.text.contains("The failed deployment did not land"));
        }
    }

    #[test]
    fn the_notice_carries_revision_failures_incident_and_links() {
        let evidence = Evidence {
            revision: Some("api:43".into()),
            failures: vec!["task 1a2b: Essential container in task exited (exit 1)".into()],
        };
        let rb = ev(
            Phase::RollingBack {
                to: "ecs-svc/111".into(),
            },
            "ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/111.",
        );
        let n = notice(
            &rb,
            &ctx(
                Some("prod-20261129T143000Z"),
                Completion::Succeeded,
                &evidence,
            ),
            NOW,
        );
        assert_eq!(n.message.event, Event::DeploymentRollingBack);
        assert_eq!(
            n.subject,
            "[ecs-monitor] prod-20261129T143000Z api: deployment FAILED, rolling back to ecs-svc/111 (api:43)"
        );
        assert!(
            n.card
                .content
                .title
                .starts_with(":rewind: prod api: deployment FAILED")
        );
        for want in [
            "ECS: ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/111.",
            "At 2026-11-29T14:35:00Z.",
            "Incident prod-20261129T143000Z.",
            "Failing tasks:\n  - task 1a2b: Essential container in task exited (exit 1)",
            "Deployments: https://us-east-1.console.aws.amazon.com/ecs/v2/clusters/prod/services/api/deployments?region=us-east-1",
            "Stopped tasks: https://us-east-1.console.aws.amazon.com/ecs/v2/clusters/prod/services/api/tasks?",
        ] {
            assert!(n.text.contains(want), "{want:?} in {}", n.text);
        }
        assert_eq!(n.card.metadata.thread_id, "prod-20261129T143000Z");
        assert_eq!(
            n.message.incident_id.as_deref(),
            Some("prod-20261129T143000Z")
        );
        assert!(
            n.card
                .content
                .description
                .contains("*Failing tasks*\n• task 1a2b")
        );
        // The machine message reads back as ours and starts no diagnosis.
        let doc: serde_json::Value = serde_json::from_str(&n.document()).unwrap();
        let m = Message::parse(doc["lambda"].as_str().unwrap()).unwrap();
        assert_eq!(m.event, Event::DeploymentRollingBack);
        assert!(!m.event.starts_diagnosis());
        assert_eq!(m.service_names(), ["api"]);
        assert_eq!(
            m.id.as_deref(),
            Some("deployment/ecs-svc-222/started/deployment.rolling_back")
        );
    }

    #[test]
    fn a_failure_says_failed_with_its_reason() {
        let evidence = Evidence {
            revision: Some("api:43".into()),
            failures: vec![],
        };
        let f = ev(
            Phase::Failed,
            "ECS deployment circuit breaker: tasks failed to start.",
        );
        let n = notice(&f, &ctx(None, Completion::Succeeded, &evidence), NOW);
        assert_eq!(n.message.event, Event::DeploymentFailed);
        assert_eq!(n.message.status, "failed");
        assert_eq!(
            n.subject,
            "[ecs-monitor] prod api: deployment ecs-svc/222 (api:43) FAILED"
        );
        assert!(
            n.text
                .contains("ECS: ECS deployment circuit breaker: tasks failed to start.")
        );
        assert!(
            !n.text.contains("Stopped tasks:"),
            "no failures, no link: {}",
            n.text
        );
    }

    #[test]
    fn without_an_incident_a_services_day_is_one_thread() {
        let none = Evidence::default();
        let a = notice(
            &ev(Phase::Started, ""),
            &ctx(None, Completion::Succeeded, &none),
            NOW,
        );
        let b = notice(
            &ev(Phase::Completed, ""),
            &ctx(None, Completion::Succeeded, &none),
            NOW + Duration::minutes(9),
        );
        assert_eq!(a.card.metadata.thread_id, "prod-api-deployments-20261129");
        assert_eq!(a.card.metadata.thread_id, b.card.metadata.thread_id);
        assert_eq!(a.message.incident_id, None);
        assert!(!a.text.contains("Incident"));
        assert_eq!(
            thread_id("prod", "api", None, NOW),
            a.card.metadata.thread_id
        );
    }
}
