//! Broker URLs: which AsyncAPI server they describe, and how to print them safely.
//!
//! Parsing is done by hand, not with a URL parser, because Kafka and NATS URLs may list
//! several hosts (`kafka://h1:9092,h2:9092`), which no URL parser accepts; each
//! `host[:port]` is then checked on its own (`check_host`: IPv4, `[IPv6]`, names, ports).
//!
//! Credentials never leave this module: userinfo is dropped, query and fragment are
//! dropped, and error messages carry only [`mask_url`]'s output.

use crate::error::Problem;
use crate::model::Server;

/// What a URL scheme stands for in an AsyncAPI document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchemeInfo {
    /// The `protocol` of the server (`kafka-secure` for `kafka+ssl`).
    pub protocol: &'static str,
    /// The `protocolVersion`, only where the client library pins one.
    pub protocol_version: Option<&'static str>,
    /// Whether the URL may list several comma-separated hosts.
    pub multi_host: bool,
}

/// The schemes of in-process servers, which have no host and are left out of documents.
pub const MEMORY_SCHEMES: &[&str] = &["memory"];

/// What `scheme` (lower case, without `://`) stands for; `None` when unknown. Memory
/// schemes are not included: see [`MEMORY_SCHEMES`].
pub fn scheme_info(scheme: &str) -> Option<SchemeInfo> {
    let (protocol, protocol_version, multi_host) = match scheme {
        "kafka" => ("kafka", None, true),
        "kafka+ssl" | "kafka+sasl" | "kafka+sasl_ssl" | "kafka+sasl-ssl" | "kafka-secure" => {
            ("kafka-secure", None, true)
        }
        "nats" | "nats+tls" => ("nats", None, true),
        "sqs" => ("sqs", None, false),
        "amqp" => ("amqp", Some("0.9.1"), false),
        "amqps" => ("amqps", Some("0.9.1"), false),
        // AsyncAPI has no separate protocol name for Redis over TLS.
        "redis" | "rediss" => ("redis", None, false),
        "mqtt" => ("mqtt", Some("3.1.1"), false),
        "mqtts" | "mqtt+ssl" | "secure-mqtt" => ("secure-mqtt", Some("3.1.1"), false),
        "ws" => ("ws", None, false),
        "wss" => ("wss", None, false),
        "http" => ("http", None, false),
        "https" => ("https", None, false),
        "pulsar" | "pulsar+ssl" => ("pulsar", None, false),
        "stomp" => ("stomp", None, false),
        "stomps" => ("stomps", None, false),
        _ => return None,
    };
    Some(SchemeInfo {
        protocol,
        protocol_version,
        multi_host,
    })
}

/// The key under `bindings` for servers of `protocol` (`kafka` for `kafka-secure`), when
/// the emitter writes bindings for it.
pub fn binding_protocol(protocol: &str) -> Option<&'static str> {
    match protocol {
        "kafka" | "kafka-secure" => Some("kafka"),
        "nats" => Some("nats"),
        "sqs" => Some("sqs"),
        "amqp" | "amqps" => Some("amqp"),
        "mqtt" | "secure-mqtt" => Some("mqtt"),
        _ => None,
    }
}

/// Whether `url` names an in-process server (`memory://...`).
pub fn is_memory_url(url: &str) -> bool {
    split_scheme(url)
        .map(|(scheme, _)| MEMORY_SCHEMES.contains(&scheme.to_ascii_lowercase().as_str()))
        .unwrap_or(false)
}

/// `url` with everything secret replaced by `***`: the userinfo (user name included, it
/// may be an access key), every query value and the fragment.
///
/// Works on anything, URL or not, so it can be used in error messages about URLs that
/// do not parse. It errs on the side of masking: everything before the last `@` is
/// treated as userinfo.
pub fn mask_url(url: &str) -> String {
    let (prefix, rest) = match url.find("://") {
        Some(at) => url.split_at(at + 3),
        None => ("", url),
    };
    let rest = match rest.rfind('@') {
        Some(at) => format!("***@{}", &rest[at + 1..]),
        None => rest.to_owned(),
    };
    // Query values and the fragment may carry tokens (`?password=...`).
    let (before_fragment, fragment) = match rest.find('#') {
        Some(at) => (&rest[..at], Some(())),
        None => (rest.as_str(), None),
    };
    let mut out = String::from(prefix);
    match before_fragment.find('?') {
        Some(at) => {
            out.push_str(&before_fragment[..=at]);
            let masked: Vec<String> = before_fragment[at + 1..]
                .split('&')
                .map(|pair| match pair.find('=') {
                    Some(eq) => format!("{}=***", &pair[..eq]),
                    None if pair.is_empty() => String::new(),
                    None => "***".to_owned(),
                })
                .collect();
            out.push_str(&masked.join("&"));
        }
        None => out.push_str(before_fragment),
    }
    if fragment.is_some() {
        out.push_str("#***");
    }
    out
}

/// The AsyncAPI server for the configured server `name` at `url`.
///
/// `Ok(None)` for in-process (`memory://`) servers, which a document leaves out. The
/// server never carries userinfo, query or fragment of the URL. Errors name the server
/// and the masked URL.
pub fn server_for_url(name: &str, url: &str) -> Result<Option<Server>, Problem> {
    let invalid = |reason: &str| Problem::InvalidServerUrl {
        server: name.to_owned(),
        url: mask_url(url),
        reason: reason.to_owned(),
    };
    let (scheme, rest) = split_scheme(url).ok_or_else(|| invalid("no `scheme://`"))?;
    if scheme.is_empty()
        || !scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.' | '_'))
    {
        return Err(invalid("malformed scheme"));
    }
    let scheme = scheme.to_ascii_lowercase();
    if MEMORY_SCHEMES.contains(&scheme.as_str()) {
        return Ok(None);
    }
    let info = scheme_info(&scheme).ok_or_else(|| Problem::UnsupportedScheme {
        server: name.to_owned(),
        scheme: scheme.clone(),
        url: mask_url(url),
    })?;

    // Query and fragment are dropped entirely: they hold options and, often, secrets.
    let (rest, tail) = match rest.find(['?', '#']) {
        Some(at) => rest.split_at(at),
        None => (rest, ""),
    };
    // The one query option a document shows: the Kafka version the cluster runs, which
    // the client negotiates and cannot know beforehand.
    let mut protocol_version = info.protocol_version.map(str::to_owned);
    if info.protocol.starts_with("kafka") {
        if let Some(version) = query_option(url, "protocol_version") {
            let valid = !version.is_empty()
                && version.split('.').all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_digit()));
            if !valid {
                return Err(invalid("`protocol_version` must be a version like `3.7` or `3.7.0`"));
            }
            protocol_version = Some(version);
        }
        if let Some(mechanism) = query_option(url, "sasl_mechanism") {
            if sasl_scheme_type(&mechanism).is_none() {
                return Err(invalid("`sasl_mechanism` must be PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512"));
            }
        }
    }
    // An `@` only after `?` or `#` most likely ends a password holding an unescaped `?`
    // or `#`; parsing on would turn the start of that password into the host.
    if tail.contains('@') && !rest.contains('@') {
        return Err(invalid(
            "`@` after `?` or `#`: percent-encode special characters in the userinfo",
        ));
    }
    // Userinfo ends at the last `@`, so an unescaped `@` or `/` in a password cannot
    // push part of it into the host.
    let rest = match rest.rfind('@') {
        Some(at) => &rest[at + 1..],
        None => rest,
    };
    // NATS lists may repeat the scheme for every host (`nats://a:4222,nats://b:4222`).
    let repeated_scheme = format!(",{scheme}://");
    let rest = rest.replace(&repeated_scheme, ",");
    let (host, path) = match rest.find('/') {
        Some(at) => rest.split_at(at),
        None => (rest.as_str(), ""),
    };
    let sqs_host;
    let host = if info.protocol == "sqs" {
        sqs_host = sqs_server_host(host, url);
        sqs_host.as_str()
    } else {
        host
    };

    let hosts: Vec<&str> = host.split(',').map(str::trim).collect();
    if hosts.iter().all(|h| h.is_empty()) {
        return Err(invalid("no host"));
    }
    if hosts.iter().any(|h| h.is_empty()) {
        return Err(invalid("empty entry in the host list"));
    }
    if hosts.len() > 1 && !info.multi_host {
        return Err(invalid(&format!(
            "several hosts are not supported for `{scheme}`"
        )));
    }
    for h in &hosts {
        check_host(h).map_err(&invalid)?;
    }

    let pathname = match path {
        "" | "/" => None,
        path => {
            if path.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(invalid("whitespace in the path"));
            }
            Some(path.to_owned())
        }
    };

    Ok(Some(Server {
        host: hosts.join(","),
        protocol: info.protocol.to_owned(),
        protocol_version,
        pathname,
        ..Server::default()
    }))
}

/// The value of query option `key` in `url` (`?key=value&...`), when present. Only for
/// options known not to be secret: callers name them one by one.
pub fn query_option(url: &str, key: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    let query = query.split('#').next().unwrap_or(query);
    query.split('&').find_map(|pair| match pair.split_once('=') {
        Some((k, v)) if k == key => Some(v.to_owned()),
        _ => None,
    })
}

/// The Schema Registry a Kafka server URL names with `?schema_registry=` (often
/// percent-encoded, `http%3A%2F%2Fregistry%3A8081`), decoded, credentials kept (the
/// codec needs them; the document drops them). `None` for other URLs and without the option.
pub fn schema_registry_url(url: &str) -> Option<String> {
    let scheme = url.split_once("://")?.0.to_ascii_lowercase();
    if !scheme.starts_with("kafka") {
        return None;
    }
    query_option(url, "schema_registry").filter(|r| !r.is_empty()).map(|r| percent_decoded(&r))
}

/// The Kafka `client.id` of the server `name` at `url`: its `client_id` query option, or
/// `tidings-<name>` as the Kafka broker uses by default. `None` for non-Kafka URLs.
pub fn kafka_client_id(name: &str, url: &str) -> Option<String> {
    let (scheme, _) = split_scheme(url)?;
    let info = scheme_info(&scheme.to_ascii_lowercase())?;
    if binding_protocol(info.protocol) != Some("kafka") {
        return None;
    }
    Some(query_option(url, "client_id").filter(|c| !c.is_empty()).unwrap_or_else(|| format!("tidings-{name}")))
}

/// The AsyncAPI security scheme type of a SASL mechanism (`PLAIN` -> `plain`).
fn sasl_scheme_type(mechanism: &str) -> Option<&'static str> {
    match mechanism.to_ascii_uppercase().as_str() {
        "PLAIN" => Some("plain"),
        "SCRAM-SHA-256" => Some("scramSha256"),
        "SCRAM-SHA-512" => Some("scramSha512"),
        _ => None,
    }
}

/// The SASL mechanism a Kafka server URL authenticates with: its `sasl_mechanism`
/// query option, or `PLAIN` for the SASL schemes (`kafka+sasl`, `kafka+sasl_ssl`, ...),
/// as the Kafka broker does. Returns `(mechanism, AsyncAPI security scheme type)`;
/// `None` without SASL or for other protocols. The credentials themselves come from the
/// environment and never reach a document.
pub fn kafka_sasl(url: &str) -> Option<(String, &'static str)> {
    let (scheme, _) = split_scheme(url)?;
    let scheme = scheme.to_ascii_lowercase();
    let info = scheme_info(&scheme)?;
    if binding_protocol(info.protocol) != Some("kafka") {
        return None;
    }
    let mechanism = match query_option(url, "sasl_mechanism") {
        Some(m) => m.to_ascii_uppercase(),
        None if matches!(scheme.as_str(), "kafka+sasl" | "kafka+sasl_ssl" | "kafka+sasl-ssl" | "kafka-secure") => "PLAIN".to_owned(),
        None => return None,
    };
    let kind = sasl_scheme_type(&mechanism)?;
    Some((mechanism, kind))
}

/// The host of an SQS server. Its URL names a region (`sqs://us-east-1`: the host is
/// `sqs.us-east-1.amazonaws.com`), a host, or nothing (the region comes from the AWS
/// environment: `sqs.amazonaws.com`); an `endpoint` option (a local SQS,
/// `?endpoint=http://127.0.0.1:4566`) is where the service really is.
fn sqs_server_host(host: &str, url: &str) -> String {
    if let Some(endpoint) = query_option(url, "endpoint").map(|e| percent_decoded(&e)) {
        let rest = endpoint.split_once("://").map_or(endpoint.as_str(), |(_, r)| r);
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let endpoint_host = authority.rsplit('@').next().unwrap_or_default();
        if !endpoint_host.is_empty() {
            return endpoint_host.to_owned();
        }
    }
    let is_region = !host.is_empty()
        && host.contains('-')
        && host.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    match host {
        "" => "sqs.amazonaws.com".to_owned(),
        region if is_region => format!("sqs.{region}.amazonaws.com"),
        other => other.to_owned(),
    }
}

/// `%XX` sequences decoded where they form UTF-8; anything else kept as it is.
fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = text.get(i + 1..i + 3).filter(|_| bytes[i] == b'%');
        match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| text.to_owned())
}

/// The SQS queue of a channel `address` on a server with `queue_prefix`: SQS queue
/// names hold no dots, so they become dashes (a final `.fifo` stays: it marks a FIFO
/// queue), after the prefix. A queue URL names its queue in its last path segment.
/// The SQS broker names its queues with this function, so documents and queues agree.
pub fn sqs_queue_name(queue_prefix: &str, address: &str) -> String {
    if address.starts_with("https://") || address.starts_with("http://") {
        return address.trim_end_matches('/').rsplit('/').next().unwrap_or_default().to_owned();
    }
    let (stem, fifo) = match address.strip_suffix(".fifo") {
        Some(stem) => (stem, ".fifo"),
        None => (address, ""),
    };
    format!("{queue_prefix}{}{fifo}", stem.replace('.', "-"))
}

/// `(scheme, rest)` of `scheme://rest`.
fn split_scheme(url: &str) -> Option<(&str, &str)> {
    let at = url.find("://")?;
    Some((&url[..at], &url[at + 3..]))
}

/// Checks one `host[:port]`: the port, when there is one, is a number up to 65535; the
/// host is an `[IPv6]` literal, an IPv4 address, or a name without the characters a URL
/// host cannot hold. A host whose last label is a number must be an IPv4 address
/// (`10.0.0.256` is neither an address nor a name). Names are not run through IDNA: the
/// document keeps the host as written, and the client library resolves it.
///
/// The `url` crate did this before; it brought its IDNA tables and a tenth of a service
/// binary's code (and of `--asyncapi`'s resident set) for this one check.
///
/// The reasons never quote the input: a mangled URL may have a secret where the host
/// should be.
fn check_host(host_port: &str) -> Result<(), &'static str> {
    const MALFORMED: &str = "malformed host or port";
    if host_port
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '\\')
    {
        return Err("whitespace or control character in the host");
    }
    let (host, port) = match host_port.strip_prefix('[') {
        Some(bracketed) => {
            let (address, after) = bracketed.split_once(']').ok_or(MALFORMED)?;
            address.parse::<std::net::Ipv6Addr>().map_err(|_| MALFORMED)?;
            match after {
                "" => (address, None),
                after => (address, Some(after.strip_prefix(':').ok_or(MALFORMED)?)),
            }
        }
        None => match host_port.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        },
    };
    // `host:` (an empty port) means the default port, as in a URL.
    if let Some(port) = port.filter(|p| !p.is_empty()) {
        if !port.bytes().all(|b| b.is_ascii_digit()) || port.parse::<u16>().is_err() {
            return Err(MALFORMED);
        }
    }
    if host.is_empty() {
        return Err("no host");
    }
    if host_port.starts_with('[') {
        return Ok(());
    }
    // The forbidden host code points of the URL standard that the checks above let through.
    if host.contains(['#', '/', ':', '<', '>', '?', '@', '[', ']', '^', '|', '%', '"', '`', '{', '}']) {
        return Err(MALFORMED);
    }
    // One trailing dot is a fully qualified name; any other empty label is a typo.
    let name = host.strip_suffix('.').unwrap_or(host);
    if name.split('.').any(str::is_empty) {
        return Err(MALFORMED);
    }
    let last = name.rsplit('.').next().unwrap_or_default();
    if last.bytes().all(|b| b.is_ascii_digit()) && name.parse::<std::net::Ipv4Addr>().is_err() {
        return Err(MALFORMED);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(url: &str) -> Server {
        match server_for_url("main", url) {
            Ok(Some(server)) => server,
            other => panic!("{url}: expected a server, got {other:?}"),
        }
    }

    #[test]
    fn kafka_keeps_host_list_and_drops_credentials() {
        let s = server("kafka://svc-user:s3cr3t@broker-1:9092,broker-2:9092?sasl_mechanism=PLAIN");
        assert_eq!(s.host, "broker-1:9092,broker-2:9092");
        assert_eq!(s.protocol, "kafka");
        assert_eq!(s.protocol_version, None);
        assert_eq!(s.pathname, None);
    }

    #[test]
    fn secure_kafka_schemes() {
        assert_eq!(server("kafka+ssl://b:9093").protocol, "kafka-secure");
        assert_eq!(server("kafka+sasl://u:p@b:9093").protocol, "kafka-secure");
        assert_eq!(server("KAFKA+SSL://b:9093").protocol, "kafka-secure");
    }

    #[test]
    fn kafka_protocol_version_and_client_id_from_the_query() {
        let s = server("kafka://b:9092?client_id=orders&protocol_version=3.7");
        assert_eq!(s.protocol_version.as_deref(), Some("3.7"));
        assert_eq!(server("kafka://b:9092").protocol_version, None);
        for bad in ["kafka://b:9092?protocol_version=", "kafka://b:9092?protocol_version=3.x", "kafka://b:9092?protocol_version=3..7"] {
            assert!(server_for_url("s", bad).is_err(), "{bad}");
        }
        // Other schemes ignore it.
        assert_eq!(server("amqp://r:5672?protocol_version=1").protocol_version.as_deref(), Some("0.9.1"));
        assert_eq!(kafka_client_id("events", "kafka://b:9092?client_id=orders").as_deref(), Some("orders"));
        assert_eq!(kafka_client_id("events", "kafka+ssl://b:9093").as_deref(), Some("tidings-events"));
        assert_eq!(kafka_client_id("events", "nats://n:4222"), None);
        assert_eq!(query_option("kafka://b?x=1&y=2#f", "y").as_deref(), Some("2"));
        assert_eq!(kafka_sasl("kafka://b:9092"), None);
        assert_eq!(kafka_sasl("kafka+sasl_ssl://b:9093"), Some(("PLAIN".to_owned(), "plain")));
        assert_eq!(kafka_sasl("kafka://b:9092?sasl_mechanism=scram-sha-512"), Some(("SCRAM-SHA-512".to_owned(), "scramSha512")));
        assert_eq!(kafka_sasl("nats://n:4222?sasl_mechanism=PLAIN"), None);
        assert!(server_for_url("s", "kafka://b:9092?sasl_mechanism=GSSAPI").is_err());
    }

    #[test]
    fn amqp_vhost_becomes_pathname() {
        let s = server("amqp://guest:guest@rabbit:5672/orders?heartbeat=10");
        assert_eq!(s.host, "rabbit:5672");
        assert_eq!(s.protocol, "amqp");
        assert_eq!(s.protocol_version.as_deref(), Some("0.9.1"));
        assert_eq!(s.pathname.as_deref(), Some("/orders"));
        let s = server("amqps://rabbit/");
        assert_eq!(s.protocol, "amqps");
        assert_eq!(s.pathname, None);
    }

    #[test]
    fn other_protocols() {
        assert_eq!(server("nats://n1:4222").protocol, "nats");
        assert_eq!(server("nats://u:p@n1:4222,nats://n2:4222").host, "n1:4222,n2:4222");
        // Everything before the last `@` counts as userinfo, even at the cost of hosts.
        assert_eq!(server("nats://u:p@n1:4222,nats://u:p@n2:4222").host, "n2:4222");
        assert_eq!(server("nats://n1:4222,nats://n2:4222").host, "n1:4222,n2:4222");
        assert_eq!(server("sqs://sqs.eu-west-1.amazonaws.com").protocol, "sqs");
        assert_eq!(server("sqs://sqs.eu-west-1.amazonaws.com").host, "sqs.eu-west-1.amazonaws.com");
        assert_eq!(server("redis://:pw@cache:6379/0").pathname.as_deref(), Some("/0"));
        assert_eq!(server("rediss://cache:6380").protocol, "redis");
        let m = server("mqtt://broker:1883");
        assert_eq!((m.protocol.as_str(), m.protocol_version.as_deref()), ("mqtt", Some("3.1.1")));
        assert_eq!(server("mqtts://broker:8883").protocol, "secure-mqtt");
        assert_eq!(server("ws://gw:8080/socket").pathname.as_deref(), Some("/socket"));
        assert_eq!(server("kafka://[::1]:9092").host, "[::1]:9092");
    }

    #[test]
    fn sqs_hosts_from_region_endpoint_or_environment() {
        assert_eq!(server("sqs://us-east-1").host, "sqs.us-east-1.amazonaws.com");
        assert_eq!(server("sqs://").host, "sqs.amazonaws.com");
        assert_eq!(server("sqs://localhost:4566").host, "localhost:4566");
        assert_eq!(server("sqs://us-east-1?endpoint=http://127.0.0.1:4566&create=true").host, "127.0.0.1:4566");
        assert_eq!(server("sqs://?endpoint=http%3A%2F%2Fsqs.local%3A4566%2F").host, "sqs.local:4566");
        assert_eq!(sqs_queue_name("", "orders.created"), "orders-created");
        assert_eq!(sqs_queue_name("t1-", "orders.eu.fifo"), "t1-orders-eu.fifo");
        assert_eq!(sqs_queue_name("t1-", "https://sqs.us-east-1.amazonaws.com/123456789012/orders"), "orders");
    }

    #[test]
    fn memory_is_no_server() {
        assert_eq!(server_for_url("local", "memory://"), Ok(None));
        assert_eq!(server_for_url("local", "Memory://bus"), Ok(None));
        assert!(is_memory_url("memory://x"));
        assert!(!is_memory_url("kafka://x"));
    }

    #[test]
    fn errors_name_server_and_mask_url() {
        let err = server_for_url("events", "kafka://admin:hunter2@").unwrap_err();
        assert_eq!(
            err,
            Problem::InvalidServerUrl {
                server: "events".into(),
                url: "kafka://***@".into(),
                reason: "no host".into(),
            }
        );
        let err = server_for_url("events", "carrier-pigeon://u:hunter2@coop").unwrap_err();
        assert_eq!(
            err,
            Problem::UnsupportedScheme {
                server: "events".into(),
                scheme: "carrier-pigeon".into(),
                url: "carrier-pigeon://***@coop".into(),
            }
        );
        for bad in [
            "localhost:9092",
            "kafka://broker:notaport",
            "kafka://broker:99999",
            "amqp://a:5672,b:5672",
            "kafka://a,,b",
            "kafka://bro ker:9092",
            "://host",
            "kafka://u:pa?ss@host",
        ] {
            let err = server_for_url("s", bad).expect_err(bad);
            let text = err.to_string();
            assert!(!text.contains("hunter2") && !text.contains("pa?ss"), "{text}");
        }
    }

    #[test]
    fn host_and_port_checks() {
        for good in [
            "broker",
            "broker:9092",
            "broker:",
            "kafka_1:9092",
            "b.example.:9092",
            "10.0.0.1:9092",
            "[::1]:9092",
            "[fe80::1]",
            "bücher.example:9092",
        ] {
            assert_eq!(check_host(good), Ok(()), "{good}");
        }
        for (bad, reason) in [
            ("host:port", "malformed host or port"),
            ("host:99999", "malformed host or port"),
            ("host:+1", "malformed host or port"),
            ("10.0.0.256:9092", "malformed host or port"),
            ("10.0.0:9092", "malformed host or port"),
            ("0:1", "malformed host or port"),
            ("[::1", "malformed host or port"),
            ("[zz]:1", "malformed host or port"),
            ("[::1]x", "malformed host or port"),
            ("[::1]:x", "malformed host or port"),
            ("::1", "malformed host or port"),
            ("a..b", "malformed host or port"),
            (".a", "malformed host or port"),
            ("u@h:1", "malformed host or port"),
            ("h/x:1", "malformed host or port"),
            ("h%41", "malformed host or port"),
            (":9092", "no host"),
            ("[]:9092", "malformed host or port"),
            ("a\tb", "whitespace or control character in the host"),
        ] {
            assert_eq!(check_host(bad), Err(reason), "{bad}");
        }
    }

    #[test]
    fn unparsable_urls_never_leak_the_password() {
        // The `?` cuts the password; whatever is reported must not contain its start,
        // even when that start would parse as a port.
        for url in ["kafka://user:topsecret?x@host:9092", "kafka://user:1234?x@host:9092"] {
            let err = server_for_url("s", url).unwrap_err();
            let text = err.to_string();
            assert!(!text.contains("topsecret") && !text.contains("1234"), "{text}");
        }
    }

    #[test]
    fn mask_url_masks_userinfo_query_and_fragment() {
        assert_eq!(mask_url("kafka://u:p@h:9092"), "kafka://***@h:9092");
        assert_eq!(mask_url("kafka://h:9092"), "kafka://h:9092");
        assert_eq!(
            mask_url("amqp://u:p@h/vh?password=x&heartbeat=5&flag#frag"),
            "amqp://***@h/vh?password=***&heartbeat=***&***#***"
        );
        assert_eq!(mask_url("u:p@h:1"), "***@h:1");
        assert_eq!(mask_url("kafka://u:p@ss/w@rd@h:1"), "kafka://***@h:1");
        assert_eq!(mask_url(""), "");
    }
}
