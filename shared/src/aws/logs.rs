//! The CloudWatch Logs adapter: one FilterLogEvents page at a time (paging, rate limiting and
//! retries are the caller's, in `diagnose::fetch`), and the log streams a window started.

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

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogsError {
    /// ThrottlingException (5 FilterLogEvents per second per account and region).
    #[error("throttled: {0}")]
    Throttled(String),
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

    /// First-event times (ms) of the log streams that started in [start, end]: one per task.
    fn streams_started(
        &self,
        group: &str,
        start_ms: i64,
        end_ms: i64,
    ) -> impl Future<Output = Result<Vec<(i64, String)>, LogsError>> + Send;
}

pub struct CloudWatchLogs(pub aws_sdk_cloudwatchlogs::Client);

impl CloudWatchLogs {
    pub fn new(sdk: &aws_config::SdkConfig) -> Self {
        Self(aws_sdk_cloudwatchlogs::Client::new(sdk))
    }
}

fn classify_error<E, R>(group: &str, e: &aws_sdk_cloudwatchlogs::error::SdkError<E, R>) -> LogsError
where
    E: aws_sdk_cloudwatchlogs::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    use aws_sdk_cloudwatchlogs::error::ProvideErrorMetadata;
    let text = describe(e);
    match e.code() {
        Some("ThrottlingException") | Some("LimitExceededException") => LogsError::Throttled(text),
        Some("ResourceNotFoundException") => LogsError::MissingGroup(group.to_string()),
        Some("AccessDeniedException") | Some("AccessDenied") => LogsError::Denied(text),
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

    async fn streams_started(
        &self,
        group: &str,
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<(i64, String)>, LogsError> {
        // Newest streams first; stop at the first that started before the window.
        let mut started = Vec::new();
        let mut pages = self
            .0
            .describe_log_streams()
            .log_group_name(group)
            .order_by(OrderBy::LastEventTime)
            .descending(true)
            .into_paginator()
            .send();
        let mut scanned = 0;
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify_error(group, &e))?;
            for s in page.log_streams() {
                scanned += 1;
                let first = s
                    .first_event_timestamp()
                    .or(s.creation_time())
                    .unwrap_or_default();
                if (start_ms..=end_ms).contains(&first) {
                    started.push((first, s.log_stream_name().unwrap_or_default().to_string()));
                }
            }
            // Streams ordered by their last event: a few pages cover any recent window.
            if scanned >= 500 {
                break;
            }
        }
        started.sort();
        Ok(started)
    }
}
