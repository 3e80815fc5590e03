//! Assurance: hardening scans, the vulnerability register, approved hardening and readiness,
//! wired into the event log. The rules live in [`crate::hardening`], [`crate::vulnerability`]
//! and [`crate::readiness`]; this module decides which events to record and folds them.

use crate::auth::{authorize, Role};
use crate::drill::DrillReport;
use crate::effect::{Effect, Outcome, RejectCode};
use crate::error::CoreError;
use crate::events::Event;
use crate::hardening::{
    plan_hardening, scan, AutoRemediation, ControlId, DrillEvidence, Evidence, HardeningPlan,
    HardeningPolicy, ScanReport, Severity,
};
use crate::ids::{DurationNs, TimestampNs};
use crate::readiness::{
    assess, DrillHistorySummary, ReadinessAssessment, ReadinessHistory, ReadinessInputs,
};
use crate::state::State;
use crate::vulnerability::{FindingId, FindingSource, FindingStatus, Register};
use ic_principal::Principal;
use minicbor::{Decode, Encode};
use std::collections::BTreeMap;

/// Shortest interval of scheduled scans.
pub const MIN_SCAN_INTERVAL: DurationNs = DurationNs::from_secs(3600);

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum HardeningStatus {
    #[n(0)]
    Pending,
    #[n(1)]
    Approved {
        #[cbor(n(0), with = "crate::cbor::principal")]
        by: Principal,
    },
    #[n(2)]
    Rejected {
        #[cbor(n(0), with = "crate::cbor::principal")]
        by: Principal,
        #[n(1)]
        note: String,
    },
    /// Performed; `outcomes` are the effects' results in order.
    #[n(3)]
    Finished {
        #[n(0)]
        outcomes: Vec<(String, Outcome)>,
        #[n(1)]
        after_score: u8,
    },
}

/// A request to apply automatic remediations: proposed by an operator, approved by an admin who
/// is not the proposer (four eyes), performed by the shell, rescanned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HardeningRequest {
    pub id: u64,
    pub plan: HardeningPlan,
    pub requested_by: Principal,
    pub requested_at: TimestampNs,
    pub before_score: u8,
    pub status: HardeningStatus,
    /// When `HardeningFinished` was recorded.
    pub finished_at: Option<TimestampNs>,
}

impl HardeningRequest {
    pub fn target(&self) -> Principal {
        self.plan.target
    }

    /// A finished request whose `start_canister` failed: like a drill's `needs_attention`, a
    /// person must look, since the target may be left stopped (by this request's stop, or by
    /// an earlier attempt's stop whose reply an upgrade lost).
    pub fn needs_attention(&self) -> bool {
        let HardeningStatus::Finished { outcomes, .. } = &self.status else {
            return false;
        };
        outcomes
            .iter()
            .any(|(name, o)| name == START && o.is_failure())
    }
}

const START: &str = "start_canister";

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AssuranceState {
    pub policy: HardeningPolicy,
    /// Latest scan per target.
    pub scans: BTreeMap<Principal, ScanReport>,
    pub register: Register,
    pub hardening: BTreeMap<u64, HardeningRequest>,
    pub readiness: ReadinessHistory,
    /// Latest assessment per target.
    pub assessments: BTreeMap<Principal, ReadinessAssessment>,
    pub scan_interval: Option<DurationNs>,
}

impl AssuranceState {
    pub fn apply(&mut self, seq: u64, time: TimestampNs, caller: Principal, event: &Event) {
        match event {
            Event::HardeningPolicySet { policy } => self.policy = (**policy).clone(),
            Event::ScanScheduleSet { interval } => self.scan_interval = *interval,
            Event::TargetScanned { report } => {
                self.scans.insert(report.target, (**report).clone());
            }
            Event::FindingsChanged { changes } => {
                for c in changes {
                    self.register.apply(c);
                }
            }
            Event::HardeningRequested { plan, before_score } => {
                self.hardening.insert(
                    seq,
                    HardeningRequest {
                        id: seq,
                        plan: (**plan).clone(),
                        requested_by: caller,
                        requested_at: time,
                        before_score: *before_score,
                        status: HardeningStatus::Pending,
                        finished_at: None,
                    },
                );
            }
            Event::HardeningDecided {
                request,
                approved,
                note,
            } => {
                if let Some(r) = self.hardening.get_mut(request) {
                    r.status = if *approved {
                        HardeningStatus::Approved { by: caller }
                    } else {
                        HardeningStatus::Rejected {
                            by: caller,
                            note: note.clone(),
                        }
                    };
                }
            }
            Event::HardeningFinished {
                request,
                outcomes,
                after_score,
            } => {
                if let Some(r) = self.hardening.get_mut(request) {
                    r.status = HardeningStatus::Finished {
                        outcomes: outcomes.clone(),
                        after_score: *after_score,
                    };
                    r.finished_at = Some(time);
                }
            }
            Event::ReadinessAssessed { assessment } => {
                self.readiness
                    .record(assessment.target, assessment.summary());
                self.assessments
                    .insert(assessment.target, (**assessment).clone());
            }
            _ => {}
        }
    }

    /// Approved requests not yet performed: a shell performs them (again after an upgrade).
    pub fn approved_pending(&self) -> impl Iterator<Item = &HardeningRequest> {
        self.hardening
            .values()
            .filter(|r| matches!(r.status, HardeningStatus::Approved { .. }))
    }
}

fn registered(state: &State, canister: Principal) -> Result<(), CoreError> {
    if state.targets.contains_key(&canister) {
        Ok(())
    } else {
        Err(CoreError::TargetNotFound { canister })
    }
}

pub fn set_policy(
    state: &State,
    caller: &Principal,
    policy: HardeningPolicy,
) -> Result<Vec<Event>, CoreError> {
    authorize(state, caller, Role::Admin)?;
    policy.validate().map_err(CoreError::Hardening)?;
    Ok(vec![Event::HardeningPolicySet {
        policy: Box::new(policy),
    }])
}

pub fn set_scan_interval(
    state: &State,
    caller: &Principal,
    interval: Option<DurationNs>,
) -> Result<Vec<Event>, CoreError> {
    authorize(state, caller, Role::Admin)?;
    if interval.is_some_and(|i| i < MIN_SCAN_INTERVAL) {
        return Err(CoreError::InvalidArgument {
            field: "interval_ns".into(),
            reason: format!("at least {} ns (1 h)", MIN_SCAN_INTERVAL.0),
        });
    }
    Ok(vec![Event::ScanScheduleSet { interval }])
}

/// Checks a scan may run before the shell collects evidence.
pub fn precheck_scan(
    state: &State,
    caller: &Principal,
    target: Principal,
) -> Result<(), CoreError> {
    authorize(state, caller, Role::Operator)?;
    registered(state, target)
}

/// The suite's latest finished drill of `target`, as scan evidence.
pub fn last_drill(state: &State, target: Principal) -> Option<DrillEvidence> {
    latest_reports(state, target)
        .max_by_key(|r| r.finished_at)
        .map(DrillEvidence::from_report)
}

fn latest_reports(state: &State, target: Principal) -> impl Iterator<Item = &DrillReport> {
    state
        .drills
        .values()
        .filter(move |d| d.target == target)
        .filter_map(|d| d.report())
}

/// Records a scan of collected `evidence` (completed with what only the suite knows: its own
/// drill history) and the register changes it implies. `caller` is the operator, or the suite
/// itself for scheduled scans and rescans. The target must be registered, and the evidence
/// must be the suite's own (`evidence.suite`).
pub fn record_scan(
    state: &State,
    caller: &Principal,
    evidence: Evidence,
    now: TimestampNs,
) -> Result<Vec<Event>, CoreError> {
    let suite = state.suite.ok_or(CoreError::NotInitialized)?;
    if *caller == suite {
        registered(state, evidence.target)?;
    } else {
        precheck_scan(state, caller, evidence.target)?;
    }
    if evidence.suite != suite {
        return Err(CoreError::InvalidArgument {
            field: "evidence.suite".into(),
            reason: format!(
                "evidence collected by {}, not by this suite ({suite})",
                evidence.suite
            ),
        });
    }
    Ok(scan_events(state, evidence, now))
}

fn scan_events(state: &State, mut evidence: Evidence, now: TimestampNs) -> Vec<Event> {
    evidence.last_drill = last_drill(state, evidence.target);
    let policy = &state.assurance.policy;
    let report = scan(&evidence, policy, now);
    let changes = state
        .assurance
        .register
        .decide_scan(&report, &policy.sla, now);
    let mut events = vec![Event::TargetScanned {
        report: Box::new(report),
    }];
    if !changes.is_empty() {
        events.push(Event::FindingsChanged { changes });
    }
    events
}

/// The evidence a shell reports when `CollectEvidence` answered `outcome`: the collected
/// evidence, or (the call failed) evidence that says why nothing could be read, so every
/// control that needs it reads `Unknown`.
pub fn evidence_from_outcome(
    target: Principal,
    suite: Principal,
    outcome: &Outcome,
    now: TimestampNs,
) -> Evidence {
    match outcome {
        Outcome::Evidence { evidence } => (**evidence).clone(),
        other => {
            let reason = match other {
                Outcome::Failed { failure } => {
                    format!("{:?}: {}", failure.code, failure.message)
                }
                _ => format!("collect_evidence answered {other:?}"),
            };
            Evidence {
                target,
                suite,
                collected_at: now,
                status: Err(reason),
                candid_service_public: None,
                snapshots: None,
                last_drill: None,
                access_probe: None,
            }
        }
    }
}

pub fn request_hardening(
    state: &State,
    caller: &Principal,
    target: Principal,
    controls: &[ControlId],
) -> Result<Vec<Event>, CoreError> {
    authorize(state, caller, Role::Operator)?;
    registered(state, target)?;
    let t = &state.targets[&target];
    if t.protected {
        return Err(CoreError::TargetProtected { canister: target });
    }
    let scan = state
        .assurance
        .scans
        .get(&target)
        .ok_or(CoreError::NoScan { canister: target })?;
    let plan =
        plan_hardening(scan, controls, &state.assurance.policy).map_err(CoreError::Hardening)?;
    Ok(vec![Event::HardeningRequested {
        plan: Box::new(plan),
        before_score: scan.score,
    }])
}

pub fn decide_hardening(
    state: &State,
    caller: &Principal,
    request: u64,
    approve: bool,
    note: String,
) -> Result<Vec<Event>, CoreError> {
    authorize(state, caller, Role::Admin)?;
    let r = state
        .assurance
        .hardening
        .get(&request)
        .ok_or(CoreError::HardeningRequestNotFound { request })?;
    if r.status != HardeningStatus::Pending {
        return Err(CoreError::HardeningNotPending { request });
    }
    if r.requested_by == *caller {
        return Err(CoreError::SelfApproval { request });
    }
    if note.len() > 1_000 {
        return Err(CoreError::InvalidArgument {
            field: "note".into(),
            reason: "at most 1000 bytes".into(),
        });
    }
    // The target may have been removed or protected since the request: never approve acting
    // on it then (a rejection is still recorded).
    if approve {
        let target = r.target();
        registered(state, target)?;
        if state.targets[&target].protected {
            return Err(CoreError::TargetProtected { canister: target });
        }
    }
    Ok(vec![Event::HardeningDecided {
        request,
        approved: approve,
        note,
    }])
}

/// The effects that perform a plan, in order: one `update_settings`, then the snapshot (stop,
/// take, start: the IC asks for a stopped canister). A shell performs every one of them in
/// order whatever the previous ones answered (the start must be tried after a failed
/// snapshot), then collects evidence (`Effect::CollectEvidence`) for the rescan, and reports
/// `(Effect::name(), outcome)` pairs in order to [`finish_hardening`]. All are safe to perform
/// again from the start after an upgrade (a repeated snapshot only adds a snapshot).
pub fn hardening_effects(plan: &HardeningPlan) -> Vec<Effect> {
    let canister = plan.target;
    let mut effects = Vec::new();
    if let Some(change) = &plan.settings {
        effects.push(Effect::UpdateSettings {
            canister,
            change: change.clone(),
        });
    }
    if let Some(AutoRemediation::TakeSnapshot { replace }) = &plan.snapshot {
        effects.push(Effect::StopCanister { canister });
        effects.push(Effect::TakeSnapshot {
            canister,
            replace: replace.clone(),
        });
        effects.push(Effect::StartCanister { canister });
    }
    effects
}

/// Approved requests a shell may perform now, oldest first: at most one per target (two
/// requests never stop and start the same canister at once), none on a target a drill is
/// running on (it waits for the drill to finish), none on a target that is no longer
/// registered or is protected (see [`stranded_hardening`]).
pub fn ready_to_perform(state: &State) -> Vec<&HardeningRequest> {
    let mut seen = std::collections::BTreeSet::new();
    state
        .assurance
        .approved_pending()
        .filter(|r| seen.insert(r.target()))
        .filter(|r| {
            let t = r.target();
            state.targets.get(&t).is_some_and(|t| !t.protected)
                && state.running_drill_on(&t).is_none()
                && state.lab.occupant(&t).is_none()
        })
        .collect()
}

/// The approved request being performed, or about to be, on `target`. `start_drill` should
/// refuse while there is one: a drill and a hardening stopping and starting the same canister
/// at once could leave it stopped.
pub fn hardening_in_progress(state: &State, target: Principal) -> Option<u64> {
    state
        .assurance
        .approved_pending()
        .find(|r| r.target() == target)
        .map(|r| r.id)
}

/// Approved requests that must never be performed because their target was removed or
/// protected after the approval, with the reason; [`abandon_hardening`] closes them.
pub fn stranded_hardening(state: &State) -> Vec<(u64, String)> {
    state
        .assurance
        .approved_pending()
        .filter_map(|r| {
            let t = r.target();
            let reason = match state.targets.get(&t) {
                None => format!("{t} is no longer a registered target"),
                Some(target) if target.protected => format!("{t} is now protected"),
                Some(_) => return None,
            };
            Some((r.id, reason))
        })
        .collect()
}

/// Closes an approved request without performing anything: one failed outcome says why, the
/// score is unchanged, and no rescan is recorded.
pub fn abandon_hardening(
    state: &State,
    request: u64,
    reason: &str,
) -> Result<Vec<Event>, CoreError> {
    let r = approved(state, request)?;
    Ok(vec![Event::HardeningFinished {
        request,
        outcomes: vec![(
            "not_performed".into(),
            Outcome::failed(
                RejectCode::Local,
                format!("nothing was performed: {reason}"),
            ),
        )],
        after_score: r.before_score,
    }])
}

fn approved(state: &State, request: u64) -> Result<&HardeningRequest, CoreError> {
    let r = state
        .assurance
        .hardening
        .get(&request)
        .ok_or(CoreError::HardeningRequestNotFound { request })?;
    if matches!(r.status, HardeningStatus::Approved { .. }) {
        Ok(r)
    } else {
        Err(CoreError::HardeningNotPending { request })
    }
}

/// Records a performed request: its outcomes (`(Effect::name(), outcome)` in order), the
/// rescan from `after` evidence (collected by the suite after the effects) and the register
/// changes (fixed controls resolve their findings). If the target was removed meanwhile, the
/// request is closed and no scan is recorded.
pub fn finish_hardening(
    state: &State,
    request: u64,
    outcomes: Vec<(String, Outcome)>,
    after: Evidence,
    now: TimestampNs,
) -> Result<Vec<Event>, CoreError> {
    let r = approved(state, request)?;
    let suite = state.suite.ok_or(CoreError::NotInitialized)?;
    if after.target != r.target() || after.suite != suite {
        return Err(CoreError::InvalidArgument {
            field: "after".into(),
            reason: format!(
                "evidence of {} collected by {}, expected evidence of {} collected by {suite}",
                after.target,
                after.suite,
                r.target()
            ),
        });
    }
    let mut rescan = scan_events(state, after, now);
    let after_score = match &rescan[0] {
        Event::TargetScanned { report } => report.score,
        _ => unreachable!("scan_events starts with TargetScanned"),
    };
    let mut events = vec![Event::HardeningFinished {
        request,
        outcomes,
        after_score,
    }];
    if state.targets.contains_key(&r.target()) {
        events.append(&mut rescan);
    }
    Ok(events)
}

pub fn assess_readiness(
    state: &State,
    caller: &Principal,
    target: Principal,
    now: TimestampNs,
) -> Result<Vec<Event>, CoreError> {
    authorize(state, caller, Role::Operator)?;
    registered(state, target)?;
    let scan = state
        .assurance
        .scans
        .get(&target)
        .ok_or(CoreError::NoScan { canister: target })?;
    let findings = state.assurance.register.active_for(target);
    let drills = DrillHistorySummary::from_reports(latest_reports(state, target));
    let previous = state.assurance.readiness.latest(target).cloned();
    let assessment = assess(&ReadinessInputs {
        scan,
        findings: &findings,
        drills: &drills,
        experiments: None,
        policy: &state.assurance.policy,
        previous: previous.as_ref(),
        now,
    });
    Ok(vec![Event::ReadinessAssessed {
        assessment: Box::new(assessment),
    }])
}

pub fn report_finding(
    state: &State,
    caller: &Principal,
    target: Principal,
    severity: Severity,
    title: &str,
    detail: &str,
    now: TimestampNs,
) -> Result<Vec<Event>, CoreError> {
    authorize(state, caller, Role::Operator)?;
    registered(state, target)?;
    let change = state
        .assurance
        .register
        .decide_report(
            target,
            FindingSource::Manual { reporter: *caller },
            severity,
            title,
            detail,
            *caller,
            &state.assurance.policy.sla,
            now,
        )
        .map_err(CoreError::Register)?;
    Ok(vec![Event::FindingsChanged { changes: change }])
}

pub fn transition_finding(
    state: &State,
    caller: &Principal,
    id: FindingId,
    to: FindingStatus,
    note: &str,
    now: TimestampNs,
) -> Result<Vec<Event>, CoreError> {
    authorize(state, caller, Role::Operator)?;
    let change = state
        .assurance
        .register
        .decide_transition(id, to, *caller, note, now)
        .map(|c| vec![c])
        .map_err(CoreError::Register)?;
    Ok(vec![Event::FindingsChanged { changes: change }])
}

/// Accepted risks whose acceptance expired go back to open (run by the suite on a timer).
pub fn expire_accepted_risks(state: &State, now: TimestampNs) -> Vec<Event> {
    let Some(suite) = state.suite else {
        return Vec::new();
    };
    let changes = state.assurance.register.decide_expiry(suite, now);
    if changes.is_empty() {
        Vec::new()
    } else {
        vec![Event::FindingsChanged { changes }]
    }
}

/// Targets due a scheduled scan at `now`, most overdue first (never scanned, then the oldest
/// scan), at most `limit` (bounded work per message).
pub fn due_for_scan(state: &State, now: TimestampNs, limit: usize) -> Vec<Principal> {
    let Some(interval) = state.assurance.scan_interval else {
        return Vec::new();
    };
    let mut due: Vec<(Option<TimestampNs>, Principal)> = state
        .targets
        .keys()
        .map(|t| (state.assurance.scans.get(t).map(|s| s.scanned_at), *t))
        .filter(|(at, _)| at.is_none_or(|at| now.since(at) >= interval))
        .collect();
    due.sort();
    due.into_iter().take(limit).map(|(_, t)| t).collect()
}
