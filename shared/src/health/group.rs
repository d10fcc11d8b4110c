//! Fleet mode's regional alerts (pure): the alerts one run decided for its clusters, grouped
//! so that many clusters of one region failing (or recovering) at once are one alert that
//! lists them, not dozens; a region with fewer keeps each cluster's own alert.

use super::alert::{cut, subject_line};
use super::model::{Alert, Overall};
use crate::notify::{Card, Event, Message, Notification};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Clusters of one region changing together that make one regional alert, by default.
pub const GROUP_MIN: usize = 3;

/// An alert decided for one cluster of a fleet, kept in the run's outbox until the run's
/// alerts are sent together.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pending {
    /// `account/region/cluster` as the fleet names it.
    pub label: String,
    /// The cluster's name (the machine message's `cluster`).
    pub cluster: String,
    pub region: String,
    pub alert: Alert,
}

/// What to publish.
#[derive(Debug, Clone)]
pub enum Outgoing {
    /// A cluster's own alert, as it was decided (boxed: an alert is large).
    One(Box<Pending>),
    /// One alert for a region, and the outbox names of the alerts it stands for.
    Regional(Box<Notification>, Vec<String>),
}

impl Pending {
    /// Its name in the run's outbox: unique per cluster and decision, safe in an S3 key.
    pub fn outbox_name(&self) -> String {
        format!("{}_{}", self.label, self.alert.id)
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "._-".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    }
}

impl Outgoing {
    /// The outbox names of the alerts this message stands for.
    pub fn names(&self) -> Vec<String> {
        match self {
            Outgoing::One(p) => vec![p.outbox_name()],
            Outgoing::Regional(_, names) => names.clone(),
        }
    }
}

/// Which alerts group: a region's failures together (degraded or unhealthy), its recoveries
/// together; reminders and silence summaries stay each cluster's own.
fn kind(e: Event) -> Option<&'static str> {
    match e {
        Event::HealthDegraded | Event::HealthUnhealthy => Some("failing"),
        Event::HealthRecovered => Some("recovered"),
        _ => None,
    }
}

/// The run's alerts, grouped: per region and kind, `min` or more clusters make one regional
/// alert (in the thread `<region>-<run>`); fewer keep their own. Regions and clusters in
/// order.
pub fn group(mut pending: Vec<Pending>, min: usize, run: &str) -> Vec<Outgoing> {
    pending.sort_by(|a, b| (&a.region, &a.label).cmp(&(&b.region, &b.label)));
    let mut groups: BTreeMap<(String, &'static str), Vec<Pending>> = BTreeMap::new();
    let mut out = Vec::new();
    for p in pending {
        match kind(p.alert.event) {
            Some(k) => groups.entry((p.region.clone(), k)).or_default().push(p),
            None => out.push(Outgoing::One(Box::new(p))),
        }
    }
    for ((region, k), members) in groups {
        if members.len() >= min.max(2) {
            let names = members.iter().map(Pending::outbox_name).collect();
            out.push(Outgoing::Regional(
                Box::new(regional(&region, k, &members, run)),
                names,
            ));
        } else {
            out.extend(members.into_iter().map(|m| Outgoing::One(Box::new(m))));
        }
    }
    out
}

fn regional(region: &str, kind: &str, members: &[Pending], run: &str) -> Notification {
    let worst = members
        .iter()
        .map(|m| m.alert.status)
        .max()
        .unwrap_or(Overall::Healthy);
    let n = members.len();
    let (headline, status) = if kind == "recovered" {
        (format!("{n} clusters RECOVERED"), "healthy".to_string())
    } else {
        let unhealthy = members
            .iter()
            .filter(|m| m.alert.status == Overall::Unhealthy)
            .count();
        let head = match (unhealthy, n - unhealthy) {
            (u, 0) => format!("{u} clusters UNHEALTHY"),
            (0, d) => format!("{d} clusters DEGRADED"),
            (u, d) => format!("{n} clusters failing ({u} UNHEALTHY, {d} DEGRADED)"),
        };
        (head, worst.as_str().to_string())
    };
    let subject = subject_line(&format!("[ecs-monitor] {region}: {headline}"));
    let lines: Vec<String> = members
        .iter()
        .map(|m| {
            let first = m.alert.issues.first().cloned().unwrap_or_default();
            let what = if kind == "recovered" {
                "RECOVERED".to_string()
            } else {
                m.alert.status.as_str().to_uppercase()
            };
            cut(format!(
                "{} {what}{}{} (incident {})",
                m.label,
                if first.is_empty() { "" } else { ": " },
                first,
                m.alert.incident_id
            ))
        })
        .collect();
    let mut text = format!(
        "Region {region}: {n} clusters {} in the same health-check run.\n",
        if kind == "recovered" {
            "recovered"
        } else {
            "started failing or changed status"
        }
    );
    if kind != "recovered" {
        text.push_str(
            "Many clusters of one region at once often share a cause: check the AWS Health \
             Dashboard for the region before each cluster.\n",
        );
    }
    text.push('\n');
    for l in &lines {
        text.push_str(&format!("- {l}\n"));
    }
    text.push_str("\nEach cluster's own incident continues in its state and on its status page.\n");
    let thread = format!("{region}-{run}");
    let card = Card::new(
        subject.trim_start_matches("[ecs-monitor] ").to_string(),
        lines
            .iter()
            .map(|l| format!("• {l}"))
            .collect::<Vec<_>>()
            .join("\n"),
        vec![format!(
            "Check the AWS Health Dashboard for {region}, then each cluster's status page."
        )],
        thread.clone(),
        subject.clone(),
        BTreeMap::from([
            ("region".to_string(), region.to_string()),
            ("clusters".to_string(), n.to_string()),
        ]),
    );
    let mut message = Message::new(Event::FleetRegional, region, &status);
    message.id = Some(format!("{thread}/{kind}"));
    message.incident_id = Some(thread);
    message.issues = Some(lines);
    message.subject = Some(subject.clone());
    message.text = Some(text.clone());
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
    use crate::notify::Event;
    use time::macros::datetime;

    fn pending(label: &str, region: &str, event: Event, status: Overall) -> Pending {
        let cluster = label.rsplit('/').next().unwrap().to_string();
        Pending {
            label: label.into(),
            cluster: cluster.clone(),
            region: region.into(),
            alert: Alert {
                id: format!("{cluster}-x/{}/1", event.as_str()),
                services: vec!["web".into()],
                issues: vec!["web: 0/2 tasks running".into()],
                event,
                status,
                incident_id: format!("{cluster}-20261129T140000Z"),
                decided_at: datetime!(2026-11-29 14:00:00 UTC),
                subject: format!("[ecs-monitor] {cluster} {}", status.as_str()),
                text: "…".into(),
                chat: Card::new(
                    String::new(),
                    String::new(),
                    vec![],
                    String::new(),
                    String::new(),
                    BTreeMap::new(),
                ),
                claimed_by: None,
                claimed_at: None,
                region: Some(region.into()),
                account: None,
            },
        }
    }

    #[test]
    fn a_regional_outage_is_one_alert_and_the_rest_stay_their_own() {
        use Event::*;
        use Overall::*;
        let run = "20261129T140000Z-r1";
        let out = group(
            vec![
                pending(
                    "111111111111/eu-west-1/a",
                    "eu-west-1",
                    HealthUnhealthy,
                    Unhealthy,
                ),
                pending(
                    "222222222222/eu-west-1/b",
                    "eu-west-1",
                    HealthDegraded,
                    Degraded,
                ),
                pending("eu-west-1/c", "eu-west-1", HealthUnhealthy, Unhealthy),
                pending("us-east-1/d", "us-east-1", HealthDegraded, Degraded),
                pending("us-east-1/e", "us-east-1", HealthRecovered, Healthy),
                pending("eu-west-1/f", "eu-west-1", HealthReminder, Unhealthy),
            ],
            3,
            run,
        );
        let (mut ones, mut regional) = (Vec::new(), Vec::new());
        for o in &out {
            match o {
                Outgoing::One(p) => ones.push(p.label.as_str()),
                Outgoing::Regional(n, _) => regional.push(n),
            }
        }
        ones.sort();
        assert_eq!(
            ones,
            ["eu-west-1/f", "us-east-1/d", "us-east-1/e"],
            "reminders and small groups stay"
        );
        assert_eq!(regional.len(), 1);
        let n = regional[0];
        assert_eq!(
            n.subject,
            "[ecs-monitor] eu-west-1: 3 clusters failing (2 UNHEALTHY, 1 DEGRADED)"
        );
        assert!(n.text.contains("- 111111111111/eu-west-1/a UNHEALTHY: web: 0/2 tasks running (incident a-20261129T140000Z)"), "{}", n.text);
        assert_eq!(n.message.event, FleetRegional);
        assert!(!n.message.event.starts_diagnosis());
        assert_eq!(n.message.status, "unhealthy");
        assert_eq!(
            n.card.content.title,
            "eu-west-1: 3 clusters failing (2 UNHEALTHY, 1 DEGRADED)"
        );
        assert_eq!(
            n.message.incident_id.as_deref(),
            Some("eu-west-1-20261129T140000Z-r1")
        );
        // The document parses as SNS takes it.
        let doc: serde_json::Value = serde_json::from_str(&n.document()).unwrap();
        assert!(doc["lambda"].as_str().unwrap().contains("fleet.regional"));
    }

    #[test]
    fn recoveries_group_too_and_min_is_at_least_two() {
        use Event::*;
        use Overall::*;
        let rec = |l: &str| pending(l, "us-east-1", HealthRecovered, Healthy);
        let out = group(vec![rec("x"), rec("y"), rec("z")], 3, "r");
        let [Outgoing::Regional(n, names)] = &out[..] else {
            panic!("{out:?}")
        };
        assert_eq!(n.subject, "[ecs-monitor] us-east-1: 3 clusters RECOVERED");
        // What the message stands for, by outbox name: a late alert is told apart by it.
        assert_eq!(names.len(), 3);
        assert!(
            names[0].starts_with("x_") && !names[0].contains('/'),
            "{names:?}"
        );
        assert_eq!(out[0].names(), *names);
        assert_eq!(
            group(vec![rec("x")], 1, "r").len(),
            1,
            "one cluster is never regional"
        );
        assert!(matches!(group(vec![rec("x")], 1, "r")[0], Outgoing::One(_)));
    }
}
