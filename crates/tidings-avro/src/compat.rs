//! Schema compatibility by the Avro specification's schema resolution rules
//! (<https://avro.apache.org/docs/1.11.1/specification/#schema-resolution>), with a
//! reason for every incompatibility, and the registry's compatibility levels on top.
//!
//! `can_read(writer, reader)` answers: can data written with `writer` be read with
//! `reader`? The levels then ask it in one direction or both, against the latest
//! version or all of them:
//! - BACKWARD: the new schema reads data written with the latest one (consumers upgrade first);
//! - FORWARD: the latest schema reads data written with the new one (producers upgrade first);
//! - FULL: both; `_TRANSITIVE`: against every earlier version, not only the latest.

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

use apache_avro::Schema;

use crate::schema::{resolve, Contract, Names};

/// One reason a writer's data cannot be read with a reader's schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incompatibility {
    /// Where (`OrderCreated.items[].price`).
    pub path: String,
    /// What breaks.
    pub reason: String,
}

impl fmt::Display for Incompatibility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.reason)
    }
}

/// Every reason data written with `writer` cannot be read with `reader`; empty when it can.
pub fn can_read(writer: &Contract, reader: &Contract) -> Vec<Incompatibility> {
    let mut walk = Walk { writer: &writer.names, reader: &reader.names, out: Vec::new(), seen: HashSet::new() };
    let path = reader.fullname.as_deref().map(short).unwrap_or("$").to_owned();
    walk.check(&writer.schema, &reader.schema, &path);
    walk.out
}

fn short(fullname: &str) -> &str {
    fullname.rsplit('.').next().unwrap_or(fullname)
}

struct Walk<'a> {
    writer: &'a Names,
    reader: &'a Names,
    out: Vec<Incompatibility>,
    // Pairs of named types already being compared: recursive types end here.
    seen: HashSet<(String, String)>,
}

/// A short name of a schema for messages (`int`, `record Item`, `union [null, string]`).
pub use tidings_avro_schema::describe;
use tidings_avro_schema::{is_named_kind, underlying};

/// The promotions the specification allows a reader to apply.
fn promotes(writer: &Schema, reader: &Schema) -> bool {
    matches!(
        (writer, reader),
        (Schema::Int, Schema::Long | Schema::Float | Schema::Double)
            | (Schema::Long, Schema::Float | Schema::Double)
            | (Schema::Float, Schema::Double)
            | (Schema::String, Schema::Bytes)
            | (Schema::Bytes, Schema::String)
    )
}

/// Whether a reader's named type accepts a writer's name: the same unqualified name,
/// or the writer's name among the reader's aliases.
fn names_match(writer: &apache_avro::schema::Name, reader: &Schema) -> bool {
    let Some(reader_name) = reader.name() else { return false };
    if reader_name.name == writer.name {
        return true;
    }
    let full = writer.fullname(None);
    reader.aliases().is_some_and(|aliases| {
        aliases.iter().any(|a| a.fullname(reader_name.namespace.clone()) == full || a.name() == writer.name)
    })
}

impl Walk<'_> {
    fn fail(&mut self, path: &str, reason: impl Into<String>) {
        self.out.push(Incompatibility { path: path.to_owned(), reason: reason.into() });
    }

    /// The first-level match the specification uses to pick a reader union branch.
    fn matches(&self, writer: &Schema, reader: &Schema) -> bool {
        let (w, r) = (resolve(writer, self.writer), resolve(reader, self.reader));
        let (uw, ur) = (underlying(w), underlying(r));
        match (uw, ur) {
            (Schema::Record(wr), Schema::Record(_)) => names_match(&wr.name, ur),
            (Schema::Enum(we), Schema::Enum(_)) => names_match(&we.name, ur),
            (Schema::Fixed(wf), Schema::Fixed(_)) => names_match(&wf.name, ur),
            (Schema::Array(_), Schema::Array(_)) | (Schema::Map(_), Schema::Map(_)) => true,
            _ => std::mem::discriminant(uw) == std::mem::discriminant(ur) || promotes(uw, ur),
        }
    }

    fn check(&mut self, writer: &Schema, reader: &Schema, path: &str) {
        let (w, r) = (resolve(writer, self.writer), resolve(reader, self.reader));
        // Unions first: a writer union must be readable branch by branch; a reader
        // union takes the first branch that matches the writer.
        if let Schema::Union(wu) = w {
            for branch in wu.variants() {
                self.check(branch, r, &format!("{path}<{}>", describe(resolve(branch, self.writer))));
            }
            return;
        }
        if let Schema::Union(ru) = r {
            match ru.variants().iter().find(|b| self.matches(w, b)) {
                Some(b) => self.check(w, b, path),
                None => self.fail(
                    path,
                    format!("the writer's {} matches no branch of the reader's {}", describe(w), describe(r)),
                ),
            }
            return;
        }
        if let (Schema::Decimal(wd), Schema::Decimal(rd)) = (w, r) {
            if (wd.precision, wd.scale) != (rd.precision, rd.scale) {
                self.fail(path, format!("the writer's {} is read as {}: precision and scale must match", describe(w), describe(r)));
                return;
            }
        }
        let (uw, ur) = (underlying(w), underlying(r));
        match (uw, ur) {
            (Schema::Record(wr), Schema::Record(rr)) => {
                if !names_match(&wr.name, ur) {
                    return self.fail(path, format!("record {} is read as record {} (names differ and no alias)", wr.name.name, rr.name.name));
                }
                if !self.seen.insert((wr.name.fullname(None), rr.name.fullname(None))) {
                    return;
                }
                for rf in &rr.fields {
                    let at = format!("{path}.{}", rf.name);
                    let wf = wr.fields.iter().find(|wf| {
                        wf.name == rf.name || rf.aliases.as_ref().is_some_and(|a| a.contains(&wf.name))
                    });
                    match (wf, &rf.default) {
                        (Some(wf), _) => self.check(&wf.schema, &rf.schema, &at),
                        (None, Some(_)) => {}
                        (None, None) => self.fail(
                            &at,
                            format!(
                                "the reader's field `{}` has no default and the writer's record {} has no such field",
                                rf.name, wr.name.name
                            ),
                        ),
                    }
                }
            }
            (Schema::Enum(we), Schema::Enum(re)) => {
                if !names_match(&we.name, ur) {
                    return self.fail(path, format!("enum {} is read as enum {} (names differ and no alias)", we.name.name, re.name.name));
                }
                let unknown: Vec<&str> =
                    we.symbols.iter().filter(|s| !re.symbols.contains(s)).map(String::as_str).collect();
                if !unknown.is_empty() && re.default.is_none() {
                    let (noun, verb) = if unknown.len() == 1 { ("symbol", "is") } else { ("symbols", "are") };
                    self.fail(
                        path,
                        format!(
                            "the writer's {noun} {} {verb} unknown to the reader, whose enum has no default",
                            unknown.join(", ")
                        ),
                    );
                }
            }
            (Schema::Fixed(wf), Schema::Fixed(rf)) => {
                if !names_match(&wf.name, ur) {
                    self.fail(path, format!("fixed {} is read as fixed {} (names differ and no alias)", wf.name.name, rf.name.name));
                } else if wf.size != rf.size {
                    self.fail(path, format!("fixed {} has {} bytes in the writer and {} in the reader", wf.name.name, wf.size, rf.size));
                }
            }
            (Schema::Array(wa), Schema::Array(ra)) => self.check(&wa.items, &ra.items, &format!("{path}[]")),
            (Schema::Map(wm), Schema::Map(rm)) => self.check(&wm.types, &rm.types, &format!("{path}{{}}")),
            _ if std::mem::discriminant(uw) == std::mem::discriminant(ur) && !is_named_kind(uw) => {}
            _ if promotes(uw, ur) => {}
            _ => self.fail(path, format!("the writer's {} cannot be read as {}", describe(w), describe(r))),
        }
    }
}

/// A registry compatibility level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Level {
    /// No check.
    None,
    /// The new schema reads data of the latest one (the registry default).
    #[default]
    Backward,
    /// The new schema reads data of every earlier one.
    BackwardTransitive,
    /// The latest schema reads data of the new one.
    Forward,
    /// Every earlier schema reads data of the new one.
    ForwardTransitive,
    /// Backward and forward against the latest.
    Full,
    /// Backward and forward against every earlier one.
    FullTransitive,
}

impl Level {
    /// Every level, in the registry's spelling.
    pub const ALL: [Level; 7] = [
        Level::None,
        Level::Backward,
        Level::BackwardTransitive,
        Level::Forward,
        Level::ForwardTransitive,
        Level::Full,
        Level::FullTransitive,
    ];

    /// The registry's spelling (`BACKWARD_TRANSITIVE`).
    pub fn as_str(self) -> &'static str {
        match self {
            Level::None => "NONE",
            Level::Backward => "BACKWARD",
            Level::BackwardTransitive => "BACKWARD_TRANSITIVE",
            Level::Forward => "FORWARD",
            Level::ForwardTransitive => "FORWARD_TRANSITIVE",
            Level::Full => "FULL",
            Level::FullTransitive => "FULL_TRANSITIVE",
        }
    }

    fn transitive(self) -> bool {
        matches!(self, Level::BackwardTransitive | Level::ForwardTransitive | Level::FullTransitive)
    }

    fn backward(self) -> bool {
        matches!(self, Level::Backward | Level::BackwardTransitive | Level::Full | Level::FullTransitive)
    }

    fn forward(self) -> bool {
        matches!(self, Level::Forward | Level::ForwardTransitive | Level::Full | Level::FullTransitive)
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Level {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let wanted = s.trim().to_ascii_uppercase().replace('-', "_");
        Level::ALL.into_iter().find(|l| l.as_str() == wanted).ok_or_else(|| {
            format!("unknown compatibility level `{s}`; expected one of: {}", Level::ALL.map(Level::as_str).join(", "))
        })
    }
}

/// Checks a new schema against a subject's versions (oldest first) at `level`; every
/// message says which version, which direction, where and why.
pub fn check(level: Level, new: &Contract, versions: &[(u32, Contract)]) -> Vec<String> {
    let against: &[(u32, Contract)] = match (level, versions.len()) {
        (Level::None, _) | (_, 0) => return Vec::new(),
        (l, _) if l.transitive() => versions,
        (_, n) => &versions[n - 1..],
    };
    let mut messages = Vec::new();
    for (version, old) in against.iter().rev() {
        if level.backward() {
            for i in can_read(old, new) {
                messages.push(format!(
                    "{level}: the new schema cannot read data written with version {version}: {i}"
                ));
            }
        }
        if level.forward() {
            for i in can_read(new, old) {
                messages.push(format!(
                    "{level}: version {version} cannot read data written with the new schema: {i}"
                ));
            }
        }
    }
    messages
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(fields: &str) -> Contract {
        Contract::parse(&format!(r#"{{"type":"record","name":"Order","namespace":"shop","fields":[{fields}]}}"#))
            .unwrap()
    }

    fn field(name: &str, ty: &str) -> String {
        format!(r#"{{"name":"{name}","type":{ty}}}"#)
    }

    fn reasons(writer: &Contract, reader: &Contract) -> Vec<String> {
        can_read(writer, reader).into_iter().map(|i| i.to_string()).collect()
    }

    fn compatible(w: &str, r: &str) -> bool {
        can_read(&record(&field("x", w)), &record(&field("x", r))).is_empty()
    }

    #[test]
    fn identical_schemas_are_compatible() {
        let s = record(&field("x", r#""string""#));
        assert!(can_read(&s, &s).is_empty());
    }

    #[test]
    fn a_reader_field_added_with_a_default_is_filled_in() {
        let old = record(&field("id", r#""string""#));
        let new = record(&format!(r#"{},{{"name":"priority","type":"string","default":"normal"}}"#, field("id", r#""string""#)));
        assert!(can_read(&old, &new).is_empty(), "new reads old: the default fills priority");
        assert!(can_read(&new, &old).is_empty(), "old reads new: priority is skipped");
    }

    #[test]
    fn a_reader_field_added_without_a_default_cannot_read_old_data() {
        let old = record(&field("id", r#""string""#));
        let new = record(&format!("{},{}", field("id", r#""string""#), field("priority", r#""string""#)));
        assert_eq!(
            reasons(&old, &new),
            ["Order.priority: the reader's field `priority` has no default and the writer's record Order has no such field"]
        );
    }

    #[test]
    fn a_removed_field_is_ignored_by_new_readers_but_breaks_old_readers_without_default() {
        let old = record(&format!("{},{}", field("id", r#""string""#), field("customer", r#""string""#)));
        let new = record(&field("id", r#""string""#));
        assert!(can_read(&old, &new).is_empty(), "the writer's extra field is skipped");
        assert_eq!(
            reasons(&new, &old),
            ["Order.customer: the reader's field `customer` has no default and the writer's record Order has no such field"]
        );
        let old_with_default = record(&format!(r#"{},{{"name":"customer","type":"string","default":""}}"#, field("id", r#""string""#)));
        assert!(can_read(&new, &old_with_default).is_empty());
    }

    #[test]
    fn numeric_promotions_go_one_way() {
        for (w, r) in [("int", "long"), ("int", "float"), ("int", "double"), ("long", "float"), ("long", "double"), ("float", "double")] {
            assert!(compatible(&format!("\"{w}\""), &format!("\"{r}\"")), "{w} -> {r}");
            assert!(!compatible(&format!("\"{r}\""), &format!("\"{w}\"")), "{r} -> {w}");
        }
    }

    #[test]
    fn string_and_bytes_promote_both_ways_and_others_do_not() {
        assert!(compatible(r#""string""#, r#""bytes""#));
        assert!(compatible(r#""bytes""#, r#""string""#));
        assert!(!compatible(r#""string""#, r#""int""#));
        assert!(!compatible(r#""boolean""#, r#""int""#));
        let r = reasons(&record(&field("x", r#""string""#)), &record(&field("x", r#""long""#)));
        assert_eq!(r, ["Order.x: the writer's string cannot be read as long"]);
    }

    #[test]
    fn enum_symbols_added_are_fine_for_the_new_reader_removed_need_a_default() {
        let e = |symbols: &str, default: &str| format!(r#"{{"type":"enum","name":"Status","symbols":[{symbols}]{default}}}"#);
        let two = e(r#""NEW","PAID""#, "");
        let three = e(r#""NEW","PAID","SHIPPED""#, "");
        assert!(compatible(&two, &three), "a reader with more symbols reads everything");
        assert!(!compatible(&three, &two), "SHIPPED is unknown to the old reader");
        let r = reasons(&record(&field("x", &three)), &record(&field("x", &two)));
        assert_eq!(r, ["Order.x: the writer's symbol SHIPPED is unknown to the reader, whose enum has no default"]);
        let two_with_default = e(r#""UNKNOWN","NEW","PAID""#, r#","default":"UNKNOWN""#);
        assert!(compatible(&three, &two_with_default), "the reader's default stands in for SHIPPED");
    }

    #[test]
    fn enum_and_record_names_must_match_or_be_aliased() {
        let a = r#"{"type":"enum","name":"Status","symbols":["A"]}"#;
        let b = r#"{"type":"enum","name":"State","symbols":["A"]}"#;
        let b_aliased = r#"{"type":"enum","name":"State","aliases":["shop.Status"],"symbols":["A"]}"#;
        assert!(!compatible(a, b));
        assert!(compatible(a, b_aliased));
        let item = |name: &str, extra: &str| format!(r#"{{"type":"record","name":"{name}"{extra},"fields":[{{"name":"sku","type":"string"}}]}}"#);
        assert!(!compatible(&item("Item", ""), &item("Line", "")));
        assert!(compatible(&item("Item", ""), &item("Line", r#","aliases":["Item"]"#)));
    }

    #[test]
    fn field_aliases_let_a_reader_rename_a_field() {
        let old = record(&field("customer", r#""string""#));
        let renamed = record(r#"{"name":"buyer","type":"string","aliases":["customer"]}"#);
        assert!(can_read(&old, &renamed).is_empty());
        assert!(!can_read(&old, &record(&field("buyer", r#""string""#))).is_empty());
    }

    #[test]
    fn unions_widen_for_readers_and_narrow_only_when_every_writer_branch_reads() {
        assert!(compatible(r#""string""#, r#"["null","string"]"#), "a plain value reads as its union branch");
        assert!(!compatible(r#"["null","string"]"#, r#""string""#), "null has nowhere to go");
        assert!(compatible(r#"["null","int"]"#, r#"["null","long"]"#), "branches promote");
        assert!(compatible(r#"["null","string"]"#, r#"["string","null","int"]"#), "order does not matter");
        assert!(!compatible(r#"["null","string","int"]"#, r#"["null","string"]"#), "int was dropped");
        let r = reasons(&record(&field("x", r#"["null","string","int"]"#)), &record(&field("x", r#"["null","string"]"#)));
        assert_eq!(r, ["Order.x<int>: the writer's int matches no branch of the reader's union [null, string]"]);
    }

    #[test]
    fn nested_records_arrays_and_maps_are_checked_inside() {
        let item = |ty: &str| format!(r#"{{"type":"record","name":"Item","fields":[{{"name":"qty","type":"{ty}"}}]}}"#);
        let arr = |ty: &str| format!(r#"{{"type":"array","items":{}}}"#, item(ty));
        let map = |ty: &str| format!(r#"{{"type":"map","values":"{ty}"}}"#);
        assert!(compatible(&arr("int"), &arr("long")));
        let r = reasons(&record(&field("items", &arr("long"))), &record(&field("items", &arr("int"))));
        assert_eq!(r, ["Order.items[].qty: the writer's long cannot be read as int"]);
        assert!(compatible(&map("int"), &map("double")));
        let r = reasons(&record(&field("m", &map("string"))), &record(&field("m", &map("int"))));
        assert_eq!(r, ["Order.m{}: the writer's string cannot be read as int"]);
        assert!(!compatible(&arr("int"), &map("int")));
    }

    #[test]
    fn fixed_sizes_and_decimal_precision_must_match() {
        let fixed = |n: u32| format!(r#"{{"type":"fixed","name":"Hash","size":{n}}}"#);
        assert!(compatible(&fixed(16), &fixed(16)));
        assert!(!compatible(&fixed(16), &fixed(32)));
        let dec = |p: u32, s: u32| format!(r#"{{"type":"bytes","logicalType":"decimal","precision":{p},"scale":{s}}}"#);
        assert!(compatible(&dec(10, 2), &dec(10, 2)));
        assert!(!compatible(&dec(10, 2), &dec(10, 3)));
        assert!(!compatible(&dec(10, 2), &dec(12, 2)));
    }

    #[test]
    fn logical_types_resolve_as_their_underlying_types() {
        let ts = r#"{"type":"long","logicalType":"timestamp-millis"}"#;
        assert!(compatible(ts, r#""long""#));
        assert!(compatible(r#""long""#, ts));
        assert!(compatible(r#"{"type":"int","logicalType":"date"}"#, ts), "int promotes to long");
        assert!(!compatible(ts, r#""int""#));
        assert!(compatible(r#"{"type":"string","logicalType":"uuid"}"#, r#""string""#));
    }

    #[test]
    fn recursive_records_terminate() {
        let node = r#"{"type":"record","name":"Node","fields":[{"name":"next","type":["null","Node"],"default":null}]}"#;
        let c = Contract::parse(node).unwrap();
        assert!(can_read(&c, &c).is_empty());
    }

    fn versions(list: &[&Contract]) -> Vec<(u32, Contract)> {
        list.iter().enumerate().map(|(i, c)| (i as u32 + 1, (*c).clone())).collect()
    }

    #[test]
    fn levels_choose_direction_and_depth() {
        let v1 = record(&field("a", r#""string""#));
        let v2 = record(&format!(r#"{},{{"name":"b","type":"string","default":"x"}}"#, field("a", r#""string""#)));
        // v3 drops `a` (no default): old readers break; new readers are fine.
        let v3 = record(r#"{"name":"b","type":"string","default":"x"}"#);
        let history = versions(&[&v1, &v2]);
        assert!(check(Level::Backward, &v3, &history).is_empty());
        assert!(check(Level::BackwardTransitive, &v3, &history).is_empty());
        assert!(check(Level::None, &v3, &history).is_empty());
        let forward = check(Level::Forward, &v3, &history);
        assert_eq!(
            forward,
            ["FORWARD: version 2 cannot read data written with the new schema: Order.a: the reader's field `a` has no default and the writer's record Order has no such field"]
        );
        assert_eq!(check(Level::Full, &v3, &history).len(), 1);
        assert_eq!(check(Level::FullTransitive, &v3, &history).len(), 2, "versions 1 and 2 both break");
        assert_eq!(check(Level::ForwardTransitive, &v3, &history).len(), 2);
        // Adding a field without a default: only backward breaks.
        let v4 = record(&format!("{},{}", field("a", r#""string""#), field("c", r#""int""#)));
        assert_eq!(check(Level::Backward, &v4, &versions(&[&v1])).len(), 1);
        assert!(check(Level::Forward, &v4, &versions(&[&v1])).is_empty());
        // Transitive reaches past the latest: v1 -> int, v2 -> long, new -> int.
        let (i, l) = (record(&field("n", r#""int""#)), record(&field("n", r#""long""#)));
        assert!(check(Level::Backward, &i, &versions(&[&l])).len() == 1);
        assert!(check(Level::Forward, &l, &versions(&[&i, &l])).is_empty());
        assert_eq!(check(Level::ForwardTransitive, &l, &versions(&[&i, &l])).len(), 1, "version 1 (int) cannot read long");
    }

    #[test]
    fn levels_parse_in_the_registry_spelling() {
        for l in Level::ALL {
            assert_eq!(l.as_str().parse::<Level>(), Ok(l));
        }
        assert_eq!("full-transitive".parse::<Level>(), Ok(Level::FullTransitive));
        assert!("SIDEWAYS".parse::<Level>().unwrap_err().contains("BACKWARD_TRANSITIVE"));
    }
}
