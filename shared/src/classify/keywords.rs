//! The classifier's one pass over every byte: every occurrence of its keywords (overlapping
//! ones included), ASCII case-insensitive.
//!
//! Why not the `aho-corasick` crate: a DFA's next state depends on the previous one, so a
//! scan is as fast as one table lookup's latency, and a DFA of all the keywords (about 1,100
//! states over 49 byte classes) does not fit the L1 cache: its overlapping search cost about
//! as much as the rest of the classifier together. Here the DFA holds only each keyword's
//! first [`PREFIX`] bytes (about 400 states over 47 classes: a 37 KB table whose busy rows
//! stay in L1); where a prefix ends, the keywords that begin with it are compared with the
//! text. Four bytes rather than three: common words ("time", "user", "path") then wake no
//! candidate comparison, which halved the comparisons on a JSON line. States
//! with candidates are numbered last, so the loop is: the byte's class, the next state, one
//! comparison. The result is checked against `aho-corasick` in the tests.

/// Bytes of each keyword in the automaton; the rest is compared where they occur.
const PREFIX: usize = 4;

/// A keyword occurrence that level detection needs the position of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Positioned {
    pub len: u32,
    pub flags: u32,
}

/// A keyword whose first bytes end at a state.
#[derive(Debug, Clone)]
struct Candidate {
    /// Its first 8 bytes lower-cased (little-endian, zero-padded), the mask of its length,
    /// and 0x20 in the bytes that are letters: `(text | fold) & mask == head` is an exact
    /// case-insensitive comparison of up to 8 bytes in one load (only a letter or its
    /// capital turns into a lower-case letter under `| 0x20`; other bytes compare as they are).
    head: u64,
    mask: u64,
    fold: u64,
    /// The keyword, lower-cased; its bytes past the 8th are compared one by one.
    word: Box<[u8]>,
    long: bool,
    /// How many of its bytes the automaton matched.
    matched: usize,
    flags: u32,
    positioned: bool,
}

/// Up to 8 bytes of `text` from `at`, little-endian, zero-padded.
#[inline(always)]
fn load8(text: &[u8], at: usize) -> u64 {
    match text.get(at..at + 8) {
        Some(b) => u64::from_le_bytes(b.try_into().unwrap_or_default()),
        None => load_tail(text, at),
    }
}

/// The last bytes of a text, zero-padded: rare, kept out of the hot path.
#[cold]
#[inline(never)]
fn load_tail(text: &[u8], at: usize) -> u64 {
    let mut buf = [0u8; 8];
    let rest = text.get(at..).unwrap_or_default();
    buf[..rest.len()].copy_from_slice(rest);
    u64::from_le_bytes(buf)
}

pub struct Keywords {
    /// Byte → class; every byte that occurs in no keyword is class 0.
    class: [u8; 256],
    /// `next[state + class]` is the next state, each state given as its offset in the table
    /// (its number × the number of classes): no multiplication in the loop, whose every step waits for
    /// the step before.
    /// Sized for every `u16` so that indexing by `state + class` needs no bounds check in
    /// the loop; only the first `states × classes` entries are used (and touched).
    next: Box<[u16; 1 << 16]>,
    /// States at or above this offset have candidates.
    first_output: u16,
    /// Per state from `first_output`: the keywords whose prefix ends there.
    candidates: Vec<Box<[Candidate]>>,
    /// `⌊2^32 / classes⌋ + 1`: a state's offset × this >> 32 is its number, exactly for every
    /// offset below 2^16, without a division (20 to 40 cycles) at every hit.
    reciprocal: u64,
}

impl Keywords {
    /// The automaton of `keywords` (with their flags); `positioned` selects the flags whose
    /// occurrences' starts [`Keywords::scan`] reports.
    pub fn new(keywords: &[(&str, u32)], positioned: u32) -> Self {
        let lower: Vec<(Vec<u8>, u32)> = keywords
            .iter()
            .filter(|(k, _)| !k.is_empty())
            .map(|(k, f)| (k.bytes().map(|b| b.to_ascii_lowercase()).collect(), *f))
            .collect();
        // Byte classes over the prefixes; upper-case letters share their letter's class.
        let mut class = [0u8; 256];
        let mut classes = 1usize;
        for (k, _) in &lower {
            for &b in &k[..k.len().min(PREFIX)] {
                if class[b as usize] == 0 {
                    class[b as usize] = classes as u8;
                    classes += 1;
                }
            }
        }
        for b in b'A'..=b'Z' {
            class[b as usize] = class[b.to_ascii_lowercase() as usize];
        }
        // The trie of prefixes (0 = no transition; state 0 is the root).
        let mut trie: Vec<Vec<usize>> = vec![vec![0; classes]];
        let mut ends: Vec<Vec<Candidate>> = vec![vec![]];
        for (k, f) in &lower {
            let matched = k.len().min(PREFIX);
            let mut s = 0usize;
            for &b in &k[..matched] {
                let c = class[b as usize] as usize;
                if trie[s][c] == 0 {
                    trie.push(vec![0; classes]);
                    ends.push(vec![]);
                    trie[s][c] = trie.len() - 1;
                }
                s = trie[s][c];
            }
            let n = k.len().min(8);
            let mask = if n == 8 {
                u64::MAX
            } else {
                (1u64 << (8 * n)) - 1
            };
            ends[s].push(Candidate {
                head: load8(k, 0) & mask,
                fold: k
                    .iter()
                    .take(8)
                    .enumerate()
                    .filter(|(_, b)| b.is_ascii_lowercase())
                    .fold(0u64, |f, (i, _)| f | 0x20 << (8 * i)),
                mask,
                long: k.len() > 8,
                word: k.clone().into_boxed_slice(),
                matched,
                flags: *f,
                positioned: f & positioned != 0,
            });
        }
        let n = trie.len();
        assert!(
            n * classes < 65536,
            "{n} states: the keyword prefixes need wider state ids"
        );
        // Failure links in breadth-first order complete the DFA and give each state the
        // candidates of every suffix of its prefix.
        let mut fail = vec![0usize; n];
        let mut dfa = trie.clone();
        let mut queue = std::collections::VecDeque::new();
        queue.extend(trie[0].iter().copied().filter(|t| *t != 0));
        let mut out = ends;
        while let Some(s) = queue.pop_front() {
            let inherited = out[fail[s]].clone();
            out[s].extend(inherited);
            for c in 0..classes {
                let t = trie[s][c];
                if t != 0 {
                    fail[t] = dfa[fail[s]][c];
                    queue.push_back(t);
                } else {
                    dfa[s][c] = dfa[fail[s]][c];
                }
            }
        }
        // Renumber: states without candidates first, so "has candidates" is one comparison.
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by_key(|s| (!out[*s].is_empty(), *s != 0, *s));
        let mut new_id = vec![0usize; n];
        for (i, s) in order.iter().enumerate() {
            new_id[*s] = i;
        }
        let first_output = order.iter().position(|s| !out[*s].is_empty()).unwrap_or(n);
        let mut next: Box<[u16; 1 << 16]> = vec![0u16; 1 << 16]
            .into_boxed_slice()
            .try_into()
            .unwrap_or_else(|_| unreachable!("the length is 1 << 16"));
        for (i, s) in order.iter().enumerate() {
            for c in 0..classes {
                next[i * classes + c] = (new_id[dfa[*s][c]] * classes) as u16;
            }
        }
        let candidates = order[first_output..]
            .iter()
            .map(|s| out[*s].clone().into_boxed_slice())
            .collect();
        Self {
            class,
            next,
            first_output: (first_output * classes) as u16,
            candidates,
            reciprocal: (1u64 << 32) / classes as u64 + 1,
        }
    }

    /// Scans `text`: the union of the flags of every keyword occurring in it, and for each
    /// positioned occurrence, `on_positioned(start, occurrence)` (in no particular order).
    ///
    /// Long texts are scanned as two halves at once, so that two chains of lookups overlap:
    /// the second starts [`PREFIX`] bytes before the middle, where the automaton's state,
    /// which depends on the last `PREFIX` bytes only, is right again; it reports only what
    /// ends from the middle on.
    #[inline]
    pub fn scan(&self, text: &[u8], mut on_positioned: impl FnMut(usize, Positioned)) -> u32 {
        let mut bits = 0;
        let (next, class, first_output) = (&*self.next, &self.class, self.first_output);
        // `state + class` stays below `states × classes` (< 2^16, checked in `new`).
        let step = |s: u16, b: u8| next[s.wrapping_add(u16::from(class[b as usize])) as usize];
        let mut a = 0u16;
        let mut rest = 0;
        if text.len() >= 64 {
            let mid = text.len() / 2;
            let mut b = text[mid - PREFIX..mid]
                .iter()
                .fold(0u16, |s, &x| step(s, x));
            let (first, second) = text.split_at(mid);
            for (i, (&x, &y)) in first.iter().zip(second).enumerate() {
                a = step(a, x);
                b = step(b, y);
                if a >= first_output {
                    bits |= self.hit(text, i, a, &mut on_positioned);
                }
                if b >= first_output {
                    bits |= self.hit(text, mid + i, b, &mut on_positioned);
                }
            }
            rest = 2 * mid;
            a = b;
        }
        for (i, &x) in text.iter().enumerate().skip(rest) {
            a = step(a, x);
            if a >= first_output {
                bits |= self.hit(text, i, a, &mut on_positioned);
            }
        }
        bits
    }

    /// The keywords of state `s` that occur ending at `i`.
    #[inline]
    fn hit(
        &self,
        text: &[u8],
        i: usize,
        s: u16,
        on_positioned: &mut impl FnMut(usize, Positioned),
    ) -> u32 {
        let mut bits = 0;
        let state = ((u64::from(s - self.first_output) * self.reciprocal) >> 32) as usize;
        for c in self.candidates[state].iter() {
            let start = i + 1 - c.matched;
            if start + c.word.len() > text.len()
                || (load8(text, start) | c.fold) & c.mask != c.head
                || (c.long
                    && !text[start + 8..start + c.word.len()].eq_ignore_ascii_case(&c.word[8..]))
            {
                continue;
            }
            bits |= c.flags;
            if c.positioned {
                on_positioned(
                    start,
                    Positioned {
                        len: c.word.len() as u32,
                        flags: c.flags,
                    },
                );
            }
        }
        bits
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aho_corasick::{AhoCorasickBuilder, MatchKind};

    /// Every occurrence the reference automaton finds, and no other.
    fn agree(keywords: &[(&str, u32)], texts: &[&str]) {
        let ours = Keywords::new(keywords, u32::MAX);
        let reference = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .build(keywords.iter().map(|(k, _)| k))
            .unwrap();
        for text in texts {
            let mut want: Vec<(usize, u32, u32)> = reference
                .find_overlapping_iter(*text)
                .map(|m| {
                    let (k, f) = keywords[m.pattern().as_usize()];
                    (m.start(), k.len() as u32, f)
                })
                .collect();
            let mut got = Vec::new();
            let bits = ours.scan(text.as_bytes(), |start, p| {
                got.push((start, p.len, p.flags))
            });
            want.sort();
            got.sort();
            assert_eq!(got, want, "{text:?}");
            assert_eq!(bits, want.iter().fold(0, |a, w| a | w.2), "{text:?}");
        }
    }

    #[test]
    fn finds_what_aho_corasick_finds() {
        let keywords = [
            ("he", 1),
            ("she", 2),
            ("his", 4),
            ("hers", 8),
            ("error", 16),
            ("err", 32),
            ("\"level\"", 64),
            ("level=", 128),
            ("time out", 256),
        ];
        agree(
            &keywords,
            &[
                "ushers",
                "SHE said HIS HERS",
                "ERROR err Error: errerror",
                r#"{"level":"info"} level=warn"#,
                "",
                "nothing here",
                "a time out; time  out; TIME OUT",
                "é ü \u{1F600} err",
            ],
        );
    }

    /// Long texts are scanned as two halves: every keyword at every offset around the
    /// middle, in texts of either parity.
    #[test]
    fn occurrences_across_the_middle_are_found_once() {
        let keywords = [
            ("error", 1),
            ("err", 2),
            ("ab", 4),
            ("x", 8),
            ("\"level\"", 16),
        ];
        let mut texts = Vec::new();
        for len in [64, 65, 80, 131] {
            for k in ["ERROR", "err", "ab", "\"level\"", "errerror"] {
                for at in len / 2 - 10..len / 2 + 4 {
                    let mut t = "-".repeat(len);
                    t.replace_range(at..at + k.len(), k);
                    texts.push(t);
                }
            }
        }
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        agree(&keywords, &refs);
    }

    #[test]
    fn the_classifier_keywords_on_the_labelled_cases() {
        let text = include_str!("testdata/cases.tsv");
        let lines: Vec<&str> = text.lines().collect();
        agree(super::super::rules::KEYWORDS, &lines);
        let heldout = include_str!("testdata/heldout.tsv");
        agree(
            super::super::rules::KEYWORDS,
            &heldout.lines().collect::<Vec<_>>(),
        );
    }
}
