//! Scenario fixtures shared by the native simulator's tests and demo and by the PocketIC suite
//! (`/tests`), so both run the same scenario: given a demo_vault with
//! [`DEPOSITS_BEFORE_DRILL`], when a drill runs with [`OPS_DURING_HOLD`] operations made between
//! the restore point and the disaster (a hold of [`HOLD_NS`]), then the RPO is exactly
//! `OPS_DURING_HOLD` operations lost and the verdict is Passed with an RTO above zero.
//!
//! Only Candid DTOs and principals live here: nothing in this module depends on the
//! simulator's internals.

use candid::Principal;
use chaos_api::{Criticality, Scenario, TargetSpec};

/// Name under which the demo vault is registered.
pub const VAULT_NAME: &str = "demo_vault";
/// demo_vault's query method answering `record { operation_count : nat64; state_hash : blob }`.
pub const PROBE_METHOD: &str = "chaos_state_probe";
/// Recovery time objective of the vault: 10 minutes.
pub const RTO_OBJECTIVE_NS: u64 = 10 * 60 * 1_000_000_000;
/// At most this many operations may be lost by a restore.
pub const RPO_MAX_OPERATIONS_LOST: u64 = 10;
/// The restore point may be at most one hour old when the disaster strikes.
pub const RPO_MAX_AGE_NS: u64 = 3_600 * 1_000_000_000;

/// Deposits made before the drill: `(user number, amount)`; see [`user`].
pub const DEPOSITS_BEFORE_DRILL: &[(u8, u64)] = &[(1, 500), (2, 250), (3, 1_000), (1, 75)];
/// Operations made on the target during the hold, after the restore point: what the restore
/// loses, hence the drill's expected `operations_lost`.
pub const OPS_DURING_HOLD: u32 = 3;
/// Time between the restore point and the disaster (30 s).
pub const HOLD_NS: u64 = 30 * 1_000_000_000;

/// The registry entry of a demo vault: criticality High, not protected, RTO 10 minutes, RPO at
/// most 10 operations and 1 hour, probed with `chaos_state_probe`, both scenarios allowed.
pub fn vault_target_spec(canister_id: Principal) -> TargetSpec {
    TargetSpec {
        canister_id,
        name: VAULT_NAME.to_string(),
        criticality: Criticality::High,
        protected: false,
        rto_objective_ns: RTO_OBJECTIVE_NS,
        rpo_max_operations_lost: RPO_MAX_OPERATIONS_LOST,
        rpo_max_age_ns: RPO_MAX_AGE_NS,
        probe_method: PROBE_METHOD.to_string(),
        allowed_scenarios: vec![Scenario::CanisterLoss, Scenario::BadUpgrade],
    }
}

/// The depositor numbered `n` (a self-authenticating principal, distinct for every `n` and
/// from the suite's admin and operator).
pub fn user(n: u8) -> Principal {
    Principal::self_authenticating([0x75, 0x73, 0x65, 0x72, n])
}

/// Deposit `i` of the operations made during the hold: depositor and amount.
pub fn hold_operation(i: u32) -> (u8, u64) {
    (100u8.wrapping_add(i as u8), 10 + i as u64)
}
