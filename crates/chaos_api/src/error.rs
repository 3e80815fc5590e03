use crate::{FaultKind, Role, Scenario};
use candid::{CandidType, Deserialize, Principal};
use chaos_manager::council::CouncilError;
use chaos_manager::experiment::LabError;
use chaos_manager::fault::FaultError;
use chaos_manager::safety::SafetyRefusal;
use chaos_manager::CoreError;

/// Every error of the interface: a typed code for programs and a message for people that says
/// what to do next.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Error {
    pub code: ErrorCode,
    pub message: String,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    AnonymousCaller,
    NotAuthorized {
        required: Role,
        held: Option<Role>,
    },
    InvalidArgument {
        field: String,
    },
    TargetNotFound {
        canister_id: Principal,
    },
    TargetAlreadyRegistered {
        canister_id: Principal,
    },
    TooManyTargets {
        max: u64,
    },
    NotController {
        canister_id: Principal,
        chaos_system: Principal,
    },
    ControlUnverifiable {
        canister_id: Principal,
    },
    TargetProtected {
        canister_id: Principal,
    },
    ScenarioNotAllowed {
        canister_id: Principal,
        scenario: Scenario,
    },
    DrillInProgress {
        canister_id: Principal,
        drill_id: u64,
    },
    DrillNotFound {
        drill_id: u64,
    },
    LastAdmin,
    /// The hardening policy or plan was refused (unknown control, nothing to fix ...).
    Hardening,
    /// The vulnerability register refused the change (invalid transition ...).
    Register,
    NoScan {
        canister_id: Principal,
    },
    HardeningRequestNotFound {
        request_id: u64,
    },
    HardeningNotPending {
        request_id: u64,
    },
    SelfApproval {
        request_id: u64,
    },
    /// An approved hardening request is being performed on the target (it stops and starts
    /// it): wait for it to finish.
    HardeningInProgress {
        canister_id: Principal,
        request_id: u64,
    },
    /// An experiment acts on the target or degrades it: wait for it to roll back.
    ExperimentInProgress {
        canister_id: Principal,
        experiment_id: u64,
    },
    /// The experiment lab refused the command (spec, fault, state, council ...).
    Experiment,
    ExperimentNotFound {
        experiment_id: u64,
    },
    MotionNotFound {
        motion_id: u64,
    },
    ScheduleNotFound {
        schedule_id: u64,
    },
    /// The fault type is not in the target's `fault_profile.allowed_faults`.
    FaultNotAllowed {
        canister_id: Principal,
        fault: FaultKind,
    },
    /// The safety limits refuse the experiment; see the message.
    SafetyLimit,
    /// An emergency stop is in force: an admin resumes experiments.
    LabHalted,
    /// The council refused the position; see the message.
    Council,
    /// No chaos_probe is configured: an admin calls `set_chaos_probe`.
    NoChaosProbe,
    /// The event log refused the append; nothing was changed.
    Storage,
    Internal,
}

impl Error {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Error {
            code,
            message: message.into(),
        }
    }

    pub fn invalid(field: &str, reason: impl std::fmt::Display) -> Self {
        Error::new(
            ErrorCode::InvalidArgument {
                field: field.to_string(),
            },
            format!("invalid argument `{field}`: {reason}"),
        )
    }
}

impl From<CoreError> for Error {
    fn from(e: CoreError) -> Self {
        let message = e.to_string();
        let code = match e {
            CoreError::AnonymousCaller => ErrorCode::AnonymousCaller,
            CoreError::NotAuthorized { required, held, .. } => ErrorCode::NotAuthorized {
                required: required.into(),
                held: held.map(Into::into),
            },
            CoreError::InvalidArgument { field, .. } => ErrorCode::InvalidArgument { field },
            CoreError::TargetNotFound { canister } => ErrorCode::TargetNotFound {
                canister_id: canister,
            },
            CoreError::TargetAlreadyRegistered { canister } => ErrorCode::TargetAlreadyRegistered {
                canister_id: canister,
            },
            CoreError::TooManyTargets { max } => ErrorCode::TooManyTargets { max: max as u64 },
            CoreError::NotController { canister, suite } => ErrorCode::NotController {
                canister_id: canister,
                chaos_system: suite,
            },
            CoreError::ControlUnverifiable { canister, .. } => ErrorCode::ControlUnverifiable {
                canister_id: canister,
            },
            CoreError::TargetProtected { canister } => ErrorCode::TargetProtected {
                canister_id: canister,
            },
            CoreError::ScenarioNotAllowed { canister, scenario } => ErrorCode::ScenarioNotAllowed {
                canister_id: canister,
                scenario: scenario.into(),
            },
            CoreError::DrillInProgress { canister, drill } => ErrorCode::DrillInProgress {
                canister_id: canister,
                drill_id: drill.0,
            },
            CoreError::DrillNotFound { drill } => ErrorCode::DrillNotFound { drill_id: drill.0 },
            CoreError::LastAdmin => ErrorCode::LastAdmin,
            CoreError::Hardening(_) => ErrorCode::Hardening,
            CoreError::Register(_) => ErrorCode::Register,
            CoreError::NoScan { canister } => ErrorCode::NoScan {
                canister_id: canister,
            },
            CoreError::HardeningRequestNotFound { request } => {
                ErrorCode::HardeningRequestNotFound {
                    request_id: request,
                }
            }
            CoreError::HardeningNotPending { request } => ErrorCode::HardeningNotPending {
                request_id: request,
            },
            CoreError::HardeningInProgress { canister, request } => {
                ErrorCode::HardeningInProgress {
                    canister_id: canister,
                    request_id: request,
                }
            }
            CoreError::SelfApproval { request } => ErrorCode::SelfApproval {
                request_id: request,
            },
            CoreError::ExperimentInProgress {
                canister,
                experiment,
            } => ErrorCode::ExperimentInProgress {
                canister_id: canister,
                experiment_id: experiment.0,
            },
            CoreError::Lab(e) => return Error::from(e),
            CoreError::StepMismatch { .. } | CoreError::NotInitialized => ErrorCode::Internal,
        };
        Error { code, message }
    }
}

impl From<LabError> for Error {
    fn from(e: LabError) -> Self {
        let message = e.to_string();
        let code = match e {
            LabError::NotAuthorized { required, .. } => ErrorCode::NotAuthorized {
                required: required.into(),
                held: None,
            },
            LabError::InvalidSpec { field, .. } | LabError::InvalidLimits { field, .. } => {
                ErrorCode::InvalidArgument { field }
            }
            LabError::Fault(f) => match f {
                FaultError::InvalidParameter { field, .. } => ErrorCode::InvalidArgument {
                    field: format!("fault.{field}"),
                },
                FaultError::UnknownTarget { canister } => ErrorCode::TargetNotFound {
                    canister_id: canister,
                },
                FaultError::Protected { canister }
                | FaultError::ProtectedDependent {
                    dependent: canister,
                    ..
                } => ErrorCode::TargetProtected {
                    canister_id: canister,
                },
                FaultError::NotAllowed { canister, kind } => ErrorCode::FaultNotAllowed {
                    canister_id: canister,
                    fault: kind.into(),
                },
                _ => ErrorCode::Experiment,
            },
            LabError::Safety(SafetyRefusal::Halted(_)) => ErrorCode::LabHalted,
            LabError::Safety(_) => ErrorCode::SafetyLimit,
            LabError::Council(CouncilError::MotionNotFound { motion }) => {
                ErrorCode::MotionNotFound {
                    motion_id: motion.0,
                }
            }
            LabError::Council(_) => ErrorCode::Council,
            LabError::ExperimentNotFound { id } => ErrorCode::ExperimentNotFound {
                experiment_id: id.0,
            },
            LabError::ScheduleNotFound { id } => ErrorCode::ScheduleNotFound { schedule_id: id.0 },
            LabError::WrongState { .. } | LabError::NotHalted => ErrorCode::Experiment,
            LabError::StepMismatch { .. } => ErrorCode::Internal,
        };
        Error { code, message }
    }
}
