//! The CloudWatch Logs adapter: one FilterLogEvents or DescribeLogStreams page per call, one
//! HTTP attempt each. Paging, rate limiting and retries are the caller's (`diagnose::fetch`):
//! the 5 requests per second are per account and region, so every attempt, a retry too, must
//! pass the caller's limiter, and the SDK's own retries would not.

use super::describe;
use aws_sdk_cloudwatchlogs::types::OrderBy;
use std::future::Future;

/// A log event as CloudWatch returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedEvent {
    pub timestamp: i64,
    pub stream: String,
    pub message: String,
}

#[derive(Debug, Clone, Default)]
pub struct LogPage {
    pub events: Vec<OwnedEvent>,
    /// More events remain (pages may be short or empty while a token remains).
    pub next_token: Option<String>,
}

/// One log stream as DescribeLogStreams lists it (times in ms).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StreamInfo {
    pub name: String,
    pub first_event: Option<i64>,
    pub last_event: Option<i64>,
    pub created: Option<i64>,
}

#[derive(Debug, Clone, Default)]
pub struct StreamPage {
    /// Newest last event first.
    pub streams: Vec<StreamInfo>,
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogsError {
    /// ThrottlingException (5 FilterLogEvents per second per account and region).
    #[error("throttled: {0}")]
    Throttled(String),
    /// A 5xx answer, a timeout or a broken connection: worth another try.
    #[error("{0}")]
    Transient(String),
    #[error("log group {0} does not exist")]
    MissingGroup(String),
    #[error("access denied: {0}")]
    Denied(String),
    #[error("{0}")]
    Other(String),
}

/// FilterLogEvents and DescribeLogStreams.
pub trait LogEvents: Send + Sync {
    /// One page of events of `group` in [start, end] (milliseconds), interleaved by time.
    fn filter_page(
        &self,
        group: &str,
        start_ms: i64,
        end_ms: i64,
        pattern: Option<&str>,
        token: Option<String>,
    ) -> impl Future<Output = Result<LogPage, LogsError>> + Send;

    /// One page of `group`'s log streams, the newest last event first.
    fn streams_page(
        &self,
        group: &str,
        token: Option<String>,
    ) -> impl Future<Output = Result<StreamPage, LogsError>> + Send;
}

pub struct CloudWatchLogs(pub aws_sdk_cloudwatchlogs::Client);

impl CloudWatchLogs {
    /// A client that makes one attempt per call: `diagnose::fetch` retries through its
    /// limiter.
    pub fn new(sdk: &aws_config::SdkConfig) -> Self {
        let config = aws_sdk_cloudwatchlogs::config::Builder::from(sdk)
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .build();
        Self(aws_sdk_cloudwatchlogs::Client::from_conf(config))
    }
}

fn classify_error<E>(
    group: &str,
    e: &aws_sdk_cloudwatchlogs::error::SdkError<
        E,
        aws_sdk_cloudwatchlogs::config::http::HttpResponse,
    >,
) -> LogsError
where
    E: aws_sdk_cloudwatchlogs::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    use aws_sdk_cloudwatchlogs::error::ProvideErrorMetadata;
    use aws_sdk_cloudwatchlogs::error::SdkError;
    let text = describe(e);
    let status = e.raw_response().map(|r| r.status().as_u16());
    match e.code() {
        Some("ThrottlingException") | Some("LimitExceededException") => LogsError::Throttled(text),
        Some("ResourceNotFoundException") => LogsError::MissingGroup(group.to_string()),
        Some("AccessDeniedException") | Some("AccessDenied") => LogsError::Denied(text),
        Some("ServiceUnavailableException") => LogsError::Transient(text),
        _ if status.is_some_and(|s| s >= 500) => LogsError::Transient(text),
        _ if matches!(
            e,
            SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_)
        ) =>
        {
            LogsError::Transient(text)
        }
        _ => LogsError::Other(text),
    }
}

impl LogEvents for CloudWatchLogs {
    async fn filter_page(
        &self,
        group: &str,
        start_ms: i64,
        end_ms: i64,
        pattern: Option<&str>,
        token: Option<String>,
    ) -> Result<LogPage, LogsError> {
        let out = self
            .0
            .filter_log_events()
            .log_group_name(group)
            .start_time(start_ms)
            .end_time(end_ms)
            .set_filter_pattern(pattern.map(str::to_string))
            .set_next_token(token)
            .limit(10_000)
            .send()
            .await
            .map_err(|e| classify_error(group, &e))?;
        Ok(LogPage {
            events: out
                .events()
                .iter()
                .map(|e| OwnedEvent {
                    timestamp: e.timestamp().unwrap_or_default(),
                    stream: e.log_stream_name().unwrap_or_default().to_string(),
                    message: e.message().unwrap_or_default().to_string(),
                })
                .collect(),
            next_token: out.next_token().map(str::to_string),
        })
    }

    async fn streams_page(
        &self,
        group: &str,
        token: Option<String>,
    ) -> Result<StreamPage, LogsError> {
        let out = self
            .0
            .describe_log_streams()
            .log_group_name(group)
            .order_by(OrderBy::LastEventTime)
            .descending(true)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| classify_error(group, &e))?;
        Ok(StreamPage {
            streams: out
                .log_streams()
                .iter()
                .map(|s| StreamInfo {
                    name: s.log_stream_name().unwrap_or_default().to_string(),
                    first_event: s.first_event_timestamp(),
                    last_event: s.last_event_timestamp(),
                    created: s.creation_time(),
                })
                .collect(),
            next_token: out.next_token().map(str::to_string),
        })
    }
}
