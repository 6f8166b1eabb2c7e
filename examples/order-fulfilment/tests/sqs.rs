//! The fulfilment consumer on SQS (moto server on 127.0.0.1:4566, started by
//! `bash scripts/brokers/start.sh`): an `OrderCreated` put in the queue as plain JSON,
//! as another service (or a bridge from Kafka) would, comes out as `OrderAccepted`.

use std::net::TcpStream;
use std::time::{Duration, Instant};

use order_events::{OrderAccepted, OrderCreated};
use tidings::sqs::SqsBroker;

const ENDPOINT: &str = "http://127.0.0.1:4566";

fn require_sqs() {
    if let Err(e) = TcpStream::connect_timeout(&"127.0.0.1:4566".parse().expect("an address"), Duration::from_secs(3)) {
        panic!("no SQS endpoint on 127.0.0.1:4566 ({e}); start moto with `bash scripts/brokers/start.sh`");
    }
    // moto takes any credentials; the SDK needs some. Set before any client exists.
    for (key, value) in [("AWS_ACCESS_KEY_ID", "test"), ("AWS_SECRET_ACCESS_KEY", "test"), ("AWS_EC2_METADATA_DISABLED", "true")] {
        if std::env::var_os(key).is_none() {
            std::env::set_var(key, value);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_order_created_from_sqs_and_publishes_order_accepted() {
    require_sqs();
    let run = format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let url = format!("sqs://us-east-1?endpoint={ENDPOINT}&create=true&queue_prefix={run}-&wait_time_s=1");
    let app = order_fulfilment::app_on(tidings::app!().ignore_env().args(Default::default()), &url)
        .start_without_cli()
        .await
        .unwrap_or_else(|e| panic!("the service starts on SQS: {e}"));

    let admin = SqsBroker::connect("admin", &url).await.unwrap();
    let created = admin.queue("orders.created").await.unwrap();
    assert_eq!(created.name, format!("{run}-orders-created"));
    let body = serde_json::to_string(&OrderCreated::sample(7)).unwrap();
    admin.client().send_message().queue_url(&created.url).message_body(body).send().await.unwrap();

    let accepted = admin.queue("orders.accepted").await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let message = loop {
        assert!(Instant::now() < deadline, "no OrderAccepted in `{}` within 60 s", accepted.name);
        let got = admin
            .client()
            .receive_message()
            .queue_url(&accepted.url)
            .message_attribute_names("All")
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        if let Some(m) = got.messages().first() {
            break m.clone();
        }
    };
    app.shutdown().await.unwrap();

    let got: OrderAccepted = serde_json::from_str(message.body().unwrap_or_default()).unwrap();
    assert_eq!(got.order_id, "order-7");
    // sample(7): 1 + 7 % 3 = 2 of the first item, 1 gift.
    assert_eq!(got.item_count, 3);
    let attributes = message.message_attributes().cloned().unwrap_or_default();
    let name = attributes.get("x-tidings-message").and_then(|v| v.string_value());
    assert_eq!(name, Some("OrderAccepted"), "the reply names its message: {attributes:?}");
    use tidings::sqs::aws_sdk_sqs::types::QueueAttributeName as A;
    let out = admin.client().get_queue_attributes().queue_url(&created.url).attribute_names(A::All).send().await.unwrap();
    let count = |name: A| out.attributes().and_then(|a| a.get(&name).cloned()).unwrap_or_default();
    assert_eq!(
        (count(A::ApproximateNumberOfMessages), count(A::ApproximateNumberOfMessagesNotVisible)),
        ("0".to_owned(), "0".to_owned()),
        "the order was deleted once handled"
    );
}
