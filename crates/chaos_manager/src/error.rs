//! The core's one error enum. Messages say what to do next.

use crate::auth::Role;
use crate::drill::ScenarioKind;
use crate::experiment::{ExperimentId, LabError};
use crate::hardening::HardeningError;
use crate::ids::DrillId;
use crate::vulnerability::RegisterError;
use ic_principal::Principal;
use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CoreError {
    AnonymousCaller,
    NotAuthorized {
        caller: Principal,
        required: Role,
        held: Option<Role>,
    },
    InvalidArgument {
        field: String,
        reason: String,
    },
    TargetNotFound {
        canister: Principal,
    },
    TargetAlreadyRegistered {
        canister: Principal,
    },
    TooManyTargets {
        max: usize,
    },
    NotController {
        canister: Principal,
        suite: Principal,
    },
    ControlUnverifiable {
        canister: Principal,
        reason: String,
    },
    TargetProtected {
        canister: Principal,
    },
    ScenarioNotAllowed {
        canister: Principal,
        scenario: ScenarioKind,
    },
    DrillInProgress {
        canister: Principal,
        drill: DrillId,
    },
    DrillNotFound {
        drill: DrillId,
    },
    StepMismatch {
        drill: DrillId,
        expected: Option<u16>,
        got: u16,
    },
    LastAdmin,
    NotInitialized,
    Hardening(HardeningError),
    Register(RegisterError),
    /// Scan the target first.
    NoScan {
        canister: Principal,
    },
    HardeningRequestNotFound {
        request: u64,
    },
    HardeningNotPending {
        request: u64,
    },
    /// Four eyes: the proposer of a hardening request may not approve it.
    SelfApproval {
        request: u64,
    },
    /// An approved hardening request acts on the target (it stops and starts it).
    HardeningInProgress {
        canister: Principal,
        request: u64,
    },
    /// An experiment acts on the target or degrades it: a drill, a hardening and an
    /// experiment never share a target.
    ExperimentInProgress {
        canister: Principal,
        experiment: ExperimentId,
    },
    /// The experiment lab refused the command (spec, fault, safety limits, council ...).
    Lab(LabError),
}

impl From<LabError> for CoreError {
    fn from(e: LabError) -> Self {
        CoreError::Lab(e)
    }
}

impl fmt::Display for CoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CoreError::AnonymousCaller => write!(
                f,
                "anonymous calls are refused: call with an identity that holds a role"
            ),
            CoreError::NotAuthorized { caller, required, held } => match held {
                None => write!(
                    f,
                    "{caller} holds no role; an admin must grant it the {} role",
                    required.name()
                ),
                Some(h) => write!(
                    f,
                    "{caller} holds the {} role but this needs {}",
                    h.name(),
                    required.name()
                ),
            },
            CoreError::InvalidArgument { field, reason } => {
                write!(f, "invalid argument `{field}`: {reason}")
            }
            CoreError::TargetNotFound { canister } => {
                write!(f, "{canister} is not a registered target; register it first")
            }
            CoreError::TargetAlreadyRegistered { canister } => write!(
                f,
                "{canister} is already registered; use update_target to change it"
            ),
            CoreError::TooManyTargets { max } => {
                write!(f, "the registry holds at most {max} targets; remove one first")
            }
            CoreError::NotController { canister, suite } => write!(
                f,
                "chaos_system ({suite}) is not a controller of {canister}; run `dfx canister update-settings --add-controller {suite} {canister}` and retry"
            ),
            CoreError::ControlUnverifiable { canister, reason } => write!(
                f,
                "could not read the status of {canister} to verify control ({reason}); chaos_system must be a controller of it"
            ),
            CoreError::TargetProtected { canister } => write!(
                f,
                "{canister} is protected: no drill or fault may run on it; unset `protected` first if this is intended"
            ),
            CoreError::ScenarioNotAllowed { canister, scenario } => write!(
                f,
                "scenario {} is not in the allowed scenarios of {canister}; update the target to allow it",
                scenario.name()
            ),
            CoreError::DrillInProgress { canister, drill } => write!(
                f,
                "{drill} is still running on {canister}; wait for it to finish"
            ),
            CoreError::DrillNotFound { drill } => write!(f, "{drill} does not exist"),
            CoreError::StepMismatch { drill, expected, got } => write!(
                f,
                "{drill} expected an outcome for step {expected:?}, got step {got}"
            ),
            CoreError::LastAdmin => write!(
                f,
                "refusing to remove the last admin: grant admin to another principal first"
            ),
            CoreError::NotInitialized => write!(f, "the log has no Init event"),
            CoreError::Hardening(e) => write!(f, "{e}"),
            CoreError::Register(e) => write!(f, "{e}"),
            CoreError::NoScan { canister } => {
                write!(f, "{canister} has not been scanned yet; run scan_targets first")
            }
            CoreError::HardeningRequestNotFound { request } => {
                write!(f, "hardening request {request} does not exist")
            }
            CoreError::HardeningNotPending { request } => write!(
                f,
                "hardening request {request} is not pending (already decided or performed)"
            ),
            CoreError::HardeningInProgress { canister, request } => write!(
                f,
                "hardening request {request} is being performed on {canister} (it stops and starts the canister); wait until get_hardening_request shows it finished"
            ),
            CoreError::ExperimentInProgress { canister, experiment } => write!(
                f,
                "{experiment} is running on {canister} (or degrades it); wait until it has rolled back, or abort it"
            ),
            CoreError::Lab(e) => write!(f, "{e}"),
            CoreError::SelfApproval { request } => write!(
                f,
                "hardening request {request} must be approved by another admin than its proposer"
            ),
        }
    }
}

impl std::error::Error for CoreError {}
