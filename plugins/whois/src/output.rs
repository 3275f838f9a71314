//! The whois section of the report: for the target's registrable domain and
//! for each of its addresses, what RDAP and port-43 WHOIS said, the common
//! fields read from it, and the raw answers.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A registration protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    /// RDAP (RFC 9082/9083): JSON over HTTPS, servers found from IANA's bootstrap files.
    Rdap,
    /// WHOIS (RFC 3912): text over TCP port 43, servers found by referrals from IANA's.
    Whois,
}

impl Protocol {
    /// Lower-case name, as in profiles and the JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Rdap => "rdap",
            Protocol::Whois => "whois",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What is asked about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum QueryKind {
    /// A registrable domain (`example.com`, `example.co.uk`).
    Domain,
    /// An IPv4 address: the network holding it.
    Ipv4,
    /// An IPv6 address: the network holding it.
    Ipv6,
    /// An autonomous system number.
    Asn,
}

impl QueryKind {
    /// Lower-case name, as in the JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            QueryKind::Domain => "domain",
            QueryKind::Ipv4 => "ipv4",
            QueryKind::Ipv6 => "ipv6",
            QueryKind::Asn => "asn",
        }
    }
}

/// A value as a parsed field keeps it: control characters (escape sequences,
/// bells, carriage returns) dropped and tabs made spaces, so that a hostile
/// registry cannot reach a terminal or a log through a field. The raw answers
/// keep what the server sent.
pub fn field_text(value: &str) -> String {
    value
        .chars()
        .filter_map(|c| match c {
            '\t' => Some(' '),
            c if c.is_control() => None,
            c => Some(c),
        })
        .collect()
}

/// The fields people look for, read from an RDAP object or a WHOIS text.
/// Every field is optional: registries publish different things, and
/// privacy rules hide the registrant more often than not.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Record {
    /// The registry's handle (`2138514_DOMAIN_COM-VRSN`, `NET-203-0-113-0-1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handle: Option<String>,
    /// The object's name: the domain, the network's name (netname) or the AS name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The sponsoring registrar (domains).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registrar: Option<String>,
    /// The registrant's or holder's organisation, when published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registrant: Option<String>,
    /// The organisation holding a network or an AS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    /// Two-letter country code (of the network, or of the registrant).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// Registration date, as the server wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// Last change, as the server wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<String>,
    /// Expiration date (domains), as the server wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    /// Status values (`client transfer prohibited`, `active`, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub status: Vec<String>,
    /// Name servers of a domain, lower case, without the final dot.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nameservers: Vec<String>,
    /// Where to report abuse: an e-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abuse_email: Option<String>,
    /// Abuse telephone, when published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abuse_phone: Option<String>,
    /// First and last address of a network (`203.0.113.0`, `203.0.113.255`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<(String, String)>,
    /// The network as CIDR blocks (`203.0.113.0/24`), each once, at most
    /// [`MAX_CIDRS`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cidr: Vec<String>,
    /// Distinct CIDR blocks the answer gave beyond the [`MAX_CIDRS`] kept.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cidr_dropped: usize,
    /// Free remarks (RDAP remarks, WHOIS `remarks:`/`descr:`), at most a few.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remarks: Vec<String>,
}

impl Record {
    /// Fills every field this record lacks from `other`.
    pub fn fill_from(&mut self, other: &Record) {
        fn opt(a: &mut Option<String>, b: &Option<String>) {
            if a.is_none() {
                a.clone_from(b);
            }
        }
        fn list(a: &mut Vec<String>, b: &[String]) {
            if a.is_empty() {
                a.extend_from_slice(b);
            }
        }
        opt(&mut self.handle, &other.handle);
        opt(&mut self.name, &other.name);
        opt(&mut self.registrar, &other.registrar);
        opt(&mut self.registrant, &other.registrant);
        opt(&mut self.org, &other.org);
        opt(&mut self.country, &other.country);
        opt(&mut self.created, &other.created);
        opt(&mut self.updated, &other.updated);
        opt(&mut self.expires, &other.expires);
        list(&mut self.status, &other.status);
        list(&mut self.nameservers, &other.nameservers);
        opt(&mut self.abuse_email, &other.abuse_email);
        opt(&mut self.abuse_phone, &other.abuse_phone);
        if self.range.is_none() {
            self.range.clone_from(&other.range);
        }
        if self.cidr.is_empty() {
            self.cidr.clone_from(&other.cidr);
            self.cidr_dropped = other.cidr_dropped;
        }
        list(&mut self.remarks, &other.remarks);
    }

    /// Whether nothing was found.
    pub fn is_empty(&self) -> bool {
        *self == Record::default()
    }
}

/// Most CIDR blocks a record keeps: a registry network is a handful of
/// blocks, and a server that lists thousands is not to be copied out.
pub const MAX_CIDRS: usize = 32;

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Where the RDAP bootstrap data came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BootstrapSource {
    /// Fetched from the bootstrap URL during this run (and cached).
    Fetched,
    /// Read from the on-disk cache, fresh enough.
    Cache,
    /// The snapshot compiled into sonde.
    Snapshot,
}

/// One IANA bootstrap registry as used in this run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct BootstrapUse {
    /// Which registry: `dns`, `ipv4`, `ipv6` or `asn`.
    pub registry: String,
    /// Where it came from.
    pub source: BootstrapSource,
    /// Its `publication` date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publication: Option<String>,
    /// The URL or file it was read from.
    pub location: String,
    /// Why a fresher copy was not used, when it was not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// One RDAP entity (registrar, registrant, abuse contact...), from its jCard.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Entity {
    /// Its handle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handle: Option<String>,
    /// Its roles (`registrar`, `abuse`, `registrant`, `technical`...).
    #[serde(default)]
    pub roles: Vec<String>,
    /// vCard `fn`: the formatted name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// vCard `org`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    /// vCard `email`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// vCard `tel`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Country of its vCard `adr` (the `cc` parameter or the last field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// The IANA registrar ID, for registrars.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iana_id: Option<String>,
}

/// An RDAP event: what happened when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Event {
    /// `registration`, `expiration`, `last changed`, ...
    pub action: String,
    /// When, as the server wrote it (RFC 3339).
    pub date: String,
}

/// One RDAP object (a domain, an IP network or an autnum), read from its
/// JSON; the JSON itself is kept in [`RdapAnswer::raw`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RdapObject {
    /// `domain`, `ip network`, `autnum`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_class: Option<String>,
    /// The registry's handle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handle: Option<String>,
    /// `ldhName` (domains) or `name` (networks, autnums).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Status values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub status: Vec<String>,
    /// Events.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<Event>,
    /// Entities, nested ones (an abuse contact inside the registrar) flattened.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entities: Vec<Entity>,
    /// Name servers (domains).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nameservers: Vec<String>,
    /// First address (networks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_address: Option<String>,
    /// Last address (networks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_address: Option<String>,
    /// CIDR blocks (`cidr0_cidrs`, or computed from the range), each once, at
    /// most [`MAX_CIDRS`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cidr: Vec<String>,
    /// Distinct CIDR blocks beyond the [`MAX_CIDRS`] kept.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cidr_dropped: usize,
    /// First and last AS number (autnums).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autnum_range: Option<(u32, u32)>,
    /// Country code (networks, autnums).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// Allocation type (`ALLOCATED PA`, `DIRECT ALLOCATION`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Remarks: title and description lines joined.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remarks: Vec<String>,
    /// The `related` link to the registrar's RDAP record (domains).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub related: Option<String>,
}

/// One RDAP answer: where it came from, what it said, and its raw JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RdapAnswer {
    /// The URL asked.
    pub url: String,
    /// HTTP status.
    pub status: u16,
    /// Time to the whole body, in milliseconds.
    pub elapsed_ms: u64,
    /// The object read from it.
    pub object: RdapObject,
    /// The JSON as the server sent it.
    pub raw: serde_json::Value,
}

/// What RDAP gave for one query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RdapLookup {
    /// The base URL the bootstrap registry named, when it named one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// The registry's answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry: Option<RdapAnswer>,
    /// The registrar's answer, found through the registry's `related` link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registrar: Option<RdapAnswer>,
    /// Why the registrar's record could not be read (the registry's still counts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registrar_error: Option<String>,
    /// The fields read from the answers (registry first, the registrar filling gaps).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<Record>,
    /// Why RDAP gave no answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Servers of the bootstrap entry that gave no answer at all (connection, TLS, timeout)
    /// before [`server`](Self::server) did, each with why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unreachable: Vec<String>,
    /// Whole time, in milliseconds.
    pub elapsed_ms: u64,
}

/// How one WHOIS server handed the query on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReferralKind {
    /// IANA's `refer:` line.
    Refer,
    /// IANA's `whois:` line.
    Whois,
    /// ARIN's `ReferralServer:` line.
    ReferralServer,
    /// A thin registry's `Registrar WHOIS Server:` line.
    RegistrarWhoisServer,
}

/// A referral found in a WHOIS answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Referral {
    /// The server named, `host` or `host:port`.
    pub server: String,
    /// The line that named it.
    pub kind: ReferralKind,
}

/// One WHOIS server asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct WhoisHop {
    /// The server's name (or address), as referred to.
    pub server: String,
    /// The address connected to, when one was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// The line sent (without CR LF).
    pub query: String,
    /// Bytes received.
    pub bytes: usize,
    /// Time from connecting to the end of the answer, in milliseconds.
    pub elapsed_ms: u64,
    /// Where it referred the query to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referral: Option<Referral>,
    /// The answer, decoded as UTF-8 with invalid bytes replaced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<String>,
    /// What went wrong at this hop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What port-43 WHOIS gave for one query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct WhoisLookup {
    /// The servers asked, in order, from IANA's to the last referral.
    pub hops: Vec<WhoisHop>,
    /// The fields read from the answers (the most specific server first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<Record>,
    /// Why the chain did not end well (loop, size, timeout, no data).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Whole time, in milliseconds.
    pub elapsed_ms: u64,
}

/// Everything found about one query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Lookup {
    /// What was asked: the registrable domain, the address, `AS64500`.
    pub query: String,
    /// What kind of thing it is.
    pub kind: QueryKind,
    /// The protocol whose record is [`record`](Self::record).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered_by: Option<Protocol>,
    /// The fields found, from the first protocol (in the profile's order) that answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<Record>,
    /// RDAP's part, when it ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rdap: Option<RdapLookup>,
    /// WHOIS's part, when it ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub whois: Option<WhoisLookup>,
}

impl Lookup {
    /// Why no protocol answered, in one line, or `None` when one did.
    pub fn failure(&self) -> Option<String> {
        if self.record.is_some() {
            return None;
        }
        let mut why = Vec::new();
        if let Some(e) = self.rdap.as_ref().and_then(|r| r.error.as_ref()) {
            why.push(format!("rdap: {e}"));
        }
        if let Some(e) = self.whois.as_ref().and_then(|w| w.error.as_ref()) {
            why.push(format!("whois: {e}"));
        }
        if why.is_empty() {
            why.push("no protocol was asked".into());
        }
        Some(format!("{}: {}", self.query, why.join("; ")))
    }
}

/// The whois collector's section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct WhoisOutput {
    /// The target's name, when it was a name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The lookups: the registrable domain first, then the addresses.
    pub lookups: Vec<Lookup>,
    /// The RDAP bootstrap registries used.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bootstrap: Vec<BootstrapUse>,
    /// Things worth a look: a protocol that failed before another answered,
    /// a name without a registrable domain, a stale bootstrap file.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Whole collection time, in milliseconds.
    pub elapsed_ms: u64,
}

impl WhoisOutput {
    /// The lookup of the registrable domain, when there was one.
    pub fn domain(&self) -> Option<&Lookup> {
        self.lookups.iter().find(|l| l.kind == QueryKind::Domain)
    }

    /// The lookups of addresses.
    pub fn networks(&self) -> impl Iterator<Item = &Lookup> {
        self.lookups
            .iter()
            .filter(|l| matches!(l.kind, QueryKind::Ipv4 | QueryKind::Ipv6))
    }
}
