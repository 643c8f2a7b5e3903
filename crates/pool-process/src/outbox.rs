//! What waits to be written to one worker: frames back to back, a body frame's body kept out
//! of line (shared with the task's record for a resend) and written from where it lies.

use std::io::IoSlice;
use std::sync::Arc;

use crate::body::Body;

/// Frames for one worker, in order (R4 of `dispatch.rs`).
#[derive(Debug, Default)]
pub struct Outbox {
    /// The frames' bytes, bodies left out.
    bytes: Vec<u8>,
    /// Each body and the offset in `bytes` it follows on the wire, in order.
    bodies: Vec<(usize, Arc<Body>)>,
}

impl Outbox {
    /// Appends a frame: its bytes, then its body's, if it has one.
    pub fn push(&mut self, frame: &[u8], body: Option<&Arc<Body>>) {
        crate::wire::reserve_huge(&mut self.bytes, frame.len());
        self.bytes.extend_from_slice(frame);
        if let Some(body) = body {
            self.bodies.push((self.bytes.len(), Arc::clone(body)));
        }
    }

    /// Appends a STOP frame.
    pub fn push_stop(&mut self) {
        crate::wire::push_stop(&mut self.bytes);
    }

    /// True when nothing waits.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty() && self.bodies.is_empty()
    }

    /// How many bytes wait, bodies included.
    pub fn len(&self) -> usize {
        self.bytes.len() + self.bodies.iter().map(|(_, b)| b.len()).sum::<usize>()
    }

    /// Bytes of the inline buffer's allocation (a writer keeps a small one for reuse).
    pub fn capacity(&self) -> usize {
        self.bytes.capacity()
    }

    /// Empties it, keeping the inline buffer's allocation.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.bodies.clear();
    }

    /// The bytes in wire order, for one vectored write.
    pub fn slices(&self) -> Vec<IoSlice<'_>> {
        let mut slices = Vec::with_capacity(2 * self.bodies.len() + 1);
        let mut at = 0;
        for (offset, body) in &self.bodies {
            slices.push(IoSlice::new(&self.bytes[at..*offset]));
            slices.push(IoSlice::new(body.as_bytes()));
            at = *offset;
        }
        slices.push(IoSlice::new(&self.bytes[at..]));
        slices
    }

    /// All of it in one buffer (a copy of every body), for a transport that sends whole
    /// buffers.
    pub fn into_bytes(self) -> Vec<u8> {
        if self.bodies.is_empty() {
            return self.bytes;
        }
        let mut out = Vec::new();
        crate::wire::reserve_huge(&mut out, self.len());
        for slice in self.slices() {
            out.extend_from_slice(&slice);
        }
        out
    }
}

impl From<Vec<u8>> for Outbox {
    fn from(bytes: Vec<u8>) -> Self {
        Outbox {
            bytes,
            bodies: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_written_after_their_frames_in_order() {
        let mut outbox = Outbox::default();
        let a = Arc::new(Body::Bytes(vec![7, 7]));
        let b = Arc::new(Body::Text(b"hi".to_vec()));
        outbox.push(&[1], Some(&a));
        outbox.push(&[2, 3], None);
        outbox.push(&[4], Some(&b));
        outbox.push_stop();
        assert_eq!(outbox.len(), 4 + 4 + 5);
        let joined: Vec<u8> = outbox.slices().iter().flat_map(|s| s.to_vec()).collect();
        let mut want = vec![1, 7, 7, 2, 3, 4, b'h', b'i'];
        crate::wire::push_stop(&mut want);
        assert_eq!(joined, want);
        assert_eq!(outbox.into_bytes(), want);
    }
}
