//! A service whose message contract is an `.avsc` file: `--asyncapi` prints the
//! document with the Avro schema as the payload.

// Links the library: registrations travel with the code the binary links.
use order_avro as _;

#[tidings::main]
fn main() -> tidings::App {
    tidings::app!()
}
