//! `sqs://` URLs: where an [`SqsBroker`] connects and how its consumers behave.
//!
//! ```text
//! sqs://                                   region, endpoint and credentials from the AWS environment
//! sqs://us-east-1                          the region
//! sqs://sqs.eu-west-1.amazonaws.com        the same, as the service host
//! sqs://us-east-1?endpoint=http://127.0.0.1:4566&create=true
//! ```
//!
//! Credentials never come from the URL: the AWS credentials chain (environment,
//! shared profile files, web identity, container and instance metadata) finds them, so
//! they cannot end up in a document or a log line. The region and endpoint may also
//! come from that environment (`AWS_REGION`, `AWS_ENDPOINT_URL_SQS`,
//! `AWS_ENDPOINT_URL`); the URL wins where it says.
//!
//! [`SqsBroker`]: crate::SqsBroker

use std::time::Duration;

use tidings_core::Error;

/// The URL scheme of the SQS broker.
pub const SCHEME: &str = "sqs";

/// The longest long poll SQS allows.
pub const MAX_WAIT_TIME: Duration = Duration::from_secs(20);
/// The most messages one `ReceiveMessage` (or batch call) takes.
pub const MAX_BATCH: usize = 10;
/// The longest visibility timeout SQS allows (12 hours).
pub const MAX_VISIBILITY_TIMEOUT: Duration = Duration::from_secs(43_200);

/// The default dead-letter queue name template: see [`SqsConfig::dlq`].
pub const DEFAULT_DLQ: &str = "{queue}-dlq";

/// Everything an SQS server needs, from its URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqsConfig {
    /// The AWS region (`us-east-1`); `None`: from the environment.
    pub region: Option<String>,
    /// The endpoint (`endpoint=http://127.0.0.1:4566`); `None`: from the environment,
    /// else AWS's endpoint for the region.
    pub endpoint: Option<String>,
    /// Create a missing queue (and dead-letter queue) instead of failing
    /// (`create=true`). Off by default: queues are infrastructure, and a typo in a
    /// channel name should fail the start rather than create a queue nobody reads.
    pub create: bool,
    /// Prefix of every queue name this server uses (`queue_prefix=staging-`):
    /// namespaces one account for several environments or test runs. Default: none.
    pub queue_prefix: String,
    /// `WaitTimeSeconds` of each receive (`wait_time_s`, 0 to 20, default 20): long
    /// polling, so an idle consumer makes one request per 20 s rather than spinning.
    pub wait_time: Duration,
    /// The visibility timeout asked for on receive (`visibility_timeout_s`, default
    /// 30): how long a received message stays hidden from other consumers. While a
    /// handler runs, its message's timeout is extended (a heartbeat), so this is only
    /// how long a crashed consumer's messages stay hidden.
    pub visibility_timeout: Duration,
    /// Messages received but not yet taken by a handler (`prefetch`, 1 to 100,
    /// default 10). Each receive asks for at most the free room, at most 10.
    pub prefetch: usize,
    /// How long a successful message's delete may wait to join a batch
    /// (`delete_interval_ms`, default 100). A batch of 10 is sent at once.
    pub delete_interval: Duration,
    /// The dead-letter queue of a queue without a redrive policy (`dlq`, default
    /// `{queue}-dlq`): a queue name where `{queue}` stands for the queue's name without
    /// `.fifo`. A FIFO queue's dead-letter queue is FIFO too: `.fifo` is added.
    pub dlq: String,
}

const OPTIONS: &str =
    "endpoint, create, queue_prefix, wait_time_s, visibility_timeout_s, prefetch, delete_interval_ms, dlq";

impl SqsConfig {
    /// Reads an `sqs://[region][?option=value&...]` URL of the server `name`.
    pub fn from_url(name: &str, url: &str) -> Result<Self, Error> {
        // Only the masked URL may appear in errors: it may carry a secret by mistake.
        let shown = tidings_asyncapi::mask_url(url);
        let bad = |why: String| Error::Config(format!("server `{name}` (`{shown}`): {why}"));
        let (scheme, rest) = url.split_once("://").ok_or_else(|| bad("expected `sqs://region`".into()))?;
        if !scheme.eq_ignore_ascii_case(SCHEME) {
            return Err(bad(format!("`{scheme}://` is not the SQS scheme (`sqs://`)")));
        }
        let (host, query) = rest.split_once('?').unwrap_or((rest, ""));
        if host.contains('@') {
            return Err(bad(
                "credentials do not go in the URL; the AWS credentials chain finds them \
                 (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, AWS_PROFILE, roles)"
                    .into(),
            ));
        }
        let host = host.trim_end_matches('/');
        if host.contains(['/', '#']) {
            return Err(bad("an SQS URL has no path; queues are channels".into()));
        }
        let region = region_of(host).map_err(bad)?;

        let mut config = SqsConfig {
            region,
            endpoint: None,
            create: false,
            queue_prefix: String::new(),
            wait_time: MAX_WAIT_TIME,
            visibility_timeout: Duration::from_secs(30),
            prefetch: MAX_BATCH,
            delete_interval: Duration::from_millis(100),
            dlq: DEFAULT_DLQ.to_owned(),
        };
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, raw) = pair.split_once('=').unwrap_or((pair, ""));
            let value = percent_decode(raw).ok_or_else(|| bad(format!("`{key}`: bad percent-encoding")))?;
            let seconds = |max: u64| -> Result<Duration, Error> {
                value
                    .parse::<u64>()
                    .ok()
                    .filter(|s| *s <= max)
                    .map(Duration::from_secs)
                    .ok_or_else(|| bad(format!("`{key}` must be a whole number of seconds from 0 to {max}, not `{value}`")))
            };
            match key {
                "endpoint" => {
                    let ok = (value.starts_with("http://") || value.starts_with("https://"))
                        && value.split_once("://").is_some_and(|(_, h)| !h.is_empty())
                        && !value.chars().any(|c| c.is_whitespace() || c.is_control());
                    if !ok {
                        return Err(bad(format!("`endpoint` must be an http:// or https:// URL, not `{value}`")));
                    }
                    config.endpoint = Some(value);
                }
                "create" => {
                    config.create = match value.as_str() {
                        "true" | "1" | "yes" => true,
                        "false" | "0" | "no" => false,
                        _ => return Err(bad(format!("`create` is `true` or `false`, not `{value}`"))),
                    }
                }
                "queue_prefix" => {
                    check_name_chars(&value).map_err(|why| bad(format!("`queue_prefix`: {why}")))?;
                    config.queue_prefix = value;
                }
                "wait_time_s" => config.wait_time = seconds(MAX_WAIT_TIME.as_secs())?,
                "visibility_timeout_s" => {
                    let t = seconds(MAX_VISIBILITY_TIMEOUT.as_secs())?;
                    // The heartbeat needs time to act before the message shows again.
                    if t < Duration::from_secs(2) {
                        return Err(bad(format!("`visibility_timeout_s` must be at least 2, not `{value}`")));
                    }
                    config.visibility_timeout = t;
                }
                "prefetch" => {
                    config.prefetch = value
                        .parse::<usize>()
                        .ok()
                        .filter(|n| (1..=100).contains(n))
                        .ok_or_else(|| bad(format!("`prefetch` must be a whole number from 1 to 100, not `{value}`")))?;
                }
                "delete_interval_ms" => {
                    config.delete_interval = value
                        .parse::<u64>()
                        .ok()
                        .filter(|ms| (1..=10_000).contains(ms))
                        .map(Duration::from_millis)
                        .ok_or_else(|| {
                            bad(format!("`delete_interval_ms` must be from 1 to 10000 milliseconds, not `{value}`"))
                        })?;
                }
                "dlq" => {
                    let probe = value.replace("{queue}", "q");
                    if value.is_empty() {
                        return Err(bad("`dlq` is empty".into()));
                    }
                    check_name_chars(probe.strip_suffix(".fifo").unwrap_or(&probe))
                        .map_err(|why| bad(format!("`dlq`: {why}")))?;
                    config.dlq = value;
                }
                _ => return Err(bad(format!("unknown option `{key}` (known: {OPTIONS})"))),
            }
        }
        Ok(config)
    }
}

/// The region a URL's host names: empty (from the environment), a region
/// (`us-east-1`), or the service host (`sqs.us-east-1.amazonaws.com`).
fn region_of(host: &str) -> Result<Option<String>, String> {
    if host.is_empty() {
        return Ok(None);
    }
    let is_region = |r: &str| {
        !r.is_empty()
            && r.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && r.contains('-')
            && !r.starts_with('-')
            && !r.ends_with('-')
    };
    if is_region(host) {
        return Ok(Some(host.to_owned()));
    }
    let service = host
        .strip_prefix("sqs.")
        .and_then(|h| h.strip_suffix(".amazonaws.com").or_else(|| h.strip_suffix(".amazonaws.com.cn")));
    match service {
        Some(region) if is_region(region) => Ok(Some(region.to_owned())),
        _ => Err(format!(
            "the host must be an AWS region (`sqs://us-east-1`) or `sqs.<region>.amazonaws.com`, not `{host}`; \
             another endpoint goes in `?endpoint=http://host:port`"
        )),
    }
}

/// Checks characters of (part of) a queue name: SQS allows letters, digits, `-` and
/// `_` (and a final `.fifo`).
pub(crate) fn check_name_chars(name: &str) -> Result<(), String> {
    match name.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_')) {
        Some(c) => Err(format!("`{c}` is not allowed in an SQS queue name (letters, digits, `-` and `_`)")),
        None => Ok(()),
    }
}

/// `%XX` decoding of a query value; `None` when malformed or not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(url: &str) -> Result<SqsConfig, Error> {
        SqsConfig::from_url("main", url)
    }

    #[test]
    fn region_forms_and_defaults() {
        let c = parse("sqs://").unwrap();
        assert_eq!(c.region, None);
        assert_eq!(c.endpoint, None);
        assert!(!c.create);
        assert_eq!((c.wait_time, c.visibility_timeout, c.prefetch), (MAX_WAIT_TIME, Duration::from_secs(30), 10));
        assert_eq!(c.dlq, DEFAULT_DLQ);
        assert_eq!(parse("sqs://us-east-1").unwrap().region.as_deref(), Some("us-east-1"));
        assert_eq!(parse("sqs://eu-west-1/").unwrap().region.as_deref(), Some("eu-west-1"));
        assert_eq!(parse("sqs://sqs.eu-west-1.amazonaws.com").unwrap().region.as_deref(), Some("eu-west-1"));
        assert_eq!(parse("SQS://cn-north-1").unwrap().region.as_deref(), Some("cn-north-1"));
    }

    #[test]
    fn query_options() {
        let c = parse(
            "sqs://us-east-1?endpoint=http://127.0.0.1:4566&create=true&queue_prefix=t1-&wait_time_s=1\
             &visibility_timeout_s=5&prefetch=20&delete_interval_ms=50&dlq=dead-{queue}",
        )
        .unwrap();
        assert_eq!(c.endpoint.as_deref(), Some("http://127.0.0.1:4566"));
        assert!(c.create);
        assert_eq!(c.queue_prefix, "t1-");
        assert_eq!((c.wait_time, c.visibility_timeout), (Duration::from_secs(1), Duration::from_secs(5)));
        assert_eq!((c.prefetch, c.delete_interval), (20, Duration::from_millis(50)));
        assert_eq!(c.dlq, "dead-{queue}");
        let c = parse("sqs://us-east-1?endpoint=http%3A%2F%2Flocalhost%3A4566").unwrap();
        assert_eq!(c.endpoint.as_deref(), Some("http://localhost:4566"));
    }

    #[test]
    fn bad_urls_are_errors_naming_the_server() {
        for url in [
            "sqs://localhost:4566",
            "sqs://us-east-1/orders",
            "sqs://us-east-1?colour=red",
            "sqs://us-east-1?endpoint=127.0.0.1:4566",
            "sqs://us-east-1?endpoint=http://",
            "sqs://us-east-1?create=maybe",
            "sqs://us-east-1?wait_time_s=21",
            "sqs://us-east-1?visibility_timeout_s=1",
            "sqs://us-east-1?visibility_timeout_s=soon",
            "sqs://us-east-1?prefetch=0",
            "sqs://us-east-1?delete_interval_ms=0",
            "sqs://us-east-1?queue_prefix=a.b",
            "sqs://us-east-1?dlq=",
            "sqs://us-east-1?dlq=a/b",
            "sqs://us-east-1?endpoint=%zz",
            "kafka://b:9092",
            "us-east-1",
        ] {
            let err = parse(url).expect_err(url).to_string();
            assert!(err.contains("server `main`"), "{url}: {err}");
        }
    }

    #[test]
    fn credentials_in_the_url_are_refused_without_echoing_them() {
        let err = parse("sqs://AKIAEXAMPLE:hunter2@us-east-1").unwrap_err().to_string();
        assert!(err.contains("credentials chain"), "{err}");
        assert!(!err.contains("hunter2") && !err.contains("AKIAEXAMPLE"), "{err}");
    }
}
