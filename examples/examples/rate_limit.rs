//! A token bucket in real time: a burst, then the steady rate.
//!
//! Bursts of up to 5 calls, then one call every 250 ms: 13 calls take 2 s. The tests run
//! an hour of this on virtual time.
//!
//! ```sh
//! cargo run -p looptime-examples --example rate_limit
//! ```

use std::error::Error;
use std::time::Duration;

use looptime_api::{Chronometer, ReactorExt};
use looptime_examples::rate_limit::TokenBucket;
use looptime_tokio::Tokio;

fn main() -> Result<(), Box<dyn Error>> {
    // A real runtime, no proxy: everything below runs in real time.
    let runtime = Tokio::current_thread()?;
    let bucket = TokenBucket::new(&runtime, 5, Duration::from_millis(250)).ok_or("no limit")?;
    println!(
        "bursts of {}, then one call every {:?}",
        bucket.capacity(),
        bucket.refill()
    );
    runtime.block_on(async {
        let chrono = Chronometer::started();
        for call in 1..=13 {
            bucket.acquire().await;
            println!("{:>7.1?}  call {call}", chrono.elapsed());
        }
        match bucket.try_acquire() {
            Ok(()) => println!("unexpected: a token was left"),
            Err(exhausted) => println!("{:>7.1?}  {exhausted}", chrono.elapsed()),
        }
    })?;
    Ok(())
}
