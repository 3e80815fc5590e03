//! Performs the core's effects with management-canister and target calls, and turns every
//! result, success or failure, into an `Outcome` for the core.
//!
//! Calls to targets (probes) are bounded-wait: a hung target cannot hold chaos_system. Status
//! reads and snapshot lists are bounded-wait too, decoded through our own mirror types
//! (`evidence`). So are the management calls every rollback is made of (`stop_canister`,
//! `start_canister`, `update_settings`, `load_canister_snapshot`, `delete_canister_snapshot`):
//! `stop_canister` waits for the target's open call contexts, and chaos_system must never hold
//! an unbounded-wait call on a target's account (it would block its own stop and upgrade). A
//! bounded-wait call may end in `SysUnknown` after acting: the core owes an undo from a step's
//! issue and retries, and every one of these operations is safe to repeat (a delete of a
//! snapshot already gone counts as done). `take_canister_snapshot`, `uninstall_code` and
//! `install_code` (drills and restore points, never rollbacks) stay unbounded-wait through
//! ic-cdk-management-canister: a lost reply there would leave an unknown snapshot or module.
//!
//! Experiment effects: `ReadStatus` is a bounded-wait `canister_status` through the mirror in
//! `evidence`; `SetFaultPlan` / `ClearFaults` are bounded-wait calls of the target's
//! `chaos_hooks_set_plan` / `chaos_hooks_clear`; `ProbeVia` / `AccessProbe` are bounded-wait
//! calls of chaos_probe's `probe_health` / `probe_access` (see `lab_calls`). Never an
//! unbounded-wait call to a target.

use crate::{evidence, lab_calls};
use candid::{CandidType, Deserialize, Nat, Principal};
use chaos_manager::effect::{Effect, Outcome, RejectCode, StateProbe, BROKEN_MODULE};
use chaos_manager::hardening::{SettingsChange, Visibility};
use chaos_manager::{SnapshotId, TimestampNs};
use ic_cdk::call::{Call, CallFailed, RejectCode as IcRejectCode};
use ic_cdk_management_canister as mgmt;
// The full argument types (ic-cdk-management-canister exports reduced ones for its own
// unbounded-wait wrappers).
use ic_management_canister_types as types;

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

/// Bytes of a failure message kept from a call (reject messages and hook errors carry the
/// target's own text): every journaled observation, step and check stays small.
pub const MAX_MESSAGE_BYTES: usize = 1024;

/// `message` capped at [`MAX_MESSAGE_BYTES`] (on a char boundary, with a marker).
pub fn cap_message(message: &str) -> String {
    chaos_api::truncate_text(message, MAX_MESSAGE_BYTES)
}

/// The outcome with every text that came from a call capped at [`MAX_MESSAGE_BYTES`].
pub fn capped(outcome: Outcome) -> Outcome {
    match outcome {
        Outcome::Failed { mut failure } => {
            if failure.message.len() > MAX_MESSAGE_BYTES {
                failure.message = cap_message(&failure.message);
            }
            Outcome::Failed { failure }
        }
        Outcome::Evidence { mut evidence } => {
            if let Err(m) = &mut evidence.status {
                if m.len() > MAX_MESSAGE_BYTES {
                    *m = cap_message(m);
                }
            }
            Outcome::Evidence { evidence }
        }
        other => other,
    }
}

/// Performs `effect`; whatever a call answered, the outcome's texts are capped ([`capped`]).
pub async fn perform(effect: &Effect) -> Outcome {
    capped(perform_uncapped(effect).await)
}

async fn perform_uncapped(effect: &Effect) -> Outcome {
    match effect {
        Effect::ReadControllers { canister } => match read_controllers(*canister).await {
            Ok(controllers) => Outcome::Controllers { controllers },
            Err(o) => o,
        },
        Effect::StopCanister { canister } => {
            mgmt_bounded(
                "stop_canister",
                mgmt::CanisterIdRecord {
                    canister_id: *canister,
                },
            )
            .await
        }
        Effect::StartCanister { canister } => {
            mgmt_bounded(
                "start_canister",
                mgmt::CanisterIdRecord {
                    canister_id: *canister,
                },
            )
            .await
        }
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
        Effect::LoadSnapshot { canister, snapshot } => {
            mgmt_bounded(
                "load_canister_snapshot",
                types::LoadCanisterSnapshotArgs {
                    canister_id: *canister,
                    snapshot_id: snapshot.0.clone(),
                    sender_canister_version: Some(ic_cdk::api::canister_version()),
                },
            )
            .await
        }
        Effect::DeleteSnapshot { canister, snapshot } => delete_snapshot(*canister, snapshot).await,
        Effect::Probe { canister, method } => probe(*canister, method).await,
        Effect::ListSnapshots { canister } => match evidence::list_snapshots(*canister).await {
            Ok(snapshots) => Outcome::Snapshots { snapshots },
            Err(o) => o,
        },
        Effect::UpdateSettings { canister, change } => {
            mgmt_bounded(
                "update_settings",
                types::UpdateSettingsArgs {
                    canister_id: *canister,
                    settings: settings_of(change),
                    sender_canister_version: Some(ic_cdk::api::canister_version()),
                },
            )
            .await
        }
        Effect::CollectEvidence { canister } => Outcome::Evidence {
            evidence: Box::new(evidence::collect(*canister).await),
        },
        // Waits are performed by the driver with a timer, never here.
        Effect::WaitUntil { .. } => Outcome::Done,
        // Experiment effects.
        Effect::ReadStatus { canister } => match evidence::read_status_outcome(*canister).await {
            Ok(s) => Outcome::Status {
                status: evidence::target_status(&s),
            },
            Err(o) => o,
        },
        Effect::SetFaultPlan { canister, plan } => lab_calls::set_plan(*canister, plan).await,
        Effect::ClearFaults { canister } => lab_calls::clear(*canister).await,
        Effect::ProbeVia { target, method } => match chaos_probe() {
            Some(probe) => lab_calls::probe_via(probe, *target, method).await,
            None => lab_calls::no_probe(),
        },
        Effect::AccessProbe { target, methods } => match chaos_probe() {
            Some(probe) => lab_calls::access_probe(probe, *target, methods).await,
            None => lab_calls::no_probe(),
        },
    }
}

/// A bounded-wait management call whose reply carries nothing (`()`).
async fn mgmt_bounded<A: CandidType>(method: &str, arg: A) -> Outcome {
    match Call::bounded_wait(Principal::management_canister(), method)
        .with_arg(arg)
        .await
    {
        Ok(_) => Outcome::Done,
        Err(e) => call_failure(e),
    }
}

/// `delete_canister_snapshot`, idempotent: when the IC refuses it, the snapshot list decides
/// (a snapshot already gone, say deleted by an attempt whose reply was lost, is deleted).
async fn delete_snapshot(canister: Principal, snapshot: &SnapshotId) -> Outcome {
    let arg = mgmt::DeleteCanisterSnapshotArgs {
        canister_id: canister,
        snapshot_id: snapshot.0.clone(),
    };
    let refused = match mgmt_bounded("delete_canister_snapshot", arg).await {
        Outcome::Done => return Outcome::Done,
        refused => refused,
    };
    let listed = evidence::list_snapshots(canister).await.ok();
    chaos_manager::effect::refused_delete(refused, listed.as_deref(), snapshot)
}

fn chaos_probe() -> Option<Principal> {
    crate::storage::read(|j| j.state().chaos_probe)
}

/// The `update_settings` argument: exactly the fields `change` sets, every other one `null`
/// (left as it is). ic-management-canister-types 0.11 expresses every field of
/// `SettingsChange`; a replica that does not know a field (e.g. an older one and
/// `status_visibility`) ignores it, and the rescan after hardening shows it unchanged.
fn settings_of(change: &SettingsChange) -> mgmt::CanisterSettings {
    let visibility = |v: &Visibility| match v {
        Visibility::Controllers => (
            mgmt::LogVisibility::Controllers,
            mgmt::SnapshotVisibility::Controllers,
            mgmt::StatusVisibility::Controllers,
        ),
        Visibility::Public => (
            mgmt::LogVisibility::Public,
            mgmt::SnapshotVisibility::Public,
            mgmt::StatusVisibility::Public,
        ),
        Visibility::AllowedViewers(p) => (
            mgmt::LogVisibility::AllowedViewers(p.clone()),
            mgmt::SnapshotVisibility::AllowedViewers(p.clone()),
            mgmt::StatusVisibility::AllowedViewers(p.clone()),
        ),
    };
    mgmt::CanisterSettings {
        freezing_threshold: change.freezing_threshold_secs.map(Nat::from),
        wasm_memory_limit: change.wasm_memory_limit_bytes.map(Nat::from),
        wasm_memory_threshold: change.wasm_memory_threshold_bytes.map(Nat::from),
        reserved_cycles_limit: change.reserved_cycles_limit.map(|c| Nat::from(c.0)),
        log_visibility: change.log_visibility.as_ref().map(|v| visibility(v).0),
        snapshot_visibility: change.snapshot_visibility.as_ref().map(|v| visibility(v).1),
        status_visibility: change.status_visibility.as_ref().map(|v| visibility(v).2),
        ..Default::default()
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
    match lab_calls::decode_reply::<ProbeReply>(&reply) {
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

pub fn call_failure(e: CallFailed) -> Outcome {
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

#[cfg(test)]
mod tests {
    use super::*;
    use chaos_manager::hardening::Cycles;

    #[test]
    fn update_settings_sets_exactly_the_fields_of_the_change() {
        let change = SettingsChange {
            freezing_threshold_secs: Some(7_776_000),
            wasm_memory_limit_bytes: Some(3 << 30),
            wasm_memory_threshold_bytes: Some(600),
            log_visibility: Some(Visibility::Controllers),
            snapshot_visibility: Some(Visibility::AllowedViewers(vec![Principal::anonymous()])),
            status_visibility: Some(Visibility::Public),
            reserved_cycles_limit: Some(Cycles(5_000_000_000_000)),
        };
        let s = settings_of(&change);
        assert_eq!(s.freezing_threshold, Some(Nat::from(7_776_000u64)));
        assert_eq!(s.wasm_memory_limit, Some(Nat::from(3u64 << 30)));
        assert_eq!(s.wasm_memory_threshold, Some(Nat::from(600u64)));
        assert_eq!(s.log_visibility, Some(mgmt::LogVisibility::Controllers));
        assert_eq!(
            s.snapshot_visibility,
            Some(mgmt::SnapshotVisibility::AllowedViewers(vec![
                Principal::anonymous()
            ]))
        );
        assert_eq!(s.status_visibility, Some(mgmt::StatusVisibility::Public));
        assert_eq!(
            s.reserved_cycles_limit,
            Some(Nat::from(5_000_000_000_000u128))
        );
        // Never touched: controllers above all.
        assert_eq!(s.controllers, None);
        assert_eq!(s.compute_allocation, None);
        assert_eq!(s.memory_allocation, None);
    }

    #[test]
    fn failure_messages_from_calls_are_capped_at_1_kib() {
        // A target's hook refusal carries its own text.
        let refusal = lab_calls::hook_outcome(
            "chaos_hooks_set_plan",
            Principal::anonymous(),
            Err(lab_calls::HookError::InvalidPlan("ü".repeat(100_000))),
        );
        match capped(refusal) {
            Outcome::Failed { failure } => {
                assert!(failure.message.len() <= MAX_MESSAGE_BYTES);
                assert!(failure.message.starts_with("chaos_hooks_set_plan on"));
                assert!(failure.message.ends_with(chaos_api::TRUNCATED_MARKER));
                assert_eq!(failure.code, RejectCode::CanisterReject);
            }
            other => panic!("{other:?}"),
        }
        // A probe rejected with a long message (chaos_probe relays the target's).
        let rejected = Outcome::failed(RejectCode::CanisterReject, "x".repeat(2_000_000));
        match capped(rejected) {
            Outcome::Failed { failure } => assert!(failure.message.len() <= MAX_MESSAGE_BYTES),
            other => panic!("{other:?}"),
        }
        // Short messages and other outcomes are left as they are.
        let short = Outcome::failed(RejectCode::SysUnknown, "timeout");
        assert_eq!(capped(short.clone()), short);
        assert_eq!(capped(Outcome::Done), Outcome::Done);
    }

    #[test]
    fn an_empty_change_leaves_every_setting_alone() {
        assert_eq!(
            settings_of(&SettingsChange::default()),
            mgmt::CanisterSettings::default()
        );
    }
}
