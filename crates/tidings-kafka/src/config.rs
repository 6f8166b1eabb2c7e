//! `kafka://` URLs and the `TIDINGS_KAFKA_*` environment: what a [`KafkaBroker`]
//! connects to and how.
//!
//! Credentials come from the environment only, never from the URL, so they cannot end
//! up in a document, a log line or a shell history; [`KafkaConfig`]'s `Debug` masks
//! them, and no error message here quotes a secret.
//!
//! [`KafkaBroker`]: crate::KafkaBroker

use std::fmt;
use std::time::Duration;

use tidings_core::Error;

/// SASL user name.
pub const ENV_SASL_USERNAME: &str = "TIDINGS_KAFKA_SASL_USERNAME";
/// SASL password.
pub const ENV_SASL_PASSWORD: &str = "TIDINGS_KAFKA_SASL_PASSWORD";
/// SASL mechanism: `PLAIN`, `SCRAM-SHA-256` or `SCRAM-SHA-512` (default `PLAIN`).
pub const ENV_SASL_MECHANISM: &str = "TIDINGS_KAFKA_SASL_MECHANISM";
/// `plaintext`, `ssl`, `sasl_plaintext` or `sasl_ssl`; overrides what the scheme implies.
pub const ENV_SECURITY_PROTOCOL: &str = "TIDINGS_KAFKA_SECURITY_PROTOCOL";
/// PEM file of the CA certificates that sign the brokers' certificates.
pub const ENV_SSL_CA_LOCATION: &str = "TIDINGS_KAFKA_SSL_CA_LOCATION";
/// PEM file of the client's certificate (mutual TLS).
pub const ENV_SSL_CERTIFICATE_LOCATION: &str = "TIDINGS_KAFKA_SSL_CERTIFICATE_LOCATION";
/// PEM file of the client's private key (mutual TLS).
pub const ENV_SSL_KEY_LOCATION: &str = "TIDINGS_KAFKA_SSL_KEY_LOCATION";
/// Password of the client's private key.
pub const ENV_SSL_KEY_PASSWORD: &str = "TIDINGS_KAFKA_SSL_KEY_PASSWORD";

/// Every URL scheme the Kafka broker answers to.
pub const SCHEMES: &[&str] = &["kafka", "kafka+ssl", "kafka+sasl", "kafka+sasl_ssl", "kafka+sasl-ssl", "kafka-secure"];

/// How offsets start for a consumer group that has none committed yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetReset {
    /// From the oldest message kept (the default: nothing published before the group
    /// first joined is skipped).
    Earliest,
    /// Only messages published after the group joined.
    Latest,
}

impl OffsetReset {
    fn as_str(self) -> &'static str {
        match self {
            OffsetReset::Earliest => "earliest",
            OffsetReset::Latest => "latest",
        }
    }
}

/// Connection security, as librdkafka's `security.protocol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecurityProtocol {
    /// No TLS, no authentication.
    Plaintext,
    /// TLS.
    Ssl,
    /// SASL without TLS.
    SaslPlaintext,
    /// SASL over TLS.
    SaslSsl,
}

impl SecurityProtocol {
    fn as_str(self) -> &'static str {
        match self {
            SecurityProtocol::Plaintext => "plaintext",
            SecurityProtocol::Ssl => "ssl",
            SecurityProtocol::SaslPlaintext => "sasl_plaintext",
            SecurityProtocol::SaslSsl => "sasl_ssl",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        Some(match text.to_ascii_lowercase().replace('-', "_").as_str() {
            "plaintext" => SecurityProtocol::Plaintext,
            "ssl" => SecurityProtocol::Ssl,
            "sasl_plaintext" => SecurityProtocol::SaslPlaintext,
            "sasl_ssl" => SecurityProtocol::SaslSsl,
            _ => return None,
        })
    }

    fn uses_sasl(self) -> bool {
        matches!(self, SecurityProtocol::SaslPlaintext | SecurityProtocol::SaslSsl)
    }

    fn uses_tls(self) -> bool {
        matches!(self, SecurityProtocol::Ssl | SecurityProtocol::SaslSsl)
    }
}

/// The `builtin.features` of the librdkafka linked into this binary (`ssl`,
/// `sasl_scram`, `zstd`, ...; comma-separated). TLS and SASL/SCRAM are there only when
/// it was built with OpenSSL: the `kafka-tls` feature of `tidings` (`tls` of this crate).
pub fn builtin_features() -> String {
    rdkafka::config::ClientConfig::new()
        .create_native_config()
        .and_then(|native| native.get("builtin.features"))
        .unwrap_or_default()
}

/// Everything a Kafka server needs: hosts, options from the URL query, security from
/// the environment.
#[derive(Clone, PartialEq, Eq)]
pub struct KafkaConfig {
    /// `host:port` of each bootstrap broker.
    pub bootstrap: Vec<String>,
    /// `client.id` of the producer and the consumers (default `tidings-<server name>`).
    pub client_id: String,
    /// Prefix added to every topic this server publishes to or subscribes to, and
    /// stripped from the channel of every delivery (`topic_prefix=staging.`): namespaces
    /// one cluster for several environments or test runs. Default: none.
    pub topic_prefix: String,
    /// Prefix added to every consumer group id (`group_prefix=staging-`). Default: none.
    pub group_prefix: String,
    /// Where a group without committed offsets starts (`auto_offset_reset`).
    pub auto_offset_reset: OffsetReset,
    /// `session.timeout.ms` of the consumers (`session_timeout_ms`); librdkafka's
    /// default (45 s) when unset. A first join takes about half of it.
    pub session_timeout: Option<Duration>,
    /// How often settled offsets are committed (`commit_interval_ms`, default 100 ms).
    pub commit_interval: Duration,
    /// Settled messages that trigger a commit before the interval ends (`commit_batch`,
    /// default 500).
    pub commit_batch: usize,
    /// Messages buffered per partition (`max_buffered`, default 10,000). A full
    /// partition holds the poll thread (up to 100 ms) while the workers drain it to
    /// three quarters; one they do not drain in that time is paused until half of it.
    /// Pausing is costly: librdkafka drops what it prefetched for the partition and
    /// fetches it again on resume, and the partition waits for that fetch; at 1,000 the
    /// pause cycles cut consumption on the benchmark topic to a third
    /// (docs/benchmarks.md). Memory per partition is bounded by this many messages
    /// (plus librdkafka's own prefetch, `queued.max.messages.kbytes`).
    pub max_buffered: usize,
    /// `fetch.wait.max.ms` of the consumers (`fetch_wait_ms`): how long the broker may
    /// hold a fetch that finds no new message; librdkafka's default (500 ms) when unset.
    /// Kafka answers a fetch as soon as a message arrives, so there it costs no latency.
    /// A broker that holds every fetch for the whole wait adds up to that much to each
    /// message's latency: on Tansu, 130 ms at the median with the default and 5 ms at
    /// `fetch_wait_ms=10`, for the raw client as for tidings (docs/benchmarks.md). A
    /// shorter wait costs more fetch requests while the topic is idle.
    pub fetch_wait: Option<Duration>,
    /// `topic.metadata.refresh.interval.ms` (`metadata_refresh_ms`): how soon a
    /// parameterized channel notices a new matching topic. When unset: 5 s for pattern
    /// subscriptions, librdkafka's default (5 min) otherwise.
    pub metadata_refresh: Option<Duration>,
    /// `message.timeout.ms` of the producer (`message_timeout_ms`, default 30 s): a
    /// publish fails after it rather than waiting forever for an unreachable broker.
    pub message_timeout: Duration,
    /// `linger.ms` of the producer (`linger_ms`, default 1 ms; 0 sends at once): how
    /// long librdkafka waits to fill a batch. A tidings publish waits for the broker's
    /// confirmation, so the linger is latency every publish pays; librdkafka's own
    /// default (5 ms) cut confirmed publishes with 256 in flight from about 38,000 to
    /// 23,000 a second on the benchmark broker (docs/benchmarks.md).
    pub linger: Duration,
    /// How long a revocation waits for handlers of the revoked partitions to finish
    /// before giving the partitions up (`revoke_wait_ms`, default 10 s).
    pub revoke_wait: Duration,
    /// Connection security.
    pub security: Security,
}

/// TLS and SASL settings, from the URL scheme and the `TIDINGS_KAFKA_*` environment.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Security {
    /// `security.protocol`; `None` = librdkafka's default (plaintext).
    pub protocol: Option<SecurityProtocol>,
    /// `sasl.mechanism`.
    pub sasl_mechanism: Option<String>,
    /// `sasl.username`.
    pub sasl_username: Option<String>,
    /// `sasl.password`. Never printed.
    pub sasl_password: Option<String>,
    /// `ssl.ca.location`.
    pub ssl_ca_location: Option<String>,
    /// `ssl.certificate.location`.
    pub ssl_certificate_location: Option<String>,
    /// `ssl.key.location`.
    pub ssl_key_location: Option<String>,
    /// `ssl.key.password`. Never printed.
    pub ssl_key_password: Option<String>,
}

impl fmt::Debug for Security {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let masked = |s: &Option<String>| s.as_ref().map(|_| "***");
        f.debug_struct("Security")
            .field("protocol", &self.protocol)
            .field("sasl_mechanism", &self.sasl_mechanism)
            .field("sasl_username", &masked(&self.sasl_username))
            .field("sasl_password", &masked(&self.sasl_password))
            .field("ssl_ca_location", &self.ssl_ca_location)
            .field("ssl_certificate_location", &self.ssl_certificate_location)
            .field("ssl_key_location", &self.ssl_key_location)
            .field("ssl_key_password", &masked(&self.ssl_key_password))
            .finish()
    }
}

impl fmt::Debug for KafkaConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KafkaConfig")
            .field("bootstrap", &self.bootstrap)
            .field("client_id", &self.client_id)
            .field("topic_prefix", &self.topic_prefix)
            .field("group_prefix", &self.group_prefix)
            .field("auto_offset_reset", &self.auto_offset_reset)
            .field("session_timeout", &self.session_timeout)
            .field("commit_interval", &self.commit_interval)
            .field("commit_batch", &self.commit_batch)
            .field("max_buffered", &self.max_buffered)
            .field("fetch_wait", &self.fetch_wait)
            .field("metadata_refresh", &self.metadata_refresh)
            .field("message_timeout", &self.message_timeout)
            .field("linger", &self.linger)
            .field("revoke_wait", &self.revoke_wait)
            .field("security", &self.security)
            .finish()
    }
}

const OPTIONS: &str = "client_id, topic_prefix, group_prefix, auto_offset_reset, session_timeout_ms, \
                       commit_interval_ms, commit_batch, max_buffered, fetch_wait_ms, metadata_refresh_ms, message_timeout_ms, linger_ms, revoke_wait_ms, \
                       protocol_version, sasl_mechanism, schema_registry, schema_registry_vendor";

impl KafkaConfig {
    /// Reads a `kafka://host:port[,host:port][?option=value&...]` URL for the server
    /// `name`, with security settings from the process environment.
    pub fn from_url(name: &str, url: &str) -> Result<Self, Error> {
        Self::from_url_and_env(name, url, |key| std::env::var(key).ok().filter(|v| !v.is_empty()))
    }

    /// Like [`from_url`](Self::from_url), reading the environment through `env` (tests).
    pub fn from_url_and_env(name: &str, url: &str, env: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        // Only the masked URL may appear in errors: it may carry a secret by mistake.
        let shown = tidings_asyncapi::mask_url(url);
        let bad = |why: String| Error::Config(format!("server `{name}` (`{shown}`): {why}"));
        let (scheme, rest) = url.split_once("://").ok_or_else(|| bad("expected `kafka://host:port`".into()))?;
        let scheme = scheme.to_ascii_lowercase();
        if !SCHEMES.contains(&scheme.as_str()) {
            return Err(bad(format!("`{scheme}://` is not a Kafka scheme (known: {})", SCHEMES.join(", "))));
        }
        let (hosts, query) = match rest.split_once('?') {
            Some((h, q)) => (h, q),
            None => (rest, ""),
        };
        if hosts.contains('@') {
            return Err(bad(format!(
                "credentials do not go in the URL; set {ENV_SASL_USERNAME} and {ENV_SASL_PASSWORD}"
            )));
        }
        let hosts = hosts.trim_end_matches('/');
        if hosts.contains('/') || hosts.contains('#') {
            return Err(bad("a Kafka URL has no path".into()));
        }
        let mut bootstrap = Vec::new();
        for host in hosts.split(',') {
            let host = host.trim();
            if host.is_empty() {
                return Err(bad("empty host in the host list".into()));
            }
            if host.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(bad("whitespace in the host list".into()));
            }
            // A bare host gets Kafka's port rather than librdkafka guessing one.
            let has_port = match host.rsplit_once(':') {
                Some((h, port)) if !h.ends_with(':') && !port.contains(']') => {
                    port.parse::<u16>().map_err(|_| bad(format!("port `{port}` is not a number from 0 to 65535")))?;
                    true
                }
                _ => false,
            };
            bootstrap.push(if has_port { host.to_owned() } else { format!("{host}:9092") });
        }

        let mut config = KafkaConfig {
            bootstrap,
            client_id: format!("tidings-{name}"),
            topic_prefix: String::new(),
            group_prefix: String::new(),
            auto_offset_reset: OffsetReset::Earliest,
            session_timeout: None,
            commit_interval: Duration::from_millis(100),
            commit_batch: 500,
            max_buffered: 10_000,
            fetch_wait: None,
            metadata_refresh: None,
            message_timeout: Duration::from_secs(30),
            linger: Duration::from_millis(1),
            revoke_wait: Duration::from_secs(10),
            security: Security::default(),
        };
        let millis = |key: &str, v: &str| -> Result<Duration, Error> {
            v.parse::<u64>()
                .ok()
                .filter(|ms| *ms > 0)
                .map(Duration::from_millis)
                .ok_or_else(|| bad(format!("`{key}` must be a positive number of milliseconds, not `{v}`")))
        };
        let count = |key: &str, v: &str| -> Result<usize, Error> {
            v.parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| bad(format!("`{key}` must be a positive whole number, not `{v}`")))
        };
        let mut url_mechanism = None;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key {
                "client_id" => {
                    if value.is_empty() {
                        return Err(bad("`client_id` is empty".into()));
                    }
                    config.client_id = value.to_owned();
                }
                "topic_prefix" => {
                    crate::topic::check_topic_chars(value).map_err(|why| bad(format!("`topic_prefix`: {why}")))?;
                    config.topic_prefix = value.to_owned();
                }
                "group_prefix" => config.group_prefix = value.to_owned(),
                "auto_offset_reset" => {
                    config.auto_offset_reset = match value {
                        "earliest" => OffsetReset::Earliest,
                        "latest" => OffsetReset::Latest,
                        _ => return Err(bad(format!("`auto_offset_reset` is `earliest` or `latest`, not `{value}`"))),
                    }
                }
                "session_timeout_ms" => config.session_timeout = Some(millis(key, value)?),
                "commit_interval_ms" => config.commit_interval = millis(key, value)?,
                "commit_batch" => config.commit_batch = count(key, value)?,
                "max_buffered" => config.max_buffered = count(key, value)?,
                // librdkafka takes 0 to 300,000; 0 would make every idle fetch return at once.
                "fetch_wait_ms" => {
                    config.fetch_wait = Some(
                        value
                            .parse::<u64>()
                            .ok()
                            .filter(|ms| (1..=300_000).contains(ms))
                            .map(Duration::from_millis)
                            .ok_or_else(|| bad(format!("`fetch_wait_ms` must be a number of milliseconds from 1 to 300000, not `{value}`")))?,
                    )
                }
                "metadata_refresh_ms" => config.metadata_refresh = Some(millis(key, value)?),
                "message_timeout_ms" => config.message_timeout = millis(key, value)?,
                // Zero is a linger too: send at once.
                "linger_ms" => {
                    config.linger = value
                        .parse::<u64>()
                        .ok()
                        .filter(|ms| *ms <= 900_000)
                        .map(Duration::from_millis)
                        .ok_or_else(|| bad(format!("`linger_ms` must be a number of milliseconds from 0 to 900000, not `{value}`")))?
                }
                "revoke_wait_ms" => config.revoke_wait = millis(key, value)?,
                // For the document only (the server's `protocolVersion`): the client
                // negotiates the protocol with the cluster.
                // Not a secret, and what the document shows: SASL with this mechanism.
                "sasl_mechanism" => url_mechanism = Some(value.to_ascii_uppercase()),
                "protocol_version" => {
                    if value.is_empty() || !value.split('.').all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit())) {
                        return Err(bad(format!("`protocol_version` must be a version like `3.7`, not `{value}`")));
                    }
                }
                // For the document only (the server binding's `schemaRegistryUrl` and
                // `schemaRegistryVendor`); the Avro codec reads TIDINGS_SCHEMA_REGISTRY_URL.
                "schema_registry" | "schema_registry_vendor" => {}
                _ => return Err(bad(format!("unknown option `{key}` (known: {OPTIONS})"))),
            }
        }
        config.security = Security::from_env(&scheme, url_mechanism, &env).map_err(bad)?;
        Ok(config)
    }

    /// The bootstrap list as librdkafka takes it.
    pub fn bootstrap_servers(&self) -> String {
        self.bootstrap.join(",")
    }

    /// The settings shared by the producer and the consumers.
    pub(crate) fn common(&self) -> Vec<(&'static str, String)> {
        let mut out = vec![("bootstrap.servers", self.bootstrap_servers()), ("client.id", self.client_id.clone())];
        let s = &self.security;
        if let Some(p) = s.protocol {
            out.push(("security.protocol", p.as_str().to_owned()));
        }
        let optional = [
            ("sasl.mechanism", &s.sasl_mechanism),
            ("sasl.username", &s.sasl_username),
            ("sasl.password", &s.sasl_password),
            ("ssl.ca.location", &s.ssl_ca_location),
            ("ssl.certificate.location", &s.ssl_certificate_location),
            ("ssl.key.location", &s.ssl_key_location),
            ("ssl.key.password", &s.ssl_key_password),
        ];
        out.extend(optional.into_iter().filter_map(|(k, v)| v.clone().map(|v| (k, v))));
        out
    }

    /// Checks that this binary can connect the way the security settings ask: TLS
    /// (`ssl`, `sasl_ssl`) and SASL/SCRAM need librdkafka built with OpenSSL, which only
    /// the `kafka-tls` feature of `tidings` (`tls` of this crate) links. Otherwise an
    /// [`Error::Config`] naming the server `name` and the feature to enable.
    /// [`KafkaBroker::connect_with`](crate::KafkaBroker::connect_with) calls it before
    /// making any client.
    pub fn check_linked(&self, name: &str) -> Result<(), Error> {
        // Asking librdkafka for its features makes a native configuration: only when
        // something needs them.
        if self.needs_openssl().is_empty() {
            return Ok(());
        }
        self.check_linked_in(name, &builtin_features())
    }

    /// What the security settings need of librdkafka's OpenSSL: each the
    /// `builtin.features` entry it needs and what it is, for the error.
    fn needs_openssl(&self) -> Vec<(&'static str, String)> {
        let s = &self.security;
        let mut needs = Vec::new();
        if let Some(p) = s.protocol {
            if p.uses_tls() {
                needs.push(("ssl", format!("TLS (security protocol `{}`)", p.as_str())));
            }
            if let Some(m) = s.sasl_mechanism.as_deref().filter(|m| p.uses_sasl() && m.starts_with("SCRAM-")) {
                needs.push(("sasl_scram", format!("SASL/{m}")));
            }
        }
        needs
    }

    /// [`check_linked`](Self::check_linked) against a librdkafka with these
    /// `builtin.features`.
    fn check_linked_in(&self, name: &str, features: &str) -> Result<(), Error> {
        let has = |feature: &str| features.split(',').any(|f| f.trim() == feature);
        let Some((_, wanted)) = self.needs_openssl().into_iter().find(|(feature, _)| !has(feature)) else {
            return Ok(());
        };
        Err(Error::Config(format!(
            "server `{name}` (Kafka at {}) asks for {wanted}, but this binary's librdkafka is built without \
             OpenSSL: enable the `kafka-tls` feature of `tidings` (or `tls` of `tidings-kafka`)",
            self.bootstrap_servers()
        )))
    }

    /// The `auto.offset.reset` value.
    pub(crate) fn offset_reset(&self) -> &'static str {
        self.auto_offset_reset.as_str()
    }
}

impl Security {
    fn from_env(scheme: &str, url_mechanism: Option<String>, env: &impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let (tls, sasl) = match scheme {
            "kafka" => (false, url_mechanism.is_some()),
            "kafka+ssl" => (true, url_mechanism.is_some()),
            "kafka+sasl" => (false, true),
            _ => (true, true),
        };
        let env_mechanism = env(ENV_SASL_MECHANISM);
        if let (Some(u), Some(e)) = (&url_mechanism, &env_mechanism) {
            if !u.eq_ignore_ascii_case(e) {
                return Err(format!("the URL says sasl_mechanism={u} but {ENV_SASL_MECHANISM} says {e}"));
            }
        }
        let mut s = Security {
            protocol: None,
            sasl_mechanism: url_mechanism.or(env_mechanism),
            sasl_username: env(ENV_SASL_USERNAME),
            sasl_password: env(ENV_SASL_PASSWORD),
            ssl_ca_location: env(ENV_SSL_CA_LOCATION),
            ssl_certificate_location: env(ENV_SSL_CERTIFICATE_LOCATION),
            ssl_key_location: env(ENV_SSL_KEY_LOCATION),
            ssl_key_password: env(ENV_SSL_KEY_PASSWORD),
        };
        let has_credentials = s.sasl_username.is_some() || s.sasl_password.is_some();
        s.protocol = match env(ENV_SECURITY_PROTOCOL) {
            Some(p) => Some(SecurityProtocol::parse(&p).ok_or_else(|| {
                format!("{ENV_SECURITY_PROTOCOL} is plaintext, ssl, sasl_plaintext or sasl_ssl, not `{p}`")
            })?),
            None => match (tls, sasl || has_credentials) {
                (false, false) => None,
                (true, false) => Some(SecurityProtocol::Ssl),
                (false, true) => Some(SecurityProtocol::SaslPlaintext),
                (true, true) => Some(SecurityProtocol::SaslSsl),
            },
        };
        let uses_sasl = s.protocol.is_some_and(SecurityProtocol::uses_sasl);
        if uses_sasl {
            let mechanism = s.sasl_mechanism.get_or_insert_with(|| "PLAIN".to_owned());
            *mechanism = mechanism.to_ascii_uppercase();
            if !matches!(mechanism.as_str(), "PLAIN" | "SCRAM-SHA-256" | "SCRAM-SHA-512") {
                return Err(format!(
                    "{ENV_SASL_MECHANISM} is PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512, not `{mechanism}`"
                ));
            }
            if s.sasl_username.is_none() || s.sasl_password.is_none() {
                return Err(format!("SASL needs both {ENV_SASL_USERNAME} and {ENV_SASL_PASSWORD}"));
            }
        } else if has_credentials || s.sasl_mechanism.is_some() {
            return Err(format!(
                "SASL settings are set but the security protocol has no SASL; use a kafka+sasl:// or \
                 kafka+sasl_ssl:// URL or set {ENV_SECURITY_PROTOCOL}"
            ));
        }
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn parse(url: &str, env: &[(&str, &str)]) -> Result<KafkaConfig, Error> {
        let env: HashMap<String, String> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        KafkaConfig::from_url_and_env("main", url, |k| env.get(k).cloned())
    }

    #[test]
    fn hosts_and_defaults() {
        let c = parse("kafka://b1:9092,b2:9093", &[]).unwrap();
        assert_eq!(c.bootstrap_servers(), "b1:9092,b2:9093");
        assert_eq!(c.client_id, "tidings-main");
        assert_eq!(c.auto_offset_reset, OffsetReset::Earliest);
        assert_eq!(c.security, Security::default());
        assert_eq!(parse("kafka://broker", &[]).unwrap().bootstrap_servers(), "broker:9092");
        assert_eq!(parse("kafka://[::1]:9092/", &[]).unwrap().bootstrap_servers(), "[::1]:9092");
    }

    #[test]
    fn query_options() {
        let c = parse(
            "kafka://b:9092?client_id=orders&topic_prefix=t1.&group_prefix=g1-&auto_offset_reset=latest\
             &session_timeout_ms=6000&commit_interval_ms=50&commit_batch=10&max_buffered=20\
             &metadata_refresh_ms=1000&message_timeout_ms=5000&linger_ms=0&revoke_wait_ms=200&protocol_version=3.7\
             &fetch_wait_ms=10",
            &[],
        )
        .unwrap();
        assert_eq!(c.client_id, "orders");
        assert_eq!((c.topic_prefix.as_str(), c.group_prefix.as_str()), ("t1.", "g1-"));
        assert_eq!(c.auto_offset_reset, OffsetReset::Latest);
        assert_eq!(c.session_timeout, Some(Duration::from_millis(6000)));
        assert_eq!((c.commit_interval, c.commit_batch, c.max_buffered), (Duration::from_millis(50), 10, 20));
        assert_eq!(c.metadata_refresh, Some(Duration::from_secs(1)));
        assert_eq!(c.message_timeout, Duration::from_secs(5));
        assert_eq!(c.linger, Duration::ZERO);
        assert_eq!(c.revoke_wait, Duration::from_millis(200));
        assert_eq!(c.fetch_wait, Some(Duration::from_millis(10)));
        assert_eq!(parse("kafka://b:9092", &[]).unwrap().linger, Duration::from_millis(1), "the default");
        assert_eq!(parse("kafka://b:9092", &[]).unwrap().fetch_wait, None, "librdkafka's default");
        for bad in ["fetch_wait_ms=", "fetch_wait_ms=0", "fetch_wait_ms=soon", "fetch_wait_ms=300001"] {
            let e = parse(&format!("kafka://b:9092?{bad}"), &[]).unwrap_err().to_string();
            assert!(e.contains("`fetch_wait_ms` must be a number of milliseconds from 1 to 300000"), "{bad}: {e}");
        }
        for bad in ["linger_ms=", "linger_ms=-1", "linger_ms=soon", "linger_ms=900001"] {
            let e = parse(&format!("kafka://b:9092?{bad}"), &[]).unwrap_err().to_string();
            assert!(e.contains("`linger_ms` must be a number of milliseconds"), "{bad}: {e}");
        }
    }

    #[test]
    fn bad_urls_are_errors_naming_the_server() {
        for url in [
            "kafka://",
            "kafka://a,,b",
            "kafka://b:99999",
            "kafka://b:9092/path",
            "kafka://b:9092?colour=red",
            "kafka://b:9092?session_timeout_ms=soon",
            "kafka://b:9092?commit_batch=0",
            "kafka://b:9092?auto_offset_reset=middle",
            "kafka://b:9092?protocol_version=three",
            "kafka://b:9092?topic_prefix=a/b",
            "nats://b:4222",
            "b:9092",
        ] {
            let err = parse(url, &[]).expect_err(url).to_string();
            assert!(err.contains("server `main`"), "{url}: {err}");
        }
    }

    #[test]
    fn credentials_in_the_url_are_refused_without_echoing_them() {
        let err = parse("kafka://user:hunter2@b:9092", &[]).unwrap_err().to_string();
        assert!(err.contains(ENV_SASL_USERNAME), "{err}");
        assert!(!err.contains("hunter2") && !err.contains("user:"), "{err}");
    }

    #[test]
    fn sasl_and_tls_from_scheme_and_environment() {
        let creds = [(ENV_SASL_USERNAME, "svc"), (ENV_SASL_PASSWORD, "hunter2")];
        let c = parse("kafka://b:9092", &creds).unwrap();
        assert_eq!(c.security.protocol, Some(SecurityProtocol::SaslPlaintext));
        assert_eq!(c.security.sasl_mechanism.as_deref(), Some("PLAIN"));
        let c = parse("kafka+ssl://b:9093", &creds).unwrap();
        assert_eq!(c.security.protocol, Some(SecurityProtocol::SaslSsl));
        let c = parse("kafka+ssl://b:9093", &[(ENV_SSL_CA_LOCATION, "/ca.pem")]).unwrap();
        assert_eq!(c.security.protocol, Some(SecurityProtocol::Ssl));
        let c = parse(
            "kafka://b:9093",
            &[(ENV_SASL_USERNAME, "svc"), (ENV_SASL_PASSWORD, "hunter2"), (ENV_SASL_MECHANISM, "scram-sha-512"), (ENV_SECURITY_PROTOCOL, "SASL_SSL")],
        )
        .unwrap();
        assert_eq!(c.security.protocol, Some(SecurityProtocol::SaslSsl));
        assert_eq!(c.security.sasl_mechanism.as_deref(), Some("SCRAM-SHA-512"));
        let common = c.common();
        assert!(common.contains(&("sasl.password", "hunter2".to_owned())));
        assert!(common.contains(&("security.protocol", "sasl_ssl".to_owned())));
    }

    #[test]
    fn the_sasl_mechanism_may_come_from_the_url() {
        let creds = [(ENV_SASL_USERNAME, "svc"), (ENV_SASL_PASSWORD, "hunter2")];
        let c = parse("kafka://b:9092?sasl_mechanism=scram-sha-256", &creds).unwrap();
        assert_eq!(c.security.protocol, Some(SecurityProtocol::SaslPlaintext));
        assert_eq!(c.security.sasl_mechanism.as_deref(), Some("SCRAM-SHA-256"));
        let c = parse("kafka+ssl://b:9093?sasl_mechanism=PLAIN", &creds).unwrap();
        assert_eq!(c.security.protocol, Some(SecurityProtocol::SaslSsl));
        assert!(parse("kafka://b:9092?sasl_mechanism=PLAIN", &[]).is_err(), "SASL without credentials");
        let mut env = creds.to_vec();
        env.push((ENV_SASL_MECHANISM, "PLAIN"));
        assert!(parse("kafka://b:9092?sasl_mechanism=SCRAM-SHA-512", &env).is_err(), "URL and environment disagree");
    }

    #[test]
    fn bad_security_settings_are_errors_without_secrets() {
        for env in [
            vec![(ENV_SASL_USERNAME, "svc")],
            vec![(ENV_SASL_USERNAME, "svc"), (ENV_SASL_PASSWORD, "hunter2"), (ENV_SASL_MECHANISM, "GSSAPI")],
            vec![(ENV_SASL_PASSWORD, "hunter2"), (ENV_SECURITY_PROTOCOL, "ssl")],
            vec![(ENV_SECURITY_PROTOCOL, "carrier-pigeon")],
        ] {
            let err = parse("kafka://b:9092", &env).expect_err(&format!("{env:?}")).to_string();
            assert!(!err.contains("hunter2"), "{err}");
        }
    }

    #[test]
    fn tls_and_scram_need_a_librdkafka_with_openssl() {
        let creds = [(ENV_SASL_USERNAME, "svc"), (ENV_SASL_PASSWORD, "hunter2")];
        let without = "gzip,snappy,sasl,regex,lz4,sasl_plain,plugins,zstd,sasl_oauthbearer";
        let with = "gzip,snappy,ssl,sasl,regex,lz4,sasl_plain,sasl_scram,plugins,zstd,sasl_oauthbearer";
        let scram = [(ENV_SASL_USERNAME, "svc"), (ENV_SASL_PASSWORD, "hunter2"), (ENV_SASL_MECHANISM, "SCRAM-SHA-256")];
        for (url, env) in [
            ("kafka+ssl://b:9093", &[][..]),
            ("kafka+sasl_ssl://b:9093", &creds[..]),
            ("kafka-secure://b:9093", &creds[..]),
            ("kafka+sasl://b:9093", &scram[..]),
        ] {
            let c = parse(url, env).unwrap();
            let err = c.check_linked_in("main", without).expect_err(url).to_string();
            assert!(err.contains("server `main`") && err.contains("b:9093"), "{url}: {err}");
            assert!(err.contains("`kafka-tls` feature of `tidings`"), "{url}: {err}");
            assert!(!err.contains("hunter2"), "{err}");
            c.check_linked_in("main", with).unwrap_or_else(|e| panic!("{url}: {e}"));
        }
        for (url, env) in [("kafka://b:9092", &[][..]), ("kafka+sasl://b:9092", &creds[..])] {
            parse(url, env).unwrap().check_linked_in("main", without).unwrap_or_else(|e| panic!("{url}: {e}"));
        }
    }

    #[test]
    fn the_linked_librdkafka_decides_whether_tls_is_available() {
        let c = parse("kafka+ssl://b:9093", &[]).unwrap();
        let linked = builtin_features();
        assert!(linked.contains("sasl_plain"), "{linked}");
        let has_ssl = linked.split(',').any(|f| f == "ssl");
        // The feature and the library agree (another crate of the build may turn rdkafka's
        // `ssl` on, so only `tls` on means OpenSSL for sure).
        if cfg!(feature = "tls") {
            assert!(has_ssl, "{linked}");
        }
        match c.check_linked("main") {
            Ok(()) => assert!(has_ssl, "{linked}"),
            Err(e) => {
                assert!(!has_ssl, "{linked}: {e}");
                assert!(matches!(e, Error::Config(_)) && e.to_string().contains("kafka-tls"), "{e}");
            }
        }
        parse("kafka://b:9092", &[]).unwrap().check_linked("main").unwrap();
    }

    #[test]
    fn debug_masks_secrets() {
        let c = parse("kafka://b:9092", &[(ENV_SASL_USERNAME, "svc-user"), (ENV_SASL_PASSWORD, "hunter2")]).unwrap();
        let text = format!("{c:?}");
        assert!(!text.contains("hunter2") && !text.contains("svc-user"), "{text}");
    }
}
