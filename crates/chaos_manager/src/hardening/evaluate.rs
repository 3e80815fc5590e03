//! Evaluating one control against the evidence: `Pass`, `Fail` or `Unknown`.
//!
//! Guarantees: missing, unreadable or stale evidence gives `Unknown`, never `Pass`; a
//! `Pass` or `Fail` always carries the evidence it was decided on, as text.

use super::catalog::{Check, Control};
use super::evidence::{
    Evidence, RunStatus, StatusEvidence, Visibility, MAX_CONTROLLERS, WASM32_HEAP_BYTES,
};
use super::policy::HardeningPolicy;
use crate::ids::{DurationNs, TimestampNs};
use ic_principal::Principal;
use minicbor::{Decode, Encode};
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum ControlResult {
    #[n(0)]
    Pass,
    #[n(1)]
    Fail {
        #[n(0)]
        reason: String,
    },
    /// The evidence needed is missing, unreadable or stale: not a pass.
    #[n(2)]
    Unknown {
        #[n(0)]
        reason: String,
    },
}

impl ControlResult {
    pub fn is_pass(&self) -> bool {
        matches!(self, ControlResult::Pass)
    }
    pub fn is_fail(&self) -> bool {
        matches!(self, ControlResult::Fail { .. })
    }
    pub fn is_unknown(&self) -> bool {
        matches!(self, ControlResult::Unknown { .. })
    }
    pub fn name(&self) -> &'static str {
        match self {
            ControlResult::Pass => "pass",
            ControlResult::Fail { .. } => "fail",
            ControlResult::Unknown { .. } => "unknown",
        }
    }
    /// "pass", "fail: <reason>" or "unknown: <reason>".
    pub fn describe(&self) -> String {
        match self {
            ControlResult::Pass => "pass".into(),
            ControlResult::Fail { reason } => format!("fail: {reason}"),
            ControlResult::Unknown { reason } => format!("unknown: {reason}"),
        }
    }
}

/// A result with the evidence excerpt it was decided on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assessment {
    pub result: ControlResult,
    pub evidence: String,
}

fn pass(evidence: impl Into<String>) -> Assessment {
    Assessment {
        result: ControlResult::Pass,
        evidence: evidence.into(),
    }
}

fn fail(reason: impl Into<String>, evidence: impl Into<String>) -> Assessment {
    Assessment {
        result: ControlResult::Fail {
            reason: reason.into(),
        },
        evidence: evidence.into(),
    }
}

fn unknown(reason: impl Into<String>) -> Assessment {
    let reason = reason.into();
    Assessment {
        evidence: reason.clone(),
        result: ControlResult::Unknown { reason },
    }
}

/// The control's verdict alone; see [`assess`] for the evidence excerpt.
pub fn evaluate(
    control: &Control,
    evidence: &Evidence,
    policy: &HardeningPolicy,
    now: TimestampNs,
) -> ControlResult {
    assess(control, evidence, policy, now).result
}

/// Evaluates `control`. Evidence collected more than `policy.max_evidence_age` before `now`
/// makes every control `Unknown`.
pub fn assess(
    control: &Control,
    evidence: &Evidence,
    policy: &HardeningPolicy,
    now: TimestampNs,
) -> Assessment {
    let age = now.since(evidence.collected_at);
    if age > policy.max_evidence_age {
        return unknown(format!(
            "evidence collected {} ago, older than the {} the policy trusts: rescan",
            days_text(age),
            days_text(policy.max_evidence_age)
        ));
    }
    let check: StatusCheck = match control.check {
        Check::CandidPublished => return candid_published(evidence),
        Check::RecentSnapshot => return recent_snapshot(evidence, policy, now),
        Check::RecentDrill => return recent_drill(evidence, policy, now),
        Check::DrillObjectives => return drill_objectives(evidence),
        Check::AccessProbe => return access_probe(evidence),
        Check::NoAnonymousController => |s, _, _| no_anonymous(s),
        Check::BackupController => backup_controller,
        Check::SuiteNotSoleController => |s, suite, _| suite_not_sole(s, suite),
        Check::SuiteIsController => |s, suite, _| suite_is_controller(s, suite),
        Check::ControllerCount => |s, _, p| controller_count(s, p),
        Check::FreezingThreshold => |s, _, p| freezing_threshold(s, p),
        Check::CyclesRunway => |s, _, p| cycles_runway(s, p),
        Check::ReservedCyclesLimit => |s, _, p| reserved_limit(s, p),
        Check::ReservedCyclesHeadroom => |s, _, _| reserved_headroom(s),
        Check::WasmMemoryLimit => |s, _, _| wasm_limit(s),
        Check::WasmMemoryThreshold => |s, _, _| wasm_threshold(s),
        Check::HeapHeadroom => |s, _, p| heap_headroom(s, p),
        Check::MemoryAllocationHeadroom => |s, _, p| allocation_headroom(s, p),
        Check::Running => |s, _, _| running(s),
        Check::LogVisibility => |s, _, p| log_visibility(s, p),
        Check::SnapshotVisibility => {
            |s, _, _| visibility(s.snapshot_visibility.as_ref(), "snapshot")
        }
        Check::StatusVisibility => |s, _, _| visibility(s.status_visibility.as_ref(), "status"),
        Check::ApprovedModule => |s, _, p| approved_module(s, p),
    };
    match evidence.status() {
        Ok(s) => check(s, evidence.suite, policy),
        Err(why) => unknown(format!("canister_status unavailable: {why}")),
    }
}

type StatusCheck = fn(&StatusEvidence, Principal, &HardeningPolicy) -> Assessment;

fn controllers_text(s: &StatusEvidence) -> String {
    format!("controllers [{}]", principals(&s.controllers))
}

fn no_anonymous(s: &StatusEvidence) -> Assessment {
    if s.controllers.contains(&Principal::anonymous()) {
        fail(
            "the anonymous principal is a controller",
            controllers_text(s),
        )
    } else {
        pass(controllers_text(s))
    }
}

fn suite_not_sole(s: &StatusEvidence, suite: Principal) -> Assessment {
    if s.controllers == [suite] {
        fail("chaos_system is the only controller", controllers_text(s))
    } else {
        pass(controllers_text(s))
    }
}

fn suite_is_controller(s: &StatusEvidence, suite: Principal) -> Assessment {
    if s.controllers.contains(&suite) {
        pass(controllers_text(s))
    } else {
        fail(
            format!("chaos_system ({suite}) is not a controller"),
            controllers_text(s),
        )
    }
}

fn controller_count(s: &StatusEvidence, p: &HardeningPolicy) -> Assessment {
    let n = s.controllers.len();
    let text = format!("{n} controllers (policy maximum {})", p.max_controllers);
    if n > usize::from(p.max_controllers) {
        fail(
            format!("{n} controllers, more than {}", p.max_controllers),
            text,
        )
    } else if n >= MAX_CONTROLLERS {
        fail("no free controller slot under the protocol cap of 10", text)
    } else {
        pass(text)
    }
}

fn wasm_limit(s: &StatusEvidence) -> Assessment {
    match s.wasm_memory_limit_bytes {
        None => unknown("wasm_memory_limit not reported by canister_status"),
        Some(0) => fail("no wasm_memory_limit is enforced", "wasm_memory_limit 0"),
        Some(l) => pass(format!("wasm_memory_limit {}", bytes_text(l))),
    }
}

fn running(s: &StatusEvidence) -> Assessment {
    let text = format!("status {}", s.status.name());
    match s.status {
        RunStatus::Running => pass(text),
        other => fail(format!("the canister is {}", other.name()), text),
    }
}

fn log_visibility(s: &StatusEvidence, p: &HardeningPolicy) -> Assessment {
    let Some(v) = &s.log_visibility else {
        return unknown("canister_status reported no readable log_visibility");
    };
    let text = format!("log_visibility {}", v.describe());
    if !v.is_effectively_public() {
        pass(text)
    } else if p.allow_public_logs {
        pass(format!("{text} (public logs allowed by policy)"))
    } else {
        fail("canister logs are public", text)
    }
}

fn candid_published(e: &Evidence) -> Assessment {
    match e.candid_service_public {
        None => unknown("canister_metadata candid:service was not read"),
        Some(false) => fail(
            "no public candid:service metadata section",
            "canister_metadata candid:service: absent or not public",
        ),
        Some(true) => pass("canister_metadata candid:service: public"),
    }
}

fn backup_controller(s: &StatusEvidence, suite: Principal, policy: &HardeningPolicy) -> Assessment {
    let text = controllers_text(s);
    if let Some(g) = s
        .controllers
        .iter()
        .find(|c| policy.governance_controllers.contains(c))
    {
        return pass(format!("{text}; governance controller {g}"));
    }
    // The suite is not a backup for people: it only does what its code does.
    let others = s
        .controllers
        .iter()
        .filter(|c| **c != suite && **c != Principal::anonymous())
        .count();
    if others >= 2 {
        pass(format!("{text}; {others} controllers besides chaos_system"))
    } else {
        fail(
            format!("{others} controller(s) besides chaos_system and no governance controller"),
            text,
        )
    }
}

fn freezing_threshold(s: &StatusEvidence, p: &HardeningPolicy) -> Assessment {
    let secs = s.freezing_threshold_secs;
    let text = format!(
        "freezing_threshold {secs} s ({}; policy {}-{} days)",
        days_text(DurationNs::from_secs(secs)),
        p.min_freezing_threshold_days,
        p.max_freezing_threshold_days
    );
    if secs < p.min_freezing_threshold_days.saturating_mul(86_400) {
        fail(
            format!("below {} days", p.min_freezing_threshold_days),
            text,
        )
    } else if secs > p.max_freezing_threshold_days.saturating_mul(86_400) {
        fail(
            format!("above {} days", p.max_freezing_threshold_days),
            text,
        )
    } else {
        pass(text)
    }
}

/// Seconds until the balance reaches the freezing threshold at the idle burn rate.
pub fn runway_until_freeze_secs(s: &StatusEvidence) -> Option<u128> {
    let burn = s.idle_cycles_burned_per_day.0;
    if burn == 0 {
        return None;
    }
    let cycles = s.cycles.0;
    let to_zero = match cycles.checked_mul(86_400) {
        Some(x) => x / burn,
        None => (cycles / burn).saturating_mul(86_400),
    };
    Some(to_zero.saturating_sub(u128::from(s.freezing_threshold_secs)))
}

fn cycles_runway(s: &StatusEvidence, p: &HardeningPolicy) -> Assessment {
    let Some(secs) = runway_until_freeze_secs(s) else {
        return pass(format!(
            "idle_cycles_burned_per_day 0 with {}: no idle burn to run out on (message execution still costs cycles)",
            s.cycles
        ));
    };
    let days = secs / 86_400;
    let text = format!(
        "{} at {} per day idle, freezing threshold {} s: {days} days until frozen (policy {} days)",
        s.cycles, s.idle_cycles_burned_per_day, s.freezing_threshold_secs, p.min_runway_days
    );
    if secs < u128::from(p.min_runway_days) * 86_400 {
        fail(
            format!("{days} days of runway, fewer than {}", p.min_runway_days),
            text,
        )
    } else {
        pass(text)
    }
}

fn reserved_limit(s: &StatusEvidence, p: &HardeningPolicy) -> Assessment {
    match s.reserved_cycles_limit {
        None => unknown("reserved_cycles_limit not reported by canister_status"),
        Some(l) if l.0 == 0 => fail(
            "reservation disabled (limit 0): memory growth traps on a busy subnet",
            "reserved_cycles_limit 0",
        ),
        Some(l) if l > p.max_reserved_cycles_limit => fail(
            format!("above the policy maximum {}", p.max_reserved_cycles_limit),
            format!("reserved_cycles_limit {l}"),
        ),
        Some(l) => pass(format!(
            "reserved_cycles_limit {l} (policy maximum {})",
            p.max_reserved_cycles_limit
        )),
    }
}

fn reserved_headroom(s: &StatusEvidence) -> Assessment {
    let Some(limit) = s.reserved_cycles_limit else {
        return unknown("reserved_cycles_limit not reported by canister_status");
    };
    let text = format!("reserved_cycles {} of limit {limit}", s.reserved_cycles);
    if limit.0 == 0 {
        return pass(format!("{text}: reservation disabled, see IC-CTRL-08"));
    }
    if s.reserved_cycles.0 >= limit.0 / 10 * 9 {
        fail("reserved cycles at 90% or more of their limit", text)
    } else {
        pass(text)
    }
}

fn wasm_threshold(s: &StatusEvidence) -> Assessment {
    match (s.wasm_memory_threshold_bytes, s.wasm_memory_limit_bytes) {
        (None, _) => unknown("wasm_memory_threshold not reported by canister_status"),
        (Some(0), _) => fail(
            "wasm_memory_threshold 0: the low-memory hook never runs",
            "wasm_memory_threshold 0",
        ),
        (Some(t), Some(l)) if l > 0 && t >= l => fail(
            "threshold at or above the limit: the hook would run all the time",
            format!(
                "wasm_memory_threshold {} with wasm_memory_limit {}",
                bytes_text(t),
                bytes_text(l)
            ),
        ),
        (Some(t), _) => pass(format!("wasm_memory_threshold {}", bytes_text(t))),
    }
}

fn heap_headroom(s: &StatusEvidence, p: &HardeningPolicy) -> Assessment {
    let limit = match s.wasm_memory_limit_bytes {
        None => return unknown("wasm_memory_limit not reported: the heap ceiling is unknown"),
        Some(0) => WASM32_HEAP_BYTES,
        Some(l) => l,
    };
    // Without the heap metric, total memory is an upper bound of the heap: it can prove a
    // pass, never a failure.
    let (used, exact) = match s.wasm_memory_size_bytes {
        Some(h) => (h, true),
        None => (s.memory_size_bytes, false),
    };
    let free_pct = headroom_pct(used, limit);
    let text = format!(
        "heap {}{} of {} ({free_pct}% free, policy {}%)",
        if exact { "" } else { "at most " },
        bytes_text(used),
        bytes_text(limit),
        p.min_memory_headroom_pct
    );
    if free_pct >= u64::from(p.min_memory_headroom_pct) {
        pass(text)
    } else if exact {
        fail(format!("only {free_pct}% of the heap limit free"), text)
    } else {
        unknown(format!(
            "memory_metrics.wasm_memory_size not reported and total memory ({}) is too close to the heap limit to decide",
            bytes_text(used)
        ))
    }
}

fn allocation_headroom(s: &StatusEvidence, p: &HardeningPolicy) -> Assessment {
    let alloc = s.memory_allocation_bytes;
    if alloc == 0 {
        return pass("memory_allocation 0 (best effort): no reserved ceiling");
    }
    let free_pct = headroom_pct(s.memory_size_bytes, alloc);
    let text = format!(
        "memory {} of allocation {} ({free_pct}% free, policy {}%)",
        bytes_text(s.memory_size_bytes),
        bytes_text(alloc),
        p.min_memory_headroom_pct
    );
    if free_pct >= u64::from(p.min_memory_headroom_pct) {
        pass(text)
    } else {
        fail(
            format!("only {free_pct}% of the memory allocation free"),
            text,
        )
    }
}

fn visibility(v: Option<&Visibility>, what: &str) -> Assessment {
    match v {
        None => unknown(format!("{what}_visibility not reported by canister_status")),
        Some(v) if v.is_effectively_public() => fail(
            format!("canister {what} is public"),
            format!("{what}_visibility {}", v.describe()),
        ),
        Some(v) => pass(format!("{what}_visibility {}", v.describe())),
    }
}

fn approved_module(s: &StatusEvidence, p: &HardeningPolicy) -> Assessment {
    if p.approved_module_hashes.is_empty() {
        return unknown(
            "no approved releases configured: add reproducible-build hashes to the policy",
        );
    }
    match &s.module_hash {
        None => fail("no module installed", "module_hash null"),
        Some(h) if p.approved_module_hashes.contains(h) => pass(format!("module_hash {h}")),
        Some(h) => fail(
            "the installed module is not an approved release",
            format!(
                "module_hash {h}; {} approved release(s)",
                p.approved_module_hashes.len()
            ),
        ),
    }
}

fn recent_snapshot(e: &Evidence, p: &HardeningPolicy, now: TimestampNs) -> Assessment {
    let Some(list) = &e.snapshots else {
        return unknown("list_canister_snapshots was not read");
    };
    match e.newest_snapshot() {
        None => fail("the canister has no snapshot", "0 snapshots"),
        Some((id, at)) => {
            let age = now.since(*at);
            let text = format!(
                "{} snapshot(s); newest {id}, {} old (policy {})",
                list.len(),
                days_text(age),
                days_text(p.max_snapshot_age)
            );
            if age > p.max_snapshot_age {
                fail(format!("newest snapshot is {} old", days_text(age)), text)
            } else {
                pass(text)
            }
        }
    }
}

fn recent_drill(e: &Evidence, p: &HardeningPolicy, now: TimestampNs) -> Assessment {
    let Some(d) = &e.last_drill else {
        return fail(
            "the target was never drilled",
            "no finished drill in the log",
        );
    };
    let age = now.since(d.finished_at);
    let text = format!(
        "last drill {} {} ago (policy {})",
        if d.passed { "passed" } else { "did not pass" },
        days_text(age),
        days_text(p.max_drill_age)
    );
    if age > p.max_drill_age {
        fail(format!("last drill is {} old", days_text(age)), text)
    } else if !d.passed {
        fail("the last drill did not pass", text)
    } else {
        pass(text)
    }
}

fn drill_objectives(e: &Evidence) -> Assessment {
    let Some(d) = &e.last_drill else {
        return unknown("no drill has measured recovery yet");
    };
    let mark = |v: Option<bool>| match v {
        Some(true) => "within",
        Some(false) => "missed",
        None => "not measured",
    };
    let text = format!(
        "last drill: RTO {}, RPO {}",
        mark(d.rto_within),
        mark(d.rpo_within)
    );
    match (d.rto_within, d.rpo_within) {
        (Some(true), Some(true)) => pass(text),
        (Some(false), _) | (_, Some(false)) => fail("the last drill missed its RTO or RPO", text),
        _ => unknown("the last drill aborted before the disaster: RTO and RPO were not measured"),
    }
}

fn access_probe(e: &Evidence) -> Assessment {
    let Some(probe) = &e.access_probe else {
        return unknown("the access probe has not run against this target");
    };
    if probe.probed_methods.is_empty() {
        return unknown("the access probe ran but had no privileged methods to call");
    }
    let text = format!(
        "{} privileged method(s) called as anonymous and as a principal with no role; accepted: [{}]",
        probe.probed_methods.len(),
        probe.accepted_unprivileged.join(", ")
    );
    if probe.accepted_unprivileged.is_empty() {
        pass(text)
    } else {
        fail(
            format!(
                "{} privileged method(s) accept unprivileged callers",
                probe.accepted_unprivileged.len()
            ),
            text,
        )
    }
}

/// Free share of `limit`, percent, rounded down; 0 when `used >= limit`.
fn headroom_pct(used: u64, limit: u64) -> u64 {
    if limit == 0 || used >= limit {
        return 0;
    }
    ((u128::from(limit - used) * 100) / u128::from(limit)) as u64
}

pub(crate) fn days_text(d: DurationNs) -> String {
    let secs = d.0 / 1_000_000_000;
    if secs >= 86_400 {
        format!("{:.1} days", secs as f64 / 86_400.0)
    } else if secs >= 3_600 {
        format!("{:.1} h", secs as f64 / 3_600.0)
    } else {
        format!("{secs} s")
    }
}

pub(crate) fn bytes_text(b: u64) -> String {
    if b >= 1 << 30 {
        format!("{:.2} GiB", b as f64 / (1u64 << 30) as f64)
    } else if b >= 1 << 20 {
        format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64)
    } else {
        format!("{b} B")
    }
}

fn principals(ps: &[Principal]) -> String {
    ps.iter()
        .map(|p| p.to_text())
        .collect::<Vec<_>>()
        .join(", ")
}
