//! The library side, against the lab: AS numbers (which the collector itself never asks
//! about, but the asn collector may) by RDAP and WHOIS at once, through [`Registries`].
//! Needs root (network namespaces); skips visibly otherwise.

use std::net::SocketAddr;
use std::time::Duration;

use sonde_dns::Resolver;
use sonde_lab::registry::{self, ASN, AS_NAME, AS_ORG};
use sonde_lab::{require_root_or_skip, Lab, Role};
use sonde_whois::{Lookup, Protocol, Query, Registries, WhoisConfig};

fn ask(lab: &Lab, query: Query) -> Lookup {
    let dir = std::env::temp_dir().join(format!("sonde-whois-lab-{}-{query}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch");
    std::fs::write(dir.join("ca.pem"), lab.ca_pem()).expect("ca");
    let config = WhoisConfig {
        all: true,
        whois_server: registry::IANA.name.trim_end_matches('.').into(),
        bootstrap_url: registry::BOOTSTRAP_URL.into(),
        cache_dir: Some(dir.clone()),
        ca_file: Some(dir.join("ca.pem")),
        ..WhoisConfig::default()
    };
    let dns = SocketAddr::new(lab.dns_server(), 53);
    let lookup = lab
        .run_in(Role::Client, move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
                let registries = Registries::new(config, Resolver::new(vec![dns]), deadline);
                registries.lookup(&query).await
            })
        })
        .expect("runs in the client namespace");
    let _ = std::fs::remove_dir_all(&dir);
    lookup
}

#[test]
fn an_as_number_by_rdap_and_whois() {
    require_root_or_skip!();
    let lab = Lab::start().expect("lab");
    let lookup = ask(&lab, Query::Asn(ASN));
    assert_eq!(lookup.query, "AS64500");
    assert_eq!(lookup.answered_by, Some(Protocol::Rdap));

    let rdap = lookup.rdap.expect("rdap ran");
    assert_eq!(rdap.server.as_deref(), Some(registry::RDAP_RIR_BASE));
    let r = rdap.record.expect("rdap record");
    assert_eq!(r.name.as_deref(), Some(AS_NAME));
    assert_eq!(r.org.as_deref(), Some(AS_ORG));
    assert_eq!(r.country.as_deref(), Some("NL"));
    assert_eq!(r.abuse_email.as_deref(), Some("abuse@rir.sonde.test"));
    assert_eq!(r.range, Some(("AS64500".into(), "AS64500".into())));

    let whois = lookup.whois.expect("whois ran too (all = true)");
    let servers: Vec<&str> = whois.hops.iter().map(|h| h.server.as_str()).collect();
    assert_eq!(servers, ["whois.iana.sonde.test", "whois.rir.sonde.test"]);
    assert!(whois.hops.iter().all(|h| h.query == "AS64500"));
    let w = whois.record.expect("whois record");
    assert_eq!(w.name.as_deref(), Some(AS_NAME));
    assert_eq!(w.handle.as_deref(), Some("AS64500"));
    assert_eq!(w.org.as_deref(), Some(AS_ORG));
    assert_eq!(w.abuse_email.as_deref(), Some("abuse@rir.sonde.test"));
    assert_eq!(w.created.as_deref(), Some("2020-01-02T03:04:05Z"));
}

#[test]
fn an_unknown_as_number_is_a_clear_failure() {
    require_root_or_skip!();
    let lab = Lab::start().expect("lab");
    let lookup = ask(&lab, Query::Asn(64511));
    assert_eq!(lookup.record, None);
    let failure = lookup.failure().expect("a failure");
    assert_eq!(
        failure,
        "AS64511: rdap: https://rdap.sonde.test/rir/autnum/64511 answered HTTP 404 (not found: the server has no such object); whois: no record for AS64511 at whois.rir.sonde.test: \"%ERROR:101: no entries found\""
    );
}
