//! Fleet mode's diagnose: each event is about one cluster (`trigger::origin`), which the
//! fleet's entries name or discover by tag (`FleetConfig::route`); it is diagnosed with the
//! deployment's configuration set to that cluster (its name, region and key prefixes, as the
//! health check keeps them), its logs and ECS read through its account and region, the
//! report, claims and summary kept in the deployment's. Each invocation diagnoses one
//! cluster, so its FilterLogEvents budget is that account's and region's
//! (`diagnose::fetch`), shared with the invocations that may run at once.

use super::accounts::Accounts;
use super::{AppError, Diagnosis};
use crate::aws::{
    self, ecs::Ecs, elb::Elb, logs::CloudWatchLogs, s3::ReportStore, sns::Sns, tasks::EcsTasks,
};
use crate::config::{DiagnoseConfig, FleetConfig, Overlay, Resolved, Route, Source, WATCH_TAG};
use crate::diagnose::trigger::Origin;

/// Diagnose on the SDK: one cluster's.
pub type LambdaDiagnosis = Diagnosis<CloudWatchLogs, Ecs, EcsTasks, Elb, ReportStore, Sns>;

/// Where an event goes.
pub enum Routed {
    /// Its cluster's diagnosis (boxed: it holds the clients).
    To(Box<LambdaDiagnosis>),
    /// Not a cluster of the fleet: why.
    Outside(String),
}

/// The fleet, built once per cold start.
pub struct DiagnoseFleet<Src> {
    fleet: FleetConfig,
    source: Src,
    base: DiagnoseConfig,
    accounts: Accounts,
}

impl<Src: Source + Sync> DiagnoseFleet<Src> {
    /// `None` without `ECS_CLUSTERS`. The deployment's own settings are checked here, once.
    pub async fn from_source(source: Src) -> Result<Option<Self>, AppError> {
        let Some(fleet) = FleetConfig::from_env(&source)? else {
            return Ok(None);
        };
        let base = Self::base(&source)?;
        let home = aws::sdk_config(&base.region).await;
        Ok(Some(Self::build(fleet, source, base, home).await))
    }

    fn base(source: &Src) -> Result<DiagnoseConfig, AppError> {
        let base = DiagnoseConfig::from_env(&Overlay::any_cluster(source))?;
        base.require_report_bucket()?;
        Ok(base)
    }

    async fn build(
        fleet: FleetConfig,
        source: Src,
        base: DiagnoseConfig,
        home: aws_config::SdkConfig,
    ) -> Self {
        Self {
            accounts: Accounts::new(home, fleet.clone()).await,
            fleet,
            source,
            base,
        }
    }

    /// The diagnosis of the cluster `origin` names, if it is one of the fleet's: named by an
    /// entry, or covered by a `*` entry and tagged (one DescribeClusters, through its
    /// account's role).
    pub async fn route(&self, origin: &Origin) -> Result<Routed, AppError> {
        let home_account = self.accounts.home_account();
        let route = self.fleet.route(
            origin.account.as_deref(),
            origin.region.as_deref(),
            &origin.cluster,
            &self.base.region,
            home_account,
        );
        let r = match route {
            Route::Named(r) => r,
            Route::IfTagged(r) => {
                let sdk = self.accounts.sdk(r.account.as_deref(), &r.region).await;
                let tagged = Ecs::new(&sdk)
                    .is_tagged(&r.cluster, WATCH_TAG.0, WATCH_TAG.1)
                    .await
                    .map_err(AppError::Discovery)?;
                if !tagged {
                    return Ok(Routed::Outside(format!(
                        "cluster {} is not tagged {}={}",
                        r.display(home_account),
                        WATCH_TAG.0,
                        WATCH_TAG.1
                    )));
                }
                r
            }
            Route::Outside => {
                let name = Resolved {
                    account: origin.account.clone(),
                    region: origin
                        .region
                        .clone()
                        .unwrap_or_else(|| self.base.region.clone()),
                    cluster: origin.cluster.clone(),
                    explicit_region: true,
                }
                .display(home_account);
                return Ok(Routed::Outside(format!(
                    "cluster {name} is not one of ECS_CLUSTERS"
                )));
            }
        };
        Ok(Routed::To(Box::new(self.diagnosis(&r).await?)))
    }

    /// The cluster's diagnosis: the deployment's configuration with its name, region and key
    /// prefixes (those its health check keeps its state under).
    async fn diagnosis(&self, r: &Resolved) -> Result<LambdaDiagnosis, AppError> {
        let mut cfg = DiagnoseConfig::from_env(&r.overlay(
            &self.source,
            &self.base.state_prefix,
            &self.base.report_prefix,
        ))?;
        (cfg.label, cfg.account) = self.accounts.naming(r);
        let sdk = self.accounts.sdk(r.account.as_deref(), &r.region).await;
        LambdaDiagnosis::member(cfg, self.accounts.home(), &sdk)
    }
}
