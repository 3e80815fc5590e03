//! The lab: experiments, safety and council state, folded from [`LabChange`]s. The lead wraps
//! each of the three change enums in one event (`ExperimentChanged`, `SafetyChanged`,
//! `CouncilChanged`) and calls [`Lab::apply`] from `State::apply`.

use super::report::ExperimentReport;
use super::run::{Experiment, StepKind};
use super::spec::ExperimentSpec;
use super::{AbortReason, Cause, ExperimentId};
use crate::council::{Council, CouncilChange, MotionId};
use crate::fault::{Action, Observation, RunPlan};
use crate::ids::TimestampNs;
use crate::safety::{RunLimits, SafetyChange, SafetyState, ScheduleId};
use crate::state::EventMeta;
use ic_principal::Principal;
use minicbor::{Decode, Encode};
use std::collections::BTreeMap;

/// Experiment records (events). Tags are stable.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum ExperimentChange {
    /// A draft. `origin` is who set it going (an operator or a schedule).
    #[n(0)]
    Created {
        #[n(0)]
        id: ExperimentId,
        #[n(1)]
        spec: Box<ExperimentSpec>,
        /// Seed of the hooks' generator (the shell draws it from `raw_rand`).
        #[n(2)]
        seed: u64,
        #[n(3)]
        origin: Cause,
        #[cbor(n(4), with = "crate::cbor::principal")]
        by: Principal,
    },
    /// Admitted by the safety limits; with a motion when approval is needed.
    #[n(1)]
    Submitted {
        #[n(0)]
        id: ExperimentId,
        #[n(1)]
        motion: Option<MotionId>,
    },
    /// Admitted again at start; the plan and limits are fixed from here on.
    #[n(2)]
    Started {
        #[n(0)]
        id: ExperimentId,
        #[n(1)]
        plan: RunPlan,
        #[n(2)]
        limits: RunLimits,
        /// The rules the run is folded by ([`crate::experiment::run::FOLD_VERSION`] when it
        /// started; 0 in logs written before the field existed), so a run replays after an
        /// upgrade exactly as it was recorded.
        #[n(3)]
        #[cbor(default)]
        fold: u8,
    },
    /// Journaled before the shell performs `action`.
    #[n(3)]
    StepStarted {
        #[n(0)]
        id: ExperimentId,
        #[n(1)]
        step: u32,
        #[n(2)]
        action: Action,
        #[n(3)]
        kind: StepKind,
        #[n(4)]
        cause: Cause,
    },
    #[n(4)]
    StepCompleted {
        #[n(0)]
        id: ExperimentId,
        #[n(1)]
        step: u32,
        #[n(2)]
        observation: Observation,
    },
    #[n(5)]
    AbortRequested {
        #[n(0)]
        id: ExperimentId,
        #[n(1)]
        reason: AbortReason,
    },
    #[n(6)]
    Finished {
        #[n(0)]
        id: ExperimentId,
        #[n(1)]
        report: Box<ExperimentReport>,
    },
    /// Ended before it started: rejected, refused at start, withdrawn or emergency-stopped.
    #[n(7)]
    Cancelled {
        #[n(0)]
        id: ExperimentId,
        #[n(1)]
        reason: String,
        #[n(2)]
        cause: Cause,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum LabChange {
    #[n(0)]
    Experiment(#[n(0)] ExperimentChange),
    #[n(1)]
    Safety(#[n(0)] SafetyChange),
    #[n(2)]
    Council(#[n(0)] CouncilChange),
}

/// A timer a shell arms (and re-arms from state after an upgrade).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timer {
    /// Call `commands::tick` at this time: the run's hard deadline.
    ExperimentDeadline(ExperimentId, TimestampNs),
    /// Complete the in-flight wait step at this time.
    Wait(ExperimentId, u32, TimestampNs),
    MotionDeadline(MotionId, TimestampNs),
    Schedule(ScheduleId, TimestampNs),
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Lab {
    pub experiments: BTreeMap<ExperimentId, Experiment>,
    pub next_experiment: u64,
    pub safety: SafetyState,
    pub council: Council,
}

impl Lab {
    pub fn apply(&mut self, meta: &EventMeta, change: &LabChange) {
        match change {
            LabChange::Experiment(c) => self.apply_experiment(meta, c),
            LabChange::Safety(c) => self.safety.apply(meta, c),
            LabChange::Council(c) => self.council.apply(meta, c),
        }
    }

    pub fn apply_experiment(&mut self, meta: &EventMeta, change: &ExperimentChange) {
        let at = meta.time;
        if let ExperimentChange::Created {
            id,
            spec,
            seed,
            origin,
            by,
        } = change
        {
            self.next_experiment = self.next_experiment.max(id.0 + 1);
            self.experiments.insert(
                *id,
                Experiment::new(*id, (**spec).clone(), *seed, *origin, *by, at),
            );
            return;
        }
        let id = match change {
            ExperimentChange::Created { id, .. }
            | ExperimentChange::Submitted { id, .. }
            | ExperimentChange::Started { id, .. }
            | ExperimentChange::StepStarted { id, .. }
            | ExperimentChange::StepCompleted { id, .. }
            | ExperimentChange::AbortRequested { id, .. }
            | ExperimentChange::Finished { id, .. }
            | ExperimentChange::Cancelled { id, .. } => *id,
        };
        let Some(e) = self.experiments.get_mut(&id) else {
            return;
        };
        match change {
            ExperimentChange::Created { .. } => {}
            ExperimentChange::Submitted { motion, .. } => e.on_submitted(motion.is_some()),
            ExperimentChange::Started {
                plan, limits, fold, ..
            } => e.on_started(plan.clone(), limits.clone(), *fold, at),
            ExperimentChange::StepStarted {
                step,
                action,
                kind,
                cause,
                ..
            } => e.on_step_started(*step, action.clone(), *kind, *cause, at),
            ExperimentChange::StepCompleted {
                step, observation, ..
            } => e.on_step_completed(*step, observation.clone(), at),
            ExperimentChange::AbortRequested { reason, .. } => e.on_abort(reason.clone(), at),
            ExperimentChange::Finished { report, .. } => e.on_finished((**report).clone()),
            ExperimentChange::Cancelled { reason, cause, .. } => {
                e.on_cancelled(reason.clone(), *cause, at)
            }
        }
    }

    /// Running or rolling back.
    pub fn active(&self) -> impl Iterator<Item = &Experiment> {
        self.experiments.values().filter(|e| e.is_active())
    }

    /// Active experiments and the registered targets each touches (for admission).
    pub fn active_touched(&self) -> Vec<(ExperimentId, Vec<Principal>)> {
        self.active()
            .map(|e| {
                let touched = e
                    .plan
                    .as_ref()
                    .map(|p| p.acted_on.iter().chain(&p.affected).copied().collect())
                    .unwrap_or_default();
                (e.id, touched)
            })
            .collect()
    }

    /// The active experiment touching `target`: drills, hardening and experiments never share
    /// a target (the lead adds this check to `command::start_drill`).
    pub fn occupant(&self, target: &Principal) -> Option<ExperimentId> {
        self.active()
            .find(|e| {
                e.plan
                    .as_ref()
                    .is_some_and(|p| p.acted_on.contains(target) || p.affected.contains(target))
            })
            .map(|e| e.id)
    }

    /// Steps journaled as started with no observation yet: a shell performs them again after
    /// an upgrade (every experiment action is safe to repeat or checked by the next step).
    pub fn in_flight(&self) -> Vec<(ExperimentId, u32, Action)> {
        self.active()
            .filter_map(|e| e.in_flight().map(|s| (e.id, s.step, s.action.clone())))
            .collect()
    }

    /// Every timer a shell must have armed; after an upgrade it arms them all again.
    pub fn timers(&self) -> Vec<Timer> {
        let mut out = Vec::new();
        for e in self.active() {
            // Once an abort is requested the deadline has done its work (as `overdue` says):
            // a timer armed again for a past deadline would fire forever.
            if let (Some(d), true) = (
                e.deadline(),
                e.phase < super::Phase::Rollback && e.abort.is_none(),
            ) {
                out.push(Timer::ExperimentDeadline(e.id, d));
            }
            if let Some(s) = e.in_flight() {
                if let Action::WaitUntil { until } = s.action {
                    out.push(Timer::Wait(e.id, s.step, until));
                }
            }
        }
        for m in self.council.motions.values().filter(|m| m.is_open()) {
            out.push(Timer::MotionDeadline(m.id, m.deadline));
        }
        for s in self.safety.schedules.values() {
            if let Some(at) = s.next_at {
                out.push(Timer::Schedule(s.id, at));
            }
        }
        out
    }
}
