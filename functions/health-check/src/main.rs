//! The `health-check` Lambda: runs on an EventBridge schedule (or a direct invoke with `{}`),
//! checks the cluster, writes the state to S3 and alerts through SNS on change.
mod handler;

use ecs_monitor::app::{Fleet, HealthCheck};
use ecs_monitor::config::ProcessEnv;
use lambda_runtime::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    // ECS_CLUSTERS set: fleet mode; else the one cluster of ECS_CLUSTER.
    if let Some(fleet) = Fleet::from_source(ProcessEnv).await? {
        return run(service_fn(|event| handler::handle_fleet(&fleet, event))).await;
    }
    let app = HealthCheck::from_env().await?;
    run(service_fn(|event| handler::handle(&app, event))).await
}
