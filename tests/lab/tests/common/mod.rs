//! Helpers shared by the lab's integration tests.

#![allow(dead_code)]

use std::io;
use std::net::IpAddr;
use std::time::Duration;

use hickory_proto::op::Message;
use hickory_proto::rr::{RData, Record, RecordType};
use sonde_lab::dns::{self, Transport};
use sonde_lab::zone::{CaaTag, RecordData, ZoneRecord};
use sonde_lab::{Lab, Role};

/// Sends one query from the client namespace to `server` and returns the answer.
pub fn ask(
    lab: &Lab,
    server: IpAddr,
    name: &str,
    record_type: RecordType,
    transport: Transport,
    timeout: Duration,
) -> io::Result<Message> {
    let name = name.to_owned();
    lab.run_in(Role::Client, move || {
        dns::query(server, &name, record_type, transport, timeout)
    })
    .expect("enter the client namespace")
}

/// Like [`ask`], over UDP to the lab's IPv4 DNS address, with a 2 s timeout.
pub fn ask_udp(lab: &Lab, name: &str, record_type: RecordType) -> Message {
    ask(
        lab,
        lab.dns_server(),
        name,
        record_type,
        Transport::Udp,
        Duration::from_secs(2),
    )
    .unwrap_or_else(|e| panic!("{name} {record_type}: {e}"))
}

/// A record from the wire, in the lab's own terms, so it compares with the zone data.
pub fn from_wire(record: &Record) -> ZoneRecord {
    let data = match &record.data {
        RData::A(a) => RecordData::A(a.0),
        RData::AAAA(a) => RecordData::Aaaa(a.0),
        RData::CNAME(n) => RecordData::Cname(n.0.to_ascii()),
        RData::NS(n) => RecordData::Ns(n.0.to_ascii()),
        RData::PTR(n) => RecordData::Ptr(n.0.to_ascii()),
        RData::MX(mx) => RecordData::Mx {
            preference: mx.preference,
            exchange: mx.exchange.to_ascii(),
        },
        RData::SOA(soa) => RecordData::Soa {
            mname: soa.mname.to_ascii(),
            rname: soa.rname.to_ascii(),
            serial: soa.serial,
            refresh: soa.refresh,
            retry: soa.retry,
            expire: soa.expire,
            minimum: soa.minimum,
        },
        RData::TXT(txt) => RecordData::Txt(
            txt.txt_data
                .iter()
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect(),
        ),
        RData::CAA(caa) => {
            let (issuer, _) = caa.value_as_issue().expect("issue value");
            RecordData::Caa {
                critical: caa.issuer_critical,
                tag: match caa.tag.as_str() {
                    "issue" => CaaTag::Issue,
                    "issuewild" => CaaTag::IssueWild,
                    other => panic!("unexpected CAA tag {other}"),
                },
                issuer: issuer.map(|n| n.to_ascii()).unwrap_or_default(),
            }
        }
        other => panic!("unexpected record {other:?}"),
    };
    ZoneRecord {
        name: record.name.to_ascii(),
        ttl: record.ttl,
        data,
    }
}

/// The answer section, in the lab's terms.
pub fn answers(message: &Message) -> Vec<ZoneRecord> {
    message.answers.iter().map(from_wire).collect()
}

/// Sorted, for comparing record sets whose order does not matter.
pub fn sorted(mut records: Vec<ZoneRecord>) -> Vec<ZoneRecord> {
    records.sort_by_key(|r| format!("{r:?}"));
    records
}
