//! The lab's WHOIS servers (TCP port 43): one listener pair per [`Host`], answering as the
//! host's role says.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::{
    bare, network_of, Host, Network, ASN, AS_NAME, AS_ORG, CLIENT_NET, CREATED, DOMAIN,
    DOMAIN_HANDLE, EXPIRES, IANA, LATIN1_LINE, LIR, LOOP_A, LOOP_B, NAMESERVER, REGISTRANT,
    REGISTRANT_COUNTRY, REGISTRAR, REGISTRAR_ABUSE_EMAIL, REGISTRAR_ABUSE_PHONE, REGISTRAR_IANA_ID,
    REGISTRAR_NAME, REGISTRY, RIR, SILENT, STREAM, UPDATED, WHOIS_STATUS,
};

/// Longest query line read.
const MAX_QUERY: usize = 1024;

/// How a WHOIS host behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Iana,
    Registry,
    Registrar,
    Rir,
    Lir,
    Stream,
    Silent,
    LoopA,
    LoopB,
}

/// Every WHOIS host and its role.
pub(crate) const SERVERS: [(Host, Role); 9] = [
    (IANA, Role::Iana),
    (REGISTRY, Role::Registry),
    (REGISTRAR, Role::Registrar),
    (RIR, Role::Rir),
    (LIR, Role::Lir),
    (STREAM, Role::Stream),
    (SILENT, Role::Silent),
    (LOOP_A, Role::LoopA),
    (LOOP_B, Role::LoopB),
];

/// Binds port 43 on both addresses of every WHOIS host.
pub(crate) async fn bind() -> std::io::Result<Vec<(TcpListener, Role)>> {
    let mut listeners = Vec::new();
    for (host, role) in SERVERS {
        for ip in [IpAddr::V4(host.v4), IpAddr::V6(host.v6)] {
            listeners.push((TcpListener::bind(SocketAddr::new(ip, 43)).await?, role));
        }
    }
    Ok(listeners)
}

/// Serves one listener until the lab stops.
pub(crate) async fn serve(listener: TcpListener, role: Role) {
    loop {
        if let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve_connection(stream, role));
        }
    }
}

async fn serve_connection(mut stream: TcpStream, role: Role) {
    let Some(query) = read_query(&mut stream).await else {
        return;
    };
    match role {
        Role::Silent => std::future::pending::<()>().await,
        Role::Stream => {
            let line = "% this server never stops talking; a client must stop reading\n".repeat(64);
            while stream.write_all(line.as_bytes()).await.is_ok() {}
        }
        _ => {
            let _ = stream.write_all(&answer(role, &query)).await;
            let _ = stream.shutdown().await;
        }
    }
}

/// The query line, without CR LF.
async fn read_query(stream: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    let read = async {
        while buf.len() < MAX_QUERY {
            match stream.read(&mut byte).await {
                Ok(1) if byte[0] == b'\n' => return true,
                Ok(1) => buf.push(byte[0]),
                _ => return false,
            }
        }
        false
    };
    match tokio::time::timeout(Duration::from_secs(5), read).await {
        Ok(true) => Some(String::from_utf8_lossy(&buf).trim().to_string()),
        _ => None,
    }
}

/// What a WHOIS host of `role` answers to `query` (as received). The registrar's answer ends
/// with a Latin-1 byte, as old servers send, to prove it is decoded lossily.
pub(crate) fn answer(role: Role, query: &str) -> Vec<u8> {
    let mut bytes = text(role, query).into_bytes();
    if role == Role::Registrar && query.trim().eq_ignore_ascii_case(DOMAIN) {
        bytes.extend_from_slice(LATIN1_LINE);
    }
    bytes
}

fn text(role: Role, query: &str) -> String {
    let q = query.trim().to_ascii_lowercase();
    let ip = q.parse::<IpAddr>().ok();
    let asn = q.strip_prefix("as").and_then(|n| n.parse::<u32>().ok());
    match role {
        Role::Iana => iana(&q, ip, asn),
        Role::Registry if q == DOMAIN => registry(),
        Role::Registrar if q == DOMAIN => registrar(),
        Role::Rir => match (ip.and_then(network_of), asn) {
            (Some(net), _) if *net == CLIENT_NET => arin_referral(net),
            (Some(net), _) => ripe_network(net, "LAB-RIR"),
            (None, Some(ASN)) => aut_num(),
            _ => "%ERROR:101: no entries found\n".to_string(),
        },
        Role::Lir => match ip.and_then(network_of) {
            Some(net) if *net == CLIENT_NET => ripe_network(net, "LAB-LIR"),
            _ => "%ERROR:101: no entries found\n".to_string(),
        },
        Role::LoopA => format!("% lab loop\nrefer: {}\n", bare(LOOP_B.name)),
        Role::LoopB => format!("% lab loop\nrefer: {}\n", bare(LOOP_A.name)),
        _ => format!("No match for \"{}\".\n", query.to_ascii_uppercase()),
    }
}

fn iana(q: &str, ip: Option<IpAddr>, asn: Option<u32>) -> String {
    let head = "% IANA WHOIS server (sonde lab)\n% for more information on IANA, visit http://www.iana.org\n";
    if q == "test" || q.ends_with(".test") {
        let server = bare(REGISTRY.name);
        return format!(
            "{head}% This query returned 1 object\n\nrefer:        {server}\n\ndomain:       TEST\n\norganisation: Sonde Lab Registry\naddress:      Lab Street 1\n\nwhois:        {server}\n\nstatus:       ACTIVE\nremarks:      Registration information: https://registry.sonde.test\n\ncreated:      1999-06-01\nchanged:      2024-01-01\nsource:       IANA\n"
        );
    }
    let rir = bare(RIR.name);
    if let Some(ip) = ip {
        let block = match ip {
            IpAddr::V4(v4) if matches!(v4.octets()[0], 198 | 203) => {
                let a = v4.octets()[0];
                Some(format!("inetnum:      {a}.0.0.0 - {a}.255.255.255"))
            }
            IpAddr::V6(v6) if v6.segments()[..2] == [0x2001, 0xdb8] => {
                Some("inet6num:     2001:db8::/32".to_string())
            }
            _ => None,
        };
        if let Some(block) = block {
            return format!(
                "{head}% This query returned 1 object\n\nrefer:        {rir}\n\n{block}\norganisation: Lab RIR\nstatus:       ALLOCATED\n\nwhois:        {rir}\n\nchanged:      2020-01-01\nsource:       IANA\n"
            );
        }
    }
    if let Some(n) = asn.filter(|n| (64496..=64511).contains(n)) {
        return format!(
            "{head}% This query returned 1 object\n\nrefer:        {rir}\n\nas-block:     AS64496-AS64511\norganisation: Lab RIR\n\nwhois:        {rir}\nremarks:      AS{n} is in this block\nsource:       IANA\n"
        );
    }
    format!("{head}\n% This query returned 0 objects.\n")
}

fn registry() -> String {
    let [s1, s2] = WHOIS_STATUS;
    format!(
        "   Domain Name: {domain}\r\n   Registry Domain ID: {DOMAIN_HANDLE}\r\n   Registrar WHOIS Server: {registrar}\r\n   Registrar URL: https://registrar.sonde.test\r\n   Updated Date: {UPDATED}\r\n   Creation Date: {CREATED}\r\n   Registry Expiry Date: {EXPIRES}\r\n   Registrar: {REGISTRAR_NAME}\r\n   Registrar IANA ID: {REGISTRAR_IANA_ID}\r\n   Registrar Abuse Contact Email: {REGISTRAR_ABUSE_EMAIL}\r\n   Registrar Abuse Contact Phone: {REGISTRAR_ABUSE_PHONE}\r\n   Domain Status: {s1} https://icann.org/epp#{s1}\r\n   Domain Status: {s2} https://icann.org/epp#{s2}\r\n   Name Server: {ns}\r\n   DNSSEC: unsigned\r\n>>> Last update of whois database: {UPDATED} <<<\r\n\r\nNOTICE: lab data; every value is made up for sonde's tests.\r\n",
        domain = DOMAIN.to_ascii_uppercase(),
        registrar = bare(REGISTRAR.name),
        ns = NAMESERVER.to_ascii_uppercase(),
    )
}

fn registrar() -> String {
    format!(
        "Domain Name: {DOMAIN}\nRegistrar WHOIS Server: {server}\nRegistrar: {REGISTRAR_NAME}\nRegistrant Name: REDACTED FOR PRIVACY\nRegistrant Organization: {REGISTRANT}\nRegistrant Country: {REGISTRANT_COUNTRY}\nName Server: {NAMESERVER}\n\n",
        server = bare(REGISTRAR.name),
    )
}

fn ripe_network(net: &Network, source: &str) -> String {
    let object = if net.cidr.contains(':') {
        format!("inet6num:       {}", net.cidr)
    } else {
        format!("inetnum:        {} - {}", net.start, net.end)
    };
    format!(
        "% This is the {source} database (sonde lab).\n\n% Abuse contact for '{range}' is '{abuse}'\n\n{object}\nnetname:        {name}\ndescr:          {name} network\ncountry:        {country}\norg:            ORG-SL1-LAB\nstatus:         {status}\nremarks:        {remark}\ncreated:        {created}\nlast-modified:  {updated}\nsource:         {source}\n\norganisation:   ORG-SL1-LAB\norg-name:       {org}\n",
        range = net.cidr,
        abuse = net.abuse,
        name = net.name,
        country = net.country,
        status = net.status,
        remark = net.remark,
        created = net.created,
        updated = net.updated,
        org = net.org,
    )
}

fn arin_referral(net: &Network) -> String {
    format!(
        "NetRange:       198.51.0.0 - 198.51.255.255\nCIDR:           198.51.0.0/16\nNetName:        LAB-RIR-BLOCK\nNetHandle:      NET-198-51-0-0-LAB\nOrgName:        Lab RIR\nRegDate:        2019-01-01\nReferralServer: whois://{lir}\n\n# {cidr} is held by the LIR named above.\n",
        lir = bare(LIR.name),
        cidr = net.cidr,
    )
}

fn aut_num() -> String {
    format!(
        "% This is the LAB-RIR database (sonde lab).\n\n% Abuse contact for 'AS{ASN}' is 'abuse@rir.sonde.test'\n\naut-num:        AS{ASN}\nas-name:        {AS_NAME}\norg:            ORG-SL1-LAB\ncountry:        NL\ncreated:        2020-01-02T03:04:05Z\nlast-modified:  2024-05-06T07:08:09Z\nsource:         LAB-RIR\n\norganisation:   ORG-SL1-LAB\norg-name:       {AS_ORG}\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(role: Role, query: &str) -> String {
        String::from_utf8_lossy(&super::answer(role, query)).into_owned()
    }

    #[test]
    fn iana_refers_what_the_lab_holds() {
        assert!(
            answer(Role::Iana, "sonde.test").contains("refer:        whois.registry.sonde.test\n")
        );
        assert!(answer(Role::Iana, "203.0.113.10").contains("refer:        whois.rir.sonde.test\n"));
        assert!(answer(Role::Iana, "2001:db8:113::10").contains("inet6num:     2001:db8::/32"));
        assert!(answer(Role::Iana, "AS64500").contains("refer:        whois.rir.sonde.test\n"));
        assert!(answer(Role::Iana, "example.com").contains("0 objects"));
        assert!(answer(Role::Registry, "sonde.test")
            .contains("Registrar WHOIS Server: whois.registrar.sonde.test"));
        assert!(answer(Role::Registry, "other.test").starts_with("No match"));
        assert!(answer(Role::Rir, "198.51.100.10")
            .contains("ReferralServer: whois://whois.lir.sonde.test"));
        assert!(answer(Role::Lir, "198.51.100.10").contains("netname:        SONDE-LAB-CLIENTS"));
        assert!(answer(Role::Rir, "as64500").contains("aut-num:        AS64500"));
        assert!(answer(Role::LoopA, "x").contains("refer: whois.loop-b.sonde.test"));
    }
}
