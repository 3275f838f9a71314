//! TLS 1.1, TLS 1.0 and SSL 3.0, which rustls cannot speak: a hand-built ClientHello offering
//! only that version, and the server's first record read with tls-parser. A ServerHello for the
//! version offered means the server accepts it; an alert, another version or a closed
//! connection means it does not. No OpenSSL, and no handshake is finished.

use std::net::SocketAddr;
use std::time::Duration;

use tls_parser::{parse_tls_plaintext, TlsMessage, TlsMessageHandshake};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::output::{Support, VersionTest};

/// SSL 3.0.
pub const SSL3: u16 = 0x0300;
/// TLS 1.0.
pub const TLS10: u16 = 0x0301;
/// TLS 1.1.
pub const TLS11: u16 = 0x0302;

/// The versions tested here, newest first.
pub const LEGACY: [u16; 3] = [TLS11, TLS10, SSL3];

/// The longest record body TLS allows (a compressed or encrypted one: 2^14 + 2048).
const MAX_BODY: usize = (1 << 14) + 2048;

/// Most bytes read from the server: one full record.
const MAX_RECORD: usize = 5 + MAX_BODY;

/// The name of a protocol version (`TLSv1.0`).
pub fn version_name(v: u16) -> String {
    match v {
        0x0300 => "SSLv3".into(),
        0x0301 => "TLSv1.0".into(),
        0x0302 => "TLSv1.1".into(),
        0x0303 => "TLSv1.2".into(),
        0x0304 => "TLSv1.3".into(),
        other => format!("0x{other:04x}"),
    }
}

/// Cipher suites a legacy server would accept: ECDHE and RSA key exchange with AES and
/// 3DES, RC4 last, and the renegotiation SCSV.
const SUITES: [u16; 14] = [
    0xc014, 0xc00a, 0xc013, 0xc009, 0x0039, 0x0033, 0x0035, 0x002f, 0xc012, 0x000a, 0x0016, 0x0005,
    0x0004, 0x00ff,
];

fn push_u16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_be_bytes());
}

fn push_u24(out: &mut Vec<u8>, v: usize) {
    out.extend_from_slice(&(v as u32).to_be_bytes()[1..]);
}

fn extension(out: &mut Vec<u8>, kind: u16, body: &[u8]) {
    push_u16(out, kind);
    push_u16(out, body.len() as u16);
    out.extend_from_slice(body);
}

/// A ClientHello offering exactly `version`, with SNI when `sni` is given (SSL 3.0 has no
/// extensions). `random` fills the client random.
pub fn client_hello(version: u16, sni: Option<&str>, random: [u8; 32]) -> Vec<u8> {
    let mut body = Vec::with_capacity(256);
    push_u16(&mut body, version);
    body.extend_from_slice(&random);
    body.push(0); // no session id
    push_u16(&mut body, (SUITES.len() * 2) as u16);
    for s in SUITES {
        push_u16(&mut body, s);
    }
    body.extend_from_slice(&[1, 0]); // null compression only
    if version > SSL3 {
        let mut exts = Vec::new();
        if let Some(name) = sni.filter(|n| !n.is_empty() && n.len() < 256) {
            let mut sn = Vec::new();
            push_u16(&mut sn, (name.len() + 3) as u16);
            sn.push(0); // host_name
            push_u16(&mut sn, name.len() as u16);
            sn.extend_from_slice(name.as_bytes());
            extension(&mut exts, 0, &sn);
        }
        // supported_groups: x25519, secp256r1, secp384r1.
        extension(&mut exts, 10, &[0, 6, 0, 0x1d, 0, 0x17, 0, 0x18]);
        // ec_point_formats: uncompressed.
        extension(&mut exts, 11, &[1, 0]);
        push_u16(&mut body, exts.len() as u16);
        body.extend_from_slice(&exts);
    }
    let mut handshake = vec![1]; // client_hello
    push_u24(&mut handshake, body.len());
    handshake.extend_from_slice(&body);
    // Record version: what old servers expect to see (TLS 1.0 for TLS, 3.0 for SSL 3.0).
    let mut record = vec![22];
    push_u16(&mut record, version.min(TLS10));
    push_u16(&mut record, handshake.len() as u16);
    record.extend_from_slice(&handshake);
    record
}

/// What the server's first bytes say about the version offered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// A ServerHello choosing this version.
    ServerHello(u16),
    /// An alert with this description code.
    Alert(u8),
    /// Not TLS at all.
    NotTls,
    /// Not a whole record yet.
    Incomplete,
    /// The connection closed before the server sent a byte.
    Closed,
    /// Framed like TLS but impossible or cut off; says what was wrong.
    Garbled(String),
}

/// Reads the server's first record. Never panics, whatever the bytes.
pub fn parse_reply(bytes: &[u8]) -> Reply {
    if bytes.len() < 5 {
        return if bytes.is_empty() || (20..=23).contains(&bytes[0]) {
            Reply::Incomplete
        } else {
            Reply::NotTls
        };
    }
    if !(20..=23).contains(&bytes[0]) || bytes[1] != 3 {
        return Reply::NotTls;
    }
    let len = usize::from(u16::from_be_bytes([bytes[3], bytes[4]]));
    if len > MAX_BODY {
        return Reply::Garbled(format!(
            "a record claims {len} bytes, more than TLS allows ({MAX_BODY})"
        ));
    }
    if bytes.len() < 5 + len {
        return Reply::Incomplete;
    }
    match parse_tls_plaintext(&bytes[..5 + len]) {
        Ok((_, plain)) => {
            for msg in plain.msg {
                match msg {
                    TlsMessage::Handshake(TlsMessageHandshake::ServerHello(hello)) => {
                        return Reply::ServerHello(hello.version.0)
                    }
                    TlsMessage::Alert(alert) => return Reply::Alert(alert.code.0),
                    _ => {}
                }
            }
            Reply::NotTls
        }
        Err(_) => Reply::Garbled("the record cannot be parsed".into()),
    }
}

/// What the bytes received say once the server has closed the connection: nothing is a
/// refusal, half a record is no verdict.
pub fn reply_at_close(bytes: &[u8]) -> Reply {
    if bytes.is_empty() {
        return Reply::Closed;
    }
    match parse_reply(bytes) {
        Reply::Incomplete => Reply::Garbled(format!(
            "the connection closed in the middle of a record (after {} bytes)",
            bytes.len()
        )),
        reply => reply,
    }
}

/// The name of an alert description (`handshake_failure`).
pub fn alert_name(code: u8) -> String {
    match code {
        0 => "close_notify".into(),
        10 => "unexpected_message".into(),
        20 => "bad_record_mac".into(),
        40 => "handshake_failure".into(),
        42 => "bad_certificate".into(),
        47 => "illegal_parameter".into(),
        50 => "decode_error".into(),
        70 => "protocol_version".into(),
        71 => "insufficient_security".into(),
        80 => "internal_error".into(),
        86 => "inappropriate_fallback".into(),
        112 => "unrecognized_name".into(),
        other => format!("alert {other}"),
    }
}

/// Judges a reply to a ClientHello offering `offered`.
pub fn judge(offered: u16, reply: &Reply) -> (Support, String) {
    match reply {
        Reply::ServerHello(v) if *v == offered => (
            Support::Yes,
            format!("ServerHello for {}", version_name(*v)),
        ),
        Reply::ServerHello(v) => (
            Support::No,
            format!("the server chose {} instead", version_name(*v)),
        ),
        Reply::Alert(code) => (Support::No, format!("alert: {}", alert_name(*code))),
        Reply::NotTls => (Support::Unknown, "the reply is not TLS".into()),
        Reply::Garbled(why) => (Support::Unknown, format!("the reply is not usable: {why}")),
        Reply::Incomplete => (
            Support::Unknown,
            "the reply stopped in the middle of a record".into(),
        ),
        Reply::Closed => (Support::No, "the server closed the connection".into()),
    }
}

/// Offers `version` to `addr` and says whether the server accepts it.
pub async fn test(
    addr: SocketAddr,
    version: u16,
    sni: Option<&str>,
    wait: Duration,
) -> VersionTest {
    let result = tokio::time::timeout(wait, async {
        let mut stream = TcpStream::connect(addr).await?;
        let random = random_bytes();
        stream
            .write_all(&client_hello(version, sni, random))
            .await?;
        let mut buf = Vec::with_capacity(4096);
        let mut chunk = [0u8; 4096];
        loop {
            let n = match stream.read(&mut chunk).await {
                Ok(n) => n,
                // A reset after the hello is a refusal, like a close.
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => 0,
                Err(e) => return Err(e),
            };
            if n == 0 {
                return Ok(reply_at_close(&buf));
            }
            buf.extend_from_slice(&chunk[..n]);
            match parse_reply(&buf) {
                Reply::Incomplete if buf.len() < MAX_RECORD => continue,
                reply => return Ok(reply),
            }
        }
    })
    .await;
    let (support, detail) = match result {
        Ok(Ok(reply)) => judge(version, &reply),
        Ok(Err(e)) => (Support::Unknown, format!("connection failed: {e}")),
        Err(_) => (
            Support::Unknown,
            format!("no answer within {} ms", wait.as_millis()),
        ),
    };
    VersionTest {
        version: version_name(version),
        support,
        detail: Some(detail),
    }
}

/// A client random that differs per hello (the time's nanoseconds through SHA-256: nothing
/// secret rides on a probe that never finishes its handshake).
fn random_bytes() -> [u8; 32] {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let digest = ring::digest::digest(&ring::digest::SHA256, &seed.to_le_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A TLS 1.1 ServerHello, as an old server sends it.
    fn server_hello(v: u16) -> Vec<u8> {
        let [a, b] = v.to_be_bytes();
        let mut body = vec![a, b];
        body.extend_from_slice(&[7; 32]);
        body.extend_from_slice(&[0, 0x00, 0x2f, 0]);
        let mut hs = vec![2, 0, 0, body.len() as u8];
        hs.extend_from_slice(&body);
        let mut rec = vec![22, 3, 1, 0, hs.len() as u8];
        rec.extend_from_slice(&hs);
        rec
    }

    #[test]
    fn the_hello_reads_back_as_a_client_hello() {
        for v in LEGACY {
            let hello = client_hello(v, Some("target.sonde.test"), [1; 32]);
            let (_, plain) = parse_tls_plaintext(&hello).expect("parses");
            let TlsMessage::Handshake(TlsMessageHandshake::ClientHello(ch)) = &plain.msg[0] else {
                panic!("not a ClientHello: {:?}", plain.msg);
            };
            assert_eq!(ch.version.0, v);
            assert_eq!(ch.ciphers.len(), SUITES.len());
            assert_eq!(ch.ext.is_some(), v > SSL3);
            let text = String::from_utf8_lossy(&hello);
            assert_eq!(text.contains("target.sonde.test"), v > SSL3);
        }
    }

    #[test]
    fn replies() {
        let cases: Vec<(Vec<u8>, Reply)> = vec![
            (server_hello(TLS11), Reply::ServerHello(TLS11)),
            (server_hello(0x0303), Reply::ServerHello(0x0303)),
            (vec![21, 3, 1, 0, 2, 2, 70], Reply::Alert(70)),
            (vec![21, 3, 3, 0, 2, 2, 40], Reply::Alert(40)),
            (b"SSH-2.0-x\r\n".to_vec(), Reply::NotTls),
            (b"HTTP/1.1 400 Bad Request\r\n".to_vec(), Reply::NotTls),
            (vec![], Reply::Incomplete),
            (vec![22, 3, 1], Reply::Incomplete),
            (vec![22, 3, 1, 0, 40, 2], Reply::Incomplete),
            (
                vec![22, 3, 1, 0, 1, 0xff],
                Reply::Garbled("the record cannot be parsed".into()),
            ),
            // The audit's reply: a record claiming 65535 bytes was judged "no".
            (
                vec![22, 3, 1, 0xff, 0xff, 2, 0, 0],
                Reply::Garbled("a record claims 65535 bytes, more than TLS allows (18432)".into()),
            ),
        ];
        for (bytes, want) in cases {
            assert_eq!(parse_reply(&bytes), want, "{bytes:?}");
        }
        assert_eq!(judge(TLS11, &Reply::ServerHello(TLS11)).0, Support::Yes);
        assert_eq!(
            judge(TLS10, &Reply::ServerHello(0x0303)),
            (Support::No, "the server chose TLSv1.2 instead".into())
        );
        assert_eq!(
            judge(TLS10, &Reply::Alert(70)),
            (Support::No, "alert: protocol_version".into())
        );
    }

    #[test]
    fn half_or_impossible_records_are_unknown_with_the_reason() {
        assert_eq!(reply_at_close(&[]), Reply::Closed);
        assert_eq!(
            judge(TLS11, &reply_at_close(&[])),
            (Support::No, "the server closed the connection".into())
        );
        let cut = reply_at_close(&[22, 3, 1, 0, 40, 2, 0]);
        assert_eq!(
            judge(TLS11, &cut),
            (
                Support::Unknown,
                "the reply is not usable: the connection closed in the middle of a record \
                 (after 7 bytes)"
                    .into()
            )
        );
        let huge = reply_at_close(&[22, 3, 1, 0xff, 0xff, 2, 0, 0]);
        assert_eq!(judge(TLS10, &huge).0, Support::Unknown);
        assert!(judge(TLS10, &huge).1.contains("65535 bytes"));
        assert_eq!(judge(SSL3, &Reply::Incomplete).0, Support::Unknown);
        // A whole alert is still a refusal after the close.
        assert_eq!(reply_at_close(&[21, 3, 1, 0, 2, 2, 70]), Reply::Alert(70));
    }

    #[test]
    fn hostile_replies_never_panic() {
        let mut seed = 0x1234_5678_9abc_def1u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for i in 0..20_000usize {
            let len = (next() % 200) as usize;
            let mut bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            // Half of them framed as a plausible record, to reach the parser.
            if i % 2 == 0 && bytes.len() >= 5 {
                bytes[0] = 20 + (next() % 4) as u8;
                bytes[1] = 3;
                let body = (bytes.len() - 5) as u16;
                bytes[3..5].copy_from_slice(&body.to_be_bytes());
            }
            let _ = parse_reply(&bytes);
        }
    }
}
