//! `#[looptime_smol::test]`: the attribute tests of every adapter, on this adapter's runtime.

looptime_conformance::attribute_tests!(looptime_smol);
