//! The simulator's agenda: what happens next, and when. Tasks run in time order; tasks due at
//! the same time run in the order they were scheduled, so a run is a pure function of its seed.

use crate::app::VaultOp;
use candid::Principal;
use chaos_manager::effect::{Effect, Outcome};
use chaos_manager::experiment::ExperimentId;
use chaos_manager::{DrillId, TimestampNs};
use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Task {
    /// chaos_system's call for a drill step completes: perform the effect, report the outcome.
    Perform {
        drill: DrillId,
        step: u16,
        effect: Effect,
    },
    /// A user's update call to a vault.
    UserCall {
        canister: Principal,
        user: Principal,
        op: VaultOp,
    },
    /// The background workload's next operation.
    Background,
    /// chaos_system's call for effect `index` of an approved hardening request completes.
    Harden {
        request: u64,
        index: usize,
        effect: Effect,
    },
    /// chaos_system's call for an experiment step completes (a wait at its deadline).
    Experiment {
        id: ExperimentId,
        step: u32,
        effect: Effect,
    },
    /// chaos_probe's answer to an experiment probe reaches chaos_system, after the probe's own
    /// call of the target took `reading.latency` (the clock passes while a target is slow).
    ExperimentReply {
        id: ExperimentId,
        step: u32,
        outcome: Outcome,
    },
    /// chaos_system's lab timer (experiment deadline, motion deadline, schedule) fires.
    LabTick,
}

#[derive(Debug, Default)]
pub struct Agenda {
    tasks: BTreeMap<(TimestampNs, u64), Task>,
    scheduled: u64,
}

impl Agenda {
    pub fn push(&mut self, at: TimestampNs, task: Task) {
        self.tasks.insert((at, self.scheduled), task);
        self.scheduled += 1;
    }

    /// The earliest task (first scheduled among equals).
    pub fn pop(&mut self) -> Option<(TimestampNs, Task)> {
        self.tasks.pop_first().map(|((at, _), task)| (at, task))
    }

    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    pub fn has_background(&self) -> bool {
        self.tasks.values().any(|t| matches!(t, Task::Background))
    }

    /// Removes every hardening call in flight (lost with an upgrade, like drill steps) and
    /// returns their effects in agenda order.
    pub fn drain_hardening(&mut self) -> Vec<Effect> {
        let keys: Vec<(TimestampNs, u64)> = self
            .tasks
            .iter()
            .filter(|(_, t)| matches!(t, Task::Harden { .. }))
            .map(|(k, _)| *k)
            .collect();
        keys.into_iter()
            .filter_map(|k| match self.tasks.remove(&k) {
                Some(Task::Harden { effect, .. }) => Some(effect),
                _ => None,
            })
            .collect()
    }

    /// Removes every experiment call in flight and every lab timer (lost with an upgrade);
    /// returns the calls' effects in agenda order (a probe answer on its way back acted on
    /// nothing: it is simply lost).
    pub fn drain_lab(&mut self) -> Vec<Effect> {
        let keys: Vec<(TimestampNs, u64)> = self
            .tasks
            .iter()
            .filter(|(_, t)| {
                matches!(
                    t,
                    Task::Experiment { .. } | Task::ExperimentReply { .. } | Task::LabTick
                )
            })
            .map(|(k, _)| *k)
            .collect();
        keys.into_iter()
            .filter_map(|k| match self.tasks.remove(&k) {
                Some(Task::Experiment { effect, .. }) => Some(effect),
                _ => None,
            })
            .collect()
    }

    /// Removes every drill step in flight (an upgrade loses chaos_system's pending calls and
    /// timers) and returns them in agenda order. User calls stay: users are not upgraded.
    pub fn drain_performs(&mut self) -> Vec<(DrillId, u16, Effect)> {
        let keys: Vec<(TimestampNs, u64)> = self
            .tasks
            .iter()
            .filter(|(_, t)| matches!(t, Task::Perform { .. }))
            .map(|(k, _)| *k)
            .collect();
        keys.into_iter()
            .filter_map(|k| match self.tasks.remove(&k) {
                Some(Task::Perform {
                    drill,
                    step,
                    effect,
                }) => Some((drill, step, effect)),
                _ => None,
            })
            .collect()
    }
}
