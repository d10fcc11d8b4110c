//! template.yaml as CloudFormation deploys it (tests/aws_template.py resolves parameters and
//! intrinsic functions): both functions' configurations load from exactly the environment the
//! template gives them at its defaults, and the deployment settings AWS's behaviour calls for
//! are there.

use ecs_monitor::config::{DiagnoseConfig, HealthConfig};
use ecs_monitor_e2e::moto::venv_python;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;

fn template(what: &str, function: &str, params: &[&str]) -> Value {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = Command::new(venv_python())
        .arg(root.join("tests/aws_template.py"))
        .args([what, function])
        .args(params)
        .output()
        .expect("run tests/aws_template.py");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

fn env_of(v: &Value) -> HashMap<String, String> {
    v.as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect()
}

/// SAM passes a blank parameter as an empty variable: with the template's defaults
/// ECS_HEALTH_PATHS="" once made diagnose fail at init on every invocation.
#[test]
fn both_functions_load_the_environment_the_template_gives_them() {
    for function in ["HealthCheckFunction", "DiagnoseFunction"] {
        let env = env_of(&template("env", function, &["ClusterName=prod"]));
        let blank: Vec<&String> = env
            .iter()
            .filter(|(_, v)| v.is_empty())
            .map(|(k, _)| k)
            .collect();
        assert!(
            !blank.is_empty(),
            "{function}: the defaults leave variables blank"
        );
        let source: HashMap<&str, &str> =
            env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        if function == "HealthCheckFunction" {
            let c = HealthConfig::from_env(&source).unwrap_or_else(|e| panic!("{function}: {e}"));
            assert_eq!(c.require_state_bucket().unwrap(), "ecs-monitor-state");
        } else {
            let c = DiagnoseConfig::from_env(&source).unwrap_or_else(|e| panic!("{function}: {e}"));
            assert_eq!(c.require_report_bucket().unwrap(), "ecs-monitor-state");
            assert_eq!((c.concurrency, c.coalesce_minutes), (2, 10));
        }
    }
}

#[test]
fn diagnose_is_deployed_for_asynchronous_events() {
    let props = template("resource", "DiagnoseFunction", &["ClusterName=prod"]);
    // The account's FilterLogEvents budget is shared by as many invocations as are reserved,
    // and each invocation's limiter knows how many.
    assert_eq!(props["ReservedConcurrentExecutions"], "2");
    assert_eq!(
        props["Environment"]["Variables"]["DIAGNOSE_CONCURRENCY"],
        "2"
    );
    let unreserved = template(
        "resource",
        "DiagnoseFunction",
        &["ClusterName=prod", "DiagnoseConcurrency=0"],
    );
    assert!(
        unreserved.get("ReservedConcurrentExecutions").is_none(),
        "0 reserves nothing (0 would stop the function)"
    );
    assert_eq!(
        unreserved["Environment"]["Variables"]["DIAGNOSE_CONCURRENCY"],
        "1"
    );
    // Events that fail every retry go to the failed-event queue.
    let invoke = &props["EventInvokeConfig"];
    assert_eq!(invoke["MaximumRetryAttempts"], 2);
    assert_eq!(invoke["DestinationConfig"]["OnFailure"]["Type"], "SQS");
    // SNS sends no attributes for a JSON-structured publish: a filter policy on them could
    // drop every alert.
    let alert = &props["Events"]["HealthAlert"]["Properties"];
    assert!(alert.get("FilterPolicy").is_none(), "{alert}");
}

/// Deployment notices: the rule brings every deployment event, or only failures when they
/// are off; the function is told which.
#[test]
fn deployment_events_follow_the_notices_parameter() {
    for (value, names) in [
        (
            "true",
            json!([
                "SERVICE_DEPLOYMENT_IN_PROGRESS",
                "SERVICE_DEPLOYMENT_COMPLETED",
                "SERVICE_DEPLOYMENT_FAILED"
            ]),
        ),
        ("false", json!(["SERVICE_DEPLOYMENT_FAILED"])),
    ] {
        let param = format!("DeploymentNotices={value}");
        let props = template(
            "resource",
            "DiagnoseFunction",
            &["ClusterName=prod", &param],
        );
        let pattern = &props["Events"]["Deployments"]["Properties"]["Pattern"];
        assert_eq!(pattern["detail"]["eventName"], names, "{value}");
        let env = env_of(&template(
            "env",
            "DiagnoseFunction",
            &["ClusterName=prod", &param],
        ));
        let source: HashMap<&str, &str> =
            env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let c = DiagnoseConfig::from_env(&source).unwrap();
        assert_eq!(c.deployment_notices.to_string(), value);
    }
}

/// The MaintenanceWindows parameter reaches both functions, parsed the same by each.
#[test]
fn maintenance_windows_reach_both_functions() {
    let param = "MaintenanceWindows=sun 02:00-04:00; api@mon-fri 23:30-00:30";
    for function in ["HealthCheckFunction", "DiagnoseFunction"] {
        let env = env_of(&template("env", function, &["ClusterName=prod", param]));
        let source: HashMap<&str, &str> =
            env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let windows = if function == "HealthCheckFunction" {
            HealthConfig::from_env(&source).unwrap().maintenance_windows
        } else {
            DiagnoseConfig::from_env(&source)
                .unwrap()
                .maintenance_windows
        };
        let texts: Vec<&str> = windows.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(
            texts,
            ["sun 02:00-04:00", "api@mon-fri 23:30-00:30"],
            "{function}"
        );
    }
}

/// Mode member deploys only what a member account needs (StackSets-ready): the read-only role
/// trusted by the monitoring account's health check, with the ExternalId when set, and the
/// rule forwarding its ECS events; Mode monitor (the default) deploys the product, unchanged.
#[test]
fn a_member_account_gets_only_the_role_and_the_forwarding_rule() {
    let deployed = |params: &[&str]| -> Vec<String> {
        serde_json::from_value(template("deployed", "-", params)).unwrap()
    };
    let member = deployed(&[
        "ClusterName=x",
        "Mode=member",
        "MonitoringAccountId=111122223333",
    ]);
    assert_eq!(
        member,
        [
            "MemberEventForwarding",
            "MemberEventForwardingRole",
            "MemberReadRole"
        ]
    );
    let monitor = deployed(&["ClusterName=prod"]);
    for r in [
        "HealthCheckFunction",
        "DiagnoseFunction",
        "StateBucket",
        "AlertTopic",
    ] {
        assert!(monitor.contains(&r.to_string()), "{r}: {monitor:?}");
    }
    assert!(
        !monitor
            .iter()
            .any(|r| r.starts_with("Member") || r == "OrganizationEvents")
    );
    let org = deployed(&["ClusterName=prod", "OrganizationId=o-abcdefghij"]);
    assert!(org.contains(&"OrganizationEvents".to_string()));
    let role = template(
        "resource",
        "MemberReadRole",
        &[
            "ClusterName=x",
            "Mode=member",
            "MonitoringAccountId=111122223333",
            "MemberExternalId=ext-42",
        ],
    );
    let trust = &role["AssumeRolePolicyDocument"]["Statement"][0];
    assert_eq!(trust["Principal"]["AWS"], "arn:aws:iam::111122223333:root");
    assert_eq!(
        trust["Condition"]["StringEquals"]["sts:ExternalId"],
        "ext-42"
    );
    assert_eq!(
        trust["Condition"]["ArnLike"]["aws:PrincipalArn"],
        json!([
            "arn:aws:iam::111122223333:role/*HealthCheckFunctionRole*",
            "arn:aws:iam::111122223333:role/*DiagnoseFunctionRole*"
        ]),
        "both functions read a member's clusters"
    );
    let forward = template(
        "resource",
        "MemberEventForwarding",
        &[
            "ClusterName=x",
            "Mode=member",
            "MonitoringAccountId=111122223333",
            "--resource=MemberEventForwardingRole.Arn=arn:aws:iam::111122223333:role/forward",
        ],
    );
    assert_eq!(
        forward["Targets"][0]["Arn"],
        "arn:aws:events:us-east-1:111122223333:event-bus/default"
    );
    // A member region other than the monitoring stack's: its events go to that region's
    // bus, and the role (IAM is global) is left to the stack in the monitoring region.
    let elsewhere = [
        "ClusterName=x",
        "Mode=member",
        "MonitoringAccountId=111122223333",
        "MonitoringRegion=eu-west-1",
    ];
    assert_eq!(
        deployed(&elsewhere),
        ["MemberEventForwarding", "MemberEventForwardingRole"]
    );
    let mut args = elsewhere.to_vec();
    args.push("--resource=MemberEventForwardingRole.Arn=arn:aws:iam::111122223333:role/forward");
    assert_eq!(
        template("resource", "MemberEventForwarding", &args)["Targets"][0]["Arn"],
        "arn:aws:events:eu-west-1:111122223333:event-bus/default"
    );
    let mut here = elsewhere.to_vec();
    here[3] = "MonitoringRegion=us-east-1";
    assert!(deployed(&here).contains(&"MemberReadRole".to_string()));
}

/// In fleet mode diagnose gets the fleet's variables and hears every cluster's ECS events
/// (the function keeps those of ECS_CLUSTERS); with one cluster, only that cluster's.
#[test]
fn the_fleet_parameters_reach_diagnose_and_open_its_event_rules() {
    let fleet = ["ClusterName=prod", "Clusters=prod,111122223333/eu-west-1/*"];
    let env = env_of(&template("env", "DiagnoseFunction", &fleet));
    assert_eq!(env["ECS_CLUSTERS"], "prod,111122223333/eu-west-1/*");
    assert_eq!(env["ECS_MEMBER_ROLE"], "ecs-monitor-member");
    let events =
        |params: &[&str]| template("resource", "DiagnoseFunction", params)["Events"].clone();
    let open = events(&fleet);
    assert_eq!(
        open["TaskStopped"]["Properties"]["Pattern"]["detail"],
        json!({"lastStatus": ["STOPPED"]}),
        "{open}"
    );
    assert!(
        open["Deployments"]["Properties"]["Pattern"]
            .get("resources")
            .is_none(),
        "{open}"
    );
    assert!(
        open["ServiceAction"]["Properties"]["Pattern"]["detail"]
            .get("clusterArn")
            .is_none()
    );
    let one = events(&["ClusterName=prod"]);
    assert_eq!(
        one["TaskStopped"]["Properties"]["Pattern"]["detail"]["clusterArn"],
        json!(["arn:aws:ecs:us-east-1:123456789012:cluster/prod"])
    );
    assert!(one["Deployments"]["Properties"]["Pattern"]["resources"].is_array());
}

/// The fleet parameters reach the health check, and its configuration loads from them.
#[test]
fn the_fleet_parameters_reach_the_health_check() {
    let env = env_of(&template(
        "env",
        "HealthCheckFunction",
        &[
            "ClusterName=prod",
            "Clusters=prod,eu-west-1/prod,111122223333/us-east-1/*",
            "ClustersPerWorker=10",
        ],
    ));
    let source: HashMap<&str, &str> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let fleet = ecs_monitor::config::FleetConfig::from_env(&source)
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            fleet.targets.len(),
            fleet.per_worker,
            fleet.member_role.as_str()
        ),
        (3, 10, "ecs-monitor-member")
    );
    let one = env_of(&template(
        "env",
        "HealthCheckFunction",
        &["ClusterName=prod"],
    ));
    let source: HashMap<&str, &str> = one.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(
        ecs_monitor::config::FleetConfig::from_env(&source).unwrap(),
        None,
        "one cluster by default"
    );
}

/// The notifier is deployed only with destinations; its environment loads, and its grants
/// keep to the secret path.
#[test]
fn the_notifier_exists_with_destinations_and_reads_only_its_secret_path() {
    let deployed = |params: &[&str]| -> Vec<String> {
        serde_json::from_value(template("deployed", "-", params)).unwrap()
    };
    assert!(!deployed(&["ClusterName=prod"]).contains(&"NotifierFunction".to_string()));
    let dests = r#"NotifyDestinations=[{"name": "pager", "type": "pagerduty", "secret": "/ecs-monitor/pd"}]"#;
    let with = deployed(&["ClusterName=prod", dests]);
    for r in ["NotifierFunction", "FailedNotificationsQueue"] {
        assert!(with.contains(&r.to_string()), "{r}: {with:?}");
    }
    let env = env_of(&template(
        "env",
        "NotifierFunction",
        &["ClusterName=prod", dests],
    ));
    let source: HashMap<&str, &str> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let cfg = ecs_monitor::config::NotifierConfig::from_env(&source).unwrap();
    assert_eq!(cfg.destinations[0].name, "pager");
    assert_eq!(env["NOTIFY_SECRET_PATH"], "/ecs-monitor/");
    let policy = template(
        "policy",
        "NotifierFunction",
        &["ClusterName=prod", dests, "NotifySecretPath=/team-a/"],
    );
    let resources: Vec<String> = policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| {
            s["Action"] == "ssm:GetParameter" || s["Action"] == "secretsmanager:GetSecretValue"
        })
        .map(|s| s["Resource"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        resources,
        [
            "arn:aws:ssm:us-east-1:123456789012:parameter/team-a/*",
            "arn:aws:secretsmanager:*:123456789012:secret:team-a/*"
        ]
    );
}
