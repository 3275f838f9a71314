//! TCP connect timing: the bottom rung, for a process that may open no ICMP
//! socket. A SYN-ACK or a RST both prove the host answered; the time to
//! either is the round trip (plus the kernel's connect handling, which is
//! microseconds).

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use futures_util::future::join_all;
use tokio::net::TcpStream;
use tokio::time::{sleep_until, timeout, Instant};

use crate::output::{round3, Fate, PingTarget, Probe};

/// Times `count` connects to `address`, `interval` apart. The first probe
/// picks the port: each of `ports` in turn until one answers; the rest use
/// that port.
pub async fn ping(
    address: IpAddr,
    ports: &[u16],
    count: u16,
    interval: Duration,
    wait: Duration,
    stop_at: Instant,
) -> PingTarget {
    let mut notes = Vec::new();
    let start = Instant::now();
    let mut port = ports.first().copied().unwrap_or(443);
    let mut first = Fate::Timeout;
    for &candidate in ports {
        port = candidate;
        first = connect(SocketAddr::new(address, candidate), wait).await;
        if matches!(first, Fate::Reply { .. }) {
            break;
        }
        notes.push(format!("port {candidate}: {}", first.short()));
    }
    if !matches!(first, Fate::Reply { .. }) {
        // No port answered: report the first one's fate, time the first port.
        port = ports.first().copied().unwrap_or(port);
    } else {
        notes.clear();
    }
    let target = SocketAddr::new(address, port);
    let rest = (1..count).filter_map(|i| {
        let at = start + interval * u32::from(i);
        (at < stop_at).then_some(async move {
            sleep_until(at).await;
            connect(target, wait).await
        })
    });
    let mut fates = vec![first];
    fates.extend(join_all(rest).await);
    if fates.len() < usize::from(count) {
        notes.push(format!(
            "stopped after {} of {count} probes: the collector's time was up",
            fates.len()
        ));
    }
    let probes = fates
        .into_iter()
        .enumerate()
        .map(|(seq, fate)| Probe {
            seq: seq as u16,
            fate,
        })
        .collect();
    let mut result = PingTarget::from_probes(address, probes, 0);
    result.port = Some(port);
    result.notes = notes;
    result
}

/// One timed connect.
async fn connect(to: SocketAddr, wait: Duration) -> Fate {
    let started = Instant::now();
    let result = timeout(wait, TcpStream::connect(to)).await;
    let rtt_ms = round3(started.elapsed().as_secs_f64() * 1000.0);
    match result {
        Err(_) => Fate::Timeout,
        Ok(Ok(_stream)) => Fate::Reply {
            rtt_ms,
            ttl: None,
            detail: Some("open".into()),
        },
        Ok(Err(e)) => fate_of_error(&e, rtt_ms),
    }
}

fn fate_of_error(e: &io::Error, rtt_ms: f64) -> Fate {
    const EHOSTUNREACH: i32 = 113;
    const ENETUNREACH: i32 = 101;
    match (e.kind(), e.raw_os_error()) {
        (io::ErrorKind::ConnectionRefused, _) => Fate::Reply {
            rtt_ms,
            ttl: None,
            detail: Some("refused".into()),
        },
        (_, Some(EHOSTUNREACH)) => Fate::Unreachable {
            code: None,
            reason: "host unreachable".into(),
            from: None,
        },
        (_, Some(ENETUNREACH)) => Fate::Unreachable {
            code: None,
            reason: "network unreachable".into(),
            from: None,
        },
        _ => Fate::Error {
            message: e.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_refused_port_is_an_answer_and_an_open_one_too() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let open = listener.local_addr().unwrap().port();
        // A port nobody listens on: bind, read the number, close.
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let far = Instant::now() + Duration::from_secs(10);
        let t = ping(
            ip,
            &[closed, open],
            3,
            Duration::from_millis(5),
            Duration::from_secs(1),
            far,
        )
        .await;
        assert_eq!(
            t.port,
            Some(closed),
            "a RST answers: the first port is kept"
        );
        assert_eq!((t.sent, t.received), (3, 3));
        assert!(matches!(&t.probes[0].fate, Fate::Reply { detail: Some(d), .. } if d == "refused"));
        let t = ping(
            ip,
            &[open],
            2,
            Duration::from_millis(5),
            Duration::from_secs(1),
            far,
        )
        .await;
        assert!(matches!(&t.probes[1].fate, Fate::Reply { detail: Some(d), .. } if d == "open"));
        assert!(t.rtt.is_some());
    }

    #[test]
    fn unreachable_errors_are_named() {
        let e = io::Error::from_raw_os_error(113);
        assert!(
            matches!(fate_of_error(&e, 1.0), Fate::Unreachable { reason, .. } if reason == "host unreachable")
        );
    }
}
