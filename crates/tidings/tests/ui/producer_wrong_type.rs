#[tidings::producer(channel = "things")]
static THINGS: Vec<u8>;

fn main() {}
