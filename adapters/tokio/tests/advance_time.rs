//! The conformance topic `advance_time` on both tokio flavours.

use looptime_conformance::backends::{TokioCurrentThread, TokioMultiThread};

looptime_conformance::suite!(TokioCurrentThread, TokioMultiThread; advance_time);
