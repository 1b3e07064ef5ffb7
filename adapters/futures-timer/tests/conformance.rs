//! The whole conformance suite on the `futures` executor with futures-timer.

use looptime_conformance::backends::FuturesBackend;

looptime_conformance::suite!(FuturesBackend);
