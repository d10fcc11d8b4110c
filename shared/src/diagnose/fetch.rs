//! Reading a window of logs: FilterLogEvents pages followed while a token remains (pages may
//! be short or empty), up to a per-service cap, through one client-side rate limiter shared
//! by every service (CloudWatch allows 5 FilterLogEvents per second per account and region,
//! and will not raise it), with backoff on ThrottlingException.

use crate::aws::logs::{LogEvents, LogsError, OwnedEvent};
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// FilterLogEvents requests per second, shared by all services of a run.
pub const REQUESTS_PER_SECOND: u32 = 5;
/// Tries of one page when throttled.
pub const MAX_TRIES: u32 = 8;

/// Spaces calls evenly: at most `per_second` start in any second.
#[derive(Debug)]
pub struct RateLimiter {
    interval: Duration,
    next: Mutex<Option<Instant>>,
}

impl RateLimiter {
    pub fn new(per_second: u32) -> Self {
        Self {
            interval: Duration::from_secs(1) / per_second.max(1),
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

/// What reading a window did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fetched {
    pub events: u64,
    pub pages: u32,
    pub throttled: u32,
    /// Stopped at the cap with events left.
    pub truncated: bool,
}

/// Backoff before try `n` (1-based): 200 ms doubling, at most 5 s.
pub fn backoff(n: u32) -> Duration {
    Duration::from_millis(200u64.saturating_mul(1 << n.min(5).saturating_sub(1)))
        .min(Duration::from_secs(5))
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
        let mut tries = 0;
        let page = loop {
            limiter.acquire().await;
            tries += 1;
            match logs
                .filter_page(group, start_ms, end_ms, pattern, token.clone())
                .await
            {
                Ok(p) => break p,
                Err(LogsError::Throttled(e)) if tries < MAX_TRIES => {
                    f.throttled += 1;
                    tracing::debug!("{group}: throttled ({e}), try {tries}");
                    tokio::time::sleep(backoff(tries)).await;
                }
                Err(e) => return Err(e),
            }
        };
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::logs::LogPage;
    use std::sync::atomic::{AtomicU32, Ordering};

    /// `pages` pages of `per_page` events (some pages empty), throttling every `throttle_every`-th call.
    struct FakeLogs {
        pages: u32,
        per_page: u32,
        throttle_every: u32,
        calls: AtomicU32,
    }

    impl LogEvents for FakeLogs {
        async fn filter_page(
            &self,
            group: &str,
            _s: i64,
            _e: i64,
            _p: Option<&str>,
            token: Option<String>,
        ) -> Result<LogPage, LogsError> {
            let call = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
            if group == "/ecs/missing" {
                return Err(LogsError::MissingGroup(group.into()));
            }
            if self.throttle_every > 0 && call.is_multiple_of(self.throttle_every) {
                return Err(LogsError::Throttled(
                    "ThrottlingException: Rate exceeded".into(),
                ));
            }
            let page: u32 = token.map_or(0, |t| t.parse().unwrap());
            let n = if page % 3 == 1 { 0 } else { self.per_page };
            Ok(LogPage {
                events: (0..n)
                    .map(|i| OwnedEvent {
                        timestamp: i64::from(page * 1000 + i),
                        stream: "s".into(),
                        message: format!("line {page}/{i}"),
                    })
                    .collect(),
                next_token: (page + 1 < self.pages).then(|| (page + 1).to_string()),
            })
        }
        async fn streams_started(
            &self,
            _g: &str,
            _s: i64,
            _e: i64,
        ) -> Result<Vec<(i64, String)>, LogsError> {
            Ok(vec![])
        }
    }

    fn q(group: &str, cap: u64) -> Query<'_> {
        Query {
            group,
            start_ms: 0,
            end_ms: 1,
            pattern: None,
            cap,
        }
    }

    fn fake(pages: u32, per_page: u32, throttle_every: u32) -> FakeLogs {
        FakeLogs {
            pages,
            per_page,
            throttle_every,
            calls: AtomicU32::new(0),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn follows_every_page_including_empty_ones() {
        let logs = fake(9, 100, 0);
        let mut seen = 0u64;
        let f = fetch_window(&logs, &RateLimiter::new(5), q("/ecs/api", u64::MAX), |_| {
            seen += 1
        })
        .await
        .unwrap();
        assert_eq!(f.pages, 9);
        assert_eq!(seen, 600, "3 of 9 pages are empty");
        assert!(!f.truncated);
    }

    #[tokio::test(start_paused = true)]
    async fn throttling_is_retried_to_the_end() {
        let logs = fake(10, 10, 2); // every second call is throttled
        let mut seen = 0u64;
        let f = fetch_window(&logs, &RateLimiter::new(5), q("/ecs/api", u64::MAX), |_| {
            seen += 1
        })
        .await
        .unwrap();
        assert_eq!(f.pages, 10);
        assert_eq!(f.throttled, 9, "between the 10 successful calls");
        assert_eq!(seen, 70);
    }

    #[tokio::test(start_paused = true)]
    async fn the_cap_truncates_and_says_so() {
        let logs = fake(100, 100, 0);
        let mut seen = 0u64;
        let f = fetch_window(&logs, &RateLimiter::new(5), q("/ecs/api", 250), |_| {
            seen += 1
        })
        .await
        .unwrap();
        assert_eq!((seen, f.truncated), (250, true));
        assert!(f.pages <= 4);
    }

    #[tokio::test(start_paused = true)]
    async fn a_missing_group_is_an_error_of_its_own() {
        let logs = fake(1, 1, 0);
        let err = fetch_window(&logs, &RateLimiter::new(5), q("/ecs/missing", 10), |_| {})
            .await
            .unwrap_err();
        assert_eq!(err, LogsError::MissingGroup("/ecs/missing".into()));
    }

    #[tokio::test(start_paused = true)]
    async fn the_limiter_holds_every_caller_to_five_per_second() {
        let limiter = std::sync::Arc::new(RateLimiter::new(5));
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
}
