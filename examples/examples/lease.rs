//! Renews a lease in real time, then shows a renewal that hangs being given up on.
//!
//! A 900 ms lease is renewed every 300 ms (a third of it) for 1.5 s; each renewal takes a
//! few milliseconds. Then a second renewer meets a renewal that never answers: it gives up
//! one period later, while the lease still holds for another period. The tests run a day
//! of this on virtual time.
//!
//! ```sh
//! cargo run -p looptime-examples --example lease
//! ```

use std::error::Error;
use std::time::Duration;

use looptime_api::{Chronometer, ClockExt, ReactorExt};
use looptime_examples::lease::LeaseRenewer;
use looptime_tokio::Tokio;

fn main() -> Result<(), Box<dyn Error>> {
    let renewer = LeaseRenewer::new(Duration::from_millis(900)).ok_or("lease too short")?;
    // A real runtime, no proxy: everything below runs in real time.
    let runtime = Tokio::current_thread()?;
    runtime.block_on(async {
        println!(
            "lease {:?}, renewed every {:?}",
            renewer.lease(),
            renewer.period()
        );
        let chrono = Chronometer::started();
        let mut calls = 0u64;
        let renewals = renewer
            .run(&runtime, Duration::from_millis(1500), || {
                calls += 1;
                let (runtime, chrono, call) = (&runtime, &chrono, calls);
                async move {
                    runtime.sleep(Duration::from_millis(5 * call)).await;
                    println!("{:>7.1?}  renewal {call} done", chrono.elapsed());
                    Ok::<(), String>(())
                }
            })
            .await
            .map_err(|e| e.to_string())?;
        println!("{} renewals, completed at {renewals:.1?}", renewals.len());

        println!("\nnow the fourth renewal hangs:");
        let chrono = Chronometer::started();
        let mut calls = 0;
        let stopped = renewer
            .run(&runtime, Duration::MAX, || {
                calls += 1;
                let (runtime, hang) = (&runtime, calls == 4);
                println!("{:>7.1?}  renewal {calls} sent", chrono.elapsed());
                async move {
                    if hang {
                        std::future::pending::<()>().await;
                    }
                    runtime.sleep(Duration::from_millis(5)).await;
                    Ok::<(), String>(())
                }
            })
            .await;
        match stopped {
            Ok(_) => println!("unexpected: the renewer stopped without an error"),
            Err(error) => println!("{:>7.1?}  {error}", chrono.elapsed()),
        }
        Ok::<(), Box<dyn Error>>(())
    })?
}
