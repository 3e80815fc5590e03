//! The drill driver and the scheduler: the native twin of the canister's `drive.rs`.
//!
//! For every running drill that is not being performed, either the journaled in-flight step is
//! resumed (after an upgrade) or the core issues the next one (`issue_next_step`, journaled as
//! `DrillStepStarted` before anything happens). The effect completes on the agenda after a
//! seeded latency (a wait completes at its deadline); its outcome goes back through
//! `complete_step` and `record_all`. Approved hardening requests are performed alongside
//! ([`crate::hardening`]). Invariants are checked after every task.

use crate::agenda::Task;
use crate::app::VaultOp;
use crate::fixtures;
use crate::invariants::Violation;
use crate::sim::Sim;
use chaos_manager::effect::Effect;
use chaos_manager::{command, DrillId, DurationNs, Event, TimestampNs};

/// A run that has not gone idle after this many tasks is reported as not terminating.
pub const MAX_TASKS_PER_RUN: u64 = 100_000;

impl Sim {
    /// Runs until no drill is running, no approved hardening request is left and nothing is
    /// scheduled.
    ///
    /// # Panics
    /// On an invariant violation, with the seed and the last events.
    pub fn run_until_idle(&mut self) {
        if let Err(v) = self.try_run_until_idle() {
            panic!("{v}");
        }
    }

    /// [`Sim::run_until_idle`], returning a violation instead of panicking.
    pub fn try_run_until_idle(&mut self) -> Result<(), Violation> {
        let mut tasks = 0u64;
        while self.try_step()? {
            tasks += 1;
            if tasks > MAX_TASKS_PER_RUN {
                return Err(self.violation(format!("still busy after {MAX_TASKS_PER_RUN} tasks")));
            }
        }
        Ok(())
    }

    /// Runs at most `n` tasks; returns how many ran (fewer when the fleet went idle).
    pub fn try_run_tasks(&mut self, n: u64) -> Result<u64, Violation> {
        for i in 0..n {
            if !self.try_step()? {
                return Ok(i);
            }
        }
        Ok(n)
    }

    /// Runs tasks until `drill`'s in-flight step is its hold (or the fleet is idle).
    pub fn run_until_hold(&mut self, drill: DrillId) -> Result<(), Violation> {
        loop {
            let waiting = self.state().drills.get(&drill).is_some_and(|d| {
                d.in_flight()
                    .is_some_and(|e| matches!(e.effect, Effect::WaitUntil { .. }))
            });
            if waiting || !self.try_step()? {
                return Ok(());
            }
        }
    }

    /// One scheduler step: issue what can be issued, then run the earliest task and check the
    /// invariants. `Ok(false)` when there is nothing left to do.
    pub fn try_step(&mut self) -> Result<bool, Violation> {
        self.issue_ready();
        self.issue_hardening();
        self.issue_experiments();
        self.ensure_background();
        let Some((at, task)) = self.agenda.pop() else {
            if let Some(e) = self.state().lab.active().next() {
                return Err(self.violation(format!(
                    "{} is active but nothing is scheduled for it",
                    e.id
                )));
            }
            if let Some(d) = self.state().running_drills().next() {
                return Err(self.violation(format!(
                    "{} is running but nothing is scheduled for it",
                    d.id
                )));
            }
            if let Some(r) = self.state().assurance.approved_pending().next() {
                return Err(self.violation(format!(
                    "hardening request {} is approved but nothing performs it",
                    r.id
                )));
            }
            return Ok(false);
        };
        self.now = self.now.max(at);
        self.stats.steps += 1;
        match task {
            Task::Perform {
                drill,
                step,
                effect,
            } => self.complete(drill, step, &effect),
            Task::UserCall { canister, user, op } => {
                let _ = self.user_call(canister, user, &op);
            }
            Task::Background => self.background_op(),
            Task::Harden {
                request,
                index,
                effect,
            } => self.complete_hardening(request, index, &effect)?,
            Task::Experiment { id, step, effect } => self.complete_experiment(id, step, &effect)?,
            Task::ExperimentReply { id, step, outcome } => {
                self.deliver_experiment(id, step, outcome)
            }
            Task::LabTick => self.fire_lab_timer(),
        }
        // As the canister re-arms its timer on completion: the next step is issued at once.
        self.issue_ready();
        self.issue_hardening();
        self.issue_experiments();
        self.check_invariants()?;
        Ok(true)
    }

    /// Resumes or issues a step for every running drill not being performed.
    fn issue_ready(&mut self) {
        let idle: Vec<DrillId> = self
            .state()
            .running_drills()
            .map(|d| d.id)
            .filter(|id| !self.performing.contains(id))
            .collect();
        for drill in idle {
            let resumed = self.state().drills[&drill]
                .in_flight()
                .map(|e| (e.step, e.effect.clone()));
            let next = resumed.or_else(|| self.issue(drill));
            if let Some((step, effect)) = next {
                self.schedule(drill, step, effect);
            }
        }
    }

    /// Journals the next step of `drill` before it is performed.
    fn issue(&mut self, drill: DrillId) -> Option<(u16, Effect)> {
        let (event, effect) = command::issue_next_step(self.state(), drill)?;
        let Event::DrillStepStarted { step, .. } = &event else {
            unreachable!("issue_next_step returns DrillStepStarted");
        };
        let step = *step;
        let suite = self.suite;
        self.record(suite, &drill.to_string(), None, vec![event]);
        Some((step, effect))
    }

    /// Puts `effect` on the agenda: a call completes after its latency, a wait at its deadline
    /// (the hold's deposits are scheduled before it).
    pub(crate) fn schedule(&mut self, drill: DrillId, step: u16, effect: Effect) {
        self.performing.insert(drill);
        let at = match &effect {
            Effect::WaitUntil { until } => {
                let end = (*until).max(self.now);
                self.schedule_hold_ops(drill, end);
                end
            }
            other => {
                let latency = self.latency(other);
                self.now.plus(latency)
            }
        };
        self.agenda.push(
            at,
            Task::Perform {
                drill,
                step,
                effect,
            },
        );
    }

    /// The deposits requested for `drill`'s hold, at seeded times before `end`.
    fn schedule_hold_ops(&mut self, drill: DrillId, end: TimestampNs) {
        let Some(n) = self.hold_ops.remove(&drill) else {
            return;
        };
        let canister = self.state().drills[&drill].target;
        let mut times: Vec<u64> = (0..n).map(|_| self.rng.range(self.now.0, end.0)).collect();
        times.sort_unstable();
        for (i, t) in times.into_iter().enumerate() {
            let (user, amount) = fixtures::hold_operation(i as u32);
            self.agenda.push(
                TimestampNs(t),
                Task::UserCall {
                    canister,
                    user: fixtures::user(user),
                    op: VaultOp::Deposit { amount },
                },
            );
        }
    }

    /// The step's call completes: perform it and feed the outcome back to the core.
    fn complete(&mut self, drill: DrillId, step: u16, effect: &Effect) {
        self.performing.remove(&drill);
        let outcome = self.call(effect);
        // As in the canister: the core re-checks the step; a stale completion records nothing.
        if let Ok(events) = command::complete_step(self.state(), drill, step, outcome, self.now) {
            let suite = self.suite;
            self.record(suite, &drill.to_string(), None, events);
        }
    }

    /// Keeps one background operation on the agenda while drills run.
    fn ensure_background(&mut self) {
        let Some(bg) = self.background else {
            return;
        };
        if (self.state().running_drills().next().is_none()
            && self.state().lab.active().next().is_none())
            || self.agenda.has_background()
        {
            return;
        }
        let mean = bg.mean_interval.0.max(2);
        let gap = DurationNs(self.rng.range(mean / 2, mean + mean / 2));
        self.agenda.push(self.now.plus(gap), Task::Background);
    }

    /// One random user operation on a random vault (it may be rejected or refused).
    fn background_op(&mut self) {
        let ids = self.canister_ids();
        if ids.is_empty() {
            return;
        }
        let canister = *self.rng.pick(&ids);
        let user = fixtures::user(self.rng.range(1, 5) as u8);
        let amount = self.rng.range(1, 200);
        let op = match self.rng.range(0, 9) {
            0 | 1 => VaultOp::Withdraw { amount },
            2 => VaultOp::Transfer {
                to: fixtures::user(self.rng.range(1, 5) as u8),
                amount,
            },
            _ => VaultOp::Deposit { amount },
        };
        let _ = self.user_call(canister, user, &op);
    }
}
