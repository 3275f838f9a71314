//! The authoritative DNS server: UDP and TCP on port 53, answers built from the
//! [`Zone`] data with hickory-proto.
//!
//! Special names behave as the zone says (never answer, answer late, SERVFAIL, REFUSED). UDP
//! answers larger than the client's buffer (capped at [`MAX_UDP_PAYLOAD`]) are sent empty with
//! the TC bit, so the client retries over TCP.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use hickory_proto::op::{Edns, Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, CAA, CNAME, MX, NS, PTR, SOA, TXT};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};

use crate::server::{self, Serve, ServerHandle};
use crate::zone::{Behaviour, CaaTag, RecordData, Zone, ZoneRecord, MAX_UDP_PAYLOAD};
use crate::LabError;

/// Longest CNAME chain followed inside the zone.
const MAX_CNAME_CHAIN: usize = 8;

/// Starts the server in namespace `ns`, listening on port 53 of each address in `addrs`.
pub(crate) fn start(
    ns: &str,
    zone: Arc<Zone>,
    addrs: Vec<IpAddr>,
) -> Result<ServerHandle, LabError> {
    server::spawn(ns, "dns", move || async move {
        let mut udp = Vec::new();
        let mut tcp = Vec::new();
        for ip in addrs {
            let addr = SocketAddr::new(ip, 53);
            udp.push(UdpSocket::bind(addr).await?);
            tcp.push(TcpListener::bind(addr).await?);
        }
        let serve: Serve = Box::pin(async move {
            for socket in udp {
                tokio::spawn(serve_udp(Arc::new(socket), zone.clone()));
            }
            for listener in tcp {
                tokio::spawn(serve_tcp(listener, zone.clone()));
            }
            std::future::pending::<()>().await;
        });
        Ok(serve)
    })
}

/// Which transport a query came in on: it decides whether large answers are truncated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Via {
    Udp,
    Tcp,
}

async fn serve_udp(socket: Arc<UdpSocket>, zone: Arc<Zone>) {
    let mut buf = vec![0u8; 65535];
    loop {
        let Ok((len, peer)) = socket.recv_from(&mut buf).await else {
            continue;
        };
        let request = buf[..len].to_vec();
        let (socket, zone) = (socket.clone(), zone.clone());
        // One task per query, so a slow name does not hold up the others.
        tokio::spawn(async move {
            if let Some(answer) = respond(&zone, &request, Via::Udp).await {
                let _ = socket.send_to(&answer, peer).await;
            }
        });
    }
}

async fn serve_tcp(listener: TcpListener, zone: Arc<Zone>) {
    loop {
        if let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve_tcp_connection(stream, zone.clone()));
        }
    }
}

/// Answers length-prefixed queries on one connection, in order, until the client closes it.
async fn serve_tcp_connection(mut stream: TcpStream, zone: Arc<Zone>) {
    loop {
        let mut len = [0u8; 2];
        if stream.read_exact(&mut len).await.is_err() {
            return;
        }
        let mut request = vec![0u8; usize::from(u16::from_be_bytes(len))];
        if stream.read_exact(&mut request).await.is_err() {
            return;
        }
        let Some(answer) = respond(&zone, &request, Via::Tcp).await else {
            continue;
        };
        let Ok(len) = u16::try_from(answer.len()) else {
            return;
        };
        let mut framed = Vec::with_capacity(answer.len() + 2);
        framed.extend_from_slice(&len.to_be_bytes());
        framed.extend_from_slice(&answer);
        if stream.write_all(&framed).await.is_err() {
            return;
        }
    }
}

/// The encoded answer to one encoded query, or `None` to stay silent.
async fn respond(zone: &Zone, request: &[u8], via: Via) -> Option<Vec<u8>> {
    let request = match Message::from_vec(request) {
        Ok(request) => request,
        Err(_) if request.len() >= 2 => {
            let id = u16::from_be_bytes([request[0], request[1]]);
            return Message::error_msg(id, OpCode::Query, ResponseCode::FormErr)
                .to_vec()
                .ok();
        }
        Err(_) => return None,
    };
    if request.metadata.message_type != MessageType::Query {
        return None;
    }
    let mut response = Message::response(request.metadata.id, request.metadata.op_code);
    response.metadata.recursion_desired = request.metadata.recursion_desired;
    response.add_queries(request.queries.iter().cloned());
    if request.edns.is_some() {
        let mut edns = Edns::new();
        edns.set_max_payload(MAX_UDP_PAYLOAD);
        response.set_edns(edns);
    }
    let query = match (request.metadata.op_code, request.queries.as_slice()) {
        (OpCode::Query, [query]) => query,
        (OpCode::Query, _) => return encode(response, ResponseCode::FormErr, &request, via),
        _ => return encode(response, ResponseCode::NotImp, &request, via),
    };
    let name = query.name().to_ascii();
    match zone.behaviour(&name) {
        Some(Behaviour::Drop) => return None,
        Some(Behaviour::Delay(delay)) => tokio::time::sleep(delay).await,
        Some(Behaviour::ServFail) => {
            return encode(response, ResponseCode::ServFail, &request, via);
        }
        Some(Behaviour::Refused) => {
            return encode(response, ResponseCode::Refused, &request, via);
        }
        None => {}
    }
    let code = match lookup(zone, &name, query.query_type()) {
        Ok(found) => {
            response.metadata.authoritative = found.authoritative;
            response.add_answers(found.answers);
            response.add_authorities(found.authorities);
            found.code
        }
        Err(_) => ResponseCode::ServFail,
    };
    encode(response, code, &request, via)
}

/// Sets the response code and encodes; over UDP, an answer bigger than the client accepts is
/// replaced by an empty one with the TC bit.
fn encode(
    mut response: Message,
    code: ResponseCode,
    request: &Message,
    via: Via,
) -> Option<Vec<u8>> {
    response.metadata.response_code = code;
    let bytes = response.to_vec().ok()?;
    let limit = usize::from(request.max_payload().min(MAX_UDP_PAYLOAD));
    if via == Via::Tcp || bytes.len() <= limit {
        return Some(bytes);
    }
    response.answers.clear();
    response.authorities.clear();
    response.additionals.clear();
    response.metadata.truncation = true;
    response.to_vec().ok()
}

/// What the zone says about a name and type.
struct Found {
    code: ResponseCode,
    authoritative: bool,
    answers: Vec<Record>,
    authorities: Vec<Record>,
}

/// Looks `name`/`record_type` up, following CNAMEs inside the served zones. A name that does
/// not exist is NXDOMAIN, a name without that type is NODATA; both carry the zone's SOA.
fn lookup(
    zone: &Zone,
    name: &str,
    record_type: RecordType,
) -> Result<Found, hickory_proto::ProtoError> {
    let Some(origin) = zone.origin_of(name) else {
        return Ok(Found {
            code: ResponseCode::Refused,
            authoritative: false,
            answers: Vec::new(),
            authorities: Vec::new(),
        });
    };
    let mut answers = Vec::new();
    let mut current = name.to_owned();
    let mut origin = origin.to_owned();
    for _ in 0..MAX_CNAME_CHAIN {
        let records = zone.records(&current, record_type);
        if !records.is_empty() {
            for record in records {
                answers.push(to_record(record)?);
            }
            return Ok(Found {
                code: ResponseCode::NoError,
                authoritative: true,
                answers,
                authorities: Vec::new(),
            });
        }
        let alias = zone.records(&current, RecordType::CNAME);
        let Some(alias) = alias.first().filter(|_| record_type != RecordType::CNAME) else {
            break;
        };
        answers.push(to_record(alias)?);
        let RecordData::Cname(next) = &alias.data else {
            break;
        };
        current = next.clone();
        match zone.origin_of(&current) {
            Some(o) => origin = o.to_owned(),
            // The chain leaves our zones: the client resolves the rest elsewhere.
            None => {
                return Ok(Found {
                    code: ResponseCode::NoError,
                    authoritative: true,
                    answers,
                    authorities: Vec::new(),
                })
            }
        }
    }
    let code = if zone.name_exists(&current) {
        ResponseCode::NoError
    } else {
        ResponseCode::NXDomain
    };
    let authorities = zone
        .records(&origin, RecordType::SOA)
        .into_iter()
        .map(to_record)
        .collect::<Result<_, _>>()?;
    Ok(Found {
        code,
        authoritative: true,
        answers,
        authorities,
    })
}

/// The zone's record as a hickory record.
fn to_record(record: &ZoneRecord) -> Result<Record, hickory_proto::ProtoError> {
    let name = |n: &str| Name::from_ascii(n);
    let rdata = match &record.data {
        RecordData::A(ip) => RData::A(A(*ip)),
        RecordData::Aaaa(ip) => RData::AAAA(AAAA(*ip)),
        RecordData::Cname(target) => RData::CNAME(CNAME(name(target)?)),
        RecordData::Mx {
            preference,
            exchange,
        } => RData::MX(MX::new(*preference, name(exchange)?)),
        RecordData::Ns(host) => RData::NS(NS(name(host)?)),
        RecordData::Soa {
            mname,
            rname,
            serial,
            refresh,
            retry,
            expire,
            minimum,
        } => RData::SOA(SOA::new(
            name(mname)?,
            name(rname)?,
            *serial,
            *refresh,
            *retry,
            *expire,
            *minimum,
        )),
        RecordData::Txt(strings) => RData::TXT(TXT::new(strings.clone())),
        RecordData::Caa {
            critical,
            tag,
            issuer,
        } => {
            let issuer = Some(name(issuer)?);
            RData::CAA(match tag {
                CaaTag::Issue => CAA::new_issue(*critical, issuer, Vec::new()),
                CaaTag::IssueWild => CAA::new_issuewild(*critical, issuer, Vec::new()),
            })
        }
        RecordData::Ptr(host) => RData::PTR(PTR(name(host)?)),
    };
    Ok(Record::from_rdata(name(&record.name)?, record.ttl, rdata))
}
