//! Every parser of bytes from the network, fed random bytes and random mutations of real
//! answers: none may panic, and what they return must hold together (referred servers
//! parse as servers, CIDR blocks parse as blocks). A deterministic generator keeps failures
//! reproducible.

use sonde_whois::net::Cidr;
use sonde_whois::rdap::{bootstrap::Bootstrap, parse};
use sonde_whois::whois::{parse_server, text};
use sonde_whois::{Query, QueryKind};

/// xorshift64*: small, deterministic, good enough to shake parsers.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const WHOIS_SAMPLE: &str = "refer: whois.registry.test\nDomain Name: EXAMPLE.TEST\nRegistrar WHOIS Server: whois://whois.registrar.test:4343/\nCreation Date: 2001-02-03\nDomain Status: ok https://icann.org/epp#ok\nName Server: NS1.EXAMPLE.TEST 192.0.2.1\ninetnum: 192.0.2.0 - 192.0.2.255\nCIDR: 192.0.2.0/24, 2001:db8::/32\n% Abuse contact for 'x' is 'abuse@example.test'\nReferralServer: rwhois://r.test:4321\n";

const RDAP_SAMPLE: &str = r#"{"objectClassName":"ip network","handle":"H","startAddress":"192.0.2.0","endAddress":"192.0.2.255","cidr0_cidrs":[{"v4prefix":"192.0.2.0","length":24}],"entities":[{"roles":["abuse"],"vcardArray":["vcard",[["email",{},"text","a@b.test"],["adr",{"cc":"NL"},"text",["","","","","","",""]]]],"entities":[{"roles":["registrar"]}]}],"events":[{"eventAction":"registration","eventDate":"2001"}],"links":[{"rel":"related","href":"https://r.test/x","type":"application/rdap+json"}],"remarks":[{"title":"t","description":["d"]}]}"#;

const BOOTSTRAP_SAMPLE: &str = r#"{"publication":"2030-01-01T00:00:00Z","services":[[["test","sub.test"],["https://a.test/"]],[["192.0.2.0/24"],["http://b.test/","https://b.test/"]],[["64496-64511","1"],["https://c.test/"]]]}"#;

fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut bytes = seed.to_vec();
    for _ in 0..=rng.below(8) {
        if bytes.is_empty() {
            bytes.push(rng.next() as u8);
            continue;
        }
        let i = rng.below(bytes.len());
        match rng.below(5) {
            0 => bytes[i] = rng.next() as u8,
            1 => {
                bytes.remove(i);
            }
            2 => {
                let symbols = b"{}[]\":,\n\r/-.%";
                bytes.insert(i, symbols[rng.below(symbols.len())]);
            }
            3 => bytes.truncate(i),
            _ => {
                let j = rng.below(bytes.len());
                let chunk: Vec<u8> = bytes[i.min(j)..i.max(j)].to_vec();
                bytes.splice(i..i, chunk);
            }
        }
    }
    bytes
}

fn random(rng: &mut Rng) -> Vec<u8> {
    (0..rng.below(300)).map(|_| rng.next() as u8).collect()
}

#[test]
fn whois_text_parsers_never_panic_and_stay_consistent() {
    let mut rng = Rng(0x5eed_0001);
    for round in 0..4000 {
        let bytes = if round % 3 == 0 {
            random(&mut rng)
        } else {
            mutate(&mut rng, WHOIS_SAMPLE.as_bytes())
        };
        let text = String::from_utf8_lossy(&bytes);
        if let Some(referral) = text::find_referral(&text) {
            assert!(
                parse_server(&referral.server).is_ok(),
                "{referral:?} from {text:?}"
            );
        }
        for kind in [
            QueryKind::Domain,
            QueryKind::Ipv4,
            QueryKind::Ipv6,
            QueryKind::Asn,
        ] {
            let record = text::parse_record(&text, kind);
            for block in &record.cidr {
                assert!(Cidr::parse(block).is_some(), "{block} from {text:?}");
            }
        }
    }
}

#[test]
fn rdap_and_bootstrap_parsers_never_panic_and_stay_consistent() {
    let mut rng = Rng(0x5eed_0002);
    let queries = [
        Query::Domain("a.sub.test".into()),
        Query::Ip("192.0.2.7".parse().expect("ip")),
        Query::Ip("2001:db8::1".parse().expect("ip")),
        Query::Asn(64500),
    ];
    for round in 0..4000 {
        let rdap = if round % 3 == 0 {
            random(&mut rng)
        } else {
            mutate(&mut rng, RDAP_SAMPLE.as_bytes())
        };
        if let Ok(json) = serde_json::from_slice::<serde_json::Value>(&rdap) {
            if let Ok(object) = parse::parse_object(&json) {
                for block in &object.cidr {
                    assert!(Cidr::parse(block).is_some(), "{block}");
                }
                if let Some(link) = &object.related {
                    assert!(link.starts_with("https://"), "{link}");
                }
                for kind in [QueryKind::Domain, QueryKind::Ipv4] {
                    let _ = parse::record(&object, kind);
                }
            }
        }
        let boot = mutate(&mut rng, BOOTSTRAP_SAMPLE.as_bytes());
        if let Ok(b) = Bootstrap::parse(&boot) {
            for q in &queries {
                if let Some(urls) = b.find(q) {
                    assert!(!urls.is_empty());
                    assert!(urls.iter().all(|u| u.starts_with("http")), "{urls:?}");
                }
            }
        }
    }
}
