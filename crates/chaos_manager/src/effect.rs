//! Effects the core asks a shell to perform, and the outcomes a shell feeds back.
//!
//! The core never performs I/O. A shell (the `chaos_system` canister with ic-cdk calls, or
//! `fleet_sim` natively) executes each [`Effect`] and reports an [`Outcome`], which the core
//! turns into events.

use crate::fault::{FaultPlan, ProbeReading, TargetStatus};
use crate::hardening::{Evidence, SettingsChange};
use crate::ids::{SnapshotId, TimestampNs};
use ic_principal::Principal;
use minicbor::{Decode, Encode};

/// The smallest valid WebAssembly module: it exports no methods. Installed as an upgrade it
/// simulates a broken release (every call to the canister is then rejected).
pub const BROKEN_MODULE: &[u8] = b"\x00asm\x01\x00\x00\x00";

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum Effect {
    /// The target's controllers, read with `canister_info` (any canister may call it, so a
    /// target the suite does not control answers too, and the core can say so precisely).
    #[n(0)]
    ReadControllers {
        #[cbor(n(0), with = "crate::cbor::principal")]
        canister: Principal,
    },
    #[n(1)]
    StopCanister {
        #[cbor(n(0), with = "crate::cbor::principal")]
        canister: Principal,
    },
    #[n(2)]
    StartCanister {
        #[cbor(n(0), with = "crate::cbor::principal")]
        canister: Principal,
    },
    #[n(3)]
    TakeSnapshot {
        #[cbor(n(0), with = "crate::cbor::principal")]
        canister: Principal,
        /// Rotate an older snapshot out (a canister holds at most 10).
        #[n(1)]
        replace: Option<SnapshotId>,
    },
    #[n(4)]
    LoadSnapshot {
        #[cbor(n(0), with = "crate::cbor::principal")]
        canister: Principal,
        #[n(1)]
        snapshot: SnapshotId,
    },
    #[n(5)]
    UninstallCode {
        #[cbor(n(0), with = "crate::cbor::principal")]
        canister: Principal,
    },
    /// `install_code` in upgrade mode with [`BROKEN_MODULE`].
    #[n(6)]
    InstallBrokenModule {
        #[cbor(n(0), with = "crate::cbor::principal")]
        canister: Principal,
    },
    /// A bounded-wait query call of the target's probe method.
    #[n(7)]
    Probe {
        #[cbor(n(0), with = "crate::cbor::principal")]
        canister: Principal,
        #[n(1)]
        method: String,
    },
    /// Resume no earlier than `until` (a timer in the canister, a clock jump in the simulator).
    #[n(8)]
    WaitUntil {
        #[n(0)]
        until: TimestampNs,
    },
    /// `list_canister_snapshots`: which snapshots the target holds (at most 10).
    #[n(9)]
    ListSnapshots {
        #[cbor(n(0), with = "crate::cbor::principal")]
        canister: Principal,
    },
    /// `update_settings` with the fields of `change` that are set.
    #[n(10)]
    UpdateSettings {
        #[cbor(n(0), with = "crate::cbor::principal")]
        canister: Principal,
        #[n(1)]
        change: SettingsChange,
    },
    /// Reads everything a hardening scan needs (`canister_status`, `list_canister_snapshots`).
    #[n(11)]
    CollectEvidence {
        #[cbor(n(0), with = "crate::cbor::principal")]
        canister: Principal,
    },
    /// `canister_status` reduced to what experiments restore and watch (run status, freezing
    /// threshold, wasm_memory_limit, cycles); answers [`Outcome::Status`].
    #[n(12)]
    ReadStatus {
        #[cbor(n(0), with = "crate::cbor::principal")]
        canister: Principal,
    },
    /// `chaos_hooks_set_plan` on the target (bounded wait); idempotent for the same plan.
    #[n(13)]
    SetFaultPlan {
        #[cbor(n(0), with = "crate::cbor::principal")]
        canister: Principal,
        #[n(1)]
        plan: FaultPlan,
    },
    /// `chaos_hooks_clear` on the target (bounded wait).
    #[n(14)]
    ClearFaults {
        #[cbor(n(0), with = "crate::cbor::principal")]
        canister: Principal,
    },
    /// chaos_probe calls `target.method` as a neutral principal (bounded wait); answers
    /// [`Outcome::ProbeRead`].
    #[n(15)]
    ProbeVia {
        #[cbor(n(0), with = "crate::cbor::principal")]
        target: Principal,
        #[n(1)]
        method: String,
    },
    /// chaos_probe calls each privileged method as an unprivileged caller; answers
    /// [`Outcome::AccessProbed`].
    #[n(16)]
    AccessProbe {
        #[cbor(n(0), with = "crate::cbor::principal")]
        target: Principal,
        #[n(1)]
        methods: Vec<String>,
    },
    /// `delete_canister_snapshot`; answers [`Outcome::Done`]. The IC rejects a delete of a
    /// snapshot already gone (say by an attempt whose reply was lost): both shells then read
    /// the snapshot list and answer by [`refused_delete`].
    #[n(17)]
    DeleteSnapshot {
        #[cbor(n(0), with = "crate::cbor::principal")]
        canister: Principal,
        #[n(1)]
        snapshot: SnapshotId,
    },
}

impl Effect {
    pub fn name(&self) -> &'static str {
        match self {
            Effect::ReadControllers { .. } => "read_controllers",
            Effect::StopCanister { .. } => "stop_canister",
            Effect::StartCanister { .. } => "start_canister",
            Effect::TakeSnapshot { .. } => "take_canister_snapshot",
            Effect::LoadSnapshot { .. } => "load_canister_snapshot",
            Effect::DeleteSnapshot { .. } => "delete_canister_snapshot",
            Effect::UninstallCode { .. } => "uninstall_code",
            Effect::InstallBrokenModule { .. } => "install_code(broken module)",
            Effect::Probe { .. } => "probe",
            Effect::WaitUntil { .. } => "wait",
            Effect::ListSnapshots { .. } => "list_canister_snapshots",
            Effect::UpdateSettings { .. } => "update_settings",
            Effect::CollectEvidence { .. } => "collect_evidence",
            Effect::ReadStatus { .. } => "read_status",
            Effect::SetFaultPlan { .. } => "set_fault_plan",
            Effect::ClearFaults { .. } => "clear_faults",
            Effect::ProbeVia { .. } => "probe_via",
            Effect::AccessProbe { .. } => "access_probe",
        }
    }

    /// The canister the effect calls or acts on (`None` for a wait).
    pub fn canister(&self) -> Option<Principal> {
        match self {
            Effect::ReadControllers { canister }
            | Effect::StopCanister { canister }
            | Effect::StartCanister { canister }
            | Effect::TakeSnapshot { canister, .. }
            | Effect::LoadSnapshot { canister, .. }
            | Effect::DeleteSnapshot { canister, .. }
            | Effect::UninstallCode { canister }
            | Effect::InstallBrokenModule { canister }
            | Effect::Probe { canister, .. }
            | Effect::ListSnapshots { canister }
            | Effect::UpdateSettings { canister, .. }
            | Effect::CollectEvidence { canister }
            | Effect::ReadStatus { canister }
            | Effect::SetFaultPlan { canister, .. }
            | Effect::ClearFaults { canister } => Some(*canister),
            Effect::ProbeVia { target, .. } | Effect::AccessProbe { target, .. } => Some(*target),
            Effect::WaitUntil { .. } => None,
        }
    }
}

/// A snapshot a canister holds.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct SnapshotInfo {
    #[n(0)]
    pub id: SnapshotId,
    #[n(1)]
    pub taken_at: TimestampNs,
}

/// What a refused `delete_canister_snapshot` of `snapshot` amounts to, given the target's
/// snapshot list read after the refusal (`None`: unreadable): done when the snapshot is gone,
/// else the refusal. Deleting is idempotent this way in both shells.
pub fn refused_delete(
    refused: Outcome,
    listed: Option<&[SnapshotInfo]>,
    snapshot: &SnapshotId,
) -> Outcome {
    match listed {
        Some(list) if !list.iter().any(|s| &s.id == snapshot) => Outcome::Done,
        _ => refused,
    }
}

/// The most snapshots the IC keeps per canister.
pub const MAX_SNAPSHOTS_PER_CANISTER: usize = 10;

/// What a target's probe method answered.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct StateProbe {
    #[n(0)]
    pub operation_count: u64,
    #[cbor(n(1), with = "minicbor::bytes")]
    pub state_hash: Vec<u8>,
}

/// IC reject codes, as the shell saw them (SysUnknown only on bounded-wait calls: the callee
/// may or may not have acted).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
#[cbor(index_only)]
pub enum RejectCode {
    #[n(1)]
    SysFatal,
    #[n(2)]
    SysTransient,
    #[n(3)]
    DestinationInvalid,
    #[n(4)]
    CanisterReject,
    #[n(5)]
    CanisterError,
    #[n(6)]
    SysUnknown,
    /// The call went through but the reply could not be decoded, or the call could not be made.
    #[n(7)]
    Local,
}

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct CallFailure {
    #[n(0)]
    pub code: RejectCode,
    #[n(1)]
    pub message: String,
}

/// The result of one effect.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum Outcome {
    /// The effect completed and has nothing to report.
    #[n(0)]
    Done,
    #[n(1)]
    Controllers {
        #[cbor(n(0), with = "crate::cbor::principals")]
        controllers: Vec<Principal>,
    },
    #[n(2)]
    SnapshotTaken {
        #[n(0)]
        id: SnapshotId,
        #[n(1)]
        taken_at: TimestampNs,
    },
    #[n(3)]
    Probed {
        #[n(0)]
        probe: StateProbe,
    },
    #[n(4)]
    Failed {
        #[n(0)]
        failure: CallFailure,
    },
    #[n(5)]
    Snapshots {
        #[n(0)]
        snapshots: Vec<SnapshotInfo>,
    },
    #[n(6)]
    Evidence {
        #[n(0)]
        evidence: Box<Evidence>,
    },
    /// What [`Effect::ReadStatus`] read.
    #[n(7)]
    Status {
        #[n(0)]
        status: TargetStatus,
    },
    /// What [`Effect::ProbeVia`] read.
    #[n(8)]
    ProbeRead {
        #[n(0)]
        reading: ProbeReading,
    },
    /// The privileged methods that replied to chaos_probe ([`Effect::AccessProbe`]), and
    /// those whose answer said nothing about their guard (`"method: why"`).
    #[n(9)]
    AccessProbed {
        #[n(0)]
        accepted: Vec<String>,
        #[n(1)]
        #[cbor(default)]
        inconclusive: Vec<String>,
    },
}

impl Outcome {
    pub fn failed(code: RejectCode, message: impl Into<String>) -> Self {
        Outcome::Failed {
            failure: CallFailure {
                code,
                message: message.into(),
            },
        }
    }

    pub fn is_failure(&self) -> bool {
        matches!(self, Outcome::Failed { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_delete_is_done_only_when_the_list_shows_the_snapshot_gone() {
        let gone = SnapshotId(vec![1]);
        let other = SnapshotInfo {
            id: SnapshotId(vec![2]),
            taken_at: TimestampNs(0),
        };
        let refused = Outcome::failed(RejectCode::DestinationInvalid, "no such snapshot");
        let still = SnapshotInfo {
            id: gone.clone(),
            taken_at: TimestampNs(0),
        };
        assert_eq!(
            refused_delete(refused.clone(), Some(std::slice::from_ref(&other)), &gone),
            Outcome::Done
        );
        assert_eq!(
            refused_delete(refused.clone(), Some(&[other, still]), &gone),
            refused
        );
        assert_eq!(refused_delete(refused.clone(), None, &gone), refused);
    }
}
