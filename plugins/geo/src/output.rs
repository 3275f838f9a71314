//! The geo section of the report.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use sonde_core::SpecialRange;

/// What kind of source answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// A MaxMind-format database file.
    Database,
    /// An ipinfo-style HTTP API.
    Http,
}

/// The source of the answers: which database (and when it was built) or
/// which API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct GeoSource {
    /// Database or HTTP.
    pub kind: SourceKind,
    /// The database's type (`GeoLite2-City`, `DBIP-City-Lite`...) or the
    /// API's URL template.
    pub name: String,
    /// The database file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The database's build date, `YYYY-MM-DD` (UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_date: Option<String>,
    /// The database's build time, Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_epoch: Option<u64>,
    /// The database's own description (English).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// How the lookup of one address ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The source has a location for it.
    Found,
    /// The source has nothing for it.
    NotFound,
    /// A special-purpose address, answered without a lookup.
    Local,
    /// The lookup failed; `detail` says why.
    Error,
}

/// A country: ISO code and name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Country {
    /// ISO 3166-1 alpha-2 code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Its name, in the configured language when the source has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A region (first-level subdivision: state, province, Land...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Region {
    /// ISO 3166-2 code without the country part, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Its name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// Coordinates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Coordinates {
    /// Latitude, degrees.
    pub latitude: f64,
    /// Longitude, degrees.
    pub longitude: f64,
    /// Radius around them, km, within which the address is likely to be.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accuracy_radius_km: Option<u16>,
}

/// What is known about where one address is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AddressGeo {
    /// The address.
    pub ip: IpAddr,
    /// How the lookup ended.
    pub status: Status,
    /// The special-purpose range of a `local` address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<SpecialRange>,
    /// The database network that matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    /// Continent code (`EU`, `NA`...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub continent: Option<String>,
    /// Country.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<Country>,
    /// Region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<Region>,
    /// City.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// Postal code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    /// Coordinates and their accuracy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coordinates: Option<Coordinates>,
    /// IANA time zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// AS number, when the source gives one (ASN databases, ipinfo's `org`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asn: Option<u32>,
    /// AS organisation, likewise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_organization: Option<String>,
    /// Why it failed, or why it is local.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl AddressGeo {
    /// An entry with nothing known yet.
    pub fn empty(ip: IpAddr, status: Status) -> Self {
        AddressGeo {
            ip,
            status,
            range: None,
            network: None,
            continent: None,
            country: None,
            region: None,
            city: None,
            postal_code: None,
            coordinates: None,
            time_zone: None,
            asn: None,
            as_organization: None,
            detail: None,
        }
    }
}

/// The geo collector's section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct GeoOutput {
    /// Where the answers come from; none when every address was answered
    /// locally and no source was needed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<GeoSource>,
    /// Per address.
    pub addresses: Vec<AddressGeo>,
    /// Whole collection time, in milliseconds.
    pub elapsed_ms: u64,
}
