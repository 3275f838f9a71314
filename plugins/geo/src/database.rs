//! MaxMind-format databases (MMDB) through the `maxminddb` crate: the City,
//! Country and ASN layouts of GeoLite2/GeoIP2, and DB-IP's lite files,
//! which use the same keys. One record type reads all of them: every field
//! is optional, and the layout decides which are there.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::output::{AddressGeo, Coordinates, Country, GeoSource, Region, SourceKind, Status};

/// File names looked for in the data directory, in order: City layouts
/// first, as they have the most.
pub const DATA_DIR_NAMES: [&str; 6] = [
    "GeoLite2-City.mmdb",
    "GeoIP2-City.mmdb",
    "dbip-city-lite.mmdb",
    "GeoLite2-Country.mmdb",
    "GeoIP2-Country.mmdb",
    "dbip-country-lite.mmdb",
];

/// Why the database cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {
    /// The file could not be read.
    #[error("geo database {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a readable MMDB (truncated, corrupt, another format).
    #[error("geo database {path} is not a readable MaxMind database: {why}")]
    Format {
        /// The file.
        path: PathBuf,
        /// The reader's words.
        why: String,
    },
}

/// An opened database.
pub struct Database {
    path: PathBuf,
    reader: maxminddb::Reader<Vec<u8>>,
}

#[derive(Deserialize, Default)]
struct Place {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    iso_code: Option<String>,
    #[serde(default)]
    names: BTreeMap<String, String>,
}

#[derive(Deserialize, Default)]
struct Location {
    latitude: Option<f64>,
    longitude: Option<f64>,
    accuracy_radius: Option<u16>,
    time_zone: Option<String>,
}

#[derive(Deserialize, Default)]
struct Postal {
    code: Option<String>,
}

/// Every key of the City, Country and ASN layouts.
#[derive(Deserialize, Default)]
struct Record {
    #[serde(default)]
    continent: Option<Place>,
    #[serde(default)]
    country: Option<Place>,
    #[serde(default)]
    registered_country: Option<Place>,
    #[serde(default)]
    subdivisions: Vec<Place>,
    #[serde(default)]
    city: Option<Place>,
    #[serde(default)]
    postal: Option<Postal>,
    #[serde(default)]
    location: Option<Location>,
    #[serde(default)]
    autonomous_system_number: Option<u32>,
    #[serde(default)]
    autonomous_system_organization: Option<String>,
}

impl Database {
    /// Opens and checks `path` (its metadata and tree layout; records are
    /// checked as they are read).
    pub fn open(path: &Path) -> Result<Database, DatabaseError> {
        let bytes = std::fs::read(path).map_err(|source| DatabaseError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let reader = maxminddb::Reader::from_source(bytes).map_err(|e| DatabaseError::Format {
            path: path.to_path_buf(),
            why: e.to_string(),
        })?;
        Ok(Database {
            path: path.to_path_buf(),
            reader,
        })
    }

    /// What the report says about it.
    pub fn source(&self) -> GeoSource {
        let meta = self.reader.metadata();
        GeoSource {
            kind: SourceKind::Database,
            name: meta.database_type.clone(),
            path: Some(self.path.display().to_string()),
            build_date: Some(sonde_core::date::utc_date(meta.build_epoch)),
            build_epoch: Some(meta.build_epoch),
            description: meta.description.get("en").cloned(),
        }
    }

    /// The location of `ip`, names in `language` when the database has it.
    pub fn lookup(&self, ip: IpAddr, language: &str) -> AddressGeo {
        let mut out = AddressGeo::empty(ip, Status::NotFound);
        if ip.is_ipv6() && self.reader.metadata().ip_version == 4 {
            out.detail = Some("an IPv4-only database has no IPv6 addresses".into());
            return out;
        }
        let fail = |why: String| {
            let mut out = AddressGeo::empty(ip, Status::Error);
            out.detail = Some(format!("lookup in {} failed: {why}", self.path.display()));
            out
        };
        let found = match self.reader.lookup(ip) {
            Ok(found) => found,
            Err(e) => return fail(e.to_string()),
        };
        let record = match found.decode::<Record>() {
            Ok(Some(record)) => record,
            Ok(None) => return out,
            Err(e) => return fail(e.to_string()),
        };
        out.status = Status::Found;
        out.network = found.network().ok().map(|n| n.to_string());
        let name = |p: &Place| pick(&p.names, language);
        out.continent = record.continent.as_ref().and_then(|c| c.code.clone());
        out.country = record
            .country
            .as_ref()
            .or(record.registered_country.as_ref())
            .map(|c| Country {
                code: c.iso_code.clone(),
                name: name(c),
            })
            .filter(|c| c.code.is_some() || c.name.is_some());
        out.region = record
            .subdivisions
            .first()
            .map(|s| Region {
                code: s.iso_code.clone(),
                name: name(s),
            })
            .filter(|r| r.code.is_some() || r.name.is_some());
        out.city = record.city.as_ref().and_then(name);
        out.postal_code = record.postal.and_then(|p| p.code);
        if let Some(loc) = record.location {
            if let (Some(latitude), Some(longitude)) = (loc.latitude, loc.longitude) {
                if valid_coordinates(latitude, longitude) {
                    out.coordinates = Some(Coordinates {
                        latitude,
                        longitude,
                        accuracy_radius_km: loc.accuracy_radius,
                    });
                } else {
                    out.detail = Some(format!(
                        "the database's coordinates ({latitude}, {longitude}) are out of range; left out"
                    ));
                }
            }
            out.time_zone = loc.time_zone;
        }
        out.asn = record.autonomous_system_number;
        out.as_organization = record.autonomous_system_organization;
        out
    }
}

/// The database to use: the setting, else `$SONDE_GEO_DB`, else a known
/// file name in the data directory. The second value says where it came
/// from, for messages.
pub fn find(setting: Option<&Path>) -> Option<(PathBuf, &'static str)> {
    if let Some(path) = setting {
        return Some((path.to_path_buf(), "the `database` setting"));
    }
    if let Some(path) = std::env::var_os(crate::config::DATABASE_ENV).filter(|v| !v.is_empty()) {
        return Some((PathBuf::from(path), "$SONDE_GEO_DB"));
    }
    let dir = sonde_core::dirs::data_dir()?;
    DATA_DIR_NAMES
        .iter()
        .map(|name| dir.join(name))
        .find(|p| p.is_file())
        .map(|p| (p, "the data directory"))
}

fn pick(names: &BTreeMap<String, String>, language: &str) -> Option<String> {
    names
        .get(language)
        .or_else(|| names.get("en"))
        .or_else(|| names.values().next())
        .cloned()
}

fn valid_coordinates(latitude: f64, longitude: f64) -> bool {
    (-90.0..=90.0).contains(&latitude) && (-180.0..=180.0).contains(&longitude)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_coordinates() {
        let names: BTreeMap<String, String> = [("de", "München"), ("en", "Munich")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(pick(&names, "de").as_deref(), Some("München"));
        assert_eq!(pick(&names, "fr").as_deref(), Some("Munich"));
        assert!(valid_coordinates(52.3, 4.9));
        assert!(!valid_coordinates(91.0, 0.0));
        assert!(!valid_coordinates(f64::NAN, 0.0));
    }
}
