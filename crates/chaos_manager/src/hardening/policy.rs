//! The configurable side of hardening: thresholds, approved releases, SLAs and the frameworks a
//! team watches. Defaults follow DFINITY's published practice where one exists.

use super::evidence::{Cycles, ModuleHash, MAX_CONTROLLERS};
use super::framework::Framework;
use super::HardeningError;
use crate::ids::DurationNs;
use ic_principal::Principal;
use minicbor::{Decode, Encode};
use serde::Serialize;

pub const DAY: DurationNs = DurationNs::from_secs(86_400);

pub const fn days(n: u64) -> DurationNs {
    DurationNs::from_secs(n * 86_400)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode, Serialize)]
#[cbor(index_only)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    #[n(0)]
    Low,
    #[n(1)]
    Medium,
    #[n(2)]
    High,
    #[n(3)]
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 4] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// Remediation deadlines per severity: a finding is due `opened_at + sla(severity)`.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct SlaPolicy {
    #[n(0)]
    pub critical: DurationNs,
    #[n(1)]
    pub high: DurationNs,
    #[n(2)]
    pub medium: DurationNs,
    #[n(3)]
    pub low: DurationNs,
}

impl SlaPolicy {
    pub fn for_severity(&self, s: Severity) -> DurationNs {
        match s {
            Severity::Critical => self.critical,
            Severity::High => self.high,
            Severity::Medium => self.medium,
            Severity::Low => self.low,
        }
    }
}

impl Default for SlaPolicy {
    fn default() -> Self {
        SlaPolicy {
            critical: days(7),
            high: days(30),
            medium: days(90),
            low: days(180),
        }
    }
}

/// Thresholds the controls are evaluated against. Recorded as one event when changed, so a
/// scan can always be explained by the policy in force.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct HardeningPolicy {
    /// DFINITY recommends a freezing threshold of 90 to 180 days.
    #[n(0)]
    pub min_freezing_threshold_days: u64,
    #[n(1)]
    pub max_freezing_threshold_days: u64,
    /// Days the canister must keep answering before it freezes, at its idle burn rate.
    #[n(2)]
    pub min_runway_days: u64,
    /// Releases (reproducible-build hashes) allowed in production. Empty: the module-hash
    /// control is `Unknown`.
    #[n(3)]
    pub approved_module_hashes: Vec<ModuleHash>,
    #[n(4)]
    pub max_snapshot_age: DurationNs,
    #[n(5)]
    pub max_drill_age: DurationNs,
    #[n(6)]
    pub allow_public_logs: bool,
    /// Minimum free share of the heap limit, percent.
    #[n(7)]
    pub min_memory_headroom_pct: u8,
    /// Governance canisters (e.g. NNS root, an SNS root, a black hole) that count as a backup.
    #[cbor(n(8), with = "crate::cbor::principals")]
    pub governance_controllers: Vec<Principal>,
    #[n(9)]
    pub watchlist: Vec<Framework>,
    #[n(10)]
    pub sla: SlaPolicy,
    /// Most controllers a target may have; the protocol caps the list at 10.
    #[n(11)]
    pub max_controllers: u8,
    /// Upper bound of an acceptable `reserved_cycles_limit`.
    #[n(12)]
    pub max_reserved_cycles_limit: Cycles,
    /// What automatic remediation sets `reserved_cycles_limit` to.
    #[n(13)]
    pub reserved_cycles_limit_target: Cycles,
    /// What automatic remediation sets `wasm_memory_limit` to. The threshold it sets is
    /// `min_memory_headroom_pct` of this limit.
    #[n(14)]
    pub wasm_memory_limit_target_bytes: u64,
    /// Evidence older than this is not trusted: every control reads `Unknown`.
    #[n(15)]
    pub max_evidence_age: DurationNs,
    /// Serve scan and readiness pages over the anonymous HTTP gateway (`http_request`). Off by
    /// default: a scan page tells anyone the target's weaknesses.
    #[n(16)]
    pub publish_reports: bool,
}

/// NNS root (`r7inp-6aaaa-aaaaa-aaabq-cai`), the governance controller of NNS canisters.
pub fn nns_root() -> Principal {
    Principal::from_text("r7inp-6aaaa-aaaaa-aaabq-cai").expect("valid principal text")
}

impl Default for HardeningPolicy {
    fn default() -> Self {
        HardeningPolicy {
            min_freezing_threshold_days: 90,
            max_freezing_threshold_days: 180,
            min_runway_days: 90,
            approved_module_hashes: Vec::new(),
            max_snapshot_age: days(7),
            max_drill_age: days(30),
            allow_public_logs: false,
            min_memory_headroom_pct: 20,
            governance_controllers: vec![nns_root()],
            watchlist: Framework::ALL.to_vec(),
            sla: SlaPolicy::default(),
            max_controllers: 9,
            max_reserved_cycles_limit: Cycles(5_000_000_000_000),
            reserved_cycles_limit_target: Cycles(5_000_000_000_000),
            wasm_memory_limit_target_bytes: 3 << 30,
            max_evidence_age: DAY,
            publish_reports: false,
        }
    }
}

/// The largest `wasm_memory_limit` the IC accepts: 2^48 - 1 bytes.
pub const MAX_WASM_MEMORY_LIMIT: u64 = (1 << 48) - 1;

impl HardeningPolicy {
    /// The `wasm_memory_threshold` automatic remediation sets: the headroom share of the limit,
    /// so the low-memory hook fires exactly when the headroom control would start failing.
    pub fn wasm_memory_threshold_target_bytes(&self) -> u64 {
        self.wasm_memory_limit_target_bytes / 100 * u64::from(self.min_memory_headroom_pct)
    }

    /// Checks every bound; the error names the field and the accepted range.
    pub fn validate(&self) -> Result<(), HardeningError> {
        let bad = |field: &str, reason: String| {
            Err(HardeningError::InvalidPolicy {
                field: field.into(),
                reason,
            })
        };
        if self.min_freezing_threshold_days == 0 {
            return bad("min_freezing_threshold_days", "must be at least 1".into());
        }
        if self.max_freezing_threshold_days < self.min_freezing_threshold_days
            || self.max_freezing_threshold_days > 3650
        {
            return bad(
                "max_freezing_threshold_days",
                format!(
                    "must be between min_freezing_threshold_days ({}) and 3650",
                    self.min_freezing_threshold_days
                ),
            );
        }
        if self.min_runway_days == 0 || self.min_runway_days > 3650 {
            return bad("min_runway_days", "must be between 1 and 3650".into());
        }
        let mut hashes = self.approved_module_hashes.clone();
        hashes.sort();
        hashes.dedup();
        if hashes.len() != self.approved_module_hashes.len() {
            return bad("approved_module_hashes", "lists a hash twice".into());
        }
        if let Some(h) = self.approved_module_hashes.iter().find(|h| h.0.len() != 32) {
            return bad(
                "approved_module_hashes",
                format!("{h} is not a 32-byte SHA-256 module hash"),
            );
        }
        if self.max_snapshot_age.0 == 0 || self.max_drill_age.0 == 0 {
            return bad(
                "max_snapshot_age / max_drill_age",
                "must be greater than zero".into(),
            );
        }
        if !(1..=90).contains(&self.min_memory_headroom_pct) {
            return bad("min_memory_headroom_pct", "must be between 1 and 90".into());
        }
        if self
            .governance_controllers
            .contains(&Principal::anonymous())
        {
            return bad(
                "governance_controllers",
                "the anonymous principal is not a governance canister".into(),
            );
        }
        let mut watch = self.watchlist.clone();
        watch.sort();
        watch.dedup();
        if watch.len() != self.watchlist.len() {
            return bad("watchlist", "lists a framework twice".into());
        }
        let sla = &self.sla;
        if sla.critical.0 == 0
            || sla.critical > sla.high
            || sla.high > sla.medium
            || sla.medium > sla.low
        {
            return bad(
                "sla",
                "must be non-zero and ordered critical <= high <= medium <= low".into(),
            );
        }
        if self.max_controllers == 0 || usize::from(self.max_controllers) > MAX_CONTROLLERS {
            return bad("max_controllers", "must be between 1 and 10".into());
        }
        if self.reserved_cycles_limit_target.0 == 0
            || self.reserved_cycles_limit_target > self.max_reserved_cycles_limit
        {
            return bad(
                "reserved_cycles_limit_target",
                format!(
                    "must be non-zero and at most max_reserved_cycles_limit ({})",
                    self.max_reserved_cycles_limit
                ),
            );
        }
        if self.wasm_memory_limit_target_bytes == 0
            || self.wasm_memory_limit_target_bytes > MAX_WASM_MEMORY_LIMIT
        {
            return bad(
                "wasm_memory_limit_target_bytes",
                "must be between 1 and 2^48 - 1".into(),
            );
        }
        if self.max_evidence_age.0 == 0 {
            return bad("max_evidence_age", "must be greater than zero".into());
        }
        Ok(())
    }
}
