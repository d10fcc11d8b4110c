//! Every sample in events/ parses as the trigger it stands for.

use ecs_monitor::diagnose::trigger::{Invocation, parse};
use serde_json::Value;
use std::path::PathBuf;

fn events_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../events")
}

#[test]
fn every_sample_event_parses() {
    let mut seen = 0;
    for entry in std::fs::read_dir(events_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        seen += 1;
        if name == "schedule.json" {
            let e: aws_lambda_events::eventbridge::EventBridgeEvent<Value> =
                serde_json::from_value(v).unwrap();
            assert_eq!(e.detail_type, "Scheduled Event");
            continue;
        }
        let inv = parse(&v).unwrap_or_else(|e| panic!("{name}: {e}"));
        if let Invocation::Deployment(d) = &inv {
            // The deployment samples that only need a notice.
            assert!(name.starts_with("ecs-deployment-"), "{name}");
            assert_eq!(d.service, "api", "{name}");
            continue;
        }
        let Invocation::Diagnose {
            services,
            trigger,
            dedupe_key,
            minutes,
            notice,
            stop,
        } = inv
        else {
            panic!("{name}: every other sample should start a diagnosis");
        };
        // A failed deployment's diagnosis comes with its notice, a task's with its stop.
        assert_eq!(
            notice.is_some(),
            name == "ecs-deployment-failed.json",
            "{name}"
        );
        assert_eq!(
            stop.is_some(),
            name.starts_with("ecs-task-stopped-") || name == "failed-event-record.json",
            "{name}"
        );
        let expected_kind = if name.starts_with("ecs-") || name.starts_with("failed-") {
            "ecs_event"
        } else if name.starts_with("sns-") {
            "sns"
        } else {
            "manual"
        };
        assert_eq!(trigger.kind, expected_kind, "{name}");
        if expected_kind == "ecs_event" {
            assert_eq!(services, Some(vec!["api".to_string()]), "{name}");
        }
        // Automatic triggers are de-duplicated and coalesced; a manual invoke never is.
        assert_eq!(dedupe_key.is_some(), expected_kind != "manual", "{name}");
        if name == "diagnose-api-30-minutes.json" {
            assert_eq!(minutes, Some(30));
        }
    }
    assert!(seen >= 10, "{seen} samples");
}
