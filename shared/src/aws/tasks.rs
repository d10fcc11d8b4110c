//! ECS evidence of restarts: stopped tasks (ListTasks STOPPED + DescribeTasks; ECS keeps
//! them about an hour) and the service's events.

use super::short_name;
use crate::ports::{AwsError, ContainerExit, StoppedTaskInfo, TaskHistory};

pub struct EcsTasks(pub aws_sdk_ecs::Client);

impl EcsTasks {
    pub fn new(sdk: &aws_config::SdkConfig) -> Self {
        Self(aws_sdk_ecs::Client::new(sdk))
    }
}

fn millis(t: Option<&aws_sdk_ecs::primitives::DateTime>) -> Option<i64> {
    t.and_then(|t| t.to_millis().ok())
}

impl TaskHistory for EcsTasks {
    async fn stopped_tasks(
        &self,
        cluster: &str,
        service: &str,
    ) -> Result<Vec<StoppedTaskInfo>, AwsError> {
        let mut arns = Vec::new();
        let mut pages = self
            .0
            .list_tasks()
            .cluster(cluster)
            .service_name(service)
            .desired_status(aws_sdk_ecs::types::DesiredStatus::Stopped)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| AwsError::from_sdk("ecs:ListTasks", &e))?;
            arns.extend(page.task_arns().iter().cloned());
        }
        let mut out = Vec::new();
        for chunk in arns.chunks(100) {
            let d = self
                .0
                .describe_tasks()
                .cluster(cluster)
                .set_tasks(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("ecs:DescribeTasks", &e))?;
            let group = format!("service:{service}");
            // Filter on the group too: not every ECS implementation honours serviceName.
            for t in d
                .tasks()
                .iter()
                .filter(|t| t.group() == Some(group.as_str()))
            {
                out.push(StoppedTaskInfo {
                    task_arn: t.task_arn().unwrap_or_default().to_string(),
                    stopped_at: millis(t.stopped_at()),
                    started_by: t.started_by().map(str::to_string),
                    task_definition: t.task_definition_arn().map(str::to_string),
                    source: crate::ports::StopSource::Ecs,
                    stop_code: t.stop_code().map(|c| c.as_str().to_string()),
                    stopped_reason: t.stopped_reason().map(str::to_string),
                    containers: t
                        .containers()
                        .iter()
                        .map(|c| ContainerExit {
                            name: c.name().unwrap_or_default().to_string(),
                            exit_code: c.exit_code(),
                            reason: c.reason().map(str::to_string),
                        })
                        .collect(),
                });
            }
        }
        Ok(out)
    }

    async fn service_events(
        &self,
        cluster: &str,
        service: &str,
    ) -> Result<Vec<(i64, String)>, AwsError> {
        let d = self
            .0
            .describe_services()
            .cluster(cluster)
            .services(service)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("ecs:DescribeServices", &e))?;
        Ok(d.services()
            .iter()
            .flat_map(|s| s.events())
            .filter_map(|e| {
                Some((
                    millis(e.created_at())?,
                    e.message().unwrap_or_default().to_string(),
                ))
            })
            .collect())
    }
}

/// The task id of a task ARN.
pub fn task_id(arn: &str) -> &str {
    short_name(arn)
}
