//! Reading a window of logs: FilterLogEvents pages followed while a token remains (pages may
//! be short or empty), up to a per-service cap, and the log streams the window started.
//!
//! CloudWatch allows 5 FilterLogEvents and 5 DescribeLogStreams per second per account and
//! region (FilterLogEvents and DescribeLogStreams, API reference), however many invocations
//! share them. So every attempt, each retry included, takes a slot of one limiter per API
//! shared by all services of a run, sized for the invocations that may run at once
//! (`DIAGNOSE_CONCURRENCY`, the function's reserved concurrency); the SDK client makes one
//! attempt per call (`aws::logs`), so there are no retries outside the limiter.

use crate::ports::{LogEvents, LogsError, OwnedEvent, StreamInfo};
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// Requests per second of each of FilterLogEvents and DescribeLogStreams, per account and
/// region.
pub const REQUESTS_PER_SECOND: u32 = 5;
/// Attempts of one request when throttled or failing transiently, in all.
pub const MAX_TRIES: u32 = 8;
/// DescribeLogStreams' `lastEventTimestamp` is updated eventually ("typically within an
/// hour", API reference): streams are read this far past the window's start.
pub const LAST_EVENT_SLACK_MS: i64 = 60 * 60 * 1000;
/// DescribeLogStreams pages read at most (50 streams each).
pub const MAX_STREAM_PAGES: u32 = 20;

/// Spaces calls evenly: at most `per_second / sharers` start in any second, so `sharers`
/// invocations running at once stay within `per_second` together.
#[derive(Debug)]
pub struct RateLimiter {
    interval: Duration,
    next: Mutex<Option<Instant>>,
}

impl RateLimiter {
    pub fn new(per_second: u32, sharers: u32) -> Self {
        Self {
            interval: Duration::from_secs(u64::from(sharers.max(1))) / per_second.max(1),
            next: Mutex::new(None),
        }
    }

    /// Waits for this caller's slot.
    pub async fn acquire(&self) {
        let slot = {
            let mut next = self.next.lock().await;
            let now = Instant::now();
            let slot = next.map_or(now, |n| n.max(now));
            *next = Some(slot + self.interval);
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

/// The limiters of one run: one per rate-limited API.
#[derive(Debug)]
pub struct Limiters {
    pub filter: RateLimiter,
    pub streams: RateLimiter,
}

impl Limiters {
    /// For `sharers` invocations that may run at once.
    pub fn new(sharers: u32) -> Self {
        Self {
            filter: RateLimiter::new(REQUESTS_PER_SECOND, sharers),
            streams: RateLimiter::new(REQUESTS_PER_SECOND, sharers),
        }
    }
}

/// What reading a window did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fetched {
    pub events: u64,
    pub pages: u32,
    /// Attempts retried (throttled or failed transiently).
    pub retries: u32,
    /// Stopped at the cap with events left.
    pub truncated: bool,
}

/// Backoff before try `n` (1-based): 200 ms doubling, at most 5 s.
pub fn backoff(n: u32) -> Duration {
    Duration::from_millis(200u64.saturating_mul(1 << n.min(5).saturating_sub(1)))
        .min(Duration::from_secs(5))
}

/// `call` through `limiter`, retried with backoff while throttled or failing transiently, at
/// most [`MAX_TRIES`] attempts in all; `retries` counts the retries.
async fn limited<T, F, Fut>(
    limiter: &RateLimiter,
    what: &str,
    retries: &mut u32,
    mut call: F,
) -> Result<T, LogsError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, LogsError>>,
{
    let mut tries = 0;
    loop {
        limiter.acquire().await;
        tries += 1;
        match call().await {
            Err(LogsError::Throttled(e) | LogsError::Transient(e)) if tries < MAX_TRIES => {
                *retries += 1;
                tracing::debug!("{what}: {e}, try {tries}");
                tokio::time::sleep(backoff(tries)).await;
            }
            Err(LogsError::Throttled(e)) => {
                return Err(LogsError::Throttled(format!("{e} ({tries} tries)")));
            }
            Err(LogsError::Transient(e)) => {
                return Err(LogsError::Transient(format!("{e} ({tries} tries)")));
            }
            other => return other,
        }
    }
}

/// Which events to read.
#[derive(Debug, Clone, Copy)]
pub struct Query<'a> {
    pub group: &'a str,
    pub start_ms: i64,
    pub end_ms: i64,
    /// A CloudWatch filter pattern (`logs pull --filter`).
    pub pattern: Option<&'a str>,
    /// Events read at most.
    pub cap: u64,
}

/// Streams every event the query selects to `sink`, at most `cap` of them.
pub async fn fetch_window<L: LogEvents>(
    logs: &L,
    limiter: &RateLimiter,
    q: Query<'_>,
    mut sink: impl FnMut(&OwnedEvent),
) -> Result<Fetched, LogsError> {
    let Query {
        group,
        start_ms,
        end_ms,
        pattern,
        cap,
    } = q;
    let mut f = Fetched::default();
    let mut token: Option<String> = None;
    loop {
        let page = limited(limiter, group, &mut f.retries, || {
            logs.filter_page(group, start_ms, end_ms, pattern, token.clone())
        })
        .await?;
        f.pages += 1;
        for ev in &page.events {
            if f.events >= cap {
                f.truncated = true;
                return Ok(f);
            }
            f.events += 1;
            sink(ev);
        }
        match page.next_token {
            Some(t) if Some(&t) != token.as_ref() => token = Some(t),
            _ => return Ok(f),
        }
    }
}

/// The last `limit` events of one stream, through `limiter` (the streams' budget): what a
/// stopped task wrote last.
pub async fn last_lines<L: LogEvents>(
    logs: &L,
    limiter: &RateLimiter,
    group: &str,
    stream: &str,
    limit: i32,
) -> Result<Vec<(i64, String)>, LogsError> {
    let mut retries = 0;
    limited(limiter, stream, &mut retries, || {
        logs.last_events(group, stream, limit)
    })
    .await
}

/// First-event times (ms) and names of the log streams that started in [start, end]: one per
/// task. Streams come newest last event first, so paging stops at the first page whose
/// streams all ended before the window (less the slack for `lastEventTimestamp`).
pub async fn streams_started<L: LogEvents>(
    logs: &L,
    limiter: &RateLimiter,
    group: &str,
    start_ms: i64,
    end_ms: i64,
) -> Result<Vec<(i64, String)>, LogsError> {
    let mut started = Vec::new();
    let mut token: Option<String> = None;
    let mut retries = 0;
    for _ in 0..MAX_STREAM_PAGES {
        let page = limited(limiter, group, &mut retries, || {
            logs.streams_page(group, token.clone())
        })
        .await?;
        let mut older = true;
        for s in &page.streams {
            let StreamInfo {
                name,
                first_event,
                last_event,
                created,
            } = s;
            let first = first_event.or(*created).unwrap_or_default();
            if (start_ms..=end_ms).contains(&first) {
                started.push((first, name.clone()));
            }
            let last = last_event.or(*first_event).or(*created).unwrap_or_default();
            older &= last < start_ms - LAST_EVENT_SLACK_MS;
        }
        match page.next_token {
            Some(t) if !older && Some(&t) != token.as_ref() => token = Some(t),
            _ => break,
        }
    }
    started.sort();
    Ok(started)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::fakes::FakeLogs;
    use std::sync::atomic::Ordering;

    const MINUTE: i64 = 60_000;

    fn q(group: &str, cap: u64) -> Query<'_> {
        Query {
            group,
            start_ms: 0,
            end_ms: 1 << 40,
            pattern: None,
            cap,
        }
    }

    /// `n` events of /ecs/api, `page_size` a page, every `empty_every`-th page empty, every
    /// `fail_every`-th call failing with `failure`.
    fn fake(
        n: i64,
        page_size: usize,
        empty_every: u32,
        fail_every: u32,
        failure: Option<LogsError>,
    ) -> FakeLogs {
        let logs = FakeLogs {
            page_size,
            empty_every,
            fail_every,
            failure,
            ..FakeLogs::default()
        };
        let events: Vec<(i64, String)> = (0..n).map(|i| (i, format!("line {i}"))).collect();
        let refs: Vec<(i64, &str)> = events.iter().map(|(t, m)| (*t, m.as_str())).collect();
        logs.put("/ecs/api", &refs);
        logs
    }

    fn throttled() -> Option<LogsError> {
        Some(LogsError::Throttled(
            "ThrottlingException: Rate exceeded".into(),
        ))
    }

    #[tokio::test(start_paused = true)]
    async fn follows_every_page_including_empty_ones() {
        let logs = fake(600, 100, 3, 0, None);
        let mut seen = 0u64;
        let f = fetch_window(
            &logs,
            &RateLimiter::new(5, 1),
            q("/ecs/api", u64::MAX),
            |_| seen += 1,
        )
        .await
        .unwrap();
        assert_eq!(f.pages, 8, "6 full pages and 2 empty ones between them");
        assert_eq!(seen, 600);
        assert!(!f.truncated);
    }

    #[tokio::test(start_paused = true)]
    async fn throttling_is_retried_to_the_end() {
        let logs = fake(70, 10, 0, 2, throttled()); // every second call is throttled
        let mut seen = 0u64;
        let f = fetch_window(
            &logs,
            &RateLimiter::new(5, 1),
            q("/ecs/api", u64::MAX),
            |_| seen += 1,
        )
        .await
        .unwrap();
        assert_eq!(f.pages, 7);
        assert_eq!(f.retries, 6, "between the 7 successful calls");
        assert_eq!(seen, 70);
    }

    #[tokio::test(start_paused = true)]
    async fn the_cap_truncates_and_says_so() {
        let logs = fake(10_000, 100, 0, 0, None);
        let mut seen = 0u64;
        let f = fetch_window(&logs, &RateLimiter::new(5, 1), q("/ecs/api", 250), |_| {
            seen += 1
        })
        .await
        .unwrap();
        assert_eq!((seen, f.truncated), (250, true));
        assert!(f.pages <= 3);
    }

    #[tokio::test(start_paused = true)]
    async fn a_missing_group_is_an_error_of_its_own() {
        let logs = fake(1, 1, 0, 0, None);
        let err = fetch_window(
            &logs,
            &RateLimiter::new(5, 1),
            q("/ecs/missing", 10),
            |_| {},
        )
        .await
        .unwrap_err();
        assert_eq!(err, LogsError::MissingGroup("/ecs/missing".into()));
    }

    #[tokio::test(start_paused = true)]
    async fn the_limiter_holds_every_caller_to_five_per_second() {
        let limiter = std::sync::Arc::new(RateLimiter::new(5, 1));
        let start = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..3 {
            let l = limiter.clone();
            tasks.push(tokio::spawn(async move {
                let mut at = Vec::new();
                for _ in 0..5 {
                    l.acquire().await;
                    at.push(Instant::now());
                }
                at
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.unwrap());
        }
        all.sort();
        // 15 calls from 3 callers: no window of one second holds more than 5 starts.
        for (i, t) in all.iter().enumerate() {
            let within = all[i..]
                .iter()
                .take_while(|u| **u - *t < Duration::from_secs(1))
                .count();
            assert!(within <= 5, "{within} calls within a second");
        }
        assert!(Instant::now() - start >= Duration::from_millis(2800));
    }

    /// Every retry goes through the limiter too, and the attempts are bounded in all.
    #[tokio::test(start_paused = true)]
    async fn a_throttled_call_takes_max_tries_attempts_each_in_a_slot() {
        let logs = fake(1, 1, 0, 1, throttled()); // every call throttled
        let start = Instant::now();
        let err = fetch_window(&logs, &RateLimiter::new(5, 1), q("/ecs/api", 10), |_| {})
            .await
            .unwrap_err();
        assert!(
            matches!(err, LogsError::Throttled(ref e) if e.ends_with("(8 tries)")),
            "{err}"
        );
        assert_eq!(logs.filter_calls.load(Ordering::SeqCst), MAX_TRIES);
        // 7 backoffs: 0.2 + 0.4 + 0.8 + 1.6 + 3.2 + 3.2 + 3.2 s.
        assert_eq!(Instant::now() - start, Duration::from_millis(12_600));
    }

    #[tokio::test(start_paused = true)]
    async fn invocations_sharing_the_budget_each_take_their_part() {
        let limiter = RateLimiter::new(5, 2);
        let start = Instant::now();
        for _ in 0..6 {
            limiter.acquire().await;
        }
        // Two invocations at 2.5/s each: the sixth slot is 5 × 400 ms after the first.
        assert_eq!(Instant::now() - start, Duration::from_millis(2000));
    }

    /// 1,500 streams, one started a minute back from minute 600, newest last event first.
    fn streams(logs: &FakeLogs, group: &str) {
        let all = (0..1500)
            .map(|n| {
                let first = (600 - n) * MINUTE;
                StreamInfo {
                    name: format!("ecs/app/{n}"),
                    first_event: Some(first),
                    last_event: Some(first + 30_000),
                    created: Some(first - 1000),
                }
            })
            .collect();
        logs.streams.lock().unwrap().insert(group.into(), all);
    }

    /// Streams come newest first: paging stops once a page ended before the window (less
    /// an hour for lastEventTimestamp's lag), not after every stream of the group.
    #[tokio::test(start_paused = true)]
    async fn stream_paging_stops_at_streams_older_than_the_window() {
        let logs = FakeLogs::default();
        streams(&logs, "/ecs/api");
        // The window is minutes 540 to 600: streams 0..=60 started in it.
        let started = streams_started(
            &logs,
            &RateLimiter::new(5, 1),
            "/ecs/api",
            540 * MINUTE,
            600 * MINUTE,
        )
        .await
        .unwrap();
        assert_eq!(started.len(), 61);
        assert_eq!(started[0], (540 * MINUTE, "ecs/app/60".to_string()));
        // Page 3 (streams 150-199) ends 400 minutes after 0: more than an hour before the
        // window. Pages 0 to 3 are read, not 30.
        assert_eq!(logs.stream_calls.load(Ordering::SeqCst), 4);
        let flaky = FakeLogs {
            fail_every: 2,
            failure: Some(LogsError::Transient("ServiceUnavailableException".into())),
            ..FakeLogs::default()
        };
        streams(&flaky, "/ecs/api");
        let started = streams_started(
            &flaky,
            &RateLimiter::new(5, 1),
            "/ecs/api",
            540 * MINUTE,
            600 * MINUTE,
        )
        .await
        .unwrap();
        assert_eq!(started.len(), 61, "transient failures are retried");
    }
}
