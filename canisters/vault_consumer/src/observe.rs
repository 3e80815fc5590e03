//! The consumer's pure core: settings validation, the byzantine cross-check of one reading, and
//! the health record a refresh updates. No ic-cdk: time comes in as `now_ns`.
//!
//! The cross-check (a steady-state probe for byzantine faults). A reading is
//! `chaos_state_probe` (before) → `total_supply` → `balance_of(watched)` → `chaos_state_probe`
//! (after). If the vault's operation count did not move between the two probes, nothing changed
//! in between, so:
//! 1. `total_supply` must equal the probe's `total_supply` (the probe reads the same counter);
//! 2. the watched balance cannot exceed the supply;
//! 3. if the previous accepted reading saw the same operation count and state hash, every answer
//!    must equal that reading's (an unchanged vault answers the same).
//!
//! Any violation is an inconsistent answer: counted, reported, and not cached. If the count
//! moved, the reading is accepted unverified (the check cannot tell an honest change from a lie).

use crate::api::{ConsumerError, Health, Observation, Settings, TimestampNs, VaultProbe};
use candid::{CandidType, Deserialize, Principal};
use serde_bytes::ByteBuf;
use sha2::{Digest, Sha256};

const SECOND_NS: u64 = 1_000_000_000;
/// Bounds of [`Settings::refresh_interval_s`] when not 0.
pub const MIN_REFRESH_INTERVAL_S: u64 = 5;
pub const MAX_REFRESH_INTERVAL_S: u64 = 86_400;
/// Upper bound of [`Settings::max_staleness_s`]: a week.
pub const MAX_STALENESS_S: u64 = 604_800;
/// Longest error text kept (bytes); longer texts are cut at a character boundary.
pub const MAX_ERROR_LEN: usize = 512;

/// Checks settings before they replace the current ones.
pub fn validate_settings(s: &Settings, self_id: Principal) -> Result<(), ConsumerError> {
    let invalid = |m: &str| Err(ConsumerError::InvalidSettings(m.into()));
    if let Some(vault) = s.vault {
        if vault == Principal::anonymous() || vault == Principal::management_canister() {
            return invalid("vault must be a canister id");
        }
        if vault == self_id {
            return invalid("vault must not be the consumer itself");
        }
    }
    let interval = s.refresh_interval_s;
    if interval != 0 && !(MIN_REFRESH_INTERVAL_S..=MAX_REFRESH_INTERVAL_S).contains(&interval) {
        return invalid("refresh_interval_s must be 0 (no timer) or 5..=86400");
    }
    if !(1..=MAX_STALENESS_S).contains(&s.max_staleness_s) {
        return invalid("max_staleness_s must be 1..=604800");
    }
    Ok(())
}

/// The answers of one reading, in call order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reads {
    pub before: VaultProbe,
    pub total_supply: u64,
    pub watched_balance: Option<u64>,
    pub after: VaultProbe,
}

/// Applies the cross-check (module docs) to `reads`, given the last accepted observation.
pub fn assess(
    reads: &Reads,
    previous: Option<&Observation>,
    now_ns: TimestampNs,
) -> Result<Observation, ConsumerError> {
    let unchanged = reads.before.operation_count == reads.after.operation_count
        && reads.before.state_hash == reads.after.state_hash;
    let observation = Observation {
        at_ns: now_ns,
        total_supply: reads.total_supply,
        vault_operation_count: reads.after.operation_count,
        vault_state_hash: reads.after.state_hash.clone(),
        watched_balance: reads.watched_balance,
        verified: unchanged,
    };
    if !unchanged {
        return Ok(observation);
    }
    let op = reads.before.operation_count;
    let inconsistent = |m: String| Err(ConsumerError::InconsistentAnswer(m));
    if reads.total_supply != reads.before.total_supply {
        return inconsistent(format!(
            "total_supply answered {} but chaos_state_probe reports {} at operation {op}",
            reads.total_supply, reads.before.total_supply
        ));
    }
    if let Some(balance) = reads.watched_balance {
        if balance > reads.total_supply {
            return inconsistent(format!(
                "balance_of answered {balance}, above the total supply {} at operation {op}",
                reads.total_supply
            ));
        }
    }
    if let Some(prev) = previous
        .filter(|p| p.vault_operation_count == op && p.vault_state_hash == reads.before.state_hash)
    {
        if prev.total_supply != reads.total_supply {
            return inconsistent(format!(
                "vault unchanged at operation {op}, yet total_supply answered {} after {}",
                reads.total_supply, prev.total_supply
            ));
        }
        if prev.watched_balance.is_some() && prev.watched_balance != reads.watched_balance {
            return inconsistent(format!(
                "vault unchanged at operation {op}, yet balance_of answered {:?} after {:?}",
                reads.watched_balance, prev.watched_balance
            ));
        }
    }
    Ok(observation)
}

/// What the consumer remembers (stable memory, see `storage`).
#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct Record {
    pub refreshes: u64,
    pub failures: u64,
    pub consecutive_failures: u64,
    pub byzantine_detections: u64,
    pub unverified_reads: u64,
    pub last_attempt_ns: Option<TimestampNs>,
    pub last_success_ns: Option<TimestampNs>,
    pub last_error: Option<String>,
    pub last_observation: Option<Observation>,
}

impl Record {
    /// Folds the outcome of one refresh at `now_ns`.
    pub fn record(&mut self, now_ns: TimestampNs, outcome: &Result<Observation, ConsumerError>) {
        self.last_attempt_ns = Some(now_ns);
        match outcome {
            Ok(observation) => {
                self.refreshes += 1;
                self.consecutive_failures = 0;
                self.last_success_ns = Some(now_ns);
                self.last_error = None;
                if !observation.verified {
                    self.unverified_reads += 1;
                }
                self.last_observation = Some(observation.clone());
            }
            Err(e) => {
                self.failures += 1;
                self.consecutive_failures += 1;
                if matches!(e, ConsumerError::InconsistentAnswer(_)) {
                    self.byzantine_detections += 1;
                }
                self.last_error = Some(truncate(describe(e), MAX_ERROR_LEN));
            }
        }
    }

    /// The health at `now_ns` under `settings`.
    pub fn health(&self, settings: &Settings, now_ns: TimestampNs) -> Health {
        let max_age = settings.max_staleness_s.saturating_mul(SECOND_NS);
        let stale = self
            .last_success_ns
            .is_none_or(|t| now_ns.saturating_sub(t) > max_age);
        Health {
            ok: settings.vault.is_some() && self.consecutive_failures == 0 && !stale,
            vault: settings.vault,
            last_attempt_ns: self.last_attempt_ns,
            last_success_ns: self.last_success_ns,
            consecutive_failures: self.consecutive_failures,
            failures: self.failures,
            refreshes: self.refreshes,
            byzantine_detections: self.byzantine_detections,
            unverified_reads: self.unverified_reads,
            last_error: self.last_error.clone(),
            last_observed_supply: self.last_observation.as_ref().map(|o| o.total_supply),
            stale,
        }
    }

    /// SHA-256 of the cached observation (its answers and the vault state they describe; not
    /// the time), or 32 zero bytes before the first.
    pub fn state_hash(&self) -> ByteBuf {
        let Some(o) = &self.last_observation else {
            return ByteBuf::from(vec![0u8; 32]);
        };
        let mut h = Sha256::new();
        h.update(o.total_supply.to_le_bytes());
        h.update(o.vault_operation_count.to_le_bytes());
        h.update((o.vault_state_hash.len() as u64).to_le_bytes());
        h.update(&o.vault_state_hash);
        match o.watched_balance {
            Some(b) => {
                h.update([1]);
                h.update(b.to_le_bytes());
            }
            None => h.update([0]),
        }
        ByteBuf::from(h.finalize().to_vec())
    }
}

/// One line for `last_error`.
pub fn describe(e: &ConsumerError) -> String {
    match e {
        ConsumerError::NotAuthorized => "not authorized".into(),
        ConsumerError::NotConfigured => "no vault configured".into(),
        ConsumerError::InvalidSettings(m) => format!("invalid settings: {m}"),
        ConsumerError::Busy => "a refresh was already running".into(),
        ConsumerError::VaultCallFailed {
            method,
            reject_code,
            message,
        } => match reject_code {
            Some(code) => format!("{method} rejected with code {code}: {message}"),
            None => format!("{method} not sent: {message}"),
        },
        ConsumerError::UndecodableReply { method, message } => {
            format!("{method} answered an unexpected type: {message}")
        }
        ConsumerError::InconsistentAnswer(m) => format!("byzantine: {m}"),
    }
}

/// `s` cut to at most `max` bytes, at a character boundary.
pub fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

#[cfg(test)]
mod tests;
