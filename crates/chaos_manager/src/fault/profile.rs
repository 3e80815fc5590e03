//! What the fault catalog reads of the registry. [`FaultProfile`] is the proposed extension of
//! `target::Target`; [`Fleet`] is the read-only view the lead implements over `State`.

use super::FaultKind;
use crate::ids::DrillId;
use crate::target::Criticality;
use ic_principal::Principal;
use minicbor::{Decode, Encode};
use std::collections::BTreeMap;

/// Least privilege and topology of one target, for experiments. Proposed as
/// `#[n(8)] fault_profile: Option<FaultProfile>` on `Target`: a log written before the field
/// existed decodes it as `None`, read as [`FaultProfile::default`], which allows no fault at
/// all (an old registration grants nothing new).
#[derive(Clone, Debug, Default, PartialEq, Eq, Encode, Decode)]
pub struct FaultProfile {
    /// The fault types that may ever run on this target.
    #[n(0)]
    pub allowed_faults: Vec<FaultKind>,
    /// Canisters that call this one: a fault here degrades them (blast radius), and cascading
    /// and byzantine faults watch them.
    #[cbor(n(1), with = "crate::cbor::principals")]
    pub dependents: Vec<Principal>,
    /// Methods only authorized callers may use: the security-breach fault calls them as an
    /// unprivileged caller.
    #[n(2)]
    pub privileged_methods: Vec<String>,
    /// The target embeds `crates/chaos_hooks` with chaos_system as its control principal.
    #[n(3)]
    pub hooks: bool,
    /// Query method answering whether the target's own invariants hold (data corruption
    /// measures whether and how fast it notices).
    #[n(4)]
    pub invariant_method: Option<String>,
}

/// Longest list of dependents or privileged methods a profile may hold.
pub const MAX_PROFILE_ENTRIES: usize = 32;

impl FaultProfile {
    pub fn allows(&self, kind: FaultKind) -> bool {
        self.allowed_faults.contains(&kind)
    }

    /// Validates what does not need the network; the error names the field and the fix.
    pub fn validate(&self, owner: &Principal) -> Result<(), (String, String)> {
        let mut kinds = self.allowed_faults.clone();
        kinds.sort();
        kinds.dedup();
        if kinds.len() != self.allowed_faults.len() {
            return Err(("allowed_faults".into(), "lists a fault type twice".into()));
        }
        if self.dependents.len() > MAX_PROFILE_ENTRIES
            || self.privileged_methods.len() > MAX_PROFILE_ENTRIES
        {
            return Err((
                "dependents / privileged_methods".into(),
                format!("at most {MAX_PROFILE_ENTRIES} entries each"),
            ));
        }
        if self.dependents.contains(owner) {
            return Err((
                "dependents".into(),
                "a canister cannot depend on itself".into(),
            ));
        }
        if let Some(m) = self
            .privileged_methods
            .iter()
            .chain(self.invariant_method.iter())
            .find(|m| !is_method_name(m))
        {
            return Err((
                "privileged_methods / invariant_method".into(),
                format!("`{m}` is not a Candid method name of 1 to 64 bytes ([A-Za-z0-9_])"),
            ));
        }
        Ok(())
    }
}

pub fn is_method_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= crate::target::MAX_METHOD_BYTES
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A registered target as experiments see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetView {
    pub canister: Principal,
    pub name: String,
    pub criticality: Criticality,
    /// Never acted on, never in a blast radius.
    pub protected: bool,
    /// The health probe method (the drill's probe): cascading and byzantine faults watch
    /// dependents through it.
    pub probe_method: String,
    pub profile: FaultProfile,
}

impl TargetView {
    pub fn is_critical(&self) -> bool {
        self.criticality == Criticality::Critical
    }
}

/// Something else acting on a target: a target hosts one activity at a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Occupant {
    Drill(DrillId),
    /// An approved hardening request being performed (it stops and starts the target).
    Hardening(u64),
    Experiment(crate::experiment::ExperimentId),
}

/// The registry and the other activities, as the core reads them. The lead implements it over
/// `State` (targets + drills + hardening); tests and simulators use [`FleetSnapshot`].
pub trait Fleet {
    fn target(&self, canister: &Principal) -> Option<TargetView>;
    fn target_count(&self) -> usize;
    /// A running drill or hardening on the target (experiments are known to the lab itself).
    fn busy(&self, canister: &Principal) -> Option<Occupant>;
    /// A canister steady-state probes may call: a registered target or a declared dependent
    /// of one (chaos_probe never calls canisters outside the registry's topology).
    fn knows(&self, canister: &Principal) -> bool {
        self.target(canister).is_some()
    }
    /// Whether a chaos_probe canister is configured (every experiment's probes go through it).
    fn probe_configured(&self) -> bool {
        true
    }
}

/// An owned [`Fleet`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FleetSnapshot {
    pub targets: BTreeMap<Principal, TargetView>,
    pub busy: BTreeMap<Principal, Occupant>,
}

impl Fleet for FleetSnapshot {
    fn target(&self, canister: &Principal) -> Option<TargetView> {
        self.targets.get(canister).cloned()
    }

    fn target_count(&self) -> usize {
        self.targets.len()
    }

    fn busy(&self, canister: &Principal) -> Option<Occupant> {
        self.busy.get(canister).copied()
    }

    fn knows(&self, canister: &Principal) -> bool {
        self.targets.contains_key(canister)
            || self
                .targets
                .values()
                .any(|t| t.profile.dependents.contains(canister))
    }
}
