use tidings::prelude::*;

#[derive(Serialize, Deserialize, JsonSchema, Message)]
struct Ping { n: u32 }

#[derive(Serialize, Deserialize, JsonSchema, Message)]
struct Pong { n: u32 }

#[tidings::consumer(channel = "pings")]
async fn handle(ping: Ping) -> Pong {
    Pong { n: ping.n }
}

fn main() {}
