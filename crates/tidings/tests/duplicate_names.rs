//! Two Rust types claiming one message name: the document cannot be built and the
//! app does not start; the error names both types.

use tidings::prelude::*;

mod billing {
    use super::*;
    /// One claim on the name.
    #[derive(Serialize, Deserialize, JsonSchema, Message)]
    #[message(name = "InvoiceIssued")]
    pub struct Invoice {
        pub id: String,
    }

    #[tidings::producer(channel = "billing.invoices")]
    pub static INVOICES: Producer<Invoice>;
}

mod legacy {
    use super::*;
    /// Another claim on the same name, with another schema.
    #[derive(Serialize, Deserialize, JsonSchema, Message)]
    #[message(name = "InvoiceIssued")]
    pub struct Invoice {
        pub number: u64,
    }

    #[tidings::producer(channel = "legacy.invoices")]
    pub static INVOICES: Producer<Invoice>;
}

fn app() -> App {
    tidings::app!().ignore_env().args(Default::default())
}

#[test]
fn the_document_names_both_types() {
    let err = app().asyncapi().expect_err("two types claim InvoiceIssued").to_string();
    assert!(err.contains("InvoiceIssued"), "{err}");
    assert!(err.contains("duplicate_names::billing::Invoice"), "{err}");
    assert!(err.contains("duplicate_names::legacy::Invoice"), "{err}");
}

#[tokio::test]
async fn the_app_does_not_start() {
    let err = app().start_without_cli().await.err().expect("must not start").to_string();
    assert!(err.contains("duplicate_names::billing::Invoice") && err.contains("duplicate_names::legacy::Invoice"), "{err}");
}
