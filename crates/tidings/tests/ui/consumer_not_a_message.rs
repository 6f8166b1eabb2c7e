struct NotAMessage;

#[tidings::consumer(channel = "pings")]
async fn handle(_m: NotAMessage) {}

fn main() {}
