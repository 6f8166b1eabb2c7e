//! The order-fulfilment service: consumes `orders.created`, publishes `orders.accepted`.
//! Its handlers live in the library of this package.
//!
//! With `TIDINGS_SERVER_DEFAULT=sqs://...` it consumes `OrderCreated` from SQS (queue
//! `orders-created`); the regional cancellation channels then stay on the embedded
//! broker (see `order_fulfilment::app_on`).

// Links the handlers' crate: registrations travel with the code the binary links.
use order_fulfilment as _;

#[tidings::main]
async fn main() -> Result<(), tidings::Error> {
    let app = tidings::app!();
    // Without a server in the environment the app is left as it is (memory://), and so
    // is its document.
    let app = match std::env::var("TIDINGS_SERVER_DEFAULT") {
        Ok(url) if url.starts_with("sqs://") => order_fulfilment::app_on(app, &url),
        _ => app,
    };
    app.run().await
}
