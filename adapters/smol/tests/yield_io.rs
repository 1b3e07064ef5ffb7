//! `yield_now` lets the async-io reactor poll I/O before the yielding task resumes.
//!
//! One test alone in its binary: async-io's reactor is shared by the whole process, and
//! whichever thread holds it polls I/O for everyone. When this thread holds it (the usual
//! case) the pass polls I/O itself and the order below is exact; when async-io's helper
//! thread holds it, that thread delivers the event concurrently and may lose the race to
//! the resuming task. So the check is statistical: most rounds, not all. (A self-waking
//! yield loses every round: the executor runs the yielding task again before the reactor
//! polls at all.)

#![cfg(unix)]

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_io::Async;
use looptime_api::{Reactor, ReactorExt, SpawnerExt};
use looptime_smol::Smol;

#[test]
fn io_ready_before_a_yield_is_delivered_before_it_resumes() {
    const ROUNDS: usize = 200;
    let smol = Smol::new();
    let mut delivered = 0;
    for _ in 0..ROUNDS {
        let (read_end, mut write_end) = UnixStream::pair().unwrap();
        let read_end = Async::new(read_end).unwrap();
        let readable = Arc::new(AtomicBool::new(false));
        let seen = smol
            .block_on(async {
                let flag = readable.clone();
                let reader = smol.spawn(async move {
                    read_end.readable().await.unwrap();
                    flag.store(true, Ordering::SeqCst);
                });
                let (runtime, flag) = (smol.clone(), readable.clone());
                let writer = smol.spawn(async move {
                    runtime.yield_now().await; // the reader registers its interest
                    write_end.write_all(&[1]).unwrap();
                    runtime.yield_now().await; // the reactor sees the byte, the reader runs
                    flag.load(Ordering::SeqCst)
                });
                let seen = writer.await.unwrap();
                reader.await.unwrap();
                seen
            })
            .unwrap();
        delivered += usize::from(seen);
    }
    assert!(
        delivered * 2 >= ROUNDS,
        "the reader ran before the writer resumed in only {delivered} of {ROUNDS} rounds"
    );
}
