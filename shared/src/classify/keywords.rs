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
//! candidate comparison, which halved the comparisons on a JSON line. States with
//! candidates are placed from offset 2^15 on, so the loop is: the byte's class, the next
//! state, and one test of the states' OR per step of all the parts (see [`Keywords::scan`]).
//! The result is checked against `aho-corasick` in the tests.

/// Bytes of each keyword in the automaton; the rest is compared where they occur.
const PREFIX: usize = 4;
/// Parts of a long text scanned at once (see [`Keywords::scan`]).
const CHAINS: usize = 4;
/// Entries of the transition table: every state offset (< 2^16) plus every class (< 2^8).
const TABLE: usize = (1 << 16) + 256;
/// States with candidates are placed from this offset on, so that "any of these states has
/// candidates" is one test of their OR.
const OUTPUT: u16 = 1 << 15;
/// Positions scanned between two passes over the states that had candidates (at most 256:
/// a position in a block is noted as a byte).
const BLOCK: usize = 32;

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

/// The keywords whose prefix ends at a state, and a filter on the byte after it.
#[derive(Debug, Clone)]
struct Outputs {
    /// Some keyword is whole at this state (it must be compared whatever follows).
    complete: bool,
    /// The bytes (both cases of letters) that can follow in the others: "time" wakes six
    /// keywords (timeout, time out, …) at every `"timestamp"` key unless its `s` rejects them
    /// all at once.
    follow: [u64; 4],
    candidates: Box<[Candidate]>,
}

impl Outputs {
    fn new(candidates: &[Candidate]) -> Self {
        let mut follow = [0u64; 4];
        let mut add = |b: u8| follow[usize::from(b >> 6)] |= 1 << (b & 63);
        for c in candidates {
            if let Some(&b) = c.word.get(c.matched) {
                add(b);
                add(b.to_ascii_uppercase());
            }
        }
        Self {
            complete: candidates.iter().any(|c| c.word.len() == c.matched),
            follow,
            candidates: candidates.into(),
        }
    }

    /// Whether a keyword may occur when `next` (if any) follows the prefix.
    #[inline]
    fn may_match(&self, next: Option<u8>) -> bool {
        self.complete || next.is_some_and(|b| self.follow[usize::from(b >> 6)] >> (b & 63) & 1 != 0)
    }
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

/// Runs the automaton over one block of each part (slices of one length, at most [`BLOCK`])
/// from `states`, and notes each position where some part's state has candidates. Its own
/// function, which makes no call: every value of the loop stays in a register (inlined into
/// the scan, the compiler kept two of them on the stack, across the comparisons' calls).
#[inline(never)]
fn steps(
    next: &[u16; TABLE],
    class: &[u8; 256],
    parts: [&[u8]; CHAINS],
    states: &mut [u16; CHAINS],
    noted: &mut [(u8, [u16; CHAINS]); BLOCK],
) -> usize {
    // States held as usize (a state's load zero-extends it): nothing but an add and a load
    // between two steps.
    let step = |s: usize, b: u8| usize::from(next[s + usize::from(class[usize::from(b)])]);
    let [mut a, mut b, mut c, mut d] = states.map(usize::from);
    let mut n = 0;
    let [p0, p1, p2, p3] = parts;
    let len = p0
        .len()
        .min(p1.len())
        .min(p2.len())
        .min(p3.len())
        .min(BLOCK);
    for i in 0..len {
        a = step(a, p0[i]);
        b = step(b, p1[i]);
        c = step(c, p2[i]);
        d = step(d, p3[i]);
        if (a | b | c | d) & usize::from(OUTPUT) != 0 {
            // At most one note per position of the block: `n < BLOCK` here, and the mask
            // only tells the compiler so.
            noted[n % BLOCK] = (i as u8, [a as u16, b as u16, c as u16, d as u16]);
            n += 1;
        }
    }
    *states = [a as u16, b as u16, c as u16, d as u16];
    n
}

pub struct Keywords {
    /// Byte → class; every byte that occurs in no keyword is class 0.
    class: [u8; 256],
    /// `next[state + class]` is the next state, each state given as its offset in the table
    /// (its number × the number of classes): no multiplication in the loop, whose every step waits for
    /// the step before.
    /// Sized for every `u16` plus every class, so that indexing by `state + class` needs no
    /// bounds check in the loop; only the first `states × classes` entries are used (and
    /// touched).
    next: Box<[u16; TABLE]>,
    /// Per state from [`OUTPUT`] on: the keywords whose prefix ends there.
    candidates: Vec<Outputs>,
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
        assert!(
            first_output * classes <= usize::from(OUTPUT)
                && (n - first_output) * classes < usize::from(OUTPUT),
            "{n} states: the keyword prefixes need wider state ids"
        );
        let offset = |i: usize| {
            if i < first_output {
                i * classes
            } else {
                usize::from(OUTPUT) + (i - first_output) * classes
            }
        };
        let mut next: Box<[u16; TABLE]> = vec![0u16; TABLE]
            .into_boxed_slice()
            .try_into()
            .unwrap_or_else(|_| unreachable!("the length is TABLE"));
        for (i, s) in order.iter().enumerate() {
            for c in 0..classes {
                next[offset(i) + c] = offset(new_id[dfa[*s][c]]) as u16;
            }
        }
        let candidates = order[first_output..]
            .iter()
            .map(|s| Outputs::new(&out[*s]))
            .collect();
        Self {
            class,
            next,
            candidates,
            reciprocal: (1u64 << 32) / classes as u64 + 1,
        }
    }

    /// Scans `text`: the union of the flags of every keyword occurring in it, and for each
    /// positioned occurrence, `on_positioned(start, occurrence)` (in no particular order).
    ///
    /// Each step waits for the one before (the next state is a load at the current one), so
    /// one chain of steps runs at the latency of a load, not at the machine's width. Long
    /// texts are therefore scanned as [`CHAINS`] parts at once, whose steps overlap: a part
    /// starts [`PREFIX`] bytes early, where the automaton's state, which depends on the last
    /// `PREFIX` bytes only, is right again, and reports only what ends inside it. The loop
    /// makes no call: the states with candidates of a [`BLOCK`] are noted, then compared.
    #[inline]
    pub fn scan(&self, text: &[u8], mut on_positioned: impl FnMut(usize, Positioned)) -> u32 {
        let mut bits = 0;
        let (next, class) = (&*self.next, &self.class);
        // A state (< 2^16) plus a class (< 2^8) is always inside `next`: no bounds check, no
        // wrap, nothing but an add and a load between two steps.
        let step = |s: u16, b: u8| next[usize::from(s) + usize::from(class[usize::from(b)])];
        let mut a = 0u16;
        let mut done = 0;
        if text.len() >= CHAINS * 16 {
            let part = text.len() / CHAINS;
            let warm = |at: usize| text[at - PREFIX..at].iter().fold(0u16, |s, &x| step(s, x));
            let mut states = [0, warm(part), warm(2 * part), warm(3 * part)];
            let (p0, rest) = text.split_at(part);
            let (p1, rest) = rest.split_at(part);
            let (p2, rest) = rest.split_at(part);
            let p3 = &rest[..part];
            let mut noted = [(0u8, [0u16; CHAINS]); BLOCK];
            for block in (0..part).step_by(BLOCK) {
                let end = (block + BLOCK).min(part);
                let n = steps(
                    next,
                    class,
                    [
                        &p0[block..end],
                        &p1[block..end],
                        &p2[block..end],
                        &p3[block..end],
                    ],
                    &mut states,
                    &mut noted,
                );
                for &(i, at) in &noted[..n] {
                    let i = usize::from(i);
                    for (k, s) in at.into_iter().enumerate() {
                        if s & OUTPUT != 0 {
                            bits |= self.hit(text, k * part + block + i, s, &mut on_positioned);
                        }
                    }
                }
            }
            done = CHAINS * part;
            a = states[CHAINS - 1];
        }
        for (i, &x) in text.iter().enumerate().skip(done) {
            a = step(a, x);
            if a & OUTPUT != 0 {
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
        let state = ((u64::from(s - OUTPUT) * self.reciprocal) >> 32) as usize;
        let outputs = &self.candidates[state];
        if !outputs.may_match(text.get(i + 1).copied()) {
            return 0;
        }
        for c in outputs.candidates.iter() {
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

    /// Long texts are scanned as parts at once: every keyword at every offset around every
    /// boundary between parts, in texts of every length modulo the number of parts, and
    /// below and at the length where the split starts.
    #[test]
    fn occurrences_across_part_boundaries_are_found_once() {
        let keywords = [
            ("error", 1),
            ("err", 2),
            ("ab", 4),
            ("x", 8),
            ("\"level\"", 16),
        ];
        let mut texts = Vec::new();
        for len in [CHAINS * 16 - 1, CHAINS * 16, 65, 66, 67, 80, 131, 201, 1003] {
            let part = len / CHAINS;
            for k in ["ERROR", "err", "ab", "\"level\"", "errerror", "x"] {
                // Part and block boundaries, and the end.
                let blocks = (0..CHAINS)
                    .flat_map(|c| (0..part.div_ceil(BLOCK)).map(move |b| c * part + b * BLOCK));
                for boundary in blocks.skip(1).chain([len - k.len()]) {
                    for at in boundary.saturating_sub(10)..(boundary + 4).min(len - k.len() + 1) {
                        let mut t = "-".repeat(len);
                        t.replace_range(at..at + k.len(), k);
                        texts.push(t);
                    }
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
