//! The safety limits and the admission check every experiment passes when it is submitted and
//! again when it starts (an approval may come after the world changed).

use super::breaker::{Backoff, BreakerConfig, BreakerPhase};
use super::monitor::{MonitoringThresholds, StopConditions};
use super::{SafetyRefusal, SafetyState};
use crate::council::{ApproverSet, Rule};
use crate::experiment::{ExperimentId, ExperimentSpec};
use crate::fault::{BlastRadius, Fleet, Occupant};
use crate::ids::{DurationNs, TimestampNs};
use ic_principal::Principal;
use minicbor::{Decode, Encode};

/// How approvals are asked for.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct ApprovalPolicy {
    /// Every experiment needs the council's approval. Destructive faults on critical targets
    /// need it whatever this says.
    #[n(0)]
    pub always: bool,
    #[n(1)]
    pub rule: Rule,
    /// Time the council has to decide.
    #[n(2)]
    pub deadline: DurationNs,
    /// Wait-for-quiet: a position cast this close to the deadline moves the deadline to
    /// `quiet` after it (at most doubling the voting time). `None` = off.
    #[n(3)]
    pub quiet: Option<DurationNs>,
}

impl Default for ApprovalPolicy {
    fn default() -> Self {
        ApprovalPolicy {
            always: false,
            rule: Rule::Quorum {
                approvers: ApproverSet::AllAgents,
                min_approved: 1,
            },
            deadline: DurationNs::from_secs(24 * 3600),
            quiet: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct SafetyLimits {
    /// Longest run, from start to the end of the fault; the run is rolled back automatically
    /// when it is reached (a timer).
    #[n(0)]
    pub max_duration: DurationNs,
    /// Most registered targets one experiment may touch (acted on or degraded).
    #[n(1)]
    pub max_targets: u32,
    /// Most registered targets one experiment may touch, as a share of the registry (at least
    /// one target is always allowed).
    #[n(2)]
    pub max_target_share_pct: u8,
    /// Most experiments running (or rolling back) at once.
    #[n(3)]
    pub max_concurrent: u32,
    #[n(4)]
    pub approval: ApprovalPolicy,
    #[n(5)]
    pub stop: StopConditions,
    #[n(6)]
    pub monitoring: MonitoringThresholds,
    #[n(7)]
    pub min_probe_interval: DurationNs,
    #[n(8)]
    pub backoff: Backoff,
    #[n(9)]
    pub breaker: BreakerConfig,
}

impl Default for SafetyLimits {
    fn default() -> Self {
        SafetyLimits {
            max_duration: DurationNs::from_secs(3600),
            max_targets: 3,
            max_target_share_pct: 25,
            max_concurrent: 3,
            approval: ApprovalPolicy::default(),
            stop: StopConditions::default(),
            monitoring: MonitoringThresholds::default(),
            min_probe_interval: DurationNs::from_secs(5),
            backoff: Backoff::default(),
            breaker: BreakerConfig::default(),
        }
    }
}

/// The limits a run keeps from its start: later edits do not change a running experiment.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct RunLimits {
    #[n(0)]
    pub max_duration: DurationNs,
    #[n(1)]
    pub stop: StopConditions,
    #[n(2)]
    pub monitoring: MonitoringThresholds,
    #[n(3)]
    pub backoff: Backoff,
    #[n(4)]
    pub breaker: BreakerConfig,
}

pub const MAX_DURATION_CAP: DurationNs = DurationNs::from_secs(24 * 3600);
pub const MIN_APPROVAL_DEADLINE: DurationNs = DurationNs::from_secs(60);
pub const MAX_APPROVAL_DEADLINE: DurationNs = DurationNs::from_secs(7 * 24 * 3600);

impl SafetyLimits {
    pub fn run_limits(&self) -> RunLimits {
        RunLimits {
            max_duration: self.max_duration,
            stop: self.stop.clone(),
            monitoring: self.monitoring.clone(),
            backoff: self.backoff,
            breaker: self.breaker,
        }
    }

    pub fn validate(&self) -> Result<(), (String, String)> {
        let bad = |f: &str, r: &str| Err((f.to_string(), r.to_string()));
        if self.max_duration.0 == 0 || self.max_duration > MAX_DURATION_CAP {
            return bad("max_duration_ns", "must be above zero and at most 24 h");
        }
        if self.max_targets == 0 {
            return bad("max_targets", "must be at least 1");
        }
        if !(1..=100).contains(&self.max_target_share_pct) {
            return bad("max_target_share_pct", "must be 1 to 100");
        }
        if !(1..=50).contains(&self.max_concurrent) {
            return bad("max_concurrent", "must be 1 to 50");
        }
        if self.min_probe_interval.0 == 0 {
            return bad("min_probe_interval_ns", "must be above zero");
        }
        if self.approval.deadline < MIN_APPROVAL_DEADLINE
            || self.approval.deadline > MAX_APPROVAL_DEADLINE
        {
            return bad("approval.deadline_ns", "must be 1 minute to 7 days");
        }
        self.approval
            .rule
            .validate()
            .map_err(|e| ("approval.rule".to_string(), e))?;
        self.backoff
            .validate()
            .map_err(|e| ("backoff".to_string(), e))?;
        self.breaker
            .validate()
            .map_err(|e| ("breaker".to_string(), e))?;
        Ok(())
    }

    /// Registered targets one experiment may touch under the share limit (at least one).
    pub fn share_allows(&self, registered: usize) -> usize {
        (registered * self.max_target_share_pct as usize / 100).max(1)
    }
}

/// What admission decided: empty `approval_reasons` = no approval needed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Admission {
    pub approval_reasons: Vec<String>,
}

impl Admission {
    pub fn needs_approval(&self) -> bool {
        !self.approval_reasons.is_empty()
    }
}

/// Admission of experiment `id` with `spec` touching `radius`, given the experiments already
/// active (`active`: id and touched targets; `id` itself is skipped).
pub fn admit(
    safety: &SafetyState,
    fleet: &dyn Fleet,
    active: &[(ExperimentId, Vec<Principal>)],
    id: ExperimentId,
    spec: &ExperimentSpec,
    radius: &BlastRadius,
    now: TimestampNs,
) -> Result<Admission, SafetyRefusal> {
    let limits = &safety.limits;
    if let Some(halt) = &safety.halt {
        return Err(SafetyRefusal::Halted(halt.clone()));
    }
    if !fleet.probe_configured() {
        return Err(SafetyRefusal::NoChaosProbe);
    }
    let others: Vec<&(ExperimentId, Vec<Principal>)> =
        active.iter().filter(|(other, _)| *other != id).collect();
    if others.len() >= limits.max_concurrent as usize {
        return Err(SafetyRefusal::TooManyConcurrent {
            max: limits.max_concurrent,
        });
    }
    if spec.duration > limits.max_duration {
        return Err(SafetyRefusal::TooLong {
            requested: spec.duration,
            max: limits.max_duration,
        });
    }
    if spec.probe_interval < limits.min_probe_interval {
        return Err(SafetyRefusal::ProbeIntervalTooShort {
            requested: spec.probe_interval,
            min: limits.min_probe_interval,
        });
    }
    let touched = radius.touched();
    if touched.len() > limits.max_targets as usize {
        return Err(SafetyRefusal::ScopeTooLarge {
            touched: touched.len(),
            max: limits.max_targets,
        });
    }
    let allowed = limits.share_allows(fleet.target_count());
    if touched.len() > allowed {
        return Err(SafetyRefusal::ShareTooLarge {
            touched: touched.len(),
            registered: fleet.target_count(),
            max_pct: limits.max_target_share_pct,
        });
    }
    for t in &touched {
        if let Some((other, _)) = others.iter().find(|(_, ts)| ts.contains(t)) {
            return Err(SafetyRefusal::TargetBusy {
                canister: *t,
                occupant: Occupant::Experiment(*other),
            });
        }
        if let Some(occupant) = fleet.busy(t) {
            return Err(SafetyRefusal::TargetBusy {
                canister: *t,
                occupant,
            });
        }
    }
    for t in &radius.acted_on {
        let breaker = safety.breakers.get(t).copied().unwrap_or_default();
        if let BreakerPhase::Open { until } = breaker.phase(&limits.breaker, now) {
            return Err(SafetyRefusal::BreakerOpen {
                canister: *t,
                until,
            });
        }
    }
    let mut approval_reasons = Vec::new();
    if limits.approval.always {
        approval_reasons.push("the safety limits require approval for every experiment".into());
    }
    if spec.fault.is_destructive() {
        for t in touched
            .iter()
            .filter_map(|t| fleet.target(t))
            .filter(|t| t.is_critical())
        {
            approval_reasons.push(format!(
                "{} is destructive and touches the critical target {} ({})",
                spec.fault.kind(),
                t.canister,
                t.name
            ));
        }
    }
    Ok(Admission { approval_reasons })
}
