//! Properties over arbitrary completion orders.

mod common;

use cfutures_core::{Error, Promise};
use cfutures_helpers::{MapOptions, as_completed, map};
use proptest::prelude::*;

/// A permutation of `0..n` and, for each index, whether it is done before the call.
fn scenario() -> impl Strategy<Value = (Vec<usize>, Vec<bool>)> {
    (0usize..40).prop_flat_map(|n| {
        (
            Just((0..n).collect::<Vec<_>>()).prop_shuffle(),
            proptest::collection::vec(any::<bool>(), n),
        )
    })
}

proptest! {
    /// Already-done futures come first in input order, then the rest in completion order.
    #[test]
    fn as_completed_order((completion, done_before) in scenario()) {
        let n = completion.len();
        let (promises, futures): (Vec<Promise<usize>>, Vec<_>) =
            (0..n).map(|_| Promise::new()).unzip();
        for i in 0..n {
            if done_before[i] {
                promises[i].set_result(i).unwrap();
            }
        }
        let items = as_completed(futures.iter().cloned(), None);
        let mut expected: Vec<usize> = (0..n).filter(|&i| done_before[i]).collect();
        for &i in &completion {
            if !done_before[i] {
                promises[i].set_result(i).unwrap();
                expected.push(i);
            }
        }
        let yielded: Vec<usize> = items.map(|f| *f.unwrap().result().unwrap()).collect();
        prop_assert_eq!(yielded, expected);
    }

    /// `map` yields in input order whatever the completion order, errors at their items.
    #[test]
    fn map_input_order((completion, failing) in scenario(), buffersize in 1usize..8) {
        let n = completion.len();
        let (promises, futures): (Vec<Promise<usize>>, Vec<_>) =
            (0..n).map(|_| Promise::new()).unzip();
        for &i in &completion {
            if failing[i] {
                promises[i].set_error(Error::InvalidArgument(i.to_string())).unwrap();
            } else {
                promises[i].set_result(i).unwrap();
            }
        }
        let mut futures = futures.into_iter();
        let results: Vec<Result<usize, Error>> = map(
            0..n,
            |_| Ok(futures.next().unwrap()),
            MapOptions::new().buffersize(buffersize),
        )
        .unwrap()
        .collect();
        let expected: Vec<Result<usize, Error>> = (0..n)
            .map(|i| if failing[i] { Err(Error::InvalidArgument(i.to_string())) } else { Ok(i) })
            .collect();
        prop_assert_eq!(results, expected);
    }
}
