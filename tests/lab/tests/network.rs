//! The lab's network: namespaces, routes through the three routers, resolv.conf, teardown.

mod common;

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::Path;
use std::time::Duration;

use sonde_lab::{addr, netns, require_root_or_skip, zone, Lab, Role};

#[test]
fn client_reaches_target_over_tcp_on_both_families() {
    require_root_or_skip!();
    let lab = Lab::start().unwrap();
    for (target, client) in [
        (IpAddr::V4(addr::TARGET_V4), IpAddr::V4(addr::CLIENT_V4)),
        (IpAddr::V6(addr::TARGET_V6), IpAddr::V6(addr::CLIENT_V6)),
    ] {
        let server = SocketAddr::new(target, 8080);
        // Sockets stay in the namespace they were made in, whichever thread uses them later.
        let listener = lab
            .run_in(Role::Target, move || TcpListener::bind(server))
            .unwrap()
            .unwrap();
        let mut stream = lab
            .run_in(Role::Client, move || {
                TcpStream::connect_timeout(&server, Duration::from_secs(2))
            })
            .unwrap()
            .unwrap();
        stream.write_all(b"hello").unwrap();
        let (mut accepted, peer) = listener.accept().unwrap();
        assert_eq!(
            peer.ip(),
            client,
            "the target sees the client's own address"
        );
        let mut buf = [0u8; 5];
        accepted.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"hello");
    }
}

#[test]
fn exactly_three_routers_sit_between_client_and_target() {
    require_root_or_skip!();
    let lab = Lab::start().unwrap();
    for (target, unspecified) in [
        (
            IpAddr::V4(addr::TARGET_V4),
            IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        ),
        (
            IpAddr::V6(addr::TARGET_V6),
            IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        ),
    ] {
        let server = SocketAddr::new(target, 7000);
        let receiver = lab
            .run_in(Role::Target, move || UdpSocket::bind(server))
            .unwrap()
            .unwrap();
        receiver
            .set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        let sender = lab
            .run_in(Role::Client, move || UdpSocket::bind((unspecified, 0)))
            .unwrap()
            .unwrap();
        // Each router decrements the TTL: with 3 the packet dies at r3, with 4 it arrives.
        for hops in [3, 4] {
            set_hop_limit(&sender, target, hops);
            sender
                .send_to(format!("{hops}").as_bytes(), server)
                .unwrap();
        }
        let mut buf = [0u8; 8];
        let (len, _) = receiver.recv_from(&mut buf).unwrap();
        assert_eq!(
            &buf[..len],
            b"4",
            "{target}: only the 4-hop datagram arrives"
        );
        assert!(
            receiver.recv_from(&mut buf).is_err(),
            "{target}: the 3-hop datagram must die at r3"
        );
    }
}

fn set_hop_limit(socket: &UdpSocket, target: IpAddr, hops: u32) {
    use nix::sys::socket::{setsockopt, sockopt};
    match target {
        IpAddr::V4(_) => socket.set_ttl(hops).unwrap(),
        IpAddr::V6(_) => setsockopt(socket, sockopt::Ipv6Ttl, &(hops as i32)).unwrap(),
    }
}

#[test]
fn routers_forward_and_the_root_namespace_is_untouched() {
    require_root_or_skip!();
    let read = |path: &str| std::fs::read_to_string(path).unwrap();
    let root_before = (
        read("/proc/sys/net/ipv4/ip_forward"),
        read("/proc/sys/net/ipv6/conf/all/forwarding"),
    );
    let lab = Lab::start().unwrap();
    for role in [Role::R1, Role::R2, Role::R3, Role::Client, Role::Target] {
        let out = lab
            .exec(
                role,
                "cat",
                &[
                    "/proc/sys/net/ipv4/ip_forward",
                    "/proc/sys/net/ipv6/conf/all/forwarding",
                ],
            )
            .unwrap();
        let expected = if role.is_router() { "1\n1\n" } else { "0\n0\n" };
        assert_eq!(String::from_utf8_lossy(&out.stdout), expected, "{role}");
    }
    let root_after = (
        read("/proc/sys/net/ipv4/ip_forward"),
        read("/proc/sys/net/ipv6/conf/all/forwarding"),
    );
    assert_eq!(root_before, root_after);
}

#[test]
fn the_client_resolves_through_the_lab_dns_server() {
    require_root_or_skip!();
    let lab = Lab::start().unwrap();
    let out = lab
        .exec(Role::Client, "cat", &["/etc/resolv.conf"])
        .unwrap();
    let resolv = String::from_utf8_lossy(&out.stdout);
    assert!(resolv.contains("nameserver 203.0.113.53"), "{resolv}");
    assert!(resolv.contains("nameserver 2001:db8:53::53"), "{resolv}");
    assert!(!resolv.contains("10.255.255.53"), "{resolv}");
    let hosts = lab.exec(Role::Client, "cat", &["/etc/hosts"]).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&hosts.stdout),
        sonde_lab::HOSTS_FILE
    );
    if Path::new("/etc/nsswitch.conf").exists() {
        let out = lab
            .exec(Role::Client, "cat", &["/etc/nsswitch.conf"])
            .unwrap();
        let nsswitch = String::from_utf8_lossy(&out.stdout);
        let hosts: Vec<&str> = nsswitch
            .lines()
            .filter(|l| l.starts_with("hosts:"))
            .collect();
        assert_eq!(hosts, ["hosts: files dns"], "{nsswitch}");
    }
    // glibc in the client namespace asks the lab's server and gets the lab's answer.
    let out = lab
        .exec(Role::Client, "getent", &["ahostsv4", zone::TARGET_NAME])
        .unwrap();
    let hosts = String::from_utf8_lossy(&out.stdout);
    assert!(hosts.contains(&addr::TARGET_V4.to_string()), "{hosts}");
}

#[test]
fn teardown_leaves_nothing_behind() {
    require_root_or_skip!();
    let lab = Lab::start().unwrap();
    let names: Vec<String> = lab.namespaces().map(|(_, ns)| ns.to_owned()).collect();
    assert_eq!(names.len(), Role::ALL.len());
    for ns in &names {
        assert!(Path::new("/run/netns").join(ns).exists(), "{ns} built");
        assert!(Path::new("/etc/netns")
            .join(ns)
            .join("resolv.conf")
            .exists());
    }
    let prefix = lab.prefix().to_owned();
    drop(lab);
    for ns in &names {
        assert!(
            !Path::new("/run/netns").join(ns).exists(),
            "{ns} left behind"
        );
        assert!(
            !Path::new("/etc/netns").join(ns).exists(),
            "/etc/netns/{ns} left behind"
        );
    }
    let list = std::process::Command::new("ip")
        .args(["netns", "list"])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&list.stdout).contains(&prefix));
}

#[test]
fn a_crashed_run_is_cleaned_up_on_start() {
    require_root_or_skip!();
    // A pid above pid_max can never be alive: this lab's owner is surely gone.
    let pid_max: u64 = std::fs::read_to_string("/proc/sys/kernel/pid_max")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let stale = format!("sl{}x0-client", pid_max + 1);
    let status = std::process::Command::new("ip")
        .args(["netns", "add", &stale])
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::create_dir_all(Path::new("/etc/netns").join(&stale)).unwrap();

    let _lab = Lab::start().unwrap();
    assert!(!Path::new("/run/netns").join(&stale).exists());
    assert!(!Path::new("/etc/netns").join(&stale).exists());
    assert!(
        netns::clean_stale().unwrap().is_empty(),
        "live labs are kept"
    );
}

#[test]
fn labs_build_in_parallel_and_quickly() {
    require_root_or_skip!();
    let labs: Vec<Lab> = std::thread::scope(|s| {
        let jobs: Vec<_> = (0..3).map(|_| s.spawn(|| Lab::start().unwrap())).collect();
        jobs.into_iter().map(|j| j.join().unwrap()).collect()
    });
    let mut prefixes: Vec<&str> = labs.iter().map(Lab::prefix).collect();
    prefixes.sort_unstable();
    prefixes.dedup();
    assert_eq!(prefixes.len(), 3);
    for lab in &labs {
        eprintln!("lab {} built in {:?}", lab.prefix(), lab.build_time());
        assert!(
            lab.build_time() < Duration::from_secs(2),
            "{:?}",
            lab.build_time()
        );
        let answer = common::ask_udp(lab, zone::TARGET_NAME, hickory_proto::rr::RecordType::A);
        assert_eq!(answer.answers.len(), 1);
    }
}

#[test]
fn sonde_lab_up_serves_until_sigterm_then_tears_down() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};

    use nix::sys::signal::{kill, Signal};
    use nix::unistd::Pid;

    /// Stops the lab process even when an assertion fails, so it never outlives the test.
    struct Stop(std::process::Child);
    impl Drop for Stop {
        fn drop(&mut self) {
            // Only a child not yet reaped: its pid cannot have been reused.
            if let Ok(None) = self.0.try_wait() {
                let _ = kill(Pid::from_raw(self.0.id() as i32), Signal::SIGTERM);
                let _ = self.0.wait();
            }
        }
    }

    require_root_or_skip!();
    let mut child = Stop(
        Command::new(env!("CARGO_BIN_EXE_sonde-lab"))
            .args(["up", "--slow-delay", "100ms"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let child = &mut child.0;
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let done = line.starts_with("serving");
        printed.push(line);
        if done {
            break;
        }
    }
    let printed = printed.join("\n");
    let prefix = format!("sl{}x0-", child.id());
    for role in Role::ALL {
        let ns = format!("{prefix}{}", role.name());
        assert!(printed.contains(&ns), "{printed}");
        assert!(Path::new("/run/netns").join(&ns).exists(), "{ns}");
    }
    assert!(printed.contains("203.0.113.53"), "{printed}");

    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    assert!(child.wait().unwrap().success());
    for role in Role::ALL {
        let ns = format!("{prefix}{}", role.name());
        assert!(
            !Path::new("/run/netns").join(&ns).exists(),
            "{ns} left behind"
        );
    }
}
