//! A tiny authoritative DNS server on 127.0.0.1 (UDP and TCP on one random
//! port) for the collector's tests. It answers from a fixed zone and has
//! special names that misbehave on purpose. It never forwards anything.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, CAA, CNAME, MX, NS, PTR, SOA, TXT};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};
use tokio::task::JoinSet;

/// One query the server saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// The name asked, lower case, no final dot.
    pub name: String,
    /// The type asked, e.g. "A".
    pub rtype: String,
    /// Whether it came over TCP.
    pub tcp: bool,
}

/// What the server does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Answers from the zone.
    Zone,
    /// Never answers anything (a dead server).
    Mute,
}

/// A running server; stops when dropped.
pub struct TestServer {
    /// Where it listens (UDP and TCP).
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    _tasks: JoinSet<()>,
}

/// How long `slow.example.test` waits before answering.
pub const SLOW: Duration = Duration::from_millis(600);

impl TestServer {
    /// Starts a server answering from the test zone.
    pub async fn start() -> Self {
        Self::start_mode(Mode::Zone).await
    }

    /// Starts a server in the given mode.
    pub async fn start_mode(mode: Mode) -> Self {
        let (udp, tcp) = bind_pair().await;
        let addr = udp.local_addr().expect("bound UDP socket has an address");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let udp = Arc::new(udp);
        let mut tasks = JoinSet::new();
        {
            let seen = seen.clone();
            tasks.spawn(async move {
                let mut buf = vec![0u8; 4096];
                loop {
                    let Ok((len, peer)) = udp.recv_from(&mut buf).await else {
                        return;
                    };
                    let packet = buf[..len].to_vec();
                    let (udp, seen) = (udp.clone(), seen.clone());
                    tokio::spawn(async move {
                        if let Some(reply) = respond(&packet, false, mode, &seen).await {
                            let _ = udp.send_to(&reply, peer).await;
                        }
                    });
                }
            });
        }
        {
            let seen = seen.clone();
            tasks.spawn(async move {
                loop {
                    let Ok((mut stream, _)) = tcp.accept().await else {
                        return;
                    };
                    let seen = seen.clone();
                    tokio::spawn(async move {
                        loop {
                            let Ok(len) = stream.read_u16().await else {
                                return;
                            };
                            let mut packet = vec![0u8; usize::from(len)];
                            if stream.read_exact(&mut packet).await.is_err() {
                                return;
                            }
                            let Some(reply) = respond(&packet, true, mode, &seen).await else {
                                continue;
                            };
                            let Ok(len) = u16::try_from(reply.len()) else {
                                return;
                            };
                            if stream.write_u16(len).await.is_err()
                                || stream.write_all(&reply).await.is_err()
                            {
                                return;
                            }
                        }
                    });
                }
            });
        }
        TestServer {
            addr,
            seen,
            _tasks: tasks,
        }
    }

    /// Every query seen so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("query log").clone()
    }

    /// How many queries were seen.
    pub fn count(&self) -> usize {
        self.seen.lock().expect("query log").len()
    }
}

/// UDP and TCP sockets on the same random loopback port.
async fn bind_pair() -> (UdpSocket, TcpListener) {
    for _ in 0..50 {
        let udp = UdpSocket::bind("127.0.0.1:0")
            .await
            .expect("bind UDP on loopback");
        let addr = udp.local_addr().expect("UDP address");
        if let Ok(tcp) = TcpListener::bind(addr).await {
            return (udp, tcp);
        }
    }
    panic!("no free port for UDP and TCP on 127.0.0.1");
}

fn name(text: &str) -> Name {
    let mut n = Name::from_ascii(text).expect("test zone name");
    n.set_fqdn(true);
    n
}

fn ip(text: &str) -> IpAddr {
    text.parse().expect("test zone address")
}

/// The zone: (owner, type) -> records.
fn zone() -> BTreeMap<(String, RecordType), Vec<Record>> {
    let mut z: BTreeMap<(String, RecordType), Vec<Record>> = BTreeMap::new();
    let mut add = |owner: &str, ttl: u32, data: RData| {
        let record = Record::from_rdata(name(owner), ttl, data);
        z.entry((owner.to_string(), record.record_type()))
            .or_default()
            .push(record);
    };
    let www = "www.example.test";
    add(www, 300, RData::A(A("192.0.2.10".parse().expect("v4"))));
    add(www, 300, RData::A(A("192.0.2.11".parse().expect("v4"))));
    add(
        www,
        600,
        RData::AAAA(AAAA("2001:db8::10".parse().expect("v6"))),
    );
    add(www, 3600, RData::MX(MX::new(10, name("mx.example.test"))));
    add(www, 3600, RData::MX(MX::new(20, name("mx2.example.test"))));
    add(www, 7200, RData::NS(NS(name("ns1.example.test"))));
    add(
        www,
        900,
        RData::SOA(SOA::new(
            name("ns1.example.test"),
            name("hostmaster.example.test"),
            2024010101,
            7200,
            900,
            1209600,
            300,
        )),
    );
    add(
        www,
        120,
        RData::TXT(TXT::new(vec!["v=spf1 ".into(), "-all".into()])),
    );
    add(
        www,
        1800,
        RData::CAA(CAA::new_issue(
            false,
            Some(Name::from_ascii("ca.example.net").expect("issuer")),
            vec![],
        )),
    );
    add(
        "alias.example.test",
        60,
        RData::CNAME(CNAME(name("alias2.example.test"))),
    );
    add("alias2.example.test", 120, RData::CNAME(CNAME(name(www))));
    add("hop.example.test", 30, RData::CNAME(CNAME(name(www))));
    add(
        "loop1.example.test",
        30,
        RData::CNAME(CNAME(name("loop2.example.test"))),
    );
    add(
        "loop2.example.test",
        30,
        RData::CNAME(CNAME(name("loop1.example.test"))),
    );
    add(
        "nodata.example.test",
        300,
        RData::TXT(TXT::new(vec!["only text".into()])),
    );
    add(
        "flaky.example.test",
        300,
        RData::A(A("192.0.2.20".parse().expect("v4"))),
    );
    add(
        "slow.example.test",
        300,
        RData::A(A("192.0.2.30".parse().expect("v4"))),
    );
    for i in 0..40u8 {
        add(
            "big.example.test",
            300,
            RData::A(A(std::net::Ipv4Addr::new(198, 51, 100, i))),
        );
    }
    add("10.2.0.192.in-addr.arpa", 86400, RData::PTR(PTR(name(www))));
    add(
        "20.2.0.192.in-addr.arpa",
        3600,
        RData::PTR(PTR(name("flaky.example.test"))),
    );
    let v6 = hickory_proto::rr::Name::from(ip("2001:db8::10"));
    let v6 = v6.to_ascii();
    add(v6.trim_end_matches('.'), 86400, RData::PTR(PTR(name(www))));
    z
}

fn soa_record() -> Record {
    Record::from_rdata(
        name("example.test"),
        300,
        RData::SOA(SOA::new(
            name("ns1.example.test"),
            name("hostmaster.example.test"),
            1,
            7200,
            900,
            1209600,
            300,
        )),
    )
}

/// Builds the reply to one packet, or none to stay silent.
async fn respond(packet: &[u8], tcp: bool, mode: Mode, seen: &Mutex<Vec<Seen>>) -> Option<Vec<u8>> {
    let request = Message::from_vec(packet).ok()?;
    let query = request.queries.first()?.clone();
    let qname = query
        .name()
        .to_ascii()
        .trim_end_matches('.')
        .to_ascii_lowercase();
    let qtype = query.query_type();
    seen.lock().ok()?.push(Seen {
        name: qname.clone(),
        rtype: qtype.to_string(),
        tcp,
    });
    if mode == Mode::Mute {
        return None;
    }
    let mut reply = Message::response(request.metadata.id, request.metadata.op_code);
    reply.metadata.authoritative = true;
    reply.metadata.recursion_desired = request.metadata.recursion_desired;
    reply.add_query(query.clone());
    let code = |reply: &mut Message, code: ResponseCode| reply.metadata.response_code = code;
    match (qname.as_str(), qtype) {
        ("blackhole.example.test", _) => return None,
        ("servfail.example.test", _) => code(&mut reply, ResponseCode::ServFail),
        ("refused.example.test", _) => code(&mut reply, ResponseCode::Refused),
        ("garbage.example.test", _) => {
            // The right ID and flags, then nonsense.
            let mut bytes = packet.get(..2)?.to_vec();
            bytes.extend_from_slice(&[0x85, 0x80, 0xff, 0xff, 0x00, 0x07, 0x13, 0x37, 0xde, 0xad]);
            return Some(bytes);
        }
        ("flaky.example.test", RecordType::MX) => code(&mut reply, ResponseCode::ServFail),
        ("flaky.example.test", RecordType::TXT) => code(&mut reply, ResponseCode::Refused),
        ("flaky.example.test", RecordType::NS) => code(&mut reply, ResponseCode::NotImp),
        ("flaky.example.test", RecordType::CAA) => return None,
        ("big.example.test", _) if !tcp => {
            reply.metadata.truncation = true;
        }
        ("slow.example.test", _) => {
            tokio::time::sleep(SLOW).await;
            answer(&mut reply, &qname, qtype, true);
        }
        // Returns the alias only, leaving the chase to the client.
        ("hop.example.test", _) => answer(&mut reply, &qname, qtype, false),
        _ => answer(&mut reply, &qname, qtype, true),
    }
    reply.to_vec().ok()
}

/// Fills an authoritative answer from the zone, following CNAMEs when
/// `follow` is set.
fn answer(reply: &mut Message, qname: &str, qtype: RecordType, follow: bool) {
    let zone = zone();
    let mut owner = qname.to_string();
    for _ in 0..10 {
        if let Some(records) = zone.get(&(owner.clone(), qtype)) {
            reply.add_answers(records.clone());
            return;
        }
        let Some(cname) = zone.get(&(owner.clone(), RecordType::CNAME)) else {
            break;
        };
        reply.add_answers(cname.clone());
        let Some(RData::CNAME(target)) = cname.first().map(|r| r.data.clone()) else {
            break;
        };
        if !follow {
            return;
        }
        owner = target.0.to_ascii().trim_end_matches('.').to_string();
    }
    if !reply.answers.is_empty() {
        return;
    }
    let exists = zone.keys().any(|(n, _)| *n == owner);
    if !exists {
        reply.metadata.response_code = ResponseCode::NXDomain;
    }
    reply.add_authority(soa_record());
}
