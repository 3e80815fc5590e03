//! Experiments in the simulated fleet: the lab's commands routed through the core as the
//! canister's entry points would route them, and the experiment driver, the native twin of the
//! canister's timers.
//!
//! Every step goes the drills' way: the core issues it (`StepStarted` journaled before the call),
//! the action becomes an [`Effect`] (`experiment::effect_of`), the call completes on the agenda
//! after a seeded latency through [`Sim::call`] (call faults apply), the [`Outcome`] goes back as
//! an observation (`experiment::observation_of`) through `complete_step`. After
//! [`Sim::reopen`] every journaled in-flight step is performed again and the lab's timers
//! (experiment deadlines, motion deadlines, schedules) are armed again from state.
//!
//! The world side: [`Sim::probe_call`] is chaos_probe calling a target method as a neutral
//! principal, through the target's hook plan (partition, reject, trap, delay, burn, perturb)
//! and, for a consumer's `health`, through its dependencies' plans.

use crate::agenda::Task;
use crate::app::VaultApp;
use crate::canister::{CanisterStatus, Module};
use crate::invariants::Violation;
use crate::settings::Settings;
use crate::sim::Sim;
use candid::Principal;
use chaos_manager::council::{Agent, MotionId, Vote};
use chaos_manager::effect::{CallFailure, Effect, Outcome, RejectCode};
use chaos_manager::experiment::commands::{self, Caller};
use chaos_manager::experiment::{
    effect_of, observation_of, Experiment, ExperimentChange, ExperimentId, ExperimentSpec,
    LabChange, Status, Timer,
};
use chaos_manager::fault::{FaultPlan, FaultProfile, HookFault, ProbeReading};
use chaos_manager::safety::SafetyLimits;
use chaos_manager::{command, CoreError, DurationNs, Event, TimestampNs};

/// The neutral principal chaos_probe calls targets as (a controller of nothing).
pub fn chaos_probe() -> Principal {
    Principal::self_authenticating(b"fleet_sim chaos_probe")
}

/// A consumer's health method: it calls each dependency's `balance_of`.
pub const HEALTH_METHOD: &str = "health";
/// The vault's invariant check (demo_vault's `check_invariants`).
pub const INVARIANT_METHOD: &str = "check_invariants";
/// The method the vault passes through `perturb` and consumers call.
pub const PERTURBED_METHOD: &str = "balance_of";
/// demo_vault's no-argument update (`ping`): the probe that sees injected latency.
pub const PING_METHOD: &str = "ping";

/// Update methods of the simulated canisters (vault, consumer); every other method is a query.
/// As the real hooks do, only updates wait for a `Delay` (a query cannot), and only an update's
/// burn spans rounds (DTS slices ≈ 2B instructions; a query's burn is capped at 2B).
pub fn is_update(method: &str) -> bool {
    matches!(
        method,
        "deposit" | "withdraw" | "transfer" | "ping" | "refresh"
    )
}

/// What a target was before an experiment acted on it: what its rollback must give back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Baseline {
    pub status: CanisterStatus,
    pub settings: Settings,
    pub module: Module,
    pub invariants_held: bool,
    /// How many snapshots it holds: a restore point taken is given back.
    pub snapshots: usize,
}

impl Sim {
    fn caller(&self, principal: Principal) -> Result<Caller, CoreError> {
        if principal == Principal::anonymous() {
            return Err(CoreError::AnonymousCaller);
        }
        Ok(Caller {
            principal,
            role: self.state().role_of(&principal),
        })
    }

    fn record_lab(&mut self, caller: Principal, correlation: &str, changes: Vec<LabChange>) {
        let events = chaos_manager::lab_events::lab_events(self.state(), changes, caller, self.now);
        if !events.is_empty() {
            self.record(caller, correlation, None, events);
        }
        self.arm_lab_timers();
    }

    /// Sets (or replaces) a registered target's fault profile, through `update_target`.
    pub fn set_fault_profile(
        &mut self,
        caller: Principal,
        canister: Principal,
        profile: FaultProfile,
    ) -> Result<(), CoreError> {
        let mut target = self
            .state()
            .targets
            .get(&canister)
            .cloned()
            .ok_or(CoreError::TargetNotFound { canister })?;
        target.fault_profile = Some(profile);
        let events = command::update_target(self.state(), &caller, target)?;
        self.record(caller, "update_target", None, events);
        Ok(())
    }

    /// A vault_consumer: a running vault canister whose `health` calls each of `deps`.
    pub fn add_consumer(&mut self, name: &str, deps: Vec<Principal>) -> Principal {
        let id = self.add_vault(name);
        if let Some(c) = self.canisters.get_mut(&id) {
            c.set_depends_on(deps);
        }
        id
    }

    /// Privileged methods of `canister` that wrongly accept any caller.
    pub fn set_open_methods(&mut self, canister: Principal, methods: Vec<String>) {
        if let Some(c) = self.canisters.get_mut(&canister) {
            c.set_open_methods(methods);
        }
    }

    /// Names (or unsets) the chaos_probe canister, as an admin's `set_chaos_probe`.
    pub fn set_chaos_probe(
        &mut self,
        caller: Principal,
        probe: Option<Principal>,
    ) -> Result<(), CoreError> {
        let events = command::set_chaos_probe(self.state(), &caller, probe)?;
        self.record(caller, "set_chaos_probe", None, events);
        Ok(())
    }

    pub fn set_safety_limits(
        &mut self,
        caller: Principal,
        limits: SafetyLimits,
    ) -> Result<(), CoreError> {
        let c = self.caller(caller)?;
        let changes = commands::set_limits(&self.state().lab, &c, limits)?;
        self.record_lab(caller, "set_safety_limits", changes);
        Ok(())
    }

    pub fn register_agent(&mut self, caller: Principal, agent: Agent) -> Result<(), CoreError> {
        let c = self.caller(caller)?;
        let changes = commands::register_agent(&self.state().lab, &c, agent)?;
        self.record_lab(caller, "register_agent", changes);
        Ok(())
    }

    /// A draft; the hooks' seed is drawn from the simulator (the canister draws `raw_rand`).
    pub fn create_experiment(
        &mut self,
        caller: Principal,
        spec: ExperimentSpec,
    ) -> Result<ExperimentId, CoreError> {
        let c = self.caller(caller)?;
        let seed = self.rng.next_u64();
        let state = self.state();
        let changes = commands::create_experiment(&state.lab, state, &c, spec, seed)?;
        let id = match changes.first() {
            Some(LabChange::Experiment(ExperimentChange::Created { id, .. })) => *id,
            other => unreachable!("create_experiment records Created first, not {other:?}"),
        };
        self.record_lab(caller, "create_experiment", changes);
        Ok(id)
    }

    pub fn submit_experiment(
        &mut self,
        caller: Principal,
        id: ExperimentId,
    ) -> Result<(), CoreError> {
        let c = self.caller(caller)?;
        let state = self.state();
        let changes = commands::submit_experiment(&state.lab, state, &c, id, self.now)?;
        self.record_lab(caller, "submit_experiment", changes);
        Ok(())
    }

    /// Creates and submits.
    pub fn start_experiment(
        &mut self,
        caller: Principal,
        spec: ExperimentSpec,
    ) -> Result<ExperimentId, CoreError> {
        let id = self.create_experiment(caller, spec)?;
        self.submit_experiment(caller, id)?;
        Ok(id)
    }

    pub fn cast_position(
        &mut self,
        caller: Principal,
        motion: MotionId,
        vote: Vote,
        reason: &str,
    ) -> Result<(), CoreError> {
        let state = self.state();
        let changes = commands::cast_position(
            &state.lab,
            state,
            caller,
            motion,
            vote,
            reason.to_string(),
            self.now,
        )?;
        self.record_lab(caller, "cast_position", changes);
        Ok(())
    }

    pub fn abort_experiment(
        &mut self,
        caller: Principal,
        id: ExperimentId,
        note: &str,
    ) -> Result<(), CoreError> {
        let c = self.caller(caller)?;
        let changes = commands::abort_experiment(&self.state().lab, &c, id, note.to_string())?;
        self.record_lab(caller, "abort_experiment", changes);
        Ok(())
    }

    /// Schedules `spec` at `first_at`, once or every `interval` (the canister's
    /// `schedule_experiment`); returns the schedule's id.
    pub fn schedule_run(
        &mut self,
        caller: Principal,
        spec: ExperimentSpec,
        first_at: TimestampNs,
        interval: Option<DurationNs>,
    ) -> Result<chaos_manager::safety::ScheduleId, CoreError> {
        let c = self.caller(caller)?;
        let state = self.state();
        let id = chaos_manager::safety::ScheduleId(state.lab.safety.next_schedule);
        let changes = commands::schedule_experiment(
            &state.lab, state, &c, spec, first_at, interval, self.now,
        )?;
        self.record_lab(caller, "schedule_experiment", changes);
        Ok(id)
    }

    pub fn cancel_schedule(
        &mut self,
        caller: Principal,
        id: chaos_manager::safety::ScheduleId,
    ) -> Result<(), CoreError> {
        let c = self.caller(caller)?;
        let changes = commands::cancel_schedule(&self.state().lab, &c, id)?;
        self.record_lab(caller, "cancel_schedule", changes);
        Ok(())
    }

    /// Aborts every active experiment (each rolls back), withdraws the pending ones and
    /// refuses new ones until an admin resumes.
    pub fn emergency_stop(&mut self, caller: Principal, reason: &str) -> Result<(), CoreError> {
        let c = self.caller(caller)?;
        let changes = commands::emergency_stop(&self.state().lab, &c, reason.to_string())?;
        let active: Vec<ExperimentId> = self.state().lab.active().map(|e| e.id).collect();
        self.halted_runs.extend(active);
        self.stats.emergency_stops += 1;
        self.record_lab(caller, "emergency_stop", changes);
        Ok(())
    }

    pub fn resume_experiments(&mut self, caller: Principal) -> Result<(), CoreError> {
        let c = self.caller(caller)?;
        let changes = commands::resume(&self.state().lab, &c)?;
        self.record_lab(caller, "resume", changes);
        Ok(())
    }

    /// The lab's timer work at the current time (what the canister's timers call).
    pub fn lab_tick(&mut self) {
        let seed = self.rng.next_u64();
        let state = self.state();
        let changes = commands::tick(&state.lab, state, self.now, seed);
        let suite = self.suite;
        self.record_lab(suite, "lab_tick", changes);
    }

    /// # Panics
    /// If `id` is not an experiment.
    pub fn experiment(&self, id: ExperimentId) -> &Experiment {
        self.state()
            .lab
            .experiments
            .get(&id)
            .unwrap_or_else(|| panic!("fleet_sim (seed {}): no {id}", self.seed))
    }

    /// The open motion asking for `id`'s approval.
    pub fn motion_of(&self, id: ExperimentId) -> Option<MotionId> {
        self.state()
            .lab
            .council
            .motion_for(chaos_manager::council::Subject::Experiment(id))
            .map(|m| m.id)
    }

    /// What each target was before `id` acted on it (recorded when its first step issued).
    pub fn baseline(
        &self,
        id: ExperimentId,
    ) -> Option<&std::collections::BTreeMap<Principal, Baseline>> {
        self.baselines.get(&id)
    }

    pub(crate) fn baseline_of(&self, canister: Principal) -> Option<Baseline> {
        let c = self.canisters.get(&canister)?;
        Some(Baseline {
            status: c.status(),
            settings: c.settings().clone(),
            module: c.module(),
            invariants_held: c.vault_invariants().is_ok(),
            snapshots: c.snapshots().len(),
        })
    }

    /// Arms a timer task for every lab timer not armed yet (deadlines, motions, schedules).
    pub(crate) fn arm_lab_timers(&mut self) {
        let times: Vec<TimestampNs> = self
            .state()
            .lab
            .timers()
            .into_iter()
            .filter_map(|t| match t {
                Timer::ExperimentDeadline(_, at)
                | Timer::MotionDeadline(_, at)
                | Timer::Schedule(_, at) => Some(at),
                Timer::Wait(..) => None,
            })
            .collect();
        for at in times {
            if self.lab_timers.insert(at) {
                self.agenda.push(at.max(self.now), Task::LabTick);
            }
        }
    }

    /// Resumes or issues a step for every active experiment with no call in flight.
    pub(crate) fn issue_experiments(&mut self) {
        let idle: Vec<(ExperimentId, Option<(u32, chaos_manager::fault::Action)>)> = self
            .state()
            .lab
            .active()
            .filter(|e| match e.in_flight() {
                Some(s) => self.exp_performing.get(&e.id) != Some(&s.step),
                None => true,
            })
            .map(|e| (e.id, e.in_flight().map(|s| (s.step, s.action.clone()))))
            .collect();
        for (id, resumed) in idle {
            if !self.baselines.contains_key(&id) {
                let touched = self
                    .experiment(id)
                    .plan
                    .as_ref()
                    .map(|p| p.acted_on.clone())
                    .unwrap_or_default();
                let base = touched
                    .into_iter()
                    .filter_map(|c| self.baseline_of(c).map(|b| (c, b)))
                    .collect();
                self.baselines.insert(id, base);
            }
            let next = resumed.or_else(|| {
                let (change, action) = commands::issue_next_step(&self.state().lab, id, self.now)?;
                let LabChange::Experiment(ExperimentChange::StepStarted { step, .. }) = &change
                else {
                    unreachable!("issue_next_step returns StepStarted");
                };
                let step = *step;
                let suite = self.suite;
                self.record(suite, &id.to_string(), None, vec![Event::lab(change)]);
                Some((step, action))
            });
            if let Some((step, action)) = next {
                self.schedule_experiment(id, step, effect_of(&action));
            }
        }
    }

    fn schedule_experiment(&mut self, id: ExperimentId, step: u32, effect: Effect) {
        self.exp_performing.insert(id, step);
        let at = match &effect {
            Effect::WaitUntil { until } => (*until).max(self.now),
            other => {
                let latency = self.latency(other);
                self.now.plus(latency)
            }
        };
        self.agenda.push(at, Task::Experiment { id, step, effect });
    }

    /// The step's call completes: perform it and feed the observation back to the core. A
    /// stale completion (a wait cut short by an abort) records nothing.
    pub(crate) fn complete_experiment(
        &mut self,
        id: ExperimentId,
        step: u32,
        effect: &Effect,
    ) -> Result<(), Violation> {
        if self.exp_performing.get(&id) == Some(&step) {
            self.exp_performing.remove(&id);
        }
        if let (true, Some(c)) = (is_control(effect), effect.canister()) {
            if self.state().targets.get(&c).is_some_and(|t| t.protected) {
                return Err(self.violation(format!(
                    "{id} performed {} on the protected target {c}",
                    effect.name()
                )));
            }
        }
        let outcome = match effect {
            Effect::WaitUntil { .. } => Outcome::Done,
            _ => self.call(effect),
        };
        // chaos_probe's own call of the target took the reading's latency: its answer reaches
        // chaos_system that much later (a delayed target slows the run down, as on the IC).
        if let Outcome::ProbeRead { reading } = &outcome {
            if reading.latency.0 > 0 {
                self.exp_performing.insert(id, step);
                let at = self.now.plus(reading.latency);
                self.agenda
                    .push(at, Task::ExperimentReply { id, step, outcome });
                return Ok(());
            }
        }
        self.deliver_experiment(id, step, outcome);
        Ok(())
    }

    /// The step's outcome reaches chaos_system: feed it to the core.
    pub(crate) fn deliver_experiment(&mut self, id: ExperimentId, step: u32, outcome: Outcome) {
        if self.exp_performing.get(&id) == Some(&step) {
            self.exp_performing.remove(&id);
        }
        let observation = observation_of(outcome);
        if let Ok(changes) =
            commands::complete_step(&self.state().lab, id, step, observation, self.now)
        {
            let suite = self.suite;
            self.record_lab(suite, &id.to_string(), changes);
        }
    }

    /// A lab timer fires.
    pub(crate) fn fire_lab_timer(&mut self) {
        let now = self.now;
        self.lab_timers.retain(|t| *t > now);
        self.lab_tick();
    }

    /// `caller` calls `canister.method` now, through the canister's hooks (what any canister
    /// calling it would see): the extra rounds the answer is delayed by, and whether the
    /// answer is perturbed; or the rejection (stopped, frozen, partitioned, injected).
    pub fn hooked_call(
        &mut self,
        canister: Principal,
        caller: Principal,
        method: &str,
    ) -> Result<HookedReply, CallFailure> {
        self.guarded_call(canister, &caller, method)
            .map(|(delay_rounds, perturbed)| HookedReply {
                delay_rounds,
                perturbed,
            })
    }

    /// What chaos_probe reads when it calls `target.method` now (the steady-state probes'
    /// view): `chaos_state_probe`, `check_invariants` or a consumer's `health`.
    pub fn probe_read(
        &mut self,
        target: Principal,
        method: &str,
    ) -> Result<ProbeReading, CallFailure> {
        self.probe_via(target, method)
    }

    /// chaos_probe's calls ([`Effect::ProbeVia`], [`Effect::AccessProbe`]), now.
    pub(crate) fn probe_call(&mut self, effect: &Effect) -> Outcome {
        let result = match effect {
            Effect::ProbeVia { target, method } => self
                .probe_via(*target, method)
                .map(|reading| Outcome::ProbeRead { reading }),
            Effect::AccessProbe { target, methods } => {
                self.access_probe(*target, methods)
                    .map(|(accepted, inconclusive)| Outcome::AccessProbed {
                        accepted,
                        inconclusive,
                    })
            }
            _ => unreachable!("probe_call performs chaos_probe's calls only"),
        };
        result.unwrap_or_else(|failure| Outcome::Failed { failure })
    }

    /// `caller` calls `canister.method` through its hooks: partition, then one draw per
    /// probabilistic fault, burn first, then trap ▸ reject ▸ delay. Returns the extra rounds
    /// (delay, burn) and whether the answer is perturbed.
    fn guarded_call(
        &mut self,
        canister: Principal,
        caller: &Principal,
        method: &str,
    ) -> Result<(u64, bool), CallFailure> {
        let now = self.now;
        let c = self
            .canisters
            .get(&canister)
            .ok_or_else(|| crate::sim::not_found(canister))?;
        c.admit_call(caller, method, now)?;
        let Some(plan) = c.active_plan(now).cloned() else {
            return Ok((0, false));
        };
        let (mut trap, mut reject, mut delay, mut burn, mut perturb) =
            (false, false, 0u64, 0u64, false);
        let targets =
            |methods: &[String]| methods.is_empty() || methods.iter().any(|m| m == method);
        for f in &plan.faults {
            match f {
                HookFault::Trap {
                    methods,
                    probability,
                } if targets(methods) => trap |= self.draw(probability.0),
                HookFault::Reject {
                    methods,
                    probability,
                } if targets(methods) => reject |= self.draw(probability.0),
                HookFault::Delay {
                    methods,
                    rounds,
                    probability,
                } if is_update(method) && targets(methods) && self.draw(probability.0) => {
                    delay = delay.max(u64::from(*rounds));
                }
                HookFault::BurnInstructions {
                    methods,
                    instructions,
                } if is_update(method) && targets(methods) => burn += instructions,
                HookFault::Perturb {
                    methods,
                    probability,
                } if method == PERTURBED_METHOD && targets(methods) => {
                    perturb |= self.draw(probability.0)
                }
                _ => {}
            }
        }
        if trap {
            return Err(plan_failure(
                RejectCode::CanisterError,
                "trap",
                method,
                &plan,
            ));
        }
        if reject {
            return Err(plan_failure(
                RejectCode::CanisterReject,
                "reject",
                method,
                &plan,
            ));
        }
        // DTS slices about 2B instructions per round.
        Ok((delay + burn / 2_000_000_000, perturb))
    }

    fn draw(&mut self, ppm: u32) -> bool {
        self.rng.chance(f64::from(ppm) / 1_000_000.0)
    }

    fn probe_via(&mut self, target: Principal, method: &str) -> Result<ProbeReading, CallFailure> {
        let (mut rounds, _) = self.guarded_call(target, &chaos_probe(), method)?;
        let c = &self.canisters[&target];
        let mut reading = ProbeReading::default();
        match method {
            PING_METHOD => {
                reading.value = Some(c.probe(VaultApp::PROBE_METHOD)?.operation_count);
            }
            VaultApp::PROBE_METHOD => {
                reading.value = Some(c.probe(method)?.operation_count);
            }
            INVARIANT_METHOD => {
                reading.invariant_holds = Some(c.vault_invariants().is_ok());
            }
            HEALTH_METHOD => {
                let deps = c.depends_on().to_vec();
                let mut consistent = true;
                for dep in deps {
                    let (extra, perturbed) = self
                        .guarded_call(dep, &target, PERTURBED_METHOD)
                        .map_err(|f| CallFailure {
                            code: RejectCode::CanisterReject,
                            message: format!("health: dependency {dep} failed: {}", f.message),
                        })?;
                    rounds += extra;
                    consistent &= !perturbed;
                }
                reading.value = Some(
                    self.canisters[&target]
                        .probe(VaultApp::PROBE_METHOD)?
                        .operation_count,
                );
                reading.invariant_holds = Some(consistent);
            }
            other => {
                return Err(CallFailure {
                    code: RejectCode::CanisterError,
                    message: format!("Canister {target} has no method '{other}'"),
                })
            }
        }
        let base = self.rng.range(500_000_000, 1_000_000_000);
        let per_round: u64 = (0..rounds.min(1_000))
            .map(|_| self.rng.range(500_000_000, 1_000_000_000))
            .sum();
        reading.latency = DurationNs(base + per_round);
        Ok(reading)
    }

    /// chaos_probe's access probe, with its verdicts: a canister's reject is a refusal, as is a
    /// method that ran but checks its caller; a call that never reached the method's guard
    /// (stopped, empty, not delivered) is inconclusive; when every method is, the probe fails.
    fn access_probe(
        &mut self,
        target: Principal,
        methods: &[String],
    ) -> Result<(Vec<String>, Vec<String>), CallFailure> {
        let mut accepted = Vec::new();
        let mut inconclusive = Vec::new();
        for m in methods {
            match self.guarded_call(target, &chaos_probe(), m) {
                Ok(_) if self.canisters[&target].open_methods().contains(m) => {
                    accepted.push(m.clone())
                }
                Ok(_) => {}
                Err(f) if f.code == RejectCode::CanisterReject => {}
                Err(f) => inconclusive.push(format!("{m}: {}", f.message)),
            }
        }
        if !methods.is_empty() && inconclusive.len() == methods.len() {
            return Err(CallFailure {
                code: RejectCode::Local,
                message: format!(
                    "access probe inconclusive for every method: {}",
                    inconclusive.join(", ")
                ),
            });
        }
        Ok((accepted, inconclusive))
    }

    /// Checks the experiment invariants: at most `max_concurrent` active; no two active
    /// experiments act on or degrade the same target; an experiment shares no target with a
    /// drill or a hardening ([`Sim::check_shared_targets`]); every finished experiment either
    /// flagged its targets (`Failed`) or gave back every acted-on target as it found it
    /// (status, settings, module, no hook plan, vault invariants) — runs aborted by an
    /// emergency stop included.
    pub(crate) fn check_experiments(&mut self) -> Result<(), Violation> {
        let lab = &self.state().lab;
        let active = lab.active().count();
        let max = lab.safety.limits.max_concurrent as usize;
        if active > max {
            return Err(self.violation(format!(
                "{active} experiments active, above the limit of {max}"
            )));
        }
        self.check_shared_targets()?;
        let lab = &self.state().lab;
        for (id, touched) in lab.active_touched() {
            for t in touched {
                if let Some(d) = self.state().running_drill_on(&t) {
                    return Err(self.violation(format!("{id} and {d} share {t}")));
                }
                if self.state().targets.get(&t).is_some_and(|x| x.protected) {
                    return Err(self.violation(format!("{id} touches the protected target {t}")));
                }
            }
        }
        // A run whose strategy skipped the rollback (`never`, or `on_deviation` when nothing
        // deviated) stays active until its hook plans have lapsed: when it finishes, as when
        // any run finishes, no target it acted on carries a live plan.
        let finished: Vec<(ExperimentId, Status)> = lab
            .experiments
            .values()
            .filter(|e| e.report().is_some() && !self.exp_checked.contains(&e.id))
            .map(|e| (e.id, e.status()))
            .collect();
        if let Some(halt) = &lab.safety.halt {
            if let Some(e) = lab
                .active()
                .find(|e| e.started_at.is_some_and(|t| t > halt.since))
            {
                return Err(self.violation(format!(
                    "{} started at {:?} although an emergency stop is in force since {:?}",
                    e.id, e.started_at, halt.since
                )));
            }
        }
        for (id, status) in finished {
            self.exp_checked.insert(id);
            let halted = self.halted_runs.remove(&id);
            if halted {
                self.stats.halted_finished += 1;
                if status == Status::Completed {
                    return Err(self.violation(format!(
                        "{id} was active at an emergency stop but ended Completed, not aborted"
                    )));
                }
            }
            if status == Status::Failed {
                self.stats.experiments_flagged += 1;
                continue;
            }
            self.stats.experiments_restored += 1;
            // A halted run included: not flagged, so every target it acted on must be as it
            // was. The baseline is taken before the first step; a run that performed a
            // control call without one would make this check vacuous.
            let acted = self
                .experiment(id)
                .steps
                .iter()
                .any(|s| s.action.is_control() && s.observation.is_some());
            if acted && !self.baselines.contains_key(&id) {
                return Err(self.violation(format!(
                    "{id} acted on its targets but no baseline was recorded before its first step"
                )));
            }
            let at_stop = if halted {
                " (active at an emergency stop)"
            } else {
                ""
            };
            let base = self.baselines.get(&id).cloned().unwrap_or_default();
            let leaked = self.snapshots_leaked_at_upgrades(id);
            for (canister, before) in base {
                let now = self.baseline_of(canister);
                let plan = self
                    .canisters
                    .get(&canister)
                    .and_then(|c| c.active_plan(self.now).cloned());
                // A restore point taken again after an upgrade lost the first one's reply
                // stays behind (documented; counted as an orphan snapshot by the run).
                let as_found = now.as_ref().is_some_and(|n| {
                    let extra = n.snapshots.saturating_sub(before.snapshots);
                    n.snapshots >= before.snapshots
                        && extra <= leaked
                        && Baseline {
                            snapshots: before.snapshots,
                            ..n.clone()
                        } == before
                });
                if !as_found || plan.is_some() {
                    return Err(self.violation(format!(
                        "{id}{at_stop} ended {status:?} (not flagged) but left {canister} as {now:?} with plan {plan:?}, not as it found it: {before:?}"
                    )));
                }
            }
        }
        Ok(())
    }

    /// Restore points `id` may have taken twice: its `TakeSnapshot` steps in flight across an
    /// upgrade of chaos_system (the first call may have acted with its reply lost; the step
    /// is performed again).
    fn snapshots_leaked_at_upgrades(&self, id: ExperimentId) -> usize {
        let upgrades = &self.state().upgrades;
        self.experiment(id)
            .steps
            .iter()
            .filter(|s| matches!(s.action, chaos_manager::fault::Action::TakeSnapshot { .. }))
            .filter(|s| {
                let end = s.finished_at.unwrap_or(self.now);
                upgrades
                    .iter()
                    .any(|(at, _)| s.started_at <= *at && *at <= end)
            })
            .count()
    }

    /// One activity per target, as the active experiments see it: no two active experiments
    /// act on or degrade the same target, and none shares a target with a hardening request.
    /// A hardening the driver is performing never overlaps an experiment; an approved one
    /// that waits (`assurance::hardening_in_progress`, which admission treats as busy) may
    /// overlap only a run that started before the approval (the core lets an admin approve
    /// during a run and the driver waits for it to finish): a run admitted over an approved
    /// request is a violation. Each message names both activities and the target.
    pub(crate) fn check_shared_targets(&self) -> Result<(), Violation> {
        let state = self.state();
        let mut owner: std::collections::BTreeMap<Principal, ExperimentId> =
            std::collections::BTreeMap::new();
        for (id, touched) in state.lab.active_touched() {
            let touched: std::collections::BTreeSet<Principal> = touched.into_iter().collect();
            for t in touched {
                if let Some(other) = owner.insert(t, id) {
                    return Err(self.violation(format!(
                        "{other} and {id} are both active on {t}: two experiments share a target"
                    )));
                }
            }
        }
        for request in self.hardening.keys() {
            let Some(r) = state.assurance.hardening.get(request) else {
                continue;
            };
            if let Some(id) = owner.get(&r.target()) {
                return Err(self.violation(format!(
                    "{id} is active on {} while hardening request {request} is being performed on it",
                    r.target()
                )));
            }
        }
        for (t, id) in &owner {
            let Some(request) = chaos_manager::assurance::hardening_in_progress(state, *t) else {
                continue;
            };
            let e = self.experiment(*id);
            let requested_at = state.assurance.hardening[&request].requested_at;
            // Approved after the run started: the request came later, or the log says so.
            let later = match e.started_at {
                Some(started) if requested_at > started => true,
                Some(_) => self.approved_after_start(request, *id),
                None => false,
            };
            if !later {
                return Err(self.violation(format!(
                    "{id} was admitted on {t} while hardening request {request} was approved for it"
                )));
            }
        }
        Ok(())
    }

    /// Whether the log records `request`'s approval after `id`'s start (the later of the two
    /// is the first found reading back from the tip).
    fn approved_after_start(&self, request: u64, id: ExperimentId) -> bool {
        let log = self.journal.log();
        let mut seq = log.len();
        while seq > 0 {
            let from = seq.saturating_sub(64);
            let page = log.read(from, (seq - from) as usize);
            for env in page.iter().rev() {
                match chaos_manager::journal::decode_envelope(env).map(|(_, e)| e) {
                    Ok(Event::HardeningDecided {
                        request: r,
                        approved: true,
                        ..
                    }) if r == request => return true,
                    Ok(Event::ExperimentChanged { change }) => {
                        if matches!(*change, ExperimentChange::Started { id: s, .. } if s == id) {
                            return false;
                        }
                    }
                    _ => {}
                }
            }
            seq = from;
        }
        false
    }

    /// Canisters an active experiment acts on or degrades.
    pub(crate) fn experiment_targets(&self) -> std::collections::BTreeSet<Principal> {
        self.state()
            .lab
            .active_touched()
            .into_iter()
            .flat_map(|(_, t)| t)
            .collect()
    }
}

/// A call admitted through the hooks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HookedReply {
    /// Rounds the answer was delayed by (delay and instruction burn).
    pub delay_rounds: u64,
    /// Whether the answer was perturbed (byzantine).
    pub perturbed: bool,
}

fn plan_failure(code: RejectCode, kind: &str, method: &str, plan: &FaultPlan) -> CallFailure {
    CallFailure {
        code,
        message: format!(
            "chaos_hooks: injected {kind} of {method} (plan {})",
            plan.plan_id
        ),
    }
}

/// Calls that act on a target (not probes or waits).
fn is_control(effect: &Effect) -> bool {
    !matches!(
        effect,
        Effect::ProbeVia { .. }
            | Effect::AccessProbe { .. }
            | Effect::WaitUntil { .. }
            | Effect::Probe { .. }
    )
}
