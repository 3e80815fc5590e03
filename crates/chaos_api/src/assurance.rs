//! Candid types of the assurance interface: hardening policy and scans, compliance reports,
//! the vulnerability register, approved hardening and production readiness. Conversions from
//! the core's domain types are in `convert_assurance`.

use crate::Error;
use candid::{CandidType, Deserialize, Nat, Principal};
use serde_bytes::ByteBuf;

/// `scan_targets` scans at most this many targets per call (bounded work per message).
pub const MAX_SCAN_TARGETS: usize = 10;

#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Critical,
    High,
    Medium,
    Low,
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Framework {
    Soc2,
    Iso27001,
    Nist80053,
    Gdpr,
}

/// Remediation deadlines per severity, in days from the moment a finding is opened.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct SlaDays {
    pub critical_days: u64,
    pub high_days: u64,
    pub medium_days: u64,
    pub low_days: u64,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct HardeningPolicy {
    pub min_freezing_threshold_days: u64,
    pub max_freezing_threshold_days: u64,
    pub min_runway_days: u64,
    /// SHA-256 hashes (32 bytes) of the approved, reproducibly built releases.
    pub approved_module_hashes: Vec<ByteBuf>,
    pub max_snapshot_age_ns: u64,
    pub max_drill_age_ns: u64,
    pub allow_public_logs: bool,
    pub min_memory_headroom_pct: u8,
    pub governance_controllers: Vec<Principal>,
    pub watchlist: Vec<Framework>,
    pub sla: SlaDays,
    pub max_controllers: u8,
    pub max_reserved_cycles_limit: Nat,
    pub reserved_cycles_limit_target: Nat,
    pub wasm_memory_limit_target_bytes: u64,
    pub max_evidence_age_ns: u64,
    /// Serve /scan and /readiness pages through http_request (anonymous). Default false.
    pub publish_reports: bool,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum ControlResult {
    Pass,
    Fail { reason: String },
    Unknown { reason: String },
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Mapping {
    pub framework: Framework,
    pub requirement: String,
}

/// A control of the catalog (`list_controls`).
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ControlInfo {
    pub id: String,
    pub title: String,
    pub rationale: String,
    pub severity: Severity,
    pub weight: u32,
    /// The evidence it reads: canister_status, canister_metadata, snapshot_list, drill_history,
    /// access_probe.
    pub reads: Vec<String>,
    pub remediation: String,
    pub auto_remediable: bool,
    pub mappings: Vec<Mapping>,
}

/// One control's result in a scan.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ControlReport {
    pub id: String,
    pub title: String,
    pub severity: Severity,
    pub weight: u32,
    pub result: ControlResult,
    /// What was read, as text.
    pub evidence: String,
    /// What a person does to fix it (empty when the control passes).
    pub remediation: String,
    pub auto_remediable: bool,
    pub mappings: Vec<Mapping>,
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequirementStatus {
    Satisfied,
    NotSatisfied,
    Undetermined,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct RequirementCoverage {
    pub requirement: String,
    pub title: String,
    pub controls: Vec<String>,
    pub passing: u16,
    pub failing: u16,
    pub unknown: u16,
    pub status: RequirementStatus,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct FrameworkCoverage {
    pub framework: Framework,
    pub name: String,
    pub requirements: Vec<RequirementCoverage>,
    pub satisfied: u16,
    pub not_satisfied: u16,
    pub undetermined: u16,
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum HardeningLevel {
    Basic,
    Standard,
    Advanced,
    Maximum,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ScanReport {
    pub target: Principal,
    pub scanned_at_ns: u64,
    pub collected_at_ns: u64,
    /// 0..=100: weight of the passing controls over all controls.
    pub score: u8,
    /// Share of the weight decided (pass or fail), 0..=100.
    pub evaluated_pct: u8,
    pub level: HardeningLevel,
    pub passed: u16,
    pub failed: u16,
    pub unknown: u16,
    /// In catalog order.
    pub controls: Vec<ControlReport>,
    /// Every framework.
    pub frameworks: Vec<FrameworkCoverage>,
    /// The frameworks the policy's watchlist tracks.
    pub watchlist: Vec<Framework>,
    /// The installed module's SHA-256 as canister_status reported it.
    pub module_hash: Option<ByteBuf>,
    /// Why canister_status could not be read (every status control is then unknown).
    pub status_error: Option<String>,
}

/// What one scan found, in short.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ScanHeadline {
    pub scanned_at_ns: u64,
    pub score: u8,
    pub evaluated_pct: u8,
    pub level: HardeningLevel,
    /// Ids of the failing controls.
    pub failing: Vec<String>,
    /// Ids of the controls without enough evidence.
    pub unknown: Vec<String>,
    pub status_error: Option<String>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ScanSummary {
    pub target: Principal,
    pub result: Result<ScanHeadline, Error>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct FrameworkReportArgs {
    pub target: Principal,
    pub framework: Framework,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Gap {
    pub control: String,
    pub title: String,
    pub severity: Severity,
    pub requirements: Vec<String>,
    /// "fail: <reason>" or "unknown: <reason>".
    pub finding: String,
    pub remediation: String,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct FrameworkReport {
    pub framework: Framework,
    pub framework_name: String,
    pub target: Principal,
    pub scanned_at_ns: u64,
    pub coverage: FrameworkCoverage,
    /// Failing controls first (most severe first), then unknown ones.
    pub gaps: Vec<Gap>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum FindingSource {
    FailedControl(String),
    AccessProbe(String),
    ExperimentDeviation(u64),
    Manual { reporter: Principal },
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum FindingStatus {
    Open,
    InProgress,
    Resolved,
    Verified,
    AcceptedRisk { reason: String, expires_at_ns: u64 },
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct FindingTransition {
    pub at_ns: u64,
    pub from: FindingStatus,
    pub to: FindingStatus,
    pub by: Principal,
    pub note: String,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub id: u64,
    pub target: Principal,
    pub source: FindingSource,
    pub severity: Severity,
    pub title: String,
    pub detail: String,
    pub status: FindingStatus,
    pub opened_at_ns: u64,
    pub opened_by: Principal,
    pub due_at_ns: u64,
    /// Open or in progress and past `due_at_ns` at the time of the call.
    pub overdue: bool,
    pub history: Vec<FindingTransition>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ListFindingsArgs {
    pub target: Option<Principal>,
    /// Open or in progress only.
    pub active_only: bool,
    pub overdue_only: bool,
    /// Smallest finding id to return; ids ascend.
    pub start: u64,
    /// 1..=100.
    pub length: u64,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ReportFindingArgs {
    pub target: Principal,
    pub severity: Severity,
    pub title: String,
    pub detail: String,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct TransitionFindingArgs {
    pub finding_id: u64,
    pub to: FindingStatus,
    pub note: String,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum Visibility {
    Controllers,
    Public,
    AllowedViewers(Vec<Principal>),
}

/// The fields of one `update_settings` call; null leaves a setting as it is.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct SettingsChange {
    pub freezing_threshold_secs: Option<u64>,
    pub wasm_memory_limit_bytes: Option<u64>,
    pub wasm_memory_threshold_bytes: Option<u64>,
    pub log_visibility: Option<Visibility>,
    pub snapshot_visibility: Option<Visibility>,
    pub status_visibility: Option<Visibility>,
    pub reserved_cycles_limit: Option<Nat>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Remediation {
    pub control: String,
    /// The fix with its parameters, e.g. "set freezing_threshold to 7776000 s".
    pub action: String,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct HardeningPlan {
    pub target: Principal,
    pub based_on_scan_at_ns: u64,
    pub remediations: Vec<Remediation>,
    pub settings: Option<SettingsChange>,
    pub take_snapshot: bool,
    /// The snapshot a new one replaces (the canister holds the maximum of 10).
    pub replace_snapshot: Option<ByteBuf>,
    /// The management calls that perform it, in order.
    pub effects: Vec<String>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct EffectOutcome {
    pub effect: String,
    pub succeeded: bool,
    pub detail: String,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum HardeningStatus {
    /// Waiting for an admin other than the proposer.
    Pending,
    /// Approved and being performed.
    Approved {
        by: Principal,
    },
    Rejected {
        by: Principal,
        note: String,
    },
    /// Performed and rescanned.
    Finished {
        outcomes: Vec<EffectOutcome>,
        after_score: u8,
    },
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct HardeningRequest {
    pub id: u64,
    pub plan: HardeningPlan,
    pub requested_by: Principal,
    pub requested_at_ns: u64,
    pub before_score: u8,
    /// The score of the rescan once finished.
    pub after_score: Option<u8>,
    pub finished_at_ns: Option<u64>,
    /// Finished, but the target was stopped and could not be started again: a person must look.
    pub needs_attention: bool,
    pub status: HardeningStatus,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct RequestHardeningArgs {
    pub target: Principal,
    /// Failing, automatically remediable control ids of the latest scan.
    pub controls: Vec<String>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct RejectHardeningArgs {
    pub request_id: u64,
    pub note: String,
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Category {
    Security,
    Performance,
    Monitoring,
    DisasterRecovery,
    Compliance,
    Operations,
    Documentation,
    Capacity,
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ReadinessVerdict {
    NotReady,
    ReadyWithConditions,
    Ready,
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trend {
    First,
    Improving,
    Stable,
    Declining,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ReadinessCriterion {
    pub id: String,
    pub category: Category,
    pub title: String,
    pub weight: u32,
    /// A failure makes the target not ready.
    pub blocking: bool,
    pub result: ControlResult,
    pub evidence: String,
    pub remediation: String,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct CategoryScore {
    pub category: Category,
    pub score: u8,
    pub passed: u16,
    pub failed: u16,
    pub unknown: u16,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ChecklistItem {
    pub step: u8,
    pub text: String,
    pub done: bool,
    pub sources: Vec<String>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Readiness {
    pub target: Principal,
    pub assessed_at_ns: u64,
    pub scan_at_ns: u64,
    pub verdict: ReadinessVerdict,
    pub overall_score: u8,
    pub categories: Vec<CategoryScore>,
    pub criteria: Vec<ReadinessCriterion>,
    pub blocking_issues: Vec<String>,
    pub conditions: Vec<String>,
    pub checklist: Vec<ChecklistItem>,
    pub trend: Trend,
    pub previous_at_ns: Option<u64>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ReadinessSummary {
    pub assessed_at_ns: u64,
    pub overall_score: u8,
    pub verdict: ReadinessVerdict,
    pub blocking: u16,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ReadinessReport {
    pub target: Principal,
    /// null until the first assess_readiness.
    pub latest: Option<Readiness>,
    /// Oldest first, at most 100.
    pub history: Vec<ReadinessSummary>,
    pub trend: Trend,
}
