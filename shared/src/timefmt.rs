//! Time in the forms the project meets: RFC 3339 for people and JSON, a compact UTC stamp for
//! ids and object keys, and the milliseconds since the epoch that CloudWatch Logs and ECS use.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// `2026-11-29T14:35:00Z` (to the second).
pub fn rfc3339(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    t.replace_nanosecond(0)
        .unwrap_or(t)
        .format(&Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}

/// `20261129T143500Z`.
pub fn compact(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Milliseconds since the epoch.
pub fn to_millis(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

/// The moment `ms` milliseconds after the epoch; `None` out of range.
pub fn from_millis(ms: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
}

/// RFC 3339 of `ms` (to the millisecond), or the number when out of range.
pub fn millis_rfc3339(ms: i64) -> String {
    from_millis(ms)
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| ms.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn forms() {
        let t = datetime!(2026-11-29 15:35:00.123456 +01:00);
        assert_eq!(rfc3339(t), "2026-11-29T14:35:00Z");
        assert_eq!(compact(t), "20261129T143500Z");
        assert_eq!(
            from_millis(to_millis(t)),
            Some(t.replace_nanosecond(123_000_000).unwrap())
        );
        assert_eq!(millis_rfc3339(1_500), "1970-01-01T00:00:01.5Z");
        assert_eq!(millis_rfc3339(i64::MAX), i64::MAX.to_string());
    }
}
