use tidings::prelude::*;

#[derive(Serialize, Deserialize, JsonSchema, Message)]
#[message(name = "Ping", topic = "pings")]
struct Ping { n: u32 }

fn main() {}
