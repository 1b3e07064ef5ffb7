use looptime_api::*;
use looptime_tokio::Tokio;
use std::time::{Duration, Instant as Real};

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

#[test]
fn sleep_10s() {
    let rt = Tokio::current_thread().unwrap();
    let p = Proxy::new(&rt);
    let _g = p.setup_looptime(Settings::new()).unwrap();
    let t = Real::now();
    p.block_on(async { p.sleep(secs(10)).await }).unwrap();
    eprintln!("real {:?}", t.elapsed());
    assert_eq!(p.looptime(), secs(10));
}

#[test]
fn many_sleeps() {
    let rt = Tokio::current_thread().unwrap();
    let p = Proxy::new(&rt);
    let _g = p.setup_looptime(Settings::new()).unwrap();
    let t = Real::now();
    p.block_on(async {
        for _ in 0..10_000 {
            p.sleep(secs(1)).await
        }
    })
    .unwrap();
    eprintln!("real {:?}", t.elapsed());
    assert_eq!(p.looptime(), secs(10_000));
}

#[test]
fn timeouts_and_spawn() {
    let rt = Tokio::multi_thread().unwrap();
    let p = Proxy::new(&rt);
    let _g = p.setup_looptime(Settings::new()).unwrap();
    p.block_on(async {
        let r = p.timeout(secs(10), p.sleep(secs(1))).await;
        assert!(r.is_ok());
        assert_eq!(p.looptime(), secs(1));
        let r = p.timeout(secs(1), p.sleep(secs(10))).await;
        assert!(r.unwrap_err().is_deadline());
        assert_eq!(p.looptime(), secs(2));
        let q = p.clone();
        let h = p.spawn(async move {
            q.sleep(secs(1)).await;
            7
        });
        let r = p.timeout(secs(9), h).await;
        assert_eq!(r.unwrap().unwrap(), 7);
        assert_eq!(p.looptime(), secs(3));
    })
    .unwrap();
}

#[test]
fn end_of_time() {
    let rt = Tokio::current_thread().unwrap();
    let p = Proxy::new(&rt);
    let _g = p.setup_looptime(Settings::new().end(secs(1))).unwrap();
    let t = Real::now();
    let r = p.block_on(async { p.sleep(secs(10)).await });
    eprintln!("real {:?} {:?}", t.elapsed(), r);
    assert!(r.unwrap_err().is_end_of_time());
    assert_eq!(p.looptime(), secs(1));
}

#[test]
fn idle_timeout() {
    let rt = Tokio::current_thread().unwrap();
    let p = Proxy::new(&rt);
    let _g = p
        .setup_looptime(Settings::new().idle_step(Duration::from_millis(100)))
        .unwrap();
    let t = Real::now();
    let r = p.block_on(async { std::future::pending::<()>().await });
    eprintln!("real {:?} {:?}", t.elapsed(), r);
    assert!(r.unwrap_err().is_idle_timeout());
    assert_eq!(p.looptime(), secs(1));
}

#[test]
fn blocking() {
    let rt = Tokio::current_thread().unwrap();
    let p = Proxy::new(&rt);
    let _g = p
        .setup_looptime(Settings::new().idle_step(Duration::from_millis(10)))
        .unwrap();
    let t = Real::now();
    p.block_on(async {
        let r = p
            .timeout(
                secs(9),
                p.spawn_blocking(|| std::thread::sleep(Duration::from_millis(100))),
            )
            .await;
        assert!(r.unwrap().is_ok());
    })
    .unwrap();
    eprintln!("real {:?} loop {:?}", t.elapsed(), p.looptime());
}

#[test]
fn leaks() {
    let rt = Tokio::current_thread().unwrap();
    let p = Proxy::new(&rt);
    let r = p
        .block_on(async {
            let _h = p.spawn(std::future::pending::<()>());
            let _b = p.spawn_blocking(|| std::thread::sleep(Duration::from_millis(400)));
            let _c = p.spawn(async { panic!("boom") });
            let t = Real::now();
            p.sleep(Duration::from_millis(1)).await;
            eprintln!("slept {:?}", t.elapsed());
            p.check_and_shutdown(CheckKind::ALL).await
        })
        .unwrap();
    let e = r.unwrap_err();
    eprintln!("{e}");
    assert_eq!(e.len(), 3);
}

#[test]
fn advance() {
    let rt = Tokio::current_thread().unwrap();
    let p = Proxy::new(&rt);
    let t = Real::now();
    p.block_on(async {
        let q = p.clone();
        let h = p.spawn(async move { q.timeout(secs(900), std::future::pending::<()>()).await });
        p.advance_time(secs(900)).await.unwrap();
        assert!(h.await.unwrap().unwrap_err().is_deadline());
    })
    .unwrap();
    eprintln!("real {:?}", t.elapsed());
    assert!(t.elapsed() < secs(1));
}
