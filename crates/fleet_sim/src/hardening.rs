//! The hardening driver: performs the approved requests the core says may run now, the native
//! twin of what the canister's timers do.
//!
//! The approval is the journal entry: an approved request that is not finished is performed
//! (again, from its first effect, after an upgrade). Each effect of
//! `assurance::hardening_effects`, then `CollectEvidence`, is one call on the agenda with a
//! seeded latency (faults apply); every effect is performed whatever the previous one
//! answered; the last outcome becomes the rescan's evidence and the core's `finish_hardening`
//! decides what to record. Requests the core calls stranded (target removed or protected
//! since the approval) are closed with `abandon_hardening`, without a call.

use crate::agenda::Task;
use crate::invariants::Violation;
use crate::sim::Sim;
use chaos_manager::assurance::{self, HardeningRequest};
use chaos_manager::effect::Effect;

impl Sim {
    /// Starts every approved request the core says may be performed now, and closes the
    /// stranded ones.
    pub(crate) fn issue_hardening(&mut self) {
        let stranded: Vec<(u64, String)> = assurance::stranded_hardening(self.state())
            .into_iter()
            .filter(|(id, _)| !self.hardening.contains_key(id))
            .collect();
        for (id, reason) in stranded {
            if let Ok(events) = assurance::abandon_hardening(self.state(), id, &reason) {
                let suite = self.suite;
                self.record(suite, &correlation(id), None, events);
            }
        }
        let ready: Vec<u64> = assurance::ready_to_perform(self.state())
            .into_iter()
            .map(|r| r.id)
            .filter(|id| !self.hardening.contains_key(id))
            .collect();
        for id in ready {
            self.hardening.insert(id, Vec::new());
            self.schedule_hardening(id, 0);
        }
    }

    /// The request's effects in order, then the evidence collection for the rescan.
    fn hardening_calls(&self, request: u64) -> Vec<Effect> {
        let plan = &self.state().assurance.hardening[&request].plan;
        let mut calls = assurance::hardening_effects(plan);
        calls.push(Effect::CollectEvidence {
            canister: plan.target,
        });
        calls
    }

    fn schedule_hardening(&mut self, request: u64, index: usize) {
        let Some(effect) = self.hardening_calls(request).get(index).cloned() else {
            return;
        };
        let latency = self.latency(&effect);
        let at = self.now.plus(latency);
        self.agenda.push(
            at,
            Task::Harden {
                request,
                index,
                effect,
            },
        );
    }

    /// Call `index` of `request` completes: keep its outcome and schedule the next call, or,
    /// after the evidence, let the core finish the request.
    pub(crate) fn complete_hardening(
        &mut self,
        request: u64,
        index: usize,
        effect: &Effect,
    ) -> Result<(), Violation> {
        let outcome = self.call(effect);
        let Effect::CollectEvidence { canister } = effect else {
            if let Some(outcomes) = self.hardening.get_mut(&request) {
                outcomes.push((effect.name().to_string(), outcome));
            }
            self.schedule_hardening(request, index + 1);
            return Ok(());
        };
        let outcomes = self.hardening.remove(&request).unwrap_or_default();
        let after = assurance::evidence_from_outcome(*canister, self.suite, &outcome, self.now);
        let events = assurance::finish_hardening(self.state(), request, outcomes, after, self.now)
            .map_err(|e| {
                self.violation(format!(
                    "the core refused to finish hardening request {request}: {e}"
                ))
            })?;
        self.stats.hardenings_finished += 1;
        let suite = self.suite;
        self.record(suite, &correlation(request), None, events);
        Ok(())
    }

    /// # Panics
    /// If `id` is not a hardening request.
    pub fn hardening_request(&self, id: u64) -> &HardeningRequest {
        self.state()
            .assurance
            .hardening
            .get(&id)
            .unwrap_or_else(|| panic!("fleet_sim (seed {}): no hardening request {id}", self.seed))
    }
}

fn correlation(request: u64) -> String {
    format!("hardening-{request}")
}
