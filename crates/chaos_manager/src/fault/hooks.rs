//! The core's mirror of the cooperative hook contract (`docs/chaos-hooks-contract.md`): the
//! plan chaos_system sends to a target's `chaos_hooks_set_plan`. The shell converts it to the
//! Candid `FaultPlan` one field for one field.

use crate::ids::TimestampNs;
use ic_principal::Principal;
use minicbor::{Decode, Encode};
use std::fmt;

/// A probability in parts per million (the contract's `probability_ppm`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
#[cbor(transparent)]
pub struct Ppm(#[n(0)] pub u32);

impl Ppm {
    pub const ALWAYS: Ppm = Ppm(1_000_000);

    /// 1 ppm to 1,000,000 ppm: a zero probability injects nothing and is refused as a mistake.
    pub fn is_valid(self) -> bool {
        (1..=Self::ALWAYS.0).contains(&self.0)
    }
}

impl fmt::Display for Ppm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.4}%", self.0 as f64 / 10_000.0)
    }
}

/// One fault of a plan. Methods: empty = every guarded method.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum HookFault {
    #[n(0)]
    Reject {
        #[n(0)]
        methods: Vec<String>,
        #[n(1)]
        probability: Ppm,
    },
    #[n(1)]
    Trap {
        #[n(0)]
        methods: Vec<String>,
        #[n(1)]
        probability: Ppm,
    },
    #[n(2)]
    Delay {
        #[n(0)]
        methods: Vec<String>,
        #[n(1)]
        rounds: u32,
        #[n(2)]
        probability: Ppm,
    },
    #[n(3)]
    Partition {
        #[cbor(n(0), with = "crate::cbor::principals")]
        blocked_callers: Vec<Principal>,
        #[n(1)]
        methods: Vec<String>,
    },
    #[n(4)]
    Perturb {
        #[n(0)]
        methods: Vec<String>,
        #[n(1)]
        probability: Ppm,
    },
    #[n(5)]
    Corrupt {
        #[n(0)]
        intensity: u32,
    },
    #[n(6)]
    BurnInstructions {
        #[n(0)]
        methods: Vec<String>,
        #[n(1)]
        instructions: u64,
    },
    #[n(7)]
    Ballast {
        #[n(0)]
        bytes: u64,
    },
}

impl HookFault {
    pub fn name(&self) -> &'static str {
        match self {
            HookFault::Reject { .. } => "reject",
            HookFault::Trap { .. } => "trap",
            HookFault::Delay { .. } => "delay",
            HookFault::Partition { .. } => "partition",
            HookFault::Perturb { .. } => "perturb",
            HookFault::Corrupt { .. } => "corrupt",
            HookFault::BurnInstructions { .. } => "burn_instructions",
            HookFault::Ballast { .. } => "ballast",
        }
    }

    /// A corruption changes the target's state: undoing it needs the restore-point snapshot.
    pub fn corrupts_state(&self) -> bool {
        matches!(self, HookFault::Corrupt { .. })
    }
}

/// What `chaos_hooks_set_plan` receives.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct FaultPlan {
    /// The experiment's id: a target's `chaos_hooks_status` names who set its plan.
    #[n(0)]
    pub plan_id: u64,
    /// The hooks clear the plan by themselves at this time: a dead man's switch, so a fault
    /// never outlives its experiment even when chaos_system cannot reach the target.
    #[n(1)]
    pub expires_at: TimestampNs,
    /// Seed of the hooks' deterministic generator, recorded with the experiment so a run can
    /// be reproduced.
    #[n(2)]
    pub seed: u64,
    #[n(3)]
    pub faults: Vec<HookFault>,
}
