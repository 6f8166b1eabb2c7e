//! Channel addresses with parameters: `orders.{region}.created`.

use std::collections::BTreeMap;

use crate::error::Error;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Param(String),
}

/// A parsed channel address. Parameters match one segment: any run of characters
/// without `.`, `/` or `:`, the separators brokers use inside names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressTemplate {
    raw: String,
    parts: Vec<Part>,
}

fn is_separator(c: char) -> bool {
    matches!(c, '.' | '/' | ':')
}

impl AddressTemplate {
    /// Parses an address; `{name}` is a parameter. Unbalanced braces or an empty or
    /// repeated name are errors.
    pub fn parse(raw: &str) -> Result<Self, Error> {
        let mut parts = Vec::new();
        let mut rest = raw;
        let bad = |why: &str| Error::Config(format!("channel address `{raw}`: {why}"));
        while !rest.is_empty() {
            match rest.find(['{', '}']) {
                None => {
                    parts.push(Part::Literal(rest.to_owned()));
                    break;
                }
                Some(i) if rest.as_bytes()[i] == b'}' => return Err(bad("`}` without `{`")),
                Some(i) => {
                    if i > 0 {
                        parts.push(Part::Literal(rest[..i].to_owned()));
                    }
                    let after = &rest[i + 1..];
                    let end = after.find('}').ok_or_else(|| bad("`{` without `}`"))?;
                    let name = &after[..end];
                    if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-') {
                        return Err(bad(&format!("bad parameter name `{{{name}}}`")));
                    }
                    if parts.iter().any(|p| matches!(p, Part::Param(n) if n == name)) {
                        return Err(bad(&format!("parameter `{name}` appears twice")));
                    }
                    if matches!(parts.last(), Some(Part::Param(_))) {
                        return Err(bad("two parameters must be separated by a literal"));
                    }
                    parts.push(Part::Param(name.to_owned()));
                    rest = &after[end + 1..];
                }
            }
        }
        Ok(AddressTemplate { raw: raw.to_owned(), parts })
    }

    /// The address as declared.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// True when the address has parameters.
    pub fn is_parameterized(&self) -> bool {
        self.parts.iter().any(|p| matches!(p, Part::Param(_)))
    }

    /// Parameter names in order.
    pub fn params(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Param(n) => Some(n.as_str()),
            Part::Literal(_) => None,
        })
    }

    /// True when a concrete address matches. Unlike [`matches`](Self::matches) it
    /// allocates nothing: the broker asks it of every group on every publish.
    pub fn is_match(&self, address: &str) -> bool {
        self.match_with(address, |_, _| {})
    }

    /// Matches a concrete address, returning the parameter values.
    pub fn matches(&self, address: &str) -> Option<BTreeMap<String, String>> {
        let mut values = BTreeMap::new();
        self.match_with(address, |name, value| {
            values.insert(name.to_owned(), value.to_owned());
        })
        .then_some(values)
    }

    /// Walks the parts over `address`, handing each parameter's value to `found`.
    fn match_with<'a>(&'a self, address: &'a str, mut found: impl FnMut(&'a str, &'a str)) -> bool {
        let mut rest = address;
        let mut parts = self.parts.iter().peekable();
        while let Some(part) = parts.next() {
            match part {
                Part::Literal(lit) => match rest.strip_prefix(lit.as_str()) {
                    Some(r) => rest = r,
                    None => return false,
                },
                Part::Param(name) => {
                    // A parameter runs to the next literal (parameters are always followed by
                    // a literal or the end) and may not cross a separator.
                    let end = match parts.peek() {
                        Some(Part::Literal(lit)) => match rest.find(lit.as_str()) {
                            Some(end) => end,
                            None => return false,
                        },
                        _ => rest.len(),
                    };
                    let value = &rest[..end];
                    if value.is_empty() || value.contains(is_separator) {
                        return false;
                    }
                    found(name, value);
                    rest = &rest[end..];
                }
            }
        }
        rest.is_empty()
    }

    /// Fills the parameters in, giving a concrete address. Every parameter needs a
    /// non-empty value without separators.
    pub fn render(&self, values: &BTreeMap<String, String>) -> Result<String, Error> {
        let mut out = String::with_capacity(self.raw.len());
        for part in &self.parts {
            match part {
                Part::Literal(lit) => out.push_str(lit),
                Part::Param(name) => {
                    let value = values.get(name).ok_or_else(|| {
                        Error::Config(format!("channel `{}`: no value for parameter `{name}`", self.raw))
                    })?;
                    if value.is_empty() || value.contains(is_separator) {
                        return Err(Error::Config(format!(
                            "channel `{}`: parameter `{name}` = `{value}` must be one non-empty segment",
                            self.raw
                        )));
                    }
                    out.push_str(value);
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_matches_itself_only() {
        let t = AddressTemplate::parse("orders.created").unwrap();
        assert!(!t.is_parameterized());
        assert_eq!(t.matches("orders.created"), Some(BTreeMap::new()));
        assert_eq!(t.matches("orders.created.x"), None);
        assert_eq!(t.matches("orders"), None);
        assert!(t.is_match("orders.created"));
        assert!(!t.is_match("orders.created.x"));
    }

    #[test]
    fn parameters_match_one_segment() {
        let t = AddressTemplate::parse("orders.{region}.created").unwrap();
        let m = t.matches("orders.eu.created").unwrap();
        assert_eq!(m.get("region").map(String::as_str), Some("eu"));
        assert_eq!(t.matches("orders.eu.west.created"), None);
        assert_eq!(t.matches("orders..created"), None);
        assert!(t.is_match("orders.eu.created") && !t.is_match("orders.eu.west.created"));
        let trailing = AddressTemplate::parse("events/{tenant}").unwrap();
        assert_eq!(trailing.matches("events/acme").unwrap()["tenant"], "acme");
        assert_eq!(trailing.matches("events/acme/x"), None);
    }

    #[test]
    fn render_round_trips_and_rejects_bad_values() {
        let t = AddressTemplate::parse("orders.{region}.created").unwrap();
        let values = BTreeMap::from([("region".to_owned(), "eu".to_owned())]);
        assert_eq!(t.render(&values).unwrap(), "orders.eu.created");
        assert!(t.render(&BTreeMap::new()).is_err());
        let bad = BTreeMap::from([("region".to_owned(), "a.b".to_owned())]);
        assert!(t.render(&bad).is_err());
    }

    #[test]
    fn malformed_templates_are_errors() {
        for raw in ["a.{b", "a.}b", "a.{}", "{a}{b}", "{a}.{a}", "a.{b c}"] {
            assert!(AddressTemplate::parse(raw).is_err(), "{raw} should not parse");
        }
    }
}
