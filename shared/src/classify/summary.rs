//! Aggregates classifications into counts, a status histogram and the top fingerprints,
//! in memory bounded whatever the number of events.

use super::{Category, Classification};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// Distinct fingerprints kept at most. Past it the rarest half is dropped (a lossy count in
/// the manner of Manku and Motwani), so a flood of unique messages cannot exhaust memory
/// while the frequent errors keep their counts.
pub const MAX_FINGERPRINTS: usize = 4096;
/// Samples are cut to this many bytes.
pub const MAX_SAMPLE: usize = 500;

/// One group of events with the same fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FingerprintCount {
    pub fingerprint: String,
    pub category: Category,
    pub count: u64,
    /// The first event seen with this fingerprint, cut to [`MAX_SAMPLE`] bytes.
    pub sample: String,
    /// Event times (milliseconds since the epoch), when the events had them.
    pub first_seen: Option<i64>,
    pub last_seen: Option<i64>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub lines: u64,
    pub health_noise: u64,
    pub errors_total: u64,
    pub categories: BTreeMap<Category, u64>,
    /// Statuses of access-log lines, health-check noise excluded.
    pub http_status: BTreeMap<u16, u64>,
    #[serde(skip)]
    fingerprints: HashMap<String, FingerprintCount>,
    /// Set once rare fingerprints had to be dropped to bound memory.
    pub fingerprints_truncated: bool,
}

impl Summary {
    /// Adds one classified event.
    pub fn add(&mut self, event: &str, c: &Classification) {
        self.record_line(c);
        if let (false, Some(category)) = (c.health_noise, c.category) {
            let fp = c.fingerprint.clone().unwrap_or_default();
            self.record_error(category, fp, event, None);
        }
    }

    /// Counts a line: noise, or its HTTP status. Errors are recorded apart, since an error
    /// may span several lines.
    pub fn record_line(&mut self, c: &Classification) {
        self.lines += 1;
        if c.health_noise {
            self.health_noise += 1;
        } else if let Some(status) = c.http_status {
            *self.http_status.entry(status).or_default() += 1;
        }
    }

    /// Counts one error occurrence; `sample` is kept (cut) when the fingerprint is new.
    pub fn record_error(&mut self, category: Category, fp: String, sample: &str, at: Option<i64>) {
        self.errors_total += 1;
        *self.categories.entry(category).or_default() += 1;
        if let Some(entry) = self.fingerprints.get_mut(&fp) {
            entry.count += 1;
            entry.first_seen = match (entry.first_seen, at) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            entry.last_seen = entry.last_seen.max(at);
            return;
        }
        if self.fingerprints.len() >= MAX_FINGERPRINTS {
            self.drop_rare();
        }
        let mut sample = sample.trim_end().to_string();
        if sample.len() > MAX_SAMPLE {
            sample.truncate(super::level::floor_boundary(&sample, MAX_SAMPLE));
            sample.push('…');
        }
        self.fingerprints.insert(
            fp.clone(),
            FingerprintCount {
                fingerprint: fp,
                category,
                count: 1,
                sample,
                first_seen: at,
                last_seen: at,
            },
        );
    }

    /// Whether an error with this fingerprint was counted (and not dropped as rare).
    pub fn has_fingerprint(&self, fp: &str) -> bool {
        self.fingerprints.contains_key(fp)
    }

    fn drop_rare(&mut self) {
        let mut counts: Vec<u64> = self.fingerprints.values().map(|f| f.count).collect();
        let mid = counts.len() / 2;
        let (_, median, _) = counts.select_nth_unstable(mid);
        let median = *median;
        self.fingerprints.retain(|_, f| f.count > median);
        if self.fingerprints.len() >= MAX_FINGERPRINTS {
            // All counts equal: drop an arbitrary half.
            let drop: Vec<String> = self.fingerprints.keys().skip(mid).cloned().collect();
            for k in drop {
                self.fingerprints.remove(&k);
            }
        }
        self.fingerprints_truncated = true;
    }

    /// The `n` most frequent fingerprints, most frequent first (ties by category priority,
    /// then fingerprint, so the output is stable).
    pub fn top(&self, n: usize) -> Vec<&FingerprintCount> {
        let mut all: Vec<&FingerprintCount> = self.fingerprints.values().collect();
        all.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then(a.category.cmp(&b.category))
                .then(a.fingerprint.cmp(&b.fingerprint))
        });
        all.truncate(n);
        all
    }

    pub fn distinct_fingerprints(&self) -> usize {
        self.fingerprints.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::Classifier;

    #[test]
    fn counts_categories_statuses_and_fingerprints() {
        let classifier = Classifier::default();
        let mut s = Summary::default();
        let lines = [
            r#"10.0.0.1 - - [29/Nov/2026:14:35:27 +0000] "GET /api HTTP/1.1" 200 12 "-" "curl/8""#,
            r#"10.0.0.1 - - [29/Nov/2026:14:35:28 +0000] "GET /api HTTP/1.1" 502 12 "-" "curl/8""#,
            r#"10.0.0.2 - - [29/Nov/2026:14:35:28 +0000] "GET /health HTTP/1.1" 503 12 "-" "ELB-HealthChecker/2.0""#,
            "ERROR dial tcp 10.0.0.5:5432: connect: connection refused",
            "ERROR dial tcp 10.0.0.6:5432: connect: connection refused",
            "INFO all good",
        ];
        for l in lines {
            s.add(l, &classifier.classify(l));
        }
        assert_eq!(s.lines, 6);
        assert_eq!(s.health_noise, 1);
        assert_eq!(s.errors_total, 3);
        assert_eq!(s.categories[&Category::ConnectionError], 2);
        assert_eq!(s.categories[&Category::Http5xx], 1);
        assert_eq!(s.http_status.get(&200), Some(&1));
        assert_eq!(s.http_status.get(&502), Some(&1));
        assert_eq!(
            s.http_status.get(&503),
            None,
            "health checks stay out of the histogram"
        );
        let top = s.top(10);
        assert_eq!(top[0].count, 2);
        assert_eq!(top[0].category, Category::ConnectionError);
        assert!(
            top[0].sample.contains("10.0.0.5"),
            "the first event is the sample"
        );
    }

    #[test]
    fn memory_stays_bounded_with_unique_messages() {
        let mut s = Summary::default();
        let frequent = Classification {
            category: Some(Category::Error),
            fingerprint: Some("frequent".into()),
            ..Default::default()
        };
        for i in 0..(MAX_FINGERPRINTS * 3) {
            s.add("x", &frequent);
            let unique = Classification {
                category: Some(Category::Error),
                fingerprint: Some(format!("unique {i}")),
                ..Default::default()
            };
            s.add("y", &unique);
        }
        assert!(s.distinct_fingerprints() <= MAX_FINGERPRINTS);
        assert!(s.fingerprints_truncated);
        assert_eq!(s.top(1)[0].fingerprint, "frequent");
        assert_eq!(s.top(1)[0].count, (MAX_FINGERPRINTS * 3) as u64);
        assert_eq!(s.errors_total, (MAX_FINGERPRINTS * 6) as u64);
    }
}
