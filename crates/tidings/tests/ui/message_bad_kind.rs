use tidings::prelude::*;

#[derive(Serialize, Deserialize, JsonSchema, Message)]
#[message(kind = "notification")]
struct Ping { n: u32 }

fn main() {}
