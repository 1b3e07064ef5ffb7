//! The whole conformance suite on [`Smol`](looptime_smol::Smol).

use looptime_conformance::backends::SmolBackend;

looptime_conformance::suite!(SmolBackend);
