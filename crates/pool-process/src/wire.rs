//! The private wire between the parent and a worker: length-prefixed frames on two pipes.
//!
//! A frame is a little-endian `u32` length followed by that many bytes: one kind byte and the
//! kind's payload. The hot frames (a task, a task's value) have fixed binary headers so neither
//! side runs a general decoder per task; the rare ones (handshake, failures) are `postcard`
//! structs. Every length is checked against a limit before anything is allocated, so a corrupt
//! or hostile stream costs an error, never a huge allocation or a panic.

use std::io::{self, IoSlice, Read, Write};
use std::ops::Range;

use serde::{Deserialize, Serialize};

use crate::body::Body;

/// Bumped whenever the layout of any frame changes; checked in the handshake.
pub const PROTOCOL_VERSION: u32 = 3;

/// Bytes of the length prefix.
const LEN_BYTES: usize = 4;
/// The read buffer's first size, and the least it grows by.
const READ_CHUNK: usize = 64 * 1024;
/// How much of a body is zeroed and read into at a time: what a pipe holds, so the bytes
/// are still in cache when the kernel copies into them.
const BODY_CHUNK: usize = 1 << 20;

/// Frame kinds.
pub mod kind {
    /// Parent -> worker: the handshake, a postcard [`Hello`](super::Hello).
    pub const HELLO: u8 = 1;
    /// Parent -> worker: `id: u64`, `entry: i64`, `fn_word: u64` (little-endian), then the
    /// argument's postcard bytes.
    pub const TASK: u8 = 2;
    /// Worker -> parent: a postcard [`Ready`](super::Ready).
    pub const READY: u8 = 3;
    /// Worker -> parent: a postcard `String` saying why the handshake was refused.
    pub const REJECTED: u8 = 4;
    /// Worker -> parent: a postcard [`Failure`](super::Failure) from the initializer.
    pub const INIT_FAILED: u8 = 5;
    /// Worker -> parent: `id: u64`, `elapsed_ns: u64`, then the value's postcard bytes.
    pub const DONE: u8 = 6;
    /// Worker -> parent: `id: u64`, `elapsed_ns: u64`, then a postcard
    /// [`Failure`](super::Failure).
    pub const FAILED: u8 = 7;
    /// Parent -> worker: no payload. Finish and exit (sent instead of closing the pipe, which
    /// another process may hold open).
    pub const STOP: u8 = 8;
    /// Worker -> parent: `id: u64`, then a postcard [`Failure`](super::Failure): the task is
    /// about to take the worker down (a panic under `panic = "abort"`).
    pub const LAST_WORDS: u8 = 9;
    /// Parent -> worker: `id`, `entry`, `fn_word`, `shape` (u64 words), then the argument's
    /// [`Body`](super::Body) bytes.
    pub const TASK_BODY: u8 = 10;
    /// Worker -> parent: `id`, `elapsed_ns`, `shape` (u64 words), then the value's
    /// [`Body`](super::Body) bytes.
    pub const DONE_BODY: u8 = 11;
}

/// How many header words precede the body of a frame of `kind`, if it has a body (the last
/// of them is the body's shape).
pub fn body_words(kind: u8) -> Option<usize> {
    match kind {
        kind::TASK_BODY => Some(4),
        kind::DONE_BODY => Some(3),
        _ => None,
    }
}

/// Size of the fixed header of `DONE` and `FAILED` frames after the kind byte.
pub const REPLY_HEADER: usize = 16;

/// The identity of a build: both sides must compute the same one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildId {
    /// Device, inode, size and modification time of the running executable.
    pub exe: [u64; 5],
    /// The distance between two functions of this crate: differs if the code layout does.
    pub layout: u64,
    /// This crate's version.
    pub version: String,
}

/// A function to call in the worker: see `entry.rs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Call {
    /// Offset of the monomorphised entry point from the anchor function.
    pub entry: i64,
    /// The user's function pointer as an offset from the anchor, or 0 for a zero-sized
    /// function item or closure (which the entry point's type already names).
    pub fn_word: u64,
}

/// The handshake's first message.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Hello {
    /// The parent's [`PROTOCOL_VERSION`].
    pub protocol: u32,
    /// The parent's build identity.
    pub build: BuildId,
    /// The largest frame either side may send.
    pub max_frame: u32,
    /// The initializer and its encoded argument.
    pub initializer: Option<(Call, Vec<u8>)>,
}

/// The worker's answer to a good [`Hello`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Ready {
    /// The worker's [`PROTOCOL_VERSION`].
    pub protocol: u32,
    /// The worker's build identity.
    pub build: BuildId,
    /// The worker's process id.
    pub pid: u32,
}

/// Why a task (or the initializer) produced no value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Failure {
    /// It panicked: the payload text and where/backtrace text.
    Panicked {
        /// The panic message.
        message: String,
        /// Where it panicked and the backtrace.
        backtrace: String,
    },
    /// Its argument could not be decoded or its value encoded.
    Serialization(String),
}

/// A stream that is not a valid sequence of frames.
#[derive(Debug)]
pub enum FrameError {
    /// Reading failed.
    Io(io::Error),
    /// A length prefix over the limit.
    TooLarge {
        /// The announced length.
        len: usize,
        /// The limit it exceeds.
        limit: usize,
    },
    /// A zero length prefix (every frame has at least its kind byte).
    Empty,
    /// The stream ended inside a frame.
    Truncated,
    /// A body frame too short for its header, of an unknown shape or a length that is not a
    /// whole number of elements, or no memory to receive it.
    BadBody {
        /// The frame's length.
        len: usize,
    },
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::Io(e) => write!(f, "reading the wire failed: {e}"),
            FrameError::TooLarge { len, limit } => {
                write!(
                    f,
                    "a frame of {len} bytes exceeds the limit of {limit} bytes"
                )
            }
            FrameError::Empty => f.write_str("an empty frame"),
            FrameError::Truncated => f.write_str("the stream ended inside a frame"),
            FrameError::BadBody { len } => {
                write!(
                    f,
                    "a malformed body frame of {len} bytes (or no memory for it)"
                )
            }
        }
    }
}

/// Reads frames from a byte stream into one reusable buffer.
///
/// [`parse`](Self::parse) hands out payload ranges into the buffer so a caller can take a
/// whole batch of frames out of one `read` before handling any of them; the ranges stay valid
/// until the next [`fill`](Self::fill). A body frame's body is read straight into a vector of
/// its own (exact size, chunk by chunk), which the frame then carries; its header words are
/// the payload range. That vector is reserved at the announced length (at most the limit):
/// address space only, whose pages are touched as the bytes arrive.
pub struct FrameReader<R> {
    inner: R,
    buf: Vec<u8>,
    /// Start of the first unparsed byte.
    start: usize,
    /// End of the valid bytes.
    end: usize,
    limit: usize,
    /// The body frame being read past the buffer, if any.
    body: Option<BodyRead>,
}

/// A body frame whose body is being read into its own vector.
struct BodyRead {
    kind: u8,
    /// The frame's header words.
    header: Vec<u8>,
    body: Body,
    /// Bytes of the body received.
    filled: usize,
    /// Bytes the body has.
    len: usize,
}

/// A parsed frame: its kind and the byte range of its payload in the reader's buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The frame's kind byte (see [`kind`]).
    pub kind: u8,
    /// Where its payload lies in the reader's buffer (a body frame's header words).
    pub payload: Range<usize>,
    /// A body frame's body.
    pub body: Option<Body>,
}

impl<R: Read> FrameReader<R> {
    /// A reader refusing frames longer than `limit` bytes (kind byte included).
    pub fn new(inner: R, limit: usize) -> Self {
        FrameReader {
            inner,
            buf: vec![0; READ_CHUNK],
            start: 0,
            end: 0,
            limit,
            body: None,
        }
    }

    /// Changes the limit (the worker learns it from the handshake).
    pub fn set_limit(&mut self, limit: usize) {
        self.limit = limit;
    }

    /// The next complete frame already in the buffer, if any, without reading.
    pub fn parse(&mut self) -> Result<Option<Frame>, FrameError> {
        if let Some(read) = &self.body {
            if read.filled < read.len {
                return Ok(None);
            }
            return Ok(self.body.take().map(|read| self.body_received(read)));
        }
        let available = self.end - self.start;
        if available < LEN_BYTES {
            return Ok(None);
        }
        let mut len_bytes = [0u8; LEN_BYTES];
        len_bytes.copy_from_slice(&self.buf[self.start..self.start + LEN_BYTES]);
        let len = u32::from_le_bytes(len_bytes) as usize;
        if len == 0 {
            return Err(FrameError::Empty);
        }
        if len > self.limit {
            return Err(FrameError::TooLarge {
                len,
                limit: self.limit,
            });
        }
        if available > LEN_BYTES
            && let Some(words) = body_words(self.buf[self.start + LEN_BYTES])
        {
            return self.parse_body_frame(len, words);
        }
        if available < LEN_BYTES + len {
            return Ok(None);
        }
        let kind = self.buf[self.start + LEN_BYTES];
        let payload = self.start + LEN_BYTES + 1..self.start + LEN_BYTES + len;
        self.start += LEN_BYTES + len;
        Ok(Some(Frame {
            kind,
            payload,
            body: None,
        }))
    }

    /// A body frame of `len` bytes with `words` header words starts the buffer: once its
    /// header is in, allocates the body, moves in the body bytes already buffered, and
    /// either returns the frame (all of it was buffered) or leaves the rest to `fill`.
    fn parse_body_frame(&mut self, len: usize, words: usize) -> Result<Option<Frame>, FrameError> {
        let header_len = words * 8;
        let Some(body_len) = len.checked_sub(1 + header_len) else {
            return Err(FrameError::BadBody { len });
        };
        let header_start = self.start + LEN_BYTES + 1;
        if self.end < header_start + header_len {
            return Ok(None);
        }
        let header = &self.buf[header_start..header_start + header_len];
        let mut shape = [0u8; 8];
        shape.copy_from_slice(&header[header_len - 8..]);
        let mut body = Body::for_shape(u64::from_le_bytes(shape), body_len)
            .ok_or(FrameError::BadBody { len })?;
        let body_start = header_start + header_len;
        let buffered = (self.end - body_start).min(body_len);
        body.grow_to(buffered)[..buffered]
            .copy_from_slice(&self.buf[body_start..body_start + buffered]);
        let kind = self.buf[self.start + LEN_BYTES];
        if buffered == body_len {
            self.start = body_start + body_len;
            return Ok(Some(Frame {
                kind,
                payload: header_start..body_start,
                body: Some(body),
            }));
        }
        self.body = Some(BodyRead {
            kind,
            header: header.to_vec(),
            body,
            filled: buffered,
            len: body_len,
        });
        // Everything buffered belonged to this frame.
        self.start = self.end;
        Ok(None)
    }

    /// The frame of a body read to its end. Its header goes back into the buffer (which holds
    /// nothing unparsed now) so the payload range can name it.
    fn body_received(&mut self, read: BodyRead) -> Frame {
        self.buf.copy_within(self.start..self.end, 0);
        self.end -= self.start;
        self.start = 0;
        let at = self.end;
        if self.buf.len() < at + read.header.len() {
            self.buf.resize(at + read.header.len(), 0);
        }
        self.buf[at..at + read.header.len()].copy_from_slice(&read.header);
        self.end = at + read.header.len();
        self.start = self.end;
        Frame {
            kind: read.kind,
            payload: at..self.end,
            body: Some(read.body),
        }
    }

    /// The bytes of a range returned by [`parse`](Self::parse).
    pub fn bytes(&self, range: Range<usize>) -> &[u8] {
        &self.buf[range]
    }

    /// Drops parsed bytes and reads more, blocking until at least one byte arrives.
    /// Returns `Ok(false)` at end of stream on a frame boundary and
    /// [`FrameError::Truncated`] inside a frame. Invalidates earlier ranges.
    pub fn fill(&mut self) -> Result<bool, FrameError> {
        if let Some(read) = &mut self.body {
            return fill_body(&mut self.inner, read);
        }
        self.compact()?;
        match read_some(&mut self.inner, &mut self.buf[self.end..])? {
            0 if self.end == 0 => Ok(false),
            0 => Err(FrameError::Truncated),
            n => {
                self.end += n;
                Ok(true)
            }
        }
    }

    /// Blocks until a whole frame is buffered and returns it; `Ok(None)` at a clean end of
    /// stream.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, FrameError> {
        loop {
            if let Some(frame) = self.parse()? {
                return Ok(Some(frame));
            }
            if !self.fill()? {
                return Ok(None);
            }
        }
    }

    /// Moves the unparsed tail to the front and makes room to read more of the frame it
    /// starts. The room follows the bytes that arrived (at most double them per step, at
    /// least [`READ_CHUNK`]), never the length a prefix claims: a peer announcing a frame of
    /// nearly 4 GiB costs what it actually sends.
    fn compact(&mut self) -> Result<(), FrameError> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        // The whole pending frame (its length is already validated by `parse`, or not yet
        // known), and at least one byte to read into.
        let mut frame_end = self.end + 1;
        if self.end >= LEN_BYTES {
            let mut len_bytes = [0u8; LEN_BYTES];
            len_bytes.copy_from_slice(&self.buf[..LEN_BYTES]);
            let len = (u32::from_le_bytes(len_bytes) as usize).min(self.limit);
            frame_end = frame_end.max(LEN_BYTES.saturating_add(len));
        }
        let step = self.end.saturating_mul(2).max(READ_CHUNK);
        let wanted = frame_end.min(step).max(self.end + 1);
        if self.buf.len() < wanted {
            self.buf
                .try_reserve_exact(wanted - self.buf.len())
                .map_err(|_| {
                    FrameError::Io(io::Error::new(
                        io::ErrorKind::OutOfMemory,
                        format!("cannot buffer {wanted} bytes of a frame"),
                    ))
                })?;
            reserve_huge(&mut self.buf, 0);
            self.buf.resize(wanted, 0);
        }
        // Shrink a buffer a huge frame left behind once it is no longer needed.
        if self.end == 0 && self.buf.len() > 1 << 22 {
            self.buf = vec![0; READ_CHUNK];
        }
        Ok(())
    }
}

/// Reads more of a body straight into it: the next chunk is zeroed (a safe `Read` wants
/// initialised bytes; the chunk is still in cache when the kernel copies into it) and read
/// into.
fn fill_body(inner: &mut impl Read, read: &mut BodyRead) -> Result<bool, FrameError> {
    let chunk_end = (read.filled + BODY_CHUNK).min(read.len);
    let bytes = read.body.grow_to(chunk_end);
    match read_some(inner, &mut bytes[read.filled..chunk_end])? {
        0 => Err(FrameError::Truncated),
        n => {
            read.filled += n;
            Ok(true)
        }
    }
}

/// One `read`, retried while a signal interrupts it.
fn read_some(inner: &mut impl Read, buf: &mut [u8]) -> Result<usize, FrameError> {
    loop {
        match inner.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            read => return read.map_err(FrameError::Io),
        }
    }
}

/// Takes the first whole frame off `bytes` (a buffer of frames received at once, as the MPI
/// shell gets them): its kind and payload. `Ok(None)` when `bytes` is empty; a frame cut
/// short is [`FrameError::Truncated`].
pub fn split_frame<'a>(
    bytes: &mut &'a [u8],
    limit: usize,
) -> Result<Option<(u8, &'a [u8])>, FrameError> {
    if bytes.is_empty() {
        return Ok(None);
    }
    if bytes.len() < LEN_BYTES {
        return Err(FrameError::Truncated);
    }
    let mut len_bytes = [0u8; LEN_BYTES];
    len_bytes.copy_from_slice(&bytes[..LEN_BYTES]);
    let len = u32::from_le_bytes(len_bytes) as usize;
    if len == 0 {
        return Err(FrameError::Empty);
    }
    if len > limit {
        return Err(FrameError::TooLarge { len, limit });
    }
    if bytes.len() < LEN_BYTES + len {
        return Err(FrameError::Truncated);
    }
    let (frame, rest) = bytes.split_at(LEN_BYTES + len);
    *bytes = rest;
    Ok(Some((frame[LEN_BYTES], &frame[LEN_BYTES + 1..])))
}

/// Buffers at least this large ask for transparent huge pages.
const HUGE: usize = 4 << 20;

/// `v.reserve(additional)`, asking the kernel to back a large reservation with huge pages:
/// a 100 MiB payload otherwise spends more time in 25 600 page faults than in copying.
pub(crate) fn reserve_huge<T>(v: &mut Vec<T>, additional: usize) {
    v.reserve(additional);
    let spare = v.spare_capacity_mut();
    let bytes = std::mem::size_of_val(spare);
    if bytes >= HUGE {
        #[cfg(target_os = "linux")]
        {
            // madvise wants a page-aligned start: advise the whole pages inside the spare room.
            let start = spare.as_mut_ptr() as usize;
            let aligned = start.next_multiple_of(4096);
            let len = (start + bytes - aligned) & !4095;
            // SAFETY: the range lies inside this vector's own allocation; MADV_HUGEPAGE is
            // advice about how to back it and changes neither its contents nor its validity.
            unsafe {
                libc::madvise(aligned as *mut libc::c_void, len, libc::MADV_HUGEPAGE);
            }
        }
    }
}

/// Starts a frame of `kind` at the end of `out`; returns its start for [`end_frame`].
pub fn begin_frame(out: &mut Vec<u8>, kind: u8) -> usize {
    let start = out.len();
    out.extend_from_slice(&[0; LEN_BYTES]);
    out.push(kind);
    start
}

/// Starts a TASK frame at the end of `out`: its header words (`id`, then `call`'s entry and
/// function words), to be followed by the argument. Returns its start for [`end_frame`].
pub fn begin_task_frame(out: &mut Vec<u8>, id: u64, call: Call) -> usize {
    let start = begin_frame(out, kind::TASK);
    out.extend_from_slice(&id.to_le_bytes());
    out.extend_from_slice(&call.entry.to_le_bytes());
    out.extend_from_slice(&call.fn_word.to_le_bytes());
    start
}

/// Writes the length of the frame begun at `start`. If it is longer than `limit`, removes it
/// from `out` and returns its length as the error.
pub fn end_frame(out: &mut Vec<u8>, start: usize, limit: usize) -> Result<(), usize> {
    end_frame_carrying(out, start, None, limit)
}

/// [`end_frame`] for a task or reply that may carry a body: with `Some((kind, body))` the
/// frame becomes a body frame of `kind` (`TASK_BODY` or `DONE_BODY`) whose header ends with
/// the body's shape, and the body's bytes, which follow `out` on the wire, count toward
/// `limit`.
pub fn end_frame_carrying(
    out: &mut Vec<u8>,
    start: usize,
    body: Option<(u8, &Body)>,
    limit: usize,
) -> Result<(), usize> {
    let mut body_len = 0;
    if let Some((kind, body)) = body {
        out[start + LEN_BYTES] = kind;
        out.extend_from_slice(&body.shape().to_le_bytes());
        body_len = body.len();
    }
    let len = (out.len() - start - LEN_BYTES).saturating_add(body_len);
    if len > limit || len > u32::MAX as usize {
        out.truncate(start);
        return Err(len);
    }
    out[start..start + LEN_BYTES].copy_from_slice(&(len as u32).to_le_bytes());
    Ok(())
}

/// Writes all of `slices` (std's `write_all_vectored` is unstable). A writer that returns
/// `WouldBlock` must wait inside its own `write_vectored`.
pub fn write_all_vectored(out: &mut impl Write, mut slices: &mut [IoSlice<'_>]) -> io::Result<()> {
    IoSlice::advance_slices(&mut slices, 0);
    while !slices.is_empty() {
        match out.write_vectored(slices) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut slices, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Appends a STOP frame.
pub fn push_stop(out: &mut Vec<u8>) {
    let start = begin_frame(out, kind::STOP);
    let _ = end_frame(out, start, usize::MAX);
}

/// Appends a whole frame whose payload is a postcard value.
pub fn push_message<T: Serialize>(
    out: &mut Vec<u8>,
    kind: u8,
    value: &T,
    limit: usize,
) -> Result<(), String> {
    let start = begin_frame(out, kind);
    if let Err(e) = postcard::to_io(value, &mut *out) {
        out.truncate(start);
        return Err(e.to_string());
    }
    end_frame(out, start, limit)
        .map_err(|len| format!("a message of {len} bytes exceeds the frame limit of {limit}"))
}

/// Decodes a postcard payload.
pub fn decode<'a, T: Deserialize<'a>>(payload: &'a [u8]) -> Result<T, String> {
    postcard::from_bytes(payload).map_err(|e| e.to_string())
}

/// Splits a fixed little-endian header of `N` u64 words off `payload`.
pub fn split_words<const N: usize>(payload: &[u8]) -> Option<([u64; N], &[u8])> {
    if payload.len() < N * 8 {
        return None;
    }
    let mut words = [0u64; N];
    for (i, word) in words.iter_mut().enumerate() {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(&payload[i * 8..i * 8 + 8]);
        *word = u64::from_le_bytes(bytes);
    }
    Some((words, &payload[N * 8..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::io::Cursor;

    fn frames_of(bytes: Vec<u8>, limit: usize) -> Result<Vec<(u8, Vec<u8>)>, FrameError> {
        frames_in_reads_of(bytes, limit, usize::MAX)
    }

    /// The frames of `bytes` read at most `most` bytes per `read`; a body frame's payload is
    /// given as its header followed by its body, as it was sent.
    fn frames_in_reads_of(
        bytes: Vec<u8>,
        limit: usize,
        most: usize,
    ) -> Result<Vec<(u8, Vec<u8>)>, FrameError> {
        let mut reader = FrameReader::new(Dribble(Cursor::new(bytes), most), limit);
        let mut out = Vec::new();
        while let Some(frame) = reader.next_frame()? {
            let mut payload = reader.bytes(frame.payload).to_vec();
            if let Some(body) = &frame.body {
                payload.extend_from_slice(body.as_bytes());
            }
            out.push((frame.kind, payload));
        }
        Ok(out)
    }

    /// A reader that returns at most `.1` bytes per call.
    struct Dribble(Cursor<Vec<u8>>, usize);

    impl Read for Dribble {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let most = buf.len().min(self.1);
            self.0.read(&mut buf[..most])
        }
    }

    /// A body frame's payload: header words (the last one the shape) and `body`.
    fn body_payload(kind: u8, shape: u64, body: &[u8]) -> Vec<u8> {
        let words = body_words(kind).unwrap();
        let mut payload = vec![9; 8 * (words - 1)];
        payload.extend_from_slice(&shape.to_le_bytes());
        payload.extend_from_slice(body);
        payload
    }

    #[test]
    fn a_body_read_past_the_buffer_arrives_whole_in_a_vector_of_its_shape() {
        let floats: Vec<u8> = (0..40_000)
            .flat_map(|i| f64::from(i).to_le_bytes())
            .collect();
        let frames = vec![
            (kind::DONE, vec![1, 2, 3]),
            (kind::DONE_BODY, body_payload(kind::DONE_BODY, 4, &floats)),
            (
                kind::TASK_BODY,
                body_payload(kind::TASK_BODY, 1, &[5; 200_000]),
            ),
            (kind::DONE_BODY, body_payload(kind::DONE_BODY, 2, b"")),
            (kind::STOP, vec![]),
        ];
        for most in [7, 4096, usize::MAX] {
            let got = frames_in_reads_of(encode(&frames), 1 << 20, most).unwrap();
            assert_eq!(got, frames, "{most} bytes per read");
        }
        let mut reader = FrameReader::new(Cursor::new(encode(&frames[1..2])), 1 << 20);
        let frame = reader.next_frame().unwrap().unwrap();
        let Some(Body::F64(values)) = frame.body else {
            panic!("{:?}", frame.body)
        };
        assert_eq!(values.len(), 40_000);
        assert_eq!(values[39_999], 39_999.0);
    }

    #[test]
    fn malformed_body_frames_are_refused() {
        for (kind, payload) in [
            (kind::DONE_BODY, vec![0; 16]), // shorter than its header
            (kind::DONE_BODY, body_payload(kind::DONE_BODY, 7, b"x")), // unknown shape
            (kind::DONE_BODY, body_payload(kind::DONE_BODY, 4, &[0; 12])), // 1.5 f64s
        ] {
            let bytes = encode(&[(kind, payload)]);
            assert!(matches!(
                frames_of(bytes, 1 << 20),
                Err(FrameError::BadBody { .. })
            ));
        }
    }

    /// A body frame claiming nearly 4 GiB: its vector is reserved (address space), but only
    /// what arrives is touched, and the cut-off frame is a typed error.
    #[test]
    fn a_body_frame_claiming_nearly_4_gib_touches_only_what_arrives() {
        let mut bytes = (u32::MAX - 7).to_le_bytes().to_vec();
        bytes.push(kind::DONE_BODY);
        bytes.extend_from_slice(&body_payload(kind::DONE_BODY, 1, &[7; 3_000_000]));
        let mut reader = FrameReader::new(Cursor::new(bytes), u32::MAX as usize);
        assert!(matches!(reader.next_frame(), Err(FrameError::Truncated)));
        let body = reader.body.as_ref().map(|read| read.body.len());
        assert!(
            body.is_some_and(|len| len <= 3_000_000 + BODY_CHUNK),
            "{body:?}"
        );
    }

    #[test]
    fn split_frame_takes_the_frames_of_a_buffer_and_refuses_a_cut_one() {
        let bytes = encode(&[(kind::TASK, vec![1, 2, 3]), (kind::STOP, vec![])]);
        let mut rest = &bytes[..];
        assert_eq!(
            split_frame(&mut rest, 1 << 20).unwrap(),
            Some((kind::TASK, &[1u8, 2, 3][..]))
        );
        assert_eq!(
            split_frame(&mut rest, 1 << 20).unwrap(),
            Some((kind::STOP, &[][..]))
        );
        assert_eq!(split_frame(&mut rest, 1 << 20).unwrap(), None);
        let mut cut = &bytes[..bytes.len() - 1];
        split_frame(&mut cut, 1 << 20).unwrap();
        assert!(matches!(
            split_frame(&mut cut, 1 << 20),
            Err(FrameError::Truncated)
        ));
        let mut big = &bytes[..];
        assert!(matches!(
            split_frame(&mut big, 2),
            Err(FrameError::TooLarge { .. })
        ));
    }

    fn encode(frames: &[(u8, Vec<u8>)]) -> Vec<u8> {
        let mut out = Vec::new();
        for (kind, payload) in frames {
            let start = begin_frame(&mut out, *kind);
            out.extend_from_slice(payload);
            end_frame(&mut out, start, usize::MAX).unwrap();
        }
        out
    }

    /// A length prefix near 4 GiB under a limit of `u32::MAX`: the reader's memory follows the
    /// bytes that arrived, not the length claimed, and the cut-off frame is a typed error.
    #[test]
    fn a_frame_claiming_nearly_4_gib_allocates_only_what_arrives() {
        let mut bytes = (u32::MAX - 1).to_le_bytes().to_vec();
        bytes.push(kind::DONE);
        bytes.extend_from_slice(&[7; 300_000]);
        let mut reader = FrameReader::new(Cursor::new(bytes), u32::MAX as usize);
        assert!(matches!(reader.next_frame(), Err(FrameError::Truncated)));
        assert!(reader.buf.len() <= 1 << 20, "{} bytes", reader.buf.len());
    }

    #[test]
    fn round_trips_frames_larger_than_the_buffer() {
        let frames = vec![(1, vec![7; 10]), (2, vec![9; 200_000]), (3, vec![])];
        assert_eq!(frames_of(encode(&frames), 1 << 20).unwrap(), frames);
    }

    #[test]
    fn rejects_oversized_empty_and_truncated_frames() {
        let big = encode(&[(1, vec![0; 100])]);
        assert!(matches!(
            frames_of(big.clone(), 50),
            Err(FrameError::TooLarge {
                len: 101,
                limit: 50
            })
        ));
        assert!(matches!(
            frames_of(vec![0, 0, 0, 0], 50),
            Err(FrameError::Empty)
        ));
        assert!(matches!(
            frames_of(big[..big.len() - 1].to_vec(), 1000),
            Err(FrameError::Truncated)
        ));
        assert!(matches!(
            frames_of(vec![5, 0], 1000),
            Err(FrameError::Truncated)
        ));
    }

    #[test]
    fn end_frame_refuses_a_frame_over_the_limit() {
        let mut out = vec![1, 2, 3];
        let start = begin_frame(&mut out, kind::DONE);
        out.extend_from_slice(&[0; 10]);
        assert_eq!(end_frame(&mut out, start, 5), Err(11));
        assert_eq!(out, vec![1, 2, 3]);
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048),
                                    limit in 1usize..4096) {
            let _ = frames_of(bytes.clone(), limit);
            // The payload decoders must not panic either.
            let _ = decode::<Hello>(&bytes);
            let _ = decode::<Ready>(&bytes);
            let _ = decode::<Failure>(&bytes);
            let _ = split_words::<3>(&bytes);
        }

        #[test]
        fn valid_streams_round_trip_and_truncations_fail(
            frames in proptest::collection::vec(
                (any::<u8>(), proptest::collection::vec(any::<u8>(), 0..300)), 0..8),
            cut in any::<prop::sample::Index>(),
            most in 1usize..400,
        ) {
            // A body frame gets a header with a valid shape (bytes or text).
            let frames: Vec<(u8, Vec<u8>)> = frames
                .into_iter()
                .map(|(kind, payload)| match body_words(kind) {
                    Some(_) => (kind, body_payload(kind, 1 + u64::from(kind % 2), &payload)),
                    None => (kind, payload),
                })
                .collect();
            let bytes = encode(&frames);
            prop_assert_eq!(frames_of(bytes.clone(), 1024).unwrap(), frames.clone());
            prop_assert_eq!(frames_in_reads_of(bytes.clone(), 1024, most).unwrap(), frames.clone());
            if !bytes.is_empty() {
                let cut = cut.index(bytes.len());
                match frames_in_reads_of(bytes[..cut].to_vec(), 1024, most) {
                    Ok(prefix) => {
                        // Only a cut on a frame boundary parses, and yields a prefix.
                        prop_assert!(prefix.len() < frames.len());
                        prop_assert_eq!(&frames[..prefix.len()], &prefix[..]);
                    }
                    Err(e) => prop_assert!(matches!(e, FrameError::Truncated)),
                }
            }
        }

        #[test]
        fn oversized_length_prefixes_are_refused_without_allocating(
            len in 1025u32..=u32::MAX, tail in proptest::collection::vec(any::<u8>(), 0..64)
        ) {
            let mut bytes = len.to_le_bytes().to_vec();
            bytes.extend(tail);
            let refused = matches!(frames_of(bytes, 1024), Err(FrameError::TooLarge { .. }));
            prop_assert!(refused);
        }
    }
}
