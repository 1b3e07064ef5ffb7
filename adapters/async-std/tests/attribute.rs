//! `#[looptime_async_std::test]`: the attribute tests of every adapter, on this adapter's runtime.

looptime_conformance::attribute_tests!(looptime_async_std);
