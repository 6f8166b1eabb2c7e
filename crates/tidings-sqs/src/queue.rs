//! Channels as queues: a channel address names a queue (or is a queue URL), resolved to
//! its URL once and cached; optionally created when missing; and the dead-letter queue
//! of each queue.
//!
//! Names: SQS queue names hold letters, digits, `-` and `_` (at most 80, a FIFO queue's
//! ending in `.fifo`), so a channel's dots become dashes: channel `orders.created` is
//! queue `orders-created`, channel `orders.fifo` is queue `orders.fifo`, and the URL's
//! `queue_prefix` goes in front. An address that is a URL
//! (`https://sqs.us-east-1.amazonaws.com/123456789012/orders`) is used as it is.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::operation::get_queue_url::GetQueueUrlError;
use aws_sdk_sqs::types::QueueAttributeName;
use aws_sdk_sqs::Client;
use tidings_core::Error;

use crate::config::{check_name_chars, SqsConfig};
use crate::options::SqsQueue;

/// The suffix of FIFO queue names.
pub const FIFO_SUFFIX: &str = ".fifo";
/// The longest queue name SQS allows.
pub const MAX_NAME_LEN: usize = 80;

/// A resolved queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queue {
    /// The queue's name.
    pub name: String,
    /// The queue's URL: what every call takes.
    pub url: String,
    /// A FIFO queue (its name ends in `.fifo`).
    pub fifo: bool,
}

/// The queue name of a channel address on a server with `prefix`: dots become dashes
/// (except a final `.fifo`), then the name is checked against SQS's rules.
pub fn queue_name(prefix: &str, address: &str) -> Result<String, String> {
    // The document names queues with the same function, so it names the real queues.
    let name = tidings_asyncapi::protocol::sqs_queue_name(prefix, address);
    let stem = name.strip_suffix(FIFO_SUFFIX).unwrap_or(&name);
    if stem.is_empty() {
        return Err("an empty queue name".into());
    }
    check_name_chars(stem)?;
    if name.len() > MAX_NAME_LEN {
        return Err(format!("queue name `{name}` is longer than {MAX_NAME_LEN} characters"));
    }
    Ok(name)
}

/// True when a channel address is a queue URL rather than a name.
pub fn is_queue_url(address: &str) -> bool {
    address.starts_with("https://") || address.starts_with("http://")
}

/// The name of the dead-letter queue of `source` from the `dlq` template
/// ([`SqsConfig::dlq`]).
pub fn dead_letter_name(template: &str, source: &Queue) -> String {
    let stem = source.name.strip_suffix(FIFO_SUFFIX).unwrap_or(&source.name);
    let name = template.replace("{queue}", stem);
    if source.fifo && !name.ends_with(FIFO_SUFFIX) {
        format!("{name}{FIFO_SUFFIX}")
    } else {
        name
    }
}

/// Resolves and caches queues of one server.
pub(crate) struct Queues {
    server: String,
    client: Client,
    config: Arc<SqsConfig>,
    by_address: Mutex<HashMap<String, Arc<Queue>>>,
    by_name: Mutex<HashMap<String, Arc<Queue>>>,
    /// Declared options (`App::channel_options`), by queue name.
    declared: Mutex<HashMap<String, SqsQueue>>,
}

impl Queues {
    pub(crate) fn new(server: &str, client: Client, config: Arc<SqsConfig>) -> Self {
        Queues {
            server: server.to_owned(),
            client,
            config,
            by_address: Mutex::new(HashMap::new()),
            by_name: Mutex::new(HashMap::new()),
            declared: Mutex::new(HashMap::new()),
        }
    }

    /// The queue name of a channel address (a URL's last segment).
    pub(crate) fn name_of(&self, address: &str) -> Result<String, Error> {
        if is_queue_url(address) {
            return Ok(address.trim_end_matches('/').rsplit('/').next().unwrap_or_default().to_owned());
        }
        queue_name(&self.config.queue_prefix, address)
            .map_err(|why| Error::Config(format!("server `{}`: channel `{address}` cannot be an SQS queue: {why}", self.server)))
    }

    /// Records the declared options of the queue `name` (before it is resolved).
    pub(crate) fn declare(&self, name: &str, options: SqsQueue) {
        lock(&self.declared).insert(name.to_owned(), options);
    }

    /// The declared options of the queue `name`, if any.
    pub(crate) fn declared(&self, name: &str) -> Option<SqsQueue> {
        lock(&self.declared).get(name).cloned()
    }

    /// The queue of a channel address, resolved once (`GetQueueUrl`, or `CreateQueue`
    /// with `create=true`) and cached. Failures are not cached: the next call retries.
    pub(crate) async fn for_address(&self, address: &str) -> Result<Arc<Queue>, Error> {
        if let Some(q) = lock(&self.by_address).get(address) {
            return Ok(q.clone());
        }
        let queue = if is_queue_url(address) {
            let name = address.trim_end_matches('/').rsplit('/').next().unwrap_or_default().to_owned();
            if name.is_empty() {
                return Err(Error::broker(&self.server, format!("queue URL `{address}` has no queue name")));
            }
            Arc::new(Queue { fifo: name.ends_with(FIFO_SUFFIX), name, url: address.to_owned() })
        } else {
            let name = queue_name(&self.config.queue_prefix, address)
                .map_err(|why| Error::Config(format!("server `{}`: channel `{address}` cannot be an SQS queue: {why}", self.server)))?;
            self.by_name(&name, None, &format!("channel `{address}`")).await?
        };
        lock(&self.by_address).insert(address.to_owned(), queue.clone());
        Ok(queue)
    }

    /// The queue called `name` (in `owner`'s account, when given), created when
    /// missing and the server allows it. `what` says whose queue it is, for errors.
    pub(crate) async fn by_name(&self, name: &str, owner: Option<&str>, what: &str) -> Result<Arc<Queue>, Error> {
        if let Some(q) = lock(&self.by_name).get(name) {
            return Ok(q.clone());
        }
        let fifo = name.ends_with(FIFO_SUFFIX);
        let found = self.client.get_queue_url().queue_name(name).set_queue_owner_aws_account_id(owner.map(str::to_owned)).send().await;
        let url = match found {
            Ok(out) => out.queue_url().unwrap_or_default().to_owned(),
            Err(e) if matches!(e.as_service_error(), Some(GetQueueUrlError::QueueDoesNotExist(_))) => {
                if !self.config.create {
                    return Err(Error::broker(
                        &self.server,
                        format!(
                            "queue `{name}` ({what}) does not exist; create it, or add `create=true` to the server URL \
                             (development)"
                        ),
                    ));
                }
                let mut create = self.client.create_queue().queue_name(name);
                if fifo {
                    create = create.attributes(QueueAttributeName::FifoQueue, "true");
                }
                // Declared options become the new queue's attributes; its redrive target
                // is resolved (and created) first, for its ARN.
                if let Some(declared) = self.declared(name) {
                    if let Some(t) = declared.visibility_timeout {
                        create = create.attributes(QueueAttributeName::VisibilityTimeout, t.as_secs().to_string());
                    }
                    if let Some(w) = declared.receive_wait {
                        create = create.attributes(QueueAttributeName::ReceiveMessageWaitTimeSeconds, w.as_secs().to_string());
                    }
                    if let Some(on) = declared.content_based_dedup {
                        create = create.attributes(QueueAttributeName::ContentBasedDeduplication, on.to_string());
                    }
                    if let Some(redrive) = &declared.redrive {
                        let what = format!("the redrive target of `{name}`");
                        let dlq = self.by_name_boxed(&redrive.dead_letter_queue, &what).await?;
                        let arn = self.arn_of(&dlq).await?;
                        let policy = serde_json::json!({
                            "deadLetterTargetArn": arn,
                            "maxReceiveCount": redrive.max_receive_count.to_string(),
                        });
                        create = create.attributes(QueueAttributeName::RedrivePolicy, policy.to_string());
                    }
                }
                let created = create.send().await.map_err(|e| {
                    Error::broker(&self.server, format!("creating queue `{name}` ({what}) failed: {}", DisplayErrorContext(&e)))
                })?;
                tracing::info!(server = %self.server, queue = name, "created SQS queue (create=true)");
                created.queue_url().unwrap_or_default().to_owned()
            }
            Err(e) => {
                return Err(Error::broker(
                    &self.server,
                    format!("looking up queue `{name}` ({what}) failed: {}", DisplayErrorContext(&e)),
                ))
            }
        };
        if url.is_empty() {
            return Err(Error::broker(&self.server, format!("SQS returned no URL for queue `{name}` ({what})")));
        }
        let queue = Arc::new(Queue { name: name.to_owned(), url, fifo });
        lock(&self.by_name).insert(name.to_owned(), queue.clone());
        Ok(queue)
    }

    /// [`by_name`](Self::by_name) behind a box: a queue's creation resolves its redrive
    /// target first, and a recursive `async fn` needs one.
    fn by_name_boxed<'a>(&'a self, name: &'a str, what: &'a str) -> futures::future::BoxFuture<'a, Result<Arc<Queue>, Error>> {
        Box::pin(self.by_name(name, None, what))
    }

    /// The ARN of a queue (`QueueArn`).
    async fn arn_of(&self, queue: &Queue) -> Result<String, Error> {
        let out = self
            .client
            .get_queue_attributes()
            .queue_url(&queue.url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .map_err(|e| Error::broker(&self.server, format!("reading the ARN of queue `{}` failed: {}", queue.name, DisplayErrorContext(&e))))?;
        out.attributes()
            .and_then(|a| a.get(&QueueAttributeName::QueueArn))
            .filter(|arn| !arn.is_empty())
            .cloned()
            .ok_or_else(|| Error::broker(&self.server, format!("SQS returned no ARN for queue `{}`", queue.name)))
    }

    /// The dead-letter queue of `source`: the declared redrive target (`SqsQueue`)
    /// where there is one, else the target of its redrive policy, else the server's
    /// `dlq` template (created like any queue when allowed).
    pub(crate) async fn dead_letter_queue(&self, source: &Queue) -> Result<Arc<Queue>, Error> {
        if let Some(redrive) = self.declared(&source.name).and_then(|d| d.redrive) {
            let what = format!("the declared dead-letter queue of `{}`", source.name);
            return self.by_name(&redrive.dead_letter_queue, None, &what).await;
        }
        let attributes = self
            .client
            .get_queue_attributes()
            .queue_url(&source.url)
            .attribute_names(QueueAttributeName::RedrivePolicy)
            .send()
            .await
            .map_err(|e| {
                Error::broker(
                    &self.server,
                    format!("reading the redrive policy of queue `{}` failed: {}", source.name, DisplayErrorContext(&e)),
                )
            })?;
        let policy = attributes.attributes().and_then(|a| a.get(&QueueAttributeName::RedrivePolicy)).cloned();
        if let Some(policy) = policy.filter(|p| !p.is_empty()) {
            let (name, account) = redrive_target(&policy).ok_or_else(|| {
                Error::broker(&self.server, format!("queue `{}` has a redrive policy without a target: {policy}", source.name))
            })?;
            return self.by_name(&name, account.as_deref(), &format!("the redrive target of `{}`", source.name)).await;
        }
        let name = dead_letter_name(&self.config.dlq, source);
        self.by_name(&name, None, &format!("the dead-letter queue of `{}`", source.name)).await
    }
}

/// The queue name and account of a redrive policy's `deadLetterTargetArn`
/// (`arn:aws:sqs:us-east-1:123456789012:orders-dlq`).
pub(crate) fn redrive_target(policy: &str) -> Option<(String, Option<String>)> {
    let value: serde_json::Value = serde_json::from_str(policy).ok()?;
    let arn = value.get("deadLetterTargetArn")?.as_str()?;
    let parts: Vec<&str> = arn.split(':').collect();
    let name = parts.last().filter(|n| !n.is_empty())?.to_string();
    let account = parts.get(4).filter(|a| !a.is_empty()).map(|a| a.to_string());
    Some((name, account))
}

// A poisoned lock only means a thread panicked while holding it; the maps stay valid.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_addresses_become_queue_names() {
        assert_eq!(queue_name("", "orders.created").unwrap(), "orders-created");
        assert_eq!(queue_name("t1-", "orders.created").unwrap(), "t1-orders-created");
        assert_eq!(queue_name("", "orders.fifo").unwrap(), "orders.fifo");
        assert_eq!(queue_name("", "orders.eu.fifo").unwrap(), "orders-eu.fifo");
        assert_eq!(queue_name("", "plain_name-1").unwrap(), "plain_name-1");
        assert!(queue_name("", "orders/{region}").is_err());
        assert!(queue_name("", "").is_err());
        assert!(queue_name("", ".fifo").is_err());
        assert!(queue_name("", &"x".repeat(81)).is_err());
        assert!(queue_name("", &"x".repeat(80)).is_ok());
    }

    #[test]
    fn dead_letter_names_follow_the_template_and_stay_fifo() {
        let q = |name: &str| Queue { name: name.into(), url: String::new(), fifo: name.ends_with(".fifo") };
        assert_eq!(dead_letter_name("{queue}-dlq", &q("orders")), "orders-dlq");
        assert_eq!(dead_letter_name("{queue}-dlq", &q("orders.fifo")), "orders-dlq.fifo");
        assert_eq!(dead_letter_name("all-dead", &q("orders.fifo")), "all-dead.fifo");
        assert_eq!(dead_letter_name("all-dead", &q("orders")), "all-dead");
    }

    #[test]
    fn redrive_targets() {
        let p = r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:123456789012:orders-dlq","maxReceiveCount":"5"}"#;
        assert_eq!(redrive_target(p), Some(("orders-dlq".into(), Some("123456789012".into()))));
        assert_eq!(redrive_target("{}"), None);
        assert_eq!(redrive_target("not json"), None);
    }

    #[test]
    fn queue_urls_are_recognised() {
        assert!(is_queue_url("https://sqs.us-east-1.amazonaws.com/123456789012/orders"));
        assert!(is_queue_url("http://127.0.0.1:4566/000000000000/orders"));
        assert!(!is_queue_url("orders.created"));
    }
}
