//! Table-driven tests over `testdata/cases.tsv`: every labelled event, and the minimum
//! number of positives and hard negatives each category's section must hold.

use super::*;
use std::collections::BTreeMap;

/// One labelled event of `cases.tsv`, `heldout.tsv` or `real.tsv` (which adds its source).
struct Case {
    section: String,
    expected: Expected,
    event: String,
    source: Option<String>,
    line: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expected {
    Category(Category),
    Nothing,
    Noise,
}

fn cases() -> Vec<Case> {
    parse_cases("cases.tsv", include_str!("testdata/cases.tsv"))
}

/// `LABEL<TAB>EVENT[<TAB>SOURCE]` lines; `file` names the file in messages.
fn parse_cases(file: &str, text: &str) -> Vec<Case> {
    let mut section = String::new();
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        if let Some(name) = raw.strip_prefix("## ") {
            section = name.trim().to_string();
            continue;
        }
        if raw.starts_with('#') || raw.trim().is_empty() {
            continue;
        }
        let mut cols = raw.split('\t');
        let (Some(label), Some(event), source, None) =
            (cols.next(), cols.next(), cols.next(), cols.next())
        else {
            panic!("{file}:{}: want LABEL<TAB>EVENT[<TAB>SOURCE]", i + 1);
        };
        let expected = match label {
            "-" => Expected::Nothing,
            "noise" => Expected::Noise,
            c => Expected::Category(
                c.parse()
                    .unwrap_or_else(|e| panic!("{file}:{}: {e}", i + 1)),
            ),
        };
        out.push(Case {
            section: section.clone(),
            expected,
            event: event.replace('↵', "\n").replace('→', "\t"),
            source: source.map(str::to_string),
            line: i + 1,
        });
    }
    out
}

/// Classifies every case, prints the accuracy and the misses, and fails below `min_percent`.
fn assert_accuracy(file: &str, cases: &[Case], min_percent: usize) {
    let classifier = Classifier::default();
    let wrong: Vec<String> = cases
        .iter()
        .filter_map(|case| {
            let got = outcome(&classifier.classify(&case.event));
            (got != case.expected).then(|| {
                let source = case
                    .source
                    .as_ref()
                    .map_or(String::new(), |s| format!(" ({s})"));
                format!(
                    "{file}:{} expected {:?}, got {got:?}: {}{source}",
                    case.line, case.expected, case.event
                )
            })
        })
        .collect();
    let right = cases.len() - wrong.len();
    println!(
        "{file} accuracy: {right}/{} = {:.1} %",
        cases.len(),
        100.0 * right as f64 / cases.len() as f64
    );
    for w in &wrong {
        println!("  {w}");
    }
    assert!(
        right * 100 >= cases.len() * min_percent,
        "{right}/{} right:\n{}",
        cases.len(),
        wrong.join("\n")
    );
}

fn outcome(c: &Classification) -> Expected {
    match (c.health_noise, c.category) {
        (true, _) => Expected::Noise,
        (false, Some(cat)) => Expected::Category(cat),
        (false, None) => Expected::Nothing,
    }
}

#[test]
fn every_labelled_case() {
    let classifier = Classifier::default();
    let all = cases();
    let failures: Vec<String> = all
        .iter()
        .filter_map(|case| {
            let got = classifier.classify(&case.event);
            (outcome(&got) != case.expected).then(|| {
                format!(
                    "cases.tsv:{} [{}] expected {:?}, got {:?}: {}",
                    case.line,
                    case.section,
                    case.expected,
                    outcome(&got),
                    case.event
                )
            })
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases misclassified:\n{}",
        failures.len(),
        all.len(),
        failures.join("\n")
    );
}

/// Accuracy on events the rules were not written against: 157/162 (96.9 %) when first
/// measured; 159/162 after two rule gaps it showed were closed. A drop below 90 % fails.
#[test]
fn heldout_accuracy_is_above_90_percent() {
    let heldout = parse_cases("heldout.tsv", include_str!("testdata/heldout.tsv"));
    assert_accuracy("heldout.tsv", &heldout, 90);
}

/// Accuracy on real lines from public issue threads and documentation (`real.tsv`, each
/// with its source). The figure printed here is the one the README quotes; a drop below
/// 95 % fails.
#[test]
fn real_line_accuracy_is_above_95_percent() {
    let lines = parse_cases("real.tsv", include_str!("testdata/real.tsv"));
    assert!(lines.len() >= 200, "{} real lines", lines.len());
    for l in &lines {
        assert!(
            l.source.as_ref().is_some_and(|s| s.starts_with("https://")),
            "real.tsv:{}: the source must be an address",
            l.line
        );
    }
    assert_accuracy("real.tsv", &lines, 95);
}

/// The access parser skips the forms whose words the scan did not find: on every labelled
/// event, and on request lines of every method, it reads what the full parse reads.
#[test]
fn access_hints_skip_only_what_cannot_match() {
    let mut events: Vec<String> = [
        ("cases.tsv", include_str!("testdata/cases.tsv")),
        ("heldout.tsv", include_str!("testdata/heldout.tsv")),
        ("real.tsv", include_str!("testdata/real.tsv")),
    ]
    .into_iter()
    .flat_map(|(file, text)| parse_cases(file, text))
    .map(|c| c.event)
    .collect();
    for method in [
        "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE",
    ] {
        events.extend([
            format!("{method} /api/x 200 1.2 ms status=ok"),
            format!("{method} /api/x - 503 status"),
            format!("Started {method} \"/health\" for 10.0.0.1 status"),
            format!(r#"10.0.0.1 - - [29/Nov/2026:14:35:27 +0000] "{method} /x HTTP/1.1" 200 1"#),
            format!(r#"{{"request":"{method} /x HTTP/1.1","status":"502"}}"#),
            format!(r#"[GIN] 2026/11/29 - 14:35:27 | 500 | 1ms | 10.0.0.1 | {method} "/x""#),
        ]);
    }
    events.push("Completed 500 Internal Server Error in 12ms".into());
    // JSON records the hints send straight to their fields.
    let links: String = (0..20).map(|i| format!(r#"{{"url":"/l{i}"}},"#)).collect();
    events.extend(
        [
            r#"{"msg":"said \"status\":500 \\","status":"200","method":"GET","path":"/x"}"#,
            r#"{"req":{"method":"GET","url":"/health"},"res":{"statusCode":200}}"#,
            r#"{ "Status" : "503" , "Method":"POST", "URL":"https://x.example/y?q=1" }"#,
            r#"{"status":"abc","status":502,"method":"PUT","method":"GET","path":"","path":"/p"}"#,
            r#"2026-11-29T14:35:27Z {"status":500,"path":"/a","method":"HEAD"}"#,
            r#"{"msg":"{\"status\":500,\"method\":\"GET\"}","status":200}"#,
            r#"{"status":{"code":500},"status_code":"502","method":["GET"],"verb":"DELETE"}"#,
            r#"{"status"  :  404,"path"	:	"/t"}"#,
            r#"{"msg":"GET /api/users/7 404","status":404}"#,
            r#"{"status":503"#,
            r#"{"status":"#,
        ]
        .map(String::from),
    );
    events.push(format!(
        r#"{{"links":[{links}],"method":"GET","status":500}}"#
    ));
    let mut parsed = 0;
    for event in &events {
        let first = event.lines().next().unwrap_or_default();
        let families = rules::scan(event).bits;
        if families & fam::ACCESS == 0 {
            continue;
        }
        let full = access::parse(first);
        parsed += usize::from(full.is_some());
        assert_eq!(
            access::parse_with(first, access_hints(families)),
            full,
            "{event}"
        );
    }
    assert!(parsed > 100, "{parsed} access lines");
}

#[test]
fn each_category_has_15_positives_and_10_hard_negatives() {
    let mut counts: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for case in cases() {
        let entry = counts.entry(case.section.clone()).or_default();
        match case.expected {
            Expected::Category(c) if c.as_str() == case.section => entry.0 += 1,
            _ => entry.1 += 1,
        }
    }
    for category in Category::PRIORITY {
        let (pos, neg) = counts.get(category.as_str()).copied().unwrap_or_default();
        assert!(pos >= 15, "{category}: {pos} positives");
        assert!(neg >= 10, "{category}: {neg} hard negatives");
    }
}

#[test]
fn errors_have_fingerprints_and_the_rest_do_not() {
    let classifier = Classifier::default();
    for case in cases() {
        let got = classifier.classify(&case.event);
        assert_eq!(
            got.fingerprint.is_some(),
            got.category.is_some(),
            "cases.tsv:{}: {got:?}",
            case.line
        );
    }
}

#[test]
fn priority_picks_the_most_specific_root_cause() {
    let classifier = Classifier::default();
    let cases = [
        // The original classifier called these `error` (first match in a poor order).
        (
            "ERROR upstream call failed: connection refused",
            Category::ConnectionError,
        ),
        (
            "ERROR dial tcp 10.0.0.1:443: i/o timeout (connection refused earlier)",
            Category::Timeout,
        ),
        ("panic: runtime error: out of memory", Category::Oom),
        (
            "Traceback (most recent call last):\n  File \"/a.py\", line 1, in f\nrequests.exceptions.ConnectionError: Connection refused",
            Category::ConnectionError,
        ),
        (
            "Exception in thread \"main\" java.net.SocketTimeoutException: connect timed out",
            Category::Timeout,
        ),
        (
            "{\"level\":\"error\",\"msg\":\"db\",\"error\":\"pq: password authentication failed for user app\"}",
            Category::AuthError,
        ),
        (
            "FATAL: unable to start: java.lang.IllegalStateException: boom",
            Category::Fatal,
        ),
    ];
    for (event, expected) in cases {
        assert_eq!(
            classifier.classify(event).category,
            Some(expected),
            "{event}"
        );
    }
}

#[test]
fn configured_health_paths_replace_the_defaults() {
    let classifier = Classifier::new(HealthPaths::new(["/status/alive"]));
    let probe = r#"10.0.0.5 - - [29/Nov/2026:14:35:27 +0000] "GET /status/alive HTTP/1.1" 200 2 "-" "curl/8""#;
    let health =
        r#"10.0.0.5 - - [29/Nov/2026:14:35:27 +0000] "GET /health HTTP/1.1" 500 2 "-" "curl/8""#;
    assert!(classifier.classify(probe).health_noise);
    let not_noise = classifier.classify(health);
    assert!(!not_noise.health_noise);
    assert_eq!(not_noise.category, Some(Category::Http5xx));
    assert_eq!(not_noise.http_status, Some(500));
}

#[test]
fn hostile_input_never_panics() {
    let classifier = Classifier::default();
    let long = "ERROR ".repeat(50_000);
    let inputs = [
        "",
        "\n\n\n",
        "{",
        "}",
        "{\"level\":",
        "\"GET / HTTP/1.1\" 5",
        "é\u{0}\u{7f}↵→ panic:",
        long.as_str(),
        "Traceback (most recent call last):",
        "GET HTTP/ HTTP/1.1 HTTP/1.1",
    ];
    for input in inputs {
        let _ = classifier.classify(input);
    }
    assert_eq!(classifier.classify(&long).category, Some(Category::Error));
}

#[test]
fn stack_frame_shapes() {
    let frames = [
        "runtime.throw({0x1a9af4e?, 0xc000399e90?})",
        "runtime.sigpanic()",
        "main.(*Server).handle(0xc0001a2000, {0x0, 0x0})",
        "strconv.FormatFloat(...)",
        "panic({0x1974860?, 0x2cda2d0?})",
        "panic(0x187e6a0, 0x2af1530)",
        "sigs.k8s.io/controller-runtime/pkg/internal/controller.(*Controller).Reconcile.func1()",
        "        runtime/panic.go:1023 +0x65 fp=0xc0006c5868 sp=0xc0006c5838 pc=0x89ebc5",
        "\t/app/internal/http/router.go:88 +0x1f4",
        ": /data/go/src/runtime/panic.go:491",
        "  10:     0x55b5b74ae870 - core::panicking::panic_fmt::hc8737e8cca20a7c8",
        "   0:     0x7ff7d7e8e962 - <unknown>",
        "   7: core::panicking::panic_fmt",
        "   4: <std::sys::backtrace::BacktraceLock::print::DisplayBacktrace as core::fmt::Display>::fmt",
        "frame #8  - 0x000000010f212260 - core::panicking::panic_fmt::hf4e16cb7f0d41a25",
        "                        at ../src/libcore/macros.rs:21",
        "             at /rustc/8f8e7a1b/library/core/src/panicking.rs:72:14",
        "first line\nruntime.gopark(0xab14c5ae6bc?, 0x3?, 0x20?, 0xd5?, 0x0?)",
    ];
    let not_frames = [
        "",
        "config.Load()",
        "INFO calling handler.Serve() now",
        "2026-11-29T14:35:27Z INFO orders/service.go:88 reserved inventory for order 7",
        r#"{"level":"info","caller":"api/handler.go:12","msg":"request served"}"#,
        "I1129 14:35:27.123456       1 controller.go:220] Starting workers count=4",
        "info: Microsoft.Hosting.Lifetime[0] Now listening on: http://[::]:8080",
        "main.go:42 is where it starts",
        "  3: retry scheduled",
        "12 - 0x1f - flags",
        "    at charge (/app/pay.js:12:9)",
        "  at src/lib.rs:12",
        "doSomething(userId, 0x1f)",
        "runtime.GOMAXPROCS(2) set",
    ];
    for f in frames {
        assert!(is_stack_frame(f), "a frame: {f:?}");
    }
    for n in not_frames {
        assert!(!is_stack_frame(n), "not a frame: {n:?}");
    }
}
