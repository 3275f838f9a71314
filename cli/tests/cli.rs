//! The real `sonde` binary: help text, text report, JSON, exit codes.
//! Nothing here sends a packet: the profiles used answer from a fixed hosts
//! file, and the resolver they name is never asked.

use std::path::PathBuf;
use std::process::{Command, Output};

fn sonde(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sonde"))
        .args(args)
        .env("COLUMNS", "100")
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .env("SONDE_CONFIG_DIR", scratch("no-config"))
        .env("SONDE_DATA_DIR", scratch("no-data"))
        // No geo or ASN database from the machine: the reports must not
        // depend on what the user has installed.
        .env_remove("SONDE_GEO_DB")
        .env_remove("SONDE_ASN_DB")
        .env("XDG_DATA_HOME", scratch("no-data"))
        .output()
        .expect("sonde runs")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sonde-cli-test-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// A profile that answers `localhost` from a fixed hosts file and names a
/// resolver on a closed loopback port, so the output is the same everywhere.
fn offline_profile(tag: &str) -> String {
    let dir = scratch(&format!("offline-{tag}"));
    let hosts = dir.join("hosts");
    std::fs::write(&hosts, "127.0.0.1 localhost\n::1 localhost ip6-localhost\n").expect("hosts");
    let profile = dir.join("offline.toml");
    std::fs::write(
        &profile,
        format!(
            "name = \"offline\"\ndescription = \"answers from a fixed hosts file\"\nextends = \"default\"\n\n[collectors.dns]\nhosts-file = \"{}\"\nnameservers = [\"127.0.0.1:9\"]\n\n[collectors.ping]\nenabled = false\n\n[collectors.traceroute]\nenabled = false\n",
            hosts.display()
        ),
    )
    .expect("profile");
    profile.display().to_string()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Replaces what changes from run to run (timings, dates) with placeholders.
fn redact(text: &str) -> String {
    text.split_inclusive('\n')
        .map(|line| {
            let mut out = String::new();
            let mut words = line.split(' ').peekable();
            while let Some(w) = words.next() {
                let is_ms = words.peek().is_some_and(|n| n.starts_with("ms"));
                if is_ms && w.parse::<f64>().is_ok() {
                    out.push('N');
                } else if w.len() >= 20 && w.starts_with("20") && w.contains('T') {
                    out.push_str("TIMESTAMP");
                    out.push_str(&w[w.trim_end().len()..]);
                } else {
                    out.push_str(w);
                }
                if words.peek().is_some() {
                    out.push(' ');
                }
            }
            out
        })
        .collect()
}

#[test]
fn help_teaches() {
    let o = sonde(&["--help"]);
    assert_eq!(o.status.code(), Some(0));
    insta::assert_snapshot!("help", stdout(&o));
}

#[test]
fn text_report_of_localhost() {
    let profile = offline_profile("text");
    let o = sonde(&["localhost", "--profile", &profile]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let dir = scratch("offline-text").display().to_string();
    insta::assert_snapshot!("localhost_text", redact(&stdout(&o)).replace(&dir, "$DIR"));
    assert_eq!(
        stderr(&o),
        "",
        "no progress line when stderr is not a terminal"
    );
}

#[test]
fn json_report_of_localhost() {
    let profile = offline_profile("json");
    let o = sonde(&["localhost", "--profile", &profile, "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(report["schema_version"], 1);
    assert_eq!(report["profile"], "offline");
    assert_eq!(report["mode_no_agent"], true);
    assert_eq!(
        report["target"]["host"],
        serde_json::json!({"kind": "name", "value": "localhost"})
    );
    assert_eq!(report["collectors"]["dns"]["outcome"]["status"], "ok");
    let addresses: Vec<&str> = report["sections"]["dns"]["addresses"]
        .as_array()
        .expect("addresses")
        .iter()
        .map(|a| a["ip"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(addresses, ["127.0.0.1", "::1"]);
    assert_eq!(report["errors"], serde_json::json!({}));
}

#[test]
fn debug_prints_a_timeline() {
    let profile = offline_profile("debug");
    let o = sonde(&["localhost", "--profile", &profile, "--debug"]);
    let out = stdout(&o);
    assert!(out.contains("timeline (0 to"), "{out}");
    assert!(
        out.lines()
            .any(|l| l.trim_start().starts_with("dns") && l.contains('█') && l.ends_with("ok")),
        "{out}"
    );
}

/// Logs written to a pipe carry no colour codes, even without NO_COLOR.
#[test]
fn verbose_logs_to_a_pipe_are_plain_text() {
    let profile = offline_profile("verbose");
    let o = Command::new(env!("CARGO_BIN_EXE_sonde"))
        .args(["localhost", "--profile", &profile, "-v"])
        .env_remove("NO_COLOR")
        .env_remove("RUST_LOG")
        .env("SONDE_CONFIG_DIR", scratch("no-config"))
        .env("SONDE_DATA_DIR", scratch("no-data"))
        .output()
        .expect("sonde runs");
    let err = stderr(&o);
    assert!(err.contains("dns"), "no log of the dns span: {err}");
    assert!(!err.contains('\x1b'), "colour codes in a pipe: {err:?}");
}

#[test]
fn exit_codes() {
    let profile = offline_profile("exit");
    let bad_profile = scratch("bad").join("bad.toml");
    std::fs::write(&bad_profile, "[collectors.dsn]\n").expect("write");
    let bad_profile = bad_profile.display().to_string();
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        (vec!["--version"], 0, ""),
        (vec!["localhost", "--profile", &profile], 0, ""),
        (vec!["exa mple.com"], 64, "sonde: invalid target `exa mple.com`: the target contains white space\n"),
        (vec!["example.com:443"], 64, "sonde: invalid target `example.com:443`: a port is only accepted inside a URL (for example https://example.com:443/); give the host alone or a full URL\n"),
        (vec![], 64, "sonde: no target given; try `sonde example.com`, or `sonde --help`\n"),
        (vec!["localhost", "--timeout", "soon"], 64, "sonde: --timeout: `soon` is not a duration (expected number at 0); write e.g. \"3s\" or \"500ms\"\n"),
        (vec!["localhost", "--timeout", "9223372036854775000s"], 64, "sonde: --timeout: `9223372036854775000s` is longer than the limit of 24h\n"),
        (vec!["localhost", "--profile", "nosuch"], 64, "sonde: the profile has 1 problem:\n  command line: no profile named `nosuch`; known profiles: default, full, quick\n"),
        (vec!["localhost", "--profile", &bad_profile], 64, ""),
        (vec!["nothing.invalid", "--profile", &profile], 2, "sonde: DNS resolution failed: no address for nothing.invalid: .invalid names never exist (RFC 6761 §6.4); no query was sent\n"),
    ];
    for (args, code, err) in cases {
        let o = sonde(&args);
        assert_eq!(o.status.code(), Some(code), "{args:?}: {}", stderr(&o));
        if !err.is_empty() {
            assert_eq!(stderr(&o), err, "{args:?}");
        }
        assert!(!stderr(&o).contains("panicked"), "{args:?}");
    }
    let o = sonde(&["--no-such-flag"]);
    assert_eq!(o.status.code(), Some(64));
}

#[test]
fn critical_failure_still_prints_the_partial_report() {
    let profile = offline_profile("critical");
    let o = sonde(&["nothing.invalid", "--profile", &profile, "--json"]);
    assert_eq!(o.status.code(), Some(2));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(report["collectors"]["dns"]["outcome"]["status"], "failed");
    assert!(report["errors"]["dns"]
        .as_str()
        .unwrap_or_default()
        .contains(".invalid names never exist"));
}

#[test]
fn plan_text_and_dot() {
    let o = sonde(&["plan", "example.com"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(
        stdout(&o).starts_with("profile default: "),
        "{}",
        stdout(&o)
    );
    let o = sonde(&["plan", "example.com", "--dot"]);
    assert!(stdout(&o).starts_with("digraph sonde {"));
    let o = sonde(&["plan", "bad host"]);
    assert_eq!(o.status.code(), Some(64));
}

#[test]
fn profiles_commands() {
    let o = sonde(&["profiles", "list"]);
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    for name in ["default", "quick", "full"] {
        assert!(out.lines().any(|l| l.starts_with(name)), "{out}");
    }
    let o = sonde(&["profiles", "show", "quick", "--resolved"]);
    let out = stdout(&o);
    assert!(
        out.starts_with(
            "# merged from: built-in profile \"default\" <- built-in profile \"quick\"\n"
        ),
        "{out}"
    );
    // Only the base profile has this table; quick's own timeout wins.
    assert!(
        out.contains("\n[collectors.traceroute]\ntimeout = \"8s\"\n"),
        "{out}"
    );
    assert!(out.contains("\ntimeout = \"5s\"\n"), "{out}");
    assert!(!out.contains("extends"), "{out}");
    let o = sonde(&["profiles", "validate", "default"]);
    assert_eq!(
        stdout(&o),
        "default: valid (6 collectors: dns, asn, geo, ping, traceroute, whois)\n"
    );
    let lone = scratch("lone").join("lone.toml");
    std::fs::write(&lone, "name = \"lone\"\n[collectors.dns]\n").expect("write");
    let lone = lone.display().to_string();
    let o = sonde(&["profiles", "validate", &lone]);
    assert_eq!(stdout(&o), format!("{lone}: valid (1 collector: dns)\n"));
}

#[test]
fn user_profiles_override_builtins() {
    let dir = scratch("user-config");
    std::fs::create_dir_all(dir.join("profiles")).expect("dir");
    std::fs::write(
        dir.join("profiles/quick.toml"),
        "name = \"quick\"\ndescription = \"mine\"\n[collectors.dns]\n",
    )
    .expect("write");
    let o = Command::new(env!("CARGO_BIN_EXE_sonde"))
        .args(["profiles", "list"])
        .env("SONDE_CONFIG_DIR", &dir)
        .env("SONDE_DATA_DIR", scratch("no-data"))
        .output()
        .expect("runs");
    let out = stdout(&o);
    assert!(
        out.lines().any(|l| l.starts_with("quick")
            && l.contains("mine")
            && l.contains("overrides the built-in")),
        "{out}"
    );
}

#[test]
fn collectors_list_names_every_builtin() {
    let o = sonde(&["collectors", "list"]);
    let out = stdout(&o);
    let names: Vec<&str> = out
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(
        names,
        [
            "asn",
            "dns",
            "geo",
            "hop-asn",
            "ping",
            "ports",
            "tls",
            "traceroute",
            "whois"
        ]
    );
}

/// docs/report.schema.json is what `sonde schema` prints with the built-in
/// collectors; `SONDE_UPDATE_SCHEMA=1 cargo test -p sonde --test cli` rewrites it.
#[test]
fn shipped_report_schema_is_what_sonde_schema_prints() {
    let o = sonde(&["schema"]);
    assert_eq!(o.status.code(), Some(0));
    let printed = String::from_utf8(o.stdout).expect("utf-8");
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/report.schema.json");
    if std::env::var_os("SONDE_UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &printed).expect("write the schema");
    }
    let shipped = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        shipped == printed,
        "docs/report.schema.json is out of date; rerun with SONDE_UPDATE_SCHEMA=1"
    );
    let schema: serde_json::Value = serde_json::from_str(&printed).expect("JSON");
    let sections = schema["properties"]["sections"]["properties"]
        .as_object()
        .expect("sections are described");
    let names: Vec<&str> = sections.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "asn",
            "dns",
            "geo",
            "hop-asn",
            "ping",
            "ports",
            "tls",
            "traceroute",
            "whois"
        ]
    );
    // Every reference points at a definition that is there.
    let defs = schema["$defs"].as_object().expect("$defs");
    for reference in printed.split("\"$ref\": \"#/$defs/").skip(1) {
        let name = reference.split('"').next().unwrap_or_default();
        assert!(defs.contains_key(name), "dangling $ref to {name}");
    }
}
