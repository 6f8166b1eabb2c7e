//! The Confluent Schema Registry REST API: a [`RegistryClient`], an in-memory
//! [`server`], the subject naming strategies, and the process-wide client the codec uses.

mod client;
pub mod server;

use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, RwLock};

pub use client::{Auth, Compatibility, RegisteredSchema, RegistryClient, RegistryError};

/// The environment variable naming the registry the codec and the CLI use.
pub const URL_ENV: &str = "TIDINGS_SCHEMA_REGISTRY_URL";

/// How a schema's subject is named (Confluent's `*SubjectNameStrategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SubjectStrategy {
    /// `<topic>-value` (`<topic>-key` for keys): one schema lineage per topic (Confluent's default).
    #[default]
    Topic,
    /// `<record full name>`: one lineage per record, whatever topic it is on.
    Record,
    /// `<topic>-<record full name>`: one lineage per record per topic.
    TopicRecord,
}

impl SubjectStrategy {
    /// The subject of a value schema whose top-level type is `record` on `topic`.
    pub fn subject(self, topic: Option<&str>, record: &str) -> Result<String, String> {
        let need_topic = || topic.ok_or_else(|| format!("the {self} subject strategy needs a topic"));
        Ok(match self {
            SubjectStrategy::Topic => format!("{}-value", need_topic()?),
            SubjectStrategy::Record => record.to_owned(),
            SubjectStrategy::TopicRecord => format!("{}-{record}", need_topic()?),
        })
    }

    fn as_str(self) -> &'static str {
        match self {
            SubjectStrategy::Topic => "topic",
            SubjectStrategy::Record => "record",
            SubjectStrategy::TopicRecord => "topic-record",
        }
    }
}

impl fmt::Display for SubjectStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SubjectStrategy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().replace('_', "-").as_str() {
            "topic" | "topicnamestrategy" => Ok(SubjectStrategy::Topic),
            "record" | "recordnamestrategy" => Ok(SubjectStrategy::Record),
            "topic-record" | "topicrecordnamestrategy" => Ok(SubjectStrategy::TopicRecord),
            _ => Err(format!("unknown subject strategy `{s}`; expected topic, record or topic-record")),
        }
    }
}

/// The codec's client, and whether code installed it (then nothing replaces it).
struct Global {
    client: Arc<RegistryClient>,
    installed: bool,
    /// The announced URL it was made from (`None`: the environment's).
    source: Option<String>,
}

static GLOBAL: RwLock<Option<Global>> = RwLock::new(None);

/// Makes `client` the registry of the Avro codec in this process (replacing any
/// earlier one, the service's and the one from the environment).
pub fn install(client: RegistryClient) -> Arc<RegistryClient> {
    let client = Arc::new(client);
    *GLOBAL.write().unwrap_or_else(|p| p.into_inner()) = Some(Global { client: client.clone(), installed: true, source: None });
    client
}

/// The registry of the Avro codec, in this order:
/// 1. the client [`install`]ed in code;
/// 2. the registry the running service's document shows: the `schema_registry` option
///    of its Kafka server URL (`kafka://broker:9092?schema_registry=http://registry:8081`,
///    announced by the app when it starts, see
///    [`tidings_core::codec::schema_registry_url`]), so the codec and the document
///    cannot name two registries;
/// 3. `TIDINGS_SCHEMA_REGISTRY_URL`, the fallback.
///
/// Auth and auto-registration come from the environment ([`RegistryClient::with_env`]).
/// The client is made once per URL and kept, with its caches.
pub fn global() -> Result<Arc<RegistryClient>, RegistryError> {
    let announced = tidings_core::codec::schema_registry_url();
    let wanted = |g: &Global| g.installed || announced.is_none() || g.source == announced;
    if let Some(g) = GLOBAL.read().unwrap_or_else(|p| p.into_inner()).as_ref().filter(|g| wanted(g)) {
        return Ok(g.client.clone());
    }
    let client = match &announced {
        Some(url) => RegistryClient::with_env(url)?,
        None => RegistryClient::from_env()?,
    };
    let mut slot = GLOBAL.write().unwrap_or_else(|p| p.into_inner());
    match slot.as_ref().filter(|g| wanted(g)) {
        Some(g) => Ok(g.client.clone()),
        None => {
            let client = Arc::new(client);
            *slot = Some(Global { client: client.clone(), installed: false, source: announced.clone() });
            Ok(client)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_strategies_name_subjects_as_confluent_does() {
        let rec = "com.example.OrderCreated";
        assert_eq!(SubjectStrategy::Topic.subject(Some("orders.created"), rec).unwrap(), "orders.created-value");
        assert_eq!(SubjectStrategy::Record.subject(None, rec).unwrap(), rec);
        assert_eq!(
            SubjectStrategy::TopicRecord.subject(Some("orders"), rec).unwrap(),
            "orders-com.example.OrderCreated"
        );
        assert!(SubjectStrategy::Topic.subject(None, rec).unwrap_err().contains("needs a topic"));
        assert_eq!("TopicRecordNameStrategy".parse(), Ok(SubjectStrategy::TopicRecord));
        assert_eq!("topic_record".parse(), Ok(SubjectStrategy::TopicRecord));
        assert!("by-color".parse::<SubjectStrategy>().is_err());
    }
}
