//! Reading an HTTP/1.x response head from untrusted bytes, bounded.

/// The most bytes read before the end of the head.
pub const MAX_HEAD: usize = 64 * 1024;
/// The most header lines accepted.
const MAX_HEADERS: usize = 128;

/// A parsed response head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// The status code.
    pub status: u16,
    /// The reason phrase.
    pub reason: String,
    /// Header names in lower case with their values, in order; values that
    /// are not UTF-8 are read lossily.
    pub headers: Vec<(String, String)>,
}

impl Head {
    /// The first value of a header (name in lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Parses a head from `buf`: `Ok(None)` when more bytes are needed.
pub fn parse(buf: &[u8]) -> Result<Option<Head>, String> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    match response.parse(buf) {
        Ok(httparse::Status::Partial) if buf.len() >= MAX_HEAD => Err(format!(
            "the response head is longer than {} KiB",
            MAX_HEAD / 1024
        )),
        Ok(httparse::Status::Partial) => Ok(None),
        Ok(httparse::Status::Complete(_)) => {
            let status = response.code.ok_or("the response has no status code")?;
            Ok(Some(Head {
                status,
                reason: response.reason.unwrap_or("").to_string(),
                headers: response
                    .headers
                    .iter()
                    .map(|h| {
                        (
                            h.name.to_ascii_lowercase(),
                            String::from_utf8_lossy(h.value).trim().to_string(),
                        )
                    })
                    .collect(),
            }))
        }
        Err(e) => Err(format!("not an HTTP response: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_good_partial_and_hostile() {
        let ok = parse(b"HTTP/1.1 301 Moved\r\nLocation: /x\r\nServer: lab\r\n\r\nbody")
            .expect("parses")
            .expect("complete");
        assert_eq!(ok.status, 301);
        assert_eq!(ok.reason, "Moved");
        assert_eq!(ok.header("location"), Some("/x"));
        assert_eq!(ok.header("server"), Some("lab"));
        assert_eq!(parse(b"HTTP/1.1 200 OK\r\nServer: a"), Ok(None));
        let cases: &[&[u8]] = &[
            b"SSH-2.0-OpenSSH_9.6\r\n\r\n",
            b"HTTP/1.1 abc OK\r\n\r\n",
            b"\x16\x03\x01\x00\x05hello",
            b"HTTP/1.1 200 OK\r\nBad Header\r\n\r\n",
        ];
        for c in cases {
            assert!(parse(c).is_err(), "{:?}", String::from_utf8_lossy(c));
        }
        let mut long = b"HTTP/1.1 200 OK\r\n".to_vec();
        while long.len() < MAX_HEAD {
            long.extend_from_slice(b"X-Filler: yes\r\n");
        }
        assert!(parse(&long).is_err(), "too many headers or too long");
        let weird = parse(b"HTTP/1.1 200 OK\r\nServer: \xff\xfe\r\n\r\n")
            .expect("parses")
            .expect("complete");
        assert_eq!(weird.header("server"), Some("\u{fffd}\u{fffd}"));
    }

    #[test]
    fn any_prefix_of_a_head_is_partial_or_an_error_never_a_panic() {
        let head = b"HTTP/1.1 302 Found\r\nLocation: https://localhost/\r\nStrict-Transport-Security: max-age=1\r\n\r\n";
        for n in 0..head.len() {
            let _ = parse(&head[..n]);
        }
        for b in 0..=255u8 {
            let mut h = head.to_vec();
            h[9] = b;
            let _ = parse(&h);
        }
    }
}
