//! The records of the zone: plain data, printable in zone-file form.

use std::fmt;

use hickory_proto::rr::RecordType;

/// The data of one record. Names are absolute, lower case, with the final dot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordData {
    /// An IPv4 address.
    A(std::net::Ipv4Addr),
    /// An IPv6 address.
    Aaaa(std::net::Ipv6Addr),
    /// An alias to another name.
    Cname(String),
    /// A mail exchanger.
    Mx {
        /// Lower is preferred.
        preference: u16,
        /// The mail host.
        exchange: String,
    },
    /// A name server.
    Ns(String),
    /// Start of authority.
    Soa {
        /// Primary name server.
        mname: String,
        /// Responsible mailbox, as a name.
        rname: String,
        /// Zone serial.
        serial: u32,
        /// Refresh interval, seconds.
        refresh: i32,
        /// Retry interval, seconds.
        retry: i32,
        /// Expiry, seconds.
        expire: i32,
        /// Negative-caching TTL, seconds.
        minimum: u32,
    },
    /// Text: one or more character strings.
    Txt(Vec<String>),
    /// Certification authority authorisation (`0 issue "ca.sonde.test"`).
    Caa {
        /// The critical flag.
        critical: bool,
        /// `issue` or `issuewild`.
        tag: CaaTag,
        /// The issuer's domain.
        issuer: String,
    },
    /// Reverse pointer.
    Ptr(String),
}

/// The CAA property tags the lab uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaaTag {
    /// `issue`: who may issue certificates for the name.
    Issue,
    /// `issuewild`: who may issue wildcard certificates.
    IssueWild,
}

impl RecordData {
    /// The DNS type of this data.
    pub fn record_type(&self) -> RecordType {
        match self {
            RecordData::A(_) => RecordType::A,
            RecordData::Aaaa(_) => RecordType::AAAA,
            RecordData::Cname(_) => RecordType::CNAME,
            RecordData::Mx { .. } => RecordType::MX,
            RecordData::Ns(_) => RecordType::NS,
            RecordData::Soa { .. } => RecordType::SOA,
            RecordData::Txt(_) => RecordType::TXT,
            RecordData::Caa { .. } => RecordType::CAA,
            RecordData::Ptr(_) => RecordType::PTR,
        }
    }
}

impl fmt::Display for RecordData {
    /// The zone-file (presentation) form of the data: `10 mail.sonde.test.`,
    /// `0 issue "ca.sonde.test"`, `"text"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordData::A(ip) => write!(f, "{ip}"),
            RecordData::Aaaa(ip) => write!(f, "{ip}"),
            RecordData::Cname(name) | RecordData::Ns(name) | RecordData::Ptr(name) => {
                f.write_str(name)
            }
            RecordData::Mx {
                preference,
                exchange,
            } => write!(f, "{preference} {exchange}"),
            RecordData::Soa {
                mname,
                rname,
                serial,
                refresh,
                retry,
                expire,
                minimum,
            } => write!(
                f,
                "{mname} {rname} {serial} {refresh} {retry} {expire} {minimum}"
            ),
            RecordData::Txt(strings) => {
                let quoted: Vec<String> = strings.iter().map(|s| format!("{s:?}")).collect();
                f.write_str(&quoted.join(" "))
            }
            RecordData::Caa {
                critical,
                tag,
                issuer,
            } => {
                let flags = if *critical { 128 } else { 0 };
                let tag = match tag {
                    CaaTag::Issue => "issue",
                    CaaTag::IssueWild => "issuewild",
                };
                write!(f, "{flags} {tag} {issuer:?}")
            }
        }
    }
}

/// One resource record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneRecord {
    /// Owner name: absolute, lower case, with the final dot.
    pub name: String,
    /// Time to live, seconds.
    pub ttl: u32,
    /// The data.
    pub data: RecordData,
}

impl fmt::Display for ZoneRecord {
    /// The zone-file line: `target.sonde.test. 300 IN MX 10 mail.sonde.test.`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} IN {} {}",
            self.name,
            self.ttl,
            self.data.record_type(),
            self.data
        )
    }
}
