//! A scan: every control evaluated against one target's evidence, scored and mapped.
//!
//! Scoring: `score = floor(100 × weight of passing controls / weight of all controls)`.
//! `Unknown` earns nothing, like `Fail` (missing evidence is not evidence of safety), but it
//! is reported apart so an operator can tell "broken" from "not yet seen";
//! `evaluated_pct` says how much of the weight was decided at all.
//!
//! Levels (checked from the top):
//! - `Maximum`: score ≥ 90 and no failing critical or high control;
//! - `Advanced`: score ≥ 75 and no failing critical control;
//! - `Standard`: score ≥ 50 and no failing critical control;
//! - `Basic`: anything else.

use super::catalog::{catalog, ControlId};
use super::evaluate::{assess, ControlResult};
use super::evidence::Evidence;
use super::framework::{coverage, Framework, FrameworkCoverage};
use super::policy::{HardeningPolicy, Severity};
use crate::ids::TimestampNs;
use ic_principal::Principal;
use minicbor::{Decode, Encode};
use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Encode, Decode, Serialize)]
#[cbor(index_only)]
#[serde(rename_all = "snake_case")]
pub enum HardeningLevel {
    #[n(0)]
    Basic,
    #[n(1)]
    Standard,
    #[n(2)]
    Advanced,
    #[n(3)]
    Maximum,
}

impl HardeningLevel {
    pub fn name(self) -> &'static str {
        match self {
            HardeningLevel::Basic => "basic",
            HardeningLevel::Standard => "standard",
            HardeningLevel::Advanced => "advanced",
            HardeningLevel::Maximum => "maximum",
        }
    }
}

/// One control's result in a scan, with the evidence it was decided on.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize)]
pub struct ControlOutcome {
    #[n(0)]
    pub control: ControlId,
    #[n(1)]
    pub severity: Severity,
    #[n(2)]
    pub weight: u32,
    #[n(3)]
    #[serde(flatten)]
    pub result: ControlResult,
    #[n(4)]
    pub evidence: String,
}

/// A scan of one target, self-contained: it holds the evidence it read, so it can be recorded
/// as one event and explained later without the live state.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize)]
pub struct ScanReport {
    #[cbor(n(0), with = "crate::cbor::principal")]
    pub target: Principal,
    #[n(1)]
    #[serde(serialize_with = "super::render::ser_ts")]
    pub scanned_at: TimestampNs,
    #[n(2)]
    #[serde(skip)]
    pub evidence: Evidence,
    /// In catalog order.
    #[n(3)]
    pub results: Vec<ControlOutcome>,
    /// 0..=100.
    #[n(4)]
    pub score: u8,
    /// Share of the weight decided (pass or fail), 0..=100.
    #[n(5)]
    pub evaluated_pct: u8,
    #[n(6)]
    pub level: HardeningLevel,
    /// Every framework, in [`Framework::ALL`] order.
    #[n(7)]
    pub frameworks: Vec<FrameworkCoverage>,
}

/// Evaluates every control of the catalog against `evidence` at `now`.
pub fn scan(evidence: &Evidence, policy: &HardeningPolicy, now: TimestampNs) -> ScanReport {
    let results: Vec<ControlOutcome> = catalog()
        .iter()
        .map(|c| {
            let a = assess(c, evidence, policy, now);
            ControlOutcome {
                control: c.control_id(),
                severity: c.severity,
                weight: c.weight,
                result: a.result,
                evidence: a.evidence,
            }
        })
        .collect();
    let (score, evaluated_pct) = score(&results);
    let level = level(score, &results);
    let frameworks = Framework::ALL
        .iter()
        .map(|f| coverage(&results, *f))
        .collect();
    ScanReport {
        target: evidence.target,
        scanned_at: now,
        evidence: evidence.clone(),
        results,
        score,
        evaluated_pct,
        level,
        frameworks,
    }
}

/// (score, evaluated share), both in percent; see the module documentation.
pub fn score(results: &[ControlOutcome]) -> (u8, u8) {
    let total: u64 = results.iter().map(|r| u64::from(r.weight)).sum();
    if total == 0 {
        return (0, 0);
    }
    let weight_where = |pred: fn(&ControlResult) -> bool| -> u64 {
        results
            .iter()
            .filter(|r| pred(&r.result))
            .map(|r| u64::from(r.weight))
            .sum()
    };
    let passed = weight_where(ControlResult::is_pass);
    let decided = passed + weight_where(ControlResult::is_fail);
    ((passed * 100 / total) as u8, (decided * 100 / total) as u8)
}

/// The hardening level for a score and results; see the module documentation.
pub fn level(score: u8, results: &[ControlOutcome]) -> HardeningLevel {
    let failing = |s: Severity| {
        results
            .iter()
            .any(|r| r.severity == s && r.result.is_fail())
    };
    let critical = failing(Severity::Critical);
    let high = failing(Severity::High);
    if score >= 90 && !critical && !high {
        HardeningLevel::Maximum
    } else if score >= 75 && !critical {
        HardeningLevel::Advanced
    } else if score >= 50 && !critical {
        HardeningLevel::Standard
    } else {
        HardeningLevel::Basic
    }
}

impl ScanReport {
    pub fn outcome(&self, id: &str) -> Option<&ControlOutcome> {
        self.results.iter().find(|r| r.control.as_str() == id)
    }

    pub fn failing(&self) -> impl Iterator<Item = &ControlOutcome> {
        self.results.iter().filter(|r| r.result.is_fail())
    }

    pub fn unknown(&self) -> impl Iterator<Item = &ControlOutcome> {
        self.results.iter().filter(|r| r.result.is_unknown())
    }

    pub fn count(&self, pred: fn(&ControlResult) -> bool) -> usize {
        self.results.iter().filter(|r| pred(&r.result)).count()
    }
}
