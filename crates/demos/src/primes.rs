//! The seed's `ProcessPoolExecutor` workload: six large numbers and trial division.

/// The seed's numbers, in its order (one appears twice, as in the seed).
pub const PRIMES: [u64; 6] = [
    112272535095293,
    112582705942171,
    112272535095293,
    115280095190773,
    115797848077099,
    1099726899285419,
];

/// What the seed prints for [`PRIMES`], in order.
pub const EXPECTED: [bool; 6] = [true, true, true, true, true, false];

/// The seed's `is_prime`: trial division by every odd number up to `floor(sqrt(n))`.
///
/// The loop is the seed's, so that pools are compared on the same work as the Python program
/// (about 16.8 million divisions for `115797848077099`). Unlike the seed it is also right for
/// small numbers: the seed calls 2 composite and 1 prime.
///
/// ```
/// use cfutures_demos::primes::{EXPECTED, PRIMES, is_prime};
///
/// let answers: Vec<bool> = PRIMES.iter().map(|&n| is_prime(n)).collect();
/// assert_eq!(answers, EXPECTED);
/// ```
pub fn is_prime(n: u64) -> bool {
    if n < 2 {
        return false;
    }
    if n.is_multiple_of(2) {
        return n == 2;
    }
    let sqrt_n = n.isqrt();
    let mut i = 3;
    while i <= sqrt_n {
        if n.is_multiple_of(i) {
            return false;
        }
        i += 2;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::is_prime;

    #[test]
    fn agrees_with_a_sieve_below_ten_thousand() {
        const N: usize = 10_000;
        let mut composite = vec![false; N];
        for i in 2..N {
            if !composite[i] {
                for multiple in (i * i..N).step_by(i) {
                    composite[multiple] = true;
                }
            }
        }
        for (n, &is_composite) in composite.iter().enumerate() {
            let expected = n >= 2 && !is_composite;
            assert_eq!(is_prime(n as u64), expected, "is_prime({n})");
        }
    }

    #[test]
    fn squares_of_primes_are_composite() {
        // The loop bound must include floor(sqrt(n)) itself.
        for p in [3u64, 5, 7, 10_007, 1_000_003] {
            assert!(!is_prime(p * p), "{p}^2");
        }
        assert!(is_prime(4_294_967_291), "the largest 32-bit prime");
    }
}
