//! Collecting hardening evidence about a target: `canister_status` and
//! `list_canister_snapshots`, both bounded-wait calls to the management canister.
//!
//! Both replies are decoded through our own mirror types, not ic-management-canister-types:
//! replicas add fields (types 0.11 require `status_visibility`,
//! `memory_metrics.log_memory_store_size` ...) and older ones (PocketIC servers among them)
//! omit them, which makes a strict decode fail. Every field a replica may omit is `opt` here;
//! Candid decodes a missing field, or a value of a newer shape (a new visibility variant), as
//! `null`, and the core reads `null` as "not reported" (the control is `Unknown`, never `Pass`).
//! Fields Candid skips (unknown to us) cost nothing.

use candid::{CandidType, Deserialize, Nat, Principal};
use chaos_manager::effect::{Outcome, SnapshotInfo};
use chaos_manager::fault::TargetStatus;
use chaos_manager::hardening::{
    Cycles, Evidence, ModuleHash, RunStatus, StatusEvidence, Visibility,
};
use chaos_manager::{SnapshotId, TimestampNs};
use ic_cdk::call::Call;
use serde_bytes::ByteBuf;

#[derive(CandidType, Deserialize)]
struct CanisterIdRecord {
    canister_id: Principal,
}

#[derive(CandidType, Deserialize)]
enum RunStatusReply {
    #[serde(rename = "running")]
    Running,
    #[serde(rename = "stopping")]
    Stopping,
    #[serde(rename = "stopped")]
    Stopped,
}

#[derive(CandidType, Deserialize)]
enum VisibilityReply {
    #[serde(rename = "controllers")]
    Controllers,
    #[serde(rename = "public")]
    Public,
    #[serde(rename = "allowed_viewers")]
    AllowedViewers(Vec<Principal>),
}

#[derive(CandidType, Deserialize)]
struct SettingsReply {
    controllers: Vec<Principal>,
    compute_allocation: Nat,
    memory_allocation: Nat,
    freezing_threshold: Nat,
    reserved_cycles_limit: Option<Nat>,
    log_visibility: Option<VisibilityReply>,
    snapshot_visibility: Option<VisibilityReply>,
    status_visibility: Option<VisibilityReply>,
    wasm_memory_limit: Option<Nat>,
    wasm_memory_threshold: Option<Nat>,
}

#[derive(CandidType, Deserialize)]
struct MemoryMetricsReply {
    wasm_memory_size: Option<Nat>,
}

/// The part of `canister_status` a scan reads.
#[derive(CandidType, Deserialize)]
struct StatusReply {
    status: RunStatusReply,
    settings: SettingsReply,
    module_hash: Option<ByteBuf>,
    memory_size: Nat,
    memory_metrics: Option<MemoryMetricsReply>,
    cycles: Nat,
    reserved_cycles: Option<Nat>,
    idle_cycles_burned_per_day: Nat,
}

#[derive(CandidType, Deserialize)]
struct SnapshotReply {
    id: ByteBuf,
    taken_at_timestamp: u64,
}

fn u64_of(n: Nat) -> u64 {
    u64::try_from(n.0).unwrap_or(u64::MAX)
}

fn cycles_of(n: Nat) -> Cycles {
    Cycles(u128::try_from(n.0).unwrap_or(u128::MAX))
}

impl From<VisibilityReply> for Visibility {
    fn from(v: VisibilityReply) -> Self {
        match v {
            VisibilityReply::Controllers => Visibility::Controllers,
            VisibilityReply::Public => Visibility::Public,
            VisibilityReply::AllowedViewers(p) => Visibility::AllowedViewers(p),
        }
    }
}

impl TryFrom<StatusReply> for StatusEvidence {
    type Error = String;

    fn try_from(r: StatusReply) -> Result<Self, String> {
        let s = r.settings;
        // A reply without a readable log_visibility leaves only that control Unknown.
        let log_visibility = s.log_visibility;
        // reserved_cycles and reserved_cycles_limit came together: without the balance, the
        // limit cannot be judged either, so both read as "not reported".
        let (reserved_cycles_limit, reserved_cycles) = match r.reserved_cycles {
            Some(balance) => (s.reserved_cycles_limit.map(cycles_of), cycles_of(balance)),
            None => (None, Cycles(0)),
        };
        Ok(StatusEvidence {
            controllers: s.controllers,
            status: match r.status {
                RunStatusReply::Running => RunStatus::Running,
                RunStatusReply::Stopping => RunStatus::Stopping,
                RunStatusReply::Stopped => RunStatus::Stopped,
            },
            freezing_threshold_secs: u64_of(s.freezing_threshold),
            memory_allocation_bytes: u64_of(s.memory_allocation),
            compute_allocation_pct: u64_of(s.compute_allocation),
            reserved_cycles_limit,
            wasm_memory_limit_bytes: s.wasm_memory_limit.map(u64_of),
            wasm_memory_threshold_bytes: s.wasm_memory_threshold.map(u64_of),
            log_visibility: log_visibility.map(Into::into),
            snapshot_visibility: s.snapshot_visibility.map(Into::into),
            status_visibility: s.status_visibility.map(Into::into),
            module_hash: r.module_hash.map(|h| ModuleHash(h.into_vec())),
            memory_size_bytes: u64_of(r.memory_size),
            wasm_memory_size_bytes: r
                .memory_metrics
                .and_then(|m| m.wasm_memory_size)
                .map(u64_of),
            cycles: cycles_of(r.cycles),
            idle_cycles_burned_per_day: cycles_of(r.idle_cycles_burned_per_day),
            reserved_cycles,
        })
    }
}

/// `canister_status` of `canister` (only controllers may read it), or why it is unreadable.
pub async fn read_status(canister: Principal) -> Result<StatusEvidence, String> {
    read_status_outcome(canister)
        .await
        .map_err(|o| chaos_api::describe_outcome(&o))
}

/// [`read_status`], failing with the call's outcome (its reject code kept).
pub async fn read_status_outcome(canister: Principal) -> Result<StatusEvidence, Outcome> {
    let reply = Call::bounded_wait(Principal::management_canister(), "canister_status")
        .with_arg(CanisterIdRecord {
            canister_id: canister,
        })
        .await
        .map_err(crate::effects::call_failure)?;
    let local = |m: String| Outcome::failed(chaos_manager::effect::RejectCode::Local, m);
    let status: StatusReply = reply
        .candid()
        .map_err(|e| local(format!("undecodable canister_status reply: {e}")))?;
    status.try_into().map_err(local)
}

/// What experiments read of a status: run status, freezing threshold, wasm_memory_limit,
/// cycles (the originals a rollback restores, and the cycles floor).
pub fn target_status(s: &StatusEvidence) -> TargetStatus {
    TargetStatus {
        status: s.status,
        freezing_threshold_secs: s.freezing_threshold_secs,
        wasm_memory_limit_bytes: s.wasm_memory_limit_bytes,
        cycles: s.cycles,
        idle_cycles_burned_per_day: s.idle_cycles_burned_per_day,
    }
}

/// `list_canister_snapshots` of `canister` (controllers only).
pub async fn list_snapshots(canister: Principal) -> Result<Vec<SnapshotInfo>, Outcome> {
    let reply = Call::bounded_wait(Principal::management_canister(), "list_canister_snapshots")
        .with_arg(CanisterIdRecord {
            canister_id: canister,
        })
        .await
        .map_err(crate::effects::call_failure)?;
    let list: Vec<SnapshotReply> = reply.candid().map_err(|e| {
        Outcome::failed(
            chaos_manager::effect::RejectCode::Local,
            format!("undecodable list_canister_snapshots reply: {e}"),
        )
    })?;
    Ok(list
        .into_iter()
        .map(|s| SnapshotInfo {
            id: SnapshotId(s.id.into_vec()),
            taken_at: TimestampNs(s.taken_at_timestamp),
        })
        .collect())
}

/// Everything a scan of `canister` reads that the IC can tell the suite. Never fails: what
/// could not be read is recorded as such (`status: Err`, `snapshots: None`).
///
/// Through chaos_probe, when one is configured (a controller reads private metadata sections
/// too, so only a non-controller can tell a public `candid:service` from a private one):
/// `candid_service_public` (IC-CTRL-19), and `access_probe` (IC-CTRL-23) when the target's
/// fault profile declares privileged methods and allows `security_breach` (calling privileged
/// methods is what that consent covers). Not collected: `last_drill` (the core fills it from
/// the suite's own log).
pub async fn collect(canister: Principal) -> Evidence {
    let status = read_status(canister).await;
    let snapshots = list_snapshots(canister).await.ok().map(|list| {
        list.into_iter()
            .map(|s| (s.id, s.taken_at))
            .collect::<Vec<_>>()
    });
    let (probe, privileged) = crate::storage::read(|j| {
        let s = j.state();
        let privileged = s
            .targets
            .get(&canister)
            .and_then(|t| t.fault_profile.as_ref())
            .filter(|p| p.allows(chaos_manager::fault::FaultKind::SecurityBreach))
            .map(|p| p.privileged_methods.clone())
            .unwrap_or_default();
        (s.chaos_probe, privileged)
    });
    let (candid_service_public, access_probe) = match probe {
        Some(probe) => {
            let public = crate::lab_calls::candid_public(probe, canister).await;
            let access = if privileged.is_empty() {
                None
            } else {
                crate::lab_calls::scan_access(probe, canister, &privileged).await
            };
            (public, access)
        }
        None => (None, None),
    };
    Evidence {
        target: canister,
        suite: ic_cdk::api::canister_self(),
        collected_at: TimestampNs(ic_cdk::api::time()),
        status,
        candid_service_public,
        snapshots,
        last_drill: None,
        access_probe,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candid::{encode_one, Decode};
    use ic_cdk_management_canister as mgmt;

    fn nat(n: u64) -> Nat {
        Nat::from(n)
    }

    /// A reply in the newest shape (ic-management-canister-types 0.11, every field required).
    fn newest_reply() -> mgmt::CanisterStatusResult {
        mgmt::CanisterStatusResult {
            status: mgmt::CanisterStatusType::Running,
            ready_for_migration: false,
            version: 7,
            settings: mgmt::DefiniteCanisterSettings {
                controllers: vec![Principal::management_canister()],
                freezing_threshold: nat(86_400),
                reserved_cycles_limit: nat(0),
                log_visibility: mgmt::LogVisibility::Public,
                snapshot_visibility: mgmt::SnapshotVisibility::AllowedViewers(vec![
                    Principal::anonymous(),
                ]),
                status_visibility: mgmt::StatusVisibility::Controllers,
                wasm_memory_limit: nat(0),
                wasm_memory_threshold: nat(5),
                ..Default::default()
            },
            module_hash: Some(vec![0xab; 32]),
            memory_size: nat(3 << 20),
            memory_metrics: mgmt::MemoryMetrics {
                wasm_memory_size: nat(1 << 20),
                stable_memory_size: nat(0),
                global_memory_size: nat(0),
                wasm_binary_size: nat(0),
                custom_sections_size: nat(0),
                canister_history_size: nat(0),
                wasm_chunk_store_size: nat(0),
                snapshots_size: nat(0),
                log_memory_store_size: nat(0),
            },
            cycles: Nat::from(100_000_000_000_000u128),
            reserved_cycles: nat(12),
            idle_cycles_burned_per_day: nat(1_000),
            query_stats: mgmt::QueryStats {
                num_calls_total: nat(0),
                num_instructions_total: nat(0),
                request_payload_bytes_total: nat(0),
                response_payload_bytes_total: nat(0),
            },
        }
    }

    fn decode(bytes: &[u8]) -> StatusEvidence {
        let reply = Decode!(bytes, StatusReply).expect("decodes");
        reply.try_into().expect("readable")
    }

    #[test]
    fn the_newest_reply_maps_every_field() {
        let s = decode(&encode_one(newest_reply()).unwrap());
        assert_eq!(s.controllers, vec![Principal::management_canister()]);
        assert_eq!(s.status, RunStatus::Running);
        assert_eq!(s.freezing_threshold_secs, 86_400);
        assert_eq!(s.reserved_cycles_limit, Some(Cycles(0)));
        assert_eq!(s.reserved_cycles, Cycles(12));
        assert_eq!(s.wasm_memory_limit_bytes, Some(0));
        assert_eq!(s.wasm_memory_threshold_bytes, Some(5));
        assert_eq!(s.log_visibility, Some(Visibility::Public));
        assert_eq!(
            s.snapshot_visibility,
            Some(Visibility::AllowedViewers(vec![Principal::anonymous()]))
        );
        assert_eq!(s.status_visibility, Some(Visibility::Controllers));
        assert_eq!(s.module_hash, Some(ModuleHash(vec![0xab; 32])));
        assert_eq!(s.memory_size_bytes, 3 << 20);
        assert_eq!(s.wasm_memory_size_bytes, Some(1 << 20));
        assert_eq!(s.cycles, Cycles(100_000_000_000_000));
        assert_eq!(s.idle_cycles_burned_per_day, Cycles(1_000));
    }

    /// An older replica's reply: no visibilities but logs, no wasm memory settings, no memory
    /// metrics, no reserved cycles. It decodes; what is missing reads as not reported.
    #[derive(CandidType)]
    struct OldSettings {
        controllers: Vec<Principal>,
        compute_allocation: Nat,
        memory_allocation: Nat,
        freezing_threshold: Nat,
        log_visibility: VisibilityReply,
    }

    #[derive(CandidType)]
    struct OldReply {
        status: RunStatusReply,
        settings: OldSettings,
        module_hash: Option<Vec<u8>>,
        memory_size: Nat,
        cycles: Nat,
        idle_cycles_burned_per_day: Nat,
    }

    fn old_reply(log_visibility: VisibilityReply) -> OldReply {
        OldReply {
            status: RunStatusReply::Stopped,
            settings: OldSettings {
                controllers: vec![],
                compute_allocation: nat(0),
                memory_allocation: nat(0),
                freezing_threshold: nat(2_592_000),
                log_visibility,
            },
            module_hash: None,
            memory_size: nat(10),
            cycles: nat(5),
            idle_cycles_burned_per_day: nat(0),
        }
    }

    #[test]
    fn an_older_reply_decodes_with_missing_fields_not_reported() {
        let s = decode(&encode_one(old_reply(VisibilityReply::Controllers)).unwrap());
        assert_eq!(s.status, RunStatus::Stopped);
        assert_eq!(s.log_visibility, Some(Visibility::Controllers));
        assert_eq!(s.snapshot_visibility, None);
        assert_eq!(s.status_visibility, None);
        assert_eq!(s.wasm_memory_limit_bytes, None);
        assert_eq!(s.wasm_memory_threshold_bytes, None);
        assert_eq!(s.wasm_memory_size_bytes, None);
        assert_eq!(s.reserved_cycles_limit, None);
        assert_eq!(s.module_hash, None);
    }

    #[test]
    fn a_visibility_of_a_newer_shape_is_not_reported_rather_than_fatal() {
        #[derive(CandidType)]
        enum NewerVisibility {
            Custom(u8),
        }
        #[derive(CandidType)]
        struct Settings {
            controllers: Vec<Principal>,
            compute_allocation: Nat,
            memory_allocation: Nat,
            freezing_threshold: Nat,
            log_visibility: VisibilityReply,
            snapshot_visibility: NewerVisibility,
        }
        #[derive(CandidType)]
        struct Reply {
            status: RunStatusReply,
            settings: Settings,
            module_hash: Option<Vec<u8>>,
            memory_size: Nat,
            cycles: Nat,
            idle_cycles_burned_per_day: Nat,
        }
        let bytes = encode_one(Reply {
            status: RunStatusReply::Running,
            settings: Settings {
                controllers: vec![],
                compute_allocation: nat(0),
                memory_allocation: nat(0),
                freezing_threshold: nat(0),
                log_visibility: VisibilityReply::Public,
                snapshot_visibility: NewerVisibility::Custom(1),
            },
            module_hash: None,
            memory_size: nat(0),
            cycles: nat(0),
            idle_cycles_burned_per_day: nat(0),
        })
        .unwrap();
        let s = decode(&bytes);
        assert_eq!(s.snapshot_visibility, None);
        assert_eq!(s.log_visibility, Some(Visibility::Public));
    }

    #[test]
    fn an_unreadable_log_visibility_is_reported_as_unknown_not_guessed() {
        #[derive(CandidType)]
        struct NoLogs {
            controllers: Vec<Principal>,
            compute_allocation: Nat,
            memory_allocation: Nat,
            freezing_threshold: Nat,
        }
        #[derive(CandidType)]
        struct Reply {
            status: RunStatusReply,
            settings: NoLogs,
            module_hash: Option<Vec<u8>>,
            memory_size: Nat,
            cycles: Nat,
            idle_cycles_burned_per_day: Nat,
        }
        let bytes = encode_one(Reply {
            status: RunStatusReply::Running,
            settings: NoLogs {
                controllers: vec![],
                compute_allocation: nat(0),
                memory_allocation: nat(0),
                freezing_threshold: nat(0),
            },
            module_hash: None,
            memory_size: nat(0),
            cycles: nat(0),
            idle_cycles_burned_per_day: nat(0),
        })
        .unwrap();
        let reply = Decode!(&bytes, StatusReply).expect("decodes");
        let s = StatusEvidence::try_from(reply).expect("the rest of the status is usable");
        assert_eq!(s.log_visibility, None, "only that control reads Unknown");
    }

    #[test]
    fn a_snapshot_list_decodes_without_total_size() {
        #[derive(CandidType)]
        struct OldSnapshot {
            id: Vec<u8>,
            taken_at_timestamp: u64,
        }
        let old = encode_one(vec![OldSnapshot {
            id: vec![1, 2],
            taken_at_timestamp: 42,
        }])
        .unwrap();
        let list = Decode!(&old, Vec<SnapshotReply>).unwrap();
        assert_eq!(list[0].taken_at_timestamp, 42);
        let newest = encode_one(vec![mgmt::Snapshot {
            id: vec![3],
            taken_at_timestamp: 7,
            total_size: 100,
        }])
        .unwrap();
        let list = Decode!(&newest, Vec<SnapshotReply>).unwrap();
        assert_eq!(list[0].id.as_ref(), &[3]);
    }
}
