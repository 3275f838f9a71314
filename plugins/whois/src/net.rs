//! Address arithmetic: CIDR blocks and address ranges, as registries write them.

use std::net::IpAddr;

/// A CIDR block: network address and prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cidr {
    /// The first address.
    pub addr: IpAddr,
    /// The prefix length.
    pub len: u8,
}

impl Cidr {
    /// Reads `203.0.113.0/24` or `2001:db8::/32`; a bare address is a /32 or /128. Host bits
    /// must be zero.
    pub fn parse(text: &str) -> Option<Cidr> {
        let text = text.trim();
        let (addr, len) = match text.split_once('/') {
            Some((a, l)) => (
                a.trim().parse::<IpAddr>().ok()?,
                l.trim().parse::<u8>().ok()?,
            ),
            None => {
                let a: IpAddr = text.parse().ok()?;
                (a, bits(a))
            }
        };
        if len > bits(addr) {
            return None;
        }
        let cidr = Cidr { addr, len };
        (to_u128(addr) & !mask(bits(addr), len) == 0).then_some(cidr)
    }

    /// Whether `ip` is inside.
    pub fn contains(&self, ip: IpAddr) -> bool {
        if ip.is_ipv4() != self.addr.is_ipv4() {
            return false;
        }
        let m = mask(bits(ip), self.len);
        to_u128(ip) & m == to_u128(self.addr) & m
    }

    /// First and last address.
    pub fn range(&self) -> (IpAddr, IpAddr) {
        let b = bits(self.addr);
        let start = to_u128(self.addr);
        let end = start | !mask(b, self.len) & full(b);
        (self.addr, from_u128(end, self.addr.is_ipv4()))
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

fn bits(ip: IpAddr) -> u8 {
    if ip.is_ipv4() {
        32
    } else {
        128
    }
}

fn full(bits: u8) -> u128 {
    if bits == 128 {
        u128::MAX
    } else {
        (1u128 << bits) - 1
    }
}

/// The network mask of a prefix length, within `bits` bits.
fn mask(bits: u8, len: u8) -> u128 {
    if len == 0 {
        0
    } else if len >= bits {
        full(bits)
    } else {
        full(bits) & !(full(bits) >> len)
    }
}

fn to_u128(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

fn from_u128(n: u128, v4: bool) -> IpAddr {
    if v4 {
        IpAddr::V4(u32::try_from(n).unwrap_or(u32::MAX).into())
    } else {
        IpAddr::V6(n.into())
    }
}

/// The fewest CIDR blocks covering `start..=end` exactly (same family, start ≤ end), at
/// most 64 of them; `None` otherwise.
pub fn range_to_cidrs(start: IpAddr, end: IpAddr) -> Option<Vec<Cidr>> {
    if start.is_ipv4() != end.is_ipv4() {
        return None;
    }
    let b = bits(start);
    let (mut lo, hi) = (to_u128(start), to_u128(end));
    if lo > hi {
        return None;
    }
    let mut blocks = Vec::new();
    loop {
        // The largest block aligned at `lo` that does not pass `hi`.
        let mut size = if lo == 0 {
            u32::from(b)
        } else {
            lo.trailing_zeros().min(u32::from(b))
        };
        let last_of = |size: u32| {
            if size >= 128 {
                u128::MAX
            } else {
                lo | ((1u128 << size) - 1)
            }
        };
        while last_of(size) > hi {
            size -= 1;
        }
        blocks.push(Cidr {
            addr: from_u128(lo, start.is_ipv4()),
            len: b - size as u8,
        });
        if blocks.len() > 64 {
            return None;
        }
        let last = last_of(size);
        if last >= hi {
            break;
        }
        lo = last + 1;
    }
    Some(blocks)
}

/// The first `max` distinct blocks of `blocks` as text, in order, and how
/// many other distinct blocks there were.
pub fn distinct_blocks(blocks: impl IntoIterator<Item = Cidr>, max: usize) -> (Vec<String>, usize) {
    let mut seen = std::collections::HashSet::new();
    let mut kept = Vec::new();
    let mut dropped = 0;
    for block in blocks {
        if !seen.insert(block) {
            continue;
        }
        if kept.len() < max {
            kept.push(block.to_string());
        } else {
            dropped += 1;
        }
    }
    (kept, dropped)
}

/// Reads `203.0.113.0 - 203.0.113.255` (RIPE's inetnum, ARIN's NetRange).
pub fn parse_range(text: &str) -> Option<(IpAddr, IpAddr)> {
    let (a, b) = text.split_once('-')?;
    let (a, b) = (
        a.trim().parse::<IpAddr>().ok()?,
        b.trim().parse::<IpAddr>().ok()?,
    );
    (a.is_ipv4() == b.is_ipv4() && to_u128(a) <= to_u128(b)).then_some((a, b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn cidrs() {
        let c = Cidr::parse("203.0.113.0/24").unwrap();
        assert!(c.contains(ip("203.0.113.10")));
        assert!(!c.contains(ip("203.0.114.1")));
        assert!(!c.contains(ip("::1")));
        assert_eq!(c.range(), (ip("203.0.113.0"), ip("203.0.113.255")));
        let v6 = Cidr::parse("2001:db8::/32").unwrap();
        assert_eq!(
            v6.range(),
            (
                ip("2001:db8::"),
                ip("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff")
            )
        );
        assert!(v6.contains(ip("2001:db8:113::10")));
        assert_eq!(
            Cidr::parse("0.0.0.0/0").unwrap().range().1,
            ip("255.255.255.255")
        );
        assert_eq!(Cidr::parse("10.0.0.1").unwrap().len, 32);
        let host = Cidr::parse("2001:db8::1/128").unwrap();
        assert!(host.contains(ip("2001:db8::1")) && !host.contains(ip("2001:db8::2")));
        assert_eq!(host.range(), (ip("2001:db8::1"), ip("2001:db8::1")));
        for bad in ["203.0.113.1/24", "1.2.3.4/33", "x/8", "::/129", ""] {
            assert_eq!(Cidr::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn ranges_become_blocks() {
        let show = |a: &str, b: &str| {
            range_to_cidrs(ip(a), ip(b))
                .map(|v| v.iter().map(ToString::to_string).collect::<Vec<_>>())
        };
        assert_eq!(
            show("203.0.113.0", "203.0.113.255").unwrap(),
            ["203.0.113.0/24"]
        );
        assert_eq!(
            show("198.51.100.0", "198.51.101.127").unwrap(),
            ["198.51.100.0/24", "198.51.101.0/25"]
        );
        assert_eq!(show("10.0.0.1", "10.0.0.1").unwrap(), ["10.0.0.1/32"]);
        assert_eq!(show("0.0.0.0", "255.255.255.255").unwrap(), ["0.0.0.0/0"]);
        assert_eq!(
            show("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff").unwrap(),
            ["::/0"]
        );
        assert_eq!(
            show("2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff").unwrap(),
            ["2001:db8::/32"]
        );
        assert_eq!(show("10.0.0.2", "10.0.0.1"), None);
        assert_eq!(show("10.0.0.1", "::1"), None);
        assert_eq!(
            parse_range(" 203.0.113.0 - 203.0.113.255 "),
            Some((ip("203.0.113.0"), ip("203.0.113.255")))
        );
        assert_eq!(parse_range("203.0.113.9 - 203.0.113.1"), None);
    }
}
