//! Severity of a log event as its logger wrote it: JSON fields, logfmt keys, or a level word
//! in the usual text spellings. The classifier uses it to decide whether a weak hint (the
//! bare word "timeout", "unauthorized", …) describes a failure or is only a mention.

use regex::Regex;
use std::sync::LazyLock;

/// Severity, ordered from least to most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
    /// CRITICAL, FATAL, EMERG, ALERT, pino/bunyan 60.
    Fatal,
    /// zap/logrus `panic` and `dpanic`, PostgreSQL `PANIC:`.
    Panic,
}

/// What [`detect`] found about an event's first line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LevelInfo {
    pub level: Option<Level>,
    /// The line is a structured record (a JSON object or logfmt `key=value` pairs with a level
    /// key): an error-level record counts as `structured_error` rather than `error`.
    pub structured: bool,
    /// Byte offset of the JSON object within the line, when the line is JSON.
    pub json_start: Option<usize>,
}

/// Level words are looked for only near the start of a line, where loggers put them; further
/// on, the same words are part of the message.
const PREFIX: usize = 200;

/// Maps a level name in any of its spellings (already lower-cased) to a [`Level`].
fn from_name(name: &str) -> Option<Level> {
    Some(match name {
        "trace" | "trc" | "trce" | "trac" | "verbose" | "vrb" | "finest" | "finer" => Level::Trace,
        "debug" | "dbg" | "dbug" | "debu" | "fine" => Level::Debug,
        "info" | "inf" | "information" | "informational" | "notice" | "log" | "config" => {
            Level::Info
        }
        "warn" | "warning" | "wrn" | "warni" => Level::Warn,
        "error" | "err" | "eror" | "erro" | "fail" | "severe" => Level::Error,
        "fatal" | "fata" | "ftl" | "critical" | "crit" | "alert" | "emerg" | "emergency" => {
            Level::Fatal
        }
        "panic" | "pani" | "dpanic" => Level::Panic,
        _ => return None,
    })
}

/// pino and bunyan numeric levels: 10 trace … 60 fatal.
fn from_number(n: u32) -> Option<Level> {
    Some(match n {
        0..=10 => Level::Trace,
        11..=20 => Level::Debug,
        21..=30 => Level::Info,
        31..=40 => Level::Warn,
        41..=50 => Level::Error,
        51..=60 => Level::Fatal,
        _ => return None,
    })
}

/// The level field of a JSON record: zap, logrus, pino/bunyan (numeric), structlog, Serilog
/// (`@l`, `Level`), logback JSON, python-json-logger (`levelname`), ECS (`log.level`),
/// Google Cloud (`severity`).
static JSON_LEVEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?x)
        "(?i:level|severity|levelname|level_name|log\.level|@l|@level|lvl|loglevel|log_level)"
        \s* : \s*
        (?: "(?P<name>[A-Za-z]{1,16})" | (?P<num>\d{1,3})\b )
        "#,
    )
    .expect("valid JSON level regex")
});

/// A logfmt level key: logrus text (`level=error`), log15 (`lvl=eror`), go-kit, slog.
static LOGFMT_LEVEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?x)
        (?: ^ | \s )
        (?i:level|lvl|severity|loglevel|log_level) = "?
        (?P<name>[A-Za-z]{1,16})
        "#,
    )
    .expect("valid logfmt level regex")
});

/// A level word in text. Upper-case words stand alone (`ERROR`, `WARN`, `ERR!` of npm,
/// `ERRO[0001]` of logrus on a terminal, `[12:00:01 ERR]` of Serilog, `ERROR:` of Python and
/// PostgreSQL, `SEVERE:` of java.util.logging); lower- and title-case words only in brackets
/// (`[error]` of nginx, `[proxy:error]` of Apache, `[Error]`), since "Error" and "info" are
/// also ordinary words of a message. ALERT and EMERG only in brackets: in capitals they are
/// too often a word of the message.
static TEXT_LEVEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?x)
          (?: ^ | [\s|(] | \[ (?:\d\d:\d\d:\d\d(?:\.\d+)?\s)? )      # token start; Serilog's "[HH:MM:SS "
          (?P<upper>
              TRACE|TRC|VERBOSE|VRB|DEBUG|DBG|DEBU|INFO|INF|NOTICE|LOG
            | WARN|WARNING|WRN|ERROR|ERRO|ERR|EROR|SEVERE|FATAL|FATA|FTL|CRITICAL|CRIT|PANIC|PANI|DPANIC
          )
          (?: $ | [\s\]):,!|\[-] )
        | \[ (?:[a-z_]+:)?                                           # Apache 2.4: [proxy:error]
          (?P<bracketed>(?i:trace\d?|debug|info|notice|warn|warning|error|crit|critical|alert|emerg|fatal|panic))
          \]
        "#,
    )
    .expect("valid text level regex")
});

/// Levels written as one letter at the start of the line: glog/klog (`E1129 14:35:27.123456`),
/// Ruby's Logger (`E, [2024-01-01T…`), .NET's console logger (`fail: `, `crit: `).
static LETTER_LEVEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?x)
          ^ (?P<glog>[IWEF]) \d{4} \s \d\d:\d\d:\d\d          # glog, klog
        | ^ (?P<ruby>[DIWEFA]) , \s \[                          # Ruby Logger
        | ^ (?P<dotnet>trce|dbug|info|warn|fail|crit) : \s      # Microsoft.Extensions.Logging console
        "#,
    )
    .expect("valid letter level regex")
});

fn letter(c: &str) -> Option<Level> {
    Some(match c {
        "D" => Level::Debug,
        "I" => Level::Info,
        "W" => Level::Warn,
        "E" => Level::Error,
        "F" | "A" => Level::Fatal,
        _ => return None,
    })
}

/// Largest char boundary at or below `max`.
pub(crate) fn floor_boundary(s: &str, max: usize) -> usize {
    if max >= s.len() {
        return s.len();
    }
    let mut i = max;
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Where a JSON object starts in `line`, if the line is one (possibly after a short prefix
/// such as a timestamp added by a log shipper).
pub(crate) fn json_start(line: &str) -> Option<usize> {
    let trimmed = line.trim_end();
    if !trimmed.ends_with('}') {
        return None;
    }
    let start = memchr::memchr(b'{', &line.as_bytes()[..line.len().min(64)])?;
    Some(start)
}

/// Detects the level of the first line of an event.
pub fn detect(line: &str) -> LevelInfo {
    if let Some(start) = json_start(line) {
        let body = &line[start..];
        let level = JSON_LEVEL.captures(body).and_then(|c| {
            if let Some(name) = c.name("name") {
                from_name(&name.as_str().to_ascii_lowercase())
            } else {
                c.name("num")
                    .and_then(|n| n.as_str().parse().ok())
                    .and_then(from_number)
            }
        });
        return LevelInfo {
            level,
            structured: true,
            json_start: Some(start),
        };
    }
    let prefix = &line[..floor_boundary(line, PREFIX)];
    if prefix.contains('=')
        && let Some(c) = LOGFMT_LEVEL.captures(line)
        && let Some(level) = from_name(&c["name"].to_ascii_lowercase())
    {
        return LevelInfo {
            level: Some(level),
            structured: true,
            json_start: None,
        };
    }
    let level = if let Some(c) = LETTER_LEVEL.captures(prefix) {
        c.name("glog")
            .or_else(|| c.name("ruby"))
            .and_then(|m| letter(m.as_str()))
            .or_else(|| c.name("dotnet").and_then(|m| from_name(m.as_str())))
    } else {
        TEXT_LEVEL.captures(prefix).and_then(|c| {
            let m = c.name("upper").or_else(|| c.name("bracketed"))?;
            let name = m.as_str().to_ascii_lowercase();
            from_name(name.trim_end_matches(|c: char| c.is_ascii_digit()))
        })
    };
    LevelInfo {
        level,
        structured: false,
        json_start: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_in_their_usual_spellings() {
        use Level::*;
        let cases: &[(&str, Option<Level>, bool)] = &[
            ("2024-01-01T12:00:00Z ERROR app: boom", Some(Error), false),
            (
                "2024-01-01 12:00:00.123  WARN 1 --- [main] o.s.App : slow",
                Some(Warn),
                false,
            ),
            (
                "12:00:00.123 [main] INFO  com.example.App - started",
                Some(Info),
                false,
            ),
            ("[error] 12#12: *1 open() failed", Some(Error), false),
            (
                "[Mon Jan 01 12:00:00 2024] [proxy:error] [pid 1] AH00957",
                Some(Error),
                false,
            ),
            (
                "E1129 14:35:27.123456   12345 main.go:42] failed",
                Some(Error),
                false,
            ),
            (
                "F1129 14:35:27.123456   12345 main.go:42] dying",
                Some(Fatal),
                false,
            ),
            (
                "E, [2024-01-01T12:00:00.000 #1] ERROR -- : boom",
                Some(Error),
                false,
            ),
            (
                "fail: Microsoft.AspNetCore.Server.Kestrel[13]",
                Some(Error),
                false,
            ),
            ("crit: Microsoft.Hosting.Lifetime[0]", Some(Fatal), false),
            ("ERROR:root:Unhandled", Some(Error), false),
            ("CRITICAL:app:cannot continue", Some(Fatal), false),
            (
                "2024-01-01 12:00:00 UTC [42] ERROR:  relation \"x\" does not exist",
                Some(Error),
                false,
            ),
            (
                "2024-01-01 12:00:00 UTC [42] LOG:  checkpoint complete",
                Some(Info),
                false,
            ),
            (
                "SEVERE: Servlet.service() threw exception",
                Some(Error),
                false,
            ),
            ("[12:00:01 ERR] Request failed", Some(Error), false),
            ("[12:00:01 INF] Request finished", Some(Info), false),
            ("ERRO[0003] failed to pull", Some(Error), false),
            ("npm ERR! code ELIFECYCLE", Some(Error), false),
            ("time=\"2024\" level=error msg=\"boom\"", Some(Error), true),
            ("t=2024 lvl=eror msg=boom", Some(Error), true),
            (r#"{"level":"error","msg":"boom"}"#, Some(Error), true),
            (r#"{"level":50,"msg":"boom"}"#, Some(Error), true),
            (r#"{"level":60,"msg":"boom"}"#, Some(Fatal), true),
            (r#"{"level":30,"msg":"ok"}"#, Some(Info), true),
            (
                r#"{"severity":"ERROR","message":"boom"}"#,
                Some(Error),
                true,
            ),
            (
                r#"{"@t":"2024","@l":"Fatal","@mt":"boom"}"#,
                Some(Fatal),
                true,
            ),
            (
                r#"{"log.level":"error","message":"boom"}"#,
                Some(Error),
                true,
            ),
            (
                r#"{"levelname": "CRITICAL", "message": "boom"}"#,
                Some(Fatal),
                true,
            ),
            (r#"{"level":"dpanic","msg":"boom"}"#, Some(Panic), true),
            (
                r#"2024-01-01T00:00:00Z {"level":"info","msg":"ok"}"#,
                Some(Info),
                true,
            ),
            (r#"{"msg":"no level here"}"#, None, true),
            ("GET /api/errors 200", None, false),
            ("Error: connect ECONNREFUSED", None, false),
            ("processed 0 ERRORS_TOTAL", None, false),
            ("Sending an ALERT to ops", None, false),
            ("just some text", None, false),
        ];
        for (line, level, structured) in cases {
            let got = detect(line);
            assert_eq!(got.level, *level, "level of {line:?}");
            assert_eq!(got.structured, *structured, "structured of {line:?}");
        }
    }

    #[test]
    fn level_words_late_in_the_line_are_message_words() {
        let line = format!("{} ERROR", "x".repeat(300));
        assert_eq!(detect(&line).level, None);
    }
}
