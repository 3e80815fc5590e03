//! The simulated fleet: chaos_system's journal (the real core over `VectorMemory`), simulated
//! canisters, a clock, faults and users, all driven by one seeded generator.
//!
//! Commands go through the core exactly as the canister's entry points do (authorize, decide,
//! record); drills are driven in [`crate::drive`] exactly as the canister's `drive.rs` does.
//! Nothing here decides a rule of the suite: the simulator only plays the world around it.

use crate::agenda::Agenda;
use crate::app::VaultOp;
use crate::canister::{SimCanister, StatusVisibility};
use crate::effects;
use crate::faults::{self, FaultKnobs};
use crate::invariants::Violation;
use crate::rng::SimRng;
use candid::Principal;
use chaos_api::TargetSpec;
use chaos_manager::auth::authorize;
use chaos_manager::drill::{Drill, DrillOptions, ScenarioKind};
use chaos_manager::effect::{CallFailure, Effect, Outcome, RejectCode, StateProbe};
use chaos_manager::journal::{Journal, RecordContext, Recorded};
use chaos_manager::target::{ControlEvidence, Target};
use chaos_manager::{command, CoreError, DrillId, DurationNs, Event, Role, State, TimestampNs};
use event_log::{LogConfig, LogMemories};
use ic_stable_structures::VectorMemory;
use std::collections::{BTreeMap, BTreeSet};

/// Simulated time starts here (2023-11-14T22:13:20Z), whatever the seed.
pub const EPOCH: TimestampNs = TimestampNs(1_700_000_000_000_000_000);
/// Version recorded by [`Sim::reopen`]'s `Upgrade` event.
pub const SIM_VERSION: &str = concat!("fleet_sim-", env!("CARGO_PKG_VERSION"));

/// The suite's initial admin.
pub fn admin() -> Principal {
    Principal::self_authenticating(b"fleet_sim admin")
}

/// Granted the operator role by [`Sim::new`].
pub fn operator() -> Principal {
    Principal::self_authenticating(b"fleet_sim operator")
}

/// The developer who owns every simulated vault (always one of its controllers).
pub fn developer() -> Principal {
    Principal::self_authenticating(b"fleet_sim developer")
}

/// A principal with no role.
pub fn stranger() -> Principal {
    Principal::self_authenticating(b"fleet_sim stranger")
}

/// The IC-style id of the `n`th simulated canister (8-byte index, then `0x01 0x01`).
pub fn canister_id(n: u64) -> Principal {
    let mut bytes = n.to_be_bytes().to_vec();
    bytes.extend_from_slice(&[1, 1]);
    Principal::from_slice(&bytes)
}

/// Options of a drill request, as `start_drill`'s arguments carry them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DrillRequest {
    pub target: Principal,
    pub scenario: ScenarioKind,
    pub hold: DurationNs,
    /// Deposits the target's users make during the hold (between restore point and disaster).
    pub ops_during_hold: u32,
    /// A retry with the same key (same caller, within the window) returns the same drill.
    pub idempotency_key: Option<Vec<u8>>,
}

/// What `start_drill` answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StartedDrill {
    pub id: DrillId,
    /// True when the request was a retry and no new drill was started.
    pub duplicate: bool,
}

/// Counters of one simulated run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SimStats {
    pub steps: u64,
    pub effects_performed: u64,
    pub faults_injected: u64,
    /// Bounded-wait calls that ended in `SysUnknown` after they had acted.
    pub unknown_but_acted: u64,
    pub user_ops_applied: u64,
    pub user_ops_refused: u64,
    pub user_ops_rejected: u64,
    pub reopens: u64,
    /// Effects in flight at an upgrade that had acted on their target but whose reply was lost.
    pub lost_replies: u64,
    /// Scans recorded (operators' scans; the rescans of hardening are counted apart).
    pub scans: u64,
    /// Hardening requests performed and finished.
    pub hardenings_finished: u64,
    /// Experiments that ended with every acted-on target given back as it was found.
    pub experiments_restored: u64,
    /// Experiments that ended flagged for a person (`Failed`).
    pub experiments_flagged: u64,
    /// Emergency stops pressed.
    pub emergency_stops: u64,
    /// Experiments active when an emergency stop was pressed, and since finished.
    pub halted_finished: u64,
}

/// The background workload: random users' operations on random vaults while drills run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Background {
    /// Mean time between two operations.
    pub mean_interval: DurationNs,
}

/// One simulated fleet. Guarantees: every source of nondeterminism is `rng` (seeded), so two
/// `Sim`s built with the same seed and driven by the same calls record identical logs; every
/// state change of the suite goes through the core and its journal; time never goes backwards.
pub struct Sim {
    pub(crate) seed: u64,
    pub(crate) rng: SimRng,
    pub(crate) now: TimestampNs,
    pub(crate) suite: Principal,
    memories: LogMemories<VectorMemory>,
    pub(crate) journal: Journal<VectorMemory>,
    pub(crate) canisters: BTreeMap<Principal, SimCanister>,
    pub(crate) names: BTreeMap<Principal, String>,
    pub(crate) faults: BTreeMap<Principal, FaultKnobs>,
    pub(crate) agenda: Agenda,
    /// Drills with a step scheduled on the agenda (the canister's `PERFORMING`).
    pub(crate) performing: BTreeSet<DrillId>,
    /// Deposits still to make during each drill's hold.
    pub(crate) hold_ops: BTreeMap<DrillId, u32>,
    /// Approved hardening requests being performed, with the outcomes so far (lost with an
    /// upgrade: a request is then performed again from its first effect).
    pub(crate) hardening: BTreeMap<u64, Vec<(String, Outcome)>>,
    pub(crate) background: Option<Background>,
    /// Experiments with a step call on the agenda, and that step.
    pub(crate) exp_performing: BTreeMap<chaos_manager::experiment::ExperimentId, u32>,
    /// Lab timers armed on the agenda (lost with an upgrade, re-armed from state).
    pub(crate) lab_timers: BTreeSet<TimestampNs>,
    /// What each experiment's acted-on targets were before its first step (the world's record).
    pub(crate) baselines: BTreeMap<
        chaos_manager::experiment::ExperimentId,
        BTreeMap<Principal, crate::experiments::Baseline>,
    >,
    /// Finished experiments already checked against their baselines.
    pub(crate) exp_checked: BTreeSet<chaos_manager::experiment::ExperimentId>,
    /// Experiments active when an emergency stop was pressed, not finished yet.
    pub(crate) halted_runs: BTreeSet<chaos_manager::experiment::ExperimentId>,
    /// Probability that a call in flight when chaos_system is upgraded had already acted.
    upgrade_lost_reply: f64,
    /// Log entries `0..verified` have been verified.
    pub(crate) verified: u64,
    next_canister: u64,
    pub(crate) stats: SimStats,
}

impl Sim {
    /// A fleet with chaos_system alone: its log holds `Init` (admin [`admin()`], suite
    /// [`Sim::suite`]) and [`operator()`]'s role. Same seed, same run.
    pub fn new(seed: u64) -> Self {
        let memories = LogMemories {
            log_index: VectorMemory::default(),
            log_data: VectorMemory::default(),
            dedup_keys: VectorMemory::default(),
            dedup_expiry: VectorMemory::default(),
        };
        let journal = Journal::open(memories.clone(), LogConfig::default())
            .unwrap_or_else(|e| panic!("fleet_sim (seed {seed}): {e}"));
        let suite = canister_id(0);
        let mut sim = Sim {
            seed,
            rng: SimRng::new(seed),
            now: EPOCH,
            suite,
            memories,
            journal,
            canisters: BTreeMap::new(),
            names: BTreeMap::new(),
            faults: BTreeMap::new(),
            agenda: Agenda::default(),
            performing: BTreeSet::new(),
            hold_ops: BTreeMap::new(),
            hardening: BTreeMap::new(),
            background: None,
            exp_performing: BTreeMap::new(),
            lab_timers: BTreeSet::new(),
            baselines: BTreeMap::new(),
            exp_checked: BTreeSet::new(),
            halted_runs: BTreeSet::new(),
            upgrade_lost_reply: 0.0,
            verified: 0,
            next_canister: 1,
            stats: SimStats::default(),
        };
        sim.names.insert(suite, "chaos_system".into());
        let init = Event::Init {
            admins: vec![admin()],
            suite,
            dedup_window_ns: None,
        };
        sim.record(admin(), "init", None, vec![init]);
        // As chaos_system's install argument names it: experiments' probes go through it.
        let probe = chaos_manager::command::set_chaos_probe(
            sim.state(),
            &admin(),
            Some(crate::experiments::chaos_probe()),
        )
        .unwrap_or_else(|e| panic!("fleet_sim (seed {seed}): {e}"));
        sim.record(admin(), "init", None, probe);
        sim.grant_role(admin(), operator(), Role::Operator)
            .unwrap_or_else(|e| panic!("fleet_sim (seed {seed}): {e}"));
        sim
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    pub fn now(&self) -> TimestampNs {
        self.now
    }

    /// chaos_system's principal (a controller of every vault added with [`Sim::add_vault`]).
    pub fn suite(&self) -> Principal {
        self.suite
    }

    pub fn journal(&self) -> &Journal<VectorMemory> {
        &self.journal
    }

    pub fn state(&self) -> &State {
        self.journal.state()
    }

    pub fn stats(&self) -> &SimStats {
        &self.stats
    }

    pub fn canister(&self, id: Principal) -> Option<&SimCanister> {
        self.canisters.get(&id)
    }

    pub fn canister_ids(&self) -> Vec<Principal> {
        self.canisters.keys().copied().collect()
    }

    /// # Panics
    /// If `id` is not a drill.
    pub fn drill(&self, id: DrillId) -> &Drill {
        self.state()
            .drills
            .get(&id)
            .unwrap_or_else(|| panic!("fleet_sim (seed {}): no {id}", self.seed))
    }

    /// A running demo_vault controlled by [`developer()`] and chaos_system.
    pub fn add_vault(&mut self, name: &str) -> Principal {
        self.add_canister(name, vec![developer(), self.suite])
    }

    /// A running demo_vault controlled by [`developer()`] only: the suite cannot act on it.
    pub fn add_vault_without_control(&mut self, name: &str) -> Principal {
        self.add_canister(name, vec![developer()])
    }

    fn add_canister(&mut self, name: &str, controllers: Vec<Principal>) -> Principal {
        let id = canister_id(self.next_canister);
        self.next_canister += 1;
        self.canisters
            .insert(id, SimCanister::with_vault(id, controllers));
        self.names.insert(id, name.to_string());
        id
    }

    /// `update_settings` by `caller` (a controller) with new controllers.
    pub fn set_controllers(
        &mut self,
        canister: Principal,
        caller: Principal,
        controllers: Vec<Principal>,
    ) -> Result<(), CallFailure> {
        self.canister_mut(canister)?
            .set_controllers(&caller, controllers)
    }

    /// Who may read `canister_status` of `canister` (the developer's setting).
    pub fn set_status_visibility(&mut self, canister: Principal, v: StatusVisibility) {
        if let Some(c) = self.canisters.get_mut(&canister) {
            c.set_status_visibility(v);
        }
    }

    /// Fault knobs of the calls chaos_system makes to (or about) `canister`.
    pub fn faults_mut(&mut self, canister: Principal) -> &mut FaultKnobs {
        self.faults.entry(canister).or_default()
    }

    /// The next call of `effect_name` ([`Effect::name`]) about `canister` fails with `code`.
    pub fn fail_next(&mut self, canister: Principal, effect_name: &'static str, code: RejectCode) {
        self.faults_mut(canister).scripted.push((effect_name, code));
    }

    /// Makes users operate on running vaults while drills run (`None`: only hold deposits).
    pub fn set_background(&mut self, background: Option<Background>) {
        self.background = background;
    }

    /// Probability that a call in flight at [`Sim::reopen`] had already acted on its target
    /// (its reply is lost with the upgrade). Zero by default: a clean upgrade.
    pub fn set_upgrade_lost_reply(&mut self, p: f64) {
        self.upgrade_lost_reply = p;
    }

    /// `user` deposits `amount` into `canister` now (one round passes). A vault refusal comes
    /// back as `CanisterReject` with the vault's error.
    pub fn deposit(
        &mut self,
        canister: Principal,
        user: Principal,
        amount: u64,
    ) -> Result<(), CallFailure> {
        self.advance_round();
        self.user_call(canister, user, &VaultOp::Deposit { amount })
    }

    /// `user` calls `op` on `canister` at the current time.
    pub fn user_call(
        &mut self,
        canister: Principal,
        user: Principal,
        op: &VaultOp,
    ) -> Result<(), CallFailure> {
        let now = self.now;
        let reply = self.canister_mut(canister)?.vault_call(user, op, now);
        match reply {
            Ok(Ok(())) => {
                self.stats.user_ops_applied += 1;
                Ok(())
            }
            Ok(Err(refusal)) => {
                self.stats.user_ops_refused += 1;
                Err(CallFailure {
                    code: RejectCode::CanisterReject,
                    message: refusal,
                })
            }
            Err(rejected) => {
                self.stats.user_ops_rejected += 1;
                Err(rejected)
            }
        }
    }

    /// Calls the vault's probe method, as any user may; no fault, no time passes.
    pub fn probe(&self, canister: Principal) -> Result<StateProbe, CallFailure> {
        self.canisters
            .get(&canister)
            .ok_or_else(|| not_found(canister))?
            .probe(crate::app::VaultApp::PROBE_METHOD)
    }

    pub(crate) fn canister_mut(&mut self, id: Principal) -> Result<&mut SimCanister, CallFailure> {
        self.canisters.get_mut(&id).ok_or_else(|| not_found(id))
    }

    pub fn grant_role(
        &mut self,
        caller: Principal,
        principal: Principal,
        role: Role,
    ) -> Result<(), CoreError> {
        let events = command::grant_role(self.state(), &caller, principal, role)?;
        self.record(caller, "grant_role", None, events);
        Ok(())
    }

    /// `register_target`, as the canister does it: precheck, read the controllers with the same
    /// effect a drill uses (faults apply; one call's latency passes), then let the core decide.
    pub fn register_target(
        &mut self,
        caller: Principal,
        spec: TargetSpec,
    ) -> Result<(), CoreError> {
        let target: Target = spec.into();
        command::precheck_register(self.state(), &caller, &target)?;
        let effect = Effect::ReadControllers {
            canister: target.canister_id,
        };
        let latency = self.latency(&effect);
        self.now = self.now.plus(latency);
        let evidence = match self.call(&effect) {
            Outcome::Controllers { controllers } => ControlEvidence::Controllers(controllers),
            other => ControlEvidence::StatusUnavailable(chaos_api::describe_outcome(&other)),
        };
        let events = command::register_target(self.state(), &caller, target, evidence)?;
        self.record(caller, "register_target", None, events);
        Ok(())
    }

    /// Starts a drill on `canister`; [`Sim::run_until_idle`] runs it.
    pub fn start_drill(
        &mut self,
        caller: Principal,
        canister: Principal,
        scenario: ScenarioKind,
        hold: DurationNs,
        ops_during_hold: u32,
    ) -> Result<DrillId, CoreError> {
        let request = DrillRequest {
            target: canister,
            scenario,
            hold,
            ops_during_hold,
            idempotency_key: None,
        };
        self.request_drill(caller, request).map(|s| s.id)
    }

    /// `start_drill` with every argument, as the canister's entry point handles it: operators
    /// only; a key seen within the window returns the drill it started.
    pub fn request_drill(
        &mut self,
        caller: Principal,
        req: DrillRequest,
    ) -> Result<StartedDrill, CoreError> {
        authorize(self.state(), &caller, Role::Operator)?;
        let key = req
            .idempotency_key
            .as_deref()
            .map(|k| start_drill_key(&caller, k));
        if let Some(k) = &key {
            if let Some(seq) = self.journal.find_duplicate(k, self.now) {
                return Ok(StartedDrill {
                    id: DrillId(seq),
                    duplicate: true,
                });
            }
        }
        let options = DrillOptions { hold: req.hold };
        let events =
            command::start_drill(self.state(), &caller, req.target, req.scenario, options)?;
        let recorded = self.record(caller, "start_drill", key, events);
        let first = recorded
            .first()
            .copied()
            .expect("start_drill records one event");
        let id = DrillId(first.seq());
        let duplicate = matches!(first, Recorded::Duplicate { .. });
        if !duplicate {
            self.hold_ops.insert(id, req.ops_during_hold);
        }
        Ok(StartedDrill { id, duplicate })
    }

    /// Simulates an upgrade of chaos_system: its pending calls and timers are lost (each call
    /// may have acted already, see [`Sim::set_upgrade_lost_reply`]), the journal is reopened
    /// from the same memories (replaying the log), an `Upgrade` event is recorded, the replayed
    /// state is checked against a fresh replay, and every in-flight effect is performed again
    /// (approved hardening requests from their first effect, at the next step).
    ///
    /// # Panics
    /// On an invariant violation, with the seed and the last events.
    pub fn reopen(&mut self) {
        if let Err(v) = self.try_reopen() {
            panic!("{v}");
        }
    }

    /// [`Sim::reopen`], returning a violation instead of panicking.
    pub fn try_reopen(&mut self) -> Result<(), Violation> {
        self.stats.reopens += 1;
        let drill_calls = self.agenda.drain_performs().into_iter().map(|(_, _, e)| e);
        let lab_calls = self.agenda.drain_lab();
        let in_flight: Vec<Effect> = drill_calls
            .chain(self.agenda.drain_hardening())
            .chain(lab_calls)
            .collect();
        for effect in in_flight {
            let acted = !matches!(effect, Effect::WaitUntil { .. })
                && self.rng.chance(self.upgrade_lost_reply);
            if acted {
                self.stats.lost_replies += 1;
                self.apply_effect(&effect);
            }
        }
        self.performing.clear();
        self.hardening.clear();
        self.exp_performing.clear();
        self.lab_timers.clear();
        self.journal = Journal::open(self.memories.clone(), LogConfig::default())
            .map_err(|e| self.violation(format!("the journal does not reopen: {e}")))?;
        let upgrade = Event::Upgrade {
            version: SIM_VERSION.to_string(),
            dedup_window_ns: None,
        };
        self.record(admin(), "upgrade", None, vec![upgrade]);
        self.verified = 0;
        self.self_check()?;
        for (drill, step, effect) in command::in_flight_effects(self.state()) {
            self.schedule(drill, step, effect);
        }
        // Journaled experiment steps in flight are resumed by the driver's next issue; the
        // lab's timers are armed again from state.
        self.arm_lab_timers();
        Ok(())
    }

    /// Records `events` for `caller`; the log refusing an append is a simulator failure.
    pub(crate) fn record(
        &mut self,
        caller: Principal,
        correlation: &str,
        key: Option<Vec<u8>>,
        events: Vec<Event>,
    ) -> Vec<Recorded> {
        let ctx = RecordContext::new(caller, correlation).with_key(key);
        match self.journal.record_all(self.now, &ctx, events) {
            Ok(r) => r,
            Err(e) => panic!(
                "{}",
                self.violation(format!("the journal refused an append: {e}"))
            ),
        }
    }

    /// How long a call for `effect` takes: 1–2 rounds, 2–4 for snapshots and installs; a
    /// round lasts 0.5–1 s.
    pub(crate) fn latency(&mut self, effect: &Effect) -> DurationNs {
        let rounds = match effect {
            Effect::TakeSnapshot { .. }
            | Effect::LoadSnapshot { .. }
            | Effect::InstallBrokenModule { .. } => self.rng.range(2, 4),
            _ => self.rng.range(1, 2),
        };
        let base = DurationNs((0..rounds).map(|_| self.round()).sum());
        let extra = effects::target_of(effect)
            .and_then(|id| self.faults.get(&id))
            .map_or(DurationNs(0), |k| k.extra_latency(&mut self.rng));
        DurationNs(base.0 + extra.0)
    }

    fn round(&mut self) -> u64 {
        self.rng.range(500_000_000, 1_000_000_000)
    }

    pub(crate) fn advance_round(&mut self) {
        let r = self.round();
        self.now = self.now.plus(DurationNs(r));
    }

    /// chaos_system's call for `effect`, now: faults first, then the canister acts.
    pub(crate) fn call(&mut self, effect: &Effect) -> Outcome {
        self.stats.effects_performed += 1;
        if let Some(id) = effects::target_of(effect) {
            let fault = self
                .faults
                .get_mut(&id)
                .and_then(|k| k.roll(effect, &mut self.rng));
            if let Some(failure) = fault {
                self.stats.faults_injected += 1;
                if failure.code == RejectCode::SysUnknown
                    && faults::acts_before_unknown(effect, &mut self.rng)
                {
                    // The reply is lost, not the call: what it did stays done.
                    self.stats.unknown_but_acted += 1;
                    let _ = self.apply_effect(effect);
                }
                return Outcome::Failed { failure };
            }
        }
        self.apply_effect(effect)
    }

    fn apply_effect(&mut self, effect: &Effect) -> Outcome {
        if matches!(effect, Effect::ProbeVia { .. } | Effect::AccessProbe { .. }) {
            return self.probe_call(effect);
        }
        let canister = effects::target_of(effect).and_then(|id| self.canisters.get_mut(&id));
        effects::perform(canister, &self.suite, effect, self.now)
    }
}

pub(crate) fn not_found(id: Principal) -> CallFailure {
    CallFailure {
        code: RejectCode::DestinationInvalid,
        message: format!("Canister {id} not found"),
    }
}

/// The log's idempotency key of a `start_drill` retry key: the core's derivation, the same
/// the canister uses.
pub fn start_drill_key(caller: &Principal, key: &[u8]) -> Vec<u8> {
    command::idempotency_key("start_drill", caller, key)
}
