//! The lab's registries: an IANA-like WHOIS server that refers, a registry and a registrar
//! for `sonde.test`, an RIR and an LIR holding the lab's networks and AS64500, hostile WHOIS
//! servers, and an RDAP server over HTTPS (certificate from the lab's CA) with IANA-style
//! bootstrap files.
//!
//! All of them run on the `dns` host, each WHOIS server on an address of its own (port 43
//! has no room for names), with names in the lab zone. The data they serve is here, as
//! constants, so end-to-end tests compare sonde's report with exactly what was served.

pub(crate) mod rdap;
pub(crate) mod whois;

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::pki::Pki;
use crate::server::{self, Serve, ServerHandle};
use crate::LabError;

/// Starts the WHOIS and RDAP servers in namespace `ns` (the `dns` host, whose interface
/// already carries the [`HOSTS`] addresses; see [`address_script`]).
pub(crate) fn start(ns: &str, pki: &Pki) -> Result<Vec<ServerHandle>, LabError> {
    let tls = crate::ports::tls_config(&pki.registry, None, false)?;
    let whois = server::spawn(ns, "whois", || async {
        let listeners = whois::bind().await?;
        let serve: Serve = Box::pin(async move {
            for (listener, role) in listeners {
                tokio::spawn(whois::serve(listener, role));
            }
            std::future::pending::<()>().await;
        });
        Ok(serve)
    })?;
    let rdap = server::spawn(ns, "rdap", move || async move {
        let listeners = rdap::bind().await?;
        let serve: Serve = Box::pin(async move {
            for listener in listeners {
                tokio::spawn(rdap::serve(listener, tls.clone()));
            }
            std::future::pending::<()>().await;
        });
        Ok(serve)
    })?;
    Ok(vec![whois, rdap])
}

/// `ip -batch` lines giving `dev` every registry host's addresses.
pub(crate) fn address_script(dev: &str, v4_len: u8, v6_len: u8) -> String {
    let mut script = String::new();
    for h in HOSTS {
        let _ = writeln!(script, "addr add {}/{v4_len} dev {dev}", h.v4);
        let _ = writeln!(script, "addr add {}/{v6_len} dev {dev} nodad", h.v6);
    }
    script
}

/// A registry host: its name in the lab zone and its addresses on the `dns` host's link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Host {
    /// Fully qualified name.
    pub name: &'static str,
    /// IPv4 address (in 203.0.113.48/28).
    pub v4: Ipv4Addr,
    /// IPv6 address (in 2001:db8:53::/64).
    pub v6: Ipv6Addr,
}

const fn host(name: &'static str, last: u8) -> Host {
    Host {
        name,
        v4: Ipv4Addr::new(203, 0, 113, last),
        v6: Ipv6Addr::new(0x2001, 0xdb8, 0x53, 0, 0, 0, 0, last as u16),
    }
}

/// IANA-like WHOIS: refers domains under `.test` to the registry, the lab's addresses and
/// AS64496–AS64511 to the RIR.
pub const IANA: Host = host("whois.iana.sonde.test.", 50);
/// The `.test` registry's WHOIS (thin: names the registrar's server).
pub const REGISTRY: Host = host("whois.registry.sonde.test.", 51);
/// The registrar's WHOIS (the registrant's details).
pub const REGISTRAR: Host = host("whois.registrar.sonde.test.", 52);
/// The RIR's WHOIS: inetnum, inet6num and aut-num objects; ARIN-style referral for the
/// client network.
pub const RIR: Host = host("whois.rir.sonde.test.", 54);
/// The LIR the RIR refers the client network to (`ReferralServer:`).
pub const LIR: Host = host("whois.lir.sonde.test.", 55);
/// Hostile: answers with an endless stream.
pub const STREAM: Host = host("whois.stream.sonde.test.", 56);
/// Hostile: accepts the connection, reads the query, never answers.
pub const SILENT: Host = host("whois.silent.sonde.test.", 57);
/// Hostile: refers every query to [`LOOP_B`].
pub const LOOP_A: Host = host("whois.loop-a.sonde.test.", 58);
/// Hostile: refers every query back to [`LOOP_A`].
pub const LOOP_B: Host = host("whois.loop-b.sonde.test.", 59);
/// The RDAP server (registry, RIR, bootstrap files), HTTPS on port 443.
pub const RDAP: Host = host("rdap.sonde.test.", 60);
/// The registrar's RDAP server (same server, own name and address).
pub const RDAP_REGISTRAR: Host = host("rdap.registrar.sonde.test.", 61);

/// The lab's DNS is also authoritative for this zone, so that whois's default first server
/// ([`IANA_WHOIS_NAME`]) is the lab's IANA-like server: a run with the default profile asks the
/// lab, never the internet.
pub const IANA_ORIGIN: &str = "iana.org.";
/// IANA's real WHOIS name, answered in the lab with [`IANA`]'s addresses.
pub const IANA_WHOIS_NAME: &str = "whois.iana.org.";

/// Every registry host.
pub const HOSTS: [Host; 11] = [
    IANA,
    REGISTRY,
    REGISTRAR,
    RIR,
    LIR,
    STREAM,
    SILENT,
    LOOP_A,
    LOOP_B,
    RDAP,
    RDAP_REGISTRAR,
];

/// The registrable domain of every lab name.
pub const DOMAIN: &str = "sonde.test";
/// The domain's registry handle (WHOIS `Registry Domain ID`, RDAP `handle`).
pub const DOMAIN_HANDLE: &str = "424242_DOMAIN_TEST-LAB";
/// The sponsoring registrar.
pub const REGISTRAR_NAME: &str = "Lab Registrar, Inc.";
/// Its IANA ID.
pub const REGISTRAR_IANA_ID: &str = "9999";
/// The registrant organisation (published by the registrar only).
pub const REGISTRANT: &str = "Sonde Test Lab";
/// The registrant's country.
pub const REGISTRANT_COUNTRY: &str = "NL";
/// Registration date.
pub const CREATED: &str = "2001-02-03T04:05:06Z";
/// Last change.
pub const UPDATED: &str = "2025-03-04T05:06:07Z";
/// Expiration date.
pub const EXPIRES: &str = "2031-02-03T04:05:06Z";
/// Domain status in WHOIS (EPP form).
pub const WHOIS_STATUS: [&str; 2] = ["clientTransferProhibited", "serverDeleteProhibited"];
/// Domain status in RDAP (RFC 8056 form).
pub const RDAP_STATUS: [&str; 2] = ["client transfer prohibited", "server delete prohibited"];
/// The domain's name server.
pub const NAMESERVER: &str = "dns.sonde.test";
/// The registrar's abuse contact.
pub const REGISTRAR_ABUSE_EMAIL: &str = "abuse@registrar.sonde.test";
/// The registrar's abuse telephone.
pub const REGISTRAR_ABUSE_PHONE: &str = "+1.5555550100";

/// The last line of the registrar's WHOIS answer: `% lab registrar, caf` and é in Latin-1
/// (one byte, invalid UTF-8), as old servers send; a client decodes it lossily.
pub const LATIN1_LINE: &[u8] = b"% lab registrar, caf\xe9\n";

/// A network the RIR (or LIR) holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    /// CIDR block.
    pub cidr: &'static str,
    /// First address.
    pub start: &'static str,
    /// Last address.
    pub end: &'static str,
    /// netname / RDAP name.
    pub name: &'static str,
    /// Handle.
    pub handle: &'static str,
    /// Holder organisation.
    pub org: &'static str,
    /// Country.
    pub country: &'static str,
    /// Abuse mailbox.
    pub abuse: &'static str,
    /// Allocation status / type.
    pub status: &'static str,
    /// Registration date.
    pub created: &'static str,
    /// Last change.
    pub updated: &'static str,
    /// The one remark.
    pub remark: &'static str,
}

/// The target's network (203.0.113.0/24), held by the RIR.
pub const TARGET_NET: Network = Network {
    cidr: "203.0.113.0/24",
    start: "203.0.113.0",
    end: "203.0.113.255",
    name: "SONDE-LAB-TARGET",
    handle: "NET-203-0-113-0-LAB",
    org: "Sonde Lab Networks",
    country: "NL",
    abuse: "abuse@rir.sonde.test",
    status: "ASSIGNED PA",
    created: "2020-01-02T03:04:05Z",
    updated: "2024-05-06T07:08:09Z",
    remark: "documentation range (RFC 5737), served by the sonde lab",
};

/// The target's IPv6 network (2001:db8:113::/64), held by the RIR.
pub const TARGET_NET_V6: Network = Network {
    cidr: "2001:db8:113::/64",
    start: "2001:db8:113::",
    end: "2001:db8:113:0:ffff:ffff:ffff:ffff",
    name: "SONDE-LAB-TARGET-V6",
    handle: "NET6-2001-DB8-113-LAB",
    org: "Sonde Lab Networks",
    country: "NL",
    abuse: "abuse@rir.sonde.test",
    status: "ASSIGNED",
    created: "2020-01-02T03:04:05Z",
    updated: "2024-05-06T07:08:09Z",
    remark: "documentation range (RFC 3849), served by the sonde lab",
};

/// The client's network (198.51.100.0/24): the RIR refers it to the LIR, which holds it.
pub const CLIENT_NET: Network = Network {
    cidr: "198.51.100.0/24",
    start: "198.51.100.0",
    end: "198.51.100.255",
    name: "SONDE-LAB-CLIENTS",
    handle: "NET-198-51-100-0-LAB",
    org: "Sonde Lab Access",
    country: "DE",
    abuse: "abuse@lir.sonde.test",
    status: "ASSIGNED PA",
    created: "2021-02-03T04:05:06Z",
    updated: "2024-06-07T08:09:10Z",
    remark: "client network of the sonde lab",
};

/// The lab's AS number.
pub const ASN: u32 = 64500;
/// Its name.
pub const AS_NAME: &str = "SONDE-LAB-AS";
/// Its holder.
pub const AS_ORG: &str = "Sonde Lab Networks";

/// Where the lab's IANA-style RDAP bootstrap files are (`dns.json`, `ipv4.json`, ...).
pub const BOOTSTRAP_URL: &str = "https://rdap.sonde.test/bootstrap/";
/// Publication date of the lab's bootstrap files.
pub const BOOTSTRAP_PUBLICATION: &str = "2030-01-01T00:00:00Z";
/// A bootstrap whose `test` server answers malformed JSON (addresses are served well).
pub const BOOTSTRAP_MALFORMED: &str = "https://rdap.sonde.test/hostile/malformed/";
/// A bootstrap whose `test` server answers 404 to everything.
pub const BOOTSTRAP_MISSING: &str = "https://rdap.sonde.test/hostile/missing/";
/// A bootstrap whose `test` server answers 429 with `Retry-After: 30`.
pub const BOOTSTRAP_LIMITED: &str = "https://rdap.sonde.test/hostile/limited/";
/// The registry's RDAP base URL.
pub const RDAP_REGISTRY_BASE: &str = "https://rdap.sonde.test/registry/";
/// The RIR's RDAP base URL.
pub const RDAP_RIR_BASE: &str = "https://rdap.sonde.test/rir/";
/// The registrar's RDAP record of the domain (the registry's `related` link).
pub const RDAP_REGISTRAR_URL: &str =
    "https://rdap.registrar.sonde.test/registrar/domain/sonde.test";

/// The network holding `ip`, if the lab has one.
pub fn network_of(ip: IpAddr) -> Option<&'static Network> {
    let in_net = |net: &Network| match (ip, net.cidr.split_once('/')) {
        (IpAddr::V4(v4), Some((base, len))) => {
            let (Ok(base), Ok(len)) = (base.parse::<Ipv4Addr>(), len.parse::<u32>()) else {
                return false;
            };
            let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
            u32::from(v4) & mask == u32::from(base) & mask
        }
        (IpAddr::V6(v6), Some((base, len))) => {
            let (Ok(base), Ok(len)) = (base.parse::<Ipv6Addr>(), len.parse::<u32>()) else {
                return false;
            };
            let mask = u128::MAX.checked_shl(128 - len).unwrap_or(0);
            u128::from(v6) & mask == u128::from(base) & mask
        }
        _ => false,
    };
    [&TARGET_NET, &TARGET_NET_V6, &CLIENT_NET]
        .into_iter()
        .find(|n| in_net(n))
}

/// The name without its final dot.
pub(crate) fn bare(name: &str) -> &str {
    name.trim_end_matches('.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_and_hosts() {
        assert_eq!(
            network_of("203.0.113.10".parse().unwrap()),
            Some(&TARGET_NET)
        );
        assert_eq!(
            network_of("2001:db8:113::10".parse().unwrap()),
            Some(&TARGET_NET_V6)
        );
        assert_eq!(
            network_of("198.51.100.10".parse().unwrap()),
            Some(&CLIENT_NET)
        );
        assert_eq!(network_of("203.0.114.1".parse().unwrap()), None);
        for h in HOSTS {
            assert!(h.name.ends_with(".sonde.test."));
            assert_eq!(h.v4.octets()[..3], [203, 0, 113]);
            assert!((49..64).contains(&h.v4.octets()[3]) && h.v4.octets()[3] != 53);
        }
    }
}
