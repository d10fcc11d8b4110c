//! The `diagnose` Lambda. Its behaviour arrives with its own issue; until then it runs the
//! Lambda runtime and answers every invocation with an error that says so, rather than a
//! pretend success.
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use serde_json::Value;

async fn handler(_event: LambdaEvent<Value>) -> Result<Value, Error> {
    Err(format!(
        "{}: not available in ecs-monitor {} yet",
        env!("CARGO_PKG_NAME"),
        ecs_monitor::VERSION
    )
    .into())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    run(service_fn(handler)).await
}
