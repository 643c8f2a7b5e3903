//! Collapsing duplicate futures, by identity, keeping the first occurrence's position.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

use cfutures_core::Future;

/// The futures of `futures` without duplicates, in the order they first appear.
///
/// Python collapses duplicates with `set(fs)`; keeping the input order as well makes the
/// "already done" futures come out of `as_completed` in the order the caller gave them.
pub(crate) fn distinct<T, I>(futures: I) -> Vec<Future<T>>
where
    I: IntoIterator<Item = Future<T>>,
{
    let futures = futures.into_iter();
    let (lower, _) = futures.size_hint();
    let mut seen: HashSet<Future<T>, BuildHasherDefault<AddressHasher>> =
        HashSet::with_capacity_and_hasher(lower, Default::default());
    let mut out = Vec::with_capacity(lower);
    for future in futures {
        // The set holds a second handle only until this function returns.
        if seen.insert(future.clone()) {
            out.push(future);
        }
    }
    out
}

/// A fast hasher for `Future`'s identity hash (its allocation address). Addresses are not
/// chosen by an adversary, so SipHash's flood resistance buys nothing here; the finaliser
/// spreads the address's zero low bits (allocations are aligned) over the whole word, which the
/// table's bucket index needs.
#[derive(Default)]
struct AddressHasher(u64);

const MULTIPLIER: u64 = 0x9E37_79B9_7F4A_7C15;

impl Hasher for AddressHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0 ^ u64::from(byte)).wrapping_mul(MULTIPLIER);
        }
    }

    fn write_usize(&mut self, n: usize) {
        self.0 = (self.0 ^ n as u64).wrapping_mul(MULTIPLIER);
    }

    fn finish(&self) -> u64 {
        let mut x = self.0;
        x ^= x >> 32;
        x = x.wrapping_mul(MULTIPLIER);
        x ^ (x >> 29)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cfutures_core::Promise;

    #[test]
    fn keeps_first_occurrences_in_order() {
        let (_pa, a) = Promise::<u8>::new();
        let (_pb, b) = Promise::<u8>::new();
        let (_pc, c) = Promise::<u8>::new();
        let input = vec![b.clone(), a.clone(), b.clone(), c.clone(), a.clone()];
        assert_eq!(distinct(input), vec![b, a, c]);
    }

    #[test]
    fn many_distinct_futures_stay_distinct() {
        let pairs: Vec<_> = (0..10_000).map(|_| Promise::<()>::new()).collect();
        let futures: Vec<_> = pairs.iter().map(|(_, f)| f.clone()).collect();
        let doubled = futures.iter().chain(futures.iter()).cloned();
        assert_eq!(distinct(doubled), futures);
    }
}
