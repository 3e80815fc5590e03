//! Conversions between the readiness assessment's types and their Candid DTOs.

use crate::assurance::*;
use chaos_manager::readiness as core_rdy;

impl From<core_rdy::Category> for Category {
    fn from(c: core_rdy::Category) -> Self {
        match c {
            core_rdy::Category::Security => Category::Security,
            core_rdy::Category::Performance => Category::Performance,
            core_rdy::Category::Monitoring => Category::Monitoring,
            core_rdy::Category::DisasterRecovery => Category::DisasterRecovery,
            core_rdy::Category::Compliance => Category::Compliance,
            core_rdy::Category::Operations => Category::Operations,
            core_rdy::Category::Documentation => Category::Documentation,
            core_rdy::Category::Capacity => Category::Capacity,
        }
    }
}

impl From<core_rdy::ReadinessVerdict> for ReadinessVerdict {
    fn from(v: core_rdy::ReadinessVerdict) -> Self {
        match v {
            core_rdy::ReadinessVerdict::NotReady => ReadinessVerdict::NotReady,
            core_rdy::ReadinessVerdict::ReadyWithConditions => {
                ReadinessVerdict::ReadyWithConditions
            }
            core_rdy::ReadinessVerdict::Ready => ReadinessVerdict::Ready,
        }
    }
}

impl From<core_rdy::Trend> for Trend {
    fn from(t: core_rdy::Trend) -> Self {
        match t {
            core_rdy::Trend::First => Trend::First,
            core_rdy::Trend::Improving => Trend::Improving,
            core_rdy::Trend::Stable => Trend::Stable,
            core_rdy::Trend::Declining => Trend::Declining,
        }
    }
}

impl From<&core_rdy::ReadinessSummary> for ReadinessSummary {
    fn from(s: &core_rdy::ReadinessSummary) -> Self {
        ReadinessSummary {
            assessed_at_ns: s.assessed_at.0,
            overall_score: s.overall_score,
            verdict: s.verdict.into(),
            blocking: s.blocking,
        }
    }
}

impl From<&core_rdy::ReadinessAssessment> for Readiness {
    fn from(a: &core_rdy::ReadinessAssessment) -> Self {
        Readiness {
            target: a.target,
            assessed_at_ns: a.assessed_at.0,
            scan_at_ns: a.scan_at.0,
            verdict: a.verdict.into(),
            overall_score: a.overall_score,
            categories: a
                .categories
                .iter()
                .map(|c| CategoryScore {
                    category: c.category.into(),
                    score: c.score,
                    passed: c.passed,
                    failed: c.failed,
                    unknown: c.unknown,
                })
                .collect(),
            criteria: a
                .criteria
                .iter()
                .map(|c| ReadinessCriterion {
                    id: c.id.clone(),
                    category: c.category.into(),
                    title: c.title.clone(),
                    weight: c.weight,
                    blocking: c.blocking,
                    result: (&c.result).into(),
                    evidence: c.evidence.clone(),
                    remediation: c.remediation.clone(),
                })
                .collect(),
            blocking_issues: a.blocking_issues.clone(),
            conditions: a.conditions.clone(),
            checklist: a
                .checklist
                .iter()
                .map(|i| ChecklistItem {
                    step: i.step,
                    text: i.text.clone(),
                    done: i.done,
                    sources: i.sources.clone(),
                })
                .collect(),
            trend: a.trend.into(),
            previous_at_ns: a.previous_at.map(|t| t.0),
        }
    }
}
