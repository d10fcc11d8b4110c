//! The `diagnose` Lambda: on the health-check's alert (SNS), an ECS failure event
//! (EventBridge) or a direct invoke, analyses the services' logs and ECS evidence and writes
//! a report to S3.
mod handler;

use ecs_monitor::app::Diagnosis;
use lambda_runtime::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let app = Diagnosis::from_env().await?;
    run(service_fn(|event| handler::handle(&app, event))).await
}
