//! What a worker rank does instead of the program's `main`: introduce itself to rank 0, then
//! serve tasks in arrival order until rank 0 says stop.
//!
//! Tasks arrive pipelined (several may wait in MPI's buffers or in [`serve`]'s queue while
//! one runs); every reply is sent as soon as its task ends, so a task that never ends holds
//! back no finished result. Between messages the rank polls with [`Backoff`]: it does not
//! spin while idle.

use std::collections::VecDeque;
use std::time::Instant;

use crate::backoff::Backoff;
use crate::comm::Comm;
use crate::frames::{self, Hello, TASK_HEADER};
use crate::shipping::{self, Call, Failure, build_id};

/// Serves until `STOP`; protocol violations end the job.
pub(crate) fn serve(comm: &mut Comm, host: &str) {
    let rank = comm.rank();
    let pid = std::process::id();
    shipping::install_panic_hook(format!("MPI rank {rank} (host {host}, pid {pid})"));
    let hello = Hello {
        build: build_id().clone(),
        host: host.to_owned(),
        pid,
    };
    let hello = postcard::to_allocvec(&hello).expect("a Hello always encodes");
    comm.send(0, frames::HELLO, hello);

    let mut queue: VecDeque<Vec<u8>> = VecDeque::new();
    let mut stopping = false;
    let mut backoff = Backoff::default();
    loop {
        while let Some(message) = comm.try_receive() {
            match (message.source, message.tag) {
                (0, frames::TASK) => queue.push_back(message.bytes),
                (0, frames::STOP) => stopping = true,
                (source, tag) => comm.abort(
                    &format!("rank {rank} got a message with tag {tag} from rank {source}"),
                    74,
                ),
            }
        }
        comm.progress();
        if let Some(task) = queue.pop_front() {
            let (tag, reply) = run_task(&task)
                .unwrap_or_else(|why| comm.abort(&format!("rank {rank}: {why}"), 74));
            comm.send(0, tag, reply);
            backoff.reset();
        } else if stopping {
            comm.flush();
            return;
        } else {
            backoff.snooze(false);
        }
    }
}

/// Runs one TASK message; returns the reply's tag and bytes, or why the message is malformed.
fn run_task(task: &[u8]) -> Result<(i32, Vec<u8>), String> {
    let Some(([id, entry, fn_word], arg)) = frames::split_words::<3>(task) else {
        return Err(format!(
            "a task message shorter than its {TASK_HEADER}-byte header"
        ));
    };
    let call = Call {
        entry: entry as i64,
        fn_word,
    };
    let mut out = Vec::with_capacity(64);
    frames::push_words(&mut out, &[id, 0]);
    let began = Instant::now();
    // SAFETY: the call comes from rank 0, which checked in the handshake that this rank runs
    // the same build (`shipping` module docs).
    let outcome = unsafe { shipping::run(call, arg, &mut out) };
    let elapsed = began.elapsed().as_nanos() as u64;
    out[8..16].copy_from_slice(&elapsed.to_le_bytes());
    let failure = match outcome {
        Ok(()) if out.len() <= crate::MAX_MESSAGE => return Ok((frames::DONE, out)),
        Ok(()) => Failure::Serialization(format!(
            "the result takes {} bytes, more than an MPI message holds ({} bytes)",
            out.len(),
            crate::MAX_MESSAGE
        )),
        Err(failure) => failure,
    };
    out.truncate(16);
    if postcard::to_io(&failure, &mut out).is_err() || out.len() > crate::MAX_MESSAGE {
        out.truncate(16);
        let short = Failure::Serialization("the task's failure was too large to send".into());
        postcard::to_io(&short, &mut out).map_err(|e| e.to_string())?;
    }
    Ok((frames::FAILED, out))
}
