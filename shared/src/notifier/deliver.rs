//! One destination's delivery over HTTPS: a timeout per request; 429 and 5xx (and requests
//! that time out or fail to connect) retried with backoff, honouring `Retry-After`; 401, 403
//! and 404 answered by reading the secret again once (it may have been rotated); any other
//! answer final. Error texts never carry the destination's URL: for Slack, Teams and
//! webhooks the URL is the secret.

use std::time::Duration;

/// Attempts of one delivery, in all.
pub const MAX_ATTEMPTS: u32 = 4;
/// The longest wait this honours; a destination asking for more fails this invocation, and
/// Lambda's retry comes later.
pub const MAX_WAIT: Duration = Duration::from_secs(20);

/// What to do after an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Delivered,
    /// Again after this long.
    Retry(Duration),
    /// Read the secret again, then retry (once).
    Refresh,
    /// Give up: why.
    Fail(String),
}

/// Backoff before attempt `n + 1` after attempt `n` (1-based): 500 ms doubling.
pub fn backoff(n: u32) -> Duration {
    Duration::from_millis(500u64.saturating_mul(1 << n.min(6).saturating_sub(1)))
}

/// `Retry-After` in seconds (its HTTP-date form is not honoured: the backoff applies).
fn retry_after(header: Option<&str>) -> Option<Duration> {
    header?.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// The verdict on HTTP `status` at attempt `attempt` (1-based); `refreshed`: the secret was
/// already read again in this delivery.
pub fn verdict(
    status: u16,
    retry_after_header: Option<&str>,
    attempt: u32,
    refreshed: bool,
) -> Verdict {
    match status {
        200..=299 => Verdict::Delivered,
        401 | 403 | 404 if !refreshed => Verdict::Refresh,
        429 | 500..=599 if attempt < MAX_ATTEMPTS => {
            let wait = retry_after(retry_after_header).unwrap_or_else(|| backoff(attempt));
            if wait > MAX_WAIT {
                Verdict::Fail(format!(
                    "HTTP {status}, asked to wait {} s (more than {} s): left to Lambda's retry",
                    wait.as_secs(),
                    MAX_WAIT.as_secs()
                ))
            } else {
                Verdict::Retry(wait)
            }
        }
        429 | 500..=599 => Verdict::Fail(format!("HTTP {status} after {attempt} attempts")),
        other => Verdict::Fail(format!("HTTP {other}")),
    }
}

/// The verdict on a request that got no answer (timeout, connection refused).
pub fn verdict_on_error(error: &str, attempt: u32) -> Verdict {
    if attempt < MAX_ATTEMPTS {
        Verdict::Retry(backoff(attempt))
    } else {
        Verdict::Fail(format!("{error} after {attempt} attempts"))
    }
}

/// One HTTP answer: its status, `Retry-After` and the start of its body (for the error text).
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub retry_after: Option<String>,
    pub body: String,
}

/// Posts JSON with a timeout, over rustls.
#[derive(Clone)]
pub struct Poster {
    client: reqwest::Client,
}

impl Poster {
    pub fn new(timeout: Duration) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            // A redirect is an answer, not a new destination: the body is never sent on
            // to another host.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("ecs-monitor/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("the HTTP client: {e}"))?;
        Ok(Self { client })
    }

    /// POSTs `body` (JSON) to `url` with `headers`. The error never names the URL.
    pub async fn post(
        &self,
        url: &str,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> Result<Answer, String> {
        let mut req = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .body(body);
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        let resp = req.send().await.map_err(|e| e.without_url().to_string())?;
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let text = resp.text().await.unwrap_or_default();
        Ok(Answer {
            status,
            retry_after,
            body: text.chars().take(300).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_follow_the_status_and_retry_after() {
        use Verdict::*;
        let s = Duration::from_secs;
        let cases = [
            (202, None, 1, false, Delivered),
            (200, None, 4, true, Delivered),
            (429, Some("3"), 1, false, Retry(s(3))),
            (429, None, 1, false, Retry(Duration::from_millis(500))),
            (503, None, 3, false, Retry(s(2))),
            (
                503,
                Some("Wed, 21 Oct 2026 07:28:00 GMT"),
                2,
                false,
                Retry(s(1)),
            ),
            (
                500,
                None,
                4,
                false,
                Fail("HTTP 500 after 4 attempts".into()),
            ),
            (
                429,
                Some("120"),
                1,
                false,
                Fail(
                    "HTTP 429, asked to wait 120 s (more than 20 s): left to Lambda's retry".into(),
                ),
            ),
            (401, None, 1, false, Refresh),
            (404, None, 2, false, Refresh),
            (403, None, 2, true, Fail("HTTP 403".into())),
            (400, None, 1, false, Fail("HTTP 400".into())),
            // Redirects are not followed: the body stays with the host it was meant for.
            (302, None, 1, false, Fail("HTTP 302".into())),
        ];
        for (status, after, attempt, refreshed, want) in cases {
            assert_eq!(
                verdict(status, after, attempt, refreshed),
                want,
                "{status} {after:?} {attempt}"
            );
        }
        assert_eq!(
            verdict_on_error("timed out", 1),
            Retry(Duration::from_millis(500))
        );
        assert_eq!(
            verdict_on_error("timed out", 4),
            Fail("timed out after 4 attempts".into())
        );
    }
}
