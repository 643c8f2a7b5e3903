//! The seed's `ProcessPoolExecutor` workload for tests and benchmarks: its six numbers and
//! its `is_prime`, line for line (the demos' `cfutures_demos::primes` is the product's own
//! copy, corrected for 1 and 2).

/// The seed's numbers, in its order (one appears twice, as in the seed).
pub const PRIMES: [u64; 6] = [
    112_272_535_095_293,
    112_582_705_942_171,
    112_272_535_095_293,
    115_280_095_190_773,
    115_797_848_077_099,
    1_099_726_899_285_419,
];

/// What [`is_prime`] says about [`PRIMES`].
pub const PRIMES_EXPECTED: [bool; 6] = [true, true, true, true, true, false];

/// The seed's `is_prime`, line for line (including its verdict on 1 and 2): trial division by
/// every odd number up to `floor(sqrt(n))`, the work the benchmarks compare with Python's.
///
/// ```
/// use cfutures_test_support::{PRIMES, PRIMES_EXPECTED, is_prime};
///
/// assert_eq!(is_prime(PRIMES[0]), PRIMES_EXPECTED[0]);
/// assert_eq!(is_prime(PRIMES[5]), PRIMES_EXPECTED[5]);
/// ```
pub fn is_prime(n: u64) -> bool {
    if n.is_multiple_of(2) {
        return false;
    }
    let sqrt_n = (n as f64).sqrt().floor() as u64;
    let mut i = 3;
    while i <= sqrt_n {
        if n.is_multiple_of(i) {
            return false;
        }
        i += 2;
    }
    true
}
