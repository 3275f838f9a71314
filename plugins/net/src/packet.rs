//! ICMP and ICMPv6 messages: building echo requests and reading what comes
//! back (echo replies, time exceeded, destination unreachable and the probe
//! they quote).
//!
//! Every byte read here comes from the network, so nothing indexes past a
//! length it has not checked: a short or odd packet is a [`ParseError`] or a
//! [`Transport::Truncated`] quote, never a panic.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// IP protocol number of ICMP.
pub const PROTO_ICMP: u8 = 1;
/// IP protocol number of TCP.
pub const PROTO_TCP: u8 = 6;
/// IP protocol number of UDP.
pub const PROTO_UDP: u8 = 17;
/// IP protocol number (next header) of ICMPv6.
pub const PROTO_ICMPV6: u8 = 58;

const V4_ECHO_REPLY: u8 = 0;
const V4_UNREACHABLE: u8 = 3;
const V4_ECHO_REQUEST: u8 = 8;
const V4_TIME_EXCEEDED: u8 = 11;
const V6_UNREACHABLE: u8 = 1;
const V6_TIME_EXCEEDED: u8 = 3;
const V6_ECHO_REQUEST: u8 = 128;
const V6_ECHO_REPLY: u8 = 129;

/// An IP version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// IPv4 (ICMP).
    V4,
    /// IPv6 (ICMPv6).
    V6,
}

impl Family {
    /// The family of an address.
    pub fn of(ip: IpAddr) -> Family {
        match ip {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }

    /// The ICMP type numbers of this family, as (echo request, echo reply,
    /// unreachable, time exceeded).
    fn types(self) -> (u8, u8, u8, u8) {
        match self {
            Family::V4 => (
                V4_ECHO_REQUEST,
                V4_ECHO_REPLY,
                V4_UNREACHABLE,
                V4_TIME_EXCEEDED,
            ),
            Family::V6 => (
                V6_ECHO_REQUEST,
                V6_ECHO_REPLY,
                V6_UNREACHABLE,
                V6_TIME_EXCEEDED,
            ),
        }
    }
}

/// Why bytes could not be read as a packet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Fewer bytes than the header needs.
    #[error("{what} truncated: {got} bytes, need {need}")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Bytes present.
        got: usize,
        /// Bytes needed.
        need: usize,
    },
    /// The IP version nibble is not the one expected.
    #[error("not an IPv{expected} packet (version {found})")]
    WrongVersion {
        /// 4 or 6.
        expected: u8,
        /// What the header said.
        found: u8,
    },
    /// An IPv4 header length below 20 bytes.
    #[error("IPv4 header length {0} is below the minimum of 20")]
    BadHeaderLength(usize),
}

fn need(what: &'static str, bytes: &[u8], need: usize) -> Result<(), ParseError> {
    if bytes.len() < need {
        Err(ParseError::Truncated {
            what,
            got: bytes.len(),
            need,
        })
    } else {
        Ok(())
    }
}

fn be16(bytes: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([bytes[at], bytes[at + 1]])
}

/// Adds 16-bit big-endian words to a ones'-complement sum (an odd last byte
/// is padded with zero).
pub fn sum_words(mut sum: u32, data: &[u8]) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for pair in &mut chunks {
        sum += u32::from(u16::from_be_bytes([pair[0], pair[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u32::from(*last) << 8;
    }
    sum
}

/// Folds a ones'-complement sum to 16 bits and complements it.
pub fn fold(mut sum: u32) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// The Internet checksum (RFC 1071) of `data`.
pub fn checksum(data: &[u8]) -> u16 {
    fold(sum_words(0, data))
}

/// An ICMP echo request: type, code 0, checksum, identifier, sequence, then
/// `payload`. The IPv4 checksum is filled in; ICMPv6's is left at zero
/// because the kernel computes it (it covers a pseudo-header only the
/// kernel knows).
pub fn echo_request(family: Family, id: u16, seq: u16, payload: &[u8]) -> Vec<u8> {
    let (request, ..) = family.types();
    let mut packet = Vec::with_capacity(8 + payload.len());
    packet.extend_from_slice(&[request, 0, 0, 0]);
    packet.extend_from_slice(&id.to_be_bytes());
    packet.extend_from_slice(&seq.to_be_bytes());
    packet.extend_from_slice(payload);
    if family == Family::V4 {
        let sum = checksum(&packet);
        packet[2..4].copy_from_slice(&sum.to_be_bytes());
    }
    packet
}

/// The fields of an IPv4 header sonde reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Header {
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
    /// Time to live as received.
    pub ttl: u8,
    /// Protocol of the payload.
    pub protocol: u8,
    /// Header length in bytes.
    pub header_len: usize,
}

/// Reads an IPv4 header (raw ICMPv4 sockets deliver it before the ICMP
/// message); returns it and the bytes after it.
pub fn parse_ipv4(bytes: &[u8]) -> Result<(Ipv4Header, &[u8]), ParseError> {
    need("IPv4 header", bytes, 20)?;
    let version = bytes[0] >> 4;
    if version != 4 {
        return Err(ParseError::WrongVersion {
            expected: 4,
            found: version,
        });
    }
    let header_len = usize::from(bytes[0] & 0x0f) * 4;
    if header_len < 20 {
        return Err(ParseError::BadHeaderLength(header_len));
    }
    need("IPv4 header with options", bytes, header_len)?;
    let header = Ipv4Header {
        src: Ipv4Addr::new(bytes[12], bytes[13], bytes[14], bytes[15]),
        dst: Ipv4Addr::new(bytes[16], bytes[17], bytes[18], bytes[19]),
        ttl: bytes[8],
        protocol: bytes[9],
        header_len,
    };
    Ok((header, &bytes[header_len..]))
}

/// Why an ICMP error was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A router dropped the probe because its TTL or hop limit ran out.
    TimeExceeded,
    /// Destination unreachable, with the message's code.
    Unreachable(Unreachable),
    /// Another error (parameter problem, packet too big, ...).
    Other {
        /// ICMP type.
        icmp_type: u8,
        /// ICMP code.
        code: u8,
    },
}

/// A destination-unreachable code, read in its family's numbering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unreachable {
    /// The family whose code table applies.
    pub family: Family,
    /// The code.
    pub code: u8,
}

impl Unreachable {
    /// Whether this is "port unreachable": the destination itself answered a
    /// UDP probe, which is how a UDP trace ends.
    pub fn is_port(self) -> bool {
        match self.family {
            Family::V4 => self.code == 3,
            Family::V6 => self.code == 4,
        }
    }

    /// The code in words, as ping and traceroute name it.
    pub fn describe(self) -> &'static str {
        match (self.family, self.code) {
            (Family::V4, 0) => "network unreachable",
            (Family::V4, 1) => "host unreachable",
            (Family::V4, 2) => "protocol unreachable",
            (Family::V4, 3) => "port unreachable",
            (Family::V4, 4) => "fragmentation needed",
            (Family::V4, 5) => "source route failed",
            (Family::V4, 6) => "destination network unknown",
            (Family::V4, 7) => "destination host unknown",
            (Family::V4, 9) | (Family::V4, 10) | (Family::V4, 13) => "administratively prohibited",
            (Family::V4, 11) | (Family::V4, 12) => "unreachable for type of service",
            (Family::V4, 14) => "host precedence violation",
            (Family::V4, 15) => "precedence cutoff",
            (Family::V6, 0) => "no route to destination",
            (Family::V6, 1) => "administratively prohibited",
            (Family::V6, 2) => "beyond scope of source address",
            (Family::V6, 3) => "address unreachable",
            (Family::V6, 4) => "port unreachable",
            (Family::V6, 5) => "source address failed policy",
            (Family::V6, 6) => "reject route",
            _ => "unreachable (unknown code)",
        }
    }
}

impl fmt::Display for Unreachable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (code {})", self.describe(), self.code)
    }
}

impl ErrorKind {
    /// Reads an error's kind from its family, type and code; `None` for a
    /// type that is not an error.
    pub fn from_type(family: Family, icmp_type: u8, code: u8) -> Option<ErrorKind> {
        let (_, _, unreachable, exceeded) = family.types();
        match (family, icmp_type) {
            (_, t) if t == exceeded => Some(ErrorKind::TimeExceeded),
            (_, t) if t == unreachable => {
                Some(ErrorKind::Unreachable(Unreachable { family, code }))
            }
            // ICMPv4 errors other than the two: source quench 4, redirect 5,
            // parameter problem 12; ICMPv6 errors are types 0-127.
            (Family::V4, 4 | 5 | 12) | (Family::V6, 0..=127) => {
                Some(ErrorKind::Other { icmp_type, code })
            }
            _ => None,
        }
    }
}

/// The transport header of the probe an ICMP error quotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// An ICMP echo request.
    Echo {
        /// Identifier.
        id: u16,
        /// Sequence number.
        seq: u16,
    },
    /// A UDP datagram.
    Udp {
        /// Source port.
        src_port: u16,
        /// Destination port.
        dst_port: u16,
        /// UDP length: header and payload. Paris-style traces keep the ports
        /// (the flow) fixed and tell their probes apart by this.
        length: u16,
        /// The checksum.
        checksum: u16,
    },
    /// A TCP segment.
    Tcp {
        /// Source port.
        src_port: u16,
        /// Destination port.
        dst_port: u16,
        /// Sequence number.
        seq: u32,
    },
    /// Another protocol, or ICMP other than an echo request.
    Other {
        /// The IP protocol number.
        protocol: u8,
    },
    /// The quote stops before the 8 bytes that would identify the probe.
    Truncated {
        /// The IP protocol number.
        protocol: u8,
    },
}

/// The start of the packet an ICMP error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quote {
    /// Where the quoted packet came from (normally this host).
    pub src: IpAddr,
    /// Where it was going: the probe's destination.
    pub dst: IpAddr,
    /// Its transport header, as far as quoted.
    pub transport: Transport,
}

/// The packet quoted in an ICMP error, split at its transport header: its
/// addresses, its transport protocol and the bytes from the transport header
/// on (as far as the quote goes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotedPacket<'a> {
    /// Where the quoted packet came from (normally this host).
    pub src: IpAddr,
    /// Where it was going.
    pub dst: IpAddr,
    /// The transport protocol, after any IPv6 extension headers.
    pub protocol: u8,
    /// The quoted bytes from the transport header on; empty when an IPv6
    /// fragment header says the transport header is in another fragment.
    pub transport: &'a [u8],
}

/// IPv6 extension headers a quoted probe may carry before its transport
/// header (RFC 8200 section 4): hop-by-hop, routing, fragment and destination options.
const V6_HOP_BY_HOP: u8 = 0;
const V6_ROUTING: u8 = 43;
const V6_FRAGMENT: u8 = 44;
const V6_DEST_OPTIONS: u8 = 60;

/// Splits the packet quoted in an ICMP error (starting at its IP header) at
/// its transport header, skipping IPv6 extension headers.
pub fn split_quote(family: Family, bytes: &[u8]) -> Result<QuotedPacket<'_>, ParseError> {
    match family {
        Family::V4 => {
            let (header, rest) = parse_ipv4(bytes)?;
            Ok(QuotedPacket {
                src: IpAddr::V4(header.src),
                dst: IpAddr::V4(header.dst),
                protocol: header.protocol,
                transport: rest,
            })
        }
        Family::V6 => {
            need("quoted IPv6 header", bytes, 40)?;
            let version = bytes[0] >> 4;
            if version != 6 {
                return Err(ParseError::WrongVersion {
                    expected: 6,
                    found: version,
                });
            }
            let addr = |at: usize| {
                let mut octets = [0u8; 16];
                octets.copy_from_slice(&bytes[at..at + 16]);
                IpAddr::V6(Ipv6Addr::from(octets))
            };
            let (protocol, transport) = skip_v6_extensions(bytes[6], &bytes[40..])?;
            Ok(QuotedPacket {
                src: addr(8),
                dst: addr(24),
                protocol,
                transport,
            })
        }
    }
}

/// Walks IPv6 extension headers from `next`; returns the transport protocol
/// and the bytes from its header on.
fn skip_v6_extensions(mut next: u8, mut rest: &[u8]) -> Result<(u8, &[u8]), ParseError> {
    // Each header is at least 8 bytes, so the walk ends; the bound only
    // guards against a quote made of nothing but extension headers.
    for _ in 0..16 {
        let len = match next {
            V6_HOP_BY_HOP | V6_ROUTING | V6_DEST_OPTIONS => {
                need("quoted IPv6 extension header", rest, 2)?;
                (usize::from(rest[1]) + 1) * 8
            }
            V6_FRAGMENT => {
                need("quoted IPv6 fragment header", rest, 8)?;
                // A fragment other than the first does not start with the
                // transport header.
                if be16(rest, 2) & 0xfff8 != 0 {
                    return Ok((rest[0], &[]));
                }
                8
            }
            _ => return Ok((next, rest)),
        };
        need("quoted IPv6 extension header", rest, len)?;
        next = rest[0];
        rest = &rest[len..];
    }
    Ok((next, &[]))
}

/// Reads the packet quoted in an ICMP error (starting at its IP header).
pub fn parse_quote(family: Family, bytes: &[u8]) -> Result<Quote, ParseError> {
    let QuotedPacket {
        src,
        dst,
        protocol,
        transport: rest,
    } = split_quote(family, bytes)?;
    let echo_request = match family {
        Family::V4 => (PROTO_ICMP, V4_ECHO_REQUEST),
        Family::V6 => (PROTO_ICMPV6, V6_ECHO_REQUEST),
    };
    let transport = if rest.len() < 8 {
        Transport::Truncated { protocol }
    } else if protocol == echo_request.0 && rest[0] == echo_request.1 {
        Transport::Echo {
            id: be16(rest, 4),
            seq: be16(rest, 6),
        }
    } else if protocol == PROTO_UDP {
        Transport::Udp {
            src_port: be16(rest, 0),
            dst_port: be16(rest, 2),
            length: be16(rest, 4),
            checksum: be16(rest, 6),
        }
    } else if protocol == PROTO_TCP {
        Transport::Tcp {
            src_port: be16(rest, 0),
            dst_port: be16(rest, 2),
            seq: u32::from_be_bytes([rest[4], rest[5], rest[6], rest[7]]),
        }
    } else {
        Transport::Other { protocol }
    };
    Ok(Quote {
        src,
        dst,
        transport,
    })
}

/// An ICMP or ICMPv6 message, as far as sonde cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message<'a> {
    /// An echo reply.
    EchoReply {
        /// Identifier.
        id: u16,
        /// Sequence number.
        seq: u16,
        /// The data echoed back.
        payload: &'a [u8],
    },
    /// An echo request (a raw socket also sees requests, e.g. its own on
    /// loopback).
    EchoRequest {
        /// Identifier.
        id: u16,
        /// Sequence number.
        seq: u16,
    },
    /// An error about a packet, with that packet's quote.
    Error {
        /// Why.
        kind: ErrorKind,
        /// The packet it is about; `Err` when the quote cannot be read (the
        /// message then cannot be matched to a probe).
        quote: Result<Quote, ParseError>,
    },
    /// Anything else (neighbour discovery, router adverts, ...).
    Other {
        /// ICMP type.
        icmp_type: u8,
        /// ICMP code.
        code: u8,
    },
}

/// Reads an ICMP (or ICMPv6) message, starting at its type byte.
pub fn parse_icmp(family: Family, bytes: &[u8]) -> Result<Message<'_>, ParseError> {
    need("ICMP header", bytes, 8)?;
    let (icmp_type, code) = (bytes[0], bytes[1]);
    let (request, reply, ..) = family.types();
    let message = if icmp_type == reply {
        Message::EchoReply {
            id: be16(bytes, 4),
            seq: be16(bytes, 6),
            payload: &bytes[8..],
        }
    } else if icmp_type == request {
        Message::EchoRequest {
            id: be16(bytes, 4),
            seq: be16(bytes, 6),
        }
    } else if let Some(kind) = ErrorKind::from_type(family, icmp_type, code) {
        Message::Error {
            kind,
            quote: parse_quote(family, &bytes[8..]),
        }
    } else {
        Message::Other { icmp_type, code }
    };
    Ok(message)
}

#[cfg(test)]
mod tests;
