use tidings::prelude::*;

#[derive(Serialize, Deserialize, JsonSchema, Message)]
struct Ping { n: u32 }

#[tidings::consumer(group = "workers")]
async fn handle(_ping: Ping) {}

fn main() {}
