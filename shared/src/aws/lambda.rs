//! This function invoking itself: the shards of a fleet run.

use crate::ports::{AwsError, ShardSender};

pub struct SelfInvoker {
    client: aws_sdk_lambda::Client,
    function: String,
}

impl SelfInvoker {
    /// `function`: this function's name (Lambda sets `AWS_LAMBDA_FUNCTION_NAME`).
    pub fn new(sdk: &aws_config::SdkConfig, function: &str) -> Self {
        Self {
            client: aws_sdk_lambda::Client::new(sdk),
            function: function.to_string(),
        }
    }
}

impl ShardSender for SelfInvoker {
    /// InvocationType=Event: Lambda queues the event and answers 202; it retries a failed
    /// run twice ("Asynchronous invocation", Lambda developer guide). An emulator that runs
    /// the event at once answers 200 with the result; a function error in that answer is a
    /// failure here too.
    async fn send_shard(&self, payload: Vec<u8>) -> Result<(), AwsError> {
        let out = self
            .client
            .invoke()
            .function_name(&self.function)
            .invocation_type(aws_sdk_lambda::types::InvocationType::Event)
            .payload(aws_sdk_lambda::primitives::Blob::new(payload))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("lambda:InvokeFunction", &e))?;
        match out.function_error() {
            Some(kind) => Err(AwsError {
                operation: "lambda:InvokeFunction",
                message: format!("the shard failed: {kind}"),
            }),
            None => Ok(()),
        }
    }
}
