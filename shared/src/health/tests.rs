//! Evaluation and alerting rules, without I/O.

use super::*;
use crate::config::{Expectation, StatusSet, Thresholds};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const NOW: OffsetDateTime = datetime!(2026-11-29 14:35:00 UTC);

fn svc(name: &str, desired: i32, running: i32) -> ServiceObservation {
    ServiceObservation {
        name: name.into(),
        status: "ACTIVE".into(),
        desired,
        running,
        pending: desired - running,
        rollout_state: Some("COMPLETED".into()),
        rollout_reason: None,
        rollout_started_at: None,
        primary_deployment: None,
        task_definition: None,
        failed_tasks: 0,
        events: vec![],
        target_group_arns: vec![],
        deployments: vec![],
    }
}

/// A service whose primary deployment started `minutes` before NOW and is rolling out.
fn rolling(desired: i32, running: i32, minutes: i64) -> ServiceObservation {
    ServiceObservation {
        rollout_state: Some("IN_PROGRESS".into()),
        rollout_reason: Some("ECS deployment ecs-svc/42 in progress.".into()),
        rollout_started_at: Some(NOW - Duration::minutes(minutes)),
        ..svc("api", desired, running)
    }
}

fn obs(services: Vec<ServiceObservation>) -> Observations {
    Observations {
        services: Ok(ServicesObservation {
            found: services,
            missing: vec![],
        }),
        target_groups: vec![],
        http: vec![],
        tls: vec![],
    }
}

fn ctx(t: Thresholds) -> Context<'static> {
    Context {
        cluster: "prod",
        label: None,
        account: None,
        region: "us-east-1",
        thresholds: t,
    }
}

fn run(
    o: &Observations,
    prev: Option<&State>,
    now: OffsetDateTime,
    t: Thresholds,
) -> (State, Option<Alert>) {
    evaluate(o, prev, now, &ctx(t))
}

fn status_of(o: Observations) -> (Overall, Vec<String>) {
    let (s, _) = run(&o, None, NOW, Thresholds::default());
    (s.overall, s.issues)
}

#[test]
fn service_rules() {
    let cases = [
        (svc("api", 2, 2), Status::Healthy, None),
        (svc("api", 0, 0), Status::ScaledDown, None),
        (
            svc("api", 3, 1),
            Status::Degraded,
            Some("api: 1/3 tasks running"),
        ),
        (
            svc("api", 2, 0),
            Status::Unhealthy,
            Some("api: 0/2 tasks running"),
        ),
        (
            ServiceObservation {
                rollout_state: Some("FAILED".into()),
                rollout_reason: Some("tasks failed to start".into()),
                ..svc("api", 2, 2)
            },
            Status::Degraded,
            Some("api: deployment failed: tasks failed to start"),
        ),
        (
            ServiceObservation {
                failed_tasks: 3,
                rollout_state: Some("IN_PROGRESS".into()),
                ..svc("api", 2, 2)
            },
            Status::Degraded,
            Some("api: 3 task(s) failed to start in the current deployment"),
        ),
        (
            ServiceObservation {
                status: "INACTIVE".into(),
                ..svc("api", 2, 2)
            },
            Status::Missing,
            Some("api: service is inactive"),
        ),
    ];
    for (o, expected, issue) in cases {
        let (s, _) = run(&obs(vec![o.clone()]), None, NOW, Thresholds::default());
        assert_eq!(s.services[0].status, expected, "{o:?}");
        assert_eq!(s.issues.first().map(String::as_str), issue, "{o:?}");
    }
    let mut o = obs(vec![]);
    o.services = Ok(ServicesObservation {
        found: vec![],
        missing: vec!["ghost".into()],
    });
    let (overall, issues) = status_of(o);
    assert_eq!(overall, Overall::Unhealthy);
    assert_eq!(issues, ["ghost: service not found in cluster prod"]);
}

/// Within the grace a rollout short of tasks is `deploying` (no issue, healthy overall);
/// past it, or when it is a rollback, or a task failed to start, it is what it would be
/// without a rollout, and the issue says how long it has run.
#[test]
fn rollouts_within_the_grace_are_deploying() {
    let cases = [
        (rolling(2, 1, 3), Status::Deploying, None),
        (rolling(2, 0, 14), Status::Deploying, None),
        (rolling(2, 2, 3), Status::Healthy, None),
        (
            rolling(2, 1, 15),
            Status::Degraded,
            Some("api: 1/2 tasks running (rollout stuck for 15 min, grace 15 min)"),
        ),
        (
            rolling(2, 0, 40),
            Status::Unhealthy,
            Some("api: 0/2 tasks running (rollout stuck for 40 min, grace 15 min)"),
        ),
        (
            ServiceObservation {
                failed_tasks: 1,
                ..rolling(2, 1, 3)
            },
            Status::Degraded,
            Some("api: 1/2 tasks running"),
        ),
        (
            ServiceObservation {
                rollout_reason: Some(
                    "ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/41."
                        .into(),
                ),
                ..rolling(2, 1, 3)
            },
            Status::Degraded,
            Some("api: 1/2 tasks running"),
        ),
        (
            ServiceObservation {
                rollout_started_at: None,
                ..rolling(2, 1, 3)
            },
            Status::Degraded,
            Some("api: 1/2 tasks running"),
        ),
        (
            ServiceObservation {
                rollout_state: Some("COMPLETED".into()),
                ..rolling(2, 1, 3)
            },
            Status::Degraded,
            Some("api: 1/2 tasks running"),
        ),
    ];
    for (o, expected, issue) in cases {
        let (s, _) = run(&obs(vec![o.clone()]), None, NOW, Thresholds::default());
        assert_eq!(s.services[0].status, expected, "{o:?}");
        assert_eq!(s.issues.first().map(String::as_str), issue, "{o:?}");
        let overall = if expected == Status::Deploying {
            Overall::Healthy
        } else {
            expected.overall()
        };
        assert_eq!(s.overall, overall, "{o:?}");
    }
    let no_grace = Thresholds {
        deploy_grace_minutes: 0,
        ..Thresholds::default()
    };
    let (s, _) = run(&obs(vec![rolling(2, 1, 0)]), None, NOW, no_grace);
    assert_eq!(s.services[0].status, Status::Degraded);
    assert_eq!(s.issues, ["api: 1/2 tasks running"]);
    let json = serde_json::to_value(&s.services[0]).unwrap();
    assert_eq!(json["rollout_started_at"], "2026-11-29T14:35:00Z");
}

/// A rollout never alerts within the grace, alerts once stuck past it, and does not
/// announce a recovery half-way through the fix's own deployment.
#[test]
fn a_rollout_alerts_only_when_stuck_and_holds_an_open_incident() {
    let t = Thresholds {
        failure_threshold: 2,
        ..Thresholds::default()
    };
    // Runs 5 minutes apart; the deployment started 5 minutes before the first.
    let mut out: Vec<(State, Option<Alert>)> = Vec::new();
    for i in 0..6 {
        let now = NOW + Duration::minutes(5 * i);
        let mut o = rolling(2, 1, 0);
        o.rollout_started_at = Some(NOW - Duration::minutes(5));
        let prev = out.last().map(|(s, _)| s);
        out.push(run(&obs(vec![o]), prev, now, t));
    }
    let statuses: Vec<Status> = out.iter().map(|(s, _)| s.services[0].status).collect();
    use Status::{Degraded as Dg, Deploying as Dp};
    assert_eq!(statuses, [Dp, Dp, Dg, Dg, Dg, Dg]);
    assert_eq!(
        events(&out),
        [None, None, None, Some("health.degraded"), None, None]
    );

    // An open incident, then the fix rolls out: no recovery until the rollout is done.
    let t = Thresholds {
        failure_threshold: 1,
        ..Thresholds::default()
    };
    let (s0, a0) = run(&obs(vec![svc("api", 2, 0)]), None, NOW, t);
    assert_eq!(a0.unwrap().event.as_str(), "health.unhealthy");
    let later = |m: i64| NOW + Duration::minutes(m);
    let mut fix = rolling(2, 1, 0);
    fix.rollout_started_at = Some(later(1));
    let (s1, a1) = run(&obs(vec![fix]), Some(&s0), later(5), t);
    assert_eq!(s1.services[0].status, Status::Deploying);
    assert!(a1.is_none(), "no recovery while deploying: {a1:?}");
    assert_eq!(s1.alerting.incident_id, s0.alerting.incident_id);
    let (_, a2) = run(&obs(vec![svc("api", 2, 2)]), Some(&s1), later(10), t);
    assert_eq!(a2.unwrap().event.as_str(), "health.recovered");
}

#[test]
fn ecs_failure_is_recorded_not_fatal() {
    let mut o = obs(vec![]);
    o.services = Err("AccessDeniedException: not authorized".into());
    let (overall, issues) = status_of(o);
    assert_eq!(overall, Overall::Degraded);
    assert!(issues[0].contains("cannot describe the services of prod: AccessDeniedException"));
}

fn target(id: &str, state: &str, reason: Option<&str>) -> TargetObservation {
    TargetObservation {
        id: id.into(),
        port: Some(80),
        state: state.into(),
        reason: reason.map(Into::into),
        description: None,
    }
}

#[test]
fn target_group_rules() {
    let arn =
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/api-tg/73e2d6bc24d8a067";
    let cases = [
        (
            vec![
                target("i-1", "healthy", None),
                target("i-2", "healthy", None),
            ],
            Status::Healthy,
        ),
        (
            vec![
                target("i-1", "healthy", None),
                target("i-2", "unhealthy", Some("Target.ResponseCodeMismatch")),
            ],
            Status::Degraded,
        ),
        (
            vec![target("i-1", "unhealthy", Some("Target.Timeout"))],
            Status::Unhealthy,
        ),
        (
            vec![
                target("i-1", "healthy", None),
                target("i-2", "initial", Some("Elb.RegistrationInProgress")),
            ],
            Status::Healthy,
        ),
        (vec![target("i-1", "draining", None)], Status::Healthy),
        (vec![], Status::Healthy),
    ];
    for (targets, expected) in cases {
        let mut o = obs(vec![]);
        o.target_groups = vec![TargetGroupObservation {
            arn: arn.into(),
            targets: Ok(targets.clone()),
        }];
        let (s, _) = run(&o, None, NOW, Thresholds::default());
        let tg = &s.target_groups[0];
        assert_eq!(tg.name, "api-tg");
        assert_eq!(tg.status, expected, "{targets:?}");
        assert!(tg.targets.iter().all(|t| t.state != "healthy"));
    }
    let mut o = obs(vec![]);
    o.target_groups = vec![TargetGroupObservation {
        arn: arn.into(),
        targets: Ok(vec![
            target("10.0.1.5", "healthy", None),
            target("10.0.1.6", "unhealthy", Some("Target.ResponseCodeMismatch")),
        ]),
    }];
    let (_, issues) = status_of(o);
    assert_eq!(
        issues,
        ["target group api-tg: 1/2 targets unhealthy (Target.ResponseCodeMismatch)"]
    );
}

fn http(result: Result<HttpResponse, String>, expect: Expectation) -> Observations {
    let mut o = obs(vec![]);
    o.http = vec![HttpObservation {
        name: "api".into(),
        url: "https://api.example.com/".into(),
        expect,
        result,
    }];
    o
}

fn resp(status: u16, latency_ms: u64, body_matched: Option<bool>) -> Result<HttpResponse, String> {
    Ok(HttpResponse {
        status,
        latency_ms,
        redirects: 0,
        body_matched,
    })
}

#[test]
fn http_rules() {
    let default = Expectation::default;
    assert_eq!(
        status_of(http(resp(200, 10, None), default())).0,
        Overall::Healthy
    );
    assert_eq!(
        status_of(http(resp(301, 10, None), default())).0,
        Overall::Healthy
    );
    let (o, issues) = status_of(http(resp(503, 10, None), default()));
    assert_eq!(o, Overall::Unhealthy);
    assert_eq!(issues, ["http api: status 503 (https://api.example.com/)"]);
    assert_eq!(
        status_of(http(resp(404, 10, None), default())).0,
        Overall::Unhealthy
    );
    assert_eq!(
        status_of(http(Err("connection refused".into()), default())).0,
        Overall::Unhealthy
    );
    assert_eq!(
        status_of(http(resp(200, 10, Some(false)), default())).0,
        Overall::Unhealthy
    );
    let slow = Expectation {
        max_latency_ms: Some(300),
        ..default()
    };
    let (o, issues) = status_of(http(resp(200, 812, None), slow));
    assert_eq!(o, Overall::Unhealthy);
    assert!(
        issues[0].contains("answered in 812 ms, over 300 ms"),
        "{issues:?}"
    );
    let not_found_ok = Expectation {
        statuses: StatusSet::default(),
        ..default()
    };
    assert_eq!(
        status_of(http(resp(204, 10, Some(true)), not_found_ok)).0,
        Overall::Healthy
    );
}

fn cert(subject: &str, not_after: OffsetDateTime) -> CertInfo {
    CertInfo {
        subject: subject.into(),
        issuer: "CN=Test CA".into(),
        not_before: NOW - Duration::days(300),
        not_after,
    }
}

fn tls(certs: Vec<CertInfo>, verify_error: Option<&str>) -> Observations {
    let mut o = obs(vec![]);
    o.tls = vec![TlsObservation {
        host: "api.example.com:443".into(),
        result: Ok(TlsChain {
            certs,
            verify_error: verify_error.map(Into::into),
        }),
    }];
    o
}

#[test]
fn tls_rules() {
    let leaf = |days| {
        cert(
            "CN=api.example.com",
            NOW + Duration::days(days) + Duration::hours(1),
        )
    };
    assert_eq!(status_of(tls(vec![leaf(41)], None)).0, Overall::Healthy);
    assert_eq!(status_of(tls(vec![leaf(10)], None)).0, Overall::Degraded);
    assert_eq!(status_of(tls(vec![leaf(5)], None)).0, Overall::Unhealthy);
    let (o, issues) = status_of(tls(
        vec![cert("CN=api.example.com", NOW - Duration::days(2))],
        None,
    ));
    assert_eq!(o, Overall::Unhealthy);
    assert!(
        issues[0].contains("certificate expired on 2026-11-27"),
        "{issues:?}"
    );
    let (o, issues) = status_of(tls(vec![leaf(200)], Some("self-signed certificate")));
    assert_eq!(o, Overall::Unhealthy);
    assert!(
        issues[0].contains("does not validate: self-signed"),
        "{issues:?}"
    );
    // The intermediate expires first: the chain's earliest expiry counts.
    let (s, _) = run(
        &tls(
            vec![
                leaf(200),
                cert("CN=Intermediate CA", NOW + Duration::days(9)),
            ],
            None,
        ),
        None,
        NOW,
        Thresholds::default(),
    );
    assert_eq!(s.tls[0].status, Status::Degraded);
    assert_eq!(s.tls[0].days_left, Some(9));
    assert_eq!(s.tls[0].subject.as_deref(), Some("CN=Intermediate CA"));
    assert!(s.issues[0].contains("(CN=Intermediate CA)"));
    let mut o = obs(vec![]);
    o.tls = vec![TlsObservation {
        host: "api.example.com:443".into(),
        result: Err("connection refused".into()),
    }];
    assert_eq!(status_of(o).0, Overall::Degraded);
}

fn series(statuses: &[Overall], t: Thresholds) -> Vec<(State, Option<Alert>)> {
    let mut out: Vec<(State, Option<Alert>)> = Vec::new();
    for (i, s) in statuses.iter().enumerate() {
        let o = match s {
            Overall::Healthy => obs(vec![svc("api", 2, 2)]),
            Overall::Degraded => obs(vec![svc("api", 2, 1)]),
            Overall::Unhealthy => obs(vec![svc("api", 2, 0)]),
        };
        let now = NOW + Duration::minutes(5 * i as i64);
        let prev = out.last().map(|(s, _)| s);
        let r = run(&o, prev, now, t);
        out.push(r);
    }
    out
}

fn events(runs: &[(State, Option<Alert>)]) -> Vec<Option<&str>> {
    runs.iter()
        .map(|(_, a)| a.as_ref().map(|a| a.event.as_str()))
        .collect()
}

use Overall::{Degraded as D, Healthy as H, Unhealthy as U};

#[test]
fn alerts_after_the_failure_threshold_and_once_per_transition() {
    let runs = series(&[H, D, D, D, D, H, H], Thresholds::default());
    assert_eq!(
        events(&runs),
        [
            None,
            None,
            Some("health.degraded"),
            None,
            None,
            Some("health.recovered"),
            None
        ]
    );
    let text = &runs[2].1.as_ref().unwrap().text;
    assert!(
        text.contains("is DEGRADED since") && text.contains("(was HEALTHY)"),
        "what subscribers were last told: {text}"
    );
    let incident = runs[2].1.as_ref().unwrap().incident_id.clone();
    assert_eq!(incident, "prod-20261129T144500Z");
    assert_eq!(
        runs[5].1.as_ref().unwrap().incident_id,
        incident,
        "recovery threads under the incident"
    );
    assert_eq!(runs[6].0.alerting.incident_id, None);
}

#[test]
fn flapping_below_the_threshold_stays_quiet() {
    let runs = series(&[H, D, H, U, H, D, H], Thresholds::default());
    assert!(events(&runs).iter().all(Option::is_none));
}

#[test]
fn escalation_alerts_again_in_the_same_incident() {
    let t = Thresholds {
        failure_threshold: 1,
        ..Thresholds::default()
    };
    let runs = series(&[D, U, U, D, H], t);
    assert_eq!(
        events(&runs),
        [
            Some("health.degraded"),
            Some("health.unhealthy"),
            None,
            Some("health.degraded"),
            Some("health.recovered")
        ]
    );
    let ids: Vec<&str> = runs
        .iter()
        .filter_map(|(_, a)| a.as_ref())
        .map(|a| a.incident_id.as_str())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] == w[1]), "{ids:?}");
}

#[test]
fn recovery_waits_for_the_success_threshold() {
    let t = Thresholds {
        failure_threshold: 1,
        success_threshold: 2,
        ..Thresholds::default()
    };
    let runs = series(&[U, H, U, H, H, H], t);
    assert_eq!(
        events(&runs),
        [
            Some("health.unhealthy"),
            None,
            None,
            None,
            Some("health.recovered"),
            None
        ]
    );
}

#[test]
fn reminders_while_still_failing() {
    let t = Thresholds {
        failure_threshold: 1,
        reminder_minutes: 10,
        ..Thresholds::default()
    };
    // runs every 5 minutes
    let runs = series(&[U, U, U, U, U, H], t);
    assert_eq!(
        events(&runs),
        [
            Some("health.unhealthy"),
            None,
            Some("health.reminder"),
            None,
            Some("health.reminder"),
            Some("health.recovered")
        ]
    );
    assert!(
        runs[2]
            .1
            .as_ref()
            .unwrap()
            .subject
            .contains("STILL UNHEALTHY for 10 min")
    );
    let recovered = runs[5].1.as_ref().unwrap();
    assert!(
        !recovered.text.contains("console.aws.amazon.com")
            && !recovered.chat.content.description.contains("console.aws"),
        "a recovery links nothing: {}",
        recovered.text
    );
    assert!(
        runs[0]
            .1
            .as_ref()
            .unwrap()
            .text
            .contains("In the ECS console:")
    );
    let none = series(
        &[U, U, U, U],
        Thresholds {
            failure_threshold: 1,
            ..Thresholds::default()
        },
    );
    assert_eq!(events(&none), [Some("health.unhealthy"), None, None, None]);
}

#[test]
fn decided_alerts_wait_in_pending_until_published() {
    let runs = series(&[U, U, U], Thresholds::default());
    let pending = &runs[2].0.alerting.pending;
    assert_eq!(pending.len(), 1, "the alert of run 2 is still unpublished");
    assert_eq!(pending[0].event.as_str(), "health.unhealthy");
}

#[test]
fn the_alert_message_formats() {
    let mut o = obs(vec![svc("api", 3, 1), svc("web", 2, 2)]);
    o.http = http(resp(503, 20, None), Expectation::default()).http;
    let t = Thresholds {
        failure_threshold: 1,
        ..Thresholds::default()
    };
    let (prev, _) = run(
        &obs(vec![svc("api", 3, 3), svc("web", 2, 1)]),
        None,
        NOW - Duration::minutes(5),
        Thresholds {
            failure_threshold: 5,
            ..t
        },
    );
    let (_, alert) = run(&o, Some(&prev), NOW, t);
    let alert = alert.expect("an alert");
    assert_eq!(alert.event.as_str(), "health.unhealthy");
    assert_eq!(
        alert.subject,
        "[ecs-monitor] prod-20261129T143500Z UNHEALTHY: api: 1/3 tasks running (+1 more)"
    );
    assert!(alert.text.contains("- api: 1/3 tasks running"));
    assert!(
        alert
            .text
            .contains("  web                        2/2   running  healthy"),
        "{}",
        alert.text
    );
    assert!(
        alert
            .text
            .contains("- http api: status 503 (https://api.example.com/)")
    );
    assert!(
        alert.text.contains("+ api: 1/3 tasks running"),
        "{}",
        alert.text
    );
    assert!(
        alert.text.contains("- web: 1/2 tasks running (resolved)"),
        "{}",
        alert.text
    );
    // As SNS carries it to Amazon Q: its JSON.
    let chat = serde_json::to_value(&alert.chat).unwrap();
    assert_eq!(chat["version"], "1.0");
    assert_eq!(chat["source"], "custom");
    assert_eq!(chat["content"]["textType"], "client-markdown");
    assert!(
        chat["content"]["title"]
            .as_str()
            .unwrap()
            .starts_with(":rotating_light: prod UNHEALTHY")
    );
    assert!(
        chat["content"]["description"]
            .as_str()
            .unwrap()
            .contains("• api: 1/3 tasks running")
    );
    // The failing service's console pages, whole; none for the healthy one.
    let api = "https://us-east-1.console.aws.amazon.com/ecs/v2/clusters/prod/services/api";
    assert!(
        alert.text.contains(&format!(
            "In the ECS console:\n  api\n    health: {api}/health?region=us-east-1\n    events: {api}/events?region=us-east-1\n"
        )),
        "{}",
        alert.text
    );
    assert!(!alert.text.contains("services/web/"), "{}", alert.text);
    assert!(
        chat["content"]["description"]
            .as_str()
            .unwrap()
            .contains(&format!(
                "• <{api}/health?region=us-east-1|api> · <{api}/events?region=us-east-1|events>\n"
            ))
    );
    assert!(chat["content"]["nextSteps"].is_array());
    assert_eq!(chat["metadata"]["threadId"], alert.incident_id.as_str());
    assert_eq!(chat["metadata"]["summary"], alert.subject.as_str());
}

#[test]
fn subjects_are_short_ascii_single_lines() {
    let long = "x".repeat(300);
    let mut o = obs(vec![svc(&format!("api-é-{long}\nnext"), 2, 0)]);
    o.services.as_mut().unwrap().found[0].name.push('\n');
    let (_, alert) = run(
        &o,
        None,
        NOW,
        Thresholds {
            failure_threshold: 1,
            ..Thresholds::default()
        },
    );
    let subject = alert.unwrap().subject;
    assert!(subject.len() < 100, "{}", subject.len());
    assert!(subject.is_ascii());
    assert!(!subject.contains('\n'));
}

#[test]
fn the_state_json_round_trips_with_the_documented_fields() {
    let (state, _) = run(
        &obs(vec![svc("api", 2, 1)]),
        None,
        NOW,
        Thresholds::default(),
    );
    let json = serde_json::to_value(&state).unwrap();
    for key in [
        "schema_version",
        "checked_at",
        "cluster",
        "region",
        "overall",
        "services",
        "target_groups",
        "http",
        "tls",
        "issues",
        "alerting",
    ] {
        assert!(json.get(key).is_some(), "{key}");
    }
    assert_eq!(json["checked_at"], "2026-11-29T14:35:00Z");
    assert_eq!(json["overall"], "degraded");
    assert_eq!(json["services"][0]["status"], "degraded");
    for key in [
        "status_since",
        "consecutive_failures",
        "consecutive_successes",
        "last_alert_at",
        "incident_id",
    ] {
        assert!(json["alerting"].get(key).is_some(), "alerting.{key}");
    }
    let back: State = serde_json::from_value(json).unwrap();
    assert_eq!(back, state);
}

/// Thousands of failing endpoints and services with long names still make an alert that
/// fits one SNS message (256 KB), with every part bounded.
#[test]
fn a_huge_outage_still_fits_one_sns_message() {
    let thresholds = Thresholds {
        failure_threshold: 1,
        ..Thresholds::default()
    };
    let mut o = obs((0..3000)
        .map(|i| svc(&format!("service-{i}-{}", "x".repeat(200)), 2, 0))
        .collect());
    o.http = (0..3000)
        .map(|i| HttpObservation {
            name: format!("endpoint-{i}"),
            url: format!("https://api.example.com/{}/{i}", "p".repeat(2000)),
            expect: Expectation::default(),
            result: Err(format!("cannot connect: {}", "reason ".repeat(300))),
        })
        .collect();
    let (state, alert) = run(&o, None, NOW, thresholds);
    assert_eq!(state.issues.len(), 6000);
    let alert = alert.expect("an alert");
    let message = crate::aws::sns::message_json(&alert, "prod");
    println!("6000 issues: an SNS message of {} bytes", message.len());
    assert!(
        message.len() < 256 * 1024,
        "{} bytes for SNS",
        message.len()
    );
    assert!(alert.subject.len() <= 100);
    assert!(alert.services.len() <= alert::MAX_ALERT_SERVICES);
    assert!(
        alert.issues.last().unwrap().contains("more"),
        "says what was left out"
    );
    assert!(alert.text.contains("Issues (6000):"), "the count is whole");
}

/// One run with silences: evaluate, apply the silences, publish whatever is pending (as
/// run_check does when SNS accepts it). Returns the state and the events published.
fn silenced_run(
    o: &Observations,
    prev: Option<&State>,
    now: OffsetDateTime,
    active: &[crate::silence::Active],
) -> (State, Vec<Alert>) {
    let t = Thresholds::default();
    let (mut s, alert) = run(o, prev, now, t);
    hold::apply(
        &mut s,
        alert.as_ref().map(|a| a.id.as_str()),
        active,
        t.failure_threshold,
        now,
    );
    let published = std::mem::take(&mut s.alerting.pending);
    (s, published)
}

fn silence_of(services: &[&str], until: OffsetDateTime) -> crate::silence::Active {
    crate::silence::Active {
        id: format!("s-{}", services.join("-")),
        services: services.iter().map(|s| s.to_string()).collect(),
        reason: "schema migration".into(),
        until,
    }
}

fn published(alerts: &[Alert]) -> Vec<&str> {
    alerts.iter().map(|a| a.event.as_str()).collect()
}

/// api is silenced for its migration: it degrades and recovers without a word; when the
/// silence is over, one summary tells both, in the incident's thread.
#[test]
fn a_silence_holds_alerts_and_tells_them_when_it_ends() {
    let until = NOW + Duration::minutes(60);
    let silence = [silence_of(&["api"], until)];
    let bad = obs(vec![svc("api", 3, 1), svc("web", 2, 2)]);
    let good = obs(vec![svc("api", 3, 3), svc("web", 2, 2)]);
    let minute = |m: i64| NOW + Duration::minutes(m);
    let (s1, p1) = silenced_run(&bad, None, minute(0), &silence);
    let (s2, p2) = silenced_run(&bad, Some(&s1), minute(5), &silence);
    assert_eq!(
        (published(&p1), published(&p2)),
        (vec![], vec![]),
        "held, not published"
    );
    assert_eq!(s2.alerting.held.len(), 1);
    assert_eq!(
        s2.alerting.announced,
        Overall::Degraded,
        "the memory moves on"
    );
    assert_eq!(s2.silenced, silence, "the state says what is silenced");
    let incident = s2.alerting.incident_id.clone().unwrap();
    let (s3, p3) = silenced_run(&good, Some(&s2), minute(10), &silence);
    assert_eq!(published(&p3), Vec::<&str>::new(), "its recovery too");
    assert_eq!(s3.alerting.held.len(), 2);
    let (s4, p4) = silenced_run(&good, Some(&s3), minute(15), &silence);
    assert!(p4.is_empty() && s4.alerting.held.len() == 2);
    // The silence is over.
    let (s5, p5) = silenced_run(&good, Some(&s4), minute(65), &[]);
    assert_eq!(published(&p5), ["health.silence_summary"]);
    assert!(s5.alerting.held.is_empty() && s5.silenced.is_empty());
    let summary = &p5[0];
    assert_eq!(summary.incident_id, incident);
    assert_eq!(
        summary.subject,
        format!("[ecs-monitor] {incident} 2 alerts held while silenced; now HEALTHY")
    );
    assert!(
        summary
            .text
            .contains("- api (until 2026-11-29T15:35:00Z): schema migration"),
        "{}",
        summary.text
    );
    assert!(
        summary.text.contains("DEGRADED: api: 1/3 tasks running"),
        "{}",
        summary.text
    );
    assert!(summary.text.contains("RECOVERED"), "{}", summary.text);
    assert_eq!(summary.chat.metadata.thread_id, incident);
    let (_, p6) = silenced_run(&good, Some(&s5), minute(70), &[]);
    assert!(p6.is_empty(), "told once");
}

/// Still failing when the silence ends: the summary is the alert (no second one), and it
/// says the status now.
#[test]
fn a_silence_ending_on_a_failure_says_so_once() {
    let silence = [silence_of(&["api"], NOW + Duration::minutes(30))];
    let bad = obs(vec![svc("api", 3, 1)]);
    let (s1, _) = silenced_run(&bad, None, NOW, &silence);
    let (s2, _) = silenced_run(&bad, Some(&s1), NOW + Duration::minutes(5), &silence);
    let (s3, p3) = silenced_run(&bad, Some(&s2), NOW + Duration::minutes(35), &[]);
    assert_eq!(published(&p3), ["health.silence_summary"]);
    assert!(
        p3[0]
            .subject
            .contains("silence over, 1 alert held; now DEGRADED: api: 1/3"),
        "{}",
        p3[0].subject
    );
    assert_eq!(p3[0].services, ["api"]);
    let (_, p4) = silenced_run(&bad, Some(&s3), NOW + Duration::minutes(40), &[]);
    assert!(p4.is_empty());
}

/// A silence of api covers api only: web failing while api's alert is held is told (after
/// the failure threshold), with what was held.
#[test]
fn a_failure_outside_the_silence_is_told() {
    let silence = [silence_of(&["api"], NOW + Duration::minutes(60))];
    let api_bad = obs(vec![svc("api", 3, 1), svc("web", 2, 2)]);
    let both_bad = obs(vec![svc("api", 3, 1), svc("web", 2, 1)]);
    let (s1, _) = silenced_run(&api_bad, None, NOW, &silence);
    let (s2, p2) = silenced_run(&api_bad, Some(&s1), NOW + Duration::minutes(5), &silence);
    assert!(p2.is_empty() && s2.alerting.held.len() == 1);
    let (s3, p3) = silenced_run(&both_bad, Some(&s2), NOW + Duration::minutes(10), &silence);
    assert!(p3.is_empty(), "one bad run of web is below the threshold");
    let (s4, p4) = silenced_run(&both_bad, Some(&s3), NOW + Duration::minutes(15), &silence);
    assert_eq!(published(&p4), ["health.silence_summary"]);
    assert!(
        p4[0]
            .subject
            .contains("DEGRADED outside the silence: web; 1 alert held"),
        "{}",
        p4[0].subject
    );
    assert!(s4.alerting.held.is_empty());
    // Without silences at all, the same web failure is an alert of its own.
    let (n1, _) = silenced_run(&obs(vec![svc("web", 2, 1)]), None, NOW, &[]);
    let (_, n2) = silenced_run(
        &obs(vec![svc("web", 2, 1)]),
        Some(&n1),
        NOW + Duration::minutes(5),
        &[],
    );
    assert_eq!(published(&n2), ["health.degraded"]);
}

/// An endpoint is the whole cluster's: only a silence of the cluster holds its alert.
#[test]
fn only_a_cluster_silence_covers_an_endpoint() {
    let o = http(Err("connection refused".into()), Expectation::default());
    let service_silence = [silence_of(&["api"], NOW + Duration::minutes(60))];
    let (s1, _) = silenced_run(&o, None, NOW, &service_silence);
    let (_, p2) = silenced_run(&o, Some(&s1), NOW + Duration::minutes(5), &service_silence);
    assert_eq!(published(&p2), ["health.unhealthy"], "not covered: alerted");
    let cluster_silence = [silence_of(&[], NOW + Duration::minutes(60))];
    let (s1, _) = silenced_run(&o, None, NOW, &cluster_silence);
    let (s2, p2) = silenced_run(&o, Some(&s1), NOW + Duration::minutes(5), &cluster_silence);
    assert!(p2.is_empty() && s2.alerting.held.len() == 1);
}

/// The EMF records of a state: valid by the specification, the cluster's always (zeros
/// included), the per-service, endpoint and certificate ones only when detailed.
#[test]
fn metrics_of_a_state() {
    use crate::metrics::{MetricsConfig, check_emf, health};
    let mut o = obs(vec![svc("api", 2, 0), svc("web", 1, 1), svc("idle", 0, 0)]);
    o.http = http(resp(200, 42, None), Expectation::default()).http;
    o.tls = tls(
        vec![cert("CN=api.example.com", NOW + Duration::days(20))],
        None,
    )
    .tls;
    let (state, _) = run(&o, None, NOW, Thresholds::default());
    let mut cfg = MetricsConfig {
        namespace: "ECSMonitor".into(),
        detailed: false,
    };
    let lines = health(&state, &cfg);
    assert_eq!(lines.len(), 1, "{lines:?}");
    let r = check_emf(&lines[0]).unwrap();
    assert_eq!(r["Cluster"], "prod");
    assert_eq!(r["_aws"]["Timestamp"], 1_795_962_900_000_i64);
    assert_eq!(r["Status"], 2, "a service without tasks is unhealthy");
    assert_eq!(r["ServicesFailing"], 1);
    assert_eq!(r["ServicesWithoutTasks"], 1, "idle wants none");
    assert_eq!(
        (r["TasksRunning"].clone(), r["TasksDesired"].clone()),
        (1.into(), 3.into())
    );
    assert_eq!(r["EndpointsDown"], 0, "a zero is written, never left out");
    assert_eq!(r["TargetsUnhealthy"], 0);
    assert_eq!(r["EndpointLatencyMs"], serde_json::json!([42]));
    assert_eq!(r["CertificateDaysLeft"], 20);

    cfg.detailed = true;
    let lines = health(&state, &cfg);
    let records: Vec<_> = lines.iter().map(|l| check_emf(l).unwrap()).collect();
    assert_eq!(records.len(), 1 + 3 + 1 + 1);
    let api = records
        .iter()
        .find(|r| r.get("Service") == Some(&"api".into()))
        .unwrap();
    assert_eq!(
        (
            api["Running"].clone(),
            api["Desired"].clone(),
            api["Healthy"].clone()
        ),
        (0.into(), 2.into(), 0.into())
    );
    let web = records
        .iter()
        .find(|r| r.get("Service") == Some(&"web".into()))
        .unwrap();
    assert_eq!(web["Healthy"], 1);
    let ep = records.iter().find(|r| r.contains_key("Endpoint")).unwrap();
    assert_eq!(
        (ep["Up"].clone(), ep["LatencyMs"].clone()),
        (1.into(), 42.into())
    );
    let cert = records.iter().find(|r| r.contains_key("Host")).unwrap();
    assert_eq!(cert["DaysLeft"], 20);
}

/// The checker itself rejects what the specification forbids.
#[test]
fn the_emf_checker_rejects_what_the_specification_forbids() {
    use crate::metrics::check_emf;
    let ok = r#"{"Cluster":"p","N":1,"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"X","Dimensions":[["Cluster"]],"Metrics":[{"Name":"N"}]}]}}"#;
    assert!(check_emf(ok).is_ok());
    for bad in [
        ok.replace(r#""Timestamp":1"#, r#""Timestamp":"1""#),
        ok.replace(r#""Cluster":"p""#, r#""Cluster":1"#),
        ok.replace(r#""N":1"#, r#""N":"1""#),
        ok.replace(r#""Namespace":"X""#, r#""Namespace":"AWS/X""#),
        ok.replace(r#"[{"Name":"N"}]"#, "[]"),
        ok.replace(r#""N":1"#, &format!(r#""N":{:?}"#, vec![1; 101])),
        ok.replace(r#"[["Cluster"]]"#, &format!("[{:?}]", vec!["Cluster"; 31])),
        format!("x{ok}"),
    ] {
        assert!(check_emf(&bad).is_err(), "{bad}");
    }
}
