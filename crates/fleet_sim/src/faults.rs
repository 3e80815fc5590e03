//! Fault injection on the calls chaos_system makes to one canister (management calls about it,
//! and probes of it). Every decision draws from the simulator's seeded generator.
//!
//! Semantics follow the IC: a `SysTransient` reject means the call was not delivered, so the
//! effect did not happen; `SysUnknown` is only possible on bounded-wait calls (the probe,
//! `canister_info`, and the evidence reads `canister_status` and `list_canister_snapshots`, all
//! read-only), so it too leaves the canister unchanged. Lifecycle calls
//! are unbounded-wait in the canister shell and never see `SysUnknown`.

use crate::rng::SimRng;
use chaos_manager::effect::{CallFailure, Effect, RejectCode};

/// Per-canister fault knobs; all zero by default (no faults).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FaultKnobs {
    /// Probability in `[0, 1]` that a call is rejected with `SysTransient`.
    pub transient: f64,
    /// Probability in `[0, 1]` that a bounded-wait call is rejected with `SysUnknown`.
    pub unknown: f64,
    /// One-shot failures, consumed in order by the first call of the named effect
    /// ([`Effect::name`]), whatever the probabilities.
    pub scripted: Vec<(&'static str, RejectCode)>,
}

impl FaultKnobs {
    /// Whether this call fails, and how. Draws from `rng` only for non-zero knobs.
    pub fn roll(&mut self, effect: &Effect, rng: &mut SimRng) -> Option<CallFailure> {
        if let Some(i) = self.scripted.iter().position(|(n, _)| *n == effect.name()) {
            let (_, code) = self.scripted.remove(i);
            return Some(CallFailure {
                code,
                message: format!("injected fault: {:?} on {}", code, effect.name()),
            });
        }
        if rng.chance(self.transient) {
            return Some(CallFailure {
                code: RejectCode::SysTransient,
                message: format!(
                    "injected fault: {} was not delivered (SysTransient)",
                    effect.name()
                ),
            });
        }
        if is_bounded_wait(effect) && rng.chance(self.unknown) {
            return Some(CallFailure {
                code: RejectCode::SysUnknown,
                message: format!("injected fault: {} timed out (SysUnknown)", effect.name()),
            });
        }
        None
    }
}

/// Calls the canister shell makes with a bounded wait (they may end in `SysUnknown`).
pub fn is_bounded_wait(effect: &Effect) -> bool {
    matches!(
        effect,
        Effect::Probe { .. }
            | Effect::ReadControllers { .. }
            | Effect::CollectEvidence { .. }
            | Effect::ReadStatus { .. }
            | Effect::SetFaultPlan { .. }
            | Effect::ClearFaults { .. }
            | Effect::ProbeVia { .. }
            | Effect::AccessProbe { .. }
    )
}
