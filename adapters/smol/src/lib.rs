//! looptime for smol (being written).

#![deny(missing_docs)]
#![forbid(unsafe_code)]
