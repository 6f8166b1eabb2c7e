//! [`SqsQueue`]: the declared options of one channel's queue, given to
//! `App::channel_options`. The broker uses them at start: a queue it creates (with
//! `create=true`) gets them as attributes; the consumer of the queue receives with its
//! visibility timeout and wait time; the redrive target is where the queue's rejected
//! messages go. The document's sqs channel binding shows them.

use std::any::Any;
use std::time::Duration;

use serde_json::{json, Map, Value};
use tidings_core::broker::ChannelOptions;

use crate::config::{check_name_chars, MAX_VISIBILITY_TIMEOUT, MAX_WAIT_TIME};
use crate::queue::FIFO_SUFFIX;

/// The declared queue of a channel.
///
/// ```
/// use std::time::Duration;
/// use tidings_sqs::SqsQueue;
/// let queue = SqsQueue::new()
///     .visibility_timeout(Duration::from_secs(60))
///     .receive_wait(Duration::from_secs(10))
///     .redrive("orders-created-dlq", 5);
/// # let _ = queue;
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SqsQueue {
    /// A FIFO queue. The queue name says it too (`.fifo`, from a channel ending in
    /// `.fifo`): declaring one without the other is an error at start.
    pub fifo: bool,
    /// The visibility timeout: the queue's attribute when tidings creates it, and what
    /// its consumer asks for on receive (instead of the server's `visibility_timeout_s`).
    pub visibility_timeout: Option<Duration>,
    /// The long-poll wait: the queue's `ReceiveMessageWaitTimeSeconds` when tidings
    /// creates it, and its consumer's `WaitTimeSeconds` (instead of `wait_time_s`).
    pub receive_wait: Option<Duration>,
    /// The dead-letter queue and SQS's own receive limit.
    pub redrive: Option<Redrive>,
    /// Content-based deduplication of a FIFO queue tidings creates.
    pub content_based_dedup: Option<bool>,
}

/// A queue's redrive policy: where messages go that are not handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redrive {
    /// The dead-letter queue's name, as written (the server's `queue_prefix` is not
    /// added): tidings sends what the consumer rejects there, and a queue tidings
    /// creates gets it as its redrive target.
    pub dead_letter_queue: String,
    /// Receives after which SQS itself moves a message there (`maxReceiveCount`).
    pub max_receive_count: u32,
}

impl SqsQueue {
    /// No options yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// A FIFO queue (its channel must end in `.fifo`).
    pub fn fifo(mut self) -> Self {
        self.fifo = true;
        self
    }

    /// Sets the visibility timeout (at most 12 hours).
    pub fn visibility_timeout(mut self, timeout: Duration) -> Self {
        self.visibility_timeout = Some(timeout);
        self
    }

    /// Sets the long-poll wait (at most 20 s).
    pub fn receive_wait(mut self, wait: Duration) -> Self {
        self.receive_wait = Some(wait);
        self
    }

    /// Sets the redrive policy: dead-letter queue `name`, SQS moving a message there
    /// after `max_receive_count` receives.
    pub fn redrive(mut self, dead_letter_queue: impl Into<String>, max_receive_count: u32) -> Self {
        self.redrive = Some(Redrive { dead_letter_queue: dead_letter_queue.into(), max_receive_count });
        self
    }

    /// Turns content-based deduplication on or off (FIFO queues).
    pub fn content_based_dedup(mut self, on: bool) -> Self {
        self.content_based_dedup = Some(on);
        self
    }

    /// Checks the options against SQS's limits and the queue's name; the error says
    /// what is wrong (the caller names the channel).
    pub fn check(&self, queue_name: &str) -> Result<(), String> {
        let named_fifo = queue_name.ends_with(FIFO_SUFFIX);
        if self.fifo && !named_fifo {
            return Err(format!("a FIFO queue's name ends in `.fifo`, and `{queue_name}` does not: end the channel in `.fifo`"));
        }
        if let Some(t) = self.visibility_timeout {
            if t > MAX_VISIBILITY_TIMEOUT {
                return Err(format!("visibility timeout {t:?} is longer than SQS allows ({MAX_VISIBILITY_TIMEOUT:?})"));
            }
        }
        if let Some(w) = self.receive_wait {
            if w > MAX_WAIT_TIME {
                return Err(format!("receive wait {w:?} is longer than SQS allows ({MAX_WAIT_TIME:?})"));
            }
        }
        if self.content_based_dedup.is_some() && !named_fifo {
            return Err("content-based deduplication is for FIFO queues only".into());
        }
        if let Some(r) = &self.redrive {
            let dlq = &r.dead_letter_queue;
            check_name_chars(dlq.strip_suffix(FIFO_SUFFIX).unwrap_or(dlq)).map_err(|why| format!("dead-letter queue `{dlq}`: {why}"))?;
            if dlq.is_empty() || dlq.len() > crate::queue::MAX_NAME_LEN {
                return Err(format!("dead-letter queue name `{dlq}` must hold 1 to 80 characters"));
            }
            if dlq.ends_with(FIFO_SUFFIX) != named_fifo {
                return Err(format!(
                    "the dead-letter queue of a {} queue must be {} too: `{dlq}`",
                    if named_fifo { "FIFO" } else { "standard" },
                    if named_fifo { "FIFO (`.fifo`)" } else { "standard" }
                ));
            }
            if !(1..=1000).contains(&r.max_receive_count) {
                return Err(format!("max receive count {} is not from 1 to 1000", r.max_receive_count));
            }
        }
        Ok(())
    }
}

impl ChannelOptions for SqsQueue {
    fn protocol(&self) -> &'static str {
        "sqs"
    }

    fn binding(&self) -> Value {
        let mut queue = Map::new();
        if self.fifo {
            queue.insert("fifoQueue".into(), json!(true));
        }
        if let Some(t) = self.visibility_timeout {
            queue.insert("visibilityTimeout".into(), json!(t.as_secs()));
        }
        if let Some(w) = self.receive_wait {
            queue.insert("receiveMessageWaitTime".into(), json!(w.as_secs()));
        }
        if let Some(on) = self.content_based_dedup {
            queue.insert("x-contentBasedDeduplication".into(), json!(on));
        }
        let mut binding = Map::new();
        if let Some(r) = &self.redrive {
            queue.insert(
                "redrivePolicy".into(),
                json!({"deadLetterQueue": {"name": r.dead_letter_queue}, "maxReceiveCount": r.max_receive_count}),
            );
            binding.insert(
                "deadLetterQueue".into(),
                json!({"name": r.dead_letter_queue, "fifoQueue": r.dead_letter_queue.ends_with(FIFO_SUFFIX)}),
            );
        }
        binding.insert("queue".into(), Value::Object(queue));
        Value::Object(binding)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binding_fields() {
        let q = SqsQueue::new()
            .visibility_timeout(Duration::from_secs(60))
            .receive_wait(Duration::from_secs(5))
            .redrive("orders-dlq", 4);
        assert_eq!(
            q.binding(),
            json!({
                "queue": {"visibilityTimeout": 60, "receiveMessageWaitTime": 5,
                          "redrivePolicy": {"deadLetterQueue": {"name": "orders-dlq"}, "maxReceiveCount": 4}},
                "deadLetterQueue": {"name": "orders-dlq", "fifoQueue": false},
            })
        );
        assert_eq!(SqsQueue::new().binding(), json!({"queue": {}}));
    }

    #[test]
    fn checks() {
        assert!(SqsQueue::new().check("orders").is_ok());
        assert!(SqsQueue::new().fifo().check("orders").is_err());
        assert!(SqsQueue::new().fifo().check("orders.fifo").is_ok());
        assert!(SqsQueue::new().receive_wait(Duration::from_secs(21)).check("q").is_err());
        assert!(SqsQueue::new().visibility_timeout(Duration::from_secs(43_201)).check("q").is_err());
        assert!(SqsQueue::new().redrive("d.fifo", 3).check("q").is_err());
        assert!(SqsQueue::new().redrive("d.fifo", 3).check("q.fifo").is_ok());
        assert!(SqsQueue::new().redrive("d", 0).check("q").is_err());
        assert!(SqsQueue::new().redrive("bad name", 1).check("q").is_err());
        assert!(SqsQueue::new().content_based_dedup(true).check("q").is_err());
    }
}
