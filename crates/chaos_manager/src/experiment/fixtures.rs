//! Scenario builders shared by tests and simulators: a small registry, a simulated fleet that
//! answers every [`Action`] the way the IC and `chaos_hooks` would (deterministically), and a
//! harness that records changes into a [`Lab`] and drives experiments step by step.

use super::commands::{self, Caller};
use super::lab::{ExperimentChange, Lab, LabChange};
use super::spec::{ExperimentSpec, Hypothesis, Phases, ProbeDef, RollbackStrategy, Tolerance};
use super::{ExperimentId, LabError};
use crate::auth::Role;
use crate::council::{Agent, AgentKind};
use crate::effect::RejectCode;
use crate::fault::{
    freezes, Action, FailureMode, FaultKind, FaultProfile, FaultSpec, FleetSnapshot, HookFault,
    Observation, Ppm, ProbeReading, TargetStatus, TargetView,
};
use crate::hardening::{Cycles, RunStatus};
use crate::ids::{DurationNs, SnapshotId, TimestampNs};
use crate::safety::SafetyLimits;
use crate::state::EventMeta;
use crate::target::Criticality;
use ic_principal::Principal;
use std::collections::{BTreeMap, BTreeSet};

pub fn principal(n: u8) -> Principal {
    Principal::from_slice(&[n, 0xcc, 1])
}

pub const ADMIN: u8 = 2;
pub const OPERATOR: u8 = 3;
pub const VAULT: u8 = 10;
pub const CONSUMER: u8 = 11;
pub const ORACLE: u8 = 12;
pub const LEDGER: u8 = 13;
pub const PROTECTED: u8 = 14;
pub const NO_HOOKS: u8 = 15;
pub const LATENCY_ONLY: u8 = 16;
pub const SPARES: [u8; 3] = [17, 18, 19];
/// Council agents registered by [`LabHarness::new`] (people).
pub const APPROVERS: [u8; 2] = [20, 21];

pub const ORIGINAL_FREEZING_SECS: u64 = 30 * 24 * 3600;
pub const ORIGINAL_WASM_LIMIT: u64 = 3 << 30;

fn view(n: u8, criticality: Criticality, protected: bool, profile: FaultProfile) -> TargetView {
    TargetView {
        canister: principal(n),
        name: format!("target-{n}"),
        criticality,
        protected,
        probe_method: "health".into(),
        profile,
    }
}

fn hooked(dependents: &[u8]) -> FaultProfile {
    FaultProfile {
        allowed_faults: FaultKind::ALL.to_vec(),
        dependents: dependents.iter().map(|d| principal(*d)).collect(),
        privileged_methods: Vec::new(),
        hooks: true,
        invariant_method: None,
    }
}

/// Ten targets: the vault (its consumer depends on it; privileged methods, an invariant
/// check), the consumer, an oracle the consumer also depends on, a critical ledger, a
/// protected canister, one without hooks, one allowing only latency, three spares.
pub fn fleet() -> FleetSnapshot {
    let mut targets = BTreeMap::new();
    let mut add = |t: TargetView| {
        targets.insert(t.canister, t);
    };
    add(view(
        VAULT,
        Criticality::Medium,
        false,
        FaultProfile {
            privileged_methods: vec!["admin_withdraw".into(), "set_owner".into()],
            invariant_method: Some("check_invariants".into()),
            ..hooked(&[CONSUMER])
        },
    ));
    add(view(CONSUMER, Criticality::Medium, false, hooked(&[])));
    add(view(ORACLE, Criticality::Low, false, hooked(&[CONSUMER])));
    add(view(LEDGER, Criticality::Critical, false, hooked(&[])));
    add(view(PROTECTED, Criticality::High, true, hooked(&[])));
    add(view(
        NO_HOOKS,
        Criticality::Low,
        false,
        FaultProfile {
            hooks: false,
            ..hooked(&[])
        },
    ));
    add(view(
        LATENCY_ONLY,
        Criticality::Low,
        false,
        FaultProfile {
            allowed_faults: vec![FaultKind::LatencyInjection],
            ..hooked(&[])
        },
    ));
    for s in SPARES {
        add(view(s, Criticality::Low, false, hooked(&[])));
    }
    FleetSnapshot {
        targets,
        busy: BTreeMap::new(),
    }
}

/// A steady-state probe of `n`'s `health` in every phase.
pub fn probe(name: &str, n: u8, tolerance: Tolerance) -> ProbeDef {
    ProbeDef {
        name: name.into(),
        canister: principal(n),
        method: "health".into(),
        tolerance,
        phases: Phases::ALL,
    }
}

/// `stop_canister` on `n` (rollback: start it).
pub fn stop(n: u8) -> FaultSpec {
    FaultSpec::ServiceFailure {
        target: principal(n),
        mode: FailureMode::Stop,
    }
}

/// Every guarded call of `n` delayed 3 rounds.
pub fn latency(n: u8) -> FaultSpec {
    FaultSpec::LatencyInjection {
        target: principal(n),
        methods: vec![],
        rounds: 3,
        probability: Ppm::ALWAYS,
    }
}

/// The default limits, with up to half of the fixture fleet in one experiment.
pub fn limits() -> SafetyLimits {
    SafetyLimits {
        max_target_share_pct: 50,
        ..Default::default()
    }
}

/// 60 s of fault, a check every 10 s, the steady state watched on `watched`.
pub fn spec(fault: FaultSpec, watched: u8) -> ExperimentSpec {
    ExperimentSpec {
        title: format!("{} experiment", fault.kind()),
        fault,
        hypothesis: Hypothesis {
            title: "the watched canister keeps answering".into(),
            probes: vec![probe("watched-health", watched, Tolerance::Answers)],
        },
        duration: DurationNs::from_secs(60),
        probe_interval: DurationNs::from_secs(10),
        rollback: RollbackStrategy::Always,
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimCanister {
    pub running: bool,
    pub freezing_threshold_secs: u64,
    pub wasm_memory_limit_bytes: Option<u64>,
    pub cycles: Cycles,
    pub idle_per_day: Cycles,
    pub plan: Vec<HookFault>,
    pub corrupted: bool,
    /// Snapshot id → whether the state it holds was corrupted.
    pub snapshots: BTreeMap<SnapshotId, bool>,
}

impl SimCanister {
    fn status(&self) -> TargetStatus {
        TargetStatus {
            status: if self.running {
                RunStatus::Running
            } else {
                RunStatus::Stopped
            },
            freezing_threshold_secs: self.freezing_threshold_secs,
            wasm_memory_limit_bytes: self.wasm_memory_limit_bytes,
            cycles: self.cycles,
            idle_cycles_burned_per_day: self.idle_per_day,
        }
    }

    /// Down: stopped, frozen, or rejecting/trapping every call (a probability of at least
    /// 50% counts as every call in this deterministic model).
    fn down(&self) -> bool {
        !self.running
            || freezes(self.freezing_threshold_secs, &self.status())
            || self.plan.iter().any(|f| {
                matches!(f, HookFault::Reject { probability, .. } | HookFault::Trap { probability, .. } if probability.0 >= 500_000)
            })
    }
}

/// A deterministic fleet: answers actions as the IC and the hooks would.
#[derive(Clone, Debug, Default)]
pub struct SimFleet {
    pub canisters: BTreeMap<Principal, SimCanister>,
    /// Callees of each canister: a dependent is down while a callee is down.
    pub calls: BTreeMap<Principal, Vec<Principal>>,
    /// The next n actions named so on the canister fail (e.g. `("stop_canister", vault)`).
    pub fail_next: BTreeMap<(String, Principal), u32>,
    /// Privileged methods that wrongly accept an unprivileged caller.
    pub accepting: BTreeSet<String>,
    /// Privileged methods whose probe never reaches their guard (inconclusive).
    pub inconclusive: BTreeSet<String>,
    /// Consumers whose health check notices perturbed answers of a callee.
    pub detectors: BTreeSet<Principal>,
    snapshots_taken: u64,
}

impl SimFleet {
    pub fn new(fleet: &FleetSnapshot) -> Self {
        let mut sim = SimFleet::default();
        for t in fleet.targets.keys() {
            sim.canisters.insert(
                *t,
                SimCanister {
                    running: true,
                    freezing_threshold_secs: ORIGINAL_FREEZING_SECS,
                    wasm_memory_limit_bytes: Some(ORIGINAL_WASM_LIMIT),
                    cycles: Cycles(100_000_000_000_000),
                    idle_per_day: Cycles(1_000_000_000),
                    plan: Vec::new(),
                    corrupted: false,
                    snapshots: BTreeMap::new(),
                },
            );
        }
        sim.calls.insert(
            principal(CONSUMER),
            vec![principal(VAULT), principal(ORACLE)],
        );
        sim
    }

    pub fn fail(&mut self, action: &str, canister: u8, times: u32) {
        self.fail_next
            .insert((action.to_string(), principal(canister)), times);
    }

    pub fn canister(&self, n: u8) -> &SimCanister {
        &self.canisters[&principal(n)]
    }

    pub fn perform(&mut self, action: &Action, now: TimestampNs) -> Observation {
        if let Some(c) = action.canister() {
            if let Some(n) = self
                .fail_next
                .get_mut(&(action.name().to_string(), c))
                .filter(|n| **n > 0)
            {
                *n -= 1;
                return Observation::failed(RejectCode::SysTransient, "injected failure");
            }
        }
        let Some(canister) = action.canister() else {
            return Observation::Done;
        };
        if let Action::ProbeVia { target, .. } = action {
            return self.probe(target);
        }
        if let Action::AccessProbe { methods, .. } = action {
            return Observation::AccessProbed {
                accepted: methods
                    .iter()
                    .filter(|m| self.accepting.contains(*m))
                    .cloned()
                    .collect(),
                inconclusive: methods
                    .iter()
                    .filter(|m| self.inconclusive.contains(*m))
                    .map(|m| format!("{m}: argument does not decode"))
                    .collect(),
            };
        }
        let taken = self.snapshots_taken;
        let Some(c) = self.canisters.get_mut(&canister) else {
            return Observation::failed(RejectCode::DestinationInvalid, "no such canister");
        };
        match action {
            Action::ReadStatus { .. } => return Observation::Status { status: c.status() },
            Action::UpdateSettings { change, .. } => {
                if let Some(v) = change.freezing_threshold_secs {
                    c.freezing_threshold_secs = v;
                }
                if let Some(v) = change.wasm_memory_limit_bytes {
                    c.wasm_memory_limit_bytes = Some(v);
                }
            }
            Action::StopCanister { .. } => c.running = false,
            Action::StartCanister { .. } => c.running = true,
            Action::TakeSnapshot { .. } => {
                let id = SnapshotId(vec![canister.as_slice()[0], taken as u8]);
                c.snapshots.insert(id.clone(), c.corrupted);
                self.snapshots_taken += 1;
                return Observation::SnapshotTaken { id, taken_at: now };
            }
            Action::LoadSnapshot { snapshot, .. } => match c.snapshots.get(snapshot) {
                Some(corrupted) => c.corrupted = *corrupted,
                None => {
                    return Observation::failed(RejectCode::DestinationInvalid, "no such snapshot")
                }
            },
            Action::DeleteSnapshot { snapshot, .. } => {
                c.snapshots.remove(snapshot);
            }
            Action::SetFaultPlan { plan, .. } => {
                c.corrupted |= plan.faults.iter().any(HookFault::corrupts_state);
                c.plan = plan.faults.clone();
            }
            Action::ClearFaults { .. } => c.plan.clear(),
            _ => {}
        }
        Observation::Done
    }

    fn probe(&self, target: &Principal) -> Observation {
        let Some(c) = self.canisters.get(target) else {
            return Observation::failed(RejectCode::DestinationInvalid, "no such canister");
        };
        if c.down() {
            return Observation::failed(RejectCode::CanisterReject, "target down");
        }
        let callees = self.calls.get(target).cloned().unwrap_or_default();
        if callees
            .iter()
            .any(|d| self.canisters.get(d).is_some_and(SimCanister::down))
        {
            return Observation::failed(RejectCode::CanisterError, "a dependency is down");
        }
        let perturbed = |p: &Principal| {
            self.canisters.get(p).is_some_and(|c| {
                c.plan
                    .iter()
                    .any(|f| matches!(f, HookFault::Perturb { .. }))
            })
        };
        let noticed = self.detectors.contains(target) && callees.iter().any(perturbed);
        let delay = c.plan.iter().find_map(|f| match f {
            HookFault::Delay { rounds, .. } => Some(*rounds as u64),
            _ => None,
        });
        Observation::Probed {
            reading: ProbeReading {
                value: Some(if perturbed(target) { 999_999 } else { 100 }),
                latency: DurationNs::from_secs(1 + delay.unwrap_or(0)),
                invariant_holds: Some(!c.corrupted && !noticed),
            },
        }
    }
}

/// A lab with the fixture registry, the simulated fleet and two council agents; records changes
/// as a shell would.
pub struct LabHarness {
    pub lab: Lab,
    pub fleet: FleetSnapshot,
    pub sim: SimFleet,
    pub now: TimestampNs,
    pub seq: u64,
    /// Every change recorded, in order: replaying it must rebuild `lab`.
    pub journal: Vec<(EventMeta, LabChange)>,
}

impl Default for LabHarness {
    fn default() -> Self {
        Self::new()
    }
}

impl LabHarness {
    /// Default limits, except a 50% share so the small fixture registry fits a cascade.
    pub fn new() -> Self {
        let fleet = fleet();
        let sim = SimFleet::new(&fleet);
        let mut h = LabHarness {
            lab: Lab::default(),
            fleet,
            sim,
            now: TimestampNs(1_000_000_000_000_000),
            seq: 0,
            journal: Vec::new(),
        };
        let limits = SafetyLimits {
            max_target_share_pct: 50,
            ..SafetyLimits::default()
        };
        h.set_limits(limits);
        for n in APPROVERS {
            let agent = Agent {
                principal: principal(n),
                kind: AgentKind::Person,
                name: format!("approver-{n}"),
            };
            let ch = commands::register_agent(&h.lab, &Self::admin(), agent).expect("valid agent");
            h.record(principal(ADMIN), ch);
        }
        h
    }

    pub fn admin() -> Caller {
        Caller {
            principal: principal(ADMIN),
            role: Some(Role::Admin),
        }
    }

    pub fn operator() -> Caller {
        Caller {
            principal: principal(OPERATOR),
            role: Some(Role::Operator),
        }
    }

    pub fn set_limits(&mut self, limits: SafetyLimits) {
        let ch = commands::set_limits(&self.lab, &Self::admin(), limits).expect("valid limits");
        self.record(principal(ADMIN), ch);
    }

    pub fn record(&mut self, caller: Principal, changes: Vec<LabChange>) {
        for c in changes {
            let meta = EventMeta {
                seq: self.seq,
                time: self.now,
                caller,
            };
            self.lab.apply(&meta, &c);
            self.journal.push((meta, c));
            self.seq += 1;
        }
    }

    pub fn advance(&mut self, d: DurationNs) {
        self.now = self.now.plus(d);
    }

    pub fn create(&mut self, spec: ExperimentSpec) -> Result<ExperimentId, LabError> {
        let ch = commands::create_experiment(&self.lab, &self.fleet, &Self::operator(), spec, 42)?;
        let id = match &ch[0] {
            LabChange::Experiment(ExperimentChange::Created { id, .. }) => *id,
            other => panic!("unexpected {other:?}"),
        };
        self.record(principal(OPERATOR), ch);
        Ok(id)
    }

    pub fn submit(&mut self, id: ExperimentId) -> Result<(), LabError> {
        let ch =
            commands::submit_experiment(&self.lab, &self.fleet, &Self::operator(), id, self.now)?;
        self.record(principal(OPERATOR), ch);
        Ok(())
    }

    /// Creates and submits.
    pub fn start(&mut self, spec: ExperimentSpec) -> Result<ExperimentId, LabError> {
        let id = self.create(spec)?;
        self.submit(id)?;
        Ok(id)
    }

    /// Issues the next step (recording `StepStarted`), without performing it.
    pub fn issue(&mut self, id: ExperimentId) -> Option<(u32, Action)> {
        let (change, action) = commands::issue_next_step(&self.lab, id, self.now)?;
        let step = match &change {
            LabChange::Experiment(ExperimentChange::StepStarted { step, .. }) => *step,
            _ => unreachable!(),
        };
        self.record(principal(OPERATOR), vec![change]);
        Some((step, action))
    }

    pub fn complete(
        &mut self,
        id: ExperimentId,
        step: u32,
        observation: Observation,
    ) -> Result<(), LabError> {
        let ch = commands::complete_step(&self.lab, id, step, observation, self.now)?;
        self.record(principal(OPERATOR), ch);
        Ok(())
    }

    /// One step: issue, perform on the simulated fleet (1 s per call; a wait jumps the
    /// clock), complete. Returns the action, or `None` when nothing was issued.
    pub fn step(&mut self, id: ExperimentId) -> Option<Action> {
        let (step, action) = self.issue(id)?;
        match action {
            Action::WaitUntil { until } => self.now = self.now.max(until),
            _ => self.advance(DurationNs::SECOND),
        }
        let obs = self.sim.perform(&action, self.now);
        self.complete(id, step, obs).expect("the step in flight");
        Some(action)
    }

    /// Steps until nothing is issued (at most `limit` steps); returns the actions performed.
    pub fn run(&mut self, id: ExperimentId) -> Vec<Action> {
        let mut out = Vec::new();
        while let Some(a) = self.step(id) {
            out.push(a);
            assert!(out.len() < 10_000, "runaway experiment");
        }
        out
    }

    /// Drives every active experiment round-robin until none issues a step.
    pub fn run_all(&mut self) {
        for _ in 0..10_000 {
            let ids: Vec<ExperimentId> = self.lab.active().map(|e| e.id).collect();
            let mut progressed = false;
            for id in ids {
                progressed |= self.step(id).is_some();
            }
            if !progressed {
                return;
            }
        }
        panic!("runaway experiments");
    }

    /// Replays the journal into a fresh lab.
    pub fn replay(&self) -> Lab {
        let mut lab = Lab::default();
        for (meta, change) in &self.journal {
            let bytes = minicbor::to_vec(change).expect("encodes");
            let decoded: LabChange = minicbor::decode(&bytes).expect("decodes");
            lab.apply(meta, &decoded);
        }
        lab
    }
}
