//! [`Lab`]: one running instance of the lab, built from a [`Topology`] and torn down on drop.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::pki::Pki;
use crate::server::ServerHandle;
use crate::topology::{Role, Topology};
use crate::zone::{Zone, ZoneOptions};
use crate::{dns, filter, netns, ports, registry, LabError};

/// Counts the labs this process has built, to give each a unique namespace prefix.
static LAB_COUNTER: AtomicU32 = AtomicU32::new(0);

/// Sysctls every lab namespace gets. DAD is off so addresses are usable at once; ICMP errors
/// are not rate limited so traceroute through the routers sees every hop: neither per peer
/// (`ratelimit`) nor by the namespace-wide token bucket (`icmp_msgs_per_sec`, 50 at once),
/// which an empty `ratemask` exempts every ICMP type from; a benchmark's back-to-back traces
/// would otherwise meet it.
const HOST_SYSCTLS: [(&str, &str); 6] = [
    ("net/ipv6/conf/all/accept_dad", "0"),
    ("net/ipv6/conf/default/accept_dad", "0"),
    ("net/ipv4/icmp_ratelimit", "0"),
    ("net/ipv6/icmp/ratelimit", "0"),
    ("net/ipv4/icmp_ratemask", "0"),
    ("net/ipv6/icmp/ratemask", "\n"),
];
/// Sysctls routers get on top of [`HOST_SYSCTLS`].
const ROUTER_SYSCTLS: [(&str, &str); 2] = [
    ("net/ipv4/ip_forward", "1"),
    ("net/ipv6/conf/all/forwarding", "1"),
];

/// The /etc/hosts of every lab namespace: localhost only, so names resolve through the lab's
/// DNS server whatever the machine's /etc/hosts says.
pub const HOSTS_FILE: &str =
    "# written by sonde-lab\n127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n";

/// Settings of a lab before it is built. [`Lab::start`] uses the defaults.
#[derive(Debug, Clone, Default)]
pub struct LabBuilder {
    zone: ZoneOptions,
}

impl LabBuilder {
    /// How long the DNS server takes to answer [`crate::zone::SLOW_NAME`] (default 2 s).
    pub fn slow_delay(mut self, delay: Duration) -> Self {
        self.zone.slow_delay = delay;
        self
    }

    /// Builds the lab: namespaces, links, addresses, routes, resolv.conf, servers. Labs a
    /// crashed earlier run left behind are deleted first.
    pub fn start(self) -> Result<Lab, LabError> {
        let started = Instant::now();
        netns::check_available()?;
        // A lab that cannot clean an old one can still be built beside it.
        let _ = netns::clean_stale();
        let topology = Topology::standard();
        let prefix = netns::lab_prefix(
            std::process::id(),
            LAB_COUNTER.fetch_add(1, Ordering::Relaxed),
        );
        let namespaces: BTreeMap<Role, String> = topology
            .roles()
            .into_iter()
            .map(|role| (role, format!("{prefix}{}", role.name())))
            .collect();
        let zone = Arc::new(Zone::for_topology(&topology, self.zone));
        // From here on, Drop undoes whatever part was built.
        let mut lab = Lab {
            prefix,
            topology,
            zone,
            namespaces,
            servers: Vec::new(),
            build_time: Duration::ZERO,
            pki: Arc::new(Pki::generate()?),
            firewall: None,
        };
        lab.build()?;
        lab.build_time = started.elapsed();
        Ok(lab)
    }
}

/// A running lab: hosts in network namespaces, routers between them, servers on them.
///
/// Everything is removed when the lab is dropped: servers stopped, namespaces deleted, their
/// /etc/netns folders removed. Labs are independent: tests may build several at once.
#[derive(Debug)]
pub struct Lab {
    prefix: String,
    topology: Topology,
    zone: Arc<Zone>,
    namespaces: BTreeMap<Role, String>,
    servers: Vec<ServerHandle>,
    build_time: Duration,
    pki: Arc<Pki>,
    firewall: Option<String>,
}

impl Lab {
    /// Builds a lab with the default settings. Fails with [`LabError::Unavailable`] when not
    /// root or without network namespaces.
    pub fn start() -> Result<Lab, LabError> {
        LabBuilder::default().start()
    }

    /// Settings for a lab to build.
    pub fn builder() -> LabBuilder {
        LabBuilder::default()
    }

    fn build(&mut self) -> Result<(), LabError> {
        let names: Vec<String> = self.namespaces.values().cloned().collect();
        netns::add_all(&names)?;
        self.set_sysctls()?;
        netns::ip_batch(None, &self.link_script())?;
        self.for_each_namespace(|role, ns| netns::ip_batch(Some(ns), &self.address_script(role)))?;
        // Routes only once every link is up at both ends, so each gateway is reachable.
        self.for_each_namespace(|role, ns| netns::ip_batch(Some(ns), &self.route_script(role)))?;
        self.for_each_namespace(|role, ns| match filter::ruleset(role) {
            Some(rules) => filter::load(ns, rules),
            None => Ok(()),
        })?;
        self.write_etc_files()?;
        let dns_addrs = self.addresses(Role::Dns);
        let server = dns::server::start(self.namespace(Role::Dns), self.zone.clone(), dns_addrs)?;
        self.servers.push(server);
        let target = self.addresses(Role::Target);
        let (server, firewall) = ports::start(self.namespace(Role::Target), target, &self.pki)?;
        self.servers.push(server);
        self.firewall = firewall;
        self.start_registries()
    }

    /// The WHOIS and RDAP servers, on addresses of their own on the `dns` host's link.
    fn start_registries(&mut self) -> Result<(), LabError> {
        let link = self.topology.links_of(Role::Dns).next().ok_or_else(|| {
            LabError::io("the lab has no dns link", io::ErrorKind::NotFound.into())
        })?;
        let peer = link.peer_of(Role::Dns).map(|p| p.role).unwrap_or(Role::R3);
        let script =
            registry::address_script(&interface_to(peer), link.v4_prefix_len, link.v6_prefix_len);
        netns::ip_batch(Some(self.namespace(Role::Dns)), &script)?;
        let servers = registry::start(self.namespace(Role::Dns), &self.pki)?;
        self.servers.extend(servers);
        Ok(())
    }

    /// The certificates the target's TLS servers present ([`crate::ports`]).
    pub fn pki(&self) -> &Pki {
        &self.pki
    }

    /// Why the target's [`ports::FILTERED`] ports are not filtered (no `nft` command), if so.
    pub fn firewall_error(&self) -> Option<&str> {
        self.firewall.as_deref()
    }

    fn set_sysctls(&self) -> Result<(), LabError> {
        self.for_each_namespace(|role, ns| {
            let mut sysctls = HOST_SYSCTLS.to_vec();
            if role.is_router() {
                sysctls.extend(ROUTER_SYSCTLS);
            }
            netns::set_sysctls(ns, sysctls)
        })
    }

    /// Runs `job` for every namespace, all at once, each on its own thread.
    fn for_each_namespace(
        &self,
        job: impl Fn(Role, &str) -> Result<(), LabError> + Sync,
    ) -> Result<(), LabError> {
        std::thread::scope(|scope| {
            let job = &job;
            let jobs: Vec<_> = self
                .namespaces
                .iter()
                .map(|(role, ns)| scope.spawn(move || job(*role, ns)))
                .collect();
            jobs.into_iter()
                .try_for_each(|j| j.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
        })
    }

    /// The veth pairs, created straight into their namespaces (never in the root namespace).
    fn link_script(&self) -> String {
        let mut script = String::new();
        for link in &self.topology.links {
            let [a, b] = link.ends;
            let _ = writeln!(
                script,
                "link add {} netns {} type veth peer name {} netns {}",
                interface_to(b.role),
                self.namespace(a.role),
                interface_to(a.role),
                self.namespace(b.role),
            );
        }
        script
    }

    fn address_script(&self, role: Role) -> String {
        let mut script = String::from("link set lo up\n");
        for link in self.topology.links_of(role) {
            let end = link.end(role).expect("own link");
            let peer = link.peer_of(role).expect("own link");
            let dev = interface_to(peer.role);
            let _ = writeln!(script, "link set {dev} up");
            let _ = writeln!(
                script,
                "addr add {}/{} dev {dev}",
                end.v4, link.v4_prefix_len
            );
            let _ = writeln!(
                script,
                "addr add {}/{} dev {dev} nodad",
                end.v6, link.v6_prefix_len
            );
        }
        script
    }

    fn route_script(&self, role: Role) -> String {
        let mut script = String::new();
        for route in self.topology.routes(role) {
            let (dest, len) = route.destination;
            let _ = writeln!(script, "route add {dest}/{len} via {}", route.via);
        }
        script
    }

    /// Every lab namespace resolves through the lab's DNS server only, so `ip netns exec` of
    /// any tool never asks the machine's resolver: a resolv.conf naming the lab server, a hosts
    /// file with only localhost ([`HOSTS_FILE`], so answers do not depend on the machine), and,
    /// when the machine has an nsswitch.conf, a copy whose `hosts:` line is `files dns` (no
    /// systemd-resolved or mDNS module, which would reach the machine's resolver over a unix
    /// socket).
    fn write_etc_files(&self) -> Result<(), LabError> {
        let mut files = vec![
            ("resolv.conf", self.resolv_conf()),
            ("hosts", HOSTS_FILE.to_owned()),
        ];
        if let Ok(nsswitch) = std::fs::read_to_string("/etc/nsswitch.conf") {
            files.push(("nsswitch.conf", lab_nsswitch(&nsswitch)));
        }
        for ns in self.namespaces.values() {
            let dir = netns::etc_dir(ns);
            std::fs::create_dir_all(&dir)
                .map_err(|e| LabError::io(format!("cannot create {}", dir.display()), e))?;
            for (name, text) in &files {
                let path = dir.join(name);
                std::fs::write(&path, text)
                    .map_err(|e| LabError::io(format!("cannot write {}", path.display()), e))?;
            }
        }
        Ok(())
    }

    /// The resolv.conf of every lab namespace.
    pub fn resolv_conf(&self) -> String {
        let mut text = String::from("# written by sonde-lab\n");
        for ip in self.addresses(Role::Dns) {
            let _ = writeln!(text, "nameserver {ip}");
        }
        text.push_str("options timeout:1 attempts:2\n");
        text
    }

    /// The namespace of a role, e.g. `sl1234x0-client`.
    ///
    /// # Panics
    /// If the role is not part of this lab's topology.
    pub fn namespace(&self, role: Role) -> &str {
        self.namespaces
            .get(&role)
            .unwrap_or_else(|| panic!("the lab has no {role} host"))
    }

    /// The client's namespace: where sonde runs.
    pub fn client_ns(&self) -> &str {
        self.namespace(Role::Client)
    }

    /// Every `(role, namespace)` of the lab.
    pub fn namespaces(&self) -> impl Iterator<Item = (Role, &str)> {
        self.namespaces.iter().map(|(r, n)| (*r, n.as_str()))
    }

    /// The prefix shared by this lab's namespace names (`sl<pid>x<n>-`).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The hosts and links this lab was built from.
    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    /// What the lab's DNS server serves.
    pub fn zone(&self) -> &Zone {
        &self.zone
    }

    /// The host's main address (IPv4; see [`Topology::v4`]).
    pub fn address(&self, role: Role) -> IpAddr {
        IpAddr::V4(self.ipv4(role))
    }

    /// The host's main IPv4 address.
    pub fn ipv4(&self, role: Role) -> Ipv4Addr {
        self.topology
            .v4(role)
            .unwrap_or_else(|| panic!("the lab has no {role} host"))
    }

    /// The host's main IPv6 address.
    pub fn ipv6(&self, role: Role) -> Ipv6Addr {
        self.topology
            .v6(role)
            .unwrap_or_else(|| panic!("the lab has no {role} host"))
    }

    /// Every address of the host, IPv4 and IPv6 of each of its links.
    pub fn addresses(&self, role: Role) -> Vec<IpAddr> {
        self.topology
            .links_of(role)
            .filter_map(|l| l.end(role))
            .flat_map(|e| [IpAddr::V4(e.v4), IpAddr::V6(e.v6)])
            .collect()
    }

    /// The DNS server's IPv4 address (the first `nameserver` of the lab's resolv.conf).
    pub fn dns_server(&self) -> IpAddr {
        self.address(Role::Dns)
    }

    /// The lab CA's certificate (PEM): trust it to reach the lab's HTTPS servers
    /// ([`registry::RDAP`]). A new CA is made for every lab.
    pub fn ca_pem(&self) -> String {
        self.pki.ca_pem().to_string()
    }

    /// How long [`LabBuilder::start`] took.
    pub fn build_time(&self) -> Duration {
        self.build_time
    }

    /// A command that runs `program` inside the role's namespace (`ip netns exec NS program`),
    /// with the lab's resolv.conf. Add arguments, environment and stdio as usual.
    pub fn command(&self, role: Role, program: &str) -> Command {
        let mut command = Command::new("ip");
        command
            .args(["netns", "exec", self.namespace(role)])
            .arg(program);
        command
    }

    /// Runs `program args` inside the role's namespace and waits for it.
    pub fn exec(&self, role: Role, program: &str, args: &[&str]) -> io::Result<Output> {
        self.command(role, program).args(args).output()
    }

    /// Runs `f` on a thread inside the role's namespace: sockets it opens belong to that host.
    pub fn run_in<T, F>(&self, role: Role, f: F) -> Result<T, LabError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        netns::in_namespace(self.namespace(role), f)
    }

    /// Stops the servers and deletes the namespaces now, reporting failure (drop does the
    /// same silently).
    pub fn stop(mut self) -> Result<(), LabError> {
        self.teardown()
    }

    fn teardown(&mut self) -> Result<(), LabError> {
        // Servers first: their threads hold the namespaces and their sockets.
        self.servers.clear();
        let names: Vec<String> = self.namespaces.values().cloned().collect();
        let result = netns::delete_all(&names);
        self.namespaces.clear();
        result
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if let Err(e) = self.teardown() {
            eprintln!("sonde-lab: teardown of {}*: {e}", self.prefix);
        }
    }
}

/// The machine's nsswitch.conf with the `hosts:` line replaced by `files dns`.
fn lab_nsswitch(machine: &str) -> String {
    let mut text = String::from("# written by sonde-lab: the machine's, with hosts: files dns\n");
    for line in machine.lines() {
        if line.trim_start().starts_with("hosts:") {
            text.push_str("hosts: files dns\n");
        } else {
            text.push_str(line);
            text.push('\n');
        }
    }
    text
}

/// The name of the interface facing `peer` (`eth-r1`): unique within a namespace as long as two
/// hosts share at most one link.
fn interface_to(peer: Role) -> String {
    format!("eth-{}", peer.name())
}
