//! Fleet mode's SDK configurations: one per account and region, built from the deployment's
//! own (its endpoint and credentials), with the member role assumed in another account. Both
//! functions reach a fleet's clusters through it.

use crate::aws;
use crate::config::FleetConfig;
use std::collections::HashMap;
use tokio::sync::Mutex;

/// The deployment's SDK configuration and those derived from it, built once per cold start.
pub struct Accounts {
    home: aws_config::SdkConfig,
    fleet: FleetConfig,
    /// The deployment's own account (STS GetCallerIdentity at cold start): it names its
    /// clusters; `None` when it could not be learnt (they are then named without it).
    home_account: Option<String>,
    /// Per (account, region): an assumed role's credentials are cached and refreshed by its
    /// provider, and a region's clients share them.
    sdks: Mutex<HashMap<(Option<String>, String), aws_config::SdkConfig>>,
}

/// The account of the deployment's credentials: GetCallerIdentity, which needs no permission
/// ("GetCallerIdentity", STS API reference). Not learnt: logged.
async fn caller_account(sdk: &aws_config::SdkConfig) -> Option<String> {
    match aws_sdk_sts::Client::new(sdk)
        .get_caller_identity()
        .send()
        .await
    {
        Ok(out) => out.account().map(str::to_string),
        Err(e) => {
            tracing::warn!(
                "the deployment's account is unknown (sts:GetCallerIdentity: {}); its clusters are named without it",
                aws::describe(&e)
            );
            None
        }
    }
}

impl Accounts {
    /// Learns the deployment's account.
    pub async fn new(home: aws_config::SdkConfig, fleet: FleetConfig) -> Self {
        let home_account = caller_account(&home).await;
        Self {
            home,
            fleet,
            home_account,
            sdks: Mutex::new(HashMap::new()),
        }
    }

    /// The deployment's own SDK configuration (its state, reports and alerts).
    pub fn home(&self) -> &aws_config::SdkConfig {
        &self.home
    }

    pub fn home_account(&self) -> Option<&str> {
        self.home_account.as_deref()
    }

    /// How `r`'s alerts, incidents and pages name it (`None`: by its name alone), and the
    /// account it is in, when known.
    pub fn naming(&self, r: &crate::config::Resolved) -> (Option<String>, Option<String>) {
        let name = r.display(self.home_account());
        let label = (name != r.cluster).then_some(name);
        let account = r.account.clone().or_else(|| self.home_account.clone());
        (label, account)
    }

    /// The SDK configuration for clusters of `account` (none: the deployment's) in `region`.
    pub async fn sdk(&self, account: Option<&str>, region: &str) -> aws_config::SdkConfig {
        // The deployment's account named by its id is the deployment's: no role to assume.
        let account = account.filter(|a| Some(*a) != self.home_account.as_deref());
        let key = (account.map(str::to_string), region.to_string());
        let mut sdks = self.sdks.lock().await;
        if let Some(sdk) = sdks.get(&key) {
            return sdk.clone();
        }
        let mut sdk = self
            .home
            .to_builder()
            .region(aws_config::Region::new(region.to_string()));
        if let Some(account) = account {
            // AssumeRole with the deployment's own credentials ("AssumeRole", STS API
            // reference); the ExternalId guards against the confused deputy.
            let mut role =
                aws_config::sts::AssumeRoleProvider::builder(self.fleet.role_arn(account, region))
                    .session_name("ecs-monitor")
                    .region(aws_config::Region::new(region.to_string()))
                    .configure(&self.home);
            if let Some(x) = &self.fleet.external_id {
                role = role.external_id(x);
            }
            sdk = sdk.credentials_provider(aws_sdk_ecs::config::SharedCredentialsProvider::new(
                role.build().await,
            ));
        }
        let sdk = sdk.build();
        sdks.insert(key, sdk.clone());
        sdk
    }
}
