//! The `Broker` API of `SqsBroker` on a real SQS endpoint: errors at start, redrive
//! policies, and what shutdown does with messages it holds.

mod common;

use std::time::Duration;

use aws_sdk_sqs::types::QueueAttributeName;
use common::*;
use tidings::broker::{Broker, Nack, SubscribeSpec};
use tidings::Outgoing;
use tidings_sqs::SqsBroker;

fn spec(address: &str) -> SubscribeSpec {
    SubscribeSpec { address: address.into(), group: Some("g".into()), consumer: "api-test".into() }
}

fn message(body: &str) -> Outgoing {
    Outgoing { payload: body.to_owned().into(), ..Default::default() }
}

#[tokio::test]
async fn a_missing_queue_without_create_is_an_error_naming_it() {
    require_sqs();
    let run = run_id("missing");
    let url = format!("sqs://us-east-1?endpoint={ENDPOINT}&queue_prefix={run}-");
    let broker = SqsBroker::connect("main", &url).await.unwrap();
    let err = broker.publish("orders.created", message("{}")).await.unwrap_err().to_string();
    assert!(err.contains(&format!("`{run}-orders-created`")) && err.contains("create=true"), "{err}");
    let err = broker.subscribe(spec("orders.created")).await.err().expect("no queue, no subscription").to_string();
    assert!(err.contains("does not exist"), "{err}");
    broker.shutdown().await;
}

#[tokio::test]
async fn parameterized_channels_and_bad_names_are_refused() {
    require_sqs();
    let broker = admin(&run_id("refused")).await;
    let err = broker.subscribe(spec("orders.{region}.created")).await.err().expect("no patterns on SQS").to_string();
    assert!(err.contains("no patterns"), "{err}");
    let err = broker.publish("orders/created", message("{}")).await.unwrap_err().to_string();
    assert!(err.contains("`orders/created`") && err.contains("not allowed"), "{err}");
    broker.shutdown().await;
}

#[tokio::test]
async fn an_unreachable_endpoint_fails_the_connection() {
    require_sqs();
    // Port 9 (discard) on loopback: nothing listens.
    let err = SqsBroker::connect("main", "sqs://us-east-1?endpoint=http://127.0.0.1:9").await.unwrap_err().to_string();
    assert!(err.contains("server `main`") || err.contains("broker `main`"), "{err}");
    assert!(err.contains("127.0.0.1:9"), "{err}");
}

#[tokio::test]
async fn a_fifo_queue_needs_a_group_id() {
    require_sqs();
    let broker = admin(&run_id("nogroup")).await;
    let err = broker.publish("orders.fifo", message("{}")).await.unwrap_err().to_string();
    assert!(err.contains("MessageGroupId") && err.contains("orders.fifo"), "{err}");
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_message_goes_to_the_redrive_target_when_the_queue_has_one() {
    require_sqs();
    let run = run_id("redrive");
    let broker = admin(&run).await;
    let target = broker.queue("parking").await.unwrap();
    let arn = broker
        .client()
        .get_queue_attributes()
        .queue_url(&target.url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn))
        .cloned()
        .expect("the target's ARN");
    let source_name = format!("{run}-with-policy");
    broker
        .client()
        .create_queue()
        .queue_name(&source_name)
        .attributes(QueueAttributeName::RedrivePolicy, format!(r#"{{"deadLetterTargetArn":"{arn}","maxReceiveCount":"10"}}"#))
        .send()
        .await
        .unwrap();
    assert_eq!(broker.dead_letter_queue("with.policy").await.unwrap().name, target.name);

    let subscription = broker.subscribe(spec("with.policy")).await.unwrap();
    broker.publish("with.policy", message("doomed")).await.unwrap();
    let delivery = tokio::time::timeout(Duration::from_secs(30), subscription.next()).await.unwrap().unwrap();
    assert_eq!(&delivery.incoming.payload[..], b"doomed");
    delivery.acker.nack(Nack::Reject { reason: "no good".into() }, &delivery.incoming).await.unwrap();
    let dead = read_queue(&broker, &target.url, 1, Duration::from_secs(30)).await;
    assert_eq!(dead[0].body, "doomed");
    assert_eq!(dead[0].attributes.get("x-tidings-dlq-reason").map(String::as_str), Some("no good"));
    assert_eq!(dead[0].attributes.get("x-tidings-dlq-queue"), Some(&source_name));
    broker.shutdown().await;
    assert_drained(&broker, &broker.queue("with.policy").await.unwrap().url).await;
    let default_dlq = format!("{source_name}-dlq");
    let listed = broker.client().list_queues().queue_name_prefix(&default_dlq).send().await.unwrap();
    assert!(listed.queue_urls().is_empty(), "no default dead-letter queue was made: {:?}", listed.queue_urls());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_deletes_what_was_acked_and_releases_everything_else_at_once() {
    require_sqs();
    let run = run_id("shutdown");
    // A long visibility timeout and delete interval: only shutdown can explain messages
    // showing again, or being deleted, within the test.
    let url = format!(
        "sqs://us-east-1?endpoint={ENDPOINT}&create=true&queue_prefix={run}-&wait_time_s=1\
         &visibility_timeout_s=600&delete_interval_ms=10000&prefetch=10"
    );
    let broker = SqsBroker::connect("main", &url).await.unwrap();
    let queue = broker.queue("held").await.unwrap();
    for n in 0..8 {
        broker.publish("held", message(&format!("m{n}"))).await.unwrap();
    }
    let subscription = broker.subscribe(spec("held")).await.unwrap();
    let mut deliveries = Vec::new();
    for _ in 0..3 {
        deliveries.push(tokio::time::timeout(Duration::from_secs(30), subscription.next()).await.unwrap().unwrap());
    }
    // Wait until the rest sit in the subscription's buffer, received and hidden.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while depth(&broker, &queue.url).await.0 != 0 {
        assert!(std::time::Instant::now() < deadline, "the consumer did not receive all 8");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut held = deliveries.into_iter();
    let (first, second, third) = (held.next().unwrap(), held.next().unwrap(), held.next().unwrap());
    first.acker.ack().await.unwrap();
    second.acker.ack().await.unwrap();
    // `third` is still being handled when the broker shuts down.
    broker.shutdown().await;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let d = depth(&broker, &queue.url).await;
        if d == (6, 0, 0) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "expected 6 visible (2 deleted), got (visible, in flight, delayed) = {d:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    drop(third);
    let rest = read_queue(&broker, &queue.url, 6, Duration::from_secs(30)).await;
    let mut bodies: Vec<String> = rest.into_iter().map(|m| m.body).collect();
    bodies.sort();
    assert_eq!(bodies.len(), 6, "{bodies:?}");
}
