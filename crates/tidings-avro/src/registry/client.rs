//! A blocking client of the Confluent Schema Registry REST API.
//!
//! Blocking on purpose: the codec's `encode`/`decode` are synchronous, and after the
//! first call per schema every answer comes from the cache, so the registry is asked
//! a handful of times per process, not once per message.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Deserialize;
use serde_json::json;

use crate::compat::Level;
use crate::schema::{Contract, SchemaError};

/// The registry's media type (requests and answers).
pub const MEDIA_TYPE: &str = "application/vnd.schemaregistry.v1+json";

/// Everything that can go wrong talking to a registry.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// No connection, a timeout, a TLS failure.
    #[error("schema registry at {url} unreachable: {reason}")]
    Unreachable {
        /// The registry URL (without credentials).
        url: String,
        /// What the HTTP client said.
        reason: String,
    },
    /// The registry answered with an error.
    #[error("schema registry: {message} (HTTP {status}, error code {code})")]
    Api {
        /// HTTP status.
        status: u16,
        /// Confluent error code (`40401` subject not found, `409` incompatible, ...).
        code: i64,
        /// The registry's message.
        message: String,
    },
    /// An answer that is not what the API promises.
    #[error("schema registry answered something unreadable: {0}")]
    Protocol(String),
    /// No registry configured, or a bad URL.
    #[error("{0}")]
    Config(String),
    /// A schema from the registry that does not parse.
    #[error("schema {id} from the registry: {source}")]
    Schema {
        /// Its id.
        id: u32,
        /// Why it does not parse.
        source: SchemaError,
    },
}

impl RegistryError {
    /// Whether the registry said "not found" (a subject, version or schema).
    pub fn is_not_found(&self) -> bool {
        matches!(self, RegistryError::Api { status: 404, .. })
    }
}

/// How requests authenticate.
#[derive(Clone, Default, PartialEq, Eq)]
pub enum Auth {
    /// None.
    #[default]
    None,
    /// HTTP basic (Confluent Cloud API key and secret).
    Basic {
        /// User name or API key.
        username: String,
        /// Password or API secret.
        password: String,
    },
    /// `Authorization: Bearer <token>` (OAuth).
    Bearer(String),
}

impl std::fmt::Debug for Auth {
    // Never print a secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::None => f.write_str("None"),
            Auth::Basic { username, .. } => write!(f, "Basic({username}, ***)"),
            Auth::Bearer(_) => f.write_str("Bearer(***)"),
        }
    }
}

impl Auth {
    /// From the environment: `TIDINGS_SCHEMA_REGISTRY_TOKEN` (bearer), else
    /// `TIDINGS_SCHEMA_REGISTRY_USERNAME` and `_PASSWORD` (basic), else none.
    pub fn from_env() -> Auth {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        if let Some(token) = var("TIDINGS_SCHEMA_REGISTRY_TOKEN") {
            return Auth::Bearer(token);
        }
        match var("TIDINGS_SCHEMA_REGISTRY_USERNAME") {
            Some(username) => Auth::Basic { username, password: var("TIDINGS_SCHEMA_REGISTRY_PASSWORD").unwrap_or_default() },
            None => Auth::None,
        }
    }

    fn header(&self) -> Option<String> {
        match self {
            Auth::None => None,
            Auth::Basic { username, password } => Some(format!("Basic {}", base64(format!("{username}:{password}").as_bytes()))),
            Auth::Bearer(token) => Some(format!("Bearer {token}")),
        }
    }
}

fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Percent-encodes a path segment (subjects may hold `/`, spaces, ...).
fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A schema as registered under a subject.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RegisteredSchema {
    /// The subject.
    pub subject: String,
    /// The global schema id (what the wire format carries).
    pub id: u32,
    /// The version within the subject, from 1.
    pub version: u32,
    /// The schema text.
    pub schema: String,
}

/// The registry's verdict on a candidate schema.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Compatibility {
    /// Whether it may be registered.
    pub is_compatible: bool,
    /// Why not (with `verbose=true`).
    #[serde(default)]
    pub messages: Vec<String>,
}

/// A Schema Registry client with caches of ids and schemas.
#[derive(Debug)]
pub struct RegistryClient {
    base: String,
    auth: Auth,
    agent: ureq::Agent,
    by_id: Mutex<HashMap<u32, Arc<Contract>>>,
    ids: Mutex<HashMap<(String, String), u32>>,
    auto_register: bool,
}

impl RegistryClient {
    /// A client of the registry at `url` (`http://127.0.0.1:8081`). Credentials in
    /// the URL (`https://key:secret@host`) become basic auth.
    pub fn new(url: &str) -> Result<RegistryClient, RegistryError> {
        let parsed = url::Url::parse(url).map_err(|e| RegistryError::Config(format!("bad schema registry URL `{url}`: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(RegistryError::Config(format!("schema registry URL `{url}` must be http:// or https://")));
        }
        let auth = if parsed.username().is_empty() {
            Auth::None
        } else {
            Auth::Basic {
                username: decode(parsed.username()),
                password: decode(parsed.password().unwrap_or("")),
            }
        };
        let mut clean = parsed.clone();
        let _ = clean.set_username("");
        let _ = clean.set_password(None);
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .into();
        Ok(RegistryClient {
            base: clean.as_str().trim_end_matches('/').to_owned(),
            auth,
            agent,
            by_id: Mutex::default(),
            ids: Mutex::default(),
            auto_register: true,
        })
    }

    /// From `TIDINGS_SCHEMA_REGISTRY_URL`, with [`Auth::from_env`] (which wins over
    /// credentials in the URL) and `TIDINGS_SCHEMA_REGISTRY_AUTO_REGISTER=false` to
    /// only look schemas up.
    pub fn from_env() -> Result<RegistryClient, RegistryError> {
        let url = std::env::var(super::URL_ENV).map_err(|_| {
            RegistryError::Config(format!(
                "no schema registry: set {} (for local work: `tidings registry serve`)",
                super::URL_ENV
            ))
        })?;
        RegistryClient::with_env(&url)
    }

    /// A client of the registry at `url`, configured like [`from_env`](Self::from_env)
    /// apart from the URL: [`Auth::from_env`] and `TIDINGS_SCHEMA_REGISTRY_AUTO_REGISTER`.
    pub fn with_env(url: &str) -> Result<RegistryClient, RegistryError> {
        let mut client = RegistryClient::new(url)?;
        let auth = Auth::from_env();
        if auth != Auth::None {
            client.auth = auth;
        }
        if let Ok(v) = std::env::var("TIDINGS_SCHEMA_REGISTRY_AUTO_REGISTER") {
            client.auto_register = !matches!(v.to_ascii_lowercase().as_str(), "false" | "0" | "no");
        }
        Ok(client)
    }

    /// Sets the authentication.
    pub fn with_auth(mut self, auth: Auth) -> Self {
        self.auth = auth;
        self
    }

    /// Whether [`id_for`](Self::id_for) registers a schema the subject lacks (true by
    /// default, as Confluent's serializers do) or fails.
    pub fn with_auto_register(mut self, on: bool) -> Self {
        self.auto_register = on;
        self
    }

    /// The registry URL, without credentials.
    pub fn url(&self) -> &str {
        &self.base
    }

    fn call(&self, method: &str, path: &str, body: Option<serde_json::Value>) -> Result<serde_json::Value, RegistryError> {
        let url = format!("{}{path}", self.base);
        let unreachable = |e: ureq::Error| RegistryError::Unreachable { url: self.base.clone(), reason: e.to_string() };
        let auth = self.auth.header();
        let response = match (method, body) {
            ("GET" | "DELETE", _) => {
                let mut req = if method == "GET" { self.agent.get(&url) } else { self.agent.delete(&url) };
                req = req.header("Accept", MEDIA_TYPE);
                if let Some(a) = &auth {
                    req = req.header("Authorization", a);
                }
                req.call().map_err(unreachable)?
            }
            (_, body) => {
                let mut req = if method == "PUT" { self.agent.put(&url) } else { self.agent.post(&url) };
                req = req.header("Accept", MEDIA_TYPE).header("Content-Type", MEDIA_TYPE);
                if let Some(a) = &auth {
                    req = req.header("Authorization", a);
                }
                req.send(body.unwrap_or(serde_json::Value::Null).to_string()).map_err(unreachable)?
            }
        };
        let status = response.status().as_u16();
        let text = response.into_body().read_to_string().map_err(unreachable)?;
        let value: serde_json::Value = if text.trim().is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_str(&text)
                .map_err(|e| RegistryError::Protocol(format!("{method} {path}: HTTP {status}, not JSON ({e}): {text:.200}")))?
        };
        if !(200..300).contains(&status) {
            return Err(RegistryError::Api {
                status,
                code: value.get("error_code").and_then(|c| c.as_i64()).unwrap_or(status as i64),
                message: value.get("message").and_then(|m| m.as_str()).unwrap_or(text.trim()).to_owned(),
            });
        }
        Ok(value)
    }

    fn parse<T: serde::de::DeserializeOwned>(what: &str, value: serde_json::Value) -> Result<T, RegistryError> {
        serde_json::from_value(value).map_err(|e| RegistryError::Protocol(format!("{what}: {e}")))
    }

    /// Registers `schema` under `subject` (or finds it there); its global id.
    pub fn register(&self, subject: &str, schema: &str) -> Result<u32, RegistryError> {
        #[derive(Deserialize)]
        struct Id {
            id: u32,
        }
        let answer = self.call("POST", &format!("/subjects/{}/versions", segment(subject)), Some(json!({ "schema": schema })))?;
        Ok(Self::parse::<Id>("register", answer)?.id)
    }

    /// The version of `subject` that holds `schema`, if any.
    pub fn lookup(&self, subject: &str, schema: &str) -> Result<Option<RegisteredSchema>, RegistryError> {
        match self.call("POST", &format!("/subjects/{}", segment(subject)), Some(json!({ "schema": schema }))) {
            Ok(answer) => Self::parse("lookup", answer).map(Some),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The schema text with global id `id`.
    pub fn schema_by_id(&self, id: u32) -> Result<String, RegistryError> {
        #[derive(Deserialize)]
        struct Text {
            schema: String,
        }
        let answer = self.call("GET", &format!("/schemas/ids/{id}"), None)?;
        Ok(Self::parse::<Text>("schema by id", answer)?.schema)
    }

    /// Every subject.
    pub fn subjects(&self) -> Result<Vec<String>, RegistryError> {
        Self::parse("subjects", self.call("GET", "/subjects", None)?)
    }

    /// The versions of a subject.
    pub fn versions(&self, subject: &str) -> Result<Vec<u32>, RegistryError> {
        Self::parse("versions", self.call("GET", &format!("/subjects/{}/versions", segment(subject)), None)?)
    }

    /// One version of a subject (`None`: the latest).
    pub fn version(&self, subject: &str, version: Option<u32>) -> Result<RegisteredSchema, RegistryError> {
        let v = version.map_or_else(|| "latest".to_owned(), |v| v.to_string());
        Self::parse("version", self.call("GET", &format!("/subjects/{}/versions/{v}", segment(subject)), None)?)
    }

    /// Deletes a subject; the versions it had.
    pub fn delete_subject(&self, subject: &str) -> Result<Vec<u32>, RegistryError> {
        Self::parse("delete", self.call("DELETE", &format!("/subjects/{}", segment(subject)), None)?)
    }

    /// Whether `schema` may be registered under `subject`: against the versions the
    /// subject's level names (`None`), or one version. A subject that does not exist
    /// yet accepts anything.
    pub fn check_compatibility(&self, subject: &str, schema: &str, version: Option<u32>) -> Result<Compatibility, RegistryError> {
        let path = match version {
            None => format!("/compatibility/subjects/{}/versions?verbose=true", segment(subject)),
            Some(v) => format!("/compatibility/subjects/{}/versions/{v}?verbose=true", segment(subject)),
        };
        match self.call("POST", &path, Some(json!({ "schema": schema }))) {
            Ok(answer) => Self::parse("compatibility", answer),
            Err(e) if e.is_not_found() => Ok(Compatibility { is_compatible: true, messages: Vec::new() }),
            Err(e) => Err(e),
        }
    }

    /// The compatibility level of a subject (falling back to the global one), or the
    /// global one (`None`).
    pub fn compatibility_level(&self, subject: Option<&str>) -> Result<Level, RegistryError> {
        #[derive(Deserialize)]
        struct Config {
            #[serde(rename = "compatibilityLevel", alias = "compatibility")]
            level: String,
        }
        let path = match subject {
            Some(s) => format!("/config/{}?defaultToGlobal=true", segment(s)),
            None => "/config".to_owned(),
        };
        let config: Config = Self::parse("config", self.call("GET", &path, None)?)?;
        config.level.parse().map_err(RegistryError::Protocol)
    }

    /// Sets the compatibility level of a subject, or the global one (`None`).
    pub fn set_compatibility_level(&self, subject: Option<&str>, level: Level) -> Result<(), RegistryError> {
        let path = subject.map_or_else(|| "/config".to_owned(), |s| format!("/config/{}", segment(s)));
        self.call("PUT", &path, Some(json!({ "compatibility": level.as_str() })))?;
        Ok(())
    }

    /// The parsed schema with global id `id`, cached: what decoding reads the writer's
    /// data with.
    pub fn contract_by_id(&self, id: u32) -> Result<Arc<Contract>, RegistryError> {
        if let Some(found) = self.by_id.lock().unwrap_or_else(|p| p.into_inner()).get(&id) {
            return Ok(found.clone());
        }
        let text = self.schema_by_id(id)?;
        let contract = Arc::new(Contract::parse(&text).map_err(|source| RegistryError::Schema { id, source })?);
        self.by_id.lock().unwrap_or_else(|p| p.into_inner()).insert(id, contract.clone());
        Ok(contract)
    }

    /// The global id of `contract` under `subject`, cached: looked up, and registered
    /// when missing if auto-registration is on.
    pub fn id_for(&self, subject: &str, contract: &Contract) -> Result<u32, RegistryError> {
        let key = (subject.to_owned(), contract.normalized.clone());
        if let Some(id) = self.ids.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
            return Ok(*id);
        }
        let id = match self.lookup(subject, &contract.normalized)? {
            Some(found) => found.id,
            None if self.auto_register => self.register(subject, &contract.normalized)?,
            None => {
                return Err(RegistryError::Config(format!(
                    "schema not registered under subject `{subject}` and auto-registration is off (register it with `tidings registry register-all`)"
                )))
            }
        };
        self.ids.lock().unwrap_or_else(|p| p.into_inner()).insert(key, id);
        // The writer's own schema is known: decoding our own messages asks nothing.
        self.by_id.lock().unwrap_or_else(|p| p.into_inner()).entry(id).or_insert_with(|| Arc::new(contract.clone()));
        Ok(id)
    }
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_auth_is_base64_of_user_colon_password() {
        assert_eq!(base64(b"Aladdin:open sesame"), "QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b"abc"), "YWJj");
        let auth = Auth::Basic { username: "Aladdin".into(), password: "open sesame".into() };
        assert_eq!(auth.header().unwrap(), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
        assert_eq!(Auth::Bearer("t0k".into()).header().unwrap(), "Bearer t0k");
        assert_eq!(format!("{auth:?}"), "Basic(Aladdin, ***)", "the password never prints");
    }

    #[test]
    fn credentials_in_the_url_become_basic_auth_and_leave_the_url() {
        let c = RegistryClient::new("https://key:s%40cret@registry.example:8081/").unwrap();
        assert_eq!(c.url(), "https://registry.example:8081");
        assert_eq!(c.auth, Auth::Basic { username: "key".into(), password: "s@cret".into() });
        assert!(RegistryClient::new("ftp://x").is_err());
    }

    #[test]
    fn subjects_are_percent_encoded_in_paths() {
        assert_eq!(segment("orders.created-value"), "orders.created-value");
        assert_eq!(segment("a/b c"), "a%2Fb%20c");
    }
}
