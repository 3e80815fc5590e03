//! A tiny fold-only harness: records events straight into a `State` (no log), so the core's
//! rules are tested without storage.

#![allow(dead_code)]

use chaos_manager::command;
use chaos_manager::drill::{DrillOptions, ScenarioKind};
use chaos_manager::effect::{Effect, Outcome, SnapshotInfo, StateProbe};
use chaos_manager::state::{EventMeta, State};
use chaos_manager::target::{ControlEvidence, Criticality, RpoObjective, Target};
use chaos_manager::{DrillId, DurationNs, Event, Role, SnapshotId, TimestampNs};
use ic_principal::Principal;

pub fn principal(n: u8) -> Principal {
    Principal::from_slice(&[n, 0xaa, 1])
}

pub const SUITE: u8 = 1;
pub const ADMIN: u8 = 2;
pub const OPERATOR: u8 = 3;
pub const AUDITOR: u8 = 4;
pub const VAULT: u8 = 10;

pub struct Harness {
    pub state: State,
    pub seq: u64,
    pub now: TimestampNs,
}

impl Harness {
    /// Given a suite with an admin, an operator, an auditor and a registered vault target.
    pub fn with_vault() -> Self {
        let mut h = Harness {
            state: State::default(),
            seq: 0,
            now: TimestampNs(1_000_000_000_000),
        };
        h.apply(
            principal(ADMIN),
            vec![Event::Init {
                admins: vec![principal(ADMIN)],
                suite: principal(SUITE),
                dedup_window_ns: None,
            }],
        );
        let admin = principal(ADMIN);
        let ev =
            command::grant_role(&h.state, &admin, principal(OPERATOR), Role::Operator).unwrap();
        h.apply(admin, ev);
        let ev = command::grant_role(&h.state, &admin, principal(AUDITOR), Role::Auditor).unwrap();
        h.apply(admin, ev);
        let ev = command::register_target(
            &h.state,
            &admin,
            vault_target(),
            ControlEvidence::Controllers(vec![principal(ADMIN), principal(SUITE)]),
        )
        .unwrap();
        h.apply(admin, ev);
        h
    }

    pub fn apply(&mut self, caller: Principal, events: Vec<Event>) -> u64 {
        let first = self.seq;
        for e in events {
            let meta = EventMeta {
                seq: self.seq,
                time: self.now,
                caller,
            };
            self.state.apply(&meta, &e);
            self.seq += 1;
        }
        first
    }

    pub fn tick(&mut self, ns: u64) {
        self.now = TimestampNs(self.now.0 + ns);
    }

    pub fn start(&mut self, scenario: ScenarioKind, hold: DurationNs) -> DrillId {
        let op = principal(OPERATOR);
        let ev = command::start_drill(
            &self.state,
            &op,
            principal(VAULT),
            scenario,
            DrillOptions { hold },
        )
        .unwrap();
        DrillId(self.apply(op, ev))
    }

    /// Issues the next step and returns its effect (None when nothing is left).
    pub fn issue(&mut self, drill: DrillId) -> Option<(u16, Effect)> {
        let (event, effect) = command::issue_next_step(&self.state, drill)?;
        let step = match &event {
            Event::DrillStepStarted { step, .. } => *step,
            _ => unreachable!(),
        };
        self.apply(principal(SUITE), vec![event]);
        Some((step, effect))
    }

    pub fn complete(&mut self, drill: DrillId, step: u16, outcome: Outcome) {
        self.tick(1_000_000_000);
        let ev = command::complete_step(&self.state, drill, step, outcome, self.now).unwrap();
        self.apply(principal(SUITE), ev);
    }

    /// Runs a drill to the end, answering each effect with `respond`.
    pub fn run(
        &mut self,
        drill: DrillId,
        mut respond: impl FnMut(&Effect) -> Outcome,
    ) -> Vec<Effect> {
        let mut performed = Vec::new();
        while let Some((step, effect)) = self.issue(drill) {
            if let Effect::WaitUntil { until } = &effect {
                if until.0 > self.now.0 {
                    self.now = *until;
                }
            }
            let outcome = respond(&effect);
            performed.push(effect);
            self.complete(drill, step, outcome);
            assert!(performed.len() < 100, "drill does not terminate");
        }
        performed
    }
}

pub fn vault_target() -> Target {
    Target {
        canister_id: principal(VAULT),
        name: "demo_vault".into(),
        criticality: Criticality::High,
        protected: false,
        rto_objective: DurationNs::from_secs(600),
        rpo_objective: RpoObjective {
            max_operations_lost: 10,
            max_age: DurationNs::from_secs(3600),
        },
        probe_method: "chaos_state_probe".into(),
        allowed_scenarios: ScenarioKind::ALL.to_vec(),
        fault_profile: None,
    }
}

pub fn probe(ops: u64) -> Outcome {
    Outcome::Probed {
        probe: StateProbe {
            operation_count: ops,
            state_hash: ops.to_le_bytes().to_vec(),
        },
    }
}

/// A well-behaved target: `ops_at_disaster` operations happened before the disaster, the
/// restore point holds `ops_at_snapshot`.
pub fn healthy_target(
    ops_at_snapshot: u64,
    ops_at_disaster: u64,
) -> impl FnMut(&Effect) -> Outcome {
    let mut down = false;
    let mut probes = 0;
    move |e| match e {
        Effect::ReadControllers { .. } => Outcome::Controllers {
            controllers: vec![principal(ADMIN), principal(SUITE)],
        },
        Effect::TakeSnapshot { .. } => Outcome::SnapshotTaken {
            id: SnapshotId(vec![7; 4]),
            taken_at: TimestampNs(1_000_000_000_000 + 3_000_000_000),
        },
        Effect::UninstallCode { .. } | Effect::InstallBrokenModule { .. } => {
            down = true;
            Outcome::Done
        }
        Effect::LoadSnapshot { .. } => {
            down = false;
            Outcome::Done
        }
        Effect::ListSnapshots { .. } => Outcome::Snapshots {
            snapshots: vec![SnapshotInfo {
                id: SnapshotId(vec![7; 4]),
                taken_at: TimestampNs(1),
            }],
        },
        Effect::Probe { .. } => {
            probes += 1;
            if down {
                Outcome::failed(
                    chaos_manager::effect::RejectCode::DestinationInvalid,
                    "canister is empty",
                )
            } else if probes <= 1 {
                probe(ops_at_snapshot)
            } else if probes == 2 {
                probe(ops_at_disaster)
            } else {
                probe(ops_at_snapshot)
            }
        }
        _ => Outcome::Done,
    }
}
