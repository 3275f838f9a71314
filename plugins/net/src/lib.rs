//! What sonde's path collectors (ping, traceroute) share: one privilege
//! ladder ([`access`]), one ICMP reader and writer ([`packet`]), and one
//! async socket that also reads the kernel's error queue ([`socket`]).
//!
//! The code is the same for both collectors because the questions are:
//! "may this process open a raw socket?", "is this ICMP error about one of
//! my probes?", "which router said so?".

pub mod access;
pub mod packet;
pub mod socket;
pub mod targets;

pub use access::{Access, Rung};
pub use packet::{ErrorKind, Family, Message, Quote, QuotedPacket, Transport, Unreachable};
pub use socket::{ErrorOrigin, PacketSocket, QueuedError, Received};
pub use targets::AddressChoice;
