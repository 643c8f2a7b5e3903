//! Task arguments and results on the wire: `postcard`, with a fast path for byte-like types.
//!
//! postcard encodes a `Vec<u8>` as a sequence: a varint length, then each byte through
//! serde's per-element machinery, and decodes it the same way (about 0.2 s per 100 MiB each
//! way). For the types users pass large data in (`Vec<u8>`, `String`, `Vec<f64>`,
//! `Vec<f32>`), found by `TypeId` at the monomorphised entry point, this module writes and
//! reads the very same bytes (LEB128 length, then the elements' little-endian bytes, as
//! postcard lays them out) with one copy. Both ends are the same build and name the same
//! type, so they always agree on the path; the bytes are postcard's either way. Decoding is
//! checked as strictly as postcard's: exact lengths, valid UTF-8.

use std::any::Any;

use crate::wire::reserve_huge;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Appends `value`'s encoding to `out`.
pub(crate) fn encode<T: Serialize + 'static>(value: &T, out: &mut Vec<u8>) -> postcard::Result<()> {
    let any: &dyn Any = value;
    if let Some(v) = any.downcast_ref::<Vec<u8>>() {
        push_raw(out, v.len(), v.len(), |out| out.extend_from_slice(v));
    } else if let Some(s) = any.downcast_ref::<String>() {
        push_raw(out, s.len(), s.len(), |out| {
            out.extend_from_slice(s.as_bytes())
        });
    } else if let Some(v) = any.downcast_ref::<Vec<f64>>() {
        push_raw(out, v.len(), v.len() * 8, |out| {
            out.extend(v.iter().flat_map(|x| x.to_le_bytes()))
        });
    } else if let Some(v) = any.downcast_ref::<Vec<f32>>() {
        push_raw(out, v.len(), v.len() * 4, |out| {
            out.extend(v.iter().flat_map(|x| x.to_le_bytes()))
        });
    } else {
        postcard::to_io(value, out)?;
    }
    Ok(())
}

/// Decodes a `T` that fills `bytes` (trailing bytes are an error only on the fast path,
/// where the length is known; postcard ignores them).
pub(crate) fn decode<T: DeserializeOwned + 'static>(bytes: &[u8]) -> postcard::Result<T> {
    let mut slot: Option<T> = None;
    let any: &mut dyn Any = &mut slot;
    if let Some(slot) = any.downcast_mut::<Option<Vec<u8>>>() {
        *slot = Some(copied(raw(bytes, 1)?));
    } else if let Some(slot) = any.downcast_mut::<Option<String>>() {
        let text =
            std::str::from_utf8(raw(bytes, 1)?).map_err(|_| postcard::Error::DeserializeBadUtf8)?;
        *slot = String::from_utf8(copied(text.as_bytes())).ok();
    } else if let Some(slot) = any.downcast_mut::<Option<Vec<f64>>>() {
        let body = raw(bytes, 8)?;
        let mut v = Vec::new();
        reserve_huge(&mut v, body.len() / 8);
        v.extend(
            body.chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().unwrap_or_default())),
        );
        *slot = Some(v);
    } else if let Some(slot) = any.downcast_mut::<Option<Vec<f32>>>() {
        let body = raw(bytes, 4)?;
        *slot = Some(
            body.chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().unwrap_or_default()))
                .collect(),
        );
    } else {
        return postcard::from_bytes(bytes);
    }
    slot.ok_or(postcard::Error::SerdeDeCustom)
}

/// Writes the element count, as postcard does, then the `body_len` bytes of the body.
fn push_raw(out: &mut Vec<u8>, count: usize, body_len: usize, body: impl FnOnce(&mut Vec<u8>)) {
    reserve_huge(out, 10 + body_len);
    push_varint(out, count as u64);
    body(out);
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
        T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug + 'static,
    {
        let mut fast = Vec::new();
        encode(&value, &mut fast).unwrap();
        // The fast path writes postcard's own bytes, and reads them back.
        assert_eq!(fast, postcard::to_allocvec(&value).unwrap());
        assert_eq!(decode::<T>(&fast).unwrap(), value);
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

    #[test]
    fn bad_fast_path_input_is_an_error() {
        assert!(decode::<Vec<u8>>(&[5, 1, 2]).is_err());
        assert!(decode::<Vec<u8>>(&[1, 1, 2]).is_err());
        assert!(decode::<Vec<u8>>(&[0x80; 11]).is_err());
        assert!(decode::<String>(&[2, 0xff, 0xfe]).is_err());
        assert!(decode::<Vec<f64>>(&[1, 0, 0, 0]).is_err());
        assert!(
            decode::<Vec<f64>>(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])
                .is_err()
        );
    }
}
