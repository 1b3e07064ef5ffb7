//! I/O through [`Futures`]'s `Reactor` (async-io's reactor), directly and through a
//! `Proxy`: a TCP and a UDP roundtrip over loopback.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use futures_lite::{AsyncReadExt, AsyncWriteExt, future};
use looptime_api::{Proxy, Reactor, ReactorExt, Runtime, SpawnerExt};
use looptime_futures_timer::Futures;

fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// Runs `test` on `rt` with a ten-second real-time limit.
fn run<R: Reactor + ?Sized>(rt: &R, test: impl Future<Output = ()>) {
    let limit = async {
        rt.sleep_real(Duration::from_secs(10)).await;
        panic!("timed out after 10 s");
    };
    rt.block_on(future::or(test, limit)).unwrap();
}

/// A client in the root future and a server in a task spawned on `rt`, both made through
/// `rt`'s `Reactor`: one request and its reply over loopback.
fn tcp_roundtrip<R: Runtime + Clone + 'static>(rt: &R) {
    run(rt, async {
        let listener = rt.bind_tcp(loopback()).unwrap();
        let addr = listener.local_addr().unwrap();
        let server = rt.spawn(async move {
            let (mut stream, peer) = listener.accept().await.unwrap();
            let mut request = [0; 4];
            stream.read_exact(&mut request).await.unwrap();
            assert_eq!(&request, b"ping");
            stream.write_all(b"pong").await.unwrap();
            stream.close().await.unwrap();
            peer
        });
        let mut client = rt.connect_tcp(addr).await.unwrap();
        assert_eq!(client.peer_addr().unwrap(), addr);
        client.write_all(b"ping").await.unwrap();
        let mut reply = Vec::new();
        client.read_to_end(&mut reply).await.unwrap();
        assert_eq!(reply, b"pong");
        let peer = server.await.unwrap();
        assert_eq!(peer, client.local_addr().unwrap());
    });
}

/// Two sockets made through `rt`'s `Reactor`, one in a spawned task: a datagram each way.
fn udp_roundtrip<R: Runtime + Clone + 'static>(rt: &R) {
    run(rt, async {
        let ours = rt.bind_udp(loopback()).unwrap();
        let theirs = rt.bind_udp(loopback()).unwrap();
        let (our_addr, their_addr) = (ours.local_addr().unwrap(), theirs.local_addr().unwrap());
        let echo = rt.spawn(async move {
            let mut buf = [0; 16];
            let (n, from) = theirs.recv_from(&mut buf).await.unwrap();
            theirs.send_to(&buf[..n], from).await.unwrap();
            from
        });
        assert_eq!(ours.send_to(b"datagram", their_addr).await.unwrap(), 8);
        let mut buf = [0; 16];
        let (n, from) = ours.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"datagram");
        assert_eq!(from, their_addr);
        assert_eq!(echo.await.unwrap(), our_addr);
    });
}

#[test]
fn tcp_roundtrip_through_the_runtime() {
    tcp_roundtrip(&runtime());
}

#[test]
fn udp_roundtrip_through_the_runtime() {
    udp_roundtrip(&runtime());
}

#[test]
fn tcp_roundtrip_through_a_proxy() {
    tcp_roundtrip(&Proxy::new(&runtime()));
}

#[test]
fn udp_roundtrip_through_a_proxy() {
    udp_roundtrip(&Proxy::new(&runtime()));
}

fn runtime() -> Futures {
    Futures::new().unwrap()
}
