//! `tidings catalog ...` is the catalog crate's command line, mounted as a subcommand.

mod common;

use common::{tidings, workspace};

#[test]
fn catalog_is_mounted() {
    let golden = workspace().join("tests/golden");
    let out = tidings(&["catalog".to_owned(), "who-consumes".into(), "OrderCreated".into(), golden.display().to_string()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("order-fulfilment") && text.contains("orders.created"), "{text}");
}
