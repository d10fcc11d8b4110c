//! The `notifier` Lambda: subscribed to the alert topic, delivers each machine message to
//! PagerDuty, Slack, Microsoft Teams and generic webhooks (`NOTIFY_DESTINATIONS`), each in
//! the payload it expects.
mod handler;

use ecs_monitor::app::Delivery;
use lambda_runtime::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let app = Delivery::from_env().await?;
    run(service_fn(|event| handler::handle(&app, event))).await
}
