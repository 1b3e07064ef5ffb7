//! # looptime-async-io
//!
//! The I/O of [looptime](looptime_api) on [async-io](async_io)'s reactor: the five I/O
//! constructors of [`Reactor`](looptime_api::Reactor) (SPEC R4) as free functions, each
//! making the runtime-agnostic type of [`looptime_api::io`] over an
//! [`async_io::Async`] object:
//!
//! | function | makes | over |
//! | --- | --- | --- |
//! | [`connect_tcp`] | [`TcpStream`](looptime_api::io::TcpStream) | `Async<std::net::TcpStream>` |
//! | [`bind_tcp`] | [`TcpListener`](looptime_api::io::TcpListener) | `Async<std::net::TcpListener>` |
//! | [`bind_udp`] | [`UdpSocket`](looptime_api::io::UdpSocket) | `Async<std::net::UdpSocket>` |
//! | [`watch_fd`] (unix) | [`FdWatcher`](looptime_api::io::FdWatcher) | `Async<OwnedFd>` |
//! | [`signal`] (unix) | [`Signals`](looptime_api::io::Signals) | [`async_signal::Signals`] |
//!
//! It is shared by the three adapters whose runtimes do their I/O on async-io's
//! process-wide reactor: `looptime-smol`, `looptime-async-std` (async-std is built on
//! async-io) and `looptime-futures-timer` (the `futures` thread pool has no reactor of its
//! own; async-io's driver thread polls the reactor for it). Their `Reactor` impls forward
//! to these functions, so the three behave alike.
//!
//! The objects work from any thread and under any executor: whichever thread is in
//! [`async_io::block_on`] polls the reactor, and async-io's own `async-io` thread polls it
//! when no such thread does.
//!
//! ```
//! use futures_lite::{AsyncReadExt, AsyncWriteExt};
//!
//! async_io::block_on(async {
//!     let listener = looptime_async_io::bind_tcp("127.0.0.1:0".parse().unwrap()).unwrap();
//!     let addr = listener.local_addr().unwrap();
//!     let mut client = looptime_async_io::connect_tcp(addr).await.unwrap();
//!     let (mut server, peer) = listener.accept().await.unwrap();
//!     assert_eq!(peer, client.local_addr().unwrap());
//!
//!     client.write_all(b"ping").await.unwrap();
//!     let mut buf = [0; 4];
//!     server.read_exact(&mut buf).await.unwrap();
//!     assert_eq!(&buf, b"ping");
//! });
//! ```
//!
//! ## Semantics
//!
//! - Every object is registered with async-io's reactor and is non-blocking; each
//!   operation first tries the system call and waits for readiness only when it would
//!   block, as `async_io::Async`'s own methods do.
//! - async-io keeps one waker per direction (read, write) and object: when two tasks wait
//!   for the same direction of one object (two `accept`s on a listener, two
//!   `recv_from`s on a socket, two readers on a watcher), only the one that polled last is
//!   woken. A sending and a receiving task can share a UDP socket.
//! - [`watch_fd`] puts the descriptor in non-blocking mode.
//! - [`signal`] registers a handler through `signal-hook-registry` (the process-wide
//!   handler replaces the signal's default action for good). Each stream gets every
//!   delivery; those that arrive while nobody polls the stream are coalesced into one.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

#[cfg(unix)]
mod fd;
#[cfg(unix)]
mod signal;
mod tcp;
mod udp;

#[cfg(unix)]
pub use fd::watch_fd;
#[cfg(unix)]
pub use signal::signal;
pub use tcp::{bind_tcp, connect_tcp};
pub use udp::bind_udp;
