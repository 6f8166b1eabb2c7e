//! Publishing: `SendMessage`, and `SendMessageBatch` when publishes to one queue come
//! together.
//!
//! Each queue has a sender task. A publish hands it the encoded message and waits for
//! SQS's answer about that message. The task takes what is waiting (up to 10 messages
//! and 256 KiB) into one call: under load, publishes share round trips; a lone publish
//! goes out at once, without lingering. A few calls per queue run at once. Entries SQS
//! failed on its side (throttling, internal errors) are sent again, up to
//! [`ENTRY_TRIES`] times; entries it refused (a bad attribute, too big) fail their
//! publish with SQS's reason.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use aws_sdk_sqs::Client;
use tokio::sync::{mpsc, oneshot, Semaphore};

use crate::config::MAX_BATCH;
use crate::queue::Queue;
use crate::wire::Encoded;

/// The most bytes of one `SendMessageBatch` call.
const MAX_BATCH_BYTES: usize = 256 * 1024;
/// Calls in flight per queue.
const CALLS_PER_QUEUE: usize = 4;
/// Tries of an entry SQS failed on its side.
pub(crate) const ENTRY_TRIES: u32 = 3;
/// Publishes waiting per queue before `publish` waits for room.
const QUEUE_DEPTH: usize = 1024;

struct Pending {
    message: Encoded,
    reply: oneshot::Sender<Result<(), String>>,
}

/// The sender tasks of one server.
pub(crate) struct Publisher {
    client: Client,
    senders: Mutex<HashMap<String, mpsc::Sender<Pending>>>,
}

impl Publisher {
    pub(crate) fn new(client: Client) -> Self {
        Publisher { client, senders: Mutex::new(HashMap::new()) }
    }

    /// Sends one message to `queue`; returns once SQS has it. The error is SQS's reason
    /// (the caller names the queue).
    pub(crate) async fn send(&self, queue: &Arc<Queue>, message: Encoded) -> Result<(), String> {
        let sender = {
            let mut senders = self.senders.lock().unwrap_or_else(|e| e.into_inner());
            match senders.get(&queue.url) {
                Some(s) if !s.is_closed() => s.clone(),
                _ => {
                    let (tx, rx) = mpsc::channel(QUEUE_DEPTH);
                    tokio::spawn(run(self.client.clone(), queue.clone(), rx));
                    senders.insert(queue.url.clone(), tx.clone());
                    tx
                }
            }
        };
        let (reply, answer) = oneshot::channel();
        sender.send(Pending { message, reply }).await.map_err(|_| "the publisher has stopped".to_owned())?;
        answer.await.map_err(|_| "the publisher stopped before SQS answered".to_owned())?
    }

    /// Stops the sender tasks once what they hold is sent.
    pub(crate) fn close(&self) {
        self.senders.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

/// The sender task of one queue: batches what is waiting, a few calls at a time.
async fn run(client: Client, queue: Arc<Queue>, mut rx: mpsc::Receiver<Pending>) {
    let calls = Arc::new(Semaphore::new(CALLS_PER_QUEUE));
    let mut carried: Option<Pending> = None;
    loop {
        let first = match carried.take() {
            Some(p) => p,
            None => match rx.recv().await {
                Some(p) => p,
                None => break,
            },
        };
        let Ok(permit) = calls.clone().acquire_owned().await else { break };
        // Taken after the permit: what arrived while calls were busy joins this batch.
        let mut size = first.message.size();
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(p) if size + p.message.size() <= MAX_BATCH_BYTES => {
                    size += p.message.size();
                    batch.push(p);
                }
                Ok(p) => {
                    carried = Some(p);
                    break;
                }
                Err(_) => break,
            }
        }
        let (client, queue) = (client.clone(), queue.clone());
        tokio::spawn(async move {
            send_batch(&client, &queue, batch).await;
            drop(permit);
        });
    }
}

async fn send_batch(client: &Client, queue: &Queue, mut batch: Vec<Pending>) {
    if batch.len() == 1 {
        let Some(p) = batch.pop() else { return };
        let m = &p.message;
        let result = client
            .send_message()
            .queue_url(&queue.url)
            .message_body(&m.body)
            .set_message_attributes(Some(m.attributes.clone()).filter(|a| !a.is_empty()))
            .set_message_group_id(m.group_id.clone())
            .set_message_deduplication_id(m.deduplication_id.clone())
            .send()
            .await
            .map(|_| ())
            .map_err(|e| DisplayErrorContext(&e).to_string());
        let _ = p.reply.send(result);
        return;
    }
    let mut tries = 0;
    while !batch.is_empty() {
        tries += 1;
        let mut entries = Vec::with_capacity(batch.len());
        for (i, p) in batch.iter().enumerate() {
            let m = &p.message;
            let entry = SendMessageBatchRequestEntry::builder()
                .id(i.to_string())
                .message_body(&m.body)
                .set_message_attributes(Some(m.attributes.clone()).filter(|a| !a.is_empty()))
                .set_message_group_id(m.group_id.clone())
                .set_message_deduplication_id(m.deduplication_id.clone())
                .build();
            entries.push(entry);
        }
        let entries: Result<Vec<_>, _> = entries.into_iter().collect();
        let entries = match entries {
            Ok(e) => e,
            Err(e) => {
                let why = format!("building the batch: {e}");
                for p in batch {
                    let _ = p.reply.send(Err(why.clone()));
                }
                return;
            }
        };
        let out = match client.send_message_batch().queue_url(&queue.url).set_entries(Some(entries)).send().await {
            Ok(out) => out,
            Err(e) => {
                // The SDK already retried transient failures of the call itself.
                let why = DisplayErrorContext(&e).to_string();
                for p in batch {
                    let _ = p.reply.send(Err(why.clone()));
                }
                return;
            }
        };
        let mut slots: Vec<Option<Pending>> = batch.into_iter().map(Some).collect();
        for ok in out.successful() {
            if let Some(p) = ok.id().parse::<usize>().ok().and_then(|i| slots.get_mut(i)).and_then(Option::take) {
                let _ = p.reply.send(Ok(()));
            }
        }
        let mut again = Vec::new();
        for failed in out.failed() {
            let Some(p) = failed.id().parse::<usize>().ok().and_then(|i| slots.get_mut(i)).and_then(Option::take) else {
                continue;
            };
            let why = format!("{}: {}", failed.code(), failed.message().unwrap_or("no reason given"));
            if failed.sender_fault() || tries >= ENTRY_TRIES {
                let _ = p.reply.send(Err(why));
            } else {
                tracing::debug!(queue = %queue.name, why = %why, "SQS failed a batch entry on its side; sending it again");
                again.push(p);
            }
        }
        // An entry SQS answered nothing about cannot be assumed sent.
        for p in slots.into_iter().flatten() {
            let _ = p.reply.send(Err("SQS answered nothing about this message".to_owned()));
        }
        if !again.is_empty() {
            tokio::time::sleep(Duration::from_millis(100 * u64::from(tries))).await;
        }
        batch = again;
    }
}
