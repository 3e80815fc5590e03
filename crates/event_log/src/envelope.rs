//! The stored form of one event: field limits, the versioned binary encoding and the hash.
//!
//! # Encoding, version 1
//!
//! Integers are little-endian. Every variable-size field is length-prefixed; the decoder rejects
//! unknown versions, lengths above the limits, invalid UTF-8 and trailing bytes, so each envelope
//! has exactly one encoding.
//!
//! | Offset | Size  | Field                                                                  |
//! |--------|-------|------------------------------------------------------------------------|
//! | 0      | 1     | encoding version = `1`                                                 |
//! | 1      | 8     | `seq` (u64)                                                            |
//! | 9      | 8     | `time_ns` (u64)                                                        |
//! | 17     | 32    | `prev_hash` (`[0; 32]` for entry 0)                                    |
//! | 49     | 1     | `kind` length K (1 ..= [`MAX_KIND_BYTES`])                             |
//! | 50     | K     | `kind`, UTF-8                                                          |
//! | …      | 1     | `caller` length C (0 ..= [`MAX_CALLER_BYTES`])                         |
//! | …      | C     | `caller`, principal bytes                                              |
//! | …      | 1     | `correlation_id` length R (0 ..= [`MAX_CORRELATION_ID_BYTES`])         |
//! | …      | R     | `correlation_id`, UTF-8                                                |
//! | …      | 1     | idempotency key tag: `0` = none, `1` = present                         |
//! | …      | 1     | key length I (1 ..= [`MAX_IDEMPOTENCY_KEY_BYTES`]), only if tag = `1`  |
//! | …      | I     | key bytes, only if tag = `1`                                           |
//! | …      | 4     | `payload` length P (u32, ≤ [`MAX_PAYLOAD_BYTES`])                      |
//! | …      | P     | `payload`                                                              |
//! | end−32 | 32    | `hash` = SHA-256([`HASH_DOMAIN`] ‖ all preceding bytes)                |
//!
//! The hash covers every other field, `prev_hash` included, so a change to any stored byte of an
//! entry makes the recomputed hash differ from the stored one, and a replaced entry breaks the
//! link from its successor.

use crate::error::{AppendError, DecodeError};
use sha2::{Digest, Sha256};

/// First byte of every encoded envelope.
pub const ENCODING_VERSION: u8 = 1;
/// Domain-separation tag prefixed to the encoding before hashing.
pub const HASH_DOMAIN: &[u8] = b"chaos-event-v1";
/// `prev_hash` of entry 0, and the tip hash of an empty log.
pub const GENESIS_PREV_HASH: [u8; 32] = [0; 32];
/// Maximum length of [`NewEvent::kind`] in bytes (it must also be non-empty).
pub const MAX_KIND_BYTES: usize = 64;
/// Maximum length of [`NewEvent::caller`] in bytes (the size of the longest principal).
pub const MAX_CALLER_BYTES: usize = 29;
/// Maximum length of [`NewEvent::correlation_id`] in bytes.
pub const MAX_CORRELATION_ID_BYTES: usize = 64;
/// Maximum length of an idempotency key in bytes (a present key must also be non-empty).
pub const MAX_IDEMPOTENCY_KEY_BYTES: usize = 64;
/// Maximum payload size: 2 MiB, the ingress message limit.
pub const MAX_PAYLOAD_BYTES: usize = 2 * 1024 * 1024;

/// Offset of `time_ns` in the encoding (read alone by the time search).
const TIME_OFFSET: usize = 9;
const HASH_LEN: usize = 32;

/// An event as submitted by the caller; the log adds sequence number, time and hashes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewEvent {
    /// Event type name, 1 ..= [`MAX_KIND_BYTES`] bytes.
    pub kind: String,
    /// Opaque event body, at most [`MAX_PAYLOAD_BYTES`].
    pub payload: Vec<u8>,
    /// Principal bytes of the caller, at most [`MAX_CALLER_BYTES`].
    pub caller: Vec<u8>,
    /// Free-form id linking related events, at most [`MAX_CORRELATION_ID_BYTES`].
    pub correlation_id: String,
    /// Deduplication key, 1 ..= [`MAX_IDEMPOTENCY_KEY_BYTES`] bytes when present.
    pub idempotency_key: Option<Vec<u8>>,
}

impl NewEvent {
    /// Checks every field limit; the error names the field and its limit.
    pub fn validate(&self) -> Result<(), AppendError> {
        let too_long = |field: &str, len: usize, max: usize| {
            AppendError::InvalidEvent(format!(
                "{field} is {len} bytes; the maximum is {max}: shorten it"
            ))
        };
        if self.kind.is_empty() {
            return Err(AppendError::InvalidEvent(
                "kind is empty: give every event a kind".into(),
            ));
        }
        if self.kind.len() > MAX_KIND_BYTES {
            return Err(too_long("kind", self.kind.len(), MAX_KIND_BYTES));
        }
        if self.caller.len() > MAX_CALLER_BYTES {
            return Err(too_long("caller", self.caller.len(), MAX_CALLER_BYTES));
        }
        if self.correlation_id.len() > MAX_CORRELATION_ID_BYTES {
            let len = self.correlation_id.len();
            return Err(too_long("correlation_id", len, MAX_CORRELATION_ID_BYTES));
        }
        if let Some(key) = &self.idempotency_key {
            if key.is_empty() {
                return Err(AppendError::InvalidEvent(
                    "idempotency_key is present but empty: pass None or a non-empty key".into(),
                ));
            }
            if key.len() > MAX_IDEMPOTENCY_KEY_BYTES {
                let len = key.len();
                return Err(too_long("idempotency_key", len, MAX_IDEMPOTENCY_KEY_BYTES));
            }
        }
        if self.payload.len() > MAX_PAYLOAD_BYTES {
            return Err(too_long("payload", self.payload.len(), MAX_PAYLOAD_BYTES));
        }
        Ok(())
    }
}

/// One stored event, as read back from the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    /// Position in the log, dense from 0.
    pub seq: u64,
    /// Recorded time; never smaller than the previous entry's.
    pub time_ns: u64,
    pub kind: String,
    pub payload: Vec<u8>,
    pub caller: Vec<u8>,
    pub correlation_id: String,
    pub idempotency_key: Option<Vec<u8>>,
    /// `hash` of entry `seq - 1`, or [`GENESIS_PREV_HASH`] for entry 0.
    pub prev_hash: [u8; 32],
    /// SHA-256 over [`HASH_DOMAIN`] and the encoding of every other field.
    pub hash: [u8; 32],
}

impl Envelope {
    /// Builds the envelope for `ev` at `seq`, computing its hash; returns it with its encoding.
    ///
    /// # Panics
    /// If a field exceeds its limit: call [`NewEvent::validate`] first.
    pub(crate) fn seal(
        seq: u64,
        time_ns: u64,
        prev_hash: [u8; 32],
        ev: NewEvent,
    ) -> (Self, Vec<u8>) {
        let mut env = Envelope {
            seq,
            time_ns,
            kind: ev.kind,
            payload: ev.payload,
            caller: ev.caller,
            correlation_id: ev.correlation_id,
            idempotency_key: ev.idempotency_key,
            prev_hash,
            hash: [0; 32],
        };
        let mut bytes = env.encode_unhashed();
        env.hash = hash_unhashed(&bytes);
        bytes.extend_from_slice(&env.hash);
        (env, bytes)
    }

    /// The version-1 encoding, stored `hash` included (see the module table).
    ///
    /// # Panics
    /// If a field exceeds its limit; envelopes returned by the log never do.
    pub fn encode(&self) -> Vec<u8> {
        let mut bytes = self.encode_unhashed();
        bytes.extend_from_slice(&self.hash);
        bytes
    }

    /// The hash this envelope should carry, recomputed from its other fields.
    ///
    /// # Panics
    /// As [`Envelope::encode`].
    pub fn compute_hash(&self) -> [u8; 32] {
        hash_unhashed(&self.encode_unhashed())
    }

    /// Parses a version-1 encoding. Does not check the hash: use [`Envelope::compute_hash`] or
    /// `EventLog::verify` for that.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader { bytes, pos: 0 };
        let version = r.u8("version")?;
        if version != ENCODING_VERSION {
            return Err(DecodeError::new(format!(
                "encoding version {version} is not supported (this build reads version {ENCODING_VERSION})"
            )));
        }
        let seq = r.u64("seq")?;
        let time_ns = r.u64("time_ns")?;
        let prev_hash = r.hash("prev_hash")?;
        let kind = r.string("kind", MAX_KIND_BYTES)?;
        let caller = r.short_bytes("caller", MAX_CALLER_BYTES)?.to_vec();
        let correlation_id = r.string("correlation_id", MAX_CORRELATION_ID_BYTES)?;
        let idempotency_key = match r.u8("idempotency key tag")? {
            0 => None,
            1 => Some(
                r.short_bytes("idempotency_key", MAX_IDEMPOTENCY_KEY_BYTES)?
                    .to_vec(),
            ),
            tag => {
                return Err(DecodeError::new(format!(
                    "idempotency key tag {tag} is not 0 or 1"
                )))
            }
        };
        let payload_len = r.u32("payload length")? as usize;
        if payload_len > MAX_PAYLOAD_BYTES {
            return Err(DecodeError::new(format!(
                "payload length {payload_len} exceeds {MAX_PAYLOAD_BYTES}"
            )));
        }
        let payload = r.take(payload_len, "payload")?.to_vec();
        let hash = r.hash("hash")?;
        if r.pos != bytes.len() {
            return Err(DecodeError::new(format!(
                "{} trailing bytes after the hash",
                bytes.len() - r.pos
            )));
        }
        Ok(Envelope {
            seq,
            time_ns,
            kind,
            payload,
            caller,
            correlation_id,
            idempotency_key,
            prev_hash,
            hash,
        })
    }

    fn encode_unhashed(&self) -> Vec<u8> {
        let key_len = self.idempotency_key.as_ref().map_or(0, |k| 1 + k.len());
        let mut out = Vec::with_capacity(
            1 + 8
                + 8
                + 32
                + 3
                + self.kind.len()
                + self.caller.len()
                + self.correlation_id.len()
                + 1
                + key_len
                + 4
                + self.payload.len()
                + HASH_LEN,
        );
        out.push(ENCODING_VERSION);
        out.extend_from_slice(&self.seq.to_le_bytes());
        out.extend_from_slice(&self.time_ns.to_le_bytes());
        out.extend_from_slice(&self.prev_hash);
        push_short(&mut out, "kind", self.kind.as_bytes(), MAX_KIND_BYTES);
        push_short(&mut out, "caller", &self.caller, MAX_CALLER_BYTES);
        let corr = self.correlation_id.as_bytes();
        push_short(&mut out, "correlation_id", corr, MAX_CORRELATION_ID_BYTES);
        match &self.idempotency_key {
            None => out.push(0),
            Some(key) => {
                out.push(1);
                push_short(&mut out, "idempotency_key", key, MAX_IDEMPOTENCY_KEY_BYTES);
            }
        }
        assert!(
            self.payload.len() <= MAX_PAYLOAD_BYTES,
            "payload exceeds {MAX_PAYLOAD_BYTES} bytes"
        );
        out.extend_from_slice(&(self.payload.len() as u32).to_le_bytes());
        out.extend_from_slice(&self.payload);
        out
    }
}

/// SHA-256 of the domain tag followed by an encoding without its trailing hash.
pub(crate) fn hash_unhashed(unhashed: &[u8]) -> [u8; 32] {
    Sha256::new()
        .chain_update(HASH_DOMAIN)
        .chain_update(unhashed)
        .finalize()
        .into()
}

/// Splits a stored encoding into (bytes covered by the hash, stored hash), if long enough.
pub(crate) fn split_hash(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    bytes
        .len()
        .checked_sub(HASH_LEN)
        .map(|at| bytes.split_at(at))
}

/// Reads `time_ns` without decoding the rest; `None` if the header is not version 1.
pub(crate) fn peek_time_ns(bytes: &[u8]) -> Option<u64> {
    if bytes.first() != Some(&ENCODING_VERSION) {
        return None;
    }
    let raw = bytes.get(TIME_OFFSET..TIME_OFFSET + 8)?;
    Some(u64::from_le_bytes(raw.try_into().ok()?))
}

fn push_short(out: &mut Vec<u8>, field: &str, bytes: &[u8], max: usize) {
    assert!(bytes.len() <= max, "{field} exceeds {max} bytes");
    out.push(bytes.len() as u8);
    out.extend_from_slice(bytes);
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, field: &str) -> Result<&'a [u8], DecodeError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or_else(|| {
            DecodeError::new(format!(
                "truncated: {field} needs {n} bytes at offset {}",
                self.pos
            ))
        })?;
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn u8(&mut self, field: &str) -> Result<u8, DecodeError> {
        Ok(self.take(1, field)?[0])
    }

    fn u32(&mut self, field: &str) -> Result<u32, DecodeError> {
        let raw = self.take(4, field)?;
        Ok(u32::from_le_bytes(raw.try_into().expect("4 bytes")))
    }

    fn u64(&mut self, field: &str) -> Result<u64, DecodeError> {
        let raw = self.take(8, field)?;
        Ok(u64::from_le_bytes(raw.try_into().expect("8 bytes")))
    }

    fn hash(&mut self, field: &str) -> Result<[u8; 32], DecodeError> {
        Ok(self.take(HASH_LEN, field)?.try_into().expect("32 bytes"))
    }

    fn short_bytes(&mut self, field: &str, max: usize) -> Result<&'a [u8], DecodeError> {
        let len = self.u8(field)? as usize;
        if len > max {
            return Err(DecodeError::new(format!(
                "{field} length {len} exceeds {max}"
            )));
        }
        self.take(len, field)
    }

    fn string(&mut self, field: &str, max: usize) -> Result<String, DecodeError> {
        let raw = self.short_bytes(field, max)?;
        String::from_utf8(raw.to_vec())
            .map_err(|_| DecodeError::new(format!("{field} is not valid UTF-8")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Envelope {
        let ev = NewEvent {
            kind: "drill_started".into(),
            payload: vec![1, 2, 3],
            caller: vec![7; 29],
            correlation_id: "corr-1".into(),
            idempotency_key: Some(b"key".to_vec()),
        };
        Envelope::seal(5, 1_000, [9; 32], ev).0
    }

    #[test]
    fn encoding_round_trips_and_matches_the_table() {
        let env = sample();
        let bytes = env.encode();
        assert_eq!(bytes[0], ENCODING_VERSION);
        assert_eq!(&bytes[1..9], &5u64.to_le_bytes());
        assert_eq!(&bytes[9..17], &1_000u64.to_le_bytes());
        assert_eq!(&bytes[17..49], &[9; 32]);
        assert_eq!(bytes[49] as usize, "drill_started".len());
        assert_eq!(&bytes[bytes.len() - 32..], &env.hash);
        assert_eq!(peek_time_ns(&bytes), Some(1_000));
        assert_eq!(Envelope::decode(&bytes).unwrap(), env);
    }

    #[test]
    fn hash_is_domain_separated_sha256_of_the_prefix() {
        let env = sample();
        let bytes = env.encode();
        let mut plain = Sha256::new();
        plain.update(HASH_DOMAIN);
        plain.update(&bytes[..bytes.len() - 32]);
        let expected: [u8; 32] = plain.finalize().into();
        assert_eq!(env.hash, expected);
        assert_eq!(env.compute_hash(), expected);
    }

    #[test]
    fn every_field_changes_the_hash() {
        let base = sample();
        let variants: [fn(&mut Envelope); 8] = [
            |e| e.seq += 1,
            |e| e.time_ns += 1,
            |e| e.kind.push('x'),
            |e| e.payload.push(0),
            |e| e.caller.truncate(3),
            |e| e.correlation_id.clear(),
            |e| e.idempotency_key = None,
            |e| e.prev_hash[31] ^= 1,
        ];
        for (i, change) in variants.iter().enumerate() {
            let mut e = base.clone();
            change(&mut e);
            assert_ne!(e.compute_hash(), base.hash, "variant {i}");
        }
    }

    #[test]
    fn decode_rejects_malformed_input() {
        let good = sample().encode();
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (vec![], "truncated"),
            (
                {
                    let mut b = good.clone();
                    b[0] = 2;
                    b
                },
                "version 2",
            ),
            (good[..good.len() - 1].to_vec(), "truncated"),
            (
                {
                    let mut b = good.clone();
                    b.push(0);
                    b
                },
                "trailing",
            ),
            (
                {
                    let mut b = good.clone();
                    b[49] = 65;
                    b
                },
                "kind length 65",
            ),
            (
                {
                    let mut b = good.clone();
                    b[50] = 0xff;
                    b
                },
                "UTF-8",
            ),
        ];
        for (bytes, expected) in cases {
            let err = Envelope::decode(&bytes).unwrap_err().to_string();
            assert!(
                err.contains(expected),
                "{err:?} should mention {expected:?}"
            );
        }
        let mut no_key = sample();
        no_key.idempotency_key = None;
        let mut bad_tag = no_key.encode();
        let tag_at = 49 + 1 + no_key.kind.len() + 1 + 29 + 1 + no_key.correlation_id.len();
        assert_eq!(bad_tag[tag_at], 0);
        bad_tag[tag_at] = 2;
        let err = Envelope::decode(&bad_tag).unwrap_err().to_string();
        assert!(err.contains("tag 2"), "{err}");
    }

    #[test]
    fn peek_time_needs_a_version_1_header() {
        assert_eq!(peek_time_ns(&[]), None);
        assert_eq!(peek_time_ns(&[2; 40]), None);
        assert_eq!(peek_time_ns(&[1; 10]), None);
    }

    #[test]
    fn validation_names_the_offending_field() {
        let ok = NewEvent {
            kind: "k".into(),
            ..NewEvent::default()
        };
        assert_eq!(ok.validate(), Ok(()));
        let at_limits = NewEvent {
            kind: "k".repeat(MAX_KIND_BYTES),
            payload: vec![0; MAX_PAYLOAD_BYTES],
            caller: vec![0; MAX_CALLER_BYTES],
            correlation_id: "c".repeat(MAX_CORRELATION_ID_BYTES),
            idempotency_key: Some(vec![1; MAX_IDEMPOTENCY_KEY_BYTES]),
        };
        assert_eq!(at_limits.validate(), Ok(()));
        let cases: Vec<(NewEvent, &str)> = vec![
            (
                NewEvent {
                    kind: String::new(),
                    ..ok.clone()
                },
                "kind is empty",
            ),
            (
                NewEvent {
                    kind: "k".repeat(65),
                    ..ok.clone()
                },
                "kind is 65",
            ),
            (
                NewEvent {
                    caller: vec![0; 30],
                    ..ok.clone()
                },
                "caller is 30",
            ),
            (
                NewEvent {
                    correlation_id: "c".repeat(65),
                    ..ok.clone()
                },
                "correlation_id is 65",
            ),
            (
                NewEvent {
                    idempotency_key: Some(vec![]),
                    ..ok.clone()
                },
                "present but empty",
            ),
            (
                NewEvent {
                    idempotency_key: Some(vec![0; 65]),
                    ..ok.clone()
                },
                "idempotency_key is 65",
            ),
            (
                NewEvent {
                    payload: vec![0; MAX_PAYLOAD_BYTES + 1],
                    ..ok.clone()
                },
                "payload is",
            ),
        ];
        for (ev, expected) in cases {
            match ev.validate() {
                Err(AppendError::InvalidEvent(msg)) => {
                    assert!(
                        msg.contains(expected),
                        "{msg:?} should mention {expected:?}"
                    )
                }
                other => panic!("expected InvalidEvent for {expected:?}, got {other:?}"),
            }
        }
    }
}
