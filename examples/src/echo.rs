//! A line-based request/response TCP server and its client, generic over looptime's traits.
//!
//! The protocol: a client sends one request per line (`\n`-terminated; a trailing `\r` is
//! ignored) and the server answers each with one line:
//!
//! | request | answer |
//! |---|---|
//! | `ECHO <text>` | `<text>` |
//! | `SLOW <ms> <text>` | `<text>`, after `<ms>` milliseconds of the server's own clock |
//! | `DROP` | none: the server closes the connection |
//! | `FLAKY <n> <key>` | none for the first `<n>` requests carrying `<key>` (the connection is closed), then `<key>` |
//! | `COUNT` | how many requests the server has received, this one included |
//! | anything else | `ERR <reason>` |
//!
//! [`serve`] runs the server on any [`Runtime`]: a runtime adapter in production, or a
//! [`Proxy`](looptime_api::Proxy) in a test. Each connection gets its own task; while a
//! `SLOW` answer is pending the server keeps reading, so a client that hangs up is noticed
//! at once and the connection's task ends instead of sleeping on. [`request`] and
//! [`request_with_retries`] are the client side: one connection per request, under a
//! timeout on the caller's [`Clock`], retried with exponential backoff on that clock.
//!
//! Everything waits on the clock it is given. On a proxy on virtual time, a client waiting
//! for a server that answers within [`Settings::io_patience`](looptime_api::Settings::io_patience)
//! gets the real answer, and an hour's timeout on a silent server fails at loop time
//! exactly one hour after about `io_patience` of real time.
//!
//! ```
//! use looptime_api::{CheckKind, Proxy, Reactor, ReactorExt, Settings, SpawnerExt};
//! use looptime_examples::echo::{request, serve};
//! use std::time::Duration;
//!
//! let runtime = looptime_tokio::Tokio::current_thread().unwrap();
//! let proxy = Proxy::new(&runtime);
//! let _on = proxy.setup_looptime(Settings::new()).unwrap();
//! proxy.block_on(async {
//!     let listener = proxy.bind_tcp("127.0.0.1:0".parse().unwrap()).unwrap();
//!     let addr = listener.local_addr().unwrap();
//!     proxy.spawn(serve(proxy.clone(), listener));
//!     let answer = request(&proxy, addr, "ECHO hello", Duration::from_secs(5)).await;
//!     assert_eq!(answer.unwrap(), "hello");
//!     // The server still runs: the proxy closes it, and reports its task and listener.
//!     let leaks = proxy.check_and_shutdown(CheckKind::ALL).await.unwrap_err();
//!     assert!(leaks.kinds().contains(CheckKind::TASKS | CheckKind::SERVERS));
//! }).unwrap();
//! ```

use core::convert::Infallible;
use core::fmt;
use core::pin::pin;
use core::time::Duration;
use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures_util::future::{Either, select};
use futures_util::io::{AsyncReadExt, AsyncWriteExt};
use looptime_api::io::{TcpListener, TcpStream};
use looptime_api::{Clock, ClockExt, Reactor, Runtime, SpawnerExt, TimeError};

use crate::retry::{RetryError, RetryPolicy, retry};

/// The longest request or answer line, in bytes (without its newline).
///
/// The server answers a longer request with an `ERR` line and closes the connection; the
/// client fails a longer answer with [`ClientError::Protocol`].
pub const MAX_LINE: usize = 64 * 1024;

/// What the server shares between its connections.
#[derive(Default)]
struct ServerState {
    /// Requests received so far.
    requests: AtomicU64,
    /// `FLAKY` requests received so far, by key.
    flaky: Mutex<HashMap<String, u64>>,
}

/// Accepts connections on `listener` and answers their requests, each connection in its
/// own task spawned on `runtime`; `SLOW` answers wait on `runtime`'s clock.
///
/// Runs until the listener fails for good. A failure that concerns one incoming connection
/// only (aborted, reset or refused before it was accepted, an interrupted call) is
/// skipped. Connection tasks are detached: they end when their client hangs up, on an I/O
/// error, after `DROP` or a dropped `FLAKY` request, or after a request line longer than
/// [`MAX_LINE`].
///
/// # Errors
///
/// The listener's error that ended the loop (for example, the listener was closed by the
/// shutdown of the [`Proxy`](looptime_api::Proxy) it was made through).
pub async fn serve<R>(runtime: R, listener: TcpListener) -> io::Result<Infallible>
where
    R: Runtime + Clone + 'static,
{
    let state = Arc::new(ServerState::default());
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) if concerns_one_connection(&error) => continue,
            Err(error) => return Err(error),
        };
        let connection = Connection::new(stream);
        // Detached: the server does not wait for its connections.
        drop(runtime.spawn_named(
            format!("echo connection from {peer}"),
            connection.converse(runtime.clone(), state.clone()),
        ));
    }
}

/// Whether an `accept` error concerns only the connection being accepted.
fn concerns_one_connection(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock
    )
}

/// The next thing read from a connection.
enum Next {
    /// A complete line, without its `\n` (nor a `\r` before it).
    Line(Vec<u8>),
    /// The peer closed its side (a partial last line is discarded).
    Closed,
    /// A line longer than [`MAX_LINE`].
    TooLong,
}

/// A stream with buffered input, read line by line.
struct Connection {
    stream: TcpStream,
    input: Vec<u8>,
}

/// How many bytes one read asks for.
const CHUNK: usize = 4096;

impl Connection {
    fn new(stream: TcpStream) -> Self {
        Connection {
            stream,
            input: Vec::new(),
        }
    }

    /// Reads more input; `false` when the peer has closed its side.
    async fn fill(&mut self) -> io::Result<bool> {
        let mut chunk = [0u8; CHUNK];
        let n = self.stream.read(&mut chunk).await?;
        self.input.extend_from_slice(&chunk[..n]);
        Ok(n > 0)
    }

    /// Takes the first complete line of the input, if there is one.
    fn take_line(&mut self) -> Option<Next> {
        match self.input.iter().position(|&b| b == b'\n') {
            Some(end) if end > MAX_LINE + 1 => Some(Next::TooLong),
            Some(end) => {
                let mut line: Vec<u8> = self.input.drain(..=end).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                if line.len() > MAX_LINE {
                    return Some(Next::TooLong);
                }
                Some(Next::Line(line))
            }
            None if self.input.len() > MAX_LINE + 1 => Some(Next::TooLong),
            None => None,
        }
    }

    /// Reads up to the end of the next line.
    async fn next_line(&mut self) -> io::Result<Next> {
        loop {
            if let Some(next) = self.take_line() {
                return Ok(next);
            }
            if !self.fill().await? {
                return Ok(Next::Closed);
            }
        }
    }

    /// Writes `answer` and its newline.
    async fn answer(&mut self, answer: &str) -> io::Result<()> {
        let mut line = Vec::with_capacity(answer.len() + 1);
        line.extend_from_slice(answer.as_bytes());
        line.push(b'\n');
        self.stream.write_all(&line).await?;
        self.stream.flush().await
    }

    /// Waits `delay` on `clock` while reading ahead, so that a peer hanging up is noticed.
    /// `false` when it did.
    async fn hold<C: Clock + ?Sized>(&mut self, clock: &C, delay: Duration) -> io::Result<bool> {
        let mut sleep = pin!(clock.sleep(delay));
        loop {
            if self.input.len() > MAX_LINE + 1 {
                // Enough read ahead: stop reading until the answer is due.
                sleep.await;
                return Ok(true);
            }
            let stream = &mut self.stream;
            let mut chunk = [0u8; CHUNK];
            let read = pin!(stream.read(&mut chunk));
            let n = match select(sleep.as_mut(), read).await {
                Either::Left(((), _)) => return Ok(true),
                Either::Right((read, _)) => read?,
            };
            if n == 0 {
                return Ok(false);
            }
            self.input.extend_from_slice(&chunk[..n]);
        }
    }

    /// Answers requests until the peer hangs up, a request closes the connection, or an
    /// I/O error occurs. Dropping the connection closes it.
    async fn converse<R: Runtime>(mut self, runtime: R, state: Arc<ServerState>) {
        // An I/O error only ends this connection.
        let _ = self.answer_all(&runtime, &state).await;
    }

    async fn answer_all<R: Runtime>(&mut self, runtime: &R, state: &ServerState) -> io::Result<()> {
        loop {
            let line = match self.next_line().await? {
                Next::Line(line) => line,
                Next::Closed => return Ok(()),
                Next::TooLong => {
                    let too_long = format!("ERR request longer than {MAX_LINE} bytes");
                    return self.answer(&too_long).await;
                }
            };
            let received = state.requests.fetch_add(1, Ordering::SeqCst) + 1;
            let Ok(line) = String::from_utf8(line) else {
                self.answer("ERR request is not UTF-8").await?;
                continue;
            };
            let (command, rest) = line.split_once(' ').unwrap_or((&line, ""));
            match command {
                "ECHO" => self.answer(rest).await?,
                "SLOW" => {
                    let (ms, text) = rest.split_once(' ').unwrap_or((rest, ""));
                    let Ok(ms) = ms.parse::<u64>() else {
                        self.answer("ERR SLOW takes <ms> <text>").await?;
                        continue;
                    };
                    if !self.hold(runtime, Duration::from_millis(ms)).await? {
                        return Ok(());
                    }
                    self.answer(text).await?;
                }
                "DROP" => return Ok(()),
                "FLAKY" => {
                    let parsed = rest
                        .split_once(' ')
                        .and_then(|(n, key)| Some((n.parse::<u64>().ok()?, key)));
                    let Some((failures, key)) = parsed else {
                        self.answer("ERR FLAKY takes <n> <key>").await?;
                        continue;
                    };
                    let seen = {
                        let mut flaky = state.flaky.lock().unwrap_or_else(|p| p.into_inner());
                        let seen = flaky.entry(key.to_owned()).or_default();
                        *seen += 1;
                        *seen
                    };
                    if seen <= failures {
                        return Ok(());
                    }
                    self.answer(key).await?;
                }
                "COUNT" => self.answer(&received.to_string()).await?,
                _ => {
                    let unknown = format!("ERR unknown request {command:?}");
                    self.answer(&unknown).await?;
                }
            }
        }
    }
}

/// Why a [`request`] failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum ClientError {
    /// The request's timeout elapsed ([`TimeError::is_deadline`]), or the caller's
    /// scope ended its time or went idle for too long.
    Time(TimeError),
    /// The server closed the connection without answering.
    Closed,
    /// Connecting, writing or reading failed.
    Io(io::Error),
    /// The request line contains a newline, or the answer is not a UTF-8 line of at most
    /// [`MAX_LINE`] bytes.
    Protocol(String),
}

impl ClientError {
    /// Whether the request's own timeout elapsed.
    pub fn is_deadline(&self) -> bool {
        matches!(self, ClientError::Time(e) if e.is_deadline())
    }

    /// Whether the connection was closed or reset by the server before the answer came.
    pub fn is_dropped(&self) -> bool {
        match self {
            ClientError::Closed => true,
            ClientError::Io(e) => matches!(
                e.kind(),
                io::ErrorKind::ConnectionReset
                    | io::ErrorKind::ConnectionAborted
                    | io::ErrorKind::BrokenPipe
                    | io::ErrorKind::UnexpectedEof
            ),
            _ => false,
        }
    }

    /// Whether trying again may help: the request's timeout elapsed, the connection was
    /// dropped ([`is_dropped`](ClientError::is_dropped)), or it was refused (a server not
    /// listening yet).
    ///
    /// The end of time, an idle timeout or a shut-down scope are not retryable: every
    /// later wait of the scope would fail the same way.
    pub fn is_retryable(&self) -> bool {
        self.is_deadline()
            || self.is_dropped()
            || matches!(self, ClientError::Io(e) if e.kind() == io::ErrorKind::ConnectionRefused)
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Time(e) => write!(f, "no answer in time: {e}"),
            ClientError::Closed => {
                f.write_str("the server closed the connection without answering")
            }
            ClientError::Io(e) => write!(f, "I/O error: {e}"),
            ClientError::Protocol(what) => write!(f, "protocol error: {what}"),
        }
    }
}

impl std::error::Error for ClientError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ClientError::Time(e) => Some(e),
            ClientError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for ClientError {
    fn from(error: io::Error) -> Self {
        ClientError::Io(error)
    }
}

/// Sends `line` to the server at `addr` on a new connection and returns the answer line
/// (without its newline), all within `timeout` of `client`'s clock.
///
/// The connection is made through `client` (so a [`Proxy`](looptime_api::Proxy) tracks
/// it) and closed when the call returns, whatever the outcome.
///
/// # Errors
///
/// [`ClientError::Time`] when the timeout elapses first (or the scope's time ends),
/// [`ClientError::Closed`] when the server closes the connection without answering,
/// [`ClientError::Io`] when connecting, writing or reading fails, and
/// [`ClientError::Protocol`] for a `line` containing `\n` or a malformed answer.
pub async fn request<C>(
    client: &C,
    addr: SocketAddr,
    line: &str,
    timeout: Duration,
) -> Result<String, ClientError>
where
    C: Clock + Reactor + ?Sized,
{
    if line.contains('\n') {
        return Err(ClientError::Protocol(
            "a request line cannot contain a newline".to_owned(),
        ));
    }
    client
        .timeout(timeout, exchange(client, addr, line))
        .await
        .map_err(ClientError::Time)?
}

/// One connection, one request, one answer.
async fn exchange<R: Reactor + ?Sized>(
    reactor: &R,
    addr: SocketAddr,
    line: &str,
) -> Result<String, ClientError> {
    let mut connection = Connection::new(reactor.connect_tcp(addr).await?);
    connection.answer(line).await?;
    match connection.next_line().await? {
        Next::Line(answer) => String::from_utf8(answer)
            .map_err(|_| ClientError::Protocol("the answer is not UTF-8".to_owned())),
        Next::Closed => Err(ClientError::Closed),
        Next::TooLong => Err(ClientError::Protocol(format!(
            "the answer is longer than {MAX_LINE} bytes"
        ))),
    }
}

/// An answer from [`request_with_retries`], and how many attempts it took.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// The answer line.
    pub text: String,
    /// The attempt that got it, counting from 1.
    pub attempts: u32,
}

/// Like [`request`], retrying up to `attempts` times in all (at least once) while the
/// error [`is_retryable`](ClientError::is_retryable): each attempt under its own
/// `timeout`, with `backoff`, then twice as long, four times as long, … slept on `client`'s
/// clock between attempts (no sleep after the last).
///
/// [`request_with_policy`] takes any [`RetryPolicy`], jitter included.
///
/// # Errors
///
/// A [`RetryError`] with the number of attempts made, the clock time from the first
/// attempt to giving up, and the last error: after `attempts` retryable failures, or at
/// once on an error that is not retryable.
pub async fn request_with_retries<C>(
    client: &C,
    addr: SocketAddr,
    line: &str,
    timeout: Duration,
    attempts: u32,
    backoff: Duration,
) -> Result<Answer, RetryError<ClientError>>
where
    C: Clock + Reactor + ?Sized,
{
    let policy = RetryPolicy {
        first_delay: backoff,
        factor: 2,
        max_delay: Duration::MAX,
        max_attempts: attempts,
        jitter: None,
    };
    request_with_policy(client, addr, line, timeout, &policy).await
}

/// Like [`request`], retried as `policy` says while the error
/// [`is_retryable`](ClientError::is_retryable): each attempt under its own `timeout`, the
/// policy's delays (jitter included) slept on `client`'s clock between attempts.
///
/// ```
/// use looptime_api::{CheckKind, Proxy, Reactor, ReactorExt, Settings, SpawnerExt};
/// use looptime_examples::echo::{request_with_policy, serve};
/// use looptime_examples::retry::{Jitter, RetryPolicy};
/// use std::time::Duration;
///
/// let runtime = looptime_tokio::Tokio::current_thread().unwrap();
/// // The server in a scope of its own, on real time; the client on virtual time.
/// let server = Proxy::named(&runtime, "server");
/// let client = Proxy::named(&runtime, "client");
/// let _on = client.setup_looptime(Settings::new()).unwrap();
/// let policy = RetryPolicy {
///     first_delay: Duration::from_secs(10),
///     factor: 3,
///     max_delay: Duration::from_secs(3600),
///     max_attempts: 5,
///     jitter: Some(Jitter::new(1, 20)),
/// };
/// client.block_on(async {
///     let listener = server.bind_tcp("127.0.0.1:0".parse().unwrap()).unwrap();
///     let addr = listener.local_addr().unwrap();
///     server.spawn(serve(server.clone(), listener));
///     // The server drops the first three requests for this key, then answers.
///     let timeout = Duration::from_secs(5);
///     let answer = request_with_policy(&client, addr, "FLAKY 3 k", timeout, &policy).await;
///     assert_eq!(answer.unwrap().attempts, 4);
///     // Three backoffs, exactly the policy's first three delays.
///     let slept: Duration = policy.delays().take(3).sum();
///     assert_eq!(client.looptime(), slept);
///     assert!(client.check_and_shutdown(CheckKind::ALL).await.is_ok());
///     // The server's scope closes it; its listener is still open, as expected.
///     let leaks = server.check_and_shutdown(CheckKind::SERVERS).await.unwrap_err();
///     assert_eq!(leaks.len(), 1);
/// }).unwrap();
/// ```
///
/// # Errors
///
/// A [`RetryError`] with the number of attempts made, the clock time from the first
/// attempt to giving up, and the last error: after the policy's last attempt failed, or
/// at once on an error that is not retryable.
pub async fn request_with_policy<C>(
    client: &C,
    addr: SocketAddr,
    line: &str,
    timeout: Duration,
    policy: &RetryPolicy,
) -> Result<Answer, RetryError<ClientError>>
where
    C: Clock + Reactor + ?Sized,
{
    let start = client.now();
    let mut made = 0;
    // `retry` retries every error: a final error comes back as a success carrying it.
    let outcome = retry(client, policy, |attempt| {
        made = attempt;
        async move {
            match request(client, addr, line, timeout).await {
                Ok(text) => Ok(Ok(text)),
                Err(error) if error.is_retryable() => Err(error),
                Err(error) => Ok(Err(error)),
            }
        }
    })
    .await?;
    match outcome {
        Ok(text) => Ok(Answer {
            text,
            attempts: made,
        }),
        Err(last_error) => Err(RetryError {
            attempts: made,
            elapsed: client.now() - start,
            last_error,
        }),
    }
}
