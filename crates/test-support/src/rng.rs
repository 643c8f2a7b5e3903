//! Randomness for the stress and fault streams, without a dependency: SplitMix64, small,
//! fast, and reproducible from its seed; and counts (tasks, kills) from the environment.

/// SplitMix64: small, fast, and reproducible from the seed.
///
/// ```
/// use cfutures_test_support::Rng;
///
/// let (mut a, mut b) = (Rng::new(7), Rng::new(7));
/// assert_eq!(a.next_u64(), b.next_u64());
/// assert!(a.below(10) < 10);
/// ```
pub struct Rng(u64);

impl Rng {
    /// A generator that replays the same stream for the same `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// Seeded from `CFUTURES_SEED` if set, else from the clock; prints the seed (labelled
    /// `what`) so a failing run can be repeated.
    pub fn from_env(what: &str) -> Self {
        let seed = std::env::var("CFUTURES_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
            });
        eprintln!("{what}: CFUTURES_SEED={seed}");
        Rng(seed)
    }

    /// The next number of the stream.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// True with probability `percent` / 100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// A count from the environment variable `name`, or `default` if it is unset or not a number.
///
/// ```
/// assert_eq!(cfutures_test_support::count_from_env("CFUTURES_UNSET_FOR_DOCS", 5), 5);
/// ```
pub fn count_from_env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
