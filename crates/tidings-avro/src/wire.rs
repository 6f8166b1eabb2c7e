//! The Confluent wire format: magic byte `0`, the writer schema's registry id as a
//! 4-byte big-endian integer, then the Avro binary body.

/// The first byte of every framed payload.
pub const MAGIC: u8 = 0;

/// Length of the header before the Avro body.
pub const HEADER_LEN: usize = 5;

/// A payload that is not in the Confluent wire format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// Fewer than 5 bytes.
    #[error("payload of {0} bytes is shorter than the 5-byte Confluent header")]
    TooShort(usize),
    /// The first byte is not 0 (JSON starts with `{`, 0x7b).
    #[error("payload starts with byte {0:#04x}, not the Confluent magic byte 0 (is it Avro from a schema registry?)")]
    BadMagic(u8),
}

/// Frames an Avro body with its writer schema id.
pub fn frame(schema_id: u32, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + body.len());
    out.push(MAGIC);
    out.extend_from_slice(&schema_id.to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// Splits a framed payload into the writer schema id and the Avro body.
pub fn unframe(payload: &[u8]) -> Result<(u32, &[u8]), WireError> {
    if payload.len() < HEADER_LEN {
        return Err(WireError::TooShort(payload.len()));
    }
    if payload[0] != MAGIC {
        return Err(WireError::BadMagic(payload[0]));
    }
    let id = u32::from_be_bytes([payload[1], payload[2], payload[3], payload[4]]);
    Ok((id, &payload[HEADER_LEN..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_and_unframes_with_a_big_endian_id() {
        let framed = frame(0x0102_0304, b"body");
        assert_eq!(framed, [0, 1, 2, 3, 4, b'b', b'o', b'd', b'y']);
        assert_eq!(unframe(&framed), Ok((0x0102_0304, &b"body"[..])));
    }

    #[test]
    fn rejects_short_and_foreign_payloads() {
        assert_eq!(unframe(&[0, 0, 0]), Err(WireError::TooShort(3)));
        assert_eq!(unframe(br#"{"a":1}"#), Err(WireError::BadMagic(b'{')));
        assert_eq!(unframe(&[0, 0, 0, 0, 7]), Ok((7, &[][..])), "an empty body is a valid frame");
    }
}
