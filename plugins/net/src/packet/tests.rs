use super::*;

const ME: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 10);
const DEST: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 10);
const ROUTER: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 242);

fn ipv4_header(src: Ipv4Addr, dst: Ipv4Addr, ttl: u8, protocol: u8, payload_len: usize) -> Vec<u8> {
    let total = (20 + payload_len) as u16;
    let mut h = vec![0x45, 0, 0, 0, 0, 1, 0, 0, ttl, protocol, 0, 0];
    h[2..4].copy_from_slice(&total.to_be_bytes());
    h.extend_from_slice(&src.octets());
    h.extend_from_slice(&dst.octets());
    let sum = checksum(&h);
    h[10..12].copy_from_slice(&sum.to_be_bytes());
    h
}

fn ipv6_header(src: Ipv6Addr, dst: Ipv6Addr, next: u8, payload_len: usize) -> Vec<u8> {
    let mut h = vec![0x60, 0, 0, 0];
    h.extend_from_slice(&(payload_len as u16).to_be_bytes());
    h.extend_from_slice(&[next, 1]);
    h.extend_from_slice(&src.octets());
    h.extend_from_slice(&dst.octets());
    h
}

/// An ICMPv4 error of `icmp_type`/`code` from ROUTER quoting `probe` (sent ME -> DEST).
fn v4_error(icmp_type: u8, code: u8, protocol: u8, probe: &[u8]) -> Vec<u8> {
    let mut icmp = vec![icmp_type, code, 0, 0, 0, 0, 0, 0];
    icmp.extend(ipv4_header(ME, DEST, 1, protocol, probe.len()));
    icmp.extend_from_slice(probe);
    let sum = checksum(&icmp);
    icmp[2..4].copy_from_slice(&sum.to_be_bytes());
    let mut packet = ipv4_header(ROUTER, ME, 62, PROTO_ICMP, icmp.len());
    packet.extend(icmp);
    packet
}

#[test]
fn echo_request_has_a_valid_checksum_and_reads_back() {
    let packet = echo_request(Family::V4, 0xbeef, 7, b"abcdefgh");
    assert_eq!(packet[0], 8);
    assert_eq!(
        checksum(&packet),
        0,
        "a packet with its checksum sums to zero"
    );
    match parse_icmp(Family::V4, &packet).unwrap() {
        Message::EchoRequest { id, seq } => assert_eq!((id, seq), (0xbeef, 7)),
        other => panic!("{other:?}"),
    }
    let v6 = echo_request(Family::V6, 1, 2, b"");
    assert_eq!(
        v6,
        [128, 0, 0, 0, 0, 1, 0, 2],
        "ICMPv6 checksum is the kernel's"
    );
}

#[test]
fn an_echo_reply_behind_an_ipv4_header() {
    let mut reply = echo_request(Family::V4, 0x1234, 3, b"payload!");
    reply[0] = 0;
    let mut packet = ipv4_header(DEST, ME, 61, PROTO_ICMP, reply.len());
    packet.extend(&reply);
    let (header, rest) = parse_ipv4(&packet).unwrap();
    assert_eq!((header.src, header.ttl), (DEST, 61));
    assert_eq!(
        parse_icmp(Family::V4, rest).unwrap(),
        Message::EchoReply {
            id: 0x1234,
            seq: 3,
            payload: b"payload!"
        }
    );
}

#[test]
fn time_exceeded_quotes_the_echo_probe() {
    let probe = echo_request(Family::V4, 42, 9, &[0; 16]);
    let packet = v4_error(11, 0, PROTO_ICMP, &probe);
    let (header, rest) = parse_ipv4(&packet).unwrap();
    assert_eq!(header.src, ROUTER);
    let Message::Error { kind, quote } = parse_icmp(Family::V4, rest).unwrap() else {
        panic!("not an error")
    };
    assert_eq!(kind, ErrorKind::TimeExceeded);
    let quote = quote.unwrap();
    assert_eq!(quote.dst, IpAddr::V4(DEST));
    assert_eq!(quote.transport, Transport::Echo { id: 42, seq: 9 });
}

#[test]
fn unreachable_codes_are_kept_and_named() {
    let udp = [0x82, 0x9a, 0x82, 0x9b, 0, 8, 0x12, 0x34];
    let packet = v4_error(3, 3, PROTO_UDP, &udp);
    let (_, rest) = parse_ipv4(&packet).unwrap();
    let Message::Error { kind, quote } = parse_icmp(Family::V4, rest).unwrap() else {
        panic!()
    };
    let ErrorKind::Unreachable(u) = kind else {
        panic!("{kind:?}")
    };
    assert!(u.is_port());
    assert_eq!(u.to_string(), "port unreachable (code 3)");
    assert_eq!(
        quote.unwrap().transport,
        Transport::Udp {
            src_port: 0x829a,
            dst_port: 0x829b,
            length: 8,
            checksum: 0x1234
        }
    );
    let admin = Unreachable {
        family: Family::V4,
        code: 13,
    };
    assert_eq!(admin.describe(), "administratively prohibited");
    let v6 = Unreachable {
        family: Family::V6,
        code: 4,
    };
    assert!(v6.is_port());
    assert!(!Unreachable {
        family: Family::V6,
        code: 3
    }
    .is_port());
}

#[test]
fn a_quote_without_its_eight_bytes_is_truncated_not_a_match() {
    // RFC 792 routers quote the IP header and 8 bytes; here only 4 arrived.
    let packet = v4_error(11, 0, PROTO_ICMP, &[8, 0, 0, 0]);
    let (_, rest) = parse_ipv4(&packet).unwrap();
    let Message::Error { quote, .. } = parse_icmp(Family::V4, rest).unwrap() else {
        panic!()
    };
    assert_eq!(
        quote.unwrap().transport,
        Transport::Truncated {
            protocol: PROTO_ICMP
        }
    );
}

#[test]
fn a_quote_cut_inside_the_ip_header_is_an_error_value() {
    let mut icmp = vec![11, 0, 0, 0, 0, 0, 0, 0];
    icmp.extend(&ipv4_header(ME, DEST, 1, PROTO_ICMP, 8)[..12]);
    let Message::Error { quote, .. } = parse_icmp(Family::V4, &icmp).unwrap() else {
        panic!()
    };
    assert!(
        matches!(quote, Err(ParseError::Truncated { .. })),
        "{quote:?}"
    );
}

#[test]
fn foreign_errors_quote_other_protocols() {
    // Another program's TCP connection hit a TTL limit: not an echo, not ours.
    let tcp = [0x01, 0xbb, 0xc3, 0x50, 0, 0, 0, 1];
    let packet = v4_error(11, 0, PROTO_TCP, &tcp);
    let (_, rest) = parse_ipv4(&packet).unwrap();
    let Message::Error { quote, .. } = parse_icmp(Family::V4, rest).unwrap() else {
        panic!()
    };
    assert_eq!(
        quote.unwrap().transport,
        Transport::Tcp {
            src_port: 443,
            dst_port: 50000,
            seq: 1
        }
    );
    // An ICMP quote that is not an echo request (say, an echo reply) is "other".
    let packet = v4_error(3, 1, PROTO_ICMP, &[0, 0, 0, 0, 0, 42, 0, 9]);
    let (_, rest) = parse_ipv4(&packet).unwrap();
    let Message::Error { quote, .. } = parse_icmp(Family::V4, rest).unwrap() else {
        panic!()
    };
    assert_eq!(
        quote.unwrap().transport,
        Transport::Other {
            protocol: PROTO_ICMP
        }
    );
}

#[test]
fn icmpv6_time_exceeded_quotes_an_ipv6_probe() {
    let me: Ipv6Addr = "2001:db8:100::10".parse().unwrap();
    let dest: Ipv6Addr = "2001:db8:113::10".parse().unwrap();
    let probe = echo_request(Family::V6, 77, 5, &[1; 8]);
    let mut icmp = vec![3, 0, 0, 0, 0, 0, 0, 0];
    icmp.extend(ipv6_header(me, dest, PROTO_ICMPV6, probe.len()));
    icmp.extend(&probe);
    let Message::Error { kind, quote } = parse_icmp(Family::V6, &icmp).unwrap() else {
        panic!()
    };
    assert_eq!(kind, ErrorKind::TimeExceeded);
    let quote = quote.unwrap();
    assert_eq!((quote.src, quote.dst), (IpAddr::V6(me), IpAddr::V6(dest)));
    assert_eq!(quote.transport, Transport::Echo { id: 77, seq: 5 });
    // Neighbour solicitation is neither an echo nor an error.
    assert_eq!(
        parse_icmp(Family::V6, &[135, 0, 0, 0, 0, 0, 0, 0]).unwrap(),
        Message::Other {
            icmp_type: 135,
            code: 0
        }
    );
}

/// A quoted IPv6 probe behind hop-by-hop, destination options, routing and
/// fragment headers: the UDP ports are read past all four.
#[test]
fn ipv6_quotes_skip_extension_headers() {
    let me: Ipv6Addr = "2001:db8:100::10".parse().unwrap();
    let dest: Ipv6Addr = "2001:db8:113::10".parse().unwrap();
    let udp = [0x9c, 0x40, 0x82, 0x9a, 0, 20, 0xab, 0xcd];
    // hop-by-hop (8 bytes, next: destination options)
    let mut ext = vec![60, 0, 1, 4, 0, 0, 0, 0];
    // destination options (16 bytes: length 1, next: routing)
    ext.extend([43, 1, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    // routing (8 bytes, next: fragment)
    ext.extend([44, 0, 0, 0, 0, 0, 0, 0]);
    // fragment, offset 0 (first fragment), next: UDP
    ext.extend([PROTO_UDP, 0, 0, 1, 0, 0, 0, 7]);
    let mut quoted = ipv6_header(me, dest, 0, ext.len() + udp.len());
    quoted.extend(&ext);
    quoted.extend(udp);
    let mut icmp = vec![3, 0, 0, 0, 0, 0, 0, 0];
    icmp.extend(&quoted);
    let Message::Error { quote, .. } = parse_icmp(Family::V6, &icmp).unwrap() else {
        panic!("not an error")
    };
    assert_eq!(
        quote.unwrap().transport,
        Transport::Udp {
            src_port: 40000,
            dst_port: 33434,
            length: 20,
            checksum: 0xabcd
        }
    );
    let split = split_quote(Family::V6, &quoted).unwrap();
    assert_eq!((split.protocol, split.transport), (PROTO_UDP, &udp[..]));
    // A later fragment has no transport header to read.
    let mut later = quoted.clone();
    let frag = 40 + 8 + 16 + 8;
    later[frag + 2..frag + 4].copy_from_slice(&[0, 0x18]);
    let quote = parse_quote(Family::V6, &later).unwrap();
    assert_eq!(
        quote.transport,
        Transport::Truncated {
            protocol: PROTO_UDP
        }
    );
    // Cut inside the destination options: an error value, no panic.
    assert!(matches!(
        parse_quote(Family::V6, &quoted[..40 + 8 + 10]),
        Err(ParseError::Truncated { .. })
    ));
}

#[test]
fn ip_headers_that_lie_are_refused() {
    let mut h = ipv4_header(ME, DEST, 1, PROTO_ICMP, 0);
    h[0] = 0x44; // IHL 4: 16 bytes, below the minimum
    assert_eq!(parse_ipv4(&h), Err(ParseError::BadHeaderLength(16)));
    h[0] = 0x4f; // IHL 15: 60 bytes, more than there are
    assert!(matches!(parse_ipv4(&h), Err(ParseError::Truncated { .. })));
    h[0] = 0x65;
    assert!(matches!(
        parse_ipv4(&h),
        Err(ParseError::WrongVersion { .. })
    ));
}

#[test]
fn every_prefix_of_real_packets_parses_or_fails_cleanly() {
    let probe = echo_request(Family::V4, 42, 9, &[0; 16]);
    let packets = [
        v4_error(11, 0, PROTO_ICMP, &probe),
        v4_error(3, 3, PROTO_UDP, &[1, 2, 3, 4, 5, 6, 7, 8]),
        v4_error(3, 13, PROTO_TCP, &[1, 2, 3, 4, 5, 6, 7, 8, 9]),
    ];
    for packet in &packets {
        for len in 0..=packet.len() {
            let bytes = &packet[..len];
            if let Ok((_, rest)) = parse_ipv4(bytes) {
                let _ = parse_icmp(Family::V4, rest);
            }
            let _ = parse_icmp(Family::V4, bytes);
            let _ = parse_icmp(Family::V6, bytes);
        }
    }
}

#[test]
fn random_bytes_never_panic() {
    // A fixed xorshift stream: the same hostile inputs on every run.
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..20_000 {
        let len = (next() % 120) as usize;
        let mut bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        // Bias toward headers that get past the first checks.
        if let Some(first) = bytes.first_mut() {
            *first = match next() % 3 {
                0 => 0x45,
                1 => 11,
                _ => *first,
            };
        }
        if let Ok((_, rest)) = parse_ipv4(&bytes) {
            let _ = parse_icmp(Family::V4, rest);
        }
        let _ = parse_icmp(Family::V4, &bytes);
        let _ = parse_icmp(Family::V6, &bytes);
        let _ = parse_quote(Family::V6, &bytes);
    }
}
