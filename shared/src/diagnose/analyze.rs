//! Streaming analysis of one service's log events: memory stays bounded whatever the volume.
//!
//! Every event goes through the shared classifier. Multi-line traces arrive as one
//! CloudWatch event per line: an event that continues a trace (Python frames, `\tat …`,
//! `Caused by:`, goroutine dumps, indented lines, the final `SomeError: …` of a Python
//! traceback) within a few seconds in the same log stream joins the open occurrence, which
//! counts once with its head's category. A bare Python traceback header takes its fingerprint
//! from the exception line that ends it.

use crate::classify::summary::MAX_FINGERPRINTS;
use crate::classify::{Category, Classification, Classifier, Summary, fingerprint};
use crate::redact::redact;
use regex::Regex;
use std::collections::{HashMap, VecDeque};
use std::sync::LazyLock;

/// One CloudWatch log event.
#[derive(Debug, Clone, Copy)]
pub struct LogEvent<'a> {
    /// Milliseconds since the epoch.
    pub timestamp: i64,
    pub stream: &'a str,
    pub message: &'a str,
}

/// A trace continues only this long after its previous line.
const TRACE_GAP_MS: i64 = 5_000;
/// Bytes of a multi-line sample kept.
const MAX_TRACE_SAMPLE: usize = 4096;
/// Streams with an open trace at most; past it the oldest are closed.
const MAX_OPEN: usize = 1024;
/// Startup and shutdown lines kept for the timeline (the latest).
const MAX_LIFECYCLE: usize = 50;

/// Lines that continue a trace begun by the previous event of the same stream.
static CONTINUATION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?x)
          ^ \s* $                                                  # blank line inside a dump
        | ^ \s+ \S                                                 # indented: frames, source lines, tab-indented Go paths
        | ^ Caused \s by: \s
        | ^ goroutine \s \d+ \s \[                                 # the next goroutine of a Go dump
        | ^ \[signal \s
        | ^ created \s by \s                                       # Go: "created by main.main"
        | ^ [\w./*()\[\]-]+ \( [^()]* \) $                         # Go: "main.(*Server).handle(0xc000…)"
        | ^ During \s handling \s of \s the \s above \s exception
        | ^ The \s above \s exception \s was
        | ^ Traceback \s \(most \s recent \s call \s last\)       # a chained Python traceback
        | ^ (?:[A-Za-z_][\w$]*\.)* [A-Za-z_][\w$]*(?:Error|Exception|Exit|Interrupt|Iteration) (?: : | $ )   # the last line of a Python traceback
        "#,
    )
    .expect("valid continuation regex")
});

/// Lines saying the process starts or stops.
static LIFECYCLE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?xi)
          (?P<start> \b(?: started \s (?:\w+ \s)? (?:in|on) \b | starting \s (?:server|application|up|service) \b | listening \s (?:on|at) \b
                    | server \s started | ready \s to \s accept | application \s startup \s complete | booting \s worker | now \s listening ) )
        | (?P<stop> \b(?: shutting \s down | shutdown \s (?:complete|initiated|requested) | received \s (?:signal|SIGTERM|SIGINT)
                   | \bSIGTERM\b | graceful(?:ly)? \s (?:stop|shutdown) | stopping \s (?:server|application|service) ) )
        "#,
    )
    .expect("valid lifecycle regex")
});

/// A multi-line occurrence still open in its stream.
struct Occurrence {
    category: Category,
    fingerprint: String,
    /// The head is a bare traceback header: the exception line names it better.
    generic_head: bool,
    first: i64,
    /// Time of the latest line, for the gap that ends a trace.
    last: i64,
    sample: String,
}

/// Appends `line` to `sample` within [`MAX_TRACE_SAMPLE`]: a CloudWatch event can be
/// 256 KB, and up to [`MAX_OPEN`] traces are held at once. A line that must be cut is
/// redacted first, so no secret is cut in half and slips past the redaction of the whole
/// sample when it is committed.
fn push_bounded(sample: &mut String, line: &str) {
    let line = line.trim_end();
    let room = MAX_TRACE_SAMPLE.saturating_sub(sample.len());
    if line.len() <= room {
        sample.push_str(line);
    } else if room > 0 {
        let clean = redact(line);
        sample.push_str(&clean[..crate::classify::level::floor_boundary(&clean, room)]);
    }
}

impl Occurrence {
    fn extend(&mut self, ev: &LogEvent<'_>, c: &Classification) {
        self.last = ev.timestamp;
        if self.sample.len() < MAX_TRACE_SAMPLE {
            self.sample.push('\n');
            push_bounded(&mut self.sample, ev.message);
        }
        let names_the_error = c.category.is_some() && !ev.message.starts_with(char::is_whitespace);
        if self.generic_head && names_the_error {
            self.fingerprint = redacted_fingerprint(ev.message, c);
            self.generic_head = false;
        }
    }
}

/// What the analysis of one window found.
#[derive(Debug, Default)]
pub struct Findings {
    pub summary: Summary,
    /// (time in ms, description) of startup and shutdown lines, oldest first.
    pub lifecycle: Vec<(i64, String)>,
    /// Errors per minute (minutes since the epoch), for the report's chart.
    pub error_minutes: std::collections::BTreeMap<i64, u64>,
}

impl Findings {
    /// The fingerprints seen, each with the time (ms) it was first seen: which errors of a
    /// later window are new, and which are new since a moment within this one (one without a
    /// time counts as seen from the start).
    pub fn first_seen(&self) -> HashMap<String, i64> {
        self.summary
            .top(MAX_FINGERPRINTS)
            .into_iter()
            .map(|f| (f.fingerprint.clone(), f.first_seen.unwrap_or(i64::MIN)))
            .collect()
    }
}

/// Analyses the events of one service in one window, in arrival order.
pub struct Analyzer<'c> {
    classifier: &'c Classifier,
    summary: Summary,
    open: HashMap<String, Occurrence>,
    lifecycle: VecDeque<(i64, String)>,
    error_minutes: std::collections::BTreeMap<i64, u64>,
}

/// The fingerprint of an error line, made from the line with its secrets redacted: masking
/// first would hide parts of a secret from the redaction (AKIA…7… → AKIA…<n>…).
fn redacted_fingerprint(message: &str, c: &Classification) -> String {
    match redact(message) {
        std::borrow::Cow::Borrowed(_) => c
            .fingerprint
            .clone()
            .unwrap_or_else(|| fingerprint(message, None)),
        std::borrow::Cow::Owned(clean) => {
            fingerprint(&clean, crate::classify::level::json_start(&clean))
        }
    }
}

fn generic_head(message: &str) -> bool {
    let m = message.trim_start();
    m.starts_with("Traceback (most recent call last)") || m.starts_with("goroutine ")
}

impl<'c> Analyzer<'c> {
    pub fn new(classifier: &'c Classifier) -> Self {
        Self {
            classifier,
            summary: Summary::default(),
            open: HashMap::new(),
            lifecycle: VecDeque::new(),
            error_minutes: Default::default(),
        }
    }

    fn commit(&mut self, occ: Occurrence) {
        let fp = redact(&occ.fingerprint).into_owned();
        let sample = redact(&occ.sample).into_owned();
        *self
            .error_minutes
            .entry(occ.first.div_euclid(60_000))
            .or_default() += 1;
        self.summary
            .record_error(occ.category, fp, &sample, Some(occ.first));
    }

    pub fn add(&mut self, ev: &LogEvent<'_>) {
        let c = self.classifier.classify(ev.message);
        self.summary.record_line(&c);
        if c.health_noise {
            return;
        }
        if let Some(occ) = self.open.get_mut(ev.stream)
            && ev.timestamp.saturating_sub(occ.last) <= TRACE_GAP_MS
            && CONTINUATION.is_match(ev.message)
        {
            occ.extend(ev, &c);
            return;
        }
        if let Some(occ) = self.open.remove(ev.stream) {
            self.commit(occ);
        }
        if let Some(caps) = LIFECYCLE.captures(ev.message) {
            let kind = if caps.name("start").is_some() {
                "startup"
            } else {
                "shutdown"
            };
            let line: String = ev.message.trim().chars().take(160).collect();
            if self.lifecycle.len() == MAX_LIFECYCLE {
                self.lifecycle.pop_front();
            }
            self.lifecycle
                .push_back((ev.timestamp, format!("{kind}: {}", redact(&line))));
        }
        let Some(category) = c.category else { return };
        if self.open.len() >= MAX_OPEN {
            let all: Vec<Occurrence> = self.open.drain().map(|(_, o)| o).collect();
            for o in all {
                self.commit(o);
            }
        }
        let mut sample = String::new();
        push_bounded(&mut sample, ev.message);
        self.open.insert(
            ev.stream.to_string(),
            Occurrence {
                category,
                fingerprint: redacted_fingerprint(ev.message, &c),
                generic_head: generic_head(ev.message),
                first: ev.timestamp,
                last: ev.timestamp,
                sample,
            },
        );
    }

    pub fn finish(mut self) -> Findings {
        let mut open: Vec<Occurrence> = self.open.drain().map(|(_, o)| o).collect();
        open.sort_by_key(|o| o.first);
        for o in open {
            self.commit(o);
        }
        Findings {
            summary: self.summary,
            lifecycle: self.lifecycle.into_iter().collect(),
            error_minutes: self.error_minutes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn analyze(events: &[(i64, &str, &str)]) -> Findings {
        let classifier = Classifier::default();
        let mut a = Analyzer::new(&classifier);
        for (ts, stream, message) in events {
            a.add(&LogEvent {
                timestamp: *ts,
                stream,
                message,
            });
        }
        a.finish()
    }

    #[test]
    fn a_python_traceback_over_several_events_is_one_occurrence_named_by_its_last_line() {
        let f = analyze(&[
            (1000, "s1", "Traceback (most recent call last):"),
            (1001, "s1", "  File \"/app/worker.py\", line 42, in run"),
            (1001, "s2", "INFO unrelated line of another task"),
            (1002, "s1", "    total = order[\"amount\"]"),
            (1003, "s1", "KeyError: 'amount'"),
            (1500, "s1", "INFO next request"),
        ]);
        let s = &f.summary;
        assert_eq!(s.errors_total, 1);
        assert_eq!(s.categories[&Category::PythonTraceback], 1);
        let top = s.top(5);
        assert_eq!(top[0].fingerprint, "KeyError: '<str>'");
        assert!(
            top[0]
                .sample
                .starts_with("Traceback (most recent call last):\n  File")
        );
        assert!(top[0].sample.ends_with("KeyError: 'amount'"));
        assert_eq!(s.lines, 6);
    }

    #[test]
    fn java_and_go_traces_count_once_with_the_heads_category() {
        let f = analyze(&[
            (
                0,
                "a",
                "2026-11-29 14:35:27.123 ERROR 1 --- [main] c.e.App : request failed",
            ),
            (1, "a", "java.lang.IllegalStateException: inventory missing"),
            (
                2,
                "a",
                "\tat com.example.OrderService.place(OrderService.java:42)",
            ),
            (
                3,
                "a",
                "Caused by: java.net.ConnectException: Connection refused",
            ),
            (4, "a", "\t... 12 more"),
            (
                10,
                "b",
                "panic: runtime error: invalid memory address or nil pointer dereference",
            ),
            (
                11,
                "b",
                "[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x4a5b2c]",
            ),
            (12, "b", ""),
            (13, "b", "goroutine 1 [running]:"),
            (14, "b", "main.(*Server).handle(0xc0001a2000)"),
            (15, "b", "\t/app/server.go:88 +0x1d"),
        ]);
        let s = &f.summary;
        assert_eq!(s.errors_total, 2, "{:?}", s.top(10));
        assert_eq!(
            s.categories.get(&Category::Error),
            Some(&1),
            "the Spring ERROR line heads its trace"
        );
        assert_eq!(
            s.categories.get(&Category::Exception),
            None,
            "the exception continues it"
        );
        assert_eq!(s.categories.get(&Category::Panic), Some(&1));
        let java = s
            .top(2)
            .into_iter()
            .find(|f| f.category == Category::Error)
            .unwrap();
        assert!(java.sample.ends_with("\t... 12 more"), "{}", java.sample);
    }

    #[test]
    fn a_new_error_line_closes_the_previous_occurrence() {
        let f = analyze(&[
            (
                0,
                "a",
                "ERROR dial tcp 10.0.0.1:5432: connect: connection refused",
            ),
            (
                1,
                "a",
                "ERROR dial tcp 10.0.0.2:5432: connect: connection refused",
            ),
            (
                10_000,
                "a",
                "    indented, but long after: not a continuation",
            ),
        ]);
        assert_eq!(f.summary.errors_total, 2);
        let top = f.summary.top(1);
        assert_eq!(top[0].count, 2);
        assert_eq!((top[0].first_seen, top[0].last_seen), (Some(0), Some(1)));
    }

    #[test]
    fn noise_statuses_and_lifecycle() {
        let f = analyze(&[
            (
                0,
                "a",
                r#"10.0.0.5 - - [29/Nov/2026:14:35:27 +0000] "GET /health HTTP/1.1" 200 2 "-" "ELB-HealthChecker/2.0""#,
            ),
            (
                1,
                "a",
                r#"10.0.0.6 - - [29/Nov/2026:14:35:28 +0000] "GET /api HTTP/1.1" 502 2 "-" "curl/8""#,
            ),
            (2, "a", "INFO Received SIGTERM, shutting down"),
            (3, "b", "INFO Server started on :8080"),
        ]);
        assert_eq!(f.summary.health_noise, 1);
        assert_eq!(f.summary.http_status.get(&502), Some(&1));
        assert_eq!(f.summary.http_status.get(&200), None);
        assert_eq!(f.lifecycle.len(), 2);
        assert!(f.lifecycle[0].1.starts_with("shutdown: "));
        assert!(f.lifecycle[1].1.starts_with("startup: "));
    }

    #[test]
    fn samples_and_fingerprints_are_redacted() {
        let f = analyze(&[(
            0,
            "a",
            "ERROR login failed for postgres://app:hunter2@db:5432/x with key AKIAIOSFODNN7EXAMPLE password=hunter2",
        )]);
        let top = f.summary.top(1);
        assert!(!top[0].sample.contains("hunter2"), "{}", top[0].sample);
        assert!(!top[0].sample.contains("AKIAIOSFODNN7EXAMPLE"));
        assert!(
            !top[0].fingerprint.contains("IOSFODNN"),
            "no part of the key id: {}",
            top[0].fingerprint
        );
        assert!(
            !top[0].fingerprint.contains("hunter2"),
            "{}",
            top[0].fingerprint
        );
    }

    #[test]
    fn continuation_patterns() {
        for line in [
            "  File \"/app/x.py\", line 3, in f",
            "\tat com.x.Y.z(Y.java:1)",
            "    at processTicksAndRejections (node:internal/process/task_queues:95:5)",
            "Caused by: java.io.IOException: boom",
            "goroutine 7 [chan receive]:",
            "main.worker(0xc000010000)",
            "KeyError: 'x'",
            "requests.exceptions.ConnectionError: refused",
            "During handling of the above exception, another exception occurred:",
            "",
        ] {
            assert!(CONTINUATION.is_match(line), "{line:?}");
        }
        for line in [
            "ERROR next request failed",
            "INFO ok",
            "2026-11-29T14:35:27Z WARN slow",
        ] {
            assert!(!CONTINUATION.is_match(line), "{line:?}");
        }
    }

    /// 256 KB events (CloudWatch's largest) in a hundred streams at once: what is held
    /// while their traces are open stays within MAX_TRACE_SAMPLE each, and secrets stay out.
    #[test]
    fn the_largest_events_are_held_bounded() {
        let classifier = Classifier::default();
        let mut a = Analyzer::new(&classifier);
        let huge = format!(
            "ERROR request failed password=hunter2 {}",
            "x".repeat(256 * 1024)
        );
        let streams: Vec<String> = (0..100).map(|i| format!("s{i}")).collect();
        for (i, stream) in streams.iter().enumerate() {
            for j in 0..3 {
                a.add(&LogEvent {
                    timestamp: i as i64 * 10 + j,
                    stream,
                    message: if j == 0 { &huge } else { "\tat x.Y(Y.java:1)" },
                });
            }
        }
        assert_eq!(a.open.len(), 100);
        let held: usize = a
            .open
            .values()
            .map(|o| o.sample.len() + o.fingerprint.len())
            .sum();
        println!("100 open traces of 256 KB events hold {held} bytes of samples");
        assert!(a.open.values().all(|o| o.sample.len() <= MAX_TRACE_SAMPLE));
        assert!(a.open.values().all(|o| !o.sample.contains("hunter2")));
        let f = a.finish();
        assert_eq!(f.summary.errors_total, 100);
    }
}
