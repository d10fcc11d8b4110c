//! Who diagnoses what: de-duplication of redelivered events and coalescing of event storms,
//! with records written by conditional PUT (If-None-Match `*` / If-Match the ETag read).
//!
//! - An event (its key: SNS MessageId, ECS task and version, deployment or event id) is
//!   diagnosed once: its record says `running` while a diagnosis holds it, `done` (with the
//!   report) after. A diagnosis that fails `release`s what it holds, and one that dies (a
//!   timeout) holds only until its invocation's deadline: Lambda's retries then diagnose the
//!   event (asynchronous invocation, Lambda developer guide: two retries, timeouts included).
//! - A service is diagnosed at most once per coalescing window: while another diagnosis holds
//!   it, or one finished less than the window ago, an event for it is answered with the
//!   report that covers it.
//! - Manual invokes take no claims: they always diagnose.

use crate::ports::{Records, StoreError};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Running,
    Done,
    Released,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub state: State,
    /// The invocation that wrote it.
    pub by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// A running claim holds until then (its invocation's deadline).
    #[serde(with = "time::serde::rfc3339")]
    pub until: OffsetDateTime,
    /// The report that covers it, once done.
    pub report: Option<String>,
}

impl Record {
    /// Another diagnosis holds it or covers it at `now`.
    fn covers(&self, now: OffsetDateTime, window: time::Duration) -> bool {
        match self.state {
            State::Running => now < self.until,
            State::Done => now - self.at < window,
            State::Released => false,
        }
    }
}

/// What an automatic event gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// Diagnose `services` (the others are covered); settle or release `held` afterwards.
    Go {
        services: Vec<String>,
        covered: Vec<Covered>,
        held: Held,
    },
    /// The event was (or is being) diagnosed already.
    Duplicate { record: Record },
    /// Every service is covered by another diagnosis.
    Coalesced { covered: Vec<Covered> },
}

/// What an event without services gets ([`Claims::admit_event`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventClaim {
    /// Go on; settle or release `held` afterwards.
    Go(Held),
    /// The event was (or is being) handled already.
    Duplicate(Record),
}

/// A service another diagnosis covers, with its report (`None` while it runs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Covered {
    pub service: String,
    pub report: Option<String>,
    pub by: String,
}

/// The records a diagnosis holds, with the versions it wrote.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Held {
    records: Vec<(String, String)>,
}

fn event_name(key: &str) -> String {
    format!("claims/events/{key}.json")
}

fn service_name(service: &str) -> String {
    format!("claims/services/{service}.json")
}

/// The record `name` as a `T`; `None` when there is none, or when it does not read as one
/// (written by another version: replaced, not obeyed).
pub async fn read_record<T: DeserializeOwned>(
    store: &impl Records,
    name: &str,
) -> Result<Option<T>, StoreError> {
    Ok(store
        .get_record(name)
        .await?
        .and_then(|(body, _)| serde_json::from_slice(&body).ok()))
}

/// Writes `value` as the record `name`, whatever it held (read, then written on that version;
/// again when another writer came between).
pub async fn overwrite_record<T: Serialize>(
    store: &impl Records,
    name: &str,
    value: &T,
) -> Result<(), StoreError> {
    let body = serde_json::to_vec(value).map_err(|e| StoreError::Failed(e.to_string()))?;
    for _ in 0..3 {
        let version = store.get_record(name).await?.map(|(_, v)| v);
        match store
            .put_record(name, body.clone(), version.as_deref())
            .await
        {
            Err(StoreError::Conflict) => continue,
            other => return other.map(|_| ()),
        }
    }
    Err(StoreError::Conflict)
}

pub struct Claims<'a, R> {
    pub store: &'a R,
    /// The invocation's id.
    pub by: &'a str,
    /// The invocation's deadline: claims it holds lapse then.
    pub until: OffsetDateTime,
    /// Coalescing window; zero: every event of a service is diagnosed.
    pub window: time::Duration,
}

impl<R: Records> Claims<'_, R> {
    async fn read(&self, name: &str) -> Result<(Option<Record>, Option<String>), StoreError> {
        match self.store.get_record(name).await? {
            None => Ok((None, None)),
            // An unreadable record (written by another version) is replaced, not obeyed.
            Some((body, version)) => Ok((serde_json::from_slice(&body).ok(), Some(version))),
        }
    }

    fn record(&self, state: State, now: OffsetDateTime, report: Option<&str>) -> Vec<u8> {
        let r = Record {
            state,
            by: self.by.to_string(),
            at: now,
            until: self.until,
            report: report.map(str::to_string),
        };
        serde_json::to_vec(&r).unwrap_or_default()
    }

    /// Claims the event `key` and whichever of `services` no other diagnosis covers.
    pub async fn admit(
        &self,
        key: &str,
        services: &[String],
        now: OffsetDateTime,
    ) -> Result<Admission, StoreError> {
        let ev = event_name(key);
        let (existing, ev_version) = self.read(&ev).await?;
        if let Some(r) = existing.filter(|r| r.covers(now, time::Duration::MAX)) {
            return Ok(Admission::Duplicate { record: r });
        }
        let mut free = Vec::new();
        let mut covered = Vec::new();
        for s in services {
            let (rec, version) = self.read(&service_name(s)).await?;
            match rec.filter(|r| r.covers(now, self.window)) {
                Some(r) => covered.push(Covered {
                    service: s.clone(),
                    report: r.report,
                    by: r.by,
                }),
                None => free.push((s.clone(), version)),
            }
        }
        let mut held = Held::default();
        // Covered already: the event is done, answered by the covering report.
        let (state, report) = if free.is_empty() {
            (
                State::Done,
                covered.iter().find_map(|c| c.report.as_deref()),
            )
        } else {
            (State::Running, None)
        };
        match self
            .store
            .put_record(&ev, self.record(state, now, report), ev_version.as_deref())
            .await
        {
            Ok(v) => held.records.push((ev.clone(), v)),
            Err(StoreError::Conflict) => {
                let (r, _) = self.read(&ev).await?;
                return match r {
                    Some(record) => Ok(Admission::Duplicate { record }),
                    None => Err(StoreError::Failed(format!(
                        "{ev} changed while it was claimed and then vanished"
                    ))),
                };
            }
            Err(e) => return Err(e),
        }
        if free.is_empty() {
            return Ok(Admission::Coalesced { covered });
        }
        let mut mine = Vec::new();
        for (s, version) in free {
            let name = service_name(&s);
            match self
                .store
                .put_record(
                    &name,
                    self.record(State::Running, now, None),
                    version.as_deref(),
                )
                .await
            {
                Ok(v) => {
                    held.records.push((name, v));
                    mine.push(s);
                }
                // Claimed by another diagnosis a moment ago: it covers this service.
                Err(StoreError::Conflict) => covered.push(Covered {
                    service: s,
                    report: None,
                    by: "another invocation".into(),
                }),
                Err(e) => {
                    self.release(held, now).await;
                    return Err(e);
                }
            }
        }
        if mine.is_empty() {
            self.settle(held, None, now).await?;
            return Ok(Admission::Coalesced { covered });
        }
        Ok(Admission::Go {
            services: mine,
            covered,
            held,
        })
    }

    /// Claims the event `key` alone (a notice, which no window coalesces).
    pub async fn admit_event(
        &self,
        key: &str,
        now: OffsetDateTime,
    ) -> Result<EventClaim, StoreError> {
        let ev = event_name(key);
        let (existing, version) = self.read(&ev).await?;
        if let Some(r) = existing.filter(|r| r.covers(now, time::Duration::MAX)) {
            return Ok(EventClaim::Duplicate(r));
        }
        match self
            .store
            .put_record(
                &ev,
                self.record(State::Running, now, None),
                version.as_deref(),
            )
            .await
        {
            Ok(v) => Ok(EventClaim::Go(Held {
                records: vec![(ev, v)],
            })),
            Err(StoreError::Conflict) => match self.read(&ev).await?.0 {
                Some(record) => Ok(EventClaim::Duplicate(record)),
                None => Err(StoreError::Failed(format!(
                    "{ev} changed while it was claimed and then vanished"
                ))),
            },
            Err(e) => Err(e),
        }
    }

    /// Marks what `held` holds as done, covered by `report`.
    pub async fn settle(
        &self,
        held: Held,
        report: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        for (name, version) in held.records {
            match self
                .store
                .put_record(&name, self.record(State::Done, now, report), Some(&version))
                .await
            {
                // Taken over after our deadline: the newer holder settles it.
                Ok(_) | Err(StoreError::Conflict) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Frees what `held` holds so a retry diagnoses it; best effort (a claim also lapses at
    /// its deadline), so a failure here is logged, not raised over the error being handled.
    pub async fn release(&self, held: Held, now: OffsetDateTime) {
        for (name, version) in held.records {
            if let Err(e) = self
                .store
                .put_record(
                    &name,
                    self.record(State::Released, now, None),
                    Some(&version),
                )
                .await
            {
                tracing::warn!("could not release {name} ({e}); it lapses at the deadline");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::fakes::MemRecords;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-11-29 14:00:00 UTC);
    const MIN: time::Duration = time::Duration::minutes(1);

    fn claims<'a>(
        store: &'a MemRecords,
        by: &'a str,
        now: OffsetDateTime,
    ) -> Claims<'a, MemRecords> {
        Claims {
            store,
            by,
            until: now + 5 * MIN,
            window: 10 * MIN,
        }
    }

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    /// An event without services (a notice): one holder at a time, once done always a
    /// duplicate; released or lapsed, the next delivery goes.
    #[tokio::test]
    async fn an_event_alone_is_handled_once() {
        let store = MemRecords::default();
        let key = "deployment/ecs-svc-1/started";
        let c = claims(&store, "r1", T0);
        let EventClaim::Go(held) = c.admit_event(key, T0).await.unwrap() else {
            panic!()
        };
        let busy = claims(&store, "r2", T0 + MIN)
            .admit_event(key, T0 + MIN)
            .await
            .unwrap();
        assert!(
            matches!(busy, EventClaim::Duplicate(r) if r.state == State::Running && r.by == "r1")
        );
        c.release(held, T0 + MIN).await;
        let EventClaim::Go(held) = claims(&store, "r3", T0 + MIN)
            .admit_event(key, T0 + MIN)
            .await
            .unwrap()
        else {
            panic!("released: the retry goes")
        };
        claims(&store, "r3", T0 + MIN)
            .settle(held, None, T0 + 2 * MIN)
            .await
            .unwrap();
        let late = T0 + 600 * MIN;
        let done = claims(&store, "r4", late)
            .admit_event(key, late)
            .await
            .unwrap();
        assert!(matches!(done, EventClaim::Duplicate(r) if r.state == State::Done));
        // A holder that died: its claim lapses at its deadline.
        let other = "deployment/ecs-svc-2/completed";
        let EventClaim::Go(_) = claims(&store, "r5", T0)
            .admit_event(other, T0)
            .await
            .unwrap()
        else {
            panic!()
        };
        let after = T0 + 6 * MIN;
        assert!(matches!(
            claims(&store, "r6", after)
                .admit_event(other, after)
                .await
                .unwrap(),
            EventClaim::Go(_)
        ));
    }

    #[tokio::test]
    async fn a_redelivered_event_is_a_duplicate_once_done() {
        let store = MemRecords::default();
        let c = claims(&store, "r1", T0);
        let Admission::Go { services, held, .. } =
            c.admit("task/t1/4", &names(&["api"]), T0).await.unwrap()
        else {
            panic!()
        };
        assert_eq!(services, ["api"]);
        // While it runs, a redelivery waits for it.
        let again = claims(&store, "r2", T0 + MIN)
            .admit("task/t1/4", &names(&["api"]), T0 + MIN)
            .await
            .unwrap();
        assert!(matches!(again, Admission::Duplicate { record } if record.state == State::Running));
        c.settle(held, Some("s3://b/r.json"), T0 + MIN)
            .await
            .unwrap();
        // Hours later, still the same event.
        let late = T0 + 600 * MIN;
        let Admission::Duplicate { record } = claims(&store, "r3", late)
            .admit("task/t1/4", &names(&["api"]), late)
            .await
            .unwrap()
        else {
            panic!()
        };
        assert_eq!(
            (record.state, record.report.as_deref()),
            (State::Done, Some("s3://b/r.json"))
        );
    }

    /// The dedupe marker used to be written before the work: a failed diagnosis then turned
    /// Lambda's retries into duplicates and the event was lost.
    #[tokio::test]
    async fn a_failed_diagnosis_is_diagnosed_by_the_retry() {
        let store = MemRecords::default();
        let c = claims(&store, "r1", T0);
        let Admission::Go { held, .. } = c
            .admit("sns/m1", &names(&["api", "web"]), T0)
            .await
            .unwrap()
        else {
            panic!()
        };
        c.release(held, T0).await;
        let retry = T0 + MIN;
        let Admission::Go { services, .. } = claims(&store, "r1", retry)
            .admit("sns/m1", &names(&["api", "web"]), retry)
            .await
            .unwrap()
        else {
            panic!("the retry must diagnose")
        };
        assert_eq!(services, ["api", "web"]);
    }

    #[tokio::test]
    async fn a_diagnosis_that_died_holds_until_its_deadline() {
        let store = MemRecords::default();
        let c = claims(&store, "r1", T0);
        assert!(matches!(
            c.admit("sns/m1", &names(&["api"]), T0).await.unwrap(),
            Admission::Go { .. }
        ));
        // Timed out: no release. Lambda's retry comes after the deadline (5 minutes).
        let retry = T0 + 6 * MIN;
        assert!(matches!(
            claims(&store, "r1", retry)
                .admit("sns/m1", &names(&["api"]), retry)
                .await
                .unwrap(),
            Admission::Go { .. }
        ));
    }

    #[tokio::test]
    async fn a_storm_is_coalesced_per_service_within_the_window() {
        let store = MemRecords::default();
        let c = claims(&store, "alert", T0);
        let Admission::Go { held, .. } = c
            .admit("sns/m1", &names(&["api", "web"]), T0)
            .await
            .unwrap()
        else {
            panic!()
        };
        // A task of api stops while the alert's diagnosis runs: covered, nothing to do.
        let t1 = T0 + MIN;
        let Admission::Coalesced { covered } = claims(&store, "t1", t1)
            .admit("task/a/1", &names(&["api"]), t1)
            .await
            .unwrap()
        else {
            panic!()
        };
        assert_eq!(
            (covered[0].service.as_str(), covered[0].report.as_deref()),
            ("api", None)
        );
        c.settle(held, Some("s3://b/alert.json"), t1).await.unwrap();
        // Minutes later: the finished report covers it.
        let t2 = T0 + 8 * MIN;
        let Admission::Coalesced { covered } = claims(&store, "t2", t2)
            .admit("task/a/2", &names(&["api"]), t2)
            .await
            .unwrap()
        else {
            panic!()
        };
        assert_eq!(covered[0].report.as_deref(), Some("s3://b/alert.json"));
        // An event for api and worker: only worker is diagnosed.
        let Admission::Go {
            services, covered, ..
        } = claims(&store, "t3", t2)
            .admit("action/x", &names(&["api", "worker"]), t2)
            .await
            .unwrap()
        else {
            panic!()
        };
        assert_eq!((services, covered.len()), (names(&["worker"]), 1));
        // Past the window, api is diagnosed again.
        let t3 = t1 + 11 * MIN;
        assert!(matches!(
            claims(&store, "t4", t3)
                .admit("task/a/3", &names(&["api"]), t3)
                .await
                .unwrap(),
            Admission::Go { .. }
        ));
        // A coalesced event is settled: its redelivery is a duplicate, with the report.
        let Admission::Duplicate { record } = claims(&store, "t5", t3)
            .admit("task/a/2", &names(&["api"]), t3)
            .await
            .unwrap()
        else {
            panic!()
        };
        assert_eq!(record.state, State::Done);
        assert_eq!(record.report.as_deref(), Some("s3://b/alert.json"));
    }

    #[tokio::test]
    async fn a_zero_window_coalesces_nothing_but_still_dedupes() {
        let store = MemRecords::default();
        let mut c = claims(&store, "r1", T0);
        c.window = time::Duration::ZERO;
        let Admission::Go { held, .. } = c.admit("task/a/1", &names(&["api"]), T0).await.unwrap()
        else {
            panic!()
        };
        c.settle(held, Some("s3://b/1.json"), T0).await.unwrap();
        assert!(matches!(
            c.admit("task/a/2", &names(&["api"]), T0).await.unwrap(),
            Admission::Go { .. }
        ));
        assert!(matches!(
            c.admit("task/a/1", &names(&["api"]), T0).await.unwrap(),
            Admission::Duplicate { .. }
        ));
    }

    #[tokio::test]
    async fn a_failing_store_leaves_nothing_claimed() {
        let store = MemRecords::default();
        store.fail_writes.lock().unwrap().push(service_name("web"));
        let err = claims(&store, "r1", T0)
            .admit("sns/m1", &names(&["api", "web"]), T0)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("InternalError"), "{err}");
        for name in [event_name("sns/m1"), service_name("api")] {
            assert_eq!(
                store.get::<Record>(&name).unwrap().state,
                State::Released,
                "{name}"
            );
        }
        assert!(matches!(
            claims(&store, "r1", T0).admit("sns/m1", &names(&["api", "web"]), T0).await.unwrap(),
            Admission::Go { services, .. } if services.len() == 2
        ));
    }
}
