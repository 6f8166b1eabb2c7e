//! The order-fulfilment service: consumes `orders.created`, publishes `orders.accepted`.
//! Its handlers live in the library of this package.

// Links the handlers' crate: registrations travel with the code the binary links.
use order_fulfilment as _;

#[tidings::main]
async fn main() -> Result<(), tidings::Error> {
    tidings::app!().run().await
}
