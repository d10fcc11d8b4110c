//! Silences and maintenance windows: while one is active for a scope (the whole cluster, or
//! named services), the health state is still recorded but alerts about that scope are held;
//! when it ends, one summary tells what was held. Pure: parsing, and which are active at a
//! given time.
//!
//! A **silence** is set by hand (`ecs-monitor silence 2h api --reason …`) and kept in the
//! state bucket, `<STATE_PREFIX><cluster>/silences.json`. A **maintenance window** recurs
//! and is configured (`MAINTENANCE_WINDOWS`):
//!
//! ```text
//! [SERVICE[,SERVICE…]@]DAYS HH:MM-HH:MM   entries separated by ';', times in UTC
//! DAYS: daily | mon..sun | a range (mon-fri) | a list (sat,sun)
//! sun 02:00-04:00; api,worker@mon-fri 23:30-00:30
//! ```
//!
//! An end at or before the start crosses midnight: the window belongs to the day it starts.

use regex::Regex;
use serde::{Deserialize, Serialize};
use std::sync::LazyLock;
use time::{Duration, OffsetDateTime};

pub const SCHEMA_VERSION: u32 = 1;
/// A silence may last this long at most: longer is a forgotten silence, not a maintenance.
pub const MAX_SILENCE: Duration = Duration::days(14);

/// A silence set by hand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Silence {
    pub id: String,
    /// The services it covers; empty: the whole cluster (every check).
    #[serde(default)]
    pub services: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub starts_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub ends_at: OffsetDateTime,
    pub reason: String,
    /// Who set it (the CLI's `$USER`), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
}

/// `silences.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SilenceFile {
    pub schema_version: u32,
    #[serde(default)]
    pub silences: Vec<Silence>,
}

impl Default for SilenceFile {
    fn default() -> Self {
        Self {
            schema_version: SCHEMA_VERSION,
            silences: Vec::new(),
        }
    }
}

impl SilenceFile {
    /// Reads `silences.json`; an error names what is wrong with it.
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        let f: SilenceFile =
            serde_json::from_slice(bytes).map_err(|e| format!("not a silences file: {e}"))?;
        if f.schema_version != SCHEMA_VERSION {
            return Err(format!(
                "schema_version {} (this version reads {SCHEMA_VERSION})",
                f.schema_version
            ));
        }
        Ok(f)
    }

    /// Drops the silences that ended before `now`: the file only grows with live ones.
    pub fn prune(&mut self, now: OffsetDateTime) {
        self.silences.retain(|s| s.ends_at > now);
    }
}

/// One recurring maintenance window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// The entry as configured, for messages.
    pub text: String,
    /// Empty: the whole cluster.
    pub services: Vec<String>,
    /// Days it starts on, Monday first.
    pub days: [bool; 7],
    /// Minutes after midnight UTC: the start (0..1440) and the end (1..=1440; 24:00 is the
    /// day's end).
    pub start: u16,
    pub end: u16,
}

/// A silence or a window occurrence, active now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Active {
    /// The silence's id, or `window:<entry>@<start>` for one occurrence of a window.
    pub id: String,
    /// Empty: the whole cluster.
    #[serde(default)]
    pub services: Vec<String>,
    pub reason: String,
    #[serde(with = "time::serde::rfc3339")]
    pub until: OffsetDateTime,
}

impl Active {
    pub fn whole_cluster(&self) -> bool {
        self.services.is_empty()
    }

    /// "api, worker" or "the whole cluster".
    pub fn scope(&self) -> String {
        if self.whole_cluster() {
            "the whole cluster".into()
        } else {
            self.services.join(", ")
        }
    }
}

/// One entry: optional services and `@`, days, a time range.
static ENTRY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?xi)
        ^\s*
        (?: (?P<services> [^@\s][^@]*? ) \s* @ \s* )?   # api,worker@
        (?P<days> [a-z]+ (?: \s*[-,]\s* [a-z]+ )* )     # daily, mon-fri, sat,sun
        \s+
        (?P<start> \d{1,2}:\d{2} ) \s*-\s* (?P<end> \d{1,2}:\d{2} )
        (?: \s+ UTC )?                                  # optional: times are UTC anyway
        \s*$
        ",
    )
    .expect("a valid window pattern")
});

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn day(name: &str) -> Result<usize, String> {
    let n = name.trim().to_ascii_lowercase();
    DAYS.iter()
        .position(|d| n == *d || (n.len() > 3 && n.starts_with(d) && full_day(d).starts_with(&n)))
        .ok_or_else(|| format!("{name:?} is not a day (mon, tue, wed, thu, fri, sat, sun, daily)"))
}

fn full_day(short: &str) -> &'static str {
    match short {
        "mon" => "monday",
        "tue" => "tuesday",
        "wed" => "wednesday",
        "thu" => "thursday",
        "fri" => "friday",
        "sat" => "saturday",
        _ => "sunday",
    }
}

fn parse_days(spec: &str) -> Result<[bool; 7], String> {
    let mut days = [false; 7];
    if spec.trim().eq_ignore_ascii_case("daily") {
        return Ok([true; 7]);
    }
    for part in spec.split(',') {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (day(a)?, day(b)?);
                // mon-fri, or fri-mon across the week's end.
                let mut d = a;
                loop {
                    days[d] = true;
                    if d == b {
                        break;
                    }
                    d = (d + 1) % 7;
                }
            }
            None => days[day(part)?] = true,
        }
    }
    Ok(days)
}

/// `HH:MM` as minutes after midnight; `24:00` only where `end`.
fn parse_time(s: &str, end: bool) -> Result<u16, String> {
    let (h, m) = s.split_once(':').unwrap_or((s, ""));
    match (h.parse::<u16>(), m.parse::<u16>()) {
        (Ok(24), Ok(0)) if end => Ok(24 * 60),
        (Ok(h @ 0..24), Ok(m @ 0..60)) => Ok(h * 60 + m),
        _ => Err(format!("{s} is not a time of day (HH:MM)")),
    }
}

/// Parses `MAINTENANCE_WINDOWS`; an error says which entry and why.
pub fn parse_windows(value: &str) -> Result<Vec<Window>, String> {
    let mut out = Vec::new();
    for (i, entry) in value.split(';').enumerate() {
        if entry.trim().is_empty() {
            continue;
        }
        let at = |why: String| format!("entry {} ({:?}): {why}", i + 1, entry.trim());
        let caps = ENTRY.captures(entry).ok_or_else(|| {
            at("expected [SERVICE,…@]DAYS HH:MM-HH:MM, as in \"sun 02:00-04:00\"".into())
        })?;
        let services: Vec<String> = caps
            .name("services")
            .map(|s| {
                s.as_str()
                    .split(',')
                    .map(|x| x.trim().to_string())
                    .collect()
            })
            .unwrap_or_default();
        if services.iter().any(String::is_empty) {
            return Err(at("an empty service name".into()));
        }
        let days = parse_days(&caps["days"]).map_err(at)?;
        let (start, end) = (
            parse_time(&caps["start"], false).map_err(at)?,
            parse_time(&caps["end"], true).map_err(at)?,
        );
        if start == end {
            return Err(at("it starts and ends at the same time".into()));
        }
        out.push(Window {
            text: entry.trim().to_string(),
            services,
            days,
            start,
            end,
        });
    }
    Ok(out)
}

impl Window {
    /// The occurrence active at `now` (UTC), as (start, end): today's, or yesterday's when it
    /// crosses midnight.
    pub fn occurrence_at(&self, now: OffsetDateTime) -> Option<(OffsetDateTime, OffsetDateTime)> {
        let now = now.to_offset(time::UtcOffset::UTC);
        [now.date().previous_day(), Some(now.date())]
            .into_iter()
            .flatten()
            .filter(|d| self.days[d.weekday().number_days_from_monday() as usize])
            .map(|d| {
                let midnight = d.midnight().assume_utc();
                let start = midnight + Duration::minutes(self.start.into());
                let mut end = midnight + Duration::minutes(self.end.into());
                if end <= start {
                    end += Duration::days(1);
                }
                (start, end)
            })
            .find(|(s, e)| (*s..*e).contains(&now))
    }
}

/// The silences and window occurrences active at `now`.
pub fn active(silences: &[Silence], windows: &[Window], now: OffsetDateTime) -> Vec<Active> {
    let mut out: Vec<Active> = silences
        .iter()
        .filter(|s| (s.starts_at..s.ends_at).contains(&now))
        .map(|s| Active {
            id: s.id.clone(),
            services: s.services.clone(),
            reason: s.reason.clone(),
            until: s.ends_at,
        })
        .collect();
    for w in windows {
        if let Some((start, end)) = w.occurrence_at(now) {
            out.push(Active {
                id: format!("window:{}@{}", w.text, crate::timefmt::compact(start)),
                services: w.services.clone(),
                reason: format!("maintenance window {}", w.text),
                until: end,
            });
        }
    }
    out
}

/// The active silences that cover `service` (`None`: a check of the whole cluster, such as
/// an HTTP endpoint, which only a silence of the whole cluster covers).
pub fn covering<'a>(active: &'a [Active], service: Option<&str>) -> Vec<&'a Active> {
    active
        .iter()
        .filter(|a| a.whole_cluster() || service.is_some_and(|s| a.services.iter().any(|x| x == s)))
        .collect()
}

/// A silence's length: `2h`, `90m`, `1h30m`, `1d` (humantime's syntax), at most
/// [`MAX_SILENCE`].
pub fn parse_length(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s.trim())
        .map_err(|e| format!("{s:?} is not a length such as 2h, 90m or 1h30m: {e}"))?;
    let d = Duration::try_from(d).map_err(|_| format!("{s:?} is too long"))?;
    if d <= Duration::ZERO {
        return Err(format!("{s:?} is not a positive length"));
    }
    if d > MAX_SILENCE {
        return Err(format!(
            "{s:?} is longer than {} days",
            MAX_SILENCE.whole_days()
        ));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn hm(h: u16, m: u16) -> u16 {
        h * 60 + m
    }

    #[test]
    fn window_syntax() {
        let ok = [
            (
                "sun 02:00-04:00",
                vec![],
                [false, false, false, false, false, false, true],
                hm(2, 0),
                hm(4, 0),
            ),
            (
                "api,worker@mon-fri 23:30-00:30",
                vec!["api", "worker"],
                [true, true, true, true, true, false, false],
                hm(23, 30),
                hm(0, 30),
            ),
            (
                "  web @ sat,sun 9:00-17:00 UTC ",
                vec!["web"],
                [false, false, false, false, false, true, true],
                hm(9, 0),
                hm(17, 0),
            ),
            ("daily 00:00-24:00", vec![], [true; 7], hm(0, 0), hm(24, 0)),
            (
                "fri-mon 22:00-06:00",
                vec![],
                [true, false, false, false, true, true, true],
                hm(22, 0),
                hm(6, 0),
            ),
            (
                "Sunday 01:00-02:00",
                vec![],
                [false, false, false, false, false, false, true],
                hm(1, 0),
                hm(2, 0),
            ),
        ];
        for (text, services, days, start, end) in ok {
            let w = parse_windows(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(w.len(), 1, "{text}");
            assert_eq!(
                (
                    w[0].services.iter().map(String::as_str).collect::<Vec<_>>(),
                    w[0].days,
                    w[0].start,
                    w[0].end
                ),
                (services, days, start, end),
                "{text}"
            );
        }
        assert_eq!(
            parse_windows("sun 02:00-04:00; ; sat 01:00-02:00")
                .unwrap()
                .len(),
            2
        );
        assert_eq!(parse_windows("").unwrap(), []);
        let bad = [
            ("sun 02:00", "expected"),
            ("someday 02:00-04:00", "not a day"),
            ("sun 25:00-04:00", "not a time"),
            ("sun 24:00-04:00", "not a time"),
            ("sun 02:60-04:00", "not a time"),
            ("sun 02:00-02:00", "same time"),
            ("api,@sun 02:00-04:00", "empty service"),
            ("sun 02:00-04:00 CET", "expected"),
            ("mo 02:00-04:00", "not a day"),
        ];
        for (text, why) in bad {
            let e = parse_windows(&format!("sat 01:00-02:00; {text}")).unwrap_err();
            assert!(e.starts_with("entry 2") && e.contains(why), "{text}: {e}");
        }
    }

    #[test]
    fn a_window_is_active_in_its_occurrence_only() {
        let w = &parse_windows("api@mon-fri 23:30-00:30").unwrap()[0];
        // 2026-12-04 is a Friday, 2026-12-05 a Saturday.
        let fri_late = datetime!(2026-12-04 23:45 UTC);
        assert_eq!(
            w.occurrence_at(fri_late),
            Some((
                datetime!(2026-12-04 23:30 UTC),
                datetime!(2026-12-05 00:30 UTC)
            ))
        );
        // Saturday 00:15 is still Friday's occurrence; Saturday 23:45 starts none.
        assert!(w.occurrence_at(datetime!(2026-12-05 00:15 UTC)).is_some());
        assert_eq!(
            w.occurrence_at(datetime!(2026-12-05 00:30 UTC)),
            None,
            "the end is outside"
        );
        assert_eq!(w.occurrence_at(datetime!(2026-12-05 23:45 UTC)), None);
        // Monday 00:15: Sunday's would be, but Sunday is not a day of it.
        assert_eq!(w.occurrence_at(datetime!(2026-12-07 00:15 UTC)), None);
        assert!(
            w.occurrence_at(datetime!(2026-12-07 23:30 UTC)).is_some(),
            "the start is inside"
        );
        let all_day = &parse_windows("sun 00:00-24:00").unwrap()[0];
        assert!(
            all_day
                .occurrence_at(datetime!(2026-12-06 23:59 UTC))
                .is_some()
        );
        assert_eq!(all_day.occurrence_at(datetime!(2026-12-07 00:00 UTC)), None);
    }

    #[test]
    fn active_silences_and_what_they_cover() {
        let now = datetime!(2026-12-06 12:00 UTC);
        let silence = |id: &str, services: &[&str], from: i64, to: i64| Silence {
            id: id.into(),
            services: services.iter().map(|s| s.to_string()).collect(),
            starts_at: now + Duration::minutes(from),
            ends_at: now + Duration::minutes(to),
            reason: format!("reason {id}"),
            created_by: None,
        };
        let silences = [
            silence("s1", &["api"], -10, 50),
            silence("s2", &[], 10, 60),
            silence("s3", &["web"], -60, 0),
        ];
        let windows = parse_windows("worker@sun 11:00-13:00; sat 11:00-13:00").unwrap();
        let a = active(&silences, &windows, now);
        let ids: Vec<&str> = a.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(
            ids,
            ["s1", "window:worker@sun 11:00-13:00@20261206T110000Z"]
        );
        assert_eq!(a[1].until, datetime!(2026-12-06 13:00 UTC));
        assert_eq!(a[1].reason, "maintenance window worker@sun 11:00-13:00");
        assert_eq!(covering(&a, Some("api")).len(), 1);
        assert_eq!(covering(&a, Some("web")).len(), 0, "s3 ended at now");
        assert_eq!(
            covering(&a, None).len(),
            0,
            "no silence of the whole cluster"
        );
        let later = active(&silences, &windows, now + Duration::minutes(20));
        assert_eq!(covering(&later, None)[0].id, "s2");
        assert_eq!(
            covering(&later, Some("web"))[0].scope(),
            "the whole cluster"
        );
        let mut file = SilenceFile {
            schema_version: 1,
            silences: silences.to_vec(),
        };
        file.prune(now);
        assert_eq!(file.silences.len(), 2);
    }

    #[test]
    fn silence_lengths() {
        assert_eq!(parse_length("2h").unwrap(), Duration::hours(2));
        assert_eq!(parse_length("1h30m").unwrap(), Duration::minutes(90));
        assert_eq!(parse_length("90min").unwrap(), Duration::minutes(90));
        assert_eq!(parse_length("1d").unwrap(), Duration::days(1));
        for bad in ["", "2", "two hours", "0s", "15d", "-1h"] {
            assert!(parse_length(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn silence_files() {
        let f = SilenceFile::parse(br#"{"schema_version": 1, "silences": [{"id": "a", "starts_at": "2026-12-06T12:00:00Z", "ends_at": "2026-12-06T14:00:00Z", "reason": "db upgrade"}]}"#).unwrap();
        assert!(f.silences[0].services.is_empty());
        assert!(
            SilenceFile::parse(b"{\"schema_version\": 2}")
                .unwrap_err()
                .contains("schema_version 2")
        );
        assert!(
            SilenceFile::parse(b"[]")
                .unwrap_err()
                .contains("not a silences file")
        );
    }
}
