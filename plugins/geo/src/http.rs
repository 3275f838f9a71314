//! An ipinfo-style JSON API, for users without a database: one GET per
//! address (`{ip}` in the URL template), an optional bearer token, bounded
//! reads, and strict checks on what comes back.
//!
//! Fields read: `ip`, `city`, `region`, `region_code`, `country`,
//! `country_code`, `country_name`, `continent_code`, `postal`, `loc`
//! (`"lat,lon"`), `timezone`, `org` (`"AS15169 Google LLC"`), `asn`,
//! `as_name`, `bogon`, and `error` (`{"title", "message"}`).

use std::net::IpAddr;
use std::time::Duration;

use serde::Deserialize;
use sonde_dns::Resolver;
use sonde_http::{Answer, Client, ClientOptions, Get};
use tokio::time::Instant;

use crate::output::{AddressGeo, Coordinates, Country, Region, Status};

/// Largest response body read.
pub const MAX_BODY: usize = 64 * 1024;

/// A configured API.
pub struct HttpProvider {
    client: Client,
    url: String,
    token: Option<String>,
}

#[derive(Deserialize)]
struct Reply {
    ip: Option<String>,
    city: Option<String>,
    region: Option<String>,
    region_code: Option<String>,
    country: Option<String>,
    country_code: Option<String>,
    country_name: Option<String>,
    continent_code: Option<String>,
    postal: Option<String>,
    loc: Option<String>,
    timezone: Option<String>,
    org: Option<String>,
    asn: Option<String>,
    as_name: Option<String>,
    #[serde(default)]
    bogon: bool,
    error: Option<ApiError>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ApiError {
    Object {
        title: Option<String>,
        message: Option<String>,
    },
    Text(String),
}

impl ApiError {
    fn text(&self) -> String {
        match self {
            ApiError::Text(t) => t.clone(),
            ApiError::Object { title, message } => [title.as_deref(), message.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(": "),
        }
    }
}

impl HttpProvider {
    /// A provider for the URL template `url` (checked by the settings), resolving its host
    /// name through `resolver` until `deadline`.
    pub fn new(
        url: &str,
        token: Option<String>,
        resolver: Resolver,
        deadline: Instant,
    ) -> Result<Self, String> {
        let client = Client::new(ClientOptions {
            ca_file: None,
            resolver,
            deadline,
            https_only: false,
            max_redirects: 3,
        })?;
        Ok(HttpProvider {
            client,
            url: url.to_string(),
            token,
        })
    }

    /// The URL asked for `ip`.
    pub fn url_for(&self, ip: IpAddr) -> String {
        self.url.replace("{ip}", &ip.to_string())
    }

    /// Asks the API about `ip`, never past `deadline`.
    pub async fn lookup(&self, ip: IpAddr, deadline: Instant) -> AddressGeo {
        match self.fetch(ip, deadline).await {
            Ok(body) => parse(ip, &body).unwrap_or_else(|why| error(ip, why)),
            Err(why) => error(ip, why),
        }
    }

    async fn fetch(&self, ip: IpAddr, deadline: Instant) -> Result<Vec<u8>, String> {
        let url = self.url_for(ip);
        let left = deadline.saturating_duration_since(Instant::now());
        if left < Duration::from_millis(1) {
            return Err(format!("{url} not asked: no time left"));
        }
        let Answer { status, body } = self
            .client
            .fetch(&Get {
                url: &url,
                accept: "application/json",
                bearer: self.token.as_deref(),
                max_bytes: MAX_BODY,
                timeout: left,
                deadline,
            })
            .await
            .map_err(|e| e.to_string())?;
        if !(200..300).contains(&status) {
            let reason = serde_json::from_slice::<Reply>(&body)
                .ok()
                .and_then(|r| r.error.map(|e| e.text()))
                .unwrap_or_default();
            return Err(format!(
                "{url} answered HTTP {status}{}",
                if reason.is_empty() {
                    String::new()
                } else {
                    format!(": {reason}")
                }
            ));
        }
        Ok(body)
    }
}

fn error(ip: IpAddr, why: String) -> AddressGeo {
    let mut out = AddressGeo::empty(ip, Status::Error);
    out.detail = Some(why);
    out
}

fn clean(value: Option<String>) -> Option<String> {
    value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty() && v.len() <= 200 && !v.chars().any(char::is_control))
}

/// Reads one API answer about `ip`.
pub fn parse(ip: IpAddr, body: &[u8]) -> Result<AddressGeo, String> {
    let reply: Reply = serde_json::from_slice(body)
        .map_err(|e| format!("the answer is not the JSON of an ipinfo-style API: {e}"))?;
    if let Some(e) = &reply.error {
        return Err(format!("the API answered an error: {}", e.text()));
    }
    if let Some(answered) = &reply.ip {
        if answered.parse::<IpAddr>().ok() != Some(ip) {
            return Err(format!("the answer is about {answered}, not {ip}"));
        }
    }
    let mut out = AddressGeo::empty(ip, Status::Found);
    if reply.bogon {
        out.status = Status::NotFound;
        out.detail = Some("the API calls it a bogon: not routed on the Internet".into());
        return Ok(out);
    }
    let country = clean(reply.country);
    let (code, name) = match clean(reply.country_code) {
        Some(code) => (Some(code), country),
        None => match country {
            Some(c) if c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()) => {
                (Some(c), clean(reply.country_name))
            }
            other => (None, other.or(clean(reply.country_name))),
        },
    };
    if let Some(code) = &code {
        if code.len() != 2 || !code.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(format!("`{code}` is not a country code"));
        }
    }
    out.country = (code.is_some() || name.is_some()).then(|| Country {
        code: code.map(|c| c.to_ascii_uppercase()),
        name,
    });
    out.region = match (clean(reply.region_code), clean(reply.region)) {
        (None, None) => None,
        (code, name) => Some(Region { code, name }),
    };
    out.continent = clean(reply.continent_code);
    out.city = clean(reply.city);
    out.postal_code = clean(reply.postal);
    out.time_zone = clean(reply.timezone);
    if let Some(loc) = clean(reply.loc) {
        let parsed = loc.split_once(',').and_then(|(a, b)| {
            let lat: f64 = a.trim().parse().ok()?;
            let lon: f64 = b.trim().parse().ok()?;
            ((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon)).then_some((lat, lon))
        });
        let (latitude, longitude) =
            parsed.ok_or_else(|| format!("`loc` {loc:?} is not \"latitude,longitude\""))?;
        out.coordinates = Some(Coordinates {
            latitude,
            longitude,
            accuracy_radius_km: None,
        });
    }
    let (asn, org) = match (clean(reply.asn), clean(reply.as_name), clean(reply.org)) {
        (Some(asn), name, _) => (Some(asn), name),
        (None, _, Some(org)) => match org.split_once(' ') {
            Some((asn, name)) if asn.starts_with("AS") => {
                (Some(asn.to_string()), Some(name.trim().to_string()))
            }
            _ => (None, Some(org)),
        },
        (None, name, None) => (None, name),
    };
    out.asn = asn.and_then(|a| a.trim_start_matches("AS").parse().ok());
    out.as_organization = org;
    if out.country.is_none() && out.city.is_none() && out.coordinates.is_none() {
        out.status = Status::NotFound;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn ipinfo_answers() {
        let body = br#"{"ip":"8.8.8.8","hostname":"dns.google","city":"Mountain View","region":"California","country":"US","loc":"37.4056,-122.0775","org":"AS15169 Google LLC","postal":"94043","timezone":"America/Los_Angeles"}"#;
        let g = parse(ip("8.8.8.8"), body).expect("parses");
        assert_eq!(g.status, Status::Found);
        assert_eq!(
            g.country.as_ref().and_then(|c| c.code.as_deref()),
            Some("US")
        );
        assert_eq!(
            g.region.as_ref().and_then(|r| r.name.as_deref()),
            Some("California")
        );
        assert_eq!(g.city.as_deref(), Some("Mountain View"));
        assert_eq!(g.postal_code.as_deref(), Some("94043"));
        assert_eq!(g.coordinates.as_ref().map(|c| c.latitude), Some(37.4056));
        assert_eq!(g.time_zone.as_deref(), Some("America/Los_Angeles"));
        assert_eq!(g.asn, Some(15169));
        assert_eq!(g.as_organization.as_deref(), Some("Google LLC"));

        let lite = br#"{"ip":"1.1.1.1","asn":"AS13335","as_name":"Cloudflare, Inc.","country_code":"AU","country":"Australia","continent_code":"OC"}"#;
        let g = parse(ip("1.1.1.1"), lite).expect("parses");
        let country = g.country.expect("country");
        assert_eq!(
            (country.code.as_deref(), country.name.as_deref()),
            (Some("AU"), Some("Australia"))
        );
        assert_eq!(g.continent.as_deref(), Some("OC"));
        assert_eq!(g.asn, Some(13335));

        let bogon = parse(ip("10.0.0.1"), br#"{"ip":"10.0.0.1","bogon":true}"#).expect("parses");
        assert_eq!(bogon.status, Status::NotFound);
    }

    #[test]
    fn hostile_answers_are_errors_with_the_reason() {
        let cases: [(&[u8], &str); 7] = [
            (b"<html>busy</html>", "not the JSON"),
            (b"[1,2]", "not the JSON"),
            (
                br#"{"ip":"9.9.9.9","country":"US"}"#,
                "about 9.9.9.9, not 8.8.8.8",
            ),
            (
                br#"{"ip":"8.8.8.8","loc":"north"}"#,
                "`loc` \"north\" is not",
            ),
            (
                br#"{"ip":"8.8.8.8","loc":"95,10"}"#,
                "is not \"latitude,longitude\"",
            ),
            (
                br#"{"error":{"title":"Wrong token","message":"Please check"}}"#,
                "Wrong token: Please check",
            ),
            (br#"{"country_code":"U$"}"#, "`U$` is not a country code"),
        ];
        for (body, want) in cases {
            let err = parse(ip("8.8.8.8"), body).expect_err(want);
            assert!(err.contains(want), "{want}: {err}");
        }
        // Truncations of a real answer never panic.
        let body = br#"{"ip":"8.8.8.8","city":"Mountain View","loc":"37.4,-122.0","org":"AS15169 Google"}"#;
        for i in 0..body.len() {
            let _ = parse(ip("8.8.8.8"), &body[..i]);
        }
    }
}
