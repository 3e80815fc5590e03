//! What an experiment asks a shell to perform ([`Action`]) and what the shell reports back
//! ([`Observation`]). The lead maps each action onto `crate::effect::Effect` (see the table in
//! the module docs of [`crate::experiment`]); the vocabulary lives here because faults are
//! what need it.

use super::hooks::FaultPlan;
use crate::effect::CallFailure;
use crate::hardening::{Cycles, RunStatus, SettingsChange};
use crate::ids::{DurationNs, SnapshotId, TimestampNs};
use ic_principal::Principal;
use minicbor::{Decode, Encode};

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum Action {
    /// `canister_status`: run status, settings and cycles (records the originals a rollback
    /// restores, and feeds the cycles-floor stop condition).
    #[n(0)]
    ReadStatus {
        #[cbor(n(0), with = "crate::cbor::principal")]
        canister: Principal,
    },
    /// `update_settings` with the fields of `change` that are set.
    #[n(1)]
    UpdateSettings {
        #[cbor(n(0), with = "crate::cbor::principal")]
        canister: Principal,
        #[n(1)]
        change: SettingsChange,
    },
    #[n(2)]
    StopCanister {
        #[cbor(n(0), with = "crate::cbor::principal")]
        canister: Principal,
    },
    #[n(3)]
    StartCanister {
        #[cbor(n(0), with = "crate::cbor::principal")]
        canister: Principal,
    },
    #[n(4)]
    TakeSnapshot {
        #[cbor(n(0), with = "crate::cbor::principal")]
        canister: Principal,
        #[n(1)]
        replace: Option<SnapshotId>,
    },
    #[n(5)]
    LoadSnapshot {
        #[cbor(n(0), with = "crate::cbor::principal")]
        canister: Principal,
        #[n(1)]
        snapshot: SnapshotId,
    },
    /// `chaos_hooks_set_plan` on the target (bounded wait).
    #[n(6)]
    SetFaultPlan {
        #[cbor(n(0), with = "crate::cbor::principal")]
        canister: Principal,
        #[n(1)]
        plan: FaultPlan,
    },
    /// `chaos_hooks_clear` on the target (bounded wait).
    #[n(7)]
    ClearFaults {
        #[cbor(n(0), with = "crate::cbor::principal")]
        canister: Principal,
    },
    /// chaos_probe calls `target.method` as a neutral principal (bounded wait) and reports
    /// the answer and how long it took.
    #[n(8)]
    ProbeVia {
        #[cbor(n(0), with = "crate::cbor::principal")]
        target: Principal,
        #[n(1)]
        method: String,
    },
    /// chaos_probe calls each of `methods` (privileged methods) as an unprivileged caller;
    /// every method that replies instead of rejecting is a finding.
    #[n(9)]
    AccessProbe {
        #[cbor(n(0), with = "crate::cbor::principal")]
        target: Principal,
        #[n(1)]
        methods: Vec<String>,
    },
    /// Resume no earlier than `until` (a timer in the canister, a clock jump in a simulator).
    #[n(10)]
    WaitUntil {
        #[n(0)]
        until: TimestampNs,
    },
    /// `delete_canister_snapshot`: the restore point, once it has been loaded back (a canister
    /// holds at most 10 snapshots, so every run that takes one gives it back).
    #[n(11)]
    DeleteSnapshot {
        #[cbor(n(0), with = "crate::cbor::principal")]
        canister: Principal,
        #[n(1)]
        snapshot: SnapshotId,
    },
}

impl Action {
    pub fn name(&self) -> &'static str {
        match self {
            Action::ReadStatus { .. } => "read_status",
            Action::UpdateSettings { .. } => "update_settings",
            Action::StopCanister { .. } => "stop_canister",
            Action::StartCanister { .. } => "start_canister",
            Action::TakeSnapshot { .. } => "take_canister_snapshot",
            Action::LoadSnapshot { .. } => "load_canister_snapshot",
            Action::DeleteSnapshot { .. } => "delete_canister_snapshot",
            Action::SetFaultPlan { .. } => "set_fault_plan",
            Action::ClearFaults { .. } => "clear_faults",
            Action::ProbeVia { .. } => "probe_via",
            Action::AccessProbe { .. } => "access_probe",
            Action::WaitUntil { .. } => "wait",
        }
    }

    /// The canister the action calls or acts on.
    pub fn canister(&self) -> Option<Principal> {
        match self {
            Action::ReadStatus { canister }
            | Action::UpdateSettings { canister, .. }
            | Action::StopCanister { canister }
            | Action::StartCanister { canister }
            | Action::TakeSnapshot { canister, .. }
            | Action::LoadSnapshot { canister, .. }
            | Action::DeleteSnapshot { canister, .. }
            | Action::SetFaultPlan { canister, .. }
            | Action::ClearFaults { canister } => Some(*canister),
            Action::ProbeVia { target, .. } | Action::AccessProbe { target, .. } => Some(*target),
            Action::WaitUntil { .. } => None,
        }
    }

    /// Control actions (management canister or hook control methods) count for a target's
    /// circuit breaker. Probes do not: a probe failing while a fault is active is the
    /// observation, not a sign that the target cannot be controlled.
    pub fn is_control(&self) -> bool {
        !matches!(
            self,
            Action::ProbeVia { .. } | Action::AccessProbe { .. } | Action::WaitUntil { .. }
        )
    }
}

/// What `canister_status` said, reduced to what experiments restore and watch.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct TargetStatus {
    #[n(0)]
    pub status: RunStatus,
    #[n(1)]
    pub freezing_threshold_secs: u64,
    /// `None`: the replica did not report it (then a squeeze could not be undone).
    #[n(2)]
    pub wasm_memory_limit_bytes: Option<u64>,
    #[n(3)]
    pub cycles: Cycles,
    #[n(4)]
    pub idle_cycles_burned_per_day: Cycles,
}

/// What a probe through chaos_probe answered.
#[derive(Clone, Debug, Default, PartialEq, Eq, Encode, Decode)]
pub struct ProbeReading {
    /// A number the method reports (an operation count, a price, a balance), if any.
    #[n(0)]
    pub value: Option<u64>,
    /// Round trip as chaos_probe measured it (from its call to the reply).
    #[n(1)]
    pub latency: DurationNs,
    /// For invariant-check methods: whether the target's own invariant holds.
    #[n(2)]
    pub invariant_holds: Option<bool>,
}

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum Observation {
    /// The action completed and has nothing to report.
    #[n(0)]
    Done,
    #[n(1)]
    Status {
        #[n(0)]
        status: TargetStatus,
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
        reading: ProbeReading,
    },
    /// The privileged methods that replied to an unprivileged caller, and those whose answer
    /// said nothing about their guard (`"method: why"`: stopped target, undecodable argument,
    /// timeout ...), which count neither way.
    #[n(4)]
    AccessProbed {
        #[n(0)]
        accepted: Vec<String>,
        #[n(1)]
        #[cbor(default)]
        inconclusive: Vec<String>,
    },
    #[n(5)]
    Failed {
        #[n(0)]
        failure: CallFailure,
    },
}

impl Observation {
    pub fn failed(code: crate::effect::RejectCode, message: impl Into<String>) -> Self {
        Observation::Failed {
            failure: CallFailure {
                code,
                message: message.into(),
            },
        }
    }

    pub fn is_failure(&self) -> bool {
        matches!(self, Observation::Failed { .. })
    }

    pub fn failure_text(&self) -> Option<String> {
        match self {
            Observation::Failed { failure } => {
                Some(format!("{:?}: {}", failure.code, failure.message))
            }
            _ => None,
        }
    }
}
