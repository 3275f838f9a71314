//! RDAP against the lab's HTTPS server: when the first server a bootstrap entry lists gives
//! no answer at all, the next one is asked. Needs root (network namespaces); skips visibly
//! otherwise.

use std::net::SocketAddr;
use std::time::Duration;

use sonde_dns::Resolver;
use sonde_http::{Client, ClientOptions};
use sonde_lab::registry::{self, DOMAIN};
use sonde_lab::{require_root_or_skip, Lab, Role};
use sonde_whois::{rdap, Query, RdapLookup};

/// A URL in the client's namespace that nobody listens on.
fn dead_server() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("port").port();
    drop(listener);
    format!("https://127.0.0.1:{port}/")
}

#[test]
fn an_unreachable_server_hands_on_to_the_next_one_listed() {
    require_root_or_skip!();
    let lab = Lab::start().expect("lab");
    let dir = std::env::temp_dir().join(format!("sonde-whois-lab-rdap-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch");
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, lab.ca_pem()).expect("ca");
    let dns = SocketAddr::new(lab.dns_server(), 53);
    let (dead, out): (String, RdapLookup) = lab
        .run_in(Role::Client, move || {
            let dead = dead_server();
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            let out = runtime.block_on(async {
                let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
                let http = Client::new(ClientOptions {
                    ca_file: Some(&ca),
                    resolver: Resolver::new(vec![dns]),
                    deadline,
                    https_only: true,
                    max_redirects: 5,
                })
                .expect("client");
                let limits = rdap::Limits {
                    max_bytes: 1 << 20,
                    request_timeout: Duration::from_secs(2),
                    follow_related: false,
                };
                let servers = vec![dead.clone(), registry::RDAP_REGISTRY_BASE.to_string()];
                rdap::lookup(
                    &Query::Domain(DOMAIN.into()),
                    Some(servers),
                    &http,
                    &limits,
                    deadline,
                )
                .await
            });
            (dead, out)
        })
        .expect("runs in the client namespace");
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(out.error, None, "{out:?}");
    assert_eq!(out.server.as_deref(), Some(registry::RDAP_REGISTRY_BASE));
    assert_eq!(
        out.record.as_ref().and_then(|r| r.name.as_deref()),
        Some(DOMAIN)
    );
    assert_eq!(out.unreachable.len(), 1, "{:?}", out.unreachable);
    assert!(
        out.unreachable[0].starts_with(&format!("{dead}domain/{DOMAIN}: ")),
        "{:?}",
        out.unreachable
    );
}
