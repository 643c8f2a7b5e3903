//! Rank 0's dispatcher: the queue, one slot per worker rank, pipelining, and the loop that
//! carries tasks out and replies in.
//!
//! TO BE REPLACED by the shared dispatcher (issue 12): the process crate's transport-agnostic
//! state machine (slots, dispatch, pipelining) driven over [`Comm`] instead of pipes. This
//! file is the simple stand-in that makes the executor work end to end today; the executor
//! only uses [`Runtime`]'s `register`/`submit`/`shutdown`/`forget`, which is the seam.
//!
//! ```text
//!  submit() ──► State.queue ──(loop: a slot has room)──► MPI_Isend TASK ──► worker rank r
//!  future ◄── Job::finish ◄── slots[r].in_flight ◄── MPI_Improbe DONE/FAILED ◄──┘
//! ```
//!
//! - **Pipelining**: a worker rank holds up to `depth` tasks (sent, not yet answered), so it
//!   never waits a round trip between two short tasks. The depth follows the tasks' run time
//!   as the workers report it: deep for tiny tasks, 2 for long ones, 2 before the first reply.
//!   A task goes to the least loaded rank, so a second task only queues behind a running one
//!   when every rank is busy.
//! - **Cancellation**: a task is marked running as it is sent (`Job::start`); one cancelled
//!   while queued is dropped then. `shutdown(cancel_futures)` removes the queue's tasks.
//! - **Faults**: a task's panic is a reply like any other. A dead rank cannot be reported:
//!   without ULFM, Open MPI ends the whole job (see the crate docs).

use std::collections::{HashMap, VecDeque};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::thread::Thread;
use std::time::Duration;

use cfutures_core::{Error, Shutdown};

use crate::backoff::Backoff;
use crate::comm::Comm;
use crate::frames::{self, REPLY_HEADER};
use crate::job::Job;
use crate::shipping::Failure;

/// How much queued work a worker rank should hold, in run time: enough to cover a round trip.
const PIPELINE_WINDOW_NS: u64 = 200_000;
/// The deepest pipeline.
const MAX_DEPTH: usize = 32;
/// The longest nap while tasks are in flight (replies are noticed at most this late).
const IN_FLIGHT_NAP: Duration = Duration::from_micros(100);

/// What rank 0's executors and its dispatcher thread share.
pub(crate) struct Runtime {
    state: Mutex<State>,
    /// Signalled when an owner's outstanding count drops.
    settled: Condvar,
    /// The dispatcher thread, unparked on every submission.
    dispatcher: Thread,
    /// Host name of each rank (index = rank).
    pub(crate) hosts: Vec<String>,
}

#[derive(Default)]
struct State {
    queue: VecDeque<Queued>,
    owners: HashMap<u64, Owner>,
    next_owner: u64,
    next_id: u64,
    /// The `World` is being dropped: refuse work, stop the workers once all is done.
    closing: bool,
    /// End the job now, with this message.
    abort: Option<String>,
}

/// One executor's bookkeeping.
#[derive(Default)]
struct Owner {
    /// Submitted and not yet completed or cancelled.
    outstanding: usize,
    shut: bool,
}

/// A task waiting for a slot.
struct Queued {
    owner: u64,
    /// The owner uses ranks `1..=workers`.
    workers: usize,
    id: u64,
    job: Box<dyn Job>,
    /// The whole TASK message (header and argument).
    frame: Vec<u8>,
}

impl Runtime {
    pub(crate) fn new(hosts: Vec<String>, dispatcher: Thread) -> Self {
        Runtime {
            state: Mutex::new(State::default()),
            settled: Condvar::new(),
            dispatcher,
            hosts,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // No user code runs under this lock, so a poisoned lock still holds consistent state.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The number of worker ranks.
    pub(crate) fn workers(&self) -> usize {
        self.hosts.len().saturating_sub(1)
    }

    /// A new executor's id; [`Error::ShutDown`] once the world is closing.
    pub(crate) fn register(&self) -> Result<u64, Error> {
        let mut state = self.lock();
        if state.closing {
            return Err(Error::ShutDown);
        }
        state.next_owner += 1;
        let owner = state.next_owner;
        state.owners.insert(owner, Owner::default());
        Ok(owner)
    }

    /// Queues a task whose `frame` starts with a task header (its id word is filled in here).
    pub(crate) fn submit(
        &self,
        owner: u64,
        workers: usize,
        job: Box<dyn Job>,
        mut frame: Vec<u8>,
    ) -> Result<(), Error> {
        {
            let mut state = self.lock();
            let closing = state.closing;
            let entry = state.owners.get_mut(&owner).ok_or(Error::ShutDown)?;
            if closing || entry.shut {
                return Err(Error::ShutDown);
            }
            entry.outstanding += 1;
            state.next_id += 1;
            let id = state.next_id;
            frame[..8].copy_from_slice(&id.to_le_bytes());
            state.queue.push_back(Queued {
                owner,
                workers,
                id,
                job,
                frame,
            });
        }
        self.dispatcher.unpark();
        Ok(())
    }

    /// Python's `shutdown(wait, cancel_futures)` for one executor.
    pub(crate) fn shutdown(&self, owner: u64, how: Shutdown) {
        let mut cancelled = Vec::new();
        {
            let mut state = self.lock();
            if how.cancel_futures {
                let queue = std::mem::take(&mut state.queue);
                for queued in queue {
                    if queued.owner == owner {
                        cancelled.push(queued);
                    } else {
                        state.queue.push_back(queued);
                    }
                }
            }
            if let Some(entry) = state.owners.get_mut(&owner) {
                entry.shut = true;
                entry.outstanding -= cancelled.len();
            }
        }
        for queued in cancelled {
            queued.job.cancel();
        }
        self.settled.notify_all();
        if how.wait {
            let mut state = self.lock();
            while state.owners.get(&owner).is_some_and(|o| o.outstanding > 0) {
                state = self.settled.wait(state).unwrap_or_else(|e| e.into_inner());
            }
        }
    }

    /// Forgets a dropped executor (after its `shutdown(WAIT)`).
    pub(crate) fn forget(&self, owner: u64) {
        self.lock().owners.remove(&owner);
    }

    /// The `World` goes: refuse work, finish what is outstanding, then stop the workers.
    pub(crate) fn close(&self) {
        self.lock().closing = true;
        self.dispatcher.unpark();
    }

    /// Ends the job at once (from the dispatcher thread, which owns MPI).
    pub(crate) fn abort(&self, why: String) {
        self.lock().abort = Some(why);
        self.dispatcher.unpark();
    }
}

/// One worker rank, as the dispatcher sees it.
#[derive(Default)]
struct Slot {
    /// Sent and not answered: the owner and the job, by task id.
    in_flight: HashMap<u64, (u64, Box<dyn Job>)>,
    /// Mean run time of its recent tasks, as it reports them.
    mean_ns: Option<u64>,
}

impl Slot {
    fn depth(&self) -> usize {
        match self.mean_ns {
            None => 2,
            Some(ns) => (1 + PIPELINE_WINDOW_NS.div_ceil(ns.max(1)) as usize).min(MAX_DEPTH),
        }
    }
}

/// The dispatcher loop on rank 0; returns once the world closed and the workers were told to
/// stop.
pub(crate) fn run(runtime: &Runtime, comm: &mut Comm) {
    let size = comm.size();
    let mut slots: Vec<Slot> = (0..size).map(|_| Slot::default()).collect();
    let mut taking = vec![0usize; size];
    let mut settled: Vec<u64> = Vec::new();
    let mut taken: Vec<(usize, Queued)> = Vec::new();
    let mut backoff = Backoff::default();
    loop {
        let mut active = false;
        while let Some(message) = comm.try_receive() {
            active = true;
            let owner = complete(&mut slots, message.source, message.tag, &message.bytes)
                .unwrap_or_else(|why| comm.abort(&why, 72));
            settled.push(owner);
        }
        comm.progress();

        let (stop, abort) = {
            let mut state = runtime.lock();
            for owner in settled.drain(..) {
                if let Some(entry) = state.owners.get_mut(&owner) {
                    entry.outstanding -= 1;
                }
            }
            taking.iter_mut().for_each(|n| *n = 0);
            while let Some(front) = state.queue.front() {
                let Some(rank) = pick(&slots, &taking, front.workers) else {
                    break;
                };
                taking[rank] += 1;
                let queued = state.queue.pop_front().expect("the front exists");
                taken.push((rank, queued));
            }
            let idle = state.queue.is_empty() && slots.iter().all(|s| s.in_flight.is_empty());
            (
                state.closing && idle && taken.is_empty(),
                state.abort.take(),
            )
        };
        runtime.settled.notify_all();
        if let Some(why) = abort {
            comm.abort(&why, 73);
        }
        if stop {
            for rank in 1..size {
                comm.send(rank, frames::STOP, Vec::new());
            }
            comm.flush();
            return;
        }

        for (rank, queued) in taken.drain(..) {
            active = true;
            if queued.job.start() {
                comm.send(rank, frames::TASK, queued.frame);
                slots[rank]
                    .in_flight
                    .insert(queued.id, (queued.owner, queued.job));
            } else {
                // Cancelled while queued; accounted for on the next turn.
                settled.push(queued.owner);
            }
        }
        if active || !settled.is_empty() {
            backoff.reset();
        } else if slots.iter().any(|s| !s.in_flight.is_empty()) {
            backoff.snooze_at_most(true, IN_FLIGHT_NAP);
        } else {
            backoff.snooze(true);
        }
    }
}

/// The least loaded of ranks `1..=workers` with room in its pipeline.
fn pick(slots: &[Slot], taking: &[usize], workers: usize) -> Option<usize> {
    (1..=workers.min(slots.len() - 1))
        .map(|rank| (slots[rank].in_flight.len() + taking[rank], rank))
        .filter(|&(load, rank)| load < slots[rank].depth())
        .min()
        .map(|(_, rank)| rank)
}

/// Completes the task a reply answers; returns its owner, or why the reply makes no sense.
fn complete(slots: &mut [Slot], source: usize, tag: i32, bytes: &[u8]) -> Result<u64, String> {
    let Some(([id, elapsed], body)) = frames::split_words::<2>(bytes) else {
        return Err(format!(
            "rank {source} sent a reply shorter than its {REPLY_HEADER}-byte header"
        ));
    };
    let slot = slots
        .get_mut(source)
        .ok_or_else(|| format!("a message from unknown rank {source}"))?;
    let Some((owner, job)) = slot.in_flight.remove(&id) else {
        return Err(format!(
            "rank {source} answered task {id}, which it does not hold"
        ));
    };
    slot.mean_ns = Some(match slot.mean_ns {
        None => elapsed,
        Some(mean) => (mean * 7 + elapsed) / 8,
    });
    match tag {
        frames::DONE => job.finish(Ok(body)),
        frames::FAILED => {
            let error = postcard::from_bytes::<Failure>(body)
                .map(Failure::into_error)
                .unwrap_or_else(|e| Error::Serialization(format!("an unreadable failure: {e}")));
            job.finish(Err(error));
        }
        other => return Err(format!("rank {source} sent a message with tag {other}")),
    }
    Ok(owner)
}
