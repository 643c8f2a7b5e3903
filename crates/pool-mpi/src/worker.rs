//! What a worker rank does instead of the program's `main`: name its host, then run the
//! process pool's serve loop (`shell_kit::serve_as`: handshake, tasks in arrival order, one
//! reply per task sent as soon as it ends) over MPI messages instead of a pipe.
//!
//! [`MpiInput`] is the loop's input: it polls for rank 0's messages with [`Backoff`], so an
//! idle rank does not spin, and completes the rank's own sends while it waits. [`MpiOutput`]
//! sends each reply the loop writes as one non-blocking message.

use std::cell::RefCell;
use std::io::{self, Read, Write};

use cfutures_process::shell_kit;

use crate::backoff::Backoff;
use crate::comm::Comm;
use crate::frames::{HOST, WIRE};

/// Serves until rank 0's STOP frame; a protocol violation or a refused handshake ends the job.
pub(crate) fn serve(comm: &mut Comm, host: &str) {
    let rank = comm.rank();
    let pid = std::process::id();
    let comm = RefCell::new(comm);
    comm.borrow_mut().send(0, HOST, host.as_bytes().to_vec());
    let input = MpiInput {
        comm: &comm,
        pending: Vec::new(),
        at: 0,
    };
    let output = MpiOutput { comm: &comm };
    let code = shell_kit::serve_as(
        input,
        output,
        None,
        crate::MAX_MESSAGE,
        shell_kit::content_build_id(),
        format!("MPI rank {rank} (host {host}, pid {pid})"),
    );
    let comm = comm.into_inner();
    if code != 0 {
        comm.abort(
            &format!("rank {rank} (host {host}) stopped serving with code {code} (see above)"),
            code,
        );
    }
    comm.flush();
}

/// Rank 0's messages as a byte stream.
struct MpiInput<'a, 'b> {
    comm: &'a RefCell<&'b mut Comm>,
    /// The message being read and how much of it was.
    pending: Vec<u8>,
    at: usize,
}

impl Read for MpiInput<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut backoff = Backoff::default();
        while self.at == self.pending.len() {
            let mut comm = self.comm.borrow_mut();
            comm.progress();
            match comm.try_receive() {
                Some(message) if message.source == 0 && message.tag == WIRE => {
                    self.pending = message.bytes;
                    self.at = 0;
                }
                Some(message) => comm.abort(
                    &format!(
                        "rank {} got a message with tag {} from rank {}",
                        comm.rank(),
                        message.tag,
                        message.source
                    ),
                    74,
                ),
                None => {
                    drop(comm);
                    backoff.snooze(false);
                }
            }
        }
        let n = buf.len().min(self.pending.len() - self.at);
        buf[..n].copy_from_slice(&self.pending[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// Replies to rank 0, one message per write.
struct MpiOutput<'a, 'b> {
    comm: &'a RefCell<&'b mut Comm>,
}

impl Write for MpiOutput<'_, '_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.comm.borrow_mut().send(0, WIRE, buf.to_vec());
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
