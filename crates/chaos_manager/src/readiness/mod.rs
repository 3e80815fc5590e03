//! # Production readiness
//!
//! An assessment of one target in eight categories, from a hardening scan, the target's
//! active findings, its drill history and (when available) its experiment history.
//!
//! Scoring: a criterion earns its weight when it passes (`Unknown` earns nothing, as in
//! hardening); a category's score is `floor(100 × passing weight / weight)`; the overall
//! score is the category scores weighted by [`Category::weight`] (they sum to 100).
//!
//! Verdict, checked in order:
//! - `NotReady` iff a blocking criterion fails (the blocking issues are listed);
//! - `ReadyWithConditions` iff a non-blocking criterion fails, a blocking criterion is
//!   `Unknown`, `Unknown` criteria carry more than [`MAX_UNKNOWN_PCT`] of the weight, or a
//!   whole category is `Unknown` (no evidence at all cannot be called ready);
//! - `Ready` otherwise.

mod criteria;
pub mod history;
pub mod render;

pub use history::{ReadinessHistory, ReadinessSummary, Trend};
pub use render::{render_html, render_json};

use crate::drill::{DrillReport, Verdict};
use crate::hardening::render::{ser_opt_ts, ser_ts};
use crate::hardening::{ControlResult, HardeningPolicy, ScanReport};
use crate::ids::TimestampNs;
use crate::vulnerability::Finding;
use ic_principal::Principal;
use minicbor::{Decode, Encode};
use serde::Serialize;

/// Unknown criteria may carry at most this share of the total weight for a `Ready` verdict.
pub const MAX_UNKNOWN_PCT: u64 = 25;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode, Serialize)]
#[cbor(index_only)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    #[n(0)]
    Security,
    #[n(1)]
    Performance,
    #[n(2)]
    Monitoring,
    #[n(3)]
    DisasterRecovery,
    #[n(4)]
    Compliance,
    #[n(5)]
    Operations,
    #[n(6)]
    Documentation,
    #[n(7)]
    Capacity,
}

impl Category {
    pub const ALL: [Category; 8] = [
        Category::Security,
        Category::Performance,
        Category::Monitoring,
        Category::DisasterRecovery,
        Category::Compliance,
        Category::Operations,
        Category::Documentation,
        Category::Capacity,
    ];

    /// Share of the overall score, percent; security and disaster recovery count double.
    pub fn weight(self) -> u64 {
        match self {
            Category::Security | Category::DisasterRecovery => 20,
            _ => 10,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Category::Security => "Security",
            Category::Performance => "Performance",
            Category::Monitoring => "Monitoring",
            Category::DisasterRecovery => "Disaster recovery",
            Category::Compliance => "Compliance",
            Category::Operations => "Operations",
            Category::Documentation => "Documentation",
            Category::Capacity => "Capacity",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Encode, Decode, Serialize)]
#[cbor(index_only)]
#[serde(rename_all = "snake_case")]
pub enum ReadinessVerdict {
    #[n(0)]
    NotReady,
    #[n(1)]
    ReadyWithConditions,
    #[n(2)]
    Ready,
}

impl ReadinessVerdict {
    pub fn name(self) -> &'static str {
        match self {
            ReadinessVerdict::NotReady => "not ready",
            ReadinessVerdict::ReadyWithConditions => "ready with conditions",
            ReadinessVerdict::Ready => "ready",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize)]
pub struct Criterion {
    /// Stable, e.g. `RDY-DR-01`.
    #[n(0)]
    pub id: String,
    #[n(1)]
    pub category: Category,
    #[n(2)]
    pub title: String,
    #[n(3)]
    pub weight: u32,
    /// A failure makes the target not ready.
    #[n(4)]
    pub blocking: bool,
    #[n(5)]
    #[serde(flatten)]
    pub result: ControlResult,
    /// What was read, as text.
    #[n(6)]
    pub evidence: String,
    /// What to do; empty when the criterion passes.
    #[n(7)]
    pub remediation: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize)]
pub struct CategoryScore {
    #[n(0)]
    pub category: Category,
    #[n(1)]
    pub score: u8,
    #[n(2)]
    pub passed: u16,
    #[n(3)]
    pub failed: u16,
    #[n(4)]
    pub unknown: u16,
}

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize)]
pub struct ChecklistItem {
    #[n(0)]
    pub step: u8,
    #[n(1)]
    pub text: String,
    /// True iff every criterion or control it rests on passes.
    #[n(2)]
    pub done: bool,
    /// The criterion and control ids it rests on.
    #[n(3)]
    pub sources: Vec<String>,
}

/// A drill history in numbers, from the suite's finished drills of one target.
#[derive(Clone, Debug, Default, PartialEq, Eq, Encode, Decode)]
pub struct DrillHistorySummary {
    #[n(0)]
    pub total: u32,
    #[n(1)]
    pub passed: u32,
    #[n(2)]
    pub failed: u32,
    #[n(3)]
    pub aborted: u32,
    #[n(4)]
    pub last_finished_at: Option<TimestampNs>,
    #[n(5)]
    pub last_passed_at: Option<TimestampNs>,
}

impl DrillHistorySummary {
    pub fn from_reports<'a>(reports: impl IntoIterator<Item = &'a DrillReport>) -> Self {
        let mut s = DrillHistorySummary::default();
        for r in reports {
            s.total += 1;
            match r.verdict {
                Verdict::Passed => {
                    s.passed += 1;
                    s.last_passed_at = s.last_passed_at.max(Some(r.finished_at));
                }
                Verdict::Failed => s.failed += 1,
                Verdict::Aborted => s.aborted += 1,
            }
            s.last_finished_at = s.last_finished_at.max(Some(r.finished_at));
        }
        s
    }
}

/// Experiments of one target in numbers (the experiment engine is not built yet: shells pass
/// `None` until it is).
#[derive(Clone, Debug, Default, PartialEq, Eq, Encode, Decode)]
pub struct ExperimentSummary {
    #[n(0)]
    pub total: u32,
    /// Experiments whose steady-state hypothesis held.
    #[n(1)]
    pub held: u32,
    #[n(2)]
    pub deviated: u32,
    #[n(3)]
    pub last_finished_at: Option<TimestampNs>,
}

pub struct ReadinessInputs<'a> {
    /// A scan of the target; its evidence is the evidence assessed.
    pub scan: &'a ScanReport,
    /// The target's active (open or in-progress) findings.
    pub findings: &'a [&'a Finding],
    pub drills: &'a DrillHistorySummary,
    pub experiments: Option<&'a ExperimentSummary>,
    pub policy: &'a HardeningPolicy,
    /// The target's previous assessment, for the trend.
    pub previous: Option<&'a ReadinessSummary>,
    pub now: TimestampNs,
}

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize)]
pub struct ReadinessAssessment {
    #[cbor(n(0), with = "crate::cbor::principal")]
    pub target: Principal,
    #[n(1)]
    #[serde(serialize_with = "ser_ts")]
    pub assessed_at: TimestampNs,
    #[n(2)]
    #[serde(serialize_with = "ser_ts")]
    pub scan_at: TimestampNs,
    #[n(3)]
    pub verdict: ReadinessVerdict,
    #[n(4)]
    pub overall_score: u8,
    #[n(5)]
    pub categories: Vec<CategoryScore>,
    /// In category order.
    #[n(6)]
    pub criteria: Vec<Criterion>,
    /// Failed blocking criteria: "id title: reason".
    #[n(7)]
    pub blocking_issues: Vec<String>,
    /// Every non-blocking failure and every unknown, with reasons: what keeps the target from
    /// `Ready`, or (for `Ready`) what is still unverified.
    #[n(8)]
    pub conditions: Vec<String>,
    #[n(9)]
    pub checklist: Vec<ChecklistItem>,
    #[n(10)]
    pub trend: Trend,
    #[n(11)]
    #[serde(serialize_with = "ser_opt_ts")]
    pub previous_at: Option<TimestampNs>,
}

impl ReadinessAssessment {
    pub fn criterion(&self, id: &str) -> Option<&Criterion> {
        self.criteria.iter().find(|c| c.id == id)
    }

    pub fn summary(&self) -> ReadinessSummary {
        ReadinessSummary {
            assessed_at: self.assessed_at,
            overall_score: self.overall_score,
            verdict: self.verdict,
            blocking: self.blocking_issues.len() as u16,
        }
    }
}

/// Assesses one target; see the module documentation for scores and verdict.
pub fn assess(inputs: &ReadinessInputs<'_>) -> ReadinessAssessment {
    let criteria = criteria::all(inputs);
    let categories: Vec<CategoryScore> = Category::ALL
        .iter()
        .map(|cat| category_score(*cat, &criteria))
        .collect();
    let overall_score = (categories
        .iter()
        .map(|c| c.category.weight() * u64::from(c.score))
        .sum::<u64>()
        / 100) as u8;
    let line = |c: &Criterion| match &c.result {
        ControlResult::Pass => format!("{} {}", c.id, c.title),
        ControlResult::Fail { reason } | ControlResult::Unknown { reason } => {
            format!("{} {}: {reason}", c.id, c.title)
        }
    };
    let blocking_issues: Vec<String> = criteria
        .iter()
        .filter(|c| c.blocking && c.result.is_fail())
        .map(line)
        .collect();
    let conditions: Vec<String> = criteria
        .iter()
        .filter(|c| !(c.result.is_pass() || (c.blocking && c.result.is_fail())))
        .map(|c| format!("{} ({})", line(c), c.result.name()))
        .collect();
    let verdict = verdict(&criteria);
    let summary = ReadinessSummary {
        assessed_at: inputs.now,
        overall_score,
        verdict,
        blocking: blocking_issues.len() as u16,
    };
    ReadinessAssessment {
        target: inputs.scan.target,
        assessed_at: inputs.now,
        scan_at: inputs.scan.scanned_at,
        verdict,
        overall_score,
        checklist: checklist(inputs, &criteria),
        categories,
        criteria,
        blocking_issues,
        conditions,
        trend: Trend::between(inputs.previous, &summary),
        previous_at: inputs.previous.map(|p| p.assessed_at),
    }
}

/// The verdict rule of the module documentation.
pub fn verdict(criteria: &[Criterion]) -> ReadinessVerdict {
    if criteria.iter().any(|c| c.blocking && c.result.is_fail()) {
        return ReadinessVerdict::NotReady;
    }
    let total: u64 = criteria.iter().map(|c| u64::from(c.weight)).sum();
    let unknown: u64 = criteria
        .iter()
        .filter(|c| c.result.is_unknown())
        .map(|c| u64::from(c.weight))
        .sum();
    let category_unknown = Category::ALL.iter().any(|cat| {
        let mut of = criteria.iter().filter(|c| c.category == *cat).peekable();
        of.peek().is_some() && of.all(|c| c.result.is_unknown())
    });
    let conditional = criteria.iter().any(|c| c.result.is_fail())
        || criteria.iter().any(|c| c.blocking && c.result.is_unknown())
        || unknown * 100 > total * MAX_UNKNOWN_PCT
        || category_unknown;
    if conditional {
        ReadinessVerdict::ReadyWithConditions
    } else {
        ReadinessVerdict::Ready
    }
}

fn category_score(category: Category, criteria: &[Criterion]) -> CategoryScore {
    let of: Vec<&Criterion> = criteria.iter().filter(|c| c.category == category).collect();
    let total: u64 = of.iter().map(|c| u64::from(c.weight)).sum();
    let passed: u64 = of
        .iter()
        .filter(|c| c.result.is_pass())
        .map(|c| u64::from(c.weight))
        .sum();
    let count =
        |pred: fn(&ControlResult) -> bool| of.iter().filter(|c| pred(&c.result)).count() as u16;
    CategoryScore {
        category,
        score: (passed * 100).checked_div(total).unwrap_or(0) as u8,
        passed: count(ControlResult::is_pass),
        failed: count(ControlResult::is_fail),
        unknown: count(ControlResult::is_unknown),
    }
}

/// The deployment checklist, in the order a team works through it before going live.
const CHECKLIST: &[(&str, &[&str])] = &[
    ("Controllers reviewed: no anonymous controller, a backup or governance controller, chaos_system a controller but not the only one", &["IC-CTRL-01", "IC-CTRL-02", "IC-CTRL-03", "IC-CTRL-04"]),
    ("An approved, reproducibly built release is installed", &["IC-CTRL-18"]),
    ("Privileged methods reject unprivileged callers (access probe passed)", &["IC-CTRL-23"]),
    ("Freezing threshold in the recommended window and cycles runway above the minimum", &["IC-CTRL-06", "IC-CTRL-07"]),
    ("wasm_memory_limit, wasm_memory_threshold and reserved_cycles_limit set", &["IC-CTRL-10", "IC-CTRL-11", "IC-CTRL-08"]),
    ("Logs, snapshots and status visible to controllers only", &["IC-CTRL-15", "IC-CTRL-16", "IC-CTRL-17"]),
    ("A recent snapshot exists", &["IC-CTRL-20"]),
    ("A DR drill passed recently, within RTO and RPO", &["RDY-DR-01", "IC-CTRL-22"]),
    ("candid:service metadata published", &["IC-CTRL-19"]),
    ("No open critical finding and no finding past its SLA", &["RDY-SEC-02", "RDY-CMP-03"]),
    ("Load and fault experiments held their hypothesis", &["RDY-PERF-01"]),
    ("Runbook, owner and alerting recorded", &["RDY-DOC-02", "RDY-MON-03"]),
];

fn checklist(inputs: &ReadinessInputs<'_>, criteria: &[Criterion]) -> Vec<ChecklistItem> {
    let passes = |id: &str| {
        inputs
            .scan
            .outcome(id)
            .map(|o| o.result.is_pass())
            .or_else(|| {
                criteria
                    .iter()
                    .find(|c| c.id == id)
                    .map(|c| c.result.is_pass())
            })
            .unwrap_or(false)
    };
    CHECKLIST
        .iter()
        .enumerate()
        .map(|(i, (text, sources))| ChecklistItem {
            step: (i + 1) as u8,
            text: text.to_string(),
            done: sources.iter().all(|s| passes(s)),
            sources: sources.iter().map(|s| s.to_string()).collect(),
        })
        .collect()
}
