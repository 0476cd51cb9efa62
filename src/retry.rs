//! What every HTTP client here (GitHub, GitLab, Jira, the webhooks) shares
//! when it waits before retrying: the clock, jitter and the headers that say
//! how long. Each client keeps its own policy (which statuses, how often).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Longest pause between two attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Seconds since the epoch (rate-limit resets are given in them).
pub fn now_epoch() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Some noise for jitter: the clock's nanoseconds.
pub fn noise() -> u32 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos())
}

/// A header holding whole seconds (`Retry-After`, `RateLimit-Reset`).
pub fn header_secs(headers: &http::HeaderMap, name: &str) -> Option<u64> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
}

/// `first`, doubling per attempt, plus up to half of it again (jitter, so
/// that parallel jobs do not retry in step), never past [`MAX_BACKOFF`].
pub fn backoff(first: Duration, attempt: u32, noise: u32) -> Duration {
    let base = first.saturating_mul(1 << attempt.min(6));
    let jitter = base.mul_f64(f64::from(noise % 1000) / 2000.0);
    (base + jitter).min(MAX_BACKOFF)
}

/// A header map of `pairs`, for the clients' tests.
#[cfg(test)]
pub fn header_map(pairs: &[(&'static str, &str)]) -> http::HeaderMap {
    let mut map = http::HeaderMap::new();
    for (name, value) in pairs {
        map.insert(*name, value.parse().expect("a header value"));
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_stops_at_the_cap() {
        let first = Duration::from_secs(1);
        assert_eq!(backoff(first, 0, 0), first);
        assert_eq!(backoff(first, 2, 0), Duration::from_secs(4));
        assert_eq!(
            backoff(first, 2, 999),
            Duration::from_secs(4).mul_f64(1.4995)
        );
        assert_eq!(backoff(first, 20, 999), MAX_BACKOFF);
    }

    #[test]
    fn only_whole_seconds_are_read_from_a_header() {
        let headers = header_map(&[("retry-after", " 7 "), ("ratelimit-reset", "soon")]);
        assert_eq!(header_secs(&headers, "retry-after"), Some(7));
        assert_eq!(header_secs(&headers, "ratelimit-reset"), None);
        assert_eq!(header_secs(&headers, "x-missing"), None);
    }
}
