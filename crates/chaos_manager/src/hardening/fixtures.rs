//! Scenario builders: a well-hardened target and a weakly configured one, as evidence. Shared
//! by the native tests and the simulator, so both start from the same fleet.

use super::evidence::{
    AccessProbeEvidence, Cycles, DrillEvidence, Evidence, ModuleHash, RunStatus, StatusEvidence,
    Visibility,
};
use super::plan::{AutoRemediation, HardeningPlan};
use super::policy::{days, HardeningPolicy};
use crate::ids::{DurationNs, SnapshotId, TimestampNs};
use ic_principal::Principal;

/// The release the fixtures install; [`policy_approving_release`] approves it.
pub fn release_hash() -> ModuleHash {
    ModuleHash(vec![0xab; 32])
}

/// The default policy plus the fixtures' release in the approved list.
pub fn policy_approving_release() -> HardeningPolicy {
    HardeningPolicy {
        approved_module_hashes: vec![release_hash()],
        ..HardeningPolicy::default()
    }
}

/// A second, human controller used by the fixtures.
pub fn owner() -> Principal {
    Principal::from_slice(&[0x0e, 0x01])
}

/// An offline backup controller used by the fixtures.
pub fn backup_owner() -> Principal {
    Principal::from_slice(&[0x0e, 0x02])
}

const GIB: u64 = 1 << 30;

/// `canister_status` of a canister configured the way the catalog asks.
pub fn hardened_status(suite: Principal) -> StatusEvidence {
    StatusEvidence {
        controllers: vec![owner(), backup_owner(), suite],
        status: RunStatus::Running,
        freezing_threshold_secs: 90 * 86_400,
        memory_allocation_bytes: 0,
        compute_allocation_pct: 0,
        reserved_cycles_limit: Some(Cycles(5_000_000_000_000)),
        wasm_memory_limit_bytes: Some(3 * GIB),
        wasm_memory_threshold_bytes: Some(3 * GIB / 5),
        log_visibility: Some(Visibility::Controllers),
        snapshot_visibility: Some(Visibility::Controllers),
        status_visibility: Some(Visibility::Controllers),
        module_hash: Some(release_hash()),
        memory_size_bytes: 200 << 20,
        wasm_memory_size_bytes: Some(100 << 20),
        // 10T cycles at 20B per day: 500 days to zero, 410 days before freezing.
        cycles: Cycles(10_000_000_000_000),
        idle_cycles_burned_per_day: Cycles(20_000_000_000),
        reserved_cycles: Cycles(0),
    }
}

/// Evidence on which every control passes under [`policy_approving_release`] at `now`.
pub fn hardened_evidence(target: Principal, suite: Principal, now: TimestampNs) -> Evidence {
    Evidence {
        target,
        suite,
        collected_at: now,
        status: Ok(hardened_status(suite)),
        candid_service_public: Some(true),
        snapshots: Some(vec![(
            SnapshotId(vec![1, 2, 3]),
            before(now, DurationNs::from_secs(86_400)),
        )]),
        last_drill: Some(DrillEvidence {
            finished_at: before(now, days(2)),
            passed: true,
            rto_within: Some(true),
            rpo_within: Some(true),
        }),
        access_probe: Some(AccessProbeEvidence {
            probed_at: before(now, DurationNs::from_secs(3_600)),
            probed_methods: vec!["withdraw".into(), "set_config".into()],
            accepted_unprivileged: vec![],
        }),
    }
}

/// A canister as `dfx deploy` leaves it, plus the usual mistakes: one human controller,
/// the default 30-day freezing threshold, no low-memory threshold, public logs, no snapshot,
/// never drilled, never probed.
pub fn weak_evidence(target: Principal, suite: Principal, now: TimestampNs) -> Evidence {
    let mut status = hardened_status(suite);
    status.controllers = vec![owner(), suite];
    status.freezing_threshold_secs = 30 * 86_400;
    status.wasm_memory_threshold_bytes = Some(0);
    status.log_visibility = Some(Visibility::Public);
    Evidence {
        target,
        suite,
        collected_at: now,
        status: Ok(status),
        candid_service_public: Some(true),
        snapshots: Some(vec![]),
        last_drill: None,
        access_probe: None,
    }
}

/// What a successful `perform_hardening` leaves behind, as the next scan would read it: the
/// settings changed and, when planned, a new snapshot taken at `now`.
pub fn apply_plan(evidence: &Evidence, plan: &HardeningPlan, now: TimestampNs) -> Evidence {
    let mut e = evidence.clone();
    e.collected_at = now;
    if let (Some(change), Ok(status)) = (&plan.settings, e.status.as_mut()) {
        change.apply_to(status);
    }
    if let Some(AutoRemediation::TakeSnapshot { replace }) = &plan.snapshot {
        let list = e.snapshots.get_or_insert_with(Vec::new);
        if let Some(old) = replace {
            list.retain(|(id, _)| id != old);
        }
        list.push((SnapshotId(now.0.to_be_bytes().to_vec()), now));
    }
    e
}

fn before(now: TimestampNs, d: DurationNs) -> TimestampNs {
    TimestampNs(now.0.saturating_sub(d.0))
}
