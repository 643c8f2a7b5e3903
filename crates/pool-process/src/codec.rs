//! Task arguments and results on the wire: `postcard`, with a fast path for byte-like types.
//!
//! postcard encodes a `Vec<u8>` as a sequence: a varint length, then each byte through
//! serde's per-element machinery, and decodes it the same way (about 0.2 s per 100 MiB each
//! way). For the types users pass large data in (`Vec<u8>`, `String`, `Vec<f64>`,
//! `Vec<f32>`), found by `TypeId` at the monomorphised entry point, this module writes and
//! reads the very same bytes (LEB128 length, then the elements' little-endian bytes, as
//! postcard lays them out) with one copy. Both ends are the same build and name the same
//! type, so they always agree on the path; the bytes are postcard's either way. Decoding is
//! checked as strictly as postcard's: exact lengths, valid UTF-8. From [`BODY_MIN`] bytes on,
//! such a value is not encoded at all: its buffer moves into a [`Body`] (`body.rs`).

use std::any::{Any, TypeId};
use std::mem::ManuallyDrop;

#[cfg(doc)]
use crate::body::BODY_MIN;
use crate::body::Body;
use crate::serde_text;
use crate::wire::reserve_huge;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// A value as it arrived: encoded bytes, or a byte-like value's own buffer.
pub(crate) enum Encoded<'a> {
    /// postcard's bytes (the fast path's, for small byte-like values).
    Inline(&'a [u8]),
    /// A moved buffer (`body.rs`).
    Body(Body),
}

/// Encodes `value`: a byte-like value of at least `body_min` bytes is moved into the
/// returned [`Body`] and nothing is appended; anything else is appended to `out`.
pub(crate) fn encode<T: Serialize + 'static>(
    value: T,
    out: &mut Vec<u8>,
    body_min: usize,
) -> Result<Option<Body>, String> {
    match into_body(value) {
        Ok(body) if body.len() >= body_min => Ok(Some(body)),
        Ok(body) => {
            let count = match &body {
                Body::Bytes(v) | Body::Text(v) => v.len(),
                Body::F32(v) => v.len(),
                Body::F64(v) => v.len(),
            };
            reserve_huge(out, 10 + body.len());
            push_varint(out, count as u64);
            out.extend_from_slice(body.as_bytes());
            Ok(None)
        }
        Err(value) => serde_text::encode(&value, out).map(|()| None),
    }
}

/// `value`'s own buffer if it is byte-like.
pub(crate) fn into_body<T: 'static>(value: T) -> Result<Body, T> {
    let value = match cast::<T, Vec<u8>>(value) {
        Ok(v) => return Ok(Body::Bytes(v)),
        Err(value) => value,
    };
    let value = match cast::<T, String>(value) {
        Ok(s) => return Ok(Body::Text(s.into_bytes())),
        Err(value) => value,
    };
    if cfg!(target_endian = "big") {
        return Err(value);
    }
    let value = match cast::<T, Vec<f64>>(value) {
        Ok(v) => return Ok(Body::F64(v)),
        Err(value) => value,
    };
    cast::<T, Vec<f32>>(value).map(Body::F32)
}

/// Decodes a `T` that arrived as `encoded`.
/// The error's text is the type's own where its `Deserialize` gave one (`serde_text.rs`).
pub(crate) fn decode<T: DeserializeOwned + 'static>(encoded: Encoded<'_>) -> Result<T, String> {
    match encoded {
        Encoded::Inline(bytes) => decode_inline(bytes),
        Encoded::Body(body) => from_body(body).map_err(|e| e.to_string()),
    }
}

/// The byte-like `T` a received body was made from.
fn from_body<T: 'static>(body: Body) -> postcard::Result<T> {
    let mismatch = || postcard::Error::DeserializeUnexpectedEnd;
    match body {
        Body::Bytes(v) => cast(v).map_err(|_| mismatch()),
        Body::Text(v) if TypeId::of::<T>() == TypeId::of::<String>() => {
            let text = String::from_utf8(v).map_err(|_| postcard::Error::DeserializeBadUtf8)?;
            cast(text).map_err(|_| mismatch())
        }
        Body::Text(_) => Err(mismatch()),
        Body::F32(v) => cast(v).map_err(|_| mismatch()),
        Body::F64(v) => cast(v).map_err(|_| mismatch()),
    }
}

/// `value` as a `U` if `T` is `U`: a move, checked by `TypeId`.
fn cast<T: 'static, U: 'static>(value: T) -> Result<U, T> {
    if TypeId::of::<T>() != TypeId::of::<U>() {
        return Err(value);
    }
    let value = ManuallyDrop::new(value);
    // SAFETY: `T` and `U` are the same type (same `TypeId`), so this is a move of `value`,
    // which `ManuallyDrop` keeps from being dropped twice.
    Ok(unsafe { std::mem::transmute_copy::<T, U>(&value) })
}

/// Decodes a `T` that fills `bytes` (trailing bytes are an error only on the fast path,
/// where the length is known; postcard ignores them).
fn decode_inline<T: DeserializeOwned + 'static>(bytes: &[u8]) -> Result<T, String> {
    if let Some(fast) = decode_fast(bytes) {
        return fast.map_err(|e| e.to_string());
    }
    serde_text::decode(bytes)
}

/// [`decode_inline`] for a byte-like `T`; `None` for any other.
fn decode_fast<T: 'static>(bytes: &[u8]) -> Option<postcard::Result<T>> {
    let mut slot: Option<T> = None;
    let any: &mut dyn Any = &mut slot;
    let filled = if let Some(slot) = any.downcast_mut::<Option<Vec<u8>>>() {
        raw(bytes, 1).map(|body| *slot = Some(copied(body)))
    } else if let Some(slot) = any.downcast_mut::<Option<String>>() {
        raw(bytes, 1).and_then(|body| {
            let text =
                std::str::from_utf8(body).map_err(|_| postcard::Error::DeserializeBadUtf8)?;
            *slot = String::from_utf8(copied(text.as_bytes())).ok();
            Ok(())
        })
    } else if let Some(slot) = any.downcast_mut::<Option<Vec<f64>>>() {
        raw(bytes, 8).map(|body| {
            let mut v = Vec::new();
            reserve_huge(&mut v, body.len() / 8);
            v.extend(
                body.chunks_exact(8)
                    .map(|c| f64::from_le_bytes(c.try_into().unwrap_or_default())),
            );
            *slot = Some(v);
        })
    } else if let Some(slot) = any.downcast_mut::<Option<Vec<f32>>>() {
        raw(bytes, 4).map(|body| {
            *slot = Some(
                body.chunks_exact(4)
                    .map(|c| f32::from_le_bytes(c.try_into().unwrap_or_default()))
                    .collect(),
            );
        })
    } else {
        return None;
    };
    Some(filled.and_then(|()| slot.ok_or(postcard::Error::DeserializeBadUtf8)))
}

/// The body of a fast-path encoding whose elements are `size` bytes: checks the count
/// against the bytes present.
fn raw(bytes: &[u8], size: usize) -> postcard::Result<&[u8]> {
    let (count, used) = read_varint(bytes)?;
    let body = &bytes[used..];
    let len = count
        .checked_mul(size as u64)
        .filter(|&len| len == body.len() as u64)
        .ok_or(postcard::Error::DeserializeUnexpectedEnd)?;
    Ok(&body[..len as usize])
}

fn copied(bytes: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    reserve_huge(&mut v, bytes.len());
    v.extend_from_slice(bytes);
    v
}

fn push_varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// A LEB128 `u64` (postcard's varint): the value and how many bytes it took.
fn read_varint(bytes: &[u8]) -> postcard::Result<(u64, usize)> {
    let mut n = 0u64;
    for (i, &b) in bytes.iter().enumerate().take(10) {
        n |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Ok((n, i + 1));
        }
    }
    Err(postcard::Error::DeserializeBadVarint)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<T>(value: T)
    where
        T: Serialize + DeserializeOwned + PartialEq + Clone + std::fmt::Debug + 'static,
    {
        let mut fast = Vec::new();
        assert!(
            encode(value.clone(), &mut fast, usize::MAX)
                .unwrap()
                .is_none()
        );
        // The fast path writes postcard's own bytes, and reads them back.
        assert_eq!(fast, postcard::to_allocvec(&value).unwrap());
        assert_eq!(decode::<T>(Encoded::Inline(&fast)).unwrap(), value);
        assert_eq!(postcard::from_bytes::<T>(&fast).unwrap(), value);
    }

    #[test]
    fn byte_like_types_round_trip_as_postcard_lays_them_out() {
        round_trip(vec![0u8, 1, 255]);
        round_trip(vec![7u8; 300]);
        round_trip(String::from("héllo"));
        round_trip(vec![1.5f64, -0.0, f64::MAX]);
        round_trip(vec![2.5f32; 200]);
        round_trip(Vec::<u8>::new());
        round_trip((1u32, String::from("other types use postcard")));
    }

    fn moved<T>(value: T) -> Body
    where
        T: Serialize + DeserializeOwned + PartialEq + Clone + std::fmt::Debug + 'static,
    {
        let mut out = Vec::new();
        let body = encode(value.clone(), &mut out, 0).unwrap().expect("a body");
        assert!(out.is_empty());
        assert_eq!(decode::<T>(Encoded::Body(body.clone())).unwrap(), value);
        body
    }

    #[test]
    fn byte_like_values_move_into_a_body_of_their_own_bytes_and_back() {
        assert_eq!(moved(vec![1u8, 2, 3]), Body::Bytes(vec![1, 2, 3]));
        assert_eq!(moved(String::from("héllo")), Body::Text("héllo".into()));
        assert_eq!(
            moved(vec![1.5f64, -2.0]).as_bytes()[..8],
            1.5f64.to_le_bytes()
        );
        assert_eq!(moved(vec![2.5f32]).as_bytes(), 2.5f32.to_le_bytes());
        let mut out = Vec::new();
        assert!(encode((1u8, 2u8), &mut out, 0).unwrap().is_none());
        assert_eq!(out, [1, 2]);
        // Below the threshold a byte-like value is encoded inline.
        assert!(encode(vec![1u8; 10], &mut out, 11).unwrap().is_none());
    }

    #[test]
    fn a_body_of_another_shape_or_bad_utf8_is_an_error() {
        assert!(decode::<String>(Encoded::Body(Body::Bytes(vec![b'a']))).is_err());
        assert!(decode::<Vec<u8>>(Encoded::Body(Body::Text(vec![b'a']))).is_err());
        assert!(decode::<String>(Encoded::Body(Body::Text(vec![0xff]))).is_err());
        assert!(decode::<Vec<f32>>(Encoded::Body(Body::F64(vec![1.0]))).is_err());
        assert!(decode::<u32>(Encoded::Body(Body::Bytes(vec![1]))).is_err());
    }

    #[test]
    fn bad_fast_path_input_is_an_error() {
        assert!(decode_inline::<Vec<u8>>(&[5, 1, 2]).is_err());
        assert!(decode_inline::<Vec<u8>>(&[1, 1, 2]).is_err());
        assert!(decode_inline::<Vec<u8>>(&[0x80; 11]).is_err());
        assert!(decode_inline::<String>(&[2, 0xff, 0xfe]).is_err());
        assert!(decode_inline::<Vec<f64>>(&[1, 0, 0, 0]).is_err());
        assert!(
            decode_inline::<Vec<f64>>(&[
                0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01
            ])
            .is_err()
        );
    }
}
