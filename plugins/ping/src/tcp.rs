//! TCP connect timing: the bottom rung, for a process that may open no ICMP
//! socket. A SYN-ACK or a RST both prove the host answered; the time to
//! either is the round trip (plus the kernel's connect handling, which is
//! microseconds).

use std::future::Future;
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
    ping_with(address, ports, count, interval, stop_at, |to| {
        connect(to, wait)
    })
    .await
}

/// [`ping`] with the connect to time given, so the schedule can be tested.
async fn ping_with<F, Fut>(
    address: IpAddr,
    ports: &[u16],
    count: u16,
    interval: Duration,
    stop_at: Instant,
    connect: F,
) -> PingTarget
where
    F: Fn(SocketAddr) -> Fut,
    Fut: Future<Output = Fate>,
{
    // The port search: every result stays with the port it came from.
    let mut tried: Vec<(u16, Instant, Fate)> = Vec::new();
    for &port in ports {
        let at = Instant::now();
        let fate = connect(SocketAddr::new(address, port)).await;
        let answered = matches!(fate, Fate::Reply { .. });
        tried.push((port, at, fate));
        if answered {
            break;
        }
    }
    let searched = Instant::now();
    // The port that answered, else the first: probe 0 is that port's own
    // result, and the other ports' results are notes.
    let kept = tried
        .iter()
        .position(|(_, _, fate)| matches!(fate, Fate::Reply { .. }));
    let mut notes = Vec::new();
    if kept.is_none() {
        notes.extend(
            tried
                .iter()
                .skip(1)
                .map(|(port, _, fate)| format!("port {port}: {}", fate.short())),
        );
    }
    let Some((port, first_at, first)) = tried.into_iter().nth(kept.unwrap_or(0)) else {
        return PingTarget::failed(address, "no TCP port to connect to".into());
    };
    let target = SocketAddr::new(address, port);
    // The other probes keep `interval` from probe 0 and from the end of the
    // search (which may have waited for several ports), so they never burst.
    let base = searched.max(first_at + interval);
    let rest = (1..count).filter_map(|i| {
        let at = base + interval * u32::from(i - 1);
        let connect = &connect;
        (at < stop_at).then_some(async move {
            sleep_until(at).await;
            connect(target).await
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

    /// No port answers: probe 0 is the first port's own result, not the last port's.
    #[tokio::test]
    async fn each_port_keeps_its_own_result() {
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        let far = Instant::now() + Duration::from_secs(10);
        let t = ping_with(
            ip,
            &[443, 80],
            2,
            Duration::from_millis(1),
            far,
            |to| async move {
                match to.port() {
                    443 => Fate::Timeout,
                    _ => Fate::Error {
                        message: "no route".into(),
                    },
                }
            },
        )
        .await;
        assert_eq!(t.port, Some(443));
        assert_eq!(t.probes[0].fate, Fate::Timeout, "443's result under 443");
        assert_eq!(t.probes[1].fate, Fate::Timeout, "later probes go to 443");
        assert_eq!(t.notes, ["port 80: error: no route"]);
    }

    /// A slow port search (here 120 ms) does not make the later probes leave at once.
    #[tokio::test]
    async fn probes_after_a_slow_search_keep_their_interval() {
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        let far = Instant::now() + Duration::from_secs(10);
        let calls = std::sync::Mutex::new(Vec::new());
        let interval = Duration::from_millis(30);
        let t = ping_with(ip, &[443, 80], 4, interval, far, |to| {
            calls.lock().unwrap().push((to.port(), Instant::now()));
            async move {
                if to.port() == 443 {
                    tokio::time::sleep(Duration::from_millis(120)).await;
                    return Fate::Timeout;
                }
                Fate::Reply {
                    rtt_ms: 0.1,
                    ttl: None,
                    detail: Some("open".into()),
                }
            }
        })
        .await;
        assert_eq!((t.port, t.sent, t.received), (Some(80), 4, 4));
        let calls = calls.into_inner().unwrap();
        let ports: Vec<u16> = calls.iter().map(|c| c.0).collect();
        assert_eq!(ports, [443, 80, 80, 80, 80]);
        for pair in calls[1..].windows(2) {
            let gap = pair[1].1 - pair[0].1;
            assert!(gap >= interval - Duration::from_millis(2), "{gap:?} apart");
        }
    }

    #[test]
    fn unreachable_errors_are_named() {
        let e = io::Error::from_raw_os_error(113);
        assert!(
            matches!(fate_of_error(&e, 1.0), Fate::Unreachable { reason, .. } if reason == "host unreachable")
        );
    }
}
