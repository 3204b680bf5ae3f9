//! A tiny deterministic PRNG (SplitMix64).
//!
//! Written here rather than taken from `rand` because the generator needs nothing but reproducible
//! streams from a seed, and a stable algorithm: `rand`'s `SmallRng` is documented as free to change
//! between releases, which would silently change the committed sample exports.

/// SplitMix64 (Steele, Lea, Flood 2014): one `u64` of state, full period, good enough for test data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64 { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// An independent stream, so that adding draws to one part of the generator does not shift
    /// every value drawn after it in another part.
    pub fn fork(&mut self) -> SplitMix64 {
        SplitMix64::new(self.next_u64())
    }

    /// A value in `0..n`; `0` when `n` is `0`. Multiply-high mapping: the bias is below 2^-32 for
    /// the small ranges used here.
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// A value in `low..=high` (`low` when `high < low`).
    pub fn between(&mut self, low: u64, high: u64) -> u64 {
        if high <= low {
            return low;
        }
        low + self.below(high - low + 1)
    }

    /// A float in `[0, 1)` from the top 53 bits.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// `true` with probability `p` (values outside `[0, 1]` act as 0 or 1).
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// One element of a non-empty slice; `None` for an empty one.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        items.get(self.below(items.len() as u64) as usize)
    }

    /// Fisher–Yates shuffle in place.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_matches_the_reference_sequence() {
        // Reference values of SplitMix64 seeded with 1234567 (from the C reference implementation).
        let mut rng = SplitMix64::new(1234567);
        assert_eq!(rng.next_u64(), 6457827717110365317);
        assert_eq!(rng.next_u64(), 3203168211198807973);
        assert_eq!(rng.next_u64(), 9817491932198370423);
    }

    #[test]
    fn below_and_between_stay_in_range() {
        let mut rng = SplitMix64::new(7);
        for _ in 0..10_000 {
            assert!(rng.below(10) < 10);
            let v = rng.between(5, 9);
            assert!((5..=9).contains(&v));
        }
        assert_eq!(rng.below(0), 0);
        assert_eq!(rng.between(4, 2), 4);
    }

    #[test]
    fn between_reaches_both_ends() {
        let mut rng = SplitMix64::new(99);
        let drawn: Vec<u64> = (0..1000).map(|_| rng.between(1, 3)).collect();
        assert!(drawn.contains(&1) && drawn.contains(&2) && drawn.contains(&3));
    }

    #[test]
    fn pick_on_empty_slice_is_none() {
        let mut rng = SplitMix64::new(1);
        let empty: [u8; 0] = [];
        assert_eq!(rng.pick(&empty), None);
        assert_eq!(rng.pick(&[42]), Some(&42));
    }

    #[test]
    fn shuffle_is_a_permutation_and_deterministic() {
        let mut a: Vec<u32> = (0..50).collect();
        let mut b = a.clone();
        SplitMix64::new(5).shuffle(&mut a);
        SplitMix64::new(5).shuffle(&mut b);
        assert_eq!(a, b);
        assert_ne!(a, (0..50).collect::<Vec<u32>>());
        let mut sorted = a.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..50).collect::<Vec<u32>>());
    }

    #[test]
    fn forks_are_independent_of_later_draws_in_the_parent() {
        let mut parent = SplitMix64::new(3);
        let mut fork = parent.fork();
        let first = fork.next_u64();
        let mut parent2 = SplitMix64::new(3);
        let mut fork2 = parent2.fork();
        parent2.next_u64();
        assert_eq!(fork2.next_u64(), first);
    }
}
