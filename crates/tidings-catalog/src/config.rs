//! The catalog config file (TOML): bridges between channels, owners, lifecycle and the
//! domain, and channels whose orphans are expected.
//!
//! ```toml
//! # Domain of every service, for EventCatalog (and Backstage's `spec.system`).
//! [domain]
//! id = "shop"
//! name = "Shop"
//! version = "0.1.0"
//!
//! # Used for services without an entry of their own.
//! [defaults]
//! owners = ["platform-team"]
//! lifecycle = "production"
//!
//! [services.orders]
//! owners = ["team-orders"]
//! lifecycle = "experimental"
//!
//! # The Kafka topic is copied onto the SQS queue, Avro converted to JSON.
//! [[bridges]]
//! from = "kafka:orders.created"
//! to = "sqs:order-events"
//! convert = "avro -> json"
//! description = "Kafka Connect SQS sink"
//!
//! # Channels nobody is expected to consume (`*` matches any run of characters).
//! [orphans]
//! ignore = ["kafka:*.dlq"]
//! ```
//!
//! Channels are written `protocol:address`; see [`ChannelKey::parse`].

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::model::ChannelKey;

/// The whole config file. Every section is optional; an empty file is a valid config.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogConfig {
    /// The domain the services belong to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<DomainConfig>,
    /// Owners and lifecycle of services without their own entry.
    #[serde(default)]
    pub defaults: ServiceConfig,
    /// Per service (keyed by `info.title`): owners and lifecycle.
    #[serde(default)]
    pub services: BTreeMap<String, ServiceConfig>,
    /// Declared links from one channel to another.
    #[serde(default)]
    pub bridges: Vec<BridgeConfig>,
    /// Orphan exceptions.
    #[serde(default)]
    pub orphans: OrphansConfig,
}

/// A domain (EventCatalog's `domain` block).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomainConfig {
    /// Machine id (`shop`).
    pub id: String,
    /// Display name; the id when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Version of the domain; `0.0.1` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// Owners and lifecycle of one service.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceConfig {
    /// Teams or people owning the service; Backstage takes the first.
    #[serde(default)]
    pub owners: Vec<String>,
    /// Backstage lifecycle (`production`, `experimental`, `deprecated`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<String>,
}

/// One bridge as written in the config file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BridgeConfig {
    /// Source channel, `protocol:address` (`kafka:orders.created`).
    pub from: String,
    /// Target channel, `protocol:address` (`sqs:order-events`).
    pub to: String,
    /// What the bridge converts (`avro -> json`), free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub convert: Option<String>,
    /// What runs the bridge, free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// Channels on which orphans are expected.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrphansConfig {
    /// Patterns over `protocol:address`; `*` matches any run of characters.
    #[serde(default)]
    pub ignore: Vec<String>,
}

/// A config file that could not be read or understood.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Reading the file failed.
    #[error("reading catalog config {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The TOML is malformed or has unknown keys.
    #[error("catalog config {path}: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// The parser's message (with line and column).
        message: String,
    },
}

impl CatalogConfig {
    /// Parses config text; `origin` names it in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<Self, ConfigError> {
        let config: CatalogConfig = toml::from_str(text).map_err(|e| ConfigError::Invalid {
            path: origin.to_owned(),
            message: e.to_string(),
        })?;
        for (i, bridge) in config.bridges.iter().enumerate() {
            for (field, value) in [("from", &bridge.from), ("to", &bridge.to)] {
                if let Err(e) = ChannelKey::parse(value) {
                    return Err(ConfigError::Invalid {
                        path: origin.to_owned(),
                        message: format!("bridges[{i}].{field}: {e}"),
                    });
                }
            }
        }
        Ok(config)
    }

    /// Reads and parses a config file.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_toml(&text, &path.display().to_string())
    }

    /// The settings of `service`: its own entry, else the defaults.
    pub fn service(&self, service: &str) -> ServiceConfig {
        let own = self.services.get(service);
        ServiceConfig {
            owners: own
                .map(|s| s.owners.clone())
                .filter(|o| !o.is_empty())
                .unwrap_or_else(|| self.defaults.owners.clone()),
            lifecycle: own
                .and_then(|s| s.lifecycle.clone())
                .or_else(|| self.defaults.lifecycle.clone()),
        }
    }

    /// Whether orphans on `channel` are expected.
    pub fn orphan_ignored(&self, channel: &ChannelKey) -> bool {
        let text = channel.to_string();
        self.orphans.ignore.iter().any(|p| glob_match(p, &text))
    }
}

/// `*`-only glob: `*` matches any run of characters (also none), the rest literally.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(at) => rest = &rest[at + middle.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("kafka:*.dlq", "kafka:orders.created.dlq"));
        assert!(!glob_match("kafka:*.dlq", "sqs:orders.created.dlq"));
        assert!(glob_match("*", ""));
        assert!(glob_match("a*b*c", "abc"));
        assert!(!glob_match("a*b*c", "acb"));
        assert!(!glob_match("ab*ba", "aba"));
        assert!(glob_match("exact", "exact"));
    }

    #[test]
    fn config_parses_and_rejects_bad_channels() {
        let config = CatalogConfig::from_toml(
            "[defaults]\nowners = [\"p\"]\n[services.a]\nlifecycle = \"x\"\n[[bridges]]\nfrom = \"kafka:a\"\nto = \"sqs:b\"\n",
            "t",
        )
        .unwrap();
        assert_eq!(config.service("a").owners, vec!["p"]);
        assert_eq!(config.service("a").lifecycle.as_deref(), Some("x"));
        let bad =
            CatalogConfig::from_toml("[[bridges]]\nfrom = \"nocolon\"\nto = \"sqs:b\"\n", "t");
        assert!(bad.unwrap_err().to_string().contains("bridges[0].from"));
        let unknown = CatalogConfig::from_toml("[servicez]\n", "t");
        assert!(unknown.is_err());
    }
}
