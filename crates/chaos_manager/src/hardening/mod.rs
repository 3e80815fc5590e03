//! # Hardening: controls, scans, compliance mapping and automatic remediation
//!
//! Pure functions over evidence a shell collected (`canister_status`, `canister_metadata`,
//! `list_canister_snapshots`, the suite's drill history, chaos_probe's access probe):
//!
//! - [`evidence`]: what was collected, with `Option`/`Result` wherever the IC may not tell;
//! - [`catalog`]: the controls, each with rationale, severity, remediation and mappings;
//! - [`evaluate`]: one control against the evidence (`Pass`, `Fail`, `Unknown`);
//! - [`scan`]: every control, the weighted score and the hardening level;
//! - [`framework`]: SOC 2, ISO/IEC 27001:2022, NIST SP 800-53 rev. 5 and GDPR coverage;
//! - [`plan`]: the automatic remediations for chosen failing controls, as one change;
//! - [`render`]: JSON and HTML;
//! - [`fixtures`]: scenario builders shared by tests and the simulator.

pub mod catalog;
pub mod evaluate;
pub mod evidence;
pub mod fixtures;
pub mod framework;
pub mod plan;
pub mod policy;
pub mod render;
pub mod scan;

pub use catalog::{catalog, control, Control, ControlId, EvidenceKind, RemediationKind};
pub use evaluate::{assess, evaluate, Assessment, ControlResult};
pub use evidence::{
    AccessProbeEvidence, Cycles, DrillEvidence, Evidence, ModuleHash, RunStatus, StatusEvidence,
    Visibility,
};
pub use framework::{framework_report, watched, Framework, FrameworkCoverage, FrameworkReport};
pub use plan::{plan_hardening, AutoRemediation, HardeningPlan, SettingsChange};
pub use policy::{HardeningPolicy, Severity, SlaPolicy};
pub use scan::{scan, ControlOutcome, HardeningLevel, ScanReport};

use std::fmt;

/// Errors of the hardening boundary: policy changes and remediation plans.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HardeningError {
    InvalidPolicy {
        field: String,
        reason: String,
    },
    NothingChosen,
    DuplicateControl {
        id: ControlId,
    },
    UnknownControl {
        id: ControlId,
    },
    NoAutoRemediation {
        id: ControlId,
    },
    /// The control passes or is unknown in the scan the plan is made from.
    NotFailing {
        id: ControlId,
        result: String,
    },
    /// The fix exists but the evidence shows the IC would refuse it.
    NotApplicable {
        id: ControlId,
        reason: String,
    },
}

impl fmt::Display for HardeningError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HardeningError::InvalidPolicy { field, reason } => {
                write!(f, "invalid hardening policy `{field}`: {reason}; fix it and submit again")
            }
            HardeningError::NothingChosen => {
                write!(f, "no control chosen: list the failing controls to remediate")
            }
            HardeningError::DuplicateControl { id } => {
                write!(f, "{id} is listed twice: list each control once")
            }
            HardeningError::UnknownControl { id } => write!(
                f,
                "{id} is not a control of the catalog (or not in this scan): see list_controls"
            ),
            HardeningError::NoAutoRemediation { id } => write!(
                f,
                "{id} has no automatic remediation: apply its remediation text by hand"
            ),
            HardeningError::NotFailing { id, result } => write!(
                f,
                "{id} does not fail in this scan ({result}): remove it from the plan, or rescan if the evidence is stale"
            ),
            HardeningError::NotApplicable { id, reason } => write!(
                f,
                "the automatic remediation of {id} cannot be applied: {reason}"
            ),
        }
    }
}

impl std::error::Error for HardeningError {}
