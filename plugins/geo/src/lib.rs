//! sonde's geo collector: where every address of the target is, as MaxMind
//! lookups show it: country (ISO code and name), region, city, postal
//! code, coordinates with their accuracy radius, time zone, and the
//! database's name and build date.
//!
//! The source is a MaxMind-format database (GeoLite2/GeoIP2 City or
//! Country, DB-IP's lite files) read with the `maxminddb` crate, found in
//! the profile, `$SONDE_GEO_DB` or the user's data directory; without one,
//! an ipinfo-style HTTP API when configured; else the collector is skipped
//! with a reason that says how to get a database. None is bundled.
//! Special-purpose addresses (private, loopback, link-local, CGNAT,
//! documentation...) are answered locally, with no lookup; the ranges are
//! a setting so that a lab's documentation ranges can be looked up.

pub mod config;
pub mod database;
pub mod http;
pub mod output;
mod view;

use std::time::Duration;

use futures_util::stream::{self, StreamExt};
use sonde_core::{Context, Failure, Spec, SpecialRange, TypedCollector, View};
use sonde_dns::Resolver;
use tokio::time::Instant;

pub use config::GeoConfig;
pub use database::Database;
pub use http::HttpProvider;
pub use output::{
    AddressGeo, Coordinates, Country, GeoOutput, GeoSource, Region, SourceKind, Status,
};

/// The collector's name, also its report section's.
pub const NAME: &str = "geo";

/// Why geo is skipped when it has nothing to read, and how to fix it.
pub const NO_DATABASE: &str = "no geolocation database: set `database` in the geo settings or \
SONDE_GEO_DB to a MaxMind-format City or Country file, or put one in ~/.local/share/sonde/ \
(DB-IP's IP-to-City Lite is free under CC BY 4.0: https://db-ip.com/db/lite.php; MaxMind's \
GeoLite2 needs a free licence key), or set `http-url` to an ipinfo-style API";

/// Most HTTP lookups in flight at once.
const HTTP_CONCURRENCY: usize = 4;

/// The geo collector.
#[derive(Debug, Clone, Copy, Default)]
pub struct GeoCollector;

sonde_core::register_builtin!(GeoCollector);

/// What answers the lookups.
enum Provider {
    Database(Database),
    Http(HttpProvider),
}

/// The answer for a special-purpose address.
pub fn local_answer(ip: std::net::IpAddr, range: SpecialRange) -> AddressGeo {
    let mut out = AddressGeo::empty(ip, Status::Local);
    out.range = Some(range);
    out.detail = Some(format!("{}, no public location", range.describe()));
    out
}

#[async_trait::async_trait]
impl TypedCollector for GeoCollector {
    type Config = GeoConfig;
    type Output = GeoOutput;

    fn spec(&self) -> Spec {
        Spec::new(
            NAME,
            "country, region, city, postal code, coordinates and time zone of every address (MaxMind-format database)",
        )
        .needs([sonde_dns::NAME])
        .timeout(Duration::from_secs(5))
    }

    fn check(&self, config: &GeoConfig) -> Result<(), String> {
        config.check()
    }

    async fn collect(&self, config: &GeoConfig, ctx: &Context) -> Result<GeoOutput, Failure> {
        let dns = sonde_dns::section(ctx)?;
        let ips = dns.addresses();
        if ips.is_empty() {
            return Err(Failure::skipped("dns found no address to look up"));
        }
        let started = Instant::now();
        let local = |ip| SpecialRange::of(ip).filter(|r| config.local_ranges.contains(r));
        let all_local = ips.iter().all(|ip| local(*ip).is_some());
        let provider = match database::find(config.database.as_deref()) {
            Some((path, from)) => {
                Some(Provider::Database(Database::open(&path).map_err(|e| {
                    Failure::failed(format!("{e} (named by {from})"))
                })?))
            }
            None => match &config.http_url {
                Some(url) => Some(Provider::Http(
                    HttpProvider::new(
                        url,
                        config.token(),
                        Resolver::from_info(&dns.resolver),
                        ctx.deadline(),
                    )
                    .map_err(Failure::failed)?,
                )),
                None if all_local => None,
                None => return Err(Failure::skipped(NO_DATABASE)),
            },
        };
        let source = provider.as_ref().map(|p| match p {
            Provider::Database(db) => db.source(),
            Provider::Http(_) => GeoSource {
                kind: SourceKind::Http,
                name: config.http_url.clone().unwrap_or_default(),
                path: None,
                build_date: None,
                build_epoch: None,
                description: None,
            },
        });
        let margin = (ctx.remaining() / 10).min(Duration::from_millis(250));
        let deadline = ctx.deadline().checked_sub(margin).unwrap_or(ctx.deadline());
        let lookups = stream::iter(ips.iter().copied())
            .map(|ip| {
                let provider = &provider;
                async move {
                    if let Some(range) = local(ip) {
                        return local_answer(ip, range);
                    }
                    match provider {
                        Some(Provider::Database(db)) => db.lookup(ip, &config.language),
                        Some(Provider::Http(api)) => api.lookup(ip, deadline).await,
                        None => {
                            let mut out = AddressGeo::empty(ip, Status::NotFound);
                            out.detail = Some(NO_DATABASE.into());
                            out
                        }
                    }
                }
            })
            .buffered(HTTP_CONCURRENCY)
            .collect::<Vec<_>>();
        let addresses = tokio::select! {
            biased;
            _ = ctx.cancelled() => return Err(Failure::failed("cancelled before the lookups ended")),
            addresses = lookups => addresses,
        };
        let output = GeoOutput {
            source,
            addresses,
            elapsed_ms: started.elapsed().as_millis() as u64,
        };
        let failed: Vec<&AddressGeo> = output
            .addresses
            .iter()
            .filter(|a| a.status == Status::Error)
            .collect();
        match failed.as_slice() {
            [] => Ok(output),
            [first, rest @ ..] => {
                let mut error = format!(
                    "no location for {}: {}",
                    first.ip,
                    first.detail.as_deref().unwrap_or("no answer")
                );
                if !rest.is_empty() {
                    error.push_str(&format!(" (and {} more address(es))", rest.len()));
                }
                Err(Failure::partial(error, output))
            }
        }
    }

    fn view(&self, output: &GeoOutput) -> View {
        view::render(output)
    }
}
