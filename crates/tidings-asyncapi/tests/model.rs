//! The model reads documents written by others (not only by the emitter) and writes
//! them back unchanged.

use tidings_asyncapi::model::{Document, RefOr};

const FOREIGN: &str = r##"asyncapi: 3.0.0
id: urn:example:shop
info:
  title: Shop
  version: 1.0.0
  contact: {name: Team, email: team@example.com}
  license: {name: Apache 2.0, url: 'https://www.apache.org/licenses/LICENSE-2.0'}
  tags: [{name: orders}, {$ref: '#/components/tags/shop'}]
  x-owner: team-shop
defaultContentType: application/json
servers:
  prod:
    host: '{env}.kafka.example.com:9092'
    protocol: kafka-secure
    variables:
      env: {enum: [eu, us], default: eu}
    security: [{$ref: '#/components/securitySchemes/sasl'}]
    bindings: {kafka: {bindingVersion: 0.5.0}}
  shared: {$ref: '#/components/servers/shared'}
channels:
  orders:
    address: null
    messages:
      created: {$ref: '#/components/messages/created'}
      inline:
        payload: {schemaFormat: 'application/vnd.apache.avro;version=1.9.0', schema: {type: string}}
        correlationId: {location: '$message.header#/cid'}
        examples: [{name: one, payload: {id: 1}, headers: {cid: abc}}]
operations:
  ask:
    action: send
    channel: {$ref: '#/channels/orders'}
    traits: [{$ref: '#/components/operationTraits/t'}]
    reply:
      address: {location: '$message.header#/replyTo'}
      channel: {$ref: '#/channels/orders'}
  referenced: {$ref: '#/components/operations/ask'}
components:
  messages:
    created: {payload: {type: object}, x-eventcatalog-message-type: event}
  servers:
    shared: {host: shared:9092, protocol: kafka}
  securitySchemes:
    sasl: {type: plain}
  tags:
    shop: {name: shop}
  operationTraits:
    t: {summary: traited}
"##;

#[test]
fn reads_and_rewrites_a_foreign_document() {
    let doc = Document::from_yaml(FOREIGN).expect("a valid 3.0 document reads");
    assert_eq!(doc.id.as_deref(), Some("urn:example:shop"));
    assert_eq!(doc.info.extensions["x-owner"], "team-shop");
    assert!(matches!(doc.info.tags[1], RefOr::Ref(_)));
    let prod = doc.servers["prod"].as_item().expect("inline server");
    assert_eq!(prod.variables["env"].as_item().map(|v| v.allowed.len()), Some(2));
    assert!(doc.servers["shared"].as_reference().is_some());
    let orders = doc.channels["orders"].as_item().expect("inline channel");
    assert_eq!(orders.address, None, "`address: null` means unknown");
    assert!(orders.messages["created"].as_reference().is_some());
    let inline = orders.messages["inline"].as_item().expect("inline message");
    assert_eq!(inline.examples[0].name.as_deref(), Some("one"));
    let ask = doc.operations["ask"].as_item().expect("inline operation");
    let reply = ask.reply.as_ref().and_then(RefOr::as_item).expect("inline reply");
    assert_eq!(
        reply.address.as_ref().and_then(RefOr::as_item).map(|a| a.location.as_str()),
        Some("$message.header#/replyTo")
    );
    assert!(doc.operations["referenced"].as_reference().is_some());
    let components = doc.components.as_ref().expect("components");
    assert_eq!(components.messages["created"].as_item().map(|m| m.extensions.len()), Some(1));

    // Writing and reading again changes nothing, in either format.
    let yaml = doc.to_yaml();
    assert_eq!(Document::from_yaml(&yaml).expect("reads back"), doc);
    assert_eq!(Document::from_json(&doc.to_json()).expect("reads back"), doc);
    assert_eq!(Document::from_yaml(&yaml).expect("reads back").to_yaml(), yaml);
}
