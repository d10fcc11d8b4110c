//! A scanner of JSON and logfmt records: their `key: value` pairs, at any depth, in one
//! pass over the bytes, without building the record. The classifier only ever asks for a few
//! keys (level, status, method, path, message, error), so a full parse per line would be
//! wasted work: this is what lets JSON lines cost about what plain ones do.
//!
//! Correct on what real records contain: escaped quotes and backslashes inside strings,
//! nested objects and arrays (their keys are visited too, as `"res":{"statusCode":500}`
//! needs), numbers written as strings, keys in any order. A malformed record is scanned as
//! far as it makes sense and never panics.

/// A value as written: a string's contents still escaped (`raw`), or a number or literal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value<'a> {
    /// The contents between the quotes, escapes not undone.
    Str(&'a str),
    /// A number, `true`, `false` or `null`.
    Bare(&'a str),
    /// An object or array begins (its pairs follow).
    Nested,
}

impl<'a> Value<'a> {
    /// The text of a string or a bare value.
    pub fn text(self) -> Option<&'a str> {
        match self {
            Value::Str(s) | Value::Bare(s) => Some(s),
            Value::Nested => None,
        }
    }
}

/// The end (exclusive, after the closing quote) of the string whose opening quote is at
/// `open`; the end of the input when it is not closed.
fn string_end(b: &[u8], open: usize) -> usize {
    let mut i = open + 1;
    loop {
        // Eight bytes at a time to the next quote or backslash: strings are most of a record.
        while let Some(chunk) = b.get(i..i + 8) {
            let mark = quote_or_backslash(u64::from_le_bytes(chunk.try_into().unwrap_or_default()));
            if mark != 0 {
                i += (mark.trailing_zeros() / 8) as usize;
                break;
            }
            i += 8;
        }
        match b.get(i) {
            None => return b.len(),
            Some(b'"') => return i + 1,
            Some(b'\\') => i += 2,
            Some(_) => i += 1,
        }
    }
}

const ONES: u64 = 0x0101_0101_0101_0101;

/// The high bit of the first byte of `w` (little-endian) that is a quote or a backslash, and
/// maybe of bytes after it; 0 when there is none. The lowest mark is exact: a zero byte's
/// borrow only reaches the bytes above it.
fn quote_or_backslash(w: u64) -> u64 {
    let zero = |v: u64| v.wrapping_sub(ONES) & !v;
    (zero(w ^ (ONES * u64::from(b'"'))) | zero(w ^ (ONES * u64::from(b'\\')))) & (ONES << 7)
}

/// The contents of the string at `open..end` (without its quotes; to the end of the input
/// when it is not closed).
fn inner(s: &str, open: usize, end: usize) -> &str {
    let closed = end > open + 1 && s.as_bytes()[end - 1] == b'"';
    &s[open + 1..if closed { end - 1 } else { end.max(open + 1) }]
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\r' | b'\n') {
        i += 1;
    }
    i
}

/// The `"key": value` pairs of the JSON text `s`, in order, at every depth.
pub fn pairs(s: &str) -> Pairs<'_> {
    Pairs { s, i: 0 }
}

pub struct Pairs<'a> {
    s: &'a str,
    i: usize,
}

impl<'a> Iterator for Pairs<'a> {
    type Item = (&'a str, Value<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        let b = self.s.as_bytes();
        loop {
            // The next string: a key when a colon follows it; a value of an array otherwise.
            let open = self.i + b.get(self.i..)?.iter().position(|&c| c == b'"')?;
            let end = string_end(b, open);
            let key = inner(self.s, open, end);
            let colon = skip_ws(b, end);
            if b.get(colon) != Some(&b':') {
                self.i = end;
                continue;
            }
            let v = skip_ws(b, colon + 1);
            let (value, next) = match b.get(v) {
                Some(b'"') => {
                    let e = string_end(b, v);
                    (Value::Str(inner(self.s, v, e)), e)
                }
                Some(b'{' | b'[') => (Value::Nested, v + 1),
                Some(_) => {
                    let len = b[v..]
                        .iter()
                        .position(|c| {
                            matches!(c, b',' | b'}' | b']' | b' ' | b'\t' | b'\r' | b'\n')
                        })
                        .unwrap_or(b.len() - v);
                    (Value::Bare(&self.s[v..v + len]), v + len)
                }
                None => return None,
            };
            self.i = next;
            return Some((key, value));
        }
    }
}

/// The `key=value` pairs of a logfmt line (`level=error msg="a \"b\"" status=500`); values
/// unquoted (escapes not undone). Words without `=` are skipped.
pub fn logfmt(s: &str) -> impl Iterator<Item = (&str, &str)> {
    let b = s.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        loop {
            while i < b.len() && b[i] == b' ' {
                i += 1;
            }
            if i >= b.len() {
                return None;
            }
            let start = i;
            while i < b.len() && !matches!(b[i], b' ' | b'=' | b'"') {
                i += 1;
            }
            if i < b.len() && b[i] == b'=' && i > start {
                let key = &s[start..i];
                i += 1;
                let value = if b.get(i) == Some(&b'"') {
                    let e = string_end(b, i);
                    let v = inner(s, i, e);
                    i = e;
                    v
                } else {
                    let v0 = i;
                    while i < b.len() && b[i] != b' ' {
                        i += 1;
                    }
                    &s[v0..i]
                };
                return Some((key, value));
            }
            // Not a pair: skip the word (a quoted one whole).
            if i < b.len() && b[i] == b'"' {
                i = string_end(b, i);
            }
            while i < b.len() && b[i] != b' ' {
                i += 1;
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(s: &str) -> Vec<(&str, Value<'_>)> {
        pairs(s).collect()
    }

    #[test]
    fn pairs_at_every_depth_in_order() {
        use Value::*;
        let cases: &[(&str, &[(&str, Value)])] = &[
            (
                r#"{"level":"error","msg":"boom"}"#,
                &[("level", Str("error")), ("msg", Str("boom"))],
            ),
            (
                r#"{"req":{"method":"GET","url":"/x"},"res":{"statusCode":500},"ok":true,"n":-1.5e3,"z":null}"#,
                &[
                    ("req", Nested),
                    ("method", Str("GET")),
                    ("url", Str("/x")),
                    ("res", Nested),
                    ("statusCode", Bare("500")),
                    ("ok", Bare("true")),
                    ("n", Bare("-1.5e3")),
                    ("z", Bare("null")),
                ],
            ),
            // Escaped quotes and backslashes stay inside their string.
            (
                r#"{"msg":"said \"status\":500 \\","status":"200"}"#,
                &[
                    ("msg", Str(r#"said \"status\":500 \\"#)),
                    ("status", Str("200")),
                ],
            ),
            // Strings of an array are values, not keys; spaces anywhere.
            (
                r#"{ "tags" : [ "a", "b" ] , "level" : 50 }"#,
                &[("tags", Nested), ("level", Bare("50"))],
            ),
            // A prefix before the object (a shipper's timestamp).
            (
                r#"2026-11-29T14:35:27Z {"level":"info"}"#,
                &[("level", Str("info"))],
            ),
            (
                r#"{"@t":"x","@mt":"Processed {Count}","Count":3}"#,
                &[
                    ("@t", Str("x")),
                    ("@mt", Str("Processed {Count}")),
                    ("Count", Bare("3")),
                ],
            ),
        ];
        for (line, want) in cases {
            assert_eq!(all(line), *want, "{line}");
        }
    }

    /// The word-at-a-time search against a byte loop, at every position of every string.
    #[test]
    fn string_ends_agree_with_a_byte_loop() {
        fn reference(b: &[u8], open: usize) -> usize {
            let mut i = open + 1;
            while i < b.len() {
                match b[i] {
                    b'"' => return i + 1,
                    b'\\' => i += 2,
                    _ => i += 1,
                }
            }
            b.len()
        }
        let texts = [
            r#""abcdefghijklmnopqrstuvwxyz" tail"#,
            r#""a\"b" x"#,
            r#""01234567\\"89""#,
            r#""ends with a backslash \"#,
            "\"µs → ünïcödé \\\" more\" z",
            r#""""#,
            "\"\u{80}\u{ff}\"",
            r#""1234567""#,
            r#""12345678""#,
            r#""123456789\"""#,
        ];
        for t in texts {
            let b = t.as_bytes();
            for open in 0..b.len() {
                assert_eq!(string_end(b, open), reference(b, open), "{t:?} from {open}");
            }
        }
        for w in [
            0u64,
            u64::MAX,
            0x2222_2222_2222_2222,
            0x5c00_0000_0000_0000,
            0x0122_0000_0000_0000,
        ] {
            let want = w
                .to_le_bytes()
                .iter()
                .position(|&c| c == b'"' || c == b'\\');
            let got = quote_or_backslash(w);
            assert_eq!(
                (got != 0).then(|| got.trailing_zeros() as usize / 8),
                want,
                "{w:#x}"
            );
        }
    }

    #[test]
    fn malformed_records_end_quietly() {
        for s in [
            r#"{"a":"unterminated"#,
            r#"{"a":"#,
            r#"{"a":"#,
            r#"{"a\"#,
            "{\"é",
            "{\"k\":\"é",
            r#"""#,
            r#"{"a":1,"b""#,
            "{",
            "",
            "\"é\":\"ü\"",
        ] {
            let _ = all(s);
        }
        assert_eq!(all(r#"{"a":"x"#), [("a", Value::Str("x"))]);
        assert_eq!(all("\"é\":\"ü\""), [("é", Value::Str("ü"))]);
    }

    #[test]
    fn logfmt_pairs() {
        let got: Vec<_> = logfmt(
            r#"time="2026-11-29 14:35" level=error msg="a \"quoted\" b" status=500 word done="#,
        )
        .collect();
        assert_eq!(
            got,
            [
                ("time", "2026-11-29 14:35"),
                ("level", "error"),
                ("msg", r#"a \"quoted\" b"#),
                ("status", "500"),
                ("done", "")
            ]
        );
        assert_eq!(logfmt("no pairs at all").count(), 0);
        assert_eq!(logfmt(r#"x "a=b" c=d"#).collect::<Vec<_>>(), [("c", "d")]);
    }
}
