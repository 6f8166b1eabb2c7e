//! Channel addresses -> Kafka topics: a plain address is one topic; an address with
//! parameters (`orders.{region}.created`) is a regex subscription
//! (`^orders\.[^./:]+\.created$`), which librdkafka takes when the name starts with `^`.

use tidings_core::address::AddressTemplate;
use tidings_core::Error;

/// The longest topic name Kafka accepts.
pub const MAX_TOPIC_LEN: usize = 249;

/// Suffix of the dead-letter topic of a topic.
pub const DLQ_SUFFIX: &str = ".dlq";

/// Checks that `text` only holds characters legal in a Kafka topic name
/// (ASCII letters, digits, `.`, `_`, `-`).
pub fn check_topic_chars(text: &str) -> Result<(), String> {
    match text.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))) {
        Some(c) => Err(format!("`{c}` is not allowed in a Kafka topic name (letters, digits, `.`, `_`, `-`)")),
        None => Ok(()),
    }
}

/// Checks a concrete topic name.
pub fn check_topic(topic: &str) -> Result<(), Error> {
    let bad = |why: String| Error::Config(format!("`{topic}` is not a valid Kafka topic: {why}"));
    if topic.is_empty() {
        return Err(bad("empty".into()));
    }
    if topic.len() > MAX_TOPIC_LEN {
        return Err(bad(format!("longer than {MAX_TOPIC_LEN} characters")));
    }
    if topic == "." || topic == ".." {
        return Err(bad("`.` and `..` are reserved".into()));
    }
    check_topic_chars(topic).map_err(bad)
}

/// What a subscription asks librdkafka for: one topic, or a regex over topic names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopicSelector {
    /// A plain topic.
    Topic(String),
    /// A pattern, `^`-prefixed as librdkafka expects.
    Pattern(String),
}

impl TopicSelector {
    /// The string to pass to `subscribe`.
    pub fn as_subscription(&self) -> &str {
        match self {
            TopicSelector::Topic(t) | TopicSelector::Pattern(t) => t,
        }
    }
}

/// The topic selector for a channel address under `prefix`.
pub fn selector(prefix: &str, address: &str) -> Result<TopicSelector, Error> {
    let template = AddressTemplate::parse(address)?;
    if !template.is_parameterized() {
        let topic = format!("{prefix}{address}");
        check_topic(&topic)?;
        return Ok(TopicSelector::Topic(topic));
    }
    let mut pattern = String::from("^");
    push_escaped(&mut pattern, prefix);
    let mut rest = address;
    while let Some(open) = rest.find('{') {
        let literal = &rest[..open];
        check_topic_chars(literal)
            .map_err(|why| Error::Config(format!("channel `{address}` cannot be a Kafka topic: {why}")))?;
        push_escaped(&mut pattern, literal);
        // The template parsed, so the brace is closed.
        let close = rest[open..].find('}').map(|i| open + i).unwrap_or(rest.len() - 1);
        // One segment, as AddressTemplate::matches defines it.
        pattern.push_str("[^./:]+");
        rest = &rest[close + 1..];
    }
    check_topic_chars(rest).map_err(|why| Error::Config(format!("channel `{address}` cannot be a Kafka topic: {why}")))?;
    push_escaped(&mut pattern, rest);
    pattern.push('$');
    Ok(TopicSelector::Pattern(pattern))
}

fn push_escaped(out: &mut String, literal: &str) {
    for c in literal.chars() {
        if c == '.' {
            out.push('\\');
        }
        out.push(c);
    }
}

/// The dead-letter topic of `topic`.
pub fn dlq_topic(topic: &str) -> String {
    format!("{topic}{DLQ_SUFFIX}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_addresses_are_topics() {
        assert_eq!(selector("", "orders.created").unwrap(), TopicSelector::Topic("orders.created".into()));
        assert_eq!(selector("t1.", "orders.created").unwrap(), TopicSelector::Topic("t1.orders.created".into()));
        assert!(selector("", "orders/created").is_err());
        assert!(selector("", &"x".repeat(250)).is_err());
    }

    #[test]
    fn parameterized_addresses_are_patterns() {
        assert_eq!(
            selector("", "orders.{region}.created").unwrap(),
            TopicSelector::Pattern(r"^orders\.[^./:]+\.created$".into())
        );
        assert_eq!(
            selector("run-1.", "{tenant}.events").unwrap(),
            TopicSelector::Pattern(r"^run-1\.[^./:]+\.events$".into())
        );
        assert_eq!(selector("", "events.{tenant}").unwrap().as_subscription(), r"^events\.[^./:]+$");
        assert!(selector("", "orders/{region}").is_err());
        assert!(selector("", "orders.{region").is_err());
    }

    #[test]
    fn topic_checks() {
        assert!(check_topic("orders.created.dlq").is_ok());
        for bad in ["", ".", "..", "a b", "a/b", "ä"] {
            assert!(check_topic(bad).is_err(), "{bad}");
        }
        assert_eq!(dlq_topic("orders.created"), "orders.created.dlq");
    }
}
