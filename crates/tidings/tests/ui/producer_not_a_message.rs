use tidings::prelude::*;

struct NotAMessage;

#[tidings::producer(channel = "things")]
static THINGS: Producer<NotAMessage>;

fn main() {}
