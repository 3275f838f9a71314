//! The lab's DNS server, queried from the client namespace through the three routers.

mod common;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use common::{answers, ask, ask_udp, sorted};
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;
use sonde_lab::dns::Transport;
use sonde_lab::zone::{self, RecordData, ZoneRecord};
use sonde_lab::{addr, require_root_or_skip, Lab, Role};

fn expected(lab: &Lab, name: &str, record_type: RecordType) -> Vec<ZoneRecord> {
    sorted(
        lab.zone()
            .records(name, record_type)
            .into_iter()
            .cloned()
            .collect(),
    )
}

#[test]
fn every_host_has_a_and_aaaa_records_over_both_families() {
    require_root_or_skip!();
    let lab = Lab::start().unwrap();
    for server in [IpAddr::V4(addr::DNS_V4), IpAddr::V6(addr::DNS_V6)] {
        for role in Role::ALL {
            for record_type in [RecordType::A, RecordType::AAAA] {
                let answer = ask(
                    &lab,
                    server,
                    role.hostname(),
                    record_type,
                    Transport::Udp,
                    Duration::from_secs(2),
                )
                .unwrap();
                assert_eq!(answer.metadata.response_code, ResponseCode::NoError);
                assert!(answer.metadata.authoritative);
                let got = sorted(answers(&answer));
                assert!(!got.is_empty(), "{role} {record_type}");
                assert_eq!(got, expected(&lab, role.hostname(), record_type));
            }
        }
    }
    let target = ask_udp(&lab, zone::TARGET_NAME, RecordType::A);
    assert_eq!(answers(&target)[0].data, RecordData::A(addr::TARGET_V4));
}

#[test]
fn www_is_a_cname_chain_to_the_target() {
    require_root_or_skip!();
    let lab = Lab::start().unwrap();
    let answer = ask_udp(&lab, zone::WWW_NAME, RecordType::AAAA);
    let got: Vec<(String, RecordData)> = answers(&answer)
        .into_iter()
        .map(|r| (r.name, r.data))
        .collect();
    assert_eq!(
        got,
        [
            (
                zone::WWW_NAME.into(),
                RecordData::Cname(zone::WEB_NAME.into())
            ),
            (
                zone::WEB_NAME.into(),
                RecordData::Cname(zone::TARGET_NAME.into())
            ),
            (zone::TARGET_NAME.into(), RecordData::Aaaa(addr::TARGET_V6)),
        ]
    );
    // Asking for the CNAME itself gives one link of the chain.
    let answer = ask_udp(&lab, zone::WWW_NAME, RecordType::CNAME);
    assert_eq!(
        answers(&answer),
        expected(&lab, zone::WWW_NAME, RecordType::CNAME)
    );
}

#[test]
fn mx_ns_soa_txt_caa_are_served_as_the_zone_says() {
    require_root_or_skip!();
    let lab = Lab::start().unwrap();
    let cases = [
        (zone::TARGET_NAME, RecordType::MX),
        (zone::TARGET_NAME, RecordType::TXT),
        (zone::TARGET_NAME, RecordType::CAA),
        (zone::ORIGIN, RecordType::NS),
        (zone::ORIGIN, RecordType::SOA),
        (zone::ORIGIN, RecordType::MX),
        (zone::ORIGIN, RecordType::TXT),
        (zone::ORIGIN, RecordType::CAA),
        (zone::NODATA_NAME, RecordType::TXT),
    ];
    for (name, record_type) in cases {
        let answer = ask_udp(&lab, name, record_type);
        assert_eq!(answer.metadata.response_code, ResponseCode::NoError);
        let want = expected(&lab, name, record_type);
        assert!(!want.is_empty(), "{name} {record_type} is in the zone");
        assert_eq!(sorted(answers(&answer)), want, "{name} {record_type}");
    }
    let mx = ask_udp(&lab, zone::TARGET_NAME, RecordType::MX);
    assert_eq!(
        answers(&mx)[0].data,
        RecordData::Mx {
            preference: 10,
            exchange: zone::MAIL_NAME.into()
        }
    );
}

#[test]
fn every_lab_address_has_a_ptr_record() {
    require_root_or_skip!();
    let lab = Lab::start().unwrap();
    let addresses = lab.topology().addresses();
    assert_eq!(addresses.len(), 48);
    for (ip, role) in addresses {
        let name = zone::reverse_name(ip);
        let answer = ask_udp(&lab, &name, RecordType::PTR);
        assert_eq!(
            answers(&answer)
                .into_iter()
                .map(|r| r.data)
                .collect::<Vec<_>>(),
            [RecordData::Ptr(role.hostname().into())],
            "{ip}"
        );
    }
}

#[test]
fn missing_names_and_types_get_nxdomain_and_nodata_with_the_soa() {
    require_root_or_skip!();
    let lab = Lab::start().unwrap();
    let soa = expected(&lab, zone::ORIGIN, RecordType::SOA);

    let nx = ask_udp(&lab, zone::NXDOMAIN_NAME, RecordType::A);
    assert_eq!(nx.metadata.response_code, ResponseCode::NXDomain);
    assert!(nx.answers.is_empty());
    assert_eq!(
        nx.authorities
            .iter()
            .map(common::from_wire)
            .collect::<Vec<_>>(),
        soa
    );

    for record_type in [RecordType::A, RecordType::AAAA, RecordType::MX] {
        let nodata = ask_udp(&lab, zone::NODATA_NAME, record_type);
        assert_eq!(nodata.metadata.response_code, ResponseCode::NoError);
        assert!(nodata.answers.is_empty(), "{record_type}");
        assert_eq!(
            nodata
                .authorities
                .iter()
                .map(common::from_wire)
                .collect::<Vec<_>>(),
            soa
        );
    }

    // Not ours at all: the server refuses rather than pretending.
    let foreign = ask_udp(&lab, "example.com.", RecordType::A);
    assert_eq!(foreign.metadata.response_code, ResponseCode::Refused);
}

#[test]
fn servfail_and_refused_names() {
    require_root_or_skip!();
    let lab = Lab::start().unwrap();
    for transport in [Transport::Udp, Transport::Tcp] {
        for (name, code) in [
            (zone::SERVFAIL_NAME, ResponseCode::ServFail),
            (zone::REFUSED_NAME, ResponseCode::Refused),
        ] {
            let answer = ask(
                &lab,
                lab.dns_server(),
                name,
                RecordType::A,
                transport,
                Duration::from_secs(2),
            )
            .unwrap();
            assert_eq!(answer.metadata.response_code, code, "{name} {transport:?}");
            assert!(answer.answers.is_empty());
        }
    }
}

#[test]
fn the_drop_name_never_answers_and_the_slow_name_answers_late() {
    require_root_or_skip!();
    let delay = Duration::from_millis(400);
    let lab = Lab::builder().slow_delay(delay).start().unwrap();
    assert_eq!(
        lab.zone().behaviour(zone::SLOW_NAME),
        Some(zone::Behaviour::Delay(delay))
    );
    for transport in [Transport::Udp, Transport::Tcp] {
        let err = ask(
            &lab,
            lab.dns_server(),
            zone::DROP_NAME,
            RecordType::A,
            transport,
            Duration::from_millis(500),
        )
        .unwrap_err();
        assert!(
            matches!(
                err.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
            "{transport:?}: {err}"
        );

        let started = Instant::now();
        let answer = ask(
            &lab,
            lab.dns_server(),
            zone::SLOW_NAME,
            RecordType::A,
            transport,
            Duration::from_secs(3),
        )
        .unwrap();
        let took = started.elapsed();
        assert!(took >= delay, "{transport:?} answered after {took:?}");
        assert!(took < delay + Duration::from_secs(1), "{took:?}");
        assert_eq!(answers(&answer)[0].data, RecordData::A(addr::TARGET_V4));
    }
}

#[test]
fn the_big_txt_answer_is_truncated_over_udp_and_complete_over_tcp() {
    require_root_or_skip!();
    let lab = Lab::start().unwrap();
    let udp = ask_udp(&lab, zone::BIG_TXT_NAME, RecordType::TXT);
    assert!(udp.metadata.truncation, "TC bit over UDP");
    assert!(udp.answers.is_empty());

    let tcp = ask(
        &lab,
        lab.dns_server(),
        zone::BIG_TXT_NAME,
        RecordType::TXT,
        Transport::Tcp,
        Duration::from_secs(2),
    )
    .unwrap();
    assert!(!tcp.metadata.truncation);
    assert_eq!(tcp.metadata.response_code, ResponseCode::NoError);
    let mut texts: Vec<String> = answers(&tcp)
        .into_iter()
        .map(|r| match r.data {
            RecordData::Txt(strings) => strings.concat(),
            other => panic!("{other:?}"),
        })
        .collect();
    texts.sort();
    let want: Vec<String> = (0..zone::BIG_TXT_COUNT).map(zone::big_txt).collect();
    assert_eq!(texts, want);
    assert!(texts.iter().map(String::len).sum::<usize>() > usize::from(zone::MAX_UDP_PAYLOAD));
}

/// What `dig` (BIND's client: a DNS codec independent of the hickory code that both the lab
/// server and sonde use) reads from the lab server, as zone-file lines with single spaces and
/// the response's status; `None` when dig is not installed.
fn dig(lab: &Lab, server: IpAddr, name: &str, record_type: RecordType, tcp: bool) -> Option<Dig> {
    let mut args = vec![
        format!("@{server}"),
        "+norecurse".into(),
        "+noall".into(),
        "+answer".into(),
        "+comments".into(),
        "+time=2".into(),
        "+tries=1".into(),
        name.into(),
        record_type.to_string(),
    ];
    if tcp {
        args.push("+tcp".into());
    }
    let output = lab
        .run_in(Role::Client, move || {
            std::process::Command::new("dig").args(&args).output()
        })
        .expect("enter the client namespace");
    let output = match output {
        Ok(o) => o,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => panic!("dig: {e}"),
    };
    assert!(
        output.status.success(),
        "dig {name} {record_type}: {output:?}"
    );
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let status = text
        .split("status: ")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .unwrap_or_else(|| panic!("no status in dig's output: {text}"))
        .to_string();
    let mut answers: Vec<String> = text
        .lines()
        .filter(|l| !l.starts_with(';') && !l.trim().is_empty())
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    answers.sort();
    Some(Dig { status, answers })
}

struct Dig {
    status: String,
    answers: Vec<String>,
}

#[test]
fn dig_reads_every_record_type_as_the_zone_says() {
    require_root_or_skip!();
    let lab = Lab::start().unwrap();
    let cases = [
        (zone::TARGET_NAME, RecordType::A),
        (zone::TARGET_NAME, RecordType::AAAA),
        (zone::TARGET_NAME, RecordType::MX),
        (zone::TARGET_NAME, RecordType::TXT),
        (zone::TARGET_NAME, RecordType::CAA),
        (zone::ORIGIN, RecordType::NS),
        (zone::ORIGIN, RecordType::SOA),
        (zone::ORIGIN, RecordType::TXT),
    ];
    let target_ptr = zone::reverse_name(IpAddr::V4(addr::TARGET_V4));
    let cases = cases
        .into_iter()
        .map(|(n, t)| (n.to_string(), t))
        .chain([(target_ptr, RecordType::PTR)]);
    for (name, record_type) in cases {
        let want: Vec<String> = expected(&lab, &name, record_type)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert!(!want.is_empty(), "{name} {record_type} is in the zone");
        for (server, tcp) in [
            (IpAddr::V4(addr::DNS_V4), false),
            (IpAddr::V6(addr::DNS_V6), true),
        ] {
            let Some(got) = dig(&lab, server, &name, record_type, tcp) else {
                sonde_lab::report_skip(&sonde_lab::LabError::Unavailable(
                    "dig is not installed (Debian: bind9-dnsutils)".into(),
                ));
                return;
            };
            assert_eq!(got.status, "NOERROR", "{name} {record_type} via {server}");
            assert_eq!(got.answers, want, "{name} {record_type} via {server}");
        }
    }
    let missing = dig(
        &lab,
        IpAddr::V4(addr::DNS_V4),
        zone::NXDOMAIN_NAME,
        RecordType::A,
        false,
    )
    .expect("dig answered above");
    assert_eq!(missing.status, "NXDOMAIN");
    assert!(missing.answers.is_empty());
}
