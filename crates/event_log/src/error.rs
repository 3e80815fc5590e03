//! Error types of the event log, one per boundary; each message says what to do next.

use std::fmt;

/// Why [`crate::EventLog::append`] or [`crate::EventLog::append_batch`] appended nothing (or, for
/// a storage failure inside a batch, not everything).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AppendError {
    /// A field is empty where it must not be or exceeds its limit, or the batch is too large.
    /// Nothing was appended.
    InvalidEvent(String),
    /// Stable memory could not grow. The message says which events, if any, were appended.
    Storage(String),
}

/// Why [`crate::EventLog::init`] refused the memories. Nothing was overwritten.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OpenError {
    /// The memories hold something other than an event log of a layout this build reads.
    Incompatible(String),
}

/// The first inconsistency [`crate::EventLog::verify`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VerifyError {
    /// The entry's recomputed hash differs from its stored hash: its bytes were altered.
    HashMismatch { seq: u64 },
    /// The entry's `prev_hash` is not the stored hash of entry `seq - 1` (or zero for entry 0).
    ChainBroken { seq: u64 },
    /// The stored bytes are not a valid envelope encoding.
    Undecodable { seq: u64, reason: String },
    /// A well-formed entry records a sequence number other than its position.
    SequenceMismatch { seq: u64 },
}

/// Why bytes are not a valid envelope encoding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    pub reason: String,
}

impl DecodeError {
    pub(crate) fn new(reason: String) -> Self {
        DecodeError { reason }
    }
}

const RESTORE: &str = "stop appending, restore stable memory from the last good snapshot, \
                       and run verify again";

impl fmt::Display for AppendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AppendError::InvalidEvent(msg) => {
                write!(f, "invalid event, nothing was appended: {msg}")
            }
            AppendError::Storage(msg) => write!(f, "stable memory is full: {msg}"),
        }
    }
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpenError::Incompatible(msg) => write!(
                f,
                "incompatible event log memories, nothing was overwritten: {msg}; check that \
                 LogMemories passes the same MemoryIds as the release that wrote them, or \
                 install a release that reads this layout"
            ),
        }
    }
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VerifyError::HashMismatch { seq } => write!(
                f,
                "entry {seq} does not match its stored hash (its bytes were altered); {RESTORE}"
            ),
            VerifyError::ChainBroken { seq } => write!(
                f,
                "entry {seq} does not link to the hash of the entry before it (an entry was \
                 replaced, removed or reordered); {RESTORE}"
            ),
            VerifyError::Undecodable { seq, reason } => write!(
                f,
                "entry {seq} cannot be decoded ({reason}); if a newer release wrote it, install \
                 that release, otherwise {RESTORE}"
            ),
            VerifyError::SequenceMismatch { seq } => write!(
                f,
                "the entry at position {seq} records another sequence number (entries were \
                 copied or reordered); {RESTORE}"
            ),
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid envelope encoding: {}", self.reason)
    }
}

impl std::error::Error for AppendError {}
impl std::error::Error for OpenError {}
impl std::error::Error for VerifyError {}
impl std::error::Error for DecodeError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_entry_and_the_next_step() {
        let cases = [
            (VerifyError::HashMismatch { seq: 7 }.to_string(), "entry 7"),
            (VerifyError::ChainBroken { seq: 8 }.to_string(), "entry 8"),
            (
                VerifyError::SequenceMismatch { seq: 9 }.to_string(),
                "position 9",
            ),
        ];
        for (msg, entry) in cases {
            assert!(msg.contains(entry) && msg.contains("restore"), "{msg}");
        }
        let undecodable = VerifyError::Undecodable {
            seq: 3,
            reason: "truncated".into(),
        };
        assert!(undecodable.to_string().contains("truncated"));
        let open = OpenError::Incompatible("log_data holds foreign bytes".into()).to_string();
        assert!(
            open.contains("foreign bytes") && open.contains("MemoryIds"),
            "{open}"
        );
        let invalid = AppendError::InvalidEvent("kind is empty".into()).to_string();
        assert!(invalid.contains("nothing was appended"), "{invalid}");
    }
}
