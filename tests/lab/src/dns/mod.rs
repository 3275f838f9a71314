//! The lab's DNS: an authoritative server for [`crate::zone::Zone`] and a small blocking
//! client to query it from a namespace in tests.

pub mod client;
pub(crate) mod server;

pub use client::{query, Transport};
