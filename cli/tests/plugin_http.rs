//! The `http` example plugin, loaded by the real `sonde`, against HTTP and
//! HTTPS servers this test starts on 127.0.0.1 (with a certificate chain
//! made here). Nothing else is ever contacted: the off-host redirect case
//! checks that such a redirect is reported, not followed.

mod plugin_support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;

use plugin_support::*;

/// Reads a request head and returns its path.
fn request_path(stream: &mut dyn ReadWrite) -> Option<String> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") && buf.len() < 16 * 1024 {
        if stream.read(&mut byte).ok()? == 0 {
            return None;
        }
        buf.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&buf);
    text.split_whitespace().nth(1).map(str::to_string)
}

/// Serves `answer(path)` to every connection, forever (the test process
/// ends it).
fn serve(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    answer: fn(&str, u16) -> String,
    https_port: u16,
) {
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let tls = tls.clone();
            std::thread::spawn(move || {
                let respond = |s: &mut dyn ReadWrite| {
                    if let Some(path) = request_path(s) {
                        let _ = s.write_all(answer(&path, https_port).as_bytes());
                        let _ = s.flush();
                    }
                };
                match tls {
                    None => respond(&mut { stream }),
                    Some(config) => {
                        let Ok(conn) = rustls::ServerConnection::new(config) else {
                            return;
                        };
                        let mut s = rustls::StreamOwned::new(conn, stream);
                        respond(&mut s);
                        s.conn.send_close_notify();
                        let _ = s.flush();
                    }
                }
            });
        }
    });
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

fn plain_answer(path: &str, https_port: u16) -> String {
    match path {
        "/away" => "HTTP/1.1 302 Found\r\nLocation: http://example.com/\r\nContent-Length: 0\r\n\r\n".into(),
        _ => format!(
            "HTTP/1.1 301 Moved Permanently\r\nServer: sonde-test-plain\r\nLocation: https://localhost:{https_port}/\r\nContent-Length: 0\r\n\r\n"
        ),
    }
}

fn tls_answer(path: &str, _: u16) -> String {
    match path {
        "/" => "HTTP/1.1 302 Found\r\nLocation: /home\r\nContent-Length: 0\r\n\r\n".into(),
        _ => "HTTP/1.1 200 OK\r\nServer: sonde-test-https\r\nStrict-Transport-Security: max-age=63072000; includeSubDomains\r\nContent-Security-Policy: default-src 'self'\r\nX-Content-Type-Options: nosniff\r\nContent-Length: 2\r\n\r\nok".into(),
    }
}

/// A CA, a certificate for `localhost` signed by it, and the CA's PEM.
fn tls_config() -> (Arc<rustls::ServerConfig>, String) {
    let ca_key = rcgen::KeyPair::generate().expect("key");
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "sonde test CA");
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).expect("CA");
    let leaf_key = rcgen::KeyPair::generate().expect("key");
    let leaf = rcgen::CertificateParams::new(vec!["localhost".to_string()])
        .expect("params")
        .signed_by(&leaf_key, &ca)
        .expect("leaf");
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(vec![leaf.der().clone(), ca.der().clone()], key)
        .expect("server config");
    (Arc::new(config), ca.pem())
}

struct Servers {
    http: u16,
    https: u16,
    ca: String,
}

fn start() -> Servers {
    let http = TcpListener::bind("127.0.0.1:0").expect("bind");
    let https = TcpListener::bind("127.0.0.1:0").expect("bind");
    let (http_port, https_port) = (
        http.local_addr().expect("addr").port(),
        https.local_addr().expect("addr").port(),
    );
    let (config, ca) = tls_config();
    serve(http, None, plain_answer, https_port);
    serve(https, Some(config), tls_answer, https_port);
    Servers {
        http: http_port,
        https: https_port,
        ca,
    }
}

fn http_profile(dir: &std::path::Path, s: &Servers, isolation: &str, extra: &str) -> String {
    profile(
        dir,
        &format!(
            "[plugins.http]\npath = \"{}\"\nisolation = \"{isolation}\"\n\n[collectors.http]\nhttp-port = {}\nhttps-port = {}\n{extra}",
            example_library("sonde-plugin-http").display(),
            s.http,
            s.https
        ),
    )
    .display()
    .to_string()
}

#[test]
fn http_plugin_reports_status_redirects_headers_and_timing() {
    let servers = start();
    let dir = scratch("http");
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, &servers.ca).expect("ca");
    for isolation in ["process", "none"] {
        let profile = http_profile(
            &dir,
            &servers,
            isolation,
            &format!("ca-file = \"{}\"\n", ca.display()),
        );
        let o = sonde(&dir, &["localhost", "--profile", &profile, "--json"], &[]);
        assert_eq!(o.status.code(), Some(0), "{isolation}: {}", stderr(&o));
        let r = report(&o);
        let section = &r["sections"]["http"];
        assert_eq!(section["address"], "127.0.0.1");
        let (h, s) = (servers.http, servers.https);
        let plain = &section["checks"][0];
        assert_eq!(plain["scheme"], "http");
        let hops: Vec<(u64, String, String)> = plain["hops"]
            .as_array()
            .expect("hops")
            .iter()
            .map(|h| {
                (
                    h["status"].as_u64().unwrap_or_default(),
                    h["url"].as_str().unwrap_or_default().to_string(),
                    h["location"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        assert_eq!(
            hops,
            [
                (
                    301,
                    format!("http://localhost:{h}/"),
                    format!("https://localhost:{s}/")
                ),
                (302, format!("https://localhost:{s}/"), "/home".to_string()),
                (200, format!("https://localhost:{s}/home"), String::new()),
            ]
        );
        let secure = &section["checks"][1];
        assert_eq!(secure["scheme"], "https");
        assert_eq!(secure["hops"].as_array().map(Vec::len), Some(2));
        for check in [plain, secure] {
            assert_eq!(check["status"], 200);
            assert_eq!(check["server"], "sonde-test-https");
            assert_eq!(check["tls_version"], "TLS 1.3");
            assert_eq!(check["hsts"], "max-age=63072000; includeSubDomains");
            assert_eq!(
                check["security_headers"],
                serde_json::json!({"content-security-policy": "default-src 'self'", "x-content-type-options": "nosniff"})
            );
            assert_eq!(
                check["missing_security_headers"],
                serde_json::json!(["x-frame-options", "referrer-policy", "permissions-policy"])
            );
            let t = &check["timing"];
            assert!(t["connect_ms"].as_f64().unwrap_or(-1.0) >= 0.0, "{t}");
            assert!(t["tls_ms"].as_f64().unwrap_or(-1.0) > 0.0, "{t}");
            assert!(t["total_ms"].as_f64() >= t["first_byte_ms"].as_f64(), "{t}");
        }
        // The section renders in the text report with the plugin's own view.
        let o = sonde(&dir, &["localhost", "--profile", &profile], &[]);
        let text = stdout(&o);
        for piece in [
            "HTTP  ok ",
            &format!(
                "  address  127.0.0.1\n  HTTP http://localhost:{h}/\n    status            200\n"
            ),
            "    redirects\n      STATUS  URL",
            "    server            sonde-test-https\n",
            "    hsts              max-age=63072000; includeSubDomains\n",
            "    security headers  content-security-policy, x-content-type-options\n",
            "    missing           x-frame-options, referrer-policy, permissions-policy\n",
            "    timing            connect ",
        ] {
            assert!(
                text.contains(piece),
                "{isolation}: {piece:?} not in:\n{text}"
            );
        }
        assert!(
            text.lines().any(
                |l| l.starts_with(&format!("      301     http://localhost:{h}/ "))
                    && l.ends_with(&format!(" https://localhost:{s}/"))
            ),
            "{text}"
        );
    }
}

#[test]
fn an_untrusted_certificate_fails_the_check_and_keeps_what_was_found() {
    let servers = start();
    let dir = scratch("http-untrusted");
    let profile = http_profile(&dir, &servers, "process", "");
    let o = sonde(&dir, &["localhost", "--profile", &profile, "--json"], &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let r = report(&o);
    assert_eq!(r["collectors"]["http"]["outcome"]["status"], "failed");
    let error = r["errors"]["http"].as_str().unwrap_or_default();
    let want = format!(
        "TLS handshake with 127.0.0.1:{} failed: invalid peer certificate: UnknownIssuer",
        servers.https
    );
    assert!(error.contains(&want), "{error}");
    // The plain-HTTP redirect was found before the HTTPS hop failed.
    assert_eq!(r["sections"]["http"]["checks"][0]["hops"][0]["status"], 301);
    // Both checks failed, and the section they kept is still drawn with the
    // plugin's view, in both isolation modes.
    for isolation in ["process", "none"] {
        let profile = http_profile(&dir, &servers, isolation, "");
        let o = sonde(&dir, &["localhost", "--profile", &profile], &[]);
        let text = stdout(&o);
        for piece in [
            format!("  HTTP http://localhost:{}/\n", servers.http),
            format!(
                "  HTTPS https://localhost:{}/\n    TLS handshake with 127.0.0.1:{} failed",
                servers.https, servers.https
            ),
        ] {
            assert!(
                text.contains(&piece),
                "{isolation}: {piece:?} not in:\n{text}"
            );
        }
    }
}

#[test]
fn a_redirect_to_another_host_is_reported_not_followed() {
    let servers = start();
    let dir = scratch("http-away");
    let profile = http_profile(
        &dir,
        &servers,
        "process",
        "path = \"/away\"\nschemes = [\"http\"]\n",
    );
    let o = sonde(&dir, &["localhost", "--profile", &profile, "--json"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let check = &report(&o)["sections"]["http"]["checks"][0];
    assert_eq!(check["status"], 302);
    assert_eq!(check["hops"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        check["note"],
        "redirects to http://example.com/, on another host: not followed (sonde only contacts the addresses dns found)"
    );
}

#[test]
fn a_url_target_gives_the_scheme_and_the_port() {
    let servers = start();
    let dir = scratch("http-url");
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, &servers.ca).expect("ca");
    // No ports and no schemes in the settings: the target says them.
    let profile = profile(
        &dir,
        &format!(
            "[plugins.http]\npath = \"{}\"\n\n[collectors.http]\nca-file = \"{}\"\n",
            example_library("sonde-plugin-http").display(),
            ca.display()
        ),
    );
    let target = format!("http://localhost:{}/", servers.http);
    let o = sonde(
        &dir,
        &[
            &target,
            "--profile",
            profile.to_str().expect("utf-8"),
            "--json",
        ],
        &[],
    );
    let r = report(&o);
    assert_eq!(r["collectors"]["http"]["outcome"]["status"], "ok", "{r}");
    let checks = &r["sections"]["http"]["checks"];
    assert_eq!(checks.as_array().map(Vec::len), Some(1), "{checks}");
    assert_eq!(checks[0]["url"], target);
    assert_eq!(checks[0]["hops"][0]["status"], 301, "{checks}");
    assert_eq!(checks[0]["status"], 200, "{checks}");
}

#[test]
fn a_check_that_hangs_does_not_lose_the_one_that_finished() {
    let servers = start();
    let dir = scratch("http-hang");
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, &servers.ca).expect("ca");
    // Connections complete in the kernel's backlog, but nothing answers.
    let silent = TcpListener::bind("127.0.0.1:0").expect("bind");
    let silent_port = silent.local_addr().expect("addr").port();
    let profile = profile(
        &dir,
        &format!(
            "[plugins.http]\npath = \"{}\"\n\n[collectors.http]\nhttp-port = {silent_port}\nhttps-port = {}\nca-file = \"{}\"\ntimeout = \"1500ms\"\n",
            example_library("sonde-plugin-http").display(),
            servers.https,
            ca.display()
        ),
    );
    let o = sonde_localhost_json(&dir, &profile);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let r = report(&o);
    assert_eq!(r["collectors"]["http"]["outcome"]["status"], "ok", "{r}");
    let checks = &r["sections"]["http"]["checks"];
    assert_eq!(checks[0]["scheme"], "http");
    let error = checks[0]["error"].as_str().unwrap_or_default();
    assert!(
        error.starts_with("no complete answer within ")
            && error.ends_with(" ms, the time left before the deadline"),
        "{checks}"
    );
    assert_eq!(checks[1]["scheme"], "https");
    assert_eq!(checks[1]["status"], 200, "{checks}");
    drop(silent);
}
