//! The safe horizon and the memory of rows already submitted: pure bookkeeping, no I/O, so the rules
//! that keep late-committing rows from being skipped are tested on their own. The argument for why
//! they are enough is in the module doc of [`crate::sql`].

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use super::value::{TupleId, Value};

/// What the source knows about the cursor's first column.
///
/// - Observations: `(when, value)`, the highest first-column value the source had read by `when`
///   (its own monotonic clock, taken after the query returned).
/// - The candidate horizon: the value of the latest observation at least `overlap` old.
/// - The safe value `P`: every row whose first cursor value is below `P` has been stored. It only
///   moves when a re-read of `[P, candidate]` has submitted every row it found missing.
#[derive(Debug)]
pub struct Horizon {
    overlap: Duration,
    observations: VecDeque<(Instant, Value)>,
    safe: Option<Value>,
}

impl Horizon {
    /// `safe` is the value stored with the last batch (`None` on a first start).
    pub fn new(overlap: Duration, safe: Option<Value>) -> Horizon {
        Horizon {
            overlap,
            observations: VecDeque::new(),
            safe,
        }
    }

    pub fn safe(&self) -> Option<&Value> {
        self.safe.as_ref()
    }

    /// Records that, at `at`, the highest first-column value read so far is `value`. Only a new
    /// value is recorded: the earliest sighting of a value is the one that ripens first, and it is
    /// as valid as any later one.
    pub fn observe(&mut self, at: Instant, value: &Value) {
        if self.observations.back().map(|(_, v)| v) != Some(value) {
            self.observations.push_back((at, value.clone()));
        }
        if self.overlap.is_zero() {
            // No out-of-order window: what has been read and stored is safe at once.
            self.safe = Some(value.clone());
            self.observations.clear();
        }
    }

    /// The horizon a re-read starting `now` may move `P` to, if any observation is old enough.
    pub fn candidate(&mut self, now: Instant) -> Option<Value> {
        let cutoff = now.checked_sub(self.overlap)?;
        while self.observations.len() >= 2 && self.observations[1].0 <= cutoff {
            self.observations.pop_front();
        }
        match self.observations.front() {
            Some((at, value)) if *at <= cutoff => Some(value.clone()),
            _ => None,
        }
    }

    /// A re-read of `[P, horizon]` has submitted every row it found missing: `P` moves to `horizon`.
    /// Returns whether it moved.
    pub fn advance(&mut self, horizon: Value) -> bool {
        let moved = self.safe.as_ref() != Some(&horizon);
        self.safe = Some(horizon);
        moved
    }
}

/// The row versions submitted whose first cursor value is at or above `P` (or recent enough that it
/// might be): a re-read submits only what is not here. Forgetting an entry too early costs one
/// needless submission (the ingest step recognises the unchanged content); it can never skip a row,
/// which is why pruning by age is safe.
#[derive(Debug, Default)]
pub struct Seen {
    entries: HashMap<TupleId, Instant>,
}

impl Seen {
    pub fn insert(&mut self, id: TupleId, at: Instant) {
        self.entries.insert(id, at);
    }

    pub fn contains(&self, id: &TupleId) -> bool {
        self.entries.contains_key(id)
    }

    pub fn remove(&mut self, id: &TupleId) {
        self.entries.remove(id);
    }

    /// Forgets entries older than `age`: rows that changed again since (their old cursor values no
    /// longer exist, so no re-read returns and removes them).
    pub fn prune_older_than(&mut self, now: Instant, age: Duration) {
        if let Some(cutoff) = now.checked_sub(age) {
            self.entries.retain(|_, at| *at >= cutoff);
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(n: i64) -> Value {
        Value::Int(n)
    }

    #[test]
    fn the_candidate_is_the_latest_value_seen_at_least_the_overlap_ago() {
        let start = Instant::now();
        let ms = Duration::from_millis;
        let mut horizon = Horizon::new(ms(100), None);
        assert_eq!(
            horizon.candidate(start + ms(1000)),
            None,
            "nothing observed"
        );
        horizon.observe(start, &v(10));
        horizon.observe(start + ms(50), &v(20));
        horizon.observe(start + ms(60), &v(20));
        horizon.observe(start + ms(120), &v(30));
        assert_eq!(horizon.candidate(start + ms(99)), None, "too young");
        assert_eq!(horizon.candidate(start + ms(100)), Some(v(10)));
        assert_eq!(horizon.candidate(start + ms(149)), Some(v(10)));
        assert_eq!(
            horizon.candidate(start + ms(150)),
            Some(v(20)),
            "20 was first seen at 50 ms"
        );
        assert_eq!(horizon.candidate(start + ms(500)), Some(v(30)));
        assert_eq!(horizon.safe(), None, "only a completed re-read moves P");
        assert!(horizon.advance(v(30)));
        assert!(!horizon.advance(v(30)));
        assert_eq!(horizon.safe(), Some(&v(30)));
    }

    #[test]
    fn without_an_overlap_what_is_read_is_safe_at_once() {
        let mut horizon = Horizon::new(Duration::ZERO, Some(v(1)));
        horizon.observe(Instant::now(), &v(7));
        assert_eq!(horizon.safe(), Some(&v(7)));
    }

    #[test]
    fn seen_entries_are_forgotten_by_age() {
        let start = Instant::now();
        let mut seen = Seen::default();
        let a = TupleId::of(&[v(1)]);
        let b = TupleId::of(&[v(2)]);
        seen.insert(a, start);
        seen.insert(b, start + Duration::from_secs(10));
        seen.prune_older_than(start + Duration::from_secs(15), Duration::from_secs(10));
        assert!(!seen.contains(&a));
        assert!(seen.contains(&b));
        seen.remove(&b);
        assert!(seen.is_empty());
    }
}
