//! The report of a finished experiment: whether the steady-state hypothesis held, the fault's
//! findings, the rollback, and the resilience score.
//!
//! ## Resilience score (0–100)
//!
//! `score = (50·D + 30·A + 20·F) / 1000`, each term in permille:
//! - **D**, steadiness: the share of steady-state checks within tolerance while the fault was
//!   active (a one-shot fault has no window: D is then A);
//! - **A**, recovery: the share of checks within tolerance after the rollback;
//! - **F**, the fault's own measure ([`FaultFindings::fault_permille`]: detection of a
//!   corruption and its speed, containment of a cascade, consumers catching byzantine answers,
//!   privileged methods refusing a stranger), or, for faults that measure nothing of their own,
//!   a clean rollback: 1000 without retries, 500 when retries were needed, 0 when a rollback
//!   step was given up.
//!
//! Every term is at most 1000, so the score is at most 100; it is `None` when the fault was
//! never injected, or when a timed fault was aborted before any check under it (nothing was
//! measured while it was active: recovery alone would overstate resilience).

use super::run::{Experiment, Phase, StepKind};
use crate::fault::FaultFindings;
use crate::ids::TimestampNs;
use crate::safety::Alert;
use minicbor::{Decode, Encode};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
#[cbor(index_only)]
pub enum Verdict {
    /// Ran its course and every target is back.
    #[n(0)]
    Completed,
    /// Aborted (by a person, a stop condition, the deadline, an emergency stop, an unmet steady
    /// state or a failed injection) and every target is back.
    #[n(1)]
    Aborted,
    /// A rollback step was given up or a target was not found as it was: a person must look.
    #[n(2)]
    Failed,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Encode, Decode)]
pub struct PhaseChecks {
    #[n(0)]
    pub within: u32,
    #[n(1)]
    pub total: u32,
}

impl PhaseChecks {
    fn permille(self) -> u32 {
        (self.within * 1000).checked_div(self.total).unwrap_or(0)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct ExperimentReport {
    #[n(0)]
    pub verdict: Verdict,
    /// Every steady-state check, before, during and after, within tolerance. `None` when no
    /// check was made.
    #[n(1)]
    pub hypothesis_held: Option<bool>,
    #[n(2)]
    pub before: PhaseChecks,
    #[n(3)]
    pub during: PhaseChecks,
    #[n(4)]
    pub after: PhaseChecks,
    #[n(5)]
    pub resilience_score: Option<u8>,
    #[n(6)]
    pub findings: FaultFindings,
    /// Whether rollback steps ran (the strategy may skip them when nothing deviated).
    #[n(7)]
    pub rolled_back: bool,
    #[n(8)]
    pub rollback_failures: Vec<String>,
    /// Every acted-on target's run status, freezing threshold and wasm_memory_limit equal
    /// their values before the experiment. `None` when a status could not be read.
    #[n(9)]
    pub restored: Option<bool>,
    #[n(10)]
    pub needs_attention: bool,
    #[n(11)]
    pub abort_reason: Option<String>,
    #[n(12)]
    pub alerts: Vec<Alert>,
    #[n(13)]
    pub injected_at: Option<TimestampNs>,
    #[n(14)]
    pub finished_at: TimestampNs,
}

fn checks(e: &Experiment, phase: Phase) -> PhaseChecks {
    let of_phase = e.checks.iter().filter(|c| c.phase == phase);
    PhaseChecks {
        within: of_phase.clone().filter(|c| c.within).count() as u32,
        total: of_phase.count() as u32,
    }
}

fn restored(e: &Experiment) -> Option<bool> {
    let plan = e.plan.as_ref()?;
    let mut all = true;
    for c in &plan.acted_on {
        let (before, after) = (e.originals.get(c)?, e.final_status.get(c)?);
        all &= before.status == after.status
            && before.freezing_threshold_secs == after.freezing_threshold_secs
            && before.wasm_memory_limit_bytes == after.wasm_memory_limit_bytes;
    }
    Some(all)
}

pub(super) fn compute(e: &Experiment, now: TimestampNs) -> ExperimentReport {
    let (before, during, after) = (
        checks(e, Phase::Preflight),
        checks(e, Phase::Observe),
        checks(e, Phase::Verify),
    );
    let total = before.total + during.total + after.total;
    let hypothesis_held = (total > 0).then(|| e.checks.iter().all(|c| c.within));
    let restored = restored(e);
    let needs_attention = !e.rollback_failures.is_empty()
        || restored == Some(false)
        || (restored.is_none() && e.rolled_back);
    let verdict = if needs_attention {
        Verdict::Failed
    } else if e.abort.is_some() {
        Verdict::Aborted
    } else {
        Verdict::Completed
    };
    let window = e.spec.duration;
    let retried = e.steps.iter().any(|s| s.kind == StepKind::Backoff)
        || e.steps.iter().any(|s| {
            s.phase == Phase::Rollback && s.observation.as_ref().is_some_and(|o| o.is_failure())
        });
    let rollback_permille = if !e.rollback_failures.is_empty() {
        0
    } else if retried {
        500
    } else {
        1000
    };
    let fault = e
        .findings
        .fault_permille(window)
        .unwrap_or(rollback_permille);
    let steadiness = match (during.total, e.spec.duration.0) {
        (0, 0) => Some(after.permille()),
        (0, _) => None,
        _ => Some(during.permille()),
    };
    let resilience_score = e.injected_at.and(steadiness).map(|steadiness| {
        ((50 * steadiness + 30 * after.permille() + 20 * fault) / 1000).min(100) as u8
    });
    ExperimentReport {
        verdict,
        hypothesis_held,
        before,
        during,
        after,
        resilience_score,
        findings: e.findings.clone(),
        rolled_back: e.rolled_back,
        rollback_failures: e.rollback_failures.clone(),
        restored,
        needs_attention,
        abort_reason: e.abort.as_ref().map(|a| a.describe()),
        alerts: e
            .limits
            .as_ref()
            .map(|l| l.monitoring.alerts(&e.monitor))
            .unwrap_or_default(),
        injected_at: e.injected_at,
        finished_at: now,
    }
}
