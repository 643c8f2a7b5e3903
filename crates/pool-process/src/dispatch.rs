//! The dispatcher: the process pool's bookkeeping as a pure state machine.
//!
//! It knows workers by an opaque [`WorkerId`] and tasks by their encoded frames; it starts no
//! process, touches no descriptor and runs no user code (beyond [`Job::start`], Python's
//! `set_running_or_notify_cancel`). Every transition returns [`Effects`]: what the shell must
//! write to which worker, whom to signal, what to spawn, which futures to fail or cancel. The
//! pipe shell (`shell.rs`) carries them out for local processes; an MPI shell carries the same
//! effects out over MPI messages (a worker is a rank, a frame a message).
//!
//! ```text
//!  submit ──► queue ──(R3 dispatch)──► worker.outbox ──(R4 Flush)──► shell writes
//!                ▲                          │ in_flight (in order)
//!                │ R7 requeue unstarted      ▼
//!   ended ◄── shell learns the end    replied ◄── shell reads replies (R6)
//!     │        (pidfd / rank death)
//!     └── R7 blame, R8 start-up policy, R9 respawn ──► Spawn(new id)
//! ```
//!
//! # Rules (cited in the code as `R<n>`)
//! - **R1** `submit` refuses new work once the pool is broken ([`Error::Broken`]) or shut down
//!   ([`Error::ShutDown`]). A shell asks [`Dispatcher::refusal`] before failing the future
//!   of an argument it could not encode, so a refusal wins, as in CPython (whose `submit`
//!   raises before its feeder thread pickles).
//! - **R2** A submission takes an idle token if there is one (Python's idle-worker semaphore);
//!   otherwise it starts a worker if fewer than `max_workers` exist. A finished task releases a
//!   token (at most one per worker).
//! - **R3** Dispatch sends the queue's front task to the ready worker with room and the fewest
//!   tasks in flight. Room: fewer in flight than the depth (enough tasks to hide a round trip,
//!   judged from reported run times), the *byte bound* (unanswered bytes fit the worker's
//!   input buffer, unless it holds nothing, so a write never waits on a busy worker), and
//!   `max_tasks_per_child`. It does not pipeline behind a busy worker while another worker is
//!   starting. A task whose future was cancelled is discarded instead of sent.
//! - **R4** Frames for a worker go to its outbox. The first transition that appends to an idle
//!   outbox returns [`Effect::Flush`]: that caller now owns writing it, calling
//!   [`Dispatcher::take_outbox`] until it returns `None`. One writer per worker keeps frames
//!   in the order they entered `in_flight`. A task's body (a moved byte-like argument) is
//!   never copied into the outbox: the [`Outbox`] refers to it, for a writer that writes
//!   [`Outbox::slices`] ([`Dispatcher::take_outbox_vectored`]).
//! - **R5** A ready worker with nothing in flight is told to stop (a STOP frame after its
//!   tasks) when it has run `max_tasks_per_child` tasks, or when the pool is shut down or
//!   broken and the queue is empty. It then finishes and exits on its own.
//! - **R6** A worker answers tasks in the order it received them: a reply must name the task at
//!   the front of its `in_flight`, otherwise it broke the protocol and is killed.
//! - **R7** Crash blame. When a worker ends, `started` (its shared started-task counter) minus
//!   the replies received is how many of its `in_flight` tasks it had begun: those fail
//!   ([`Error::WorkerDied`], or [`Error::Panicked`] when its last words said so); the rest
//!   never started and go back to the front of the queue, in order, already marked running.
//!   Without a counter every task it held fails. No task runs twice.
//! - **R8** A worker that ends while starting breaks the pool when it said why (a failed
//!   initializer, a refused handshake), unless the pool is being killed or is shut down with
//!   nothing queued. One that died silently is replaced instead when it was killed from
//!   outside: by `SIGKILL`, up to [`MAX_KILLED_STARTUP_DEATHS`] in a row; any other silent
//!   death, when no initializer can be blamed, up to [`MAX_SILENT_STARTUP_DEATHS`] in a row.
//!   Both counts restart when a worker becomes ready.
//! - **R9** After an end the worker is replaced (a new id, [`Effect::Spawn`]) unless the pool
//!   is broken, being killed, or shut down with an empty queue; otherwise it is forgotten.
//! - **R10** A worker that could not be started at all (no process: out of descriptors,
//!   memory, threads) is forgotten. If no worker is left, the queued tasks fail with that
//!   error; the pool is *not* broken, and the next submission tries again (CPython raises
//!   the `OSError` from `submit` and keeps the pool).
//! - **R11** `shutdown` refuses new work; with `cancel_futures` it cancels every queued task
//!   not yet marked running; then R5 applies.
//! - **R12** `terminate` (Python's `terminate_workers`/`kill_workers`) is R11 with
//!   `cancel_futures`, then signals every started worker; tasks left in the queue (marked
//!   running, never started) and tasks a killed worker never started fail with an error
//!   saying they never started. A terminate signal escalates to a kill after a grace period
//!   (R13), so a stopped worker or one that ignores it still ends. No worker is replaced.
//! - **R13** Each worker has at most one timer ([`Dispatcher::timer_of`]); the shell calls
//!   [`Dispatcher::timer_expired`] when it passes. Today it carries the terminate escalation;
//!   per-task deadlines (issue 13) are another reason for the same timer: a deadline kill is
//!   a [`Effect::Signal`] like any other, and the end that follows is handled by R7.
//! - **R15** Deadlines (issue 13). A task may carry a [`Deadline`], fixed at submission. It
//!   is sent only to a worker holding nothing, so it starts as soon as the worker reads it
//!   (tasks without one may be pipelined behind it). One whose deadline has passed when it
//!   reaches the front of the queue, or while it waits there (every worker's timer covers the
//!   queue's earliest deadline), fails with [`Error::TaskTimedOut`] and never starts. When a
//!   sent one's deadline passes (the worker's timer, R13), the worker is killed; at its end
//!   (R7) that task fails with `TaskTimedOut` whether or not it had begun, and the tasks
//!   behind it go back to the queue as usual. A reply that arrives before the end settles the
//!   task normally: exactly one outcome. Dispatch reads the clock only for a task with a
//!   deadline.
//! - **R14** A failed write means the worker is gone or unusable: it is killed, so its end
//!   comes and R7 settles what it held.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cfutures_core::{Error, ExitReason};

pub use crate::body::Body;
pub use crate::outbox::Outbox;

/// Most tasks kept in flight per worker.
const MAX_DEPTH: usize = 64;
/// The round-trip time the pipelining aims to hide, in nanoseconds.
const HIDE_NS: f64 = 200_000.0;
/// How many workers in a row may die silently during start-up (no initializer configured)
/// and be replaced before the pool gives up and breaks (R8).
pub const MAX_SILENT_STARTUP_DEATHS: u32 = 3;
/// How many workers in a row may be killed by `SIGKILL` during start-up and be replaced
/// before the pool breaks (R8). A program does not send itself `SIGKILL`: someone outside did
/// (an operator, the OOM killer, a test's kill storm), so this bound only stops an endless
/// respawn loop.
pub const MAX_KILLED_STARTUP_DEATHS: u32 = 64;
/// `SIGKILL`, the same number on every Unix.
const SIGKILL: i32 = 9;
/// How long a worker told to terminate may take before it is killed (R12, R13).
pub const TERMINATE_GRACE: Duration = Duration::from_secs(2);
/// The error text of a task that a terminated worker never started (R12).
const NEVER_STARTED: &str = "the pool's workers were terminated before this task started";

/// A worker as the dispatcher knows it: a number, never reused within one pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WorkerId(pub u64);

/// How the shell should signal a worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// Ask it to end (`SIGTERM`, and `SIGCONT` so a stopped process receives it).
    Terminate,
    /// End it now (`SIGKILL`).
    Kill,
}

/// What the dispatcher needs from a task's record: marking its future running.
pub trait Job {
    /// Marks the future running before the task is sent; false if it was cancelled meanwhile
    /// (then it is not sent), like Python's `set_running_or_notify_cancel`.
    fn start(&mut self) -> bool;
}

/// A task's time limit (R15).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    /// When it passes.
    pub at: Instant,
    /// The limit it was given, for the error.
    pub after: Duration,
}

impl Deadline {
    /// `after` from `now`; `None` if that instant is not representable (no limit in effect).
    pub fn after(now: Instant, after: Duration) -> Option<Self> {
        Some(Deadline {
            at: now.checked_add(after)?,
            after,
        })
    }

    fn error(&self) -> Error {
        Error::TaskTimedOut { after: self.after }
    }
}

/// A task: its id, its whole encoded frame (ready to send, kept for a resend), and its job.
pub struct Task<J> {
    /// Unique within the pool; the worker's reply names it.
    pub id: u64,
    /// The encoded TASK frame (a TASK_BODY frame's header: its body follows).
    pub frame: Vec<u8>,
    /// A TASK_BODY frame's body, written from where it lies (`body.rs`).
    pub body: Option<Arc<Body>>,
    /// The record that completes its future.
    pub job: J,
    /// Its future is already marked running (it was sent to a worker that died before
    /// starting it, and is queued again: R7).
    pub claimed: bool,
    /// Its time limit, if any (R15).
    pub deadline: Option<Deadline>,
}

/// Bytes a task's frame and body take on the wire (R3's measure), queued or sent.
fn wire_bytes(frame: &[u8], body: Option<&Arc<Body>>) -> usize {
    frame.len() + body.map_or(0, |b| b.len())
}

/// Something the shell must do after a transition. Effects are listed in the order they must
/// be carried out.
#[must_use = "effects must be carried out by the shell"]
#[derive(Debug)]
pub enum Effect<J> {
    /// Start a worker under this new id (R2, R9).
    Spawn(WorkerId),
    /// Write this worker's outbox: the caller owns it until `take_outbox` returns `None` (R4).
    Flush(WorkerId),
    /// Signal this worker (R12, R13, R14, R6).
    Signal(WorkerId, Signal),
    /// This worker's timer changed: wake whoever waits on it to re-read `timer_of` (R13).
    Rearm(WorkerId),
    /// Fail this task's future with the error.
    Fail(J, Error),
    /// Cancel this never-started task's future (R11).
    Cancel(J),
    /// Drop this job outside any lock (its future was cancelled; R3).
    Discard(J),
    /// This worker's record is gone; no effect will name it again.
    Forget(WorkerId),
}

/// The effects of one transition, in order.
#[must_use = "effects must be carried out by the shell"]
#[derive(Debug)]
pub struct Effects<J>(pub Vec<Effect<J>>);

impl<J> Default for Effects<J> {
    fn default() -> Self {
        Effects(Vec::new())
    }
}

impl<J> Effects<J> {
    fn push(&mut self, effect: Effect<J>) {
        self.0.push(effect);
    }

    /// Appends another transition's effects.
    pub fn extend(&mut self, other: Effects<J>) {
        self.0.extend(other.0);
    }

    /// True when nothing is to be done.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<J> IntoIterator for Effects<J> {
    type Item = Effect<J>;
    type IntoIter = std::vec::IntoIter<Effect<J>>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

/// The pool's fixed policy.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Most workers at once.
    pub max_workers: usize,
    /// Replace a worker after this many tasks.
    pub max_tasks_per_child: Option<usize>,
    /// An initializer is configured (a start-up death can then be blamed on it: R8).
    pub has_initializer: bool,
    /// How long a terminated worker may take before it is killed (R12).
    pub terminate_grace: Duration,
}

/// A worker's phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Requested; the shell is starting it or doing its handshake.
    Starting,
    /// Serving tasks.
    Ready,
    /// Told to stop (R5): it finishes what it holds and exits.
    Stopping,
}

/// How a worker's service ended, as the shell learned it.
#[derive(Debug, Clone)]
pub enum EndCause {
    /// The process (or rank) ended.
    Exited,
    /// It sent something that is not our protocol and was killed.
    Protocol(String),
    /// It never became ready; the text says why when the worker said so.
    Startup(Option<String>),
}

/// Everything the shell knows about a worker's end.
#[derive(Debug, Clone)]
pub struct End {
    /// The process id for error messages (a rank for MPI).
    pub pid: u32,
    /// How it ended, from the process itself.
    pub reason: ExitReason,
    /// How it ended.
    pub cause: EndCause,
    /// Its started-task counter after the end, if it has one (R7).
    pub started: Option<u64>,
    /// What it said about the task it was running before dying (a panic under
    /// `panic = "abort"`), by task id.
    pub last_words: Option<(u64, Error)>,
}

/// A task sent to a worker and not answered yet; keeps its frame for a resend (R7).
struct Sent<J> {
    id: u64,
    frame: Vec<u8>,
    body: Option<Arc<Body>>,
    job: J,
    deadline: Option<Deadline>,
}

/// One worker's record.
struct Worker<J> {
    id: WorkerId,
    phase: Phase,
    in_flight: VecDeque<Sent<J>>,
    in_flight_bytes: usize,
    /// Bytes the worker's input holds (the byte bound, R3); learned when it starts.
    capacity: usize,
    /// Frames appended but not taken by the writer yet (R4).
    outbox: Outbox,
    /// Some thread owns writing the outbox (R4).
    flushing: bool,
    /// Tasks sent (for `max_tasks_per_child`).
    sent: usize,
    /// Replies received.
    replied: u64,
    /// It has been signalled to terminate; when to kill it if it has not ended (R12, R13).
    escalate_at: Option<Instant>,
    /// It was killed because this task's deadline passed (R15).
    timed_out: Option<u64>,
}

impl<J> Worker<J> {
    fn new(id: WorkerId) -> Self {
        Worker {
            id,
            phase: Phase::Starting,
            in_flight: VecDeque::new(),
            in_flight_bytes: 0,
            capacity: 0,
            outbox: Outbox::default(),
            flushing: false,
            sent: 0,
            replied: 0,
            escalate_at: None,
            timed_out: None,
        }
    }

    fn has_room(&self, bytes: usize, depth: usize, max_tasks: Option<usize>, timed: bool) -> bool {
        self.phase == Phase::Ready
            && self.in_flight.len() < depth
            && (!timed || self.in_flight.is_empty())
            && (self.in_flight.is_empty() || self.in_flight_bytes + bytes <= self.capacity)
            && max_tasks.is_none_or(|max| self.sent < max)
    }
}

/// A reply's header as the shell read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reply {
    /// The task it answers.
    pub task: u64,
    /// The task's run time in the worker.
    pub elapsed_ns: u64,
}

/// What [`Dispatcher::replied`] hands back.
#[must_use = "the jobs must be completed and the effects carried out"]
pub struct Replied<J> {
    /// The jobs the replies answered, in the replies' order.
    pub jobs: Vec<J>,
    /// Set if a reply broke the protocol (R6): the replies after it were not taken.
    pub protocol_error: Option<String>,
    /// What to do next.
    pub effects: Effects<J>,
}

/// The state machine. See the module docs for the rules.
pub struct Dispatcher<J> {
    policy: Policy,
    queue: VecDeque<Task<J>>,
    workers: Vec<Worker<J>>,
    next_worker: u64,
    idle_tokens: usize,
    shutdown: bool,
    broken: Option<String>,
    terminating: Option<Signal>,
    silent_startup_deaths: u32,
    killed_startup_deaths: u32,
    avg_ns: Option<f64>,
    /// The queue may hold a task with a deadline (cleared by a scan that finds none; R15).
    queued_deadlines: bool,
}

impl<J: Job> Dispatcher<J> {
    /// An empty pool.
    pub fn new(policy: Policy) -> Self {
        Dispatcher {
            policy,
            queue: VecDeque::new(),
            workers: Vec::new(),
            next_worker: 0,
            idle_tokens: 0,
            shutdown: false,
            broken: None,
            terminating: None,
            silent_startup_deaths: 0,
            killed_startup_deaths: 0,
            avg_ns: None,
            queued_deadlines: false,
        }
    }

    /// The policy it was made with.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Why a submission would be refused now (R1), if it would.
    pub fn refusal(&self) -> Option<Error> {
        if let Some(reason) = &self.broken {
            return Some(Error::Broken(reason.clone()));
        }
        self.shutdown.then_some(Error::ShutDown)
    }

    /// Queues a task (R1, R2, R3). On refusal the task comes back with the error.
    #[allow(clippy::result_large_err)] // the task must come back to be dropped unlocked
    pub fn submit(&mut self, task: Task<J>) -> Result<Effects<J>, (Error, Task<J>)> {
        // R1
        if let Some(refusal) = self.refusal() {
            return Err((refusal, task));
        }
        let mut fx = Effects::default();
        let deadline = task.deadline;
        self.queue.push_back(task);
        // R2
        if self.idle_tokens > 0 {
            self.idle_tokens -= 1;
        } else if self.workers.len() < self.policy.max_workers {
            let id = self.add_worker();
            fx.push(Effect::Spawn(id));
        }
        self.dispatch(&mut fx);
        // R15: a timed task left waiting is watched by every worker's timer.
        if let Some(deadline) = deadline
            && self
                .queue
                .back()
                .is_some_and(|t| t.deadline == Some(deadline))
        {
            let earlier = self
                .earliest_queued_deadline()
                .is_none_or(|at| deadline.at <= at);
            self.queued_deadlines = true;
            if earlier {
                for w in &self.workers {
                    fx.push(Effect::Rearm(w.id));
                }
            }
        }
        Ok(fx)
    }

    /// The worker's process exists; its input holds `capacity` bytes. While terminating, it is
    /// signalled at once (R12).
    pub fn started(&mut self, id: WorkerId, capacity: usize, now: Instant) -> Effects<J> {
        let mut fx = Effects::default();
        let terminating = self.terminating;
        let grace = self.policy.terminate_grace;
        if let Some(w) = self.worker_mut(id) {
            w.capacity = capacity;
            if let Some(signal) = terminating {
                fx.push(Effect::Signal(id, signal));
                if signal == Signal::Terminate {
                    w.escalate_at = Some(now + grace);
                    fx.push(Effect::Rearm(id));
                }
            }
        }
        fx
    }

    /// The worker passed its handshake and serves (R3).
    pub fn ready(&mut self, id: WorkerId) -> Effects<J> {
        let mut fx = Effects::default();
        self.silent_startup_deaths = 0;
        self.killed_startup_deaths = 0;
        if let Some(w) = self.worker_mut(id) {
            w.phase = Phase::Ready;
        }
        self.dispatch(&mut fx);
        fx
    }

    /// Replies read from a worker, in order (R6, R2, R3).
    pub fn replied(&mut self, id: WorkerId, replies: &[Reply]) -> Replied<J> {
        let mut jobs = Vec::with_capacity(replies.len());
        let mut protocol_error = None;
        let mut fx = Effects::default();
        if let Some(index) = self.index_of(id) {
            for reply in replies {
                let w = &mut self.workers[index];
                // R6
                match w.in_flight.front() {
                    Some(front) if front.id == reply.task => {}
                    _ => {
                        protocol_error =
                            Some(format!("a reply for task {}, not expected", reply.task));
                        break;
                    }
                }
                let Some(task) = w.in_flight.pop_front() else {
                    break;
                };
                w.in_flight_bytes -= wire_bytes(&task.frame, task.body.as_ref());
                w.replied += 1;
                jobs.push(task.job);
                self.record_run_time(reply.elapsed_ns);
            }
            // R2
            self.idle_tokens = (self.idle_tokens + jobs.len()).min(self.workers.len());
            if protocol_error.is_some() {
                fx.push(Effect::Signal(id, Signal::Kill));
            }
        } else if !replies.is_empty() {
            protocol_error = Some("replies from a worker the pool does not know".into());
        }
        self.dispatch(&mut fx);
        Replied {
            jobs,
            protocol_error,
            effects: fx,
        }
    }

    /// The writer of `id`'s outbox takes what is there (R4), as one buffer (bodies copied in:
    /// for a transport that sends whole buffers). `spare` is an empty buffer to reuse as the
    /// next outbox. Returns `None` (and releases the writer's role) once the outbox is empty
    /// or the worker is gone.
    pub fn take_outbox(&mut self, id: WorkerId, spare: Vec<u8>) -> Option<Vec<u8>> {
        self.take_outbox_vectored(id, Outbox::from(spare))
            .map(Outbox::into_bytes)
    }

    /// [`take_outbox`](Self::take_outbox) with the bodies left where they lie, for a writer
    /// that writes [`Outbox::slices`] with vectored writes.
    pub fn take_outbox_vectored(&mut self, id: WorkerId, spare: Outbox) -> Option<Outbox> {
        let w = self.worker_mut(id)?;
        if w.outbox.is_empty() {
            w.flushing = false;
            if w.outbox.capacity() < spare.capacity() {
                w.outbox = spare;
                w.outbox.clear();
            }
            return None;
        }
        let mut spare = spare;
        spare.clear();
        Some(std::mem::replace(&mut w.outbox, spare))
    }

    /// Writing to the worker failed (R14).
    pub fn write_failed(&mut self, id: WorkerId) -> Effects<J> {
        let mut fx = Effects::default();
        if let Some(w) = self.worker_mut(id) {
            w.outbox = Outbox::default();
            fx.push(Effect::Signal(id, Signal::Kill));
        }
        fx
    }

    /// The worker could not be started at all (R10).
    pub fn spawn_failed(&mut self, id: WorkerId, error: &std::io::Error) -> Effects<J> {
        let mut fx = Effects::default();
        self.forget(id, &mut fx);
        if self.workers.is_empty() {
            let error = Error::other(std::io::Error::new(
                error.kind(),
                format!("cannot start a worker process: {error}"),
            ));
            for task in self.queue.drain(..) {
                fx.push(Effect::Fail(task.job, error.clone()));
            }
        }
        fx
    }

    /// The worker ended (R7, R8, R9).
    pub fn ended(&mut self, id: WorkerId, end: End) -> Effects<J> {
        let mut fx = Effects::default();
        let Some(index) = self.index_of(id) else {
            return fx;
        };
        let held = std::mem::take(&mut self.workers[index].in_flight);
        let replied = self.workers[index].replied;
        let timed_out = self.workers[index].timed_out;
        self.workers[index].in_flight_bytes = 0;
        self.workers[index].outbox = Outbox::default();

        // R7: the first `started - replied` held tasks had begun.
        let mut lost: VecDeque<Sent<J>> = held;
        let mut unstarted = match end.started {
            Some(started) => {
                let begun = started.saturating_sub(replied) as usize;
                lost.split_off(begun.min(lost.len()))
            }
            None => VecDeque::new(),
        };
        // R15: the task killed for its deadline fails as timed out, begun or not.
        if let Some(task_id) = timed_out
            && unstarted.front().is_some_and(|t| t.id == task_id)
            && let Some(task) = unstarted.pop_front()
        {
            lost.push_back(task);
        }
        let error = match &end.cause {
            EndCause::Protocol(why) => Error::Serialization(format!(
                "worker process {} broke the wire protocol ({why}) and was stopped",
                end.pid
            )),
            EndCause::Exited | EndCause::Startup(_) => Error::WorkerDied {
                pid: end.pid,
                reason: end.reason,
            },
        };
        let mut last_words = end.last_words;
        for task in lost {
            let error = match last_words.take() {
                Some((task_id, said)) if task_id == task.id => said,
                other => {
                    last_words = other;
                    match task.deadline {
                        Some(deadline) if timed_out == Some(task.id) => deadline.error(),
                        _ => error.clone(),
                    }
                }
            };
            fx.push(Effect::Fail(task.job, error));
        }

        // R8
        if let EndCause::Startup(why) = end.cause {
            let killed_from_outside = why.is_none()
                && if end.reason == ExitReason::Signal(SIGKILL) {
                    self.killed_startup_deaths += 1;
                    self.killed_startup_deaths <= MAX_KILLED_STARTUP_DEATHS
                } else {
                    self.silent_startup_deaths += 1;
                    !self.policy.has_initializer
                        && self.silent_startup_deaths <= MAX_SILENT_STARTUP_DEATHS
                };
            if self.terminating.is_none()
                && !(self.shutdown && self.queue.is_empty())
                && !killed_from_outside
            {
                let why = why.unwrap_or_else(|| {
                    format!(
                        "worker process {} exited during startup ({})",
                        end.pid, end.reason
                    )
                });
                self.break_pool(why, &mut fx);
            }
        }
        // R7: unstarted tasks go first in line again, unless no worker will take them (R12).
        if self.broken.is_none() && self.terminating.is_none() {
            for task in unstarted.into_iter().rev() {
                self.queued_deadlines |= task.deadline.is_some();
                self.queue.push_front(Task {
                    id: task.id,
                    frame: task.frame,
                    body: task.body,
                    job: task.job,
                    claimed: true,
                    deadline: task.deadline,
                });
            }
        } else {
            let never = self.never_started_error();
            for task in unstarted {
                fx.push(Effect::Fail(task.job, never.clone()));
            }
        }
        // R9
        self.forget(id, &mut fx);
        let replace = self.broken.is_none()
            && self.terminating.is_none()
            && (!self.shutdown || !self.queue.is_empty());
        if replace {
            let id = self.add_worker();
            fx.push(Effect::Spawn(id));
        }
        self.dispatch(&mut fx);
        fx
    }

    /// Python's `shutdown(cancel_futures=...)`; waiting is the shell's business (R11, R5).
    pub fn shutdown(&mut self, cancel_futures: bool) -> Effects<J> {
        let mut fx = Effects::default();
        self.shutdown = true;
        if cancel_futures {
            let queue = std::mem::take(&mut self.queue);
            for task in queue {
                if task.claimed {
                    // Already running in Python's terms (R7): kept.
                    self.queue.push_back(task);
                } else {
                    fx.push(Effect::Cancel(task.job));
                }
            }
        }
        self.stop_idle(&mut fx);
        fx
    }

    /// Python's `terminate_workers`/`kill_workers` (R12).
    pub fn terminate(&mut self, signal: Signal, now: Instant) -> Effects<J> {
        self.terminating = Some(match self.terminating {
            Some(Signal::Kill) => Signal::Kill,
            _ => signal,
        });
        let mut fx = self.shutdown(true);
        let never = self.never_started_error();
        for task in self.queue.drain(..) {
            fx.push(Effect::Fail(task.job, never.clone()));
        }
        let grace = self.policy.terminate_grace;
        for w in &mut self.workers {
            // A starting worker is signalled when its process exists (`started`).
            if w.capacity > 0 {
                fx.0.push(Effect::Signal(w.id, signal));
                if signal == Signal::Terminate {
                    w.escalate_at = Some(now + grace);
                    fx.0.push(Effect::Rearm(w.id));
                }
            }
        }
        self.stop_idle(&mut fx);
        fx
    }

    /// When the shell must call [`timer_expired`](Self::timer_expired) for `id` (R13): the
    /// earliest of its terminate escalation, the deadline of the task it runs, and the
    /// queue's earliest deadline (R15).
    pub fn timer_of(&self, id: WorkerId) -> Option<Instant> {
        let w = self.workers.iter().find(|w| w.id == id)?;
        let running = match w.timed_out {
            Some(_) => None,
            None => w.in_flight.front().and_then(|t| t.deadline).map(|d| d.at),
        };
        [w.escalate_at, running, self.earliest_queued_deadline()]
            .into_iter()
            .flatten()
            .min()
    }

    /// `id`'s timer passed (R13, R15).
    pub fn timer_expired(&mut self, id: WorkerId, now: Instant) -> Effects<J> {
        let mut fx = Effects::default();
        if let Some(w) = self.worker_mut(id) {
            if w.escalate_at.is_some_and(|at| at <= now) {
                w.escalate_at = None;
                fx.push(Effect::Signal(id, Signal::Kill));
            }
            if w.timed_out.is_none()
                && let Some(front) = w.in_flight.front()
                && front.deadline.is_some_and(|d| d.at <= now)
            {
                w.timed_out = Some(front.id);
                fx.push(Effect::Signal(id, Signal::Kill));
            }
        }
        self.expire_queued(now, &mut fx);
        fx
    }

    /// R15: queued tasks whose deadline passed fail without starting.
    fn expire_queued(&mut self, now: Instant, fx: &mut Effects<J>) {
        if !self.queued_deadlines {
            return;
        }
        let queue = std::mem::take(&mut self.queue);
        for task in queue {
            match task.deadline {
                Some(deadline) if deadline.at <= now => {
                    fx.push(Effect::Fail(task.job, deadline.error()))
                }
                _ => self.queue.push_back(task),
            }
        }
        self.queued_deadlines = self.queue.iter().any(|t| t.deadline.is_some());
    }

    fn earliest_queued_deadline(&self) -> Option<Instant> {
        if !self.queued_deadlines {
            return None;
        }
        self.queue
            .iter()
            .filter_map(|t| t.deadline)
            .map(|d| d.at)
            .min()
    }

    /// Why the pool is broken, if it is.
    pub fn broken(&self) -> Option<&str> {
        self.broken.as_deref()
    }

    /// Whether `shutdown` (or `terminate`) was called.
    pub fn is_shut_down(&self) -> bool {
        self.shutdown
    }

    /// How many workers exist (starting, serving or stopping).
    pub fn worker_count(&self) -> usize {
        self.workers.len()
    }

    /// The ids of the workers that exist.
    pub fn worker_ids(&self) -> impl Iterator<Item = WorkerId> + '_ {
        self.workers.iter().map(|w| w.id)
    }

    /// A worker's phase, if it exists.
    pub fn phase(&self, id: WorkerId) -> Option<Phase> {
        self.workers.iter().find(|w| w.id == id).map(|w| w.phase)
    }

    /// How many tasks wait for a worker.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// How many tasks `id` holds unanswered.
    pub fn in_flight(&self, id: WorkerId) -> usize {
        self.workers
            .iter()
            .find(|w| w.id == id)
            .map_or(0, |w| w.in_flight.len())
    }

    fn add_worker(&mut self) -> WorkerId {
        let id = WorkerId(self.next_worker);
        self.next_worker += 1;
        self.workers.push(Worker::new(id));
        id
    }

    fn forget(&mut self, id: WorkerId, fx: &mut Effects<J>) {
        let before = self.workers.len();
        self.workers.retain(|w| w.id != id);
        if self.workers.len() != before {
            self.idle_tokens = self.idle_tokens.min(self.workers.len());
            fx.push(Effect::Forget(id));
        }
    }

    fn index_of(&self, id: WorkerId) -> Option<usize> {
        self.workers.iter().position(|w| w.id == id)
    }

    fn worker_mut(&mut self, id: WorkerId) -> Option<&mut Worker<J>> {
        self.workers.iter_mut().find(|w| w.id == id)
    }

    fn never_started_error(&self) -> Error {
        Error::Broken(NEVER_STARTED.into())
    }

    fn depth(&self) -> usize {
        match self.avg_ns {
            None => 1,
            Some(ns) => (1.0 + HIDE_NS / ns.max(1.0)).min(MAX_DEPTH as f64) as usize,
        }
    }

    fn record_run_time(&mut self, ns: u64) {
        let ns = ns as f64;
        self.avg_ns = Some(match self.avg_ns {
            None => ns,
            Some(avg) => avg * 0.8 + ns * 0.2,
        });
    }

    fn break_pool(&mut self, reason: String, fx: &mut Effects<J>) {
        let reason = self.broken.get_or_insert(reason).clone();
        for task in self.queue.drain(..) {
            fx.push(Effect::Fail(task.job, Error::Broken(reason.clone())));
        }
    }

    /// R3, then R5.
    fn dispatch(&mut self, fx: &mut Effects<J>) {
        let depth = self.depth();
        let max_tasks = self.policy.max_tasks_per_child;
        while let Some(front) = self.queue.front() {
            let bytes = wire_bytes(&front.frame, front.body.as_ref());
            let timed = front.deadline.is_some();
            // R15: a task whose deadline passed while queued never starts.
            if let Some(deadline) = front.deadline
                && deadline.at <= Instant::now()
                && let Some(task) = self.queue.pop_front()
            {
                fx.push(Effect::Fail(task.job, deadline.error()));
                continue;
            }
            let mut best: Option<usize> = None;
            for (i, w) in self.workers.iter().enumerate() {
                if w.has_room(bytes, depth, max_tasks, timed)
                    && best.is_none_or(|b| w.in_flight.len() < self.workers[b].in_flight.len())
                {
                    best = Some(i);
                }
            }
            let Some(index) = best else { break };
            if !self.workers[index].in_flight.is_empty()
                && self.workers.iter().any(|w| w.phase == Phase::Starting)
            {
                break;
            }
            let Some(mut task) = self.queue.pop_front() else {
                break;
            };
            if !task.claimed && !task.job.start() {
                fx.push(Effect::Discard(task.job));
                continue;
            }
            let w = &mut self.workers[index];
            w.outbox.push(&task.frame, task.body.as_ref());
            w.in_flight_bytes += bytes;
            w.sent += 1;
            w.in_flight.push_back(Sent {
                id: task.id,
                frame: task.frame,
                body: task.body,
                job: task.job,
                deadline: task.deadline,
            });
            if !w.flushing {
                w.flushing = true;
                fx.push(Effect::Flush(w.id));
            }
            if timed {
                fx.push(Effect::Rearm(w.id));
            }
        }
        self.stop_idle(fx);
    }

    /// R5: tells every ready worker with nothing left to do to stop.
    fn stop_idle(&mut self, fx: &mut Effects<J>) {
        let max_tasks = self.policy.max_tasks_per_child;
        let winding_down = (self.shutdown || self.broken.is_some()) && self.queue.is_empty();
        for w in &mut self.workers {
            if w.phase == Phase::Ready
                && w.in_flight.is_empty()
                && (winding_down || max_tasks.is_some_and(|max| w.sent >= max))
            {
                w.phase = Phase::Stopping;
                w.outbox.push_stop();
                if !w.flushing {
                    w.flushing = true;
                    fx.0.push(Effect::Flush(w.id));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire;

    /// A job that records what happened to it.
    #[derive(Debug, PartialEq)]
    struct Probe {
        id: u64,
        cancelled: bool,
    }

    impl Job for Probe {
        fn start(&mut self) -> bool {
            !self.cancelled
        }
    }

    fn policy(max_workers: usize) -> Policy {
        Policy {
            max_workers,
            max_tasks_per_child: None,
            has_initializer: false,
            terminate_grace: Duration::from_secs(2),
        }
    }

    fn task(id: u64) -> Task<Probe> {
        let mut frame = Vec::new();
        let start = wire::begin_frame(&mut frame, wire::kind::TASK);
        frame.extend_from_slice(&id.to_le_bytes());
        wire::end_frame(&mut frame, start, usize::MAX).unwrap();
        Task {
            id,
            frame,
            body: None,
            job: Probe {
                id,
                cancelled: false,
            },
            claimed: false,
            deadline: None,
        }
    }

    fn spawned(fx: &Effects<Probe>) -> Vec<WorkerId> {
        fx.0.iter()
            .filter_map(|e| match e {
                Effect::Spawn(id) => Some(*id),
                _ => None,
            })
            .collect()
    }

    fn failed(fx: &Effects<Probe>) -> Vec<(u64, String)> {
        fx.0.iter()
            .filter_map(|e| match e {
                Effect::Fail(job, error) => Some((job.id, error.to_string())),
                _ => None,
            })
            .collect()
    }

    fn has(fx: &Effects<Probe>, want: impl Fn(&Effect<Probe>) -> bool) -> bool {
        fx.0.iter().any(want)
    }

    /// Submits a task the dispatcher must accept.
    fn accepted(d: &mut Dispatcher<Probe>, task: Task<Probe>) -> Effects<Probe> {
        d.submit(task).map_err(|(e, _)| e).unwrap()
    }

    /// The worker answers `task` after 1 µs of work, which teaches the dispatcher a short
    /// round trip (so it pipelines).
    fn quick_reply(d: &mut Dispatcher<Probe>, id: WorkerId, task: u64) -> Effects<Probe> {
        d.replied(
            id,
            &[Reply {
                task,
                elapsed_ns: 1_000,
            }],
        )
        .effects
    }

    /// [`one_ready`] after its first task replied, holding task 1, timed with a deadline in
    /// an hour (returned).
    fn one_ready_running_a_timed_task() -> (Dispatcher<Probe>, WorkerId, Instant) {
        let (mut d, id) = one_ready();
        let replied = d.replied(id, &[reply(0)]);
        let _ = replied.effects;
        let at = Instant::now() + Duration::from_secs(3600);
        let _ = accepted(&mut d, timed(1, at));
        (d, id, at)
    }

    /// A pool with one ready worker.
    fn one_ready() -> (Dispatcher<Probe>, WorkerId) {
        let mut d = Dispatcher::new(policy(1));
        let fx = accepted(&mut d, task(0));
        let id = spawned(&fx)[0];
        let _ = d.started(id, 1 << 20, Instant::now());
        let fx = d.ready(id);
        assert!(has(&fx, |e| matches!(e, Effect::Flush(w) if *w == id)));
        let out = d.take_outbox(id, Vec::new()).unwrap();
        assert_eq!(out, task(0).frame);
        assert_eq!(d.take_outbox(id, out), None);
        (d, id)
    }

    fn end(cause: EndCause, started: Option<u64>) -> End {
        End {
            pid: 42,
            reason: ExitReason::Signal(9),
            cause,
            started,
            last_words: None,
        }
    }

    #[test]
    fn r1_refuses_after_shutdown_and_when_broken() {
        let mut d = Dispatcher::<Probe>::new(policy(1));
        let _ = d.shutdown(false);
        assert!(matches!(d.submit(task(1)), Err((Error::ShutDown, _))));
        let mut d = Dispatcher::<Probe>::new(policy(1));
        let fx = accepted(&mut d, task(1));
        let id = spawned(&fx)[0];
        let fx = d.ended(id, end(EndCause::Startup(Some("init failed".into())), None));
        assert_eq!(failed(&fx).len(), 1);
        assert!(d.broken().is_some());
        assert!(matches!(d.submit(task(2)), Err((Error::Broken(_), _))));
    }

    #[test]
    fn r2_starts_workers_lazily_and_reuses_idle_ones() {
        let (mut d, id) = one_ready();
        let replied = d.replied(
            id,
            &[Reply {
                task: 0,
                elapsed_ns: 1_000_000,
            }],
        );
        assert_eq!(replied.jobs.len(), 1);
        let _ = replied.effects;
        // An idle token is there: no new worker even with room for more.
        let mut d2 = Dispatcher::<Probe>::new(policy(2));
        std::mem::swap(&mut d.policy, &mut d2.policy);
        let fx = accepted(&mut d, task(1));
        assert!(spawned(&fx).is_empty());
        // No token left: the second worker starts.
        let fx = accepted(&mut d, task(2));
        assert_eq!(spawned(&fx).len(), 1);
    }

    #[test]
    fn r3_a_cancelled_task_is_discarded_not_sent() {
        let mut d = Dispatcher::new(policy(1));
        let mut t = task(0);
        t.job.cancelled = true;
        let fx = accepted(&mut d, t);
        let id = spawned(&fx)[0];
        let _ = d.started(id, 1 << 20, Instant::now());
        let fx = d.ready(id);
        assert!(has(&fx, |e| matches!(e, Effect::Discard(p) if p.id == 0)));
        assert_eq!(d.in_flight(id), 0);
    }

    #[test]
    fn r3_pipelines_short_tasks_and_respects_the_byte_bound() {
        let (mut d, id) = one_ready();
        let _ = quick_reply(&mut d, id, 0);
        // Short tasks: several go out at once.
        for i in 1..=5 {
            let _ = accepted(&mut d, task(i));
        }
        assert_eq!(d.in_flight(id), 5);
        // A tiny capacity: only one task in flight beyond an empty worker.
        let mut d = Dispatcher::new(policy(1));
        let fx = accepted(&mut d, task(0));
        let id = spawned(&fx)[0];
        let _ = d.started(id, 1, Instant::now());
        let _ = d.ready(id);
        let _ = quick_reply(&mut d, id, 0);
        let _ = accepted(&mut d, task(1));
        let _ = accepted(&mut d, task(2));
        assert_eq!(d.in_flight(id), 1);
        assert_eq!(d.queued(), 1);
    }

    #[test]
    fn r4_one_flush_owner_until_the_outbox_is_empty() {
        let (mut d, id) = one_ready();
        let _ = quick_reply(&mut d, id, 0);
        let fx = accepted(&mut d, task(1));
        assert!(has(&fx, |e| matches!(e, Effect::Flush(_))));
        let fx = accepted(&mut d, task(2));
        assert!(
            !has(&fx, |e| matches!(e, Effect::Flush(_))),
            "a second owner"
        );
        let out = d.take_outbox(id, Vec::new()).unwrap();
        assert_eq!(out, [task(1).frame, task(2).frame].concat());
        assert_eq!(d.take_outbox(id, Vec::new()), None);
    }

    #[test]
    fn r5_shutdown_stops_idle_workers_with_a_frame() {
        let (mut d, id) = one_ready();
        let _ = d.shutdown(false);
        assert_eq!(d.phase(id), Some(Phase::Ready), "busy: not stopped yet");
        let fx = d
            .replied(
                id,
                &[Reply {
                    task: 0,
                    elapsed_ns: 1,
                }],
            )
            .effects;
        assert!(has(&fx, |e| matches!(e, Effect::Flush(_))));
        assert_eq!(d.phase(id), Some(Phase::Stopping));
        let mut stop = Vec::new();
        wire::push_stop(&mut stop);
        assert_eq!(d.take_outbox(id, Vec::new()), Some(stop));
        let fx = d.ended(id, end(EndCause::Exited, Some(1)));
        assert!(spawned(&fx).is_empty());
        assert!(has(&fx, |e| matches!(e, Effect::Forget(w) if *w == id)));
        assert_eq!(d.worker_count(), 0);
    }

    #[test]
    fn r5_max_tasks_per_child_retires_and_r9_replaces() {
        let mut p = policy(1);
        p.max_tasks_per_child = Some(1);
        let mut d = Dispatcher::new(p);
        let fx = accepted(&mut d, task(0));
        let id = spawned(&fx)[0];
        let _ = d.started(id, 1 << 20, Instant::now());
        let _ = d.ready(id);
        let _ = accepted(&mut d, task(1));
        assert_eq!(d.queued(), 1);
        let _ = d
            .replied(
                id,
                &[Reply {
                    task: 0,
                    elapsed_ns: 1,
                }],
            )
            .effects;
        assert_eq!(d.phase(id), Some(Phase::Stopping));
        let fx = d.ended(id, end(EndCause::Exited, Some(1)));
        assert_eq!(spawned(&fx).len(), 1);
        assert!(failed(&fx).is_empty());
    }

    #[test]
    fn r6_an_unexpected_reply_is_a_protocol_error_and_kills() {
        let (mut d, id) = one_ready();
        let replied = d.replied(
            id,
            &[Reply {
                task: 99,
                elapsed_ns: 1,
            }],
        );
        assert!(replied.jobs.is_empty());
        assert!(replied.protocol_error.is_some());
        assert!(has(&replied.effects, |e| matches!(
            e,
            Effect::Signal(_, Signal::Kill)
        )));
    }

    #[test]
    fn r7_blames_only_the_started_task_and_requeues_the_rest() {
        let (mut d, id) = one_ready();
        let _ = quick_reply(&mut d, id, 0);
        for i in 1..=3 {
            let _ = accepted(&mut d, task(i));
        }
        assert_eq!(d.in_flight(id), 3);
        // Replied 1, started 2 of the 4 it got: task 2 ran, 3 never started.
        let _ = quick_reply(&mut d, id, 1);
        let fx = d.ended(id, end(EndCause::Exited, Some(3)));
        let failures = failed(&fx);
        assert_eq!(failures.len(), 1);
        assert_eq!(failures[0].0, 2);
        assert!(failures[0].1.contains("died"), "{}", failures[0].1);
        assert_eq!(d.queued(), 1);
        assert_eq!(spawned(&fx).len(), 1);
    }

    #[test]
    fn r7_last_words_name_the_task_they_fail() {
        let (mut d, id) = one_ready();
        let mut e = end(EndCause::Exited, Some(1));
        e.last_words = Some((
            0,
            Error::Panicked {
                message: "boom".into(),
                backtrace: None,
            },
        ));
        let fx = d.ended(id, e);
        assert_eq!(failed(&fx), [(0, "task panicked: boom".to_string())]);
    }

    #[test]
    fn r7_without_a_counter_every_held_task_fails() {
        let (mut d, id) = one_ready();
        let fx = d.ended(id, end(EndCause::Exited, None));
        assert_eq!(failed(&fx).len(), 1);
    }

    /// Ends `limit` starting workers in a row with `reason` (each is replaced), then one more
    /// (the pool breaks).
    fn startup_deaths_break_after(mut d: Dispatcher<Probe>, reason: ExitReason, limit: u32) {
        let fx = accepted(&mut d, task(0));
        let mut id = spawned(&fx)[0];
        let death = || End {
            reason,
            ..end(EndCause::Startup(None), None)
        };
        for _ in 0..limit {
            let fx = d.ended(id, death());
            assert!(d.broken().is_none());
            id = spawned(&fx)[0];
        }
        let fx = d.ended(id, death());
        assert!(d.broken().is_some());
        assert_eq!(failed(&fx).len(), 1);
        assert!(spawned(&fx).is_empty());
    }

    #[test]
    fn r8_silent_startup_deaths_are_replaced_a_few_times_then_break() {
        let d = Dispatcher::new(policy(1));
        startup_deaths_break_after(d, ExitReason::Code(70), MAX_SILENT_STARTUP_DEATHS);
        let d = Dispatcher::new(policy(1));
        startup_deaths_break_after(d, ExitReason::Signal(11), MAX_SILENT_STARTUP_DEATHS);
    }

    #[test]
    fn r8_startup_kills_from_outside_are_replaced_many_times_then_break() {
        let d = Dispatcher::new(policy(2));
        startup_deaths_break_after(d, ExitReason::Signal(SIGKILL), MAX_KILLED_STARTUP_DEATHS);
        let mut with_initializer = policy(2);
        with_initializer.has_initializer = true;
        let d = Dispatcher::new(with_initializer);
        startup_deaths_break_after(d, ExitReason::Signal(SIGKILL), MAX_KILLED_STARTUP_DEATHS);
    }

    #[test]
    fn r8_a_silent_startup_death_with_an_initializer_breaks_at_once() {
        let mut with_initializer = policy(1);
        with_initializer.has_initializer = true;
        startup_deaths_break_after(Dispatcher::new(with_initializer), ExitReason::Code(70), 0);
    }

    #[test]
    fn r10_a_spawn_failure_fails_the_queue_but_does_not_break() {
        let mut d = Dispatcher::new(policy(1));
        let fx = accepted(&mut d, task(0));
        let id = spawned(&fx)[0];
        let error = std::io::Error::other("Too many open files");
        let fx = d.spawn_failed(id, &error);
        let failures = failed(&fx);
        assert_eq!(failures.len(), 1);
        assert!(
            failures[0].1.contains("cannot start a worker"),
            "{}",
            failures[0].1
        );
        assert!(d.broken().is_none());
        let fx = accepted(&mut d, task(1));
        assert_eq!(spawned(&fx).len(), 1, "the next submission tries again");
    }

    #[test]
    fn r11_cancel_futures_keeps_claimed_tasks() {
        let mut d = Dispatcher::new(policy(1));
        let _ = accepted(&mut d, task(0));
        let _ = accepted(&mut d, task(1));
        let fx = d.shutdown(true);
        assert_eq!(
            fx.0.iter()
                .filter(|e| matches!(e, Effect::Cancel(_)))
                .count(),
            2
        );
        assert_eq!(d.queued(), 0);
    }

    #[test]
    fn r12_r13_terminate_signals_escalates_and_says_never_started() {
        let (mut d, id) = one_ready();
        let _ = quick_reply(&mut d, id, 0);
        for i in 1..=2 {
            let _ = accepted(&mut d, task(i));
        }
        let now = Instant::now();
        let fx = d.terminate(Signal::Terminate, now);
        assert!(has(
            &fx,
            |e| matches!(e, Effect::Signal(w, Signal::Terminate) if *w == id)
        ));
        assert!(has(&fx, |e| matches!(e, Effect::Rearm(_))));
        let at = d.timer_of(id).unwrap();
        assert!(d.timer_expired(id, now).is_empty(), "not due yet");
        let fx = d.timer_expired(id, at);
        assert!(has(&fx, |e| matches!(e, Effect::Signal(_, Signal::Kill))));
        // It had started task 1 (of 1 and 2) when it died.
        let fx = d.ended(id, end(EndCause::Exited, Some(2)));
        let failures = failed(&fx);
        assert_eq!(failures.len(), 2);
        assert!(failures[0].1.contains("died"));
        assert!(failures[1].1.contains("before this task started"));
        assert!(spawned(&fx).is_empty());
    }

    #[test]
    fn r14_a_failed_write_kills() {
        let (mut d, id) = one_ready();
        let fx = d.write_failed(id);
        assert!(has(
            &fx,
            |e| matches!(e, Effect::Signal(w, Signal::Kill) if *w == id)
        ));
    }

    fn timed(id: u64, at: Instant) -> Task<Probe> {
        Task {
            deadline: Some(Deadline {
                at,
                after: Duration::from_millis(5),
            }),
            ..task(id)
        }
    }

    fn timed_out() -> String {
        Error::TaskTimedOut {
            after: Duration::from_millis(5),
        }
        .to_string()
    }

    fn reply(task: u64) -> Reply {
        Reply {
            task,
            elapsed_ns: 1,
        }
    }

    #[test]
    fn r15_a_task_whose_deadline_passed_in_the_queue_never_starts() {
        let (mut d, _id) = one_ready();
        let now = Instant::now();
        let late = now + Duration::from_secs(3600);
        // Task 0 is running; task 1 waits with a deadline; every worker's timer covers it.
        let fx = accepted(&mut d, timed(1, late));
        assert!(has(&fx, |e| matches!(e, Effect::Rearm(_))));
        assert_eq!(d.queued(), 1);
        assert_eq!(d.timer_of(WorkerId(0)), Some(late));
        let fx = d.timer_expired(WorkerId(0), now);
        assert!(failed(&fx).is_empty());
        let fx = d.timer_expired(WorkerId(0), late);
        assert_eq!(failed(&fx), [(1, timed_out())]);
        assert!(!has(&fx, |e| matches!(e, Effect::Signal(..))));
        assert_eq!(d.queued(), 0);
        assert_eq!(d.timer_of(WorkerId(0)), None);
        // One already past when it reaches the front fails at dispatch, unsent.
        let fx = accepted(&mut d, timed(2, now));
        assert_eq!(failed(&fx), [(2, timed_out())]);
        assert!(!has(&fx, |e| matches!(e, Effect::Flush(_))));
        assert_eq!(d.in_flight(WorkerId(0)), 1);
    }

    #[test]
    fn r15_a_timed_task_waits_for_an_empty_worker_and_arms_its_timer() {
        let (mut d, id) = one_ready();
        let at = Instant::now() + Duration::from_secs(3600);
        let fx = accepted(&mut d, timed(1, at));
        assert!(!has(&fx, |e| matches!(e, Effect::Flush(_))));
        assert_eq!(d.in_flight(id), 1);
        let replied = d.replied(id, &[reply(0)]);
        assert!(has(
            &replied.effects,
            |e| matches!(e, Effect::Flush(w) if *w == id)
        ));
        assert!(has(
            &replied.effects,
            |e| matches!(e, Effect::Rearm(w) if *w == id)
        ));
        assert_eq!(d.timer_of(id), Some(at));
        // Untimed tasks may follow it.
        let _ = accepted(&mut d, task(2));
        assert_eq!(d.in_flight(id), 2);
    }

    #[test]
    fn r15_a_running_task_past_its_deadline_kills_the_worker_and_only_it_fails() {
        let (mut d, id, at) = one_ready_running_a_timed_task();
        let _ = accepted(&mut d, task(2));
        assert_eq!(d.in_flight(id), 2);
        let fx = d.timer_expired(id, at);
        assert!(has(
            &fx,
            |e| matches!(e, Effect::Signal(w, Signal::Kill) if *w == id)
        ));
        // Killed once: the timer no longer names that deadline.
        assert_eq!(d.timer_of(id), None);
        assert!(!has(&d.timer_expired(id, at), |e| matches!(
            e,
            Effect::Signal(..)
        )));
        // It had started task 1 (started = 2 with one reply): task 1 times out, task 2 is requeued.
        let fx = d.ended(id, end(EndCause::Exited, Some(2)));
        assert_eq!(failed(&fx), [(1, timed_out())]);
        assert_eq!(spawned(&fx).len(), 1);
        assert_eq!(d.queued(), 1);
    }

    #[test]
    fn r15_a_timed_out_task_killed_before_it_began_still_fails_as_timed_out() {
        let (mut d, id, at) = one_ready_running_a_timed_task();
        let _ = d.timer_expired(id, at);
        let fx = d.ended(id, end(EndCause::Exited, Some(1)));
        assert_eq!(failed(&fx), [(1, timed_out())]);
        assert_eq!(d.queued(), 0);
    }

    #[test]
    fn r15_a_reply_before_the_end_wins_over_the_deadline() {
        let (mut d, id, at) = one_ready_running_a_timed_task();
        let fx = d.timer_expired(id, at);
        assert!(has(&fx, |e| matches!(e, Effect::Signal(_, Signal::Kill))));
        let replied = d.replied(id, &[reply(1)]);
        assert_eq!(replied.jobs.len(), 1);
        let _ = replied.effects;
        let fx = d.ended(id, end(EndCause::Exited, Some(2)));
        assert!(failed(&fx).is_empty());
    }
}
