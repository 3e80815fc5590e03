//! How each fault is injected and undone: the steps it needs (IC primitives or hook plans),
//! what it watches, and the rollback owed for what was issued.
//!
//! Steps are symbolic until issued: a step that needs recorded data (original settings, the
//! restore-point snapshot, the plan's expiry and seed) is resolved into an [`Action`] then, and
//! resolution refuses rather than act unsafely (no squeeze without the originals to restore, no
//! corruption without a restore point, no freeze that would not freeze).

use super::action::{Action, TargetStatus};
use super::hooks::{FaultPlan, HookFault};
use super::profile::Fleet;
use super::spec::{resolve_watched, BlastRadius, ExhaustionMode, FailureMode, FaultSpec};
use crate::hardening::SettingsChange;
use crate::ids::{SnapshotId, TimestampNs};
use ic_principal::Principal;
use minicbor::{Decode, Encode};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum FaultStep {
    #[n(0)]
    ApplySettings {
        #[cbor(n(0), with = "crate::cbor::principal")]
        canister: Principal,
        #[n(1)]
        change: SettingsChange,
    },
    #[n(1)]
    Stop {
        #[cbor(n(0), with = "crate::cbor::principal")]
        canister: Principal,
    },
    #[n(2)]
    Start {
        #[cbor(n(0), with = "crate::cbor::principal")]
        canister: Principal,
    },
    /// The restore point a data corruption cannot go without.
    #[n(3)]
    Snapshot {
        #[cbor(n(0), with = "crate::cbor::principal")]
        canister: Principal,
    },
    #[n(4)]
    SetPlan {
        #[cbor(n(0), with = "crate::cbor::principal")]
        canister: Principal,
        #[n(1)]
        faults: Vec<HookFault>,
    },
    #[n(5)]
    ProbeAccess {
        #[cbor(n(0), with = "crate::cbor::principal")]
        target: Principal,
        #[n(1)]
        methods: Vec<String>,
    },
    #[n(6)]
    ClearPlan {
        #[cbor(n(0), with = "crate::cbor::principal")]
        canister: Principal,
    },
    /// `update_settings` back to the recorded original values.
    #[n(7)]
    RestoreSettings {
        #[cbor(n(0), with = "crate::cbor::principal")]
        canister: Principal,
        #[n(1)]
        change: SettingsChange,
    },
    #[n(8)]
    LoadRestorePoint {
        #[cbor(n(0), with = "crate::cbor::principal")]
        canister: Principal,
    },
    /// Gives the restore point back once it is no longer needed (loaded, or never used).
    #[n(9)]
    DeleteRestorePoint {
        #[cbor(n(0), with = "crate::cbor::principal")]
        canister: Principal,
    },
}

impl FaultStep {
    pub fn canister(&self) -> Principal {
        match self {
            FaultStep::ApplySettings { canister, .. }
            | FaultStep::Stop { canister }
            | FaultStep::Start { canister }
            | FaultStep::Snapshot { canister }
            | FaultStep::SetPlan { canister, .. }
            | FaultStep::ClearPlan { canister }
            | FaultStep::RestoreSettings { canister, .. }
            | FaultStep::LoadRestorePoint { canister }
            | FaultStep::DeleteRestorePoint { canister } => *canister,
            FaultStep::ProbeAccess { target, .. } => *target,
        }
    }
}

/// Why a canister is watched while the fault is active.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
#[cbor(index_only)]
pub enum WatchPurpose {
    /// The corrupted target's own invariant check: does it notice, and how fast?
    #[n(0)]
    Invariant,
    /// A dependent of a failed dependency: the propagation map.
    #[n(1)]
    DependentHealth,
    /// A consumer of perturbed answers: does its steady state detect them?
    #[n(2)]
    ConsumerCheck,
}

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Watch {
    #[cbor(n(0), with = "crate::cbor::principal")]
    pub canister: Principal,
    #[n(1)]
    pub method: String,
    #[n(2)]
    pub purpose: WatchPurpose,
}

/// Everything a run needs from the registry, fixed when the experiment starts so later edits
/// of the registry do not change a running experiment.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct RunPlan {
    #[cbor(n(0), with = "crate::cbor::principals")]
    pub acted_on: Vec<Principal>,
    #[cbor(n(1), with = "crate::cbor::principals")]
    pub affected: Vec<Principal>,
    #[n(2)]
    pub inject: Vec<FaultStep>,
    #[n(3)]
    pub watches: Vec<Watch>,
}

impl RunPlan {
    /// Call after [`FaultSpec::validate`] succeeded with `radius`.
    pub fn new(spec: &FaultSpec, radius: &BlastRadius, fleet: &dyn Fleet) -> RunPlan {
        RunPlan {
            acted_on: radius.acted_on.iter().copied().collect(),
            affected: radius.affected.iter().copied().collect(),
            inject: inject_steps(spec, radius, fleet),
            watches: watches(spec, fleet),
        }
    }
}

fn failure_steps(canister: Principal, mode: &FailureMode) -> Vec<FaultStep> {
    let fault = match mode {
        FailureMode::Stop => return vec![FaultStep::Stop { canister }],
        FailureMode::Reject {
            methods,
            probability,
        } => HookFault::Reject {
            methods: methods.clone(),
            probability: *probability,
        },
        FailureMode::Trap {
            methods,
            probability,
        } => HookFault::Trap {
            methods: methods.clone(),
            probability: *probability,
        },
    };
    vec![FaultStep::SetPlan {
        canister,
        faults: vec![fault],
    }]
}

fn hook(canister: Principal, fault: HookFault) -> Vec<FaultStep> {
    vec![FaultStep::SetPlan {
        canister,
        faults: vec![fault],
    }]
}

fn inject_steps(spec: &FaultSpec, radius: &BlastRadius, fleet: &dyn Fleet) -> Vec<FaultStep> {
    match spec {
        FaultSpec::NetworkPartition { groups, methods } => {
            let mut steps = Vec::new();
            for (i, g) in groups.iter().enumerate() {
                let blocked: Vec<Principal> = groups
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .flat_map(|(_, o)| o.members.iter().copied())
                    .collect();
                for m in g.members.iter().filter(|m| radius.acted_on.contains(m)) {
                    steps.extend(hook(
                        *m,
                        HookFault::Partition {
                            blocked_callers: blocked.clone(),
                            methods: methods.clone(),
                        },
                    ));
                }
            }
            steps
        }
        FaultSpec::ResourceExhaustion { target, mode } => {
            let canister = *target;
            match mode {
                ExhaustionMode::Freeze {
                    freezing_threshold_secs,
                } => vec![FaultStep::ApplySettings {
                    canister,
                    change: SettingsChange {
                        freezing_threshold_secs: Some(*freezing_threshold_secs),
                        ..Default::default()
                    },
                }],
                ExhaustionMode::SqueezeMemory {
                    wasm_memory_limit_bytes,
                } => vec![FaultStep::ApplySettings {
                    canister,
                    change: SettingsChange {
                        wasm_memory_limit_bytes: Some(*wasm_memory_limit_bytes),
                        ..Default::default()
                    },
                }],
                ExhaustionMode::Ballast { bytes } => {
                    hook(canister, HookFault::Ballast { bytes: *bytes })
                }
                ExhaustionMode::BurnInstructions {
                    methods,
                    instructions,
                } => hook(
                    canister,
                    HookFault::BurnInstructions {
                        methods: methods.clone(),
                        instructions: *instructions,
                    },
                ),
            }
        }
        FaultSpec::ServiceFailure { target, mode } => failure_steps(*target, mode),
        FaultSpec::CascadingFailure {
            dependency, mode, ..
        } => failure_steps(*dependency, mode),
        FaultSpec::LatencyInjection {
            target,
            methods,
            rounds,
            probability,
        } => hook(
            *target,
            HookFault::Delay {
                methods: methods.clone(),
                rounds: *rounds,
                probability: *probability,
            },
        ),
        FaultSpec::DataCorruption { target, intensity } => {
            let canister = *target;
            vec![
                // The IC spec asks for a stopped canister around snapshots.
                FaultStep::Stop { canister },
                FaultStep::Snapshot { canister },
                FaultStep::Start { canister },
                FaultStep::SetPlan {
                    canister,
                    faults: vec![HookFault::Corrupt {
                        intensity: *intensity,
                    }],
                },
            ]
        }
        FaultSpec::SecurityBreach { target, methods } => {
            let methods = if methods.is_empty() {
                fleet
                    .target(target)
                    .map(|t| t.profile.privileged_methods)
                    .unwrap_or_default()
            } else {
                methods.clone()
            };
            vec![FaultStep::ProbeAccess {
                target: *target,
                methods,
            }]
        }
        FaultSpec::ByzantineFault {
            target,
            methods,
            probability,
            ..
        } => hook(
            *target,
            HookFault::Perturb {
                methods: methods.clone(),
                probability: *probability,
            },
        ),
    }
}

fn watches(spec: &FaultSpec, fleet: &dyn Fleet) -> Vec<Watch> {
    let of_dependents = |of: &Principal, chosen: &[Principal], purpose| -> Vec<Watch> {
        let Some(t) = fleet.target(of) else {
            return Vec::new();
        };
        resolve_watched(&t, chosen)
            .into_iter()
            .filter_map(|d| fleet.target(&d))
            .map(|d| Watch {
                canister: d.canister,
                method: d.probe_method,
                purpose,
            })
            .collect()
    };
    match spec {
        FaultSpec::DataCorruption { target, .. } => fleet
            .target(target)
            .and_then(|t| t.profile.invariant_method)
            .map(|method| Watch {
                canister: *target,
                method,
                purpose: WatchPurpose::Invariant,
            })
            .into_iter()
            .collect(),
        FaultSpec::CascadingFailure {
            dependency,
            dependents,
            ..
        } => of_dependents(dependency, dependents, WatchPurpose::DependentHealth),
        FaultSpec::ByzantineFault {
            target, consumers, ..
        } => of_dependents(target, consumers, WatchPurpose::ConsumerCheck),
        _ => Vec::new(),
    }
}

/// Data a step may need when it is resolved into an action.
pub struct ResolveContext<'a> {
    pub plan_id: u64,
    pub seed: u64,
    /// When hook plans clear themselves: the experiment's hard deadline plus a grace period.
    pub plan_expires_at: TimestampNs,
    pub originals: &'a BTreeMap<Principal, TargetStatus>,
    pub snapshots: &'a BTreeMap<Principal, SnapshotId>,
}

/// True when `threshold_secs` freezes a canister with this status: its balance no longer
/// covers `threshold_secs` of idle burn.
pub fn freezes(threshold_secs: u64, status: &TargetStatus) -> bool {
    let reserve = threshold_secs as u128 * status.idle_cycles_burned_per_day.0 / 86_400;
    status.idle_cycles_burned_per_day.0 > 0 && reserve > status.cycles.0
}

/// Resolves a step into the action to perform, or says why it must not be performed.
pub fn resolve(step: &FaultStep, ctx: &ResolveContext) -> Result<Action, String> {
    Ok(match step {
        FaultStep::ApplySettings { canister, change } => {
            let original = ctx.originals.get(canister).ok_or_else(|| {
                format!("the original settings of {canister} were not recorded: nothing could restore them, so the change is not made")
            })?;
            if change.wasm_memory_limit_bytes.is_some()
                && original.wasm_memory_limit_bytes.is_none()
            {
                return Err(format!("{canister}'s wasm_memory_limit was not reported by canister_status, so a squeeze could not be undone; it is not made"));
            }
            if let Some(t) = change.freezing_threshold_secs {
                if !freezes(t, original) {
                    return Err(format!(
                        "a freezing threshold of {t} s does not freeze {canister}: it holds {} and burns {} per day idle; choose more than {} s",
                        original.cycles,
                        original.idle_cycles_burned_per_day,
                        min_freezing_secs(original).map_or("(never: it burns nothing idle)".into(), |s| s.to_string())
                    ));
                }
            }
            Action::UpdateSettings {
                canister: *canister,
                change: change.clone(),
            }
        }
        FaultStep::Stop { canister } => Action::StopCanister {
            canister: *canister,
        },
        FaultStep::Start { canister } => Action::StartCanister {
            canister: *canister,
        },
        FaultStep::Snapshot { canister } => Action::TakeSnapshot {
            canister: *canister,
            replace: None,
        },
        FaultStep::SetPlan { canister, faults } => {
            if faults.iter().any(HookFault::corrupts_state) && !ctx.snapshots.contains_key(canister)
            {
                return Err(format!(
                    "no restore-point snapshot of {canister} was taken: data is never corrupted without one"
                ));
            }
            Action::SetFaultPlan {
                canister: *canister,
                plan: FaultPlan {
                    plan_id: ctx.plan_id,
                    expires_at: ctx.plan_expires_at,
                    seed: ctx.seed,
                    faults: faults.clone(),
                },
            }
        }
        FaultStep::ProbeAccess { target, methods } => Action::AccessProbe {
            target: *target,
            methods: methods.clone(),
        },
        FaultStep::ClearPlan { canister } => Action::ClearFaults {
            canister: *canister,
        },
        FaultStep::RestoreSettings { canister, change } => Action::UpdateSettings {
            canister: *canister,
            change: change.clone(),
        },
        FaultStep::LoadRestorePoint { canister } => {
            Action::LoadSnapshot {
                canister: *canister,
                snapshot: ctx.snapshots.get(canister).cloned().ok_or_else(|| {
                    format!("no restore-point snapshot of {canister} is recorded")
                })?,
            }
        }
        FaultStep::DeleteRestorePoint { canister } => {
            Action::DeleteSnapshot {
                canister: *canister,
                snapshot: ctx.snapshots.get(canister).cloned().ok_or_else(|| {
                    format!("no restore-point snapshot of {canister} is recorded")
                })?,
            }
        }
    })
}

/// The smallest freezing threshold that freezes a canister with this status.
pub fn min_freezing_secs(status: &TargetStatus) -> Option<u128> {
    let idle = status.idle_cycles_burned_per_day.0;
    (idle > 0).then(|| status.cycles.0 * 86_400 / idle + 1)
}

/// The original values of the fields `change` sets.
pub fn restore_change(change: &SettingsChange, original: &TargetStatus) -> SettingsChange {
    SettingsChange {
        freezing_threshold_secs: change
            .freezing_threshold_secs
            .map(|_| original.freezing_threshold_secs),
        wasm_memory_limit_bytes: change
            .wasm_memory_limit_bytes
            .and(original.wasm_memory_limit_bytes),
        ..Default::default()
    }
}

/// What is owed to put the targets back, from what was issued: a step is owed from its issue
/// (its reply may be lost after it acted) and paid when its undo succeeds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Owed {
    pub clear_plan: BTreeSet<Principal>,
    /// Original values to write back.
    pub restore_settings: BTreeMap<Principal, SettingsChange>,
    pub load_restore_point: BTreeSet<Principal>,
    pub restart: BTreeSet<Principal>,
    /// Restore points taken (owed back to the target's 10 snapshot slots once they are loaded
    /// or no longer needed; kept when their load was given up: a person needs them).
    pub delete_restore_point: BTreeSet<Principal>,
}

impl Owed {
    pub fn is_empty(&self) -> bool {
        self.clear_plan.is_empty()
            && self.restore_settings.is_empty()
            && self.load_restore_point.is_empty()
            && self.restart.is_empty()
            && self.delete_restore_point.is_empty()
    }

    pub fn on_issued(&mut self, step: &FaultStep, originals: &BTreeMap<Principal, TargetStatus>) {
        match step {
            FaultStep::ApplySettings { canister, change } => {
                if let Some(o) = originals.get(canister) {
                    self.restore_settings
                        .entry(*canister)
                        .or_insert_with(|| restore_change(change, o));
                }
            }
            FaultStep::Stop { canister } => {
                self.restart.insert(*canister);
            }
            FaultStep::SetPlan { canister, faults } => {
                self.clear_plan.insert(*canister);
                if faults.iter().any(HookFault::corrupts_state) {
                    self.load_restore_point.insert(*canister);
                }
            }
            _ => {}
        }
    }

    pub fn on_succeeded(&mut self, step: &FaultStep) {
        match step {
            FaultStep::Snapshot { canister } => {
                self.delete_restore_point.insert(*canister);
            }
            FaultStep::DeleteRestorePoint { canister } => {
                self.delete_restore_point.remove(canister);
            }
            FaultStep::Start { canister } => {
                self.restart.remove(canister);
            }
            FaultStep::ClearPlan { canister } => {
                self.clear_plan.remove(canister);
            }
            FaultStep::RestoreSettings { canister, .. } => {
                self.restore_settings.remove(canister);
            }
            FaultStep::LoadRestorePoint { canister } => {
                self.load_restore_point.remove(canister);
            }
            _ => {}
        }
    }

    /// A restore point whose load was given up is kept: it is what a person restores from.
    pub fn keep_restore_point(&mut self, canister: &Principal) {
        self.delete_restore_point.remove(canister);
    }

    /// The rollback, in order: clear hook plans (the target behaves again), restore settings
    /// (unfreeze, unsqueeze), load restore points (stop, load, start: the start is attempted
    /// even when the load fails; then the snapshot is deleted), then restart what was stopped
    /// and delete restore points that were taken but never needed.
    pub fn rollback_steps(&self) -> Vec<FaultStep> {
        let mut steps: Vec<FaultStep> = self
            .clear_plan
            .iter()
            .map(|c| FaultStep::ClearPlan { canister: *c })
            .collect();
        steps.extend(
            self.restore_settings
                .iter()
                .map(|(c, change)| FaultStep::RestoreSettings {
                    canister: *c,
                    change: change.clone(),
                }),
        );
        for c in &self.load_restore_point {
            steps.push(FaultStep::Stop { canister: *c });
            steps.push(FaultStep::LoadRestorePoint { canister: *c });
            steps.push(FaultStep::Start { canister: *c });
            if self.delete_restore_point.contains(c) {
                steps.push(FaultStep::DeleteRestorePoint { canister: *c });
            }
        }
        steps.extend(
            self.restart
                .iter()
                .filter(|c| !self.load_restore_point.contains(c))
                .map(|c| FaultStep::Start { canister: *c }),
        );
        steps.extend(
            self.delete_restore_point
                .iter()
                .filter(|c| !self.load_restore_point.contains(c))
                .map(|c| FaultStep::DeleteRestorePoint { canister: *c }),
        );
        steps
    }
}
