//! Reads lines of any length and encoding in bounded memory.

use std::borrow::Cow;
use std::io::{self, BufRead};

/// Longest line kept; the rest of a longer line is skipped. CloudWatch events are at most
/// 256 KB, so a longer line is not a log event anyone wrote on purpose.
pub const MAX_LINE: usize = 1024 * 1024;

/// Yields lines (without the line ending) from a reader, as UTF-8 with invalid sequences
/// replaced, each cut to [`MAX_LINE`] bytes: memory stays bounded whatever the input.
pub struct Lines<R> {
    reader: R,
    buf: Vec<u8>,
}

impl<R: BufRead> Lines<R> {
    pub fn new(reader: R) -> Self {
        Self {
            reader,
            buf: Vec::with_capacity(4096),
        }
    }

    /// The next line, or `None` at the end of the input.
    /// The next line, borrowed from this reader's line buffer when it is valid UTF-8 (the
    /// common case: no allocation per line), with U+FFFD for invalid bytes otherwise.
    pub fn next_line(&mut self) -> io::Result<Option<Cow<'_, str>>> {
        self.buf.clear();
        let mut any = false;
        loop {
            let chunk = match self.reader.fill_buf() {
                Ok(c) => c,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if chunk.is_empty() {
                break;
            }
            any = true;
            let (take, done) = match memchr::memchr(b'\n', chunk) {
                Some(i) => (i, Some(i + 1)),
                None => (chunk.len(), None),
            };
            let room = MAX_LINE.saturating_sub(self.buf.len());
            self.buf.extend_from_slice(&chunk[..take.min(room)]);
            match done {
                Some(n) => {
                    self.reader.consume(n);
                    break;
                }
                None => {
                    let n = chunk.len();
                    self.reader.consume(n);
                }
            }
        }
        if !any {
            return Ok(None);
        }
        if self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        // `from_utf8` first: its ASCII fast path is several times quicker than the lossy
        // decoder's chunk walk, and nearly every line is valid.
        Ok(Some(match std::str::from_utf8(&self.buf) {
            Ok(line) => Cow::Borrowed(line),
            Err(_) => String::from_utf8_lossy(&self.buf),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(input: &[u8]) -> Vec<String> {
        let mut lines = Lines::new(io::BufReader::with_capacity(7, input));
        let mut out = Vec::new();
        while let Some(l) = lines.next_line().unwrap() {
            out.push(l.into_owned());
        }
        out
    }

    #[test]
    fn splits_lines_across_buffer_boundaries() {
        assert_eq!(all(b"one\r\ntwo\n\nthree"), ["one", "two", "", "three"]);
        assert_eq!(all(b""), Vec::<String>::new());
        assert_eq!(all(b"\n"), [""]);
    }

    #[test]
    fn invalid_utf8_is_replaced_not_fatal() {
        assert_eq!(all(b"ok \xff\xfe end\n"), ["ok \u{fffd}\u{fffd} end"]);
    }

    #[test]
    fn overlong_lines_are_cut_and_the_next_line_survives() {
        let mut input = vec![b'x'; MAX_LINE + 10_000];
        input.extend_from_slice(b"\nnext\n");
        let lines = all(&input);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].len(), MAX_LINE);
        assert_eq!(lines[1], "next");
    }
}
