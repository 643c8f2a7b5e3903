//! The MPI messages between rank 0 and the worker ranks.
//!
//! Everything after start-up is the process pool's wire (`cfutures_process::shell_kit`:
//! length-prefixed frames, the same TASK/DONE/FAILED/STOP headers and the same handshake),
//! carried in MPI messages of tag [`WIRE`]: a message holds one or more whole frames, so
//! rank 0 sends every task queued for a rank at once in one message. The only MPI-specific
//! message is the worker's first, [`HOST`], which names its host before the handshake.

/// Worker -> rank 0, once, first: the worker's host name (UTF-8 bytes).
pub(crate) const HOST: i32 = 1;
/// Either way: one or more whole wire frames.
pub(crate) const WIRE: i32 = 2;
