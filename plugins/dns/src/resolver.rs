//! Asking DNS servers, one query at a time, with no cache.
//!
//! Built on hickory-net's low-level clients (`UdpClientStream` and
//! `TcpClientStream` behind a `DnsExchange`) rather than hickory-resolver's
//! `Resolver`: the high-level resolver caches, retries across servers on
//! its own, turns NXDOMAIN and NODATA into errors and hides which server
//! replied. A diagnostic needs the opposite: every reply's server, response
//! code, AA bit and transport, and a fresh question every time. So each
//! query goes over UDP (hickory checks the source address, port, ID and
//! question of the reply), is retried over TCP when the reply is truncated,
//! and moves on to the next server only when a server gives no definite
//! answer (SERVFAIL, REFUSED, timeout, error), as the C library does.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use futures_util::StreamExt;
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::tcp::TcpClientStream;
use hickory_resolver::net::udp::UdpClientStream;
use hickory_resolver::net::xfer::DnsHandle;
use hickory_resolver::net::NetError;
use hickory_resolver::proto::op::{DnsRequest, DnsRequestOptions, DnsResponse, Query};
use hickory_resolver::proto::rr::Name;
use tokio::time::Instant;

use crate::answer::{interpret, to_fqdn, wire_type, MAX_CHAIN};
use crate::config::{DnsConfig, MAX_ATTEMPTS, MAX_QUERY_TIMEOUT};
use crate::output::{
    CnameLink, Lookup, RecordType, ResolverInfo, ResolverSource, ServerAttempt, Status, Transport,
};
use crate::search;

/// Why a resolver could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ResolverError {
    /// The system configuration could not be read.
    #[error("cannot use the system resolver: /etc/resolv.conf: {0}")]
    System(String),
    /// The settings name a bad server.
    #[error("{0}")]
    Settings(String),
}

/// A set of servers and how patiently to ask them. Cheap to clone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolver {
    nameservers: Vec<SocketAddr>,
    source: ResolverSource,
    query_timeout: Duration,
    attempts: u8,
    search: Vec<String>,
    ndots: u8,
}

impl Resolver {
    /// Asks these servers, 2 s per query and server, 2 UDP sends, with no
    /// search domains (ndots 1).
    pub fn new(nameservers: Vec<SocketAddr>) -> Self {
        Resolver {
            nameservers,
            source: ResolverSource::Configured,
            query_timeout: Duration::from_secs(2),
            attempts: 2,
            search: Vec::new(),
            ndots: 1,
        }
    }

    /// Asks the servers of `/etc/resolv.conf`, with its search list and
    /// ndots.
    pub fn system() -> Result<Self, ResolverError> {
        let (config, opts) = hickory_resolver::system_conf::read_system_conf()
            .map_err(|e| ResolverError::System(e.to_string()))?;
        let (search, ndots) = search::from_system(&config, &opts);
        let mut servers: Vec<SocketAddr> = Vec::new();
        for ns in config.name_servers() {
            let port = ns.connections.first().map(|c| c.port).unwrap_or(53);
            let addr = SocketAddr::new(ns.ip, port);
            if !servers.contains(&addr) {
                servers.push(addr);
            }
        }
        if servers.is_empty() {
            return Err(ResolverError::System("no nameserver line".into()));
        }
        Ok(Resolver {
            source: ResolverSource::System,
            search,
            ndots,
            ..Resolver::new(servers)
        })
    }

    /// The resolver the dns collector's settings describe.
    pub fn from_config(config: &DnsConfig) -> Result<Self, ResolverError> {
        let servers = config.nameserver_addrs().map_err(ResolverError::Settings)?;
        let mut resolver = if servers.is_empty() {
            Resolver::system()?
        } else {
            Resolver::new(servers)
        };
        if let Some(search) = &config.search {
            resolver = resolver.with_search(search.clone());
        }
        if let Some(ndots) = config.ndots {
            resolver = resolver.with_ndots(ndots);
        }
        Ok(resolver
            .with_query_timeout(config.query_timeout)
            .with_attempts(config.attempts))
    }

    /// The resolver a dns section was gathered with, so that later
    /// collectors ask the same servers the same way.
    pub fn from_info(info: &ResolverInfo) -> Self {
        Resolver {
            nameservers: info.nameservers.clone(),
            source: info.source,
            query_timeout: clamp(Duration::from_millis(info.query_timeout_ms)),
            attempts: info.attempts.clamp(1, MAX_ATTEMPTS),
            search: info.search.clone(),
            ndots: info.ndots.min(search::MAX_NDOTS),
        }
    }

    /// Sets the domains appended to a name typed without a final dot.
    pub fn with_search(mut self, search: Vec<String>) -> Self {
        self.search = search
            .into_iter()
            .map(|s| s.trim_end_matches('.').to_ascii_lowercase())
            .collect();
        self
    }

    /// Sets how many dots a name needs to be asked as it is first (0 to 15).
    pub fn with_ndots(mut self, ndots: u8) -> Self {
        self.ndots = ndots.min(search::MAX_NDOTS);
        self
    }

    /// The names to ask for the target `name`, in order: the search list
    /// applied as glibc does, or the name alone when `absolute` (typed with
    /// a final dot). See [`search::candidates`].
    pub fn candidates(&self, name: &str, absolute: bool) -> Vec<String> {
        search::candidates(name, absolute, &self.search, self.ndots)
    }

    /// Sets how long one server gets for one query.
    /// Kept between 1 ms and 60 s.
    pub fn with_query_timeout(mut self, timeout: Duration) -> Self {
        self.query_timeout = clamp(timeout);
        self
    }

    /// Sets how many UDP sends one server gets for one query (1 to 5).
    pub fn with_attempts(mut self, attempts: u8) -> Self {
        self.attempts = attempts.clamp(1, MAX_ATTEMPTS);
        self
    }

    /// The servers, in the order they are tried.
    pub fn nameservers(&self) -> &[SocketAddr] {
        &self.nameservers
    }

    /// The settings, as the report shows them.
    pub fn info(&self, hosts_file: Option<String>) -> ResolverInfo {
        ResolverInfo {
            source: self.source,
            nameservers: self.nameservers.clone(),
            query_timeout_ms: self.query_timeout.as_millis() as u64,
            attempts: self.attempts,
            hosts_file,
            search: self.search.clone(),
            ndots: self.ndots,
        }
    }

    /// Asks for one type of one name, giving each server the per-query
    /// timeout. For A and AAAA the CNAME records leading to the answer are
    /// returned too.
    pub async fn lookup(&self, name: &str, record_type: RecordType) -> Lookup {
        let servers = u32::try_from(self.nameservers.len()).unwrap_or(u32::MAX);
        let budget = self.query_timeout.saturating_mul(servers.max(1));
        self.lookup_until(name, record_type, Instant::now() + budget)
            .await
            .0
    }

    /// Like [`lookup`](Self::lookup) but never past `deadline`; also hands
    /// back the CNAME links found in the answers (owner first).
    pub async fn lookup_until(
        &self,
        name: &str,
        record_type: RecordType,
        deadline: Instant,
    ) -> (Lookup, Vec<CnameLink>) {
        let started = Instant::now();
        let mut lookup = Lookup {
            name: name.to_string(),
            record_type,
            status: Status::Error,
            records: Vec::new(),
            server: None,
            transport: None,
            authoritative: false,
            elapsed_ms: 0,
            detail: None,
            failed_servers: Vec::new(),
        };
        let qname = match to_fqdn(name) {
            Ok(n) => n,
            Err(why) => {
                lookup.detail = Some(why);
                return (lookup, Vec::new());
            }
        };
        if self.nameservers.is_empty() {
            lookup.detail = Some("no nameserver to ask".into());
            return (lookup, Vec::new());
        }
        let mut links = Vec::new();
        for (i, &server) in self.nameservers.iter().enumerate() {
            let own = Instant::now() + self.query_timeout;
            let (server_deadline, limit) = if own <= deadline {
                (
                    own,
                    format!(
                        "within {}",
                        sonde_core::duration::format(self.query_timeout)
                    ),
                )
            } else {
                (deadline, "before the collector's deadline".to_string())
            };
            let reply = self
                .ask(server, &qname, record_type, server_deadline, &limit)
                .await;
            let (status, detail) = match reply {
                Reply::Response(response, transport) => {
                    let (status, records, found_links, detail) =
                        interpret(&response, name, record_type);
                    lookup.records = records;
                    lookup.transport = Some(transport);
                    lookup.authoritative = response.metadata.authoritative;
                    links = found_links;
                    (status, detail)
                }
                Reply::Timeout(detail) => (Status::Timeout, Some(detail)),
                Reply::Error(detail) => (Status::Error, Some(detail)),
            };
            lookup.server = Some(server);
            lookup.status = status;
            lookup.detail = detail;
            let last = i + 1 == self.nameservers.len();
            if status.is_definite() || last || Instant::now() >= deadline {
                break;
            }
            lookup.failed_servers.push(ServerAttempt {
                server,
                status,
                detail: lookup.detail.take(),
            });
            lookup.records.clear();
            lookup.transport = None;
            lookup.authoritative = false;
        }
        lookup.elapsed_ms = started.elapsed().as_millis() as u64;
        (lookup, links)
    }

    /// A or AAAA of `name`, following CNAMEs the server did not follow
    /// itself, up to [`MAX_CHAIN`] links.
    pub async fn lookup_addresses(
        &self,
        name: &str,
        record_type: RecordType,
        deadline: Instant,
    ) -> (Lookup, Vec<CnameLink>) {
        let started = Instant::now();
        let (mut lookup, mut chain) = self.lookup_until(name, record_type, deadline).await;
        while lookup.status == Status::NoData && lookup.records.is_empty() {
            let Some(next) = chain.last().map(|l| l.target.clone()) else {
                break;
            };
            if chain.len() >= MAX_CHAIN {
                lookup.status = Status::Error;
                lookup.detail = Some(format!("CNAME chain longer than {MAX_CHAIN} links"));
                break;
            }
            let (next_lookup, links) = self.lookup_until(&next, record_type, deadline).await;
            let looped = links.iter().any(|l| chain.iter().any(|c| c.name == l.name));
            chain.extend(links);
            lookup = Lookup {
                name: name.to_string(),
                ..next_lookup
            };
            if looped {
                lookup.status = Status::Error;
                lookup.detail = Some("CNAME loop".into());
                break;
            }
        }
        lookup.elapsed_ms = started.elapsed().as_millis() as u64;
        (lookup, chain)
    }

    /// The addresses of a server's host name, for a collector that connects to it (WHOIS,
    /// RDAP, an API): A and AAAA at once, IPv4 first; an address literal is its own answer.
    /// The error says what each query got.
    pub async fn host_addresses(
        &self,
        host: &str,
        deadline: Instant,
    ) -> Result<Vec<IpAddr>, String> {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = bare.parse::<IpAddr>() {
            return Ok(vec![ip]);
        }
        let (a, aaaa) = tokio::join!(
            self.lookup_addresses(host, RecordType::A, deadline),
            self.lookup_addresses(host, RecordType::Aaaa, deadline),
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
        let why = |l: &Lookup| {
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

    /// One query to one server: UDP, then TCP if the reply is truncated.
    async fn ask(
        &self,
        server: SocketAddr,
        qname: &Name,
        record_type: RecordType,
        deadline: Instant,
        limit: &str,
    ) -> Reply {
        let budget = deadline.saturating_duration_since(Instant::now());
        if budget.is_zero() {
            return Reply::Timeout(format!("{server} not asked: no time left {limit}"));
        }
        // Dropping the provider aborts the exchange's background task.
        let provider = TokioRuntimeProvider::new();
        let work = async {
            let mut options = DnsRequestOptions::default();
            options.recursion_desired = true;
            options.retry_interval = budget / u32::from(self.attempts.max(1));
            let query = Query::query(qname.clone(), wire_type(record_type));
            // Our own `timeout_at` below is the one clock; hickory's is set
            // later so that a silent server reads as a timeout, not as a
            // closed exchange.
            let udp = UdpClientStream::builder(server, provider.clone())
                .with_timeout(Some(budget + Duration::from_secs(1)))
                .with_max_retries(self.attempts)
                .exchange();
            let request = DnsRequest::from_query(query.clone(), options);
            let response = first(udp.send(request)).await?;
            if !response.metadata.truncation {
                return Ok((response, Transport::Udp));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            let tcp = TcpClientStream::exchange(server, None, left, None, provider.clone()).await?;
            let response = first(tcp.send(DnsRequest::from_query(query, options))).await?;
            Ok::<_, NetError>((response, Transport::Tcp))
        };
        match tokio::time::timeout_at(deadline, work).await {
            Err(_) => Reply::Timeout(format!("no reply from {server} {limit}")),
            Ok(Ok((response, transport))) => Reply::Response(Box::new(response), transport),
            Ok(Err(e)) if is_timeout(&e) => {
                Reply::Timeout(format!("no reply from {server} {limit}"))
            }
            Ok(Err(e)) => Reply::Error(e.to_string()),
        }
    }
}

/// Keeps a per-query timeout sane, whatever a report or caller says, so
/// that no deadline arithmetic can overflow.
fn clamp(timeout: Duration) -> Duration {
    timeout.clamp(Duration::from_millis(1), MAX_QUERY_TIMEOUT)
}

/// What one server did with one query.
enum Reply {
    Response(Box<DnsResponse>, Transport),
    Timeout(String),
    Error(String),
}

async fn first<S>(mut stream: S) -> Result<DnsResponse, NetError>
where
    S: futures_util::Stream<Item = Result<DnsResponse, NetError>> + Unpin,
{
    stream
        .next()
        .await
        .unwrap_or_else(|| Err(NetError::from("the exchange closed without a reply")))
}

fn is_timeout(e: &NetError) -> bool {
    match e {
        NetError::Timeout => true,
        NetError::Io(io) => io.kind() == std::io::ErrorKind::TimedOut,
        _ => false,
    }
}

/// Why [`lookup_txt`] found nothing usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("TXT lookup of {name} failed: {status}{}", detail.as_ref().map(|d| format!(" ({d})")).unwrap_or_default())]
pub struct LookupError {
    /// The name asked.
    pub name: String,
    /// How it ended: SERVFAIL, REFUSED, timeout or error.
    pub status: Status,
    /// More words, when there are.
    pub detail: Option<String>,
}

/// The TXT strings of `name` (each record's strings joined), asked through
/// `resolver` with no cache. A name without TXT records, or that does not
/// exist, gives an empty list; only a server failure is an error.
///
/// ```no_run
/// # async fn f(dns: &sonde_dns::DnsOutput) {
/// let resolver = sonde_dns::Resolver::from_info(&dns.resolver);
/// let texts = sonde_dns::lookup_txt(&resolver, "origin.example.test").await;
/// # }
/// ```
pub async fn lookup_txt(resolver: &Resolver, name: &str) -> Result<Vec<String>, LookupError> {
    let lookup = resolver.lookup(name, RecordType::Txt).await;
    if lookup.status.is_definite() {
        Ok(lookup.records.into_iter().map(|r| r.value).collect())
    } else {
        Err(LookupError {
            name: name.to_string(),
            status: lookup.status,
            detail: lookup.detail,
        })
    }
}
