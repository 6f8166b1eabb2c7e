//! The example fleet: six small services, each its own package so each binary links
//! only its own consumers and producers, and one shared contract crate.
//!
//! | service | package | does | over |
//! |---|---|---|---|
//! | orders | `fleet-orders` | sends `OrderCreated` on `orders.created`, bridged (in code) to the SQS queue `order-events` | Kafka |
//! | fulfilment | `fleet-fulfilment` | receives `OrderCreated` from `order-events` | SQS |
//! | customer-privacy | `fleet-customer-privacy` | sends `CustomerDataDeletionRequest` on `privacy.deletion-requests` | Kafka |
//! | billing | `fleet-billing` | receives it from the Kafka topic | Kafka |
//! | email | `fleet-email` | receives it from `privacy.deletions`, the topic's NATS mirror | NATS |
//! | analytics | `fleet-analytics` | receives `OrderCreated` from Kafka and the request from `privacy-deletions`, the topic's SQS copy | Kafka, SQS |
//!
//! The messages are in `fleet-events`. The privacy topic's mirrors are declared in
//! `catalog.toml` (with owners and the domain). `cargo xtask catalog` dumps every
//! service's document and builds the catalog into `target/catalog/`; the tests here
//! ask the catalog the questions the fleet exists to answer.
