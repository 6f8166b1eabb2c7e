#!/usr/bin/env python3
"""Writes a tidings service with K handlers (and K message types), twice: with the
macros (`#[derive(Message)]`, `#[tidings::consumer]`) and hand-wired (the trait impls,
handler functions and registrations the macros would write, by hand). Each is its own
Cargo workspace with path dependencies on this checkout, for benches/build-cost.sh.

  gen_service.py OUT_DIR TIDINGS_ROOT [K=50]
"""
import os, sys

out, root = sys.argv[1], os.path.abspath(sys.argv[2])
k = int(sys.argv[3]) if len(sys.argv) > 3 else 50

def cargo_toml(name):
    return f'''[package]
name = "{name}"
version = "0.1.0"
edition = "2021"
publish = false

[workspace]

[dependencies]
tidings = {{ path = "{root}/crates/tidings" }}
serde = {{ version = "1", features = ["derive"] }}
schemars = "1.2"
tokio = {{ version = "1.44", features = ["rt-multi-thread", "macros"] }}

[profile.dev]
debug = "line-tables-only"
'''

def msg_struct(i, derive_message):
    derives = "Debug, Clone, Serialize, Deserialize, JsonSchema" + (", Message" if derive_message else "")
    attr = f'#[message(name = "Event{i}", version = "1.0.0")]\n' if derive_message else ""
    return f'''/// Event number {i}.
#[derive({derives})]
{attr}pub struct Event{i} {{
    /// Its id.
    pub id: String,
    /// A count.
    pub count: u32,
    /// Tags.
    pub tags: Vec<String>,
}}
'''

def handler_body(i):
    return f'''    if event.count > 1_000_000 {{
        return Err(Error::msg(format!("event {i} too large: {{}}", event.id)));
    }}
    tracing_free_work(&event.id, event.tags.len());
    Ok(())'''

common_tail = '''
fn tracing_free_work(id: &str, n: usize) {
    std::hint::black_box((id.len(), n));
}

#[tidings::main]
async fn main() -> Result<(), tidings::Error> {
    tidings::app!().run().await
}
'''

def macros_main():
    parts = ["//! Generated: a service with %d handlers, written with tidings' macros.\n\nuse tidings::prelude::*;\n" % k]
    for i in range(k):
        parts.append(msg_struct(i, True))
        parts.append(f'''/// Handles event {i}.
#[tidings::consumer(channel = "events.{i}", group = "svc")]
async fn handle_{i}(event: Event{i}, _attempt: Attempt) -> Result<(), Error> {{
{handler_body(i)}
}}
''')
    parts.append(common_tail)
    return "\n".join(parts)

def manual_main():
    parts = ['''//! Generated: the same service with %d handlers, hand-wired: what the macros write,
//! written out by hand (Message impls, type-erased handlers, registrations).

use tidings::prelude::*;
use tidings::__private::{run_worker, ConsumerDecl, HandlerResult, RetryPolicy};
''' % k]
    for i in range(k):
        parts.append(msg_struct(i, False))
        parts.append(f'''impl Message for Event{i} {{
    const NAME: &'static str = "Event{i}";
    const VERSION: Option<&'static str> = Some("1.0.0");
    const DESCRIPTION: Option<&'static str> = Some("Event number {i}.");
    type Codec = tidings::Json;
}}

/// Handles event {i}.
async fn handle_{i}(event: Event{i}, _attempt: Attempt) -> Result<(), Error> {{
{handler_body(i)}
}}

async fn handler_{i}(ctx: Context) -> HandlerResult {{
    let event = tidings::__private::decode::<Event{i}>(&ctx)?;
    let attempt = <Attempt as tidings::FromDelivery>::from_delivery(&ctx)?;
    // No declared key (the macro passes the reply key function here); the reply boxed,
    // as the pipeline takes it.
    tidings::HandlerOutput::into_outgoing(handle_{i}(event, attempt).await, &ctx, None)
        .map(|reply| reply.map(Box::new))
}}

tidings::__private::inventory::submit! {{
    ConsumerDecl {{
        id: "handle_{i}",
        channel: "events.{i}",
        group: Some("svc"),
        message: <Event{i} as Message>::describe,
        reply: None,
        doc: Some("Handles event {i}."),
        source: concat!(module_path!(), "::handle_{i}"),
        concurrency: 0,
        retry: RetryPolicy::DEFAULT,
        // The worker loop around the handler, awaiting its future in place.
        worker: |worker| run_worker(worker, handler_{i}),
    }}
}}
''')
    parts.append(common_tail)
    return "\n".join(parts)

for name, body in (("svc-macros", macros_main()), ("svc-manual", manual_main())):
    d = os.path.join(out, name)
    os.makedirs(os.path.join(d, "src"), exist_ok=True)
    open(os.path.join(d, "Cargo.toml"), "w").write(cargo_toml(name))
    open(os.path.join(d, "src", "main.rs"), "w").write(body)
    print(d)
