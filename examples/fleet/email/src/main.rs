//! email: Forget the customer's mail address (from the NATS mirror). The `nats` server is
//! there for the document: `--asyncapi` never connects; run it locally with `--server
//! nats=memory://`.

use fleet_events::CustomerDataDeletionRequest;

/// Forget the customer's mail address (from the NATS mirror).
#[tidings::consumer(channel = "privacy.deletions", group = "email")]
async fn forget_address(message: CustomerDataDeletionRequest) {
    println!("email: {message:?}");
}

#[tidings::main]
fn main() -> tidings::App {
    tidings::app!()
        .title("email")
        .server("nats", "nats://nats.internal:4222")
}
