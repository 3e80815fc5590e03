//! `From` conversions between the core's domain types and the Candid DTOs.

use crate::*;
use chaos_manager::drill as core_drill;
use chaos_manager::effect::{Effect, Outcome};
use chaos_manager::target as core_target;
use chaos_manager::{DurationNs, Role as CoreRole};
use serde_bytes::ByteBuf;

impl From<CoreRole> for Role {
    fn from(r: CoreRole) -> Self {
        match r {
            CoreRole::Admin => Role::Admin,
            CoreRole::Operator => Role::Operator,
            CoreRole::Auditor => Role::Auditor,
        }
    }
}

impl From<Role> for CoreRole {
    fn from(r: Role) -> Self {
        match r {
            Role::Admin => CoreRole::Admin,
            Role::Operator => CoreRole::Operator,
            Role::Auditor => CoreRole::Auditor,
        }
    }
}

impl From<core_drill::ScenarioKind> for Scenario {
    fn from(s: core_drill::ScenarioKind) -> Self {
        match s {
            core_drill::ScenarioKind::CanisterLoss => Scenario::CanisterLoss,
            core_drill::ScenarioKind::BadUpgrade => Scenario::BadUpgrade,
        }
    }
}

impl From<Scenario> for core_drill::ScenarioKind {
    fn from(s: Scenario) -> Self {
        match s {
            Scenario::CanisterLoss => core_drill::ScenarioKind::CanisterLoss,
            Scenario::BadUpgrade => core_drill::ScenarioKind::BadUpgrade,
        }
    }
}

impl From<core_target::Criticality> for Criticality {
    fn from(c: core_target::Criticality) -> Self {
        match c {
            core_target::Criticality::Low => Criticality::Low,
            core_target::Criticality::Medium => Criticality::Medium,
            core_target::Criticality::High => Criticality::High,
            core_target::Criticality::Critical => Criticality::Critical,
        }
    }
}

impl From<Criticality> for core_target::Criticality {
    fn from(c: Criticality) -> Self {
        match c {
            Criticality::Low => core_target::Criticality::Low,
            Criticality::Medium => core_target::Criticality::Medium,
            Criticality::High => core_target::Criticality::High,
            Criticality::Critical => core_target::Criticality::Critical,
        }
    }
}

impl From<TargetSpec> for core_target::Target {
    fn from(t: TargetSpec) -> Self {
        core_target::Target {
            canister_id: t.canister_id,
            name: t.name,
            criticality: t.criticality.into(),
            protected: t.protected,
            rto_objective: DurationNs(t.rto_objective_ns),
            rpo_objective: core_target::RpoObjective {
                max_operations_lost: t.rpo_max_operations_lost,
                max_age: DurationNs(t.rpo_max_age_ns),
            },
            probe_method: t.probe_method,
            allowed_scenarios: t.allowed_scenarios.into_iter().map(Into::into).collect(),
            fault_profile: t.fault_profile.map(Into::into),
        }
    }
}

impl From<&core_target::Target> for TargetSpec {
    fn from(t: &core_target::Target) -> Self {
        TargetSpec {
            canister_id: t.canister_id,
            name: t.name.clone(),
            criticality: t.criticality.into(),
            protected: t.protected,
            rto_objective_ns: t.rto_objective.0,
            rpo_max_operations_lost: t.rpo_objective.max_operations_lost,
            rpo_max_age_ns: t.rpo_objective.max_age.0,
            probe_method: t.probe_method.clone(),
            allowed_scenarios: t.allowed_scenarios.iter().map(|s| (*s).into()).collect(),
            fault_profile: t.fault_profile.as_ref().map(Into::into),
        }
    }
}

impl From<core_drill::Verdict> for Verdict {
    fn from(v: core_drill::Verdict) -> Self {
        match v {
            core_drill::Verdict::Passed => Verdict::Passed,
            core_drill::Verdict::Failed => Verdict::Failed,
            core_drill::Verdict::Aborted => Verdict::Aborted,
        }
    }
}

impl From<&core_drill::DrillReport> for DrillReport {
    fn from(r: &core_drill::DrillReport) -> Self {
        DrillReport {
            verdict: r.verdict.into(),
            rto_ns: r.rto.map(|d| d.0),
            rpo: r.rpo.as_ref().map(|m| Rpo {
                operations_lost: m.operations_lost,
                restore_point_age_ns: m.restore_point_age.0,
            }),
            criteria: r
                .criteria
                .iter()
                .map(|c| Criterion {
                    name: c.name.clone(),
                    passed: c.passed,
                    detail: c.detail.clone(),
                })
                .collect(),
            finished_at_ns: r.finished_at.0,
            abort_reason: r.abort_reason.clone(),
            needs_attention: r.needs_attention,
        }
    }
}

/// One line describing an effect, for timelines and event summaries.
pub fn describe_effect(e: &Effect) -> String {
    match e {
        Effect::Probe { canister, method } => format!("probe {canister}.{method}"),
        Effect::TakeSnapshot { canister, replace } => match replace {
            Some(old) => format!("take_canister_snapshot {canister} (replacing {old})"),
            None => format!("take_canister_snapshot {canister}"),
        },
        Effect::LoadSnapshot { canister, snapshot } => {
            format!("load_canister_snapshot {canister} {snapshot}")
        }
        Effect::DeleteSnapshot { canister, snapshot } => {
            format!("delete_canister_snapshot {canister} {snapshot}")
        }
        Effect::WaitUntil { until } => format!("wait until {} ns", until.0),
        Effect::UpdateSettings { canister, change } => format!(
            "update_settings {canister} ({})",
            crate::convert_assurance::describe_settings(change)
        ),
        Effect::CollectEvidence { canister } => format!("collect_evidence {canister}"),
        Effect::ProbeVia { target, method } => format!("probe_via {target}.{method}"),
        Effect::AccessProbe { target, methods } => {
            format!("access_probe {target} ({})", methods.join(", "))
        }
        Effect::SetFaultPlan { canister, plan } => format!(
            "set_fault_plan {canister} (plan {}, {} faults)",
            plan.plan_id,
            plan.faults.len()
        ),
        Effect::ReadStatus { canister } | Effect::ClearFaults { canister } => {
            format!("{} {canister}", e.name())
        }
        Effect::ReadControllers { canister }
        | Effect::ListSnapshots { canister }
        | Effect::StopCanister { canister }
        | Effect::StartCanister { canister }
        | Effect::UninstallCode { canister }
        | Effect::InstallBrokenModule { canister } => format!("{} {canister}", e.name()),
    }
}

/// One line describing an outcome.
pub fn describe_outcome(o: &Outcome) -> String {
    match o {
        Outcome::Done => "done".into(),
        Outcome::Controllers { controllers } => format!(
            "controllers: {}",
            controllers
                .iter()
                .map(|p| p.to_text())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Outcome::SnapshotTaken { id, taken_at } => {
            format!("snapshot {id} taken at {} ns", taken_at.0)
        }
        Outcome::Probed { probe } => format!(
            "{} operations, state hash {}",
            probe.operation_count,
            hex_prefix(&probe.state_hash)
        ),
        Outcome::Failed { failure } => format!("{:?}: {}", failure.code, failure.message),
        Outcome::Status { status } => format!("status {:?}", status.status),
        Outcome::ProbeRead { reading } => format!("probe read {:?}", reading.value),
        Outcome::AccessProbed {
            accepted,
            inconclusive,
        } => format!(
            "{} methods accepted, {} inconclusive",
            accepted.len(),
            inconclusive.len()
        ),
        Outcome::Evidence { evidence } => format!(
            "evidence collected at {} ns (status {})",
            evidence.collected_at.0,
            if evidence.status.is_ok() {
                "read"
            } else {
                "unreadable"
            }
        ),
        Outcome::Snapshots { snapshots } => format!(
            "{} snapshots: {}",
            snapshots.len(),
            snapshots
                .iter()
                .map(|s| s.id.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn hex_prefix(bytes: &[u8]) -> String {
    bytes.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

impl From<&core_drill::Drill> for Drill {
    fn from(d: &core_drill::Drill) -> Self {
        Drill {
            id: d.id.0,
            target: d.target,
            scenario: d.scenario.into(),
            state: if d.is_running() {
                DrillState::Running
            } else {
                DrillState::Finished
            },
            requested_by: d.requested_by,
            started_at_ns: d.started_at.0,
            hold_ns: d.options.hold.0,
            rto_objective_ns: d.objectives.rto.0,
            rpo_max_operations_lost: d.objectives.rpo.max_operations_lost,
            rpo_max_age_ns: d.objectives.rpo.max_age.0,
            restore_point: d.restore_point.as_ref().map(|(id, at)| RestorePoint {
                snapshot_id: ByteBuf::from(id.0.clone()),
                taken_at_ns: at.0,
            }),
            timeline: d
                .timeline
                .iter()
                .map(|e| TimelineEntry {
                    step: e.step,
                    phase: e.phase.name().into(),
                    action: e.action.name().into(),
                    effect: describe_effect(&e.effect),
                    started_at_ns: e.started_at.0,
                    finished_at_ns: e.finished_at.map(|t| t.0),
                    succeeded: e.outcome.as_ref().map(|o| !o.is_failure()),
                    detail: e.outcome.as_ref().map(describe_outcome).unwrap_or_default(),
                })
                .collect(),
            report: d.report().map(Into::into),
        }
    }
}
