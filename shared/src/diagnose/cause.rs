//! Probable cause: short sentences, each with its evidence, ranked from the report's own
//! findings, so that a summary leads with "why" rather than with counts. Pure.
//!
//! | kind | when | rank |
//! |---|---|---|
//! | `failed_deployment` | the service's deployment failed (rolling back or not), or is rolling out with failed tasks; its own stopped tasks as evidence | 1 |
//! | `oom_killed` | a task stopped for running out of memory | 2 |
//! | `cannot_start` | a task could not start (image pull, secrets, network interface) | 3 |
//! | `crash_loop` | [`CRASH_LOOP_STOPS`] or more tasks exited with the same exit code | 4 |
//! | `failing_health_checks` | tasks were stopped for failing their ELB or container health checks | 5 |
//! | `targets_unhealthy` | load balancer targets fail its health checks, with its reason | 6 |
//! | `panic` | the logs hold a panic or a fatal error | 7 |
//! | `out_of_memory` | the logs hold an out-of-memory error (and no task was OOM-killed, which says more) | 8 |
//! | `dependency_down` | most connection errors name one `host:port` (the first occurrence of each kind: fingerprints mask addresses) | 9 |
//! | `new_since_deployment` | at least [`NEW_ERRORS_MIN`] errors of kinds not seen before the deployment started (it started within the two windows read) | 10 |
//! | `new_errors` | otherwise, at least [`NEW_ERRORS_MIN`] errors of a kind the previous window did not have | 11 |
//!
//! Several services may each have causes: all are ranked together, the most severe first.

use super::report::{Report, ServiceReport, StoppedTask};
use super::stops::StopKind;
use crate::classify::Category;
use crate::health::alert::cut;
use regex::Regex;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::LazyLock;

/// This many stops with one exit code in a window are a crash loop.
pub const CRASH_LOOP_STOPS: usize = 3;
/// Fewer new errors than this are not a cause, only noise of a new kind.
pub const NEW_ERRORS_MIN: u64 = 5;
/// Connection errors to one address at least this share of all of a service's are a
/// dependency down (rather than a flaky network).
const ONE_ADDRESS_SHARE: f64 = 0.8;
/// Connection errors fewer than this are no outage of a dependency.
const DEPENDENCY_ERRORS_MIN: u64 = 5;
/// Evidence lines per cause at most.
const MAX_EVIDENCE: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CauseKind {
    FailedDeployment,
    OomKilled,
    CannotStart,
    CrashLoop,
    FailingHealthChecks,
    TargetsUnhealthy,
    Panic,
    OutOfMemory,
    DependencyDown,
    NewSinceDeployment,
    NewErrors,
}

/// One probable cause.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cause {
    pub service: String,
    pub kind: CauseKind,
    /// "api: 2 tasks were killed for running out of memory".
    pub sentence: String,
    /// What it rests on: stop reasons, error fingerprints with counts.
    pub evidence: Vec<String>,
}

/// A `host:port` in a connection error: `dial tcp 10.0.8.0:5432`, `db.internal:5432`,
/// `[fd00::1]:6379`.
static ADDRESS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?x)
        (?P<addr>
            \[[0-9A-Fa-f:]+\]                      # an IPv6 address in brackets
          | (?-u:\b)[A-Za-z][A-Za-z0-9-]*(?:\.[A-Za-z0-9-]+)*   # a host name (not a time: it starts with a letter)
          | (?-u:\b)\d{1,3}(?:\.\d{1,3}){3}        # an IPv4 address
        )
        :(?P<port>\d{2,5})(?-u:\b)
        ",
    )
    .expect("a valid address pattern")
});

/// The `host:port` a connection error names, if any (a time like `14:35:27` is not one).
fn address(sample: &str) -> Option<String> {
    ADDRESS
        .captures_iter(sample)
        .filter(|c| c["port"].parse::<u32>().is_ok_and(|p| p <= 65_535))
        .map(|c| format!("{}:{}", &c["addr"], &c["port"]))
        .next()
}

fn stop_line(t: &StoppedTask) -> String {
    let at = t
        .stopped_at
        .map(crate::timefmt::rfc3339)
        .unwrap_or_default();
    let exit = t
        .exit_code
        .map(|c| format!(" (exit {c})"))
        .unwrap_or_default();
    cut(format!(
        "{at} task {} stopped: {}{exit}",
        t.task,
        t.reason.as_deref().unwrap_or("no reason given")
    ))
}

fn tasks(n: usize) -> String {
    if n == 1 {
        "1 task".into()
    } else {
        format!("{n} tasks")
    }
}

fn stop_causes(s: &ServiceReport, out: &mut Vec<Cause>) {
    let stops = &s.restarts.stopped_tasks;
    let of_kind = |k: StopKind| stops.iter().filter(move |t| t.kind == k);
    // The stops, and what the newest of them wrote last (its own stream): a crash's last
    // words are often the reason.
    let mut add = |kind: CauseKind, sentence: String, evidence: Vec<&StoppedTask>| {
        let last_words: Vec<String> = evidence
            .iter()
            .filter(|t| !t.last_lines.is_empty())
            .max_by_key(|t| t.stopped_at)
            .map(|t| {
                let n = t.last_lines.len();
                t.last_lines[n.saturating_sub(2)..]
                    .iter()
                    .map(|l| cut(format!("task {} wrote last: {l}", t.task)))
                    .collect()
            })
            .unwrap_or_default();
        let stops = MAX_EVIDENCE.saturating_sub(last_words.len()).max(1);
        out.push(Cause {
            service: s.service.clone(),
            kind,
            sentence,
            evidence: evidence
                .into_iter()
                .take(stops)
                .map(stop_line)
                .chain(last_words)
                .take(MAX_EVIDENCE)
                .collect(),
        });
    };
    let oom: Vec<&StoppedTask> = stops.iter().filter(|t| t.oom).collect();
    if !oom.is_empty() {
        // The limit they ran under, from their task definition, when all say the same.
        let limits: std::collections::BTreeSet<i32> =
            oom.iter().filter_map(|t| t.memory_limit_mib).collect();
        let limit = match (limits.len(), limits.first()) {
            (1, Some(l)) if oom.iter().all(|t| t.memory_limit_mib.is_some()) => {
                format!(" (memory limit {l} MiB)")
            }
            _ => String::new(),
        };
        add(
            CauseKind::OomKilled,
            format!(
                "{}: {} killed for running out of memory{limit}",
                s.service,
                match oom.len() {
                    1 => "1 task was".to_string(),
                    n => format!("{n} tasks were"),
                }
            ),
            oom,
        );
    }
    let start: Vec<&StoppedTask> = of_kind(StopKind::FailedToStart).collect();
    if !start.is_empty() {
        add(
            CauseKind::CannotStart,
            format!("{}: {} could not start", s.service, tasks(start.len())),
            start,
        );
    }
    // Exits by exit code (OOM kills are told above).
    let mut by_code: BTreeMap<i32, Vec<&StoppedTask>> = BTreeMap::new();
    for t in stops
        .iter()
        .filter(|t| !t.oom && t.kind != StopKind::FailedToStart)
    {
        if let Some(code) = t.exit_code {
            by_code.entry(code).or_default().push(t);
        }
    }
    if let Some((code, loop_)) = by_code
        .into_iter()
        .filter(|(_, ts)| ts.len() >= CRASH_LOOP_STOPS)
        .max_by_key(|(_, ts)| ts.len())
    {
        let times: Vec<_> = loop_.iter().filter_map(|t| t.stopped_at).collect();
        let span = match (times.iter().min(), times.iter().max()) {
            (Some(a), Some(b)) if b > a => {
                format!(" in {}", crate::health::alert::human_duration(*b - *a))
            }
            _ => String::new(),
        };
        add(
            CauseKind::CrashLoop,
            format!(
                "{} is crash-looping: {} stopped{span}, each with exit code {code}",
                s.service,
                tasks(loop_.len())
            ),
            loop_,
        );
    }
    let checks: Vec<&StoppedTask> = of_kind(StopKind::FailedHealthCheck).collect();
    if !checks.is_empty() {
        add(
            CauseKind::FailingHealthChecks,
            format!(
                "{}: {} stopped for failing health checks",
                s.service,
                tasks(checks.len())
            ),
            checks,
        );
    }
}

fn deployment_causes(s: &ServiceReport, out: &mut Vec<Cause>) {
    let Some(d) = &s.deployment else { return };
    let rev = d
        .task_definition
        .as_deref()
        .map(|r| format!(" ({r})"))
        .unwrap_or_default();
    let sentence = if d.failed() {
        let back = d
            .rolling_back_to
            .as_deref()
            .map(|r| format!(" and is rolling back to {r}"))
            .unwrap_or_default();
        let why = d
            .reason
            .as_deref()
            .map(|r| format!(": {r}"))
            .unwrap_or_default();
        format!("{}: deployment {}{rev} failed{back}{why}", s.service, d.id)
    } else if d.rollout_state.as_deref() == Some("IN_PROGRESS") && d.failed_tasks > 0 {
        format!(
            "{}: deployment {}{rev} is failing: {} of its tasks failed",
            s.service, d.id, d.failed_tasks
        )
    } else {
        return;
    };
    // Its own tasks' stops (Task.startedBy is the deployment's id), newest first.
    let mut evidence: Vec<String> = s
        .restarts
        .stopped_tasks
        .iter()
        .rev()
        .filter(|t| t.started_by.as_deref() == Some(d.id.as_str()))
        .take(MAX_EVIDENCE)
        .map(stop_line)
        .collect();
    if evidence.is_empty() && d.failed_tasks > 0 {
        evidence.push(format!(
            "ECS counts {} failed task{} of {}",
            d.failed_tasks,
            if d.failed_tasks == 1 { "" } else { "s" },
            d.id
        ));
    }
    out.push(Cause {
        service: s.service.clone(),
        kind: CauseKind::FailedDeployment,
        sentence: cut(sentence),
        evidence,
    });
}

fn target_causes(s: &ServiceReport, out: &mut Vec<Cause>) {
    let Some(t) = &s.targets else { return };
    let bad: Vec<_> = t.unhealthy().collect();
    if bad.is_empty() {
        return;
    }
    // The load balancer's most frequent words for them lead.
    let mut why: BTreeMap<&str, usize> = BTreeMap::new();
    for b in &bad {
        if let Some(w) = b.description.as_deref().or(b.reason.as_deref()) {
            *why.entry(w).or_default() += 1;
        }
    }
    let why = why
        .into_iter()
        .max_by_key(|(_, n)| *n)
        .map(|(w, _)| format!(": {w}"))
        .unwrap_or_default();
    out.push(Cause {
        service: s.service.clone(),
        kind: CauseKind::TargetsUnhealthy,
        sentence: cut(format!(
            "{}: {} of {} load balancer targets fail its health checks{why}",
            s.service,
            bad.len(),
            t.total
        )),
        evidence: bad
            .iter()
            .take(MAX_EVIDENCE)
            .map(|b| {
                cut(format!(
                    "{} {} {}: {}{}",
                    b.target_group,
                    b.target,
                    b.state,
                    b.reason.as_deref().unwrap_or("no reason given"),
                    b.description
                        .as_deref()
                        .map(|d| format!(" ({d})"))
                        .unwrap_or_default()
                ))
            })
            .collect(),
    });
}

fn log_causes(s: &ServiceReport, out: &mut Vec<Cause>) {
    let count_line = |e: &super::report::TopError| {
        cut(format!(
            "{} × {}: {}",
            e.count,
            e.category.as_str(),
            e.fingerprint
        ))
    };
    let severe: Vec<_> = s
        .top_errors
        .iter()
        .filter(|e| matches!(e.category, Category::Panic | Category::Fatal))
        .collect();
    if let Some(first) = severe.first() {
        let what = first.sample.lines().next().unwrap_or(&first.fingerprint);
        out.push(Cause {
            service: s.service.clone(),
            kind: CauseKind::Panic,
            sentence: cut(format!(
                "{} {}: {what}",
                s.service,
                if first.category == Category::Panic {
                    "panicked"
                } else {
                    "hit a fatal error"
                }
            )),
            evidence: severe
                .iter()
                .take(MAX_EVIDENCE)
                .map(|e| count_line(e))
                .collect(),
        });
    }
    // Out of memory in the process (a heap, an allocation), not told by a container's OOM
    // kill (whose cause, above, says more).
    let oom: Vec<_> = s
        .top_errors
        .iter()
        .filter(|e| e.category == Category::Oom)
        .collect();
    let killed = s.restarts.stopped_tasks.iter().any(|t| t.oom);
    if let Some(first) = oom.first()
        && !killed
    {
        let what = first.sample.lines().next().unwrap_or(&first.fingerprint);
        out.push(Cause {
            service: s.service.clone(),
            kind: CauseKind::OutOfMemory,
            sentence: cut(format!("{} ran out of memory: {what}", s.service)),
            evidence: oom
                .iter()
                .take(MAX_EVIDENCE)
                .map(|e| count_line(e))
                .collect(),
        });
    }
    // Connection errors by the address their first occurrence names.
    let connection: Vec<_> = s
        .top_errors
        .iter()
        .filter(|e| e.category == Category::ConnectionError)
        .collect();
    let total = s
        .categories
        .get(&Category::ConnectionError)
        .copied()
        .unwrap_or(0);
    let mut by_address: BTreeMap<String, (u64, Vec<&super::report::TopError>)> = BTreeMap::new();
    for e in &connection {
        if let Some(a) = address(&e.sample) {
            let entry = by_address.entry(a).or_default();
            entry.0 += e.count;
            entry.1.push(e);
        }
    }
    if let Some((addr, (n, errors))) = by_address.into_iter().max_by_key(|(_, (n, _))| *n)
        && n >= DEPENDENCY_ERRORS_MIN
        && n as f64 >= ONE_ADDRESS_SHARE * total as f64
    {
        out.push(Cause {
            service: s.service.clone(),
            kind: CauseKind::DependencyDown,
            // A fingerprint masks addresses: its errors are known to resemble the first,
            // whose address is the one named.
            sentence: format!(
                "{} cannot reach a dependency: {n} connection errors, the first to {addr}",
                s.service
            ),
            evidence: errors
                .iter()
                .take(MAX_EVIDENCE)
                .map(|e| count_line(e))
                .collect(),
        });
    }
    // New errors: since the deployment when the windows can tell, else since the previous
    // window; one cause, not both.
    // Told by their own causes above.
    let not_severe = |e: &&super::report::TopError| {
        !matches!(
            e.category,
            Category::Panic | Category::Fatal | Category::Oom
        )
    };
    let since: Vec<_> = s
        .top_errors
        .iter()
        .filter(|e| e.since_deployment)
        .filter(not_severe)
        .collect();
    let new: Vec<_> = s
        .top_errors
        .iter()
        .filter(|e| e.new)
        .filter(not_severe)
        .collect();
    let (kind, errors, what) = match (&s.deployment, since.iter().map(|e| e.count).sum::<u64>()) {
        (Some(d), n) if n >= NEW_ERRORS_MIN => (
            CauseKind::NewSinceDeployment,
            since,
            format!(
                "{n} errors of kinds not seen before deployment {}{} started{}",
                d.id,
                d.task_definition
                    .as_deref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default(),
                d.started_at
                    .map(|t| format!(" at {}", crate::timefmt::rfc3339(t)))
                    .unwrap_or_default()
            ),
        ),
        _ => {
            let n: u64 = new.iter().map(|e| e.count).sum();
            (
                CauseKind::NewErrors,
                new,
                format!("{n} errors of kinds the previous window did not have"),
            )
        }
    };
    if errors.iter().map(|e| e.count).sum::<u64>() >= NEW_ERRORS_MIN {
        out.push(Cause {
            service: s.service.clone(),
            kind,
            sentence: format!("{}: {what}", s.service),
            evidence: errors
                .iter()
                .take(MAX_EVIDENCE)
                .map(|e| count_line(e))
                .collect(),
        });
    }
}

/// The probable causes of `report`, most severe first (by kind, then by the report's service
/// order). Empty when nothing qualifies: a summary then says there is no clear cause.
pub fn rank(report: &Report) -> Vec<Cause> {
    let mut out = Vec::new();
    for s in report.services.iter().filter(|s| s.status.is_problem()) {
        deployment_causes(s, &mut out);
        stop_causes(s, &mut out);
        target_causes(s, &mut out);
        log_causes(s, &mut out);
    }
    // Stable: services keep their order within a kind.
    out.sort_by_key(|c| c.kind);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::report::*;
    use std::collections::BTreeMap;
    use time::macros::datetime;

    fn service(name: &str) -> ServiceReport {
        ServiceReport {
            service: name.into(),
            log_group: format!("/ecs/{name}"),
            log_groups: vec![],
            log_group_errors: vec![],
            status: ServiceStatus::Degraded,
            events_scanned: 100,
            health_noise: 0,
            errors_total: 0,
            categories: BTreeMap::new(),
            http_status: BTreeMap::new(),
            top_errors: vec![],
            restarts: Restarts::default(),
            previous_window: Counts::default(),
            truncated: false,
            error: None,
            deployment: None,
            targets: None,
            errors_over_time: None,
        }
    }

    fn stop(
        task: &str,
        minute: u8,
        kind: StopKind,
        exit: Option<i32>,
        reason: &str,
    ) -> StoppedTask {
        StoppedTask {
            task: task.into(),
            stopped_at: Some(
                datetime!(2026-12-02 10:00 UTC) + time::Duration::minutes(minute.into()),
            ),
            stop_code: Some("EssentialContainerExited".into()),
            reason: Some(reason.into()),
            exit_code: exit,
            kind,
            oom: kind == StopKind::Oom,
            source: Default::default(),
            memory_limit_mib: None,
            last_lines: vec![],
            started_by: None,
        }
    }

    fn error(category: Category, count: u64, sample: &str, new: bool) -> TopError {
        let t = datetime!(2026-12-02 10:00 UTC);
        TopError {
            fingerprint: crate::classify::fingerprint(sample, None),
            category,
            count,
            first_seen: t,
            last_seen: t,
            sample: sample.into(),
            new,
            since_deployment: false,
        }
    }

    fn report(services: Vec<ServiceReport>) -> Report {
        crate::ports::fakes::report(datetime!(2026-12-02 11:00 UTC), "", services)
    }

    fn with_errors(name: &str, errors: Vec<TopError>) -> ServiceReport {
        let mut s = service(name);
        for e in &errors {
            *s.categories.entry(e.category).or_default() += e.count;
            s.errors_total += e.count;
        }
        s.top_errors = errors;
        s
    }

    #[test]
    fn address_of_a_connection_error() {
        for (sample, want) in [
            (
                "ERROR dial tcp 10.0.8.0:5432: connect: connection refused",
                Some("10.0.8.0:5432"),
            ),
            (
                "could not connect to db.internal:5432: Connection refused",
                Some("db.internal:5432"),
            ),
            ("redis [fd00::1]:6379 ECONNREFUSED", Some("[fd00::1]:6379")),
            (
                "connect ECONNREFUSED 127.0.0.1:6379",
                Some("127.0.0.1:6379"),
            ),
            ("14:35:27 connection reset by peer", None),
            ("2026-12-02T10:00:00Z ERROR connection refused", None),
            ("port 99999 of host:99999 refused", None),
            ("no address here: connection refused", None),
        ] {
            assert_eq!(address(sample).as_deref(), want, "{sample:?}");
        }
    }

    #[test]
    fn an_oom_kill_leads_and_says_which_tasks() {
        let mut api = with_errors(
            "api",
            vec![error(
                Category::Timeout,
                9,
                "ERROR upstream timed out",
                true,
            )],
        );
        api.restarts.stopped_tasks = vec![stop(
            "7f3c9a1e",
            5,
            StopKind::Oom,
            Some(137),
            "OutOfMemoryError: Container killed due to memory usage",
        )];
        let causes = rank(&report(vec![api]));
        let kinds: Vec<CauseKind> = causes.iter().map(|c| c.kind).collect();
        assert_eq!(kinds, [CauseKind::OomKilled, CauseKind::NewErrors]);
        assert_eq!(
            causes[0].sentence,
            "api: 1 task was killed for running out of memory"
        );
        assert_eq!(
            causes[0].evidence,
            [
                "2026-12-02T10:05:00Z task 7f3c9a1e stopped: OutOfMemoryError: Container killed due to memory usage (exit 137)"
            ]
        );
    }

    /// The task definition's memory limit and the task's last lines join the OOM cause.
    #[test]
    fn an_oom_kill_names_its_memory_limit_and_last_words() {
        let mut api = service("api");
        let mut a = stop(
            "a",
            1,
            StopKind::Oom,
            Some(137),
            "OutOfMemoryError: Container killed due to memory usage",
        );
        let mut b = stop(
            "b",
            3,
            StopKind::Oom,
            Some(137),
            "OutOfMemoryError: Container killed due to memory usage",
        );
        a.memory_limit_mib = Some(512);
        b.memory_limit_mib = Some(512);
        b.last_lines = vec![
            "warming cache".into(),
            "loaded 2,000,000 items".into(),
            "resizing to 4,000,000".into(),
        ];
        api.restarts.stopped_tasks = vec![a.clone(), b.clone()];
        let causes = rank(&report(vec![api.clone()]));
        assert_eq!(
            causes[0].sentence,
            "api: 2 tasks were killed for running out of memory (memory limit 512 MiB)"
        );
        assert_eq!(
            causes[0].evidence,
            [
                "2026-12-02T10:01:00Z task a stopped: OutOfMemoryError: Container killed due to memory usage (exit 137)",
                "task b wrote last: loaded 2,000,000 items",
                "task b wrote last: resizing to 4,000,000"
            ]
        );
        // Limits that differ (or are unknown for one) are not summed up in one figure.
        b.memory_limit_mib = Some(1024);
        api.restarts.stopped_tasks = vec![a, b];
        let causes = rank(&report(vec![api]));
        assert_eq!(
            causes[0].sentence,
            "api: 2 tasks were killed for running out of memory"
        );
    }

    #[test]
    fn a_crash_loop_is_three_stops_with_one_exit_code() {
        let mut api = service("api");
        api.restarts.stopped_tasks = vec![
            stop(
                "a",
                1,
                StopKind::Exited,
                Some(1),
                "Essential container in task exited",
            ),
            stop(
                "b",
                4,
                StopKind::Exited,
                Some(1),
                "Essential container in task exited",
            ),
            stop(
                "c",
                13,
                StopKind::Exited,
                Some(1),
                "Essential container in task exited",
            ),
            stop(
                "d",
                14,
                StopKind::Exited,
                Some(2),
                "Essential container in task exited",
            ),
        ];
        let causes = rank(&report(vec![api.clone()]));
        assert_eq!(causes.len(), 1, "{causes:?}");
        assert_eq!(
            causes[0].sentence,
            "api is crash-looping: 3 tasks stopped in 12 min, each with exit code 1"
        );
        assert_eq!(causes[0].evidence.len(), 3);
        api.restarts.stopped_tasks.truncate(2);
        assert_eq!(rank(&report(vec![api])), [], "two stops are no loop");
    }

    #[test]
    fn stops_that_tell_their_own_cause() {
        let mut web = service("web");
        web.restarts.stopped_tasks = vec![
            stop(
                "s1",
                1,
                StopKind::FailedToStart,
                None,
                "CannotPullContainerError: pull image manifest has been retried 5 time(s)",
            ),
            stop(
                "h1",
                2,
                StopKind::FailedHealthCheck,
                Some(143),
                "Task failed ELB health checks in (target-group arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/web/1)",
            ),
        ];
        let causes = rank(&report(vec![web]));
        let got: Vec<(&str, CauseKind)> = causes
            .iter()
            .map(|c| (c.sentence.as_str(), c.kind))
            .collect();
        assert_eq!(
            got,
            [
                ("web: 1 task could not start", CauseKind::CannotStart),
                (
                    "web: 1 task stopped for failing health checks",
                    CauseKind::FailingHealthChecks
                ),
            ]
        );
        assert!(causes[0].evidence[0].contains("CannotPullContainerError"));
    }

    #[test]
    fn a_dependency_down_is_most_connection_errors_to_one_address() {
        let refused =
            "2026-12-02T10:12:35Z ERROR dial tcp 10.0.8.0:5432: connect: connection refused";
        let api = with_errors(
            "api",
            vec![
                error(Category::ConnectionError, 20, refused, false),
                error(
                    Category::ConnectionError,
                    2,
                    "ERROR read: connection reset by peer",
                    false,
                ),
            ],
        );
        let causes = rank(&report(vec![api]));
        assert_eq!(causes.len(), 1, "{causes:?}");
        assert_eq!(
            causes[0].sentence,
            "api cannot reach a dependency: 20 connection errors, the first to 10.0.8.0:5432"
        );
        // Spread over several addresses, or too few: no single dependency.
        let spread = with_errors(
            "api",
            vec![
                error(
                    Category::ConnectionError,
                    10,
                    "dial tcp 10.0.8.0:5432: connection refused",
                    false,
                ),
                error(
                    Category::ConnectionError,
                    10,
                    "dial tcp 10.0.9.9:6379: connection refused",
                    false,
                ),
            ],
        );
        assert_eq!(rank(&report(vec![spread])), []);
        let few = with_errors(
            "api",
            vec![error(Category::ConnectionError, 4, refused, false)],
        );
        assert_eq!(rank(&report(vec![few])), []);
    }

    #[test]
    fn a_panic_is_named_by_its_first_line() {
        let api = with_errors(
            "api",
            vec![error(
                Category::Panic,
                1,
                "panic: runtime error: invalid memory address or nil pointer dereference\n[signal SIGSEGV: segmentation violation]",
                true,
            )],
        );
        let causes = rank(&report(vec![api]));
        assert_eq!(
            causes[0].sentence,
            "api panicked: panic: runtime error: invalid memory address or nil pointer dereference"
        );
        assert_eq!(causes.len(), 1, "a new panic is told once: {causes:?}");
    }

    #[test]
    fn few_or_old_errors_and_healthy_services_have_no_cause() {
        let old = with_errors(
            "api",
            vec![error(Category::Error, 50, "ERROR cache miss storm", false)],
        );
        let few_new = with_errors(
            "web",
            vec![error(Category::Error, 4, "ERROR new thing", true)],
        );
        let mut healthy = with_errors(
            "batch",
            vec![error(Category::Panic, 1, "panic: boom", true)],
        );
        healthy.status = ServiceStatus::Healthy;
        assert_eq!(rank(&report(vec![old, few_new, healthy])), []);
    }

    #[test]
    fn causes_of_several_services_are_ranked_together() {
        let api = with_errors(
            "api",
            vec![error(Category::Error, 8, "ERROR checkout failed", true)],
        );
        let mut worker = service("worker");
        worker.restarts.stopped_tasks =
            vec![stop("w1", 3, StopKind::Oom, Some(137), "OutOfMemoryError")];
        let causes = rank(&report(vec![api, worker]));
        let got: Vec<(&str, CauseKind)> = causes
            .iter()
            .map(|c| (c.service.as_str(), c.kind))
            .collect();
        assert_eq!(
            got,
            [
                ("worker", CauseKind::OomKilled),
                ("api", CauseKind::NewErrors)
            ]
        );
    }

    fn deployment(state: &str, failed_tasks: i32, back: Option<&str>) -> DeploymentReport {
        DeploymentReport {
            id: "ecs-svc/43".into(),
            task_definition: Some("app:43".into()),
            rollout_state: Some(state.into()),
            reason: (state == "FAILED")
                .then(|| "ECS deployment circuit breaker: tasks failed to start.".into()),
            started_at: Some(datetime!(2026-12-02 10:20 UTC)),
            failed_tasks,
            rolling_back_to: back.map(Into::into),
        }
    }

    #[test]
    fn a_failed_deployment_leads_with_its_own_tasks_stops() {
        let mut api = service("api");
        api.deployment = Some(deployment("FAILED", 3, Some("app:42")));
        let mut own = stop(
            "d1",
            25,
            StopKind::Exited,
            Some(1),
            "Essential container in task exited",
        );
        own.started_by = Some("ecs-svc/43".into());
        let mut other = stop(
            "o1",
            5,
            StopKind::Exited,
            Some(1),
            "Essential container in task exited",
        );
        other.started_by = Some("ecs-svc/42".into());
        api.restarts.stopped_tasks = vec![other, own];
        let causes = rank(&report(vec![api.clone()]));
        assert_eq!(causes[0].kind, CauseKind::FailedDeployment);
        assert_eq!(
            causes[0].sentence,
            "api: deployment ecs-svc/43 (app:43) failed and is rolling back to app:42: ECS deployment circuit breaker: tasks failed to start."
        );
        assert_eq!(
            causes[0].evidence,
            ["2026-12-02T10:25:00Z task d1 stopped: Essential container in task exited (exit 1)"],
            "only the deployment's own tasks"
        );
        // No stopped task of its own at hand: ECS's count says it.
        api.restarts.stopped_tasks.clear();
        api.deployment = Some(deployment("FAILED", 3, None));
        let causes = rank(&report(vec![api.clone()]));
        assert_eq!(
            causes[0].sentence,
            "api: deployment ecs-svc/43 (app:43) failed: ECS deployment circuit breaker: tasks failed to start."
        );
        assert_eq!(
            causes[0].evidence,
            ["ECS counts 3 failed tasks of ecs-svc/43"]
        );
        // Rolling out with failed tasks: failing, not yet failed.
        api.deployment = Some(deployment("IN_PROGRESS", 2, None));
        assert_eq!(
            rank(&report(vec![api.clone()]))[0].sentence,
            "api: deployment ecs-svc/43 (app:43) is failing: 2 of its tasks failed"
        );
        // Rolling out or completed without a failure: no cause.
        for (state, failed) in [("IN_PROGRESS", 0), ("COMPLETED", 0)] {
            api.deployment = Some(deployment(state, failed, None));
            assert_eq!(rank(&report(vec![api.clone()])), [], "{state}");
        }
    }

    #[test]
    fn unhealthy_targets_say_the_load_balancers_reason() {
        let target = |id: &str, state: &str, reason: &str, description: &str| TargetReport {
            target_group: "api-tg".into(),
            target: format!("{id}:8080"),
            state: state.into(),
            reason: Some(reason.into()),
            description: Some(description.into()),
        };
        let mut api = service("api");
        api.targets = Some(TargetsReport {
            total: 4,
            not_healthy: vec![
                target(
                    "10.0.1.5",
                    "unhealthy",
                    "Target.ResponseCodeMismatch",
                    "Health checks failed with these codes: [502]",
                ),
                target(
                    "10.0.1.6",
                    "unhealthy",
                    "Target.ResponseCodeMismatch",
                    "Health checks failed with these codes: [502]",
                ),
                target(
                    "10.0.1.7",
                    "unhealthy",
                    "Target.Timeout",
                    "Request timed out",
                ),
                target(
                    "10.0.1.8",
                    "draining",
                    "Target.DeregistrationInProgress",
                    "Target deregistration is in progress",
                ),
            ],
            unavailable: vec![],
        });
        let causes = rank(&report(vec![api.clone()]));
        assert_eq!(causes.len(), 1);
        assert_eq!(causes[0].kind, CauseKind::TargetsUnhealthy);
        assert_eq!(
            causes[0].sentence,
            "api: 3 of 4 load balancer targets fail its health checks: Health checks failed with these codes: [502]"
        );
        assert_eq!(
            causes[0].evidence[2],
            "api-tg 10.0.1.7:8080 unhealthy: Target.Timeout (Request timed out)"
        );
        // Draining alone is no failure.
        api.targets.as_mut().unwrap().not_healthy.drain(..3);
        assert_eq!(rank(&report(vec![api])), []);
    }

    #[test]
    fn errors_new_since_the_deployment_replace_new_since_the_previous_window() {
        let mut since = error(
            Category::Exception,
            6,
            "java.lang.IllegalStateException: inventory missing",
            true,
        );
        since.since_deployment = true;
        let older = error(Category::Error, 9, "ERROR cache miss", true);
        let mut api = with_errors("api", vec![since, older]);
        api.deployment = Some(deployment("COMPLETED", 0, None));
        let causes = rank(&report(vec![api.clone()]));
        assert_eq!(causes.len(), 1, "{causes:?}");
        assert_eq!(causes[0].kind, CauseKind::NewSinceDeployment);
        assert_eq!(
            causes[0].sentence,
            "api: 6 errors of kinds not seen before deployment ecs-svc/43 (app:43) started at 2026-12-02T10:20:00Z"
        );
        assert_eq!(causes[0].evidence.len(), 1);
        // Too few since the deployment: the previous window's comparison speaks.
        api.top_errors[0].count = 2;
        let causes = rank(&report(vec![api]));
        assert_eq!(causes[0].kind, CauseKind::NewErrors);
        assert_eq!(causes[0].evidence.len(), 2);
    }

    /// An out-of-memory error in the logs is a cause of its own, unless a task was OOM-killed
    /// (that cause says more); it is not counted again among the new errors.
    #[test]
    fn an_out_of_memory_error_in_the_logs() {
        let mut api = with_errors(
            "api",
            vec![
                error(
                    Category::Oom,
                    2,
                    "java.lang.OutOfMemoryError: Java heap space",
                    true,
                ),
                error(Category::Error, 4, "ERROR checkout failed", true),
            ],
        );
        let causes = rank(&report(vec![api.clone()]));
        assert_eq!(causes.len(), 1, "{causes:?}");
        assert_eq!(causes[0].kind, CauseKind::OutOfMemory);
        assert_eq!(
            causes[0].sentence,
            "api ran out of memory: java.lang.OutOfMemoryError: Java heap space"
        );
        api.restarts.stopped_tasks =
            vec![stop("k1", 3, StopKind::Oom, Some(137), "OutOfMemoryError")];
        let kinds: Vec<_> = rank(&report(vec![api])).iter().map(|c| c.kind).collect();
        assert_eq!(kinds, [CauseKind::OomKilled]);
    }
}
