//! The ECS adapter.

use super::short_name;
use crate::health::model::{DeploymentObservation, ServiceObservation, ServicesObservation};
use crate::ports::{
    AwsError, AwsLogs, ContainerDefinitionInfo, EcsServices, TaskDefinitionInfo, TaskDefinitions,
};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Service events kept per service (newest first).
const EVENTS: usize = 5;

pub struct Ecs(pub aws_sdk_ecs::Client);

impl Ecs {
    pub fn new(sdk: &aws_config::SdkConfig) -> Self {
        Self(aws_sdk_ecs::Client::new(sdk))
    }
}

/// ListClusters, then DescribeClusters with their tags, 100 at a time (its limit, ECS API
/// reference).
impl crate::ports::ClusterDiscovery for Ecs {
    async fn tagged_clusters(&self, key: &str, value: &str) -> Result<Vec<String>, AwsError> {
        let mut arns = Vec::new();
        let mut pages = self
            .0
            .list_clusters()
            .max_results(100)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| AwsError::from_sdk("ecs:ListClusters", &e))?;
            arns.extend(page.cluster_arns().iter().cloned());
        }
        let mut tagged = Vec::new();
        for chunk in arns.chunks(100) {
            tagged.extend(self.tagged_of(chunk, key, value).await?);
        }
        tagged.sort();
        Ok(tagged)
    }
}

impl Ecs {
    /// Which of `clusters` (at most 100 names or ARNs, DescribeClusters' limit) are active and
    /// tagged `key` = `value`.
    async fn tagged_of(
        &self,
        clusters: &[String],
        key: &str,
        value: &str,
    ) -> Result<Vec<String>, AwsError> {
        let out = self
            .0
            .describe_clusters()
            .set_clusters(Some(clusters.to_vec()))
            .include(aws_sdk_ecs::types::ClusterField::Tags)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("ecs:DescribeClusters", &e))?;
        Ok(out
            .clusters()
            .iter()
            .filter(|c| {
                c.status() == Some("ACTIVE")
                    && c.tags()
                        .iter()
                        .any(|t| t.key() == Some(key) && t.value() == Some(value))
            })
            .filter_map(|c| c.cluster_name().map(str::to_string))
            .collect())
    }

    /// Whether cluster `name` is active and tagged `key` = `value` (one DescribeClusters).
    pub async fn is_tagged(&self, name: &str, key: &str, value: &str) -> Result<bool, AwsError> {
        Ok(!self
            .tagged_of(&[name.to_string()], key, value)
            .await?
            .is_empty())
    }
}

impl EcsServices for Ecs {
    async fn list_services(&self, cluster: &str) -> Result<Vec<String>, AwsError> {
        let mut names = Vec::new();
        let mut pages = self
            .0
            .list_services()
            .cluster(cluster)
            .max_results(100)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| AwsError::from_sdk("ecs:ListServices", &e))?;
            names.extend(
                page.service_arns()
                    .iter()
                    .map(|a| short_name(a).to_string()),
            );
        }
        Ok(names)
    }

    async fn describe_services(
        &self,
        cluster: &str,
        names: &[String],
    ) -> Result<ServicesObservation, AwsError> {
        let out = self
            .0
            .describe_services()
            .cluster(cluster)
            .set_services(Some(names.to_vec()))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("ecs:DescribeServices", &e))?;
        let mut obs = ServicesObservation::default();
        for s in out.services() {
            let primary = s
                .deployments()
                .iter()
                .find(|d| d.status() == Some("PRIMARY"));
            obs.found.push(ServiceObservation {
                name: s.service_name().unwrap_or_default().to_string(),
                status: s.status().unwrap_or("ACTIVE").to_string(),
                desired: s.desired_count(),
                running: s.running_count(),
                pending: s.pending_count(),
                rollout_state: primary
                    .and_then(|d| d.rollout_state())
                    .map(|r| r.as_str().to_string()),
                rollout_reason: primary
                    .and_then(|d| d.rollout_state_reason())
                    .map(str::to_string),
                rollout_started_at: primary
                    .and_then(|d| d.created_at())
                    .and_then(|t| OffsetDateTime::from_unix_timestamp(t.secs()).ok()),
                primary_deployment: primary.and_then(|d| d.id()).map(str::to_string),
                task_definition: primary
                    .and_then(|d| d.task_definition())
                    .map(str::to_string),
                failed_tasks: primary.map_or(0, |d| d.failed_tasks()),
                events: s
                    .events()
                    .iter()
                    .take(EVENTS)
                    .map(|e| {
                        let at = e
                            .created_at()
                            .and_then(|t| OffsetDateTime::from_unix_timestamp(t.secs()).ok())
                            .and_then(|t| t.format(&Rfc3339).ok())
                            .unwrap_or_default();
                        format!("{at} {}", e.message().unwrap_or_default())
                            .trim()
                            .to_string()
                    })
                    .collect(),
                target_group_arns: s
                    .load_balancers()
                    .iter()
                    .filter_map(|lb| lb.target_group_arn().map(str::to_string))
                    .collect(),
                deployments: s
                    .deployments()
                    .iter()
                    .map(|d| DeploymentObservation {
                        id: d.id().unwrap_or_default().to_string(),
                        status: d.status().unwrap_or_default().to_string(),
                        rollout_state: d.rollout_state().map(|r| r.as_str().to_string()),
                        rollout_reason: d.rollout_state_reason().map(str::to_string),
                        created_at: d
                            .created_at()
                            .and_then(|t| OffsetDateTime::from_unix_timestamp(t.secs()).ok()),
                        task_definition: d.task_definition().map(str::to_string),
                        failed_tasks: d.failed_tasks(),
                    })
                    .collect(),
            });
        }
        for f in out.failures() {
            let name = f.arn().map(short_name).unwrap_or_default().to_string();
            if f.reason() == Some("MISSING") {
                obs.missing.push(name);
            } else {
                return Err(AwsError {
                    operation: "ecs:DescribeServices",
                    message: format!(
                        "{name}: {}",
                        f.reason().unwrap_or("failure without a reason")
                    ),
                });
            }
        }
        Ok(obs)
    }
}

impl TaskDefinitions for Ecs {
    async fn task_definition(&self, arn: &str) -> Result<TaskDefinitionInfo, AwsError> {
        let out = self
            .0
            .describe_task_definition()
            .task_definition(arn)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("ecs:DescribeTaskDefinition", &e))?;
        let Some(td) = out.task_definition() else {
            return Err(AwsError {
                operation: "ecs:DescribeTaskDefinition",
                message: format!("{arn}: no task definition in the answer"),
            });
        };
        Ok(TaskDefinitionInfo {
            arn: td.task_definition_arn().unwrap_or(arn).to_string(),
            memory: td.memory().map(str::to_string),
            containers: td
                .container_definitions()
                .iter()
                .map(|c| ContainerDefinitionInfo {
                    name: c.name().unwrap_or_default().to_string(),
                    // ECS's default: a container is essential unless it says otherwise.
                    essential: c.essential().unwrap_or(true),
                    memory: c.memory(),
                    log: c.log_configuration().and_then(|l| {
                        let options = l.options()?;
                        (l.log_driver().as_str() == "awslogs").then(|| AwsLogs {
                            group: options.get("awslogs-group").cloned().unwrap_or_default(),
                            region: options.get("awslogs-region").cloned(),
                            stream_prefix: options.get("awslogs-stream-prefix").cloned(),
                        })
                    }),
                })
                .collect(),
        })
    }
}
