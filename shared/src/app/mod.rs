//! The application layer: what one run of each function does, built once from its
//! configuration and its ports, with one entry point each. The Lambdas, the CLI and the tests
//! use these same types; a handler only turns an event into a trigger and the result into an
//! answer.
//!
//! - [`HealthCheck::run`]: load the state, check, evaluate, save, alert (`health::run`).
//! - [`Diagnosis::run`]: claims, diagnosis, report, summary (`diagnose::*`).

mod accounts;
mod delivery;
mod diagnose_fleet;
mod diagnosis;
mod fleet;
mod health;

pub use accounts::Accounts;
pub use delivery::Delivery;
pub use diagnose_fleet::{DiagnoseFleet, LambdaDiagnosis, Routed};
pub use diagnosis::{Answer, Context, Diagnosis, MAX_RESPONSE};
pub use fleet::{ClusterRun, Fleet, FleetRun, SHARD_KEY, Shard, resolve_targets};
pub use health::{HealthCheck, HealthRun};

use crate::config::ConfigError;
use crate::diagnose::run::DiagnoseError;
use crate::diagnose::trigger::TriggerError;
use crate::health::probe::ProbeSetupError;
use crate::health::run::RunError;
use crate::ports::{AwsError, StoreError};

/// Why a run failed. [`AppError::error_type`] is stable: the Lambdas report it as the
/// `errorType` of their error, so CloudWatch, the invoker and the failed-event queue can tell
/// failures apart without parsing messages.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    ProbeSetup(#[from] ProbeSetupError),
    #[error("{0}")]
    Trigger(String),
    #[error(transparent)]
    StateStore(#[from] RunError),
    #[error(transparent)]
    Ecs(#[from] DiagnoseError),
    #[error("cannot claim the event: {0}")]
    Claims(StoreError),
    #[error("cannot store the report: {0}")]
    ReportStore(StoreError),
    #[error("the report is at {report}, but its summary could not be published: {error}")]
    Publish { report: String, error: AwsError },
    #[error("the deployment notice could not be published: {0}")]
    PublishNotice(AwsError),
    #[error("cannot record the task stop: {0}")]
    StopLog(StoreError),
    #[error("cannot discover the tagged clusters: {0}")]
    Discovery(AwsError),
    #[error("{0}")]
    Delivery(String),
}

impl From<TriggerError> for AppError {
    fn from(e: TriggerError) -> Self {
        AppError::Trigger(e.0)
    }
}

impl AppError {
    pub fn error_type(&self) -> &'static str {
        match self {
            AppError::Config(_) | AppError::ProbeSetup(_) => "ConfigError",
            AppError::Trigger(_) => "TriggerError",
            AppError::StateStore(_) => "StateStoreError",
            AppError::Ecs(_) => "EcsError",
            AppError::Claims(_) => "ClaimsError",
            AppError::ReportStore(_) => "ReportStoreError",
            AppError::Publish { .. } | AppError::PublishNotice(_) => "PublishError",
            AppError::StopLog(_) => "StopLogError",
            AppError::Discovery(_) => "DiscoveryError",
            AppError::Delivery(_) => "DeliveryError",
        }
    }
}
