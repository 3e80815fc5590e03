//! Domain events: the only way state changes. Encoded with minicbor under stable numeric tags;
//! a retired tag is never reused, and old variants stay decodable so old logs replay.
//!
//! Payload encoding, version 1: one byte `EVENT_ENCODING_V1`, then the CBOR of [`Event`].

use crate::auth::Role;
use crate::council::CouncilChange;
use crate::drill::{DrillOptions, DrillReport, Objectives, ScenarioKind};
use crate::effect::{Effect, Outcome};
use crate::experiment::{ExperimentChange, LabChange};
use crate::hardening::{HardeningPlan, HardeningPolicy, ScanReport};
use crate::ids::{DrillId, DurationNs, SnapshotId};
use crate::readiness::ReadinessAssessment;
use crate::safety::SafetyChange;
use crate::target::Target;
use crate::vulnerability::RegisterChange;
use ic_principal::Principal;
use minicbor::{Decode, Encode};

pub const EVENT_ENCODING_V1: u8 = 1;

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum Event {
    /// First event of every log.
    #[n(0)]
    Init {
        #[cbor(n(0), with = "crate::cbor::principals")]
        admins: Vec<Principal>,
        /// The canister (or simulated canister) the suite runs as.
        #[cbor(n(1), with = "crate::cbor::principal")]
        suite: Principal,
        /// Idempotency-key window of the log, when not the default.
        #[n(2)]
        dedup_window_ns: Option<u64>,
    },
    /// Recorded by every `post_upgrade`.
    #[n(1)]
    Upgrade {
        #[n(0)]
        version: String,
        /// A new idempotency-key window, if the upgrade changed it.
        #[n(1)]
        dedup_window_ns: Option<u64>,
    },
    #[n(2)]
    RoleGranted {
        #[cbor(n(0), with = "crate::cbor::principal")]
        principal: Principal,
        #[n(1)]
        role: Role,
    },
    #[n(3)]
    RoleRevoked {
        #[cbor(n(0), with = "crate::cbor::principal")]
        principal: Principal,
    },
    #[n(4)]
    TargetRegistered {
        #[n(0)]
        target: Target,
    },
    #[n(5)]
    TargetUpdated {
        #[n(0)]
        target: Target,
    },
    #[n(6)]
    TargetRemoved {
        #[cbor(n(0), with = "crate::cbor::principal")]
        canister: Principal,
    },
    /// The drill's id is this event's sequence number.
    #[n(7)]
    DrillStarted {
        #[cbor(n(0), with = "crate::cbor::principal")]
        target: Principal,
        #[n(1)]
        scenario: ScenarioKind,
        #[n(2)]
        options: DrillOptions,
        #[n(3)]
        objectives: Objectives,
        /// The suite's previous snapshot of this target, replaced by the new restore point
        /// (a canister holds at most 10 snapshots).
        #[n(4)]
        rotate_snapshot: Option<SnapshotId>,
    },
    /// Journaled before the effect is performed.
    #[n(8)]
    DrillStepStarted {
        #[n(0)]
        drill: DrillId,
        #[n(1)]
        step: u16,
        #[n(2)]
        effect: Effect,
    },
    #[n(9)]
    DrillStepCompleted {
        #[n(0)]
        drill: DrillId,
        #[n(1)]
        step: u16,
        #[n(2)]
        outcome: Outcome,
    },
    #[n(10)]
    DrillFinished {
        #[n(0)]
        drill: DrillId,
        #[n(1)]
        report: DrillReport,
    },
    #[n(11)]
    HardeningPolicySet {
        #[n(0)]
        policy: Box<HardeningPolicy>,
    },
    /// A scan, self-contained (it holds the evidence it read).
    #[n(12)]
    TargetScanned {
        #[n(0)]
        report: Box<ScanReport>,
    },
    /// Changes of the vulnerability register, folded in order.
    #[n(13)]
    FindingsChanged {
        #[n(0)]
        changes: Vec<RegisterChange>,
    },
    /// The request's id is this event's sequence number.
    #[n(14)]
    HardeningRequested {
        #[n(0)]
        plan: Box<HardeningPlan>,
        #[n(1)]
        before_score: u8,
    },
    #[n(15)]
    HardeningDecided {
        #[n(0)]
        request: u64,
        #[n(1)]
        approved: bool,
        #[n(2)]
        note: String,
    },
    #[n(16)]
    HardeningFinished {
        #[n(0)]
        request: u64,
        #[n(1)]
        outcomes: Vec<(String, Outcome)>,
        #[n(2)]
        after_score: u8,
    },
    #[n(17)]
    ReadinessAssessed {
        #[n(0)]
        assessment: Box<ReadinessAssessment>,
    },
    #[n(18)]
    ScanScheduleSet {
        #[n(0)]
        interval: Option<DurationNs>,
    },
    /// An experiment record (lifecycle, journaled steps, observations, report), folded into
    /// `State.lab` (`experiment::Lab::apply`).
    #[n(19)]
    ExperimentChanged {
        #[n(0)]
        change: Box<ExperimentChange>,
    },
    /// Safety limits, emergency stop and resume, schedules, circuit-breaker observations.
    #[n(20)]
    SafetyChanged {
        #[n(0)]
        change: Box<SafetyChange>,
    },
    /// Council agents, motions and positions (approvals).
    #[n(21)]
    CouncilChanged {
        #[n(0)]
        change: Box<CouncilChange>,
    },
    /// The chaos_probe canister the suite asks to call targets as a neutral principal
    /// (experiment probes, access probes); `None` unsets it.
    #[n(22)]
    ChaosProbeSet {
        #[cbor(n(0), with = "crate::cbor::principal_opt")]
        probe: Option<Principal>,
    },
}

impl Event {
    /// The event recording a lab change.
    pub fn lab(change: LabChange) -> Event {
        match change {
            LabChange::Experiment(c) => Event::ExperimentChanged {
                change: Box::new(c),
            },
            LabChange::Safety(c) => Event::SafetyChanged {
                change: Box::new(c),
            },
            LabChange::Council(c) => Event::CouncilChanged {
                change: Box::new(c),
            },
        }
    }

    /// The lab change this event records, if it records one.
    pub fn as_lab(&self) -> Option<LabChange> {
        match self {
            Event::ExperimentChanged { change } => Some(LabChange::Experiment((**change).clone())),
            Event::SafetyChanged { change } => Some(LabChange::Safety((**change).clone())),
            Event::CouncilChanged { change } => Some(LabChange::Council((**change).clone())),
            _ => None,
        }
    }

    /// Short snake_case name stored as the envelope's `kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::Init { .. } => "init",
            Event::Upgrade { .. } => "upgrade",
            Event::RoleGranted { .. } => "role_granted",
            Event::RoleRevoked { .. } => "role_revoked",
            Event::TargetRegistered { .. } => "target_registered",
            Event::TargetUpdated { .. } => "target_updated",
            Event::TargetRemoved { .. } => "target_removed",
            Event::DrillStarted { .. } => "drill_started",
            Event::DrillStepStarted { .. } => "drill_step_started",
            Event::DrillStepCompleted { .. } => "drill_step_completed",
            Event::DrillFinished { .. } => "drill_finished",
            Event::HardeningPolicySet { .. } => "hardening_policy_set",
            Event::TargetScanned { .. } => "target_scanned",
            Event::FindingsChanged { .. } => "findings_changed",
            Event::HardeningRequested { .. } => "hardening_requested",
            Event::HardeningDecided { .. } => "hardening_decided",
            Event::HardeningFinished { .. } => "hardening_finished",
            Event::ReadinessAssessed { .. } => "readiness_assessed",
            Event::ScanScheduleSet { .. } => "scan_schedule_set",
            Event::ExperimentChanged { .. } => "experiment_changed",
            Event::SafetyChanged { .. } => "safety_changed",
            Event::CouncilChanged { .. } => "council_changed",
            Event::ChaosProbeSet { .. } => "chaos_probe_set",
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut buf = vec![EVENT_ENCODING_V1];
        minicbor::encode(self, &mut buf).expect("encoding into a Vec cannot fail");
        buf
    }

    pub fn decode(bytes: &[u8]) -> Result<Event, String> {
        match bytes.split_first() {
            Some((&EVENT_ENCODING_V1, rest)) => {
                minicbor::decode(rest).map_err(|e| format!("undecodable event: {e}"))
            }
            Some((v, _)) => Err(format!("unknown event encoding version {v}")),
            None => Err("empty event payload".into()),
        }
    }
}
