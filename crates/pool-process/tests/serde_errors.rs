//! A type's own serde error text reaches the caller, wherever the (de)serialisation fails:
//! encoding the argument in `submit`, decoding it in the worker, encoding the result there,
//! decoding it in the parent, and inside a `map` chunk.
#![cfg(target_os = "linux")]

use cfutures_core::Error;
use cfutures_process::ProcessPoolExecutor;
use cfutures_test_support::process::no_core_dumps;
use serde::{Deserialize, Deserializer, Serialize, Serializer, de, ser};

fn pool() -> ProcessPoolExecutor {
    no_core_dumps();
    ProcessPoolExecutor::new(1).unwrap()
}

/// Refuses to serialise an odd value, in its own words.
#[derive(Debug, Clone, PartialEq, Deserialize)]
struct Even(u32);

impl Serialize for Even {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0 % 2 == 1 {
            return Err(ser::Error::custom(format!("my text: {} is odd", self.0)));
        }
        s.serialize_u32(self.0)
    }
}

/// Serialises anything, refuses to deserialise an odd value, in its own words.
#[derive(Debug, Clone, PartialEq, Serialize)]
struct Picky(u32);

impl<'de> Deserialize<'de> for Picky {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = u32::deserialize(d)?;
        if n % 2 == 1 {
            return Err(de::Error::custom(format!("my text: {n} is odd")));
        }
        Ok(Picky(n))
    }
}

/// Nests a value a few levels deep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Deep<T> {
    label: String,
    items: Vec<Option<T>>,
}

fn deep<T>(value: T) -> Deep<T> {
    Deep {
        label: "deep".into(),
        items: vec![None, Some(value)],
    }
}

fn echo_even(x: Even) -> Even {
    x
}

fn echo_picky(p: Deep<Picky>) -> u32 {
    p.items.len() as u32
}

fn make_even(n: u32) -> Deep<Even> {
    deep(Even(n))
}

fn make_picky(n: u32) -> Deep<Picky> {
    deep(Picky(n))
}

fn picky_value(p: Picky) -> u32 {
    p.0
}

/// The text of the serialisation error `result` must be.
fn text_of<T: std::fmt::Debug>(result: Result<T, Error>) -> String {
    match result {
        Err(Error::Serialization(text)) => text,
        other => panic!("expected a serialisation error, got {other:?}"),
    }
}

#[test]
fn an_unencodable_argument_fails_its_future_with_its_own_text() {
    let pool = pool();
    let future = pool.submit(echo_even, Even(3)).unwrap();
    let text = text_of(future.result());
    assert!(text.contains("my text: 3 is odd"), "{text}");
    assert!(text.contains("cannot encode the argument"), "{text}");
    // Nothing was sent: no worker was started for it.
    assert_eq!(pool.worker_count(), 0);
    assert_eq!(
        pool.submit(echo_even, Even(4)).unwrap().result(),
        Ok(&Even(4))
    );
}

#[test]
fn an_unencodable_argument_after_shutdown_is_refused_by_submit() {
    let pool = pool();
    pool.shutdown(cfutures_core::Shutdown::WAIT);
    assert!(matches!(
        pool.submit(echo_even, Even(3)),
        Err(Error::ShutDown)
    ));
}

#[test]
fn a_map_item_that_cannot_be_encoded_fails_at_its_index_and_the_others_run() {
    let pool = pool();
    let results: Vec<_> = pool
        .map(echo_even, [Even(2), Even(3), Even(4)], 1)
        .unwrap()
        .collect();
    assert_eq!(results[0], Ok(Even(2)));
    assert!(text_of(results[1].clone()).contains("my text: 3 is odd"));
    assert_eq!(results[2], Ok(Even(4)));
}

#[test]
fn an_argument_the_worker_cannot_decode_fails_its_future_with_its_own_text() {
    let pool = pool();
    let future = pool.submit(echo_picky, deep(Picky(5))).unwrap();
    let text = text_of(future.result());
    assert!(text.contains("my text: 5 is odd"), "{text}");
}

#[test]
fn a_result_the_worker_cannot_encode_fails_its_future_with_its_own_text() {
    let pool = pool();
    let future = pool.submit(make_even, 7).unwrap();
    let text = text_of(future.result());
    assert!(text.contains("my text: 7 is odd"), "{text}");
}

#[test]
fn a_result_the_parent_cannot_decode_fails_its_future_with_its_own_text() {
    let pool = pool();
    let future = pool.submit(make_picky, 9).unwrap();
    let text = text_of(future.result());
    assert!(text.contains("my text: 9 is odd"), "{text}");
    // The pool goes on serving.
    assert_eq!(
        pool.submit(make_picky, 2).unwrap().result(),
        Ok(&deep(Picky(2)))
    );
}

#[test]
fn a_map_item_that_cannot_be_decoded_reports_its_own_text() {
    let pool = pool();
    let results: Vec<_> = pool
        .map(picky_value, [Picky(2), Picky(11)], 2)
        .unwrap()
        .collect();
    let texts: Vec<String> = results
        .iter()
        .filter_map(|r| r.as_ref().err().map(ToString::to_string))
        .collect();
    assert!(
        texts.iter().any(|t| t.contains("my text: 11 is odd")),
        "{results:?}"
    );
}
