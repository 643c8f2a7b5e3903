//! A worker's monitor thread: starts the process, reads its replies, reaps it, replaces it.
//!
//! The monitor is also the thread that forks the worker, because Linux delivers the
//! parent-death signal when the *forking thread* exits: the monitor lives exactly until its
//! last worker is reaped, so a worker never outlives it, and it never dies before it.

use std::cell::Cell;
use std::io::{PipeReader, Write};
use std::process::Child;
use std::sync::Arc;

use cfutures_core::Error;

use crate::identity::build_id;
use crate::job::{Job, failure_error};
use crate::pool::{Deferred, Inner, Phase, Work};
use crate::spawn::{self, Spawned};
use crate::started::StartedCounter;
use crate::wire::{
    self, Failure, Frame, FrameError, FrameReader, Hello, PROTOCOL_VERSION, REPLY_HEADER, Ready,
    kind,
};

thread_local! {
    /// The pool this thread monitors a worker of (its `Inner`'s address), if any.
    static MONITOR_OF: Cell<usize> = const { Cell::new(0) };
}

/// Whether the current thread is one of `inner`'s monitors (which must not wait for
/// themselves to finish).
pub(crate) fn is_monitor_of(inner: &Inner) -> bool {
    MONITOR_OF.with(|m| m.get() == inner as *const Inner as usize)
}

/// How a worker's service ended.
enum End {
    /// End of file: the worker exited (on its own, or because we closed its pipe).
    Exited,
    /// It sent something that is not our protocol; it has been killed.
    Protocol(String),
    /// It never became ready; the text says why when the worker said so.
    Startup(Option<String>),
}

/// The monitor thread's body: serves worker after worker in slot `key` until told to stop.
pub(crate) fn run(inner: Arc<Inner>, key: u64) {
    MONITOR_OF.with(|m| m.set(Arc::as_ptr(&inner) as usize));
    loop {
        let spawned = match spawn::spawn_worker(inner.config.max_frame) {
            Ok(spawned) => spawned,
            Err(e) => {
                spawn_failed(&inner, key, e);
                return;
            }
        };
        if !serve_worker(&inner, key, spawned) {
            return;
        }
    }
}

fn spawn_failed(inner: &Inner, key: u64, error: std::io::Error) {
    let mut deferred = Deferred::default();
    {
        let mut st = inner.lock();
        inner.remove_slot(&mut st, key);
        // Other workers will serve the queue; with none left nothing would.
        if st.slots.is_empty() && !st.queue.is_empty() {
            inner.break_pool(
                &mut st,
                format!("cannot start a worker process: {error}"),
                &mut deferred,
            );
        }
    }
    inner.finish_deferred(deferred);
}

/// Runs one worker process from handshake to reaping; true if a replacement should start.
fn serve_worker(inner: &Arc<Inner>, key: u64, spawned: Spawned) -> bool {
    let Spawned {
        mut child,
        to_worker,
        from_worker,
        capacity,
        started,
    } = spawned;
    let pid = child.id();
    let writer = Arc::new(to_worker);
    {
        let mut st = inner.lock();
        if let Some(slot) = st.slot_mut(key) {
            slot.pid = Some(pid);
            slot.capacity = capacity;
            slot.writer = Some(Arc::clone(&writer));
        }
        if let Some(signal) = st.kill_signal {
            spawn::signal(pid, signal);
        }
    }
    let mut reader = FrameReader::new(from_worker, inner.config.max_frame);
    let end = match handshake(inner, &writer, &mut reader) {
        Ok(()) => {
            drop(writer);
            become_ready(inner, key);
            serve(inner, key, &mut reader)
        }
        Err(end) => {
            drop(writer);
            end
        }
    };
    drop(reader);
    finish_worker(inner, key, &mut child, started.as_ref(), end)
}

/// Sends the hello and waits for the worker's answer.
fn handshake(
    inner: &Inner,
    writer: &Arc<std::io::PipeWriter>,
    reader: &mut FrameReader<PipeReader>,
) -> Result<(), End> {
    let hello = Hello {
        protocol: PROTOCOL_VERSION,
        build: build_id().clone(),
        max_frame: inner.config.max_frame as u32,
        initializer: inner.config.initializer.clone(),
    };
    let mut bytes = Vec::new();
    wire::push_message(&mut bytes, kind::HELLO, &hello, usize::MAX)
        .map_err(|e| End::Startup(Some(format!("cannot encode the handshake: {e}"))))?;
    // A worker that died at once makes this fail; reading below then reports it.
    let _ = (&**writer).write_all(&bytes);
    let frame = match reader.next() {
        Ok(Some(frame)) => frame,
        Ok(None) | Err(FrameError::Truncated) | Err(FrameError::Io(_)) => {
            return Err(End::Startup(None));
        }
        Err(e) => return Err(End::Startup(Some(format!("bad handshake reply: {e}")))),
    };
    let payload = reader.bytes(frame.payload);
    match frame.kind {
        kind::READY => match wire::decode::<Ready>(payload) {
            Ok(ready) if ready.protocol == PROTOCOL_VERSION && &ready.build == build_id() => Ok(()),
            Ok(ready) => Err(End::Startup(Some(format!(
                "the worker runs another build or protocol ({:?}, protocol {})",
                ready.build, ready.protocol
            )))),
            Err(e) => Err(End::Startup(Some(format!(
                "unreadable handshake reply: {e}"
            )))),
        },
        kind::REJECTED => Err(End::Startup(Some(format!(
            "the worker refused the handshake: {}",
            wire::decode::<String>(payload).unwrap_or_else(|e| e)
        )))),
        kind::INIT_FAILED => {
            let why = match wire::decode::<Failure>(payload) {
                Ok(failure) => failure_error(failure).to_string(),
                Err(e) => format!("(unreadable failure: {e})"),
            };
            Err(End::Startup(Some(format!(
                "a worker's initializer failed: {why}"
            ))))
        }
        other => Err(End::Startup(Some(format!(
            "unexpected handshake reply of kind {other}"
        )))),
    }
}

/// How many workers in a row may die silently during start-up (no initializer configured)
/// and be replaced before the pool gives up and breaks.
const MAX_SILENT_STARTUP_DEATHS: u32 = 3;

fn become_ready(inner: &Inner, key: u64) {
    let mut deferred = Deferred::default();
    {
        let mut st = inner.lock();
        st.silent_startup_deaths = 0;
        if let Some(slot) = st.slot_mut(key) {
            slot.phase = Phase::Ready;
        }
        inner.dispatch(&mut st, &mut deferred);
    }
    inner.finish_deferred(deferred);
}

/// Reads replies until the worker's pipe ends or breaks the protocol.
fn serve(inner: &Inner, key: u64, reader: &mut FrameReader<PipeReader>) -> End {
    let mut frames: Vec<Frame> = Vec::new();
    let mut done: Vec<(Box<dyn Job>, Frame)> = Vec::new();
    loop {
        match reader.fill() {
            Ok(true) => {}
            // A worker that dies mid-reply is just as dead as one that dies between replies.
            Ok(false) | Err(FrameError::Truncated) => return End::Exited,
            Err(e) => return End::Protocol(e.to_string()),
        }
        let mut broken: Option<String> = None;
        loop {
            match reader.parse() {
                Ok(Some(frame)) => frames.push(frame),
                Ok(None) => break,
                Err(e) => {
                    broken = Some(e.to_string());
                    break;
                }
            }
        }
        let mut deferred = Deferred::default();
        {
            let mut st = inner.lock();
            let mut finished = 0;
            for frame in frames.drain(..) {
                let header = wire::split_words::<2>(reader.bytes(frame.payload.clone()));
                let Some(slot) = st.slot_mut(key) else {
                    broken.get_or_insert_with(|| "the worker's slot vanished".into());
                    break;
                };
                let (id, elapsed) = match header {
                    Some(([id, elapsed], _))
                        if frame.kind == kind::DONE || frame.kind == kind::FAILED =>
                    {
                        (id, elapsed)
                    }
                    _ => {
                        broken.get_or_insert_with(|| {
                            format!("unexpected reply frame of kind {}", frame.kind)
                        });
                        break;
                    }
                };
                // A worker answers in the order it was sent tasks.
                if slot.in_flight.front().is_none_or(|f| f.id != id) {
                    broken.get_or_insert_with(|| format!("a reply for task {id}, not expected"));
                    break;
                }
                let Some(task) = slot.in_flight.pop_front() else {
                    break;
                };
                slot.in_flight_bytes -= task.frame.len();
                slot.replied += 1;
                done.push((task.job, frame));
                finished += 1;
                st.record_run_time(elapsed);
            }
            st.release_idle(finished);
            inner.dispatch(&mut st, &mut deferred);
        }
        inner.finish_deferred(deferred);
        for (job, frame) in done.drain(..) {
            let body = &reader.bytes(frame.payload)[REPLY_HEADER..];
            if frame.kind == kind::DONE {
                job.finish(Ok(body));
            } else {
                let error = match wire::decode::<Failure>(body) {
                    Ok(failure) => failure_error(failure),
                    Err(e) => Error::Serialization(format!("unreadable task failure: {e}")),
                };
                job.finish(Err(error));
            }
        }
        if let Some(why) = broken {
            return End::Protocol(why);
        }
    }
}

/// Reaps the worker, fails the tasks it started and did not report, queues again the ones
/// it never started, and decides whether a replacement starts.
fn finish_worker(
    inner: &Inner,
    key: u64,
    child: &mut Child,
    started: Option<&StartedCounter>,
    end: End,
) -> bool {
    let pid = child.id();
    if matches!(end, End::Protocol(_) | End::Startup(Some(_))) {
        // Not our protocol (any more), or refused to serve: nothing it says can be trusted,
        // and it might not exit by itself, so it goes. (A worker that merely exited keeps its
        // own exit status for the error.)
        spawn::signal(pid, libc::SIGKILL);
    }
    let (held, replied) = {
        let mut st = inner.lock();
        match st.slot_mut(key) {
            Some(slot) => {
                // From here on nobody signals this pid: it is about to be reaped.
                slot.pid = None;
                slot.writer = None;
                slot.phase = Phase::Closing;
                slot.in_flight_bytes = 0;
                (std::mem::take(&mut slot.in_flight), slot.replied)
            }
            None => Default::default(),
        }
    };
    let reason = spawn::exit_reason(child.wait());
    // Reaped: the worker's last store to the counter is visible now.
    let mut lost = held;
    let unstarted = match started {
        Some(counter) => {
            let started_unreported = counter.load().saturating_sub(replied) as usize;
            lost.split_off(started_unreported.min(lost.len()))
        }
        None => Default::default(),
    };
    let error = match &end {
        End::Protocol(why) => Error::Serialization(format!(
            "worker process {pid} broke the wire protocol ({why}) and was stopped"
        )),
        _ => Error::WorkerDied { pid, reason },
    };
    for task in lost {
        task.job.finish(Err(error.clone()));
    }

    let mut deferred = Deferred::default();
    let respawn = {
        let mut st = inner.lock();
        if let End::Startup(why) = end {
            // A worker that cannot start breaks the pool (Python's BrokenProcessPool after a
            // failed initializer); unless we were killing the workers anyway. A worker that
            // died without a word while starting, with no initializer to blame, was most
            // likely killed from outside: it is replaced like any dead worker, unless workers
            // keep dying that way (then the executable cannot start workers at all).
            st.silent_startup_deaths += 1;
            let killed_from_outside = why.is_none()
                && inner.config.initializer.is_none()
                && st.silent_startup_deaths <= MAX_SILENT_STARTUP_DEATHS;
            if st.kill_signal.is_none()
                && !(st.shutdown && st.queue.is_empty())
                && !killed_from_outside
            {
                let why = why.unwrap_or_else(|| {
                    format!("worker process {pid} exited during startup ({reason})")
                });
                inner.break_pool(&mut st, why, &mut deferred);
            }
        }
        // Tasks the worker never started go first in line again, in their order; unless no
        // worker will ever take them.
        if st.broken.is_none() && st.kill_signal.is_none() {
            for task in unstarted.into_iter().rev() {
                st.queue.push_front(Work {
                    id: task.id,
                    frame: task.frame,
                    job: task.job,
                    claimed: true,
                });
            }
            inner.dispatch(&mut st, &mut deferred);
        } else {
            for task in unstarted {
                deferred.failed.push((task.job, error.clone()));
            }
        }
        let respawn = st.broken.is_none()
            && st.kill_signal.is_none()
            && (!st.shutdown || !st.queue.is_empty());
        if respawn {
            if let Some(slot) = st.slot_mut(key) {
                slot.restart();
            }
        } else {
            inner.remove_slot(&mut st, key);
        }
        respawn
    };
    inner.finish_deferred(deferred);
    respawn
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spawn::spawn_worker;

    /// Starts a real worker (this test binary re-executed), sends `hello`, returns the kind
    /// and payload of its answer and how it exited.
    fn handshake_with(hello: &Hello) -> (u8, Vec<u8>, std::process::ExitStatus) {
        let Spawned {
            mut child,
            to_worker,
            from_worker,
            ..
        } = spawn_worker(1 << 20).unwrap();
        let mut bytes = Vec::new();
        wire::push_message(&mut bytes, kind::HELLO, hello, usize::MAX).unwrap();
        (&to_worker).write_all(&bytes).unwrap();
        drop(to_worker);
        let mut reader = FrameReader::new(from_worker, 1 << 20);
        let frame = reader.next().unwrap().unwrap();
        let payload = reader.bytes(frame.payload).to_vec();
        (frame.kind, payload, child.wait().unwrap())
    }

    fn good_hello() -> Hello {
        Hello {
            protocol: PROTOCOL_VERSION,
            build: build_id().clone(),
            max_frame: 1 << 20,
            initializer: None,
        }
    }

    #[test]
    fn a_worker_answers_a_good_handshake_and_exits_at_end_of_file() {
        let (kind, payload, status) = handshake_with(&good_hello());
        assert_eq!(kind, kind::READY);
        let ready: Ready = wire::decode(&payload).unwrap();
        assert_eq!(&ready.build, build_id());
        assert_eq!(status.code(), Some(0));
    }

    #[test]
    fn a_worker_refuses_another_build() {
        let mut hello = good_hello();
        hello.build.exe[1] ^= 1; // another inode
        let (kind, payload, status) = handshake_with(&hello);
        assert_eq!(kind, kind::REJECTED);
        let why: String = wire::decode(&payload).unwrap();
        assert!(why.contains("not the parent's build"), "{why}");
        assert_eq!(status.code(), Some(70));

        let mut hello = good_hello();
        hello.build.layout += 16; // another code layout
        assert_eq!(handshake_with(&hello).0, kind::REJECTED);
    }

    #[test]
    fn a_worker_refuses_another_protocol_version() {
        let mut hello = good_hello();
        hello.protocol += 1;
        let (kind, payload, _) = handshake_with(&hello);
        assert_eq!(kind, kind::REJECTED);
        let why: String = wire::decode(&payload).unwrap();
        assert!(why.contains("protocol"), "{why}");
    }
}
