//! Performs the core's effects on simulated canisters and turns every result, success or
//! rejection, into the [`Outcome`] the core expects: the native twin of the canister shell's
//! `effects.rs`. Faults are decided by the caller before this runs; waits are the scheduler's.

use crate::canister::SimCanister;
use candid::Principal;
use chaos_manager::effect::{CallFailure, Effect, Outcome, RejectCode, SnapshotInfo};
use chaos_manager::TimestampNs;

/// The canister an effect acts on (`None` for a wait).
pub fn target_of(effect: &Effect) -> Option<Principal> {
    match effect {
        Effect::ReadControllers { canister }
        | Effect::ListSnapshots { canister }
        | Effect::UpdateSettings { canister, .. }
        | Effect::CollectEvidence { canister }
        | Effect::StopCanister { canister }
        | Effect::StartCanister { canister }
        | Effect::TakeSnapshot { canister, .. }
        | Effect::LoadSnapshot { canister, .. }
        | Effect::UninstallCode { canister }
        | Effect::InstallBrokenModule { canister }
        | Effect::Probe { canister, .. } => Some(*canister),
        Effect::WaitUntil { .. } => None,
    }
}

/// Performs `effect` as `suite` at `now` on `canister` (`None`: no such canister).
pub fn perform(
    canister: Option<&mut SimCanister>,
    suite: &Principal,
    effect: &Effect,
    now: TimestampNs,
) -> Outcome {
    let Some(c) = canister else {
        return match target_of(effect) {
            Some(id) => Outcome::failed(
                RejectCode::DestinationInvalid,
                format!("Canister {id} not found"),
            ),
            None => Outcome::Done,
        };
    };
    let result = match effect {
        Effect::ReadControllers { .. } => Ok(Outcome::Controllers {
            controllers: c.canister_info(),
        }),
        Effect::ListSnapshots { .. } => c.list_snapshots(suite).map(|list| Outcome::Snapshots {
            snapshots: list
                .into_iter()
                .map(|(id, taken_at)| SnapshotInfo { id, taken_at })
                .collect(),
        }),
        Effect::StopCanister { .. } => c.stop(suite).map(done),
        Effect::StartCanister { .. } => c.start(suite).map(done),
        Effect::UninstallCode { .. } => c.uninstall_code(suite).map(done),
        Effect::InstallBrokenModule { .. } => c.install_broken_module(suite).map(done),
        Effect::TakeSnapshot { replace, .. } => c
            .take_snapshot(suite, replace.as_ref(), now)
            .map(|(id, taken_at)| Outcome::SnapshotTaken { id, taken_at }),
        Effect::LoadSnapshot { snapshot, .. } => c.load_snapshot(suite, snapshot).map(done),
        Effect::Probe { method, .. } => c.probe(method).map(|probe| Outcome::Probed { probe }),
        Effect::WaitUntil { .. } => Ok(Outcome::Done),
        Effect::UpdateSettings { .. } | Effect::CollectEvidence { .. } => Err(CallFailure {
            code: RejectCode::Local,
            message: format!("fleet_sim does not model {} yet", effect.name()),
        }),
    };
    result.unwrap_or_else(failed)
}

fn done(_: ()) -> Outcome {
    Outcome::Done
}

fn failed(failure: CallFailure) -> Outcome {
    Outcome::Failed { failure }
}
