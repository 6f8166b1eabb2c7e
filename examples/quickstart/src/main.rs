//! The smallest tidings service: a message, a producer and a consumer on the embedded
//! broker. `cargo run -p quickstart` greets three times; `-- --asyncapi` prints the
//! document.

use std::time::Duration;

use tidings::prelude::*;

/// Someone said hello.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Message)]
#[message(name = "Greeting", version = "1.0.0")]
pub struct Greeting {
    /// Who says hello.
    pub name: String,
}

/// Greetings to everyone listening.
#[tidings::producer(channel = "greetings")]
static GREETINGS: Producer<Greeting>;

/// Answer every greeting.
#[tidings::consumer(channel = "greetings", group = "greeter")]
async fn greet(greeting: Greeting, attempt: Attempt) {
    println!("hello, {}! (attempt {})", greeting.name, attempt.0);
}

#[tidings::main]
async fn main() -> Result<(), tidings::Error> {
    tidings::app!()
        .run_with(|ctx| async move {
            for name in ["Ada", "Grace", "Linus"] {
                GREETINGS.publish(&ctx, Greeting { name: name.into() }).await?;
            }
            // Let the consumer answer before the process ends.
            tokio::time::sleep(Duration::from_millis(200)).await;
            Ok(())
        })
        .await
}
