//! Flow graphs: services and channels as nodes; sends, receives and bridges as edges.
//! Written as Mermaid, Graphviz DOT, or an SVG laid out here (layered, left to right,
//! no network and no external tool).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use crate::html::escape;
use crate::model::{Action, Catalog, ChannelKey};
use crate::query::Flow;

/// What a node stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum NodeKind {
    /// A service.
    Service,
    /// A channel.
    Channel,
}

/// A node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Stable id (`service:orders`, `channel:kafka:orders.created`).
    pub id: String,
    /// Service or channel.
    pub kind: NodeKind,
    /// Main text (service name, channel address).
    pub label: String,
    /// Second line (a channel's protocol).
    pub sublabel: Option<String>,
}

/// What an edge stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum EdgeKind {
    /// Service -> channel.
    Send,
    /// Channel -> service.
    Receive,
    /// Channel -> channel.
    Bridge,
}

/// An edge between two nodes (indexes into [`Graph::nodes`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    /// Source node.
    pub from: usize,
    /// Target node.
    pub to: usize,
    /// Send, receive or bridge.
    pub kind: EdgeKind,
    /// Message names (or the bridge's conversion), already joined.
    pub label: String,
}

/// A graph ready to render.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Graph {
    /// Nodes in a stable order.
    pub nodes: Vec<Node>,
    /// Edges in a stable order.
    pub edges: Vec<Edge>,
}

/// The node id of a channel.
fn channel_id(key: &ChannelKey) -> String {
    format!("channel:{key}")
}

/// Accumulates nodes and labelled edges, merging the labels of parallel edges.
#[derive(Default)]
struct Builder {
    nodes: BTreeMap<String, Node>,
    edges: BTreeMap<(String, String, EdgeKind), BTreeSet<String>>,
}

impl Builder {
    fn service(&mut self, name: &str) -> String {
        let id = format!("service:{name}");
        self.nodes.entry(id.clone()).or_insert_with(|| Node {
            id: id.clone(),
            kind: NodeKind::Service,
            label: name.to_owned(),
            sublabel: None,
        });
        id
    }

    fn has(&self, id: &str) -> bool {
        self.nodes.contains_key(id)
    }

    fn channel(&mut self, key: &ChannelKey) -> String {
        let id = channel_id(key);
        self.nodes.entry(id.clone()).or_insert_with(|| Node {
            id: id.clone(),
            kind: NodeKind::Channel,
            label: key.address.clone(),
            sublabel: Some(if key.protocol.is_empty() {
                "(no server)".into()
            } else {
                key.protocol.clone()
            }),
        });
        id
    }

    fn edge(&mut self, from: String, to: String, kind: EdgeKind, label: String) {
        let labels = self.edges.entry((from, to, kind)).or_default();
        if !label.is_empty() {
            labels.insert(label);
        }
    }

    fn finish(self) -> Graph {
        let nodes: Vec<Node> = self.nodes.into_values().collect();
        let index: BTreeMap<&str, usize> = nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.id.as_str(), i))
            .collect();
        let edges = self
            .edges
            .iter()
            .filter_map(|((from, to, kind), labels)| {
                let shown: Vec<&str> = labels.iter().map(String::as_str).take(3).collect();
                let mut label = shown.join(", ");
                if labels.len() > 3 {
                    let _ = write!(label, " +{}", labels.len() - 3);
                }
                Some(Edge {
                    from: *index.get(from.as_str())?,
                    to: *index.get(to.as_str())?,
                    kind: *kind,
                    label,
                })
            })
            .collect();
        Graph { nodes, edges }
    }

    fn flows(&mut self, flows: &[Flow]) {
        for flow in flows {
            let producer = self.service(&flow.producer);
            let first = self.channel(&flow.channels[0]);
            self.edge(producer, first, EdgeKind::Send, flow.message.clone());
            // Where a flow moves to a channel its channel meets (parameters filled in), a
            // dashed "same channel" edge.
            let mut at = &flow.channels[0];
            for hop in &flow.bridges {
                if hop.from != *at {
                    let (a, b) = (self.channel(at), self.channel(&hop.from));
                    self.edge(a, b, EdgeKind::Bridge, SAME_CHANNEL.into());
                }
                let from = self.channel(&hop.from);
                let to = self.channel(&hop.to);
                self.edge(
                    from,
                    to,
                    EdgeKind::Bridge,
                    bridge_label(hop.convert.as_deref()),
                );
                at = &hop.to;
            }
            let last_key = flow.channels.last().unwrap_or(&flow.channels[0]);
            if last_key != at {
                let (a, b) = (self.channel(at), self.channel(last_key));
                self.edge(a, b, EdgeKind::Bridge, SAME_CHANNEL.into());
            }
            let last = self.channel(last_key);
            let consumer = self.service(&flow.consumer);
            self.edge(last, consumer, EdgeKind::Receive, flow.message.clone());
        }
    }
}

/// The label of an edge between two channels that meet (a template and an address it
/// fills in, or two templates alike).
pub const SAME_CHANNEL: &str = "same channel";

fn bridge_label(convert: Option<&str>) -> String {
    match convert {
        Some(c) => format!("bridge ({c})"),
        None => "bridge".into(),
    }
}

/// The whole system: every service, every channel in use, every bridge.
pub fn system_graph(catalog: &Catalog) -> Graph {
    let mut b = Builder::default();
    for service in catalog.services.values() {
        let s = b.service(&service.name);
        for e in &service.endpoints {
            let c = b.channel(&e.channel);
            match e.action {
                Action::Send => b.edge(s.clone(), c, EdgeKind::Send, e.message.clone()),
                Action::Receive => b.edge(c, s.clone(), EdgeKind::Receive, e.message.clone()),
            }
        }
    }
    for bridge in &catalog.bridges {
        let from = b.channel(&bridge.from);
        let to = b.channel(&bridge.to);
        b.edge(
            from,
            to,
            EdgeKind::Bridge,
            bridge_label(bridge.convert.as_deref()),
        );
    }
    // Channels that meet, where both are in use (drawn already).
    for (x, y) in catalog.joined_channels() {
        let (cx, cy) = (channel_id(x), channel_id(y));
        if b.has(&cx) && b.has(&cy) {
            b.edge(cx, cy, EdgeKind::Bridge, SAME_CHANNEL.into());
        }
    }
    b.finish()
}

/// One message: every flow, plus senders and receivers no flow reaches (orphans).
pub fn message_graph(catalog: &Catalog, message: &str) -> Graph {
    let mut b = Builder::default();
    b.flows(&catalog.flows(message));
    for e in catalog.endpoints_of(message) {
        let s = b.service(&e.service);
        let c = b.channel(&e.channel);
        match e.action {
            Action::Send => b.edge(s, c, EdgeKind::Send, e.message.clone()),
            Action::Receive => b.edge(c, s, EdgeKind::Receive, e.message.clone()),
        }
    }
    b.finish()
}

/// One service: the flows of everything it sends and receives.
pub fn service_graph(catalog: &Catalog, name: &str) -> Graph {
    let mut b = Builder::default();
    let Some(service) = catalog.services.get(name) else {
        return Graph::default();
    };
    let messages: BTreeSet<&str> = service
        .endpoints
        .iter()
        .map(|e| e.message.as_str())
        .collect();
    for message in messages {
        let flows: Vec<Flow> = catalog
            .flows(message)
            .into_iter()
            .filter(|f| f.producer == name || f.consumer == name)
            .collect();
        b.flows(&flows);
    }
    let s = b.service(name);
    for e in &service.endpoints {
        let c = b.channel(&e.channel);
        match e.action {
            Action::Send => b.edge(s.clone(), c, EdgeKind::Send, e.message.clone()),
            Action::Receive => b.edge(c, s.clone(), EdgeKind::Receive, e.message.clone()),
        }
    }
    b.finish()
}

/// Mermaid text for `""`-quoted labels: `"` becomes `#quot;`; line breaks become spaces.
fn mermaid_text(text: &str) -> String {
    text.replace('"', "#quot;").replace(['\n', '\r'], " ")
}

/// The graph as a Mermaid `flowchart LR`: services as boxes, channels as cylinders,
/// bridges dotted.
pub fn to_mermaid(graph: &Graph) -> String {
    let mut out = String::from("flowchart LR\n");
    for (i, node) in graph.nodes.iter().enumerate() {
        let text = match &node.sublabel {
            Some(sub) => format!(
                "{}<br/><small>{}</small>",
                mermaid_text(&node.label),
                mermaid_text(sub)
            ),
            None => mermaid_text(&node.label),
        };
        let _ = match node.kind {
            NodeKind::Service => writeln!(out, "    n{i}[\"{text}\"]"),
            NodeKind::Channel => writeln!(out, "    n{i}[(\"{text}\")]"),
        };
    }
    for edge in &graph.edges {
        let arrow = if edge.kind == EdgeKind::Bridge {
            "-.->"
        } else {
            "-->"
        };
        if edge.label.is_empty() {
            let _ = writeln!(out, "    n{} {arrow} n{}", edge.from, edge.to);
        } else {
            let _ = writeln!(
                out,
                "    n{} {arrow}|\"{}\"| n{}",
                edge.from,
                mermaid_text(&edge.label),
                edge.to
            );
        }
    }
    out.push_str("    classDef service fill:#dbeafe,stroke:#1d4ed8\n    classDef channel fill:#fef3c7,stroke:#b45309\n");
    for kind in [NodeKind::Service, NodeKind::Channel] {
        let ids: Vec<String> = graph
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.kind == kind)
            .map(|(i, _)| format!("n{i}"))
            .collect();
        if !ids.is_empty() {
            let class = if kind == NodeKind::Service {
                "service"
            } else {
                "channel"
            };
            let _ = writeln!(out, "    class {} {class}", ids.join(","));
        }
    }
    out
}

/// A DOT string literal.
fn dot_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The graph as Graphviz DOT (`dot -Tsvg`): services as boxes, channels as cylinders,
/// bridges dashed.
pub fn to_dot(graph: &Graph, name: &str) -> String {
    let mut out = format!(
        "digraph {} {{\n    rankdir=LR;\n    node [fontname=\"Helvetica\"];\n",
        dot_text(name)
    );
    for node in &graph.nodes {
        let label = match &node.sublabel {
            Some(sub) => format!("{}\n{}", node.label, sub),
            None => node.label.clone(),
        };
        let style = match node.kind {
            NodeKind::Service => "shape=box, style=\"rounded,filled\", fillcolor=\"#dbeafe\"",
            NodeKind::Channel => "shape=cylinder, style=filled, fillcolor=\"#fef3c7\"",
        };
        let _ = writeln!(
            out,
            "    {} [label={}, {style}];",
            dot_text(&node.id),
            dot_text(&label)
        );
    }
    for edge in &graph.edges {
        let style = if edge.kind == EdgeKind::Bridge {
            ", style=dashed"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "    {} -> {} [label={}{style}];",
            dot_text(&graph.nodes[edge.from].id),
            dot_text(&graph.nodes[edge.to].id),
            dot_text(&edge.label)
        );
    }
    out.push_str("}\n");
    out
}

/// Where a node was placed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Placed {
    /// Left.
    pub x: f64,
    /// Top.
    pub y: f64,
    /// Width.
    pub w: f64,
    /// Height.
    pub h: f64,
    /// Column (layer).
    pub layer: usize,
}

/// A computed layout: one [`Placed`] per node, the route of every edge, and the size.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    /// Per node, in [`Graph::nodes`] order.
    pub nodes: Vec<Placed>,
    /// Per edge, in [`Graph::edges`] order: the points it passes through, from its
    /// source's side to its target's side (more than two when it spans several columns).
    pub edges: Vec<Vec<(f64, f64)>>,
    /// Width of the drawing.
    pub width: f64,
    /// Height of the drawing.
    pub height: f64,
}

const CHAR_W: f64 = 7.2;
const NODE_H: f64 = 40.0;
/// Height of the slot a long edge takes in a column it crosses.
const DUMMY_H: f64 = 12.0;
const GAP_X: f64 = 110.0;
const GAP_Y: f64 = 26.0;
const MARGIN: f64 = 20.0;

/// Layered layout, left to right (Sugiyama style): cycles broken by reversing DFS back
/// edges, layers by longest path, an invisible waypoint in every column a long edge
/// crosses (so edges pass between nodes, not through them), order within a column by
/// barycenter sweeps, then coordinates.
pub fn layout(graph: &Graph) -> Layout {
    let n = graph.nodes.len();
    // 1. Acyclic orientation: edges that close a cycle in DFS order are reversed.
    let mut out_edges: Vec<Vec<usize>> = vec![Vec::new(); n];
    for e in &graph.edges {
        if e.from != e.to {
            out_edges[e.from].push(e.to);
        }
    }
    let mut state = vec![0u8; n]; // 0 new, 1 on stack, 2 done
    let mut dag: BTreeSet<(usize, usize)> = BTreeSet::new();
    for root in 0..n {
        if state[root] != 0 {
            continue;
        }
        // Iterative DFS: (node, next child index).
        let mut stack = vec![(root, 0usize)];
        state[root] = 1;
        while let Some(&mut (v, ref mut next)) = stack.last_mut() {
            if let Some(&w) = out_edges[v].get(*next) {
                *next += 1;
                match state[w] {
                    0 => {
                        dag.insert((v, w));
                        state[w] = 1;
                        stack.push((w, 0));
                    }
                    1 => {
                        dag.insert((w, v));
                    }
                    _ => {
                        dag.insert((v, w));
                    }
                }
            } else {
                state[v] = 2;
                stack.pop();
            }
        }
    }
    // 2. Longest-path layers (Kahn order).
    let mut indegree = vec![0usize; n];
    let mut dag_succ: Vec<Vec<usize>> = vec![Vec::new(); n];
    for &(a, b) in &dag {
        dag_succ[a].push(b);
        indegree[b] += 1;
    }
    let mut layer = vec![0usize; n];
    let mut ready: Vec<usize> = (0..n).filter(|&v| indegree[v] == 0).collect();
    while let Some(v) = ready.pop() {
        for &w in &dag_succ[v] {
            layer[w] = layer[w].max(layer[v] + 1);
            indegree[w] -= 1;
            if indegree[w] == 0 {
                ready.push(w);
            }
        }
    }
    // 3. Waypoints: an edge spanning k columns gets k - 1 dummy nodes, one per column
    //    crossed, in the order from its source to its target.
    let mut chains: Vec<Vec<usize>> = Vec::with_capacity(graph.edges.len());
    for e in &graph.edges {
        let (a, b) = (layer[e.from], layer[e.to]);
        let crossed: Vec<usize> = if a + 1 < b {
            (a + 1..b).collect()
        } else if b + 1 < a {
            (b + 1..a).rev().collect()
        } else {
            Vec::new()
        };
        let mut chain = Vec::with_capacity(crossed.len());
        for l in crossed {
            chain.push(layer.len());
            layer.push(l);
        }
        chains.push(chain);
    }
    let total = layer.len();
    let mut succ: Vec<Vec<usize>> = vec![Vec::new(); total];
    let mut pred: Vec<Vec<usize>> = vec![Vec::new(); total];
    for (e, chain) in graph.edges.iter().zip(&chains) {
        if e.from == e.to {
            continue;
        }
        let mut points = vec![e.from];
        points.extend(chain);
        points.push(e.to);
        for pair in points.windows(2) {
            // Ordering only needs "neighbour in the next or previous column".
            let (a, b) = if layer[pair[0]] < layer[pair[1]] {
                (pair[0], pair[1])
            } else {
                (pair[1], pair[0])
            };
            succ[a].push(b);
            pred[b].push(a);
        }
    }
    let layers = layer.iter().copied().max().map_or(0, |m| m + 1);
    let mut rows: Vec<Vec<usize>> = vec![Vec::new(); layers];
    for v in 0..total {
        rows[layer[v]].push(v);
    }
    // 4. Barycenter sweeps: each node moves to the mean position of its neighbours in
    //    the column before (downward sweep) or after (upward sweep).
    let mut position = vec![0f64; total];
    for row in &rows {
        for (i, &v) in row.iter().enumerate() {
            position[v] = i as f64;
        }
    }
    for sweep in 0..8 {
        let downward = sweep % 2 == 0;
        let order: Vec<usize> = if downward {
            (1..layers).collect()
        } else {
            (0..layers.saturating_sub(1)).rev().collect()
        };
        for l in order {
            let neighbours = if downward { &pred } else { &succ };
            let mut keyed: Vec<(f64, usize)> = rows[l]
                .iter()
                .map(|&v| {
                    let ns = &neighbours[v];
                    let key = if ns.is_empty() {
                        position[v]
                    } else {
                        ns.iter().map(|&u| position[u]).sum::<f64>() / ns.len() as f64
                    };
                    (key, v)
                })
                .collect();
            keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            rows[l] = keyed.into_iter().map(|(_, v)| v).collect();
            for (i, &v) in rows[l].iter().enumerate() {
                position[v] = i as f64;
            }
        }
    }
    // 5. Coordinates: columns as wide as their widest node, stacked and centred; the gap
    //    after a column fits the longest label drawn in it (labels sit on the first
    //    segment of their edge, halfway).
    let size_of = |v: usize| -> (f64, f64) {
        match graph.nodes.get(v) {
            Some(node) => {
                let chars = node
                    .label
                    .chars()
                    .count()
                    .max(node.sublabel.as_ref().map_or(0, |s| s.chars().count()));
                ((chars as f64 * CHAR_W + 28.0).max(80.0), NODE_H)
            }
            None => (0.0, DUMMY_H),
        }
    };
    let column_width: Vec<f64> = rows
        .iter()
        .map(|row| row.iter().map(|&v| size_of(v).0).fold(0.0, f64::max))
        .collect();
    let column_height: Vec<f64> = rows
        .iter()
        .map(|row| row.iter().map(|&v| size_of(v).1 + GAP_Y).sum::<f64>() - GAP_Y)
        .collect();
    let mut gaps = vec![GAP_X; layers];
    for (e, chain) in graph.edges.iter().zip(&chains) {
        let next = chain.first().copied().unwrap_or(e.to);
        let (a, b) = (layer[e.from], layer[next]);
        if a.abs_diff(b) == 1 {
            let needed = e.label.chars().count() as f64 * CHAR_W + 40.0;
            let gap = &mut gaps[a.min(b)];
            *gap = gap.max(needed);
        }
    }
    let height = column_height
        .iter()
        .copied()
        .fold(0.0, f64::max)
        .max(NODE_H)
        + 2.0 * MARGIN;
    let mut placed = vec![
        Placed {
            x: 0.0,
            y: 0.0,
            w: 0.0,
            h: 0.0,
            layer: 0
        };
        total
    ];
    let mut x = MARGIN;
    for (l, row) in rows.iter().enumerate() {
        let mut y = MARGIN + (height - 2.0 * MARGIN - column_height[l]) / 2.0;
        for &v in row {
            let (w, h) = size_of(v);
            let w = if v < n { w } else { column_width[l] };
            placed[v] = Placed {
                x: x + (column_width[l] - w) / 2.0,
                y,
                w,
                h,
                layer: l,
            };
            y += h + GAP_Y;
        }
        x += column_width[l] + gaps[l];
    }
    let width = (x - gaps.last().copied().unwrap_or(GAP_X) + MARGIN).max(2.0 * MARGIN);
    // 6. Routes: leave the source on the side facing the target, pass every waypoint's
    //    centre line, enter the target on the side facing the source.
    let edges = graph
        .edges
        .iter()
        .zip(&chains)
        .map(|(e, chain)| {
            let (a, b) = (placed[e.from], placed[e.to]);
            let forward = a.layer <= b.layer;
            let mut points = vec![if forward {
                (a.x + a.w, a.y + a.h / 2.0)
            } else {
                (a.x, a.y + a.h / 2.0)
            }];
            for &d in chain {
                let p = placed[d];
                let (left, right) = ((p.x, p.y + p.h / 2.0), (p.x + p.w, p.y + p.h / 2.0));
                if forward {
                    points.extend([left, right]);
                } else {
                    points.extend([right, left]);
                }
            }
            points.push(if forward {
                (b.x, b.y + b.h / 2.0)
            } else {
                (b.x + b.w, b.y + b.h / 2.0)
            });
            points
        })
        .collect();
    placed.truncate(n);
    Layout {
        nodes: placed,
        edges,
        width,
        height,
    }
}

/// Fill colour of a channel by protocol family.
fn protocol_colour(protocol: &str) -> &'static str {
    match protocol {
        "kafka" => "#fde68a",
        "sqs" | "sns" => "#fed7aa",
        "nats" => "#bbf7d0",
        "amqp" => "#fbcfe8",
        "mqtt" => "#e9d5ff",
        "redis" => "#fecaca",
        _ => "#e5e7eb",
    }
}

/// The graph as a standalone inline `<svg>`; `link` gives a node's page (or none).
/// Every text is escaped.
pub fn to_svg(graph: &Graph, title: &str, link: &dyn Fn(&Node) -> Option<String>) -> String {
    let layout = layout(graph);
    let mut out = String::new();
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"graph\" role=\"img\" width=\"{w:.0}\" height=\"{h:.0}\" viewBox=\"0 0 {w:.0} {h:.0}\" font-family=\"system-ui, sans-serif\" font-size=\"12\">",
        w = layout.width,
        h = layout.height
    );
    let _ = write!(out, "<title>{}</title>", escape(title));
    out.push_str(
        "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#475569\"/></marker></defs>",
    );
    for (edge, points) in graph.edges.iter().zip(&layout.edges) {
        // Cubic segments with horizontal tangents through every point of the route.
        let mut d = String::new();
        let _ = write!(d, "M{:.1},{:.1}", points[0].0, points[0].1);
        for pair in points.windows(2) {
            let ((x1, y1), (x2, y2)) = (pair[0], pair[1]);
            let bend = if (x2 - x1).abs() < 1.0 {
                40.0
            } else {
                (x2 - x1) / 2.0
            };
            let _ = write!(
                d,
                " C{:.1},{y1:.1} {:.1},{y2:.1} {x2:.1},{y2:.1}",
                x1 + bend,
                x2 - bend
            );
        }
        let dash = if edge.kind == EdgeKind::Bridge {
            " stroke-dasharray=\"6 4\""
        } else {
            ""
        };
        let _ = write!(
            out,
            "<path d=\"{d}\" fill=\"none\" stroke=\"#475569\" stroke-width=\"1.4\"{dash} marker-end=\"url(#arrow)\"><title>{}</title></path>",
            escape(&edge.label)
        );
        if !edge.label.is_empty() {
            // Halfway along the first segment, next to the source.
            let ((x1, y1), (x2, y2)) = (points[0], points[1]);
            let _ = write!(
                out,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#1e293b\" stroke=\"#ffffff\" stroke-width=\"3\" paint-order=\"stroke\">{}</text>",
                (x1 + x2) / 2.0,
                (y1 + y2) / 2.0 - 4.0,
                escape(&edge.label)
            );
        }
    }
    for (node, p) in graph.nodes.iter().zip(&layout.nodes) {
        let href = link(node);
        if let Some(href) = &href {
            let _ = write!(out, "<a href=\"{}\">", escape(href));
        }
        let (fill, stroke, rx) = match node.kind {
            NodeKind::Service => ("#dbeafe", "#1d4ed8", 10.0),
            NodeKind::Channel => (
                protocol_colour(node.sublabel.as_deref().unwrap_or("")),
                "#92400e",
                2.0,
            ),
        };
        let _ = write!(
            out,
            "<g class=\"node\"><title>{}</title><rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" rx=\"{rx}\" fill=\"{fill}\" stroke=\"{stroke}\"/>",
            escape(&node.id),
            p.x,
            p.y,
            p.w,
            p.h
        );
        let cx = p.x + p.w / 2.0;
        match &node.sublabel {
            Some(sub) => {
                let _ = write!(
                    out,
                    "<text x=\"{cx:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-weight=\"600\">{}</text><text x=\"{cx:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#475569\" font-size=\"10\">{}</text>",
                    p.y + 17.0,
                    escape(&node.label),
                    p.y + 31.0,
                    escape(sub)
                );
            }
            None => {
                let _ = write!(
                    out,
                    "<text x=\"{cx:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-weight=\"600\">{}</text>",
                    p.y + 24.0,
                    escape(&node.label)
                );
            }
        }
        out.push_str("</g>");
        if href.is_some() {
            out.push_str("</a>");
        }
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: &str, kind: NodeKind) -> Node {
        Node {
            id: id.into(),
            kind,
            label: id.into(),
            sublabel: None,
        }
    }

    fn chain_with_cycle() -> Graph {
        Graph {
            nodes: vec![
                node("a", NodeKind::Service),
                node("b", NodeKind::Channel),
                node("c", NodeKind::Service),
            ],
            edges: vec![
                Edge {
                    from: 0,
                    to: 1,
                    kind: EdgeKind::Send,
                    label: "M".into(),
                },
                Edge {
                    from: 1,
                    to: 2,
                    kind: EdgeKind::Receive,
                    label: "M".into(),
                },
                Edge {
                    from: 2,
                    to: 0,
                    kind: EdgeKind::Send,
                    label: "<x&y>".into(),
                },
            ],
        }
    }

    #[test]
    fn layers_follow_edges_and_cycles_terminate() {
        let l = layout(&chain_with_cycle());
        assert_eq!(
            l.nodes.iter().map(|p| p.layer).collect::<Vec<_>>(),
            vec![0, 1, 2]
        );
        assert!(l.nodes[0].x < l.nodes[1].x && l.nodes[1].x < l.nodes[2].x);
        // No overlap within a column.
        let many = Graph {
            nodes: (0..5)
                .map(|i| node(&format!("n{i}"), NodeKind::Service))
                .collect(),
            edges: (1..5)
                .map(|i| Edge {
                    from: 0,
                    to: i,
                    kind: EdgeKind::Send,
                    label: String::new(),
                })
                .collect(),
        };
        let l = layout(&many);
        let mut ys: Vec<f64> = l.nodes[1..].iter().map(|p| p.y).collect();
        ys.sort_by(f64::total_cmp);
        assert!(ys.windows(2).all(|w| w[1] - w[0] >= NODE_H));
    }

    #[test]
    fn long_edges_pass_between_the_nodes_of_the_columns_they_cross() {
        // a -> b -> c and a -> c: the long edge gets a waypoint in b's column, beside b.
        let g = Graph {
            nodes: vec![
                node("a", NodeKind::Service),
                node("b", NodeKind::Channel),
                node("c", NodeKind::Service),
            ],
            edges: vec![
                Edge {
                    from: 0,
                    to: 1,
                    kind: EdgeKind::Send,
                    label: String::new(),
                },
                Edge {
                    from: 1,
                    to: 2,
                    kind: EdgeKind::Receive,
                    label: String::new(),
                },
                Edge {
                    from: 0,
                    to: 2,
                    kind: EdgeKind::Bridge,
                    label: String::new(),
                },
            ],
        };
        let l = layout(&g);
        assert_eq!(l.edges[0].len(), 2);
        let route = &l.edges[2];
        assert_eq!(route.len(), 4, "{route:?}");
        let b = l.nodes[1];
        let (wx, wy) = route[1];
        assert!(
            wx >= b.x - 0.1 && route[2].0 <= b.x + b.w + 0.1,
            "inside b's column"
        );
        assert!(wy < b.y || wy > b.y + b.h, "not through b: {wy} vs {b:?}");
        // A backward edge (the cycle's) runs right to left.
        let back = layout(&chain_with_cycle());
        let r = &back.edges[2];
        assert!(r.first().unwrap().0 > r.last().unwrap().0, "{r:?}");
    }

    #[test]
    fn renderers_escape() {
        let g = chain_with_cycle();
        let svg = to_svg(&g, "t<", &|_| Some("a\"b.html".into()));
        assert!(svg.contains("&lt;x&amp;y&gt;") && !svg.contains("<x&y>"));
        assert!(svg.contains("href=\"a&quot;b.html\""));
        let mermaid = to_mermaid(&Graph {
            nodes: vec![node("q\"uote", NodeKind::Service)],
            edges: vec![],
        });
        assert!(mermaid.contains("n0[\"q#quot;uote\"]"), "{mermaid}");
        let dot = to_dot(&g, "x\"y");
        assert!(dot.starts_with("digraph \"x\\\"y\" {"));
        assert!(dot.contains("\"a\" -> \"b\" [label=\"M\"];"), "{dot}");
    }
}
