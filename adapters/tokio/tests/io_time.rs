//! The conformance topic `io_time` on both tokio flavours.

use looptime_conformance::backends::{TokioCurrentThread, TokioMultiThread};

looptime_conformance::suite!(TokioCurrentThread, TokioMultiThread; io_time);
