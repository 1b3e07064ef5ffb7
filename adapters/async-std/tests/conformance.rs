//! The whole conformance suite on async-std's global runtime.

use looptime_conformance::backends::AsyncStdBackend;

looptime_conformance::suite!(AsyncStdBackend);
