//! From the ports section's open TLS candidates to a [`TlsOutput`].

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use sonde_core::{Context, Failure};
use sonde_ports::PortsOutput;
use tokio::time::Instant;

use crate::cert;
use crate::config::{Probe, Sni, TlsConfig};
use crate::handshake::{self, Anchors, Attempt, Options};
use crate::legacy;
use crate::output::{Endpoint, Ocsp, Support, TlsOutput, Verdict, VersionTest};

fn load_bundle(path: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("ca-bundle: cannot read `{path}`: {e}"))?;
    let certs: Vec<_> = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("ca-bundle: `{path}` is not PEM: {e:?}"))?;
    if certs.is_empty() {
        return Err(format!("ca-bundle: `{path}` holds no certificate"));
    }
    Ok(certs)
}

/// The ports to try on each address: the configured list, or every open port.
fn candidates(config: &TlsConfig, ports: &PortsOutput) -> Vec<u16> {
    let mut list = match config.probe {
        Probe::Configured => config.ports.clone(),
        Probe::AllOpen => ports.open_ports().into_iter().map(|(_, p)| p).collect(),
    };
    list.sort_unstable();
    list.dedup();
    list
}

pub(crate) async fn run(config: &TlsConfig, ctx: &Context) -> Result<TlsOutput, Failure> {
    let started = Instant::now();
    let ports = ctx
        .section::<PortsOutput>("ports")
        .ok_or_else(|| Failure::failed("no ports section: nothing says which ports are open"))?;
    let wanted = candidates(config, &ports);
    let targets: Vec<(IpAddr, u16)> = ports
        .open_ports()
        .into_iter()
        .filter(|(_, p)| wanted.contains(p))
        .collect();
    if targets.is_empty() {
        let looked = if config.probe == Probe::AllOpen {
            "no port is open".to_string()
        } else {
            format!(
                "no TLS port open (looked for {})",
                wanted
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        return Err(Failure::skipped(looked));
    }
    let bundle = match &config.ca_bundle {
        Some(path) => Some(load_bundle(path).map_err(Failure::failed)?),
        None => None,
    };
    let anchors = Anchors::new(bundle).map_err(Failure::failed)?;
    let target = ctx.target();
    let name = match config.sni() {
        Sni::Name(n) => Some(n),
        Sni::None => None,
        // The name dns found the addresses under (search domains applied).
        Sni::Auto => match target.name() {
            Some(_) => Some(sonde_dns::section(ctx)?.name().to_owned()),
            None => None,
        },
    };
    let deadline = ctx.deadline();
    let alpn: Vec<Vec<u8>> = config.alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
    let mut jobs = Vec::with_capacity(targets.len());
    for (ip, port) in targets.iter().copied() {
        let server_name = match &name {
            Some(n) => ServerName::try_from(n.clone())
                .map_err(|_| Failure::failed(format!("sni: `{n}` is not a host name")))?,
            None => ServerName::IpAddress(ip.into()),
        };
        jobs.push((SocketAddr::new(ip, port), server_name));
    }
    let (handshake_timeout, versions) = (config.handshake_timeout, config.versions);
    let sni = name.clone();
    let endpoints = bounded(
        jobs,
        MAX_ENDPOINTS_AT_ONCE,
        move |(addr, server_name)| {
            let (anchors, sni, alpn) = (anchors.clone(), sni.clone(), alpn.clone());
            async move {
                // Read when the endpoint's turn comes (this runs once it has a slot): leave
                // the scheduler a moment to take the result before this collector's deadline.
                let left = deadline.saturating_duration_since(Instant::now());
                let opts = Options {
                    server_name,
                    send_sni: sni.is_some(),
                    alpn,
                    timeout: handshake_timeout
                        .min(left.saturating_sub(Duration::from_millis(100)))
                        .max(Duration::from_millis(50)),
                };
                inspect(addr, &anchors, opts, sni, versions).await
            }
        },
        |(addr, _), why| crashed(*addr, why),
    )
    .await;
    let out = TlsOutput {
        candidates: wanted,
        endpoints,
        elapsed_ms: started.elapsed().as_millis() as u64,
    };
    let failed: Vec<String> = out
        .endpoints
        .iter()
        .filter_map(|e| {
            e.failure
                .as_ref()
                .map(|f| format!("{}: {}", SocketAddr::new(e.ip, e.port), f.detail))
        })
        .collect();
    if !out.endpoints.is_empty() && failed.len() == out.endpoints.len() {
        return Err(Failure::partial(
            format!("no TLS handshake completed: {}", failed.join("; ")),
            out,
        ));
    }
    Ok(out)
}

/// The certificates after the leaf (whose dates are the verdict's) that are out of their
/// validity at `now`: an expired intermediate breaks the chain for clients as surely as an
/// expired leaf.
fn chain_date_warnings(chain: &[CertificateDer<'_>], now: i64) -> Vec<String> {
    let mut warnings = Vec::new();
    for (i, der) in chain.iter().enumerate().skip(1) {
        let Some((not_before, not_after)) = cert::validity(der) else {
            continue;
        };
        let name = cert::parse(der, now)
            .ok()
            .and_then(|c| c.common_name.or(Some(c.subject)))
            .unwrap_or_default();
        if now > not_after {
            warnings.push(format!(
                "certificate #{} ({name}) expired {} days ago",
                i + 1,
                -cert::days_between(now, not_after)
            ));
        } else if now < not_before {
            warnings.push(format!("certificate #{} ({name}) is not valid yet", i + 1));
        }
    }
    warnings
}

/// Endpoints inspected at once: each opens up to six connections (the main handshake, two
/// modern and three legacy version tests), so `probe = "all-open"` on a host with hundreds of
/// open ports stays within the open-file limit and the server's patience.
const MAX_ENDPOINTS_AT_ONCE: usize = 16;

/// Runs `work` on every item, at most `limit` at once; results in the order of `items`. A task
/// that panics is not lost: `crashed` turns the item and the panic's message into its result.
async fn bounded<I, O, F, Fut>(
    items: Vec<I>,
    limit: usize,
    work: F,
    crashed: impl Fn(&I, String) -> O,
) -> Vec<O>
where
    I: Clone + Send + 'static,
    O: Send + 'static,
    F: Fn(I) -> Fut,
    Fut: std::future::Future<Output = O> + Send + 'static,
{
    let gate = std::sync::Arc::new(tokio::sync::Semaphore::new(limit.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    let mut ids = std::collections::HashMap::new();
    for (i, item) in items.iter().cloned().enumerate() {
        let gate = gate.clone();
        let future = work(item);
        let handle = tasks.spawn(async move {
            // The gate is never closed, so acquiring only waits.
            let _permit = gate.acquire_owned().await;
            (i, future.await)
        });
        ids.insert(handle.id(), i);
    }
    let mut done: Vec<Option<O>> = std::iter::repeat_with(|| None).take(items.len()).collect();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((i, out)) => done[i] = Some(out),
            Err(e) => {
                let Some(&i) = ids.get(&e.id()) else { continue };
                let why = if e.is_panic() {
                    let panic = e.into_panic();
                    panic
                        .downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "a panic without a message".into())
                } else {
                    "the task was cancelled".into()
                };
                done[i] = Some(crashed(&items[i], why));
            }
        }
    }
    done.into_iter()
        .zip(&items)
        .map(|(out, item)| out.unwrap_or_else(|| crashed(item, "no result".into())))
        .collect()
}

/// The result of an inspection that crashed: a failure, with why.
fn crashed(addr: SocketAddr, why: String) -> Endpoint {
    let detail = format!("the inspection crashed: {why}");
    Endpoint {
        ip: addr.ip(),
        port: addr.port(),
        sni: None,
        failure: Some(crate::output::HandshakeFailure {
            kind: crate::output::FailureKind::Other,
            detail: detail.clone(),
        }),
        protocol: None,
        cipher_suite: None,
        key_exchange: None,
        alpn: None,
        chain: Vec::new(),
        chain_problems: Vec::new(),
        verdict: None,
        ocsp: None,
        versions: Vec::new(),
        warnings: vec![format!("handshake failed: {detail}")],
        handshake_ms: 0,
    }
}

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

async fn inspect(
    addr: SocketAddr,
    anchors: &Anchors,
    opts: Options,
    sni: Option<String>,
    versions: bool,
) -> Endpoint {
    use rustls::version::{TLS12, TLS13};
    let both = [&TLS13, &TLS12];
    let main = handshake::attempt(addr, anchors, &opts, &both);
    let only13 = async {
        if versions {
            Some(handshake::attempt(addr, anchors, &opts, &[&TLS13]).await)
        } else {
            None
        }
    };
    let only12 = async {
        if versions {
            Some(handshake::attempt(addr, anchors, &opts, &[&TLS12]).await)
        } else {
            None
        }
    };
    let old = async {
        let mut tests = Vec::new();
        if versions {
            let probes =
                legacy::LEGACY.map(|v| legacy::test(addr, v, sni.as_deref(), opts.timeout));
            let [a, b, c] = probes;
            let (a, b, c) = tokio::join!(a, b, c);
            tests.extend([a, b, c]);
        }
        tests
    };
    let (main, only13, only12, old) = tokio::join!(main, only13, only12, old);
    let mut versions_found = Vec::new();
    for (label, attempt) in [("TLSv1.3", &only13), ("TLSv1.2", &only12)] {
        if let Some(a) = attempt {
            versions_found.push(modern_test(label, a));
        }
    }
    versions_found.extend(old);
    endpoint(addr, &opts, sni, main, [only13, only12], versions_found)
}

fn modern_test(label: &str, a: &Attempt) -> VersionTest {
    match &a.result {
        Ok(n) if n.protocol.as_deref() == Some(label) => VersionTest {
            version: label.into(),
            support: Support::Yes,
            detail: n.cipher_suite.clone(),
        },
        Ok(n) => VersionTest {
            version: label.into(),
            support: Support::No,
            detail: Some(format!(
                "negotiated {}",
                n.protocol.as_deref().unwrap_or("another version")
            )),
        },
        Err(f) => VersionTest {
            version: label.into(),
            support: match f.kind {
                crate::output::FailureKind::Alert
                | crate::output::FailureKind::Incompatible
                | crate::output::FailureKind::Closed => Support::No,
                _ => Support::Unknown,
            },
            detail: Some(f.detail.clone()),
        },
    }
}

fn endpoint(
    addr: SocketAddr,
    opts: &Options,
    sni: Option<String>,
    main: Attempt,
    others: [Option<Attempt>; 2],
    versions: Vec<VersionTest>,
) -> Endpoint {
    let now = now_unix();
    // The chain from the main handshake, or from a version test when the main one failed
    // before the certificate (a TLS 1.2-only server that trips on something offered).
    let seen = std::iter::once(&main.seen)
        .chain(others.iter().flatten().map(|a| &a.seen))
        .find(|s| !s.chain.is_empty())
        .cloned()
        .unwrap_or_default();
    let mut chain = Vec::new();
    let mut warnings = Vec::new();
    for (i, der) in seen.chain.iter().enumerate() {
        match cert::parse(der, now) {
            Ok(c) => chain.push(c),
            Err(e) => warnings.push(format!("certificate #{}: {e}", i + 1)),
        }
    }
    let chain_problems = cert::chain_problems(&chain);
    let checked_name = match &opts.server_name {
        ServerName::DnsName(n) => n.as_ref().to_string(),
        ServerName::IpAddress(ip) => IpAddr::from(*ip).to_string(),
        other => format!("{other:?}"),
    };
    let verdict = seen.chain.first().map(|leaf_der| {
        let hostname_match = rustls::server::ParsedCertificate::try_from(leaf_der)
            .ok()
            .map(|p| rustls::client::verify_server_name(&p, &opts.server_name).is_ok())
            .unwrap_or(false);
        let (not_before, not_after) = cert::validity(leaf_der).unwrap_or((now, now));
        Verdict {
            web_roots: seen.web.clone().unwrap_or(crate::output::Trust {
                trusted: false,
                error: Some("not judged".into()),
            }),
            ca_bundle: seen.bundle.clone(),
            hostname_match,
            checked_name: checked_name.clone(),
            expired: now > not_after,
            not_yet_valid: now < not_before,
            days_left: cert::days_between(now, not_after),
            self_signed: chain.first().is_some_and(|c| c.self_signed),
        }
    });
    if let Some(v) = &verdict {
        if v.expired {
            warnings.push(format!("the certificate expired {} days ago", -v.days_left));
        } else if v.not_yet_valid {
            warnings.push("the certificate is not valid yet".into());
        } else if v.days_left < 14 {
            warnings.push(format!("the certificate expires in {} days", v.days_left));
        }
        warnings.extend(chain_date_warnings(&seen.chain, now));
        if !v.hostname_match {
            warnings.push(format!(
                "the certificate is not valid for {}",
                v.checked_name
            ));
        }
        if v.self_signed {
            warnings.push("the certificate is self-signed".into());
        }
        let trusted_somewhere =
            v.web_roots.trusted || v.ca_bundle.as_ref().is_some_and(|b| b.trusted);
        if !trusted_somewhere {
            let why = v
                .ca_bundle
                .as_ref()
                .and_then(|b| b.error.clone())
                .or_else(|| v.web_roots.error.clone())
                .unwrap_or_default();
            warnings.push(format!("the chain is not trusted: {why}"));
        }
    }
    warnings.extend(chain_problems.iter().cloned());
    for t in &versions {
        if t.support == Support::Yes
            && matches!(t.version.as_str(), "TLSv1.1" | "TLSv1.0" | "SSLv3")
        {
            warnings.push(format!("{} is accepted (deprecated, RFC 8996)", t.version));
        }
    }
    let (failure, negotiated) = match main.result {
        Ok(n) => (None, n),
        Err(f) => (Some(f), Default::default()),
    };
    if let Some(f) = &failure {
        warnings.insert(0, format!("handshake failed: {}", f.detail));
    }
    Endpoint {
        ip: addr.ip(),
        port: addr.port(),
        sni: if opts.send_sni { sni } else { None },
        failure,
        protocol: negotiated.protocol,
        cipher_suite: negotiated.cipher_suite,
        key_exchange: negotiated.key_exchange,
        alpn: negotiated.alpn,
        chain,
        chain_problems,
        verdict,
        ocsp: (!seen.ocsp.is_empty()).then(|| Ocsp {
            bytes: seen.ocsp.len(),
            sha256: cert::sha256(&seen.ocsp),
        }),
        versions,
        warnings,
        handshake_ms: main.elapsed.as_millis() as u64,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use super::*;

    #[test]
    fn an_expired_intermediate_is_a_warning() {
        let pki = sonde_lab::pki::Pki::generate().expect("lab pki");
        let chain: Vec<CertificateDer<'static>> = pki
            .leaf
            .chain
            .iter()
            .map(|c| CertificateDer::from(c.der.clone()))
            .collect();
        let inter = &pki.leaf.chain[1];
        assert!(chain_date_warnings(&chain, inter.not_before + 60).is_empty());
        let later = inter.not_after + 3 * 86_400 + 60;
        assert_eq!(
            chain_date_warnings(&chain, later),
            [format!(
                "certificate #2 ({}) expired 3 days ago",
                sonde_lab::pki::INTERMEDIATE_CN
            )]
        );
        assert_eq!(
            chain_date_warnings(&chain, inter.not_before - 60),
            [format!(
                "certificate #2 ({}) is not valid yet",
                sonde_lab::pki::INTERMEDIATE_CN
            )]
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn inspections_are_bounded_and_a_panic_is_a_result() {
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let (r, m) = (running.clone(), most.clone());
        let out = bounded(
            (0..40u32).collect(),
            4,
            move |i| {
                let (running, most) = (r.clone(), m.clone());
                async move {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    running.fetch_sub(1, Ordering::SeqCst);
                    if i == 7 {
                        panic!("endpoint {i} broke");
                    }
                    format!("ok {i}")
                }
            },
            |i, why| format!("crashed {i}: {why}"),
        )
        .await;
        assert_eq!(out.len(), 40);
        assert_eq!(out[0], "ok 0");
        assert_eq!(out[7], "crashed 7: endpoint 7 broke");
        assert_eq!(out[39], "ok 39");
        assert!(most.load(Ordering::SeqCst) <= 4, "{most:?} at once");
    }
}
