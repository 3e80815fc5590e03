//! Conversions between the core's hardening types (policy, controls, scans, frameworks,
//! plans and requests) and the Candid DTOs of `assurance`; the register's are in
//! `convert_findings`, readiness's in `convert_readiness`.

use crate::assurance::*;
use crate::{describe_effect, describe_outcome, Error};
use candid::Nat;
use chaos_manager::assurance as core_assurance;
use chaos_manager::effect::Outcome;
use chaos_manager::hardening::{self as core, framework as core_fw};
use chaos_manager::DurationNs;
use serde_bytes::ByteBuf;

const DAY_NS: u64 = 86_400 * 1_000_000_000;

impl From<core::Severity> for Severity {
    fn from(s: core::Severity) -> Self {
        match s {
            core::Severity::Critical => Severity::Critical,
            core::Severity::High => Severity::High,
            core::Severity::Medium => Severity::Medium,
            core::Severity::Low => Severity::Low,
        }
    }
}

impl From<Severity> for core::Severity {
    fn from(s: Severity) -> Self {
        match s {
            Severity::Critical => core::Severity::Critical,
            Severity::High => core::Severity::High,
            Severity::Medium => core::Severity::Medium,
            Severity::Low => core::Severity::Low,
        }
    }
}

impl From<core::Framework> for Framework {
    fn from(f: core::Framework) -> Self {
        match f {
            core::Framework::Soc2 => Framework::Soc2,
            core::Framework::Iso27001 => Framework::Iso27001,
            core::Framework::Nist80053 => Framework::Nist80053,
            core::Framework::Gdpr => Framework::Gdpr,
        }
    }
}

impl From<Framework> for core::Framework {
    fn from(f: Framework) -> Self {
        match f {
            Framework::Soc2 => core::Framework::Soc2,
            Framework::Iso27001 => core::Framework::Iso27001,
            Framework::Nist80053 => core::Framework::Nist80053,
            Framework::Gdpr => core::Framework::Gdpr,
        }
    }
}

fn days_of(d: DurationNs) -> u64 {
    d.0 / DAY_NS
}

fn days(n: u64) -> DurationNs {
    DurationNs(n.saturating_mul(DAY_NS))
}

fn cycles(field: &str, n: Nat) -> Result<core::Cycles, Error> {
    u128::try_from(n.0)
        .map(core::Cycles)
        .map_err(|_| Error::invalid(field, "does not fit in 128 bits"))
}

impl From<&core::HardeningPolicy> for HardeningPolicy {
    fn from(p: &core::HardeningPolicy) -> Self {
        HardeningPolicy {
            min_freezing_threshold_days: p.min_freezing_threshold_days,
            max_freezing_threshold_days: p.max_freezing_threshold_days,
            min_runway_days: p.min_runway_days,
            approved_module_hashes: p
                .approved_module_hashes
                .iter()
                .map(|h| ByteBuf::from(h.0.clone()))
                .collect(),
            max_snapshot_age_ns: p.max_snapshot_age.0,
            max_drill_age_ns: p.max_drill_age.0,
            allow_public_logs: p.allow_public_logs,
            min_memory_headroom_pct: p.min_memory_headroom_pct,
            governance_controllers: p.governance_controllers.clone(),
            watchlist: p.watchlist.iter().map(|f| (*f).into()).collect(),
            sla: SlaDays {
                critical_days: days_of(p.sla.critical),
                high_days: days_of(p.sla.high),
                medium_days: days_of(p.sla.medium),
                low_days: days_of(p.sla.low),
            },
            max_controllers: p.max_controllers,
            max_reserved_cycles_limit: Nat::from(p.max_reserved_cycles_limit.0),
            reserved_cycles_limit_target: Nat::from(p.reserved_cycles_limit_target.0),
            wasm_memory_limit_target_bytes: p.wasm_memory_limit_target_bytes,
            max_evidence_age_ns: p.max_evidence_age.0,
            publish_reports: p.publish_reports,
        }
    }
}

/// The core validates every bound (`HardeningPolicy::validate`); this only refuses what does
/// not fit the core's types.
impl TryFrom<HardeningPolicy> for core::HardeningPolicy {
    type Error = Error;

    fn try_from(p: HardeningPolicy) -> Result<Self, Error> {
        Ok(core::HardeningPolicy {
            min_freezing_threshold_days: p.min_freezing_threshold_days,
            max_freezing_threshold_days: p.max_freezing_threshold_days,
            min_runway_days: p.min_runway_days,
            approved_module_hashes: p
                .approved_module_hashes
                .into_iter()
                .map(|h| core::ModuleHash(h.into_vec()))
                .collect(),
            max_snapshot_age: DurationNs(p.max_snapshot_age_ns),
            max_drill_age: DurationNs(p.max_drill_age_ns),
            allow_public_logs: p.allow_public_logs,
            min_memory_headroom_pct: p.min_memory_headroom_pct,
            governance_controllers: p.governance_controllers,
            watchlist: p.watchlist.into_iter().map(Into::into).collect(),
            sla: core::SlaPolicy {
                critical: days(p.sla.critical_days),
                high: days(p.sla.high_days),
                medium: days(p.sla.medium_days),
                low: days(p.sla.low_days),
            },
            max_controllers: p.max_controllers,
            max_reserved_cycles_limit: cycles(
                "max_reserved_cycles_limit",
                p.max_reserved_cycles_limit,
            )?,
            reserved_cycles_limit_target: cycles(
                "reserved_cycles_limit_target",
                p.reserved_cycles_limit_target,
            )?,
            wasm_memory_limit_target_bytes: p.wasm_memory_limit_target_bytes,
            max_evidence_age: DurationNs(p.max_evidence_age_ns),
            publish_reports: p.publish_reports,
        })
    }
}

impl From<&core::ControlResult> for ControlResult {
    fn from(r: &core::ControlResult) -> Self {
        match r {
            core::ControlResult::Pass => ControlResult::Pass,
            core::ControlResult::Fail { reason } => ControlResult::Fail {
                reason: reason.clone(),
            },
            core::ControlResult::Unknown { reason } => ControlResult::Unknown {
                reason: reason.clone(),
            },
        }
    }
}

fn mappings(c: Option<&core::Control>) -> Vec<Mapping> {
    c.map(|c| {
        c.mappings
            .iter()
            .map(|m| Mapping {
                framework: m.framework.into(),
                requirement: m.requirement.to_string(),
            })
            .collect()
    })
    .unwrap_or_default()
}

fn evidence_kind(k: core::EvidenceKind) -> &'static str {
    match k {
        core::EvidenceKind::CanisterStatus => "canister_status",
        core::EvidenceKind::CanisterMetadata => "canister_metadata",
        core::EvidenceKind::SnapshotList => "snapshot_list",
        core::EvidenceKind::DrillHistory => "drill_history",
        core::EvidenceKind::AccessProbe => "access_probe",
    }
}

impl From<&core::Control> for ControlInfo {
    fn from(c: &core::Control) -> Self {
        ControlInfo {
            id: c.id.to_string(),
            title: c.title.to_string(),
            rationale: c.rationale.to_string(),
            severity: c.severity.into(),
            weight: c.weight,
            reads: c
                .reads
                .iter()
                .map(|k| evidence_kind(*k).to_string())
                .collect(),
            remediation: c.remediation.to_string(),
            auto_remediable: c.auto_remediation.is_some(),
            mappings: mappings(Some(c)),
        }
    }
}

impl From<&core::ControlOutcome> for ControlReport {
    fn from(o: &core::ControlOutcome) -> Self {
        let c = core::control(&o.control);
        ControlReport {
            id: o.control.to_string(),
            title: c.map(|c| c.title.to_string()).unwrap_or_default(),
            severity: o.severity.into(),
            weight: o.weight,
            result: (&o.result).into(),
            evidence: o.evidence.clone(),
            remediation: match (&o.result, c) {
                (core::ControlResult::Pass, _) | (_, None) => String::new(),
                (_, Some(c)) => c.remediation.to_string(),
            },
            auto_remediable: c.is_some_and(|c| c.auto_remediation.is_some()),
            mappings: mappings(c),
        }
    }
}

impl From<core_fw::RequirementStatus> for RequirementStatus {
    fn from(s: core_fw::RequirementStatus) -> Self {
        match s {
            core_fw::RequirementStatus::Satisfied => RequirementStatus::Satisfied,
            core_fw::RequirementStatus::NotSatisfied => RequirementStatus::NotSatisfied,
            core_fw::RequirementStatus::Undetermined => RequirementStatus::Undetermined,
        }
    }
}

impl From<&core::FrameworkCoverage> for FrameworkCoverage {
    fn from(f: &core::FrameworkCoverage) -> Self {
        FrameworkCoverage {
            framework: f.framework.into(),
            name: f.framework.name().to_string(),
            requirements: f
                .requirements
                .iter()
                .map(|r| RequirementCoverage {
                    requirement: r.requirement.clone(),
                    title: r.title.clone(),
                    controls: r.controls.iter().map(|c| c.to_string()).collect(),
                    passing: r.passing,
                    failing: r.failing,
                    unknown: r.unknown,
                    status: r.status.into(),
                })
                .collect(),
            satisfied: f.satisfied,
            not_satisfied: f.not_satisfied,
            undetermined: f.undetermined,
        }
    }
}

impl From<core::HardeningLevel> for HardeningLevel {
    fn from(l: core::HardeningLevel) -> Self {
        match l {
            core::HardeningLevel::Basic => HardeningLevel::Basic,
            core::HardeningLevel::Standard => HardeningLevel::Standard,
            core::HardeningLevel::Advanced => HardeningLevel::Advanced,
            core::HardeningLevel::Maximum => HardeningLevel::Maximum,
        }
    }
}

fn ids(r: &core::ScanReport, pred: fn(&core::ControlResult) -> bool) -> Vec<String> {
    r.results
        .iter()
        .filter(|o| pred(&o.result))
        .map(|o| o.control.to_string())
        .collect()
}

/// `watchlist` is empty; the canister fills it from the policy in force.
impl From<&core::ScanReport> for ScanReport {
    fn from(r: &core::ScanReport) -> Self {
        let status = r.evidence.status.as_ref();
        ScanReport {
            target: r.target,
            scanned_at_ns: r.scanned_at.0,
            collected_at_ns: r.evidence.collected_at.0,
            score: r.score,
            evaluated_pct: r.evaluated_pct,
            level: r.level.into(),
            passed: r.count(core::ControlResult::is_pass) as u16,
            failed: r.count(core::ControlResult::is_fail) as u16,
            unknown: r.count(core::ControlResult::is_unknown) as u16,
            controls: r.results.iter().map(Into::into).collect(),
            frameworks: r.frameworks.iter().map(Into::into).collect(),
            watchlist: Vec::new(),
            module_hash: status
                .ok()
                .and_then(|s| s.module_hash.as_ref())
                .map(|h| ByteBuf::from(h.0.clone())),
            status_error: status.err().cloned(),
        }
    }
}

impl From<&core::ScanReport> for ScanHeadline {
    fn from(r: &core::ScanReport) -> Self {
        ScanHeadline {
            scanned_at_ns: r.scanned_at.0,
            score: r.score,
            evaluated_pct: r.evaluated_pct,
            level: r.level.into(),
            failing: ids(r, core::ControlResult::is_fail),
            unknown: ids(r, core::ControlResult::is_unknown),
            status_error: r.evidence.status.as_ref().err().cloned(),
        }
    }
}

impl From<&core::FrameworkReport> for FrameworkReport {
    fn from(r: &core::FrameworkReport) -> Self {
        FrameworkReport {
            framework: r.framework.into(),
            framework_name: r.framework_name.to_string(),
            target: r.target,
            scanned_at_ns: r.scanned_at.0,
            coverage: (&r.coverage).into(),
            gaps: r
                .gaps
                .iter()
                .map(|g| Gap {
                    control: g.control.to_string(),
                    title: g.title.to_string(),
                    severity: g.severity.into(),
                    requirements: g.requirements.clone(),
                    finding: g.finding.clone(),
                    remediation: g.remediation.to_string(),
                })
                .collect(),
        }
    }
}

impl From<&core::Visibility> for Visibility {
    fn from(v: &core::Visibility) -> Self {
        match v {
            core::Visibility::Controllers => Visibility::Controllers,
            core::Visibility::Public => Visibility::Public,
            core::Visibility::AllowedViewers(p) => Visibility::AllowedViewers(p.clone()),
        }
    }
}

impl From<&core::SettingsChange> for SettingsChange {
    fn from(c: &core::SettingsChange) -> Self {
        SettingsChange {
            freezing_threshold_secs: c.freezing_threshold_secs,
            wasm_memory_limit_bytes: c.wasm_memory_limit_bytes,
            wasm_memory_threshold_bytes: c.wasm_memory_threshold_bytes,
            log_visibility: c.log_visibility.as_ref().map(Into::into),
            snapshot_visibility: c.snapshot_visibility.as_ref().map(Into::into),
            status_visibility: c.status_visibility.as_ref().map(Into::into),
            reserved_cycles_limit: c.reserved_cycles_limit.map(|c| Nat::from(c.0)),
        }
    }
}

/// One line describing an automatic remediation with its parameters.
pub fn describe_remediation(r: &core::AutoRemediation) -> String {
    match r {
        core::AutoRemediation::SetFreezingThreshold { seconds } => {
            format!("set freezing_threshold to {seconds} s")
        }
        core::AutoRemediation::SetWasmMemoryLimit { bytes } => {
            format!("set wasm_memory_limit to {bytes} bytes")
        }
        core::AutoRemediation::SetWasmMemoryThreshold { bytes } => {
            format!("set wasm_memory_threshold to {bytes} bytes")
        }
        core::AutoRemediation::SetLogVisibilityControllers => {
            "set log_visibility to controllers".into()
        }
        core::AutoRemediation::SetSnapshotVisibilityControllers => {
            "set snapshot_visibility to controllers".into()
        }
        core::AutoRemediation::SetStatusVisibilityControllers => {
            "set status_visibility to controllers".into()
        }
        core::AutoRemediation::SetReservedCyclesLimit { cycles } => {
            format!("set reserved_cycles_limit to {} cycles", cycles.0)
        }
        core::AutoRemediation::TakeSnapshot { replace: None } => {
            "take a snapshot (stop, snapshot, start)".into()
        }
        core::AutoRemediation::TakeSnapshot { replace: Some(id) } => {
            format!("take a snapshot replacing {id} (stop, snapshot, start)")
        }
    }
}

/// The settings a change sets, e.g. `freezing_threshold=7776000 s, log_visibility=controllers`.
pub fn describe_settings(c: &core::SettingsChange) -> String {
    let mut parts = Vec::new();
    if let Some(v) = c.freezing_threshold_secs {
        parts.push(format!("freezing_threshold={v} s"));
    }
    if let Some(v) = c.wasm_memory_limit_bytes {
        parts.push(format!("wasm_memory_limit={v} B"));
    }
    if let Some(v) = c.wasm_memory_threshold_bytes {
        parts.push(format!("wasm_memory_threshold={v} B"));
    }
    for (name, v) in [
        ("log_visibility", &c.log_visibility),
        ("snapshot_visibility", &c.snapshot_visibility),
        ("status_visibility", &c.status_visibility),
    ] {
        if let Some(v) = v {
            parts.push(format!("{name}={}", v.describe()));
        }
    }
    if let Some(v) = c.reserved_cycles_limit {
        parts.push(format!("reserved_cycles_limit={}", v.0));
    }
    parts.join(", ")
}

impl From<&core::HardeningPlan> for HardeningPlan {
    fn from(p: &core::HardeningPlan) -> Self {
        let replace = match &p.snapshot {
            Some(core::AutoRemediation::TakeSnapshot { replace }) => replace.clone(),
            _ => None,
        };
        HardeningPlan {
            target: p.target,
            based_on_scan_at_ns: p.based_on_scan_at.0,
            remediations: p
                .remediations
                .iter()
                .map(|(c, r)| Remediation {
                    control: c.to_string(),
                    action: describe_remediation(r),
                })
                .collect(),
            settings: p.settings.as_ref().map(Into::into),
            take_snapshot: p.snapshot.is_some(),
            replace_snapshot: replace.map(|id| ByteBuf::from(id.0)),
            effects: core_assurance::hardening_effects(p)
                .iter()
                .map(describe_effect)
                .collect(),
        }
    }
}

impl From<&(String, Outcome)> for EffectOutcome {
    fn from((effect, outcome): &(String, Outcome)) -> Self {
        EffectOutcome {
            effect: effect.clone(),
            succeeded: !outcome.is_failure(),
            detail: describe_outcome(outcome),
        }
    }
}

impl From<&core_assurance::HardeningRequest> for HardeningRequest {
    fn from(r: &core_assurance::HardeningRequest) -> Self {
        let (status, after_score) = match &r.status {
            core_assurance::HardeningStatus::Pending => (HardeningStatus::Pending, None),
            core_assurance::HardeningStatus::Approved { by } => {
                (HardeningStatus::Approved { by: *by }, None)
            }
            core_assurance::HardeningStatus::Rejected { by, note } => (
                HardeningStatus::Rejected {
                    by: *by,
                    note: note.clone(),
                },
                None,
            ),
            core_assurance::HardeningStatus::Finished {
                outcomes,
                after_score,
            } => (
                HardeningStatus::Finished {
                    outcomes: outcomes.iter().map(Into::into).collect(),
                    after_score: *after_score,
                },
                Some(*after_score),
            ),
        };
        HardeningRequest {
            id: r.id,
            plan: (&r.plan).into(),
            requested_by: r.requested_by,
            requested_at_ns: r.requested_at.0,
            before_score: r.before_score,
            after_score,
            finished_at_ns: r.finished_at.map(|t| t.0),
            needs_attention: r.needs_attention(),
            status,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candid::Principal;
    use chaos_manager::hardening::fixtures;
    use chaos_manager::TimestampNs;

    fn p(n: u8) -> Principal {
        Principal::from_slice(&[n; 10])
    }

    #[test]
    fn a_policy_round_trips_through_its_dto() {
        let policy = fixtures::policy_approving_release();
        let dto = HardeningPolicy::from(&policy);
        assert_eq!(dto.sla.critical_days, 7);
        assert_eq!(core::HardeningPolicy::try_from(dto).unwrap(), policy);
    }

    #[test]
    fn a_scan_dto_carries_every_control_with_its_mappings() {
        let now = TimestampNs(1_700_000_000_000_000_000);
        let evidence = fixtures::weak_evidence(p(1), p(2), now);
        let scan = core::scan(&evidence, &fixtures::policy_approving_release(), now);
        let dto = ScanReport::from(&scan);
        assert_eq!(dto.controls.len(), core::catalog().len());
        assert!(dto.controls.iter().all(|c| !c.mappings.is_empty()));
        assert_eq!(usize::from(dto.failed), scan.failing().count());
        let freezing = dto.controls.iter().find(|c| c.id == "IC-CTRL-06").unwrap();
        assert!(matches!(freezing.result, ControlResult::Fail { .. }));
        assert!(freezing.auto_remediable);
        assert!(!freezing.remediation.is_empty());
        let headline = ScanHeadline::from(&scan);
        assert!(headline.failing.contains(&"IC-CTRL-06".to_string()));
        assert_eq!(dto.module_hash.unwrap().as_ref(), &[0xab; 32]);
    }

    #[test]
    fn a_plan_dto_lists_its_management_calls_in_order() {
        let now = TimestampNs(1_700_000_000_000_000_000);
        let evidence = fixtures::weak_evidence(p(1), p(2), now);
        let policy = fixtures::policy_approving_release();
        let scan = core::scan(&evidence, &policy, now);
        let ids = ["IC-CTRL-06", "IC-CTRL-15", "IC-CTRL-20"].map(core::ControlId::new);
        let plan = core::plan_hardening(&scan, &ids, &policy).unwrap();
        let dto = HardeningPlan::from(&plan);
        assert!(dto.take_snapshot);
        assert_eq!(dto.remediations.len(), 3);
        let calls: Vec<&str> = dto
            .effects
            .iter()
            .map(|e| e.split(' ').next().unwrap())
            .collect();
        assert_eq!(
            calls,
            [
                "update_settings",
                "stop_canister",
                "take_canister_snapshot",
                "start_canister"
            ]
        );
        assert!(dto.effects[0].contains("freezing_threshold=7776000 s"));
        assert!(dto.effects[0].contains("log_visibility=controllers"));
    }
}
