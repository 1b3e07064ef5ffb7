//! Runtime-agnostic I/O made through a [`Reactor`](crate::Reactor) (SPEC R4): TCP streams
//! and listeners, UDP sockets, readiness watchers on raw file descriptors, and Unix signal
//! streams.
//!
//! Each type here is a thin handle over its runtime's own object (a `tokio::net::TcpStream`,
//! an `async_io::Async<std::net::TcpStream>`, …), behind a small `…Impl` trait that runtime
//! adapters implement. Code that takes `&impl Reactor` or `&dyn Runtime` gets the same types
//! whatever runtime is underneath, with the [`futures-io`](futures_io) traits for streams.
//!
//! Made through a [`Proxy`](crate::Proxy), each of them is also *tracked*: the proxy records
//! where it was created, closes it at
//! [`check_and_shutdown`](crate::Proxy::check_and_shutdown) (after which the handle returns
//! an [`io::Error`](std::io::Error) and never touches the closed descriptor), reports it if
//! its kind is selected, and knows when a task waits on it — which is what virtual time
//! reads to decide whether time may jump while I/O is in flight (SPEC R12 and
//! [`Settings::io_patience`](crate::Settings::io_patience)).
//!
//! Objects whose methods take `&self` (listeners, UDP sockets, watchers) may be shared
//! between tasks, but like the runtimes' own objects they wake one waiter per direction:
//! a sending and a receiving task can share a UDP socket; two tasks accepting on one
//! listener at once cannot.
//!
//! ```
//! use futures_util::io::{AsyncReadExt, AsyncWriteExt};
//! use looptime_api::{Proxy, Reactor, ReactorExt};
//!
//! let runtime = looptime_tokio::Tokio::current_thread().unwrap();
//! let proxy = Proxy::new(&runtime);
//! proxy.block_on(async {
//!     let listener = proxy.bind_tcp("127.0.0.1:0".parse().unwrap()).unwrap();
//!     let mut client = proxy.connect_tcp(listener.local_addr().unwrap()).await.unwrap();
//!     let (mut server, _peer) = listener.accept().await.unwrap();
//!     client.write_all(b"ping").await.unwrap();
//!     let mut buf = [0; 4];
//!     server.read_exact(&mut buf).await.unwrap();
//!     assert_eq!(&buf, b"ping");
//! }).unwrap();
//! ```

#[cfg(unix)]
mod fd;
#[cfg(unix)]
mod signal;
mod tcp;
mod udp;

use core::future::Future;
use core::pin::Pin;

#[cfg(unix)]
pub use fd::{FdWatcher, FdWatcherImpl, Interest};
#[cfg(unix)]
pub use signal::{SignalKind, Signals, SignalsImpl};
pub use tcp::{TcpListener, TcpListenerImpl, TcpStream, TcpStreamImpl};
pub use udp::{UdpSocket, UdpSocketImpl};

/// A boxed future of I/O, as [`Reactor::connect_tcp`](crate::Reactor::connect_tcp) returns.
pub type IoFuture<T> = Pin<Box<dyn Future<Output = std::io::Result<T>> + Send + 'static>>;

/// The error of a [`Reactor`](crate::Reactor) that cannot make this kind of I/O.
pub(crate) fn unsupported(what: &str) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        format!("this runtime adapter does not provide {what}"),
    )
}
