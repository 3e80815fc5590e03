//! The ic-cdk shell over [`crate::engine::Hooks`]: the guards an embedding canister calls at the
//! top of its endpoints, the control methods ([`crate::export_control_methods!`]), and the three
//! effects that need the IC: instruction burn, heap ballast and delay.
//!
//! State: the hooks live on the heap (a `thread_local`), so an upgrade ends every fault. Only
//! the configured chaos_system principal is persisted, in one stable memory the embedder lends
//! ([`HookSetup::config_memory`]), so an upgrade does not disarm the hooks' configuration.
//!
//! How faults reach the caller (the choice, and why): a rejected call is rejected by the IC
//! (`msg_reject`, reject code 4 CanisterReject), not answered with an `Err` value. A dependent
//! then sees exactly what a failing canister produces, and methods whose answer has no error
//! variant (`balance_of : (principal) -> (nat64)`) can fail too. Endpoints therefore use
//! `manual_reply = true` and return [`reply`] / [`reject`] / [`respond`] (a `PhantomData<T>`
//! whose Candid type is `T`).

use crate::engine::{Action, CallContext, Caller, Control, Decision, Hooks};
use crate::plan::Declared;
use crate::types::{
    Corruption, CorruptionReport, FaultPlan, HookCaps, HookError, HookResult, HookStatus,
};
use candid::{CandidType, Principal};
use ic_cdk::api::{canister_self, is_controller, msg_caller, performance_counter, time};
use ic_cdk::call::{Call, CallFailed};
use ic_cdk_timers::TimerId;
use ic_stable_structures::memory_manager::VirtualMemory;
use ic_stable_structures::storable::Bound;
use ic_stable_structures::{DefaultMemoryImpl, StableCell, Storable};
use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::marker::PhantomData;
use std::time::Duration;

/// The method a delay hop calls on the canister itself (never guarded, always exported).
pub const DELAY_HOP_METHOD: &str = "chaos_hooks_status";
/// Seconds one delay hop may take before the hooks stop waiting (bounded-wait self-call).
pub const DELAY_HOP_TIMEOUT_SECS: u32 = 60;
/// Instructions burned between two reads of the instruction counter.
const BURN_STRIDE: u32 = 4_096;

/// What an embedding canister declares, in `init` and again in `post_upgrade`.
pub struct HookSetup {
    /// Methods that call [`guard`] / [`guard_query`]; plans naming others are refused.
    pub guarded_methods: &'static [&'static str],
    /// Methods that call [`perturb`].
    pub perturbable_methods: &'static [&'static str],
    pub caps: HookCaps,
    /// The target's corruption function (see [`register_corruption`]).
    pub corruption: Option<fn(u32) -> Corruption>,
    /// A stable memory of the embedder's MemoryManager, used only to keep the chaos_system
    /// principal across upgrades. `None`: the principal lives on the heap (lost on upgrade).
    pub config_memory: Option<VirtualMemory<DefaultMemoryImpl>>,
}

type ConfigCell = StableCell<StoredConfig, VirtualMemory<DefaultMemoryImpl>>;

struct Runtime {
    hooks: Hooks,
    ballast: Vec<u8>,
    corruption: Option<fn(u32) -> Corruption>,
    config: Option<ConfigCell>,
    expiry_timer: Option<TimerId>,
}

impl Default for Runtime {
    fn default() -> Self {
        Self {
            hooks: Hooks::new(HookCaps::default(), Declared::default()),
            ballast: Vec::new(),
            corruption: None,
            config: None,
            expiry_timer: None,
        }
    }
}

impl Runtime {
    /// Holds exactly the ballast the active plan wants (freeing it when none is wanted).
    fn sync_ballast(&mut self) -> Result<(), String> {
        let target = self.hooks.ballast_target();
        if self.ballast.len() as u64 == target {
            return Ok(());
        }
        self.ballast = Vec::new();
        let bytes = usize::try_from(target).map_err(|_| format!("{target} bytes"))?;
        let mut ballast = Vec::new();
        ballast
            .try_reserve_exact(bytes)
            .map_err(|e| format!("could not allocate {target} bytes of ballast: {e}"))?;
        // Written, not just reserved: the pages are really in use.
        ballast.resize(bytes, 0xA5);
        self.ballast = ballast;
        Ok(())
    }
}

thread_local! {
    /// The fast-path flag: mirrors `Hooks::is_active` after every mutation.
    static ACTIVE: Cell<bool> = const { Cell::new(false) };
    static RUNTIME: RefCell<Runtime> = RefCell::new(Runtime::default());
}

fn mutate<R>(f: impl FnOnce(&mut Runtime) -> R) -> R {
    RUNTIME.with_borrow_mut(|rt| {
        let r = f(rt);
        ACTIVE.set(rt.hooks.is_active());
        r
    })
}

fn read<R>(f: impl FnOnce(&Runtime) -> R) -> R {
    RUNTIME.with_borrow(f)
}

/// Declares the embedder's methods, caps and corruption function, and loads the persisted
/// chaos_system principal. Call it in `init` and in `post_upgrade`.
pub fn setup(s: HookSetup) {
    let declared = Declared {
        guarded_methods: s.guarded_methods.iter().map(|m| m.to_string()).collect(),
        perturbable_methods: s
            .perturbable_methods
            .iter()
            .map(|m| m.to_string())
            .collect(),
        has_corruption: s.corruption.is_some(),
    };
    mutate(|rt| {
        let mut hooks = Hooks::new(s.caps, declared);
        let config = s
            .config_memory
            .map(|m| StableCell::init(m, StoredConfig(None)));
        let persisted = config.as_ref().and_then(|c| c.get().0);
        // Refused only for the anonymous principal, which is never stored.
        let _ = hooks.set_chaos_system(persisted);
        rt.hooks = hooks;
        rt.corruption = s.corruption;
        rt.config = config;
    });
}

/// Registers (or replaces) the target's corruption function. It receives the plan's intensity
/// (1..=1000), changes the target's state without keeping its invariants, and says what it did.
/// It must not call back into the hooks. Heap-only: register it again in `post_upgrade` (or
/// pass it to [`setup`]).
pub fn register_corruption(f: fn(u32) -> Corruption) {
    mutate(|rt| {
        rt.corruption = Some(f);
        rt.hooks.set_has_corruption(true);
    });
}

/// Sets the chaos_system principal (persisted when [`setup`] had a config memory). For the
/// embedder's own init code; remote callers go through `chaos_hooks_configure`.
pub fn set_chaos_system(principal: Option<Principal>) -> HookResult {
    mutate(|rt| {
        rt.hooks.set_chaos_system(principal)?;
        if let Some(cell) = rt.config.as_mut() {
            cell.set(StoredConfig(principal));
        }
        Ok(())
    })
}

pub fn chaos_system() -> Option<Principal> {
    read(|rt| rt.hooks.chaos_system())
}

/// True if `principal` is the configured chaos_system (for the embedder's own authorization).
pub fn is_chaos_system(principal: &Principal) -> bool {
    chaos_system() == Some(*principal)
}

/// True while a plan is held (the fast-path flag).
pub fn is_active() -> bool {
    ACTIVE.get()
}

struct IcContext;

impl CallContext for IcContext {
    fn now_ns(&mut self) -> u64 {
        time()
    }
    fn caller(&mut self) -> Principal {
        msg_caller()
    }
}

/// The guard of an update method; await it first, before any state change. `Ok(())`: run the
/// method. `Err(reason)`: reject the call with `reason` ([`reject`]). May trap (injected
/// trap), burn instructions, or wait `rounds` self-call round trips before returning `Ok`.
/// Without an active plan it costs one flag check.
pub async fn guard(method: &str) -> Result<(), String> {
    if !ACTIVE.get() {
        return Ok(());
    }
    let decision = mutate(|rt| {
        let d = rt.hooks.decide_update(method, &mut IcContext);
        // An expired plan was cleared just now: release its ballast.
        let _ = rt.sync_ballast();
        d
    });
    let Some(Decision {
        plan_id,
        burn_instructions,
        action,
    }) = decision
    else {
        return Ok(());
    };
    burn(burn_instructions);
    match action {
        Action::Trap { reason } => ic_cdk::trap(reason),
        Action::Reject { reason } => Err(reason),
        Action::Proceed { delay_rounds } => {
            delay(plan_id, delay_rounds).await;
            Ok(())
        }
    }
}

/// The guard of a query method (or of an update that must not await): as [`guard`] without
/// delay. Its draws are stateless (see [`crate::rng`]) and nothing it does is counted.
pub fn guard_query(method: &str) -> Result<(), String> {
    if !ACTIVE.get() {
        return Ok(());
    }
    let Some(decision) = read(|rt| rt.hooks.decide_query(method, &mut IcContext)) else {
        return Ok(());
    };
    burn(decision.burn_instructions);
    match decision.action {
        Action::Trap { reason } => ic_cdk::trap(reason),
        Action::Reject { reason } => Err(reason),
        Action::Proceed { .. } => Ok(()),
    }
}

/// Byzantine answers: returns `f(value, draw)` when a `Perturb` fault targets `method` and its
/// draw hits, else `value` untouched. `f` decides what a wrong answer looks like; `draw` is a
/// uniform `u64` for variety.
pub fn perturb<T>(method: &str, value: T, f: impl FnOnce(T, u64) -> T) -> T {
    if !ACTIVE.get() {
        return value;
    }
    match mutate(|rt| rt.hooks.perturb_draw(method, &mut IcContext)) {
        Some(draw) => f(value, draw),
        None => value,
    }
}

/// Replies `value` from a `manual_reply` endpoint.
pub fn reply<T: CandidType>(value: T) -> PhantomData<T> {
    match candid::encode_one(&value) {
        Ok(bytes) => ic_cdk::api::msg_reply(bytes),
        Err(e) => ic_cdk::trap(format!("chaos_hooks: could not encode the reply: {e}")),
    }
    PhantomData
}

/// Rejects the call (reject code 4, CanisterReject) from a `manual_reply` endpoint.
pub fn reject<T>(reason: &str) -> PhantomData<T> {
    ic_cdk::api::msg_reject(reason);
    PhantomData
}

/// `reject` on a guard's `Err`, else `reply(f())`.
pub fn respond<T: CandidType>(guard: Result<(), String>, f: impl FnOnce() -> T) -> PhantomData<T> {
    match guard {
        Ok(()) => reply(f()),
        Err(reason) => reject(&reason),
    }
}

fn burn(instructions: u64) {
    if instructions == 0 {
        return;
    }
    let start = performance_counter(0);
    let mut x = start;
    while performance_counter(0).saturating_sub(start) < instructions {
        for _ in 0..BURN_STRIDE {
            x = std::hint::black_box(x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1));
        }
    }
    std::hint::black_box(x);
}

/// Waits `rounds` bounded-wait self-calls, stopping early when the plan is cleared or a call
/// cannot be sent (e.g. a full output queue): a delay never turns into a failure.
async fn delay(plan_id: u64, rounds: u32) {
    let me = canister_self();
    for _ in 0..rounds {
        if read(|rt| rt.hooks.active_plan(time())) != Some(plan_id) {
            return;
        }
        let hop = Call::bounded_wait(me, DELAY_HOP_METHOD)
            .change_timeout(DELAY_HOP_TIMEOUT_SECS)
            .await;
        if let Err(
            CallFailed::CallPerformFailed(_) | CallFailed::InsufficientLiquidCycleBalance(_),
        ) = hop
        {
            return;
        }
    }
}

fn current_caller() -> Caller {
    let principal = msg_caller();
    Caller {
        principal,
        is_controller: is_controller(&principal),
        is_self: principal == canister_self(),
    }
}

/// `chaos_hooks_set_plan`: chaos_system only.
pub fn control_set_plan(plan: FaultPlan) -> HookResult {
    let caller = current_caller();
    let now = time();
    let (accepted, plan_id) = mutate(|rt| {
        rt.hooks.authorize(Control::SetPlan, &caller)?;
        let (plan_id, expires_at_ns) = (plan.plan_id, plan.expires_at_ns);
        let accepted = rt.hooks.set_plan(plan, now)?;
        if let Err(e) = rt.sync_ballast() {
            rt.hooks.clear();
            let _ = rt.sync_ballast();
            return Err(HookError::CapExceeded(e));
        }
        if !accepted.unchanged {
            arm_expiry(rt, expires_at_ns.saturating_sub(now));
        }
        Ok((accepted, plan_id))
    })?;
    if let Some(intensity) = accepted.corrupt {
        // Outside the borrow: the corruption function touches the target's own state.
        let f = read(|rt| rt.corruption).ok_or(HookError::NoCorruptionHook)?;
        let done = f(intensity);
        mutate(|rt| {
            rt.hooks.record_corruption(CorruptionReport {
                plan_id,
                at_ns: now,
                intensity,
                items_changed: done.items_changed,
                detail: done.detail,
            })
        });
    }
    Ok(())
}

fn arm_expiry(rt: &mut Runtime, after_ns: u64) {
    if let Some(old) = rt.expiry_timer.take() {
        ic_cdk_timers::clear_timer(old);
    }
    rt.expiry_timer = Some(ic_cdk_timers::set_timer(
        Duration::from_nanos(after_ns),
        async {
            mutate(|rt| {
                rt.expiry_timer = None;
                if rt.hooks.expire_if_due(time()) {
                    let _ = rt.sync_ballast();
                }
            });
        },
    ));
}

/// `chaos_hooks_clear`: chaos_system or a controller. Ends the plan and frees the ballast at
/// once (ongoing delays stop at their next hop). Corruption stays: restore a snapshot.
pub fn control_clear() -> HookResult {
    let caller = current_caller();
    mutate(|rt| {
        rt.hooks.authorize(Control::Clear, &caller)?;
        rt.hooks.clear();
        if let Some(old) = rt.expiry_timer.take() {
            ic_cdk_timers::clear_timer(old);
        }
        let _ = rt.sync_ballast();
        Ok(())
    })
}

/// `chaos_hooks_status`: chaos_system, a controller, or the canister itself. In a query the
/// expired plan shows as inactive; the next update clears it.
pub fn control_status() -> Result<HookStatus, HookError> {
    let caller = current_caller();
    read(|rt| {
        rt.hooks.authorize(Control::Status, &caller)?;
        Ok(rt.hooks.status(time(), rt.ballast.len() as u64))
    })
}

/// `chaos_hooks_configure`: controllers only (chaos_system, a controller of its targets, may
/// configure itself). `None` disarms the control methods.
pub fn control_configure(chaos_system: Option<Principal>) -> HookResult {
    let caller = current_caller();
    read(|rt| rt.hooks.authorize(Control::Configure, &caller))?;
    set_chaos_system(chaos_system)
}

/// The persisted configuration: `[version 1][0 | 1][len][principal bytes]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct StoredConfig(Option<Principal>);

const CONFIG_VERSION: u8 = 1;

impl Storable for StoredConfig {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Owned(self.into_bytes())
    }

    fn into_bytes(self) -> Vec<u8> {
        match self.0 {
            None => vec![CONFIG_VERSION, 0],
            Some(p) => {
                let mut out = vec![CONFIG_VERSION, 1, p.as_slice().len() as u8];
                out.extend_from_slice(p.as_slice());
                out
            }
        }
    }

    /// An unknown version or a malformed principal reads as "not configured": the hooks stay
    /// disarmed rather than trusting bytes they do not understand.
    fn from_bytes(bytes: Cow<[u8]>) -> Self {
        match bytes.as_ref() {
            [CONFIG_VERSION, 1, len, rest @ ..] if rest.len() == *len as usize => {
                Self(Principal::try_from_slice(rest).ok())
            }
            _ => Self(None),
        }
    }

    const BOUND: Bound = Bound::Bounded {
        max_size: 3 + Principal::MAX_LENGTH_IN_BYTES as u32,
        is_fixed_size: false,
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_config_round_trips_and_refuses_garbage() {
        for value in [
            None,
            Some(Principal::from_slice(&[1; 29])),
            Some(Principal::management_canister()),
        ] {
            let c = StoredConfig(value);
            assert_eq!(StoredConfig::from_bytes(c.to_bytes()), c);
        }
        assert_eq!(
            StoredConfig::from_bytes(Cow::Borrowed(&[9, 1, 1, 7])),
            StoredConfig(None)
        );
        assert_eq!(
            StoredConfig::from_bytes(Cow::Borrowed(&[1, 1, 5, 7])),
            StoredConfig(None)
        );
    }
}
