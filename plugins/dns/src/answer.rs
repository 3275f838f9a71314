//! Reading a reply: response code, records of the asked type, the CNAME
//! links leading to them, all in presentation form.

use hickory_resolver::proto::op::{DnsResponse, ResponseCode};
use hickory_resolver::proto::rr::{Name, RData, RecordType as WireType};

use crate::output::{CnameLink, Record, RecordType, Status};

/// Longest CNAME chain followed, as most resolvers do.
pub(crate) const MAX_CHAIN: usize = 8;

/// Turns a reply into a status, the records of the asked type and the
/// CNAME links leading to them.
pub(crate) fn interpret(
    response: &DnsResponse,
    qname: &str,
    record_type: RecordType,
) -> (Status, Vec<Record>, Vec<CnameLink>, Option<String>) {
    let code = response.metadata.response_code;
    let mut links: Vec<CnameLink> = Vec::new();
    let mut owner = qname.to_ascii_lowercase();
    if record_type != RecordType::Cname {
        // Follow the chain through the answer section, refusing loops.
        while links.len() < MAX_CHAIN {
            let next = response.answers.iter().find_map(|r| match &r.data {
                RData::CNAME(target) if name_text(&r.name) == owner => {
                    Some((name_text(&target.0), r.ttl))
                }
                _ => None,
            });
            let Some((target, ttl)) = next else { break };
            if target == qname || links.iter().any(|l| l.name == target) {
                break;
            }
            links.push(CnameLink {
                name: owner.clone(),
                target: target.clone(),
                ttl,
            });
            owner = target;
        }
    }
    let records: Vec<Record> = response
        .answers
        .iter()
        .filter(|r| name_text(&r.name) == owner)
        .filter_map(|r| {
            record_value(&r.data, record_type).map(|value| Record {
                name: name_text(&r.name),
                ttl: Some(r.ttl),
                value,
            })
        })
        .collect();
    let (status, detail) = match code {
        ResponseCode::NoError if records.is_empty() => (Status::NoData, None),
        ResponseCode::NoError => (Status::Answered, None),
        ResponseCode::NXDomain => (Status::NxDomain, None),
        ResponseCode::ServFail => (Status::ServFail, None),
        ResponseCode::Refused => (Status::Refused, None),
        other => (
            Status::Error,
            Some(format!("response code {}", other.to_str())),
        ),
    };
    (status, records, links, detail)
}

/// A record's value in presentation form, when it is of the asked type.
fn record_value(data: &RData, record_type: RecordType) -> Option<String> {
    let text = match (data, record_type) {
        (RData::A(a), RecordType::A) => a.0.to_string(),
        (RData::AAAA(a), RecordType::Aaaa) => a.0.to_string(),
        (RData::CNAME(n), RecordType::Cname) => name_text(&n.0),
        (RData::NS(n), RecordType::Ns) => name_text(&n.0),
        (RData::PTR(n), RecordType::Ptr) => name_text(&n.0),
        (RData::MX(mx), RecordType::Mx) => format!("{} {}", mx.preference, name_text(&mx.exchange)),
        (RData::SOA(soa), RecordType::Soa) => format!(
            "{} {} {} {} {} {} {}",
            name_text(&soa.mname),
            name_text(&soa.rname),
            soa.serial,
            soa.refresh,
            soa.retry,
            soa.expire,
            soa.minimum
        ),
        (RData::TXT(txt), RecordType::Txt) => txt
            .txt_data
            .iter()
            .map(|part| String::from_utf8_lossy(part).into_owned())
            .collect::<String>(),
        (RData::CAA(caa), RecordType::Caa) => caa.to_string(),
        _ => return None,
    };
    Some(text)
}

/// A name as people write it: ASCII, lower case, no final dot.
fn name_text(name: &Name) -> String {
    let text = name.to_ascii().to_ascii_lowercase();
    match text.trim_end_matches('.') {
        "" => ".".to_string(),
        trimmed => trimmed.to_string(),
    }
}

/// An absolute name: no search list is applied, the target is taken as
/// written.
pub(crate) fn to_fqdn(name: &str) -> Result<Name, String> {
    let mut parsed =
        Name::from_ascii(name).map_err(|e| format!("`{name}` is not a DNS name: {e}"))?;
    parsed.set_fqdn(true);
    Ok(parsed)
}

pub(crate) fn wire_type(record_type: RecordType) -> WireType {
    match record_type {
        RecordType::A => WireType::A,
        RecordType::Aaaa => WireType::AAAA,
        RecordType::Cname => WireType::CNAME,
        RecordType::Mx => WireType::MX,
        RecordType::Ns => WireType::NS,
        RecordType::Soa => WireType::SOA,
        RecordType::Txt => WireType::TXT,
        RecordType::Caa => WireType::CAA,
        RecordType::Ptr => WireType::PTR,
    }
}

/// The reverse (`in-addr.arpa` / `ip6.arpa`) name of an address.
pub fn reverse_name(ip: std::net::IpAddr) -> String {
    name_text(&Name::from(ip))
}
