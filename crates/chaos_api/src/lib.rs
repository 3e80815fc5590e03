//! Candid types of `candid/chaos_system.did`. Domain types stay in `chaos_manager`; these DTOs
//! are the boundary, converted with `From`, so the API and the stable event encoding evolve
//! separately.

pub mod assurance;
mod convert;
mod convert_assurance;
mod convert_experiment;
mod convert_findings;
mod convert_readiness;
mod error;
pub mod experiment;
pub mod http;
pub mod render;

pub use assurance::*;
pub use convert_assurance::{describe_remediation, describe_settings};
pub use error::{Error, ErrorCode};
pub use experiment::*;
pub use http::{HttpRequest, HttpResponse};

use candid::{CandidType, Deserialize, Principal};

/// Page sizes are capped so every query does bounded work.
pub const MAX_PAGE: u64 = 100;
/// `verify_log` checks at most this many entries per call.
pub const MAX_VERIFY: u64 = 10_000;
/// `list_motions` pages are smaller: a motion carries up to 50 positions with reasons of up to
/// 512 bytes, so 100 of them could exceed the 2 MiB reply limit (`get_motion` shows one).
pub const MAX_MOTIONS_PAGE: u64 = 20;
/// Bytes of free text an experiment view shows per step observation, step detail, check
/// detail and reason (the journal keeps the full, already capped, text): with 500 steps and
/// 1,000 checks a `get_experiment` reply stays far under 2 MiB.
pub const MAX_VIEW_TEXT_BYTES: usize = 512;
/// Bytes of a probe name an experiment view shows in each steady-state check.
pub const MAX_VIEW_NAME_BYTES: usize = 128;
/// Bytes of a hypothesis probe's name (`create_experiment`, `schedule_experiment`): the name
/// is repeated in every steady-state check.
pub const MAX_PROBE_NAME_BYTES: usize = 64;
/// Bytes of an abort note or an emergency-stop reason.
pub const MAX_NOTE_BYTES: usize = 1024;

/// Bytes of an event's one-line summary in `read_events` (100 events per page stay far under
/// the 2 MiB reply limit whatever an event carries).
pub const MAX_SUMMARY_BYTES: usize = 8 * 1024;

/// The marker [`truncate_text`] ends a shortened text with.
pub const TRUNCATED_MARKER: &str = "… [truncated]";

/// `s` when it has at most `max` bytes; else its longest prefix ending on a char boundary
/// followed by [`TRUNCATED_MARKER`], `max` bytes at most in all (for `max` at least the
/// marker's length).
pub fn truncate_text(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut keep = max.saturating_sub(TRUNCATED_MARKER.len());
    while !s.is_char_boundary(keep) {
        keep -= 1;
    }
    format!("{}{TRUNCATED_MARKER}", &s[..keep])
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum InstallArg {
    Init(InitArg),
    Upgrade(Option<UpgradeArg>),
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct InitArg {
    pub admins: Vec<Principal>,
    pub dedup_window_ns: Option<u64>,
    /// The chaos_probe canister chaos_system asks to call targets as a neutral principal.
    pub chaos_probe: Option<Principal>,
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct UpgradeArg {
    pub dedup_window_ns: Option<u64>,
    /// A new chaos_probe; `None` keeps the configured one.
    pub chaos_probe: Option<Principal>,
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Admin,
    Operator,
    Auditor,
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Criticality {
    Low,
    Medium,
    High,
    Critical,
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    CanisterLoss,
    BadUpgrade,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct TargetSpec {
    pub canister_id: Principal,
    pub name: String,
    pub criticality: Criticality,
    pub protected: bool,
    pub rto_objective_ns: u64,
    pub rpo_max_operations_lost: u64,
    pub rpo_max_age_ns: u64,
    pub probe_method: String,
    pub allowed_scenarios: Vec<Scenario>,
    /// Least privilege and topology for experiments; `None` allows no fault.
    pub fault_profile: Option<FaultProfile>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct GrantRoleArgs {
    pub principal: Principal,
    pub role: Role,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct StartDrillArgs {
    pub target: Principal,
    pub scenario: Scenario,
    /// Time between the restore point and the disaster; default 0, at most 24 h.
    pub hold_ns: Option<u64>,
    /// A retry with the same key within the dedup window returns the same drill.
    pub idempotency_key: Option<serde_bytes::ByteBuf>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct StartDrillReply {
    pub drill_id: u64,
    /// True when this call was a retry and no new drill was started.
    pub duplicate: bool,
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum DrillState {
    Running,
    Finished,
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Passed,
    Failed,
    Aborted,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct TimelineEntry {
    pub step: u16,
    pub phase: String,
    pub action: String,
    pub effect: String,
    pub started_at_ns: u64,
    pub finished_at_ns: Option<u64>,
    /// None while in flight.
    pub succeeded: Option<bool>,
    pub detail: String,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Criterion {
    pub name: String,
    pub passed: bool,
    pub detail: String,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Rpo {
    pub operations_lost: u64,
    pub restore_point_age_ns: u64,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct DrillReport {
    pub verdict: Verdict,
    pub rto_ns: Option<u64>,
    pub rpo: Option<Rpo>,
    pub criteria: Vec<Criterion>,
    pub finished_at_ns: u64,
    pub abort_reason: Option<String>,
    pub needs_attention: bool,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct RestorePoint {
    pub snapshot_id: serde_bytes::ByteBuf,
    pub taken_at_ns: u64,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Drill {
    pub id: u64,
    pub target: Principal,
    pub scenario: Scenario,
    pub state: DrillState,
    pub requested_by: Principal,
    pub started_at_ns: u64,
    pub hold_ns: u64,
    pub rto_objective_ns: u64,
    pub rpo_max_operations_lost: u64,
    pub rpo_max_age_ns: u64,
    pub restore_point: Option<RestorePoint>,
    pub timeline: Vec<TimelineEntry>,
    pub report: Option<DrillReport>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ListDrillsArgs {
    pub target: Option<Principal>,
    /// Drill ids are event sequence numbers; listing is newest first from `start` down.
    pub start: Option<u64>,
    pub length: Option<u64>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Page {
    pub start: u64,
    pub length: u64,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct EventRecord {
    pub seq: u64,
    pub time_ns: u64,
    pub kind: String,
    pub caller: Principal,
    pub correlation_id: String,
    pub idempotency_key: Option<serde_bytes::ByteBuf>,
    /// Human-readable rendering of the payload.
    pub summary: String,
    pub prev_hash: serde_bytes::ByteBuf,
    pub hash: serde_bytes::ByteBuf,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct EventsPage {
    pub events: Vec<EventRecord>,
    pub total: u64,
    pub tip_hash: serde_bytes::ByteBuf,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct VerifyReport {
    pub start: u64,
    pub end: u64,
    pub checked: u64,
    pub tip_hash: serde_bytes::ByteBuf,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Status {
    pub events: u64,
    pub targets: u64,
    pub drills: u64,
    pub running_drills: u64,
    pub upgrades: u64,
    pub your_role: Option<Role>,
}

pub type UnitResult = Result<(), Error>;

pub use convert::{describe_effect, describe_outcome};
pub use convert_experiment::{
    describe_observation, experiment_summary, experiment_view, target_status, MAX_CHECKS_SHOWN,
    MAX_STEPS_SHOWN,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_keeps_short_texts_and_cuts_long_ones_on_a_char_boundary() {
        assert_eq!(truncate_text("short", 64), "short");
        let s = "é".repeat(1000); // 2,000 bytes
        let t = truncate_text(&s, 1024);
        assert!(t.len() <= 1024, "{}", t.len());
        assert!(t.ends_with(TRUNCATED_MARKER));
        assert!(t.starts_with("éé"));
        // Exactly at the limit: unchanged.
        assert_eq!(truncate_text(&"a".repeat(1024), 1024).len(), 1024);
        assert!(!truncate_text(&"a".repeat(1024), 1024).ends_with(TRUNCATED_MARKER));
    }
}
