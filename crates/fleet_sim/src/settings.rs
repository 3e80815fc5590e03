//! A simulated canister's settings and resource figures: what `update_settings` changes and
//! what `canister_status` reports, with the IC's defaults and the IC's refusals.
//!
//! Defaults (IC interface spec and the replica): freezing threshold 30 days, no memory or
//! compute allocation, reserved cycles limit 5T, `wasm_memory_limit` 3 GiB,
//! `wasm_memory_threshold` 0, logs, snapshots and status visible to controllers only.
//!
//! Refusals of `update_settings` modelled here (each a `CanisterError` reject, as the replica's
//! 5xx codes are): a `wasm_memory_limit` above 2^48 - 1 bytes; a non-zero `wasm_memory_limit`
//! below the heap in use (the rule `chaos_manager::hardening::plan` assumes; the replica's
//! `validate_canister_settings` read for this model does not compare the limit with usage, so
//! this is the conservative side, to confirm against PocketIC); a
//! `reserved_cycles_limit` below the cycles already reserved (IC 540
//! `ReservedCyclesLimitIsTooLow`). A refused change changes nothing.
//!
//! Figures the simulator does not execute Wasm for are stand-ins, documented where defined:
//! the heap of a running vault, the cycles balance and the idle burn rate.

use chaos_manager::effect::{CallFailure, RejectCode};
use chaos_manager::hardening::{Cycles, SettingsChange, Visibility};

const GIB: u64 = 1 << 30;

/// 30 days, the IC's default freezing threshold.
pub const DEFAULT_FREEZING_THRESHOLD_SECS: u64 = 30 * 86_400;
/// The IC's default `reserved_cycles_limit`.
pub const DEFAULT_RESERVED_CYCLES_LIMIT: Cycles = Cycles(5_000_000_000_000);
/// The IC's default `wasm_memory_limit`.
pub const DEFAULT_WASM_MEMORY_LIMIT: u64 = 3 * GIB;
/// The largest `wasm_memory_limit` the IC accepts.
pub const MAX_WASM_MEMORY_LIMIT: u64 = (1 << 48) - 1;
/// The most controllers a canister may have.
pub const MAX_CONTROLLERS: usize = 10;

/// Stand-in for the heap of a running demo_vault (the simulator runs the vault natively).
pub const VAULT_HEAP_BYTES: u64 = 2 << 20;
/// Stand-in for a new canister's balance (10T cycles).
pub const DEFAULT_CYCLES: Cycles = Cycles(10_000_000_000_000);
/// Storage fee per GiB per second on a 13-node subnet (the idle burn of a best-effort
/// canister is its memory times this).
pub const STORAGE_CYCLES_PER_GIB_SECOND: u128 = 127_000;

/// What a controller sets with `update_settings` (controllers apart).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    pub freezing_threshold_secs: u64,
    pub memory_allocation_bytes: u64,
    pub compute_allocation_pct: u64,
    pub reserved_cycles_limit: Cycles,
    /// 0: no limit enforced.
    pub wasm_memory_limit_bytes: u64,
    /// 0: the low-memory hook never runs.
    pub wasm_memory_threshold_bytes: u64,
    pub log_visibility: Visibility,
    pub snapshot_visibility: Visibility,
    pub status_visibility: Visibility,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            freezing_threshold_secs: DEFAULT_FREEZING_THRESHOLD_SECS,
            memory_allocation_bytes: 0,
            compute_allocation_pct: 0,
            reserved_cycles_limit: DEFAULT_RESERVED_CYCLES_LIMIT,
            wasm_memory_limit_bytes: DEFAULT_WASM_MEMORY_LIMIT,
            wasm_memory_threshold_bytes: 0,
            log_visibility: Visibility::Controllers,
            snapshot_visibility: Visibility::Controllers,
            status_visibility: Visibility::Controllers,
        }
    }
}

/// What the settings are checked against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Usage {
    pub heap_bytes: u64,
    pub reserved_cycles: Cycles,
}

impl Settings {
    /// The settings `change` leaves, or the IC's refusal (see the module documentation).
    pub fn changed(&self, change: &SettingsChange, usage: Usage) -> Result<Settings, CallFailure> {
        let invalid = |message: String| {
            Err(CallFailure {
                code: RejectCode::CanisterError,
                message,
            })
        };
        if let Some(limit) = change.wasm_memory_limit_bytes {
            if limit > MAX_WASM_MEMORY_LIMIT {
                return invalid(format!(
                    "Invalid settings: wasm_memory_limit {limit} exceeds the maximum {MAX_WASM_MEMORY_LIMIT}"
                ));
            }
            if limit != 0 && limit < usage.heap_bytes {
                return invalid(format!(
                    "Invalid settings: wasm_memory_limit {limit} is below the Wasm memory in use ({} bytes)",
                    usage.heap_bytes
                ));
            }
        }
        if let Some(limit) = change.reserved_cycles_limit {
            if usage.reserved_cycles > limit {
                return invalid(format!(
                    "Canister cannot set the reserved cycles limit below the reserved cycles balance ({} > {limit})",
                    usage.reserved_cycles
                ));
            }
        }
        let mut s = self.clone();
        if let Some(v) = change.freezing_threshold_secs {
            s.freezing_threshold_secs = v;
        }
        if let Some(v) = change.wasm_memory_limit_bytes {
            s.wasm_memory_limit_bytes = v;
        }
        if let Some(v) = change.wasm_memory_threshold_bytes {
            s.wasm_memory_threshold_bytes = v;
        }
        if let Some(v) = &change.log_visibility {
            s.log_visibility = v.clone();
        }
        if let Some(v) = &change.snapshot_visibility {
            s.snapshot_visibility = v.clone();
        }
        if let Some(v) = &change.status_visibility {
            s.status_visibility = v.clone();
        }
        if let Some(v) = change.reserved_cycles_limit {
            s.reserved_cycles_limit = v;
        }
        Ok(s)
    }
}

/// Whether `visibility` lets a non-controller `caller` read.
pub fn visible_to(visibility: &Visibility, caller: &candid::Principal) -> bool {
    match visibility {
        Visibility::Controllers => false,
        Visibility::Public => true,
        Visibility::AllowedViewers(v) => v.contains(caller),
    }
}

/// Idle burn of a canister holding `memory_bytes` (or its larger memory allocation), per day.
pub fn idle_burn_per_day(memory_bytes: u64, memory_allocation_bytes: u64) -> Cycles {
    let bytes = u128::from(memory_bytes.max(memory_allocation_bytes));
    Cycles(bytes * STORAGE_CYCLES_PER_GIB_SECOND * 86_400 / u128::from(GIB))
}

#[cfg(test)]
mod tests {
    use super::*;

    const USAGE: Usage = Usage {
        heap_bytes: 10 << 20,
        reserved_cycles: Cycles(1_000),
    };

    #[test]
    fn defaults_are_the_ics() {
        let s = Settings::default();
        assert_eq!(s.freezing_threshold_secs, 2_592_000);
        assert_eq!(s.wasm_memory_limit_bytes, 3 << 30);
        assert_eq!(s.wasm_memory_threshold_bytes, 0);
        assert_eq!(s.log_visibility, Visibility::Controllers);
    }

    #[test]
    fn a_change_sets_only_its_fields() {
        let change = SettingsChange {
            freezing_threshold_secs: Some(90 * 86_400),
            log_visibility: Some(Visibility::Public),
            ..SettingsChange::default()
        };
        let s = Settings::default().changed(&change, USAGE).unwrap();
        assert_eq!(s.freezing_threshold_secs, 90 * 86_400);
        assert_eq!(s.log_visibility, Visibility::Public);
        assert_eq!(
            Settings {
                freezing_threshold_secs: DEFAULT_FREEZING_THRESHOLD_SECS,
                log_visibility: Visibility::Controllers,
                ..s
            },
            Settings::default()
        );
    }

    #[test]
    fn limits_the_ic_refuses_are_refused() {
        let refused = |change: SettingsChange| {
            let e = Settings::default().changed(&change, USAGE).unwrap_err();
            assert_eq!(e.code, RejectCode::CanisterError);
            e.message
        };
        let below_heap = refused(SettingsChange {
            wasm_memory_limit_bytes: Some(1 << 20),
            ..SettingsChange::default()
        });
        assert!(
            below_heap.contains("below the Wasm memory in use"),
            "{below_heap}"
        );
        refused(SettingsChange {
            wasm_memory_limit_bytes: Some(1 << 48),
            ..SettingsChange::default()
        });
        let reserved = refused(SettingsChange {
            reserved_cycles_limit: Some(Cycles(999)),
            ..SettingsChange::default()
        });
        assert!(reserved.contains("reserved cycles limit"), "{reserved}");
        // 0 lifts the limit, whatever the heap.
        let unlimited = SettingsChange {
            wasm_memory_limit_bytes: Some(0),
            ..SettingsChange::default()
        };
        assert!(Settings::default().changed(&unlimited, USAGE).is_ok());
    }

    #[test]
    fn idle_burn_follows_memory_or_its_allocation() {
        assert_eq!(idle_burn_per_day(1 << 30, 0), Cycles(127_000 * 86_400));
        assert_eq!(idle_burn_per_day(0, 2 << 30), Cycles(2 * 127_000 * 86_400));
    }
}
