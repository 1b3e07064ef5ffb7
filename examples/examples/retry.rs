//! Retries a flaky TCP server with exponential backoff and seeded jitter, in real time.
//!
//! A local echo server drops the first four `FLAKY` requests; the client retries with
//! delays of 100 ms, 200 ms, 400 ms, 800 ms, each shortened by up to half by jitter drawn
//! from the seed (the first argument, 2024 by default). The same seed gives the same
//! schedule every run; the tests assert it on virtual time.
//!
//! ```sh
//! cargo run -p looptime-examples --example retry -- 7
//! ```

use std::error::Error;
use std::time::Duration;

use looptime_api::{Chronometer, Reactor, ReactorExt, SpawnerExt};
use looptime_examples::echo::{request, serve};
use looptime_examples::retry::{Jitter, RetryPolicy, retry};
use looptime_tokio::Tokio;

fn main() -> Result<(), Box<dyn Error>> {
    let seed = match std::env::args().nth(1) {
        Some(seed) => seed.parse()?,
        None => 2024,
    };
    let policy = RetryPolicy {
        first_delay: Duration::from_millis(100),
        factor: 2,
        max_delay: Duration::from_secs(2),
        max_attempts: 6,
        jitter: Some(Jitter::new(seed, 50)),
    };
    println!(
        "seed {seed}: backoff delays {:?}",
        policy.delays().collect::<Vec<_>>()
    );

    // A real runtime, no proxy: everything below runs in real time.
    let runtime = Tokio::current_thread()?;
    runtime.block_on(async {
        let listener = runtime.bind_tcp("127.0.0.1:0".parse()?)?;
        let addr = listener.local_addr()?;
        // Detached: the server runs until the runtime is dropped.
        drop(runtime.spawn(serve(runtime.clone(), listener)));
        println!("flaky server on {addr}: it drops the first 4 requests");

        let chrono = Chronometer::started();
        let answer = retry(&runtime, &policy, |attempt| {
            print!("{:>7.1?}  attempt {attempt}: ", chrono.elapsed());
            async {
                let answer = request(&runtime, addr, "FLAKY 4 hello", Duration::from_secs(2)).await;
                match &answer {
                    Ok(text) => println!("answered {text:?}"),
                    Err(error) => println!("{error}"),
                }
                answer
            }
        })
        .await?;
        println!("{:>7.1?}  got {answer:?}", chrono.elapsed());
        Ok::<(), Box<dyn Error>>(())
    })?
}
