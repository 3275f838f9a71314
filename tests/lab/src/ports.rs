//! The target host's services, for the port scan and TLS tests: ports that speak (SSH and SMTP
//! banners, HTTP, TLS with every kind of certificate problem, a legacy TLS 1.0/1.1 server),
//! one that accepts and never speaks, ports dropped by nftables (filtered), and every other port
//! closed. All listen on each of the target's addresses, IPv4 and IPv6.
//!
//! The exact sets are constants ([`OPEN`], [`FILTERED`]), so a test can assert the
//! classification of every port it scans.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::ServerConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

use crate::pki::{Identity, Pki, OCSP_STAPLE};
use crate::server::{self, Serve, ServerHandle};
use crate::{netns, LabError};

/// SSH: sends [`SSH_BANNER`] and waits.
pub const SSH: u16 = 22;
/// SMTP: sends [`SMTP_BANNER`], answers QUIT.
pub const SMTP: u16 = 25;
/// HTTP: answers any request with 200 and [`HTTP_BODY`].
pub const HTTP: u16 = 80;
/// TLS 1.2 and 1.3 with the good chain (leaf + intermediate), ALPN `http/1.1`, a stapled
/// OCSP response.
pub const HTTPS: u16 = 443;
/// TLS with an expired leaf.
pub const TLS_EXPIRED: u16 = 8443;
/// TLS with a leaf for another name.
pub const TLS_WRONG_NAME: u16 = 8444;
/// TLS with a self-signed certificate.
pub const TLS_SELF_SIGNED: u16 = 8445;
/// TLS 1.2 only, good chain.
pub const TLS12_ONLY: u16 = 8446;
/// A legacy server: answers a ClientHello with a TLS 1.1 ServerHello (TLS 1.0 to a TLS 1.0
/// client, a `protocol_version` alert to SSL 3.0), as an old stack that never learned TLS 1.2.
pub const TLS_LEGACY: u16 = 8447;
/// TLS with the good leaf, then the root, then the intermediate: out of order, and a root
/// that should not be sent.
pub const TLS_MISORDERED: u16 = 8448;
/// TLS 1.2 only, good chain, and a client certificate from the lab's CA required: a client
/// without one gets a `certificate_required` alert before the handshake completes.
pub const TLS_CLIENT_AUTH: u16 = 8461;
/// TLS with a leaf (good chain) whose validity has not begun.
pub const TLS_NOT_YET_VALID: u16 = 8462;
/// TLS with a valid leaf that has an RSA-2048 key.
pub const TLS_RSA: u16 = 8463;
/// TLS that chooses its certificate by the client's SNI: the wrong-name leaf for
/// [`crate::pki::WRONG_NAME`], the good leaf for the target's names, none (a refused
/// handshake) for any other name or no SNI.
pub const TLS_BY_SNI: u16 = 8464;
/// TLS 1.2 only, with the good (ECDSA) chain but only an ECDHE-RSA cipher suite: no suite
/// fits the certificate, so every client gets a `handshake_failure` alert.
pub const TLS_NO_COMMON_SUITE: u16 = 8465;
/// Accepts connections and never sends a byte.
pub const SILENT: u16 = 9999;
/// Every open port of the target, ascending.
pub const OPEN: [u16; 16] = [
    SSH,
    SMTP,
    HTTP,
    HTTPS,
    TLS_EXPIRED,
    TLS_WRONG_NAME,
    TLS_SELF_SIGNED,
    TLS12_ONLY,
    TLS_LEGACY,
    TLS_MISORDERED,
    TLS_CLIENT_AUTH,
    TLS_NOT_YET_VALID,
    TLS_RSA,
    TLS_BY_SNI,
    TLS_NO_COMMON_SUITE,
    SILENT,
];
/// Ports whose SYNs nftables drops in the target's namespace: filtered.
pub const FILTERED: [u16; 3] = [81, 8081, 9998];

/// What the SSH port sends.
pub const SSH_BANNER: &str = "SSH-2.0-sonde-lab_1.0\r\n";
/// What the SMTP port sends first.
pub const SMTP_BANNER: &str = "220 target.sonde.test ESMTP sonde-lab\r\n";
/// The body the HTTP port answers with.
pub const HTTP_BODY: &str = "sonde lab\n";
/// ALPN protocol the TLS servers choose.
pub const ALPN: &str = "http/1.1";

/// nftables table the lab installs in the target's namespace.
pub const NFT_TABLE: &str = "sonde_lab";

/// How long a server keeps an idle connection.
const IDLE: Duration = Duration::from_secs(20);

#[derive(Clone, Copy)]
enum Kind {
    Ssh,
    Smtp,
    Http,
    Silent,
    Legacy,
}

/// Starts every service of the target host in namespace `ns` on each of `addrs`, and drops
/// [`FILTERED`] with nftables. Without the `nft` command the filtered ports stay closed; the
/// returned string says why, for tests that need them.
pub(crate) fn start(
    ns: &str,
    addrs: Vec<IpAddr>,
    pki: &Pki,
) -> Result<(ServerHandle, Option<String>), LabError> {
    let firewall = firewall(ns).err();
    let tls = [
        (HTTPS, tls_config(&pki.leaf, None, true)?),
        (TLS_EXPIRED, tls_config(&pki.expired, None, false)?),
        (TLS_WRONG_NAME, tls_config(&pki.wrong_name, None, false)?),
        (TLS_SELF_SIGNED, tls_config(&pki.self_signed, None, false)?),
        (
            TLS12_ONLY,
            tls_config(&pki.leaf, Some(&rustls::version::TLS12), false)?,
        ),
        (TLS_MISORDERED, {
            let mut misordered = pki.leaf.clone();
            misordered.chain = vec![
                pki.leaf.chain[0].clone(),
                pki.root.clone(),
                pki.intermediate.clone(),
            ];
            tls_config(&misordered, None, false)?
        }),
        (TLS_CLIENT_AUTH, client_auth_config(pki)?),
        (
            TLS_NOT_YET_VALID,
            tls_config(&pki.not_yet_valid, None, false)?,
        ),
        (TLS_RSA, tls_config(&pki.rsa, None, false)?),
        (TLS_BY_SNI, by_sni_config(pki)?),
        (TLS_NO_COMMON_SUITE, no_common_suite_config(pki)?),
    ];
    let plain = [
        (SSH, Kind::Ssh),
        (SMTP, Kind::Smtp),
        (HTTP, Kind::Http),
        (SILENT, Kind::Silent),
        (TLS_LEGACY, Kind::Legacy),
    ];
    let handle = server::spawn(ns, "ports", move || async move {
        let mut listeners = Vec::new();
        for ip in &addrs {
            for (port, kind) in plain {
                listeners.push((
                    TcpListener::bind(SocketAddr::new(*ip, port)).await?,
                    Ok(kind),
                ));
            }
            for (port, config) in &tls {
                let acceptor = TlsAcceptor::from(config.clone());
                listeners.push((
                    TcpListener::bind(SocketAddr::new(*ip, *port)).await?,
                    Err(acceptor),
                ));
            }
        }
        let serve: Serve = Box::pin(async move {
            for (listener, what) in listeners {
                tokio::spawn(accept_loop(listener, what));
            }
            std::future::pending::<()>().await;
        });
        Ok(serve)
    })?;
    Ok((handle, firewall))
}

fn firewall(ns: &str) -> Result<(), String> {
    let ports = FILTERED
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let script = format!(
        "table inet {NFT_TABLE} {{\n  chain input {{\n    type filter hook input priority 0; policy accept;\n    tcp dport {{ {ports} }} drop\n  }}\n}}\n"
    );
    netns::nft(ns, &script).map_err(|e| e.to_string())
}

/// A server config sending `id`'s chain as it is.
pub(crate) fn tls_config(
    id: &Identity,
    only: Option<&'static rustls::SupportedProtocolVersion>,
    staple: bool,
) -> Result<Arc<ServerConfig>, LabError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let versions: Vec<&'static rustls::SupportedProtocolVersion> = match only {
        Some(v) => vec![v],
        None => vec![&rustls::version::TLS13, &rustls::version::TLS12],
    };
    let bad = server_error;
    let (chain, key) = (chain_der(id), key_der(id));
    let builder = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&versions)
        .map_err(bad)?
        .with_no_client_auth();
    let mut config = if staple {
        builder
            .with_single_cert_with_ocsp(chain, key, OCSP_STAPLE.to_vec())
            .map_err(bad)?
    } else {
        builder.with_single_cert(chain, key).map_err(bad)?
    };
    config.alpn_protocols = vec![ALPN.as_bytes().to_vec()];
    Ok(Arc::new(config))
}

fn server_error(e: rustls::Error) -> LabError {
    LabError::io("cannot build a lab TLS server", io::Error::other(e))
}

fn chain_der(id: &Identity) -> Vec<CertificateDer<'static>> {
    id.chain
        .iter()
        .map(|c| CertificateDer::from(c.der.clone()))
        .collect()
}

fn key_der(id: &Identity) -> PrivateKeyDer<'static> {
    PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(id.key_pkcs8.clone()))
}

/// [`TLS_CLIENT_AUTH`]'s config: TLS 1.2, so the refusal of a client without a certificate
/// reaches the client during the handshake (in TLS 1.3 it would come after the client's
/// Finished).
fn client_auth_config(pki: &Pki) -> Result<Arc<ServerConfig>, LabError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from(pki.root.der.clone()))
        .map_err(server_error)?;
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .map_err(|e| {
        LabError::io(
            "cannot build a lab TLS server",
            io::Error::other(e.to_string()),
        )
    })?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS12])
        .map_err(server_error)?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain_der(&pki.leaf), key_der(&pki.leaf))
        .map_err(server_error)?;
    config.alpn_protocols = vec![ALPN.as_bytes().to_vec()];
    Ok(Arc::new(config))
}

/// [`TLS_NO_COMMON_SUITE`]'s config.
fn no_common_suite_config(pki: &Pki) -> Result<Arc<ServerConfig>, LabError> {
    let provider = rustls::crypto::CryptoProvider {
        cipher_suites: vec![
            rustls::crypto::ring::cipher_suite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        ],
        ..rustls::crypto::ring::default_provider()
    };
    let config = ServerConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(&[&rustls::version::TLS12])
        .map_err(server_error)?
        .with_no_client_auth()
        .with_single_cert(chain_der(&pki.leaf), key_der(&pki.leaf))
        .map_err(server_error)?;
    Ok(Arc::new(config))
}

/// [`TLS_BY_SNI`]'s config: the certificate follows the SNI.
fn by_sni_config(pki: &Pki) -> Result<Arc<ServerConfig>, LabError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut resolver = rustls::server::ResolvesServerCertUsingSni::new();
    let certified = |id: &Identity| -> Result<rustls::sign::CertifiedKey, LabError> {
        let key = provider
            .key_provider
            .load_private_key(key_der(id))
            .map_err(server_error)?;
        Ok(rustls::sign::CertifiedKey::new(chain_der(id), key))
    };
    resolver
        .add(crate::pki::WRONG_NAME, certified(&pki.wrong_name)?)
        .map_err(server_error)?;
    for name in crate::pki::LEAF_NAMES {
        resolver
            .add(name, certified(&pki.leaf)?)
            .map_err(server_error)?;
    }
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(server_error)?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(resolver));
    config.alpn_protocols = vec![ALPN.as_bytes().to_vec()];
    Ok(Arc::new(config))
}

async fn accept_loop(listener: TcpListener, what: Result<Kind, TlsAcceptor>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        match &what {
            Ok(kind) => {
                tokio::spawn(serve_plain(stream, *kind));
            }
            Err(acceptor) => {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    if let Ok(Ok(mut tls)) =
                        tokio::time::timeout(IDLE, acceptor.accept(stream)).await
                    {
                        let mut buf = [0u8; 1024];
                        let _ = tokio::time::timeout(IDLE, tls.read(&mut buf)).await;
                        let _ = tls.shutdown().await;
                    }
                });
            }
        }
    }
}

async fn serve_plain(mut stream: TcpStream, kind: Kind) {
    let _ = tokio::time::timeout(IDLE, async {
        let mut buf = vec![0u8; 4096];
        match kind {
            Kind::Ssh => {
                stream.write_all(SSH_BANNER.as_bytes()).await?;
                while stream.read(&mut buf).await? > 0 {}
            }
            Kind::Smtp => {
                stream.write_all(SMTP_BANNER.as_bytes()).await?;
                loop {
                    let n = stream.read(&mut buf).await?;
                    if n == 0 {
                        break;
                    }
                    if buf[..n].to_ascii_uppercase().starts_with(b"QUIT") {
                        stream.write_all(b"221 bye\r\n").await?;
                        break;
                    }
                    stream.write_all(b"250 ok\r\n").await?;
                }
            }
            Kind::Http => {
                let mut seen = Vec::new();
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") && seen.len() < 16 * 1024 {
                    let n = stream.read(&mut buf).await?;
                    if n == 0 {
                        return Ok(());
                    }
                    seen.extend_from_slice(&buf[..n]);
                }
                let reply = format!(
                    "HTTP/1.1 200 OK\r\nServer: sonde-lab\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{HTTP_BODY}",
                    HTTP_BODY.len()
                );
                stream.write_all(reply.as_bytes()).await?;
            }
            Kind::Silent => while stream.read(&mut buf).await? > 0 {},
            Kind::Legacy => {
                let n = stream.read(&mut buf).await?;
                let reply = legacy_reply(&buf[..n]);
                stream.write_all(&reply).await?;
            }
        }
        Ok::<_, io::Error>(())
    })
    .await;
}

/// What the legacy server answers to the first bytes of a connection: a ServerHello for the
/// client's version capped at TLS 1.1, an alert for SSL 3.0 and older, nothing for bytes that
/// are not a ClientHello.
pub fn legacy_reply(hello: &[u8]) -> Vec<u8> {
    // Record header (5) + handshake header (4) + client_version (2).
    if hello.len() < 11 || hello[0] != 22 || hello[5] != 1 {
        return Vec::new();
    }
    let client = u16::from_be_bytes([hello[9], hello[10]]);
    if client < 0x0301 {
        // Alert: fatal (2), protocol_version (70).
        return vec![21, 0x03, 0x01, 0, 2, 2, 70];
    }
    let version = client.min(0x0302);
    let [v0, v1] = version.to_be_bytes();
    let mut body = vec![v0, v1];
    body.extend_from_slice(&[0x5a; 32]); // server random
    body.push(0); // no session id
    body.extend_from_slice(&[0x00, 0x2f]); // TLS_RSA_WITH_AES_128_CBC_SHA
    body.push(0); // null compression
    let mut handshake = vec![2, 0, 0, body.len() as u8];
    handshake.extend_from_slice(&body);
    let mut record = vec![22, v0, v1, 0, handshake.len() as u8];
    record.extend_from_slice(&handshake);
    // ServerHelloDone, as a real server would follow with (after its certificate).
    record.extend_from_slice(&[22, v0, v1, 0, 4, 14, 0, 0, 0]);
    record
}
