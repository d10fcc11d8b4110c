//! Where a service's logs are, from its task definition: each container's awslogs log
//! configuration names its log group and stream prefix, and the awslogs driver writes a task's
//! container output to the stream `<prefix>/<container>/<task id>` (Amazon ECS developer guide,
//! "Send Amazon ECS logs to CloudWatch": awslogs-stream-prefix). No pattern is guessed: a
//! container that does not use awslogs has no group here.

use crate::ports::TaskDefinitionInfo;

/// One container's log destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSource {
    pub group: String,
    pub container: String,
    pub stream_prefix: Option<String>,
}

/// The log groups of a task definition's containers, essential containers first (the
/// application before its sidecars), each group once; an error naming the task definition
/// when none of its containers sends its logs to CloudWatch in `region`.
pub fn groups(td: &TaskDefinitionInfo, region: &str) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    let mut elsewhere = Vec::new();
    let mut containers: Vec<_> = td.containers.iter().collect();
    containers.sort_by_key(|c| !c.essential);
    for c in containers {
        let Some(log) = &c.log else { continue };
        if log.group.is_empty() {
            continue;
        }
        if log.region.as_deref().is_some_and(|r| r != region) {
            elsewhere.push(format!(
                "{} in {}",
                log.group,
                log.region.as_deref().unwrap_or("")
            ));
            continue;
        }
        if !out.contains(&log.group) {
            out.push(log.group.clone());
        }
    }
    if out.is_empty() {
        let why = if elsewhere.is_empty() {
            "no container uses the awslogs log driver".to_string()
        } else {
            format!("its logs are in another region ({})", elsewhere.join(", "))
        };
        return Err(format!(
            "no log group in {region} for task definition {}: {why} (set ECS_LOG_PATTERN to name the groups)",
            crate::aws::short_name(&td.arn)
        ));
    }
    Ok(out)
}

/// The streams a stopped task's containers wrote to in this region, each with its group: the
/// containers with a stream prefix, those named in `first` (the ones that exited badly) first.
pub fn task_streams(
    td: &TaskDefinitionInfo,
    region: &str,
    task_id: &str,
    first: &[&str],
) -> Vec<LogSource> {
    let mut out: Vec<LogSource> = td
        .containers
        .iter()
        .filter_map(|c| {
            let log = c.log.as_ref()?;
            let prefix = log.stream_prefix.as_deref().filter(|p| !p.is_empty())?;
            if log.region.as_deref().is_some_and(|r| r != region) || log.group.is_empty() {
                return None;
            }
            Some(LogSource {
                group: log.group.clone(),
                container: c.name.clone(),
                stream_prefix: Some(format!("{prefix}/{}/{task_id}", c.name)),
            })
        })
        .collect();
    out.sort_by_key(|s| !first.contains(&s.container.as_str()));
    out
}

/// The memory limit (MiB) a container ran under: its own hard limit, else the task's.
pub fn memory_limit(td: &TaskDefinitionInfo, container: Option<&str>) -> Option<i32> {
    let own = container
        .and_then(|n| td.containers.iter().find(|c| c.name == n))
        .and_then(|c| c.memory);
    own.or_else(|| td.memory.as_deref().and_then(|m| m.trim().parse().ok()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::{AwsLogs, ContainerDefinitionInfo};

    fn container(
        name: &str,
        essential: bool,
        log: Option<(&str, Option<&str>, Option<&str>)>,
    ) -> ContainerDefinitionInfo {
        ContainerDefinitionInfo {
            name: name.into(),
            essential,
            memory: None,
            log: log.map(|(group, region, prefix)| AwsLogs {
                group: group.into(),
                region: region.map(str::to_string),
                stream_prefix: prefix.map(str::to_string),
            }),
        }
    }

    fn td(containers: Vec<ContainerDefinitionInfo>) -> TaskDefinitionInfo {
        TaskDefinitionInfo {
            arn: "arn:aws:ecs:us-east-1:123456789012:task-definition/api:7".into(),
            memory: Some("1024".into()),
            containers,
        }
    }

    #[test]
    fn groups_of_the_app_then_its_sidecars_once_each() {
        let t = td(vec![
            container(
                "envoy",
                false,
                Some(("/ecs/api-envoy", Some("us-east-1"), Some("ecs"))),
            ),
            container(
                "app",
                true,
                Some(("/ecs/api", Some("us-east-1"), Some("ecs"))),
            ),
            container("log-router", false, None),
            container("worker", true, Some(("/ecs/api", None, Some("ecs")))),
        ]);
        assert_eq!(
            groups(&t, "us-east-1").unwrap(),
            ["/ecs/api", "/ecs/api-envoy"]
        );
    }

    #[test]
    fn no_group_is_a_clear_error_never_a_guess() {
        let none = td(vec![container("app", true, None)]);
        let e = groups(&none, "us-east-1").unwrap_err();
        assert!(
            e.contains("api:7") && e.contains("awslogs") && e.contains("ECS_LOG_PATTERN"),
            "{e}"
        );
        let far = td(vec![container(
            "app",
            true,
            Some(("/ecs/api", Some("eu-west-1"), None)),
        )]);
        let e = groups(&far, "us-east-1").unwrap_err();
        assert!(e.contains("/ecs/api in eu-west-1"), "{e}");
    }

    #[test]
    fn a_tasks_streams_follow_the_awslogs_naming() {
        let t = td(vec![
            container("envoy", false, Some(("/ecs/api-envoy", None, Some("mesh")))),
            container("app", true, Some(("/ecs/api", None, Some("ecs")))),
            container("noprefix", true, Some(("/ecs/api", None, None))),
            container(
                "elsewhere",
                true,
                Some(("/ecs/x", Some("eu-west-1"), Some("ecs"))),
            ),
        ]);
        let streams = task_streams(&t, "us-east-1", "0f1e2d", &["app"]);
        let got: Vec<(&str, &str)> = streams
            .iter()
            .map(|s| (s.group.as_str(), s.stream_prefix.as_deref().unwrap()))
            .collect();
        assert_eq!(
            got,
            [
                ("/ecs/api", "ecs/app/0f1e2d"),
                ("/ecs/api-envoy", "mesh/envoy/0f1e2d")
            ]
        );
    }

    #[test]
    fn memory_limits() {
        let mut t = td(vec![
            container("app", true, None),
            container("side", false, None),
        ]);
        t.containers[0].memory = Some(512);
        assert_eq!(memory_limit(&t, Some("app")), Some(512));
        assert_eq!(memory_limit(&t, Some("side")), Some(1024), "the task's");
        assert_eq!(memory_limit(&t, None), Some(1024));
        t.memory = None;
        assert_eq!(memory_limit(&t, Some("side")), None);
    }
}
