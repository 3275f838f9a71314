//! Server host names resolved through the run's own DNS servers (the dns
//! section's resolver), never the machine's: what sonde reports about a
//! network is what that network's DNS says, and the lab can serve
//! `whois.iana.org` or the bootstrap host.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use sonde_dns::{RecordType, Resolver, Status};
use tokio::time::Instant;

/// Resolves server names through one [`Resolver`].
#[derive(Debug, Clone)]
pub struct Names {
    resolver: Resolver,
}

impl Names {
    /// Asks these servers.
    pub fn new(resolver: Resolver) -> Self {
        Names { resolver }
    }

    /// The addresses of `host` (an address literal is its own answer), IPv4 first, never
    /// past `deadline`.
    pub async fn addresses(&self, host: &str, deadline: Instant) -> Result<Vec<IpAddr>, String> {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = bare.parse::<IpAddr>() {
            return Ok(vec![ip]);
        }
        let (a, aaaa) = tokio::join!(
            self.resolver
                .lookup_addresses(host, RecordType::A, deadline),
            self.resolver
                .lookup_addresses(host, RecordType::Aaaa, deadline),
        );
        let mut ips = Vec::new();
        for lookup in [&a.0, &aaaa.0] {
            for value in lookup.values() {
                if let Ok(ip) = value.parse::<IpAddr>() {
                    if !ips.contains(&ip) {
                        ips.push(ip);
                    }
                }
            }
        }
        if !ips.is_empty() {
            return Ok(ips);
        }
        let why = |l: &sonde_dns::Lookup| {
            let server = l.server.map(|s| format!(" from {s}")).unwrap_or_default();
            match (&l.status, &l.detail) {
                (Status::Timeout | Status::Error, Some(d)) => format!("{}: {d}", l.status),
                (status, _) => format!("{status}{server}"),
            }
        };
        let (wa, waaaa) = (why(&a.0), why(&aaaa.0));
        Err(if wa == waaaa {
            format!("cannot resolve {host}: {wa}")
        } else {
            format!("cannot resolve {host}: A {wa}; AAAA {waaaa}")
        })
    }
}

/// reqwest's resolver hook: every HTTPS host name (bootstrap, RDAP servers, redirects,
/// `related` links) goes through [`Names`].
pub(crate) struct HttpNames {
    pub(crate) names: Names,
    pub(crate) deadline: Instant,
}

impl reqwest::dns::Resolve for HttpNames {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let names = self.names.clone();
        let deadline = self.deadline;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let ips = names
                .addresses(&host, deadline)
                .await
                .map_err(|e| Box::new(std::io::Error::other(e)) as Box<_>)?;
            let addrs: reqwest::dns::Addrs =
                Box::new(ips.into_iter().map(|ip| SocketAddr::new(ip, 0)));
            Ok(addrs)
        })
    }
}

impl HttpNames {
    /// As reqwest takes it.
    pub(crate) fn shared(names: Names, deadline: Instant) -> Arc<HttpNames> {
        Arc::new(HttpNames { names, deadline })
    }
}
