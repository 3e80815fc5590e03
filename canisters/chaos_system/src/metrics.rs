//! `/metrics` in the Prometheus text format (ic-metrics-encoder), for scrapers through the
//! HTTP gateway. Aggregates only, plus one score per target; a query, so bounded by the
//! number of targets and findings.

use crate::storage;
use chaos_manager::assurance::HardeningStatus;
use chaos_manager::drill::Verdict;
use chaos_manager::experiment::Status;
use chaos_manager::hardening::Severity;
use ic_metrics_encoder::MetricsEncoder;
use std::io;

pub fn encode() -> io::Result<Vec<u8>> {
    let now = ic_cdk::api::time();
    let mut w = MetricsEncoder::new(Vec::new(), (now / 1_000_000) as i64);
    storage::read(|j| -> io::Result<()> {
        let s = j.state();
        w.encode_counter(
            "chaos_system_events_total",
            j.log().len() as f64,
            "Events in the audit log.",
        )?;
        w.encode_counter(
            "chaos_system_upgrades_total",
            s.upgrades.len() as f64,
            "Upgrades of chaos_system.",
        )?;
        w.encode_gauge(
            "chaos_system_targets",
            s.targets.len() as f64,
            "Registered target canisters.",
        )?;

        let mut drills = w.gauge_vec("chaos_system_drills", "Finished drills by verdict.")?;
        for (name, verdict) in [
            ("passed", Verdict::Passed),
            ("failed", Verdict::Failed),
            ("aborted", Verdict::Aborted),
        ] {
            let n = s
                .drills
                .values()
                .filter(|d| d.report().is_some_and(|r| r.verdict == verdict))
                .count();
            drills = drills.value(&[("verdict", name)], n as f64)?;
        }
        w.encode_gauge(
            "chaos_system_running_drills",
            s.running_drills().count() as f64,
            "Drills in progress.",
        )?;

        let a = &s.assurance;
        w.encode_gauge(
            "chaos_system_scanned_targets",
            a.scans.len() as f64,
            "Targets with at least one hardening scan.",
        )?;
        let mut scores = w.gauge_vec(
            "chaos_system_hardening_score",
            "Hardening score (0-100) of each target's latest scan.",
        )?;
        for (target, scan) in &a.scans {
            scores = scores.value(&[("target", &target.to_text())], f64::from(scan.score))?;
        }
        let mut readiness = w.gauge_vec(
            "chaos_system_readiness_score",
            "Overall readiness score (0-100) of each target's latest assessment.",
        )?;
        for (target, r) in &a.assessments {
            readiness =
                readiness.value(&[("target", &target.to_text())], f64::from(r.overall_score))?;
        }

        let mut open = w.gauge_vec(
            "chaos_system_open_findings",
            "Open or in-progress findings by severity.",
        )?;
        for sev in Severity::ALL {
            let n = a
                .register
                .findings()
                .filter(|f| f.severity == sev && f.status.is_active())
                .count();
            open = open.value(&[("severity", sev.name())], n as f64)?;
        }
        w.encode_gauge(
            "chaos_system_overdue_findings",
            a.register.overdue(chaos_manager::TimestampNs(now)).len() as f64,
            "Open or in-progress findings past their SLA deadline.",
        )?;

        let mut requests = w.gauge_vec(
            "chaos_system_hardening_requests",
            "Hardening requests by status.",
        )?;
        for name in ["pending", "approved", "rejected", "finished"] {
            let n = a
                .hardening
                .values()
                .filter(|r| status_name(&r.status) == name)
                .count();
            requests = requests.value(&[("status", name)], n as f64)?;
        }

        let lab = &s.lab;
        let mut experiments =
            w.gauge_vec("chaos_system_experiments", "Chaos experiments by status.")?;
        for (name, status) in EXPERIMENT_STATUSES {
            let n = lab
                .experiments
                .values()
                .filter(|e| e.status() == status)
                .count();
            experiments = experiments.value(&[("status", name)], n as f64)?;
        }
        w.encode_gauge(
            "chaos_system_experiments_active",
            lab.active().count() as f64,
            "Experiments running or rolling back.",
        )?;
        w.encode_gauge(
            "chaos_system_lab_halted",
            if lab.safety.halt.is_some() { 1.0 } else { 0.0 },
            "1 while an emergency stop is in force (new experiments refused), else 0.",
        )?;
        w.encode_gauge(
            "chaos_system_experiments_needing_attention",
            lab.experiments
                .values()
                .filter(|e| e.report().is_some_and(|r| r.needs_attention))
                .count() as f64,
            "Finished experiments whose rollback failed or left a target changed.",
        )?;
        Ok(())
    })?;
    w.encode_gauge(
        "chaos_system_stable_memory_pages",
        ic_cdk::api::stable_size() as f64,
        "Stable memory size in 64 KiB pages.",
    )?;
    w.encode_gauge(
        "chaos_system_cycles_balance",
        ic_cdk::api::canister_cycle_balance() as f64,
        "Cycles balance of chaos_system.",
    )?;
    Ok(w.into_inner())
}

const EXPERIMENT_STATUSES: [(&str, Status); 7] = [
    ("draft", Status::Draft),
    ("pending_approval", Status::PendingApproval),
    ("running", Status::Running),
    ("rolling_back", Status::RollingBack),
    ("completed", Status::Completed),
    ("aborted", Status::Aborted),
    ("failed", Status::Failed),
];

fn status_name(s: &HardeningStatus) -> &'static str {
    match s {
        HardeningStatus::Pending => "pending",
        HardeningStatus::Approved { .. } => "approved",
        HardeningStatus::Rejected { .. } => "rejected",
        HardeningStatus::Finished { .. } => "finished",
    }
}
