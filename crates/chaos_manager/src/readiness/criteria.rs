//! The readiness criteria, per category. Each reads concrete evidence (a scan, the register,
//! drill and experiment history) and says what it read; where the suite has no evidence, the
//! criterion is `Unknown` with the reason and what would provide it.

use super::{Category, Criterion, ReadinessInputs};
use crate::hardening::catalog::control;
use crate::hardening::evaluate::days_text;
use crate::hardening::framework::RequirementStatus;
use crate::hardening::policy::Severity;
use crate::hardening::scan::HardeningLevel;
use crate::hardening::ControlResult;
use crate::vulnerability::FindingSource;

struct Spec {
    id: &'static str,
    category: Category,
    title: &'static str,
    weight: u32,
    blocking: bool,
}

fn criterion(spec: Spec, result: ControlResult, evidence: String, remediation: &str) -> Criterion {
    Criterion {
        id: spec.id.to_string(),
        category: spec.category,
        title: spec.title.to_string(),
        weight: spec.weight,
        blocking: spec.blocking,
        remediation: if result.is_pass() {
            String::new()
        } else {
            remediation.to_string()
        },
        result,
        evidence,
    }
}

fn fail(reason: impl Into<String>) -> ControlResult {
    ControlResult::Fail {
        reason: reason.into(),
    }
}

fn unknown(reason: impl Into<String>) -> ControlResult {
    ControlResult::Unknown {
        reason: reason.into(),
    }
}

/// A criterion that restates hardening controls: fails if any fails, unknown if any is
/// unknown, and shows each control's evidence and remediation.
fn from_controls(spec: Spec, inputs: &ReadinessInputs<'_>, ids: &[&str]) -> Criterion {
    let mut evidence = Vec::new();
    let mut remediation = Vec::new();
    let mut failed = Vec::new();
    let mut unknowns = Vec::new();
    for id in ids {
        let Some(o) = inputs.scan.outcome(id) else {
            unknowns.push(format!("{id} not in the scan"));
            continue;
        };
        evidence.push(format!("{id}: {} ({})", o.result.name(), o.evidence));
        if !o.result.is_pass() {
            if let Some(c) = control(&o.control) {
                remediation.push(format!("{id}: {}", c.remediation));
            }
        }
        match &o.result {
            ControlResult::Fail { reason } => failed.push(format!("{id}: {reason}")),
            ControlResult::Unknown { reason } => unknowns.push(format!("{id}: {reason}")),
            ControlResult::Pass => {}
        }
    }
    let result = if !failed.is_empty() {
        fail(failed.join("; "))
    } else if !unknowns.is_empty() {
        unknown(unknowns.join("; "))
    } else {
        ControlResult::Pass
    };
    criterion(spec, result, evidence.join("; "), &remediation.join("; "))
}

macro_rules! spec {
    ($id:literal, $cat:ident, $title:literal, $w:literal, $blocking:literal) => {
        Spec {
            id: $id,
            category: Category::$cat,
            title: $title,
            weight: $w,
            blocking: $blocking,
        }
    };
}

pub(super) fn all(inputs: &ReadinessInputs<'_>) -> Vec<Criterion> {
    let mut v = security(inputs);
    v.extend(performance(inputs));
    v.extend(monitoring(inputs));
    v.extend(disaster_recovery(inputs));
    v.extend(compliance(inputs));
    v.extend(operations(inputs));
    v.extend(documentation(inputs));
    v.extend(capacity(inputs));
    v
}

fn security(i: &ReadinessInputs<'_>) -> Vec<Criterion> {
    let critical: Vec<_> = i
        .scan
        .results
        .iter()
        .filter(|r| r.severity == Severity::Critical)
        .collect();
    let ids: Vec<&str> = critical.iter().map(|r| r.control.as_str()).collect();
    let sec01 = from_controls(
        spec!(
            "RDY-SEC-01",
            Security,
            "No critical hardening control fails",
            3,
            true
        ),
        i,
        &ids,
    );

    let critical_open: Vec<String> = i
        .findings
        .iter()
        .filter(|f| f.status.is_active() && f.severity == Severity::Critical)
        .map(|f| format!("{} {}", f.id, f.title))
        .collect();
    let sec02 = criterion(
        spec!("RDY-SEC-02", Security, "No open critical finding", 3, true),
        if critical_open.is_empty() {
            ControlResult::Pass
        } else {
            fail(format!("{} open critical finding(s)", critical_open.len()))
        },
        format!("register: open critical [{}]", critical_open.join(", ")),
        "fix the critical findings (or accept the risk with a reason and an expiry) and rescan",
    );

    let high_overdue: Vec<String> = i
        .findings
        .iter()
        .filter(|f| f.severity == Severity::High && f.is_overdue(i.now))
        .map(|f| format!("{} {}", f.id, f.title))
        .collect();
    let sec03 = criterion(
        spec!("RDY-SEC-03", Security, "No overdue high finding", 2, false),
        if high_overdue.is_empty() {
            ControlResult::Pass
        } else {
            fail(format!(
                "{} high finding(s) past their SLA",
                high_overdue.len()
            ))
        },
        format!("register: overdue high [{}]", high_overdue.join(", ")),
        "work the overdue high findings first",
    );

    let level = i.scan.level;
    let sec04 = criterion(
        spec!(
            "RDY-SEC-04",
            Security,
            "Hardening level standard or better",
            2,
            false
        ),
        if level >= HardeningLevel::Standard {
            ControlResult::Pass
        } else {
            fail(format!("hardening level {}", level.name()))
        },
        format!("score {}/100, level {}", i.scan.score, level.name()),
        "apply the failing controls' remediations (perform_hardening for the automatic ones)",
    );
    vec![sec01, sec02, sec03, sec04]
}

fn performance(i: &ReadinessInputs<'_>) -> Vec<Criterion> {
    let spec1 = spec!(
        "RDY-PERF-01",
        Performance,
        "Load and fault experiments held their hypothesis",
        2,
        false
    );
    let fix = "run load and fault experiments against the target and fix what deviates";
    let perf01 = match i.experiments {
        None => criterion(
            spec1,
            unknown("no experiment history: experiments are not available in this suite yet"),
            "experiment summary absent".into(),
            fix,
        ),
        Some(x) if x.total == 0 => criterion(
            spec1,
            unknown("no experiment has run against the target"),
            "0 experiments".into(),
            fix,
        ),
        Some(x) => {
            let open_deviations = i
                .findings
                .iter()
                .filter(|f| {
                    f.status.is_active()
                        && matches!(f.source, FindingSource::ExperimentDeviation(_))
                })
                .count();
            let text = format!(
                "{} experiment(s): {} held, {} deviated; {open_deviations} open deviation finding(s)",
                x.total, x.held, x.deviated
            );
            let result = if open_deviations > 0 {
                fail(format!(
                    "{open_deviations} experiment deviation(s) still open"
                ))
            } else {
                ControlResult::Pass
            };
            criterion(spec1, result, text, fix)
        }
    };
    let perf02 = criterion(
        spec!("RDY-PERF-02", Performance, "Latency and throughput meet an SLO", 1, false),
        unknown("the suite holds no latency or throughput measurement nor an SLO for the target"),
        "no performance metrics collected".into(),
        "define an SLO and collect latency/throughput (experiment metrics, or query_stats from canister_status)",
    );
    vec![perf01, perf02]
}

fn monitoring(i: &ReadinessInputs<'_>) -> Vec<Criterion> {
    let age = i.now.since(i.scan.scanned_at);
    let mon01 = criterion(
        spec!(
            "RDY-MON-01",
            Monitoring,
            "Hardening evidence is fresh",
            2,
            false
        ),
        if age <= i.policy.max_evidence_age {
            ControlResult::Pass
        } else {
            fail(format!("last scan {} ago", days_text(age)))
        },
        format!(
            "last scan {} ago (policy {})",
            days_text(age),
            days_text(i.policy.max_evidence_age)
        ),
        "schedule scans at least as often as max_evidence_age",
    );
    let mon02 = from_controls(
        spec!("RDY-MON-02", Monitoring, "Low-memory hook armed", 1, false),
        i,
        &["IC-CTRL-11"],
    );
    let mon03 = criterion(
        spec!("RDY-MON-03", Monitoring, "Alerts on cycles, memory and errors configured", 1, false),
        unknown("the suite cannot see alerting configuration"),
        "no alerting configuration known to the suite".into(),
        "scrape the target's /metrics and alert on cycles runway, heap use and error rate; record the alert rules with the target",
    );
    vec![mon01, mon02, mon03]
}

fn disaster_recovery(i: &ReadinessInputs<'_>) -> Vec<Criterion> {
    let d = i.drills;
    let recent = d
        .last_passed_at
        .filter(|at| i.now.since(*at) <= i.policy.max_drill_age);
    let dr01 = criterion(
        spec!(
            "RDY-DR-01",
            DisasterRecovery,
            "A DR drill passed recently",
            3,
            true
        ),
        match (recent, d.last_passed_at) {
            (Some(_), _) => ControlResult::Pass,
            (None, Some(at)) => fail(format!(
                "last passing drill {} ago",
                days_text(i.now.since(at))
            )),
            (None, None) => fail("no DR drill has ever passed"),
        },
        format!(
            "{} drill(s): {} passed, {} failed, {} aborted (policy: a pass within {})",
            d.total,
            d.passed,
            d.failed,
            d.aborted,
            days_text(i.policy.max_drill_age)
        ),
        "run a DR drill from chaos_system (start_drill) and fix what it reports until it passes",
    );
    let dr02 = from_controls(
        spec!(
            "RDY-DR-02",
            DisasterRecovery,
            "Recovery within RTO and RPO",
            2,
            false
        ),
        i,
        &["IC-CTRL-22"],
    );
    let dr03 = from_controls(
        spec!("RDY-DR-03", DisasterRecovery, "Recent snapshot", 2, false),
        i,
        &["IC-CTRL-20"],
    );
    let dr04 = from_controls(
        spec!(
            "RDY-DR-04",
            DisasterRecovery,
            "A recovery path through the controllers",
            1,
            false
        ),
        i,
        &["IC-CTRL-02", "IC-CTRL-04"],
    );
    vec![dr01, dr02, dr03, dr04]
}

fn compliance(i: &ReadinessInputs<'_>) -> Vec<Criterion> {
    let spec1 = spec!(
        "RDY-CMP-01",
        Compliance,
        "Watched frameworks have no unsatisfied requirement",
        2,
        false
    );
    let fix = "close the gaps listed in the framework reports";
    let watched = crate::hardening::watched(i.scan, &i.policy.watchlist);
    let cmp01 = if watched.is_empty() {
        criterion(
            spec1,
            unknown("no framework on the watchlist"),
            "watchlist empty".into(),
            "add the frameworks your team tracks to the policy's watchlist",
        )
    } else {
        let mut not_satisfied = Vec::new();
        let mut undetermined = Vec::new();
        for cov in &watched {
            for r in &cov.requirements {
                let name = format!("{} {}", cov.framework.name(), r.requirement);
                match r.status {
                    RequirementStatus::NotSatisfied => not_satisfied.push(name),
                    RequirementStatus::Undetermined => undetermined.push(name),
                    RequirementStatus::Satisfied => {}
                }
            }
        }
        let text = watched
            .iter()
            .map(|c| {
                format!(
                    "{}: {} satisfied, {} not satisfied, {} undetermined",
                    c.framework.name(),
                    c.satisfied,
                    c.not_satisfied,
                    c.undetermined
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        let result = if !not_satisfied.is_empty() {
            fail(format!("not satisfied: {}", not_satisfied.join(", ")))
        } else if !undetermined.is_empty() {
            unknown(format!("undetermined: {}", undetermined.join(", ")))
        } else {
            ControlResult::Pass
        };
        criterion(spec1, result, text, fix)
    };
    let cmp02 = from_controls(
        spec!(
            "RDY-CMP-02",
            Compliance,
            "Approved release installed",
            2,
            false
        ),
        i,
        &["IC-CTRL-18"],
    );
    let overdue: Vec<String> = i
        .findings
        .iter()
        .filter(|f| f.is_overdue(i.now))
        .map(|f| format!("{} ({})", f.id, f.severity.name()))
        .collect();
    let cmp03 = criterion(
        spec!(
            "RDY-CMP-03",
            Compliance,
            "No finding past its SLA",
            1,
            false
        ),
        if overdue.is_empty() {
            ControlResult::Pass
        } else {
            fail(format!("{} overdue finding(s)", overdue.len()))
        },
        format!("overdue [{}]", overdue.join(", ")),
        "resolve the overdue findings or accept their risk explicitly",
    );
    vec![cmp01, cmp02, cmp03]
}

fn operations(i: &ReadinessInputs<'_>) -> Vec<Criterion> {
    let ops01 = from_controls(
        spec!("RDY-OPS-01", Operations, "Canister running", 3, true),
        i,
        &["IC-CTRL-14"],
    );
    let ops02 = from_controls(
        spec!(
            "RDY-OPS-02",
            Operations,
            "Segregated, bounded control",
            1,
            false
        ),
        i,
        &["IC-CTRL-03", "IC-CTRL-05"],
    );
    let fixable: Vec<&str> = i
        .scan
        .failing()
        .filter(|r| control(&r.control).is_some_and(|c| c.auto_remediation.is_some()))
        .map(|r| r.control.as_str())
        .collect();
    let ops03 = criterion(
        spec!(
            "RDY-OPS-03",
            Operations,
            "No automatically fixable control left failing",
            1,
            false
        ),
        if fixable.is_empty() {
            ControlResult::Pass
        } else {
            fail(format!("fixable now: {}", fixable.join(", ")))
        },
        format!(
            "{} failing control(s) have an automatic remediation",
            fixable.len()
        ),
        &format!("run perform_hardening for [{}]", fixable.join(", ")),
    );
    vec![ops01, ops02, ops03]
}

fn documentation(i: &ReadinessInputs<'_>) -> Vec<Criterion> {
    let doc01 = from_controls(
        spec!(
            "RDY-DOC-01",
            Documentation,
            "Interface published (candid:service)",
            1,
            false
        ),
        i,
        &["IC-CTRL-19"],
    );
    let doc02 = criterion(
        spec!(
            "RDY-DOC-02",
            Documentation,
            "Runbook and owner recorded",
            1,
            false
        ),
        unknown("the targets registry holds no runbook link or owner contact"),
        "no runbook or owner known to the suite".into(),
        "write the recovery runbook and name an owner; record both with the target",
    );
    vec![doc01, doc02]
}

fn capacity(i: &ReadinessInputs<'_>) -> Vec<Criterion> {
    vec![
        from_controls(
            spec!("RDY-CAP-01", Capacity, "Cycles runway", 2, false),
            i,
            &["IC-CTRL-07"],
        ),
        from_controls(
            spec!("RDY-CAP-02", Capacity, "Freezing threshold", 2, false),
            i,
            &["IC-CTRL-06"],
        ),
        from_controls(
            spec!("RDY-CAP-03", Capacity, "Heap limit and headroom", 2, false),
            i,
            &["IC-CTRL-10", "IC-CTRL-12"],
        ),
        from_controls(
            spec!(
                "RDY-CAP-04",
                Capacity,
                "Reserved cycles limit and headroom",
                1,
                false
            ),
            i,
            &["IC-CTRL-08", "IC-CTRL-09"],
        ),
        from_controls(
            spec!(
                "RDY-CAP-05",
                Capacity,
                "Memory allocation headroom",
                1,
                false
            ),
            i,
            &["IC-CTRL-13"],
        ),
    ]
}
