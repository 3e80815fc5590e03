//! Performs the core's effects with management-canister and target calls, and turns every
//! result, success or failure, into an `Outcome` for the core.
//!
//! Calls to targets (probes) are bounded-wait: a hung target cannot hold chaos_system. Status
//! reads are bounded-wait too. Lifecycle operations go through ic-cdk-management-canister.

use candid::{CandidType, Deserialize, Principal};
use chaos_manager::effect::{Effect, Outcome, RejectCode, SnapshotInfo, StateProbe, BROKEN_MODULE};
use chaos_manager::{SnapshotId, TimestampNs};
use ic_cdk::call::{Call, CallFailed, RejectCode as IcRejectCode};
use ic_cdk_management_canister as mgmt;

/// Seconds a probe may take before the system gives up on it (answer: SysUnknown).
const PROBE_TIMEOUT_SECS: u32 = 60;

/// The part of `canister_info` we read. Our own mirror type: newer replicas add fields (and
/// new change kinds in `recent_changes`, which we do not request), so only what we need is
/// required (Candid skips the rest).
#[derive(CandidType, Deserialize)]
struct InfoReply {
    controllers: Vec<Principal>,
}

#[derive(CandidType, Deserialize)]
struct InfoArgs {
    canister_id: Principal,
    num_requested_changes: Option<u64>,
}

#[derive(CandidType, Deserialize)]
struct ProbeReply {
    operation_count: u64,
    #[serde(with = "serde_bytes")]
    state_hash: Vec<u8>,
}

pub async fn perform(effect: &Effect) -> Outcome {
    match effect {
        Effect::ReadControllers { canister } => match read_controllers(*canister).await {
            Ok(controllers) => Outcome::Controllers { controllers },
            Err(o) => o,
        },
        Effect::StopCanister { canister } => done(
            mgmt::stop_canister(&mgmt::StopCanisterArgs {
                canister_id: *canister,
            })
            .await,
        ),
        Effect::StartCanister { canister } => done(
            mgmt::start_canister(&mgmt::StartCanisterArgs {
                canister_id: *canister,
            })
            .await,
        ),
        Effect::UninstallCode { canister } => done(
            mgmt::uninstall_code(&mgmt::UninstallCodeArgs {
                canister_id: *canister,
            })
            .await,
        ),
        Effect::InstallBrokenModule { canister } => done(
            mgmt::install_code(&mgmt::InstallCodeArgs {
                mode: mgmt::CanisterInstallMode::Upgrade(None),
                canister_id: *canister,
                wasm_module: BROKEN_MODULE.to_vec(),
                arg: Vec::new(),
            })
            .await,
        ),
        Effect::TakeSnapshot { canister, replace } => {
            let args = mgmt::TakeCanisterSnapshotArgs {
                canister_id: *canister,
                replace_snapshot: replace.as_ref().map(|s| s.0.clone()),
                uninstall_code: None,
                sender_canister_version: Some(ic_cdk::api::canister_version()),
            };
            match mgmt::take_canister_snapshot(&args).await {
                Ok(s) => Outcome::SnapshotTaken {
                    id: SnapshotId(s.id),
                    taken_at: TimestampNs(s.taken_at_timestamp),
                },
                Err(e) => mgmt_failure(e),
            }
        }
        Effect::LoadSnapshot { canister, snapshot } => done(
            mgmt::load_canister_snapshot(&mgmt::LoadCanisterSnapshotArgs {
                canister_id: *canister,
                snapshot_id: snapshot.0.clone(),
            })
            .await,
        ),
        Effect::Probe { canister, method } => probe(*canister, method).await,
        Effect::ListSnapshots { canister } => {
            let args = mgmt::ListCanisterSnapshotsArgs {
                canister_id: *canister,
            };
            match mgmt::list_canister_snapshots(&args).await {
                Ok(list) => Outcome::Snapshots {
                    snapshots: list
                        .into_iter()
                        .map(|s| SnapshotInfo {
                            id: SnapshotId(s.id),
                            taken_at: TimestampNs(s.taken_at_timestamp),
                        })
                        .collect(),
                },
                Err(e) => mgmt_failure(e),
            }
        }
        Effect::UpdateSettings { .. } | Effect::CollectEvidence { .. } => Outcome::failed(
            RejectCode::Local,
            format!("{} is not performed by this version", effect.name()),
        ),
        // Waits are performed by the driver with a timer, never here.
        Effect::WaitUntil { .. } => Outcome::Done,
    }
}

/// Reads the controllers of `canister` with `canister_info`, which any canister may call, so
/// a canister the suite does not control is reported as such rather than as unreadable.
pub async fn read_controllers(canister: Principal) -> Result<Vec<Principal>, Outcome> {
    let arg = InfoArgs {
        canister_id: canister,
        num_requested_changes: Some(0),
    };
    let reply = Call::bounded_wait(Principal::management_canister(), "canister_info")
        .with_arg(arg)
        .await
        .map_err(call_failure)?;
    let info: InfoReply = reply.candid().map_err(|e| {
        Outcome::failed(RejectCode::Local, format!("undecodable canister_info: {e}"))
    })?;
    Ok(info.controllers)
}

async fn probe(canister: Principal, method: &str) -> Outcome {
    let reply = match Call::bounded_wait(canister, method)
        .change_timeout(PROBE_TIMEOUT_SECS)
        .await
    {
        Ok(r) => r,
        Err(e) => return call_failure(e),
    };
    match reply.candid::<ProbeReply>() {
        Ok(p) => Outcome::Probed {
            probe: StateProbe {
                operation_count: p.operation_count,
                state_hash: p.state_hash,
            },
        },
        Err(e) => Outcome::failed(
            RejectCode::Local,
            format!(
                "probe reply is not record {{ operation_count : nat64; state_hash : blob }}: {e}"
            ),
        ),
    }
}

fn done(r: ic_cdk::call::CallResult<()>) -> Outcome {
    match r {
        Ok(()) => Outcome::Done,
        Err(e) => mgmt_failure(e),
    }
}

fn mgmt_failure(e: ic_cdk::call::Error) -> Outcome {
    match e {
        ic_cdk::call::Error::CallRejected(r) => rejected(&r),
        other => Outcome::failed(RejectCode::Local, other.to_string()),
    }
}

fn call_failure(e: CallFailed) -> Outcome {
    match e {
        CallFailed::CallRejected(r) => rejected(&r),
        other => Outcome::failed(RejectCode::Local, other.to_string()),
    }
}

fn rejected(r: &ic_cdk::call::CallRejected) -> Outcome {
    let code = match r.reject_code() {
        Ok(IcRejectCode::SysFatal) => RejectCode::SysFatal,
        Ok(IcRejectCode::SysTransient) => RejectCode::SysTransient,
        Ok(IcRejectCode::DestinationInvalid) => RejectCode::DestinationInvalid,
        Ok(IcRejectCode::CanisterReject) => RejectCode::CanisterReject,
        Ok(IcRejectCode::CanisterError) => RejectCode::CanisterError,
        Ok(IcRejectCode::SysUnknown) => RejectCode::SysUnknown,
        Err(_) => RejectCode::Local,
    };
    Outcome::failed(code, r.reject_message().to_string())
}
