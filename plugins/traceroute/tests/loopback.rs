//! Traces to 127.0.0.1 through the collector's own entry point: what a trace leaves behind
//! at the destination (accepted connections) and in this process (open sockets).
//!
//! The tests share this process's descriptor table, so they run one at a time.

use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, TcpListener, UdpSocket};
use std::sync::Mutex;
use std::time::Duration;

use sonde_net::{Access, Rung};
use sonde_traceroute::{run, EndReason, ProbeMethod, TracerouteConfig, TracerouteOutput};
use tokio::time::Instant;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn access(rung: Rung) -> Access {
    Access {
        rung,
        reason: format!("{rung} set by the test"),
    }
}

fn config(method: ProbeMethod) -> TracerouteConfig {
    TracerouteConfig {
        method,
        ptr: false,
        wait: Duration::from_millis(300),
        ..TracerouteConfig::default()
    }
}

async fn trace(config: &TracerouteConfig, rung: Rung) -> TracerouteOutput {
    let deadline = Instant::now() + Duration::from_secs(10);
    run(config, &access(rung), &[LOOPBACK], None, deadline).await
}

/// Connections the listener accepted (it is non-blocking).
fn accepted(listener: &TcpListener) -> usize {
    let mut n = 0;
    loop {
        match listener.accept() {
            Ok(_) => n += 1,
            Err(e) if e.kind() == ErrorKind::WouldBlock => return n,
            Err(e) => panic!("accept: {e}"),
        }
    }
}

/// The runtime sonde runs collectors on.
fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn open_descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .count()
}

fn has_raw_sockets() -> bool {
    let raw = Access::detect(Rung::Raw, "test").rung == Rung::Raw;
    if !raw {
        eprintln!("SKIPPED: raw sockets need root or CAP_NET_RAW");
    }
    raw
}

fn listener() -> (TcpListener, u16) {
    let listener = TcpListener::bind((LOOPBACK, 0)).expect("bind");
    listener.set_nonblocking(true).expect("non-blocking");
    let port = listener.local_addr().expect("addr").port();
    (listener, port)
}

/// Raw SYNs: the kernel resets every SYN-ACK, so the listener accepts nothing.
#[test]
fn a_tcp_trace_with_raw_sockets_opens_no_connection() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    if !has_raw_sockets() {
        return;
    }
    current_thread().block_on(async {
        let (listener, port) = listener();
        let config = TracerouteConfig {
            tcp_port: port,
            ..config(ProbeMethod::Tcp)
        };
        let out = trace(&config, Rung::Raw).await;
        let t = &out.traces[0];
        assert_eq!(t.end.reason, EndReason::Reached, "{out:#?}");
        assert_eq!(t.hops.len(), 1, "nothing past the destination: {out:#?}");
        assert_eq!(t.hops[0].received, 3, "{out:#?}");
        assert_eq!(t.hops[0].probes[0].detail.as_deref(), Some("open"));
        assert!(out.method.paris, "one flow: {:?}", out.method);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(
            accepted(&listener),
            0,
            "connections accepted during the trace"
        );
    });
}

/// Kernel connects: every probe that reaches the destination is a connection, so the
/// number is bounded by the probes sent up to the destination, not by max-hops.
#[test]
fn a_tcp_trace_without_raw_sockets_stops_at_the_destination() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    current_thread().block_on(async {
        let (listener, port) = listener();
        let config = TracerouteConfig {
            tcp_port: port,
            ..config(ProbeMethod::Tcp)
        };
        let out = trace(&config, Rung::Unprivileged).await;
        let t = &out.traces[0];
        assert_eq!(t.end.reason, EndReason::Reached, "{out:#?}");
        assert_eq!(t.hops[0].received, 3, "{out:#?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
        let n = accepted(&listener);
        eprintln!("{n} connections accepted");
        assert!(
            n <= 2 * usize::from(config.probes),
            "{n} connections for {} probes per hop (max-hops {})",
            config.probes,
            config.max_hops
        );
    });
}

/// UDP probes that nobody answers (a bound socket that never replies) wait in tasks of
/// their own; none of them, nor its socket, outlives the trace.
#[test]
fn unanswered_udp_probes_leave_no_socket_open() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    current_thread().block_on(async {
        let silent = UdpSocket::bind((LOOPBACK, 0)).expect("bind");
        let config = TracerouteConfig {
            port: silent.local_addr().expect("addr").port(),
            max_hops: 4,
            probes: 2,
            wait: Duration::from_millis(100),
            ..config(ProbeMethod::Udp)
        };
        let before = open_descriptors();
        let out = trace(&config, Rung::Unprivileged).await;
        let after = open_descriptors();
        assert_eq!(out.traces[0].end.reason, EndReason::Timeout, "{out:#?}");
        assert_eq!(out.traces[0].hops.iter().map(|h| h.sent).sum::<u32>(), 8);
        assert_eq!(after, before, "sockets left open by the trace");
    });
}
