use tidings::prelude::*;

#[derive(Serialize, Deserialize, JsonSchema, Message)]
struct Ping { n: u32 }

#[tidings::consumer(channel = "pings")]
fn handle(_ping: Ping) {}

fn main() {}
