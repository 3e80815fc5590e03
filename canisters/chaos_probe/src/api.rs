//! The Candid types of `candid/chaos_probe.did`: the probe's whole boundary. Field meanings,
//! units and limits are documented once, in the .did file; the Rust names match it field for
//! field.

use candid::{CandidType, Deserialize, Principal};
use serde_bytes::ByteBuf;

/// Install argument, and the optional upgrade argument (same type: an upgrade with an argument
/// replaces the configured principal, an upgrade without one keeps it).
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct InitArg {
    pub chaos_system: Principal,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ProbeHealthArgs {
    pub target: Principal,
    pub method: String,
    pub arg: Option<ByteBuf>,
    pub timeout_secs: Option<u32>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum CallOutcome {
    Replied { reply: ByteBuf, truncated: bool },
    Rejected { code: u32, message: String },
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ProbeResult {
    pub outcome: CallOutcome,
    pub latency_ns: u64,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct MethodProbe {
    pub method: String,
    pub arg: Option<ByteBuf>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ProbeAccessArgs {
    pub target: Principal,
    pub methods: Vec<MethodProbe>,
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccessVerdict {
    Accepted,
    Refused,
    Inconclusive,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct AccessResult {
    pub method: String,
    pub accepted: bool,
    pub verdict: AccessVerdict,
    pub reject_code: Option<u32>,
    pub message: String,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct CandidMetadata {
    pub public: bool,
    pub service: Option<String>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ProbeStatus {
    pub chaos_system: Principal,
    pub probes: u64,
    pub in_flight: u32,
}

/// The probe's one error type. Every variant says what to do next in the .did comments.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum ProbeError {
    Unauthorized {
        caller: Principal,
    },
    InvalidArgument {
        reason: String,
    },
    Busy {
        in_flight: u32,
        requested: u32,
        limit: u32,
    },
    InsufficientCycles {
        available: u128,
        required: u128,
    },
    CallNotSent {
        reason: String,
    },
    ProbeIsController {
        target: Principal,
    },
    ManagementRejected {
        method: String,
        code: u32,
        message: String,
    },
    UnexpectedReply {
        method: String,
        reason: String,
    },
}

impl ProbeError {
    pub fn invalid(reason: impl Into<String>) -> Self {
        ProbeError::InvalidArgument {
            reason: reason.into(),
        }
    }
}
