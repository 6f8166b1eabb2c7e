use rust_decimal::Decimal;
use tidings::prelude::*;

// decimal(38, 2) does not fit rust_decimal's 28 digits.
#[derive(Serialize, Deserialize, JsonSchema, Message)]
#[message(avro = "tests/ui/avro/big_decimal.avsc")]
struct Ledger {
    amount: Decimal,
}

fn main() {}
