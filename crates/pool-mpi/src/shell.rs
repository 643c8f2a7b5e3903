//! Rank 0's MPI shell: carries out the process pool's dispatcher effects over MPI.
//!
//! Each [`MpiPoolExecutor`](crate::MpiPoolExecutor) owns one
//! `cfutures_process::dispatch::Dispatcher` (queue, slots, dispatch, pipelining depth, crash
//! blame: one state machine for both pools); this file is only its I/O. One thread, the MPI
//! thread ([`run`]), owns MPI (`MPI_THREAD_FUNNELED`): it writes outboxes, reads replies and
//! settles futures. Submitting threads run transitions under the pool's lock and hand the
//! writing to the MPI thread.
//!
//! ```text
//!  submit ─► Dispatcher (per executor) ─Flush(id)─► requests ─► MPI thread: take_outbox
//!                 ▲                                               └─► MPI_Isend WIRE ─► rank
//!                 └── replied(id, headers) ◄── split by task id ◄── MPI_Improbe WIRE ◄──┘
//! ```
//!
//! # The dispatcher's effects over MPI
//! | effect | here |
//! |---|---|
//! | `Spawn(id)` | binds `id` to the lowest rank in `1..=max_workers` no live id of this pool holds (ranks are started by `mpirun`, once, and shared by every executor), then `started` and `ready` at once: the world's start-up handshake already checked every rank's build |
//! | `Flush(id)` | queued for the MPI thread, which sends each `take_outbox` buffer as **one** message (every task queued for the rank meanwhile: several tasks per message) |
//! | STOP frame in an outbox (R5) | not sent, as the rank serves other executors: the id's service ends there (`ended`, nothing in flight) and the rank is free |
//! | `Signal(id, _)` | a rank cannot be signalled alone (it would take the job down): it came from a protocol violation (R6) or a failed send (R14), so the job is aborted with the reason |
//! | `Rearm` | nothing: only `terminate` arms timers, and MPI executors have no `terminate_workers` |
//! | `Fail`, `Cancel`, `Discard`, `Forget` | as in the pipe shell; done-callbacks run on the shared `Delivery` threads |
//!
//! A rank never ends alone: with Open MPI 4.1 a dead rank ends the whole job, so `ended`
//! is called only for the STOP above, and crash blame (R7) never fires here.
//!
//! Task ids carry their executor (`owner << OWNER_SHIFT | n`), so the replies of a rank that
//! serves several executors are split by id, each pool's in its order (R6 holds per pool).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::Thread;
use std::time::{Duration, Instant};

use cfutures_core::{Error, ExitReason, Future, Promise, Shutdown};
use cfutures_process::shell_kit::{
    self, Call, Callbacks, Delivery, Dispatcher, Effect, Effects, End, EndCause, PendingJob,
    Policy, REPLY_HEADER, Reply, Task, WorkerId, kind,
};

use crate::backoff::Backoff;
use crate::comm::Comm;
use crate::frames::WIRE;

type Job = Box<dyn PendingJob>;
type Machine = Dispatcher<Job>;

/// Task ids: the owner above this bit, a counter below.
const OWNER_SHIFT: u32 = 40;
/// Bytes a rank may hold unanswered (the dispatcher's byte bound): MPI sends never block,
/// so this only bounds memory.
const RANK_CAPACITY: usize = 64 << 20;
/// The longest nap while tasks are in flight (replies are noticed at most this late).
const IN_FLIGHT_NAP: Duration = Duration::from_micros(100);

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // No transition leaves a dispatcher half-updated, and no user code runs under these locks.
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// What rank 0's executors and the MPI thread share.
pub(crate) struct Runtime {
    world: Mutex<WorldState>,
    /// Outboxes to write, for the MPI thread.
    requests: Mutex<Vec<(Arc<Pool>, WorkerId)>>,
    /// The MPI thread, unparked on every request.
    mpi_thread: Thread,
    /// Host name of each rank (index = rank).
    pub(crate) hosts: Vec<String>,
    delivery: Delivery,
}

#[derive(Default)]
struct WorldState {
    pools: HashMap<u64, Arc<Pool>>,
    next_owner: u64,
    /// The `World` is being dropped: refuse new executors, stop once every pool is idle.
    closing: bool,
    /// End the job now, with this message.
    abort: Option<String>,
}

/// One executor: its dispatcher and which rank serves each of its worker ids.
pub(crate) struct Pool {
    owner: u64,
    locked: Mutex<PoolState>,
    /// Signalled when a worker id is forgotten (shutdown waits for none to be left).
    gone: Condvar,
    next_task: AtomicU64,
}

struct PoolState {
    machine: Machine,
    ranks: HashMap<WorkerId, usize>,
}

impl Runtime {
    pub(crate) fn new(hosts: Vec<String>, mpi_thread: Thread) -> Self {
        Runtime {
            world: Mutex::new(WorldState::default()),
            requests: Mutex::new(Vec::new()),
            mpi_thread,
            hosts,
            delivery: Delivery::default(),
        }
    }

    /// The number of worker ranks.
    pub(crate) fn workers(&self) -> usize {
        self.hosts.len().saturating_sub(1)
    }

    /// A new executor on ranks `1..=workers`; [`Error::ShutDown`] once the world is closing.
    pub(crate) fn register(&self, workers: usize) -> Result<Arc<Pool>, Error> {
        let mut world = lock(&self.world);
        if world.closing {
            return Err(Error::ShutDown);
        }
        world.next_owner += 1;
        let pool = Arc::new(Pool {
            owner: world.next_owner,
            locked: Mutex::new(PoolState {
                machine: Dispatcher::new(Policy {
                    max_workers: workers,
                    max_tasks_per_child: None,
                    has_initializer: false,
                    terminate_grace: shell_kit::TERMINATE_GRACE,
                }),
                ranks: HashMap::new(),
            }),
            gone: Condvar::new(),
            next_task: AtomicU64::new(0),
        });
        world.pools.insert(pool.owner, pool.clone());
        Ok(pool)
    }

    /// Encodes a TASK frame and queues it (the process pool's frame, byte for byte).
    pub(crate) fn submit_encoded<T, E>(
        &self,
        pool: &Arc<Pool>,
        call: Call,
        encode: E,
        job: fn(Promise<T>) -> Job,
    ) -> Result<Future<T>, Error>
    where
        E: FnOnce(&mut Vec<u8>) -> Result<(), String>,
    {
        let id = pool.owner << OWNER_SHIFT | pool.next_task.fetch_add(1, Ordering::Relaxed);
        let mut frame = Vec::with_capacity(64);
        let start = shell_kit::begin_task_frame(&mut frame, id, call);
        if let Err(e) = encode(&mut frame) {
            let error = Error::Serialization(format!("cannot encode the argument: {e}"));
            return shell_kit::unsent(&lock(&pool.locked).machine, error);
        }
        if let Err(len) = shell_kit::end_frame(&mut frame, start, crate::MAX_MESSAGE) {
            let error = Error::Serialization(format!(
                "the argument takes {len} bytes, more than an MPI message holds"
            ));
            return shell_kit::unsent(&lock(&pool.locked).machine, error);
        }
        let (promise, future) = Promise::new();
        let task = Task {
            id,
            frame,
            body: None,
            job: job(promise),
            claimed: false,
            // Per-task deadlines need killing one worker; a rank cannot be (it takes the job
            // down), so MPI tasks carry none.
            deadline: None,
        };
        let submitted = lock(&pool.locked).machine.submit(task);
        match submitted {
            Ok(fx) => {
                self.carry_out(pool, fx);
                Ok(future)
            }
            Err((error, task)) => {
                drop(task);
                Err(error)
            }
        }
    }

    /// Python's `shutdown(wait, cancel_futures)` for one executor.
    pub(crate) fn shutdown(&self, pool: &Arc<Pool>, how: Shutdown) {
        let fx = lock(&pool.locked).machine.shutdown(how.cancel_futures);
        self.carry_out(pool, fx);
        if how.wait {
            let mut st = lock(&pool.locked);
            while st.machine.worker_count() > 0 {
                st = pool.gone.wait(st).unwrap_or_else(|e| e.into_inner());
            }
            drop(st);
            self.delivery.fence();
        }
    }

    /// Forgets a dropped executor (after its `shutdown(WAIT)`).
    pub(crate) fn forget(&self, pool: &Pool) {
        lock(&self.world).pools.remove(&pool.owner);
    }

    /// The `World` goes: every executor is shut down (its queued tasks still run), then the
    /// MPI thread stops the workers.
    pub(crate) fn close(&self) {
        let pools: Vec<Arc<Pool>> = {
            let mut world = lock(&self.world);
            world.closing = true;
            world.pools.values().cloned().collect()
        };
        for pool in &pools {
            self.shutdown(pool, Shutdown::NO_WAIT);
        }
        self.mpi_thread.unpark();
    }

    /// Ends the job at once (from the MPI thread, which owns MPI).
    pub(crate) fn abort(&self, why: String) {
        lock(&self.world).abort.get_or_insert(why);
        self.mpi_thread.unpark();
    }

    /// Carries out a transition's effects, in order. Never called under a pool's lock.
    fn carry_out(&self, pool: &Arc<Pool>, fx: Effects<Job>) {
        let mut callbacks: Vec<Callbacks> = Vec::new();
        let mut work: Vec<Effects<Job>> = vec![fx];
        while let Some(fx) = work.pop() {
            for effect in fx {
                match effect {
                    Effect::Spawn(id) => work.push(self.bind_rank(pool, id)),
                    Effect::Flush(id) => {
                        lock(&self.requests).push((pool.clone(), id));
                        self.mpi_thread.unpark();
                    }
                    Effect::Signal(id, _) => {
                        let rank = lock(&pool.locked).ranks.get(&id).copied();
                        self.abort(format!(
                            "rank {} broke the wire protocol or could not be written to",
                            rank.map_or_else(|| "?".into(), |r| r.to_string())
                        ));
                    }
                    Effect::Rearm(_) => {}
                    Effect::Fail(job, error) => callbacks.extend(job.settle(Err(error))),
                    Effect::Cancel(job) => job.cancel(),
                    Effect::Discard(job) => drop(job),
                    Effect::Forget(id) => {
                        lock(&pool.locked).ranks.remove(&id);
                        pool.gone.notify_all();
                    }
                }
            }
        }
        self.delivery.deliver(callbacks);
    }

    /// `Spawn(id)`: the next free rank of the pool serves `id`, ready at once.
    fn bind_rank(&self, pool: &Pool, id: WorkerId) -> Effects<Job> {
        let mut st = lock(&pool.locked);
        let workers = st.machine.policy().max_workers;
        let free = (1..=workers).find(|rank| !st.ranks.values().any(|r| r == rank));
        let Some(rank) = free else {
            let why = std::io::Error::other("every worker rank of the executor is in use");
            return st.machine.spawn_failed(id, &why);
        };
        st.ranks.insert(id, rank);
        let mut fx = st.machine.started(id, RANK_CAPACITY, Instant::now());
        fx.extend(st.machine.ready(id));
        fx
    }

    /// Writes one outbox; a STOP frame in it ends the id's service instead of being sent.
    fn write_outbox(&self, comm: &mut Comm, pool: &Arc<Pool>, id: WorkerId) -> bool {
        let mut wrote = false;
        loop {
            let (buffer, rank) = {
                let mut st = lock(&pool.locked);
                match st.machine.take_outbox(id, Vec::new()) {
                    Some(buffer) => (buffer, st.ranks.get(&id).copied()),
                    None => return wrote,
                }
            };
            wrote = true;
            let Some(rank) = rank else { continue };
            let (tasks, stop) = split_stop(&buffer);
            let mut buffer = buffer;
            buffer.truncate(tasks);
            if !buffer.is_empty() {
                comm.send(rank, WIRE, buffer);
            }
            if stop {
                let end = End {
                    pid: rank as u32,
                    reason: ExitReason::Code(0),
                    cause: EndCause::Exited,
                    started: Some(0),
                    last_words: None,
                };
                let fx = lock(&pool.locked).machine.ended(id, end);
                self.carry_out(pool, fx);
            }
        }
    }

    /// Settles the replies in one message from `rank`.
    fn receive_replies(&self, rank: usize, bytes: &[u8]) -> Result<(), String> {
        let mut rest = bytes;
        let mut runs: Vec<Run<'_>> = Vec::new();
        loop {
            let frame = shell_kit::split_frame(&mut rest, crate::MAX_MESSAGE)
                .map_err(|e| format!("rank {rank} sent a bad frame: {e}"))?;
            let Some((kind, payload)) = frame else { break };
            let (kind::DONE | kind::FAILED, Some(([task, elapsed_ns], _))) =
                (kind, shell_kit::split_words::<2>(payload))
            else {
                return Err(format!("rank {rank} sent a frame of kind {kind}"));
            };
            let owner = task >> OWNER_SHIFT;
            if runs.last().is_none_or(|run| run.owner != owner) {
                runs.push(Run {
                    owner,
                    replies: Vec::new(),
                    bodies: Vec::new(),
                });
            }
            let run = runs.last_mut().expect("pushed above");
            run.replies.push(Reply { task, elapsed_ns });
            run.bodies.push((kind, &payload[REPLY_HEADER..]));
        }
        let mut callbacks = Vec::new();
        for Run {
            owner,
            replies,
            bodies,
        } in runs
        {
            let pool = lock(&self.world).pools.get(&owner).cloned();
            let pool = pool.ok_or_else(|| format!("rank {rank} answered an unknown executor"))?;
            let replied = {
                let mut st = lock(&pool.locked);
                let id = st
                    .ranks
                    .iter()
                    .find(|(_, r)| **r == rank)
                    .map(|(id, _)| *id);
                let id =
                    id.ok_or_else(|| format!("rank {rank} answered a task it does not hold"))?;
                st.machine.replied(id, &replies)
            };
            for (job, (kind, body)) in replied.jobs.into_iter().zip(bodies) {
                let outcome = if kind == kind::DONE {
                    Ok(body)
                } else {
                    Err(match shell_kit::decode::<shell_kit::Failure>(body) {
                        Ok(failure) => shell_kit::failure_error(failure),
                        Err(e) => Error::Serialization(format!("unreadable task failure: {e}")),
                    })
                };
                callbacks.extend(job.settle(outcome));
            }
            self.carry_out(&pool, replied.effects);
            if let Some(why) = replied.protocol_error {
                return Err(format!("rank {rank}: {why}"));
            }
        }
        self.delivery.deliver(callbacks);
        Ok(())
    }

    /// Whether any pool has a task in flight or queued.
    fn busy(&self) -> bool {
        let pools: Vec<Arc<Pool>> = lock(&self.world).pools.values().cloned().collect();
        pools.iter().any(|pool| {
            let st = lock(&pool.locked);
            st.machine.queued() > 0 || st.ranks.keys().any(|id| st.machine.in_flight(*id) > 0)
        })
    }

    /// Every pool has let go of its ranks (after `close`).
    fn idle(&self) -> bool {
        let pools: Vec<Arc<Pool>> = lock(&self.world).pools.values().cloned().collect();
        pools
            .iter()
            .all(|pool| lock(&pool.locked).machine.worker_count() == 0)
    }
}

/// Consecutive replies of one message for one executor: their headers and (kind, body).
struct Run<'a> {
    owner: u64,
    replies: Vec<Reply>,
    bodies: Vec<(u8, &'a [u8])>,
}

/// Where the tasks of an outbox end, and whether a STOP frame follows them.
fn split_stop(buffer: &[u8]) -> (usize, bool) {
    let mut rest = buffer;
    let mut end = 0;
    while let Ok(Some((kind, _))) = shell_kit::split_frame(&mut rest, usize::MAX) {
        if kind == kind::STOP {
            return (end, true);
        }
        end = buffer.len() - rest.len();
    }
    (end, false)
}

/// The MPI thread's loop on rank 0; returns once the world closed and the workers were told
/// to stop.
pub(crate) fn run(runtime: &Runtime, comm: &mut Comm) {
    let size = comm.size();
    let mut backoff = Backoff::default();
    let mut requests = Vec::new();
    loop {
        let mut active = false;
        std::mem::swap(&mut requests, &mut *lock(&runtime.requests));
        for (pool, id) in requests.drain(..) {
            active |= runtime.write_outbox(comm, &pool, id);
        }
        while let Some(message) = comm.try_receive() {
            active = true;
            let settled = if message.tag == WIRE {
                runtime.receive_replies(message.source, &message.bytes)
            } else {
                Err(format!(
                    "rank {} sent a message with tag {}",
                    message.source, message.tag
                ))
            };
            if let Err(why) = settled {
                comm.abort(&why, 72);
            }
        }
        comm.progress();

        let (closing, abort) = {
            let mut world = lock(&runtime.world);
            (world.closing, world.abort.take())
        };
        if let Some(why) = abort {
            comm.abort(&why, 73);
        }
        if closing && lock(&runtime.requests).is_empty() && runtime.idle() {
            for rank in 1..size {
                let mut stop = Vec::new();
                shell_kit::push_stop(&mut stop);
                comm.send(rank, WIRE, stop);
            }
            comm.flush();
            return;
        }
        if active {
            backoff.reset();
        } else if runtime.busy() {
            backoff.snooze_at_most(true, IN_FLIGHT_NAP);
        } else {
            backoff.snooze(true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task_frame(id: u64) -> Vec<u8> {
        let mut out = Vec::new();
        let start = shell_kit::begin_frame(&mut out, kind::TASK);
        out.extend_from_slice(&[id.to_le_bytes(), [0; 8], [0; 8]].concat());
        shell_kit::end_frame(&mut out, start, usize::MAX).unwrap();
        out
    }

    #[test]
    fn a_stop_frame_is_cut_off_the_outbox_and_tasks_are_kept() {
        let tasks = [task_frame(1), task_frame(2)].concat();
        assert_eq!(split_stop(&tasks), (tasks.len(), false));
        let mut with_stop = tasks.clone();
        shell_kit::push_stop(&mut with_stop);
        assert_eq!(split_stop(&with_stop), (tasks.len(), true));
        let mut only_stop = Vec::new();
        shell_kit::push_stop(&mut only_stop);
        assert_eq!(split_stop(&only_stop), (0, true));
    }
}
