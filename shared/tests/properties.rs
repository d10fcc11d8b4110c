//! Property tests of everything that reads outside input: log events (the classifier, the
//! analyzer, redaction), trigger events, stored state and configuration. None may panic;
//! a rejection names what was wrong.

use ecs_monitor::aws::s3::parse_state;
use ecs_monitor::classify::{Classifier, HealthPaths};
use ecs_monitor::config::{ClassifierConfig, DiagnoseConfig, HealthConfig};
use ecs_monitor::diagnose::analyze::{Analyzer, LogEvent};
use ecs_monitor::diagnose::trigger;
use ecs_monitor::health::trigger::trigger as health_trigger;
use ecs_monitor::redact::redact;
use proptest::prelude::*;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::LazyLock;
use std::time::{Duration, Instant};

static CLASSIFIER: LazyLock<Classifier> = LazyLock::new(|| Classifier::new(HealthPaths::default()));

/// Pieces of real log formats, so generated lines reach deep into every parser.
const TOKENS: &[&str] = &[
    "ERROR",
    "error",
    "WARN",
    "INFO",
    "level=",
    "lvl=",
    "severity",
    "\"level\":",
    "\"status\":",
    "\"msg\":",
    "{",
    "}",
    "[",
    "]",
    "\"",
    ":",
    "=",
    " ",
    "\t",
    "\n",
    "\\",
    "/",
    "?",
    "&",
    ",",
    "GET ",
    "POST ",
    "\"GET /health HTTP/1.1\" ",
    "HTTP/1.1\" ",
    " 200 ",
    " 502 ",
    "500",
    "ELB-HealthChecker/2.0",
    "panic:",
    "goroutine 1 [running]:",
    "Traceback (most recent call last):",
    "  File \"app.py\", line 3",
    "Exception",
    "at com.x.Y(Y.java:1)",
    "OOMKilled",
    "out of memory",
    "connection refused",
    "timeout",
    "ECONNRESET",
    "SIGKILL",
    "exit code 137",
    "denied",
    "AccessDenied",
    "certificate",
    "x509",
    "E1129",
    "I1129",
    "[E]",
    "E,",
    "F,",
    "Started",
    "AKIAIOSFODNN7EXAMPLE",
    "password=",
    "Bearer ",
    "eyJhbGciOi",
    "-----BEGIN PRIVATE KEY-----",
    "é",
    "\u{1F600}",
    "\u{0}",
    "\u{FEFF}",
    "0",
    "42",
    "-1",
    "99999999999999999999",
    "1e308",
    "2026-11-29T14:00:00Z",
    "10.0.0.1:5432",
    "https://u:p@h/",
];

fn token_line() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(TOKENS), 0..120).prop_map(|t| t.concat())
}

fn arbitrary_text() -> impl Strategy<Value = String> {
    prop_oneof![
        token_line(),
        prop::collection::vec(any::<u8>(), 0..2048)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        any::<String>(),
    ]
}

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        prop::sample::select(TOKENS).prop_map(Value::from),
        any::<String>().prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..8)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// Keys of the events we parse, and random ones.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(
            &[
                "Records",
                "Sns",
                "Message",
                "MessageAttributes",
                "Subject",
                "EventSource",
                "source",
                "detail-type",
                "detail",
                "time",
                "clusterArn",
                "group",
                "taskArn",
                "stoppedReason",
                "lastStatus",
                "containers",
                "eventName",
                "services",
                "cluster",
                "minutes",
                "event",
                "since",
                "until",
                "reason",
                "incident_id",
                "status",
                "resources",
                "stoppedAt",
            ][..]
        )
        .prop_map(String::from),
        "[a-zA-Z-]{1,12}",
    ]
}

/// The sample events, each with one value somewhere replaced by arbitrary JSON.
fn mutated_sample() -> impl Strategy<Value = Value> {
    static SAMPLES: LazyLock<Vec<Value>> = LazyLock::new(|| {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../events");
        let mut out: Vec<Value> = std::fs::read_dir(dir)
            .expect("events/")
            .filter_map(|e| e.ok())
            .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
            .map(|e| serde_json::from_slice(&std::fs::read(e.path()).unwrap()).unwrap())
            .collect();
        out.sort_by_key(|v| v.to_string());
        out
    });
    (
        0..SAMPLES.len(),
        any::<prop::sample::Index>(),
        arbitrary_json(),
    )
        .prop_map(|(i, at, replacement)| {
            let mut v = SAMPLES[i].clone();
            let mut pointers = Vec::new();
            pointers_of(&v, String::new(), &mut pointers);
            let p = &pointers[at.index(pointers.len())];
            if let Some(slot) = v.pointer_mut(p) {
                *slot = replacement;
            }
            v
        })
}

fn pointers_of(v: &Value, here: String, out: &mut Vec<String>) {
    out.push(here.clone());
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                let k = k.replace('~', "~0").replace('/', "~1");
                pointers_of(child, format!("{here}/{k}"), out);
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                pointers_of(child, format!("{here}/{i}"), out);
            }
        }
        _ => {}
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 512,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn the_classifier_takes_any_text(line in arbitrary_text()) {
        let c = CLASSIFIER.classify(&line);
        // A fingerprint is a bounded digest of the line, never longer than it plus masks.
        if let Some(f) = c.fingerprint {
            prop_assert!(f.len() <= line.len() * 4 + 64);
        }
    }

    #[test]
    fn the_analyzer_takes_any_event_sequence(
        events in prop::collection::vec((any::<i64>(), "[ab]", arbitrary_text()), 0..40)
    ) {
        let mut a = Analyzer::new(&CLASSIFIER);
        for (timestamp, stream, message) in &events {
            a.add(&LogEvent { timestamp: *timestamp, stream, message });
        }
        let findings = a.finish();
        prop_assert!(findings.summary.lines as usize == events.len());
    }

    #[test]
    fn redaction_takes_any_text_and_is_idempotent(text in arbitrary_text()) {
        let once = redact(&text).into_owned();
        prop_assert_eq!(redact(&once).into_owned(), once);
    }

    #[test]
    fn trigger_parsing_turns_any_json_into_a_value_or_a_reason(v in arbitrary_json()) {
        if let Err(e) = trigger::parse(&v) {
            prop_assert!(!e.to_string().is_empty());
        }
    }

    #[test]
    fn trigger_parsing_survives_broken_sample_events(v in mutated_sample()) {
        if let Err(e) = trigger::parse(&v) {
            prop_assert!(!e.to_string().is_empty());
        }
        if let Err(e) = health_trigger(&v) {
            prop_assert!(!e.is_empty());
        }
    }

    #[test]
    fn the_health_check_trigger_takes_any_json(v in arbitrary_json()) {
        if let Err(e) = health_trigger(&v) {
            prop_assert!(e.starts_with("unsupported") || e.starts_with("not a valid"), "{e}");
        }
    }

    #[test]
    fn a_stored_state_of_any_shape_is_used_or_set_aside_with_a_warning(v in arbitrary_json()) {
        // What S3 or the state file might hold after a manual edit, read as the stores read it.
        let bytes = serde_json::to_vec(&v).unwrap();
        let loaded = parse_state(&bytes, Some("v1".into()), "s3://b/latest.json");
        prop_assert_eq!(loaded.version.as_deref(), Some("v1"));
        match (&loaded.state, &loaded.warning) {
            (Some(_), None) => {}
            (None, Some(w)) => prop_assert!(w.starts_with("s3://b/latest.json "), "{w}"),
            other => prop_assert!(false, "{other:?}"),
        }
    }

    #[test]
    fn configuration_garbage_is_rejected_naming_the_variable(
        var in prop::sample::select(VARS),
        value in arbitrary_text(),
    ) {
        let value = value.replace('\0', "");
        let env: HashMap<&str, &str> =
            HashMap::from([("ECS_CLUSTER", "prod"), (var, value.as_str())]);
        for e in [
            HealthConfig::from_env(&env).err(),
            DiagnoseConfig::from_env(&env).err(),
            ClassifierConfig::from_env(&env).err(),
        ]
        .into_iter()
        .flatten()
        {
            let text = e.to_string();
            prop_assert!(text.starts_with(var), "{var}: {text}");
        }
    }
}

/// Every variable the three configurations read.
const VARS: &[&str] = &[
    "ECS_CLUSTER",
    "ECS_REGION",
    "ECS_DOMAIN",
    "ECS_SERVICES",
    "ECS_HTTP_ENDPOINTS",
    "ECS_HEALTH_STATE",
    "ECS_HEALTH_OUTDIR",
    "ECS_CA_BUNDLE",
    "STATE_BUCKET",
    "STATE_PREFIX",
    "ALERT_TOPIC_ARN",
    "CERT_WARN_DAYS",
    "CERT_CRITICAL_DAYS",
    "PROBE_TIMEOUT_MS",
    "FAILURE_THRESHOLD",
    "SUCCESS_THRESHOLD",
    "REMINDER_MINUTES",
    "ECS_LOG_PATTERN",
    "REPORT_BUCKET",
    "REPORT_PREFIX",
    "DIAGNOSE_MINUTES",
    "DIAGNOSE_EVENT_LIMIT",
    "ECS_HEALTH_PATHS",
];

/// The median time of classifying `line`, over 5 runs.
fn median_time(line: &str) -> Duration {
    let mut times: Vec<Duration> = (0..5)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(CLASSIFIER.classify(std::hint::black_box(line)));
            start.elapsed()
        })
        .collect();
    times.sort();
    times[2]
}

/// Work grows linearly with the event: 16 times the bytes take well under 16² times as long
/// on the inputs most likely to make a scanner backtrack or rescan (one CloudWatch event is
/// at most 256 KB). A ratio test, not a speed target: it holds on any machine.
#[test]
fn classification_stays_linear_up_to_the_largest_event() {
    let units = [
        "ERROR ",
        "error=",
        "level=error ",
        "{\"level\":",
        "\"status\":5",
        "GET /",
        " 502 ",
        "panic: ",
        "at x.Y(Y.java:1)\n",
        "a=b ",
        "[E] ",
        "E1129 ",
        "password=x ",
        "eyJ",
        "::",
        "\"\"\"\"",
        "{{{{",
        "999999999",
        "Traceback ",
        "10.0.0.1:",
    ];
    let mut worst = (0.0, "");
    for unit in units {
        let small = unit.repeat(16 * 1024 / unit.len());
        let large = unit.repeat(256 * 1024 / unit.len());
        let (ts, tl) = (median_time(&small), median_time(&large));
        let ratio = tl.as_secs_f64() / ts.as_secs_f64().max(1e-6);
        // Linear: ≈16. Quadratic: ≈256. The margin absorbs noise of a busy machine.
        assert!(
            ratio < 64.0,
            "{unit:?}: 16 KB in {ts:?}, 256 KB in {tl:?} (×{ratio:.0}): not linear"
        );
        if ratio > worst.0 {
            worst = (ratio, unit);
        }
    }
    println!(
        "16× the bytes took at most ×{:.1} the time ({:?})",
        worst.0, worst.1
    );
}
