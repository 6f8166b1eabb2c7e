//! The questions the catalog answers: who consumes or produces a message, what a
//! service does, orphans, flows across bridges, and lint.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde::Serialize;

use tidings_compat::Payload;

use crate::model::{Action, Bridge, Catalog, ChannelKey, Endpoint, MessageDef};
use crate::schema;

/// A definition's payload for the compatibility rules, when it has one.
fn payload(def: &MessageDef) -> Option<Payload<'_>> {
    Some(Payload {
        schema: def.payload.as_ref()?,
        format: def.schema_format.as_deref(),
    })
}

/// A service sending or receiving a message on a channel.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Participant {
    /// The service.
    pub service: String,
    /// The channel.
    pub channel: ChannelKey,
    /// The operation id.
    pub operation: String,
    /// The consumer group, for receivers that have one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

impl From<&Endpoint> for Participant {
    fn from(e: &Endpoint) -> Self {
        Participant {
            service: e.service.clone(),
            channel: e.channel.clone(),
            operation: e.operation.clone(),
            group: e.group.clone(),
        }
    }
}

/// One path from a producer to a consumer of a message.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Flow {
    /// The message.
    pub message: String,
    /// The sending service.
    pub producer: String,
    /// Its operation.
    pub producer_operation: String,
    /// The receiving service.
    pub consumer: String,
    /// Its operation.
    pub consumer_operation: String,
    /// The channels in order: where it is sent, every bridge target, where it is received.
    pub channels: Vec<ChannelKey>,
    /// The bridges crossed, in order (`convert` of each, when declared).
    pub bridges: Vec<BridgeHop>,
}

/// A bridge crossed by a [`Flow`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct BridgeHop {
    /// From.
    pub from: ChannelKey,
    /// To.
    pub to: ChannelKey,
    /// What it converts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub convert: Option<String>,
}

impl From<&Bridge> for BridgeHop {
    fn from(b: &Bridge) -> Self {
        BridgeHop {
            from: b.from.clone(),
            to: b.to.clone(),
            convert: b.convert.clone(),
        }
    }
}

/// Most flows listed for one message (a mesh of bridges could make them explode).
pub const MAX_FLOWS: usize = 10_000;

/// What one service sends and receives, and who is on the other side.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceReport {
    /// Name.
    pub name: String,
    /// Version.
    pub version: String,
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The document.
    pub source: String,
    /// Owners (config).
    pub owners: Vec<String>,
    /// Servers: name -> `protocol host`.
    pub servers: BTreeMap<String, String>,
    /// Every message it sends, with the services that receive it (through any bridge).
    pub sends: Vec<Exchange>,
    /// Every message it receives, with the services that send it.
    pub receives: Vec<Exchange>,
}

/// One message a service sends (or receives) on one channel, and the other side.
#[derive(Debug, Clone, Serialize)]
pub struct Exchange {
    /// The message.
    pub message: String,
    /// The channel.
    pub channel: ChannelKey,
    /// The operation.
    pub operation: String,
    /// Services on the other side, reached through the channel or bridges.
    pub peers: Vec<String>,
}

/// Which side an orphan lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OrphanKind {
    /// Sent, and no service receives it where it arrives.
    ProducedNeverConsumed,
    /// Received, and no service sends it where it could come from.
    ConsumedNeverProduced,
}

/// A message sent where nobody receives it, or received where nobody sends it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Orphan {
    /// Which side is missing.
    pub kind: OrphanKind,
    /// The message.
    pub message: String,
    /// The service that sends or receives it.
    pub service: String,
    /// On which channel.
    pub channel: ChannelKey,
    /// Its operation.
    pub operation: String,
}

/// How bad a lint finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth a look (two services define a message differently).
    Warning,
    /// A consumer will fail on what a producer sends.
    Error,
}

/// One lint finding.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Finding {
    /// How bad.
    pub severity: Severity,
    /// `schema-mismatch` or `breaking-change`.
    pub rule: &'static str,
    /// The message.
    pub message: String,
    /// The services involved (for `breaking-change`: producer, consumer).
    pub services: Vec<String>,
    /// One line.
    pub summary: String,
    /// The details, one per line.
    pub details: Vec<String>,
}

impl Catalog {
    fn participants(&self, message: &str, action: Action) -> Vec<Participant> {
        let mut out: Vec<Participant> = self
            .endpoints_of(message)
            .filter(|e| e.action == action)
            .map(Participant::from)
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Every service receiving `message`, with channel and operation, sorted.
    pub fn who_consumes(&self, message: &str) -> Vec<Participant> {
        self.participants(message, Action::Receive)
    }

    /// Every service sending `message`, with channel and operation, sorted.
    pub fn who_produces(&self, message: &str) -> Vec<Participant> {
        self.participants(message, Action::Send)
    }

    /// Whether any service sends or receives `message`.
    pub fn knows_message(&self, message: &str) -> bool {
        self.by_message.contains_key(message)
    }

    /// Known names close to `name` (case-insensitive substring either way), for
    /// "did you mean".
    pub fn similar_names<'a>(
        &'a self,
        name: &str,
        names: impl Iterator<Item = &'a str>,
    ) -> Vec<String> {
        let wanted = name.to_lowercase();
        names
            .filter(|n| {
                let n = n.to_lowercase();
                n.contains(&wanted) || wanted.contains(&n)
            })
            .take(5)
            .map(str::to_owned)
            .collect()
    }

    /// Channels reachable from `start` through bridges (start included), breadth first,
    /// with every channel they meet (parameters filled in).
    pub fn downstream(&self, start: &ChannelKey) -> BTreeSet<ChannelKey> {
        self.reach(start, true)
    }

    /// Channels from which `end` is reachable through bridges (end included), with every
    /// channel they meet.
    pub fn upstream(&self, end: &ChannelKey) -> BTreeSet<ChannelKey> {
        self.reach(end, false)
    }

    fn reach(&self, start: &ChannelKey, forward: bool) -> BTreeSet<ChannelKey> {
        // Channels reached through bridges are expanded; channels they only meet are in
        // the result and their bridges are followed, but what *they* meet is not (meeting
        // is not transitive).
        let mut expanded = BTreeSet::from([start.clone()]);
        let mut seen = BTreeSet::new();
        let mut queue = VecDeque::from([start.clone()]);
        while let Some(channel) = queue.pop_front() {
            for same in self.same_channel(&channel) {
                seen.insert(same.clone());
                let next: Vec<&ChannelKey> = if forward {
                    self.bridges_from(same).map(|b| &b.to).collect()
                } else {
                    self.bridges_to(same).map(|b| &b.from).collect()
                };
                for n in next {
                    if expanded.insert(n.clone()) {
                        queue.push_back(n.clone());
                    }
                }
            }
        }
        seen
    }

    /// Every path from a producer of `message` to a consumer of it: same channel (or one
    /// it meets, parameters filled in: then the consumer's channel ends the path), or
    /// across any chain of bridges (no channel twice on one path). At most [`MAX_FLOWS`].
    pub fn flows(&self, message: &str) -> Vec<Flow> {
        let mut receivers: BTreeMap<&ChannelKey, Vec<&Endpoint>> = BTreeMap::new();
        for e in self
            .endpoints_of(message)
            .filter(|e| e.action == Action::Receive)
        {
            receivers.entry(&e.channel).or_default().push(e);
        }
        let mut flows = Vec::new();
        for producer in self
            .endpoints_of(message)
            .filter(|e| e.action == Action::Send)
        {
            let mut path = vec![producer.channel.clone()];
            let mut hops = Vec::new();
            self.extend_flows(
                message, producer, &receivers, &mut path, &mut hops, &mut flows,
            );
        }
        flows.sort();
        flows.dedup();
        flows.truncate(MAX_FLOWS);
        flows
    }

    fn extend_flows(
        &self,
        message: &str,
        producer: &Endpoint,
        receivers: &BTreeMap<&ChannelKey, Vec<&Endpoint>>,
        path: &mut Vec<ChannelKey>,
        hops: &mut Vec<BridgeHop>,
        flows: &mut Vec<Flow>,
    ) {
        if flows.len() >= MAX_FLOWS {
            return;
        }
        let Some(here) = path.last().cloned() else {
            return;
        };
        for same in self.same_channel(&here) {
            for consumer in receivers.get(same).into_iter().flatten() {
                let mut channels = path.clone();
                if *same != here {
                    channels.push(same.clone());
                }
                flows.push(Flow {
                    message: message.to_owned(),
                    producer: producer.service.clone(),
                    producer_operation: producer.operation.clone(),
                    consumer: consumer.service.clone(),
                    consumer_operation: consumer.operation.clone(),
                    channels,
                    bridges: hops.clone(),
                });
            }
        }
        let leaving: Vec<&Bridge> = self
            .same_channel(&here)
            .flat_map(|same| self.bridges_from(same))
            .collect();
        for bridge in leaving {
            if path.contains(&bridge.to) {
                continue;
            }
            path.push(bridge.to.clone());
            hops.push(BridgeHop::from(bridge));
            self.extend_flows(message, producer, receivers, path, hops, flows);
            path.pop();
            hops.pop();
        }
    }

    /// What `name` sends and receives and who is on the other side; `None` when there
    /// is no such service.
    pub fn service(&self, name: &str) -> Option<ServiceReport> {
        let service = self.services.get(name)?;
        let exchange = |e: &Endpoint| {
            let (reachable, other) = match e.action {
                Action::Send => (self.downstream(&e.channel), Action::Receive),
                Action::Receive => (self.upstream(&e.channel), Action::Send),
            };
            let peers: BTreeSet<String> = self
                .endpoints_of(&e.message)
                .filter(|p| p.action == other && reachable.contains(&p.channel))
                .map(|p| p.service.clone())
                .collect();
            Exchange {
                message: e.message.clone(),
                channel: e.channel.clone(),
                operation: e.operation.clone(),
                peers: peers.into_iter().collect(),
            }
        };
        Some(ServiceReport {
            name: service.name.clone(),
            version: service.version.clone(),
            description: service.description.clone(),
            source: service.source.display().to_string(),
            owners: service.owners.clone(),
            servers: service
                .servers
                .iter()
                .map(|(n, s)| (n.clone(), format!("{} {}", s.protocol, s.host)))
                .collect(),
            sends: service.endpoints_with(Action::Send).map(exchange).collect(),
            receives: service
                .endpoints_with(Action::Receive)
                .map(exchange)
                .collect(),
        })
    }

    /// Sends that reach no receiver of the message, and receives that no sender reaches,
    /// across bridges; channels matching the config's `orphans.ignore` are left out.
    pub fn orphans(&self) -> Vec<Orphan> {
        let mut out = Vec::new();
        for (message, refs) in &self.by_message {
            let endpoints: Vec<&Endpoint> = refs
                .iter()
                .filter_map(|(s, i)| self.services.get(s)?.endpoints.get(*i))
                .collect();
            let channels_of = |action: Action| -> BTreeSet<&ChannelKey> {
                endpoints
                    .iter()
                    .filter(|e| e.action == action)
                    .map(|e| &e.channel)
                    .collect()
            };
            let receiving = channels_of(Action::Receive);
            let sending = channels_of(Action::Send);
            for e in &endpoints {
                if self.config.orphan_ignored(&e.channel) {
                    continue;
                }
                let (orphan, kind) = match e.action {
                    Action::Send => (
                        self.downstream(&e.channel)
                            .iter()
                            .all(|c| !receiving.contains(c)),
                        OrphanKind::ProducedNeverConsumed,
                    ),
                    Action::Receive => (
                        self.upstream(&e.channel)
                            .iter()
                            .all(|c| !sending.contains(c)),
                        OrphanKind::ConsumedNeverProduced,
                    ),
                };
                if orphan {
                    out.push(Orphan {
                        kind,
                        message: message.clone(),
                        service: e.service.clone(),
                        channel: e.channel.clone(),
                        operation: e.operation.clone(),
                    });
                }
            }
        }
        out.sort();
        out
    }

    /// Lint: every message defined differently by two services (`schema-mismatch`,
    /// warning) and every producer whose schema breaks a consumer it reaches
    /// (`breaking-change`, error): the rules of `tidings diff` ([`tidings_compat::breaks`]),
    /// the producer's schema as the old one, the consumer's as the new one. Sorted,
    /// errors first.
    pub fn lint(&self) -> Vec<Finding> {
        let mut findings = Vec::new();
        for message in self.by_message.keys() {
            let definitions = self.definitions_of(message);
            findings.extend(mismatch(message, &definitions));
            let mut judged = BTreeSet::new();
            for flow in self.flows(message) {
                if flow.producer == flow.consumer
                    || !judged.insert((flow.producer.clone(), flow.consumer.clone()))
                {
                    continue;
                }
                let (Some(p), Some(c)) = (
                    definitions.get(flow.producer.as_str()),
                    definitions.get(flow.consumer.as_str()),
                ) else {
                    continue;
                };
                // JSON Schemas, Avro (by the Avro rules, or as its JSON form across a
                // converting bridge); other formats are not judged.
                let (Some(pp), Some(cp)) = (payload(p), payload(c)) else {
                    continue;
                };
                let Ok(found) = tidings_compat::breaks(pp, cp) else {
                    continue;
                };
                if found.is_empty() {
                    continue;
                }
                let mut details: Vec<String> = found
                    .iter()
                    .map(|b| {
                        let side = if b.in_new { "consumer" } else { "producer" };
                        let at = if b.pointer.is_empty() {
                            String::new()
                        } else {
                            format!(", at {side} schema {}", b.pointer)
                        };
                        format!("{} [{}{at}]", b.description, b.kind)
                    })
                    .collect();
                details.push(format!(
                    "path: {} -> {}",
                    flow.producer,
                    flow.channels
                        .iter()
                        .map(ToString::to_string)
                        .chain([flow.consumer.clone()])
                        .collect::<Vec<_>>()
                        .join(" -> ")
                ));
                findings.push(Finding {
                    severity: Severity::Error,
                    rule: "breaking-change",
                    message: message.clone(),
                    services: vec![flow.producer.clone(), flow.consumer.clone()],
                    summary: format!(
                        "`{}` sends {message} that `{}` cannot read ({} problem(s))",
                        flow.producer,
                        flow.consumer,
                        found.len()
                    ),
                    details,
                });
            }
        }
        findings.sort_by(|a, b| b.severity.cmp(&a.severity).then_with(|| a.cmp(b)));
        findings
    }
}

/// The `schema-mismatch` finding of one message, when its definitions differ.
fn mismatch(message: &str, definitions: &BTreeMap<&str, &MessageDef>) -> Option<Finding> {
    let mut groups: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for (service, def) in definitions {
        if def.payload.is_none() {
            continue;
        }
        groups
            .entry(schema::fingerprint(
                def.payload.as_ref(),
                def.schema_format.as_deref(),
            ))
            .or_default()
            .push(service);
    }
    if groups.len() < 2 {
        return None;
    }
    let mut variants: Vec<Vec<&str>> = groups.into_values().collect();
    // The most common definition first: the others are described against it.
    variants.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    let reference = variants[0][0];
    let mut details = Vec::new();
    for variant in &variants {
        details.push(format!("variant held by: {}", variant.join(", ")));
    }
    for variant in &variants[1..] {
        let other = variant[0];
        let found = match (payload(definitions[reference]), payload(definitions[other])) {
            (Some(a), Some(b)) => tidings_compat::differences(a, b, reference, other).ok(),
            _ => None,
        };
        match found {
            Some(changes) => {
                let (fa, fb) = (&definitions[reference].schema_format, &definitions[other].schema_format);
                if fa != fb {
                    details.push(format!(
                        "{reference} vs {other}: {} in {reference}, {} in {other} (compared by their JSON form)",
                        fa.as_deref().unwrap_or("JSON Schema"),
                        fb.as_deref().unwrap_or("JSON Schema")
                    ));
                }
                for change in &changes {
                    details.push(format!("{reference} vs {other}: {}", change.description));
                }
                if changes.is_empty() {
                    details.push(format!(
                        "{reference} vs {other}: no difference the compatibility rules classify; other keywords differ"
                    ));
                }
            }
            None => details.push(format!(
                "{reference} vs {other}: not comparable field by field (no payload, a format other than JSON Schema and Avro, or an Avro schema that does not parse)"
            )),
        }
    }
    Some(Finding {
        severity: Severity::Warning,
        rule: "schema-mismatch",
        message: message.to_owned(),
        services: variants.iter().flatten().map(|s| s.to_string()).collect(),
        summary: format!(
            "{message} has {} different schemas across {} services",
            variants.len(),
            definitions.len()
        ),
        details,
    })
}
