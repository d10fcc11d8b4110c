//! The `diagnose` Lambda: on the health-check's alert (SNS), an ECS failure event
//! (EventBridge) or a direct invoke, analyses the services' logs and ECS evidence and writes
//! a report to S3.
mod handler;

use ecs_monitor::app::{DiagnoseFleet, Diagnosis};
use ecs_monitor::config::ProcessEnv;
use lambda_runtime::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    // ECS_CLUSTERS set: each event diagnosed in its fleet cluster; else ECS_CLUSTER's.
    if let Some(fleet) = DiagnoseFleet::from_source(ProcessEnv).await? {
        return run(service_fn(|event| handler::handle_fleet(&fleet, event))).await;
    }
    let app = Diagnosis::from_env().await?;
    run(service_fn(|event| handler::handle(&app, event))).await
}
