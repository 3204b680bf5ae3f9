//! Waiting for something to come back (a broker, a database, a department's API): exponential
//! backoff with jitter, never giving up on its own (the caller decides when to stop: shutdown, a
//! permanent error). Jitter keeps many sources that failed together from retrying together.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};

/// Delays from `min` doubling up to `max`, each with jitter, without end.
pub fn delays(min: Duration, max: Duration) -> Delays {
    Delays {
        inner: builder(min, max).build(),
        max,
    }
}

/// The same policy as a backon builder, for `Retryable::retry`.
pub fn builder(min: Duration, max: Duration) -> ExponentialBuilder {
    ExponentialBuilder::default()
        .with_min_delay(min)
        .with_max_delay(max)
        .with_jitter()
        .without_max_times()
}

/// An endless iterator of delays; see [`delays`].
pub struct Delays {
    inner: backon::ExponentialBackoff,
    max: Duration,
}

impl Delays {
    /// The next delay (the maximum once backon's sequence would end, which it does not here).
    pub fn next_delay(&mut self) -> Duration {
        self.inner.next().unwrap_or(self.max)
    }
}

impl Iterator for Delays {
    type Item = Duration;
    fn next(&mut self) -> Option<Duration> {
        Some(self.next_delay())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_to_the_maximum_and_never_end() {
        let max = Duration::from_secs(2);
        let seen: Vec<Duration> = delays(Duration::from_millis(100), max).take(50).collect();
        assert_eq!(seen.len(), 50);
        // Jitter adds up to the delay itself on top, so a delay may reach twice the cap.
        assert!(seen.iter().all(|d| *d <= max * 2), "{seen:?}");
        assert!(seen[0] >= Duration::from_millis(100));
        assert!(seen[49] >= max, "the sequence reaches the cap: {seen:?}");
    }
}
