//! Answers given without the network: the hosts file and the special-use
//! names of RFC 6761 and RFC 7686.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

/// The largest hosts file read; real ones are a few kilobytes.
pub const MAX_HOSTS_FILE: u64 = 4 * 1024 * 1024;

/// The parsed hosts file: addresses and their names, in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hosts {
    entries: Vec<(IpAddr, Vec<String>)>,
}

impl Hosts {
    /// Parses hosts-file text. Lines that do not start with an address are
    /// ignored, as the C library does; names are compared without case.
    pub fn parse(text: &str) -> Self {
        let mut entries = Vec::new();
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or_default();
            let mut fields = line.split_whitespace();
            let Some(addr) = fields.next() else { continue };
            // A zone index (fe80::1%eth0) names a link, not an address.
            let addr = addr.split('%').next().unwrap_or(addr);
            let Ok(ip) = addr.parse::<IpAddr>() else {
                continue;
            };
            let names: Vec<String> = fields.map(normalise).filter(|n| !n.is_empty()).collect();
            if !names.is_empty() {
                entries.push((ip, names));
            }
        }
        Hosts { entries }
    }

    /// Reads and parses a hosts file; a missing file is an empty one. Only a
    /// regular file of at most [`MAX_HOSTS_FILE`] bytes is read: a device or
    /// a pipe (`/dev/zero`) would otherwise be read until the deadline.
    pub fn read(path: &Path) -> std::io::Result<Self> {
        use std::io::{Error, ErrorKind, Read};
        let file = match std::fs::File::open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => return Err(e),
        };
        if !file.metadata()?.is_file() {
            return Err(Error::new(ErrorKind::InvalidInput, "not a regular file"));
        }
        let mut bytes = Vec::new();
        file.take(MAX_HOSTS_FILE + 1).read_to_end(&mut bytes)?;
        if bytes.len() as u64 > MAX_HOSTS_FILE {
            return Err(Error::new(
                ErrorKind::InvalidData,
                format!(
                    "larger than the limit of {} MiB",
                    MAX_HOSTS_FILE / (1024 * 1024)
                ),
            ));
        }
        Ok(Self::parse(&String::from_utf8_lossy(&bytes)))
    }

    /// The addresses of a name, in file order, without repeats.
    pub fn addresses(&self, name: &str) -> Vec<IpAddr> {
        let name = normalise(name);
        let mut found = Vec::new();
        for (ip, names) in &self.entries {
            if names.contains(&name) && !found.contains(ip) {
                found.push(*ip);
            }
        }
        found
    }

    /// The names of an address, in file order, without repeats; the first
    /// is the canonical name.
    pub fn names(&self, ip: IpAddr) -> Vec<String> {
        let mut found: Vec<String> = Vec::new();
        for (entry_ip, names) in &self.entries {
            if same_ip(*entry_ip, ip) {
                for name in names {
                    if !found.contains(name) {
                        found.push(name.clone());
                    }
                }
            }
        }
        found
    }
}

fn same_ip(a: IpAddr, b: IpAddr) -> bool {
    a.to_canonical() == b.to_canonical()
}

fn normalise(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// A name that is never sent to DNS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpecialName {
    /// `localhost` and `*.localhost`: always the loopback (RFC 6761 §6.3).
    Localhost,
    /// `*.invalid`: never exists (RFC 6761 §6.4).
    Invalid,
    /// `*.onion`: Tor addresses, must not leak to DNS (RFC 7686).
    Onion,
}

impl SpecialName {
    /// Classifies a name; `None` for names DNS should be asked about.
    pub fn of(name: &str) -> Option<Self> {
        let name = normalise(name);
        let last = name.rsplit('.').next().unwrap_or_default();
        match last {
            "localhost" => Some(SpecialName::Localhost),
            "invalid" => Some(SpecialName::Invalid),
            "onion" => Some(SpecialName::Onion),
            _ => None,
        }
    }

    /// Why no query is sent for it.
    pub fn reason(self) -> &'static str {
        match self {
            SpecialName::Localhost => "localhost names are the loopback (RFC 6761 §6.3)",
            SpecialName::Invalid => ".invalid names never exist (RFC 6761 §6.4)",
            SpecialName::Onion => {
                ".onion names are Tor addresses and must not be sent to DNS (RFC 7686)"
            }
        }
    }
}

/// The loopback addresses `localhost` stands for.
pub const LOOPBACK: [IpAddr; 2] = [
    IpAddr::V4(Ipv4Addr::LOCALHOST),
    IpAddr::V6(Ipv6Addr::LOCALHOST),
];

/// Whether an address's reverse name is answered locally (RFC 6303): the
/// loopback never leaves the machine.
pub fn is_local_reverse(ip: IpAddr) -> bool {
    ip.to_canonical().is_loopback()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
# comment line
127.0.0.1\tlocalhost
127.0.1.1  box.lan box   # trailing comment
::1 localhost ip6-localhost ip6-loopback
fe80::1%eth0 router.lan
192.0.2.10 Web.Example.TEST. web
192.0.2.11 web.example.test
not-an-ip something
10.0.0.1
  \t
198.51.100.7 #only-a-comment
";

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("test address")
    }

    #[test]
    fn name_to_addresses() {
        let hosts = Hosts::parse(SAMPLE);
        let cases: &[(&str, &[&str])] = &[
            ("localhost", &["127.0.0.1", "::1"]),
            ("LOCALHOST.", &["127.0.0.1", "::1"]),
            ("box", &["127.0.1.1"]),
            ("box.lan", &["127.0.1.1"]),
            ("router.lan", &["fe80::1"]),
            ("web.example.test", &["192.0.2.10", "192.0.2.11"]),
            ("web", &["192.0.2.10"]),
            ("something", &[]),
            ("not-an-ip", &[]),
            ("example.test", &[]),
            ("comment", &[]),
        ];
        for (name, want) in cases {
            let want: Vec<IpAddr> = want.iter().map(|s| ip(s)).collect();
            assert_eq!(hosts.addresses(name), want, "{name}");
        }
    }

    #[test]
    fn address_to_names() {
        let hosts = Hosts::parse(SAMPLE);
        let cases: &[(&str, &[&str])] = &[
            ("127.0.0.1", &["localhost"]),
            ("::1", &["localhost", "ip6-localhost", "ip6-loopback"]),
            ("192.0.2.10", &["web.example.test", "web"]),
            ("10.0.0.1", &[]),
            ("198.51.100.7", &[]),
            ("::ffff:127.0.0.1", &["localhost"]),
        ];
        for (addr, want) in cases {
            assert_eq!(hosts.names(ip(addr)), *want, "{addr}");
        }
    }

    #[test]
    fn empty_and_missing() {
        assert_eq!(Hosts::parse(""), Hosts::default());
        let missing = Hosts::read(Path::new("/nonexistent/sonde/hosts")).expect("missing is empty");
        assert_eq!(missing, Hosts::default());
    }

    #[test]
    fn only_a_small_regular_file_is_read() {
        let err = Hosts::read(Path::new("/dev/zero")).unwrap_err();
        assert_eq!(err.to_string(), "not a regular file");
        let path = std::env::temp_dir().join(format!("sonde-hosts-big-{}", std::process::id()));
        let line = "192.0.2.1 big.example\n";
        let copies = MAX_HOSTS_FILE as usize / line.len() + 1;
        std::fs::write(&path, line.repeat(copies)).expect("write");
        let err = Hosts::read(&path).unwrap_err();
        std::fs::remove_file(&path).expect("remove");
        assert_eq!(err.to_string(), "larger than the limit of 4 MiB");
    }

    #[test]
    fn special_names() {
        let cases = [
            ("localhost", Some(SpecialName::Localhost)),
            ("LocalHost.", Some(SpecialName::Localhost)),
            ("app.localhost", Some(SpecialName::Localhost)),
            ("a.b.localhost", Some(SpecialName::Localhost)),
            ("localhost.example.com", None),
            ("mylocalhost", None),
            ("invalid", Some(SpecialName::Invalid)),
            ("www.example.invalid", Some(SpecialName::Invalid)),
            ("invalid.example.com", None),
            ("expyuzz4wqqyqhjn.onion", Some(SpecialName::Onion)),
            ("www.example.test", None),
            ("example.com", None),
        ];
        for (name, want) in cases {
            assert_eq!(SpecialName::of(name), want, "{name}");
        }
    }

    #[test]
    fn local_reverse() {
        assert!(is_local_reverse(ip("127.0.0.1")));
        assert!(is_local_reverse(ip("127.3.2.1")));
        assert!(is_local_reverse(ip("::1")));
        assert!(is_local_reverse(ip("::ffff:127.0.0.1")));
        assert!(!is_local_reverse(ip("192.0.2.1")));
        assert!(!is_local_reverse(ip("2001:db8::1")));
    }
}
