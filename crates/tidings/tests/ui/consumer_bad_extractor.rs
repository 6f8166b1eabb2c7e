use tidings::prelude::*;

#[derive(Serialize, Deserialize, JsonSchema, Message)]
struct Ping { n: u32 }

#[tidings::consumer(channel = "pings")]
async fn handle(_ping: Ping, _count: u64) {}

fn main() {}
