//! A byte-like value's own buffer, moved across the wire instead of encoded.
//!
//! A `Vec<u8>`, `String`, `Vec<f32>` or `Vec<f64>` of at least [`BODY_MIN`] bytes travels as
//! a frame whose fixed header is followed by the vector's bytes as they lie in memory (the
//! wire is little-endian, so floats go this way only on little-endian targets). The sender
//! writes the header and the vector with one vectored write, so the caller's buffer is never
//! copied in user space; the receiver reads the bytes straight into a vector of the right
//! element type and exact size (`wire.rs`, `FrameReader`), which becomes the value. Both ends
//! are the same build and name the same type, and the frame names the body's [`Body`]
//! variant (its *shape*) so the receiver checks it.

use crate::wire::reserve_huge;

/// Bodies smaller than this are encoded inline (postcard's bytes): a separate buffer and a
/// vectored write cost more than copying them.
pub const BODY_MIN: usize = 64 * 1024;

/// A moved byte-like value.
#[derive(Clone)]
pub enum Body {
    /// A `Vec<u8>`.
    Bytes(Vec<u8>),
    /// A `String`'s bytes (UTF-8 is checked when it becomes a `String` again).
    Text(Vec<u8>),
    /// A `Vec<f32>`.
    F32(Vec<f32>),
    /// A `Vec<f64>`.
    F64(Vec<f64>),
}

impl Body {
    /// The shape word the frame carries.
    pub fn shape(&self) -> u64 {
        match self {
            Body::Bytes(_) => 1,
            Body::Text(_) => 2,
            Body::F32(_) => 3,
            Body::F64(_) => 4,
        }
    }

    /// An empty body of `shape` with room for exactly `len` bytes; `None` for an unknown
    /// shape, a length that is not a whole number of elements, or no memory for it.
    pub fn for_shape(shape: u64, len: usize) -> Option<Body> {
        fn room<T>(len: usize) -> Option<Vec<T>> {
            let size = size_of::<T>();
            if !len.is_multiple_of(size) {
                return None;
            }
            let mut v = Vec::new();
            v.try_reserve_exact(len / size).ok()?;
            reserve_huge(&mut v, len / size);
            Some(v)
        }
        match shape {
            1 => room(len).map(Body::Bytes),
            2 => room(len).map(Body::Text),
            3 if cfg!(target_endian = "little") => room(len).map(Body::F32),
            4 if cfg!(target_endian = "little") => room(len).map(Body::F64),
            _ => None,
        }
    }

    /// Its bytes as they travel.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Body::Bytes(v) | Body::Text(v) => v,
            Body::F32(v) => as_bytes(v),
            Body::F64(v) => as_bytes(v),
        }
    }

    /// How many bytes it holds.
    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// True when it holds no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Grows it to `len` bytes (rounded up to whole elements, new bytes zero) and returns all
    /// its bytes: a reader fills the new part, a chunk at a time, while it is in cache.
    pub(crate) fn grow_to(&mut self, len: usize) -> &mut [u8] {
        match self {
            Body::Bytes(v) | Body::Text(v) => {
                v.resize(len, 0);
                v
            }
            Body::F32(v) => {
                v.resize(len.div_ceil(4), 0.0);
                as_bytes_mut(v)
            }
            Body::F64(v) => {
                v.resize(len.div_ceil(8), 0.0);
                as_bytes_mut(v)
            }
        }
    }
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Body(shape {}, {} bytes)", self.shape(), self.len())
    }
}

impl PartialEq for Body {
    fn eq(&self, other: &Self) -> bool {
        self.shape() == other.shape() && self.as_bytes() == other.as_bytes()
    }
}

// Byte equality is an equivalence.
impl Eq for Body {}

/// A float vector's bytes.
fn as_bytes<T: Float>(v: &[T]) -> &[u8] {
    // SAFETY: `T` is `f32` or `f64` (the sealed `Float`): no padding, so every byte of the
    // slice is initialised, and `u8` has alignment 1; the length covers exactly the slice.
    unsafe { std::slice::from_raw_parts(v.as_ptr().cast::<u8>(), size_of_val(v)) }
}

/// A float vector's bytes, for writing.
fn as_bytes_mut<T: Float>(v: &mut [T]) -> &mut [u8] {
    // SAFETY: as in `as_bytes`; moreover every bit pattern is a valid `f32`/`f64`, so any
    // bytes written through the view leave valid floats.
    unsafe { std::slice::from_raw_parts_mut(v.as_mut_ptr().cast::<u8>(), size_of_val(v)) }
}

/// `f32` and `f64`: plain bits, no padding, every pattern valid.
trait Float: Copy {}
impl Float for f32 {}
impl Float for f64 {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_is_allocated_for_whole_elements_of_a_known_shape_only() {
        assert!(matches!(Body::for_shape(1, 3), Some(Body::Bytes(_))));
        assert!(matches!(Body::for_shape(2, 3), Some(Body::Text(_))));
        assert!(Body::for_shape(4, 12).is_none());
        assert!(Body::for_shape(3, 6).is_none());
        assert!(Body::for_shape(0, 8).is_none());
        assert!(Body::for_shape(9, 8).is_none());
        assert!(Body::for_shape(1, usize::MAX).is_none());
    }

    #[test]
    fn growing_a_float_body_exposes_its_bytes_for_filling() {
        let mut body = Body::for_shape(4, 16).unwrap();
        let bytes = body.grow_to(9);
        assert_eq!(bytes.len(), 16);
        bytes[..8].copy_from_slice(&1.5f64.to_le_bytes());
        bytes[8..].copy_from_slice(&(-2.0f64).to_le_bytes());
        assert_eq!(body, Body::F64(vec![1.5, -2.0]));
        assert_eq!(body.as_bytes().len(), 16);
    }
}
