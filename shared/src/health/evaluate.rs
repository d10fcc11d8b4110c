//! Evaluation: a pure function of (observations, previous state, now). The status rules:
//!
//! | check | healthy | degraded | unhealthy |
//! |---|---|---|---|
//! | service | running = desired, rollout not failed (desired 0 is `scaled_down`; running < desired while the primary deployment rolls out, within the grace, is `deploying`) | running < desired; failed rollout; tasks failed to start | desired > 0 and running 0; `missing` (not in the cluster, or inactive) |
//! | target group | no unhealthy target | some unhealthy or unavailable targets | targets registered, none healthy |
//! | HTTP | accepted status (default 2xx/3xx after redirects), body and latency as expected | – | error, timeout, other status, body or latency not as expected |
//! | TLS | earliest expiry in the chain ≥ warn days | < warn days (14) | expired, < critical days (7), or the chain does not validate |
//!
//! A check that could not run (an AWS call failed) is `unknown`, which counts as degraded:
//! the monitor cannot see. Overall = the worst of all checks.

use super::alert::{self, Decision};
use super::model::*;
use crate::config::Thresholds;
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// What evaluation needs besides the observations.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    pub cluster: &'a str,
    /// The fleet's name for it, when its name alone is ambiguous.
    pub label: Option<&'a str>,
    /// The account it is in, when a fleet knows it.
    pub account: Option<&'a str>,
    pub region: &'a str,
    pub thresholds: Thresholds,
}

/// A circuit breaker's rollback is a failed deployment being undone, never a rollout to wait
/// for. ECS says so in the new primary's reason: "ECS deployment circuit breaker: rolling
/// back to deploymentId ecs-svc/…" (Amazon ECS Developer Guide, deployment circuit breaker).
fn is_rollback(reason: Option<&str>) -> bool {
    reason.is_some_and(|r| r.contains("rolling back"))
}

/// How long the primary deployment has been rolling out, when it is (IN_PROGRESS, not a
/// rollback, and ECS said when it started).
fn rollout_age(o: &ServiceObservation, now: OffsetDateTime) -> Option<time::Duration> {
    (o.rollout_state.as_deref() == Some("IN_PROGRESS") && !is_rollback(o.rollout_reason.as_deref()))
        .then_some(o.rollout_started_at)
        .flatten()
        .map(|t| (now - t).max(time::Duration::ZERO))
}

fn service_state(
    o: &ServiceObservation,
    now: OffsetDateTime,
    t: &Thresholds,
    issues: &mut Vec<String>,
) -> ServiceState {
    let name = &o.name;
    let failed_rollout = o.rollout_state.as_deref() == Some("FAILED");
    let grace = time::Duration::minutes(t.deploy_grace_minutes as i64);
    let rollout = rollout_age(o, now);
    // A task that failed to start is a failure even within the grace: ECS counts it
    // against the circuit breaker.
    let within_grace = rollout.is_some_and(|age| age < grace) && o.failed_tasks == 0;
    // "(rollout stuck for 22 min, grace 15 min)": why a rollout now alerts.
    let past_grace = rollout
        .filter(|age| *age >= grace && t.deploy_grace_minutes > 0)
        .map(|age| {
            format!(
                " (rollout stuck for {} min, grace {} min)",
                age.whole_minutes(),
                t.deploy_grace_minutes
            )
        })
        .unwrap_or_default();
    let status = if o.status != "ACTIVE" {
        issues.push(format!("{name}: service is {}", o.status.to_lowercase()));
        Status::Missing
    } else if o.desired == 0 {
        Status::ScaledDown
    } else if o.running < o.desired && within_grace {
        Status::Deploying
    } else if o.running == 0 {
        issues.push(format!("{name}: 0/{} tasks running{past_grace}", o.desired));
        Status::Unhealthy
    } else {
        let mut degraded = false;
        if o.running < o.desired {
            issues.push(format!(
                "{name}: {}/{} tasks running{past_grace}",
                o.running, o.desired
            ));
            degraded = true;
        }
        if failed_rollout {
            let why = o.rollout_reason.as_deref().unwrap_or("no reason given");
            issues.push(format!("{name}: deployment failed: {why}"));
            degraded = true;
        } else if o.failed_tasks > 0 {
            issues.push(format!(
                "{name}: {} task(s) failed to start in the current deployment",
                o.failed_tasks
            ));
            degraded = true;
        }
        if degraded {
            Status::Degraded
        } else {
            Status::Healthy
        }
    };
    if o.desired == 0 && failed_rollout {
        issues.push(format!("{name}: deployment failed while scaled down"));
    }
    ServiceState {
        name: name.clone(),
        desired: o.desired,
        running: o.running,
        pending: o.pending,
        status,
        rollout_state: o.rollout_state.clone(),
        rollout_reason: o.rollout_reason.clone(),
        rollout_started_at: o.rollout_started_at,
        failed_tasks: o.failed_tasks,
        events: o.events.clone(),
    }
}

fn target_group_state(
    o: &TargetGroupObservation,
    services: Vec<String>,
    issues: &mut Vec<String>,
) -> TargetGroupState {
    let name = target_group_name(&o.arn).to_string();
    let targets = match &o.targets {
        Ok(t) => t,
        Err(e) => {
            issues.push(format!(
                "target group {name}: cannot read target health: {e}"
            ));
            return TargetGroupState {
                name,
                arn: o.arn.clone(),
                healthy: 0,
                unhealthy: 0,
                states: BTreeMap::new(),
                status: Status::Unknown,
                targets: Vec::new(),
                error: Some(e.clone()),
                services,
            };
        }
    };
    let mut states: BTreeMap<String, u32> = BTreeMap::new();
    for t in targets {
        *states.entry(t.state.clone()).or_default() += 1;
    }
    let count = |s: &str| states.get(s).copied().unwrap_or(0);
    let healthy = count("healthy");
    let unhealthy = count("unhealthy") + count("unavailable");
    let serving = targets
        .iter()
        .filter(|t| !matches!(t.state.as_str(), "draining" | "unused"))
        .count();
    let status = if serving > 0 && healthy == 0 && unhealthy > 0 {
        Status::Unhealthy
    } else if unhealthy > 0 {
        Status::Degraded
    } else {
        Status::Healthy
    };
    let bad: Vec<TargetState> = targets
        .iter()
        .filter(|t| t.state != "healthy")
        .map(|t| TargetState {
            id: t.id.clone(),
            port: t.port,
            state: t.state.clone(),
            reason: t.reason.clone(),
            description: t.description.clone(),
        })
        .collect();
    if unhealthy > 0 {
        let first = bad
            .iter()
            .find(|t| matches!(t.state.as_str(), "unhealthy" | "unavailable"));
        let why = first
            .and_then(|t| t.reason.clone().or_else(|| t.description.clone()))
            .map(|r| format!(" ({r})"))
            .unwrap_or_default();
        issues.push(format!(
            "target group {name}: {unhealthy}/{} targets unhealthy{why}",
            targets.len()
        ));
    }
    TargetGroupState {
        name,
        arn: o.arn.clone(),
        healthy,
        unhealthy,
        states,
        status,
        targets: bad,
        error: None,
        services,
    }
}

fn http_state(o: &HttpObservation, issues: &mut Vec<String>) -> HttpState {
    let name = &o.name;
    let (status, error, code, latency, redirects) = match &o.result {
        Err(e) => (Status::Unhealthy, Some(e.clone()), None, None, 0),
        Ok(r) => {
            let problem = if !o.expect.statuses.contains(r.status) {
                Some(format!("status {}", r.status))
            } else if r.body_matched == Some(false) {
                Some("body does not match the expected pattern".to_string())
            } else {
                o.expect
                    .max_latency_ms
                    .filter(|m| r.latency_ms > *m)
                    .map(|max| format!("answered in {} ms, over {max} ms", r.latency_ms))
            };
            let status = if problem.is_some() {
                Status::Unhealthy
            } else {
                Status::Healthy
            };
            (
                status,
                problem,
                Some(r.status),
                Some(r.latency_ms),
                r.redirects,
            )
        }
    };
    if let Some(e) = &error {
        issues.push(format!("http {name}: {e} ({})", o.url));
    }
    HttpState {
        name: name.clone(),
        url: o.url.clone(),
        status_code: code,
        latency_ms: latency,
        redirects,
        status,
        error,
    }
}

/// A TLS check that read no certificate.
fn tls_failure(host: &str, status: Status, error: String) -> TlsState {
    TlsState {
        host: host.to_string(),
        not_after: None,
        days_left: None,
        subject: None,
        issuer: None,
        chain_length: 0,
        status,
        error: Some(error),
    }
}

fn tls_state(
    o: &TlsObservation,
    now: OffsetDateTime,
    t: &Thresholds,
    issues: &mut Vec<String>,
) -> TlsState {
    let host = &o.host;
    let chain = match &o.result {
        Ok(c) if !c.certs.is_empty() => c,
        Ok(_) => {
            issues.push(format!("tls {host}: the server presented no certificate"));
            return tls_failure(host, Status::Unhealthy, "no certificate presented".into());
        }
        Err(e) => {
            issues.push(format!("tls {host}: cannot read the certificate: {e}"));
            return tls_failure(host, Status::Unknown, e.clone());
        }
    };
    let first = chain
        .certs
        .iter()
        .min_by_key(|c| c.not_after)
        .expect("chain is not empty");
    let days_left = (first.not_after - now).whole_days();
    let which = if chain.certs.len() > 1 {
        format!(" ({})", first.subject)
    } else {
        String::new()
    };
    let (status, error) = if first.not_after <= now {
        (
            Status::Unhealthy,
            Some(format!(
                "certificate expired on {}{which}",
                first.not_after.date()
            )),
        )
    } else if let Some(v) = &chain.verify_error {
        (
            Status::Unhealthy,
            Some(format!("certificate does not validate: {v}")),
        )
    } else if days_left < t.cert_critical_days {
        (
            Status::Unhealthy,
            Some(format!("certificate expires in {days_left} days{which}")),
        )
    } else if days_left < t.cert_warn_days {
        (
            Status::Degraded,
            Some(format!("certificate expires in {days_left} days{which}")),
        )
    } else {
        (Status::Healthy, None)
    };
    if let Some(e) = &error {
        issues.push(format!("tls {host}: {e}"));
    }
    TlsState {
        host: host.clone(),
        not_after: Some(first.not_after),
        days_left: Some(days_left),
        subject: Some(first.subject.clone()),
        issuer: Some(first.issuer.clone()),
        chain_length: chain.certs.len(),
        status,
        error,
    }
}

/// Evaluates one run: the new state, and the alert to publish if any.
pub fn evaluate(
    obs: &Observations,
    previous: Option<&State>,
    now: OffsetDateTime,
    ctx: &Context<'_>,
) -> (State, Option<Alert>) {
    let mut issues = Vec::new();
    let mut worst = Overall::Healthy;
    let services: Vec<ServiceState> = match &obs.services {
        Ok(s) => {
            let mut out: Vec<ServiceState> = s
                .found
                .iter()
                .map(|o| service_state(o, now, &ctx.thresholds, &mut issues))
                .collect();
            for name in &s.missing {
                issues.push(format!(
                    "{name}: service not found in cluster {}",
                    ctx.cluster
                ));
                out.push(ServiceState {
                    name: name.clone(),
                    desired: 0,
                    running: 0,
                    pending: 0,
                    status: Status::Missing,
                    rollout_state: None,
                    rollout_reason: None,
                    rollout_started_at: None,
                    failed_tasks: 0,
                    events: Vec::new(),
                });
            }
            out
        }
        Err(e) => {
            issues.push(format!(
                "ecs: cannot describe the services of {}: {e}",
                ctx.cluster
            ));
            worst = worst.max(Overall::Degraded);
            Vec::new()
        }
    };
    let target_groups: Vec<TargetGroupState> = obs
        .target_groups
        .iter()
        .map(|o| {
            // The services registered with it, so a silence of all of them covers it.
            let users = match &obs.services {
                Ok(s) => s
                    .found
                    .iter()
                    .filter(|svc| svc.target_group_arns.contains(&o.arn))
                    .map(|svc| svc.name.clone())
                    .collect(),
                Err(_) => Vec::new(),
            };
            target_group_state(o, users, &mut issues)
        })
        .collect();
    let http: Vec<HttpState> = obs
        .http
        .iter()
        .map(|o| http_state(o, &mut issues))
        .collect();
    let tls: Vec<TlsState> = obs
        .tls
        .iter()
        .map(|o| tls_state(o, now, &ctx.thresholds, &mut issues))
        .collect();
    let overall = services
        .iter()
        .map(|s| s.status)
        .chain(target_groups.iter().map(|t| t.status))
        .chain(http.iter().map(|h| h.status))
        .chain(tls.iter().map(|t| t.status))
        .map(Status::overall)
        .fold(worst, Overall::max);

    let mut state = State {
        schema_version: SCHEMA_VERSION,
        checked_at: now,
        cluster: ctx.cluster.to_string(),
        region: ctx.region.to_string(),
        overall,
        services,
        target_groups,
        http,
        tls,
        issues,
        alerting: Alerting::default(),
        silenced: Vec::new(),
        label: ctx.label.map(str::to_string),
        account: ctx.account.map(str::to_string),
    };
    let Decision { alerting, alert } = alert::decide(&state, previous, now, &ctx.thresholds);
    state.alerting = alerting;
    (state, alert)
}
