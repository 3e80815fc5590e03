//! Fault injection on the calls chaos_system makes to one canister (management calls about it,
//! and probes of it). Every decision draws from the simulator's seeded generator.
//!
//! Semantics follow the IC: a `SysTransient` reject means the call was not delivered, so the
//! effect did not happen; `SysUnknown` is only possible on bounded-wait calls ([`is_bounded_wait`],
//! the same calls chaos_system makes bounded-wait), and the callee may or may not have acted
//! ([`acts_before_unknown`] decides, from the run's generator). `take_canister_snapshot`,
//! `uninstall_code` and `install_code` are unbounded-wait in the canister shell and never see
//! `SysUnknown`.

use crate::rng::SimRng;
use chaos_manager::effect::{CallFailure, Effect, RejectCode};
use chaos_manager::DurationNs;

/// Per-canister fault knobs; all zero by default (no faults).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FaultKnobs {
    /// Probability in `[0, 1]` that a call is rejected with `SysTransient`.
    pub transient: f64,
    /// Probability in `[0, 1]` that a bounded-wait call is rejected with `SysUnknown`.
    pub unknown: f64,
    /// Probability in `[0, 1]` that a call is slow: it takes 2–10 more rounds to answer.
    pub slow: f64,
    /// Probability in `[0, 1]` that a call hangs: it answers only after [`HANG`] (the
    /// bounded wait's timeout; with `unknown`, it may then end in `SysUnknown`).
    pub hang: f64,
    /// One-shot failures, consumed in order by the first call of the named effect
    /// ([`Effect::name`]), whatever the probabilities.
    pub scripted: Vec<(&'static str, RejectCode)>,
}

/// How long a hung call takes to answer (or to time out).
pub const HANG: DurationNs = DurationNs::from_secs(300);

impl FaultKnobs {
    /// Extra time a call takes (slow rounds, a hang). Draws only for non-zero knobs.
    pub fn extra_latency(&self, rng: &mut SimRng) -> DurationNs {
        if self.hang > 0.0 && rng.chance(self.hang) {
            return HANG;
        }
        if self.slow > 0.0 && rng.chance(self.slow) {
            let rounds = rng.range(2, 10);
            return DurationNs(
                (0..rounds)
                    .map(|_| rng.range(500_000_000, 1_000_000_000))
                    .sum(),
            );
        }
        DurationNs(0)
    }

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
            | Effect::ListSnapshots { .. }
            | Effect::StopCanister { .. }
            | Effect::StartCanister { .. }
            | Effect::UpdateSettings { .. }
            | Effect::LoadSnapshot { .. }
            | Effect::DeleteSnapshot { .. }
    )
}

/// Whether a call that ends in `SysUnknown` acted first: only calls that change something can
/// have, and then half of them did (the caller cannot tell which half).
pub fn acts_before_unknown(effect: &Effect, rng: &mut SimRng) -> bool {
    let changes = matches!(
        effect,
        Effect::SetFaultPlan { .. }
            | Effect::ClearFaults { .. }
            | Effect::StopCanister { .. }
            | Effect::StartCanister { .. }
            | Effect::UpdateSettings { .. }
            | Effect::LoadSnapshot { .. }
            | Effect::DeleteSnapshot { .. }
    );
    changes && rng.chance(0.5)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hangs_and_slow_rounds_add_time_and_zero_knobs_draw_nothing() {
        let mut rng = SimRng::new(5);
        let before = rng.clone().next_u64();
        assert_eq!(FaultKnobs::default().extra_latency(&mut rng), DurationNs(0));
        assert_eq!(rng.next_u64(), before, "no draw for zero knobs");
        let hung = FaultKnobs {
            hang: 1.0,
            ..FaultKnobs::default()
        };
        assert_eq!(hung.extra_latency(&mut rng), HANG);
        let slow = FaultKnobs {
            slow: 1.0,
            ..FaultKnobs::default()
        };
        let extra = slow.extra_latency(&mut rng);
        assert!(
            (DurationNs::from_secs(1)..=DurationNs::from_secs(10)).contains(&extra),
            "{extra}"
        );
    }
}
