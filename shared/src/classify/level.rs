//! Severity of a log event as its logger wrote it: JSON fields, logfmt keys, or a level word
//! in the usual text spellings. The classifier uses it to decide whether a weak hint (the
//! bare word "timeout", "unauthorized", …) describes a failure or is only a mention.

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

/// Maps a level name in any of its spellings and any case to a [`Level`] (lower-cased on the
/// stack: this runs for every line).
fn from_name(name: &[u8]) -> Option<Level> {
    let mut buf = [0u8; 16];
    let lower = buf.get_mut(..name.len())?;
    lower.copy_from_slice(name);
    lower.make_ascii_lowercase();
    Some(match &*lower {
        b"trace" | b"trc" | b"trce" | b"trac" | b"verbose" | b"vrb" | b"finest" | b"finer" => {
            Level::Trace
        }
        b"debug" | b"dbg" | b"dbug" | b"debu" | b"fine" => Level::Debug,
        b"info" | b"inf" | b"information" | b"informational" | b"notice" | b"log" | b"config" => {
            Level::Info
        }
        b"warn" | b"warning" | b"wrn" | b"warni" => Level::Warn,
        b"error" | b"err" | b"eror" | b"erro" | b"fail" | b"severe" => Level::Error,
        b"fatal" | b"fata" | b"ftl" | b"critical" | b"crit" | b"alert" | b"emerg"
        | b"emergency" => Level::Fatal,
        b"panic" | b"pani" | b"dpanic" => Level::Panic,
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
    if !line.trim_end().ends_with('}') {
        return None;
    }
    memchr::memchr(b'{', &line.as_bytes()[..line.len().min(64)])
}

/// A level word in text, at `p` where the scan found a level-word prefix. Upper-case words
/// stand alone (`ERROR`, `WARN`, `ERR!` of npm, `ERRO[0001]` of logrus on a terminal,
/// `[12:00:01 ERR]` of Serilog, `ERROR:` of Python and PostgreSQL, `SEVERE:` of
/// java.util.logging); lower- and title-case words count only in brackets (`[error]` of
/// nginx, `[proxy:error]` of Apache, `[Error]`), since "Error" and "info" are also ordinary
/// words of a message. ALERT and EMERG only in brackets: in capitals they are too often a
/// word of the message.
fn text_level_at(line: &[u8], p: usize) -> Option<Level> {
    let len = line[p..]
        .iter()
        .take_while(|b| b.is_ascii_alphabetic())
        .count();
    let word = &line[p..p + len];
    if len > 11 {
        return None;
    }
    let before = p.checked_sub(1).map(|i| line[i]);
    let after = line.get(p + len).copied();
    let mut buf = [0u8; 11];
    let name = &mut buf[..len];
    name.copy_from_slice(word);
    name.make_ascii_lowercase();
    let name = &*name;
    let upper = word.iter().all(|b| b.is_ascii_uppercase());
    let bracketed = matches!(before, Some(b'[' | b':')) && after == Some(b']');
    if upper {
        let starts = matches!(before, None | Some(b' ' | b'\t' | b'[' | b'(' | b'|'));
        let ends = matches!(
            after,
            None | Some(b' ' | b'\t' | b']' | b')' | b':' | b',' | b'!' | b'|' | b'[' | b'-')
        );
        if !(starts && ends) || (matches!(name, b"alert" | b"emerg") && !bracketed) {
            return None;
        }
        if matches!(name, b"trac" | b"pani" | b"fata" | b"debu" | b"erro") && after != Some(b'[') {
            // logrus's four-letter terminal forms come with "[0001]".
            return None;
        }
        return from_name(word);
    }
    if bracketed {
        // "[proxy:error]": the colon must follow a bracketed module name.
        if before == Some(b':') {
            let open = line[..p - 1]
                .iter()
                .rposition(|b| !(b.is_ascii_alphanumeric() || *b == b'_'));
            if open.is_none_or(|i| line[i] != b'[') {
                return None;
            }
        }
        return from_name(word);
    }
    // OpenSSH's verbose levels: "debug1: ", "debug2: ", "debug3: ".
    if name == b"debug"
        && matches!(after, Some(b'1'..=b'3'))
        && line.get(p + len + 1) == Some(&b':')
    {
        return Some(Level::Debug);
    }
    None
}

/// Levels written as one letter at the start of the line: glog/klog (`E1129 14:35:27.123456`),
/// Ruby's Logger (`E, [2024-01-01T…`), .NET's console logger (`fail: `, `crit: `).
fn letter_level(line: &[u8]) -> Option<Level> {
    let letter = |c: u8| match c {
        b'D' => Some(Level::Debug),
        b'I' => Some(Level::Info),
        b'W' => Some(Level::Warn),
        b'E' => Some(Level::Error),
        b'F' | b'A' => Some(Level::Fatal),
        _ => None,
    };
    let glog = line.len() > 8
        && matches!(line[0], b'I' | b'W' | b'E' | b'F')
        && line[1..5].iter().all(u8::is_ascii_digit)
        && line[5] == b' '
        && line[6..8].iter().all(u8::is_ascii_digit)
        && line[8] == b':';
    let ruby = line.len() > 4 && line[1] == b',' && line[2] == b' ' && line[3] == b'[';
    if glog || ruby {
        return letter(line[0]);
    }
    for (prefix, level) in [
        (&b"trce: "[..], Level::Trace),
        (b"dbug: ", Level::Debug),
        (b"info: ", Level::Info),
        (b"warn: ", Level::Warn),
        (b"fail: ", Level::Error),
        (b"crit: ", Level::Fatal),
    ] {
        if line.starts_with(prefix) {
            return Some(level);
        }
    }
    None
}

/// The value of a level key at `p`: `"level": "error"`, `"level":50`, `level=error`,
/// `lvl="eror"`.
fn key_level_at(line: &[u8], p: usize) -> Option<Level> {
    let rest = &line[p..];
    let json = rest[0] == b'"';
    let key_end = if json {
        1 + memchr::memchr(b'"', &rest[1..])? + 1
    } else {
        // logfmt: the key stands at the start or after whitespace.
        if p > 0 && !line[p - 1].is_ascii_whitespace() {
            return None;
        }
        memchr::memchr(b'=', rest)?
    };
    let mut v = &rest[key_end..];
    let trim = |v: &mut &[u8]| {
        while let Some((b, tail)) = v.split_first() {
            if b.is_ascii_whitespace() {
                *v = tail;
            } else {
                break;
            }
        }
    };
    trim(&mut v);
    v = v.strip_prefix(if json { b":" } else { b"=" })?;
    trim(&mut v);
    let quoted = v.first() == Some(&b'"');
    if quoted {
        v = &v[1..];
    }
    let len = v.iter().take_while(|b| b.is_ascii_alphanumeric()).count();
    let value = &v[..len];
    if value.is_empty() || len > 16 {
        return None;
    }
    if !quoted && value.iter().all(u8::is_ascii_digit) {
        // At most 16 digits: no overflow in a u64.
        let n = value.iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
        return u32::try_from(n).ok().and_then(from_number);
    }
    from_name(value)
}

/// The level a text line states before `end`: a glog/Ruby/.NET letter at its start, or the
/// first level word the scan found.
fn text_level(line: &[u8], scan: &super::rules::Scan, end: usize) -> Option<Level> {
    letter_level(line).or_else(|| {
        scan.level_words()
            .iter()
            .filter(|p| (**p as usize) < end)
            .find_map(|p| text_level_at(line, *p as usize))
    })
}

/// Detects the level of the first line of an event.
pub fn detect(line: &str) -> LevelInfo {
    detect_with(line, &super::rules::scan(line))
}

/// [`detect`] with the positions the classifier's scan already found.
pub(crate) fn detect_with(line: &str, scan: &super::rules::Scan) -> LevelInfo {
    let bytes = line.as_bytes();
    if let Some(start) = json_start(line) {
        let level = scan
            .level_keys()
            .iter()
            .map(|p| *p as usize)
            .filter(|p| *p >= start && bytes[*p] == b'"')
            .find_map(|p| key_level_at(bytes, p));
        if level.is_some() {
            return LevelInfo {
                level,
                structured: true,
                json_start: Some(start),
            };
        }
        // An object without a level key after a text prefix ("ERROR (ls): failed: {…}"):
        // the prefix's level is the line's.
        let prefix_level = text_level(bytes, scan, start);
        return LevelInfo {
            level: prefix_level,
            structured: prefix_level.is_none(),
            json_start: Some(start),
        };
    }
    if let Some(level) = scan
        .level_keys()
        .iter()
        .map(|p| *p as usize)
        .filter(|p| bytes[*p] != b'"')
        .find_map(|p| key_level_at(bytes, p))
    {
        return LevelInfo {
            level: Some(level),
            structured: true,
            json_start: None,
        };
    }
    LevelInfo {
        level: text_level(bytes, scan, bytes.len()),
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
            (r#"{"level":4294967346,"msg":"not 50"}"#, None, true),
            (r#"{"level":9999999999999999,"msg":"x"}"#, None, true),
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
