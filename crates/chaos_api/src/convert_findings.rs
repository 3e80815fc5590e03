//! Conversions between the vulnerability register's types and their Candid DTOs.

use crate::assurance::*;
use chaos_manager::vulnerability as core_vuln;
use chaos_manager::TimestampNs;

impl From<&core_vuln::FindingSource> for FindingSource {
    fn from(s: &core_vuln::FindingSource) -> Self {
        match s {
            core_vuln::FindingSource::FailedControl(c) => FindingSource::FailedControl(c.0.clone()),
            core_vuln::FindingSource::AccessProbe(m) => FindingSource::AccessProbe(m.clone()),
            core_vuln::FindingSource::ExperimentDeviation(e) => {
                FindingSource::ExperimentDeviation(*e)
            }
            core_vuln::FindingSource::Manual { reporter } => FindingSource::Manual {
                reporter: *reporter,
            },
        }
    }
}

impl From<&core_vuln::FindingStatus> for FindingStatus {
    fn from(s: &core_vuln::FindingStatus) -> Self {
        match s {
            core_vuln::FindingStatus::Open => FindingStatus::Open,
            core_vuln::FindingStatus::InProgress => FindingStatus::InProgress,
            core_vuln::FindingStatus::Resolved => FindingStatus::Resolved,
            core_vuln::FindingStatus::Verified => FindingStatus::Verified,
            core_vuln::FindingStatus::AcceptedRisk { reason, expires_at } => {
                FindingStatus::AcceptedRisk {
                    reason: reason.clone(),
                    expires_at_ns: expires_at.0,
                }
            }
        }
    }
}

impl From<FindingStatus> for core_vuln::FindingStatus {
    fn from(s: FindingStatus) -> Self {
        match s {
            FindingStatus::Open => core_vuln::FindingStatus::Open,
            FindingStatus::InProgress => core_vuln::FindingStatus::InProgress,
            FindingStatus::Resolved => core_vuln::FindingStatus::Resolved,
            FindingStatus::Verified => core_vuln::FindingStatus::Verified,
            FindingStatus::AcceptedRisk {
                reason,
                expires_at_ns,
            } => core_vuln::FindingStatus::AcceptedRisk {
                reason,
                expires_at: TimestampNs(expires_at_ns),
            },
        }
    }
}

impl Finding {
    /// The DTO of `f` as seen at `now` (for `overdue`).
    pub fn at(f: &core_vuln::Finding, now: TimestampNs) -> Self {
        Finding {
            id: f.id.0,
            target: f.target,
            source: (&f.source).into(),
            severity: f.severity.into(),
            title: f.title.clone(),
            detail: f.detail.clone(),
            status: (&f.status).into(),
            opened_at_ns: f.opened_at.0,
            opened_by: f.opened_by,
            due_at_ns: f.due_at.0,
            overdue: f.is_overdue(now),
            history: f
                .history
                .iter()
                .map(|t| FindingTransition {
                    at_ns: t.at.0,
                    from: (&t.from).into(),
                    to: (&t.to).into(),
                    by: t.by,
                    note: t.note.clone(),
                })
                .collect(),
        }
    }
}
