//! Compliance frameworks, the requirements the controls map to, and per-framework coverage.
//!
//! A mapping says: when this control passes, it is evidence towards that requirement. A
//! requirement is satisfied iff every control mapped to it passes; one failing control makes it
//! not satisfied; otherwise (some `Unknown`) it is undetermined. Coverage is evidence for an
//! auditor, not a certification: each requirement also has organisational parts no scan sees.

use super::catalog::{catalog, control, ControlId};
use super::policy::Severity;
use super::scan::{ControlOutcome, ScanReport};
use crate::ids::TimestampNs;
use ic_principal::Principal;
use minicbor::{Decode, Encode};
use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode, Serialize)]
#[cbor(index_only)]
#[serde(rename_all = "snake_case")]
pub enum Framework {
    /// AICPA Trust Services Criteria (2017, revised points of focus 2022), as used by SOC 2.
    #[n(0)]
    Soc2,
    /// ISO/IEC 27001:2022 Annex A.
    #[n(1)]
    Iso27001,
    /// NIST SP 800-53 revision 5.
    #[n(2)]
    Nist80053,
    /// GDPR (Regulation (EU) 2016/679); applies where the canister processes personal data.
    #[n(3)]
    Gdpr,
}

impl Framework {
    pub const ALL: [Framework; 4] = [
        Framework::Soc2,
        Framework::Iso27001,
        Framework::Nist80053,
        Framework::Gdpr,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Framework::Soc2 => "SOC 2 (TSC 2017)",
            Framework::Iso27001 => "ISO/IEC 27001:2022 Annex A",
            Framework::Nist80053 => "NIST SP 800-53 rev. 5",
            Framework::Gdpr => "GDPR",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Mapping {
    pub framework: Framework,
    pub requirement: &'static str,
}

pub const fn soc2(requirement: &'static str) -> Mapping {
    Mapping {
        framework: Framework::Soc2,
        requirement,
    }
}
pub const fn iso(requirement: &'static str) -> Mapping {
    Mapping {
        framework: Framework::Iso27001,
        requirement,
    }
}
pub const fn nist(requirement: &'static str) -> Mapping {
    Mapping {
        framework: Framework::Nist80053,
        requirement,
    }
}
pub const fn gdpr(requirement: &'static str) -> Mapping {
    Mapping {
        framework: Framework::Gdpr,
        requirement,
    }
}

/// Every requirement a control maps to, with a short paraphrase of its text.
pub const REQUIREMENTS: &[(Framework, &str, &str)] = &[
    (
        Framework::Soc2,
        "CC6.1",
        "Logical access security over protected information assets",
    ),
    (
        Framework::Soc2,
        "CC6.3",
        "Access granted by role, with least privilege and segregation of duties",
    ),
    (
        Framework::Soc2,
        "CC7.1",
        "Detection of configuration changes and susceptibilities that introduce vulnerabilities",
    ),
    (
        Framework::Soc2,
        "CC7.2",
        "Monitoring of system components for anomalies",
    ),
    (
        Framework::Soc2,
        "CC8.1",
        "Changes authorized, tested, approved and implemented",
    ),
    (
        Framework::Soc2,
        "A1.1",
        "Processing capacity maintained, monitored and evaluated",
    ),
    (
        Framework::Soc2,
        "A1.2",
        "Data backup processes and recovery infrastructure",
    ),
    (Framework::Soc2, "A1.3", "Recovery plan procedures tested"),
    (Framework::Iso27001, "A.5.3", "Segregation of duties"),
    (Framework::Iso27001, "A.5.15", "Access control"),
    (
        Framework::Iso27001,
        "A.5.30",
        "ICT readiness for business continuity",
    ),
    (Framework::Iso27001, "A.8.2", "Privileged access rights"),
    (
        Framework::Iso27001,
        "A.8.3",
        "Information access restriction",
    ),
    (Framework::Iso27001, "A.8.5", "Secure authentication"),
    (Framework::Iso27001, "A.8.6", "Capacity management"),
    (
        Framework::Iso27001,
        "A.8.8",
        "Management of technical vulnerabilities",
    ),
    (Framework::Iso27001, "A.8.9", "Configuration management"),
    (Framework::Iso27001, "A.8.13", "Information backup"),
    (Framework::Iso27001, "A.8.15", "Logging"),
    (Framework::Iso27001, "A.8.16", "Monitoring activities"),
    (
        Framework::Iso27001,
        "A.8.19",
        "Installation of software on operational systems",
    ),
    (Framework::Iso27001, "A.8.32", "Change management"),
    (Framework::Nist80053, "AC-2", "Account Management"),
    (Framework::Nist80053, "AC-3", "Access Enforcement"),
    (Framework::Nist80053, "AC-5", "Separation of Duties"),
    (Framework::Nist80053, "AC-6", "Least Privilege"),
    (
        Framework::Nist80053,
        "AU-9",
        "Protection of Audit Information",
    ),
    (Framework::Nist80053, "CM-2", "Baseline Configuration"),
    (Framework::Nist80053, "CM-3", "Configuration Change Control"),
    (Framework::Nist80053, "CM-6", "Configuration Settings"),
    (Framework::Nist80053, "CP-4", "Contingency Plan Testing"),
    (Framework::Nist80053, "CP-9", "System Backup"),
    (
        Framework::Nist80053,
        "CP-10",
        "System Recovery and Reconstitution",
    ),
    (
        Framework::Nist80053,
        "IA-2",
        "Identification and Authentication (Organizational Users)",
    ),
    (
        Framework::Nist80053,
        "RA-5",
        "Vulnerability Monitoring and Scanning",
    ),
    (Framework::Nist80053, "SA-5", "System Documentation"),
    (Framework::Nist80053, "SC-5", "Denial-of-service Protection"),
    (Framework::Nist80053, "SC-6", "Resource Availability"),
    (
        Framework::Nist80053,
        "SI-7",
        "Software, Firmware, and Information Integrity",
    ),
    (
        Framework::Gdpr,
        "Art. 5(1)(f)",
        "Integrity and confidentiality of personal data",
    ),
    (
        Framework::Gdpr,
        "Art. 25",
        "Data protection by design and by default",
    ),
    (
        Framework::Gdpr,
        "Art. 32(1)(b)",
        "Ongoing confidentiality, integrity, availability and resilience of processing systems",
    ),
    (
        Framework::Gdpr,
        "Art. 32(1)(c)",
        "Timely restoration of availability and access after an incident",
    ),
    (
        Framework::Gdpr,
        "Art. 32(1)(d)",
        "Regular testing and evaluation of the security measures",
    ),
];

pub fn requirement_title(framework: Framework, requirement: &str) -> Option<&'static str> {
    REQUIREMENTS
        .iter()
        .find(|(f, id, _)| *f == framework && *id == requirement)
        .map(|(_, _, title)| *title)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode, Serialize)]
#[cbor(index_only)]
#[serde(rename_all = "snake_case")]
pub enum RequirementStatus {
    /// Every mapped control passes.
    #[n(0)]
    Satisfied,
    /// At least one mapped control fails.
    #[n(1)]
    NotSatisfied,
    /// None fails, but at least one is `Unknown`.
    #[n(2)]
    Undetermined,
}

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize)]
pub struct RequirementCoverage {
    #[n(0)]
    pub requirement: String,
    #[n(1)]
    pub title: String,
    #[n(2)]
    pub controls: Vec<ControlId>,
    #[n(3)]
    pub passing: u16,
    #[n(4)]
    pub failing: u16,
    #[n(5)]
    pub unknown: u16,
    #[n(6)]
    pub status: RequirementStatus,
}

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize)]
pub struct FrameworkCoverage {
    #[n(0)]
    pub framework: Framework,
    /// In the order of [`REQUIREMENTS`].
    #[n(1)]
    pub requirements: Vec<RequirementCoverage>,
    #[n(2)]
    pub satisfied: u16,
    #[n(3)]
    pub not_satisfied: u16,
    #[n(4)]
    pub undetermined: u16,
}

/// Coverage of one framework by a scan's results. Requirements no control maps to are left
/// out: the scan says nothing about them.
pub fn coverage(results: &[ControlOutcome], framework: Framework) -> FrameworkCoverage {
    let mut requirements = Vec::new();
    for (f, req, title) in REQUIREMENTS.iter().filter(|(f, _, _)| *f == framework) {
        let mapped: Vec<&ControlOutcome> = results
            .iter()
            .filter(|r| {
                control(&r.control).is_some_and(|c| {
                    c.mappings
                        .iter()
                        .any(|m| m.framework == *f && m.requirement == *req)
                })
            })
            .collect();
        if mapped.is_empty() {
            continue;
        }
        let count =
            |pred: fn(&ControlOutcome) -> bool| mapped.iter().filter(|r| pred(r)).count() as u16;
        let passing = count(|r| r.result.is_pass());
        let failing = count(|r| r.result.is_fail());
        let unknown = count(|r| r.result.is_unknown());
        let status = if failing > 0 {
            RequirementStatus::NotSatisfied
        } else if unknown > 0 {
            RequirementStatus::Undetermined
        } else {
            RequirementStatus::Satisfied
        };
        requirements.push(RequirementCoverage {
            requirement: req.to_string(),
            title: title.to_string(),
            controls: mapped.iter().map(|r| r.control.clone()).collect(),
            passing,
            failing,
            unknown,
            status,
        });
    }
    let tally = |s: RequirementStatus| requirements.iter().filter(|r| r.status == s).count() as u16;
    FrameworkCoverage {
        framework,
        satisfied: tally(RequirementStatus::Satisfied),
        not_satisfied: tally(RequirementStatus::NotSatisfied),
        undetermined: tally(RequirementStatus::Undetermined),
        requirements,
    }
}

/// A control that keeps a requirement of the framework from being satisfied.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Gap {
    pub control: ControlId,
    pub title: &'static str,
    pub severity: Severity,
    pub requirements: Vec<String>,
    /// "fail" or "unknown", with the reason.
    pub finding: String,
    pub remediation: &'static str,
}

/// One framework's view of a scan, for an auditor: coverage and the gaps to close.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FrameworkReport {
    pub framework: Framework,
    pub framework_name: &'static str,
    pub target: Principal,
    #[serde(serialize_with = "super::render::ser_ts")]
    pub scanned_at: TimestampNs,
    pub coverage: FrameworkCoverage,
    /// Failing controls first (by severity), then unknown ones.
    pub gaps: Vec<Gap>,
}

pub fn framework_report(scan: &ScanReport, framework: Framework) -> FrameworkReport {
    let coverage = scan
        .frameworks
        .iter()
        .find(|c| c.framework == framework)
        .cloned()
        .unwrap_or_else(|| coverage(&scan.results, framework));
    let mut gaps: Vec<Gap> = catalog()
        .iter()
        .filter_map(|c| {
            let outcome = scan.results.iter().find(|r| r.control.as_str() == c.id)?;
            if outcome.result.is_pass() {
                return None;
            }
            let requirements: Vec<String> = c
                .mappings
                .iter()
                .filter(|m| m.framework == framework)
                .map(|m| m.requirement.to_string())
                .collect();
            if requirements.is_empty() {
                return None;
            }
            Some(Gap {
                control: outcome.control.clone(),
                title: c.title,
                severity: c.severity,
                requirements,
                finding: outcome.result.describe(),
                remediation: c.remediation,
            })
        })
        .collect();
    gaps.sort_by_key(|g| {
        (
            !g.finding.starts_with("fail"),
            std::cmp::Reverse(g.severity),
        )
    });
    FrameworkReport {
        framework,
        framework_name: framework.name(),
        target: scan.target,
        scanned_at: scan.scanned_at,
        coverage,
        gaps,
    }
}

/// The coverage of the frameworks on the team's watchlist, in watchlist order.
pub fn watched<'a>(scan: &'a ScanReport, watchlist: &[Framework]) -> Vec<&'a FrameworkCoverage> {
    watchlist
        .iter()
        .filter_map(|f| scan.frameworks.iter().find(|c| c.framework == *f))
        .collect()
}
