//! # The fault catalog
//!
//! Eight fault types, each with parameters ([`FaultSpec`]), validation against the registry
//! and least privilege ([`FaultSpec::validate`], typed [`FaultError`]s that say what to fix), a
//! blast radius ([`BlastRadius`]: the acted-on targets, their declared dependents, partition
//! members), a mechanism ([`RunPlan`]: IC primitives or a `chaos_hooks` plan, see
//! `docs/chaos-hooks-contract.md`) and the rollback owed for what was issued ([`Owed`]).
//!
//! | fault | mechanism | rollback |
//! |---|---|---|
//! | network_partition | hook `Partition` on every hooked member, blocking the other groups | clear plan |
//! | resource_exhaustion | `update_settings` (freezing threshold up, or wasm_memory_limit down; originals read first), or hook `Ballast` / `BurnInstructions` | restore the original settings / clear plan |
//! | service_failure | `stop_canister`, or hook `Reject` / `Trap` | `start_canister` / clear plan |
//! | latency_injection | hook `Delay` N rounds for a share of calls | clear plan |
//! | data_corruption | stop, snapshot (mandatory), start, hook `Corrupt`; the invariant method is watched | clear plan, stop, load snapshot, start |
//! | security_breach | chaos_probe calls the declared privileged methods | nothing to undo |
//! | cascading_failure | fail the dependency (stop or hook); every dependent's probe is watched | as service_failure |
//! | byzantine_fault | hook `Perturb`; the consumers' probes are watched | clear plan |
//!
//! Every hook plan carries an expiry: the hooks clear it by themselves if chaos_system cannot.

pub mod action;
pub mod findings;
pub mod hooks;
pub mod mechanism;
pub mod profile;
pub mod spec;

pub use action::{Action, Observation, ProbeReading, TargetStatus};
pub use findings::{FaultFindings, WatchRecord};
pub use hooks::{FaultPlan, HookFault, Ppm};
pub use mechanism::{
    freezes, min_freezing_secs, resolve, FaultStep, Owed, ResolveContext, RunPlan, Watch,
    WatchPurpose,
};
pub use profile::{FaultProfile, Fleet, FleetSnapshot, Occupant, TargetView};
pub use spec::{BlastRadius, ExhaustionMode, FailureMode, FaultSpec, PartitionGroup};

use ic_principal::Principal;
use minicbor::{Decode, Encode};
use std::fmt;

/// The fault types. Tags are stable: never reuse a retired number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
#[cbor(index_only)]
pub enum FaultKind {
    #[n(0)]
    NetworkPartition,
    #[n(1)]
    ResourceExhaustion,
    #[n(2)]
    ServiceFailure,
    #[n(3)]
    LatencyInjection,
    #[n(4)]
    DataCorruption,
    #[n(5)]
    SecurityBreach,
    #[n(6)]
    CascadingFailure,
    #[n(7)]
    ByzantineFault,
}

impl FaultKind {
    pub const ALL: [FaultKind; 8] = [
        FaultKind::NetworkPartition,
        FaultKind::ResourceExhaustion,
        FaultKind::ServiceFailure,
        FaultKind::LatencyInjection,
        FaultKind::DataCorruption,
        FaultKind::SecurityBreach,
        FaultKind::CascadingFailure,
        FaultKind::ByzantineFault,
    ];

    pub fn name(self) -> &'static str {
        match self {
            FaultKind::NetworkPartition => "network_partition",
            FaultKind::ResourceExhaustion => "resource_exhaustion",
            FaultKind::ServiceFailure => "service_failure",
            FaultKind::LatencyInjection => "latency_injection",
            FaultKind::DataCorruption => "data_corruption",
            FaultKind::SecurityBreach => "security_breach",
            FaultKind::CascadingFailure => "cascading_failure",
            FaultKind::ByzantineFault => "byzantine_fault",
        }
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a fault cannot run as specified. Messages say what to change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultError {
    InvalidParameter {
        field: String,
        reason: String,
    },
    UnknownTarget {
        canister: Principal,
    },
    Protected {
        canister: Principal,
    },
    /// A declared dependent is protected: degrading its dependency would touch it.
    ProtectedDependent {
        canister: Principal,
        dependent: Principal,
    },
    NotAllowed {
        canister: Principal,
        kind: FaultKind,
    },
    NoHooks {
        canister: Principal,
        kind: FaultKind,
    },
    NoPrivilegedMethods {
        canister: Principal,
    },
    UndeclaredMethod {
        canister: Principal,
        method: String,
    },
    NoInvariantMethod {
        canister: Principal,
    },
    NoDependents {
        canister: Principal,
    },
    NotADependent {
        dependency: Principal,
        dependent: Principal,
    },
}

impl fmt::Display for FaultError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FaultError::InvalidParameter { field, reason } => {
                write!(f, "invalid fault parameter `{field}`: {reason}")
            }
            FaultError::UnknownTarget { canister } => {
                write!(f, "{canister} is not a registered target; register it first")
            }
            FaultError::Protected { canister } => write!(
                f,
                "{canister} is protected: no fault may touch it; choose another target"
            ),
            FaultError::ProtectedDependent { canister, dependent } => write!(
                f,
                "{dependent} depends on {canister} and is protected: a fault on {canister} would degrade it; choose another target or remove the dependency from the registration"
            ),
            FaultError::NotAllowed { canister, kind } => write!(
                f,
                "{kind} is not in the allowed faults of {canister}; an admin must add it to the target's registration first"
            ),
            FaultError::NoHooks { canister, kind } => write!(
                f,
                "{kind} in this mode needs the cooperative hooks, and {canister} does not declare them: embed crates/chaos_hooks and set `hooks` in its registration, or choose a mode that uses IC primitives"
            ),
            FaultError::NoPrivilegedMethods { canister } => write!(
                f,
                "{canister} declares no privileged methods to probe; list them in its registration"
            ),
            FaultError::UndeclaredMethod { canister, method } => write!(
                f,
                "`{method}` is not a declared privileged method of {canister}; probe only declared methods (or declare it)"
            ),
            FaultError::NoInvariantMethod { canister } => write!(
                f,
                "{canister} declares no invariant method: a corruption nobody can check measures nothing; declare `invariant_method` in its registration"
            ),
            FaultError::NoDependents { canister } => write!(
                f,
                "{canister} declares no dependents to watch; list them in its registration"
            ),
            FaultError::NotADependent { dependency, dependent } => write!(
                f,
                "{dependent} is not a declared dependent of {dependency}; watch declared dependents only (or declare it)"
            ),
        }
    }
}

impl std::error::Error for FaultError {}
