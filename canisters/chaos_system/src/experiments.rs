//! The experiment driver, the twin of `drive` (drills) and of fleet_sim's experiment driver:
//! it issues each active experiment's next step (the `StepStarted` change journaled before the
//! call), performs it in its own timer (one effect per message), and feeds the observation back
//! through `complete_step`; then the next step is issued. Rollbacks after an abort or an
//! emergency stop run the same way, paced by the core's backoff and circuit breakers (which
//! come back as wait steps).
//!
//! The lab's own timers (`Lab::timers`: run deadlines, motion deadlines, schedules) call
//! `commands::tick`, seeded from the management canister's `raw_rand`. Timers do not survive an
//! upgrade: `post_upgrade` calls [`resume`], which re-arms every lab timer from state and
//! performs every journaled in-flight step again (`Lab::in_flight`; every experiment action is
//! safe to repeat or checked by the next step).

use crate::storage;
use chaos_manager::experiment::commands;
use chaos_manager::experiment::{
    effect_of, observation_of, ExperimentChange, ExperimentId, LabChange, Timer,
};
use chaos_manager::fault::Action;
use chaos_manager::journal::RecordContext;
use chaos_manager::lab_events::lab_events;
use chaos_manager::{Event, TimestampNs};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

thread_local! {
    /// The step of each experiment this code version is performing now (a timer armed or a
    /// call awaited). Empty after an upgrade: every journaled in-flight step is performed again.
    static PERFORMING: RefCell<BTreeMap<ExperimentId, u32>> = const { RefCell::new(BTreeMap::new()) };
    /// Times a lab tick timer is armed for.
    static ARMED: RefCell<BTreeSet<u64>> = const { RefCell::new(BTreeSet::new()) };
    /// The time of the last tick: every lab timer at or before it was handled by it (a run
    /// aborted while a step is in flight keeps listing its past deadline until the step
    /// completes; arming it again would spin).
    static LAST_TICK: Cell<u64> = const { Cell::new(0) };
}

fn now() -> TimestampNs {
    TimestampNs(ic_cdk::api::time())
}

fn ctx(correlation: String) -> RecordContext {
    RecordContext::new(ic_cdk::api::canister_self(), correlation)
}

/// After a command recorded lab changes: issue what became issuable and arm new timers.
pub fn wake() {
    arm_timers();
    ic_cdk_timers::set_timer(Duration::ZERO, async { advance_all() });
}

/// After an upgrade: re-arm every lab timer and perform every in-flight step again.
pub fn resume() {
    PERFORMING.with(|p| p.borrow_mut().clear());
    ARMED.with(|a| a.borrow_mut().clear());
    LAST_TICK.with(|t| t.set(0));
    wake();
}

/// A seed for the hooks' generator (of a created experiment, or of those a due schedule
/// creates): `raw_rand`. If the management canister cannot answer, the log's tip hash mixed
/// with the time stands in (a scheduled run is not skipped for it); the seed is recorded with
/// the experiment either way.
pub async fn random_seed() -> u64 {
    match ic_cdk_management_canister::raw_rand().await {
        Ok(bytes) if bytes.len() >= 8 => {
            u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"))
        }
        _ => {
            let tip = storage::read(|j| j.log().tip_hash());
            let mut b = [0u8; 8];
            b.copy_from_slice(&tip[..8]);
            u64::from_le_bytes(b) ^ ic_cdk::api::time()
        }
    }
}

/// Arms one tick timer per lab timer time not armed yet (waits are performed as steps).
fn arm_timers() {
    let times: Vec<TimestampNs> = storage::read(|j| {
        j.state()
            .lab
            .timers()
            .into_iter()
            .filter_map(|t| match t {
                Timer::ExperimentDeadline(_, at)
                | Timer::MotionDeadline(_, at)
                | Timer::Schedule(_, at) => Some(at),
                Timer::Wait(..) => None,
            })
            .collect()
    });
    let now = now();
    let last_tick = LAST_TICK.with(Cell::get);
    // A time equal to now may be new (created in the tick's own round): arm it, at most once more.
    for at in times
        .into_iter()
        .filter(|at| at.0 > last_tick || at.0 >= now.0)
    {
        if ARMED.with(|a| a.borrow_mut().insert(at.0)) {
            let delay = Duration::from_nanos(at.0.saturating_sub(now.0));
            ic_cdk_timers::set_timer(delay, async move {
                ARMED.with(|a| a.borrow_mut().remove(&at.0));
                tick().await;
            });
        }
    }
}

/// The lab's timer work now: close motions past their deadline, roll back runs past their max
/// duration, fire due schedules.
async fn tick() {
    // The seed only seeds experiments a due schedule creates: deadlines never wait on a call.
    let schedules_due =
        storage::read(|j| j.state().lab.safety.due_schedules(now()).next().is_some());
    let seed = if schedules_due {
        random_seed().await
    } else {
        0
    };
    let suite = ic_cdk::api::canister_self();
    let at = now();
    LAST_TICK.with(|t| t.set(at.0));
    storage::mutate(|j| {
        let s = j.state();
        let changes = commands::tick(&s.lab, s, at, seed);
        if !changes.is_empty() {
            let events = lab_events(s, changes, suite, at);
            j.record_all(at, &RecordContext::new(suite, "lab_tick"), events)
                .unwrap_or_else(|e| ic_cdk::trap(format!("lab tick: {e}")));
        }
    });
    wake();
}

/// Issues or resumes one step per active experiment that this code is not performing now.
fn advance_all() {
    let performing = PERFORMING.with(|p| p.borrow().clone());
    let work: Vec<(ExperimentId, Option<(u32, Action)>)> = storage::read(|j| {
        j.state()
            .lab
            .active()
            .filter(|e| match e.in_flight() {
                Some(s) => performing.get(&e.id) != Some(&s.step),
                None => true,
            })
            .map(|e| (e.id, e.in_flight().map(|s| (s.step, s.action.clone()))))
            .collect()
    });
    for (id, resumed) in work {
        if let Some((step, action)) = resumed.or_else(|| issue(id)) {
            perform_later(id, step, action);
        }
    }
}

/// Journals the next step of `id` before it is performed.
fn issue(id: ExperimentId) -> Option<(u32, Action)> {
    storage::mutate(|j| {
        let (change, action) = commands::issue_next_step(&j.state().lab, id, now())?;
        let LabChange::Experiment(ExperimentChange::StepStarted { step, .. }) = &change else {
            ic_cdk::trap(format!("{id}: issue_next_step returned {change:?}"));
        };
        let step = *step;
        j.record(now(), &ctx(id.to_string()), Event::lab(change))
            .unwrap_or_else(|e| ic_cdk::trap(format!("{id}: {e}")));
        Some((step, action))
    })
}

fn perform_later(id: ExperimentId, step: u32, action: Action) {
    PERFORMING.with(|p| p.borrow_mut().insert(id, step));
    let effect = effect_of(&action);
    let delay = match &action {
        Action::WaitUntil { until } => Duration::from_nanos(until.0.saturating_sub(now().0)),
        _ => Duration::ZERO,
    };
    ic_cdk_timers::set_timer(delay, async move {
        let outcome = crate::effects::perform(&effect).await;
        complete(id, step, observation_of(outcome));
    });
}

/// Feeds the observation back. A stale completion (a wait cut short by an abort: the core
/// moved on) records nothing.
fn complete(id: ExperimentId, step: u32, observation: chaos_manager::fault::Observation) {
    PERFORMING.with(|p| {
        let mut p = p.borrow_mut();
        if p.get(&id) == Some(&step) {
            p.remove(&id);
        }
    });
    let finished = storage::mutate(|j| {
        let s = j.state();
        if let Ok(changes) = commands::complete_step(&s.lab, id, step, observation, now()) {
            let events = lab_events(s, changes, ic_cdk::api::canister_self(), now());
            j.record_all(now(), &ctx(id.to_string()), events)
                .unwrap_or_else(|e| ic_cdk::trap(format!("{id}: {e}")));
        }
        j.state()
            .lab
            .experiments
            .get(&id)
            .is_some_and(|e| !e.is_active())
    });
    wake();
    if finished {
        // An approved hardening or a drill of the same target may wait for the experiment.
        crate::hardening::resume();
    }
}
