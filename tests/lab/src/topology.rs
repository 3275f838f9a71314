//! The lab's network, as data: which hosts exist, which links join them, which addresses they
//! carry. Routes are derived from this description, never written by hand, so adding a host or
//! a router is one more entry in [`Topology::standard`].
//!
//! Addresses come only from the documentation ranges (198.51.100.0/24, 203.0.113.0/24,
//! 2001:db8::/32). Every lab instance uses the same addresses: each lives in its own namespaces,
//! so parallel labs never see each other, and end-to-end tests can compare sonde's output with
//! the constants in [`addr`].

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The addresses of the standard topology, for assertions in end-to-end tests.
pub mod addr {
    use std::net::{Ipv4Addr, Ipv6Addr};

    /// The client, on the first link (198.51.100.0/24, 2001:db8:100::/64).
    pub const CLIENT_V4: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 10);
    /// The client's IPv6 address.
    pub const CLIENT_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0x100, 0, 0, 0, 0, 0x10);
    /// r1 on the client link: the client's gateway.
    pub const R1_CLIENT_V4: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 1);
    /// r1 on the client link, IPv6.
    pub const R1_CLIENT_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0x100, 0, 0, 0, 0, 1);
    /// r1 on the r1–r2 link (203.0.113.240/30, 2001:db8:12::/64).
    pub const R1_R2_V4: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 241);
    /// r1 on the r1–r2 link, IPv6.
    pub const R1_R2_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0x12, 0, 0, 0, 0, 1);
    /// r2 on the r1–r2 link.
    pub const R2_R1_V4: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 242);
    /// r2 on the r1–r2 link, IPv6.
    pub const R2_R1_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0x12, 0, 0, 0, 0, 2);
    /// r2 on the r2–r3 link (203.0.113.244/30, 2001:db8:23::/64).
    pub const R2_R3_V4: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 245);
    /// r2 on the r2–r3 link, IPv6.
    pub const R2_R3_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0x23, 0, 0, 0, 0, 2);
    /// r3 on the r2–r3 link.
    pub const R3_R2_V4: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 246);
    /// r3 on the r2–r3 link, IPv6.
    pub const R3_R2_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0x23, 0, 0, 0, 0, 3);
    /// r3 on the target link (203.0.113.0/28, 2001:db8:113::/64): the target's gateway.
    pub const R3_TARGET_V4: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 1);
    /// r3 on the target link, IPv6.
    pub const R3_TARGET_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0x113, 0, 0, 0, 0, 1);
    /// The target host.
    pub const TARGET_V4: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 10);
    /// The target host, IPv6.
    pub const TARGET_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0x113, 0, 0, 0, 0, 0x10);
    /// r3 on the DNS link (203.0.113.48/28, 2001:db8:53::/64): the DNS host's gateway.
    pub const R3_DNS_V4: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 49);
    /// r3 on the DNS link, IPv6.
    pub const R3_DNS_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0x53, 0, 0, 0, 0, 1);
    /// The lab's authoritative DNS server.
    pub const DNS_V4: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 53);
    /// The lab's DNS server, IPv6.
    pub const DNS_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0x53, 0, 0, 0, 0, 0x53);

    // The long path, for traceroute: r3 — r4 — r5 — {far, noecho, noudp}, and r4 — silent —
    // hidden.
    /// r3 on the r3–r4 link (203.0.113.248/30, 2001:db8:34::/64).
    pub const R3_R4_V4: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 249);
    /// r3 on the r3–r4 link, IPv6.
    pub const R3_R4_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0x34, 0, 0, 0, 0, 3);
    /// r4 on the r3–r4 link: r4's hop address on every trace.
    pub const R4_R3_V4: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 250);
    /// r4 on the r3–r4 link, IPv6.
    pub const R4_R3_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0x34, 0, 0, 0, 0, 4);
    /// r4 on the r4–r5 link (203.0.113.252/30, 2001:db8:45::/64).
    pub const R4_R5_V4: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 253);
    /// r4 on the r4–r5 link, IPv6.
    pub const R4_R5_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0x45, 0, 0, 0, 0, 4);
    /// r5 on the r4–r5 link: r5's hop address on every trace.
    pub const R5_R4_V4: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 254);
    /// r5 on the r4–r5 link, IPv6.
    pub const R5_R4_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0x45, 0, 0, 0, 0, 5);
    /// r5 on the far link (203.0.113.64/28, 2001:db8:64::/64).
    pub const R5_FAR_V4: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 65);
    /// r5 on the far link, IPv6.
    pub const R5_FAR_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0x64, 0, 0, 0, 0, 1);
    /// The far host: six hops away (r1, r2, r3, r4, r5, far), every hop answering.
    pub const FAR_V4: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 70);
    /// The far host, IPv6.
    pub const FAR_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0x64, 0, 0, 0, 0, 0x70);
    /// r5 on the noecho link (203.0.113.80/28, 2001:db8:80::/64).
    pub const R5_NOECHO_V4: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 81);
    /// r5 on the noecho link, IPv6.
    pub const R5_NOECHO_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0x80, 0, 0, 0, 0, 1);
    /// A host that drops ICMP echo requests (it answers TCP and UDP as usual).
    pub const NOECHO_V4: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 90);
    /// The noecho host, IPv6.
    pub const NOECHO_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0x80, 0, 0, 0, 0, 0x90);
    /// r5 on the noudp link (203.0.113.96/28, 2001:db8:96::/64).
    pub const R5_NOUDP_V4: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 97);
    /// r5 on the noudp link, IPv6.
    pub const R5_NOUDP_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0x96, 0, 0, 0, 0, 1);
    /// A host that drops every UDP datagram: UDP probes to it get no answer at all.
    pub const NOUDP_V4: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 100);
    /// The noudp host, IPv6.
    pub const NOUDP_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0x96, 0, 0, 0, 0, 0x100);
    /// r4 on the silent link (203.0.113.232/30, 2001:db8:232::/64).
    pub const R4_SILENT_V4: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 233);
    /// r4 on the silent link, IPv6.
    pub const R4_SILENT_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0x232, 0, 0, 0, 0, 4);
    /// The silent router on its link to r4: it forwards but never sends time exceeded.
    pub const SILENT_R4_V4: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 234);
    /// The silent router, IPv6.
    pub const SILENT_R4_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0x232, 0, 0, 0, 0, 6);
    /// The silent router on the hidden link (203.0.113.112/28, 2001:db8:112::/64).
    pub const SILENT_HIDDEN_V4: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 113);
    /// The silent router on the hidden link, IPv6.
    pub const SILENT_HIDDEN_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0x112, 0, 0, 0, 0, 1);
    /// The host behind the silent router: six hops, the fifth silent.
    pub const HIDDEN_V4: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 120);
    /// The hidden host, IPv6.
    pub const HIDDEN_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0x112, 0, 0, 0, 0, 0x120);
}

/// The hops a trace from the client meets, in order, as the routers answer (each router's
/// address facing the client, then the destination), for end-to-end assertions. `None` is a
/// hop that never answers.
pub mod paths {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

    use super::addr::*;

    /// client → far: six hops, every one answering.
    pub const FAR_V4: [Ipv4Addr; 6] = [
        R1_CLIENT_V4,
        R2_R1_V4,
        R3_R2_V4,
        R4_R3_V4,
        R5_R4_V4,
        super::addr::FAR_V4,
    ];
    /// client → far over IPv6.
    pub const FAR_V6: [Ipv6Addr; 6] = [
        R1_CLIENT_V6,
        R2_R1_V6,
        R3_R2_V6,
        R4_R3_V6,
        R5_R4_V6,
        super::addr::FAR_V6,
    ];
    /// The reverse names of [`FAR_V4`]'s hops (without the final dot), as the lab DNS serves.
    pub const FAR_NAMES: [&str; 6] = [
        "r1.sonde.test",
        "r2.sonde.test",
        "r3.sonde.test",
        "r4.sonde.test",
        "r5.sonde.test",
        "far.sonde.test",
    ];
    /// client → hidden: the fifth hop (the silent router) never answers.
    pub const HIDDEN_V4: [Option<Ipv4Addr>; 6] = [
        Some(R1_CLIENT_V4),
        Some(R2_R1_V4),
        Some(R3_R2_V4),
        Some(R4_R3_V4),
        None,
        Some(super::addr::HIDDEN_V4),
    ];
    /// client → hidden over IPv6: the fifth hop (the silent router) never answers.
    pub const HIDDEN_V6: [Option<Ipv6Addr>; 6] = [
        Some(R1_CLIENT_V6),
        Some(R2_R1_V6),
        Some(R3_R2_V6),
        Some(R4_R3_V6),
        None,
        Some(super::addr::HIDDEN_V6),
    ];
    /// The reverse names of [`HIDDEN_V4`]'s and [`HIDDEN_V6`]'s hops, `None` for the silent
    /// one (it has no address in the trace, so no name).
    pub const HIDDEN_NAMES: [Option<&str>; 6] = [
        Some("r1.sonde.test"),
        Some("r2.sonde.test"),
        Some("r3.sonde.test"),
        Some("r4.sonde.test"),
        None,
        Some("hidden.sonde.test"),
    ];
    /// The routers in front of noudp and noecho (the sixth hop is the host itself); their
    /// names are the first five of [`FAR_NAMES`].
    pub const TO_R5_V4: [Ipv4Addr; 5] = [R1_CLIENT_V4, R2_R1_V4, R3_R2_V4, R4_R3_V4, R5_R4_V4];
    /// [`TO_R5_V4`] over IPv6.
    pub const TO_R5_V6: [Ipv6Addr; 5] = [R1_CLIENT_V6, R2_R1_V6, R3_R2_V6, R4_R3_V6, R5_R4_V6];

    /// An address no lab router has a route to: r1 answers "network unreachable".
    pub const UNROUTED_V4: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 200);

    /// [`FAR_V4`] as `IpAddr`s.
    pub fn far_v4() -> Vec<IpAddr> {
        FAR_V4.iter().map(|&a| IpAddr::V4(a)).collect()
    }
}

/// A host of the lab, named after what it does. Each role is one network namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Role {
    /// Where sonde runs.
    Client,
    /// First router after the client.
    R1,
    /// Second router.
    R2,
    /// Third router, in front of the target and the DNS server.
    R3,
    /// The host sonde is pointed at.
    Target,
    /// The authoritative DNS server for `sonde.test.` and the lab's reverse zones.
    Dns,
    /// Fourth router, behind r3.
    R4,
    /// Fifth router, in front of far, noecho and noudp.
    R5,
    /// Six hops away, every hop answering: the clean traceroute path.
    Far,
    /// Drops ICMP echo requests (nftables in its namespace).
    NoEcho,
    /// Drops every UDP datagram (nftables in its namespace).
    NoUdp,
    /// A router that forwards but never sends ICMP time exceeded (nftables).
    Silent,
    /// The host behind the silent router.
    Hidden,
}

impl Role {
    /// Every role of the standard lab, in build order.
    pub const ALL: [Role; 13] = [
        Role::Client,
        Role::R1,
        Role::R2,
        Role::R3,
        Role::Target,
        Role::Dns,
        Role::R4,
        Role::R5,
        Role::Far,
        Role::NoEcho,
        Role::NoUdp,
        Role::Silent,
        Role::Hidden,
    ];

    /// Short name, used in namespace names (`<prefix>client`) and interface names (`eth-r1`).
    pub fn name(self) -> &'static str {
        match self {
            Role::Client => "client",
            Role::R1 => "r1",
            Role::R2 => "r2",
            Role::R3 => "r3",
            Role::Target => "target",
            Role::Dns => "dns",
            Role::R4 => "r4",
            Role::R5 => "r5",
            Role::Far => "far",
            Role::NoEcho => "noecho",
            Role::NoUdp => "noudp",
            Role::Silent => "silent",
            Role::Hidden => "hidden",
        }
    }

    /// The host's fully qualified name in the lab zone, e.g. `target.sonde.test.`.
    pub fn hostname(self) -> &'static str {
        match self {
            Role::Client => "client.sonde.test.",
            Role::R1 => "r1.sonde.test.",
            Role::R2 => "r2.sonde.test.",
            Role::R3 => "r3.sonde.test.",
            Role::Target => "target.sonde.test.",
            Role::Dns => "dns.sonde.test.",
            Role::R4 => "r4.sonde.test.",
            Role::R5 => "r5.sonde.test.",
            Role::Far => "far.sonde.test.",
            Role::NoEcho => "noecho.sonde.test.",
            Role::NoUdp => "noudp.sonde.test.",
            Role::Silent => "silent.sonde.test.",
            Role::Hidden => "hidden.sonde.test.",
        }
    }

    /// Whether the namespace forwards packets (ip_forward and IPv6 forwarding on).
    pub fn is_router(self) -> bool {
        matches!(
            self,
            Role::R1 | Role::R2 | Role::R3 | Role::R4 | Role::R5 | Role::Silent
        )
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One end of a link: which host, and its addresses there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoint {
    /// The host.
    pub role: Role,
    /// Its IPv4 address on this link.
    pub v4: Ipv4Addr,
    /// Its IPv6 address on this link.
    pub v6: Ipv6Addr,
}

/// A point-to-point link (a veth pair) between two hosts, dual-stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link {
    /// IPv4 prefix length of the link's subnet.
    pub v4_prefix_len: u8,
    /// IPv6 prefix length of the link's subnet.
    pub v6_prefix_len: u8,
    /// The two ends.
    pub ends: [Endpoint; 2],
}

impl Link {
    /// The end on `role`'s side, if `role` is on this link.
    pub fn end(&self, role: Role) -> Option<&Endpoint> {
        self.ends.iter().find(|e| e.role == role)
    }

    /// The end that is not `role`'s, if `role` is on this link.
    pub fn peer_of(&self, role: Role) -> Option<&Endpoint> {
        let [a, b] = &self.ends;
        if a.role == role {
            Some(b)
        } else if b.role == role {
            Some(a)
        } else {
            None
        }
    }

    /// The IPv4 network of the link, as `(network address, prefix length)`.
    pub fn v4_net(&self) -> (Ipv4Addr, u8) {
        let bits = u32::from(self.ends[0].v4);
        let mask = u32::MAX
            .checked_shl(32 - u32::from(self.v4_prefix_len))
            .unwrap_or(0);
        (Ipv4Addr::from(bits & mask), self.v4_prefix_len)
    }

    /// The IPv6 network of the link, as `(network address, prefix length)`.
    pub fn v6_net(&self) -> (Ipv6Addr, u8) {
        let bits = u128::from(self.ends[0].v6);
        let mask = u128::MAX
            .checked_shl(128 - u32::from(self.v6_prefix_len))
            .unwrap_or(0);
        (Ipv6Addr::from(bits & mask), self.v6_prefix_len)
    }
}

/// A static route to install in one host's namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Destination network and prefix length (`0.0.0.0/0` / `::/0` for a default route).
    pub destination: (IpAddr, u8),
    /// The next hop, on a link the host is directly attached to.
    pub via: IpAddr,
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{} via {}",
            self.destination.0, self.destination.1, self.via
        )
    }
}

/// The hosts and links of a lab. Data only: building it is [`crate::Lab`]'s job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    /// Every link; each host appears on at least one.
    pub links: Vec<Link>,
}

impl Topology {
    /// The standard lab: `client — r1 — r2 — r3 — {target, dns, r4}`, then
    /// `r4 — r5 — {far, noecho, noudp}` and `r4 — silent — hidden`.
    ///
    /// ```text
    /// client 198.51.100.10    r1 .1 | 203.0.113.241   r2 .242 | .245   r3 .246 | 203.0.113.1  target 203.0.113.10
    ///        2001:db8:100::10       | 2001:db8:12::1     ::2  | 2001:db8:23::2  ::3 | 2001:db8:113::1 target 2001:db8:113::10
    ///                                                                         r3 203.0.113.49 | dns 203.0.113.53
    ///                                                                            2001:db8:53::1 | dns 2001:db8:53::53
    /// ```
    pub fn standard() -> Self {
        use addr::*;
        let end = |role, v4, v6| Endpoint { role, v4, v6 };
        let link = |v4_prefix_len, a, b| Link {
            v4_prefix_len,
            v6_prefix_len: 64,
            ends: [a, b],
        };
        Topology {
            links: vec![
                link(
                    24,
                    end(Role::Client, CLIENT_V4, CLIENT_V6),
                    end(Role::R1, R1_CLIENT_V4, R1_CLIENT_V6),
                ),
                link(
                    30,
                    end(Role::R1, R1_R2_V4, R1_R2_V6),
                    end(Role::R2, R2_R1_V4, R2_R1_V6),
                ),
                link(
                    30,
                    end(Role::R2, R2_R3_V4, R2_R3_V6),
                    end(Role::R3, R3_R2_V4, R3_R2_V6),
                ),
                link(
                    28,
                    end(Role::R3, R3_TARGET_V4, R3_TARGET_V6),
                    end(Role::Target, TARGET_V4, TARGET_V6),
                ),
                link(
                    28,
                    end(Role::R3, R3_DNS_V4, R3_DNS_V6),
                    end(Role::Dns, DNS_V4, DNS_V6),
                ),
                link(
                    30,
                    end(Role::R3, R3_R4_V4, R3_R4_V6),
                    end(Role::R4, R4_R3_V4, R4_R3_V6),
                ),
                link(
                    30,
                    end(Role::R4, R4_R5_V4, R4_R5_V6),
                    end(Role::R5, R5_R4_V4, R5_R4_V6),
                ),
                link(
                    28,
                    end(Role::R5, R5_FAR_V4, R5_FAR_V6),
                    end(Role::Far, FAR_V4, FAR_V6),
                ),
                link(
                    28,
                    end(Role::R5, R5_NOECHO_V4, R5_NOECHO_V6),
                    end(Role::NoEcho, NOECHO_V4, NOECHO_V6),
                ),
                link(
                    28,
                    end(Role::R5, R5_NOUDP_V4, R5_NOUDP_V6),
                    end(Role::NoUdp, NOUDP_V4, NOUDP_V6),
                ),
                link(
                    30,
                    end(Role::R4, R4_SILENT_V4, R4_SILENT_V6),
                    end(Role::Silent, SILENT_R4_V4, SILENT_R4_V6),
                ),
                link(
                    28,
                    end(Role::Silent, SILENT_HIDDEN_V4, SILENT_HIDDEN_V6),
                    end(Role::Hidden, HIDDEN_V4, HIDDEN_V6),
                ),
            ],
        }
    }

    /// Every role on some link, each once, in the order of [`Role::ALL`].
    pub fn roles(&self) -> Vec<Role> {
        let set: BTreeSet<Role> = self
            .links
            .iter()
            .flat_map(|l| l.ends.iter().map(|e| e.role))
            .collect();
        set.into_iter().collect()
    }

    /// The links `role` is attached to.
    pub fn links_of(&self, role: Role) -> impl Iterator<Item = &Link> {
        self.links.iter().filter(move |l| l.end(role).is_some())
    }

    /// Every `(address, role)` pair of the lab, IPv4 and IPv6: what the reverse zones describe.
    pub fn addresses(&self) -> Vec<(IpAddr, Role)> {
        self.links
            .iter()
            .flat_map(|l| l.ends.iter())
            .flat_map(|e| [(IpAddr::V4(e.v4), e.role), (IpAddr::V6(e.v6), e.role)])
            .collect()
    }

    /// The host's main IPv4 address: the one on its first link (for a router, the side facing
    /// the client).
    pub fn v4(&self, role: Role) -> Option<Ipv4Addr> {
        self.links_of(role)
            .next()
            .and_then(|l| l.end(role))
            .map(|e| e.v4)
    }

    /// The host's main IPv6 address, chosen like [`Topology::v4`].
    pub fn v6(&self, role: Role) -> Option<Ipv6Addr> {
        self.links_of(role)
            .next()
            .and_then(|l| l.end(role))
            .map(|e| e.v6)
    }

    /// The static routes `role` needs so that every lab address is reachable from it.
    ///
    /// A host on a single link gets default routes through its neighbour. A router gets one
    /// route per network it is not attached to, via the neighbour on the shortest path there;
    /// paths only pass through routers.
    pub fn routes(&self, role: Role) -> Vec<Route> {
        let own: Vec<&Link> = self.links_of(role).collect();
        if !role.is_router() && own.len() == 1 {
            let peer = own[0].peer_of(role).expect("own link has a peer");
            return vec![
                Route {
                    destination: (IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0),
                    via: IpAddr::V4(peer.v4),
                },
                Route {
                    destination: (IpAddr::V6(Ipv6Addr::UNSPECIFIED), 0),
                    via: IpAddr::V6(peer.v6),
                },
            ];
        }
        // Breadth-first search from `role`, remembering through which neighbour (endpoint on a
        // directly attached link) each host was first reached.
        let mut first_hop: BTreeMap<Role, Endpoint> = BTreeMap::new();
        let mut queue = VecDeque::new();
        for link in &own {
            let peer = *link.peer_of(role).expect("own link has a peer");
            if first_hop.insert(peer.role, peer).is_none() {
                queue.push_back(peer.role);
            }
        }
        while let Some(host) = queue.pop_front() {
            if !host.is_router() {
                continue;
            }
            let hop = first_hop[&host];
            for link in self.links_of(host) {
                let next = link.peer_of(host).expect("link has a peer").role;
                if next != role && !first_hop.contains_key(&next) {
                    first_hop.insert(next, hop);
                    queue.push_back(next);
                }
            }
        }
        let mut routes = Vec::new();
        for link in &self.links {
            if link.end(role).is_some() {
                continue;
            }
            // Reach the link through whichever of its ends was found first.
            let Some(hop) = link.ends.iter().find_map(|e| first_hop.get(&e.role)) else {
                continue;
            };
            let (v4, v4_len) = link.v4_net();
            let (v6, v6_len) = link.v6_net();
            routes.push(Route {
                destination: (IpAddr::V4(v4), v4_len),
                via: IpAddr::V4(hop.v4),
            });
            routes.push(Route {
                destination: (IpAddr::V6(v6), v6_len),
                via: IpAddr::V6(hop.v6),
            });
        }
        routes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_get_default_routes_through_their_router() {
        let t = Topology::standard();
        let routes: Vec<String> = t
            .routes(Role::Client)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            routes,
            ["0.0.0.0/0 via 198.51.100.1", "::/0 via 2001:db8:100::1"]
        );
    }

    #[test]
    fn routers_route_every_remote_network_along_the_chain() {
        let t = Topology::standard();
        let r1: Vec<String> = t.routes(Role::R1).iter().map(ToString::to_string).collect();
        assert_eq!(
            r1[..6],
            [
                "203.0.113.244/30 via 203.0.113.242",
                "2001:db8:23::/64 via 2001:db8:12::2",
                "203.0.113.0/28 via 203.0.113.242",
                "2001:db8:113::/64 via 2001:db8:12::2",
                "203.0.113.48/28 via 203.0.113.242",
                "2001:db8:53::/64 via 2001:db8:12::2",
            ]
        );
        // Every network beyond r2 (the long path's too) is reached through r2.
        assert_eq!(r1.len(), 20);
        assert!(r1
            .iter()
            .all(|r| r.ends_with(" via 203.0.113.242") || r.ends_with(" via 2001:db8:12::2")));
        let r3: Vec<String> = t.routes(Role::R3).iter().map(ToString::to_string).collect();
        assert_eq!(
            r3,
            [
                "198.51.100.0/24 via 203.0.113.245",
                "2001:db8:100::/64 via 2001:db8:23::2",
                "203.0.113.240/30 via 203.0.113.245",
                "2001:db8:12::/64 via 2001:db8:23::2",
                "203.0.113.252/30 via 203.0.113.250",
                "2001:db8:45::/64 via 2001:db8:34::4",
                "203.0.113.64/28 via 203.0.113.250",
                "2001:db8:64::/64 via 2001:db8:34::4",
                "203.0.113.80/28 via 203.0.113.250",
                "2001:db8:80::/64 via 2001:db8:34::4",
                "203.0.113.96/28 via 203.0.113.250",
                "2001:db8:96::/64 via 2001:db8:34::4",
                "203.0.113.232/30 via 203.0.113.250",
                "2001:db8:232::/64 via 2001:db8:34::4",
                "203.0.113.112/28 via 203.0.113.250",
                "2001:db8:112::/64 via 2001:db8:34::4",
            ]
        );
    }

    #[test]
    fn every_role_is_on_the_standard_topology_once() {
        assert_eq!(Topology::standard().roles(), Role::ALL);
        assert_eq!(Topology::standard().addresses().len(), 48);
    }
}
