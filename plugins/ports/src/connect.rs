//! The connect scan: full TCP connections with tokio, as many in flight as the open-file budget
//! allows, each waiting as long as its host's measured round trips say.
//!
//! Every `(address, port)` is a job in one queue that a fixed pool of workers drains, so
//! addresses are scanned together and no more sockets are open than workers. A port without
//! an answer goes back to the end of the queue until its retries are spent; open and closed
//! ports are never retried. When the stop time is near, what is left (queued retries and
//! probes the stop time cut short included) is counted as not reached: only a port whose
//! every probe waited its full timeout is filtered.

use std::collections::VecDeque;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{Notify, Semaphore};
use tokio::time::{sleep, sleep_until, Instant};

use crate::output::{Banner, HostScan};
use crate::portspec::PortSet;
use crate::rtt::Bounds;
use crate::tally::{banner_text, Host};

/// How a connect scan runs.
#[derive(Debug, Clone, Copy)]
pub struct Params {
    /// Timeout bounds.
    pub bounds: Bounds,
    /// Extra probes for a port without an answer.
    pub retries: u8,
    /// Most connections in flight at once.
    pub concurrency: usize,
    /// Banner grab: most bytes and longest wait, when asked for.
    pub banner: Option<(usize, Duration)>,
    /// No probe may still be waiting at this time.
    pub stop_at: Instant,
}

#[derive(Debug, Clone, Copy)]
struct Job {
    host: usize,
    port: u16,
    attempt: u8,
}

/// How one probe ended.
enum Answer {
    Open(Duration, Option<Banner>),
    Closed(Duration),
    /// No answer within the probe's timeout.
    Silent,
    /// The stop time came before the probe's timeout: no verdict.
    Cut,
    /// Connected to itself: the probe's own ephemeral port was the destination (TCP
    /// simultaneous open on a local address). Nothing listens there: closed.
    SelfConnected,
    /// The system cannot send to the address (no route to the network or host).
    Unreachable(io::Error),
    /// Out of descriptors or local ports: not the host's answer; try again shortly.
    Local,
}

struct Shared {
    hosts: Vec<Host>,
    queue: Mutex<VecDeque<Job>>,
    /// Jobs not finished yet (queued or in flight).
    pending: AtomicUsize,
    wake: Notify,
    /// Slots for probes in flight: [`START_SLOTS`] at first, one more for each probe still
    /// unanswered after the floor timeout, up to `concurrency`.
    slots: Semaphore,
    granted: AtomicUsize,
    params: Params,
}

/// Probes in flight at the start. Answering hosts are scanned fastest with a few hundred
/// sockets at once (more only adds kernel contention); each silent port adds a slot, so
/// a filtering host soon has thousands of probes waiting in parallel.
pub const START_SLOTS: usize = 512;

/// Scans `ports` on every address; results in the order of `addrs`.
pub async fn scan(addrs: &[IpAddr], ports: &PortSet, params: Params) -> Vec<HostScan> {
    let hosts: Vec<Host> = addrs
        .iter()
        .map(|ip| Host::new(*ip, params.bounds))
        .collect();
    // Interleave addresses so each gets its round trips measured early.
    let mut queue = VecDeque::with_capacity(ports.len() * addrs.len());
    for &port in ports.ports() {
        for host in 0..addrs.len() {
            queue.push_back(Job {
                host,
                port,
                attempt: 0,
            });
        }
    }
    let total = queue.len();
    let shared = Arc::new(Shared {
        hosts,
        queue: Mutex::new(queue),
        pending: AtomicUsize::new(total),
        wake: Notify::new(),
        slots: Semaphore::new(START_SLOTS.min(params.concurrency)),
        granted: AtomicUsize::new(START_SLOTS.min(params.concurrency)),
        params,
    });
    let workers = params.concurrency.clamp(1, total.max(1));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..workers {
        tasks.spawn(worker(shared.clone()));
    }
    while tasks.join_next().await.is_some() {}
    shared.hosts.iter().map(Host::finish).collect()
}

fn pop(shared: &Shared) -> Option<Job> {
    shared
        .queue
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .pop_front()
}

fn push(shared: &Shared, job: Job, front: bool) {
    let mut q = shared.queue.lock().unwrap_or_else(|p| p.into_inner());
    if front {
        q.push_front(job);
    } else {
        q.push_back(job);
    }
    drop(q);
    shared.wake.notify_one();
}

/// Whether one more slot may be granted (below `concurrency`).
fn grant(shared: &Shared) -> bool {
    shared
        .granted
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |g| {
            (g < shared.params.concurrency).then_some(g + 1)
        })
        .is_ok()
}

fn done(shared: &Shared) {
    if shared.pending.fetch_sub(1, Ordering::AcqRel) == 1 {
        shared.wake.notify_waiters();
    }
}

async fn worker(shared: Arc<Shared>) {
    let params = shared.params;
    loop {
        let Some(job) = pop(&shared) else {
            if shared.pending.load(Ordering::Acquire) == 0 {
                return;
            }
            // Others still wait for answers and may queue retries.
            let _ = tokio::time::timeout(Duration::from_millis(20), shared.wake.notified()).await;
            continue;
        };
        let host = &shared.hosts[job.host];
        let now = Instant::now();
        if now + params.bounds.floor.min(host.rtt.timeout()) >= params.stop_at {
            // Too late for any probe: settle this job and everything still queued at once.
            let mut left =
                std::mem::take(&mut *shared.queue.lock().unwrap_or_else(|p| p.into_inner()));
            left.push_front(job);
            // A queued retry has not had all its probes: it is no more filtered than a
            // port never probed.
            for job in &left {
                shared.hosts[job.host].not_reached(job.port);
            }
            if shared.pending.fetch_sub(left.len(), Ordering::AcqRel) == left.len() {
                shared.wake.notify_waiters();
            }
            continue;
        }
        let Ok(_slot) = shared.slots.acquire().await else {
            return;
        };
        if Instant::now() + params.bounds.floor.min(host.rtt.timeout()) >= params.stop_at {
            // The wait for a slot ran into the stop time: settle it with the rest.
            push(&shared, job, true);
            continue;
        }
        host.probe_sent();
        let answer = probe(&shared, host, job.port).await;
        match answer {
            Answer::Open(rtt, banner) => {
                host.open(job.port, rtt, banner);
                done(&shared);
            }
            Answer::Closed(rtt) => {
                host.closed(job.port, rtt);
                done(&shared);
            }
            Answer::Silent if job.attempt < params.retries => push(
                &shared,
                Job {
                    attempt: job.attempt + 1,
                    ..job
                },
                false,
            ),
            Answer::Silent => {
                host.filtered(job.port);
                done(&shared);
            }
            Answer::Cut => {
                host.not_reached(job.port);
                done(&shared);
            }
            Answer::SelfConnected => {
                host.closed_unsampled(job.port);
                done(&shared);
            }
            Answer::Unreachable(e) => {
                // The kernel's own verdict, not silence: retrying cannot change it.
                host.unreachable(job.port, &e);
                done(&shared);
            }
            Answer::Local => {
                // Give the system a moment to free descriptors or ports; not a probe.
                push(&shared, job, true);
                sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

fn socket_for(ip: IpAddr) -> io::Result<TcpSocket> {
    let socket = match ip {
        IpAddr::V4(_) => TcpSocket::new_v4()?,
        IpAddr::V6(_) => TcpSocket::new_v6()?,
    };
    Ok(socket)
}

/// Whether the system has no route to the destination (network or host unreachable).
fn is_unreachable(e: &io::Error) -> bool {
    const ENETUNREACH: i32 = 101;
    const EHOSTUNREACH: i32 = 113;
    matches!(e.raw_os_error(), Some(ENETUNREACH | EHOSTUNREACH))
}

fn is_local_shortage(e: &io::Error) -> bool {
    const EMFILE: i32 = 24;
    const ENFILE: i32 = 23;
    const ENOBUFS: i32 = 105;
    const EADDRNOTAVAIL: i32 = 99;
    matches!(
        e.raw_os_error(),
        Some(EMFILE | ENFILE | ENOBUFS | EADDRNOTAVAIL)
    )
}

async fn probe(shared: &Shared, host: &Host, port: u16) -> Answer {
    match socket_for(host.ip) {
        Ok(socket) => probe_on(shared, host, socket, port).await,
        Err(e) if is_local_shortage(&e) => Answer::Local,
        Err(e) => Answer::Unreachable(e),
    }
}

/// One probe of `port` from `socket`.
async fn probe_on(shared: &Shared, host: &Host, socket: TcpSocket, port: u16) -> Answer {
    let params = &shared.params;
    let start = Instant::now();
    let connect = socket.connect(SocketAddr::new(host.ip, port));
    tokio::pin!(connect);
    let mut slow = false;
    let result = loop {
        // The host's timeout is read again on each wake: answers to other probes may have
        // tightened (or widened) it since this probe left.
        // Wake at least every half floor, so a probe sent before the first answers learns
        // the measured timeout instead of sitting out the initial one.
        let limit = (start + host.rtt.timeout())
            .min(params.stop_at)
            .min(Instant::now() + params.bounds.floor / 2);
        tokio::select! {
            r = &mut connect => break Some(r),
            () = sleep_until(limit) => {
                let now = Instant::now();
                // A probe still waiting past the floor holds its slot without using the
                // machine: open one more, so silent ports are waited on in parallel.
                if !slow && now >= start + params.bounds.floor {
                    slow = true;
                    if grant(shared) {
                        shared.slots.add_permits(1);
                    }
                }
                if now >= (start + host.rtt.timeout()).min(params.stop_at) {
                    break None;
                }
            }
        }
    };
    let rtt = start.elapsed();
    match result {
        None if Instant::now() < start + host.rtt.timeout() => Answer::Cut,
        None => Answer::Silent,
        Some(Ok(stream)) if is_self_connect(&stream) => Answer::SelfConnected,
        Some(Ok(stream)) => {
            // An abortive close: no TIME_WAIT left behind for each open port, as scanners
            // do. Set only on connected sockets: one system call less for every other port.
            let _ = stream.set_zero_linger();
            let banner = match params.banner {
                Some((bytes, wait)) => Some(read_banner(stream, bytes, wait, params.stop_at).await),
                None => None,
            };
            Answer::Open(rtt, banner)
        }
        Some(Err(e)) => match e.kind() {
            io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionReset => {
                Answer::Closed(rtt)
            }
            _ if is_local_shortage(&e) => Answer::Local,
            _ if is_unreachable(&e) => Answer::Unreachable(e),
            _ => Answer::Silent,
        },
    }
}

/// Whether a connection's two ends are the same address and port: a local port probed by
/// a socket that the kernel happened to give that same port as its source.
fn is_self_connect(stream: &TcpStream) -> bool {
    matches!((stream.local_addr(), stream.peer_addr()), (Ok(l), Ok(p)) if l == p)
}

/// Reads what the server says first, up to `max` bytes or `wait`, whichever comes first.
async fn read_banner(
    mut stream: TcpStream,
    max: usize,
    wait: Duration,
    stop_at: Instant,
) -> Banner {
    let mut buf = vec![0u8; max];
    let mut len = 0;
    let until = (Instant::now() + wait).min(stop_at);
    while len < max {
        match tokio::time::timeout_at(until, stream.read(&mut buf[len..])).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(n)) => {
                len += n;
                // A line-based banner is complete at its first line end.
                if buf[..len].contains(&b'\n') {
                    break;
                }
            }
        }
    }
    banner_text(&buf[..len])
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    fn params(stop_in: Duration) -> Params {
        Params {
            bounds: Bounds {
                initial: Duration::from_millis(300),
                floor: Duration::from_millis(50),
                ceiling: Duration::from_millis(500),
            },
            retries: 1,
            concurrency: 64,
            banner: Some((64, Duration::from_millis(300))),
            stop_at: Instant::now() + stop_in,
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn loopback_open_and_closed_with_banner() {
        let speaker = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let silent = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let (p_speaker, p_silent) = (
            speaker.local_addr().expect("addr").port(),
            silent.local_addr().expect("addr").port(),
        );
        tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            while let Ok((mut s, _)) = speaker.accept().await {
                let _ = s.write_all(b"SSH-2.0-test\r\nmore").await;
            }
        });
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((s, _)) = silent.accept().await {
                held.push(s);
            }
        });
        // A port that was just free: closed (nothing listens on it).
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            l.local_addr().expect("addr").port()
        };
        let ports = PortSet::from_ports(vec![p_speaker, p_silent, closed]);
        let hosts = scan(
            &["127.0.0.1".parse().expect("ip")],
            &ports,
            params(Duration::from_secs(5)),
        )
        .await;
        let h = &hosts[0];
        assert_eq!(h.counts.open, 2, "{h:?}");
        assert_eq!(h.closed.ports(), &[closed]);
        assert!(h.filtered.is_empty() && h.not_reached.is_empty());
        let speaker = h.open.iter().find(|p| p.port == p_speaker).expect("open");
        assert_eq!(
            speaker.banner.as_ref().map(|b| b.text.as_str()),
            Some("SSH-2.0-test\\r\\nmore")
        );
        let silent = h.open.iter().find(|p| p.port == p_silent).expect("open");
        assert_eq!(silent.banner.as_ref().map(|b| b.bytes), Some(0));
        assert!(h.srtt_us.is_some());
        assert_eq!(h.probes, 3);
    }

    fn one_host(ip: IpAddr, params: Params) -> Shared {
        Shared {
            hosts: vec![Host::new(ip, params.bounds)],
            queue: Mutex::new(VecDeque::new()),
            pending: AtomicUsize::new(0),
            wake: Notify::new(),
            slots: Semaphore::new(1),
            granted: AtomicUsize::new(1),
            params,
        }
    }

    /// The audit's phantom open port: a probe whose ephemeral source port is the port it
    /// probes connects to itself (TCP simultaneous open). Here the source port is chosen so.
    #[tokio::test]
    async fn a_probe_connected_to_itself_is_closed_not_open() {
        let socket = TcpSocket::new_v4().expect("socket");
        socket
            .bind("127.0.0.1:0".parse().expect("addr"))
            .expect("bind");
        let port = socket.local_addr().expect("addr").port();
        let shared = one_host(
            "127.0.0.1".parse().expect("ip"),
            params(Duration::from_secs(5)),
        );
        let host = &shared.hosts[0];
        let answer = probe_on(&shared, host, socket, port).await;
        assert!(matches!(answer, Answer::SelfConnected), "port {port}");
    }

    #[test]
    fn no_route_is_unreachable_not_silence() {
        assert!(is_unreachable(&io::Error::from_raw_os_error(101)));
        assert!(is_unreachable(&io::Error::from_raw_os_error(113)));
        assert!(!is_unreachable(&io::Error::from_raw_os_error(110)));
    }

    /// A loopback port that never answers: a listener whose accept queue is full drops new
    /// SYNs, as a filtering firewall does.
    fn silent_port() -> (std::net::TcpListener, Vec<std::net::TcpStream>, u16) {
        let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)
            .expect("socket");
        let addr: SocketAddr = "127.0.0.1:0".parse().expect("addr");
        socket.bind(&addr.into()).expect("bind");
        socket.listen(0).expect("listen");
        let listener: std::net::TcpListener = socket.into();
        let to = listener.local_addr().expect("addr");
        let mut held = Vec::new();
        for _ in 0..8 {
            if let Ok(s) = std::net::TcpStream::connect_timeout(&to, Duration::from_millis(100)) {
                held.push(s);
            }
        }
        (listener, held, to.port())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn probes_cut_by_the_stop_time_are_not_reached_not_filtered() {
        let (_listener, _held, port) = silent_port();
        // One probe with a timeout longer than the time left: cut short, no verdict.
        let mut p = params(Duration::from_millis(400));
        p.retries = 0;
        p.bounds.initial = Duration::from_secs(2);
        p.bounds.ceiling = Duration::from_secs(2);
        let hosts = scan(
            &["127.0.0.1".parse().expect("ip")],
            &PortSet::from_ports(vec![port]),
            p,
        )
        .await;
        assert_eq!(hosts[0].not_reached.ports(), &[port], "{:?}", hosts[0]);
        assert!(hosts[0].filtered.is_empty());
        // A first probe times out in full, its retry is cut: still no verdict.
        let mut p = params(Duration::from_millis(450));
        p.retries = 2;
        let hosts = scan(
            &["127.0.0.1".parse().expect("ip")],
            &PortSet::from_ports(vec![port]),
            p,
        )
        .await;
        assert_eq!(hosts[0].not_reached.ports(), &[port], "{:?}", hosts[0]);
        assert!(hosts[0].filtered.is_empty());
        assert!(hosts[0].probes >= 2, "{:?}", hosts[0]);
        // With time for every retry, the same port is filtered.
        let mut p = params(Duration::from_secs(3));
        p.retries = 1;
        let hosts = scan(
            &["127.0.0.1".parse().expect("ip")],
            &PortSet::from_ports(vec![port]),
            p,
        )
        .await;
        assert_eq!(hosts[0].filtered.ports(), &[port], "{:?}", hosts[0]);
    }

    /// Scans `port`, a [`silent_port`], with a first probe that waits 600 ms while the
    /// listener's accept queue is emptied 300 ms in: the first SYN was dropped (and the
    /// kernel's own SYN retransmission comes only after a second), a second SYN would be
    /// answered.
    async fn scan_port_freed_during_the_first_probe(
        listener: &std::net::TcpListener,
        port: u16,
        retries: u8,
    ) -> HostScan {
        let mut p = params(Duration::from_secs(5));
        p.retries = retries;
        p.banner = None;
        p.bounds.initial = Duration::from_millis(600);
        p.bounds.ceiling = Duration::from_millis(600);
        let drain = listener.try_clone().expect("listener");
        drain.set_nonblocking(true).expect("nonblocking");
        let freeing = tokio::spawn(async move {
            sleep(Duration::from_millis(300)).await;
            let mut accepted = Vec::new();
            while let Ok((s, _)) = drain.accept() {
                accepted.push(s);
            }
            accepted
        });
        let hosts = scan(
            &["127.0.0.1".parse().expect("ip")],
            &PortSet::from_ports(vec![port]),
            p,
        )
        .await;
        assert!(
            !freeing.await.expect("drained").is_empty(),
            "queue was full"
        );
        hosts.into_iter().next().expect("one host")
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_port_that_answers_only_the_retry_is_open() {
        let (listener, _held, port) = silent_port();
        let h = scan_port_freed_during_the_first_probe(&listener, port, 1).await;
        assert_eq!(
            h.open.iter().map(|p| p.port).collect::<Vec<_>>(),
            [port],
            "{h:?}"
        );
        assert!(h.filtered.is_empty() && h.closed.is_empty(), "{h:?}");
        // The first probe went unanswered: the verdict is the retry's.
        assert_eq!(h.probes, 2, "{h:?}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn without_retries_the_same_port_is_filtered() {
        let (listener, _held, port) = silent_port();
        let h = scan_port_freed_during_the_first_probe(&listener, port, 0).await;
        assert_eq!(h.filtered.ports(), &[port], "{h:?}");
        assert!(h.open.is_empty(), "{h:?}");
        assert_eq!(h.probes, 1, "{h:?}");
    }

    #[tokio::test]
    async fn a_stop_time_already_past_reaches_nothing() {
        let ports = PortSet::from_ports(vec![1, 2, 3]);
        let hosts = scan(
            &["127.0.0.1".parse().expect("ip")],
            &ports,
            params(Duration::ZERO),
        )
        .await;
        assert_eq!(hosts[0].counts.not_reached, 3);
        assert_eq!(hosts[0].probes, 0);
    }
}
