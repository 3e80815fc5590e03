//! A batch of lab changes being assembled by one command: it counts the experiments it starts
//! and the motions it opens, so several starts in one batch see each other (the concurrency
//! limit, one experiment per target).

use super::lab::{ExperimentChange, Lab, LabChange};
use super::run::Stage;
use super::spec::ExperimentSpec;
use super::{Cause, ExperimentId, LabError};
use crate::council::{self, CouncilChange, MotionId, MotionRequest, MotionSummary, Subject};
use crate::fault::{Fleet, RunPlan};
use crate::ids::TimestampNs;
use crate::safety::admit;
use ic_principal::Principal;

fn ex(c: ExperimentChange) -> LabChange {
    LabChange::Experiment(c)
}

/// Changes being assembled, with the counters and active set they imply, so several starts in
/// one batch see each other (concurrency limit, one experiment per target).
pub(super) struct Batch<'a> {
    pub(super) lab: &'a Lab,
    pub(super) fleet: &'a dyn Fleet,
    pub(super) now: TimestampNs,
    pub(super) changes: Vec<LabChange>,
    pub(super) active: Vec<(ExperimentId, Vec<Principal>)>,
    pub(super) next_motion: u64,
}

impl<'a> Batch<'a> {
    pub(super) fn new(lab: &'a Lab, fleet: &'a dyn Fleet, now: TimestampNs) -> Self {
        Batch {
            lab,
            fleet,
            now,
            changes: Vec::new(),
            active: lab.active_touched(),
            next_motion: lab.council.next_motion,
        }
    }

    /// Admits `id` again and starts it, or cancels it with the refusal.
    pub(super) fn start(&mut self, id: ExperimentId, spec: &ExperimentSpec) {
        let admitted = spec
            .fault
            .validate(self.fleet)
            .map_err(|e| e.to_string())
            .and_then(|radius| {
                admit(
                    &self.lab.safety,
                    self.fleet,
                    &self.active,
                    id,
                    spec,
                    &radius,
                    self.now,
                )
                .map(|_| radius)
                .map_err(|e| e.to_string())
            });
        match admitted {
            Ok(radius) => {
                self.active
                    .push((id, radius.touched().into_iter().collect()));
                self.changes.push(ex(ExperimentChange::Started {
                    id,
                    plan: RunPlan::new(&spec.fault, &radius, self.fleet),
                    limits: self.lab.safety.limits.run_limits(),
                    fold: super::run::FOLD_VERSION,
                }));
            }
            Err(reason) => self.changes.push(ex(ExperimentChange::Cancelled {
                id,
                reason: format!("refused at start: {reason}"),
                cause: Cause::Engine,
            })),
        }
    }

    fn decided(&mut self, id: ExperimentId, spec: &ExperimentSpec, approved: bool, reason: &str) {
        if approved {
            self.start(id, spec);
        } else {
            self.changes.push(ex(ExperimentChange::Cancelled {
                id,
                reason: format!("the council rejected it: {reason}"),
                cause: Cause::Engine,
            }));
        }
    }

    /// Admission, then a start or a motion.
    pub(super) fn submit(
        &mut self,
        id: ExperimentId,
        spec: &ExperimentSpec,
        proposer: Principal,
    ) -> Result<(), LabError> {
        let radius = spec.fault.validate(self.fleet)?;
        let admission = admit(
            &self.lab.safety,
            self.fleet,
            &self.active,
            id,
            spec,
            &radius,
            self.now,
        )?;
        if !admission.needs_approval() {
            self.changes
                .push(ex(ExperimentChange::Submitted { id, motion: None }));
            self.start(id, spec);
            return Ok(());
        }
        let motion = MotionId(self.next_motion);
        self.next_motion += 1;
        self.changes.push(ex(ExperimentChange::Submitted {
            id,
            motion: Some(motion),
        }));
        let touched = radius.touched();
        let policy = &self.lab.safety.limits.approval;
        let request = MotionRequest {
            subject: Subject::Experiment(id),
            summary: MotionSummary {
                title: spec.title.clone(),
                fault: spec.fault.kind(),
                destructive: spec.fault.is_destructive(),
                critical: touched
                    .iter()
                    .filter(|t| self.fleet.target(t).is_some_and(|t| t.is_critical()))
                    .copied()
                    .collect(),
                targets: touched.into_iter().collect(),
                duration: spec.duration,
                reasons: admission.approval_reasons,
            },
            rule: policy.rule.clone(),
            proposer,
            deadline: self.now.plus(policy.deadline),
            quiet: policy.quiet,
        };
        for change in council::open_motion(&self.lab.council, motion, request, self.now) {
            let decision = match &change {
                CouncilChange::MotionDecided {
                    approved, reason, ..
                } => Some((*approved, reason.clone())),
                _ => None,
            };
            self.changes.push(LabChange::Council(change));
            if let Some((approved, reason)) = decision {
                self.decided(id, spec, approved, &reason);
            }
        }
        Ok(())
    }

    /// Reacts to council decisions in `changes` (already in the batch) on pending experiments.
    pub(super) fn react(&mut self, decisions: Vec<CouncilChange>) {
        for change in decisions {
            let decision = match &change {
                CouncilChange::MotionDecided {
                    motion,
                    approved,
                    reason,
                } => Some((*motion, *approved, reason.clone())),
                _ => None,
            };
            self.changes.push(LabChange::Council(change));
            let Some((motion, approved, reason)) = decision else {
                continue;
            };
            let Some(Subject::Experiment(id)) =
                self.lab.council.motions.get(&motion).map(|m| m.subject)
            else {
                continue;
            };
            if let Some(e) = self
                .lab
                .experiments
                .get(&id)
                .filter(|e| e.stage == Stage::PendingApproval)
            {
                let spec = e.spec.clone();
                self.decided(id, &spec, approved, &reason);
            }
        }
    }
}
