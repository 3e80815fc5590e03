//! Conversions between the core's experiment, fault, safety and council types and the Candid
//! DTOs of `experiment`. Specs and limits go both ways (what an operator writes comes back
//! unchanged); runs, reports, motions and schedules only out.

use crate::experiment::*;
use crate::{describe_effect, truncate_text, Error, MAX_VIEW_NAME_BYTES, MAX_VIEW_TEXT_BYTES};
use candid::{Nat, Principal};
use chaos_manager::council as core_council;
use chaos_manager::experiment::{self as core_exp, effect_of};
use chaos_manager::fault as core_fault;
use chaos_manager::hardening::{Cycles, RunStatus};
use chaos_manager::safety as core_safety;
use chaos_manager::DurationNs;

/// Steps an experiment view carries at most (the most recent ones).
pub const MAX_STEPS_SHOWN: usize = 500;
/// Steady-state checks an experiment view carries at most (the most recent ones): a day-long
/// run probed every 5 s would otherwise not fit in a reply.
pub const MAX_CHECKS_SHOWN: usize = 1_000;

// ---------------------------------------------------------------- faults

impl From<core_fault::FaultKind> for FaultKind {
    fn from(k: core_fault::FaultKind) -> Self {
        use core_fault::FaultKind as K;
        match k {
            K::NetworkPartition => FaultKind::NetworkPartition,
            K::ResourceExhaustion => FaultKind::ResourceExhaustion,
            K::ServiceFailure => FaultKind::ServiceFailure,
            K::LatencyInjection => FaultKind::LatencyInjection,
            K::DataCorruption => FaultKind::DataCorruption,
            K::SecurityBreach => FaultKind::SecurityBreach,
            K::CascadingFailure => FaultKind::CascadingFailure,
            K::ByzantineFault => FaultKind::ByzantineFault,
        }
    }
}

impl From<FaultKind> for core_fault::FaultKind {
    fn from(k: FaultKind) -> Self {
        use core_fault::FaultKind as K;
        match k {
            FaultKind::NetworkPartition => K::NetworkPartition,
            FaultKind::ResourceExhaustion => K::ResourceExhaustion,
            FaultKind::ServiceFailure => K::ServiceFailure,
            FaultKind::LatencyInjection => K::LatencyInjection,
            FaultKind::DataCorruption => K::DataCorruption,
            FaultKind::SecurityBreach => K::SecurityBreach,
            FaultKind::CascadingFailure => K::CascadingFailure,
            FaultKind::ByzantineFault => K::ByzantineFault,
        }
    }
}

impl From<&core_fault::FaultProfile> for FaultProfile {
    fn from(p: &core_fault::FaultProfile) -> Self {
        FaultProfile {
            allowed_faults: p.allowed_faults.iter().map(|k| (*k).into()).collect(),
            dependents: p.dependents.clone(),
            privileged_methods: p.privileged_methods.clone(),
            hooks: p.hooks,
            invariant_method: p.invariant_method.clone(),
        }
    }
}

impl From<FaultProfile> for core_fault::FaultProfile {
    fn from(p: FaultProfile) -> Self {
        core_fault::FaultProfile {
            allowed_faults: p.allowed_faults.into_iter().map(Into::into).collect(),
            dependents: p.dependents,
            privileged_methods: p.privileged_methods,
            hooks: p.hooks,
            invariant_method: p.invariant_method,
        }
    }
}

fn ppm(p: u32) -> core_fault::Ppm {
    core_fault::Ppm(p)
}

impl From<&core_fault::FailureMode> for FailureMode {
    fn from(m: &core_fault::FailureMode) -> Self {
        use core_fault::FailureMode as M;
        match m {
            M::Stop => FailureMode::Stop,
            M::Reject {
                methods,
                probability,
            } => FailureMode::Reject {
                methods: methods.clone(),
                probability_ppm: probability.0,
            },
            M::Trap {
                methods,
                probability,
            } => FailureMode::Trap {
                methods: methods.clone(),
                probability_ppm: probability.0,
            },
        }
    }
}

impl From<FailureMode> for core_fault::FailureMode {
    fn from(m: FailureMode) -> Self {
        use core_fault::FailureMode as M;
        match m {
            FailureMode::Stop => M::Stop,
            FailureMode::Reject {
                methods,
                probability_ppm,
            } => M::Reject {
                methods,
                probability: ppm(probability_ppm),
            },
            FailureMode::Trap {
                methods,
                probability_ppm,
            } => M::Trap {
                methods,
                probability: ppm(probability_ppm),
            },
        }
    }
}

impl From<&core_fault::ExhaustionMode> for ExhaustionMode {
    fn from(m: &core_fault::ExhaustionMode) -> Self {
        use core_fault::ExhaustionMode as M;
        match m {
            M::Freeze {
                freezing_threshold_secs,
            } => ExhaustionMode::Freeze {
                freezing_threshold_secs: *freezing_threshold_secs,
            },
            M::SqueezeMemory {
                wasm_memory_limit_bytes,
            } => ExhaustionMode::SqueezeMemory {
                wasm_memory_limit_bytes: *wasm_memory_limit_bytes,
            },
            M::Ballast { bytes } => ExhaustionMode::Ballast { bytes: *bytes },
            M::BurnInstructions {
                methods,
                instructions,
            } => ExhaustionMode::BurnInstructions {
                methods: methods.clone(),
                instructions: *instructions,
            },
        }
    }
}

impl From<ExhaustionMode> for core_fault::ExhaustionMode {
    fn from(m: ExhaustionMode) -> Self {
        use core_fault::ExhaustionMode as M;
        match m {
            ExhaustionMode::Freeze {
                freezing_threshold_secs,
            } => M::Freeze {
                freezing_threshold_secs,
            },
            ExhaustionMode::SqueezeMemory {
                wasm_memory_limit_bytes,
            } => M::SqueezeMemory {
                wasm_memory_limit_bytes,
            },
            ExhaustionMode::Ballast { bytes } => M::Ballast { bytes },
            ExhaustionMode::BurnInstructions {
                methods,
                instructions,
            } => M::BurnInstructions {
                methods,
                instructions,
            },
        }
    }
}

impl From<&core_fault::FaultSpec> for FaultSpec {
    fn from(f: &core_fault::FaultSpec) -> Self {
        use core_fault::FaultSpec as F;
        match f {
            F::NetworkPartition { groups, methods } => FaultSpec::NetworkPartition {
                groups: groups.iter().map(|g| g.members.clone()).collect(),
                methods: methods.clone(),
            },
            F::ResourceExhaustion { target, mode } => FaultSpec::ResourceExhaustion {
                target: *target,
                mode: mode.into(),
            },
            F::ServiceFailure { target, mode } => FaultSpec::ServiceFailure {
                target: *target,
                mode: mode.into(),
            },
            F::LatencyInjection {
                target,
                methods,
                rounds,
                probability,
            } => FaultSpec::LatencyInjection {
                target: *target,
                methods: methods.clone(),
                rounds: *rounds,
                probability_ppm: probability.0,
            },
            F::DataCorruption { target, intensity } => FaultSpec::DataCorruption {
                target: *target,
                intensity: *intensity,
            },
            F::SecurityBreach { target, methods } => FaultSpec::SecurityBreach {
                target: *target,
                methods: methods.clone(),
            },
            F::CascadingFailure {
                dependency,
                mode,
                dependents,
            } => FaultSpec::CascadingFailure {
                dependency: *dependency,
                mode: mode.into(),
                dependents: dependents.clone(),
            },
            F::ByzantineFault {
                target,
                methods,
                probability,
                consumers,
            } => FaultSpec::ByzantineFault {
                target: *target,
                methods: methods.clone(),
                probability_ppm: probability.0,
                consumers: consumers.clone(),
            },
        }
    }
}

impl From<FaultSpec> for core_fault::FaultSpec {
    fn from(f: FaultSpec) -> Self {
        use core_fault::FaultSpec as F;
        match f {
            FaultSpec::NetworkPartition { groups, methods } => F::NetworkPartition {
                groups: groups
                    .into_iter()
                    .map(|members| core_fault::PartitionGroup { members })
                    .collect(),
                methods,
            },
            FaultSpec::ResourceExhaustion { target, mode } => F::ResourceExhaustion {
                target,
                mode: mode.into(),
            },
            FaultSpec::ServiceFailure { target, mode } => F::ServiceFailure {
                target,
                mode: mode.into(),
            },
            FaultSpec::LatencyInjection {
                target,
                methods,
                rounds,
                probability_ppm,
            } => F::LatencyInjection {
                target,
                methods,
                rounds,
                probability: ppm(probability_ppm),
            },
            FaultSpec::DataCorruption { target, intensity } => {
                F::DataCorruption { target, intensity }
            }
            FaultSpec::SecurityBreach { target, methods } => F::SecurityBreach { target, methods },
            FaultSpec::CascadingFailure {
                dependency,
                mode,
                dependents,
            } => F::CascadingFailure {
                dependency,
                mode: mode.into(),
                dependents,
            },
            FaultSpec::ByzantineFault {
                target,
                methods,
                probability_ppm,
                consumers,
            } => F::ByzantineFault {
                target,
                methods,
                probability: ppm(probability_ppm),
                consumers,
            },
        }
    }
}

// ---------------------------------------------------------------- specs

impl From<&core_exp::Tolerance> for Tolerance {
    fn from(t: &core_exp::Tolerance) -> Self {
        use core_exp::Tolerance as T;
        match t {
            T::Answers => Tolerance::Answers,
            T::ValueWithin { min, max } => Tolerance::ValueWithin {
                min: *min,
                max: *max,
            },
            T::LatencyAtMost { max } => Tolerance::LatencyAtMost { max_ns: max.0 },
            T::InvariantHolds => Tolerance::InvariantHolds,
        }
    }
}

impl From<Tolerance> for core_exp::Tolerance {
    fn from(t: Tolerance) -> Self {
        use core_exp::Tolerance as T;
        match t {
            Tolerance::Answers => T::Answers,
            Tolerance::ValueWithin { min, max } => T::ValueWithin { min, max },
            Tolerance::LatencyAtMost { max_ns } => T::LatencyAtMost {
                max: DurationNs(max_ns),
            },
            Tolerance::InvariantHolds => T::InvariantHolds,
        }
    }
}

impl From<&core_exp::ProbeDef> for ProbeDef {
    fn from(p: &core_exp::ProbeDef) -> Self {
        ProbeDef {
            name: p.name.clone(),
            canister: p.canister,
            method: p.method.clone(),
            tolerance: (&p.tolerance).into(),
            phases: Phases {
                before: p.phases.before,
                during: p.phases.during,
                after: p.phases.after,
            },
        }
    }
}

impl From<ProbeDef> for core_exp::ProbeDef {
    fn from(p: ProbeDef) -> Self {
        core_exp::ProbeDef {
            name: p.name,
            canister: p.canister,
            method: p.method,
            tolerance: p.tolerance.into(),
            phases: core_exp::Phases {
                before: p.phases.before,
                during: p.phases.during,
                after: p.phases.after,
            },
        }
    }
}

impl From<core_exp::RollbackStrategy> for RollbackStrategy {
    fn from(r: core_exp::RollbackStrategy) -> Self {
        match r {
            core_exp::RollbackStrategy::Always => RollbackStrategy::Always,
            core_exp::RollbackStrategy::OnDeviation => RollbackStrategy::OnDeviation,
            core_exp::RollbackStrategy::Never => RollbackStrategy::Never,
        }
    }
}

impl From<RollbackStrategy> for core_exp::RollbackStrategy {
    fn from(r: RollbackStrategy) -> Self {
        match r {
            RollbackStrategy::Always => core_exp::RollbackStrategy::Always,
            RollbackStrategy::OnDeviation => core_exp::RollbackStrategy::OnDeviation,
            RollbackStrategy::Never => core_exp::RollbackStrategy::Never,
        }
    }
}

impl From<&core_exp::ExperimentSpec> for ExperimentSpec {
    fn from(s: &core_exp::ExperimentSpec) -> Self {
        ExperimentSpec {
            title: s.title.clone(),
            fault: (&s.fault).into(),
            hypothesis: Hypothesis {
                title: s.hypothesis.title.clone(),
                probes: s.hypothesis.probes.iter().map(Into::into).collect(),
            },
            duration_ns: s.duration.0,
            probe_interval_ns: s.probe_interval.0,
            rollback: s.rollback.into(),
        }
    }
}

impl From<ExperimentSpec> for core_exp::ExperimentSpec {
    fn from(s: ExperimentSpec) -> Self {
        core_exp::ExperimentSpec {
            title: s.title,
            fault: s.fault.into(),
            hypothesis: core_exp::Hypothesis {
                title: s.hypothesis.title,
                probes: s.hypothesis.probes.into_iter().map(Into::into).collect(),
            },
            duration: DurationNs(s.duration_ns),
            probe_interval: DurationNs(s.probe_interval_ns),
            rollback: s.rollback.into(),
        }
    }
}

// ---------------------------------------------------------------- runs

impl From<core_exp::Status> for ExperimentStatus {
    fn from(s: core_exp::Status) -> Self {
        use core_exp::Status as S;
        match s {
            S::Draft => ExperimentStatus::Draft,
            S::PendingApproval => ExperimentStatus::PendingApproval,
            S::Running => ExperimentStatus::Running,
            S::RollingBack => ExperimentStatus::RollingBack,
            S::Completed => ExperimentStatus::Completed,
            S::Aborted => ExperimentStatus::Aborted,
            S::Failed => ExperimentStatus::Failed,
        }
    }
}

impl From<core_exp::Phase> for ExperimentPhase {
    fn from(p: core_exp::Phase) -> Self {
        use core_exp::Phase as P;
        match p {
            P::Preflight => ExperimentPhase::Preflight,
            P::Inject => ExperimentPhase::Inject,
            P::Observe => ExperimentPhase::Observe,
            P::Rollback => ExperimentPhase::Rollback,
            P::Verify => ExperimentPhase::Verify,
        }
    }
}

impl From<core_exp::Cause> for Cause {
    fn from(c: core_exp::Cause) -> Self {
        use core_exp::Cause as C;
        match c {
            C::Operator(p) => Cause::Operator(p),
            C::Schedule(s) => Cause::Schedule(s.0),
            C::MaxDuration => Cause::MaxDuration,
            C::StopCondition => Cause::StopCondition,
            C::EmergencyStop(p) => Cause::EmergencyStop(p),
            C::Engine => Cause::Engine,
        }
    }
}

/// One line describing an observation.
pub fn describe_observation(o: &core_fault::Observation) -> String {
    use core_fault::Observation as O;
    match o {
        O::Done => "done".into(),
        O::Status { status } => format!(
            "{:?}, freezing threshold {} s, wasm_memory_limit {}, {} cycles",
            status.status,
            status.freezing_threshold_secs,
            status
                .wasm_memory_limit_bytes
                .map_or("unreported".to_string(), |b| format!("{b} bytes")),
            status.cycles.0
        ),
        O::SnapshotTaken { id, taken_at } => format!("snapshot {id} taken at {} ns", taken_at.0),
        O::Probed { reading } => format!(
            "value {}, latency {} ns, invariant {}",
            reading.value.map_or("none".to_string(), |v| v.to_string()),
            reading.latency.0,
            match reading.invariant_holds {
                Some(true) => "holds",
                Some(false) => "broken",
                None => "not reported",
            }
        ),
        O::AccessProbed {
            accepted,
            inconclusive,
        } => {
            let verdict = if accepted.is_empty() {
                "every conclusive method refused the unprivileged caller".to_string()
            } else {
                format!("accepted: {}", accepted.join(", "))
            };
            if inconclusive.is_empty() {
                verdict
            } else {
                format!("{verdict}; inconclusive: {}", inconclusive.join("; "))
            }
        }
        O::Failed { failure } => format!("{:?}: {}", failure.code, failure.message),
    }
}

fn run_state(s: RunStatus) -> RunState {
    match s {
        RunStatus::Running => RunState::Running,
        RunStatus::Stopping => RunState::Stopping,
        RunStatus::Stopped => RunState::Stopped,
    }
}

/// A target's status as experiments read it.
pub fn target_status(canister: Principal, s: &core_fault::TargetStatus) -> TargetStatus {
    TargetStatus {
        canister_id: canister,
        status: run_state(s.status),
        freezing_threshold_secs: s.freezing_threshold_secs,
        wasm_memory_limit_bytes: s.wasm_memory_limit_bytes,
        cycles: Nat::from(s.cycles.0),
        idle_cycles_burned_per_day: Nat::from(s.idle_cycles_burned_per_day.0),
    }
}

impl From<&core_exp::run::StepRecord> for ExperimentStep {
    fn from(s: &core_exp::run::StepRecord) -> Self {
        ExperimentStep {
            step: s.step,
            phase: s.phase.into(),
            action: s.action.name().into(),
            detail: view_text(&describe_effect(&effect_of(&s.action))),
            backoff: s.kind == core_exp::StepKind::Backoff,
            cause: s.cause.into(),
            started_at_ns: s.started_at.0,
            finished_at_ns: s.finished_at.map(|t| t.0),
            succeeded: s.observation.as_ref().map(|o| !o.is_failure()),
            observation: s
                .observation
                .as_ref()
                .map(|o| view_text(&describe_observation(o)))
                .unwrap_or_default(),
        }
    }
}

impl From<&core_exp::run::CheckRecord> for SteadyStateCheck {
    fn from(c: &core_exp::run::CheckRecord) -> Self {
        SteadyStateCheck {
            probe: truncate_text(&c.probe, MAX_VIEW_NAME_BYTES),
            phase: c.phase.into(),
            at_ns: c.at.0,
            within: c.within,
            detail: view_text(&c.detail),
        }
    }
}

impl From<core_fault::WatchPurpose> for WatchPurpose {
    fn from(p: core_fault::WatchPurpose) -> Self {
        match p {
            core_fault::WatchPurpose::Invariant => WatchPurpose::Invariant,
            core_fault::WatchPurpose::DependentHealth => WatchPurpose::DependentHealth,
            core_fault::WatchPurpose::ConsumerCheck => WatchPurpose::ConsumerCheck,
        }
    }
}

impl From<&core_fault::FaultFindings> for FaultFindings {
    fn from(f: &core_fault::FaultFindings) -> Self {
        FaultFindings {
            watches: f
                .watches
                .iter()
                .map(|w| WatchRecord {
                    canister_id: w.canister,
                    purpose: w.purpose.into(),
                    samples: w.samples,
                    degraded: w.degraded,
                    first_degraded_after_ns: w.first_degraded_after.map(|d| d.0),
                })
                .collect(),
            probed_methods: f.probed_methods.clone(),
            accepted_methods: f.accepted_methods.clone(),
            inconclusive_methods: f.inconclusive_methods.clone(),
        }
    }
}

impl From<&core_safety::Alert> for Alert {
    fn from(a: &core_safety::Alert) -> Self {
        match a {
            core_safety::Alert::ErrorRate { rate_ppm } => Alert::ErrorRate {
                rate_ppm: *rate_ppm,
            },
            core_safety::Alert::LowCycles { canister, cycles } => Alert::LowCycles {
                canister_id: *canister,
                cycles: Nat::from(cycles.0),
            },
            core_safety::Alert::SlowProbe { latency } => Alert::SlowProbe {
                latency_ns: latency.0,
            },
        }
    }
}

impl From<core_exp::Verdict> for ExperimentVerdict {
    fn from(v: core_exp::Verdict) -> Self {
        match v {
            core_exp::Verdict::Completed => ExperimentVerdict::Completed,
            core_exp::Verdict::Aborted => ExperimentVerdict::Aborted,
            core_exp::Verdict::Failed => ExperimentVerdict::Failed,
        }
    }
}

fn phase_checks(c: core_exp::PhaseChecks) -> PhaseChecks {
    PhaseChecks {
        within: c.within,
        total: c.total,
    }
}

impl From<&core_exp::ExperimentReport> for ExperimentReport {
    fn from(r: &core_exp::ExperimentReport) -> Self {
        ExperimentReport {
            verdict: r.verdict.into(),
            hypothesis_held: r.hypothesis_held,
            before: phase_checks(r.before),
            during: phase_checks(r.during),
            after: phase_checks(r.after),
            resilience_score: r.resilience_score,
            findings: (&r.findings).into(),
            rolled_back: r.rolled_back,
            rollback_failures: r.rollback_failures.iter().map(|f| view_text(f)).collect(),
            restored: r.restored,
            needs_attention: r.needs_attention,
            abort_reason: r.abort_reason.as_deref().map(view_text),
            alerts: r.alerts.iter().map(Into::into).collect(),
            injected_at_ns: r.injected_at.map(|t| t.0),
            finished_at_ns: r.finished_at.0,
        }
    }
}

/// Free text of a run (observations carry targets' reject messages) as a view shows it.
fn view_text(s: &str) -> String {
    truncate_text(s, MAX_VIEW_TEXT_BYTES)
}

/// The API view of an experiment; `motion` is the motion asking for its approval, if any.
pub fn experiment_view(
    e: &core_exp::Experiment,
    motion: Option<core_council::MotionId>,
) -> Experiment {
    let plan = e.plan.as_ref();
    let skip = e.steps.len().saturating_sub(MAX_STEPS_SHOWN);
    Experiment {
        id: e.id.0,
        spec: (&e.spec).into(),
        status: e.status().into(),
        phase: e.phase.into(),
        requested_by: e.requested_by,
        origin: e.origin.into(),
        created_at_ns: e.created_at.0,
        seed: e.seed,
        motion_id: motion.map(|m| m.0),
        started_at_ns: e.started_at.map(|t| t.0),
        deadline_ns: e.deadline().map(|t| t.0),
        acted_on: plan.map(|p| p.acted_on.clone()).unwrap_or_default(),
        affected: plan.map(|p| p.affected.clone()).unwrap_or_default(),
        originals: e
            .originals
            .iter()
            .map(|(c, s)| target_status(*c, s))
            .collect(),
        final_status: e
            .final_status
            .iter()
            .map(|(c, s)| target_status(*c, s))
            .collect(),
        injected_at_ns: e.injected_at.map(|t| t.0),
        abort_reason: e.abort.as_ref().map(|a| view_text(&a.describe())),
        cancelled: match &e.stage {
            core_exp::Stage::Cancelled { reason, .. } => Some(view_text(reason)),
            _ => None,
        },
        steps: e.steps[skip..].iter().map(Into::into).collect(),
        step_count: e.steps.len() as u64,
        checks: e.checks[e.checks.len().saturating_sub(MAX_CHECKS_SHOWN)..]
            .iter()
            .map(Into::into)
            .collect(),
        report: e.report().map(Into::into),
    }
}

/// A row of `list_experiments`.
pub fn experiment_summary(
    e: &core_exp::Experiment,
    motion: Option<core_council::MotionId>,
) -> ExperimentSummary {
    let report = e.report();
    ExperimentSummary {
        id: e.id.0,
        title: e.spec.title.clone(),
        fault: e.spec.fault.kind().into(),
        status: e.status().into(),
        requested_by: e.requested_by,
        origin: e.origin.into(),
        created_at_ns: e.created_at.0,
        started_at_ns: e.started_at.map(|t| t.0),
        acted_on: e
            .plan
            .as_ref()
            .map(|p| p.acted_on.clone())
            .unwrap_or_default(),
        motion_id: motion.map(|m| m.0),
        resilience_score: report.and_then(|r| r.resilience_score),
        needs_attention: report.is_some_and(|r| r.needs_attention),
    }
}

// ---------------------------------------------------------------- safety limits

fn cycles(field: &str, n: Nat) -> Result<Cycles, Error> {
    u128::try_from(n.0)
        .map(Cycles)
        .map_err(|_| Error::invalid(field, "does not fit in 128 bits"))
}

impl From<&core_council::Evaluator> for Evaluator {
    fn from(e: &core_council::Evaluator) -> Self {
        use core_council::Evaluator as E;
        match e {
            E::BlastRadiusAtMost(n) => Evaluator::BlastRadiusAtMost(*n),
            E::NoCriticalTarget => Evaluator::NoCriticalTarget,
            E::NoDestructiveFault => Evaluator::NoDestructiveFault,
            E::DurationAtMost(d) => Evaluator::DurationAtMost(d.0),
        }
    }
}

impl From<Evaluator> for core_council::Evaluator {
    fn from(e: Evaluator) -> Self {
        use core_council::Evaluator as E;
        match e {
            Evaluator::BlastRadiusAtMost(n) => E::BlastRadiusAtMost(n),
            Evaluator::NoCriticalTarget => E::NoCriticalTarget,
            Evaluator::NoDestructiveFault => E::NoDestructiveFault,
            Evaluator::DurationAtMost(d) => E::DurationAtMost(DurationNs(d)),
        }
    }
}

impl From<&core_council::AgentId> for AgentId {
    fn from(a: &core_council::AgentId) -> Self {
        match a {
            core_council::AgentId::Principal(p) => AgentId::Principal(*p),
            core_council::AgentId::Evaluator(e) => AgentId::Evaluator(e.into()),
        }
    }
}

impl From<AgentId> for core_council::AgentId {
    fn from(a: AgentId) -> Self {
        match a {
            AgentId::Principal(p) => core_council::AgentId::Principal(p),
            AgentId::Evaluator(e) => core_council::AgentId::Evaluator(e.into()),
        }
    }
}

impl From<&core_council::ApproverSet> for ApproverSet {
    fn from(a: &core_council::ApproverSet) -> Self {
        match a {
            core_council::ApproverSet::AllAgents => ApproverSet::AllAgents,
            core_council::ApproverSet::Listed(v) => {
                ApproverSet::Listed(v.iter().map(Into::into).collect())
            }
        }
    }
}

impl From<ApproverSet> for core_council::ApproverSet {
    fn from(a: ApproverSet) -> Self {
        match a {
            ApproverSet::AllAgents => core_council::ApproverSet::AllAgents,
            ApproverSet::Listed(v) => {
                core_council::ApproverSet::Listed(v.into_iter().map(Into::into).collect())
            }
        }
    }
}

impl From<&core_council::Rule> for ApprovalRule {
    fn from(r: &core_council::Rule) -> Self {
        use core_council::Rule as R;
        match r {
            R::AutoApproved => ApprovalRule::AutoApproved,
            R::Quorum {
                approvers,
                min_approved,
            } => ApprovalRule::Quorum {
                approvers: approvers.into(),
                min_approved: *min_approved,
            },
            R::QuorumPercentage { approvers, percent } => ApprovalRule::QuorumPercentage {
                approvers: approvers.into(),
                percent: *percent,
            },
            R::AnyOf(v) => ApprovalRule::AnyOf(v.iter().map(Into::into).collect()),
            R::AllOf(v) => ApprovalRule::AllOf(v.iter().map(Into::into).collect()),
        }
    }
}

impl From<ApprovalRule> for core_council::Rule {
    fn from(r: ApprovalRule) -> Self {
        use core_council::Rule as R;
        match r {
            ApprovalRule::AutoApproved => R::AutoApproved,
            ApprovalRule::Quorum {
                approvers,
                min_approved,
            } => R::Quorum {
                approvers: approvers.into(),
                min_approved,
            },
            ApprovalRule::QuorumPercentage { approvers, percent } => R::QuorumPercentage {
                approvers: approvers.into(),
                percent,
            },
            ApprovalRule::AnyOf(v) => R::AnyOf(v.into_iter().map(Into::into).collect()),
            ApprovalRule::AllOf(v) => R::AllOf(v.into_iter().map(Into::into).collect()),
        }
    }
}

impl From<&core_safety::SafetyLimits> for SafetyLimits {
    fn from(l: &core_safety::SafetyLimits) -> Self {
        SafetyLimits {
            max_duration_ns: l.max_duration.0,
            max_targets: l.max_targets,
            max_target_share_pct: l.max_target_share_pct,
            max_concurrent: l.max_concurrent,
            approval: ApprovalPolicy {
                always: l.approval.always,
                rule: (&l.approval.rule).into(),
                deadline_ns: l.approval.deadline.0,
                quiet_ns: l.approval.quiet.map(|d| d.0),
            },
            stop: StopConditions {
                max_consecutive_deviations: l.stop.max_consecutive_deviations,
                cycles_floor: l.stop.cycles_floor.map(|c| Nat::from(c.0)),
                max_error_rate_ppm: l.stop.max_error_rate_ppm,
                min_samples: l.stop.min_samples,
            },
            monitoring: MonitoringThresholds {
                warn_error_rate_ppm: l.monitoring.warn_error_rate_ppm,
                warn_cycles: l.monitoring.warn_cycles.map(|c| Nat::from(c.0)),
                warn_latency_ns: l.monitoring.warn_latency.map(|d| d.0),
            },
            min_probe_interval_ns: l.min_probe_interval.0,
            backoff: Backoff {
                base_ns: l.backoff.base.0,
                max_ns: l.backoff.max.0,
                max_attempts: l.backoff.max_attempts,
            },
            breaker: BreakerConfig {
                failure_threshold: l.breaker.failure_threshold,
                open_for_ns: l.breaker.open_for.0,
                max_open_for_ns: l.breaker.max_open_for.0,
            },
        }
    }
}

impl TryFrom<SafetyLimits> for core_safety::SafetyLimits {
    type Error = Error;

    /// Only the cycle amounts can fail here (beyond 128 bits); the core validates the rest.
    fn try_from(l: SafetyLimits) -> Result<Self, Error> {
        Ok(core_safety::SafetyLimits {
            max_duration: DurationNs(l.max_duration_ns),
            max_targets: l.max_targets,
            max_target_share_pct: l.max_target_share_pct,
            max_concurrent: l.max_concurrent,
            approval: core_safety::ApprovalPolicy {
                always: l.approval.always,
                rule: l.approval.rule.into(),
                deadline: DurationNs(l.approval.deadline_ns),
                quiet: l.approval.quiet_ns.map(DurationNs),
            },
            stop: core_safety::StopConditions {
                max_consecutive_deviations: l.stop.max_consecutive_deviations,
                cycles_floor: l
                    .stop
                    .cycles_floor
                    .map(|c| cycles("stop.cycles_floor", c))
                    .transpose()?,
                max_error_rate_ppm: l.stop.max_error_rate_ppm,
                min_samples: l.stop.min_samples,
            },
            monitoring: core_safety::MonitoringThresholds {
                warn_error_rate_ppm: l.monitoring.warn_error_rate_ppm,
                warn_cycles: l
                    .monitoring
                    .warn_cycles
                    .map(|c| cycles("monitoring.warn_cycles", c))
                    .transpose()?,
                warn_latency: l.monitoring.warn_latency_ns.map(DurationNs),
            },
            min_probe_interval: DurationNs(l.min_probe_interval_ns),
            backoff: core_safety::Backoff {
                base: DurationNs(l.backoff.base_ns),
                max: DurationNs(l.backoff.max_ns),
                max_attempts: l.backoff.max_attempts,
            },
            breaker: core_safety::BreakerConfig {
                failure_threshold: l.breaker.failure_threshold,
                open_for: DurationNs(l.breaker.open_for_ns),
                max_open_for: DurationNs(l.breaker.max_open_for_ns),
            },
        })
    }
}

impl From<&core_safety::Halt> for Halt {
    fn from(h: &core_safety::Halt) -> Self {
        Halt {
            since_ns: h.since.0,
            by: h.by,
            reason: h.reason.clone(),
        }
    }
}

// ---------------------------------------------------------------- council

impl From<&core_council::Agent> for Agent {
    fn from(a: &core_council::Agent) -> Self {
        Agent {
            principal: a.principal,
            kind: match a.kind {
                core_council::AgentKind::Person => AgentKind::Person,
                core_council::AgentKind::Canister => AgentKind::Canister,
            },
            name: a.name.clone(),
        }
    }
}

impl From<Agent> for core_council::Agent {
    fn from(a: Agent) -> Self {
        core_council::Agent {
            principal: a.principal,
            kind: match a.kind {
                AgentKind::Person => core_council::AgentKind::Person,
                AgentKind::Canister => core_council::AgentKind::Canister,
            },
            name: a.name,
        }
    }
}

impl From<core_council::Vote> for Vote {
    fn from(v: core_council::Vote) -> Self {
        match v {
            core_council::Vote::Approve => Vote::Approve,
            core_council::Vote::Reject => Vote::Reject,
            core_council::Vote::Abstain => Vote::Abstain,
        }
    }
}

impl From<Vote> for core_council::Vote {
    fn from(v: Vote) -> Self {
        match v {
            Vote::Approve => core_council::Vote::Approve,
            Vote::Reject => core_council::Vote::Reject,
            Vote::Abstain => core_council::Vote::Abstain,
        }
    }
}

impl From<&core_council::Motion> for Motion {
    fn from(m: &core_council::Motion) -> Self {
        let core_council::Subject::Experiment(experiment) = m.subject;
        Motion {
            id: m.id.0,
            experiment_id: experiment.0,
            title: m.summary.title.clone(),
            fault: m.summary.fault.into(),
            destructive: m.summary.destructive,
            targets: m.summary.targets.clone(),
            critical: m.summary.critical.clone(),
            duration_ns: m.summary.duration.0,
            reasons: m.summary.reasons.clone(),
            rule: (&m.rule).into(),
            proposer: m.proposer,
            opened_at_ns: m.opened_at.0,
            deadline_ns: m.deadline.0,
            original_deadline_ns: m.original_deadline.0,
            positions: m
                .positions
                .iter()
                .map(|(agent, p)| Position {
                    agent: agent.into(),
                    vote: p.vote.into(),
                    reason: p.reason.clone(),
                    at_ns: p.at.0,
                })
                .collect(),
            status: match &m.status {
                core_council::MotionStatus::Open => MotionStatus::Open,
                core_council::MotionStatus::Approved { at } => {
                    MotionStatus::Approved { at_ns: at.0 }
                }
                core_council::MotionStatus::Rejected { at, reason } => MotionStatus::Rejected {
                    at_ns: at.0,
                    reason: reason.clone(),
                },
                core_council::MotionStatus::Cancelled { at, reason } => MotionStatus::Cancelled {
                    at_ns: at.0,
                    reason: reason.clone(),
                },
            },
        }
    }
}

// ---------------------------------------------------------------- schedules

impl From<&core_safety::Schedule> for Schedule {
    fn from(s: &core_safety::Schedule) -> Self {
        Schedule {
            id: s.id.0,
            spec: (&s.spec).into(),
            created_by: s.created_by,
            created_at_ns: s.created_at.0,
            next_at_ns: s.next_at.map(|t| t.0),
            interval_ns: s.interval.map(|d| d.0),
            fired: s.fired,
            last: s.last.as_ref().map(|r| ScheduleRun {
                at_ns: r.at.0,
                result: r.result.as_ref().map(|id| id.0).map_err(Clone::clone),
            }),
            cancelled: s.cancelled,
        }
    }
}
