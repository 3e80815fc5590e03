//! Performs the core's effects on simulated canisters and turns every result, success or
//! rejection, into the [`Outcome`] the core expects: the native twin of the canister shell's
//! `effects.rs`. Faults are decided by the caller before this runs; waits are the scheduler's.

use crate::canister::SimCanister;
use candid::Principal;
use chaos_manager::effect::{self, CallFailure, Effect, Outcome, RejectCode, SnapshotInfo};
use chaos_manager::hardening::Evidence;
use chaos_manager::TimestampNs;

/// The canister an effect acts on (`None` for a wait).
pub fn target_of(effect: &Effect) -> Option<Principal> {
    effect.canister()
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
        // As in chaos_system: a refused delete is checked against the list, and a snapshot
        // already gone (an earlier attempt whose reply was lost) counts as deleted.
        Effect::DeleteSnapshot { snapshot, .. } => match c.delete_snapshot(suite, snapshot) {
            Ok(()) => Ok(Outcome::Done),
            Err(failure) => {
                let listed: Option<Vec<SnapshotInfo>> = c.list_snapshots(suite).ok().map(|l| {
                    l.into_iter()
                        .map(|(id, taken_at)| SnapshotInfo { id, taken_at })
                        .collect()
                });
                let refused = Outcome::Failed { failure };
                Ok(effect::refused_delete(refused, listed.as_deref(), snapshot))
            }
        },
        Effect::Probe { method, .. } => c.probe(method).map(|probe| Outcome::Probed { probe }),
        Effect::WaitUntil { .. } => Ok(Outcome::Done),
        Effect::UpdateSettings { change, .. } => c.update_settings(suite, change).map(done),
        Effect::CollectEvidence { .. } => Ok(Outcome::Evidence {
            evidence: Box::new(collect_evidence(c, suite, now)),
        }),
        Effect::ReadStatus { .. } => c
            .target_status(suite)
            .map(|status| Outcome::Status { status }),
        Effect::SetFaultPlan { plan, .. } => c.set_hook_plan(suite, suite, plan, now).map(done),
        Effect::ClearFaults { .. } => c.clear_hook_plan(suite, suite).map(done),
        // Calls through chaos_probe reach several canisters: `Sim::probe_call` performs them.
        Effect::ProbeVia { .. } | Effect::AccessProbe { .. } => Err(CallFailure {
            code: RejectCode::Local,
            message: format!(
                "{} is performed by the simulator, not one canister",
                effect.name()
            ),
        }),
    };
    result.unwrap_or_else(failed)
}

/// What the suite reads for a scan: `canister_status` (or why it could not) and
/// `list_canister_snapshots` (`None` when refused). `canister_metadata` is not read (the
/// simulated vault publishes no metadata) and the access probe does not run here; the core
/// adds the drill history.
pub fn collect_evidence(c: &SimCanister, suite: &Principal, now: TimestampNs) -> Evidence {
    Evidence {
        target: c.id(),
        suite: *suite,
        collected_at: now,
        status: c
            .status_evidence(suite)
            .map_err(|f| format!("canister_status rejected ({:?}): {}", f.code, f.message)),
        candid_service_public: None,
        snapshots: c.list_snapshots(suite).ok(),
        last_drill: None,
        access_probe: None,
    }
}

fn done(_: ()) -> Outcome {
    Outcome::Done
}

fn failed(failure: CallFailure) -> Outcome {
    Outcome::Failed { failure }
}
