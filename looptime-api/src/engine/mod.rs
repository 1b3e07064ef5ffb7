//! The virtual-time engine: settings, timer queues, the clock of a proxy, and the driver
//! that moves virtual time (SPEC §4). Private: the public face is [`Proxy`](crate::Proxy).

pub(crate) mod advance;
pub(crate) mod arm;
pub(crate) mod clock;
pub(crate) mod driver;
pub(crate) mod quiescence;
pub(crate) mod settings;
pub(crate) mod timers;
