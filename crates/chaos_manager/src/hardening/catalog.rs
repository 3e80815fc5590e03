//! The controls catalog: concrete, automatically checkable IC security and resilience
//! controls. Ids are stable and never reused; a retired control keeps its id retired.

use super::framework::{gdpr, iso, nist, soc2, Mapping};
use super::policy::Severity;
use minicbor::{Decode, Encode};
use serde::Serialize;
use std::fmt;

/// A control's stable id, e.g. `IC-CTRL-01`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode, Serialize)]
#[cbor(transparent)]
#[serde(transparent)]
pub struct ControlId(#[n(0)] pub String);

impl ControlId {
    pub fn new(id: &str) -> Self {
        ControlId(id.to_string())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ControlId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Which evidence a control reads (and so which effect the shell must perform for it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceKind {
    /// `canister_status`: settings, status, module hash, memory and cycles.
    CanisterStatus,
    /// `canister_metadata` (callable only by canisters).
    CanisterMetadata,
    /// `list_canister_snapshots`.
    SnapshotList,
    /// The suite's own drill history.
    DrillHistory,
    /// chaos_probe's unprivileged calls of the target's privileged methods.
    AccessProbe,
}

/// An automatic fix the suite can apply under approval; parameters come from the policy and
/// the evidence when the plan is made (see [`super::plan`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RemediationKind {
    SetFreezingThreshold,
    SetWasmMemoryLimit,
    SetWasmMemoryThreshold,
    SetLogVisibilityControllers,
    SetSnapshotVisibilityControllers,
    SetStatusVisibilityControllers,
    SetReservedCyclesLimit,
    TakeSnapshot,
}

/// The rule a control applies; one arm per control in [`super::evaluate`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Check {
    NoAnonymousController,
    BackupController,
    SuiteNotSoleController,
    SuiteIsController,
    ControllerCount,
    FreezingThreshold,
    CyclesRunway,
    ReservedCyclesLimit,
    ReservedCyclesHeadroom,
    WasmMemoryLimit,
    WasmMemoryThreshold,
    HeapHeadroom,
    MemoryAllocationHeadroom,
    Running,
    LogVisibility,
    SnapshotVisibility,
    StatusVisibility,
    ApprovedModule,
    CandidPublished,
    RecentSnapshot,
    RecentDrill,
    DrillObjectives,
    AccessProbe,
}

#[derive(Clone, Debug, Serialize)]
pub struct Control {
    pub id: &'static str,
    pub title: &'static str,
    pub rationale: &'static str,
    pub reads: &'static [EvidenceKind],
    pub severity: Severity,
    /// Share of the hardening score; by convention critical 10, high 6, medium 3, low 1.
    pub weight: u32,
    /// What a person does to fix it; `<canister>` is the target's id.
    pub remediation: &'static str,
    pub auto_remediation: Option<RemediationKind>,
    pub mappings: &'static [Mapping],
    #[serde(skip)]
    pub(crate) check: Check,
}

use EvidenceKind::*;
use Severity::*;

const STATUS: &[EvidenceKind] = &[CanisterStatus];

#[rustfmt::skip]
static CATALOG: &[Control] = &[
    Control {
        id: "IC-CTRL-01", title: "No anonymous controller",
        rationale: "The anonymous principal (2vxsx-fae) as a controller lets anyone on the internet upgrade, stop, delete or drain the canister.",
        reads: STATUS, severity: Critical, weight: 10,
        remediation: "dfx canister update-settings <canister> --remove-controller 2vxsx-fae",
        auto_remediation: None,
        mappings: &[soc2("CC6.1"), iso("A.5.15"), iso("A.8.2"), iso("A.8.5"), nist("AC-2"), nist("AC-3"), nist("IA-2"), gdpr("Art. 32(1)(b)")],
        check: Check::NoAnonymousController,
    },
    Control {
        id: "IC-CTRL-02", title: "A backup or governance controller exists",
        rationale: "With a single controller, a lost or compromised key means the canister can never be upgraded or recovered again. A second controller (kept offline) or a governance canister (NNS/SNS root) is the recovery path.",
        reads: STATUS, severity: High, weight: 6,
        remediation: "dfx canister update-settings <canister> --add-controller <backup-principal> (an offline backup identity, or the governing root canister)",
        auto_remediation: None,
        mappings: &[soc2("A1.2"), iso("A.5.30"), gdpr("Art. 32(1)(b)")],
        check: Check::BackupController,
    },
    Control {
        id: "IC-CTRL-03", title: "chaos_system is not the sole controller",
        rationale: "A testing and recovery tool must not be the only administrator: a bug or compromise of the suite would then hold the target hostage, with no human path to fix it (segregation of duties).",
        reads: STATUS, severity: High, weight: 6,
        remediation: "dfx canister update-settings <canister> --add-controller <operator-principal>",
        auto_remediation: None,
        mappings: &[soc2("CC6.3"), iso("A.5.3"), iso("A.8.2"), nist("AC-5"), nist("AC-6")],
        check: Check::SuiteNotSoleController,
    },
    Control {
        id: "IC-CTRL-04", title: "chaos_system is a controller",
        rationale: "Snapshots, drills and automatic remediation need controller rights; when the suite was removed, backups and recovery tests silently stop.",
        reads: STATUS, severity: Medium, weight: 3,
        remediation: "dfx canister update-settings <canister> --add-controller <chaos_system-id> (only for targets the suite should protect)",
        auto_remediation: None,
        mappings: &[soc2("A1.2"), iso("A.5.30"), nist("CP-10")],
        check: Check::SuiteIsController,
    },
    Control {
        id: "IC-CTRL-05", title: "Controllers list within bound",
        rationale: "Every controller holds full privilege: keep the list short (least privilege) and leave a free slot under the protocol cap of 10 so an emergency controller can be added without removing one first.",
        reads: STATUS, severity: Low, weight: 1,
        remediation: "dfx canister update-settings <canister> --remove-controller <principal> for each controller no longer needed",
        auto_remediation: None,
        mappings: &[soc2("CC6.3"), iso("A.8.2"), nist("AC-6")],
        check: Check::ControllerCount,
    },
    Control {
        id: "IC-CTRL-06", title: "Freezing threshold within the recommended window",
        rationale: "The freezing threshold is the time between the canister freezing (rejecting calls) and its deletion for lack of cycles. DFINITY recommends 90 to 180 days; below that, a cycle-draining attack or a missed top-up can delete the canister; above it, the canister freezes while still holding a large balance.",
        reads: STATUS, severity: High, weight: 6,
        remediation: "dfx canister update-settings <canister> --freezing-threshold 7776000 (90 days, in seconds)",
        auto_remediation: Some(RemediationKind::SetFreezingThreshold),
        mappings: &[soc2("A1.1"), iso("A.8.6"), iso("A.8.9"), nist("CM-6"), nist("SC-5"), gdpr("Art. 32(1)(b)")],
        check: Check::FreezingThreshold,
    },
    Control {
        id: "IC-CTRL-07", title: "Cycles runway before freezing",
        rationale: "Days the canister keeps answering at its idle burn rate before it reaches the freezing threshold: (cycles / idle_cycles_burned_per_day) - freezing threshold. Idle burn excludes message execution, so the real runway is shorter than this figure.",
        reads: STATUS, severity: High, weight: 6,
        remediation: "dfx cycles top-up <canister> <amount> (or dfx canister deposit-cycles <amount> <canister>), and set up automatic top-ups",
        auto_remediation: None,
        mappings: &[soc2("A1.1"), iso("A.8.6"), gdpr("Art. 32(1)(b)")],
        check: Check::CyclesRunway,
    },
    Control {
        id: "IC-CTRL-08", title: "Reserved cycles limit bounded and non-zero",
        rationale: "reserved_cycles_limit caps the cycles the resource-reservation mechanism may set aside when the subnet's storage is busy. 0 disables reservation (memory growth then traps on a busy subnet); an unbounded limit allows unexpected spending. The status reports the effective value, so an explicit setting equal to the default is indistinguishable from the default.",
        reads: STATUS, severity: Medium, weight: 3,
        remediation: "dfx canister update-settings <canister> --reserved-cycles-limit 5000000000000",
        auto_remediation: Some(RemediationKind::SetReservedCyclesLimit),
        mappings: &[soc2("A1.1"), iso("A.8.6"), iso("A.8.9"), nist("CM-6"), nist("SC-6")],
        check: Check::ReservedCyclesLimit,
    },
    Control {
        id: "IC-CTRL-09", title: "Reserved cycles below 90% of their limit",
        rationale: "When reserved cycles reach reserved_cycles_limit, the next storage allocation on a busy subnet fails: the canister can no longer grow its memory.",
        reads: STATUS, severity: Medium, weight: 3,
        remediation: "raise the limit above the reserved balance: dfx canister update-settings <canister> --reserved-cycles-limit <higher>, or reduce memory growth",
        auto_remediation: None,
        mappings: &[soc2("A1.1"), iso("A.8.6"), nist("SC-6")],
        check: Check::ReservedCyclesHeadroom,
    },
    Control {
        id: "IC-CTRL-10", title: "wasm_memory_limit enforced",
        rationale: "A heap that reaches the 4 GiB wasm32 maximum leaves no room for upgrade hooks: the canister may become impossible to upgrade. An enforced limit (default 3 GiB) makes growth fail early and safely.",
        reads: STATUS, severity: Medium, weight: 3,
        remediation: "dfx canister update-settings <canister> --wasm-memory-limit 3221225472",
        auto_remediation: Some(RemediationKind::SetWasmMemoryLimit),
        mappings: &[soc2("A1.1"), iso("A.8.6"), iso("A.8.9"), nist("CM-6"), nist("SC-6"), gdpr("Art. 32(1)(b)")],
        check: Check::WasmMemoryLimit,
    },
    Control {
        id: "IC-CTRL-11", title: "wasm_memory_threshold set",
        rationale: "A non-zero threshold schedules the canister's on_low_wasm_memory hook when free heap falls below it, so it can alert or shed load before the limit. It is only useful if the module exports the hook, which the scan cannot see.",
        reads: STATUS, severity: Low, weight: 1,
        remediation: "dfx canister update-settings <canister> --wasm-memory-threshold 644245094 (20% of 3 GiB), and implement the on_low_wasm_memory hook",
        auto_remediation: Some(RemediationKind::SetWasmMemoryThreshold),
        mappings: &[soc2("A1.1"), iso("A.8.6")],
        check: Check::WasmMemoryThreshold,
    },
    Control {
        id: "IC-CTRL-12", title: "Heap headroom",
        rationale: "Free share of the heap limit (wasm_memory_limit, or 4 GiB when none is enforced). Heap growth close to the limit makes updates and upgrades fail.",
        reads: STATUS, severity: Medium, weight: 3,
        remediation: "move data to stable memory (ic-stable-structures) or raise the limit: dfx canister update-settings <canister> --wasm-memory-limit <bytes>",
        auto_remediation: None,
        mappings: &[soc2("A1.1"), iso("A.8.6"), gdpr("Art. 32(1)(b)")],
        check: Check::HeapHeadroom,
    },
    Control {
        id: "IC-CTRL-13", title: "Memory allocation headroom",
        rationale: "With a memory_allocation set, the canister cannot use more than it reserved: close to it, every memory growth fails. 0 (best effort) has no such ceiling.",
        reads: STATUS, severity: Low, weight: 1,
        remediation: "dfx canister update-settings <canister> --memory-allocation <bytes> (larger), or 0 for best effort",
        auto_remediation: None,
        mappings: &[soc2("A1.1"), iso("A.8.6")],
        check: Check::MemoryAllocationHeadroom,
    },
    Control {
        id: "IC-CTRL-14", title: "Canister running",
        rationale: "A stopping or stopped canister rejects every call: the service is down.",
        reads: STATUS, severity: High, weight: 6,
        remediation: "dfx canister start <canister> (after finding out who stopped it and why)",
        auto_remediation: None,
        mappings: &[soc2("CC7.2"), iso("A.8.16"), gdpr("Art. 32(1)(b)")],
        check: Check::Running,
    },
    Control {
        id: "IC-CTRL-15", title: "Logs not public",
        rationale: "Canister logs often carry principals, amounts and internal errors; public logs disclose them to anyone. Restricted by default is data protection by default.",
        reads: STATUS, severity: Medium, weight: 3,
        remediation: "dfx canister update-settings <canister> --log-visibility controllers",
        auto_remediation: Some(RemediationKind::SetLogVisibilityControllers),
        mappings: &[soc2("CC6.1"), iso("A.8.3"), iso("A.8.15"), nist("AC-3"), nist("AU-9"), gdpr("Art. 5(1)(f)"), gdpr("Art. 25")],
        check: Check::LogVisibility,
    },
    Control {
        id: "IC-CTRL-16", title: "Snapshots not public",
        rationale: "A snapshot holds the whole heap and stable memory: public snapshot visibility lets anyone read every user's data. Backups must be protected like the data itself.",
        reads: STATUS, severity: High, weight: 6,
        remediation: "dfx canister call aaaaa-aa update_settings '(record { canister_id = principal \"<canister>\"; settings = record { snapshot_visibility = opt variant { controllers } } })'",
        auto_remediation: Some(RemediationKind::SetSnapshotVisibilityControllers),
        mappings: &[soc2("CC6.1"), iso("A.8.3"), nist("AC-3"), nist("CP-9"), gdpr("Art. 5(1)(f)"), gdpr("Art. 25"), gdpr("Art. 32(1)(b)")],
        check: Check::SnapshotVisibility,
    },
    Control {
        id: "IC-CTRL-17", title: "Status not public",
        rationale: "Public status discloses controllers, cycles balance and burn rate: an attacker can time a cycle-draining attack against the freezing threshold. Low severity: the module hash and controllers are also readable from the state tree.",
        reads: STATUS, severity: Low, weight: 1,
        remediation: "dfx canister call aaaaa-aa update_settings '(record { canister_id = principal \"<canister>\"; settings = record { status_visibility = opt variant { controllers } } })'",
        auto_remediation: Some(RemediationKind::SetStatusVisibilityControllers),
        mappings: &[soc2("CC6.1"), iso("A.8.3"), nist("AC-3")],
        check: Check::StatusVisibility,
    },
    Control {
        id: "IC-CTRL-18", title: "Approved release installed",
        rationale: "The installed module's SHA-256 must be one of the approved, reproducibly built releases: anything else is an unreviewed change (or a compromise).",
        reads: STATUS, severity: High, weight: 6,
        remediation: "install an approved release (dfx canister install <canister> --mode upgrade --wasm <approved.wasm>), or, after review, add the reproducible build's hash to approved_module_hashes",
        auto_remediation: None,
        mappings: &[soc2("CC7.1"), soc2("CC8.1"), iso("A.8.19"), iso("A.8.32"), nist("CM-2"), nist("CM-3"), nist("SI-7"), gdpr("Art. 32(1)(b)")],
        check: Check::ApprovedModule,
    },
    Control {
        id: "IC-CTRL-19", title: "candid:service metadata published",
        rationale: "A public candid:service section documents the interface for clients, auditors and tooling (and lets the suite compare it with the expected interface).",
        reads: &[CanisterMetadata], severity: Low, weight: 1,
        remediation: "ic-wasm <module.wasm> -o <module.wasm> metadata candid:service -f <service.did> -v public, then upgrade",
        auto_remediation: None,
        mappings: &[nist("SA-5")],
        check: Check::CandidPublished,
    },
    Control {
        id: "IC-CTRL-20", title: "Recent snapshot",
        rationale: "A snapshot is the restore point for a bad upgrade or corrupted state. It lives on the same subnet, so it does not protect against losing the subnet.",
        reads: &[SnapshotList], severity: High, weight: 6,
        remediation: "dfx canister stop <canister> && dfx canister snapshot create <canister> && dfx canister start <canister>",
        auto_remediation: Some(RemediationKind::TakeSnapshot),
        mappings: &[soc2("A1.2"), iso("A.8.13"), nist("CP-9"), gdpr("Art. 32(1)(c)")],
        check: Check::RecentSnapshot,
    },
    Control {
        id: "IC-CTRL-21", title: "Recent passing DR drill",
        rationale: "A backup that was never restored is a hope: a DR drill restores a snapshot on the real canister and measures it. The latest drill must be recent and must have passed.",
        reads: &[DrillHistory], severity: High, weight: 6,
        remediation: "start a DR drill of the target from chaos_system (start_drill) and fix what it reports",
        auto_remediation: None,
        mappings: &[soc2("A1.3"), iso("A.5.30"), iso("A.8.13"), nist("CP-4"), gdpr("Art. 32(1)(d)")],
        check: Check::RecentDrill,
    },
    Control {
        id: "IC-CTRL-22", title: "Last DR drill met its RTO and RPO",
        rationale: "Recovery must meet the target's objectives: how long it was down (RTO) and how much was lost (RPO). Unknown until a drill has measured both (an aborted drill measures neither).",
        reads: &[DrillHistory], severity: High, weight: 6,
        remediation: "read the last drill report (get_drill), fix the failed criterion, and drill again",
        auto_remediation: None,
        mappings: &[soc2("A1.3"), iso("A.5.30"), nist("CP-4"), nist("CP-10"), gdpr("Art. 32(1)(c)")],
        check: Check::DrillObjectives,
    },
    Control {
        id: "IC-CTRL-23", title: "Privileged methods reject unprivileged callers",
        rationale: "Calls of privileged methods by the anonymous principal and by an identity holding no role must be rejected by the method itself (inspect_message is only a pre-filter and does not run for inter-canister calls).",
        reads: &[AccessProbe], severity: Critical, weight: 10,
        remediation: "make each privileged method's first line check the caller (reject anonymous and unknown principals) and redeploy; re-run the access probe",
        auto_remediation: None,
        mappings: &[soc2("CC6.1"), soc2("CC7.1"), iso("A.8.3"), iso("A.8.5"), iso("A.8.8"), nist("AC-3"), nist("AC-6"), nist("RA-5"), gdpr("Art. 5(1)(f)"), gdpr("Art. 32(1)(b)"), gdpr("Art. 32(1)(d)")],
        check: Check::AccessProbe,
    },
];

/// All controls, in id order.
pub fn catalog() -> &'static [Control] {
    CATALOG
}

pub fn control(id: &ControlId) -> Option<&'static Control> {
    CATALOG.iter().find(|c| c.id == id.as_str())
}

impl Control {
    pub fn control_id(&self) -> ControlId {
        ControlId::new(self.id)
    }
}
