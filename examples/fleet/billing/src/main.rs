//! billing: Erase the customer's invoices (straight from the Kafka topic). The `kafka`
//! server is there for the document: `--asyncapi` never connects; run it locally with
//! `--server kafka=memory://`.

use fleet_events::CustomerDataDeletionRequest;

/// Erase the customer's invoices (straight from the Kafka topic).
#[tidings::consumer(channel = "privacy.deletion-requests", group = "billing")]
async fn erase_invoices(message: CustomerDataDeletionRequest) {
    println!("billing: {message:?}");
}

#[tidings::main]
fn main() -> tidings::App {
    tidings::app!()
        .title("billing")
        .server("kafka", "kafka://kafka.internal:9092")
}
