//! Candid boundary types of `candid/vault_consumer.did`.

use candid::{CandidType, Deserialize, Principal};
use serde_bytes::ByteBuf;

/// Nanoseconds since the Unix epoch (IC time).
pub type TimestampNs = u64;

/// The consumer's whole configuration. `configure` replaces it; the install argument sets it.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// The vault to read (demo_vault or anything with its `total_supply`, `balance_of` and
    /// `chaos_state_probe`). null: not configured, `refresh` answers `NotConfigured`.
    pub vault: Option<Principal>,
    /// Seconds between automatic refreshes (a timer); 0 = only on `refresh` calls. 0 or 5..=86_400.
    pub refresh_interval_s: u64,
    /// Health is `ok` only if the last successful refresh is at most this old. 1..=604_800.
    pub max_staleness_s: u64,
    /// An account whose `balance_of` is read too and cross-checked against the supply.
    pub watched_account: Option<Principal>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            vault: None,
            refresh_interval_s: 0,
            max_staleness_s: 300,
            watched_account: None,
        }
    }
}

/// Why a call failed. Errors never trap and change nothing but the health counters.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum ConsumerError {
    /// `refresh` is for controllers and the configured chaos_system; `configure` for controllers.
    NotAuthorized,
    /// No vault is configured: a controller calls `configure`.
    NotConfigured,
    /// The settings are unusable; the text says which field and why.
    InvalidSettings(String),
    /// A refresh is already running (a timer or another call); try again shortly.
    Busy,
    /// A call to the vault failed. `reject_code` null: the call was never sent (e.g. cycles).
    /// 2 SysTransient and 6 SysUnknown (timeout) are worth retrying.
    VaultCallFailed {
        method: String,
        reject_code: Option<u32>,
        message: String,
    },
    /// The vault answered something that is not the expected Candid type.
    UndecodableReply { method: String, message: String },
    /// The vault's answers contradict each other (a byzantine answer): not cached.
    InconsistentAnswer(String),
}

/// One accepted reading of the vault.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Observation {
    pub at_ns: TimestampNs,
    /// What `total_supply` answered.
    pub total_supply: u64,
    /// The vault's `chaos_state_probe` operation count at the reading.
    pub vault_operation_count: u64,
    /// The vault's `chaos_state_probe` state hash at the reading.
    pub vault_state_hash: ByteBuf,
    /// What `balance_of(watched_account)` answered, if an account is watched.
    pub watched_balance: Option<u64>,
    /// True when the answers were cross-checked against a probe of an unchanged vault; false
    /// when the vault changed during the reading (the check could not run).
    pub verified: bool,
}

/// The steady-state view of the consumer.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Health {
    /// Configured, the last refresh succeeded, and it is at most `max_staleness_s` old.
    pub ok: bool,
    pub vault: Option<Principal>,
    pub last_attempt_ns: Option<TimestampNs>,
    pub last_success_ns: Option<TimestampNs>,
    /// Failed refreshes since the last success (calls that failed or inconsistent answers).
    pub consecutive_failures: u64,
    pub failures: u64,
    /// Accepted observations.
    pub refreshes: u64,
    /// Inconsistent (byzantine) answers detected.
    pub byzantine_detections: u64,
    /// Observations accepted without a cross-check (the vault changed during the reading).
    pub unverified_reads: u64,
    pub last_error: Option<String>,
    pub last_observed_supply: Option<u64>,
    /// No success yet, or the last one is older than `max_staleness_s`.
    pub stale: bool,
}

/// `chaos_state_probe`: chaos_system probes the consumer like any target.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ConsumerProbe {
    /// Accepted observations so far.
    pub operation_count: u64,
    /// SHA-256 of the cached observation (32 zero bytes before the first).
    pub state_hash: ByteBuf,
    /// [`Health::ok`].
    pub healthy: bool,
    pub consecutive_failures: u64,
}

/// The part of the vault's `chaos_state_probe` answer the consumer reads.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct VaultProbe {
    pub operation_count: u64,
    pub state_hash: ByteBuf,
    pub total_supply: u64,
}
