//! Fingerprints: an error's message with its volatile parts masked, so the same error with
//! other ids, times, addresses or values groups together (as Drain and Sentry do).

use regex::{Captures, Regex};
use std::sync::LazyLock;

/// Fingerprints longer than this are cut: the head of a message identifies it.
const MAX_LEN: usize = 200;

/// Volatile parts, tried left to right at each position (earlier alternatives win).
static VOLATILE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?x)
          (?P<uuid> \b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b )
        | (?P<ts>
              \b\d{4}-\d\d-\d\d (?:[T\s] \d\d:\d\d(?::\d\d)?(?:[.,]\d+)? (?:Z|\s?[+-]\d\d:?\d\d|\s?UTC)? )?   # ISO 8601
            | \b\d{4}/\d\d/\d\d (?:\s \d\d:\d\d:\d\d(?:\.\d+)?)?                  # Go log, nginx
            | \b\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d (?:\s[+-]\d{4})?          # combined log
            | \b[A-Z][a-z]{2} \s [A-Z][a-z]{2} \s{1,2} \d{1,2} \s \d\d:\d\d:\d\d (?:\.\d+)? (?:\s\d{4})?   # Apache, syslog
            | \b\d\d:\d\d:\d\d (?:[.,]\d+)?
          )
        | (?P<ip> \b\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?\b | \[?\b(?:[0-9a-fA-F]{1,4}:){3,7}[0-9a-fA-F]{1,4}\b\]?(?::\d{1,5})? )
        | (?P<hex> \b0x[0-9a-fA-F]+\b | \b[0-9a-fA-F]{12,}\b | \b[0-9a-f]*\d[0-9a-f]*[a-f][0-9a-f]*\b | \b[0-9a-f]*[a-f][0-9a-f]*\d[0-9a-f]*\b )
        | (?P<dur> \b(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+\b )
        | (?P<dq> "(?:[^"\\]|\\.)*" )
        | (?P<sq> (?:^|[\s=:(\[,]) '[^'\n]*' )
        | (?P<num> \d+(?:\.\d+)? )
        "#,
    )
    .expect("valid fingerprint regex")
});

static SPACES: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\s+").expect("valid spaces regex"));

/// The line of an event that names its error: the last line of a Python traceback, the
/// first line otherwise; for JSON records, the message and error fields.
fn headline(event: &str, json_start: Option<usize>) -> String {
    if let Some(start) = json_start {
        let (texts, _) = super::json_text(&event[start..]);
        if !texts.is_empty() {
            // JSON escapes (\n, \t, \") are not part of the message's shape.
            let joined = texts.join(": ");
            let first = joined.split("\\n").next().unwrap_or(&joined);
            return first.replace("\\\"", "\"").replace("\\t", " ");
        }
    }
    let first = event.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    if first.trim_start().starts_with("Traceback")
        && let Some(last) = event.lines().rev().find(|l| {
            let l = l.trim();
            !l.is_empty() && !l.starts_with("File ") && !l.starts_with('^')
        })
    {
        return last.to_string();
    }
    first.to_string()
}

/// The fingerprint of an error event.
pub fn fingerprint(event: &str, json_start: Option<usize>) -> String {
    let line = headline(event, json_start);
    let masked = VOLATILE.replace_all(&line, |c: &Captures| {
        if c.name("uuid").is_some() {
            "<uuid>".to_string()
        } else if c.name("ts").is_some() {
            "<ts>".to_string()
        } else if c.name("ip").is_some() {
            "<ip>".to_string()
        } else if c.name("hex").is_some() {
            "<hex>".to_string()
        } else if c.name("dur").is_some() {
            "<dur>".to_string()
        } else if c.name("dq").is_some() {
            "\"<str>\"".to_string()
        } else if let Some(m) = c.name("sq") {
            let lead = m.as_str().chars().next().filter(|ch| *ch != '\'');
            format!("{}'<str>'", lead.map(String::from).unwrap_or_default())
        } else {
            "<n>".to_string()
        }
    });
    let collapsed = SPACES.replace_all(masked.trim(), " ");
    let mut out = collapsed.into_owned();
    if out.len() > MAX_LEN {
        out.truncate(super::level::floor_boundary(&out, MAX_LEN));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_error_with_other_volatile_parts_groups_together() {
        let groups: &[&[&str]] = &[
            &[
                "2026-11-29T14:35:27.123Z ERROR dial tcp 10.0.1.5:5432: connect: connection refused",
                "2026-11-29T16:01:02.999Z ERROR dial tcp 10.0.3.77:5432: connect: connection refused",
            ],
            &[
                "ERROR order 12345 failed after 1.5s: upstream 502",
                "ERROR order 987 failed after 300ms: upstream 503",
            ],
            &[
                "ERROR task arn:aws:ecs:us-east-1:123456789012:task/prod/0f1e2d3c4b5a69788796a5b4c3d2e1f0 stopped",
                "ERROR task arn:aws:ecs:us-east-1:123456789012:task/prod/aaaabbbbccccdddd1111222233334444 stopped",
            ],
            &[
                "ERROR user 3f2504e0-4f89-11d3-9a0c-0305e82c3301 not found",
                "ERROR user 6ba7b810-9dad-11d1-80b4-00c04fd430c8 not found",
            ],
            &[
                r#"ERROR:  relation "users" does not exist at character 15"#,
                r#"ERROR:  relation "orders" does not exist at character 42"#,
            ],
            &["KeyError: 'user_id'", "KeyError: 'order_id'"],
            &[
                "panic: runtime error: index out of range [5] with length 3\n\ngoroutine 1 [running]:",
                "panic: runtime error: index out of range [7] with length 2\n\ngoroutine 33 [running]:",
            ],
            &[
                r#"{"level":"error","ts":1732890927.123,"msg":"request failed","error":"dial tcp 10.0.0.1:443: i/o timeout"}"#,
                r#"{"level":"error","ts":1732890999.456,"msg":"request failed","error":"dial tcp 10.0.0.9:443: i/o timeout"}"#,
            ],
            &[
                "[Sun Nov 29 14:35:27.123456 2026] [proxy:error] [pid 1234] AH00957: connect to backend failed",
                "[Sun Nov 29 15:00:01.000001 2026] [proxy:error] [pid 99] AH00957: connect to backend failed",
            ],
        ];
        for group in groups {
            let fps: Vec<String> = group
                .iter()
                .map(|e| fingerprint(e, super::super::level::json_start(e)))
                .collect();
            assert!(
                fps.windows(2).all(|w| w[0] == w[1]),
                "expected one fingerprint for {group:?}, got {fps:?}"
            );
        }
    }

    #[test]
    fn different_errors_keep_different_fingerprints() {
        let a = fingerprint("ERROR connection refused to db", None);
        let b = fingerprint("ERROR permission denied for table users", None);
        let c = fingerprint("ERROR connection refused to cache", None);
        assert_ne!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn masks_are_readable_and_bounded() {
        assert_eq!(
            fingerprint("ERROR GET 10.0.0.1:8080 took 250ms (attempt 3)", None),
            "ERROR GET <ip> took <dur> (attempt <n>)"
        );
        assert_eq!(
            fingerprint(
                "Traceback (most recent call last):\n  File \"/app/main.py\", line 12, in <module>\nValueError: invalid literal for int() with base 10: 'abc'",
                None
            ),
            "ValueError: invalid literal for int() with base <n>: '<str>'"
        );
        let long = format!("ERROR {}", "é".repeat(500));
        assert!(fingerprint(&long, None).len() <= MAX_LEN);
    }
}
