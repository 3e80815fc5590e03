//! The model: a fold of the event log. [`State::apply`] is the one mutation path, used alike
//! when an event is first recorded and when the log is replayed after an upgrade.

use crate::assurance::AssuranceState;
use crate::auth::Role;
use crate::drill::{Drill, DrillStatus};
use crate::events::Event;
use crate::experiment::{ExperimentId, Lab};
use crate::fault::{Fleet, Occupant, TargetView};
use crate::ids::{DrillId, SnapshotId, TimestampNs};
use crate::target::Target;
use ic_principal::Principal;
use std::collections::BTreeMap;

/// What the log's envelope says about an event besides its payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventMeta {
    pub seq: u64,
    pub time: TimestampNs,
    pub caller: Principal,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct State {
    pub suite: Option<Principal>,
    pub roles: BTreeMap<Principal, Role>,
    pub targets: BTreeMap<Principal, Target>,
    pub drills: BTreeMap<DrillId, Drill>,
    /// Latest restore-point snapshot the suite took of each target.
    pub snapshots: BTreeMap<Principal, SnapshotId>,
    pub upgrades: Vec<(TimestampNs, String)>,
    /// The log's idempotency-key window when configured (None: the log's default).
    pub dedup_window_ns: Option<u64>,
    pub events_applied: u64,
    pub assurance: AssuranceState,
    /// Experiments, safety limits and the emergency stop, the council.
    pub lab: Lab,
    /// The chaos_probe canister experiments and access probes call targets through.
    pub chaos_probe: Option<Principal>,
}

impl State {
    pub fn role_of(&self, p: &Principal) -> Option<Role> {
        self.roles.get(p).copied()
    }

    pub fn admins(&self) -> impl Iterator<Item = &Principal> {
        self.roles
            .iter()
            .filter(|(_, r)| **r == Role::Admin)
            .map(|(p, _)| p)
    }

    pub fn running_drill_on(&self, target: &Principal) -> Option<DrillId> {
        self.drills
            .values()
            .find(|d| d.target == *target && d.is_running())
            .map(|d| d.id)
    }

    pub fn running_drills(&self) -> impl Iterator<Item = &Drill> {
        self.drills.values().filter(|d| d.is_running())
    }

    pub fn apply(&mut self, meta: &EventMeta, event: &Event) {
        self.events_applied += 1;
        match event {
            Event::Init {
                admins,
                suite,
                dedup_window_ns,
            } => {
                self.suite = Some(*suite);
                self.dedup_window_ns = *dedup_window_ns;
                for a in admins {
                    self.roles.insert(*a, Role::Admin);
                }
            }
            Event::Upgrade {
                version,
                dedup_window_ns,
            } => {
                self.upgrades.push((meta.time, version.clone()));
                if dedup_window_ns.is_some() {
                    self.dedup_window_ns = *dedup_window_ns;
                }
            }
            Event::RoleGranted { principal, role } => {
                self.roles.insert(*principal, *role);
            }
            Event::RoleRevoked { principal } => {
                self.roles.remove(principal);
            }
            Event::TargetRegistered { target } | Event::TargetUpdated { target } => {
                self.targets.insert(target.canister_id, target.clone());
            }
            Event::TargetRemoved { canister } => {
                self.targets.remove(canister);
            }
            Event::DrillStarted {
                target,
                scenario,
                options,
                objectives,
                rotate_snapshot,
            } => {
                let id = DrillId(meta.seq);
                let suite = self.suite.unwrap_or(Principal::management_canister());
                self.drills.insert(
                    id,
                    Drill::new(
                        id,
                        *target,
                        suite,
                        *scenario,
                        options.clone(),
                        objectives.clone(),
                        meta.caller,
                        meta.time,
                        rotate_snapshot.clone(),
                    ),
                );
            }
            Event::DrillStepStarted {
                drill,
                step,
                effect,
            } => {
                if let Some(d) = self.drills.get_mut(drill) {
                    d.on_step_started(*step, effect.clone(), meta.time);
                }
            }
            Event::DrillStepCompleted {
                drill,
                step,
                outcome,
            } => {
                if let Some(d) = self.drills.get_mut(drill) {
                    d.on_step_completed(*step, outcome.clone(), meta.time);
                    if let Some((id, _)) = &d.restore_point {
                        self.snapshots.insert(d.target, id.clone());
                    }
                }
            }
            Event::DrillFinished { drill, report } => {
                if let Some(d) = self.drills.get_mut(drill) {
                    d.status = DrillStatus::Finished(report.clone());
                }
            }
            Event::HardeningPolicySet { .. }
            | Event::TargetScanned { .. }
            | Event::FindingsChanged { .. }
            | Event::HardeningRequested { .. }
            | Event::HardeningDecided { .. }
            | Event::HardeningFinished { .. }
            | Event::ReadinessAssessed { .. }
            | Event::ScanScheduleSet { .. } => {
                self.assurance
                    .apply(meta.seq, meta.time, meta.caller, event)
            }
            Event::ExperimentChanged { change } => self.lab.apply_experiment(meta, change),
            Event::SafetyChanged { change } => self.lab.safety.apply(meta, change),
            Event::CouncilChanged { change } => self.lab.council.apply(meta, change),
            Event::ChaosProbeSet { probe } => self.chaos_probe = *probe,
        }
    }

    /// The active experiment acting on or degrading `target`, if any.
    pub fn experiment_on(&self, target: &Principal) -> Option<ExperimentId> {
        self.lab.occupant(target)
    }
}

/// The registry as experiments read it. A target registered before fault profiles existed
/// (`fault_profile: None`) allows no fault at all.
impl Fleet for State {
    fn target(&self, canister: &Principal) -> Option<TargetView> {
        let t = self.targets.get(canister)?;
        Some(TargetView {
            canister: t.canister_id,
            name: t.name.clone(),
            criticality: t.criticality,
            protected: t.protected,
            probe_method: t.probe_method.clone(),
            profile: t.fault_profile.clone().unwrap_or_default(),
        })
    }

    fn target_count(&self) -> usize {
        self.targets.len()
    }

    fn busy(&self, canister: &Principal) -> Option<Occupant> {
        if let Some(d) = self.running_drill_on(canister) {
            return Some(Occupant::Drill(d));
        }
        crate::assurance::hardening_in_progress(self, *canister).map(Occupant::Hardening)
    }

    fn knows(&self, canister: &Principal) -> bool {
        self.targets.contains_key(canister)
            || self.targets.values().any(|t| {
                t.fault_profile
                    .as_ref()
                    .is_some_and(|p| p.dependents.contains(canister))
            })
    }

    fn probe_configured(&self) -> bool {
        self.chaos_probe.is_some()
    }
}
