//! R15 resolution and R2 integer time: deadlines are whole ticks, rounded up; sums exact.

use std::time::Duration;

use looptime_api::{Chronometer, ClockExt, ReactorExt, Settings};

use crate::support::{ensure_eq, ms, virtual_proxy};
use crate::{Backend, Ctx, Outcome, Report};

/// R15: with `start = 0.2s`, `sleep(0.09s)` gives exactly 0.29 s.
pub fn start_plus_sleep_is_exact<B: Backend>(_: &Ctx) -> Outcome {
    let (proxy, _on) = virtual_proxy::<B>(Settings::new().start(ms(200)))?;
    ensure_eq!(proxy.looptime(), ms(200), "loop time at setup");
    let chrono = Chronometer::started();
    proxy.block_on(proxy.sleep(ms(90)))?;
    ensure_eq!(proxy.looptime(), ms(290), "loop time");
    Ok(Report::new(proxy.looptime(), chrono.elapsed()))
}

/// R15: a timer under half a tick away still fires, at the next tick (no livelock).
pub fn timer_under_half_a_tick_fires<B: Backend>(_: &Ctx) -> Outcome {
    let (proxy, _on) = virtual_proxy::<B>(Settings::new().resolution(ms(1)))?;
    let chrono = Chronometer::started();
    proxy.block_on(proxy.sleep(Duration::from_micros(300)))?;
    ensure_eq!(
        proxy.looptime(),
        ms(1),
        "a 0.3-tick sleep ends at the next tick"
    );
    proxy.block_on(proxy.sleep(Duration::from_micros(1700)))?;
    ensure_eq!(proxy.looptime(), ms(3), "1 ms + 1.7 ms rounds up to 3 ms");
    Ok(Report::new(proxy.looptime(), chrono.elapsed()))
}

/// R2, R15: sums that floating point gets wrong are exact (3 × 0.1 s, 1000 × 100 µs).
pub fn sums_are_exact<B: Backend>(_: &Ctx) -> Outcome {
    let (proxy, _on) = virtual_proxy::<B>(Settings::new())?;
    let chrono = Chronometer::started();
    proxy.block_on(async {
        for _ in 0..3 {
            proxy.sleep(ms(100)).await;
        }
    })?;
    ensure_eq!(proxy.looptime(), ms(300), "3 × 0.1 s");
    proxy.block_on(async {
        for _ in 0..1000 {
            proxy.sleep(Duration::from_micros(100)).await;
        }
    })?;
    ensure_eq!(proxy.looptime(), ms(400), "0.3 s + 1000 × 100 µs");
    Ok(Report::new(proxy.looptime(), chrono.elapsed()))
}
