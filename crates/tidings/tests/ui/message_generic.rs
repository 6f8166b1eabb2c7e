use tidings::prelude::*;

#[derive(Serialize, Deserialize, JsonSchema, Message)]
struct Envelope<T> { body: T }

fn main() {}
