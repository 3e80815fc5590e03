//! The bridge between an experiment's [`Action`]s and the shells' [`Effect`]s: both shells
//! perform experiment steps through the same effect performers as drills and hardening (the
//! table in the module docs of [`crate::experiment`]), and report the [`Outcome`], which
//! becomes the step's [`Observation`].

use crate::effect::{Effect, Outcome, RejectCode};
use crate::fault::{Action, Observation};

/// The effect that performs `action`.
pub fn effect_of(action: &Action) -> Effect {
    match action.clone() {
        Action::ReadStatus { canister } => Effect::ReadStatus { canister },
        Action::UpdateSettings { canister, change } => Effect::UpdateSettings { canister, change },
        Action::StopCanister { canister } => Effect::StopCanister { canister },
        Action::StartCanister { canister } => Effect::StartCanister { canister },
        Action::TakeSnapshot { canister, replace } => Effect::TakeSnapshot { canister, replace },
        Action::LoadSnapshot { canister, snapshot } => Effect::LoadSnapshot { canister, snapshot },
        Action::DeleteSnapshot { canister, snapshot } => {
            Effect::DeleteSnapshot { canister, snapshot }
        }
        Action::SetFaultPlan { canister, plan } => Effect::SetFaultPlan { canister, plan },
        Action::ClearFaults { canister } => Effect::ClearFaults { canister },
        Action::ProbeVia { target, method } => Effect::ProbeVia { target, method },
        Action::AccessProbe { target, methods } => Effect::AccessProbe { target, methods },
        Action::WaitUntil { until } => Effect::WaitUntil { until },
    }
}

/// The observation an outcome of [`effect_of`]'s effect is. An outcome of the wrong shape
/// (a shell bug) is a failure, never a success.
pub fn observation_of(outcome: Outcome) -> Observation {
    match outcome {
        Outcome::Done => Observation::Done,
        Outcome::Status { status } => Observation::Status { status },
        Outcome::SnapshotTaken { id, taken_at } => Observation::SnapshotTaken { id, taken_at },
        Outcome::ProbeRead { reading } => Observation::Probed { reading },
        Outcome::AccessProbed {
            accepted,
            inconclusive,
        } => Observation::AccessProbed {
            accepted,
            inconclusive,
        },
        Outcome::Failed { failure } => Observation::Failed { failure },
        other => Observation::failed(
            RejectCode::Local,
            format!("the shell answered an experiment step with an unexpected outcome: {other:?}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::fixtures::{principal, VAULT};
    use crate::fault::{FaultPlan, HookFault, Ppm, ProbeReading, TargetStatus};
    use crate::hardening::{Cycles, RunStatus, SettingsChange};
    use crate::ids::{DurationNs, SnapshotId, TimestampNs};

    #[test]
    fn every_action_maps_to_an_effect_on_the_same_canister_and_round_trips() {
        let c = principal(VAULT);
        let actions = vec![
            Action::ReadStatus { canister: c },
            Action::UpdateSettings {
                canister: c,
                change: SettingsChange {
                    freezing_threshold_secs: Some(1),
                    ..Default::default()
                },
            },
            Action::StopCanister { canister: c },
            Action::StartCanister { canister: c },
            Action::TakeSnapshot {
                canister: c,
                replace: None,
            },
            Action::LoadSnapshot {
                canister: c,
                snapshot: SnapshotId(vec![1]),
            },
            Action::DeleteSnapshot {
                canister: c,
                snapshot: SnapshotId(vec![1]),
            },
            Action::SetFaultPlan {
                canister: c,
                plan: FaultPlan {
                    plan_id: 1,
                    expires_at: TimestampNs(5),
                    seed: 7,
                    faults: vec![HookFault::Reject {
                        methods: vec![],
                        probability: Ppm::ALWAYS,
                    }],
                },
            },
            Action::ClearFaults { canister: c },
            Action::ProbeVia {
                target: c,
                method: "health".into(),
            },
            Action::AccessProbe {
                target: c,
                methods: vec!["set_owner".into()],
            },
            Action::WaitUntil {
                until: TimestampNs(9),
            },
        ];
        for a in actions {
            let e = effect_of(&a);
            assert_eq!(e.canister(), a.canister(), "{a:?}");
            assert_eq!(e.name(), a.name(), "{a:?}");
            let bytes = minicbor::to_vec(&e).unwrap();
            assert_eq!(minicbor::decode::<Effect>(&bytes).unwrap(), e);
        }
    }

    #[test]
    fn outcomes_become_observations_and_strays_are_failures() {
        let status = TargetStatus {
            status: RunStatus::Running,
            freezing_threshold_secs: 1,
            wasm_memory_limit_bytes: None,
            cycles: Cycles(1),
            idle_cycles_burned_per_day: Cycles(1),
        };
        assert_eq!(
            observation_of(Outcome::Status {
                status: status.clone()
            }),
            Observation::Status { status }
        );
        let reading = ProbeReading {
            value: Some(3),
            latency: DurationNs(1),
            invariant_holds: None,
        };
        assert_eq!(
            observation_of(Outcome::ProbeRead {
                reading: reading.clone()
            }),
            Observation::Probed { reading }
        );
        assert_eq!(
            observation_of(Outcome::AccessProbed {
                accepted: vec!["x".into()],
                inconclusive: vec!["y: stopped".into()],
            }),
            Observation::AccessProbed {
                accepted: vec!["x".into()],
                inconclusive: vec!["y: stopped".into()],
            }
        );
        assert!(observation_of(Outcome::Controllers {
            controllers: vec![]
        })
        .is_failure());
    }
}
