//! The echo server and its client in real time: an echo, a slow answer, a flaky server
//! retried, a request count, and a timeout.
//!
//! ```sh
//! cargo run -p looptime-examples --example echo
//! ```

use std::error::Error;
use std::time::Duration;

use looptime_api::{Chronometer, Reactor, ReactorExt, SpawnerExt};
use looptime_examples::echo::{request, request_with_retries, serve};
use looptime_tokio::Tokio;

fn main() -> Result<(), Box<dyn Error>> {
    // A real runtime, no proxy: everything below runs in real time.
    let runtime = Tokio::current_thread()?;
    runtime.block_on(async {
        let listener = runtime.bind_tcp("127.0.0.1:0".parse()?)?;
        let addr = listener.local_addr()?;
        // Detached: the server runs until the runtime is dropped.
        drop(runtime.spawn(serve(runtime.clone(), listener)));
        println!("echo server on {addr}");

        let timeout = Duration::from_secs(2);
        let chrono = Chronometer::started();
        let show = |what: &str, answer: &dyn std::fmt::Debug| {
            println!("{:>7.1?}  {what:<28} -> {answer:?}", chrono.elapsed());
        };
        let answer = request(&runtime, addr, "ECHO hello", timeout).await;
        show("ECHO hello", &answer);
        let answer = request(&runtime, addr, "SLOW 300 patience", timeout).await;
        show("SLOW 300 patience", &answer);
        let line = "FLAKY 2 persistence";
        let answer =
            request_with_retries(&runtime, addr, line, timeout, 5, Duration::from_millis(100))
                .await;
        show("FLAKY 2 (retried)", &answer);
        let answer = request(&runtime, addr, "COUNT", timeout).await;
        show("COUNT", &answer);
        let answer = request(
            &runtime,
            addr,
            "SLOW 5000 never",
            Duration::from_millis(500),
        )
        .await;
        show(
            "SLOW 5000 (500 ms timeout)",
            &answer.map_err(|e| e.to_string()),
        );
        Ok::<(), Box<dyn Error>>(())
    })?
}
