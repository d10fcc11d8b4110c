//! The Elastic Load Balancing v2 adapter.

use crate::health::model::TargetObservation;
use crate::ports::{AwsError, TargetHealth};

pub struct Elb(pub aws_sdk_elasticloadbalancingv2::Client);

impl Elb {
    pub fn new(sdk: &aws_config::SdkConfig) -> Self {
        Self(aws_sdk_elasticloadbalancingv2::Client::new(sdk))
    }
}

impl TargetHealth for Elb {
    async fn target_health(
        &self,
        target_group_arn: &str,
    ) -> Result<Vec<TargetObservation>, AwsError> {
        let out = self
            .0
            .describe_target_health()
            .target_group_arn(target_group_arn)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("elasticloadbalancing:DescribeTargetHealth", &e))?;
        Ok(out
            .target_health_descriptions()
            .iter()
            .map(|d| {
                let health = d.target_health();
                TargetObservation {
                    id: d
                        .target()
                        .and_then(|t| t.id())
                        .unwrap_or_default()
                        .to_string(),
                    port: d.target().and_then(|t| t.port()),
                    state: health
                        .and_then(|h| h.state())
                        .map_or("unknown".to_string(), |s| s.as_str().to_string()),
                    reason: health
                        .and_then(|h| h.reason())
                        .map(|r| r.as_str().to_string()),
                    description: health.and_then(|h| h.description()).map(str::to_string),
                }
            })
            .collect())
    }
}
