//! Planning automatic remediation: the chosen failing controls' fixes, merged into one
//! `update_settings` change and at most one snapshot. Nothing is applied here; the plan is
//! what an approver approves and what the shell performs.

use super::catalog::{control, ControlId, RemediationKind};
use super::evaluate::bytes_text;
use super::evidence::{Cycles, StatusEvidence, Visibility, MAX_SNAPSHOTS_PER_CANISTER};
use super::policy::HardeningPolicy;
use super::scan::ScanReport;
use super::HardeningError;
use crate::ids::{SnapshotId, TimestampNs};
use ic_principal::Principal;
use minicbor::{Decode, Encode};

/// One control's fix with its parameters resolved.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum AutoRemediation {
    #[n(0)]
    SetFreezingThreshold {
        #[n(0)]
        seconds: u64,
    },
    #[n(1)]
    SetWasmMemoryLimit {
        #[n(0)]
        bytes: u64,
    },
    #[n(2)]
    SetWasmMemoryThreshold {
        #[n(0)]
        bytes: u64,
    },
    #[n(3)]
    SetLogVisibilityControllers,
    #[n(4)]
    SetSnapshotVisibilityControllers,
    #[n(5)]
    SetStatusVisibilityControllers,
    #[n(6)]
    SetReservedCyclesLimit {
        #[n(0)]
        cycles: Cycles,
    },
    #[n(7)]
    TakeSnapshot {
        /// The oldest snapshot, replaced when the canister already holds the maximum.
        #[n(0)]
        replace: Option<SnapshotId>,
    },
}

/// The fields of one `update_settings` call; `None` leaves a setting as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq, Encode, Decode)]
pub struct SettingsChange {
    #[n(0)]
    pub freezing_threshold_secs: Option<u64>,
    #[n(1)]
    pub wasm_memory_limit_bytes: Option<u64>,
    #[n(2)]
    pub wasm_memory_threshold_bytes: Option<u64>,
    #[n(3)]
    pub log_visibility: Option<Visibility>,
    #[n(4)]
    pub snapshot_visibility: Option<Visibility>,
    #[n(5)]
    pub status_visibility: Option<Visibility>,
    #[n(6)]
    pub reserved_cycles_limit: Option<Cycles>,
}

impl SettingsChange {
    pub fn is_empty(&self) -> bool {
        *self == SettingsChange::default()
    }

    /// The settings a successful `update_settings` with this change leaves: what a simulated
    /// canister applies, and what a rescan should then read.
    pub fn apply_to(&self, s: &mut StatusEvidence) {
        if let Some(v) = self.freezing_threshold_secs {
            s.freezing_threshold_secs = v;
        }
        if let Some(v) = self.wasm_memory_limit_bytes {
            s.wasm_memory_limit_bytes = Some(v);
        }
        if let Some(v) = self.wasm_memory_threshold_bytes {
            s.wasm_memory_threshold_bytes = Some(v);
        }
        if let Some(v) = &self.log_visibility {
            s.log_visibility = Some(v.clone());
        }
        if let Some(v) = &self.snapshot_visibility {
            s.snapshot_visibility = Some(v.clone());
        }
        if let Some(v) = &self.status_visibility {
            s.status_visibility = Some(v.clone());
        }
        if let Some(v) = self.reserved_cycles_limit {
            s.reserved_cycles_limit = Some(v);
        }
    }
}

/// What `perform_hardening` applies once approved: first the settings change, then (when
/// asked) a snapshot, taken the way drills take one (stop, snapshot, start), then a rescan.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct HardeningPlan {
    #[cbor(n(0), with = "crate::cbor::principal")]
    pub target: Principal,
    /// The scan the plan was made from; a later scan may make it stale.
    #[n(1)]
    pub based_on_scan_at: TimestampNs,
    /// Chosen controls with their fixes, in the order chosen.
    #[n(2)]
    pub remediations: Vec<(ControlId, AutoRemediation)>,
    /// `None` when no chosen fix touches the settings.
    #[n(3)]
    pub settings: Option<SettingsChange>,
    /// `Some` when a snapshot is to be taken.
    #[n(4)]
    pub snapshot: Option<AutoRemediation>,
}

impl HardeningPlan {
    pub fn controls(&self) -> impl Iterator<Item = &ControlId> {
        self.remediations.iter().map(|(c, _)| c)
    }
}

/// Builds the plan for `chosen`. Refused (with the first offending id) for an empty choice,
/// an id listed twice, an unknown id, a control without automatic remediation, a control
/// that does not fail in `scan` (passing or unknown), or a fix the evidence shows cannot be
/// applied (e.g. a limit below current usage).
pub fn plan_hardening(
    scan: &ScanReport,
    chosen: &[ControlId],
    policy: &HardeningPolicy,
) -> Result<HardeningPlan, HardeningError> {
    if chosen.is_empty() {
        return Err(HardeningError::NothingChosen);
    }
    let status = scan.evidence.status.as_ref().ok();
    let mut settings = SettingsChange::default();
    let mut snapshot = None;
    let mut remediations = Vec::new();
    for (i, id) in chosen.iter().enumerate() {
        if chosen[..i].contains(id) {
            return Err(HardeningError::DuplicateControl { id: id.clone() });
        }
        let c = control(id).ok_or_else(|| HardeningError::UnknownControl { id: id.clone() })?;
        let kind = c
            .auto_remediation
            .ok_or_else(|| HardeningError::NoAutoRemediation { id: id.clone() })?;
        let outcome = scan
            .outcome(c.id)
            .ok_or_else(|| HardeningError::UnknownControl { id: id.clone() })?;
        if !outcome.result.is_fail() {
            return Err(HardeningError::NotFailing {
                id: id.clone(),
                result: outcome.result.describe(),
            });
        }
        let fix = resolve(kind, id, scan, status, &settings, policy)?;
        match &fix {
            AutoRemediation::SetFreezingThreshold { seconds } => {
                settings.freezing_threshold_secs = Some(*seconds)
            }
            AutoRemediation::SetWasmMemoryLimit { bytes } => {
                settings.wasm_memory_limit_bytes = Some(*bytes)
            }
            AutoRemediation::SetWasmMemoryThreshold { bytes } => {
                settings.wasm_memory_threshold_bytes = Some(*bytes)
            }
            AutoRemediation::SetLogVisibilityControllers => {
                settings.log_visibility = Some(Visibility::Controllers)
            }
            AutoRemediation::SetSnapshotVisibilityControllers => {
                settings.snapshot_visibility = Some(Visibility::Controllers)
            }
            AutoRemediation::SetStatusVisibilityControllers => {
                settings.status_visibility = Some(Visibility::Controllers)
            }
            AutoRemediation::SetReservedCyclesLimit { cycles } => {
                settings.reserved_cycles_limit = Some(*cycles)
            }
            AutoRemediation::TakeSnapshot { .. } => snapshot = Some(fix.clone()),
        }
        remediations.push((id.clone(), fix));
    }
    // A threshold chosen before the limit was computed against the old limit: recompute.
    if let (Some(limit), Some(_)) = (
        settings.wasm_memory_limit_bytes,
        settings.wasm_memory_threshold_bytes,
    ) {
        let t = threshold_for(limit, policy);
        settings.wasm_memory_threshold_bytes = Some(t);
        for (_, fix) in remediations.iter_mut() {
            if let AutoRemediation::SetWasmMemoryThreshold { bytes } = fix {
                *bytes = t;
            }
        }
    }
    Ok(HardeningPlan {
        target: scan.target,
        based_on_scan_at: scan.scanned_at,
        remediations,
        settings: (!settings.is_empty()).then_some(settings),
        snapshot,
    })
}

fn threshold_for(limit: u64, policy: &HardeningPolicy) -> u64 {
    limit / 100 * u64::from(policy.min_memory_headroom_pct)
}

fn resolve(
    kind: RemediationKind,
    id: &ControlId,
    scan: &ScanReport,
    status: Option<&StatusEvidence>,
    planned: &SettingsChange,
    policy: &HardeningPolicy,
) -> Result<AutoRemediation, HardeningError> {
    let not_applicable = |reason: String| HardeningError::NotApplicable {
        id: id.clone(),
        reason,
    };
    // Every settings control reads canister_status, so a failing one implies it was read.
    let need_status = || status.ok_or_else(|| not_applicable("canister_status unavailable".into()));
    Ok(match kind {
        RemediationKind::SetFreezingThreshold => {
            let current = need_status()?.freezing_threshold_secs;
            let days = if current < policy.min_freezing_threshold_days * 86_400 {
                policy.min_freezing_threshold_days
            } else {
                policy.max_freezing_threshold_days
            };
            AutoRemediation::SetFreezingThreshold {
                seconds: days * 86_400,
            }
        }
        RemediationKind::SetWasmMemoryLimit => {
            let s = need_status()?;
            let target = policy.wasm_memory_limit_target_bytes;
            // The IC refuses a limit below the heap in use; total memory bounds the heap.
            let used = s.wasm_memory_size_bytes.unwrap_or(s.memory_size_bytes);
            if used >= target {
                return Err(not_applicable(format!(
                    "the heap may already use {} (at or above the {} limit to set): raise wasm_memory_limit_target_bytes or shrink the heap first",
                    bytes_text(used),
                    bytes_text(target)
                )));
            }
            AutoRemediation::SetWasmMemoryLimit { bytes: target }
        }
        RemediationKind::SetWasmMemoryThreshold => {
            let s = need_status()?;
            let limit = planned
                .wasm_memory_limit_bytes
                .or(s.wasm_memory_limit_bytes.filter(|l| *l > 0))
                .unwrap_or(policy.wasm_memory_limit_target_bytes);
            AutoRemediation::SetWasmMemoryThreshold {
                bytes: threshold_for(limit, policy),
            }
        }
        RemediationKind::SetLogVisibilityControllers => {
            AutoRemediation::SetLogVisibilityControllers
        }
        RemediationKind::SetSnapshotVisibilityControllers => {
            AutoRemediation::SetSnapshotVisibilityControllers
        }
        RemediationKind::SetStatusVisibilityControllers => {
            AutoRemediation::SetStatusVisibilityControllers
        }
        RemediationKind::SetReservedCyclesLimit => {
            let s = need_status()?;
            let target = policy.reserved_cycles_limit_target;
            // update_settings rejects a limit below the cycles already reserved.
            if s.reserved_cycles > target {
                return Err(not_applicable(format!(
                    "{} are already reserved, more than the {target} limit to set",
                    s.reserved_cycles
                )));
            }
            AutoRemediation::SetReservedCyclesLimit { cycles: target }
        }
        RemediationKind::TakeSnapshot => {
            if status.is_some_and(|s| s.module_hash.is_none()) {
                return Err(not_applicable(
                    "the canister is empty: the IC rejects a snapshot of an empty canister".into(),
                ));
            }
            let list = scan.evidence.snapshots.as_deref().unwrap_or_default();
            let replace = (list.len() >= MAX_SNAPSHOTS_PER_CANISTER)
                .then(|| scan.evidence.oldest_snapshot().map(|(id, _)| id.clone()))
                .flatten();
            AutoRemediation::TakeSnapshot { replace }
        }
    })
}
