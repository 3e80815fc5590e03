//! demo_vault's part in cooperative faults (crates/chaos_hooks): which methods are guarded, how
//! a byzantine answer looks, and what data corruption does. The rules here are pure; `lib.rs`
//! wires them to the hooks.
//!
//! - Guarded: every public method except the four `chaos_hooks_*` control methods, including
//!   `chaos_state_probe` and `check_invariants`: a probe must observe what users observe. A
//!   drill's probe is therefore affected only while a plan targets it (no plan: one flag check).
//! - Byzantine: `balance_of` and `total_supply` answers can be off by 1..=1000 units.
//! - Corruption: `Vault::corrupt_balances(intensity)` adds a unit to `intensity` balances without
//!   updating the total supply or the fingerprint; `check_invariants` reports it.

use crate::vault::Vault;
use chaos_hooks::{Corruption, HookCaps};
use ic_stable_structures::Memory;

/// Methods that call the hooks' guard; plans may name only these.
pub const GUARDED_METHODS: &[&str] = &[
    "deposit",
    "withdraw",
    "transfer",
    "balance_of",
    "total_supply",
    "chaos_state_probe",
    "check_invariants",
    "ping",
];

/// Methods whose answers a `Perturb` fault can alter.
pub const PERTURBABLE_METHODS: &[&str] = &["balance_of", "total_supply"];

/// Most balances one corruption changes (bounded work in the `set_plan` message).
pub const MAX_CORRUPTED_ACCOUNTS: u32 = 100;

/// The vault's caps: the library defaults (50 delay rounds, 10B instructions per update,
/// 512 MiB of ballast, 24 h plans).
pub fn caps() -> HookCaps {
    HookCaps::default()
}

/// A wrong amount: `value` moved by 1..=1000 units (down when it can, else up), never equal
/// to `value`.
pub fn perturb_amount(value: u64, draw: u64) -> u64 {
    let delta = 1 + draw % 1_000;
    match (draw >> 32) & 1 == 0 {
        true if value >= delta => value - delta,
        _ => value.checked_add(delta).unwrap_or_else(|| value - delta),
    }
}

/// Corrupts up to `min(intensity, MAX_CORRUPTED_ACCOUNTS)` balances and describes it.
pub fn corrupt<M: Memory>(vault: &mut Vault<M>, intensity: u32) -> Corruption {
    let changes = vault.corrupt_balances(intensity.clamp(1, MAX_CORRUPTED_ACCOUNTS));
    let shown: Vec<String> = changes
        .iter()
        .take(3)
        .map(|(account, old, new)| format!("{account}: {old} -> {new}"))
        .collect();
    let more = changes.len().saturating_sub(shown.len());
    let mut detail = format!(
        "balances changed without updating total supply or fingerprint: {}",
        shown.join(", ")
    );
    if more > 0 {
        detail.push_str(&format!(" and {more} more"));
    }
    Corruption {
        items_changed: changes.len() as u64,
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::{InvariantViolation, PHANTOM_ACCOUNT};
    use candid::Principal;

    fn user(n: u8) -> Principal {
        Principal::self_authenticating([n; 32])
    }

    #[test]
    fn perturbed_amounts_always_differ_and_stay_close() {
        for value in [0, 1, 999, 1_000, 5_000, u64::MAX - 1, u64::MAX] {
            for draw in [0, 1, 999, 1 << 32, u64::MAX, 0xDEAD_BEEF_0000_0007] {
                let wrong = perturb_amount(value, draw);
                assert_ne!(wrong, value, "value {value} draw {draw}");
                assert!(wrong.abs_diff(value) <= 1_000);
            }
        }
    }

    #[test]
    fn corruption_is_caught_by_the_invariant_check() {
        let mut v = Vault::new_in_heap();
        for n in 1..=5 {
            v.deposit(user(n), 100, None, 0).unwrap();
        }
        let probe_before = v.probe();
        let report = corrupt(&mut v, 2);
        assert_eq!(report.items_changed, 2);
        assert!(report.detail.contains("100 -> 101"), "{}", report.detail);
        assert!(matches!(
            v.check_invariants(),
            Err(InvariantViolation::SupplyMismatch {
                sum_of_balances: 502,
                total_supply: 500
            })
        ));
        // The O(1) probe does not see it: only the invariant check does.
        assert_eq!(v.probe(), probe_before);
    }

    #[test]
    fn corrupting_an_empty_vault_invents_an_account() {
        let mut v = Vault::new_in_heap();
        let report = corrupt(&mut v, 1_000);
        assert_eq!(report.items_changed, 1);
        assert_eq!(v.balance_of(&PHANTOM_ACCOUNT), 1);
        assert!(v.check_invariants().is_err());
    }

    #[test]
    fn corruption_is_bounded() {
        let mut v = Vault::new_in_heap();
        for n in 1..=150u8 {
            v.deposit(user(n), 1, None, 0).unwrap();
        }
        let report = corrupt(&mut v, u32::MAX);
        assert_eq!(report.items_changed, u64::from(MAX_CORRUPTED_ACCOUNTS));
        assert!(report.detail.contains("and 97 more"), "{}", report.detail);
    }

    #[test]
    fn corrupting_a_full_balance_does_not_overflow() {
        let mut v = Vault::new_in_heap();
        v.deposit(user(1), u64::MAX, None, 0).unwrap();
        corrupt(&mut v, 1);
        assert_eq!(v.balance_of(&user(1)), u64::MAX - 1);
        assert!(v.check_invariants().is_err());
    }
}
