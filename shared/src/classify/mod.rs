//! The log classifier: one CloudWatch event in, at most one error category out, plus
//! whether the event is health-check noise, the HTTP status of an access-log line, and a
//! fingerprint that groups the same error across ids, times and addresses.
//!
//! Pure: no I/O, no clock. Shared by the `diagnose` Lambda and `ecs-monitor classify`.
//!
//! # Categories and priority
//!
//! When several categories apply, the most specific root cause wins, in this order
//! ([`Category::PRIORITY`]):
//!
//! | category | what it means | examples |
//! |---|---|---|
//! | `oom` | out of memory | `java.lang.OutOfMemoryError: Java heap space`, `fatal error: runtime: out of memory`, `OOMKilled`, `memory allocation of 1024 bytes failed`, `MemoryError`, exit code 137 |
//! | `panic` | a runtime panic | `panic: runtime error: …`, `goroutine 1 [running]:`, `thread 'main' panicked at …`, `http: panic serving …` |
//! | `timeout` | an operation ran out of time | `context deadline exceeded`, `Read timed out`, `ETIMEDOUT`, `SocketTimeoutException`, `504 Gateway Timeout` |
//! | `connection_error` | a connection failed or broke | `connection refused`, `ECONNRESET`, `no such host`, `broken pipe`, `Communications link failure` |
//! | `auth_error` | credentials missing, wrong, expired or not allowed | `AccessDeniedException`, `ExpiredToken`, `SignatureDoesNotMatch`, `password authentication failed` |
//! | `http_5xx` | a server error response | an access-log line with status 500–599; `upstream returned 502` |
//! | `python_traceback` | a Python traceback | `Traceback (most recent call last):`, `  File "app.py", line 3`, `KeyError: 'id'` |
//! | `fatal` | the process cannot go on | `fatal error: …`, `FATAL`/`CRITICAL` level, `Segmentation fault`, `Essential container in task exited` |
//! | `exception` | an exception or its stack trace (JVM, .NET, Node.js, Ruby, Elixir) | `Exception in thread "main" …`, `\tat com.x.Y(Y.java:1)`, `Caused by:`, `TypeError: …` |
//! | `structured_error` | a JSON or logfmt record at error level | `{"level":"error",…}`, `"level":50`, `level=error` |
//! | `error` | any other error | `ERROR …`, `[error]`, `E1129 …` (glog), `fail:` (.NET), `Error: …` |
//!
//! Each family's patterns are documented in [`rules`]. Strong patterns count at any level;
//! weak ones (a bare "timeout", "unauthorized", "exception") only in an error context: a
//! level of ERROR or above, or, without a level, an error word in the message.
//!
//! # Health-check noise
//!
//! A GET or HEAD request for a health path (default `/health`, `/healthz`, `/ping`,
//! `/ready`, `/live` and everything below them; see [`HealthPaths`]) or any line with the
//! ALB's `ELB-HealthChecker` user agent is noise: never an error, never counted in the HTTP
//! status histogram, whatever its status or level.

pub mod access;
pub mod fingerprint;
pub mod json;
mod keywords;
pub mod level;
pub(crate) mod rules;
pub mod summary;

pub use access::HealthPaths;
pub use fingerprint::fingerprint;
pub use level::Level;
pub use summary::Summary;

use rules::fam;
use serde::{Deserialize, Serialize};
use std::fmt;

/// An error category. The declaration order is the priority order: `Oom` is the most specific.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Oom,
    Panic,
    Timeout,
    ConnectionError,
    AuthError,
    #[serde(rename = "http_5xx")]
    Http5xx,
    PythonTraceback,
    Fatal,
    Exception,
    StructuredError,
    Error,
}

impl Category {
    /// Every category, most specific first.
    pub const PRIORITY: [Category; 11] = [
        Category::Oom,
        Category::Panic,
        Category::Timeout,
        Category::ConnectionError,
        Category::AuthError,
        Category::Http5xx,
        Category::PythonTraceback,
        Category::Fatal,
        Category::Exception,
        Category::StructuredError,
        Category::Error,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Oom => "oom",
            Category::Panic => "panic",
            Category::Timeout => "timeout",
            Category::ConnectionError => "connection_error",
            Category::AuthError => "auth_error",
            Category::Http5xx => "http_5xx",
            Category::PythonTraceback => "python_traceback",
            Category::Fatal => "fatal",
            Category::Exception => "exception",
            Category::StructuredError => "structured_error",
            Category::Error => "error",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Category {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Category::PRIORITY
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| format!("unknown category {s:?}"))
    }
}

/// What the classifier says about one event.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Classification {
    pub category: Option<Category>,
    pub health_noise: bool,
    /// The status of an access-log line (also for health checks, which the histogram skips).
    pub http_status: Option<u16>,
    /// For error events: the message with volatile parts masked.
    pub fingerprint: Option<String>,
}

/// The classifier with its configuration (the health paths). Cheap to share by reference.
#[derive(Debug, Clone, Default)]
pub struct Classifier {
    health: HealthPaths,
}

/// String fields of a JSON record that carry its message (the first four) or its error.
const JSON_TEXT_KEYS: &[&str] = &[
    "msg",
    "message",
    "@m",
    "@mt",
    "error",
    "err",
    "exception",
    "exc_info",
    "stack",
    "stack_trace",
    "stacktrace",
    "error.message",
];

/// The message and error fields of a JSON record, and whether an error field is non-empty.
pub(crate) fn json_text(body: &str) -> (Vec<&str>, bool) {
    let mut texts = Vec::new();
    let mut has_error_field = false;
    for (key, value) in json::pairs(body) {
        let json::Value::Str(value) = value else {
            continue;
        };
        let Some(k) = JSON_TEXT_KEYS.iter().position(|k| *k == key) else {
            continue;
        };
        if value.is_empty() {
            continue;
        }
        has_error_field |= k >= 4;
        texts.push(value);
    }
    (texts, has_error_field)
}

/// Whether a line of `event` is one frame of a Go or Rust stack dump, as CloudWatch stores a
/// dump: one line per event. Hand-written rather than a regex: the keywords that wake it
/// (`.go:`, `::`, `()`) occur in many healthy lines, which a cheap shape check rejects at
/// their first bytes.
pub(crate) fn is_stack_frame(event: &str) -> bool {
    event.lines().any(|line| {
        let t = line.trim();
        go_file_line(t) || go_call(t) || rust_frame(t) || rust_location(line, t)
    })
}

fn is_hex_word(w: &str) -> bool {
    w.strip_prefix("0x")
        .is_some_and(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `runtime/panic.go:1023 +0x65 fp=0xc0006c5868 sp=0xc0006c5838 pc=0x89ebc5`, or the bare
/// `/usr/local/go/src/runtime/panic.go:491` (also after klog's ": ").
fn go_file_line(t: &str) -> bool {
    let t = t.strip_prefix(": ").unwrap_or(t);
    let (path, rest) = match memchr::memchr(b' ', t.as_bytes()) {
        Some(i) => (&t[..i], &t[i + 1..]),
        None => (t, ""),
    };
    let Some((file, line_no)) = path.rsplit_once(".go:") else {
        return false;
    };
    !file.is_empty()
        && !line_no.is_empty()
        && line_no.bytes().all(|b| b.is_ascii_digit())
        && rest.split_whitespace().all(|w| {
            w.strip_prefix('+').is_some_and(is_hex_word)
                || w.split_once('=')
                    .is_some_and(|(k, v)| matches!(k, "fp" | "sp" | "pc" | "lr") && is_hex_word(v))
        })
}

/// A Go call frame: `runtime.throw({0x1a9af4e?, 0xc000399e90?})`, `main.(*Server).handle(0xc0001a2000)`,
/// `strconv.FormatFloat(...)`, `panic({0x1974860?, 0x2cda2d0?})`, `sigs.k8s.io/…/controller.(*Controller).Reconcile.func1()`.
fn go_call(t: &str) -> bool {
    let Some(inner) = t.strip_suffix(')') else {
        return false;
    };
    let Some(open) = inner.rfind('(') else {
        return false;
    };
    let (name, args) = (&inner[..open], &inner[open + 1..]);
    if name.is_empty() || name.contains(char::is_whitespace) || args.contains(['(', ')']) {
        return false;
    }
    let arg_ok = |a: &str| {
        let a = a.trim().trim_start_matches('{').trim_end_matches('}');
        a == "..." || is_hex_word(a.trim_end_matches('?'))
    };
    if args.is_empty() {
        // `config.Load()` alone could be anything: only the runtime's, main's, closures and
        // package paths count.
        return name.starts_with("runtime.")
            || name.starts_with("main.")
            || name.contains(".func")
            || (name.contains('/') && name.contains('.'));
    }
    (name == "panic" || name.contains('.')) && args.split(',').all(arg_ok)
}

/// A Rust backtrace frame: `  10:     0x55b5b74ae870 - core::panicking::panic_fmt::hc87…`,
/// `   0:     0x7ff7d7e8e962 - <unknown>`, the short `   7: core::panicking::panic_fmt`, and
/// `frame #8  - 0x000000010f212260 - core::…` of some panic hooks.
fn rust_frame(t: &str) -> bool {
    let (hook, rest) = match t.strip_prefix("frame #") {
        Some(r) => (true, r),
        None => (false, t),
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return false;
    }
    let after = &rest[digits..];
    let after = match (hook, after.strip_prefix(':')) {
        (_, Some(a)) => a.trim_start(),
        (true, None) => after.trim_start().strip_prefix("- ").unwrap_or(after),
        (false, None) => return false,
    };
    if let Some((addr, sym)) = after.split_once(" - ") {
        return is_hex_word(addr.trim()) && !sym.trim().is_empty();
    }
    // The short form prints the symbol alone.
    !hook
        && after.contains("::")
        && (after.starts_with('<') || !after.contains(char::is_whitespace))
}

/// The location line under a Rust frame: `                        at ../src/libcore/macros.rs:21`.
fn rust_location(line: &str, t: &str) -> bool {
    line.len() - line.trim_start().len() >= 8
        && t.strip_prefix("at ").is_some_and(|p| {
            p.rsplit_once(".rs:").is_some_and(|(_, n)| {
                !n.is_empty()
                    && n.split(':')
                        .all(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
            })
        })
}

/// Lines of a Node.js stack (`    at fn (/app/x.js:1:2)`): tell Node's `TypeError:` from Python's.
fn has_node_frames(text: &str) -> bool {
    text.contains("    at ")
        && [".js:", ".ts:", ".mjs:", ".cjs:", "node:internal"]
            .iter()
            .any(|ext| text.contains(ext))
}

impl Classifier {
    pub fn new(health: HealthPaths) -> Self {
        Self { health }
    }

    pub fn health_paths(&self) -> &HealthPaths {
        &self.health
    }

    /// Classifies one log event (it may span several lines).
    pub fn classify(&self, event: &str) -> Classification {
        let event = event.trim_end_matches(['\n', '\r']);
        let first_line = &event[..memchr::memchr(b'\n', event.as_bytes()).unwrap_or(event.len())];
        let scan = rules::scan_lines(event, first_line.len());
        let families = scan.bits;

        let access = if families & fam::ACCESS != 0 {
            access::parse_with(first_line, access_hints(families))
        } else {
            None
        };
        let http_status = access.and_then(|a| a.status);
        let health_noise = families & fam::ELB_HEALTH != 0
            || access.is_some_and(|a| a.is_health_check(&self.health));
        if health_noise {
            return Classification {
                category: None,
                health_noise,
                http_status,
                fingerprint: None,
            };
        }

        let level = level::detect_with(first_line, &scan);
        let category = if access.is_some_and(|a| a.text_line) {
            // A request line: its words are the request's, only the status counts.
            http_status.filter(|s| *s >= 500).map(|_| Category::Http5xx)
        } else {
            categorize(event, families, level, http_status)
        };
        let fingerprint = category.map(|c| match (c, access) {
            (
                Category::Http5xx,
                Some(access::Access {
                    method: Some(method),
                    path: Some(path),
                    status: Some(status),
                    ..
                }),
            ) => fingerprint::request_fingerprint(method, path, status),
            _ => fingerprint(event, level.json_start),
        });
        Classification {
            category,
            health_noise: false,
            http_status,
            fingerprint,
        }
    }
}

/// The access-log forms the scan's keywords leave possible.
fn access_hints(families: u32) -> access::Hints {
    access::Hints {
        version: families & fam::ACCESS_VERSION != 0,
        bar: families & fam::ACCESS_BAR != 0,
        request: families & fam::ACCESS_REQUEST != 0,
    }
}

/// Chooses the most specific category among those that apply.
fn categorize(
    event: &str,
    families: u32,
    level: level::LevelInfo,
    http_status: Option<u16>,
) -> Option<Category> {
    let mut best = http_status.filter(|s| *s >= 500).map(|_| Category::Http5xx);

    // Whether the event is an error by its level or, without a level, by its words. Weak
    // patterns count only then. Computed at most once, and only if a weak pattern needs it.
    let mut context: Option<bool> = None;
    // Every error word and error field name is a keyword of the scan: without one, no text
    // needs reading.
    let may_say_error = families & (fam::GENERIC | fam::EXCEPTION | fam::EXC_NAME) != 0;
    let mut error_context = || {
        *context.get_or_insert_with(|| match (level.level, level.json_start) {
            (Some(l), _) => l >= Level::Error,
            (None, _) if !may_say_error => false,
            (None, Some(start)) => {
                let (texts, error_field) = json_text(&event[start..]);
                error_field || texts.iter().any(|t| rules::has_error_word(t))
            }
            (None, None) => rules::has_error_word(event),
        })
    };

    for rule in &rules::RULES {
        if best.is_some_and(|b| b <= rule.category) {
            break;
        }
        if families & (rule.family | rule.weak_family) == 0 {
            continue;
        }
        if (families & rule.family != 0 && rule.strong.is_match(event.as_bytes()))
            || rule
                .weak
                .as_ref()
                .is_some_and(|w| error_context() && w.is_match(event.as_bytes()))
        {
            best = Some(rule.category);
            break;
        }
    }
    let better = |c: Category, best: Option<Category>| best.is_none_or(|b| c < b);

    if families & fam::EXC_NAME != 0
        && better(Category::PythonTraceback, best)
        && let Some(c) = rules::exception_head(event, has_node_frames(event))
        && better(c, best)
    {
        best = Some(c);
    }
    let by_level = match level.level {
        Some(Level::Panic) => Some(Category::Panic),
        Some(Level::Fatal) => Some(Category::Fatal),
        Some(Level::Error) if level.structured => Some(Category::StructuredError),
        Some(Level::Error) => Some(Category::Error),
        Some(_) => None,
        None if error_context() => Some(if level.structured {
            Category::StructuredError
        } else {
            Category::Error
        }),
        None => None,
    };
    if families & fam::FRAME != 0 && better(Category::Panic, best) && is_stack_frame(event) {
        best = Some(Category::Panic);
    }
    let generic = (families & fam::GENERIC != 0
        && rules::GENERIC_STRONG.is_match(event.as_bytes()))
    .then_some(Category::Error);
    [best, by_level, generic].into_iter().flatten().min()
}

#[cfg(test)]
mod tests;
