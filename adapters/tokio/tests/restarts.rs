//! The conformance topic `restarts` on both tokio flavours.

use looptime_conformance::backends::{TokioCurrentThread, TokioMultiThread};

looptime_conformance::suite!(TokioCurrentThread, TokioMultiThread; restarts);
