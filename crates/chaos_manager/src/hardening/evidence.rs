//! What a shell collected about one target, as plain data. Every field that the IC may refuse
//! to show, or that an older replica does not report, is an `Option` or a `Result`: missing
//! evidence makes a control `Unknown`, never `Pass`.

use crate::drill::{DrillReport, Verdict};
use crate::ids::{SnapshotId, TimestampNs};
use ic_principal::Principal;
use minicbor::{Decode, Encode};
use serde::Serialize;
use std::fmt;

/// An amount of cycles (the IC reports them as `nat`; 128 bits hold any real balance).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode, Serialize,
)]
#[cbor(transparent)]
#[serde(transparent)]
pub struct Cycles(#[n(0)] pub u128);

impl fmt::Display for Cycles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = self.0;
        if c >= 1_000_000_000_000 {
            write!(f, "{:.3}T cycles", c as f64 / 1e12)
        } else if c >= 1_000_000_000 {
            write!(f, "{:.3}B cycles", c as f64 / 1e9)
        } else {
            write!(f, "{c} cycles")
        }
    }
}

/// SHA-256 of an installed Wasm module, as `canister_status.module_hash` reports it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
#[cbor(transparent)]
pub struct ModuleHash(#[cbor(n(0), with = "minicbor::bytes")] pub Vec<u8>);

impl fmt::Display for ModuleHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in &self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
#[cbor(index_only)]
pub enum RunStatus {
    #[n(0)]
    Running,
    #[n(1)]
    Stopping,
    #[n(2)]
    Stopped,
}

impl RunStatus {
    pub fn name(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Stopping => "stopping",
            RunStatus::Stopped => "stopped",
        }
    }
}

/// Who may read a canister's logs, snapshots or status (`log_visibility`,
/// `snapshot_visibility`, `status_visibility` share this shape).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum Visibility {
    #[n(0)]
    Controllers,
    #[n(1)]
    Public,
    #[n(2)]
    AllowedViewers(#[cbor(n(0), with = "crate::cbor::principals")] Vec<Principal>),
}

impl Visibility {
    /// Public, or an allowed-viewers list naming the anonymous principal (the same thing).
    pub fn is_effectively_public(&self) -> bool {
        match self {
            Visibility::Public => true,
            Visibility::AllowedViewers(v) => v.contains(&Principal::anonymous()),
            Visibility::Controllers => false,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Visibility::Controllers => "controllers".into(),
            Visibility::Public => "public".into(),
            Visibility::AllowedViewers(v) => format!(
                "allowed viewers [{}]",
                v.iter().map(|p| p.to_text()).collect::<Vec<_>>().join(", ")
            ),
        }
    }
}

/// What `canister_status` gives a controller. Fields that older replicas (or older
/// `ic-management-canister-types` mirrors) do not report are `Option`: `None` = not reported.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct StatusEvidence {
    #[cbor(n(0), with = "crate::cbor::principals")]
    pub controllers: Vec<Principal>,
    #[n(1)]
    pub status: RunStatus,
    #[n(2)]
    pub freezing_threshold_secs: u64,
    /// 0 = best effort (no reservation).
    #[n(3)]
    pub memory_allocation_bytes: u64,
    /// Percent of one execution core, 0..=100.
    #[n(4)]
    pub compute_allocation_pct: u64,
    /// 0 disables the reservation mechanism.
    #[n(5)]
    pub reserved_cycles_limit: Option<Cycles>,
    /// 0 = no limit enforced.
    #[n(6)]
    pub wasm_memory_limit_bytes: Option<u64>,
    /// 0 = the `on_low_wasm_memory` hook is never scheduled.
    #[n(7)]
    pub wasm_memory_threshold_bytes: Option<u64>,
    #[n(8)]
    /// `None`: the replica's reply had none this version can read (the control is Unknown).
    pub log_visibility: Option<Visibility>,
    #[n(9)]
    pub snapshot_visibility: Option<Visibility>,
    #[n(10)]
    pub status_visibility: Option<Visibility>,
    /// `None`: no module installed (an empty canister).
    #[n(11)]
    pub module_hash: Option<ModuleHash>,
    /// Total memory: heap, stable memory, chunk store, snapshots and system state.
    #[n(12)]
    pub memory_size_bytes: u64,
    /// `memory_metrics.wasm_memory_size`: the heap alone.
    #[n(13)]
    pub wasm_memory_size_bytes: Option<u64>,
    #[n(14)]
    pub cycles: Cycles,
    #[n(15)]
    pub idle_cycles_burned_per_day: Cycles,
    #[n(16)]
    pub reserved_cycles: Cycles,
}

/// The latest finished DR drill of the target, from the suite's own log.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct DrillEvidence {
    #[n(0)]
    pub finished_at: TimestampNs,
    #[n(1)]
    pub passed: bool,
    /// `None`: not measured (the drill aborted before the disaster), which is not the same
    /// as "missed".
    #[n(2)]
    pub rto_within: Option<bool>,
    #[n(3)]
    pub rpo_within: Option<bool>,
}

impl DrillEvidence {
    /// Reads a finished drill's report: its verdict and its RTO/RPO criteria. An aborted
    /// drill has no RTO/RPO criteria (nothing was destroyed): both read `None`. A drill whose
    /// recovery never answered has them, failed.
    pub fn from_report(report: &DrillReport) -> Self {
        let criterion = |name: &str| {
            report
                .criteria
                .iter()
                .find(|c| c.name == name)
                .map(|c| c.passed)
        };
        DrillEvidence {
            finished_at: report.finished_at,
            passed: report.verdict == Verdict::Passed,
            rto_within: criterion("rto_within_objective"),
            rpo_within: criterion("rpo_within_objective"),
        }
    }
}

/// The result of calling the target's privileged methods as an unprivileged caller
/// (chaos_probe: the anonymous principal and an identity holding no role).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct AccessProbeEvidence {
    #[n(0)]
    pub probed_at: TimestampNs,
    #[n(1)]
    pub probed_methods: Vec<String>,
    /// Methods that replied instead of rejecting: each is an access-control hole.
    #[n(2)]
    pub accepted_unprivileged: Vec<String>,
}

/// Everything a scan of one target reads. Collected by a shell at `collected_at`.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Evidence {
    #[cbor(n(0), with = "crate::cbor::principal")]
    pub target: Principal,
    /// The chaos_system canister (or its simulated twin) that collected the evidence.
    #[cbor(n(1), with = "crate::cbor::principal")]
    pub suite: Principal,
    #[n(2)]
    pub collected_at: TimestampNs,
    /// `canister_status`, or why it could not be read (e.g. the suite is not a controller).
    #[n(3)]
    pub status: Result<StatusEvidence, String>,
    /// Whether `canister_metadata` returned a public `candid:service` section.
    /// `None` = not read (only canisters can call `canister_metadata`).
    #[n(4)]
    pub candid_service_public: Option<bool>,
    /// `list_canister_snapshots` (id, taken at). `None` = not readable.
    #[n(5)]
    pub snapshots: Option<Vec<(SnapshotId, TimestampNs)>>,
    /// The suite's latest finished drill of this target; `None` = never drilled.
    #[n(6)]
    pub last_drill: Option<DrillEvidence>,
    /// `None` = not probed yet.
    #[n(7)]
    pub access_probe: Option<AccessProbeEvidence>,
}

impl Evidence {
    pub fn status(&self) -> Result<&StatusEvidence, &str> {
        self.status.as_ref().map_err(String::as_str)
    }

    /// The newest snapshot, if the list was readable and not empty.
    pub fn newest_snapshot(&self) -> Option<&(SnapshotId, TimestampNs)> {
        self.snapshots.as_ref()?.iter().max_by_key(|(_, at)| *at)
    }

    /// The oldest snapshot: the one to replace when the canister holds the maximum.
    pub fn oldest_snapshot(&self) -> Option<&(SnapshotId, TimestampNs)> {
        self.snapshots.as_ref()?.iter().min_by_key(|(_, at)| *at)
    }
}

/// The IC keeps at most this many snapshots per canister.
pub const MAX_SNAPSHOTS_PER_CANISTER: usize = 10;
/// The protocol caps a canister's controllers list at this length.
pub const MAX_CONTROLLERS: usize = 10;
/// The wasm32 heap maximum; the reference when no `wasm_memory_limit` is enforced.
pub const WASM32_HEAP_BYTES: u64 = 4 << 30;
