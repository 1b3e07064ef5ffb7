//! R12 and `io_patience`: virtual time while a task waits on real sockets.
//!
//! Without timers, the scope waits for the I/O in real time (R12), up to `end` or
//! `idle_timeout`. With a timer pending, tracked I/O in flight holds time back as blocking
//! work does (R11), for as long as the I/O was active within `io_patience` of real time.

use std::time::Duration;

use futures_util::io::AsyncReadExt;
use looptime_api::{Chronometer, ClockExt, Reactor, ReactorExt, Settings, SpawnerExt};

use crate::peers::peer;
use crate::support::{
    ensure, ensure_eq, ms, real_at_least, real_below, secs, thread_cpu_time, virtual_proxy,
};
use crate::{Backend, Ctx, Failure, Outcome, Report};

/// Reads one byte through a proxy stream connected to `peer`, under `timeout` if given.
async fn read_byte(proxy: &looptime_api::Proxy, addr: std::net::SocketAddr) -> std::io::Result<u8> {
    let mut stream = proxy.connect_tcp(addr).await?;
    let mut byte = [0u8; 1];
    stream.read_exact(&mut byte).await?;
    Ok(byte[0])
}

/// R12: a peer that writes after 100 ms of real time, no `end`, `idle_timeout` or
/// `idle_step`: the read completes at loop time 0 after 0.1–0.12 s of real time.
pub fn read_waits_for_a_peer_in_real_time<B: Backend>(ctx: &Ctx) -> Outcome {
    let settings = Settings::new().idle_timeout(None);
    let (proxy, _on) = virtual_proxy::<B>(settings)?;
    let addr = peer(Some(ms(100)), b"!");
    let chrono = Chronometer::started();
    let byte = proxy.block_on(read_byte(&proxy, addr))??;
    let real = chrono.elapsed();
    ensure_eq!(byte, b'!', "the byte read");
    ensure_eq!(proxy.looptime(), Duration::ZERO, "loop time");
    real_at_least(real, ms(100), "the read")?;
    real_below(ctx, real, ms(120), "the read")?;
    Ok(Report::new(proxy.looptime(), real))
}

/// R12: the same with `idle_step = 10ms`: loop time follows real time in steps, to
/// 0.09–0.1 s.
pub fn read_with_idle_step_moves_loop_time<B: Backend>(ctx: &Ctx) -> Outcome {
    let settings = Settings::new().idle_timeout(None).idle_step(ms(10));
    let (proxy, _on) = virtual_proxy::<B>(settings)?;
    let addr = peer(Some(ms(100)), b"!");
    let chrono = Chronometer::started();
    let byte = proxy.block_on(read_byte(&proxy, addr))??;
    let real = chrono.elapsed();
    ensure_eq!(byte, b'!', "the byte read");
    let loop_time = proxy.looptime();
    ensure!(
        (ms(90)..=ms(100)).contains(&loop_time),
        "loop time {loop_time:?} is not within 0.09–0.1 s"
    );
    real_at_least(real, ms(100), "the read")?;
    real_below(ctx, real, ms(120), "the read")?;
    Ok(Report::new(loop_time, real))
}

/// R12: a silent peer with `idle_timeout = 1s`, `idle_step = 0.1s`: an idle-timeout error
/// at loop time 1 s, after 1.0–1.05 s of real time.
pub fn silent_peer_idle_timeout<B: Backend>(ctx: &Ctx) -> Outcome {
    let settings = Settings::new()
        .idle_timeout(Some(secs(1)))
        .idle_step(ms(100));
    let (proxy, _on) = virtual_proxy::<B>(settings)?;
    let addr = peer(None, b"");
    let chrono = Chronometer::started();
    let result = proxy.block_on(read_byte(&proxy, addr));
    let real = chrono.elapsed();
    ensure!(
        result.as_ref().is_err_and(|e| e.is_idle_timeout()),
        "expected an idle timeout, got {result:?}"
    );
    ensure_eq!(proxy.looptime(), secs(1), "loop time");
    real_at_least(real, secs(1), "the wait")?;
    real_below(ctx, real, ms(1050), "the wait")?;
    Ok(Report::new(proxy.looptime(), real))
}

/// R12, R13: a silent peer with `end = 1s`, `idle_step = 0.1s`: an end-of-time error at
/// loop time 1 s, after 1.0–1.05 s of real time.
pub fn silent_peer_end_of_time<B: Backend>(ctx: &Ctx) -> Outcome {
    let settings = Settings::new().end(secs(1)).idle_step(ms(100));
    let (proxy, _on) = virtual_proxy::<B>(settings)?;
    let addr = peer(None, b"");
    let chrono = Chronometer::started();
    let result = proxy.block_on(proxy.interruptible(read_byte(&proxy, addr)));
    let real = chrono.elapsed();
    ensure!(
        matches!(&result, Ok(Err(e)) if e.is_end_of_time()),
        "expected the end of time, got {result:?}"
    );
    ensure_eq!(proxy.looptime(), secs(1), "loop time");
    real_at_least(real, secs(1), "the wait")?;
    real_below(ctx, real, ms(1050), "the wait")?;
    Ok(Report::new(proxy.looptime(), real))
}

/// R12, R13: `end` and `idle_timeout` together on a silent peer: whichever comes first is
/// reported, and the wait does not spin (its CPU time stays under 10% of its real time).
pub fn silent_peer_first_of_end_and_idle_timeout<B: Backend>(ctx: &Ctx) -> Outcome {
    let mut total = Duration::ZERO;
    for (end, idle, case) in [
        (secs(1), ms(300), "idle timeout first"),
        (ms(300), secs(1), "end first"),
    ] {
        let settings = Settings::new().end(end).idle_timeout(Some(idle));
        let (proxy, _on) = virtual_proxy::<B>(settings)?;
        let addr = peer(None, b"");
        let chrono = Chronometer::started();
        let cpu_before = thread_cpu_time();
        let result = proxy.block_on(read_byte(&proxy, addr));
        let cpu = thread_cpu_time()
            .zip(cpu_before)
            .map(|(after, before)| after - before);
        let real = chrono.elapsed();
        total += real;
        let Err(error) = result else {
            return Err(Failure::new(format!(
                "{case}: the read ended without error"
            )));
        };
        if idle < end {
            ensure!(error.is_idle_timeout(), "{case}: got {error}");
            ensure_eq!(proxy.looptime(), Duration::ZERO, "{case}: loop time");
        } else {
            ensure!(error.is_end_of_time(), "{case}: got {error}");
            ensure_eq!(proxy.looptime(), end, "{case}: loop time");
        }
        real_at_least(real, ms(300), case)?;
        real_below(ctx, real, ms(350), case)?;
        if let Some(cpu) = cpu {
            ensure!(
                cpu * 10 < real,
                "{case}: the wait used {cpu:?} of CPU in {real:?} of real time (spinning)"
            );
        }
    }
    Ok(Report::real(total))
}

/// `io_patience` (default): `timeout(3600s, read)` with a peer answering after 200 ms of
/// real time succeeds, at a loop time of at most 0.25 s, in at most 0.3 s of real time
/// (tokio's paused clock fails it at once).
pub fn timeout_waits_for_a_slow_peer<B: Backend>(ctx: &Ctx) -> Outcome {
    let (proxy, _on) = virtual_proxy::<B>(Settings::new())?;
    let addr = peer(Some(ms(200)), b"!");
    let chrono = Chronometer::started();
    let result = proxy.block_on(proxy.timeout(secs(3600), read_byte(&proxy, addr)))?;
    let real = chrono.elapsed();
    ensure!(
        matches!(result, Ok(Ok(b'!'))),
        "the read under the timeout: {result:?}"
    );
    let loop_time = proxy.looptime();
    ensure!(loop_time <= ms(250), "loop time {loop_time:?} above 0.25 s");
    real_at_least(real, ms(200), "the read")?;
    real_below(ctx, real, ms(300), "the read")?;
    Ok(Report::new(loop_time, real))
}

/// `io_patience` with `idle_step = 10ms`: the same read, and loop time follows real time
/// in steps (0.18–0.25 s).
pub fn slow_peer_with_idle_step_tracks_real_time<B: Backend>(ctx: &Ctx) -> Outcome {
    let (proxy, _on) = virtual_proxy::<B>(Settings::new().idle_step(ms(10)))?;
    let addr = peer(Some(ms(200)), b"!");
    let chrono = Chronometer::started();
    let result = proxy.block_on(proxy.timeout(secs(3600), read_byte(&proxy, addr)))?;
    let real = chrono.elapsed();
    ensure!(
        matches!(result, Ok(Ok(b'!'))),
        "the read under the timeout: {result:?}"
    );
    let loop_time = proxy.looptime();
    ensure!(
        (ms(180)..=ms(250)).contains(&loop_time),
        "loop time {loop_time:?} does not follow the 0.2 s of real time"
    );
    real_below(ctx, real, ms(300), "the read")?;
    Ok(Report::new(loop_time, real))
}

/// `io_patience` (default 1 s): `timeout(3600s, read)` on a silent peer still fails at loop
/// time exactly 3600 s, after `io_patience` of real time (at most 0.25 s more).
pub fn timeout_fails_on_a_silent_peer<B: Backend>(ctx: &Ctx) -> Outcome {
    let (proxy, _on) = virtual_proxy::<B>(Settings::new())?;
    let patience = Settings::new().io_patience.expect("a default patience");
    let addr = peer(None, b"");
    let chrono = Chronometer::started();
    let result = proxy.block_on(proxy.timeout(secs(3600), read_byte(&proxy, addr)))?;
    let real = chrono.elapsed();
    ensure!(
        result.as_ref().is_err_and(|e| e.is_deadline()),
        "expected the timeout's deadline, got {result:?}"
    );
    ensure_eq!(proxy.looptime(), secs(3600), "loop time");
    real_at_least(real, patience, "the wait")?;
    real_below(ctx, real, patience + ms(250), "the wait")?;
    Ok(Report::new(proxy.looptime(), real))
}

/// `io_patience`: a background `loop { sleep(1s) }` does not race ahead during a 200 ms
/// real read (tokio's paused clock runs it ~80 000 virtual seconds meanwhile).
pub fn background_ticker_waits_for_the_read<B: Backend>(ctx: &Ctx) -> Outcome {
    let (proxy, _on) = virtual_proxy::<B>(Settings::new())?;
    let addr = peer(Some(ms(200)), b"!");
    let chrono = Chronometer::started();
    let (byte, ticks) = proxy.block_on(async {
        let ticks = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let ticker = {
            let (clock, ticks) = (proxy.clone(), ticks.clone());
            proxy.spawn(async move {
                loop {
                    clock.sleep(secs(1)).await;
                    ticks.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            })
        };
        let byte = read_byte(&proxy, addr).await;
        ticker.abort();
        (byte, ticks.load(std::sync::atomic::Ordering::Relaxed))
    })?;
    let real = chrono.elapsed();
    ensure_eq!(byte?, b'!', "the byte read");
    ensure!(
        ticks <= 1,
        "the ticker ran {ticks} times during a 0.2 s read"
    );
    let loop_time = proxy.looptime();
    ensure!(loop_time <= ms(250), "loop time {loop_time:?} above 0.25 s");
    real_below(ctx, real, ms(300), "the read")?;
    Ok(Report::new(loop_time, real))
}

/// `io_patience`: with no I/O in flight — a connected stream nobody reads, and after a read
/// has completed — timers compact instantly.
pub fn pure_timers_still_compact<B: Backend>(ctx: &Ctx) -> Outcome {
    let (proxy, _on) = virtual_proxy::<B>(Settings::new())?;
    let addr = peer(Some(Duration::ZERO), b"!");
    let chrono = Chronometer::started();
    proxy.block_on(async {
        let mut stream = proxy.connect_tcp(addr).await?;
        let mut byte = [0u8; 1];
        stream.read_exact(&mut byte).await?;
        ensure_eq!(&byte, b"!", "the byte read");
        let before = proxy.looptime();
        let after_read = Chronometer::started();
        proxy.sleep(secs(3600)).await;
        ensure_eq!(
            proxy.looptime() - before,
            secs(3600),
            "the sleep's loop time"
        );
        real_below(
            ctx,
            after_read.elapsed(),
            ms(50),
            "an hour's sleep beside an idle stream",
        )?;
        Ok::<_, Failure>(())
    })??;
    Ok(Report::new(proxy.looptime(), chrono.elapsed()))
}

/// `io_patience = None`: timers compact whatever I/O is in flight, as tokio's paused clock
/// does: `timeout(3600s, read)` fails at once even though the peer answers later.
pub fn io_patience_off_compacts_at_once<B: Backend>(ctx: &Ctx) -> Outcome {
    let (proxy, _on) = virtual_proxy::<B>(Settings::new().io_patience(None))?;
    let addr = peer(Some(ms(200)), b"!");
    let chrono = Chronometer::started();
    let result = proxy.block_on(proxy.timeout(secs(3600), read_byte(&proxy, addr)))?;
    let real = chrono.elapsed();
    ensure!(
        result.as_ref().is_err_and(|e| e.is_deadline()),
        "expected the timeout's deadline at once, got {result:?}"
    );
    ensure_eq!(proxy.looptime(), secs(3600), "loop time");
    real_below(ctx, real, ms(100), "the timeout")?;
    Ok(Report::new(proxy.looptime(), real))
}
