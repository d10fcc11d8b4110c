//! Fingerprints: an error's message with its volatile parts masked, so the same error with
//! other ids, times, addresses or values groups together (as Drain and Sentry do).

/// Fingerprints longer than this are cut: the head of a message identifies it.
const MAX_LEN: usize = 200;

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// How many bytes from `i` satisfy `pred`.
fn run(b: &[u8], i: usize, pred: impl Fn(u8) -> bool) -> usize {
    b.get(i..)
        .map_or(0, |r| r.iter().take_while(|c| pred(**c)).count())
}

/// Exactly `n` ASCII digits at `i`.
fn digits_n(b: &[u8], i: usize, n: usize) -> bool {
    b.get(i..i + n)
        .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
}

fn at(b: &[u8], i: usize, c: u8) -> bool {
    b.get(i) == Some(&c)
}

/// `.123` or `,123` (fractional seconds) at `i`: its length, 0 if absent.
fn fraction(b: &[u8], i: usize) -> usize {
    if matches!(b.get(i), Some(b'.' | b',')) {
        let n = run(b, i + 1, |c| c.is_ascii_digit());
        if n > 0 {
            return n + 1;
        }
    }
    0
}

/// `HH:MM:SS[.fff]` at `i`: its length.
fn clock(b: &[u8], i: usize) -> Option<usize> {
    (digits_n(b, i, 2)
        && at(b, i + 2, b':')
        && digits_n(b, i + 3, 2)
        && at(b, i + 5, b':')
        && digits_n(b, i + 6, 2))
    .then(|| 8 + fraction(b, i + 8))
}

/// A timestamp at `i`: ISO 8601, Go/nginx `2026/11/29 14:35:27`, the combined log's
/// `29/Nov/2026:14:35:27 +0000`, Apache's `Sun Nov 29 14:35:27.123 2026`, or a bare clock.
fn timestamp(b: &[u8], i: usize) -> Option<usize> {
    // Every form starts with a digit or a day's name: most words are rejected here.
    if !b
        .get(i)
        .is_some_and(|c| c.is_ascii_digit() || b"MTWFS".contains(c))
    {
        return None;
    }
    let zone = |j: usize| -> usize {
        if at(b, j, b'Z') {
            1
        } else if b.get(j..j + 4) == Some(b" UTC") {
            4
        } else {
            let sp = usize::from(at(b, j, b' ') && matches!(b.get(j + 1), Some(b'+' | b'-')));
            let k = j + sp;
            if matches!(b.get(k), Some(b'+' | b'-')) && digits_n(b, k + 1, 2) {
                let colon = usize::from(at(b, k + 3, b':'));
                if digits_n(b, k + 3 + colon, 2) {
                    return sp + 5 + colon;
                }
            }
            0
        }
    };
    // 2026-11-29[T 14:35[:27][.123][Z|+01:00]] and 2026/11/29[ 14:35:27[.123]]
    if digits_n(b, i, 4)
        && matches!(b.get(i + 4), Some(b'-' | b'/'))
        && digits_n(b, i + 5, 2)
        && at(b, i + 7, b[i + 4])
        && digits_n(b, i + 8, 2)
    {
        let mut j = i + 10;
        if matches!(b.get(j), Some(b'T' | b' ')) && digits_n(b, j + 1, 2) && at(b, j + 3, b':') {
            if let Some(n) = clock(b, j + 1) {
                j += 1 + n;
            } else if digits_n(b, j + 4, 2) {
                j += 6;
            }
            j += zone(j);
        }
        return Some(j - i);
    }
    // 29/Nov/2026:14:35:27 +0000
    if digits_n(b, i, 2)
        && at(b, i + 2, b'/')
        && run(b, i + 3, |c| c.is_ascii_alphabetic()) == 3
        && at(b, i + 6, b'/')
        && digits_n(b, i + 7, 4)
        && at(b, i + 11, b':')
        && let Some(n) = clock(b, i + 12)
    {
        let j = i + 12 + n;
        return Some(j + zone(j) - i);
    }
    // Sun Nov 29 14:35:27.123456 2026
    const DAYS: [&[u8]; 7] = [b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat", b"Sun"];
    if b.get(i..i + 3).is_some_and(|d| DAYS.contains(&d)) && at(b, i + 3, b' ') {
        let mut j = i + 4;
        if run(b, j, |c| c.is_ascii_alphabetic()) == 3 {
            j += 3;
            j += run(b, j, |c| c == b' ');
            let d = run(b, j, |c| c.is_ascii_digit());
            if (1..=2).contains(&d)
                && at(b, j + d, b' ')
                && let Some(n) = clock(b, j + d + 1)
            {
                j += d + 1 + n;
                if at(b, j, b' ') && digits_n(b, j + 1, 4) {
                    j += 5;
                }
                return Some(j - i);
            }
        }
    }
    clock(b, i)
}

/// A UUID, an IP address (v4 with optional port, or v6), a hex id, or a duration at `i`.
fn identifier(b: &[u8], i: usize) -> Option<(usize, &'static str)> {
    let ends = |j: usize| b.get(j).is_none_or(|c| !is_word(*c));
    let hex = |c: u8| c.is_ascii_hexdigit();
    // The hex digits from `i`: each form below is ruled out by them or by the first byte
    // before its own checks run (this runs at every word that starts with a hex digit).
    let h = run(b, i, hex);
    let digit = b.get(i).is_some_and(u8::is_ascii_digit);
    // UUID 8-4-4-4-12
    if h == 8
        && [8, 4, 4, 4, 12]
            .iter()
            .try_fold(i, |j, n| {
                (run(b, j, hex) == *n && (*n == 12 || at(b, j + n, b'-'))).then_some(j + n + 1)
            })
            .is_some()
        && ends(i + 36)
    {
        return Some((36, "<uuid>"));
    }
    if let Some(found) = digit.then(|| ipv4(b, i)).flatten() {
        return Some(found);
    }
    // IPv6: hex groups with at least three colons (a colon right after the first group).
    if at(b, i + h, b':') {
        let v6 = run(b, i, |c| hex(c) || c == b':');
        if v6 >= 6 && b[i..i + v6].iter().filter(|c| **c == b':').count() >= 3 && ends(i + v6) {
            return Some((v6, "<ip>"));
        }
    }
    // 0x… and hex ids: all hex digits, with both a digit and a letter, or long
    if b.get(i..i + 2) == Some(b"0x") {
        let n = run(b, i + 2, hex);
        if n > 0 && ends(i + 2 + n) {
            return Some((n + 2, "<hex>"));
        }
    }
    if h >= 2 && ends(i + h) {
        let word = &b[i..i + h];
        let has_digit = word.iter().any(u8::is_ascii_digit);
        let has_letter = word.iter().any(u8::is_ascii_alphabetic);
        if has_letter && (has_digit || h >= 12) {
            return Some((h, "<hex>"));
        }
    }
    if digit {
        return duration(b, i);
    }
    None
}

/// IPv4[:port] at `i`.
fn ipv4(b: &[u8], i: usize) -> Option<(usize, &'static str)> {
    let ends = |j: usize| b.get(j).is_none_or(|c| !is_word(*c));
    let mut j = i;
    let mut parts = 0;
    while parts < 4 {
        let d = run(b, j, |c| c.is_ascii_digit());
        if !(1..=3).contains(&d) {
            break;
        }
        j += d;
        parts += 1;
        if parts < 4 {
            if !at(b, j, b'.') {
                break;
            }
            j += 1;
        }
    }
    if parts == 4 && ends(j) && !(at(b, j, b'.') && b.get(j + 1).is_some_and(u8::is_ascii_digit)) {
        if at(b, j, b':') {
            let p = run(b, j + 1, |c| c.is_ascii_digit());
            if (1..=5).contains(&p) {
                j += 1 + p;
            }
        }
        return Some((j - i, "<ip>"));
    }
    None
}

/// A duration at `i`: 250ms, 1.5s, 1h2m3s, 30µs.
fn duration(b: &[u8], i: usize) -> Option<(usize, &'static str)> {
    let ends = |j: usize| b.get(j).is_none_or(|c| !is_word(*c));
    let mut j = i;
    let mut units = 0;
    loop {
        let d = run(b, j, |c| c.is_ascii_digit());
        if d == 0 {
            break;
        }
        let k = j + d + fraction(b, j + d);
        let unit = [&b"ns"[..], b"us", "µs".as_bytes(), b"ms", b"s", b"m", b"h"]
            .iter()
            .find(|u| b.get(k..k + u.len()) == Some(**u))
            .map(|u| u.len());
        match unit {
            Some(u) => {
                j = k + u;
                units += 1;
            }
            None => break,
        }
    }
    if units > 0 && ends(j) {
        return Some((j - i, "<dur>"));
    }
    None
}

/// Masks the volatile parts of `line` in one pass, stopping once [`MAX_LEN`] is reached.
pub(crate) fn mask(line: &str) -> String {
    let b = line.as_bytes();
    let mut out = String::with_capacity(line.len().min(MAX_LEN + 8));
    let mut i = 0;
    let mut space = true;
    while i < b.len() && out.len() < MAX_LEN {
        let c = b[i];
        if c.is_ascii_whitespace() {
            if !space {
                out.push(' ');
                space = true;
            }
            i += 1;
            continue;
        }
        space = false;
        let word_start = i == 0 || !is_word(b[i - 1]);
        if c == b'"' {
            let mut j = i + 1;
            while j < b.len() && b[j] != b'"' && b[j] != b'\n' {
                j += if b[j] == b'\\' { 2 } else { 1 };
            }
            if j < b.len() && b[j] == b'"' {
                out.push_str("\"<str>\"");
                i = j + 1;
                continue;
            }
        }
        if c == b'\''
            && (i == 0 || matches!(b[i - 1], b' ' | b'\t' | b'=' | b':' | b'(' | b'[' | b','))
            && let Some(n) = memchr::memchr2(b'\'', b'\n', &b[i + 1..])
            && b[i + 1 + n] == b'\''
        {
            out.push_str("'<str>'");
            i += n + 2;
            continue;
        }
        if word_start && c.is_ascii_alphanumeric() {
            if let Some(n) = timestamp(b, i) {
                out.push_str("<ts>");
                i += n;
                continue;
            }
            // Every identifier (UUID, IP, hex id, duration) starts with a hex digit.
            if c.is_ascii_hexdigit()
                && let Some((n, tag)) = identifier(b, i)
            {
                out.push_str(tag);
                i += n;
                continue;
            }
        }
        if c.is_ascii_digit() {
            let n = run(b, i, |c| c.is_ascii_digit());
            i += n + fraction(b, i + n);
            out.push_str("<n>");
            continue;
        }
        // Copy a word up to its next digit, or one punctuation character.
        let n = if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 {
            1 + run(b, i + 1, |c| {
                c.is_ascii_alphabetic() || c == b'_' || c >= 0x80
            })
        } else {
            1
        };
        out.push_str(&line[i..i + n]);
        i += n;
    }
    let trimmed = out.trim_end().len();
    out.truncate(super::level::floor_boundary(&out, trimmed.min(MAX_LEN)));
    out
}

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
    mask(&headline(event, json_start))
}

/// The fingerprint of a failed request: what was asked and what came back
/// (`GET /api/orders/<n> 502`), so each endpoint's failures group apart.
pub fn request_fingerprint(method: &str, path: &str, status: u16) -> String {
    format!("{method} {} {status}", mask(path))
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
    fn failed_requests_group_by_endpoint_and_status() {
        assert_eq!(
            request_fingerprint("GET", "/api/orders/1882", 502),
            "GET /api/orders/<n> 502"
        );
        assert_eq!(
            request_fingerprint("GET", "/api/orders/77", 502),
            request_fingerprint("GET", "/api/orders/1882", 502)
        );
        assert_ne!(
            request_fingerprint("GET", "/api/orders/1", 502),
            request_fingerprint("GET", "/api/users/1", 502)
        );
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
