//! RDAP autnum (RFC 9083) as a last source of AS names: when Cymru has no
//! name for an AS and the offline table has none either, `GET` the URL
//! template with `{asn}` replaced, e.g. `https://rdap.org/autnum/{asn}`.
//!
//! Read: `objectClassName` (must be `autnum`), `startAutnum`/`endAutnum`
//! (must cover the AS), `name`, `country`, the registrant's vCard `fn`, and
//! the `registration` event's date. Bodies are read up to 256 KiB.

use std::time::Duration;

use serde::Deserialize;
use sonde_dns::Resolver;
use sonde_http::{Client, ClientOptions, Get};
use tokio::time::Instant;

use crate::cymru::AsRecord;

/// Largest response body read.
pub const MAX_BODY: usize = 256 * 1024;

/// A configured RDAP endpoint for autnum objects.
pub struct RdapClient {
    client: Client,
    url: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Autnum {
    object_class_name: Option<String>,
    start_autnum: Option<u32>,
    end_autnum: Option<u32>,
    name: Option<String>,
    country: Option<String>,
    #[serde(default)]
    entities: Vec<Entity>,
    #[serde(default)]
    events: Vec<Event>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Entity {
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    vcard_array: Option<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Event {
    event_action: Option<String>,
    event_date: Option<String>,
}

impl RdapClient {
    /// A client for the URL template `url` (checked by the settings), resolving host names
    /// through `resolver` until `deadline`.
    pub fn new(url: &str, resolver: Resolver, deadline: Instant) -> Result<Self, String> {
        let client = Client::new(ClientOptions {
            ca_file: None,
            resolver,
            deadline,
            https_only: false,
            max_redirects: 5,
        })?;
        Ok(RdapClient {
            client,
            url: url.to_string(),
        })
    }

    /// The URL asked for `asn`.
    pub fn url_for(&self, asn: u32) -> String {
        self.url.replace("{asn}", &asn.to_string())
    }

    /// What the registry says about AS `asn`, never past `deadline`.
    pub async fn autnum(&self, asn: u32, deadline: Instant) -> Result<AsRecord, String> {
        let url = self.url_for(asn);
        let left = deadline.saturating_duration_since(Instant::now());
        if left < Duration::from_millis(1) {
            return Err(format!("{url} not asked: no time left"));
        }
        let answer = self
            .client
            .get(&Get {
                url: &url,
                accept: "application/rdap+json, application/json",
                bearer: None,
                max_bytes: MAX_BODY,
                timeout: left,
                deadline,
            })
            .await
            .map_err(|e| e.to_string())?;
        parse(asn, &answer.body).map_err(|why| format!("{url}: {why}"))
    }
}

fn clean(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty() && v.len() <= 200 && !v.chars().any(char::is_control))
        .map(str::to_string)
}

/// The registrant's formatted name from a jCard (`["vcard", [["fn", {}, "text", "Name"], ...]]`).
fn vcard_fn(card: &serde_json::Value) -> Option<String> {
    card.get(1)?.as_array()?.iter().find_map(|prop| {
        let prop = prop.as_array()?;
        (prop.first()?.as_str()? == "fn").then(|| clean(prop.get(3)?.as_str()))?
    })
}

/// Reads one autnum answer about `asn`.
pub fn parse(asn: u32, body: &[u8]) -> Result<AsRecord, String> {
    let a: Autnum =
        serde_json::from_slice(body).map_err(|e| format!("the answer is not RDAP JSON: {e}"))?;
    match a.object_class_name.as_deref() {
        Some("autnum") => {}
        other => {
            return Err(format!(
                "the answer is a {:?} object, not an autnum",
                other.unwrap_or("nameless")
            ))
        }
    }
    if let (Some(start), Some(end)) = (a.start_autnum, a.end_autnum) {
        if !(start..=end).contains(&asn) {
            return Err(format!(
                "the answer is about AS{start}-AS{end}, not AS{asn}"
            ));
        }
    }
    let org = a
        .entities
        .iter()
        .filter(|e| e.roles.iter().any(|r| r == "registrant"))
        .find_map(|e| e.vcard_array.as_ref().and_then(vcard_fn));
    let handle = clean(a.name.as_deref());
    let name = match (handle, org) {
        (Some(h), Some(o)) if h != o => Some(format!("{h} - {o}")),
        (Some(h), _) => Some(h),
        (None, o) => o,
    };
    let allocated = a
        .events
        .iter()
        .find(|e| e.event_action.as_deref() == Some("registration"))
        .and_then(|e| e.event_date.as_deref())
        .and_then(|d| d.get(..10))
        .filter(|d| {
            let b = d.as_bytes();
            b[4] == b'-' && b[7] == b'-' && d.bytes().filter(u8::is_ascii_digit).count() == 8
        })
        .map(str::to_string);
    let country = clean(a.country.as_deref())
        .filter(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphabetic()))
        .map(|c| c.to_ascii_uppercase());
    if name.is_none() {
        return Err("the autnum has no name and no registrant".into());
    }
    Ok(AsRecord {
        country,
        registry: None,
        allocated,
        name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOGLE: &str = r#"{"objectClassName":"autnum","handle":"AS15169","startAutnum":15169,"endAutnum":15169,"name":"GOOGLE","entities":[{"roles":["registrant"],"vcardArray":["vcard",[["version",{},"text","4.0"],["fn",{},"text","Google LLC"],["kind",{},"text","org"]]]}],"events":[{"eventAction":"registration","eventDate":"2000-03-30T00:00:00-05:00"},{"eventAction":"last changed","eventDate":"2012-02-24T09:44:34-05:00"}]}"#;

    #[test]
    fn an_arin_style_autnum() {
        let r = parse(15169, GOOGLE.as_bytes()).expect("parses");
        assert_eq!(r.name.as_deref(), Some("GOOGLE - Google LLC"));
        assert_eq!(r.allocated.as_deref(), Some("2000-03-30"));
        let ripe = r#"{"objectClassName":"autnum","startAutnum":3333,"endAutnum":3333,"name":"RIPE-NCC-AS","country":"nl"}"#;
        let r = parse(3333, ripe.as_bytes()).expect("parses");
        assert_eq!(
            (r.name.as_deref(), r.country.as_deref()),
            (Some("RIPE-NCC-AS"), Some("NL"))
        );
    }

    #[test]
    fn hostile_answers_are_errors_with_the_reason() {
        for (body, want) in [
            ("<html/>", "not RDAP JSON"),
            (
                r#"{"objectClassName":"ip network","name":"X"}"#,
                "\"ip network\" object, not an autnum",
            ),
            (
                r#"{"objectClassName":"autnum","startAutnum":1,"endAutnum":2,"name":"X"}"#,
                "about AS1-AS2, not AS15169",
            ),
            (
                r#"{"objectClassName":"autnum"}"#,
                "no name and no registrant",
            ),
            (
                r#"{"objectClassName":"autnum","entities":[{"roles":["registrant"],"vcardArray":["vcard",[["fn"]]]}]}"#,
                "no name",
            ),
        ] {
            let err = parse(15169, body.as_bytes()).expect_err(want);
            assert!(err.contains(want), "{want}: {err}");
        }
        for i in 0..GOOGLE.len() {
            let _ = parse(15169, &GOOGLE.as_bytes()[..i]);
        }
        let short_date = r#"{"objectClassName":"autnum","name":"X","events":[{"eventAction":"registration","eventDate":"2000"}]}"#;
        assert_eq!(
            parse(1, short_date.as_bytes()).expect("parses").allocated,
            None
        );
    }
}
