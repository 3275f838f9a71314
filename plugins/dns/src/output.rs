//! The dns section of the report: what was asked, of whom, and what came
//! back. Later collectors read [`DnsOutput::addresses`].

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};

use serde::{Deserialize, Serialize};

/// A record type the collector asks for.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
pub enum RecordType {
    /// IPv4 address.
    #[serde(rename = "A", alias = "a")]
    A,
    /// IPv6 address.
    #[serde(rename = "AAAA", alias = "aaaa")]
    Aaaa,
    /// Alias to another name.
    #[serde(rename = "CNAME", alias = "cname")]
    Cname,
    /// Mail exchanger.
    #[serde(rename = "MX", alias = "mx")]
    Mx,
    /// Name server of a zone.
    #[serde(rename = "NS", alias = "ns")]
    Ns,
    /// Start of authority of a zone.
    #[serde(rename = "SOA", alias = "soa")]
    Soa,
    /// Free text (SPF, site verification, ...).
    #[serde(rename = "TXT", alias = "txt")]
    Txt,
    /// Which CAs may issue certificates.
    #[serde(rename = "CAA", alias = "caa")]
    Caa,
    /// Reverse name of an address.
    #[serde(rename = "PTR", alias = "ptr")]
    Ptr,
}

impl RecordType {
    /// The type's mnemonic, e.g. "AAAA".
    pub fn as_str(self) -> &'static str {
        match self {
            RecordType::A => "A",
            RecordType::Aaaa => "AAAA",
            RecordType::Cname => "CNAME",
            RecordType::Mx => "MX",
            RecordType::Ns => "NS",
            RecordType::Soa => "SOA",
            RecordType::Txt => "TXT",
            RecordType::Caa => "CAA",
            RecordType::Ptr => "PTR",
        }
    }
}

impl fmt::Display for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a query ended. Response codes are values, not strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// NOERROR with at least one record of the type asked.
    Answered,
    /// NOERROR without a record of that type: the name exists, the type not.
    NoData,
    /// NXDOMAIN: the name does not exist.
    NxDomain,
    /// SERVFAIL: the server could not answer (broken delegation, DNSSEC...).
    ServFail,
    /// REFUSED: the server will not answer us.
    Refused,
    /// No answer in time.
    Timeout,
    /// Another response code, a network error or an unreadable answer; the
    /// lookup's `detail` says which.
    Error,
}

impl Status {
    /// The text people know it by: "NOERROR", "NXDOMAIN", "timeout"...
    pub fn label(self) -> &'static str {
        match self {
            Status::Answered => "NOERROR",
            Status::NoData => "NODATA",
            Status::NxDomain => "NXDOMAIN",
            Status::ServFail => "SERVFAIL",
            Status::Refused => "REFUSED",
            Status::Timeout => "timeout",
            Status::Error => "error",
        }
    }

    /// Whether the server gave a definite answer (records, NODATA or
    /// NXDOMAIN) rather than failing.
    pub fn is_definite(self) -> bool {
        matches!(self, Status::Answered | Status::NoData | Status::NxDomain)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// Where an address or a name came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The target itself was this address.
    Literal,
    /// The hosts file.
    Hosts,
    /// A special-use name answered without a query (RFC 6761, RFC 6303).
    SpecialUse,
    /// A DNS server.
    Dns,
}

impl Source {
    /// Lower-case name, as in the JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Literal => "literal",
            Source::Hosts => "hosts",
            Source::SpecialUse => "special_use",
            Source::Dns => "dns",
        }
    }
}

/// The transport that carried the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Transport {
    /// UDP.
    Udp,
    /// TCP (after a truncated UDP answer).
    Tcp,
}

/// One address of the target and where it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Address {
    /// The address.
    pub ip: IpAddr,
    /// Where it came from.
    pub source: Source,
}

/// One record of an answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Record {
    /// The owner name (differs from the queried name after a CNAME).
    pub name: String,
    /// Seconds it may be cached; none for local answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u32>,
    /// The data in presentation form: `192.0.2.1`, `10 mx.example.com.`,
    /// TXT strings joined without separator.
    pub value: String,
}

/// A server that was tried and did not give a definite answer before the
/// one reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ServerAttempt {
    /// The server.
    pub server: SocketAddr,
    /// How it ended.
    pub status: Status,
    /// What went wrong, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The result of one query (one name, one type).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Lookup {
    /// The name asked (for PTR, the `in-addr.arpa`/`ip6.arpa` name).
    pub name: String,
    /// The type asked.
    pub record_type: RecordType,
    /// How it ended.
    pub status: Status,
    /// Records of the asked type (CNAMEs leading to them are in
    /// [`DnsOutput::cname_chain`]).
    #[serde(default)]
    pub records: Vec<Record>,
    /// The server whose reply this is, or the last one tried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<SocketAddr>,
    /// The transport of that reply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport: Option<Transport>,
    /// Whether the reply had the AA (authoritative) bit.
    #[serde(default)]
    pub authoritative: bool,
    /// Time from the first send to the reported reply, in milliseconds.
    pub elapsed_ms: u64,
    /// Extra words for `error` and `timeout` (or another response code).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Servers tried before, when the first did not answer definitely.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed_servers: Vec<ServerAttempt>,
}

impl Lookup {
    /// The values of its records.
    pub fn values(&self) -> impl Iterator<Item = &str> {
        self.records.iter().map(|r| r.value.as_str())
    }

    /// The smallest TTL of its records.
    pub fn min_ttl(&self) -> Option<u32> {
        self.records.iter().filter_map(|r| r.ttl).min()
    }
}

/// One link of a CNAME chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CnameLink {
    /// The alias.
    pub name: String,
    /// What it points to.
    pub target: String,
    /// Its TTL.
    pub ttl: u32,
}

/// The reverse name(s) of one address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Ptr {
    /// The address.
    pub ip: IpAddr,
    /// Where the answer came from: `dns`, `hosts` or `special_use`.
    pub source: Source,
    /// The lookup (local answers have no server and no TTL).
    pub lookup: Lookup,
}

impl Ptr {
    /// The names found.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.lookup.values()
    }
}

/// Whose resolver was used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResolverSource {
    /// `/etc/resolv.conf`.
    System,
    /// The `nameservers` setting (`--resolver`).
    Configured,
}

/// The resolver settings a run used; other collectors can rebuild the same
/// resolver from it with [`Resolver::from_info`](crate::Resolver::from_info).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ResolverInfo {
    /// Where the server list came from.
    pub source: ResolverSource,
    /// The servers, in the order they are tried.
    pub nameservers: Vec<SocketAddr>,
    /// The per-query timeout, in milliseconds.
    pub query_timeout_ms: u64,
    /// UDP sends per query and server.
    pub attempts: u8,
    /// The hosts file consulted, when it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hosts_file: Option<String>,
    /// Domains appended to a name typed without a final dot (resolv.conf's
    /// `search`, or the `search` setting).
    #[serde(default)]
    pub search: Vec<String>,
    /// Dots a name needs to be asked as it is before the search domains.
    #[serde(default = "one")]
    pub ndots: u8,
}

fn one() -> u8 {
    1
}

/// One name asked for the target's addresses while applying the search
/// list, and how its A/AAAA lookups ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SearchedName {
    /// The name asked.
    pub name: String,
    /// `answered` when it had an address; otherwise why not (NXDOMAIN and
    /// NODATA move on to the next name, a failure stops the search).
    pub status: Status,
    /// The server whose reply this is, or the last one tried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<SocketAddr>,
    /// Extra words for `error` and `timeout`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// Why the name was answered without DNS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LocalAnswer {
    /// `hosts` or `special_use`.
    pub source: Source,
    /// In words, e.g. "found in /etc/hosts; other record types not queried".
    pub reason: String,
}

/// The dns collector's section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DnsOutput {
    /// The name asked about, or the address when the target was one.
    pub query: String,
    /// Whether the target was an address (then only PTR is looked up).
    pub is_address: bool,
    /// The resolver used.
    pub resolver: ResolverInfo,
    /// Set when the name was answered locally and nothing was sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local: Option<LocalAnswer>,
    /// The name the addresses were found under: `query` itself or `query`
    /// with a search domain appended. Unset when DNS gave no address or was
    /// not asked (an address, the hosts file, a special-use name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_name: Option<String>,
    /// Every name asked for the addresses, in order, when DNS was asked:
    /// the search list applied to `query`, ending with the one that answered
    /// or with the one that stopped the search.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub searched: Vec<SearchedName>,
    /// The target's addresses, IPv4 first, with their sources.
    pub addresses: Vec<Address>,
    /// The CNAME chain from the resolved name to the name holding the addresses.
    #[serde(default)]
    pub cname_chain: Vec<CnameLink>,
    /// Per record type, what the servers said.
    #[serde(default)]
    pub lookups: BTreeMap<RecordType, Lookup>,
    /// PTR of every address.
    #[serde(default)]
    pub ptr: Vec<Ptr>,
    /// Things worth a look: SERVFAIL, timeouts, unreadable hosts file...
    #[serde(default)]
    pub warnings: Vec<String>,
    /// Whole collection time, in milliseconds.
    pub elapsed_ms: u64,
}

impl DnsOutput {
    /// The target's addresses, for every later collector.
    pub fn addresses(&self) -> Vec<IpAddr> {
        self.addresses.iter().map(|a| a.ip).collect()
    }

    /// The fully-qualified name the target stands for: the resolved name
    /// when search domains were applied, else `query`. Collectors that use
    /// the target's name (SNI, WHOIS) should use this one.
    pub fn name(&self) -> &str {
        self.resolved_name.as_deref().unwrap_or(&self.query)
    }

    /// The name the addresses belong to (the end of the CNAME chain).
    pub fn canonical_name(&self) -> &str {
        self.cname_chain
            .last()
            .map(|l| l.target.as_str())
            .unwrap_or(self.name())
    }

    /// The lookup of one record type, when it was asked.
    pub fn lookup(&self, record_type: RecordType) -> Option<&Lookup> {
        self.lookups.get(&record_type)
    }
}
