//! The Avro codec: Confluent wire format through the process-wide registry client.

use std::marker::PhantomData;

use serde::{de::DeserializeOwned, Serialize};
use tidings_core::{BoxError, Codec};

use crate::convert::{json_to_avro, read_as};
use crate::registry::{self, RegistryClient};
use crate::schema::{cached, Contract};
use crate::wire;
use crate::AvroType;

/// Avro binary in the Confluent wire format, for the message type `M` whose `.avsc`
/// is its contract. `#[message(avro = "...")]` sets `type Codec = Avro<Self>`.
///
/// - Encoding writes with `M`'s schema and frames the body with that schema's id,
///   looked up (and registered, unless `TIDINGS_SCHEMA_REGISTRY_AUTO_REGISTER=false`)
///   under the subject `M`'s record full name (the record strategy: the codec does
///   not know the topic; ids are global, so a schema registered under its topic's
///   subject by `tidings registry register-all` has the same id).
/// - Decoding fetches the writer's schema by the id in the payload and reads with
///   `M`'s schema, so fields added with defaults, removed fields and promotions are
///   resolved as the Avro specification says.
///
/// Both cache what they fetch: one registry call per schema per process.
pub struct Avro<M>(PhantomData<fn() -> M>);

impl<M: AvroType + 'static> Codec for Avro<M> {
    const CONTENT_TYPE: &'static str = crate::CONTENT_TYPE;

    fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, BoxError> {
        let contract = cached(M::SCHEMA)?;
        Ok(encode_with(&*registry::global()?, &contract, M::FULLNAME, value)?)
    }

    fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, BoxError> {
        let contract = cached(M::SCHEMA)?;
        Ok(decode_with(&*registry::global()?, &contract, bytes)?)
    }
}

/// Why a message could not be encoded or decoded.
#[derive(Debug, thiserror::Error)]
pub enum AvroError {
    /// The value does not fit the schema.
    #[error("does not fit the Avro schema: {0}")]
    Convert(#[from] crate::convert::ConvertError),
    /// Serde failed (to or from the JSON form).
    #[error("{0}")]
    Serde(#[from] serde_json::Error),
    /// apache-avro failed to write or read the binary.
    #[error("avro: {0}")]
    Avro(#[from] Box<apache_avro::Error>),
    /// The payload is not in the Confluent wire format.
    #[error("{0}")]
    Wire(#[from] wire::WireError),
    /// The registry could not say the id or the schema.
    #[error("{0}")]
    Registry(#[from] registry::RegistryError),
}

impl From<apache_avro::Error> for AvroError {
    fn from(e: apache_avro::Error) -> Self {
        AvroError::Avro(Box::new(e))
    }
}

/// Encodes `value` with `contract` in the Confluent wire format; the schema id comes
/// from `client` under `subject`.
pub fn encode_with<T: Serialize>(client: &RegistryClient, contract: &Contract, subject: &str, value: &T) -> Result<Vec<u8>, AvroError> {
    let json = serde_json::to_value(value)?;
    let avro = json_to_avro(&json, &contract.schema, &contract.names)?;
    let body = apache_avro::to_avro_datum(&contract.schema, avro)?;
    let id = client.id_for(subject, contract)?;
    Ok(wire::frame(id, &body))
}

/// Decodes a Confluent-framed payload, reading the writer's data (schema fetched by
/// id from `client`) with `contract` as the reader's schema.
pub fn decode_with<T: DeserializeOwned>(client: &RegistryClient, contract: &Contract, bytes: &[u8]) -> Result<T, AvroError> {
    let (id, mut body) = wire::unframe(bytes)?;
    let writer = client.contract_by_id(id)?;
    let value = apache_avro::from_avro_datum(&writer.schema, &mut body, None)?;
    let json = read_as(&value, &writer, contract)?;
    Ok(serde_json::from_value(json)?)
}
