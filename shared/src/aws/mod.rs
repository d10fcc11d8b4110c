//! AWS access: one narrow trait per need (the ports), and their SDK adapters. The only
//! module that sees SDK types. The same `aws_config` path serves AWS, moto and LocalStack:
//! the SDK honours `AWS_ENDPOINT_URL`.

pub mod ecs;
pub mod elb;
pub mod lambda;
pub mod local;
pub mod logs;
pub mod s3;
pub mod secrets;
pub mod sns;
pub mod tasks;

pub use crate::ports::AwsError;
// The SDK crates share these smithy types; any of them re-exports them.
use aws_sdk_ecs::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

impl AwsError {
    pub(crate) fn from_sdk<E, R>(operation: &'static str, e: &SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        Self {
            operation,
            message: describe(e),
        }
    }
}

/// "Code: message" of a failed call, or the whole error chain when the service gave neither.
pub(crate) fn describe<E, R>(e: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match (e.code(), e.message()) {
        (Some(code), Some(msg)) => format!("{code}: {msg}"),
        (Some(code), None) => code.to_string(),
        _ => DisplayErrorContext(e).to_string(),
    }
}

/// Attempts of every AWS call: throttling (`ThrottlingException`, `Throttling`, `SlowDown`)
/// and 5xx answers are retried with exponential backoff and jitter (the SDK's standard mode).
pub const AWS_MAX_ATTEMPTS: u32 = 3;

/// The SDK configuration loader for `region`: retries as above; credentials and endpoint
/// (`AWS_ENDPOINT_URL`) from the environment unless the caller sets them.
pub fn sdk_loader(region: &str) -> aws_config::ConfigLoader {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(region.to_string()))
        .retry_config(
            aws_config::retry::RetryConfig::standard().with_max_attempts(AWS_MAX_ATTEMPTS),
        )
}

/// Loads the SDK configuration for `region` from the environment (credentials, endpoint).
pub async fn sdk_config(region: &str) -> aws_config::SdkConfig {
    sdk_loader(region).load().await
}

/// The last segment of an ARN or name (`arn:…:service/prod/api` → `api`).
pub fn short_name(arn_or_name: &str) -> &str {
    arn_or_name.rsplit('/').next().unwrap_or(arn_or_name)
}
