//! Time in the two forms the project writes: RFC 3339 for people and JSON, and a compact UTC
//! stamp for ids and object keys.

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

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn forms() {
        let t = datetime!(2026-11-29 15:35:00.123456 +01:00);
        assert_eq!(rfc3339(t), "2026-11-29T14:35:00Z");
        assert_eq!(compact(t), "20261129T143500Z");
    }
}
