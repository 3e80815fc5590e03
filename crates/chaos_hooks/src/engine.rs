//! The pure hook state machine: who may control the hooks, which plan is active, and what each
//! guarded call suffers. No ic-cdk: time and caller come through [`CallContext`], so native
//! tests and simulators drive the same code as the canister shell ([`crate::canister`]).

use crate::plan::{self, Declared};
use crate::rng::{stateless_draws, Draws, Salt, StreamKey, Xoshiro256StarStar};
use crate::types::{
    CorruptionReport, Fault, FaultPlan, HookCaps, HookError, HookStatus, InjectionCounts,
    TimestampNs,
};
use candid::Principal;

/// Where a guarded call's time and caller come from. Read lazily: the fast path (no plan)
/// reads neither.
pub trait CallContext {
    fn now_ns(&mut self) -> TimestampNs;
    fn caller(&mut self) -> Principal;
}

/// What a guarded call suffers, in order: burn first, then the action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub plan_id: u64,
    /// Instructions to burn before the action (0 = none); already capped.
    pub burn_instructions: u64,
    pub action: Action,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Run the method, after `delay_rounds` self-call round trips (0 = at once).
    Proceed { delay_rounds: u32 },
    /// Reject the call with this message (reject code 4).
    Reject { reason: String },
    /// Trap with this message (reject code 5; the call's changes are discarded).
    Trap { reason: String },
}

/// What [`evaluate`] found for one call: the pure function of (plan, method, caller, draws).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Evaluation {
    pub partitioned: bool,
    pub trap: bool,
    pub reject: bool,
    pub burn_instructions: u64,
    pub delay_rounds: u32,
}

/// Decides one call. Partition is decided by the caller alone and draws nothing; otherwise each
/// probabilistic fault that targets `method` takes exactly one draw, in plan order, so the
/// stream position depends only on the plan and the calls, never on earlier outcomes.
pub fn evaluate(
    plan: &FaultPlan,
    method: &str,
    caller: &Principal,
    draws: &mut impl Draws,
    burn_cap: u64,
) -> Evaluation {
    let partitioned = plan.faults.iter().any(|f| match f {
        Fault::Partition {
            blocked_callers, ..
        } => plan::targets(f, method) && blocked_callers.contains(caller),
        _ => false,
    });
    let mut e = Evaluation {
        partitioned,
        ..Evaluation::default()
    };
    if partitioned {
        return e;
    }
    for fault in plan.faults.iter().filter(|f| plan::targets(f, method)) {
        match fault {
            Fault::Reject {
                probability_ppm, ..
            } => e.reject |= draws.hit(*probability_ppm),
            Fault::Trap {
                probability_ppm, ..
            } => e.trap |= draws.hit(*probability_ppm),
            Fault::Delay {
                rounds,
                probability_ppm,
                ..
            } => {
                if draws.hit(*probability_ppm) {
                    e.delay_rounds = e.delay_rounds.max(*rounds);
                }
            }
            Fault::BurnInstructions { instructions, .. } => {
                e.burn_instructions = e.burn_instructions.saturating_add(*instructions);
            }
            Fault::Partition { .. }
            | Fault::Perturb { .. }
            | Fault::Corrupt { .. }
            | Fault::Ballast { .. } => {}
        }
    }
    e.burn_instructions = e.burn_instructions.min(burn_cap);
    e
}

/// What the shell must do after a plan was accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepted {
    /// Heap ballast the plan wants held (0 = release any).
    pub ballast_bytes: u64,
    /// Run the corruption function with this intensity (at most once per plan id in a row).
    pub corrupt: Option<u32>,
    /// The same plan was already active (a retried call): nothing changed.
    pub unchanged: bool,
}

/// Which control operation is being authorized.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    /// `chaos_hooks_set_plan`: chaos_system only.
    SetPlan,
    /// `chaos_hooks_clear`: chaos_system or a controller (ending faults is always safe).
    Clear,
    /// `chaos_hooks_status`: chaos_system, a controller, or the canister itself (delay hops).
    Status,
    /// `chaos_hooks_configure`: controllers only.
    Configure,
}

/// Who is calling, as far as authorization cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Caller {
    pub principal: Principal,
    pub is_controller: bool,
    pub is_self: bool,
}

struct Active {
    plan: FaultPlan,
    rng: Xoshiro256StarStar,
}

/// The hooks' whole state. Heap only, by design: an upgrade starts from [`Hooks::new`], so an
/// upgrade always ends injected faults.
pub struct Hooks {
    caps: HookCaps,
    declared: Declared,
    chaos_system: Option<Principal>,
    active: Option<Active>,
    guarded_calls: u64,
    injected: u64,
    counts: InjectionCounts,
    last_corruption: Option<CorruptionReport>,
}

impl Hooks {
    pub fn new(caps: HookCaps, declared: Declared) -> Self {
        Self {
            caps: caps.clamped(),
            declared,
            chaos_system: None,
            active: None,
            guarded_calls: 0,
            injected: 0,
            counts: InjectionCounts::default(),
            last_corruption: None,
        }
    }

    /// The fast-path flag: true iff a plan is held (it may have expired; the next call clears it).
    pub fn is_active(&self) -> bool {
        self.active.is_some()
    }

    pub fn chaos_system(&self) -> Option<Principal> {
        self.chaos_system
    }

    pub fn set_chaos_system(&mut self, principal: Option<Principal>) -> Result<(), HookError> {
        if principal == Some(Principal::anonymous()) {
            return Err(HookError::InvalidConfig(
                "the anonymous principal cannot be chaos_system".into(),
            ));
        }
        self.chaos_system = principal;
        Ok(())
    }

    pub fn set_has_corruption(&mut self, has: bool) {
        self.declared.has_corruption = has;
    }

    pub fn authorize(&self, op: Control, caller: &Caller) -> Result<(), HookError> {
        let is_chaos = self.chaos_system == Some(caller.principal);
        let ok = match op {
            Control::SetPlan => is_chaos,
            Control::Clear => is_chaos || caller.is_controller,
            Control::Status => is_chaos || caller.is_controller || caller.is_self,
            Control::Configure => {
                return caller
                    .is_controller
                    .then_some(())
                    .ok_or(HookError::NotController)
            }
        };
        match (ok, self.chaos_system) {
            (true, _) => Ok(()),
            (false, None) => Err(HookError::NotConfigured),
            (false, Some(_)) => Err(HookError::NotChaosSystem),
        }
    }

    /// Validates and installs `plan`, replacing any other. Retrying the active plan (same id,
    /// same faults) changes nothing; the same id with other faults is refused.
    pub fn set_plan(
        &mut self,
        plan: FaultPlan,
        now_ns: TimestampNs,
    ) -> Result<Accepted, HookError> {
        self.expire_if_due(now_ns);
        if let Some(active) = self
            .active
            .as_ref()
            .filter(|a| a.plan.plan_id == plan.plan_id)
        {
            if active.plan != plan {
                return Err(HookError::InvalidPlan(format!(
                    "plan {} is active with other faults: clear it or use a new plan_id",
                    plan.plan_id
                )));
            }
            return Ok(Accepted {
                ballast_bytes: plan::ballast_bytes(&plan),
                corrupt: None,
                unchanged: true,
            });
        }
        plan::validate(&plan, now_ns, &self.caps, &self.declared)?;
        let already_corrupted = self
            .last_corruption
            .as_ref()
            .is_some_and(|c| c.plan_id == plan.plan_id);
        let corrupt = plan::corruption_intensity(&plan).filter(|_| !already_corrupted);
        let accepted = Accepted {
            ballast_bytes: plan::ballast_bytes(&plan),
            corrupt,
            unchanged: false,
        };
        self.active = Some(Active {
            rng: Xoshiro256StarStar::seed_from(plan.seed),
            plan,
        });
        Ok(accepted)
    }

    pub fn record_corruption(&mut self, report: CorruptionReport) {
        self.last_corruption = Some(report);
    }

    /// Ends the active plan, if any; true if there was one. Corruption is not undone.
    pub fn clear(&mut self) -> bool {
        self.active.take().is_some()
    }

    /// Clears the plan if it expired at `now_ns`; true if it did.
    pub fn expire_if_due(&mut self, now_ns: TimestampNs) -> bool {
        let due = self
            .active
            .as_ref()
            .is_some_and(|a| now_ns >= a.plan.expires_at_ns);
        if due {
            self.active = None;
        }
        due
    }

    /// The decision for a guarded update. `None` = no plan (or it just expired): run normally.
    /// Advances the plan's generator; counts what it injects.
    pub fn decide_update(&mut self, method: &str, ctx: &mut impl CallContext) -> Option<Decision> {
        self.active.as_ref()?;
        if self.expire_if_due(ctx.now_ns()) {
            return None;
        }
        let caller = ctx.caller();
        let burn_cap = self.caps.max_burn_instructions;
        let active = self.active.as_mut()?;
        let eval = evaluate(&active.plan, method, &caller, &mut active.rng, burn_cap);
        let decision = decision(active.plan.plan_id, method, &caller, eval);
        self.count(&decision, eval);
        Some(decision)
    }

    /// The decision for a guarded query: no delay (a query cannot wait) and nothing counted (the
    /// IC discards a query's writes); draws from the stateless stream ([`crate::rng`]).
    pub fn decide_query(&self, method: &str, ctx: &mut impl CallContext) -> Option<Decision> {
        let active = self.active.as_ref()?;
        let now_ns = ctx.now_ns();
        if now_ns >= active.plan.expires_at_ns {
            return None;
        }
        let caller = ctx.caller();
        let mut draws = self.stream(active, now_ns, &caller, method, Salt::QueryGuard);
        let cap =
            plan::hard_limits::MAX_QUERY_BURN_INSTRUCTIONS.min(self.caps.max_burn_instructions);
        let mut eval = evaluate(&active.plan, method, &caller, &mut draws, cap);
        eval.delay_rounds = 0;
        Some(decision(active.plan.plan_id, method, &caller, eval))
    }

    /// `Some(draw)` when a `Perturb` fault targets `method` and its draw hits: the caller alters
    /// its answer using `draw` for variety. Counted (kept in updates, discarded in queries).
    pub fn perturb_draw(&mut self, method: &str, ctx: &mut impl CallContext) -> Option<u64> {
        let active = self.active.as_ref()?;
        let now_ns = ctx.now_ns();
        if now_ns >= active.plan.expires_at_ns {
            return None;
        }
        let caller = ctx.caller();
        let mut draws = self.stream(active, now_ns, &caller, method, Salt::Perturb);
        let mut hit = false;
        for fault in active
            .plan
            .faults
            .iter()
            .filter(|f| plan::targets(f, method))
        {
            if let Fault::Perturb {
                probability_ppm, ..
            } = fault
            {
                hit |= draws.hit(*probability_ppm);
            }
        }
        if !hit {
            return None;
        }
        self.counts.perturbed += 1;
        self.injected += 1;
        Some(draws.next_u64())
    }

    fn stream(
        &self,
        active: &Active,
        now_ns: TimestampNs,
        caller: &Principal,
        method: &str,
        salt: Salt,
    ) -> crate::rng::SplitMix64 {
        stateless_draws(StreamKey {
            seed: active.plan.seed,
            plan_id: active.plan.plan_id,
            now_ns,
            caller: caller.as_slice(),
            method,
            nonce: self.guarded_calls,
            salt,
        })
    }

    fn count(&mut self, decision: &Decision, eval: Evaluation) {
        self.guarded_calls += 1;
        let c = &mut self.counts;
        match &decision.action {
            Action::Reject { .. } if eval.partitioned => c.partitioned += 1,
            Action::Reject { .. } => c.rejected += 1,
            Action::Proceed { delay_rounds } if *delay_rounds > 0 => c.delayed += 1,
            Action::Proceed { .. } | Action::Trap { .. } => {}
        }
        if decision.burn_instructions > 0 {
            c.burned += 1;
        }
        let acted = eval.partitioned
            || eval.reject
            || eval.trap
            || eval.delay_rounds > 0
            || decision.burn_instructions > 0;
        if acted {
            self.injected += 1;
        }
    }

    /// The id of the plan in force at `now_ns` (an expired plan is not in force).
    pub fn active_plan(&self, now_ns: TimestampNs) -> Option<u64> {
        self.active
            .as_ref()
            .filter(|a| now_ns < a.plan.expires_at_ns)
            .map(|a| a.plan.plan_id)
    }

    /// The heap ballast the active plan wants held (0 without a plan or a `Ballast` fault).
    pub fn ballast_target(&self) -> u64 {
        self.active
            .as_ref()
            .map_or(0, |a| plan::ballast_bytes(&a.plan))
    }

    /// Generator values drawn by the active plan (None without one); for tests.
    pub fn generator_draws(&self) -> Option<u64> {
        self.active.as_ref().map(|a| a.rng.draws())
    }

    pub fn guarded_calls(&self) -> u64 {
        self.guarded_calls
    }

    pub fn caps(&self) -> HookCaps {
        self.caps
    }

    /// The status at `now_ns`; an expired plan shows as inactive (it is cleared by the next
    /// update that touches the hooks).
    pub fn status(&self, now_ns: TimestampNs, ballast_bytes: u64) -> HookStatus {
        let active = self
            .active
            .as_ref()
            .filter(|a| now_ns < a.plan.expires_at_ns);
        HookStatus {
            active_plan: active.map(|a| a.plan.plan_id),
            expires_at_ns: active.map(|a| a.plan.expires_at_ns),
            faults: active.map(|a| a.plan.faults.clone()).unwrap_or_default(),
            guarded_calls: self.guarded_calls,
            injected: self.injected,
            ballast_bytes,
            counts: self.counts,
            chaos_system: self.chaos_system,
            caps: self.caps,
            guarded_methods: self.declared.guarded_methods.clone(),
            perturbable_methods: self.declared.perturbable_methods.clone(),
            last_corruption: self.last_corruption.clone(),
        }
    }
}

fn decision(plan_id: u64, method: &str, caller: &Principal, e: Evaluation) -> Decision {
    let action = if e.partitioned {
        Action::Reject {
            reason: format!(
                "chaos_hooks: caller {caller} is partitioned from {method} (plan {plan_id})"
            ),
        }
    } else if e.trap {
        Action::Trap {
            reason: format!("chaos_hooks: injected trap in {method} (plan {plan_id})"),
        }
    } else if e.reject {
        Action::Reject {
            reason: format!("chaos_hooks: injected reject of {method} (plan {plan_id})"),
        }
    } else {
        Action::Proceed {
            delay_rounds: e.delay_rounds,
        }
    };
    Decision {
        plan_id,
        burn_instructions: if e.partitioned {
            0
        } else {
            e.burn_instructions
        },
        action,
    }
}

#[cfg(test)]
mod tests;
