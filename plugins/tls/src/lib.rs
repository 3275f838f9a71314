//! sonde's tls collector: on every TLS port the ports collector found open, a rustls
//! handshake through a verifier that records instead of judging, then the negotiated
//! version, cipher suite, key-exchange group and ALPN, the whole chain as sent (subject,
//! issuer, names, serial, validity, key, signature algorithm, SHA-256), chain order problems,
//! and verdicts: trust against the bundled web roots and a configured CA bundle, host name,
//! expiry, self-signed, stapled OCSP. TLS 1.1, 1.0 and SSL 3.0 are detected with hand-built
//! ClientHellos read by tls-parser. A failed handshake is a result with its reason.
//!
//! It needs ports and starts the moment ports ends; when no candidate port is open it is
//! skipped, saying which ports it looked for.

mod cert;
mod collect;
pub mod config;
pub mod handshake;
pub mod legacy;
pub mod output;
pub mod trust;
mod view;

use std::time::Duration;

use sonde_core::{Context, Failure, Spec, TypedCollector, View};

pub use config::{Probe, TlsConfig};
pub use output::{
    CertInfo, Endpoint, FailureKind, HandshakeFailure, KeyInfo, Ocsp, Support, TlsOutput, Trust,
    Verdict, VersionTest,
};

/// The collector's name, also its report section's.
pub const NAME: &str = "tls";

/// The tls collector.
#[derive(Debug, Clone, Copy, Default)]
pub struct TlsCollector;

sonde_core::register_builtin!(TlsCollector);

#[async_trait::async_trait]
impl TypedCollector for TlsCollector {
    type Config = TlsConfig;
    type Output = TlsOutput;

    fn spec(&self) -> Spec {
        Spec::new(
            NAME,
            "TLS versions, cipher, certificate chain and its verdicts on every open TLS port",
        )
        .needs([sonde_dns::NAME, sonde_ports::NAME])
        .timeout(Duration::from_secs(10))
        .on_request()
    }

    fn check(&self, config: &TlsConfig) -> Result<(), String> {
        config.check()
    }

    async fn collect(&self, config: &TlsConfig, ctx: &Context) -> Result<TlsOutput, Failure> {
        collect::run(config, ctx).await
    }

    fn view(&self, output: &TlsOutput) -> View {
        view::render(output)
    }
}
