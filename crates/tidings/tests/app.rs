//! The App: servers from code, environment and flags; routing; the document it
//! prints; start-up errors that say what is wrong.

use std::sync::atomic::{AtomicU32, Ordering};

use tidings::prelude::*;
use tidings::testing::TestApp;
use tidings::TidingsArgs;

/// A ping.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Message)]
#[message(name = "Ping", version = "2.1.0", kind = "command")]
pub struct Ping {
    /// Sequence number.
    pub n: u32,
}

/// A pong.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Message)]
#[message(name = "Pong")]
pub struct Pong {
    /// Echoed sequence number.
    pub n: u32,
    /// Who answered.
    pub by: String,
}

/// Pings on their way out.
#[tidings::producer(channel = "pings")]
pub static PINGS: Producer<Ping>;

/// Who answers pings.
pub struct Name(pub String);

/// Answers pings, counting attempts.
#[tidings::consumer(channel = "pings", group = "ponger", max_attempts = 2)]
#[tidings::producer(channel = "pongs")]
async fn pong(ping: Ping, name: State<Name>, attempt: Attempt, headers: Headers) -> Result<Option<Pong>, Error> {
    static FAILURES: AtomicU32 = AtomicU32::new(0);
    // n == 13 fails on its first attempt only: the retry succeeds.
    if ping.n == 13 && attempt.0 == 1 {
        FAILURES.fetch_add(1, Ordering::SeqCst);
        return Err(Error::msg("unlucky"));
    }
    // n == 0 is answered with nothing: Option lets a handler publish conditionally.
    if ping.n == 0 {
        return Ok(None);
    }
    assert_eq!(headers.get("x-tidings-message"), Some("Ping"));
    Ok(Some(Pong { n: ping.n, by: name.0 .0.clone() }))
}

fn base() -> App {
    tidings::app!().ignore_env().args(TidingsArgs::default())
}

fn yaml(app: App) -> String {
    app.asyncapi().expect("document").to_yaml()
}

#[test]
fn title_version_and_description_default_to_the_package() {
    let doc = yaml(base());
    assert!(doc.contains("title: tidings\n"), "{doc}");
    assert!(doc.contains(&format!("version: {}\n", env!("CARGO_PKG_VERSION"))), "{doc}");
    let doc = yaml(base().title("Ping service").description("Answers pings."));
    assert!(doc.contains("title: Ping service\n") && doc.contains("description: Answers pings.\n"), "{doc}");
}

#[test]
fn the_memory_default_server_is_left_out_of_the_document() {
    let doc = yaml(base());
    assert!(!doc.contains("servers:"), "{doc}");
}

#[test]
fn a_server_url_from_flags_shows_without_its_credentials() {
    let args = TidingsArgs { servers: vec!["default=kafka://svc:s3cr3t@broker-1:9092".into()], ..Default::default() };
    let doc = tidings::app!().ignore_env().args(args).asyncapi().unwrap().to_yaml();
    assert!(doc.contains("protocol: kafka"), "{doc}");
    assert!(doc.contains("broker-1:9092"), "{doc}");
    assert!(!doc.contains("s3cr3t") && !doc.contains("svc:"), "credentials leaked: {doc}");
    // The consumer group reaches the Kafka operation binding.
    assert!(doc.contains("groupId"), "{doc}");
    assert!(doc.contains("ponger"), "{doc}");
}

#[test]
fn environment_overrides_the_code() {
    // Only this test reads the variable, under a server name no other test uses.
    std::env::set_var("TIDINGS_SERVER_EVENTS_BUS", "nats://127.0.0.1:4222");
    let doc = tidings::app!().args(TidingsArgs::default()).server("events-bus", "memory://").asyncapi().unwrap().to_yaml();
    std::env::remove_var("TIDINGS_SERVER_EVENTS_BUS");
    assert!(doc.contains("protocol: nats"), "{doc}");
}

#[test]
fn message_metadata_reaches_the_document() {
    let doc = yaml(base());
    assert!(doc.contains("x-eventcatalog-message-type: command"), "{doc}");
    assert!(doc.contains("x-eventcatalog-message-version: 2.1.0"), "{doc}");
    assert!(doc.contains("Answers pings, counting attempts."), "{doc}");
    assert!(doc.contains("pong_reply"), "{doc}");
}

#[test]
fn a_malformed_server_flag_is_an_error() {
    let args = TidingsArgs { servers: vec!["no-equals-sign".into()], ..Default::default() };
    let err = tidings::app!().ignore_env().args(args).asyncapi().err().unwrap().to_string();
    assert!(err.contains("--server `no-equals-sign`: expected NAME=URL"), "{err}");
}

#[test]
fn a_route_to_an_unknown_server_is_an_error() {
    let err = base().route("pings", "nowhere").asyncapi().err().unwrap().to_string();
    assert!(err.contains("routed to unknown server `nowhere`"), "{err}");
}

#[tokio::test]
async fn a_broker_that_is_not_linked_is_named_at_start() {
    let err = base().server("main", "mqtt://user:pw@127.0.0.1:1883").start_without_cli().await.err().unwrap().to_string();
    assert!(err.contains("server `main`") && err.contains("memory"), "{err}");
    assert!(!err.contains("pw@"), "the error must not print the password: {err}");
}

#[tokio::test]
async fn handlers_get_state_extractors_retries_and_optional_replies() {
    let app = TestApp::start_with(base().state(Name("ponger-1".into()))).await.unwrap();
    let pongs = app.subscribe::<Pong>("pongs").await.unwrap();
    let ctx = app.context();
    PINGS.publish(&ctx, Ping { n: 0 }).await.unwrap();
    PINGS.publish(&ctx, Ping { n: 13 }).await.unwrap();
    app.settled().await.unwrap();
    let pong = pongs.next().await.unwrap();
    assert_eq!((pong.n, pong.by.as_str()), (13, "ponger-1"));
    assert!(pongs.is_quiet_for(std::time::Duration::from_millis(100)).await, "n == 0 publishes nothing");
    assert!(app.dead_letters().is_empty());
    app.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_missing_state_fails_the_handler_with_a_clear_reason() {
    let app = TestApp::start_with(base()).await.unwrap();
    PINGS.publish(&app.context(), Ping { n: 5 }).await.unwrap();
    app.settled().await.unwrap();
    let dead = app.dead_letters();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].incoming.attempt, 2, "max_attempts = 2");
    assert!(dead[0].reason.contains("no state of type") && dead[0].reason.contains("Name"), "{}", dead[0].reason);
    app.shutdown().await.unwrap();
}
