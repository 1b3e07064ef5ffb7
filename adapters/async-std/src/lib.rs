//! looptime for async-std (being written).

#![deny(missing_docs)]
#![forbid(unsafe_code)]
