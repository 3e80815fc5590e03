//! The targets registry: canisters the suite may act on, with their objectives.

use crate::drill::ScenarioKind;
use crate::error::CoreError;
use crate::fault::FaultProfile;
use crate::ids::DurationNs;
use ic_principal::Principal;
use minicbor::{Decode, Encode};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Encode, Decode)]
#[cbor(index_only)]
pub enum Criticality {
    #[n(0)]
    Low,
    #[n(1)]
    Medium,
    #[n(2)]
    High,
    #[n(3)]
    Critical,
}

/// Recovery point objective: how much may be lost, in operations and in age of the restore point.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct RpoObjective {
    #[n(0)]
    pub max_operations_lost: u64,
    #[n(1)]
    pub max_age: DurationNs,
}

/// A registered target as the registry holds it.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Target {
    #[cbor(n(0), with = "crate::cbor::principal")]
    pub canister_id: Principal,
    #[n(1)]
    pub name: String,
    #[n(2)]
    pub criticality: Criticality,
    /// Protected targets are never acted on: drills and faults against them are refused.
    #[n(3)]
    pub protected: bool,
    #[n(4)]
    pub rto_objective: DurationNs,
    #[n(5)]
    pub rpo_objective: RpoObjective,
    /// Query method returning `record { operation_count : nat64; state_hash : blob }`.
    #[n(6)]
    pub probe_method: String,
    /// Least privilege: the drill scenarios that may ever run on this target.
    #[n(7)]
    pub allowed_scenarios: Vec<ScenarioKind>,
    /// Least privilege and topology for experiments: the fault types that may ever run on
    /// this target, its dependents, privileged and invariant methods, whether it embeds the
    /// hooks. `None` (every registration written before the field existed) allows no fault.
    #[n(8)]
    pub fault_profile: Option<FaultProfile>,
}

pub const MAX_NAME_BYTES: usize = 64;
pub const MAX_METHOD_BYTES: usize = 64;
pub const MAX_TARGETS: usize = 1_000;

impl Target {
    /// Validates everything that does not need the network.
    pub fn validate(&self) -> Result<(), CoreError> {
        let invalid = |field: &str, reason: &str| CoreError::InvalidArgument {
            field: field.to_string(),
            reason: reason.to_string(),
        };
        if self.name.trim().is_empty() || self.name.len() > MAX_NAME_BYTES {
            return Err(invalid("name", "must be 1 to 64 bytes"));
        }
        if self.canister_id == Principal::anonymous()
            || self.canister_id == Principal::management_canister()
        {
            return Err(invalid("canister_id", "must be a canister id"));
        }
        if !is_method_name(&self.probe_method) {
            return Err(invalid(
                "probe_method",
                "must be a Candid method name of 1 to 64 bytes ([A-Za-z0-9_])",
            ));
        }
        if self.rto_objective.0 == 0 {
            return Err(invalid("rto_objective_ns", "must be greater than zero"));
        }
        let mut kinds = self.allowed_scenarios.clone();
        kinds.sort();
        kinds.dedup();
        if kinds.len() != self.allowed_scenarios.len() {
            return Err(invalid("allowed_scenarios", "lists a scenario twice"));
        }
        if let Some(profile) = &self.fault_profile {
            profile
                .validate(&self.canister_id)
                .map_err(|(field, reason)| CoreError::InvalidArgument {
                    field: format!("fault_profile.{field}"),
                    reason,
                })?;
        }
        Ok(())
    }
}

fn is_method_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_METHOD_BYTES
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// What the shell observed about control before registering: the target's controllers as
/// `canister_status` reported them, or why the status could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ControlEvidence {
    Controllers(Vec<Principal>),
    StatusUnavailable(String),
}
