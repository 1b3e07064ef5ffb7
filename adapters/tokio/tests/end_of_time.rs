//! The conformance topic `end_of_time` on both tokio flavours.

use looptime_conformance::backends::{TokioCurrentThread, TokioMultiThread};

looptime_conformance::suite!(TokioCurrentThread, TokioMultiThread; end_of_time);
