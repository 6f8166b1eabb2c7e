#[tidings::consumer(channel = "pings")]
async fn handle() {}

fn main() {}
