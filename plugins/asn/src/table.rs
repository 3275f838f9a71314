//! The offline prefix table: an MMDB ASN database (GeoLite2-ASN, DB-IP's
//! ASN lite) or a CSV of `prefix,asn[,name[,country]]`, for when Cymru
//! cannot be asked.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use ipnet::IpNet;
use serde::Deserialize;

/// The MMDB metadata marker; a file that has it is read as MMDB.
const MMDB_MARKER: &[u8] = b"\xab\xcd\xefMaxMind.com";
/// File names looked for in the data directory, in order.
const DATA_DIR_NAMES: [&str; 4] = [
    "GeoLite2-ASN.mmdb",
    "dbip-asn-lite.mmdb",
    "asn.mmdb",
    "asn.csv",
];

/// Why the table could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    /// The file could not be read.
    #[error("ASN table {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// An MMDB file that the reader refuses (truncated, corrupt).
    #[error("ASN table {path} is not a readable MaxMind database: {why}")]
    Mmdb {
        /// The file.
        path: PathBuf,
        /// The reader's words.
        why: String,
    },
    /// A CSV line that does not parse.
    #[error("ASN table {path}, line {line}: {why}")]
    Csv {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        why: String,
    },
    /// A lookup in a database that opened but is broken inside.
    #[error("ASN table {path}: lookup of {ip} failed: {why}")]
    Lookup {
        /// The file.
        path: PathBuf,
        /// The address.
        ip: IpAddr,
        /// The reader's words.
        why: String,
    },
}

/// What the table says about an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The covering prefix.
    pub prefix: IpNet,
    /// Its AS number.
    pub asn: u32,
    /// The AS's name or organisation.
    pub name: Option<String>,
    /// A country code, when the CSV has one.
    pub country: Option<String>,
}

/// An opened table.
pub struct Table {
    path: PathBuf,
    kind: Kind,
}

enum Kind {
    Mmdb(Box<maxminddb::Reader<Vec<u8>>>),
    Csv(Vec<Entry>),
}

#[derive(Deserialize)]
struct MmdbAsn<'a> {
    autonomous_system_number: Option<u32>,
    #[serde(borrow)]
    autonomous_system_organization: Option<&'a str>,
}

impl Table {
    /// Opens `path`: MMDB when the file has MaxMind's metadata marker (or
    /// ends in `.mmdb`), CSV otherwise.
    pub fn open(path: &Path) -> Result<Table, TableError> {
        let bytes = std::fs::read(path).map_err(|source| TableError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let is_mmdb = path.extension().is_some_and(|e| e == "mmdb")
            || bytes.windows(MMDB_MARKER.len()).any(|w| w == MMDB_MARKER);
        let kind = if is_mmdb {
            let reader = maxminddb::Reader::from_source(bytes).map_err(|e| TableError::Mmdb {
                path: path.to_path_buf(),
                why: e.to_string(),
            })?;
            Kind::Mmdb(Box::new(reader))
        } else {
            let text = String::from_utf8_lossy(&bytes);
            Kind::Csv(parse_csv(&text).map_err(|(line, why)| TableError::Csv {
                path: path.to_path_buf(),
                line,
                why,
            })?)
        };
        Ok(Table {
            path: path.to_path_buf(),
            kind,
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the table is one of DB-IP's (its MMDB type or its file name says so). DB-IP's
    /// lite databases are CC BY 4.0: wherever their data is shown, DB-IP is credited.
    pub fn is_db_ip(&self) -> bool {
        let database_type = match &self.kind {
            Kind::Mmdb(r) => r.metadata().database_type.as_str(),
            Kind::Csv(_) => "",
        };
        is_db_ip(database_type, &self.path)
    }

    /// In words: `GeoLite2-ASN, MMDB built 2025-12-01` or `CSV, 3 prefixes`.
    pub fn describe(&self) -> String {
        match &self.kind {
            Kind::Mmdb(r) => format!(
                "{}, MMDB built {}",
                r.metadata().database_type,
                sonde_core::date::utc_date(r.metadata().build_epoch)
            ),
            Kind::Csv(entries) => format!("CSV, {} prefixes", entries.len()),
        }
    }

    /// The most specific entry covering `ip`, if any.
    pub fn lookup(&self, ip: IpAddr) -> Result<Option<Entry>, TableError> {
        match &self.kind {
            Kind::Csv(entries) => Ok(entries
                .iter()
                .filter(|e| e.prefix.contains(&ip))
                .max_by_key(|e| e.prefix.prefix_len())
                .cloned()),
            Kind::Mmdb(reader) => {
                let fail = |why: String| TableError::Lookup {
                    path: self.path.clone(),
                    ip,
                    why,
                };
                if ip.is_ipv6() && reader.metadata().ip_version == 4 {
                    return Ok(None);
                }
                let found = reader.lookup(ip).map_err(|e| fail(e.to_string()))?;
                let Some(record) = found.decode::<MmdbAsn>().map_err(|e| fail(e.to_string()))?
                else {
                    return Ok(None);
                };
                let Some(asn) = record.autonomous_system_number else {
                    return Ok(None);
                };
                let network = found.network().map_err(|e| fail(e.to_string()))?;
                let prefix =
                    IpNet::new(network.ip(), network.prefix()).map_err(|e| fail(e.to_string()))?;
                Ok(Some(Entry {
                    prefix,
                    asn,
                    name: record
                        .autonomous_system_organization
                        .filter(|n| !n.is_empty())
                        .map(str::to_string),
                    country: None,
                }))
            }
        }
    }
}

/// The table to use: the setting, else `$SONDE_ASN_DB`, else a known file
/// name in the user's data directory (`$XDG_DATA_HOME/sonde`,
/// `~/.local/share/sonde`).
pub fn find(setting: Option<&Path>) -> Option<PathBuf> {
    if let Some(path) = setting {
        return Some(path.to_path_buf());
    }
    if let Some(path) = std::env::var_os(crate::config::DATABASE_ENV).filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(path));
    }
    let dir = sonde_core::dirs::data_dir()?;
    DATA_DIR_NAMES
        .iter()
        .map(|name| dir.join(name))
        .find(|p| p.is_file())
}

fn parse_csv(text: &str) -> Result<Vec<Entry>, (usize, String)> {
    let mut entries = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let bad = |why: String| (i + 1, why);
        if fields.len() < 2 || fields.len() > 4 {
            return Err(bad(format!(
                "{} field(s); expected prefix,asn[,name[,country]]",
                fields.len()
            )));
        }
        let prefix: IpNet = fields[0]
            .parse()
            .map_err(|_| bad(format!("`{}` is not a prefix", fields[0])))?;
        let asn_text = fields[1].trim_start_matches("AS");
        let asn: u32 = asn_text
            .parse()
            .ok()
            .filter(|n| *n != 0)
            .ok_or_else(|| bad(format!("`{}` is not an AS number", fields[1])))?;
        let name = fields
            .get(2)
            .filter(|n| !n.is_empty())
            .map(|n| n.to_string());
        let country = match fields.get(3).filter(|c| !c.is_empty()) {
            Some(c) if c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphabetic()) => {
                Some(c.to_ascii_uppercase())
            }
            Some(c) => return Err(bad(format!("`{c}` is not a country code"))),
            None => None,
        };
        entries.push(Entry {
            prefix: prefix.trunc(),
            asn,
            name,
            country,
        });
    }
    Ok(entries)
}

/// DB-IP names its databases `DBIP-ASN-Lite (compat=GeoLite2-ASN)` and its files
/// `dbip-asn-lite-2025-12.mmdb`.
fn is_db_ip(database_type: &str, path: &Path) -> bool {
    let dbip = |s: &str| s.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("dbip"));
    dbip(database_type) || path.file_name().and_then(|n| n.to_str()).is_some_and(dbip)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn db_ip_tables_are_known_by_type_or_file_name() {
        for (database_type, path, want) in [
            (
                "DBIP-ASN-Lite (compat=GeoLite2-ASN)",
                "/data/asn.mmdb",
                true,
            ),
            ("GeoLite2-ASN", "/data/dbip-asn-lite-2025-12.mmdb", true),
            ("", "/data/DBIP-asn.csv", true),
            ("GeoLite2-ASN", "/data/GeoLite2-ASN.mmdb", false),
            ("", "/data/dbip", true),
            ("", "/data/dbi.csv", false),
            ("dbi", "/", false),
        ] {
            assert_eq!(
                is_db_ip(database_type, Path::new(path)),
                want,
                "{database_type} {path}"
            );
        }
    }

    #[test]
    fn csv_lines() {
        let entries = parse_csv(
            "# prefix,asn,name,country\n203.0.113.0/24,64500,Transit,nl\n\n203.0.113.0/28 , AS64501\n",
        )
        .expect("parses");
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].country.as_deref(), Some("NL"));
        assert_eq!(entries[1].asn, 64501);
        assert_eq!(entries[1].name, None);
        for (text, line, want) in [
            ("203.0.113.0/24", 1, "1 field(s)"),
            ("# c\n203.0.113.0/24,x", 2, "`x` is not an AS number"),
            ("203.0.113.0/24,0", 1, "`0` is not an AS number"),
            ("nowhere,64500", 1, "`nowhere` is not a prefix"),
            (
                "203.0.113.0/24,64500,n,NLD",
                1,
                "`NLD` is not a country code",
            ),
            ("1,2,3,4,5", 1, "5 field(s)"),
        ] {
            let (at, why) = parse_csv(text).expect_err(text);
            assert_eq!(at, line, "{text}");
            assert!(why.contains(want), "{text}: {why}");
        }
    }
}
