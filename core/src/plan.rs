//! The plan: the checked dependency graph of one run.
//!
//! A plan is built from a merged [`Profile`], the [`Registry`] and the run's
//! options. Building it is where the whole profile is validated as a graph:
//! unknown collectors, needs that are not enabled, cycles and critical
//! collectors that do not run are all reported together.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use crate::collector::{Collector, Config, Settings};
use crate::profile::{Loc, Profile, ProfileError, ProfileErrors};
use crate::registry::Registry;

/// The global deadline when neither the profile nor the command line sets one.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

/// Options that shape the plan.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// Turn on the collectors that run only on request (ports, tls).
    pub enable_ports: bool,
    /// Global deadline, overriding the profile's.
    pub timeout: Option<Duration>,
}

/// One collector in the plan.
#[derive(Clone)]
pub struct Node {
    /// The collector's name.
    pub name: String,
    /// The collector.
    pub collector: Arc<dyn Collector>,
    /// Its parsed settings.
    pub config: Config,
    /// Hard dependencies: skipped unless all of these succeed.
    pub needs: Vec<String>,
    /// Ordering-only dependencies.
    pub after: Vec<String>,
    /// Its own time limit.
    pub timeout: Duration,
    /// Whether its failure fails the run.
    pub critical: bool,
}

impl Node {
    /// Every node this one waits for.
    pub fn waits_for(&self) -> impl Iterator<Item = &String> {
        self.needs.iter().chain(self.after.iter())
    }
}

/// A checked graph, nodes in an order where dependencies come first.
#[derive(Clone)]
pub struct Plan {
    /// The profile it came from.
    pub profile: String,
    /// The nodes, dependencies before dependents.
    pub nodes: Vec<Node>,
    /// The global deadline.
    pub timeout: Duration,
}

impl Plan {
    /// Builds and checks the plan, reporting every problem at once.
    pub fn build(
        profile: &Profile,
        registry: &Registry,
        opts: &PlanOptions,
    ) -> Result<Plan, ProfileErrors> {
        let mut errors = Vec::new();
        let plan = Self::build_lenient(profile, registry, opts, &mut errors);
        if errors.is_empty() {
            Ok(plan)
        } else {
            Err(ProfileErrors(errors))
        }
    }

    fn build_lenient(
        profile: &Profile,
        registry: &Registry,
        opts: &PlanOptions,
        errors: &mut Vec<ProfileError>,
    ) -> Plan {
        let top = Loc {
            origin: profile
                .chain
                .last()
                .cloned()
                .unwrap_or_else(|| "profile".into()),
            line: None,
        };
        for (name, entry) in &profile.collectors {
            if registry.get(name).is_none() {
                let mut msg = format!("unknown collector `{name}`");
                if let Some(s) = registry.suggest(name) {
                    msg.push_str(&format!(" (did you mean `{s}`?)"));
                }
                msg.push_str(&format!(
                    "; known collectors: {}",
                    registry.names().collect::<Vec<_>>().join(", ")
                ));
                errors.push(ProfileError::new(
                    entry.loc.clone(),
                    format!("collectors.{name}"),
                    msg,
                ));
            }
        }
        let enabled: BTreeSet<&str> = registry
            .iter()
            .map(|c| c.spec())
            .filter(|spec| match profile.collectors.get(&spec.name) {
                Some(entry) => entry
                    .enabled
                    .unwrap_or(!spec.on_request || opts.enable_ports),
                // A plugin the user installed or declared runs like a
                // collector the profile lists, unless it is on request.
                None if matches!(spec.origin, crate::Origin::Plugin { .. }) => {
                    !spec.on_request || opts.enable_ports
                }
                None => spec.on_request && opts.enable_ports,
            })
            .map(|spec| spec.name.as_str())
            .collect();
        let critical: BTreeSet<&str> = profile.critical.iter().map(|n| n.name.as_str()).collect();
        for named in &profile.critical {
            if !enabled.contains(named.name.as_str()) && named.loc.line.is_some() {
                errors.push(ProfileError::new(
                    named.loc.clone(),
                    "critical",
                    format!(
                        "critical collector `{}` is not enabled in this profile",
                        named.name
                    ),
                ));
            }
        }

        let mut nodes = BTreeMap::new();
        for &name in &enabled {
            let Some(collector) = registry.get(name) else {
                continue;
            };
            let spec = collector.spec();
            let entry = profile.collectors.get(name);
            let loc = entry.map_or_else(|| top.clone(), |e| e.loc.clone());
            let key = format!("collectors.{name}");
            let config = match entry {
                Some(e) if e.invalid => None,
                _ => {
                    let settings = entry.map(|e| e.settings.clone()).unwrap_or_default();
                    match collector.configure(Settings::Plain(settings)) {
                        Ok(c) => Some(c),
                        Err(e) => {
                            errors.push(ProfileError::new(loc.clone(), &key, e.message));
                            None
                        }
                    }
                }
            };
            let mut needs = Vec::new();
            let own = spec.needs.iter().map(|n| (n.clone(), loc.clone(), true));
            let added = entry.into_iter().flat_map(|e| {
                e.needs
                    .iter()
                    .map(|n| (n.name.clone(), n.loc.clone(), false))
            });
            for (need, at, builtin) in own.chain(added) {
                if registry.get(&need).is_none() {
                    errors.push(ProfileError::new(
                        at,
                        format!("{key}.needs"),
                        unknown(registry, &need),
                    ));
                } else if !enabled.contains(need.as_str()) {
                    let why = if builtin { "it needs" } else { "`needs` names" };
                    errors.push(ProfileError::new(
                        at,
                        format!("{key}.needs"),
                        format!("{why} `{need}`, which is not enabled in this profile; enable `{need}` or disable `{name}`"),
                    ));
                } else if need == name {
                    errors.push(ProfileError::new(
                        at,
                        format!("{key}.needs"),
                        "a collector cannot need itself",
                    ));
                } else if !needs.contains(&need) {
                    needs.push(need);
                }
            }
            let mut after = Vec::new();
            let own = spec.after.iter().map(|n| (n.clone(), loc.clone()));
            let added = entry
                .into_iter()
                .flat_map(|e| e.after.iter().map(|n| (n.name.clone(), n.loc.clone())));
            for (dep, at) in own.chain(added) {
                if registry.get(&dep).is_none() {
                    errors.push(ProfileError::new(
                        at,
                        format!("{key}.after"),
                        unknown(registry, &dep),
                    ));
                } else if enabled.contains(dep.as_str())
                    && dep != name
                    && !needs.contains(&dep)
                    && !after.contains(&dep)
                {
                    after.push(dep);
                }
            }
            if let Some(config) = config {
                let timeout = entry.and_then(|e| e.timeout).unwrap_or(spec.timeout);
                nodes.insert(
                    name.to_string(),
                    (
                        loc,
                        Node {
                            name: name.to_string(),
                            collector: Arc::clone(collector),
                            config,
                            needs,
                            after,
                            timeout,
                            critical: critical.contains(name),
                        },
                    ),
                );
            }
        }
        for chain in cycles(&nodes) {
            let loc = nodes[&chain[0]].0.clone();
            errors.push(ProfileError::new(
                loc,
                format!("collectors.{}", chain[0]),
                format!("cycle in the collector graph: {}", chain.join(" -> ")),
            ));
        }
        let nodes = topological(nodes.into_values().map(|(_, n)| n).collect());
        Plan {
            profile: profile.name.clone(),
            nodes,
            timeout: opts.timeout.or(profile.timeout).unwrap_or(DEFAULT_TIMEOUT),
        }
    }

    /// The node of that name.
    pub fn node(&self, name: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.name == name)
    }

    /// The longest chain of timeouts through the graph: the worst a run can
    /// take before the global deadline cuts it.
    pub fn worst_case(&self) -> Duration {
        let mut finish: BTreeMap<&str, Duration> = BTreeMap::new();
        for node in &self.nodes {
            let start = node
                .waits_for()
                .filter_map(|d| finish.get(d.as_str()))
                .max()
                .copied()
                .unwrap_or_default();
            finish.insert(&node.name, start.saturating_add(node.timeout));
        }
        finish
            .values()
            .max()
            .copied()
            .unwrap_or_default()
            .min(self.timeout)
    }

    /// The plan as aligned text, one line per collector.
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "profile {}: {} collector{}, global deadline {}, worst case {}\n",
            self.profile,
            self.nodes.len(),
            if self.nodes.len() == 1 { "" } else { "s" },
            crate::duration::format(self.timeout),
            crate::duration::format(self.worst_case()),
        );
        let width = self.nodes.iter().map(|n| n.name.len()).max().unwrap_or(0);
        for node in &self.nodes {
            let mut line = format!(
                "  {:<width$}  {:>6}",
                node.name,
                crate::duration::format(node.timeout)
            );
            if node.needs.is_empty() && node.after.is_empty() {
                line.push_str("  starts at once");
            }
            if !node.needs.is_empty() {
                let _ = write!(line, "  needs {}", node.needs.join(", "));
            }
            if !node.after.is_empty() {
                let _ = write!(line, "  after {}", node.after.join(", "));
            }
            if node.critical {
                line.push_str("  [critical]");
            }
            if let crate::Origin::Plugin { path, version } = &node.collector.spec().origin {
                let _ = write!(line, "  [plugin {path} v{version}]");
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }

    /// The plan as a Graphviz digraph: solid edges for needs, dashed for after.
    pub fn to_dot(&self) -> String {
        let mut out = String::from(
            "digraph sonde {\n  rankdir=LR;\n  node [shape=box, fontname=\"monospace\"];\n",
        );
        for node in &self.nodes {
            let style = if node.critical { ", style=bold" } else { "" };
            let _ = writeln!(
                out,
                "  \"{}\" [label=\"{}\\n{}\"{style}];",
                node.name,
                node.name,
                crate::duration::format(node.timeout)
            );
        }
        for node in &self.nodes {
            for need in &node.needs {
                let _ = writeln!(out, "  \"{need}\" -> \"{}\";", node.name);
            }
            for dep in &node.after {
                let _ = writeln!(out, "  \"{dep}\" -> \"{}\" [style=dashed];", node.name);
            }
        }
        out.push_str("}\n");
        out
    }
}

fn unknown(registry: &Registry, name: &str) -> String {
    match registry.suggest(name) {
        Some(s) => format!("unknown collector `{name}` (did you mean `{s}`?)"),
        None => format!("unknown collector `{name}`"),
    }
}

/// Every distinct cycle, each as a chain that ends where it starts
/// (`a -> b -> a`: a waits for b, which waits for a).
fn cycles(nodes: &BTreeMap<String, (Loc, Node)>) -> Vec<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    fn visit(
        name: &str,
        nodes: &BTreeMap<String, (Loc, Node)>,
        marks: &mut BTreeMap<String, Mark>,
        stack: &mut Vec<String>,
        found: &mut Vec<Vec<String>>,
    ) {
        marks.insert(name.to_string(), Mark::Open);
        stack.push(name.to_string());
        if let Some((_, node)) = nodes.get(name) {
            for dep in node.waits_for() {
                match marks.get(dep.as_str()).copied().unwrap_or(Mark::New) {
                    Mark::New if nodes.contains_key(dep) => visit(dep, nodes, marks, stack, found),
                    Mark::Open => {
                        let start = stack.iter().position(|s| s == dep).unwrap_or(0);
                        let mut chain = stack[start..].to_vec();
                        chain.push(dep.clone());
                        found.push(chain);
                    }
                    _ => {}
                }
            }
        }
        stack.pop();
        marks.insert(name.to_string(), Mark::Done);
    }
    let mut marks = BTreeMap::new();
    let mut found = Vec::new();
    for name in nodes.keys() {
        if marks.get(name.as_str()).copied().unwrap_or(Mark::New) == Mark::New {
            visit(name, nodes, &mut marks, &mut Vec::new(), &mut found);
        }
    }
    found
}

/// Orders nodes so that every node comes after what it waits for (by name
/// among equals, so plans print the same every time). Nodes caught in a
/// cycle are appended at the end; a plan with a cycle is never run.
fn topological(mut pending: Vec<Node>) -> Vec<Node> {
    let mut placed: BTreeSet<String> = BTreeSet::new();
    let mut out = Vec::with_capacity(pending.len());
    loop {
        let ready: Vec<usize> = (0..pending.len())
            .filter(|&i| pending[i].waits_for().all(|d| placed.contains(d)))
            .collect();
        if ready.is_empty() {
            break;
        }
        let batch = out.len();
        for i in ready.into_iter().rev() {
            let node = pending.remove(i);
            placed.insert(node.name.clone());
            out.push(node);
        }
        out[batch..].sort_by(|a, b| a.name.cmp(&b.name));
    }
    out.extend(pending);
    out
}
