//! What changed around a diagnosis, from ECS's and the load balancer's own state: the
//! deployment it is about, which errors are new since that deployment started, and the
//! service's targets that are not healthy. Pure.

use super::report::{DeploymentReport, TargetReport, TargetsReport};
use crate::aws::short_name;
use crate::health::model::{ServiceObservation, TargetObservation};
use std::collections::HashMap;
use time::OffsetDateTime;

/// The deployment a diagnosis is about: the newest FAILED one (ECS lists it, status ACTIVE,
/// while its rollback, the new PRIMARY, replaces its tasks: "Deployment circuit breaker", ECS
/// developer guide), else the primary one when it is still rolling out or started at or after
/// `since` (the start of the windows read). An older, finished deployment changed nothing the
/// windows could show.
pub fn deployment_of_interest(
    obs: &ServiceObservation,
    since: OffsetDateTime,
) -> Option<DeploymentReport> {
    let revision = |td: &Option<String>| td.as_deref().map(|t| short_name(t).to_string());
    let primary = obs.deployments.iter().find(|d| d.status == "PRIMARY");
    let failed = obs
        .deployments
        .iter()
        .filter(|d| d.rollout_state.as_deref() == Some("FAILED"))
        .max_by_key(|d| d.created_at);
    let chosen = failed.or(primary.filter(|p| {
        p.rollout_state.as_deref() == Some("IN_PROGRESS")
            || p.created_at.is_some_and(|t| t >= since)
    }))?;
    let rolling_back_to = primary
        .filter(|p| chosen.status != "PRIMARY" && p.id != chosen.id)
        .and_then(|p| revision(&p.task_definition))
        .filter(|r| Some(r) != revision(&chosen.task_definition).as_ref());
    Some(DeploymentReport {
        id: chosen.id.clone(),
        task_definition: revision(&chosen.task_definition),
        rollout_state: chosen.rollout_state.clone(),
        reason: chosen.rollout_reason.clone(),
        started_at: chosen.created_at,
        failed_tasks: chosen.failed_tasks,
        rolling_back_to: if chosen.rollout_state.as_deref() == Some("FAILED") {
            rolling_back_to
        } else {
            None
        },
    })
}

/// Whether an error first seen at `first_seen` (ms) is new since a deployment that started at
/// `deployed` (ms): first seen at or after it, and not among `before` (the fingerprints the
/// previous window saw, with their first times). `None` when the windows cannot tell: the
/// deployment started before the previous window (`prev_start`), or within it while the
/// previous window could not be read.
pub fn new_since(
    deployed: i64,
    window: (i64, i64),
    prev_start: i64,
    previous: Option<&HashMap<String, i64>>,
) -> Option<impl Fn(&str, i64) -> bool + '_> {
    let (start, end) = window;
    if deployed < prev_start || deployed > end || (deployed < start && previous.is_none()) {
        return None;
    }
    Some(move |fingerprint: &str, first_seen: i64| {
        first_seen >= deployed
            && previous
                .and_then(|p| p.get(fingerprint))
                .is_none_or(|&at| at >= deployed)
    })
}

/// The targets report of a service's target groups (`(arn, what DescribeTargetHealth
/// answered)`): every target counted, the ones not healthy listed.
pub fn targets(groups: Vec<(String, Result<Vec<TargetObservation>, String>)>) -> TargetsReport {
    let mut out = TargetsReport::default();
    for (arn, read) in groups {
        // `…:targetgroup/<name>/<id>`: the name is what the console shows.
        let name = arn
            .split_once(":targetgroup/")
            .and_then(|(_, rest)| rest.split('/').next())
            .unwrap_or(&arn)
            .to_string();
        match read {
            Ok(targets) => {
                out.total += targets.len();
                out.not_healthy
                    .extend(
                        targets
                            .into_iter()
                            .filter(|t| t.state != "healthy")
                            .map(|t| TargetReport {
                                target_group: name.clone(),
                                target: match t.port {
                                    Some(p) => format!("{}:{p}", t.id),
                                    None => t.id,
                                },
                                state: t.state,
                                reason: t.reason,
                                description: t.description,
                            }),
                    );
            }
            Err(e) => out.unavailable.push(format!("{name}: {e}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::model::DeploymentObservation;
    use time::macros::datetime;

    const TD: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition/app";

    fn deployment(
        id: &str,
        status: &str,
        state: &str,
        minute: u8,
        rev: u32,
    ) -> DeploymentObservation {
        DeploymentObservation {
            id: id.into(),
            status: status.into(),
            rollout_state: Some(state.into()),
            rollout_reason: (state == "FAILED")
                .then(|| "ECS deployment circuit breaker: tasks failed to start.".into()),
            created_at: Some(
                datetime!(2026-12-06 10:00 UTC) + time::Duration::minutes(minute.into()),
            ),
            task_definition: Some(format!("{TD}:{rev}")),
            failed_tasks: if state == "FAILED" { 3 } else { 0 },
        }
    }

    fn service(deployments: Vec<DeploymentObservation>) -> ServiceObservation {
        ServiceObservation {
            name: "api".into(),
            status: "ACTIVE".into(),
            desired: 2,
            running: 2,
            pending: 0,
            rollout_state: None,
            rollout_reason: None,
            rollout_started_at: None,
            primary_deployment: None,
            task_definition: None,
            failed_tasks: 0,
            events: vec![],
            target_group_arns: vec![],
            deployments,
        }
    }

    #[test]
    fn the_deployment_a_diagnosis_is_about() {
        let since = datetime!(2026-12-06 10:00 UTC);
        // A failed deployment while its rollback is the primary: the failed one, rolling back.
        let rollback = service(vec![
            deployment("ecs-svc/2", "PRIMARY", "IN_PROGRESS", 20, 42),
            deployment("ecs-svc/1", "ACTIVE", "FAILED", 5, 43),
        ]);
        let d = deployment_of_interest(&rollback, since).unwrap();
        assert_eq!(
            (
                d.id.as_str(),
                d.task_definition.as_deref(),
                d.rolling_back_to.as_deref()
            ),
            ("ecs-svc/1", Some("app:43"), Some("app:42"))
        );
        assert!(d.failed() && d.reason.as_deref().unwrap().contains("circuit breaker"));
        assert_eq!(d.failed_tasks, 3);
        // A failed primary (no rollback configured): failed, nothing to roll back to.
        let stuck = service(vec![deployment("ecs-svc/1", "PRIMARY", "FAILED", 5, 43)]);
        let d = deployment_of_interest(&stuck, since).unwrap();
        assert_eq!((d.failed(), d.rolling_back_to), (true, None));
        // A rollout in progress, however old.
        let rolling = service(vec![deployment(
            "ecs-svc/3",
            "PRIMARY",
            "IN_PROGRESS",
            0,
            44,
        )]);
        let old = datetime!(2026-12-06 12:00 UTC);
        assert_eq!(
            deployment_of_interest(&rolling, old).unwrap().id,
            "ecs-svc/3"
        );
        // A completed deployment: within the windows, yes; before them, it changed nothing.
        let done = service(vec![deployment(
            "ecs-svc/4",
            "PRIMARY",
            "COMPLETED",
            30,
            45,
        )]);
        let d = deployment_of_interest(&done, since).unwrap();
        assert_eq!((d.id.as_str(), d.failed()), ("ecs-svc/4", false));
        assert_eq!(d.rolling_back_to, None);
        assert_eq!(deployment_of_interest(&done, old), None);
        assert_eq!(deployment_of_interest(&service(vec![]), since), None);
    }

    #[test]
    fn errors_new_since_a_deployment() {
        let (prev_start, start, end) = (0, 1000, 2000);
        let previous = HashMap::from([("old".to_string(), 100), ("late".to_string(), 900)]);
        // Deployed within the window: after it and never before it, in either window.
        let new = new_since(1500, (start, end), prev_start, Some(&previous)).unwrap();
        assert!(new("fresh", 1600));
        assert!(!new("fresh", 1200), "seen before the deployment");
        assert!(!new("old", 1600), "the previous window had it");
        // Without the previous window, the window's own part before the deployment tells.
        let new = new_since(1500, (start, end), prev_start, None).unwrap();
        assert!(new("old", 1600) && !new("fresh", 1400));
        // Deployed within the previous window: only what it saw before the deployment counts.
        let new = new_since(500, (start, end), prev_start, Some(&previous)).unwrap();
        assert!(!new("old", 1600), "seen at 100, before the deployment");
        assert!(new("late", 1600), "first seen at 900, after the deployment");
        assert!(new("fresh", 1600));
        // The windows cannot tell.
        assert!(new_since(500, (start, end), prev_start, None).is_none());
        assert!(new_since(-1, (start, end), prev_start, Some(&previous)).is_none());
        assert!(new_since(2001, (start, end), prev_start, Some(&previous)).is_none());
    }

    #[test]
    fn targets_not_healthy_are_listed_with_the_load_balancers_reason() {
        let t = |id: &str, state: &str, reason: Option<&str>| TargetObservation {
            id: id.into(),
            port: Some(8080),
            state: state.into(),
            reason: reason.map(Into::into),
            description: reason.map(|_| "Health checks failed with these codes: [502]".into()),
        };
        let arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/api-tg/73e2d6bc24d8a067";
        let r = targets(vec![
            (
                arn.into(),
                Ok(vec![
                    t("10.0.1.5", "healthy", None),
                    t("10.0.1.6", "unhealthy", Some("Target.ResponseCodeMismatch")),
                    t(
                        "10.0.1.7",
                        "draining",
                        Some("Target.DeregistrationInProgress"),
                    ),
                ]),
            ),
            ("weird".into(), Err("AccessDenied".into())),
        ]);
        assert_eq!(r.total, 3);
        assert_eq!(r.not_healthy.len(), 2);
        let bad: Vec<_> = r.unhealthy().collect();
        assert_eq!(bad.len(), 1);
        assert_eq!(
            (bad[0].target_group.as_str(), bad[0].target.as_str()),
            ("api-tg", "10.0.1.6:8080")
        );
        assert_eq!(
            bad[0].reason.as_deref(),
            Some("Target.ResponseCodeMismatch")
        );
        assert_eq!(r.unavailable, ["weird: AccessDenied"]);
    }
}
