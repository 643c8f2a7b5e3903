//! The MPI transport: non-blocking sends of owned buffers and polled receives, on the world
//! communicator. Only the thread that initialised MPI touches it (`MPI_THREAD_FUNNELED`).

use mpi::Tag;
use mpi::point_to_point::{Destination, MatchedReceiveVec, Source};
use mpi::request::{Request, StaticScope};
use mpi::topology::{Communicator, SimpleCommunicator};

use crate::backoff::Backoff;

/// A message received: its sender, its tag (the frame kind) and its bytes.
pub(crate) struct Received {
    pub(crate) source: usize,
    pub(crate) tag: Tag,
    pub(crate) bytes: Vec<u8>,
}

/// A send in progress and the buffer it reads, owned here until MPI is done with it.
struct Sending {
    request: Request<'static, [u8], StaticScope>,
    buffer: *mut [u8],
}

/// The world communicator with the sends still in flight.
pub(crate) struct Comm {
    world: SimpleCommunicator,
    sending: Vec<Sending>,
    /// An empty vector with capacity, swapped with `sending` by `progress`.
    spare: Vec<Sending>,
}

impl Comm {
    pub(crate) fn new(world: SimpleCommunicator) -> Self {
        Comm {
            world,
            sending: Vec::new(),
            spare: Vec::new(),
        }
    }

    pub(crate) fn rank(&self) -> usize {
        self.world.rank() as usize
    }

    pub(crate) fn size(&self) -> usize {
        self.world.size() as usize
    }

    /// Starts sending `bytes` to `rank` with `tag` (`MPI_Isend`); never blocks, so neither side
    /// can deadlock on the other's full buffers. [`progress`](Self::progress) completes it.
    pub(crate) fn send(&mut self, rank: usize, tag: Tag, bytes: Vec<u8>) {
        let buffer = Box::into_raw(bytes.into_boxed_slice());
        // SAFETY: `buffer` comes from `Box::into_raw` and is freed only in `progress` or
        // `flush`, after MPI reports the send complete; until then nothing else touches it,
        // so a shared `'static` view of it is valid for the whole life of the request.
        let data: &'static [u8] = unsafe { &*buffer };
        let request = self
            .world
            .process_at_rank(rank as i32)
            .immediate_send_with_tag(StaticScope, data, tag);
        self.sending.push(Sending { request, buffer });
    }

    /// Completes the sends MPI has finished (`MPI_Test`) and frees their buffers; true if any
    /// is still in flight.
    pub(crate) fn progress(&mut self) -> bool {
        let mut pending = std::mem::replace(&mut self.sending, std::mem::take(&mut self.spare));
        for Sending { request, buffer } in pending.drain(..) {
            match request.test() {
                Ok(_) => {
                    // SAFETY: the send is complete, so MPI no longer reads the buffer, and
                    // `buffer` came from `Box::into_raw` in `send`.
                    drop(unsafe { Box::from_raw(buffer) });
                }
                Err(request) => self.sending.push(Sending { request, buffer }),
            }
        }
        self.spare = pending;
        !self.sending.is_empty()
    }

    /// Waits, polling, until every send is complete.
    pub(crate) fn flush(&mut self) {
        let mut backoff = Backoff::default();
        while self.progress() {
            backoff.snooze(false);
        }
    }

    /// The next message that has arrived from anyone, if any (`MPI_Improbe` + `MPI_Mrecv`).
    pub(crate) fn try_receive(&mut self) -> Option<Received> {
        let (message, status) = self.world.any_process().immediate_matched_probe()?;
        let (bytes, _) = (message, status).matched_receive_vec::<u8>();
        Some(Received {
            source: status.source_rank() as usize,
            tag: status.tag(),
            bytes,
        })
    }

    /// Ends the whole job (`MPI_Abort`) after printing `why`: the way out of any fault that
    /// would otherwise leave another rank waiting for ever.
    pub(crate) fn abort(&self, why: &str, code: i32) -> ! {
        eprintln!("cfutures-mpi: {why}; aborting the MPI job");
        self.world.abort(code)
    }
}
