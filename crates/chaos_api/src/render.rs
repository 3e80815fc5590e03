//! Plain-text rendering of a drill for people: header, timeline, RTO and RPO against the
//! objectives, criteria and verdict. It renders the Candid DTO, so the same report comes out of
//! the native simulator (`chaos_api::Drill::from(&core_drill)`) and of a live `get_drill`.

use crate::{Drill, DrillState, Scenario, Verdict};
use std::fmt::Write;

const DETAIL_WIDTH: usize = 72;

/// A readable multi-line report of `d`. Never panics; a running drill renders its timeline so
/// far and says that it has no report yet.
pub fn drill_report(d: &Drill) -> String {
    let mut out = String::new();
    header(&mut out, d);
    timeline(&mut out, d);
    measurements(&mut out, d);
    out
}

fn header(out: &mut String, d: &Drill) {
    let verdict = match (&d.state, &d.report) {
        (DrillState::Running, _) | (_, None) => "RUNNING".to_string(),
        (DrillState::Finished, Some(r)) => verdict_name(r.verdict).to_uppercase(),
    };
    let title = format!("drill {} · {} · {verdict}", d.id, scenario_name(d.scenario));
    let _ = writeln!(out, "{title}");
    let _ = writeln!(out, "{}", "=".repeat(title.chars().count()));
    let _ = writeln!(out, "target        {}", d.target);
    let _ = writeln!(out, "requested by  {}", d.requested_by);
    let _ = writeln!(out, "started at    {} ns (Unix epoch)", d.started_at_ns);
    let _ = writeln!(out, "hold          {}", duration(d.hold_ns));
    if let Some(rp) = &d.restore_point {
        let _ = writeln!(
            out,
            "restore point snapshot {} at +{}",
            hex(&rp.snapshot_id),
            duration(rp.taken_at_ns.saturating_sub(d.started_at_ns))
        );
    }
}

fn timeline(out: &mut String, d: &Drill) {
    let _ = writeln!(out, "\ntimeline");
    let _ = writeln!(
        out,
        "  {:>4}  {:<13} {:<22} {:>11} {:>10}  {:<4}  detail",
        "step", "phase", "action", "+offset", "took", "ok"
    );
    for e in &d.timeline {
        let offset = e.started_at_ns.saturating_sub(d.started_at_ns);
        let took = e
            .finished_at_ns
            .map(|f| duration(f.saturating_sub(e.started_at_ns)))
            .unwrap_or_else(|| "…".into());
        let ok = match e.succeeded {
            Some(true) => "ok",
            Some(false) => "FAIL",
            None => "…",
        };
        let detail = if e.detail.is_empty() {
            e.effect.clone()
        } else {
            e.detail.clone()
        };
        let _ = writeln!(
            out,
            "  {:>4}  {:<13} {:<22} {:>11} {:>10}  {:<4}  {}",
            e.step,
            e.phase,
            e.action,
            format!("+{}", duration(offset)),
            took,
            ok,
            truncate(&one_line(&detail), DETAIL_WIDTH)
        );
    }
}

fn measurements(out: &mut String, d: &Drill) {
    let Some(r) = &d.report else {
        let _ = writeln!(out, "\nno report yet: the drill is still running");
        return;
    };
    let _ = writeln!(out, "\nrecovery");
    match r.rto_ns {
        Some(rto) => {
            let _ = writeln!(
                out,
                "  RTO  {:<12} objective ≤ {:<12} {}",
                duration(rto),
                duration(d.rto_objective_ns),
                mark(rto <= d.rto_objective_ns)
            );
        }
        None => {
            let _ = writeln!(out, "  RTO  not measured (recovery was not verified)");
        }
    }
    match &r.rpo {
        Some(rpo) => {
            let _ = writeln!(
                out,
                "  RPO  {:<12} objective ≤ {:<12} {}",
                format!("{} ops lost", rpo.operations_lost),
                format!("{} ops", d.rpo_max_operations_lost),
                mark(rpo.operations_lost <= d.rpo_max_operations_lost)
            );
            let _ = writeln!(
                out,
                "       {:<12} objective ≤ {:<12} {}  (restore point age at the disaster)",
                duration(rpo.restore_point_age_ns),
                duration(d.rpo_max_age_ns),
                mark(rpo.restore_point_age_ns <= d.rpo_max_age_ns)
            );
        }
        None => {
            let _ = writeln!(out, "  RPO  not measured");
        }
    }
    let _ = writeln!(out, "\ncriteria");
    for c in &r.criteria {
        let _ = writeln!(
            out,
            "  {} {:<26} {}",
            mark(c.passed),
            c.name,
            one_line(&c.detail)
        );
    }
    if let Some(reason) = &r.abort_reason {
        let _ = writeln!(out, "\naborted: {}", one_line(reason));
    }
    if r.needs_attention {
        let _ = writeln!(
            out,
            "\nNEEDS ATTENTION: the target may be stopped or unrecovered; check it now"
        );
    }
    let _ = writeln!(
        out,
        "\nverdict: {} (finished at +{})",
        verdict_name(r.verdict),
        duration(r.finished_at_ns.saturating_sub(d.started_at_ns))
    );
}

/// One summary line: id, scenario, verdict, RTO and RPO.
pub fn drill_summary(d: &Drill) -> String {
    let Some(r) = &d.report else {
        return format!("drill {} {}: running", d.id, scenario_name(d.scenario));
    };
    let rto = r.rto_ns.map(duration).unwrap_or_else(|| "-".into());
    let rpo = r
        .rpo
        .as_ref()
        .map(|m| format!("{} ops lost", m.operations_lost))
        .unwrap_or_else(|| "-".into());
    format!(
        "drill {} {:<13} {:<7} RTO {:<10} RPO {}{}",
        d.id,
        scenario_name(d.scenario),
        verdict_name(r.verdict),
        rto,
        rpo,
        if r.needs_attention {
            "  NEEDS ATTENTION"
        } else {
            ""
        }
    )
}

pub fn scenario_name(s: Scenario) -> &'static str {
    match s {
        Scenario::CanisterLoss => "canister_loss",
        Scenario::BadUpgrade => "bad_upgrade",
    }
}

pub fn verdict_name(v: Verdict) -> &'static str {
    match v {
        Verdict::Passed => "passed",
        Verdict::Failed => "failed",
        Verdict::Aborted => "aborted",
    }
}

fn mark(ok: bool) -> &'static str {
    if ok {
        "✓"
    } else {
        "✗"
    }
}

/// `812 ms`, `31.204 s`, `12 min 5 s`.
fn duration(ns: u64) -> String {
    const MS: u64 = 1_000_000;
    const S: u64 = 1_000_000_000;
    if ns < S {
        format!("{} ms", ns / MS)
    } else if ns < 60 * S {
        format!("{:.3} s", ns as f64 / S as f64)
    } else {
        let secs = ns / S;
        match secs % 60 {
            0 => format!("{} min", secs / 60),
            s => format!("{} min {s} s", secs / 60),
        }
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let cut: String = s.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Criterion, DrillReport, Rpo, TimelineEntry};
    use candid::Principal;

    fn drill(report: Option<DrillReport>) -> Drill {
        Drill {
            id: 7,
            target: Principal::from_slice(&[0, 0, 0, 0, 0, 0, 0, 1, 1, 1]),
            scenario: Scenario::CanisterLoss,
            state: if report.is_some() {
                DrillState::Finished
            } else {
                DrillState::Running
            },
            requested_by: Principal::anonymous(),
            started_at_ns: 1_000_000_000_000,
            hold_ns: 30_000_000_000,
            rto_objective_ns: 600_000_000_000,
            rpo_max_operations_lost: 10,
            rpo_max_age_ns: 3_600_000_000_000,
            restore_point: None,
            timeline: vec![TimelineEntry {
                step: 0,
                phase: "preflight".into(),
                action: "verify_control".into(),
                effect: "read_controllers x".into(),
                started_at_ns: 1_000_000_000_000,
                finished_at_ns: Some(1_000_812_000_000),
                succeeded: Some(false),
                detail: "CanisterError: Only the controllers\nof the canister".into(),
            }],
            report,
        }
    }

    #[test]
    fn a_finished_drill_shows_verdict_objectives_and_criteria() {
        let text = drill_report(&drill(Some(DrillReport {
            verdict: Verdict::Passed,
            rto_ns: Some(4_200_000_000),
            rpo: Some(Rpo {
                operations_lost: 3,
                restore_point_age_ns: 31_000_000_000,
            }),
            criteria: vec![Criterion {
                name: "service_restored".into(),
                passed: true,
                detail: "ok".into(),
            }],
            finished_at_ns: 1_050_000_000_000,
            abort_reason: None,
            needs_attention: false,
        })));
        assert!(
            text.starts_with("drill 7 · canister_loss · PASSED"),
            "{text}"
        );
        assert!(text.contains("RTO  4.200 s"), "{text}");
        assert!(text.contains("objective ≤ 10 min"), "{text}");
        assert!(text.contains("3 ops lost"), "{text}");
        assert!(text.contains("✓ service_restored"), "{text}");
        assert!(
            text.contains("+812 ms") || text.contains("812 ms"),
            "{text}"
        );
        assert!(text.contains("FAIL  CanisterError: Only the controllers of the canister"));
    }

    #[test]
    fn a_running_drill_says_it_has_no_report() {
        let text = drill_report(&drill(None));
        assert!(text.contains("RUNNING"));
        assert!(text.contains("no report yet"));
    }
}
