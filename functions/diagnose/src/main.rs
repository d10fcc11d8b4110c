//! The `diagnose` Lambda: on the health-check's alert (SNS), an ECS failure event
//! (EventBridge) or a direct invoke, analyses the services' logs and ECS evidence and writes
//! a report to S3.
mod handler;

use lambda_runtime::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let app = handler::App::from_env().await?;
    run(service_fn(|event| app.handle(event))).await
}
