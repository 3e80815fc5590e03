//! Candid types of `candid/chaos_hooks.did`: what chaos_system sends and reads. Embedders copy
//! the same types into their own `.did` (see [`crate::contract`]).

use candid::{CandidType, Deserialize, Principal};

/// Nanoseconds since the Unix epoch (IC time).
pub type TimestampNs = u64;
/// A duration in nanoseconds.
pub type DurationNs = u64;
/// Parts per million: 0 = never, 1_000_000 = always.
pub type Ppm = u32;
/// The denominator of [`Ppm`].
pub const PPM_ALWAYS: Ppm = 1_000_000;

/// A set of faults active until `expires_at_ns`. Setting a plan replaces the previous one.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct FaultPlan {
    /// chaos_system's identifier; a retried `set_plan` with the same id and faults is a no-op.
    pub plan_id: u64,
    /// The hooks clear the plan by themselves at this time (a dead man's switch).
    pub expires_at_ns: TimestampNs,
    /// Seed of the deterministic generator (chaos_system draws it from `raw_rand`).
    pub seed: u64,
    pub faults: Vec<Fault>,
}

/// One fault. `methods` empty = every guarded method (for `Perturb`: every method that calls
/// `perturb`).
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// service_failure: the call is rejected (reject code 4, CanisterReject).
    Reject {
        methods: Vec<String>,
        probability_ppm: Ppm,
    },
    /// service_failure: the call traps (reject code 5, CanisterError); nothing it did is kept.
    Trap {
        methods: Vec<String>,
        probability_ppm: Ppm,
    },
    /// latency_injection: the update waits `rounds` self-call round trips before running.
    Delay {
        methods: Vec<String>,
        rounds: u32,
        probability_ppm: Ppm,
    },
    /// network_partition: calls from `blocked_callers` are rejected.
    Partition {
        blocked_callers: Vec<Principal>,
        methods: Vec<String>,
    },
    /// byzantine_fault: answers passed through `perturb` are altered by the target's function.
    Perturb {
        methods: Vec<String>,
        probability_ppm: Ppm,
    },
    /// data_corruption: runs the target's corruption function once, when the plan is set.
    Corrupt { intensity: u32 },
    /// resource_exhaustion: every matching call burns this many instructions (capped).
    BurnInstructions {
        methods: Vec<String>,
        instructions: u64,
    },
    /// resource_exhaustion: the heap holds this many extra bytes while the plan is active.
    Ballast { bytes: u64 },
}

/// Errors of the control methods.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum HookError {
    /// The caller is not the configured chaos_system principal.
    NotChaosSystem,
    /// No chaos_system principal is configured: a controller calls `chaos_hooks_configure`.
    NotConfigured,
    /// `chaos_hooks_configure` is for the canister's controllers only.
    NotController,
    /// The plan is malformed; the text says what to fix.
    InvalidPlan(String),
    /// The argument of `chaos_hooks_configure` is unusable (e.g. the anonymous principal).
    InvalidConfig(String),
    /// The plan asks for corruption but this canister registered no corruption function.
    NoCorruptionHook,
    /// A delay, burn, ballast or duration exceeds this canister's caps ([`HookCaps`]).
    CapExceeded(String),
}

/// Result of the update control methods.
pub type HookResult = Result<(), HookError>;

/// The most a plan may ask of this canister; set by the embedder, bounded by hard limits.
#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct HookCaps {
    /// Most self-call round trips one delayed call waits.
    pub max_delay_rounds: u32,
    /// Most instructions one update burns (queries burn at most a fixed query cap).
    pub max_burn_instructions: u64,
    /// Most heap bytes of ballast.
    pub max_ballast_bytes: u64,
    /// Longest `expires_at_ns - now` a plan may have.
    pub max_plan_duration_ns: DurationNs,
}

/// What the target's corruption function reports (the hooks add plan id and time).
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct CorruptionReport {
    pub plan_id: u64,
    pub at_ns: TimestampNs,
    pub intensity: u32,
    /// Items (e.g. balances) the function changed.
    pub items_changed: u64,
    /// What was changed, for the experiment report.
    pub detail: String,
}

/// What the target's corruption function returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Corruption {
    pub items_changed: u64,
    pub detail: String,
}

/// How many calls each fault kind acted on, since the canister was installed or upgraded.
/// Only updates are counted: the IC discards every write of a query, and of a trapped call.
#[derive(CandidType, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InjectionCounts {
    pub rejected: u64,
    pub partitioned: u64,
    pub delayed: u64,
    pub perturbed: u64,
    pub burned: u64,
}

/// Answer of `chaos_hooks_status`.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct HookStatus {
    /// The active plan's id; null when none is active (an expired plan is not active).
    pub active_plan: Option<u64>,
    pub expires_at_ns: Option<TimestampNs>,
    pub faults: Vec<Fault>,
    /// Guarded update calls seen while a plan was active.
    pub guarded_calls: u64,
    /// Update calls a fault acted on (a call burned and delayed counts once here, once in each
    /// of `counts.burned` and `counts.delayed`).
    pub injected: u64,
    pub ballast_bytes: u64,
    pub counts: InjectionCounts,
    pub chaos_system: Option<Principal>,
    pub caps: HookCaps,
    /// The method names plans may target; empty = not declared (any name accepted).
    pub guarded_methods: Vec<String>,
    /// Methods whose answers `perturb` can alter; empty = not declared.
    pub perturbable_methods: Vec<String>,
    /// The last corruption applied (corruption outlives the plan: only a restore undoes it).
    pub last_corruption: Option<CorruptionReport>,
}
