//! Plain-text rendering for people of a drill (header, timeline, RTO and RPO against the
//! objectives, criteria and verdict) and of a chaos experiment (fault and targets, hypothesis
//! and checks, timeline, findings, alerts, rollback, resilience score). It renders the Candid
//! DTOs, so the same report comes out of the native simulator (`chaos_api::Drill::from`,
//! `chaos_api::experiment_view`) and of a live `get_drill` / `get_experiment`.

use crate::{
    Alert, Cause, Drill, DrillState, ExhaustionMode, Experiment, ExperimentPhase, ExperimentStatus,
    ExperimentStep, ExperimentVerdict, FailureMode, FaultKind, FaultSpec, Phases, RollbackStrategy,
    RunState, Scenario, TargetStatus, Tolerance, Verdict, WatchPurpose,
};
use candid::Principal;
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

// ---------------------------------------------------------------- experiments

/// Longest line of an experiment report, in characters.
pub const REPORT_WIDTH: usize = 110;
/// Width of the labels of an experiment report's fields.
const LABEL: usize = 14;
/// Deviating checks listed at most.
const DEVIATIONS_SHOWN: usize = 5;
/// Lines a failed step's detail takes at most.
const FAILURE_LINES: usize = 3;

/// A readable multi-line report of an experiment as `get_experiment` returns it (the native
/// simulator converts its core experiment with `chaos_api::experiment_view`): fault and
/// targets, status and verdict, the hypothesis and its checks, the timeline of steps, findings,
/// alerts, rollback and resilience score. No line is longer than [`REPORT_WIDTH`] characters.
/// Never panics; an experiment without a report renders what it has so far.
pub fn experiment_report(e: &Experiment) -> String {
    let mut out = String::new();
    exp_header(&mut out, e);
    exp_hypothesis(&mut out, e);
    exp_timeline(&mut out, e);
    exp_outcome(&mut out, e);
    out
}

fn exp_header(out: &mut String, e: &Experiment) {
    let state = match &e.report {
        Some(r) => experiment_verdict_name(r.verdict),
        None => experiment_status_name(e.status),
    };
    let title = format!(
        "experiment {} · {} · {}",
        e.id,
        fault_kind_name(fault_kind(&e.spec.fault)),
        state.to_uppercase()
    );
    let _ = writeln!(out, "{title}");
    let _ = writeln!(
        out,
        "{}",
        "=".repeat(title.chars().count().min(REPORT_WIDTH))
    );
    field(out, "title", &e.spec.title);
    for (label, text) in fault_fields(&e.spec.fault) {
        field(out, &label, &text);
    }
    if !e.acted_on.is_empty() {
        field(out, "acted on", &principals(&e.acted_on));
    }
    if !e.affected.is_empty() {
        field(out, "degraded", &principals(&e.affected));
    }
    let origin = match e.origin {
        Cause::Schedule(s) => format!(" (schedule {s})"),
        _ => String::new(),
    };
    field(out, "requested by", &format!("{}{origin}", e.requested_by));
    if let Some(m) = e.motion_id {
        field(out, "approval", &format!("council motion {m}"));
    }
    field(
        out,
        "plan",
        &format!(
            "fault active for {}, a check every {}, rollback {}",
            duration(e.spec.duration_ns),
            duration(e.spec.probe_interval_ns),
            match e.spec.rollback {
                RollbackStrategy::Always => "always",
                RollbackStrategy::OnDeviation => "on deviation",
                RollbackStrategy::Never => "never",
            }
        ),
    );
    let start = start_of(e);
    match e.started_at_ns {
        Some(s) => {
            let mut when = format!("{s} ns (Unix epoch)");
            if let Some(i) = e.injected_at_ns {
                let _ = write!(
                    when,
                    "; fault injected at +{}",
                    duration(i.saturating_sub(start))
                );
            }
            field(out, "started at", &when);
        }
        None => field(
            out,
            "created at",
            &format!("{} ns (Unix epoch)", e.created_at_ns),
        ),
    }
    let status = format!(
        "{} (phase {})",
        experiment_status_name(e.status),
        phase_name(e.phase)
    );
    field(out, "status", &status);
    if let Some(why) = &e.cancelled {
        field(out, "cancelled", why);
    }
    let reason = e
        .report
        .as_ref()
        .and_then(|r| r.abort_reason.as_ref())
        .or(e.abort_reason.as_ref());
    if let Some(why) = reason {
        field(out, "abort reason", why);
    }
}

fn exp_hypothesis(out: &mut String, e: &Experiment) {
    let _ = writeln!(out);
    let held = match e.report.as_ref().map(|r| r.hypothesis_held) {
        Some(Some(true)) => "HELD",
        Some(Some(false)) => "DEVIATED",
        Some(None) => "not checked",
        None => "not decided yet",
    };
    field(
        out,
        "hypothesis",
        &format!("\"{}\": {held}", one_line(&e.spec.hypothesis.title)),
    );
    for p in &e.spec.hypothesis.probes {
        let line = format!(
            "  probe {} = {}.{}, {}, {}",
            p.name,
            p.canister,
            p.method,
            tolerance(&p.tolerance),
            phases(&p.phases)
        );
        let _ = writeln!(out, "{}", truncate(&line, REPORT_WIDTH));
    }
    if let Some(r) = &e.report {
        let _ = writeln!(out, "checks within tolerance");
        for (name, c) in [
            ("before", r.before),
            ("during", r.during),
            ("after", r.after),
        ] {
            let mark = if c.total == 0 {
                "-"
            } else {
                mark(c.within == c.total)
            };
            let _ = writeln!(out, "  {name:<7} {:>3}/{:<3} {mark}", c.within, c.total);
        }
    }
    let start = start_of(e);
    let deviations: Vec<_> = e.checks.iter().filter(|c| !c.within).collect();
    if !deviations.is_empty() {
        let _ = writeln!(
            out,
            "deviations: {} of {} checks outside tolerance{}",
            deviations.len(),
            e.checks.len(),
            if deviations.len() > DEVIATIONS_SHOWN {
                format!(" (the first {DEVIATIONS_SHOWN} listed)")
            } else {
                String::new()
            }
        );
        for c in deviations.iter().take(DEVIATIONS_SHOWN) {
            let line = format!(
                "  {:>11}  {:<9} {}: {}",
                format!("+{}", duration(c.at_ns.saturating_sub(start))),
                phase_name(c.phase),
                c.probe,
                one_line(&c.detail)
            );
            let _ = writeln!(out, "{}", truncate(&line, REPORT_WIDTH));
        }
    }
}

fn exp_timeline(out: &mut String, e: &Experiment) {
    let shown = e.steps.len() as u64;
    let _ = writeln!(
        out,
        "\ntimeline ({})",
        if shown < e.step_count {
            format!("the last {shown} of {} steps", e.step_count)
        } else {
            format!("{shown} steps")
        }
    );
    let action_w = e
        .steps
        .iter()
        .map(|s| s.action.chars().count())
        .max()
        .unwrap_or(0)
        .clamp(6, 22);
    let _ = writeln!(
        out,
        "  {:>4} {:>11}  {:<9}  {:<action_w$}  {:<6}  detail",
        "step", "+offset", "phase", "action", "result"
    );
    let start = start_of(e);
    for s in &e.steps {
        let result = match s.succeeded {
            Some(true) => "ok",
            Some(false) => "FAILED",
            None => "…",
        };
        let prefix = format!(
            "  {:>4} {:>11}  {:<9}  {:<action_w$}  {:<6}  ",
            s.step,
            format!("+{}", duration(s.started_at_ns.saturating_sub(start))),
            phase_name(s.phase),
            s.action,
            result
        );
        let detail = step_detail(s);
        if s.succeeded == Some(false) {
            // A failure is what the reader looks for: in full, over a few lines.
            let lines = wrap(&prefix, &detail);
            let mut kept: Vec<&str> = lines.lines().take(FAILURE_LINES).collect();
            let cut = lines.lines().count() > FAILURE_LINES;
            let last = kept.pop().unwrap_or_default();
            for l in kept {
                let _ = writeln!(out, "{l}");
            }
            if cut {
                let _ = writeln!(out, "{}", truncate(&format!("{last} …"), REPORT_WIDTH));
            } else {
                let _ = writeln!(out, "{last}");
            }
        } else {
            let room = REPORT_WIDTH.saturating_sub(prefix.chars().count()).max(16);
            let _ = writeln!(out, "{prefix}{}", truncate(&detail, room));
        }
    }
}

/// What is worth reading about a step: the failure when it failed, how long a wait waited,
/// else the observation (a status read, a probe's reading), else the action's parameters.
fn step_detail(s: &ExperimentStep) -> String {
    let text = if s.succeeded == Some(false) && !s.observation.is_empty() {
        s.observation.clone()
    } else if s.action == "wait" {
        match s.finished_at_ns {
            Some(f) => format!("waited {}", duration(f.saturating_sub(s.started_at_ns))),
            None => s.detail.clone(),
        }
    } else if !s.observation.is_empty() && s.observation != "done" {
        s.observation.clone()
    } else {
        s.detail.clone()
    };
    let text = one_line(&text);
    if s.backoff {
        format!("[backoff] {text}")
    } else {
        text
    }
}

fn exp_outcome(out: &mut String, e: &Experiment) {
    let start = start_of(e);
    let Some(r) = &e.report else {
        let _ = writeln!(
            out,
            "\nno report yet: the experiment is {}",
            experiment_status_name(e.status)
        );
        return;
    };
    let _ = writeln!(out, "\nfindings");
    let f = &r.findings;
    if f.watches.is_empty() && f.probed_methods.is_empty() && f.accepted_methods.is_empty() {
        let _ = writeln!(out, "  none (no watch, no access probe)");
    }
    for w in &f.watches {
        let first = match w.first_degraded_after_ns {
            Some(ns) => format!(", first {} after the injection", duration(ns)),
            None => String::new(),
        };
        let line = format!(
            "{} of {}: {} of {} samples degraded{first}",
            watch_purpose_name(w.purpose),
            w.canister_id,
            w.degraded,
            w.samples
        );
        let _ = writeln!(out, "{}", wrap("  watch ", &line));
    }
    if !f.probed_methods.is_empty() {
        let _ = writeln!(
            out,
            "{}",
            wrap("  access probe: ", &f.probed_methods.join(", "))
        );
    }
    if !f.probed_methods.is_empty() || !f.accepted_methods.is_empty() {
        let accepted = if f.accepted_methods.is_empty() {
            "none (every probed method refused the unprivileged caller)".to_string()
        } else {
            f.accepted_methods.join(", ")
        };
        let _ = writeln!(
            out,
            "{}",
            wrap("  accepted by an unprivileged caller: ", &accepted)
        );
    }
    if !f.inconclusive_methods.is_empty() {
        let _ = writeln!(
            out,
            "{}",
            wrap(
                "  inconclusive (say nothing about the guard): ",
                &f.inconclusive_methods.join("; ")
            )
        );
    }
    let _ = writeln!(out, "alerts");
    if r.alerts.is_empty() {
        let _ = writeln!(out, "  none");
    }
    for a in &r.alerts {
        let line = match a {
            Alert::ErrorRate { rate_ppm } => format!(
                "  error rate of the probes {:.1}%",
                f64::from(*rate_ppm) / 10_000.0
            ),
            Alert::LowCycles {
                canister_id,
                cycles,
            } => format!("  low cycles: {canister_id} holds {cycles} cycles"),
            Alert::SlowProbe { latency_ns } => {
                format!("  slow probe: answered in {}", duration(*latency_ns))
            }
        };
        let _ = writeln!(out, "{}", truncate(&line, REPORT_WIDTH));
    }
    let _ = writeln!(out);
    let restored = match r.restored {
        Some(true) => "yes",
        Some(false) => "NO",
        None => "unknown (a status could not be read)",
    };
    field(
        out,
        "rollback",
        &format!(
            "{}; targets restored: {restored}; needs attention: {}",
            if r.rolled_back { "ran" } else { "did not run" },
            if r.needs_attention { "YES" } else { "no" }
        ),
    );
    for failure in &r.rollback_failures {
        let _ = writeln!(out, "{}", wrap("  rollback failure: ", failure));
    }
    for before in &e.originals {
        let after = e
            .final_status
            .iter()
            .find(|t| t.canister_id == before.canister_id)
            .map_or("not read".to_string(), target_state);
        let id = before.canister_id.to_text();
        let line = format!("  {id}  before  {}", target_state(before));
        let _ = writeln!(out, "{}", truncate(&line, REPORT_WIDTH));
        let line = format!("  {:w$}  after   {after}", "", w = id.chars().count());
        let _ = writeln!(out, "{}", truncate(&line, REPORT_WIDTH));
    }
    let score = r
        .resilience_score
        .map_or("not scored".to_string(), |s| format!("{s}/100"));
    field(out, "resilience", &score);
    if r.needs_attention {
        let _ = writeln!(
            out,
            "\nNEEDS ATTENTION: a target may not be as it was; check it now"
        );
    }
    let _ = writeln!(
        out,
        "\nverdict: {} (finished at +{})",
        experiment_verdict_name(r.verdict),
        duration(r.finished_at_ns.saturating_sub(start))
    );
}

/// One summary line: id, fault, verdict (or status), score, restored.
pub fn experiment_summary_line(e: &Experiment) -> String {
    let kind = fault_kind_name(fault_kind(&e.spec.fault));
    let Some(r) = &e.report else {
        return format!(
            "experiment {} {kind}: {}",
            e.id,
            experiment_status_name(e.status)
        );
    };
    format!(
        "experiment {} {:<19} {:<9} resilience {:<10} restored {}{}",
        e.id,
        kind,
        experiment_verdict_name(r.verdict),
        r.resilience_score
            .map_or("not scored".to_string(), |s| format!("{s}/100")),
        match r.restored {
            Some(true) => "yes",
            Some(false) => "NO",
            None => "unknown",
        },
        if r.needs_attention {
            "  NEEDS ATTENTION"
        } else {
            ""
        }
    )
}

/// The start of the run (creation when it never started): offsets are counted from it.
fn start_of(e: &Experiment) -> u64 {
    e.started_at_ns.unwrap_or(e.created_at_ns)
}

/// `label` padded to the label column, then `text` wrapped at [`REPORT_WIDTH`].
fn field(out: &mut String, label: &str, text: &str) {
    let _ = writeln!(out, "{}", wrap(&format!("{label:<LABEL$}"), text));
}

/// `first` then `text`, word-wrapped at [`REPORT_WIDTH`] with continuation lines indented as
/// deep as `first` (at most half a line); a word longer than a line is cut. The demos use it
/// for their own lines around the reports.
pub fn wrap(first: &str, text: &str) -> String {
    let first_len = first.chars().count();
    let indent = first_len.min(REPORT_WIDTH / 2);
    let mut out = first.to_string();
    let mut room = REPORT_WIDTH.saturating_sub(first_len).max(8);
    let mut len = 0;
    for word in text.split_whitespace() {
        let word = truncate(word, REPORT_WIDTH - indent);
        let w = word.chars().count();
        if len > 0 && len + 1 + w > room {
            out.push('\n');
            out.push_str(&" ".repeat(indent));
            room = REPORT_WIDTH - indent;
            len = 0;
        }
        if len > 0 {
            out.push(' ');
            len += 1;
        }
        out.push_str(&word);
        len += w;
    }
    out.trim_end().to_string()
}

fn principals(ps: &[Principal]) -> String {
    ps.iter()
        .map(|p| p.to_text())
        .collect::<Vec<_>>()
        .join(", ")
}

fn fault_kind(f: &FaultSpec) -> FaultKind {
    match f {
        FaultSpec::NetworkPartition { .. } => FaultKind::NetworkPartition,
        FaultSpec::ResourceExhaustion { .. } => FaultKind::ResourceExhaustion,
        FaultSpec::ServiceFailure { .. } => FaultKind::ServiceFailure,
        FaultSpec::LatencyInjection { .. } => FaultKind::LatencyInjection,
        FaultSpec::DataCorruption { .. } => FaultKind::DataCorruption,
        FaultSpec::SecurityBreach { .. } => FaultKind::SecurityBreach,
        FaultSpec::CascadingFailure { .. } => FaultKind::CascadingFailure,
        FaultSpec::ByzantineFault { .. } => FaultKind::ByzantineFault,
    }
}

pub fn fault_kind_name(k: FaultKind) -> &'static str {
    match k {
        FaultKind::NetworkPartition => "network_partition",
        FaultKind::ResourceExhaustion => "resource_exhaustion",
        FaultKind::ServiceFailure => "service_failure",
        FaultKind::LatencyInjection => "latency_injection",
        FaultKind::DataCorruption => "data_corruption",
        FaultKind::SecurityBreach => "security_breach",
        FaultKind::CascadingFailure => "cascading_failure",
        FaultKind::ByzantineFault => "byzantine_fault",
    }
}

pub fn experiment_status_name(s: ExperimentStatus) -> &'static str {
    match s {
        ExperimentStatus::Draft => "draft",
        ExperimentStatus::PendingApproval => "pending approval",
        ExperimentStatus::Running => "running",
        ExperimentStatus::RollingBack => "rolling back",
        ExperimentStatus::Completed => "completed",
        ExperimentStatus::Aborted => "aborted",
        ExperimentStatus::Failed => "failed",
    }
}

pub fn experiment_verdict_name(v: ExperimentVerdict) -> &'static str {
    match v {
        ExperimentVerdict::Completed => "completed",
        ExperimentVerdict::Aborted => "aborted",
        ExperimentVerdict::Failed => "failed",
    }
}

fn phase_name(p: ExperimentPhase) -> &'static str {
    match p {
        ExperimentPhase::Preflight => "preflight",
        ExperimentPhase::Inject => "inject",
        ExperimentPhase::Observe => "observe",
        ExperimentPhase::Rollback => "rollback",
        ExperimentPhase::Verify => "verify",
    }
}

fn watch_purpose_name(p: WatchPurpose) -> &'static str {
    match p {
        WatchPurpose::Invariant => "invariant",
        WatchPurpose::DependentHealth => "dependent health",
        WatchPurpose::ConsumerCheck => "consumer check",
    }
}

/// `every call` or `12.5% of calls`.
fn share(ppm: u32) -> String {
    if ppm >= 1_000_000 {
        "every call".into()
    } else {
        format!("{}% of calls", f64::from(ppm) / 10_000.0)
    }
}

fn methods(ms: &[String]) -> String {
    if ms.is_empty() {
        "every guarded method".into()
    } else {
        ms.join(", ")
    }
}

fn failure_mode(m: &FailureMode) -> String {
    match m {
        FailureMode::Stop => "stop_canister (start_canister on rollback)".into(),
        FailureMode::Reject {
            methods: ms,
            probability_ppm,
        } => format!(
            "hooks reject {} to {}",
            share(*probability_ppm),
            methods(ms)
        ),
        FailureMode::Trap {
            methods: ms,
            probability_ppm,
        } => format!("hooks trap {} to {}", share(*probability_ppm), methods(ms)),
    }
}

/// The fault's kind and parameters, then its target(s), as labelled fields.
fn fault_fields(f: &FaultSpec) -> Vec<(String, String)> {
    let kind = fault_kind_name(fault_kind(f));
    let what = |text: String| ("fault".to_string(), format!("{kind}: {text}"));
    let one = |label: &str, p: &Principal| (label.to_string(), p.to_text());
    let list = |label: &str, ps: &[Principal], empty: &str| {
        (
            label.to_string(),
            if ps.is_empty() {
                empty.to_string()
            } else {
                principals(ps)
            },
        )
    };
    match f {
        FaultSpec::NetworkPartition {
            groups,
            methods: ms,
        } => {
            let mut v = vec![what(format!(
                "{} groups, calls to {} from another group rejected",
                groups.len(),
                methods(ms)
            ))];
            for (i, g) in groups.iter().enumerate() {
                v.push(list(&format!("group {}", i + 1), g, "(empty)"));
            }
            v
        }
        FaultSpec::ResourceExhaustion { target, mode } => vec![
            what(match mode {
                ExhaustionMode::Freeze {
                    freezing_threshold_secs,
                } => format!("freeze, freezing threshold raised to {freezing_threshold_secs} s"),
                ExhaustionMode::SqueezeMemory {
                    wasm_memory_limit_bytes,
                } => format!("wasm_memory_limit squeezed to {wasm_memory_limit_bytes} bytes"),
                ExhaustionMode::Ballast { bytes } => format!("hooks hold {bytes} bytes of ballast"),
                ExhaustionMode::BurnInstructions {
                    methods: ms,
                    instructions,
                } => format!(
                    "hooks burn {instructions} instructions per call to {}",
                    methods(ms)
                ),
            }),
            one("target", target),
        ],
        FaultSpec::ServiceFailure { target, mode } => {
            vec![what(failure_mode(mode)), one("target", target)]
        }
        FaultSpec::LatencyInjection {
            target,
            methods: ms,
            rounds,
            probability_ppm,
        } => vec![
            what(format!(
                "{rounds} rounds of delay on {} to {}",
                share(*probability_ppm),
                methods(ms)
            )),
            one("target", target),
        ],
        FaultSpec::DataCorruption { target, intensity } => vec![
            what(format!(
                "restore point, then the corruption hook at intensity {intensity}"
            )),
            one("target", target),
        ],
        FaultSpec::SecurityBreach {
            target,
            methods: ms,
        } => vec![
            what(format!(
                "chaos_probe calls {} as an unprivileged caller",
                if ms.is_empty() {
                    "every declared privileged method".to_string()
                } else {
                    ms.join(", ")
                }
            )),
            one("target", target),
        ],
        FaultSpec::CascadingFailure {
            dependency,
            mode,
            dependents,
        } => vec![
            what(format!("the dependency fails: {}", failure_mode(mode))),
            one("dependency", dependency),
            list("dependents", dependents, "every declared dependent"),
        ],
        FaultSpec::ByzantineFault {
            target,
            methods: ms,
            probability_ppm,
            consumers,
        } => vec![
            what(format!(
                "answers of {} perturbed on {}",
                methods(ms),
                share(*probability_ppm)
            )),
            one("target", target),
            list("consumers", consumers, "every declared dependent"),
        ],
    }
}

fn tolerance(t: &Tolerance) -> String {
    match t {
        Tolerance::Answers => "answers".into(),
        Tolerance::ValueWithin { min, max } => format!("value in {min}..={max}"),
        Tolerance::LatencyAtMost { max_ns } => format!("answers within {}", duration(*max_ns)),
        Tolerance::InvariantHolds => "invariant holds".into(),
    }
}

fn phases(p: &Phases) -> String {
    let named: Vec<&str> = [
        (p.before, "before"),
        (p.during, "during"),
        (p.after, "after"),
    ]
    .iter()
    .filter(|(on, _)| *on)
    .map(|(_, n)| *n)
    .collect();
    if named.is_empty() {
        "never".into()
    } else {
        named.join("/")
    }
}

fn target_state(t: &TargetStatus) -> String {
    let run = match t.status {
        RunState::Running => "running",
        RunState::Stopping => "stopping",
        RunState::Stopped => "stopped",
    };
    let memory = t
        .wasm_memory_limit_bytes
        .map_or(String::new(), |b| format!(", memory limit {b} B"));
    format!("{run}, freezing {} s{memory}", t.freezing_threshold_secs)
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

#[cfg(test)]
mod experiment_tests {
    use super::*;
    use crate::{
        ExperimentReport, ExperimentSpec, FaultFindings, Hypothesis, PhaseChecks, ProbeDef,
        SteadyStateCheck, WatchRecord,
    };
    use candid::{Nat, Principal};

    const T0: u64 = 1_700_000_000_000_000_000;
    const S: u64 = 1_000_000_000;

    fn vault() -> Principal {
        Principal::from_slice(&[0, 0, 0, 0, 0, 0, 0, 1, 1, 1])
    }

    fn consumer() -> Principal {
        Principal::from_slice(&[0, 0, 0, 0, 0, 0, 0, 2, 1, 1])
    }

    fn operator() -> Principal {
        Principal::self_authenticating([2; 32])
    }

    fn step(
        n: u32,
        phase: ExperimentPhase,
        action: &str,
        at_s: u64,
        ok: Option<bool>,
    ) -> ExperimentStep {
        ExperimentStep {
            step: n,
            phase,
            action: action.into(),
            detail: format!("{action} {}", vault()),
            backoff: false,
            cause: Cause::Operator(operator()),
            started_at_ns: T0 + at_s * S,
            finished_at_ns: ok.map(|_| T0 + at_s * S + S / 2),
            succeeded: ok,
            observation: if ok.is_some() {
                "done".into()
            } else {
                String::new()
            },
        }
    }

    fn status(canister: Principal, run: RunState) -> TargetStatus {
        TargetStatus {
            canister_id: canister,
            status: run,
            freezing_threshold_secs: 2_592_000,
            wasm_memory_limit_bytes: None,
            cycles: Nat::from(1_000_000_000_000u64),
            idle_cycles_burned_per_day: Nat::from(1_000u64),
        }
    }

    /// A service failure stopped by the emergency stop after a failed probe.
    fn aborted(score: Option<u8>) -> Experiment {
        let mut probe = step(4, ExperimentPhase::Observe, "probe_via", 12, Some(false));
        probe.observation =
            "CanisterStopped: Canister rrkah-fqaaa-aaaaa-aaaaq-cai is stopped".into();
        let mut wait = step(3, ExperimentPhase::Observe, "wait", 2, Some(true));
        wait.finished_at_ns = Some(T0 + 12 * S);
        let reason = format!("emergency stop by {}: demo: stop everything", operator());
        Experiment {
            id: 1,
            spec: ExperimentSpec {
                title: "service_failure on demo_vault".into(),
                fault: FaultSpec::ServiceFailure {
                    target: vault(),
                    mode: FailureMode::Stop,
                },
                hypothesis: Hypothesis {
                    title: "vault_consumer answers within 5 s".into(),
                    probes: vec![ProbeDef {
                        name: "consumer-health".into(),
                        canister: consumer(),
                        method: "health".into(),
                        tolerance: Tolerance::LatencyAtMost { max_ns: 5 * S },
                        phases: Phases {
                            before: true,
                            during: true,
                            after: true,
                        },
                    }],
                },
                duration_ns: 60 * S,
                probe_interval_ns: 10 * S,
                rollback: RollbackStrategy::Always,
            },
            status: ExperimentStatus::Aborted,
            phase: ExperimentPhase::Verify,
            requested_by: operator(),
            origin: Cause::Operator(operator()),
            created_at_ns: T0,
            seed: 7,
            motion_id: None,
            started_at_ns: Some(T0),
            deadline_ns: Some(T0 + 3_600 * S),
            acted_on: vec![vault()],
            affected: vec![consumer()],
            originals: vec![status(vault(), RunState::Running)],
            final_status: vec![status(vault(), RunState::Running)],
            injected_at_ns: Some(T0 + S),
            abort_reason: Some(reason.clone()),
            cancelled: None,
            steps: vec![
                step(0, ExperimentPhase::Preflight, "read_status", 0, Some(true)),
                step(1, ExperimentPhase::Preflight, "probe_via", 0, Some(true)),
                step(2, ExperimentPhase::Inject, "stop_canister", 1, Some(true)),
                wait,
                probe,
                step(
                    5,
                    ExperimentPhase::Rollback,
                    "start_canister",
                    23,
                    Some(true),
                ),
            ],
            step_count: 6,
            checks: vec![SteadyStateCheck {
                probe: "consumer-health".into(),
                phase: ExperimentPhase::Observe,
                at_ns: T0 + 13 * S,
                within: false,
                detail: "the probe failed: canister stopped".into(),
            }],
            report: Some(ExperimentReport {
                verdict: ExperimentVerdict::Aborted,
                hypothesis_held: Some(false),
                before: PhaseChecks {
                    within: 1,
                    total: 1,
                },
                during: PhaseChecks {
                    within: 0,
                    total: 2,
                },
                after: PhaseChecks {
                    within: 1,
                    total: 1,
                },
                resilience_score: score,
                findings: FaultFindings {
                    watches: vec![WatchRecord {
                        canister_id: consumer(),
                        purpose: WatchPurpose::DependentHealth,
                        samples: 2,
                        degraded: 2,
                        first_degraded_after_ns: Some(11 * S),
                    }],
                    probed_methods: vec![],
                    accepted_methods: vec!["check_invariants".into()],
                    inconclusive_methods: vec![],
                },
                rolled_back: true,
                rollback_failures: vec![],
                restored: Some(true),
                needs_attention: false,
                abort_reason: Some(reason),
                alerts: vec![Alert::ErrorRate {
                    rate_ppm: 1_000_000,
                }],
                injected_at_ns: Some(T0 + S),
                finished_at_ns: T0 + 26 * S,
            }),
        }
    }

    fn assert_narrow(text: &str) {
        for line in text.lines() {
            assert!(
                line.chars().count() <= REPORT_WIDTH,
                "{} chars: {line}\n{text}",
                line.chars().count()
            );
        }
    }

    #[test]
    fn an_aborted_experiment_shows_fault_verdict_checks_and_rollback() {
        let text = experiment_report(&aborted(Some(50)));
        assert!(
            text.starts_with("experiment 1 · service_failure · ABORTED\n"),
            "{text}"
        );
        assert!(
            text.contains("fault         service_failure: stop_canister"),
            "{text}"
        );
        assert!(
            text.contains("target        rrkah-fqaaa-aaaaa-aaaaq-cai"),
            "{text}"
        );
        assert!(text.contains("abort reason  emergency stop by"), "{text}");
        // Wrapped, the reason is still all there.
        assert!(
            one_line(&text).contains(&format!(
                "abort reason emergency stop by {}: demo: stop everything",
                operator()
            )),
            "{text}"
        );
        assert!(
            text.contains("hypothesis    \"vault_consumer answers within 5 s\": DEVIATED"),
            "{text}"
        );
        assert!(text.contains("before    1/1   ✓"), "{text}");
        assert!(text.contains("during    0/2   ✗"), "{text}");
        assert!(text.contains("consumer-health: the probe failed"), "{text}");
        assert!(
            text.contains(
                "watch dependent health of ryjl3-tyaaa-aaaaa-aaaba-cai: 2 of 2 samples degraded"
            ),
            "{text}"
        );
        assert!(
            one_line(&text).contains("first 11.000 s after the injection"),
            "{text}"
        );
        assert!(text.contains("accepted by an unprivileged caller: check_invariants"));
        assert!(text.contains("error rate of the probes 100.0%"), "{text}");
        assert!(
            text.contains("rollback      ran; targets restored: yes; needs attention: no"),
            "{text}"
        );
        assert!(text.contains("resilience    50/100"), "{text}");
        assert!(
            text.contains("verdict: aborted (finished at +26.000 s)"),
            "{text}"
        );
        assert!(!text.contains("NEEDS ATTENTION"), "{text}");
        assert_narrow(&text);
    }

    #[test]
    fn a_failed_step_shows_failed_and_its_detail_and_waits_their_length() {
        let text = experiment_report(&aborted(Some(50)));
        let line = text
            .lines()
            .find(|l| l.contains("FAILED"))
            .unwrap_or_else(|| panic!("no FAILED step: {text}"));
        assert!(line.contains("+12.000 s"), "{line}");
        assert!(line.contains("observe"), "{line}");
        assert!(line.contains("probe_via"), "{line}");
        assert!(line.contains("CanisterStopped: Canister"), "{line}");
        assert!(text.contains("waited 10.000 s"), "{text}");
        assert!(text.contains("timeline (6 steps)"), "{text}");
        let start = text
            .lines()
            .find(|l| l.contains("start_canister") && l.contains("+23.000 s"))
            .expect("the rollback step");
        assert!(
            start.contains("rollback") && start.contains(" ok ") && start.contains("+23.000 s"),
            "{start}"
        );
    }

    #[test]
    fn a_null_score_prints_not_scored() {
        let text = experiment_report(&aborted(None));
        assert!(text.contains("resilience    not scored"), "{text}");
        assert!(!text.contains("/100"), "{text}");
        assert!(experiment_summary_line(&aborted(None)).contains("not scored"));
    }

    #[test]
    fn lines_stay_within_the_width_whatever_the_texts() {
        let mut e = aborted(Some(0));
        let long = "word ".repeat(80);
        e.spec.title = long.clone();
        e.spec.hypothesis.title = long.clone();
        e.spec.fault = FaultSpec::NetworkPartition {
            groups: vec![vec![vault(); 9], vec![consumer(); 9]],
            methods: vec!["deposit".into(); 30],
        };
        e.acted_on = vec![operator(); 5];
        e.steps[4].observation = format!("{long}{}", "x".repeat(300));
        e.steps[4].backoff = true;
        let r = e.report.as_mut().unwrap();
        r.abort_reason = Some(long.clone());
        r.rollback_failures = vec![long.clone()];
        r.needs_attention = true;
        r.restored = Some(false);
        r.findings.probed_methods = vec!["chaos_hooks_configure".into(); 20];
        let text = experiment_report(&e);
        assert_narrow(&text);
        assert!(text.contains("group 2"), "{text}");
        assert!(text.contains("[backoff] word"), "{text}");
        assert!(
            text.contains("targets restored: NO; needs attention: YES"),
            "{text}"
        );
        assert!(text.contains("NEEDS ATTENTION"), "{text}");
        assert!(text.contains("rollback failure: word"), "{text}");
    }

    #[test]
    fn a_running_experiment_says_it_has_no_report() {
        let mut e = aborted(Some(50));
        e.report = None;
        e.status = ExperimentStatus::Running;
        e.phase = ExperimentPhase::Observe;
        e.abort_reason = None;
        e.steps
            .push(step(6, ExperimentPhase::Observe, "wait", 30, None));
        e.step_count = 600;
        let text = experiment_report(&e);
        assert!(
            text.starts_with("experiment 1 · service_failure · RUNNING"),
            "{text}"
        );
        assert!(text.contains("not decided yet"), "{text}");
        assert!(text.contains("the last 7 of 600 steps"), "{text}");
        assert!(
            text.contains("no report yet: the experiment is running"),
            "{text}"
        );
        assert!(!text.contains("abort reason"), "{text}");
        let last = text.lines().find(|l| l.contains("+30.000 s")).unwrap();
        assert!(last.contains('…'), "{last}");
        assert_narrow(&text);
    }
}
