//! The test lab: real hosts in network namespaces, routers between them, and real servers on
//! them, for sonde's end-to-end tests and benchmarks.
//!
//! ```no_run
//! use sonde_lab::{Lab, Role, zone};
//!
//! # fn main() -> Result<(), sonde_lab::LabError> {
//! let lab = Lab::start()?;
//! let out = lab.exec(Role::Client, "sonde", &[zone::TARGET_NAME]).unwrap();
//! assert!(String::from_utf8_lossy(&out.stdout).contains(&lab.address(Role::Target).to_string()));
//! # Ok(()) }
//! ```
//!
//! - [`topology`]: the hosts, links and addresses, as data ([`topology::addr`] has the
//!   addresses as constants).
//! - [`zone`]: what the DNS server serves, as data (names, records, special behaviours).
//! - [`Lab`]: builds a topology in namespaces, runs the servers, tears it all down on drop.
//! - [`geo`]: small MMDB databases (City, Country, ASN) for the lab's ranges, made on demand.
//! - [`dns`]: the authoritative server, and a small client to query it in tests.
//! - [`netns`]: entering namespaces, cleaning up after crashed runs.
//! - [`ports`]: the target's services for port scans and TLS (open, closed, filtered ports).
//! - [`pki`]: the lab's CAs and the certificates its TLS servers present, made at each start;
//!   clients trust the root through [`Lab::ca_pem`].
//! - [`registry`]: WHOIS and RDAP servers (IANA-like, registry, registrar, RIR, LIR, hostile
//!   ones) and the data they serve.
//!
//! Traffic never leaves the lab: addresses come from documentation ranges, nothing in the root
//! namespace is touched, and every lab namespace has a resolv.conf naming the lab's DNS server.

pub mod dns;
mod error;
pub mod filter;
pub mod geo;
mod lab;
pub mod netns;
pub mod pki;
pub mod ports;
pub mod registry;
mod server;
pub mod topology;
pub mod zone;

pub use error::LabError;
pub use lab::{Lab, LabBuilder, HOSTS_FILE};
pub use netns::check_available;
pub use topology::{addr, paths, Role, Topology};
pub use zone::Zone;

/// The environment variable that turns a lab test's skip into a failure: CI runs as root, so a
/// lab that cannot be built there is a broken lab, not a reason to pass.
pub const REQUIRE_LAB_VAR: &str = "SONDE_REQUIRE_LAB";

/// Whether skipping is forbidden (`SONDE_REQUIRE_LAB=1`).
pub fn lab_required() -> bool {
    std::env::var_os(REQUIRE_LAB_VAR).is_some_and(|v| v == "1")
}

/// Prints the line a skipped lab test leaves on stderr, naming the test (the current thread's
/// name under the test harness) and the reason; panics instead, failing the test, when
/// [`lab_required`].
pub fn report_skip(reason: &LabError) {
    skip(reason, lab_required());
}

fn skip(reason: &LabError, required: bool) {
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("<unnamed test>");
    let reason = match reason {
        LabError::Unavailable(why) => why.clone(),
        other => other.to_string(),
    };
    if required {
        panic!("{test} cannot run and {REQUIRE_LAB_VAR}=1 forbids skipping it: {reason}");
    }
    // Straight to the stderr handle: the test harness captures `eprintln!` of passing tests,
    // and a skip must be seen.
    use std::io::Write as _;
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED (needs root and network namespaces): {test}: {reason}"
    );
}

/// In a test: returns early, with a visible `SKIPPED (needs root and network namespaces): ...`
/// line on stderr, unless this process can build a lab; fails the test instead when
/// `SONDE_REQUIRE_LAB=1` (as in CI).
///
/// `require_root_or_skip!()` returns `()`; `require_root_or_skip!(value)` returns `value`, for
/// tests that return a `Result`.
#[macro_export]
macro_rules! require_root_or_skip {
    () => {
        $crate::require_root_or_skip!(())
    };
    ($skipped:expr) => {
        if let Err(reason) = $crate::check_available() {
            $crate::report_skip(&reason);
            return $skipped;
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_required_lab_fails_instead_of_skipping() {
        let reason = LabError::Unavailable("not root".into());
        skip(&reason, false);
        let failed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| skip(&reason, true)));
        let message = failed.expect_err("a required lab must not skip");
        let message = message.downcast_ref::<String>().expect("a formatted panic");
        assert!(
            message.ends_with("cannot run and SONDE_REQUIRE_LAB=1 forbids skipping it: not root"),
            "{message}"
        );
    }
}
