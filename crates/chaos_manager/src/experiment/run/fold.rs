//! The folds of [`Experiment`]: how each recorded change moves the run along. Replay uses the
//! same functions, so live and replayed state cannot drift.

use super::{step_name, CheckRecord, Experiment, Phase, Planned, Stage, StepKind, StepRecord};
use crate::experiment::report::ExperimentReport;
use crate::experiment::spec::{ProbeDef, RollbackStrategy};
use crate::experiment::{AbortReason, Cause};
use crate::fault::{Action, FaultFindings, FaultStep, Observation, RunPlan};
use crate::ids::TimestampNs;
use crate::safety::RunLimits;
use ic_principal::Principal;

impl Experiment {
    pub fn on_submitted(&mut self, needs_approval: bool) {
        if needs_approval {
            self.stage = Stage::PendingApproval;
        }
    }

    pub fn on_cancelled(&mut self, reason: String, cause: Cause, at: TimestampNs) {
        self.stage = Stage::Cancelled { reason, cause, at };
    }

    pub fn on_started(&mut self, plan: RunPlan, limits: RunLimits, fold: u8, at: TimestampNs) {
        self.fold = fold;
        self.findings = FaultFindings::new(&plan.watches);
        self.stage = Stage::Active;
        self.started_at = Some(at);
        self.phase = Phase::Preflight;
        let mut queue: Vec<Planned> = plan.acted_on.iter().map(|c| Planned::Status(*c)).collect();
        queue.extend(self.probes_for(|p| p.phases.before));
        self.queue = queue;
        self.cursor = 0;
        self.plan = Some(plan);
        self.limits = Some(limits);
    }

    fn probes_for(&self, pick: impl Fn(&ProbeDef) -> bool) -> Vec<Planned> {
        self.spec
            .hypothesis
            .probes
            .iter()
            .enumerate()
            .filter(|(_, p)| pick(p))
            .map(|(i, _)| Planned::Probe(i))
            .collect()
    }

    pub fn on_step_started(
        &mut self,
        step: u32,
        action: Action,
        kind: StepKind,
        cause: Cause,
        at: TimestampNs,
    ) {
        if kind == StepKind::Planned {
            if let Some(Planned::Fault(f)) = self.queue.get(self.cursor) {
                let f = f.clone();
                self.owed.on_issued(&f, &self.originals);
            }
        }
        self.steps.push(StepRecord {
            step,
            phase: self.phase,
            action,
            kind,
            cause,
            started_at: at,
            finished_at: None,
            observation: None,
        });
    }

    pub fn on_step_completed(&mut self, step: u32, observation: Observation, at: TimestampNs) {
        let Some(record) = self
            .steps
            .last_mut()
            .filter(|s| s.step == step && s.observation.is_none())
        else {
            return;
        };
        record.finished_at = Some(at);
        record.observation = Some(observation.clone());
        if record.kind == StepKind::Backoff {
            return;
        }
        let Some(planned) = self.queue.get(self.cursor).cloned() else {
            return;
        };
        let advance = self.fold_observation(&planned, &observation, at);
        if advance {
            self.cursor += 1;
        }
        if self.owes_abort_rollback() {
            self.enter_rollback(at);
        } else if self.cursor >= self.queue.len() && self.blocked.is_none() {
            self.advance_phase(at);
        }
    }

    /// Folds one observation; false when the step is to be retried (the cursor stays).
    fn fold_observation(&mut self, planned: &Planned, obs: &Observation, at: TimestampNs) -> bool {
        match planned {
            Planned::Status(c) => match obs {
                Observation::Status { status } => {
                    if self.phase < Phase::Rollback {
                        self.monitor.record_cycles(*c, status.cycles);
                    }
                    match self.phase {
                        Phase::Preflight => {
                            self.originals.insert(*c, status.clone());
                        }
                        Phase::Verify => {
                            self.retry = None;
                            self.final_status.insert(*c, status.clone());
                        }
                        _ => {}
                    }
                }
                _ if self.phase == Phase::Preflight => {
                    self.blocked = Some(AbortReason::StepFailed {
                        action: "read_status".into(),
                        detail: format!("{c}: {}", obs.failure_text().unwrap_or_default()),
                    });
                }
                // The read that says whether the target was given back is retried like a
                // rollback step: one lost reply must not flag a restored target. One given up
                // leaves `restored` unknown, which flags a run that rolled something back.
                _ if self.phase == Phase::Verify && self.fold >= 1 => {
                    return self.schedule_retry(at).is_err();
                }
                _ => {}
            },
            Planned::Probe(i) => self.fold_check(*i, obs, at),
            Planned::Watch(i) => {
                let since = at.since(self.injected_at.unwrap_or(at));
                self.findings.record_watch(*i, obs, since);
            }
            Planned::Wait(_) => {}
            Planned::Fault(step) => return self.fold_fault(step, obs, at),
        }
        true
    }

    fn fold_check(&mut self, i: usize, obs: &Observation, at: TimestampNs) {
        let probe = &self.spec.hypothesis.probes[i];
        let result = probe.tolerance.check(obs);
        let latency = match obs {
            Observation::Probed { reading } => Some(reading.latency),
            _ => None,
        };
        if self.phase < Phase::Rollback {
            self.monitor.record_check(
                result.is_ok(),
                obs.is_failure(),
                self.phase == Phase::Observe,
                latency,
            );
        }
        if self.phase == Phase::Preflight && result.is_err() {
            self.blocked = Some(AbortReason::SteadyStateNotMet {
                probe: probe.name.clone(),
                detail: result.clone().unwrap_err(),
            });
        }
        self.checks.push(CheckRecord {
            probe: probe.name.clone(),
            phase: self.phase,
            at,
            within: result.is_ok(),
            detail: result.err().unwrap_or_default(),
        });
    }

    fn fold_fault(&mut self, step: &FaultStep, obs: &Observation, at: TimestampNs) -> bool {
        if !obs.is_failure() {
            self.owed.on_succeeded(step);
            self.retry = None;
            match (step, obs) {
                (FaultStep::Snapshot { canister }, Observation::SnapshotTaken { id, .. }) => {
                    self.snapshots.insert(*canister, id.clone());
                }
                (FaultStep::ProbeAccess { methods, .. }, _) => {
                    self.findings.record_access_probe(methods, obs)
                }
                _ => {}
            }
            return true;
        }
        let detail = format!(
            "{} on {}: {}",
            step_name(step),
            step.canister(),
            obs.failure_text().unwrap_or_default()
        );
        if self.phase != Phase::Rollback {
            self.blocked = Some(AbortReason::StepFailed {
                action: step_name(step).into(),
                detail,
            });
            return true;
        }
        match self.schedule_retry(at) {
            Ok(()) => false,
            Err(attempts) => {
                self.rollback_failures
                    .push(format!("{detail} (given up after {attempts} attempts)"));
                if let FaultStep::LoadRestorePoint { canister } = step {
                    self.keep_restore_point(*canister);
                }
                true
            }
        }
    }

    /// After a failed attempt of the step at the cursor: schedules the next one by the run's
    /// backoff, or gives up (`Err(attempts made)`).
    fn schedule_retry(&mut self, at: TimestampNs) -> Result<(), u32> {
        let attempts = self.retry.map_or(1, |(n, _)| n + 1);
        let backoff = self.limits.as_ref().map(|l| l.backoff).unwrap_or_default();
        match backoff.next_retry_at(at, attempts) {
            Some(when) => {
                self.retry = Some((attempts, when));
                Ok(())
            }
            None => {
                self.retry = None;
                Err(attempts)
            }
        }
    }

    fn advance_phase(&mut self, at: TimestampNs) {
        match self.phase {
            Phase::Preflight => {
                self.phase = Phase::Inject;
                let inject = self
                    .plan
                    .as_ref()
                    .map(|p| p.inject.clone())
                    .unwrap_or_default();
                self.set_queue(inject.into_iter().map(Planned::Fault).collect());
                if self.queue.is_empty() {
                    self.advance_phase(at);
                }
            }
            Phase::Inject => {
                self.injected_at = Some(at);
                self.phase = Phase::Observe;
                self.next_tick(at);
            }
            Phase::Observe => self.next_tick(at),
            Phase::Rollback => self.enter_verify(),
            Phase::Verify => {}
        }
    }

    fn set_queue(&mut self, queue: Vec<Planned>) {
        self.queue = queue;
        self.cursor = 0;
    }

    /// End of the fault window: the earlier of injection + duration and the hard deadline.
    fn fault_ends_at(&self) -> TimestampNs {
        let injected = self.injected_at.unwrap_or_default();
        let end = injected.plus(self.spec.duration);
        self.deadline().map_or(end, |d| end.min(d).max(injected))
    }

    fn next_tick(&mut self, at: TimestampNs) {
        let end = self.fault_ends_at();
        let previous = self.tick_at.unwrap_or(self.injected_at.unwrap_or(at));
        if previous >= end {
            return self.enter_rollback(at);
        }
        let tick = previous.plus(self.spec.probe_interval).min(end);
        self.tick_at = Some(tick);
        let mut queue = vec![Planned::Wait(tick)];
        queue.extend(self.probes_for(|p| p.phases.during));
        let watches = self.plan.as_ref().map_or(0, |p| p.watches.len());
        queue.extend((0..watches).map(Planned::Watch));
        let acted: Vec<Principal> = self
            .plan
            .as_ref()
            .map(|p| p.acted_on.clone())
            .unwrap_or_default();
        queue.extend(acted.into_iter().map(Planned::Status));
        self.set_queue(queue);
    }

    /// Whether the steady state deviated while the fault was active.
    pub fn deviated(&self) -> bool {
        self.checks
            .iter()
            .any(|c| c.phase == Phase::Observe && !c.within)
    }

    fn enter_rollback(&mut self, _at: TimestampNs) {
        self.phase = Phase::Rollback;
        self.retry = None;
        self.blocked = None;
        let run = self.abort.is_some()
            || match self.spec.rollback {
                RollbackStrategy::Always => true,
                // What does not undo itself (a stop, settings, corrupted data) is owed back
                // whatever the steady state said: only self-expiring hook plans are skipped.
                RollbackStrategy::OnDeviation => {
                    self.deviated() || !self.spec.fault.undoes_itself()
                }
                RollbackStrategy::Never => false,
            };
        let steps = if run {
            let mut steps = self.owed.rollback_steps();
            if self.fold < 1 {
                steps.retain(|s| !matches!(s, FaultStep::DeleteRestorePoint { .. }));
            }
            steps
        } else {
            Vec::new()
        };
        self.rolled_back = !steps.is_empty();
        let mut queue: Vec<Planned> = steps.into_iter().map(Planned::Fault).collect();
        if !run && !self.owed.is_empty() && self.fold >= 1 {
            // A skipped rollback leaves hook plans that clear themselves at their expiry: until
            // then the fault is live, so the run keeps its targets (nothing else is admitted on
            // them) and verifies once the plans have lapsed. An abort meanwhile clears them.
            let lapsed = self.resolve_ctx().plan_expires_at.plus(super::LAPSE_MARGIN);
            queue.push(Planned::Wait(lapsed));
        }
        self.set_queue(queue);
        if self.queue.is_empty() {
            self.enter_verify();
        }
    }

    /// Waiting for the hook plans of a skipped rollback to lapse.
    fn lapsing(&self) -> bool {
        self.phase == Phase::Rollback && !self.rolled_back && !self.owed.is_empty()
    }

    fn enter_verify(&mut self) {
        self.phase = Phase::Verify;
        self.retry = None;
        let mut queue = self.probes_for(|p| p.phases.after);
        let acted: Vec<Principal> = self
            .plan
            .as_ref()
            .map(|p| p.acted_on.clone())
            .unwrap_or_default();
        queue.extend(acted.into_iter().map(Planned::Status));
        self.set_queue(queue);
    }

    /// Folds an abort. A wait of the observe phase, or for a skipped rollback's plans to lapse,
    /// in flight is cut short (the shell's later completion of it is refused as a step mismatch
    /// and dropped); any other step in flight completes first, then the rollback runs.
    pub fn on_abort(&mut self, reason: AbortReason, at: TimestampNs) {
        if self.abort.is_some() || !self.is_active() {
            return;
        }
        self.abort = Some(reason);
        if !self.owes_abort_rollback() {
            return;
        }
        let cut_short = self.phase == Phase::Observe || self.lapsing();
        if let Some(last) = self.steps.last_mut().filter(|s| s.observation.is_none()) {
            if !matches!(last.action, Action::WaitUntil { .. }) || !cut_short {
                return;
            }
            last.finished_at = Some(at);
            last.observation = Some(Observation::Done);
        }
        self.enter_rollback(at);
    }

    /// An abort always rolls back: before the rollback phase, or after a rollback the strategy
    /// skipped while something is still owed (while its plans lapse, or once they have).
    fn owes_abort_rollback(&self) -> bool {
        self.abort.is_some()
            && (self.phase < Phase::Rollback || (!self.rolled_back && !self.owed.is_empty()))
    }

    /// A restore point whose load was given up stays on the target (a person restores from
    /// it): its deletion is dropped from what is owed and from the rest of the rollback.
    fn keep_restore_point(&mut self, canister: Principal) {
        self.owed.keep_restore_point(&canister);
        let keep = |p: &Planned| !matches!(p, Planned::Fault(FaultStep::DeleteRestorePoint { canister: c }) if *c == canister);
        let rest: Vec<Planned> = self.queue.split_off(self.cursor + 1);
        self.queue.extend(rest.into_iter().filter(keep));
    }

    pub fn on_finished(&mut self, report: ExperimentReport) {
        self.stage = Stage::Finished(Box::new(report));
    }
}
