//! Readiness over time, per target, and the trend between two assessments.

use super::ReadinessVerdict;
use crate::hardening::render::ser_ts;
use crate::ids::TimestampNs;
use ic_principal::Principal;
use minicbor::{Decode, Encode};
use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};

/// Scores closer than this are the same for the trend.
pub const TREND_SCORE_DELTA: u8 = 5;
/// Assessments kept per target; older ones are dropped first.
pub const MAX_HISTORY_PER_TARGET: usize = 100;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode, Serialize)]
#[cbor(index_only)]
#[serde(rename_all = "snake_case")]
pub enum Trend {
    /// No previous assessment.
    #[n(0)]
    First,
    #[n(1)]
    Improving,
    #[n(2)]
    Stable,
    #[n(3)]
    Declining,
}

impl Trend {
    /// A better verdict is improving and a worse one declining, whatever the scores; with the
    /// same verdict, the score must move by at least [`TREND_SCORE_DELTA`] points.
    pub fn between(previous: Option<&ReadinessSummary>, current: &ReadinessSummary) -> Trend {
        let Some(p) = previous else {
            return Trend::First;
        };
        match current.verdict.cmp(&p.verdict) {
            std::cmp::Ordering::Greater => Trend::Improving,
            std::cmp::Ordering::Less => Trend::Declining,
            std::cmp::Ordering::Equal => {
                if current.overall_score >= p.overall_score.saturating_add(TREND_SCORE_DELTA) {
                    Trend::Improving
                } else if current.overall_score.saturating_add(TREND_SCORE_DELTA) <= p.overall_score
                {
                    Trend::Declining
                } else {
                    Trend::Stable
                }
            }
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Trend::First => "first assessment",
            Trend::Improving => "improving",
            Trend::Stable => "stable",
            Trend::Declining => "declining",
        }
    }
}

/// What the history keeps of an assessment.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize)]
pub struct ReadinessSummary {
    #[n(0)]
    #[serde(serialize_with = "ser_ts")]
    pub assessed_at: TimestampNs,
    #[n(1)]
    pub overall_score: u8,
    #[n(2)]
    pub verdict: ReadinessVerdict,
    #[n(3)]
    pub blocking: u16,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReadinessHistory {
    by_target: BTreeMap<Principal, VecDeque<ReadinessSummary>>,
}

impl ReadinessHistory {
    /// Appends an assessment (the fold of a recorded `ReadinessAssessed` event) and returns
    /// its trend against the previous one.
    pub fn record(&mut self, target: Principal, summary: ReadinessSummary) -> Trend {
        let list = self.by_target.entry(target).or_default();
        let trend = Trend::between(list.back(), &summary);
        list.push_back(summary);
        if list.len() > MAX_HISTORY_PER_TARGET {
            list.pop_front();
        }
        trend
    }

    pub fn latest(&self, target: Principal) -> Option<&ReadinessSummary> {
        self.by_target.get(&target)?.back()
    }

    /// Oldest first.
    pub fn history(&self, target: Principal) -> impl Iterator<Item = &ReadinessSummary> {
        self.by_target.get(&target).into_iter().flatten()
    }

    /// The trend of the latest assessment against the one before; `First` with fewer than two.
    pub fn trend(&self, target: Principal) -> Trend {
        match self.by_target.get(&target) {
            Some(list) if list.len() >= 2 => {
                Trend::between(list.get(list.len() - 2), &list[list.len() - 1])
            }
            _ => Trend::First,
        }
    }
}
