//! Times: RFC 3339 text for people and feeds, microseconds since the epoch
//! for change times.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Now, in microseconds since the Unix epoch.
pub fn now_us() -> i64 {
    let nanos = OffsetDateTime::now_utc().unix_timestamp_nanos() / 1000;
    i64::try_from(nanos).unwrap_or(i64::MAX)
}

/// Microseconds since the epoch as RFC 3339 (UTC).
pub fn rfc3339_us(us: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

/// Now as RFC 3339 (UTC).
pub fn now_rfc3339() -> String {
    rfc3339_us(now_us())
}

/// The change time that follows `last`: now, or one more than `last` when
/// the clock has not moved past it (change times strictly increase).
pub fn next_change(last: i64) -> i64 {
    now_us().max(last.saturating_add(1))
}
