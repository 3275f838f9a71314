//! The hop-asn collector: the origin AS of every hop traceroute found, as `mtr -z` shows it.
//!
//! It runs after traceroute and asks for every hop address at once, through the same batch
//! lookup as the asn collector ([`AsnLookup`]) and with the same settings (its table takes
//! the keys of `[collectors.asn]`), so a path reads as a sequence of networks: the access
//! provider, the transit, the destination's host.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sonde_core::{Context, Failure, Spec, Tone, TypedCollector, View};
use sonde_dns::Resolver;
use sonde_traceroute::TracerouteOutput;
use tokio::time::Instant;

use crate::output::{AddressAsn, AutonomousSystem, Status};
use crate::{batch, prepare, unanswered, AsnConfig, Prepared};

/// The collector's name, also its report section's.
pub const NAME: &str = "hop-asn";

/// One address that answered at a hop, and what the lookup found for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct HopAddressAsn {
    /// The address's PTR name, as traceroute found it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The lookup's answer (the address, its status, its origins).
    #[serde(flatten)]
    pub asn: AddressAsn,
}

/// One hop of a trace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct HopAsn {
    /// The hop's TTL.
    pub ttl: u8,
    /// The addresses that answered at this TTL; none for a silent hop.
    pub addresses: Vec<HopAddressAsn>,
}

/// The hops of one trace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TraceAsn {
    /// The address traced to.
    pub destination: IpAddr,
    /// Every hop traceroute reported, silent ones included, by TTL.
    pub hops: Vec<HopAsn>,
}

/// The hop-asn collector's section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct HopAsnOutput {
    /// Per trace, in traceroute's order.
    pub traces: Vec<TraceAsn>,
    /// Every AS met on the paths, by number.
    pub systems: Vec<AutonomousSystem>,
    /// Things worth a look (an unreadable database...).
    #[serde(default)]
    pub warnings: Vec<String>,
    /// Whole collection time, in milliseconds.
    pub elapsed_ms: u64,
}

/// The hop-asn collector.
#[derive(Debug, Clone, Copy, Default)]
pub struct HopAsnCollector;

sonde_core::register_builtin!(HopAsnCollector);

#[async_trait::async_trait]
impl TypedCollector for HopAsnCollector {
    type Config = AsnConfig;
    type Output = HopAsnOutput;

    fn spec(&self) -> Spec {
        Spec::new(
            NAME,
            "the origin AS and AS name of every traceroute hop, as mtr -z shows them",
        )
        .needs([sonde_dns::NAME, sonde_traceroute::NAME])
        .timeout(Duration::from_secs(5))
    }

    fn check(&self, config: &AsnConfig) -> Result<(), String> {
        config.check()
    }

    async fn collect(&self, config: &AsnConfig, ctx: &Context) -> Result<HopAsnOutput, Failure> {
        let dns = sonde_dns::section(ctx)?;
        let trace = ctx
            .section::<TracerouteOutput>(sonde_traceroute::NAME)
            .ok_or_else(|| Failure::failed("the traceroute section is missing"))?;
        let ips: Vec<IpAddr> = trace
            .traces
            .iter()
            .flat_map(|t| &t.hops)
            .flat_map(|h| h.addresses.iter().map(|a| a.ip))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if ips.is_empty() {
            return Err(Failure::skipped("no hop answered the traceroute"));
        }
        let started = Instant::now();
        let Prepared {
            lookup, warnings, ..
        } = prepare(config, Resolver::from_info(&dns.resolver), ctx)?;
        let answers = batch(&lookup, &ips, ctx).await?;
        let traces = trace
            .traces
            .iter()
            .map(|t| TraceAsn {
                destination: t.destination,
                hops: t
                    .hops
                    .iter()
                    .map(|h| HopAsn {
                        ttl: h.ttl,
                        addresses: h
                            .addresses
                            .iter()
                            .filter_map(|a| {
                                Some(HopAddressAsn {
                                    name: a.name.clone(),
                                    asn: answers.address(a.ip)?.clone(),
                                })
                            })
                            .collect(),
                    })
                    .collect(),
            })
            .collect();
        let output = HopAsnOutput {
            traces,
            systems: answers.systems.clone(),
            warnings,
            elapsed_ms: started.elapsed().as_millis() as u64,
        };
        match unanswered(&answers.addresses) {
            None => Ok(output),
            Some(error) => Err(Failure::partial(error, output)),
        }
    }

    fn view(&self, output: &HopAsnOutput) -> View {
        render(output)
    }
}

/// Describes a hop-asn section for people: per trace, one row per answering address.
pub fn render(out: &HopAsnOutput) -> View {
    let mut view = View::new();
    for trace in &out.traces {
        let mut rows = Vec::new();
        for hop in &trace.hops {
            if hop.addresses.is_empty() {
                rows.push(vec![
                    hop.ttl.to_string(),
                    "*".into(),
                    String::new(),
                    String::new(),
                    String::new(),
                    "no answer".into(),
                ]);
            }
            for (i, address) in hop.addresses.iter().enumerate() {
                let ttl = if i == 0 {
                    hop.ttl.to_string()
                } else {
                    String::new()
                };
                rows.push(row(ttl, address));
            }
        }
        let inner = if rows.is_empty() {
            View::new().toned("hops", "none answered", Tone::Dim)
        } else {
            View::new().table(["hop", "address", "name", "AS", "prefix", "AS name"], rows)
        };
        view = view.group(format!("to {}", trace.destination), inner);
    }
    for w in &out.warnings {
        view = view.note(w.clone(), Tone::Warn);
    }
    view
}

/// A table row: TTL (blank for a hop's second address), address, name, AS, prefix, AS name.
fn row(ttl: String, address: &HopAddressAsn) -> Vec<String> {
    let a = &address.asn;
    let (asn, prefix, as_name) = match (a.status, a.origins.split_first()) {
        (Status::Announced, Some((origin, more))) => {
            let others: String = more.iter().map(|o| format!(" AS{}", o.asn)).collect();
            (
                format!("AS{}{others}", origin.asn),
                origin.prefix.to_string(),
                origin.as_name.clone().unwrap_or_default(),
            )
        }
        (Status::NotAnnounced, _) | (Status::Announced, None) => {
            ("-".into(), String::new(), "not announced".into())
        }
        (Status::Local, _) => (
            "-".into(),
            String::new(),
            a.range
                .map(|r| r.describe())
                .unwrap_or("a local address")
                .to_string(),
        ),
        (Status::Error, _) => (
            "?".into(),
            String::new(),
            format!("error: {}", a.detail.as_deref().unwrap_or("no answer")),
        ),
    };
    vec![
        ttl,
        a.ip.to_string(),
        address.name.clone().unwrap_or_default(),
        asn,
        prefix,
        as_name,
    ]
}

#[cfg(test)]
mod tests {
    use sonde_core::{Item, SpecialRange};

    use super::*;
    use crate::output::Origin;

    fn address(ip: &str, status: Status) -> AddressAsn {
        AddressAsn {
            ip: ip.parse().unwrap(),
            status,
            origins: Vec::new(),
            source: None,
            query: None,
            range: None,
            detail: None,
        }
    }

    fn hop(ttl: u8, name: Option<&str>, asn: Option<AddressAsn>) -> HopAsn {
        HopAsn {
            ttl,
            addresses: asn
                .into_iter()
                .map(|asn| HopAddressAsn {
                    name: name.map(String::from),
                    asn,
                })
                .collect(),
        }
    }

    #[test]
    fn every_status_and_silent_hops_have_a_row() {
        let mut announced = address("192.0.2.1", Status::Announced);
        for asn in [64500, 64501] {
            announced.origins.push(Origin {
                asn,
                prefix: "192.0.2.0/24".parse().unwrap(),
                country: None,
                registry: None,
                allocated: None,
                as_name: (asn == 64500).then(|| "EXAMPLE - Example B.V., NL".to_string()),
            });
        }
        let mut local = address("10.0.0.1", Status::Local);
        local.range = Some(SpecialRange::Private);
        let mut error = address("192.0.2.9", Status::Error);
        error.detail = Some("no answer in time".into());
        let out = HopAsnOutput {
            traces: vec![TraceAsn {
                destination: "192.0.2.1".parse().unwrap(),
                hops: vec![
                    hop(1, Some("gw.example"), Some(local)),
                    hop(2, None, None),
                    hop(3, None, Some(address("192.0.2.5", Status::NotAnnounced))),
                    hop(4, None, Some(error)),
                    hop(5, Some("www.example"), Some(announced)),
                ],
            }],
            systems: Vec::new(),
            warnings: vec!["the database was not used".into()],
            elapsed_ms: 1,
        };
        let view = render(&out);
        let Item::Group { title, items } = &view.items[0] else {
            panic!("{view:?}")
        };
        assert_eq!(title, "to 192.0.2.1");
        let Item::Table { headers, rows } = &items[0] else {
            panic!("{items:?}")
        };
        assert_eq!(
            headers,
            &["hop", "address", "name", "AS", "prefix", "AS name"]
        );
        let want: [[&str; 6]; 5] = [
            [
                "1",
                "10.0.0.1",
                "gw.example",
                "-",
                "",
                SpecialRange::Private.describe(),
            ],
            ["2", "*", "", "", "", "no answer"],
            ["3", "192.0.2.5", "", "-", "", "not announced"],
            ["4", "192.0.2.9", "", "?", "", "error: no answer in time"],
            [
                "5",
                "192.0.2.1",
                "www.example",
                "AS64500 AS64501",
                "192.0.2.0/24",
                "EXAMPLE - Example B.V., NL",
            ],
        ];
        assert_eq!(rows, &want.map(|r| r.map(String::from).to_vec()).to_vec());
        assert!(
            matches!(&view.items[1], Item::Note { text, tone: Tone::Warn } if text == "the database was not used")
        );
    }
}
