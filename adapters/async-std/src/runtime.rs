//! [`AsyncStd`]: async-std's global runtime as a looptime runtime.

/// async-std's global runtime as a looptime [`Runtime`](looptime_api::Runtime).
///
/// async-std has one runtime per process (a global executor on a pool of worker threads,
/// with timers and I/O on async-io's global reactor), so `AsyncStd` holds nothing: it is
/// zero-sized, `Copy`, and every value stands for the same runtime. Making one starts no
/// thread; async-std starts its pool on first use.
///
/// ```
/// use looptime_api::ReactorExt;
/// use looptime_async_std::AsyncStd;
///
/// let runtime = AsyncStd::new();
/// assert_eq!(runtime.block_on(async { 6 * 7 }), Ok(42));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct AsyncStd {
    _private: (),
}

impl AsyncStd {
    /// async-std's global runtime.
    pub const fn new() -> AsyncStd {
        AsyncStd { _private: () }
    }
}
