//! What the lab's DNS server serves, as data.
//!
//! End-to-end tests assert what sonde prints against exactly these records and names, so they
//! are plain values here ([`Zone::standard`], the name constants), and the server in
//! [`crate::dns`] only translates them to the wire.

use std::net::IpAddr;
use std::time::Duration;

use hickory_proto::rr::RecordType;

use crate::topology::{Role, Topology};

pub mod cymru;
mod record;

pub use record::{CaaTag, RecordData, ZoneRecord};

/// The forward zone.
pub const ORIGIN: &str = "sonde.test.";
/// The name server named in NS and SOA records (the `dns` host).
pub const NS_NAME: &str = "dns.sonde.test.";
/// Mailbox of the SOA records.
pub const HOSTMASTER: &str = "hostmaster.sonde.test.";
/// The mail exchanger of `sonde.test.` and `target.sonde.test.` (it resolves to the target).
pub const MAIL_NAME: &str = "mail.sonde.test.";
/// The head of the CNAME chain `www → web → target`.
pub const WWW_NAME: &str = "www.sonde.test.";
/// The middle of the CNAME chain.
pub const WEB_NAME: &str = "web.sonde.test.";
/// The end of the CNAME chain, and sonde's usual target.
pub const TARGET_NAME: &str = "target.sonde.test.";
/// The domain named by the CAA records.
pub const CAA_ISSUER: &str = "ca.sonde.test";
/// SPF-like TXT record of the target.
pub const TARGET_TXT: &str = "v=spf1 ip4:203.0.113.10 ip6:2001:db8:113::10 -all";
/// TXT record of the zone apex.
pub const APEX_TXT: &str = "sonde lab zone";
/// A name that exists with only a TXT record: A, AAAA, MX... get NODATA (NOERROR, no answer).
pub const NODATA_NAME: &str = "nodata.sonde.test.";
/// The TXT of [`NODATA_NAME`].
pub const NODATA_TXT: &str = "this name has only a TXT record";
/// A name the server never answers: queries time out.
pub const DROP_NAME: &str = "drop.sonde.test.";
/// A name answered (like the target: A, AAAA) only after [`ZoneOptions::slow_delay`].
pub const SLOW_NAME: &str = "slow.sonde.test.";
/// A name answered with SERVFAIL.
pub const SERVFAIL_NAME: &str = "servfail.sonde.test.";
/// A name answered with REFUSED.
pub const REFUSED_NAME: &str = "refused.sonde.test.";
/// An example of a name that does not exist (any unknown name under the zone is NXDOMAIN).
pub const NXDOMAIN_NAME: &str = "missing.sonde.test.";
/// A name whose TXT answer is larger than the server sends over UDP: the UDP answer has the TC
/// bit set and no records, and the full answer comes over TCP.
pub const BIG_TXT_NAME: &str = "big.sonde.test.";
/// How many TXT records [`BIG_TXT_NAME`] has ([`big_txt`] gives their text).
pub const BIG_TXT_COUNT: usize = 12;
/// Largest UDP answer the server sends, whatever the client's EDNS buffer says (the
/// DNS flag day 2020 value). Larger answers are truncated.
pub const MAX_UDP_PAYLOAD: u16 = 1232;
/// TTL of every record.
pub const TTL: u32 = 300;
/// SOA serial of every zone.
pub const SERIAL: u32 = 2_026_120_301;
/// The default of [`ZoneOptions::slow_delay`].
pub const DEFAULT_SLOW_DELAY: Duration = Duration::from_secs(2);

/// The text of the `i`-th TXT record of [`BIG_TXT_NAME`] (0-based), 250 bytes each.
pub fn big_txt(i: usize) -> String {
    let head = format!("big-{i:02}:");
    let filler: String = "abcdefghijklmnopqrstuvwxyz0123456789"
        .chars()
        .cycle()
        .take(250 - head.len())
        .collect();
    head + &filler
}

/// The reverse-lookup name of an address (`10.113.0.203.in-addr.arpa.`, nibbles for IPv6).
pub fn reverse_name(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            format!("{d}.{c}.{b}.{a}.in-addr.arpa.")
        }
        IpAddr::V6(v6) => {
            let mut name = String::with_capacity(73);
            for byte in v6.octets().iter().rev() {
                name.push_str(&format!("{:x}.{:x}.", byte & 0xf, byte >> 4));
            }
            name + "ip6.arpa."
        }
    }
}

/// How the server treats a name instead of answering from the records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Never answer.
    Drop,
    /// Answer normally after a delay.
    Delay(Duration),
    /// Answer SERVFAIL.
    ServFail,
    /// Answer REFUSED.
    Refused,
}

/// Settings of the zone that tests may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZoneOptions {
    /// How long [`SLOW_NAME`] takes to answer.
    pub slow_delay: Duration,
}

impl Default for ZoneOptions {
    fn default() -> Self {
        ZoneOptions {
            slow_delay: DEFAULT_SLOW_DELAY,
        }
    }
}

/// Everything the lab's DNS server is authoritative for: the zones' apexes, their records, and
/// the names with a special behaviour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zone {
    /// The apex of every zone served (`sonde.test.` and the reverse zones). Names outside all of
    /// them are REFUSED.
    pub origins: Vec<String>,
    /// Every record, in no particular order.
    pub records: Vec<ZoneRecord>,
    /// Names answered specially (matched exactly, before the records).
    pub behaviours: Vec<(String, Behaviour)>,
}

impl Zone {
    /// The zone of the standard lab, for the standard topology.
    pub fn standard(options: ZoneOptions) -> Self {
        Zone::for_topology(&Topology::standard(), options)
    }

    /// The zone for a topology: `sonde.test.` with a name per host, the fixed names above, and
    /// reverse zones with a PTR for every address of the topology.
    pub fn for_topology(topology: &Topology, options: ZoneOptions) -> Self {
        let origins: Vec<String> = [
            ORIGIN,
            crate::registry::IANA_ORIGIN,
            "100.51.198.in-addr.arpa.",
            "113.0.203.in-addr.arpa.",
            "8.b.d.0.1.0.0.2.ip6.arpa.",
            cymru::CYMRU_ZONE,
        ]
        .map(String::from)
        .to_vec();
        let mut records = Vec::new();
        let mut add = |name: &str, data: RecordData| {
            records.push(ZoneRecord {
                name: name.to_owned(),
                ttl: TTL,
                data,
            })
        };
        for origin in &origins {
            add(
                origin,
                RecordData::Soa {
                    mname: NS_NAME.into(),
                    rname: HOSTMASTER.into(),
                    serial: SERIAL,
                    refresh: 3600,
                    retry: 600,
                    expire: 86400,
                    minimum: TTL,
                },
            );
            add(origin, RecordData::Ns(NS_NAME.into()));
        }
        let mx = || RecordData::Mx {
            preference: 10,
            exchange: MAIL_NAME.into(),
        };
        let caa = || RecordData::Caa {
            critical: false,
            tag: CaaTag::Issue,
            issuer: CAA_ISSUER.into(),
        };
        add(ORIGIN, mx());
        add(ORIGIN, RecordData::Txt(vec![APEX_TXT.into()]));
        add(ORIGIN, caa());
        add(
            ORIGIN,
            RecordData::Caa {
                critical: false,
                tag: CaaTag::IssueWild,
                issuer: CAA_ISSUER.into(),
            },
        );

        for role in topology.roles() {
            for link in topology.links_of(role) {
                let end = link.end(role).expect("link of role");
                add(role.hostname(), RecordData::A(end.v4));
                add(role.hostname(), RecordData::Aaaa(end.v6));
            }
        }
        if let (Some(v4), Some(v6)) = (topology.v4(Role::Target), topology.v6(Role::Target)) {
            for name in [MAIL_NAME, SLOW_NAME] {
                add(name, RecordData::A(v4));
                add(name, RecordData::Aaaa(v6));
            }
        }
        for host in crate::registry::HOSTS {
            add(host.name, RecordData::A(host.v4));
            add(host.name, RecordData::Aaaa(host.v6));
        }
        add(
            crate::registry::IANA_WHOIS_NAME,
            RecordData::A(crate::registry::IANA.v4),
        );
        add(
            crate::registry::IANA_WHOIS_NAME,
            RecordData::Aaaa(crate::registry::IANA.v6),
        );
        add(TARGET_NAME, mx());
        add(TARGET_NAME, RecordData::Txt(vec![TARGET_TXT.into()]));
        add(TARGET_NAME, caa());
        add(WWW_NAME, RecordData::Cname(WEB_NAME.into()));
        add(WEB_NAME, RecordData::Cname(TARGET_NAME.into()));
        add(NODATA_NAME, RecordData::Txt(vec![NODATA_TXT.into()]));
        for i in 0..BIG_TXT_COUNT {
            add(BIG_TXT_NAME, RecordData::Txt(vec![big_txt(i)]));
        }
        for (ip, role) in topology.addresses() {
            add(&reverse_name(ip), RecordData::Ptr(role.hostname().into()));
        }

        records.extend(cymru::records(topology, cymru::CYMRU_ZONE));
        records.extend(cymru::records(topology, cymru::LAB_CYMRU_ZONE));

        let behaviours = vec![
            (DROP_NAME.to_owned(), Behaviour::Drop),
            (SLOW_NAME.to_owned(), Behaviour::Delay(options.slow_delay)),
            (SERVFAIL_NAME.to_owned(), Behaviour::ServFail),
            (REFUSED_NAME.to_owned(), Behaviour::Refused),
        ];
        Zone {
            origins,
            records,
            behaviours,
        }
    }

    /// The records of `name` (any case, with or without the final dot) and type `record_type`,
    /// without following CNAMEs.
    pub fn records(&self, name: &str, record_type: RecordType) -> Vec<&ZoneRecord> {
        let name = normalise(name);
        self.records
            .iter()
            .filter(|r| r.name == name && r.data.record_type() == record_type)
            .collect()
    }

    /// The special behaviour of `name`, if any.
    pub fn behaviour(&self, name: &str) -> Option<Behaviour> {
        let name = normalise(name);
        self.behaviours
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, b)| *b)
    }

    /// The origin of the zone `name` belongs to, if the server is authoritative for it.
    pub fn origin_of(&self, name: &str) -> Option<&str> {
        let name = normalise(name);
        self.origins
            .iter()
            .filter(|o| name == **o || name.ends_with(&format!(".{o}")))
            .max_by_key(|o| o.len())
            .map(String::as_str)
    }

    /// Whether `name` exists: it owns a record, has a behaviour, or has a name below it (an
    /// empty non-terminal such as `arpa` nodes of the reverse zones).
    pub fn name_exists(&self, name: &str) -> bool {
        let name = normalise(name);
        let below = format!(".{name}");
        self.records
            .iter()
            .any(|r| r.name == name || r.name.ends_with(&below))
            || self.behaviours.iter().any(|(n, _)| *n == name)
    }
}

/// Lower case, with the final dot.
fn normalise(name: &str) -> String {
    let mut name = name.to_ascii_lowercase();
    if !name.ends_with('.') {
        name.push('.');
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reverse_names() {
        assert_eq!(
            reverse_name("203.0.113.10".parse().unwrap()),
            "10.113.0.203.in-addr.arpa."
        );
        assert_eq!(
            reverse_name("2001:db8:113::10".parse().unwrap()),
            "0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.3.1.1.0.8.b.d.0.1.0.0.2.ip6.arpa."
        );
        for (ip, _) in Topology::standard().addresses() {
            let hickory = hickory_proto::rr::Name::from(ip).to_ascii();
            assert_eq!(reverse_name(ip), hickory);
        }
    }

    #[test]
    fn every_lab_address_has_a_ptr_inside_a_served_zone() {
        let zone = Zone::standard(ZoneOptions::default());
        for (ip, role) in Topology::standard().addresses() {
            let name = reverse_name(ip);
            assert!(zone.origin_of(&name).is_some(), "{name} outside the zones");
            let ptr = zone.records(&name, RecordType::PTR);
            assert_eq!(ptr.len(), 1, "{ip}");
            assert_eq!(ptr[0].data, RecordData::Ptr(role.hostname().into()));
        }
    }

    #[test]
    fn lookups_ignore_case_and_final_dot() {
        let zone = Zone::standard(ZoneOptions::default());
        assert_eq!(zone.records("Target.Sonde.Test", RecordType::A).len(), 1);
        assert!(!zone.name_exists("nothing.sonde.test."));
        assert!(zone.name_exists("113.0.203.in-addr.arpa"));
        assert!(zone.name_exists(SLOW_NAME));
        assert_eq!(zone.origin_of("example.com."), None);
        assert_eq!(zone.behaviour(DROP_NAME), Some(Behaviour::Drop));
        assert_eq!(big_txt(3).len(), 250);
    }

    #[test]
    fn records_print_in_zone_file_form() {
        let zone = Zone::standard(ZoneOptions::default());
        let line = |name, t| zone.records(name, t)[0].to_string();
        assert_eq!(
            line(TARGET_NAME, RecordType::MX),
            "target.sonde.test. 300 IN MX 10 mail.sonde.test."
        );
        assert_eq!(
            line(TARGET_NAME, RecordType::CAA),
            "target.sonde.test. 300 IN CAA 0 issue \"ca.sonde.test\""
        );
        assert_eq!(
            line(ORIGIN, RecordType::SOA),
            "sonde.test. 300 IN SOA dns.sonde.test. hostmaster.sonde.test. 2026120301 3600 600 86400 300"
        );
        assert_eq!(
            line(NODATA_NAME, RecordType::TXT),
            "nodata.sonde.test. 300 IN TXT \"this name has only a TXT record\""
        );
        assert_eq!(
            line(WWW_NAME, RecordType::CNAME),
            "www.sonde.test. 300 IN CNAME web.sonde.test."
        );
    }
}
