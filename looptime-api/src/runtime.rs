//! [`Runtime`] (SPEC R5): the whole trait set in one bound.

use crate::{Clock, Reactor, Spawner};

/// A complete async runtime: time ([`Clock`]), background work ([`Spawner`]) and the
/// runtime's own powers ([`Reactor`]).
///
/// Adapters implement the three traits for their runtime; this trait follows by a blanket
/// impl. A [`Proxy`](crate::Proxy) is a `Runtime` too, which is what makes proxies nest.
/// `Arc<dyn Runtime>` works, and coerces to `Arc<dyn Clock>`.
pub trait Runtime: Clock + Spawner + Reactor {}

impl<T: Clock + Spawner + Reactor + ?Sized> Runtime for T {}
