//! The fulfilment handlers through the real pipeline on the in-memory broker.

use order_events::{CancelOrder, OrderAccepted, OrderCancelled, OrderCreated};
use tidings::testing::TestApp;
use tidings::Broker;

// The handlers register themselves; linking the crate is enough.
use order_fulfilment as _;

#[tokio::test]
async fn accepts_an_order_and_publishes_order_accepted() {
    let app = TestApp::start().await.unwrap();
    let accepted = app.subscribe::<OrderAccepted>("orders.accepted").await.unwrap();
    app.publish("orders.created", &OrderCreated::sample(7)).await.unwrap();
    let got = accepted.next().await.unwrap();
    assert_eq!(got.order_id, "order-7");
    // sample(7): 1 + 7 % 3 = 2 of the first item, 1 gift.
    assert_eq!(got.item_count, 3);
    app.settled().await.unwrap();
    assert!(app.dead_letters().is_empty());
    app.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_reply_keeps_the_correlation_id() {
    let app = TestApp::start().await.unwrap();
    let accepted = app.subscribe::<OrderAccepted>("orders.accepted").await.unwrap();
    let mut out = app.context().encode(&OrderCreated::sample(1)).unwrap();
    out.headers.insert("correlation-id", "corr-42");
    app.broker().publish("orders.created", out).await.unwrap();
    let raw = accepted.next_raw().await.unwrap();
    assert_eq!(raw.headers.get("correlation-id"), Some("corr-42"));
    assert_eq!(raw.headers.get("content-type"), Some("application/json"));
    assert_eq!(raw.headers.get("x-tidings-message"), Some("OrderAccepted"));
    app.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_undecodable_payload_is_rejected_and_the_service_keeps_serving() {
    let app = TestApp::start().await.unwrap();
    let accepted = app.subscribe::<OrderAccepted>("orders.accepted").await.unwrap();
    app.publish_bytes("orders.created", &b"{not json"[..]).await.unwrap();
    app.publish_json("orders.created", &serde_json::json!({"order_id": "x"})).await.unwrap();
    app.publish("orders.created", &OrderCreated::sample(2)).await.unwrap();
    assert_eq!(accepted.next().await.unwrap().order_id, "order-2");
    app.settled().await.unwrap();
    let dead = app.dead_letters();
    assert_eq!(dead.len(), 2, "both broken payloads are kept as dead letters: {dead:?}");
    for d in &dead {
        assert!(d.reason.contains("cannot decode OrderCreated from channel `orders.created`"), "{}", d.reason);
        // Rejected at once: a payload that does not decode is never retried.
        assert_eq!(d.incoming.attempt, 1);
    }
    app.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_failing_handler_is_retried_then_dead_lettered() {
    let app = TestApp::start().await.unwrap();
    let accepted = app.subscribe::<OrderAccepted>("orders.accepted").await.unwrap();
    let mut empty = OrderCreated::sample(3);
    empty.items.clear();
    app.publish("orders.created", &empty).await.unwrap();
    app.settled().await.unwrap();
    let dead = app.dead_letters();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].incoming.attempt, 3, "the default policy makes three attempts");
    assert!(dead[0].reason.contains("order order-3 has no items"), "{}", dead[0].reason);
    assert!(accepted.is_quiet_for(std::time::Duration::from_millis(100)).await);
    app.shutdown().await.unwrap();
}

#[tokio::test]
async fn parameterized_channels_deliver_their_parameters() {
    let app = TestApp::start().await.unwrap();
    let cancelled = app.subscribe::<OrderCancelled>("orders.{region}.cancelled").await.unwrap();
    app.publish("orders.eu.cancel", &CancelOrder { order_id: "o-1".into(), reason: None }).await.unwrap();
    let got = cancelled.next_raw().await.unwrap();
    // The reply channel's {region} is filled from the incoming channel's.
    assert_eq!(&*got.channel, "orders.eu.cancelled");
    let body: OrderCancelled = serde_json::from_slice(&got.payload).unwrap();
    assert_eq!(body, OrderCancelled { order_id: "o-1".into(), region: "eu".into() });
    app.settled().await.unwrap();
    assert!(app.dead_letters().is_empty());
    app.shutdown().await.unwrap();
}
