//! [`App`]: wires configured servers to the registered consumers and producers, prints
//! the AsyncAPI document, and runs the service until SIGINT/SIGTERM.

use std::any::TypeId;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tidings_asyncapi::description::{BridgeDescription, ChannelDescription, ServerDescription, ServiceDescription};
use tidings_asyncapi::Document;
use tokio::task::JoinSet;

use crate::address::AddressTemplate;
use crate::broker::{self, Broker, ChannelOptions, SubscribeSpec};
use crate::error::Error;
use crate::registry::Registry;
use crate::runtime::cli::{SpecFormat, TidingsArgs};
use crate::runtime::context::{Context, Runtime, StateMap};
use crate::runtime::pipeline;

/// The name of the server used when none is configured.
pub const DEFAULT_SERVER: &str = "default";

/// The Cargo package of the service binary: the document's default title, version and
/// description. `tidings::app!()` fills it in from the calling crate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackageInfo {
    /// `CARGO_PKG_NAME`.
    pub name: &'static str,
    /// `CARGO_PKG_VERSION`.
    pub version: &'static str,
    /// `CARGO_PKG_DESCRIPTION` (may be empty).
    pub description: &'static str,
}

enum ServerSource {
    Url(String),
    // A broker made by the caller (the testing module's shared memory broker); the URL
    // is only what the document shows.
    Connected(String, Arc<dyn Broker>),
}

impl ServerSource {
    fn url(&self) -> &str {
        match self {
            ServerSource::Url(u) | ServerSource::Connected(u, _) => u,
        }
    }
}

/// A tidings service: servers, routes and state. Consumers and producers need no
/// listing: every one linked into the binary is part of it.
///
/// ```no_run
/// # async fn run() -> Result<(), tidings_core::Error> {
/// use tidings_core::{App, PackageInfo};
/// let info = PackageInfo { name: "orders", version: "1.0.0", description: "" };
/// App::new(info).server("main", "memory://").run().await
/// # }
/// ```
pub struct App {
    info: PackageInfo,
    title: Option<String>,
    description: Option<String>,
    servers: Vec<(String, ServerSource)>,
    routes: Vec<(String, String)>,
    channel_docs: BTreeMap<String, String>,
    bridges: Vec<(String, BridgeDescription)>,
    channel_options: Vec<(String, Arc<dyn ChannelOptions>)>,
    state: StateMap,
    args: Option<TidingsArgs>,
    read_env: bool,
    shutdown_timeout: Duration,
    avro_schema_ref: Option<String>,
}

/// Server URL from the environment: `TIDINGS_SERVER_<NAME>`, the name upper-cased
/// with every other character than a letter or digit as `_`.
pub fn server_env_var(name: &str) -> String {
    let suffix: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect();
    format!("TIDINGS_SERVER_{suffix}")
}

impl App {
    /// An app named after `info`. Prefer `tidings::app!()`, which fills `info` in.
    pub fn new(info: PackageInfo) -> Self {
        App {
            info,
            title: None,
            description: None,
            servers: Vec::new(),
            routes: Vec::new(),
            channel_docs: BTreeMap::new(),
            bridges: Vec::new(),
            channel_options: Vec::new(),
            state: StateMap::new(),
            args: None,
            read_env: true,
            shutdown_timeout: Duration::from_secs(30),
            avro_schema_ref: None,
        }
    }

    /// Overrides the document title (default: the package name).
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// Overrides the document description (default: the package description).
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Adds a server: a named broker chosen by URL (`memory://`, `kafka://host:9092`).
    /// The first server is the default for every channel without a route.
    pub fn server(mut self, name: impl Into<String>, url: impl Into<String>) -> Self {
        let name = name.into();
        self.servers.retain(|(n, _)| *n != name);
        self.servers.push((name, ServerSource::Url(url.into())));
        self
    }

    /// Adds a server with a broker already made; `url` is what the document shows.
    pub fn server_broker(mut self, name: impl Into<String>, url: impl Into<String>, broker: Arc<dyn Broker>) -> Self {
        let name = name.into();
        self.servers.retain(|(n, _)| *n != name);
        self.servers.push((name, ServerSource::Connected(url.into(), broker)));
        self
    }

    /// Routes a channel (its address as declared, parameters included) to a server.
    pub fn route(mut self, channel: impl Into<String>, server: impl Into<String>) -> Self {
        self.routes.push((channel.into(), server.into()));
        self
    }

    /// Describes a channel in the document.
    pub fn channel_description(mut self, channel: impl Into<String>, description: impl Into<String>) -> Self {
        self.channel_docs.insert(channel.into(), description.into());
        self
    }

    /// Declares that something outside the service (a Kafka Connect sink, a mirror)
    /// copies channel `from` onto `to`: `"sqs:order-events"`, or a
    /// [`BridgeDescription`] saying what it converts. Only the document shows it (as the
    /// channel's `x-tidings-bridge`), so an event catalog follows messages across it.
    pub fn bridge(mut self, from: impl Into<String>, to: impl Into<BridgeDescription>) -> Self {
        self.bridges.push((from.into(), to.into()));
        self
    }

    /// Declares broker options of a channel (its address as declared): a Kafka topic's
    /// partitions and replicas (`tidings::kafka::KafkaTopic`), an SQS queue's
    /// attributes and dead-letter queue (`tidings::sqs::SqsQueue`). The broker the
    /// channel is on applies them at start (before any consumer), and the document
    /// shows them in the channel binding of their protocol. Brokers of another kind
    /// (the in-memory one in tests) ignore them. Declaring options of one protocol
    /// twice for a channel keeps the last.
    pub fn channel_options(mut self, channel: impl Into<String>, options: impl ChannelOptions) -> Self {
        let channel = channel.into();
        let options: Arc<dyn ChannelOptions> = Arc::new(options);
        self.channel_options.retain(|(c, o)| !(*c == channel && o.protocol() == options.protocol()));
        self.channel_options.push((channel, options));
        self
    }

    /// Shared state for handlers: take it with the `State<T>` extractor.
    pub fn state<T: Send + Sync + 'static>(mut self, value: T) -> Self {
        self.state.insert(TypeId::of::<T>(), Arc::new(value));
        self
    }

    /// Shared state already behind an `Arc` (to keep a handle to it outside the app).
    pub fn state_arc<T: Send + Sync + 'static>(mut self, value: Arc<T>) -> Self {
        self.state.insert(TypeId::of::<T>(), value);
        self
    }

    /// Shows every Avro payload schema in the document as a `$ref` to the Schema
    /// Registry, `<registry>/subjects/<record full name>/versions/<version>/schema`,
    /// instead of inline (the default). For teams whose registry is the source of truth:
    /// the document then names the registered schema rather than a copy. `version` is
    /// `"latest"` or a version number. The registry is the one the codec uses: the
    /// `schema_registry` option of a server URL, else `TIDINGS_SCHEMA_REGISTRY_URL`;
    /// with neither, the document is an error. The subject is the record's full name
    /// (the record name strategy of the codec and of the message binding).
    /// `tidings bundle --allow-host <registry host>` inlines the schemas again.
    pub fn avro_schema_ref(mut self, version: impl Into<String>) -> Self {
        self.avro_schema_ref = Some(version.into());
        self
    }

    /// Uses these flags instead of parsing the process's arguments.
    pub fn args(mut self, args: TidingsArgs) -> Self {
        self.args = Some(args);
        self
    }

    /// Ignores `TIDINGS_SERVER_*` environment variables (tests).
    pub fn ignore_env(mut self) -> Self {
        self.read_env = false;
        self
    }

    /// How long shutdown waits for in-flight handlers (default 30 s).
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    fn args_or_parse(&mut self) -> TidingsArgs {
        self.args.get_or_insert_with(TidingsArgs::from_process).clone()
    }

    /// Applies environment and command-line overrides; adds `default = memory://` when
    /// no server is configured.
    fn resolve_servers(&mut self, args: &TidingsArgs) -> Result<(), Error> {
        if self.servers.is_empty() {
            self.servers.push((DEFAULT_SERVER.to_owned(), ServerSource::Url("memory://".into())));
        }
        if self.read_env {
            for (name, source) in &mut self.servers {
                if let Ok(url) = std::env::var(server_env_var(name)) {
                    if !url.is_empty() {
                        *source = ServerSource::Url(url);
                    }
                }
            }
        }
        for pair in &args.servers {
            let (name, url) = pair
                .split_once('=')
                .ok_or_else(|| Error::Config(format!("--server `{pair}`: expected NAME=URL")))?;
            match self.servers.iter_mut().find(|(n, _)| n == name) {
                Some((_, source)) => *source = ServerSource::Url(url.to_owned()),
                None => self.servers.push((name.to_owned(), ServerSource::Url(url.to_owned()))),
            }
        }
        for (channel, server) in &self.routes {
            AddressTemplate::parse(channel)?;
            if !self.servers.iter().any(|(n, _)| n == server) {
                let known: Vec<_> = self.servers.iter().map(|(n, _)| n.as_str()).collect();
                return Err(Error::Config(format!(
                    "channel `{channel}` is routed to unknown server `{server}` (servers: {})",
                    known.join(", ")
                )));
            }
        }
        Ok(())
    }

    /// The description the document is built from.
    pub fn describe(&self) -> ServiceDescription {
        let registry = Registry::collect();
        let (messages, operations) = registry.describe();
        let several = self.servers.len() > 1;
        let mut channels: BTreeMap<String, ChannelDescription> = BTreeMap::new();
        for (address, description) in &self.channel_docs {
            channels.entry(address.clone()).or_insert_with(|| ChannelDescription { address: address.clone(), ..Default::default() }).description =
                Some(description.clone());
        }
        for (address, bridge) in &self.bridges {
            channels
                .entry(address.clone())
                .or_insert_with(|| ChannelDescription { address: address.clone(), ..Default::default() })
                .bridges
                .push(bridge.clone());
        }
        for (address, options) in &self.channel_options {
            channels
                .entry(address.clone())
                .or_insert_with(|| ChannelDescription { address: address.clone(), ..Default::default() })
                .bindings
                .insert(options.protocol().to_owned(), options.binding());
        }
        if several {
            let default = self.servers.first().map(|(n, _)| n.clone());
            for op in &operations {
                let server = self.routes.iter().find(|(c, _)| *c == op.channel).map(|(_, s)| s.clone()).or(default.clone());
                channels.entry(op.channel.clone()).or_insert_with(|| ChannelDescription { address: op.channel.clone(), ..Default::default() }).server =
                    server;
            }
        }
        let description = self.description.clone().or_else(|| {
            Some(self.info.description.trim().to_owned()).filter(|d| !d.is_empty())
        });
        ServiceDescription {
            title: self.title.clone().unwrap_or_else(|| self.info.name.to_owned()),
            version: self.info.version.to_owned(),
            description,
            servers: self
                .servers
                .iter()
                .map(|(name, s)| ServerDescription { name: name.clone(), url: s.url().to_owned() })
                .collect(),
            channels: channels.into_values().collect(),
            messages,
            operations,
        }
    }

    /// The AsyncAPI 3.0 document of this service, servers resolved from the code, the
    /// environment and the given flags. Touches no broker.
    pub fn asyncapi(mut self) -> Result<Document, Error> {
        let args = self.args.clone().unwrap_or_default();
        self.resolve_servers(&args)?;
        self.document()
    }

    /// The document of the resolved servers, Avro payloads as `$ref`s when asked.
    fn document(&self) -> Result<Document, Error> {
        // The description is built for this: its schemas move into the document.
        let mut document = tidings_asyncapi::emit::emit_owned(self.describe())?;
        if let Some(version) = &self.avro_schema_ref {
            if version != "latest" && version.parse::<u32>().map_or(true, |v| v == 0) {
                return Err(Error::Config(format!(
                    "avro_schema_ref(\"{version}\"): the version is \"latest\" or a number from 1"
                )));
            }
            let registry = self
                .servers
                .iter()
                .find_map(|(_, s)| tidings_asyncapi::protocol::schema_registry_url(s.url()))
                .or_else(|| std::env::var("TIDINGS_SCHEMA_REGISTRY_URL").ok().filter(|u| !u.is_empty()))
                .ok_or_else(|| {
                    Error::Config(
                        "avro_schema_ref: Avro payloads by reference need a Schema Registry: add \
                         ?schema_registry=http://... to the Kafka server URL, or set TIDINGS_SCHEMA_REGISTRY_URL"
                            .into(),
                    )
                })?;
            tidings_asyncapi::emit::reference_avro_payloads(&mut document, &registry, version);
        }
        Ok(document)
    }

    /// Reads the flags and resolves the servers; with `--asyncapi` or `--asyncapi-out`,
    /// prints or writes the document and exits the process (status 0, or 2 with the
    /// error). `run` calls it before installing its signal handlers, which `--asyncapi`
    /// has no use for, and `start` again (resolving the servers twice changes nothing);
    /// `#[tidings::main]` on a `fn main() -> App` before any runtime exists.
    pub(crate) fn prepare(&mut self) -> Result<TidingsArgs, Error> {
        let args = self.args_or_parse();
        self.resolve_servers(&args)?;
        match self.answer_spec_flags(&args) {
            Ok(true) => std::process::exit(0),
            Ok(false) => Ok(args),
            Err(e) => {
                eprintln!("error: {e}");
                std::process::exit(2);
            }
        }
    }

    /// Handles `--asyncapi`/`--asyncapi-out`: prints or writes the document. Returns
    /// `true` when it did, and the binary should exit.
    fn answer_spec_flags(&self, args: &TidingsArgs) -> Result<bool, Error> {
        if args.asyncapi.is_none() && args.asyncapi_out.is_none() {
            return Ok(false);
        }
        let document = self.document()?;
        if let Some(format) = args.asyncapi {
            let text = match format {
                SpecFormat::Yaml => document.to_yaml(),
                SpecFormat::Json => document.to_json(),
            };
            print!("{text}");
        }
        if let Some(path) = &args.asyncapi_out {
            let json = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json"));
            let text = if json { document.to_json() } else { document.to_yaml() };
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .map_err(|source| Error::Io { context: format!("creating {}", dir.display()), source })?;
            }
            std::fs::write(path, text)
                .map_err(|source| Error::Io { context: format!("writing {}", path.display()), source })?;
        }
        // `start` exits the process next: freeing the document node by node would be
        // a tenth of the run's instructions for nothing. (The description is freed inside
        // `document`, before the text is written, so the text reuses its memory: keeping
        // it as well raised the peak heap by 16 KB.)
        std::mem::forget(document);
        Ok(true)
    }

    /// Connects every server and starts every consumer. Answers `--asyncapi` first:
    /// with that flag it prints the document and exits the process with status 0
    /// (like `--help`), before connecting to anything.
    pub async fn start(self) -> Result<Running, Error> {
        self.start_boxed().await
    }

    /// `start`'s work as one boxed future. The state machine of an `async fn` is compiled
    /// again in every crate and codegen unit that awaits it, as generic code is; `start`'s
    /// is 15 KB, and a service binary carried three copies of it.
    #[inline(never)]
    fn start_boxed(self) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Running, Error>> + Send>> {
        Box::pin(self.start_inner())
    }

    async fn start_inner(mut self) -> Result<Running, Error> {
        let args = self.prepare()?;
        if let Some(addr) = &args.asyncapi_serve {
            let code = match self.serve_docs(addr).await {
                Ok(()) => 0,
                Err(e) => {
                    eprintln!("error: {e}");
                    2
                }
            };
            std::process::exit(code);
        }
        self.start_resolved().await
    }

    /// `--asyncapi-serve ADDR`: serves the page of the document and the document until
    /// SIGINT or SIGTERM. Touches no broker.
    #[cfg(feature = "docs")]
    async fn serve_docs(&self, addr: &str) -> Result<(), Error> {
        let document = self.document()?;
        let json = document.to_json();
        let value: serde_json::Value =
            serde_json::from_str(&json).map_err(|e| Error::Config(format!("the document is not JSON: {e}")))?;
        let page = tidings_docs::Page { html: tidings_docs::render(&value, false), yaml: document.to_yaml(), json };
        let listener = std::net::TcpListener::bind(addr)
            .map_err(|source| Error::Io { context: format!("--asyncapi-serve: listening on {addr}"), source })?;
        let bound = listener.local_addr().map(|a| a.to_string()).unwrap_or_else(|_| addr.to_owned());
        let signals = Signals::listen()?;
        eprintln!("serving the AsyncAPI document of {} on http://{bound}/ (also /asyncapi.yaml, /asyncapi.json); Ctrl-C to stop", self.info.name);
        let server = std::thread::spawn(move || tidings_docs::serve(listener, page));
        tokio::select! {
            _ = signals.recv() => Ok(()),
            failed = tokio::task::spawn_blocking(move || server.join()) => match failed {
                Ok(Ok(Err(source))) => Err(Error::Io { context: format!("--asyncapi-serve on {bound}"), source }),
                _ => Err(Error::Config(format!("--asyncapi-serve on {bound}: the server stopped"))),
            },
        }
    }

    #[cfg(not(feature = "docs"))]
    async fn serve_docs(&self, _addr: &str) -> Result<(), Error> {
        Err(Error::Config(
            "--asyncapi-serve needs the `docs` feature of tidings (on by default): this binary was built without it".into(),
        ))
    }

    async fn start_resolved(self) -> Result<Running, Error> {
        // The same checks as the document (duplicate message names, operation ids...),
        // so a service that cannot be described does not start either.
        self.document()?;
        // One registry for the document and the codec: the one a server URL names.
        let schema_registry = self.servers.iter().find_map(|(_, s)| tidings_asyncapi::protocol::schema_registry_url(s.url()));
        if schema_registry.is_some() {
            crate::codec::set_schema_registry_url(schema_registry);
        }
        let registry = Registry::collect();
        let mut servers: BTreeMap<String, Arc<dyn Broker>> = BTreeMap::new();
        for (name, source) in &self.servers {
            let broker = match source {
                ServerSource::Connected(_, b) => b.clone(),
                ServerSource::Url(url) => {
                    let factory = broker::factory_for(url).ok_or_else(|| {
                        Error::Config(format!(
                            "server `{name}`: no broker for `{}` (linked: {}; enable the tidings feature for it)",
                            tidings_asyncapi::mask_url(url),
                            broker::known_schemes().join(", ")
                        ))
                    })?;
                    (factory.connect)(name, url).await?
                }
            };
            servers.insert(name.clone(), broker);
        }
        let default_server = self.servers.first().map(|(n, _)| n.clone()).unwrap_or_else(|| DEFAULT_SERVER.into());
        let routes = self
            .routes
            .iter()
            .map(|(c, s)| Ok((AddressTemplate::parse(c)?, s.clone())))
            .collect::<Result<Vec<_>, Error>>()?;
        let rt = Arc::new(Runtime { servers, default_server, routes, state: self.state });
        let ctx = Context { rt: rt.clone(), current: None };
        let shutdown = pipeline::Shutdown::new();
        for (address, options) in &self.channel_options {
            AddressTemplate::parse(address)?;
            let (_, broker) = rt.broker_for(address)?;
            broker.configure_channel(address, options.clone()).await?;
        }
        let mut tasks = JoinSet::new();
        for decl in &registry.consumers {
            let (server, broker) = rt.broker_for(decl.channel)?;
            let spec = SubscribeSpec {
                address: decl.channel.to_owned(),
                group: Some(decl.group().to_owned()),
                consumer: decl.id.to_owned(),
            };
            let subscription = broker.subscribe(spec).await?;
            tracing::info!(consumer = decl.id, channel = decl.channel, server, group = decl.group(), "consumer started");
            pipeline::spawn_consumer(&mut tasks, decl, Arc::from(subscription), ctx.clone(), shutdown.clone())?;
        }
        Ok(Running { ctx, shutdown, tasks, timeout: self.shutdown_timeout })
    }

    /// Starts without reading the process's flags (tests, embedding).
    pub async fn start_without_cli(mut self) -> Result<Running, Error> {
        let args = self.args.clone().unwrap_or_default();
        self.resolve_servers(&args)?;
        self.start_resolved().await
    }

    /// Runs the service: answers `--asyncapi`, starts, waits for SIGINT or SIGTERM,
    /// then shuts down gracefully.
    pub async fn run(mut self) -> Result<(), Error> {
        self.prepare()?;
        // Listen before starting: a signal that arrives while consumers start must
        // still mean "stop gracefully", not the default "die now".
        let signals = Signals::listen()?;
        let running = self.start().await?;
        signals.recv().await;
        tracing::info!("shutdown signal received; finishing in-flight handlers");
        running.shutdown().await
    }

    /// Like [`run`](App::run), and runs `task` (a publisher loop, say) beside the
    /// consumers; the service stops when the task ends or on a signal.
    pub async fn run_with<F, Fut>(mut self, task: F) -> Result<(), Error>
    where
        F: FnOnce(Context) -> Fut,
        Fut: std::future::Future<Output = Result<(), Error>>,
    {
        self.prepare()?;
        let signals = Signals::listen()?;
        let running = self.start().await?;
        let result = tokio::select! {
            r = task(running.context()) => r,
            _ = signals.recv() => { tracing::info!("shutdown signal received"); Ok(()) }
        };
        let stopped = running.shutdown().await;
        result.and(stopped)
    }
}

/// SIGINT and SIGTERM, listened to from creation on.
struct Signals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl Signals {
    fn listen() -> Result<Self, Error> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let io = |source| Error::Io { context: "installing the signal handlers".into(), source };
            Ok(Signals { term: signal(SignalKind::terminate()).map_err(io)?, int: signal(SignalKind::interrupt()).map_err(io)? })
        }
        #[cfg(not(unix))]
        {
            Ok(Signals {})
        }
    }

    #[allow(unused_mut)]
    async fn recv(mut self) {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.term.recv() => {}
                _ = self.int.recv() => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// A started app.
pub struct Running {
    ctx: Context,
    shutdown: pipeline::Shutdown,
    tasks: JoinSet<()>,
    timeout: Duration,
}

impl Running {
    /// A context to publish through.
    pub fn context(&self) -> Context {
        self.ctx.clone()
    }

    /// Stops taking deliveries, waits for in-flight handlers (up to the shutdown
    /// timeout), then shuts the brokers down.
    pub async fn shutdown(mut self) -> Result<(), Error> {
        self.shutdown.signal();
        let drained = tokio::time::timeout(self.timeout, async {
            while self.tasks.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!(timeout_s = self.timeout.as_secs(), "handlers still running at the shutdown timeout; aborting them");
            self.tasks.abort_all();
        }
        for broker in self.ctx.rt.servers.values() {
            broker.shutdown().await;
        }
        Ok(())
    }
}
