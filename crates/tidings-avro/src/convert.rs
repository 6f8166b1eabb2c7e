//! Between serde's JSON data model and Avro values, guided by the schema.
//!
//! Messages go through `serde_json::Value` on their way to and from Avro because that is
//! what their serde impls are written for: `rust_decimal::Decimal` serializes as the
//! string `"12.50"`, `chrono::DateTime<Utc>` as RFC 3339, `NaiveDate` as `2024-05-01`,
//! `Uuid` as its text. The schema says which Avro logical type each of those becomes
//! (decimal bytes at the schema's scale, milliseconds since the epoch, days, ...), so
//! the conversion follows the schema, not the JSON.

use std::collections::HashMap;

use apache_avro::schema::{DecimalSchema, RecordSchema};
use apache_avro::types::Value as Avro;
use apache_avro::Schema;
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, SecondsFormat, Timelike, Utc};
use serde_json::{Map, Number, Value as Json};

use crate::schema::{resolve, Names};

/// A value that does not fit its schema, with where (`items[2].price`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct ConvertError {
    /// Where in the message (`$` is the message itself).
    pub path: String,
    /// What the schema expected.
    pub reason: String,
}

fn err<T>(path: &str, reason: impl Into<String>) -> Result<T, ConvertError> {
    Err(ConvertError { path: path.to_owned(), reason: reason.into() })
}

fn child(path: &str, field: &str) -> String {
    if path == "$" {
        field.to_owned()
    } else {
        format!("{path}.{field}")
    }
}

fn kind(json: &Json) -> &'static str {
    match json {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

/// Converts the JSON form of a message to the Avro value `schema` describes.
pub fn json_to_avro(json: &Json, schema: &Schema, names: &Names) -> Result<Avro, ConvertError> {
    to_avro(json, schema, names, "$")
}

fn to_avro(json: &Json, schema: &Schema, names: &Names, path: &str) -> Result<Avro, ConvertError> {
    let expected = |what: &str| err(path, format!("expected {what}, found {}", kind(json)));
    match (resolve(schema, names), json) {
        (Schema::Ref { name }, _) => err(path, format!("unknown named type `{}`", name.fullname(None))),
        (Schema::Null, Json::Null) => Ok(Avro::Null),
        (Schema::Null, _) => expected("null"),
        (Schema::Boolean, Json::Bool(b)) => Ok(Avro::Boolean(*b)),
        (Schema::Boolean, _) => expected("a boolean"),
        (Schema::Int, Json::Number(n)) => match n.as_i64().and_then(|n| i32::try_from(n).ok()) {
            Some(i) => Ok(Avro::Int(i)),
            None => err(path, format!("{n} is not an Avro int (32-bit)")),
        },
        (Schema::Long, Json::Number(n)) => match n.as_i64() {
            Some(i) => Ok(Avro::Long(i)),
            None => err(path, format!("{n} is not an Avro long (64-bit signed)")),
        },
        (Schema::Int | Schema::Long, _) => expected("an integer"),
        (Schema::Float, Json::Number(n)) => Ok(Avro::Float(n.as_f64().unwrap_or(f64::NAN) as f32)),
        (Schema::Double, Json::Number(n)) => Ok(Avro::Double(n.as_f64().unwrap_or(f64::NAN))),
        (Schema::Float | Schema::Double, _) => expected("a number"),
        (Schema::String, Json::String(s)) => Ok(Avro::String(s.clone())),
        (Schema::String, _) => expected("a string"),
        (Schema::Bytes, _) => Ok(Avro::Bytes(bytes(json, None, path)?)),
        (Schema::Fixed(f), _) => Ok(Avro::Fixed(f.size, bytes(json, Some(f.size), path)?)),
        (Schema::Uuid, Json::String(s)) => match uuid::Uuid::parse_str(s) {
            Ok(u) => Ok(Avro::Uuid(u)),
            Err(e) => err(path, format!("`{s}` is not a UUID: {e}")),
        },
        (Schema::Uuid, _) => expected("a UUID string"),
        (Schema::Decimal(d), _) => decimal_to_avro(json, d, path),
        (Schema::Date, Json::String(s)) => match NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            Ok(d) => Ok(Avro::Date((d - epoch_day()).num_days() as i32)),
            Err(e) => err(path, format!("`{s}` is not a date (YYYY-MM-DD): {e}")),
        },
        (Schema::Date, Json::Number(n)) => int_of(n, path).map(Avro::Date),
        (Schema::TimeMillis, Json::String(s)) => time_of(s, path).map(|(sec, nano)| Avro::TimeMillis(sec as i32 * 1000 + (nano / 1_000_000) as i32)),
        (Schema::TimeMicros, Json::String(s)) => time_of(s, path).map(|(sec, nano)| Avro::TimeMicros(sec as i64 * 1_000_000 + (nano / 1000) as i64)),
        (Schema::TimestampMillis, Json::String(s)) => instant(s, path).map(|t| Avro::TimestampMillis(t.timestamp_millis())),
        (Schema::TimestampMicros, Json::String(s)) => instant(s, path).map(|t| Avro::TimestampMicros(t.timestamp_micros())),
        (Schema::TimestampNanos, Json::String(s)) => match instant(s, path)?.timestamp_nanos_opt() {
            Some(n) => Ok(Avro::TimestampNanos(n)),
            None => err(path, format!("`{s}` is out of the range of timestamp-nanos")),
        },
        (Schema::LocalTimestampMillis, Json::String(s)) => local(s, path).map(|t| Avro::LocalTimestampMillis(t.and_utc().timestamp_millis())),
        (Schema::LocalTimestampMicros, Json::String(s)) => local(s, path).map(|t| Avro::LocalTimestampMicros(t.and_utc().timestamp_micros())),
        (Schema::LocalTimestampNanos, Json::String(s)) => match local(s, path)?.and_utc().timestamp_nanos_opt() {
            Some(n) => Ok(Avro::LocalTimestampNanos(n)),
            None => err(path, format!("`{s}` is out of the range of local-timestamp-nanos")),
        },
        // Numbers are taken as they are: a type with its own serde (`ts_milliseconds`).
        (Schema::TimeMillis, Json::Number(n)) => int_of(n, path).map(Avro::TimeMillis),
        (Schema::TimeMicros, Json::Number(n)) => long_of(n, path).map(Avro::TimeMicros),
        (Schema::TimestampMillis, Json::Number(n)) => long_of(n, path).map(Avro::TimestampMillis),
        (Schema::TimestampMicros, Json::Number(n)) => long_of(n, path).map(Avro::TimestampMicros),
        (Schema::TimestampNanos, Json::Number(n)) => long_of(n, path).map(Avro::TimestampNanos),
        (Schema::LocalTimestampMillis, Json::Number(n)) => long_of(n, path).map(Avro::LocalTimestampMillis),
        (Schema::LocalTimestampMicros, Json::Number(n)) => long_of(n, path).map(Avro::LocalTimestampMicros),
        (Schema::LocalTimestampNanos, Json::Number(n)) => long_of(n, path).map(Avro::LocalTimestampNanos),
        (
            Schema::Date
            | Schema::TimeMillis
            | Schema::TimeMicros
            | Schema::TimestampMillis
            | Schema::TimestampMicros
            | Schema::TimestampNanos
            | Schema::LocalTimestampMillis
            | Schema::LocalTimestampMicros
            | Schema::LocalTimestampNanos,
            _,
        ) => expected("a date or time string"),
        (Schema::Array(a), Json::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, item)| to_avro(item, &a.items, names, &format!("{path}[{i}]")))
            .collect::<Result<_, _>>()
            .map(Avro::Array),
        (Schema::Array(_), _) => expected("an array"),
        (Schema::Map(m), Json::Object(entries)) => entries
            .iter()
            .map(|(k, v)| Ok((k.clone(), to_avro(v, &m.types, names, &child(path, k))?)))
            .collect::<Result<HashMap<_, _>, _>>()
            .map(Avro::Map),
        (Schema::Map(_), _) => expected("an object (a map)"),
        (Schema::Enum(e), Json::String(s)) => match e.symbols.iter().position(|x| x == s) {
            Some(i) => Ok(Avro::Enum(i as u32, s.clone())),
            None => err(path, format!("`{s}` is not a symbol of enum {}: {}", e.name.name, e.symbols.join(", "))),
        },
        (Schema::Enum(_), _) => expected("an enum symbol (a string)"),
        (Schema::Union(u), _) => {
            let variants = u.variants();
            if json.is_null() {
                if let Some(i) = variants.iter().position(|v| matches!(v, Schema::Null)) {
                    return Ok(Avro::Union(i as u32, Box::new(Avro::Null)));
                }
            }
            let mut reasons = Vec::new();
            for (i, v) in variants.iter().enumerate() {
                if matches!(v, Schema::Null) {
                    continue;
                }
                match to_avro(json, v, names, path) {
                    Ok(value) => return Ok(Avro::Union(i as u32, Box::new(value))),
                    Err(e) => reasons.push(e.reason),
                }
            }
            err(path, format!("fits no branch of the union: {}", reasons.join("; ")))
        }
        (Schema::Record(r), Json::Object(obj)) => record_to_avro(obj, r, names, path),
        (Schema::Record(r), _) => expected(&format!("an object (record {})", r.name.name)),
        (Schema::BigDecimal | Schema::Duration, _) => {
            err(path, format!("the Avro type {schema:?} is not supported by tidings' Avro codec"))
        }
    }
}

fn record_to_avro(obj: &Map<String, Json>, r: &RecordSchema, names: &Names, path: &str) -> Result<Avro, ConvertError> {
    let mut fields = Vec::with_capacity(r.fields.len());
    for f in &r.fields {
        let at = child(path, &f.name);
        let value = match (obj.get(&f.name), &f.default) {
            (Some(v), _) => to_avro(v, &f.schema, names, &at)?,
            // Absent (`skip_serializing_if`): the schema's default, which is written in
            // the JSON of the union's first branch.
            (None, Some(default)) => match resolve(&f.schema, names) {
                Schema::Union(u) if !u.variants().is_empty() => {
                    Avro::Union(0, Box::new(to_avro(default, &u.variants()[0], names, &at)?))
                }
                _ => to_avro(default, &f.schema, names, &at)?,
            },
            (None, None) => to_avro(&Json::Null, &f.schema, names, &at)
                .map_err(|_| ConvertError { path: at.clone(), reason: "missing, and the schema gives no default".into() })?,
        };
        fields.push((f.name.clone(), value));
    }
    if let Some(extra) = obj.keys().find(|k| !r.lookup.contains_key(*k)) {
        return err(&child(path, extra), format!("not a field of record {}", r.name.name));
    }
    Ok(Avro::Record(fields))
}

fn bytes(json: &Json, size: Option<usize>, path: &str) -> Result<Vec<u8>, ConvertError> {
    let Json::Array(items) = json else {
        return err(path, format!("expected bytes (an array of numbers), found {}", kind(json)));
    };
    let out = items
        .iter()
        .map(|b| b.as_u64().and_then(|b| u8::try_from(b).ok()))
        .collect::<Option<Vec<u8>>>();
    match (out, size) {
        (None, _) => err(path, "expected bytes: numbers from 0 to 255"),
        (Some(b), Some(n)) if b.len() != n => err(path, format!("expected exactly {n} bytes, found {}", b.len())),
        (Some(b), _) => Ok(b),
    }
}

fn int_of(n: &Number, path: &str) -> Result<i32, ConvertError> {
    n.as_i64().and_then(|n| i32::try_from(n).ok()).map_or_else(|| err(path, format!("{n} is not a 32-bit integer")), Ok)
}

fn long_of(n: &Number, path: &str) -> Result<i64, ConvertError> {
    n.as_i64().map_or_else(|| err(path, format!("{n} is not a 64-bit integer")), Ok)
}

fn epoch_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default()
}

fn instant(s: &str, path: &str) -> Result<DateTime<Utc>, ConvertError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .or_else(|e| err(path, format!("`{s}` is not an RFC 3339 timestamp: {e}")))
}

fn local(s: &str, path: &str) -> Result<NaiveDateTime, ConvertError> {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .or_else(|e| err(path, format!("`{s}` is not a local date-time (YYYY-MM-DDTHH:MM:SS): {e}")))
}

fn time_of(s: &str, path: &str) -> Result<(u32, u32), ConvertError> {
    NaiveTime::parse_from_str(s, "%H:%M:%S%.f")
        .map(|t| (t.num_seconds_from_midnight(), t.nanosecond()))
        .or_else(|e| err(path, format!("`{s}` is not a time of day (HH:MM:SS): {e}")))
}

/// A decimal (its string, or a number) as the two's-complement big-endian unscaled
/// integer at the schema's scale; more decimal places than the scale, or more digits
/// than the precision, is an error rather than a silent rounding.
fn decimal_to_avro(json: &Json, d: &DecimalSchema, path: &str) -> Result<Avro, ConvertError> {
    let text = match json {
        Json::String(s) => s.clone(),
        Json::Number(n) => n.to_string(),
        other => return err(path, format!("expected a decimal (a string such as \"12.50\"), found {}", kind(other))),
    };
    let parsed = text
        .parse::<rust_decimal::Decimal>()
        .or_else(|_| rust_decimal::Decimal::from_scientific(&text))
        .or_else(|e| err(path, format!("`{text}` is not a decimal: {e}")))?;
    let mut value = parsed;
    if value.scale() as usize > d.scale {
        value = value.normalize();
    }
    if value.scale() as usize > d.scale {
        return err(path, format!("`{text}` has more than the {} decimal places of decimal({}, {})", d.scale, d.precision, d.scale));
    }
    if d.scale > 28 {
        return err(path, format!("decimal scale {} is beyond rust_decimal's 28", d.scale));
    }
    value.rescale(d.scale as u32);
    let unscaled = value.mantissa();
    let digits = unscaled.unsigned_abs().checked_ilog10().map_or(1, |l| l as usize + 1);
    if digits > d.precision {
        return err(path, format!("`{text}` has more than the {} digits of decimal({}, {})", d.precision, d.precision, d.scale));
    }
    let mut bytes = twos_complement(unscaled);
    if let Schema::Fixed(f) = d.inner.as_ref() {
        if bytes.len() > f.size {
            return err(path, format!("`{text}` does not fit the {} bytes of its fixed", f.size));
        }
        let pad = if unscaled < 0 { 0xff } else { 0 };
        let mut padded = vec![pad; f.size - bytes.len()];
        padded.append(&mut bytes);
        bytes = padded;
    }
    Ok(Avro::Decimal(apache_avro::Decimal::from(bytes)))
}

/// The shortest big-endian two's-complement bytes of `n`.
fn twos_complement(n: i128) -> Vec<u8> {
    let all = n.to_be_bytes();
    let mut start = 0;
    while start < all.len() - 1 {
        let (b, next) = (all[start], all[start + 1]);
        let redundant = (b == 0x00 && next & 0x80 == 0) || (b == 0xff && next & 0x80 != 0);
        if !redundant {
            break;
        }
        start += 1;
    }
    all[start..].to_vec()
}

fn from_twos_complement(bytes: &[u8], path: &str) -> Result<i128, ConvertError> {
    if bytes.len() > 16 {
        return err(path, format!("a decimal of {} bytes exceeds 128 bits", bytes.len()));
    }
    let fill = if bytes.first().is_some_and(|b| b & 0x80 != 0) { 0xff } else { 0 };
    let mut all = [fill; 16];
    all[16 - bytes.len()..].copy_from_slice(bytes);
    Ok(i128::from_be_bytes(all))
}

/// Converts a decoded Avro value (already resolved to `schema`, the reader's) to the
/// JSON form its Rust type deserializes from.
pub fn avro_to_json(value: &Avro, schema: &Schema, names: &Names) -> Result<Json, ConvertError> {
    to_json(value, schema, names, "$")
}

fn to_json(value: &Avro, schema: &Schema, names: &Names, path: &str) -> Result<Json, ConvertError> {
    let schema = resolve(schema, names);
    Ok(match value {
        Avro::Null => Json::Null,
        Avro::Boolean(b) => Json::Bool(*b),
        Avro::Int(i) => Json::from(*i),
        Avro::Long(i) => Json::from(*i),
        Avro::Float(f) => float(*f as f64, path)?,
        Avro::Double(f) => float(*f, path)?,
        Avro::Bytes(b) | Avro::Fixed(_, b) => Json::Array(b.iter().map(|b| Json::from(*b)).collect()),
        Avro::String(s) | Avro::Enum(_, s) => Json::String(s.clone()),
        Avro::Uuid(u) => Json::String(u.to_string()),
        Avro::Union(i, inner) => {
            let branch = match schema {
                Schema::Union(u) => u.variants().get(*i as usize),
                _ => None,
            };
            match branch {
                Some(b) => to_json(inner, b, names, path)?,
                None => return err(path, format!("union branch {i} is not in the reader's schema")),
            }
        }
        Avro::Array(items) => {
            let Schema::Array(a) = schema else { return err(path, "an array where the schema has none") };
            Json::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| to_json(v, &a.items, names, &format!("{path}[{i}]")))
                    .collect::<Result<_, _>>()?,
            )
        }
        Avro::Map(entries) => {
            let Schema::Map(m) = schema else { return err(path, "a map where the schema has none") };
            let mut keys: Vec<&String> = entries.keys().collect();
            keys.sort();
            let mut out = Map::new();
            for k in keys {
                out.insert(k.clone(), to_json(&entries[k], &m.types, names, &child(path, k))?);
            }
            Json::Object(out)
        }
        Avro::Record(fields) => {
            let Schema::Record(r) = schema else { return err(path, "a record where the schema has none") };
            let mut out = Map::new();
            for (name, v) in fields {
                let Some(f) = r.lookup.get(name).and_then(|i| r.fields.get(*i)) else {
                    return err(&child(path, name), format!("not a field of record {}", r.name.name));
                };
                out.insert(name.clone(), to_json(v, &f.schema, names, &child(path, name))?);
            }
            Json::Object(out)
        }
        Avro::Decimal(d) => {
            let Schema::Decimal(ds) = schema else { return err(path, "a decimal where the schema has none") };
            let bytes = Vec::<u8>::try_from(d).or_else(|e| err(path, format!("unreadable decimal: {e}")))?;
            let unscaled = from_twos_complement(&bytes, path)?;
            match rust_decimal::Decimal::try_from_i128_with_scale(unscaled, ds.scale as u32) {
                Ok(d) => Json::String(d.to_string()),
                Err(e) => return err(path, format!("decimal out of rust_decimal's range: {e}")),
            }
        }
        Avro::Date(days) => {
            let date = epoch_day().checked_add_signed(chrono::Duration::days(*days as i64));
            Json::String(date.map_or_else(|| days.to_string(), |d| d.format("%Y-%m-%d").to_string()))
        }
        Avro::TimeMillis(ms) => time_json(*ms as i64 * 1_000_000, path)?,
        Avro::TimeMicros(us) => time_json(us * 1000, path)?,
        Avro::TimestampMillis(ms) => instant_json(DateTime::from_timestamp_millis(*ms), path)?,
        Avro::TimestampMicros(us) => instant_json(DateTime::from_timestamp_micros(*us), path)?,
        Avro::TimestampNanos(ns) => instant_json(Some(DateTime::from_timestamp_nanos(*ns)), path)?,
        Avro::LocalTimestampMillis(ms) => local_json(DateTime::from_timestamp_millis(*ms), path)?,
        Avro::LocalTimestampMicros(us) => local_json(DateTime::from_timestamp_micros(*us), path)?,
        Avro::LocalTimestampNanos(ns) => local_json(Some(DateTime::from_timestamp_nanos(*ns)), path)?,
        Avro::BigDecimal(_) | Avro::Duration(_) => {
            return err(path, "big-decimal and duration are not supported by tidings' Avro codec")
        }
    })
}

/// Reads a value decoded with the writer's schema as the reader's schema says, by the
/// Avro specification's resolution rules, straight into the reader type's JSON form:
/// reader fields missing from the writer take their defaults, writer fields the reader
/// lacks are skipped, numbers promote, enum symbols unknown to the reader take its
/// default, union branches are matched by type.
///
/// Why not apache-avro's `Value::resolve`: it rejects bytes-backed decimals whose byte
/// length could not hold the schema's full precision (a short, valid encoding of a
/// small amount such as 39.80 at precision 10), which every other Avro library writes.
pub fn read_as(value: &Avro, writer: &crate::Contract, reader: &crate::Contract) -> Result<Json, ConvertError> {
    Reader { writer: &writer.names, reader: &reader.names }.read(value, &writer.schema, &reader.schema, "$")
}

struct Reader<'a> {
    writer: &'a Names,
    reader: &'a Names,
}

impl Reader<'_> {
    fn read(&self, value: &Avro, w: &Schema, r: &Schema, path: &str) -> Result<Json, ConvertError> {
        let (w, r) = (resolve(w, self.writer), resolve(r, self.reader));
        if let (Schema::Union(wu), Avro::Union(i, inner)) = (w, value) {
            let Some(branch) = wu.variants().get(*i as usize) else {
                return err(path, format!("union branch {i} is not in the writer's schema"));
            };
            return self.read(inner, branch, r, path);
        }
        if let Schema::Union(ru) = r {
            if let Some(branch) = ru.variants().iter().find(|b| self.matches(w, b)) {
                return self.read(value, w, branch, path);
            }
            return err(path, format!("the writer's {} matches no branch of the reader's {}", crate::compat::describe(w), crate::compat::describe(r)));
        }
        match (value, r) {
            (Avro::Record(fields), Schema::Record(rr)) => {
                let Schema::Record(wr) = w else { return err(path, "a record where the writer's schema has none") };
                let mut out = Map::new();
                for rf in &rr.fields {
                    let at = child(path, &rf.name);
                    let written = wr.fields.iter().position(|wf| {
                        wf.name == rf.name || rf.aliases.as_ref().is_some_and(|a| a.contains(&wf.name))
                    });
                    let json = match (written, &rf.default) {
                        (Some(i), _) => match fields.get(i) {
                            Some((_, v)) => self.read(v, &wr.fields[i].schema, &rf.schema, &at)?,
                            None => return err(&at, "missing from the written record"),
                        },
                        (None, Some(default)) => default_json(default, &rf.schema, self.reader, &at)?,
                        (None, None) => {
                            return err(&at, "the reader's field has no default and the writer did not write it")
                        }
                    };
                    out.insert(rf.name.clone(), json);
                }
                Ok(Json::Object(out))
            }
            (Avro::Enum(_, symbol), Schema::Enum(re)) => {
                if re.symbols.contains(symbol) {
                    Ok(Json::String(symbol.clone()))
                } else if let Some(d) = &re.default {
                    Ok(Json::String(d.clone()))
                } else {
                    err(path, format!("symbol `{symbol}` is unknown to the reader's enum {}, which has no default", re.name.name))
                }
            }
            (Avro::Array(items), Schema::Array(ra)) => {
                let Schema::Array(wa) = w else { return err(path, "an array where the writer's schema has none") };
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| self.read(v, &wa.items, &ra.items, &format!("{path}[{i}]")))
                    .collect::<Result<Vec<_>, _>>()
                    .map(Json::Array)
            }
            (Avro::Map(entries), Schema::Map(rm)) => {
                let Schema::Map(wm) = w else { return err(path, "a map where the writer's schema has none") };
                let mut keys: Vec<&String> = entries.keys().collect();
                keys.sort();
                let mut out = Map::new();
                for k in keys {
                    out.insert(k.clone(), self.read(&entries[k], &wm.types, &rm.types, &child(path, k))?);
                }
                Ok(Json::Object(out))
            }
            // Promotions: the JSON of a number is the same number.
            (Avro::Int(i), Schema::Long | Schema::Float | Schema::Double) => Ok(Json::from(*i)),
            (Avro::Long(i), Schema::Float | Schema::Double) => Ok(Json::from(*i)),
            (Avro::Float(f), Schema::Double) => float(*f as f64, path),
            (Avro::String(s), Schema::Bytes) => Ok(Json::Array(s.bytes().map(Json::from).collect())),
            (Avro::Bytes(b), Schema::String) => match String::from_utf8(b.clone()) {
                Ok(s) => Ok(Json::String(s)),
                Err(_) => err(path, "bytes that are not UTF-8 cannot be read as a string"),
            },
            // Same type: the writer's value as the writer's schema means it (the scale of
            // a decimal, the unit of a timestamp).
            _ => to_json(value, w, self.writer, path),
        }
    }

    fn matches(&self, w: &Schema, r: &Schema) -> bool {
        let (w, r) = (resolve(w, self.writer), resolve(r, self.reader));
        match (w, r) {
            (Schema::Record(a), Schema::Record(b)) => a.name.name == b.name.name,
            (Schema::Enum(a), Schema::Enum(b)) => a.name.name == b.name.name,
            (Schema::Fixed(a), Schema::Fixed(b)) => a.name.name == b.name.name,
            (Schema::Int, Schema::Long | Schema::Float | Schema::Double)
            | (Schema::Long, Schema::Float | Schema::Double)
            | (Schema::Float, Schema::Double)
            | (Schema::String, Schema::Bytes)
            | (Schema::Bytes, Schema::String) => true,
            _ => std::mem::discriminant(w) == std::mem::discriminant(r),
        }
    }
}

/// A field default (written in Avro's JSON encoding, for a union in its first branch's
/// type) in the JSON form the reader's Rust type deserializes from.
fn default_json(default: &Json, schema: &Schema, names: &Names, path: &str) -> Result<Json, ConvertError> {
    let schema = match resolve(schema, names) {
        Schema::Union(u) => u.variants().first().map_or(schema, |s| resolve(s, names)),
        other => other,
    };
    // Avro writes bytes defaults as strings of code points 0-255.
    let as_bytes = |s: &str| s.chars().map(|c| c as u32).collect::<Vec<u32>>();
    match (schema, default) {
        (Schema::Bytes | Schema::Fixed(_), Json::String(s)) => Ok(Json::Array(as_bytes(s).into_iter().map(Json::from).collect())),
        (Schema::Decimal(d), Json::String(s)) => {
            let bytes: Vec<u8> = as_bytes(s).into_iter().map(|c| c as u8).collect();
            let unscaled = from_twos_complement(&bytes, path)?;
            rust_decimal::Decimal::try_from_i128_with_scale(unscaled, d.scale as u32)
                .map(|v| Json::String(v.to_string()))
                .or_else(|e| err(path, format!("default decimal out of range: {e}")))
        }
        (Schema::Record(r), Json::Object(obj)) => {
            let mut out = Map::new();
            for f in &r.fields {
                if let Some(v) = obj.get(&f.name).or(f.default.as_ref()) {
                    out.insert(f.name.clone(), default_json(v, &f.schema, names, &child(path, &f.name))?);
                }
            }
            Ok(Json::Object(out))
        }
        (Schema::Array(a), Json::Array(items)) => items
            .iter()
            .map(|v| default_json(v, &a.items, names, path))
            .collect::<Result<Vec<_>, _>>()
            .map(Json::Array),
        (Schema::Map(m), Json::Object(entries)) => {
            let mut out = Map::new();
            for (k, v) in entries {
                out.insert(k.clone(), default_json(v, &m.types, names, &child(path, k))?);
            }
            Ok(Json::Object(out))
        }
        // Dates and timestamps default to numbers: their Avro values give the JSON form.
        (_, Json::Number(_)) => match to_avro(default, schema, names, path) {
            Ok(v) => to_json(&v, schema, names, path),
            Err(_) => Ok(default.clone()),
        },
        _ => Ok(default.clone()),
    }
}

fn float(f: f64, path: &str) -> Result<Json, ConvertError> {
    Number::from_f64(f).map(Json::Number).map_or_else(|| err(path, format!("{f} has no JSON form")), Ok)
}

fn instant_json(t: Option<DateTime<Utc>>, path: &str) -> Result<Json, ConvertError> {
    match t {
        Some(t) => Ok(Json::String(t.to_rfc3339_opts(SecondsFormat::AutoSi, true))),
        None => err(path, "timestamp out of range"),
    }
}

fn local_json(t: Option<DateTime<Utc>>, path: &str) -> Result<Json, ConvertError> {
    match t {
        Some(t) => Ok(Json::String(t.naive_utc().format("%Y-%m-%dT%H:%M:%S%.f").to_string())),
        None => err(path, "local timestamp out of range"),
    }
}

fn time_json(nanos: i64, path: &str) -> Result<Json, ConvertError> {
    let secs = nanos.div_euclid(1_000_000_000);
    let sub = nanos.rem_euclid(1_000_000_000);
    match NaiveTime::from_num_seconds_from_midnight_opt(secs as u32, sub as u32) {
        Some(t) => Ok(Json::String(t.format("%H:%M:%S%.f").to_string())),
        None => err(path, "time of day out of range"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Contract;
    use serde_json::json;

    const ORDER: &str = r#"{"type":"record","name":"Order","namespace":"shop","fields":[
        {"name":"id","type":"string"},
        {"name":"quantity","type":"int"},
        {"name":"total","type":{"type":"bytes","logicalType":"decimal","precision":10,"scale":2}},
        {"name":"placed_at","type":{"type":"long","logicalType":"timestamp-millis"}},
        {"name":"placed_at_us","type":{"type":"long","logicalType":"timestamp-micros"}},
        {"name":"ship_on","type":{"type":"int","logicalType":"date"}},
        {"name":"ref","type":{"type":"string","logicalType":"uuid"}},
        {"name":"note","type":["null","string"],"default":null},
        {"name":"tags","type":{"type":"array","items":"string"}},
        {"name":"attrs","type":{"type":"map","values":"long"}},
        {"name":"status","type":{"type":"enum","name":"Status","symbols":["NEW","PAID"]}},
        {"name":"item","type":{"type":"record","name":"Item","fields":[{"name":"sku","type":"string"}]}},
        {"name":"spare","type":["null","Item"],"default":null},
        {"name":"priority","type":"string","default":"normal"}]}"#;

    fn sample() -> Json {
        json!({
            "id": "o-1", "quantity": 3, "total": "-12.5",
            "placed_at": "2024-05-01T10:20:30.123Z", "placed_at_us": "2024-05-01T10:20:30.123456Z",
            "ship_on": "2024-05-03", "ref": "67e55044-10b1-426f-9247-bb680e5fe0c8",
            "note": null, "tags": ["a", "b"], "attrs": {"x": 1}, "status": "PAID",
            "item": {"sku": "s-1"}, "spare": {"sku": "s-2"}, "priority": "high"
        })
    }

    #[test]
    fn every_supported_type_round_trips_through_avro_binary() {
        let c = Contract::parse(ORDER).unwrap();
        let value = json_to_avro(&sample(), &c.schema, &c.names).unwrap();
        let bytes = apache_avro::to_avro_datum(&c.schema, value).unwrap();
        let back = apache_avro::from_avro_datum(&c.schema, &mut &bytes[..], None).unwrap();
        let mut expected = sample();
        expected["total"] = json!("-12.50");
        assert_eq!(avro_to_json(&back, &c.schema, &c.names).unwrap(), expected);
    }

    #[test]
    fn logical_types_use_the_avro_representations() {
        let c = Contract::parse(ORDER).unwrap();
        let Avro::Record(fields) = json_to_avro(&sample(), &c.schema, &c.names).unwrap() else { panic!() };
        let get = |n: &str| fields.iter().find(|(k, _)| k == n).unwrap().1.clone();
        assert_eq!(get("placed_at"), Avro::TimestampMillis(1_714_558_830_123));
        assert_eq!(get("placed_at_us"), Avro::TimestampMicros(1_714_558_830_123_456));
        assert_eq!(get("ship_on"), Avro::Date(19_846));
        // -12.50 at scale 2 is -1250 = 0xFB1E.
        assert_eq!(get("total"), Avro::Decimal(apache_avro::Decimal::from(vec![0xfb, 0x1e])));
        assert_eq!(get("note"), Avro::Union(0, Box::new(Avro::Null)));
        assert_eq!(get("status"), Avro::Enum(1, "PAID".into()));
    }

    #[test]
    fn absent_fields_take_the_schema_default() {
        let c = Contract::parse(ORDER).unwrap();
        let mut j = sample();
        let obj = j.as_object_mut().unwrap();
        obj.remove("priority");
        obj.remove("note");
        let Avro::Record(fields) = json_to_avro(&j, &c.schema, &c.names).unwrap() else { panic!() };
        assert!(fields.contains(&("priority".into(), Avro::String("normal".into()))));
        assert!(fields.contains(&("note".into(), Avro::Union(0, Box::new(Avro::Null)))));
    }

    #[test]
    fn mismatches_say_where_and_what() {
        let c = Contract::parse(ORDER).unwrap();
        let cases = [
            ("quantity", json!("3"), "quantity: expected an integer, found a string"),
            ("quantity", json!(1u64 << 40), "is not an Avro int"),
            ("total", json!("1.234"), "more than the 2 decimal places"),
            ("total", json!("123456789.00"), "more than the 10 digits"),
            ("status", json!("LOST"), "`LOST` is not a symbol of enum Status: NEW, PAID"),
            ("ref", json!("nope"), "is not a UUID"),
            ("ship_on", json!("3 May"), "is not a date"),
        ];
        for (field, bad, want) in cases {
            let mut j = sample();
            j[field] = bad;
            let e = json_to_avro(&j, &c.schema, &c.names).unwrap_err().to_string();
            assert!(e.contains(want), "{field}: {e}");
        }
        let mut j = sample();
        j["surprise"] = json!(1);
        assert_eq!(json_to_avro(&j, &c.schema, &c.names).unwrap_err().to_string(), "surprise: not a field of record Order");
        let mut j = sample();
        j["item"] = json!({});
        assert_eq!(json_to_avro(&j, &c.schema, &c.names).unwrap_err().to_string(), "item.sku: missing, and the schema gives no default");
    }

    fn read(writer: &str, reader: &str, value: Json) -> Result<Json, ConvertError> {
        let (w, r) = (Contract::parse(writer).unwrap(), Contract::parse(reader).unwrap());
        let avro = json_to_avro(&value, &w.schema, &w.names).unwrap();
        let bytes = apache_avro::to_avro_datum(&w.schema, avro).unwrap();
        let decoded = apache_avro::from_avro_datum(&w.schema, &mut &bytes[..], None).unwrap();
        read_as(&decoded, &w, &r)
    }

    fn rec(fields: &str) -> String {
        format!(r#"{{"type":"record","name":"R","fields":[{fields}]}}"#)
    }

    #[test]
    fn reading_with_another_schema_follows_the_resolution_rules() {
        // A short decimal encoding (39.80 in 2 bytes) at precision 10 reads fine.
        let dec = rec(r#"{"name":"d","type":{"type":"bytes","logicalType":"decimal","precision":10,"scale":2}}"#);
        assert_eq!(read(&dec, &dec, json!({"d": "39.80"})).unwrap(), json!({"d": "39.80"}));
        // Added with a default, removed, promoted.
        let w = rec(r#"{"name":"a","type":"int"},{"name":"gone","type":"string"}"#);
        let r = rec(r#"{"name":"a","type":"double"},{"name":"p","type":"string","default":"normal"},{"name":"b","type":"bytes","default":"\u00ff"},{"name":"n","type":["null","long"],"default":null}"#);
        assert_eq!(read(&w, &r, json!({"a": 3, "gone": "x"})).unwrap(), json!({"a": 3, "p": "normal", "b": [255], "n": null}));
        // A plain writer value into a reader union, and a writer union into a plain reader.
        let plain = rec(r#"{"name":"x","type":"int"}"#);
        let union = rec(r#"{"name":"x","type":["null","long"]}"#);
        assert_eq!(read(&plain, &union, json!({"x": 5})).unwrap(), json!({"x": 5}));
        assert_eq!(read(&union, &plain.replace("int", "long"), json!({"x": 6})).unwrap(), json!({"x": 6}));
        // Enum symbols: unknown ones take the reader's default, or fail.
        let e3 = rec(r#"{"name":"s","type":{"type":"enum","name":"S","symbols":["A","B","C"]}}"#);
        let e2d = rec(r#"{"name":"s","type":{"type":"enum","name":"S","symbols":["A","B","X"],"default":"X"}}"#);
        let e2 = rec(r#"{"name":"s","type":{"type":"enum","name":"S","symbols":["A","B"]}}"#);
        assert_eq!(read(&e3, &e2d, json!({"s": "C"})).unwrap(), json!({"s": "X"}));
        assert_eq!(read(&e3, &e2, json!({"s": "B"})).unwrap(), json!({"s": "B"}));
        assert!(read(&e3, &e2, json!({"s": "C"})).unwrap_err().reason.contains("unknown to the reader"));
        // A reader field without default that the writer lacks.
        let need = rec(r#"{"name":"a","type":"int"},{"name":"must","type":"string"}"#);
        assert_eq!(read(&plain.replace("\"x\"", "\"a\""), &need, json!({"a": 1})).unwrap_err().path, "must");
        // Field aliases.
        let renamed = rec(r#"{"name":"y","aliases":["x"],"type":"int"}"#);
        assert_eq!(read(&plain, &renamed, json!({"x": 9})).unwrap(), json!({"y": 9}));
    }

    #[test]
    fn twos_complement_is_minimal_and_reversible() {
        for (n, bytes) in [(0i128, vec![0u8]), (127, vec![0x7f]), (128, vec![0, 0x80]), (-1, vec![0xff]), (-129, vec![0xff, 0x7f])] {
            assert_eq!(twos_complement(n), bytes, "{n}");
            assert_eq!(from_twos_complement(&bytes, "$").unwrap(), n);
        }
    }
}
