//! The asn section of the report, and what [`lookup_many`](crate::lookup_many) hands back.

use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use sonde_core::SpecialRange;

/// Where an answer came from.
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
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Team Cymru's DNS interface (or zones in its format).
    Cymru,
    /// The offline prefix table (MMDB ASN database or CSV).
    Database,
}

impl Source {
    /// Lower-case name, as in the JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Cymru => "cymru",
            Source::Database => "database",
        }
    }
}

/// Where an AS name came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum NameSource {
    /// Cymru's `AS<n>` TXT record.
    Cymru,
    /// The offline table.
    Database,
    /// An RDAP autnum object.
    Rdap,
}

impl NameSource {
    /// Lower-case name, as in the JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            NameSource::Cymru => "cymru",
            NameSource::Database => "database",
            NameSource::Rdap => "rdap",
        }
    }
}

/// How the lookup of one address ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// At least one origin AS was found.
    Announced,
    /// The sources answered, and no announced prefix covers the address.
    NotAnnounced,
    /// A special-purpose address, answered without asking anyone.
    Local,
    /// No source gave a usable answer; `detail` says why.
    Error,
}

impl Status {
    /// Lower-case name, as in the JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Announced => "announced",
            Status::NotAnnounced => "not announced",
            Status::Local => "local",
            Status::Error => "error",
        }
    }
}

/// One origin of an address: an AS announcing a prefix that covers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Origin {
    /// The origin AS number.
    pub asn: u32,
    /// The announced prefix.
    #[schemars(with = "String")]
    pub prefix: IpNet,
    /// ISO 3166 country code of the prefix's registration, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// The registry that allocated it (`arin`, `ripencc`, ...), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry: Option<String>,
    /// Allocation date, `YYYY-MM-DD`, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocated: Option<String>,
    /// The AS name, when the AS lookup found one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_name: Option<String>,
}

/// What is known about one address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AddressAsn {
    /// The address.
    pub ip: IpAddr,
    /// How the lookup ended.
    pub status: Status,
    /// Its origins, most specific prefix first (several when prefixes
    /// overlap or several ASes announce one prefix).
    #[serde(default)]
    pub origins: Vec<Origin>,
    /// Which source answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
    /// The DNS name asked, when Cymru was asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// The special-purpose range of a `local` address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<SpecialRange>,
    /// Why it failed, or what went wrong before a fallback answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl AddressAsn {
    /// The most specific origin's AS number, the one traceroute shows.
    pub fn primary_asn(&self) -> Option<u32> {
        self.origins.first().map(|o| o.asn)
    }
}

/// One autonomous system met in the answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AutonomousSystem {
    /// The AS number.
    pub asn: u32,
    /// Its name (`HANDLE - Organisation, CC` from Cymru; the organisation
    /// from an MMDB ASN database).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Country code of its registration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// Its registry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry: Option<String>,
    /// Its allocation date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocated: Option<String>,
    /// Where the name came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<NameSource>,
    /// Why no name was found, when none was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The answers for a batch of addresses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Answers {
    /// One entry per address, in the order asked.
    pub addresses: Vec<AddressAsn>,
    /// Every AS among the origins, by number.
    pub systems: Vec<AutonomousSystem>,
}

impl Answers {
    /// The entry of one address.
    pub fn address(&self, ip: IpAddr) -> Option<&AddressAsn> {
        self.addresses.iter().find(|a| a.ip == ip)
    }

    /// The entry of one AS.
    pub fn system(&self, asn: u32) -> Option<&AutonomousSystem> {
        self.systems.iter().find(|s| s.asn == asn)
    }
}

/// The asn collector's section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AsnOutput {
    /// The sources tried, in order.
    pub sources: Vec<Source>,
    /// The Cymru zones asked (origin, origin6, AS names), when Cymru was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zones: Option<crate::config::Zones>,
    /// The offline table used, when one was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    /// The credit the table's licence asks for (DB-IP's CC BY 4.0), when it asks for one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribution: Option<String>,
    /// Per address.
    pub addresses: Vec<AddressAsn>,
    /// Per AS.
    pub systems: Vec<AutonomousSystem>,
    /// Things worth a look (an unreadable database...).
    #[serde(default)]
    pub warnings: Vec<String>,
    /// Whole collection time, in milliseconds.
    pub elapsed_ms: u64,
}
