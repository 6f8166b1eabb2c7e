//! An in-memory Schema Registry serving the Confluent REST API (the part clients and
//! serializers use), with every compatibility level enforced by [`crate::compat`]:
//! for tests and local development (`tidings registry serve`), since no
//! Confluent-compatible server installs on these machines.
//!
//! Routes: `GET /subjects`, `GET|POST /subjects/{s}/versions`, `POST|DELETE
//! /subjects/{s}`, `GET /subjects/{s}/versions/{v|latest}[/schema]`, `GET
//! /schemas/ids/{id}[/schema]`, `GET /schemas/types`, `POST
//! /compatibility/subjects/{s}/versions[/{v}]`, `GET|PUT /config[/{s}]`, `DELETE
//! /config/{s}`. Ids are global and shared by identical schemas, as in Confluent's.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use serde_json::{json, Value};

use super::client::MEDIA_TYPE;
use crate::compat::{self, Level};
use crate::schema::Contract;

/// The registry's data: schemas by id, subjects' versions, compatibility levels.
#[derive(Debug, Default)]
pub struct RegistryState {
    /// Schema `id` is at index `id - 1`.
    schemas: Vec<Contract>,
    /// Each subject's versions, oldest first, as schema ids (version `n` at `n - 1`).
    subjects: BTreeMap<String, Vec<u32>>,
    global: Level,
    levels: HashMap<String, Level>,
}

/// An HTTP answer: status and JSON body.
pub type Reply = (u16, Value);

fn error(status: u16, code: u32, message: impl Into<String>) -> Reply {
    (status, json!({ "error_code": code, "message": message.into() }))
}

fn subject_not_found(s: &str) -> Reply {
    error(404, 40401, format!("Subject '{s}' not found."))
}

impl RegistryState {
    /// An empty registry whose global compatibility level is `level`.
    pub fn new(level: Level) -> RegistryState {
        RegistryState { global: level, ..RegistryState::default() }
    }

    fn level_of(&self, subject: &str) -> Level {
        self.levels.get(subject).copied().unwrap_or(self.global)
    }

    fn versions_of(&self, subject: &str) -> Vec<(u32, Contract)> {
        self.subjects
            .get(subject)
            .map(|ids| ids.iter().enumerate().map(|(i, id)| (i as u32 + 1, self.schemas[*id as usize - 1].clone())).collect())
            .unwrap_or_default()
    }

    fn version_index(&self, subject: &str, v: &str) -> Result<usize, Reply> {
        let ids = self.subjects.get(subject).ok_or_else(|| subject_not_found(subject))?;
        let n = match v {
            "latest" | "-1" => ids.len(),
            v => v.parse::<usize>().map_err(|_| error(422, 42202, format!("The specified version '{v}' is not a valid version id.")))?,
        };
        if n == 0 || n > ids.len() {
            return Err(error(404, 40402, format!("Version {v} not found.")));
        }
        Ok(n - 1)
    }

    fn candidate(body: &Value) -> Result<Contract, Reply> {
        let Some(text) = body.get("schema").and_then(Value::as_str) else {
            return Err(error(422, 42201, "Either the input schema or one of its references is invalid: no `schema` string"));
        };
        if let Some(t) = body.get("schemaType").and_then(Value::as_str) {
            if t != "AVRO" {
                return Err(error(422, 42201, format!("schemaType {t} is not supported by this registry; only AVRO")));
            }
        }
        Contract::parse(text).map_err(|e| error(422, 42201, format!("Invalid schema: {e}")))
    }

    fn registered(&self, subject: &str, index: usize) -> Value {
        let id = self.subjects[subject][index];
        json!({
            "subject": subject,
            "id": id,
            "version": index + 1,
            "schema": self.schemas[id as usize - 1].normalized,
        })
    }

    fn register(&mut self, subject: &str, body: &Value) -> Reply {
        let new = match Self::candidate(body) {
            Ok(c) => c,
            Err(reply) => return reply,
        };
        let versions = self.versions_of(subject);
        if let Some((_, _)) = versions.iter().find(|(_, c)| c.normalized == new.normalized) {
            let id = self.schemas.iter().position(|c| c.normalized == new.normalized).map_or(0, |i| i + 1);
            return (200, json!({ "id": id }));
        }
        let level = self.level_of(subject);
        let problems = compat::check(level, &new, &versions);
        if !problems.is_empty() {
            return error(
                409,
                409,
                format!(
                    "Schema being registered is incompatible with an earlier schema for subject \"{subject}\", details: [{}]",
                    problems.join("; ")
                ),
            );
        }
        let id = match self.schemas.iter().position(|c| c.normalized == new.normalized) {
            Some(i) => i as u32 + 1,
            None => {
                self.schemas.push(new);
                self.schemas.len() as u32
            }
        };
        self.subjects.entry(subject.to_owned()).or_default().push(id);
        (200, json!({ "id": id }))
    }

    fn compatibility(&self, subject: &str, version: Option<&str>, body: &Value) -> Reply {
        let new = match Self::candidate(body) {
            Ok(c) => c,
            Err(reply) => return reply,
        };
        if !self.subjects.contains_key(subject) {
            return subject_not_found(subject);
        }
        let level = self.level_of(subject);
        let versions = self.versions_of(subject);
        let against = match version {
            None => versions,
            Some(v) => match self.version_index(subject, v) {
                Ok(i) => vec![versions[i].clone()],
                Err(reply) => return reply,
            },
        };
        // Against one named version, the level's direction applies without transitivity.
        let level = match (version, level) {
            (Some(_), Level::BackwardTransitive) => Level::Backward,
            (Some(_), Level::ForwardTransitive) => Level::Forward,
            (Some(_), Level::FullTransitive) => Level::Full,
            (_, l) => l,
        };
        let messages = compat::check(level, &new, &against);
        (200, json!({ "is_compatible": messages.is_empty(), "messages": messages }))
    }

    /// Answers one request. `path` is percent-decoded segment by segment; `body` is
    /// the request's JSON (`Null` when none).
    pub fn handle(&mut self, method: &str, path: &str, body: &Value) -> Reply {
        let segments: Vec<String> = path.trim_matches('/').split('/').filter(|s| !s.is_empty()).map(percent_decode).collect();
        let seg: Vec<&str> = segments.iter().map(String::as_str).collect();
        match (method, seg.as_slice()) {
            ("GET", []) => (200, json!({})),
            ("GET", ["subjects"]) => (200, json!(self.subjects.keys().collect::<Vec<_>>())),
            ("GET", ["schemas", "types"]) => (200, json!(["AVRO"])),
            ("GET", ["schemas", "ids", id]) | ("GET", ["schemas", "ids", id, "schema"]) => {
                let found = id.parse::<usize>().ok().filter(|i| *i >= 1).and_then(|i| self.schemas.get(i - 1));
                match found {
                    Some(c) if seg.len() == 4 => (200, serde_json::from_str(&c.normalized).unwrap_or(Value::Null)),
                    Some(c) => (200, json!({ "schema": c.normalized })),
                    None => error(404, 40403, format!("Schema {id} not found")),
                }
            }
            ("GET", ["subjects", s, "versions"]) => match self.subjects.get(*s) {
                Some(ids) => (200, json!((1..=ids.len()).collect::<Vec<_>>())),
                None => subject_not_found(s),
            },
            ("POST", ["subjects", s, "versions"]) => self.register(s, body),
            ("POST", ["subjects", s]) => {
                let new = match Self::candidate(body) {
                    Ok(c) => c,
                    Err(reply) => return reply,
                };
                let Some(ids) = self.subjects.get(*s) else { return subject_not_found(s) };
                match ids.iter().position(|id| self.schemas[*id as usize - 1].normalized == new.normalized) {
                    Some(i) => (200, self.registered(s, i)),
                    None => error(404, 40403, "Schema not found"),
                }
            }
            ("DELETE", ["subjects", s]) => match self.subjects.remove(*s) {
                Some(ids) => {
                    self.levels.remove(*s);
                    (200, json!((1..=ids.len()).collect::<Vec<_>>()))
                }
                None => subject_not_found(s),
            },
            ("GET", ["subjects", s, "versions", v]) => match self.version_index(s, v) {
                Ok(i) => (200, self.registered(s, i)),
                Err(reply) => reply,
            },
            ("GET", ["subjects", s, "versions", v, "schema"]) => match self.version_index(s, v) {
                Ok(i) => {
                    let id = self.subjects[*s][i];
                    (200, serde_json::from_str(&self.schemas[id as usize - 1].normalized).unwrap_or(Value::Null))
                }
                Err(reply) => reply,
            },
            ("POST", ["compatibility", "subjects", s, "versions"]) => self.compatibility(s, None, body),
            ("POST", ["compatibility", "subjects", s, "versions", v]) => self.compatibility(s, Some(v), body),
            ("GET", ["config"]) => (200, json!({ "compatibilityLevel": self.global.as_str() })),
            ("GET", ["config", s]) => (200, json!({ "compatibilityLevel": self.level_of(s).as_str() })),
            ("PUT", ["config"]) | ("PUT", ["config", _]) => {
                let wanted = body.get("compatibility").or_else(|| body.get("compatibilityLevel")).and_then(Value::as_str);
                let level = match wanted.map(str::parse::<Level>) {
                    Some(Ok(l)) => l,
                    Some(Err(e)) => return error(422, 42203, e),
                    None => return error(422, 42203, "expected {\"compatibility\": \"BACKWARD\"}"),
                };
                match seg.get(1) {
                    Some(s) => {
                        self.levels.insert((*s).to_owned(), level);
                    }
                    None => self.global = level,
                }
                (200, json!({ "compatibility": level.as_str() }))
            }
            ("DELETE", ["config", s]) => match self.levels.remove(*s) {
                Some(l) => (200, json!({ "compatibilityLevel": l.as_str() })),
                None => error(404, 40408, format!("Subject '{s}' does not have subject-level compatibility configured")),
            },
            _ => error(404, 404, format!("no route {method} {path}")),
        }
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A running in-memory registry on its own thread (so it answers whatever runtime,
/// or none, its clients block in).
pub struct RegistryServer {
    addr: SocketAddr,
    server: Arc<tiny_http::Server>,
    thread: Option<JoinHandle<()>>,
}

impl RegistryServer {
    /// Serves on `bind` (`127.0.0.1:8081`; port 0 picks a free one) with the global
    /// compatibility level `level`.
    pub fn start(bind: &str, level: Level) -> std::io::Result<RegistryServer> {
        let server = Arc::new(tiny_http::Server::http(bind).map_err(std::io::Error::other)?);
        let addr = server
            .server_addr()
            .to_ip()
            .ok_or_else(|| std::io::Error::other("the registry listens on a unix socket"))?;
        let state = Arc::new(Mutex::new(RegistryState::new(level)));
        let serving = server.clone();
        let thread = std::thread::Builder::new().name("tidings-registry".into()).spawn(move || {
            for request in serving.incoming_requests() {
                serve_one(&state, request);
            }
        })?;
        Ok(RegistryServer { addr, server, thread: Some(thread) })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its base URL (`http://127.0.0.1:8081`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Serves until the process ends.
    pub fn wait(mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for RegistryServer {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve_one(state: &Mutex<RegistryState>, mut request: tiny_http::Request) {
    let method = request.method().as_str().to_owned();
    let url = request.url().to_owned();
    let path = url.split('?').next().unwrap_or("").to_owned();
    let mut text = String::new();
    let (status, body) = match request.as_reader().read_to_string(&mut text) {
        Err(e) => error(400, 400, format!("unreadable body: {e}")),
        Ok(_) => {
            let body = if text.trim().is_empty() { Ok(Value::Null) } else { serde_json::from_str(&text) };
            match body {
                Err(e) => error(400, 400, format!("the body is not JSON: {e}")),
                Ok(body) => state.lock().unwrap_or_else(|p| p.into_inner()).handle(&method, &path, &body),
            }
        }
    };
    tracing::debug!(%method, %url, status, "schema registry");
    let header = tiny_http::Header::from_bytes("Content-Type", MEDIA_TYPE).expect("a valid header");
    let response = tiny_http::Response::from_string(body.to_string()).with_status_code(status).with_header(header);
    let _ = request.respond(response);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::RegistryClient;

    const V1: &str = r#"{"type":"record","name":"OrderCreated","fields":[{"name":"order_id","type":"string"},{"name":"customer_id","type":"string"}]}"#;
    const V2: &str = r#"{"type":"record","name":"OrderCreated","fields":[{"name":"order_id","type":"string"},{"name":"customer_id","type":"string"},{"name":"priority","type":"string","default":"normal"}]}"#;
    const NO_CUSTOMER: &str = r#"{"type":"record","name":"OrderCreated","fields":[{"name":"order_id","type":"string"},{"name":"priority","type":"string","default":"normal"}]}"#;
    const ADDED_NO_DEFAULT: &str = r#"{"type":"record","name":"OrderCreated","fields":[{"name":"order_id","type":"string"},{"name":"customer_id","type":"string"},{"name":"region","type":"string"}]}"#;

    fn registry(level: Level) -> (RegistryServer, RegistryClient) {
        let server = RegistryServer::start("127.0.0.1:0", level).unwrap();
        let client = RegistryClient::new(&server.url()).unwrap();
        (server, client)
    }

    #[test]
    fn registers_versions_and_looks_them_up_over_http() {
        let (_server, c) = registry(Level::Backward);
        let id1 = c.register("orders-value", V1).unwrap();
        assert_eq!(c.register("orders-value", V1).unwrap(), id1, "registering again is idempotent");
        let id2 = c.register("orders-value", V2).unwrap();
        assert_ne!(id1, id2);
        assert_eq!(c.subjects().unwrap(), ["orders-value"]);
        assert_eq!(c.versions("orders-value").unwrap(), [1, 2]);
        let latest = c.version("orders-value", None).unwrap();
        assert_eq!((latest.id, latest.version), (id2, 2));
        assert_eq!(c.version("orders-value", Some(1)).unwrap().id, id1);
        let found = c.lookup("orders-value", V1).unwrap().unwrap();
        assert_eq!((found.id, found.version, found.subject.as_str()), (id1, 1, "orders-value"));
        assert_eq!(c.lookup("orders-value", NO_CUSTOMER).unwrap(), None);
        assert!(c.schema_by_id(id2).unwrap().contains("priority"));
        assert!(c.schema_by_id(99).unwrap_err().is_not_found());
        assert!(c.versions("nope").unwrap_err().is_not_found());
        // The same schema under another subject keeps its id.
        assert_eq!(c.register("com.example.OrderCreated", V2).unwrap(), id2);
        assert_eq!(c.delete_subject("com.example.OrderCreated").unwrap(), [1]);
        assert_eq!(c.subjects().unwrap(), ["orders-value"]);
    }

    #[test]
    fn rejects_incompatible_schemas_with_the_reason() {
        let (_server, c) = registry(Level::Backward);
        c.register("orders-value", V1).unwrap();
        let err = c.register("orders-value", ADDED_NO_DEFAULT).unwrap_err().to_string();
        assert!(err.contains("HTTP 409"), "{err}");
        assert!(err.contains("OrderCreated.region: the reader's field `region` has no default"), "{err}");
        let verdict = c.check_compatibility("orders-value", ADDED_NO_DEFAULT, None).unwrap();
        assert!(!verdict.is_compatible);
        assert_eq!(verdict.messages.len(), 1);
        assert!(c.check_compatibility("orders-value", V2, Some(1)).unwrap().is_compatible);
        assert!(c.check_compatibility("new-subject", V1, None).unwrap().is_compatible, "nothing to break");
    }

    #[test]
    fn levels_are_read_and_set_globally_and_per_subject() {
        let (_server, c) = registry(Level::Backward);
        assert_eq!(c.compatibility_level(None).unwrap(), Level::Backward);
        c.register("orders-value", V1).unwrap();
        c.register("orders-value", V2).unwrap();
        // BACKWARD lets a field without default go; FULL does not.
        assert!(c.check_compatibility("orders-value", NO_CUSTOMER, None).unwrap().is_compatible);
        c.set_compatibility_level(Some("orders-value"), Level::Full).unwrap();
        assert_eq!(c.compatibility_level(Some("orders-value")).unwrap(), Level::Full);
        assert_eq!(c.compatibility_level(Some("other")).unwrap(), Level::Backward, "falls back to global");
        let verdict = c.check_compatibility("orders-value", NO_CUSTOMER, None).unwrap();
        assert!(!verdict.is_compatible);
        assert!(verdict.messages[0].contains("customer_id"), "{:?}", verdict.messages);
        c.set_compatibility_level(None, Level::None).unwrap();
        assert_eq!(c.compatibility_level(None).unwrap(), Level::None);
        c.set_compatibility_level(Some("orders-value"), Level::None).unwrap();
        assert!(c.register("orders-value", ADDED_NO_DEFAULT).is_ok(), "NONE checks nothing");
    }

    #[test]
    fn answers_errors_as_confluent_does() {
        let mut s = RegistryState::new(Level::Backward);
        assert_eq!(s.handle("GET", "/subjects/x/versions", &Value::Null).1["error_code"], 40401);
        let (status, body) = s.handle("POST", "/subjects/x/versions", &json!({"schema": "{not avro"}));
        assert_eq!((status, body["error_code"].as_u64()), (422, Some(42201)));
        let (status, _) = s.handle("POST", "/subjects/x/versions", &json!({"schema": V1, "schemaType": "PROTOBUF"}));
        assert_eq!(status, 422);
        s.handle("POST", "/subjects/x/versions", &json!({"schema": V1}));
        assert_eq!(s.handle("GET", "/subjects/x/versions/2", &Value::Null).1["error_code"], 40402);
        assert_eq!(s.handle("GET", "/subjects/x/versions/two", &Value::Null).1["error_code"], 42202);
        assert_eq!(s.handle("PUT", "/config", &json!({"compatibility": "SIDEWAYS"})).1["error_code"], 42203);
        assert_eq!(s.handle("GET", "/subjects/x/versions/latest/schema", &Value::Null).1["name"], "OrderCreated");
        assert_eq!(s.handle("GET", "/schemas/ids/1/schema", &Value::Null).1["type"], "record");
        assert_eq!(s.handle("DELETE", "/config/x", &Value::Null).1["error_code"], 40408);
        assert_eq!(s.handle("GET", "/subjects/a%2Fb/versions", &Value::Null).1["message"], "Subject 'a/b' not found.");
    }

    #[test]
    fn transitive_levels_check_every_version() {
        let int = r#"{"type":"record","name":"N","fields":[{"name":"n","type":"int"}]}"#;
        let long = r#"{"type":"record","name":"N","fields":[{"name":"n","type":"long"}]}"#;
        let (_server, c) = registry(Level::Forward);
        c.register("n", int).unwrap();
        // FORWARD: version 1 (int) cannot read long.
        assert!(c.register("n", long).is_err());
        c.set_compatibility_level(Some("n"), Level::Backward).unwrap();
        c.register("n", long).unwrap();
        // Back to int: BACKWARD (against long) fails: int cannot read long.
        assert!(!c.check_compatibility("n", int, None).unwrap().is_compatible);
        c.set_compatibility_level(Some("n"), Level::ForwardTransitive).unwrap();
        // FORWARD_TRANSITIVE: long and int readers both read int data.
        assert!(c.check_compatibility("n", int, None).unwrap().is_compatible);
        c.set_compatibility_level(Some("n"), Level::FullTransitive).unwrap();
        let verdict = c.check_compatibility("n", int, None).unwrap();
        assert_eq!(verdict.messages.len(), 1, "only against version 2 (long), backward: {:?}", verdict.messages);
    }
}
