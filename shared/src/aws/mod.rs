//! AWS access: one narrow trait per need (the ports), and their SDK adapters. The only
//! module that sees SDK types. The same `aws_config` path serves AWS, moto and LocalStack:
//! the SDK honours `AWS_ENDPOINT_URL`.

pub mod ecs;
pub mod elb;
pub mod local;
pub mod logs;
pub mod s3;
pub mod sns;
pub mod tasks;

use crate::health::model::{Alert, ServicesObservation, State, TargetObservation};
// The SDK crates share these smithy types; any of them re-exports them.
use aws_sdk_ecs::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use std::future::Future;

/// A failed AWS call, with the service's error code and message when it gave them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{operation} failed: {message}")]
pub struct AwsError {
    pub operation: &'static str,
    pub message: String,
}

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

/// ECS services: list and describe.
pub trait EcsServices: Send + Sync {
    /// Every service of the cluster (all pages).
    fn list_services(
        &self,
        cluster: &str,
    ) -> impl Future<Output = Result<Vec<String>, AwsError>> + Send;
    /// Describes at most 10 services (the API's limit per call).
    fn describe_services(
        &self,
        cluster: &str,
        names: &[String],
    ) -> impl Future<Output = Result<ServicesObservation, AwsError>> + Send;
}

/// ALB target health, one target group per call.
pub trait TargetHealth: Send + Sync {
    fn target_health(
        &self,
        target_group_arn: &str,
    ) -> impl Future<Output = Result<Vec<TargetObservation>, AwsError>> + Send;
}

/// What the store holds: the last state (if readable) and its version for a conditional write.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    pub state: Option<State>,
    /// The version to replace (an S3 ETag, a file hash); `None` when nothing is stored yet.
    pub version: Option<String>,
    /// Why a stored state could not be used (it is then replaced).
    pub warning: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// Another run wrote the state since it was loaded.
    #[error("the state changed since it was read (another run wrote it)")]
    Conflict,
    #[error("{0}")]
    Failed(String),
}

/// Where the health state lives: S3 for the Lambda, a file for the CLI.
pub trait StateStore: Send + Sync {
    fn load(&self) -> impl Future<Output = Result<Loaded, StoreError>> + Send;
    /// Writes `state` if the stored version is still `expected` (`None`: nothing stored);
    /// returns the new version.
    fn save(
        &self,
        state: &State,
        expected: Option<&str>,
    ) -> impl Future<Output = Result<String, StoreError>> + Send;
    /// Where the state is, for messages (`s3://bucket/key`, a path).
    fn location(&self) -> String;
}

/// Publishes alerts (SNS).
pub trait Notifier: Send + Sync {
    fn publish(
        &self,
        alert: &Alert,
        cluster: &str,
    ) -> impl Future<Output = Result<(), AwsError>> + Send;
}

/// Publishes a prepared `MessageStructure=json` message (the diagnose summary).
pub trait Publisher: Send + Sync {
    fn publish_json(
        &self,
        subject: &str,
        message: String,
    ) -> impl Future<Output = Result<(), AwsError>> + Send;
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
