//! The CloudWatch Logs adapter: one FilterLogEvents or DescribeLogStreams page per call, one
//! HTTP attempt each. Paging, rate limiting and retries are the caller's (`diagnose::fetch`):
//! the 5 requests per second are per account and region, so every attempt, a retry too, must
//! pass the caller's limiter, and the SDK's own retries would not.

use super::describe;
use crate::ports::{LogEvents, LogPage, LogsError, OwnedEvent, StreamInfo, StreamPage};
use aws_sdk_cloudwatchlogs::types::OrderBy;

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

    async fn last_events(
        &self,
        group: &str,
        stream: &str,
        limit: i32,
    ) -> Result<Vec<(i64, String)>, LogsError> {
        // The newest events, in time order (GetLogEvents, API reference: startFromHead false).
        let out = self
            .0
            .get_log_events()
            .log_group_name(group)
            .log_stream_name(stream)
            .start_from_head(false)
            .limit(limit)
            .send()
            .await
            .map_err(|e| classify_error(group, &e))?;
        Ok(out
            .events()
            .iter()
            .map(|e| {
                (
                    e.timestamp().unwrap_or_default(),
                    e.message().unwrap_or_default().to_string(),
                )
            })
            .collect())
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
