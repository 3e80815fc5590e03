//! Scenario fixtures shared by the native simulator's tests and demo and by the PocketIC suite
//! (`/tests`), so both run the same scenario: given a demo_vault with
//! [`DEPOSITS_BEFORE_DRILL`], when a drill runs with [`OPS_DURING_HOLD`] operations made between
//! the restore point and the disaster (a hold of [`HOLD_NS`]), then the RPO is exactly
//! `OPS_DURING_HOLD` operations lost and the verdict is Passed with an RTO above zero.
//!
//! The hardening scenario: given a demo_vault deployed with [`weak_vault_settings`] and
//! controlled by its developer and chaos_system only, when it is scanned under
//! `chaos_manager::hardening::fixtures::policy_approving_release`, then exactly
//! [`WEAK_VAULT_FAILING_CONTROLS`] fail, of which [`WEAK_VAULT_AUTO_FIXABLE`] have an automatic
//! remediation (the others: a backup controller, and a passing DR drill).
//!
//! Only Candid DTOs, principals and core value types live here: nothing in this module depends
//! on the simulator's internals.

use candid::Principal;
use chaos_api::{Criticality, Scenario, TargetSpec};
use chaos_manager::hardening::{SettingsChange, Visibility};

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
        fault_profile: None,
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

/// The weak settings of the hardening scenario, as one `update_settings`: the IC's default
/// freezing threshold (30 days, below the 90 the policy asks) and `wasm_memory_threshold` (0:
/// the low-memory hook never runs), and public logs.
pub fn weak_vault_settings() -> SettingsChange {
    SettingsChange {
        freezing_threshold_secs: Some(30 * 86_400),
        wasm_memory_threshold_bytes: Some(0),
        log_visibility: Some(Visibility::Public),
        ..SettingsChange::default()
    }
}

/// What a scan of the weak vault fails, in catalog order: a backup controller (02), the
/// freezing threshold (06), the low-memory threshold (11), public logs (15), a recent snapshot
/// (20) and a recent passing drill (21).
pub const WEAK_VAULT_FAILING_CONTROLS: [&str; 6] = [
    "IC-CTRL-02",
    "IC-CTRL-06",
    "IC-CTRL-11",
    "IC-CTRL-15",
    "IC-CTRL-20",
    "IC-CTRL-21",
];

/// The failing controls `perform_hardening` fixes: settings (06, 11, 15) and a snapshot (20).
pub const WEAK_VAULT_AUTO_FIXABLE: [&str; 4] =
    ["IC-CTRL-06", "IC-CTRL-11", "IC-CTRL-15", "IC-CTRL-20"];

/// An offline backup controller the developer adds by hand (the manual remediation of
/// IC-CTRL-02).
pub fn backup_controller() -> Principal {
    Principal::self_authenticating(b"fleet_sim backup controller")
}
