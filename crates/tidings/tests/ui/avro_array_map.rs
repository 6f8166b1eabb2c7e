use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use tidings::prelude::*;

#[derive(Serialize, Deserialize, JsonSchema, Message)]
#[message(avro = "tests/ui/avro/kinds.avsc")]
struct Kinds {
    text: String,
    count: i32,
    big: i64,
    ratio: f32,
    precise: f64,
    flag: bool,
    blob: Vec<u8>,
    price: Decimal,
    at: DateTime<Utc>,
    on: NaiveDate,
    id: String,
    maybe: Option<String>,
    tags: Vec<i32>,
    attrs: HashMap<u32, i64>,
}

fn main() {}
