//! looptime for futures-timer (being written).

#![deny(missing_docs)]
#![forbid(unsafe_code)]
