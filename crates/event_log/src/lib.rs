//! Append-only, SHA-256 hash-chained event store in IC stable memory, with an idempotency-key
//! window.
//!
//! The library performs no I/O of its own and reads no clock: time is always passed in as
//! `now_ns`, so the same code runs in a canister and in native tests and simulations. It depends
//! only on `ic-stable-structures` for memory and builds for `wasm32-unknown-unknown` and natively.
//!
//! # Guarantees
//! * Sequence numbers start at 0 and are dense; entries are never changed or removed.
//! * Recorded times never go backwards: an append records `max(now_ns, last recorded time)`.
//! * Entry `n` stores the hash of entry `n - 1` (zeros for entry 0) and its own hash over every
//!   other field (see [`envelope`] for the encoding table), so [`EventLog::verify`] detects any
//!   changed byte of stored entry data.
//! * An event whose idempotency key was appended less than `dedup_window_ns` ago is not appended
//!   again; the original sequence number is returned instead.
//! * Work per call is bounded: pruning of expired keys is capped per append, and scans
//!   ([`EventLog::read`], [`EventLog::verify`]) are bounded by the caller's range.
//! * [`EventLog::init`] over the memories of an earlier instance (for example after an upgrade)
//!   reopens the same log; it refuses, rather than overwrites, memories it does not recognise.
//!
//! # Memory layout
//!
//! [`LogMemories`] names four memories, typically four `MemoryId`s of one `MemoryManager`. Each
//! must be used by nothing else, and they must be passed in the same roles on every upgrade.
//!
//! ```text
//! log_index     StableLog index: "GLI" v1 header, entry count, end offset of every entry
//! log_data      StableLog data:  "GLD" v1 header, then the envelope encodings back to back
//! dedup_keys    StableBTreeMap  SHA-256(idempotency key) -> (seq u64, time_ns u64)
//! dedup_expiry  StableBTreeMap  (time_ns u64 BE, SHA-256(key)) -> ()   oldest first
//! ```
//!
//! The log is the source of truth. The two maps only hold keys appended within the window (plus
//! expired keys not yet pruned). Nothing is kept on the heap except the tip hash and last time,
//! which `init` reads back from the last entry, so no `pre_upgrade` hook is needed.
//!
//! # Atomicity
//! An append writes the entry (data, then index), then the key maps. A failed log write leaves
//! the log unchanged and returns [`AppendError::Storage`]. A map that cannot grow panics (the
//! stable structures offer no fallible insert); on the IC that traps and rolls the message back.

mod chain;
mod dedup;
pub mod envelope;
mod error;
mod layout;
mod store;

pub use envelope::{
    Envelope, NewEvent, GENESIS_PREV_HASH, MAX_CALLER_BYTES, MAX_CORRELATION_ID_BYTES,
    MAX_IDEMPOTENCY_KEY_BYTES, MAX_KIND_BYTES, MAX_PAYLOAD_BYTES,
};
pub use error::{AppendError, DecodeError, OpenError, VerifyError};
pub use store::EventLog;

/// One day in nanoseconds: the default idempotency window, as ICRC-1 ledgers use.
pub const DEFAULT_DEDUP_WINDOW_NS: u64 = 24 * 60 * 60 * 1_000_000_000;
/// Default cap on expired keys pruned by one append.
pub const DEFAULT_MAX_PRUNE_PER_APPEND: u32 = 16;
/// Most events accepted by one [`EventLog::append_batch`] call.
pub const MAX_BATCH_EVENTS: usize = 1_000;

/// The four stable memories the log lives in; see the crate docs for what each holds.
#[derive(Clone, Debug)]
pub struct LogMemories<M> {
    pub log_index: M,
    pub log_data: M,
    pub dedup_keys: M,
    pub dedup_expiry: M,
}

/// Tunables; not stored, so pass the same values (or deliberate new ones) on every `init`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogConfig {
    /// How long an idempotency key suppresses re-appends. `0` disables deduplication.
    pub dedup_window_ns: u64,
    /// Expired keys pruned per appended keyed event (at least once per append call). `0` leaves
    /// pruning entirely to [`EventLog::prune_dedup`].
    pub max_prune_per_append: u32,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            dedup_window_ns: DEFAULT_DEDUP_WINDOW_NS,
            max_prune_per_append: DEFAULT_MAX_PRUNE_PER_APPEND,
        }
    }
}

/// Result of appending one event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppendOutcome {
    /// The event is stored at `seq` with recorded time `time_ns`.
    Appended { seq: u64, time_ns: u64 },
    /// The idempotency key was appended within the window, at `seq`; nothing was stored.
    Duplicate { seq: u64 },
}

impl AppendOutcome {
    /// The sequence number of the stored event, whether new or original.
    pub fn seq(&self) -> u64 {
        match *self {
            AppendOutcome::Appended { seq, .. } | AppendOutcome::Duplicate { seq } => seq,
        }
    }
}

/// What [`EventLog::verify`] checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyReport {
    /// First entry checked (after clamping to the log length).
    pub from: u64,
    /// One past the last entry checked (after clamping).
    pub to: u64,
    /// Number of entries checked: `to - from`.
    pub checked: u64,
    /// Stored hash of entry `to - 1`: the tip hash when `to` is the log length. For an empty
    /// range, the hash the next entry would link to.
    pub tip_hash: [u8; 32],
}
