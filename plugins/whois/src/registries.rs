//! [`Registries`]: one place to ask "who holds this?" by RDAP and WHOIS, in the order the
//! profile gives, sharing one HTTPS client and one copy of each bootstrap registry per run.

use std::sync::OnceLock;

use sonde_dns::Resolver;
use sonde_http::{Client, ClientOptions, Get};
use tokio::sync::OnceCell;
use tokio::time::Instant;

use crate::config::WhoisConfig;
use crate::output::{BootstrapUse, Lookup, Protocol, RdapLookup, WhoisLookup};
use crate::query::Query;
use crate::rdap::bootstrap::{Bootstrap, Registry, Source, MAX_BOOTSTRAP_BYTES};
use crate::{rdap, whois};

/// Most redirects followed (RDAP aggregators redirect to the authoritative server).
const MAX_REDIRECTS: usize = 5;

/// Asks the registries about domains, addresses and AS numbers.
///
/// ```no_run
/// # async fn f(dns: &sonde_dns::DnsOutput) {
/// use sonde_whois::{Query, Registries, WhoisConfig};
/// let resolver = sonde_dns::Resolver::from_info(&dns.resolver);
/// let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
/// let registries = Registries::new(WhoisConfig::default(), resolver, deadline);
/// let lookup = registries.lookup(&Query::Asn(64500)).await;
/// println!("{:?}", lookup.record.and_then(|r| r.name));
/// # }
/// ```
pub struct Registries {
    config: WhoisConfig,
    resolver: Resolver,
    deadline: Instant,
    http: OnceLock<Result<Client, String>>,
    bootstraps: [OnceCell<(Bootstrap, BootstrapUse)>; 4],
}

impl Registries {
    /// Asks with `config`'s settings, resolving server names through `resolver`, never past
    /// `deadline`.
    pub fn new(config: WhoisConfig, resolver: Resolver, deadline: Instant) -> Self {
        Registries {
            config,
            resolver,
            deadline,
            http: OnceLock::new(),
            bootstraps: Default::default(),
        }
    }

    /// Everything the protocols of `order` say about `query`: each runs until one has a
    /// record (or all of them, with `all = true`).
    pub async fn lookup(&self, query: &Query) -> Lookup {
        let mut lookup = Lookup {
            query: query.to_string(),
            kind: query.kind(),
            answered_by: None,
            record: None,
            rdap: None,
            whois: None,
        };
        if self.config.all {
            let (rdap, whois) = tokio::join!(
                async {
                    if self.config.order.contains(&Protocol::Rdap) {
                        Some(self.rdap(query).await)
                    } else {
                        None
                    }
                },
                async {
                    if self.config.order.contains(&Protocol::Whois) {
                        Some(self.whois(query).await)
                    } else {
                        None
                    }
                }
            );
            lookup.rdap = rdap;
            lookup.whois = whois;
        } else {
            for protocol in &self.config.order {
                match protocol {
                    Protocol::Rdap => lookup.rdap = Some(self.rdap(query).await),
                    Protocol::Whois => lookup.whois = Some(self.whois(query).await),
                }
                if answered(&lookup, *protocol) {
                    break;
                }
            }
        }
        for protocol in &self.config.order {
            let record = match protocol {
                Protocol::Rdap => lookup.rdap.as_ref().and_then(|r| r.record.clone()),
                Protocol::Whois => lookup.whois.as_ref().and_then(|w| w.record.clone()),
            };
            if let Some(record) = record {
                lookup.record = Some(record);
                lookup.answered_by = Some(*protocol);
                break;
            }
        }
        lookup
    }

    /// The bootstrap registries loaded so far, and where each came from.
    pub fn bootstrap_used(&self) -> Vec<BootstrapUse> {
        self.bootstraps
            .iter()
            .filter_map(|cell| cell.get().map(|(_, used)| used.clone()))
            .collect()
    }

    async fn whois(&self, query: &Query) -> WhoisLookup {
        let limits = whois::Limits {
            start: self.config.whois_server.clone(),
            max_referrals: self.config.max_referrals,
            hop_timeout: self.config.hop_timeout,
            max_bytes: self.config.max_response_bytes,
        };
        whois::lookup(query, &limits, &self.resolver, self.deadline).await
    }

    async fn rdap(&self, query: &Query) -> RdapLookup {
        let http = match self.http() {
            Ok(http) => http,
            Err(why) => {
                return RdapLookup {
                    server: None,
                    registry: None,
                    registrar: None,
                    registrar_error: None,
                    record: None,
                    error: Some(why),
                    unreachable: Vec::new(),
                    elapsed_ms: 0,
                }
            }
        };
        let registry = Registry::of(query);
        let (bootstrap, _) = self.bootstrap(registry, http).await;
        let limits = rdap::Limits {
            max_bytes: self.config.max_response_bytes,
            request_timeout: self.config.request_timeout,
            follow_related: self.config.follow_related,
        };
        rdap::lookup(query, bootstrap.find(query), http, &limits, self.deadline).await
    }

    fn http(&self) -> Result<&Client, String> {
        self.http
            .get_or_init(|| {
                Client::new(ClientOptions {
                    ca_file: self.config.ca_file.as_deref(),
                    resolver: self.resolver.clone(),
                    deadline: self.deadline,
                    https_only: true,
                    max_redirects: MAX_REDIRECTS,
                })
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Loads a bootstrap registry once per run, however many lookups want it at once.
    async fn bootstrap(&self, registry: Registry, http: &Client) -> &(Bootstrap, BootstrapUse) {
        let slot = match registry {
            Registry::Dns => 0,
            Registry::Ipv4 => 1,
            Registry::Ipv6 => 2,
            Registry::Asn => 3,
        };
        self.bootstraps[slot]
            .get_or_init(|| async {
                let base = self.config.bootstrap_base();
                let source = Source {
                    registry,
                    base_url: &base,
                    cache: self.config.cache_folder(),
                    max_age: self.config.bootstrap_max_age,
                    refresh: self.config.refresh_bootstrap,
                };
                source
                    .load(|url| async move {
                        http.get(&Get {
                            url: &url,
                            accept: "application/json",
                            bearer: None,
                            max_bytes: MAX_BOOTSTRAP_BYTES,
                            timeout: self.config.request_timeout,
                            deadline: self.deadline,
                        })
                        .await
                        .map(|answer| answer.body)
                        .map_err(|e| e.to_string())
                    })
                    .await
            })
            .await
    }
}

fn answered(lookup: &Lookup, protocol: Protocol) -> bool {
    match protocol {
        Protocol::Rdap => lookup.rdap.as_ref().is_some_and(|r| r.record.is_some()),
        Protocol::Whois => lookup.whois.as_ref().is_some_and(|w| w.record.is_some()),
    }
}
