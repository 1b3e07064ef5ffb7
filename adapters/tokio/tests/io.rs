//! The conformance topic `io` on both tokio flavours.

use looptime_conformance::backends::{TokioCurrentThread, TokioMultiThread};

looptime_conformance::suite!(TokioCurrentThread, TokioMultiThread; io);
