//! Candid types of the experiment part of `candid/chaos_system.did`: fault profiles and specs,
//! experiments and their reports, safety limits, the council and schedules. Field meanings,
//! units and limits are documented once, in the .did file; conversions are in
//! `convert_experiment`.

use candid::{CandidType, Deserialize, Nat, Principal};

#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum FaultKind {
    NetworkPartition,
    ResourceExhaustion,
    ServiceFailure,
    LatencyInjection,
    DataCorruption,
    SecurityBreach,
    CascadingFailure,
    ByzantineFault,
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct FaultProfile {
    pub allowed_faults: Vec<FaultKind>,
    pub dependents: Vec<Principal>,
    pub privileged_methods: Vec<String>,
    pub hooks: bool,
    pub invariant_method: Option<String>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum FailureMode {
    Stop,
    Reject {
        methods: Vec<String>,
        probability_ppm: u32,
    },
    Trap {
        methods: Vec<String>,
        probability_ppm: u32,
    },
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum ExhaustionMode {
    Freeze {
        freezing_threshold_secs: u64,
    },
    SqueezeMemory {
        wasm_memory_limit_bytes: u64,
    },
    Ballast {
        bytes: u64,
    },
    BurnInstructions {
        methods: Vec<String>,
        instructions: u64,
    },
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum FaultSpec {
    NetworkPartition {
        groups: Vec<Vec<Principal>>,
        methods: Vec<String>,
    },
    ResourceExhaustion {
        target: Principal,
        mode: ExhaustionMode,
    },
    ServiceFailure {
        target: Principal,
        mode: FailureMode,
    },
    LatencyInjection {
        target: Principal,
        methods: Vec<String>,
        rounds: u32,
        probability_ppm: u32,
    },
    DataCorruption {
        target: Principal,
        intensity: u32,
    },
    SecurityBreach {
        target: Principal,
        methods: Vec<String>,
    },
    CascadingFailure {
        dependency: Principal,
        mode: FailureMode,
        dependents: Vec<Principal>,
    },
    ByzantineFault {
        target: Principal,
        methods: Vec<String>,
        probability_ppm: u32,
        consumers: Vec<Principal>,
    },
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum Tolerance {
    Answers,
    ValueWithin { min: u64, max: u64 },
    LatencyAtMost { max_ns: u64 },
    InvariantHolds,
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Phases {
    pub before: bool,
    pub during: bool,
    pub after: bool,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ProbeDef {
    pub name: String,
    pub canister: Principal,
    pub method: String,
    pub tolerance: Tolerance,
    pub phases: Phases,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Hypothesis {
    pub title: String,
    pub probes: Vec<ProbeDef>,
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum RollbackStrategy {
    Always,
    OnDeviation,
    Never,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ExperimentSpec {
    pub title: String,
    pub fault: FaultSpec,
    pub hypothesis: Hypothesis,
    pub duration_ns: u64,
    pub probe_interval_ns: u64,
    pub rollback: RollbackStrategy,
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExperimentStatus {
    Draft,
    PendingApproval,
    Running,
    RollingBack,
    Completed,
    Aborted,
    Failed,
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExperimentPhase {
    Preflight,
    Inject,
    Observe,
    Rollback,
    Verify,
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cause {
    Operator(Principal),
    Schedule(u64),
    MaxDuration,
    StopCondition,
    EmergencyStop(Principal),
    Engine,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ExperimentStep {
    pub step: u32,
    pub phase: ExperimentPhase,
    pub action: String,
    pub detail: String,
    pub backoff: bool,
    pub cause: Cause,
    pub started_at_ns: u64,
    pub finished_at_ns: Option<u64>,
    pub succeeded: Option<bool>,
    pub observation: String,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct SteadyStateCheck {
    pub probe: String,
    pub phase: ExperimentPhase,
    pub at_ns: u64,
    pub within: bool,
    pub detail: String,
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunState {
    Running,
    Stopping,
    Stopped,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct TargetStatus {
    pub canister_id: Principal,
    pub status: RunState,
    pub freezing_threshold_secs: u64,
    pub wasm_memory_limit_bytes: Option<u64>,
    pub cycles: Nat,
    pub idle_cycles_burned_per_day: Nat,
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum WatchPurpose {
    Invariant,
    DependentHealth,
    ConsumerCheck,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct WatchRecord {
    pub canister_id: Principal,
    pub purpose: WatchPurpose,
    pub samples: u32,
    pub degraded: u32,
    pub first_degraded_after_ns: Option<u64>,
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct FaultFindings {
    pub watches: Vec<WatchRecord>,
    pub probed_methods: Vec<String>,
    pub accepted_methods: Vec<String>,
    pub inconclusive_methods: Vec<String>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum Alert {
    ErrorRate { rate_ppm: u32 },
    LowCycles { canister_id: Principal, cycles: Nat },
    SlowProbe { latency_ns: u64 },
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExperimentVerdict {
    Completed,
    Aborted,
    Failed,
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PhaseChecks {
    pub within: u32,
    pub total: u32,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ExperimentReport {
    pub verdict: ExperimentVerdict,
    pub hypothesis_held: Option<bool>,
    pub before: PhaseChecks,
    pub during: PhaseChecks,
    pub after: PhaseChecks,
    pub resilience_score: Option<u8>,
    pub findings: FaultFindings,
    pub rolled_back: bool,
    pub rollback_failures: Vec<String>,
    pub restored: Option<bool>,
    pub needs_attention: bool,
    pub abort_reason: Option<String>,
    pub alerts: Vec<Alert>,
    pub injected_at_ns: Option<u64>,
    pub finished_at_ns: u64,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Experiment {
    pub id: u64,
    pub spec: ExperimentSpec,
    pub status: ExperimentStatus,
    pub phase: ExperimentPhase,
    pub requested_by: Principal,
    pub origin: Cause,
    pub created_at_ns: u64,
    pub seed: u64,
    pub motion_id: Option<u64>,
    pub started_at_ns: Option<u64>,
    pub deadline_ns: Option<u64>,
    pub acted_on: Vec<Principal>,
    pub affected: Vec<Principal>,
    pub originals: Vec<TargetStatus>,
    pub final_status: Vec<TargetStatus>,
    pub injected_at_ns: Option<u64>,
    pub abort_reason: Option<String>,
    pub cancelled: Option<String>,
    pub steps: Vec<ExperimentStep>,
    pub step_count: u64,
    pub checks: Vec<SteadyStateCheck>,
    pub report: Option<ExperimentReport>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ExperimentSummary {
    pub id: u64,
    pub title: String,
    pub fault: FaultKind,
    pub status: ExperimentStatus,
    pub requested_by: Principal,
    pub origin: Cause,
    pub created_at_ns: u64,
    pub started_at_ns: Option<u64>,
    pub acted_on: Vec<Principal>,
    pub motion_id: Option<u64>,
    pub resilience_score: Option<u8>,
    pub needs_attention: bool,
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct ListExperimentsArgs {
    pub status: Option<ExperimentStatus>,
    pub target: Option<Principal>,
    pub start: Option<u64>,
    pub length: Option<u64>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct CreateExperimentArgs {
    pub spec: ExperimentSpec,
    pub idempotency_key: Option<serde_bytes::ByteBuf>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct CreateExperimentReply {
    pub experiment_id: u64,
    pub duplicate: bool,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct AbortExperimentArgs {
    pub experiment_id: u64,
    pub note: String,
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct EmergencyStopReply {
    pub aborted: Vec<u64>,
    pub withdrawn: Vec<u64>,
}

// ---- safety limits

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Evaluator {
    BlastRadiusAtMost(u32),
    NoCriticalTarget,
    NoDestructiveFault,
    DurationAtMost(u64),
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum AgentId {
    #[serde(rename = "principal")]
    Principal(Principal),
    Evaluator(Evaluator),
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum ApproverSet {
    AllAgents,
    Listed(Vec<AgentId>),
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum ApprovalRule {
    AutoApproved,
    Quorum {
        approvers: ApproverSet,
        min_approved: u32,
    },
    QuorumPercentage {
        approvers: ApproverSet,
        percent: u8,
    },
    AnyOf(Vec<ApprovalRule>),
    AllOf(Vec<ApprovalRule>),
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ApprovalPolicy {
    pub always: bool,
    pub rule: ApprovalRule,
    pub deadline_ns: u64,
    pub quiet_ns: Option<u64>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct StopConditions {
    pub max_consecutive_deviations: u32,
    pub cycles_floor: Option<Nat>,
    pub max_error_rate_ppm: u32,
    pub min_samples: u32,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct MonitoringThresholds {
    pub warn_error_rate_ppm: u32,
    pub warn_cycles: Option<Nat>,
    pub warn_latency_ns: Option<u64>,
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    pub base_ns: u64,
    pub max_ns: u64,
    pub max_attempts: u32,
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct BreakerConfig {
    pub failure_threshold: u32,
    pub open_for_ns: u64,
    pub max_open_for_ns: u64,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct SafetyLimits {
    pub max_duration_ns: u64,
    pub max_targets: u32,
    pub max_target_share_pct: u8,
    pub max_concurrent: u32,
    pub approval: ApprovalPolicy,
    pub stop: StopConditions,
    pub monitoring: MonitoringThresholds,
    pub min_probe_interval_ns: u64,
    pub backoff: Backoff,
    pub breaker: BreakerConfig,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Halt {
    pub since_ns: u64,
    pub by: Principal,
    pub reason: String,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct LabStatus {
    pub halted: Option<Halt>,
    pub active: u64,
    pub pending_approval: u64,
    pub experiments: u64,
    pub live_schedules: u64,
    pub open_motions: u64,
    pub in_flight: u64,
    pub chaos_probe: Option<Principal>,
    pub limits: SafetyLimits,
}

// ---- council

#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum AgentKind {
    Person,
    Canister,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Agent {
    pub principal: Principal,
    pub kind: AgentKind,
    pub name: String,
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Vote {
    Approve,
    Reject,
    Abstain,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Position {
    pub agent: AgentId,
    pub vote: Vote,
    pub reason: String,
    pub at_ns: u64,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum MotionStatus {
    Open,
    Approved { at_ns: u64 },
    Rejected { at_ns: u64, reason: String },
    Cancelled { at_ns: u64, reason: String },
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Motion {
    pub id: u64,
    pub experiment_id: u64,
    pub title: String,
    pub fault: FaultKind,
    pub destructive: bool,
    pub targets: Vec<Principal>,
    pub critical: Vec<Principal>,
    pub duration_ns: u64,
    pub reasons: Vec<String>,
    pub rule: ApprovalRule,
    pub proposer: Principal,
    pub opened_at_ns: u64,
    pub deadline_ns: u64,
    pub original_deadline_ns: u64,
    pub positions: Vec<Position>,
    pub status: MotionStatus,
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct ListMotionsArgs {
    pub open_only: bool,
    pub start: Option<u64>,
    pub length: Option<u64>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct CastPositionArgs {
    pub motion_id: u64,
    pub vote: Vote,
    pub reason: String,
}

// ---- schedules

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ScheduleExperimentArgs {
    pub spec: ExperimentSpec,
    pub first_at_ns: u64,
    pub interval_ns: Option<u64>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ScheduleRun {
    pub at_ns: u64,
    pub result: Result<u64, String>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Schedule {
    pub id: u64,
    pub spec: ExperimentSpec,
    pub created_by: Principal,
    pub created_at_ns: u64,
    pub next_at_ns: Option<u64>,
    pub interval_ns: Option<u64>,
    pub fired: u32,
    pub last: Option<ScheduleRun>,
    pub cancelled: bool,
}
