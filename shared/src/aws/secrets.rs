//! Secret values for the notifier: SSM Parameter Store (GetParameter with decryption) and
//! Secrets Manager (GetSecretValue, in the region its ARN names). Values are returned, never
//! logged; errors name the parameter or secret, never its value.

use crate::config::SecretRef;
use crate::ports::{AwsError, SecretSource};

pub struct Secrets {
    sdk: aws_config::SdkConfig,
    ssm: aws_sdk_ssm::Client,
}

impl Secrets {
    pub fn new(sdk: &aws_config::SdkConfig) -> Self {
        Self {
            sdk: sdk.clone(),
            ssm: aws_sdk_ssm::Client::new(sdk),
        }
    }
}

impl SecretSource for Secrets {
    async fn secret(&self, secret: &SecretRef) -> Result<String, AwsError> {
        match secret {
            SecretRef::Parameter(name) => {
                // WithDecryption: a SecureString's plain value ("GetParameter", SSM API
                // reference).
                let out = self
                    .ssm
                    .get_parameter()
                    .name(name)
                    .with_decryption(true)
                    .send()
                    .await
                    .map_err(|e| AwsError::from_sdk("ssm:GetParameter", &e))?;
                out.parameter()
                    .and_then(|p| p.value())
                    .map(str::to_string)
                    .ok_or_else(|| AwsError {
                        operation: "ssm:GetParameter",
                        message: format!("{name} has no value"),
                    })
            }
            SecretRef::Secret(arn) => {
                // The secret's own region, from its ARN.
                let region = arn.split(':').nth(3).unwrap_or_default().to_string();
                let conf = aws_sdk_secretsmanager::config::Builder::from(&self.sdk)
                    .region(aws_config::Region::new(region))
                    .build();
                let out = aws_sdk_secretsmanager::Client::from_conf(conf)
                    .get_secret_value()
                    .secret_id(arn)
                    .send()
                    .await
                    .map_err(|e| AwsError::from_sdk("secretsmanager:GetSecretValue", &e))?;
                out.secret_string()
                    .map(str::to_string)
                    .ok_or_else(|| AwsError {
                        operation: "secretsmanager:GetSecretValue",
                        message: format!("{} has no SecretString", secret.name()),
                    })
            }
        }
    }
}
