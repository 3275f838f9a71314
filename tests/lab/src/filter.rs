//! Packet filters of the hosts that misbehave on purpose, as nftables rulesets loaded into
//! their namespaces: the noecho host drops ICMP echo requests, the noudp host drops every UDP
//! datagram, and the silent router never sends ICMP time exceeded. Rules live in the lab's
//! namespaces only; the machine's own tables are never touched.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::topology::Role;
use crate::LabError;

/// The nftables ruleset of a role, if it has one.
pub fn ruleset(role: Role) -> Option<&'static str> {
    match role {
        Role::NoEcho => Some(
            "table inet sonde_lab {\n  chain input {\n    type filter hook input priority 0; policy accept;\n    icmp type echo-request drop\n    icmpv6 type echo-request drop\n  }\n}\n",
        ),
        Role::NoUdp => Some(
            "table inet sonde_lab {\n  chain input {\n    type filter hook input priority 0; policy accept;\n    meta l4proto udp drop\n  }\n}\n",
        ),
        // Errors the router itself sends leave through the output hook; forwarded ICMP (other
        // routers' errors on their way back) goes through forward and passes.
        Role::Silent => Some(
            "table inet sonde_lab {\n  chain output {\n    type filter hook output priority 0; policy accept;\n    icmp type time-exceeded drop\n    icmpv6 type time-exceeded drop\n  }\n}\n",
        ),
        _ => None,
    }
}

/// Loads `ruleset` into namespace `ns` with `nft -f -`.
pub(crate) fn load(ns: &str, ruleset: &str) -> Result<(), LabError> {
    let mut child = Command::new("ip")
        .args(["netns", "exec", ns, "nft", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| LabError::io("cannot run `ip netns exec .. nft`", e))?;
    let mut stdin = child.stdin.take().expect("stdin is piped");
    stdin
        .write_all(ruleset.as_bytes())
        .map_err(|e| LabError::io("cannot write to `nft -f -`", e))?;
    drop(stdin);
    let output = child
        .wait_with_output()
        .map_err(|e| LabError::io("cannot run `nft`", e))?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr).trim().to_owned();
    Err(LabError::Command {
        command: format!("ip netns exec {ns} nft -f - (install nftables)"),
        stderr,
    })
}
