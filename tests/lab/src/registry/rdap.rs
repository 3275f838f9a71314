//! The lab's RDAP server: HTTPS on port 443 of [`RDAP`] and [`RDAP_REGISTRAR`], with a
//! certificate from the lab's CA, a deliberately small HTTP/1.1 (one GET per connection,
//! `Connection: close`), serving the bootstrap files, the registry's, registrar's and RIR's
//! objects, and the hostile answers.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

use super::{
    bare, network_of, Network, ASN, AS_NAME, AS_ORG, BOOTSTRAP_PUBLICATION, CLIENT_NET, CREATED,
    DOMAIN, DOMAIN_HANDLE, EXPIRES, NAMESERVER, RDAP, RDAP_REGISTRAR, RDAP_REGISTRAR_URL,
    RDAP_REGISTRY_BASE, RDAP_RIR_BASE, RDAP_STATUS, REGISTRANT, REGISTRANT_COUNTRY,
    REGISTRAR_ABUSE_EMAIL, REGISTRAR_ABUSE_PHONE, REGISTRAR_IANA_ID, REGISTRAR_NAME, UPDATED,
};

/// Largest request head read.
const MAX_REQUEST: usize = 16 * 1024;

/// Binds port 443 on both addresses of both RDAP hosts.
pub(crate) async fn bind() -> std::io::Result<Vec<TcpListener>> {
    let mut listeners = Vec::new();
    for host in [RDAP, RDAP_REGISTRAR] {
        for ip in [IpAddr::V4(host.v4), IpAddr::V6(host.v6)] {
            listeners.push(TcpListener::bind(SocketAddr::new(ip, 443)).await?);
        }
    }
    Ok(listeners)
}

/// The names the server's certificate is for.
pub(crate) fn names() -> [&'static str; 2] {
    [bare(RDAP.name), bare(RDAP_REGISTRAR.name)]
}

/// Serves one listener until the lab stops.
pub(crate) async fn serve(listener: TcpListener, tls: Arc<rustls::ServerConfig>) {
    let acceptor = TlsAcceptor::from(tls);
    loop {
        if let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve_connection(stream, acceptor.clone()));
        }
    }
}

async fn serve_connection(stream: TcpStream, acceptor: TlsAcceptor) {
    let work = async {
        let mut tls = acceptor.accept(stream).await.ok()?;
        let mut head = Vec::new();
        let mut chunk = [0u8; 2048];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = tls.read(&mut chunk).await.ok()?;
            if n == 0 || head.len() > MAX_REQUEST {
                return None;
            }
            head.extend_from_slice(&chunk[..n]);
        }
        let head = String::from_utf8_lossy(&head);
        let mut words = head.lines().next()?.split_whitespace();
        let (method, path) = (words.next()?, words.next()?);
        let response = if method == "GET" {
            respond(path)
        } else {
            Response::json(405, json!({"errorCode": 405, "title": "only GET"}))
        };
        tls.write_all(&response.encode()).await.ok()?;
        tls.shutdown().await.ok()
    };
    let _ = tokio::time::timeout(Duration::from_secs(10), work).await;
}

/// One HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Extra header lines.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    fn json(status: u16, body: Value) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: body.to_string().into_bytes(),
        }
    }

    fn not_found(path: &str) -> Response {
        Response::json(
            404,
            json!({"errorCode": 404, "title": "Not Found", "description": [format!("the lab has no {path}")]}),
        )
    }

    fn encode(&self) -> Vec<u8> {
        let reason = match self.status {
            200 => "OK",
            404 => "Not Found",
            405 => "Method Not Allowed",
            429 => "Too Many Requests",
            _ => "Other",
        };
        let mut out = format!(
            "HTTP/1.1 {} {reason}\r\nContent-Type: application/rdap+json\r\nContent-Length: {}\r\nConnection: close\r\n",
            self.status,
            self.body.len()
        );
        for (k, v) in &self.headers {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
        out.push_str("\r\n");
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&self.body);
        bytes
    }
}

/// The answer to `GET path`.
pub fn respond(path: &str) -> Response {
    let path = path.split('?').next().unwrap_or_default();
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match parts.as_slice() {
        ["bootstrap", file] => {
            bootstrap(file, RDAP_REGISTRY_BASE).unwrap_or_else(|| Response::not_found(path))
        }
        ["hostile", kind @ ("malformed" | "missing" | "limited"), file] => {
            let base = format!("https://{}/{kind}/", bare(RDAP.name));
            bootstrap(file, &base).unwrap_or_else(|| Response::not_found(path))
        }
        ["registry", "domain", name] if name.eq_ignore_ascii_case(DOMAIN) => {
            Response::json(200, registry_domain())
        }
        ["registrar", "domain", name] if name.eq_ignore_ascii_case(DOMAIN) => {
            Response::json(200, registrar_domain())
        }
        ["rir", "ip", ip] => match ip.parse::<IpAddr>().ok().and_then(network_of) {
            Some(net) => Response::json(200, ip_network(net)),
            None => Response::not_found(path),
        },
        ["rir", "autnum", n] if n.parse::<u32>() == Ok(ASN) => Response::json(200, autnum()),
        ["malformed", ..] => Response {
            status: 200,
            headers: Vec::new(),
            body: br#"{"objectClassName": "domain", "ldhName": "sonde.test", "status": ["#.to_vec(),
        },
        ["limited", ..] => Response {
            status: 429,
            headers: vec![("Retry-After".into(), "30".into())],
            body: json!({"errorCode": 429, "title": "Too Many Requests"})
                .to_string()
                .into_bytes(),
        },
        _ => Response::not_found(path),
    }
}

/// An IANA-style bootstrap file: `.test` at `dns_base`, the lab's networks and ASNs at the
/// RIR.
fn bootstrap(file: &str, dns_base: &str) -> Option<Response> {
    let services = match file {
        "dns.json" => json!([[["test"], [dns_base]]]),
        "ipv4.json" => json!([[["203.0.113.0/24", "198.51.100.0/24"], [RDAP_RIR_BASE]]]),
        "ipv6.json" => json!([[["2001:db8::/32"], [RDAP_RIR_BASE]]]),
        "asn.json" => json!([[["64496-64511"], [RDAP_RIR_BASE]]]),
        _ => return None,
    };
    Some(Response::json(
        200,
        json!({
            "description": format!("sonde lab RDAP bootstrap: {file}"),
            "publication": BOOTSTRAP_PUBLICATION,
            "services": services,
            "version": "1.0"
        }),
    ))
}

fn vcard(props: Value) -> Value {
    let mut all = vec![json!(["version", {}, "text", "4.0"])];
    all.extend(props.as_array().cloned().unwrap_or_default());
    json!(["vcard", all])
}

fn registry_domain() -> Value {
    json!({
        "rdapConformance": ["rdap_level_0", "icann_rdap_response_profile_1"],
        "objectClassName": "domain",
        "handle": DOMAIN_HANDLE,
        "ldhName": DOMAIN.to_ascii_uppercase(),
        "status": RDAP_STATUS,
        "events": [
            {"eventAction": "registration", "eventDate": CREATED},
            {"eventAction": "expiration", "eventDate": EXPIRES},
            {"eventAction": "last changed", "eventDate": UPDATED},
            {"eventAction": "last update of RDAP database", "eventDate": UPDATED}
        ],
        "entities": [{
            "objectClassName": "entity",
            "handle": REGISTRAR_IANA_ID,
            "roles": ["registrar"],
            "publicIds": [{"type": "IANA Registrar ID", "identifier": REGISTRAR_IANA_ID}],
            "vcardArray": vcard(json!([["fn", {}, "text", REGISTRAR_NAME]])),
            "entities": [{
                "objectClassName": "entity",
                "roles": ["abuse"],
                "vcardArray": vcard(json!([
                    ["fn", {}, "text", "Abuse desk"],
                    ["tel", {"type": "voice"}, "uri", format!("tel:{REGISTRAR_ABUSE_PHONE}")],
                    ["email", {}, "text", REGISTRAR_ABUSE_EMAIL]
                ]))
            }]
        }],
        "nameservers": [{"objectClassName": "nameserver", "ldhName": NAMESERVER.to_ascii_uppercase()}],
        "secureDNS": {"delegationSigned": false},
        "links": [
            {"rel": "self", "href": format!("{RDAP_REGISTRY_BASE}domain/{DOMAIN}"), "type": "application/rdap+json"},
            {"rel": "related", "href": RDAP_REGISTRAR_URL, "type": "application/rdap+json"}
        ],
        "notices": [{"title": "Lab data", "description": ["Every value is made up for sonde's tests."]}]
    })
}

fn registrar_domain() -> Value {
    json!({
        "rdapConformance": ["rdap_level_0"],
        "objectClassName": "domain",
        "handle": DOMAIN_HANDLE,
        "ldhName": DOMAIN,
        "entities": [
            {
                "objectClassName": "entity",
                "roles": ["registrant"],
                "vcardArray": vcard(json!([
                    ["fn", {}, "text", "REDACTED FOR PRIVACY"],
                    ["org", {}, "text", REGISTRANT],
                    ["adr", {"cc": REGISTRANT_COUNTRY}, "text", ["", "", "", "", "", "", ""]]
                ]))
            },
            {
                "objectClassName": "entity",
                "roles": ["registrar"],
                "vcardArray": vcard(json!([["fn", {}, "text", REGISTRAR_NAME]]))
            }
        ],
        "links": [{"rel": "self", "href": RDAP_REGISTRAR_URL, "type": "application/rdap+json"}],
        "remarks": [{"title": "Registrar record", "description": ["Served by the lab registrar."]}]
    })
}

fn ip_network(net: &Network) -> Value {
    let v6 = net.cidr.contains(':');
    let (prefix, len) = net.cidr.split_once('/').unwrap_or((net.cidr, "0"));
    let mut object = json!({
        "rdapConformance": ["rdap_level_0", "cidr0"],
        "objectClassName": "ip network",
        "handle": net.handle,
        "startAddress": net.start,
        "endAddress": net.end,
        "ipVersion": if v6 { "v6" } else { "v4" },
        "name": net.name,
        "type": net.status,
        "country": net.country,
        "status": ["active"],
        "events": [
            {"eventAction": "registration", "eventDate": net.created},
            {"eventAction": "last changed", "eventDate": net.updated}
        ],
        "entities": [
            {"objectClassName": "entity", "handle": "ORG-SL1-LAB", "roles": ["registrant"],
             "vcardArray": vcard(json!([["fn", {}, "text", net.org], ["kind", {}, "text", "org"]]))},
            {"objectClassName": "entity", "handle": "ABUSE-LAB", "roles": ["abuse"],
             "vcardArray": vcard(json!([["fn", {}, "text", "Abuse"], ["email", {}, "text", net.abuse]]))}
        ],
        "remarks": [{"description": [net.remark]}]
    });
    // The client network has no cidr0 member: a client computes the block from the range.
    if *net != CLIENT_NET {
        let key = if v6 { "v6prefix" } else { "v4prefix" };
        object["cidr0_cidrs"] = json!([{key: prefix, "length": len.parse::<u8>().unwrap_or(0)}]);
    }
    object
}

fn autnum() -> Value {
    json!({
        "rdapConformance": ["rdap_level_0"],
        "objectClassName": "autnum",
        "handle": format!("AS{ASN}"),
        "startAutnum": ASN,
        "endAutnum": ASN,
        "name": AS_NAME,
        "country": "NL",
        "status": ["active"],
        "entities": [
            {"objectClassName": "entity", "roles": ["registrant"],
             "vcardArray": vcard(json!([["fn", {}, "text", AS_ORG]]))},
            {"objectClassName": "entity", "roles": ["abuse"],
             "vcardArray": vcard(json!([["email", {}, "text", "abuse@rir.sonde.test"]]))}
        ]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(path: &str) -> (u16, Value) {
        let r = respond(path);
        (
            r.status,
            serde_json::from_slice(&r.body).unwrap_or(Value::Null),
        )
    }

    #[test]
    fn routes() {
        let (s, b) = body("/bootstrap/dns.json");
        assert_eq!(
            (s, b["services"][0][1][0].as_str()),
            (200, Some(RDAP_REGISTRY_BASE))
        );
        let (_, b) = body("/hostile/limited/dns.json");
        assert_eq!(b["services"][0][1][0], "https://rdap.sonde.test/limited/");
        let (_, b) = body("/hostile/limited/ipv4.json");
        assert_eq!(b["services"][0][1][0], RDAP_RIR_BASE);
        assert_eq!(
            body("/registry/domain/sonde.test").1["links"][1]["href"],
            RDAP_REGISTRAR_URL
        );
        assert_eq!(
            body("/rir/ip/203.0.113.10").1["cidr0_cidrs"][0]["length"],
            24
        );
        assert_eq!(body("/rir/ip/198.51.100.10").1.get("cidr0_cidrs"), None);
        assert_eq!(
            body("/rir/ip/2001:db8:113::10").1["name"],
            "SONDE-LAB-TARGET-V6"
        );
        assert_eq!(body("/rir/autnum/64500").1["name"], AS_NAME);
        assert_eq!(body("/rir/ip/192.0.2.1").0, 404);
        assert_eq!(body("/missing/domain/sonde.test").0, 404);
        assert_eq!(respond("/limited/domain/sonde.test").status, 429);
        assert!(
            serde_json::from_slice::<Value>(&respond("/malformed/domain/sonde.test").body).is_err()
        );
        let wire = String::from_utf8(respond("/limited/x").encode()).unwrap();
        assert!(
            wire.starts_with("HTTP/1.1 429 Too Many Requests\r\n")
                && wire.contains("Retry-After: 30\r\n")
        );
    }
}
