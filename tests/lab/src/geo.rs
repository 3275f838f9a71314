//! Small MaxMind-format (MMDB) databases for the lab's address ranges, made on demand by the
//! tests: a City database in GeoLite2's layout, a Country one, and an ASN one. sonde's geo
//! and asn collectors read them as they read GeoLite2 or DB-IP files; the tests assert every
//! field against the constants here. Nothing is downloaded and no database is shipped.

use std::io;
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use ipnet::IpNet;
use mmdb_writer::{Value, Writer};

/// `database_type` of the City database.
pub const CITY_DB_TYPE: &str = "GeoLite2-City";
/// `database_type` of the Country database.
pub const COUNTRY_DB_TYPE: &str = "GeoLite2-Country";
/// `database_type` of the ASN database.
pub const ASN_DB_TYPE: &str = "GeoLite2-ASN";
/// The English description every lab database carries.
pub const DESCRIPTION: &str = "sonde lab test database";
/// Build time of every lab database: 2025-12-01T00:00:00Z.
pub const BUILD_EPOCH: u64 = 1_764_547_200;
/// [`BUILD_EPOCH`] as a date, as sonde prints it.
pub const BUILD_DATE: &str = "2025-12-01";

/// Where a lab prefix "is", with every field a City database has.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LabPlace {
    /// The prefix, e.g. `203.0.113.0/24`.
    pub prefix: &'static str,
    /// Continent code.
    pub continent_code: &'static str,
    /// Continent name (English).
    pub continent: &'static str,
    /// ISO 3166-1 alpha-2 code.
    pub country_code: &'static str,
    /// Country name (English).
    pub country: &'static str,
    /// ISO 3166-2 subdivision code (without the country).
    pub region_code: &'static str,
    /// Subdivision name.
    pub region: &'static str,
    /// City name.
    pub city: &'static str,
    /// Postal code.
    pub postal: &'static str,
    /// Latitude, degrees.
    pub latitude: f64,
    /// Longitude, degrees.
    pub longitude: f64,
    /// Accuracy radius, km.
    pub accuracy_radius: u16,
    /// IANA time zone.
    pub time_zone: &'static str,
}

/// The lab's places: the IPv4 ranges in two countries, all of IPv6 in a third.
pub const PLACES: [LabPlace; 3] = [
    LabPlace {
        prefix: "203.0.113.0/24",
        continent_code: "EU",
        continent: "Europe",
        country_code: "NL",
        country: "Netherlands",
        region_code: "NH",
        region: "North Holland",
        city: "Amsterdam",
        postal: "1012",
        latitude: 52.374,
        longitude: 4.8897,
        accuracy_radius: 20,
        time_zone: "Europe/Amsterdam",
    },
    LabPlace {
        prefix: "198.51.100.0/24",
        continent_code: "NA",
        continent: "North America",
        country_code: "US",
        country: "United States",
        region_code: "IL",
        region: "Illinois",
        city: "Chicago",
        postal: "60601",
        latitude: 41.8781,
        longitude: -87.6298,
        accuracy_radius: 50,
        time_zone: "America/Chicago",
    },
    LabPlace {
        prefix: "2001:db8::/32",
        continent_code: "EU",
        continent: "Europe",
        country_code: "DE",
        country: "Germany",
        region_code: "BE",
        region: "Land Berlin",
        city: "Berlin",
        postal: "10117",
        latitude: 52.5244,
        longitude: 13.4105,
        accuracy_radius: 100,
        time_zone: "Europe/Berlin",
    },
];

/// One prefix of the ASN database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LabAsnEntry {
    /// The prefix.
    pub prefix: &'static str,
    /// Its AS number.
    pub asn: u32,
    /// The AS organisation.
    pub organization: &'static str,
}

/// The ASN database: the same ASes as the lab's Cymru records, by their organisation names.
pub const ASN_ENTRIES: [LabAsnEntry; 3] = [
    LabAsnEntry {
        prefix: "203.0.113.0/24",
        asn: 64500,
        organization: "Sonde Lab Transit B.V.",
    },
    LabAsnEntry {
        prefix: "198.51.100.0/24",
        asn: 64510,
        organization: "Sonde Lab Access Inc.",
    },
    LabAsnEntry {
        prefix: "2001:db8::/32",
        asn: 64520,
        organization: "Sonde Lab IPv6 GmbH",
    },
];

/// The place of `ip`, if the lab has one.
pub fn place_of(ip: std::net::IpAddr) -> Option<&'static LabPlace> {
    PLACES
        .iter()
        .find(|p| p.prefix.parse::<IpNet>().is_ok_and(|n| n.contains(&ip)))
}

fn names(en: &str) -> Value {
    Value::map([("en", Value::from(en))])
}

fn writer(database_type: &str) -> Writer {
    Writer::builder(database_type)
        .description(&[("en", DESCRIPTION)])
        .build_epoch(UNIX_EPOCH + Duration::from_secs(BUILD_EPOCH))
        .build()
}

fn net(prefix: &str) -> io::Result<IpNet> {
    prefix
        .parse()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("{prefix}: {e}")))
}

fn finish(writer: &Writer) -> io::Result<Vec<u8>> {
    writer.to_bytes().map_err(io::Error::other)
}

fn country_value(p: &LabPlace) -> Value {
    Value::map([
        ("iso_code", Value::from(p.country_code)),
        ("names", names(p.country)),
    ])
}

fn continent_value(p: &LabPlace) -> Value {
    Value::map([
        ("code", Value::from(p.continent_code)),
        ("names", names(p.continent)),
    ])
}

/// The City database (GeoLite2-City layout) of [`PLACES`], as bytes.
pub fn city_db() -> io::Result<Vec<u8>> {
    let mut w = writer(CITY_DB_TYPE);
    for p in &PLACES {
        let value = Value::map([
            ("city", Value::map([("names", names(p.city))])),
            ("continent", continent_value(p)),
            ("country", country_value(p)),
            ("registered_country", country_value(p)),
            (
                "location",
                Value::map([
                    ("latitude", Value::Double(p.latitude)),
                    ("longitude", Value::Double(p.longitude)),
                    ("accuracy_radius", Value::U16(p.accuracy_radius)),
                    ("time_zone", Value::from(p.time_zone)),
                ]),
            ),
            ("postal", Value::map([("code", Value::from(p.postal))])),
            (
                "subdivisions",
                Value::array([Value::map([
                    ("iso_code", Value::from(p.region_code)),
                    ("names", names(p.region)),
                ])]),
            ),
        ]);
        w.insert_value(net(p.prefix)?, value)
            .map_err(io::Error::other)?;
    }
    finish(&w)
}

/// The Country database (GeoLite2-Country layout) of [`PLACES`], as bytes.
pub fn country_db() -> io::Result<Vec<u8>> {
    let mut w = writer(COUNTRY_DB_TYPE);
    for p in &PLACES {
        let value = Value::map([
            ("continent", continent_value(p)),
            ("country", country_value(p)),
        ]);
        w.insert_value(net(p.prefix)?, value)
            .map_err(io::Error::other)?;
    }
    finish(&w)
}

/// The ASN database (GeoLite2-ASN layout) of [`ASN_ENTRIES`], as bytes.
pub fn asn_db() -> io::Result<Vec<u8>> {
    let mut w = writer(ASN_DB_TYPE);
    for e in &ASN_ENTRIES {
        let value = Value::map([
            ("autonomous_system_number", Value::U32(e.asn)),
            (
                "autonomous_system_organization",
                Value::from(e.organization),
            ),
        ]);
        w.insert_value(net(e.prefix)?, value)
            .map_err(io::Error::other)?;
    }
    finish(&w)
}

/// Writes the City database to `path`.
pub fn write_city_db(path: &Path) -> io::Result<()> {
    std::fs::write(path, city_db()?)
}

/// Writes the Country database to `path`.
pub fn write_country_db(path: &Path) -> io::Result<()> {
    std::fs::write(path, country_db()?)
}

/// Writes the ASN database to `path`.
pub fn write_asn_db(path: &Path) -> io::Result<()> {
    std::fs::write(path, asn_db()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::Topology;

    #[test]
    fn every_lab_address_has_a_place_and_the_databases_build() {
        for (ip, role) in Topology::standard().addresses() {
            assert!(place_of(ip).is_some(), "{role:?} {ip}");
        }
        for db in [city_db(), country_db(), asn_db()] {
            let bytes = db.expect("database builds");
            assert!(bytes.len() > 100);
        }
    }
}
