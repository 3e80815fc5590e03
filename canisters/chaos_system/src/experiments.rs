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
//!
//! A step is marked as performed ([`PERFORMING`]) from the moment its timer is armed until its
//! completion is recorded. A guard whose `Drop` removes the mark lives in the timer's future:
//! when the future traps after its call (a failed record), ic-cdk's cleanup callback
//! (`call_on_cleanup`) cancels the task and the drop runs, so the step is performed again. A
//! trap in the timer's first message (before any call) rolls back everything of that message,
//! the guard's start included: a watchdog performs a step still marked [`STALE_AFTER`] past
//! the time it was due again (every call a step makes is bounded-wait, `stop_canister`
//! included, or answered by the management canister without waiting on the target). Stale
//! completions are refused by the core's step check (`complete_step`).

use crate::storage;
use chaos_manager::experiment::commands;
use chaos_manager::experiment::{
    effect_of, observation_of, ExperimentChange, ExperimentId, LabChange, Timer,
};
use chaos_manager::fault::Action;
use chaos_manager::journal::{Journal, RecordContext};
use chaos_manager::lab_events::lab_events;
use chaos_manager::{Event, TimestampNs};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// A step marked in [`PERFORMING`] this long after it was due is performed again: longer than
/// every bounded-wait timeout (60 s for hooks, 120 s for chaos_probe, 300 s by default, the
/// rollback's management calls included) with rounds to spare.
pub const STALE_AFTER: Duration = Duration::from_secs(600);

/// A step this code version is performing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Slot {
    step: u32,
    /// Tells this performance from a later one of the same step (the watchdog's).
    token: u64,
    /// When the step was to run: when it was armed, or the end of its wait.
    due_at: u64,
    /// The timer's future ran (set in its first message: a trap there rolls it back).
    started: bool,
}

impl Slot {
    /// When the mark is stale.
    fn stale_at(&self) -> u64 {
        self.due_at.saturating_add(STALE_AFTER.as_nanos() as u64)
    }
}

/// Whether [`advance_all`] issues or performs a step of an experiment whose in-flight step is
/// `in_flight`: nothing in flight (the core may issue one), a step this code version is not
/// performing, or one it marked as performed whose mark is stale.
fn needs_work(in_flight: Option<u32>, slot: Option<&Slot>, now: u64) -> bool {
    match (in_flight, slot) {
        (Some(step), Some(slot)) if slot.step == step => now >= slot.stale_at(),
        _ => true,
    }
}

/// How long a lab tick whose changes could not be recorded waits before it tries again: one
/// minute, doubling per consecutive failure, at most one hour.
fn tick_retry_delay(failures: u32) -> Duration {
    let exp = failures.saturating_sub(1).min(6);
    Duration::from_secs(60 << exp).min(Duration::from_secs(3600))
}

thread_local! {
    /// The step of each experiment this code version is performing now (a timer armed or a
    /// call awaited). Empty after an upgrade: every journaled in-flight step is performed again.
    static PERFORMING: RefCell<BTreeMap<ExperimentId, Slot>> = const { RefCell::new(BTreeMap::new()) };
    static NEXT_TOKEN: Cell<u64> = const { Cell::new(0) };
    /// When the watchdog timer is armed for, if it is.
    static WATCHDOG_AT: Cell<Option<u64>> = const { Cell::new(None) };
    /// Times a lab tick timer is armed for.
    static ARMED: RefCell<BTreeSet<u64>> = const { RefCell::new(BTreeSet::new()) };
    /// The time of the last tick: every lab timer at or before it was handled by it (a run
    /// aborted while a step is in flight keeps listing its past deadline until the step
    /// completes; arming it again would spin).
    static LAST_TICK: Cell<u64> = const { Cell::new(0) };
    /// Consecutive ticks whose changes could not be recorded.
    static TICK_FAILURES: Cell<u32> = const { Cell::new(0) };
}

/// Removes its step's mark from [`PERFORMING`] however the timer's future ends: at its end,
/// or when ic-cdk's cleanup callback drops the future after a trap that followed its call.
struct Performing {
    id: ExperimentId,
    token: u64,
}

impl Performing {
    /// Marks the step as started (its timer's future runs).
    fn start(id: ExperimentId, token: u64) -> Self {
        PERFORMING.with(|p| {
            if let Some(slot) = p.borrow_mut().get_mut(&id).filter(|s| s.token == token) {
                slot.started = true;
            }
        });
        Performing { id, token }
    }
}

impl Drop for Performing {
    fn drop(&mut self) {
        PERFORMING.with(|p| {
            let mut p = p.borrow_mut();
            if p.get(&self.id).is_some_and(|s| s.token == self.token) {
                p.remove(&self.id);
            }
        });
    }
}

fn now() -> TimestampNs {
    TimestampNs(ic_cdk::api::time())
}

fn ctx(correlation: String) -> RecordContext {
    RecordContext::new(ic_cdk::api::canister_self(), correlation)
}

/// Records `events`. A failure before anything was appended leaves log and state as they
/// were: it is returned. One after a part of the batch was appended traps, so the message
/// rolls back and the state never differs from the log.
fn record_or_trap(
    j: &mut Journal<storage::Memory>,
    at: TimestampNs,
    ctx: &RecordContext,
    events: Vec<Event>,
) -> Result<(), String> {
    let before = j.log().len();
    match j.record_all(at, ctx, events) {
        Ok(_) => Ok(()),
        Err(e) if j.log().len() == before => Err(e.to_string()),
        Err(e) => ic_cdk::trap(format!("{}: {e}", ctx.correlation_id)),
    }
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
    WATCHDOG_AT.set(None);
    TICK_FAILURES.set(0);
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
/// duration, fire due schedules. When its changes cannot be recorded (nothing appended), it
/// does not trap (the trap would leave its timers to be armed again, and fail again, at every
/// wake): it tries again after [`tick_retry_delay`].
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
    let result = storage::mutate(|j| {
        let s = j.state();
        let changes = commands::tick(&s.lab, s, at, seed);
        if changes.is_empty() {
            return Ok(());
        }
        let events = lab_events(s, changes, suite, at);
        record_or_trap(j, at, &RecordContext::new(suite, "lab_tick"), events)
    });
    match result {
        Ok(()) => TICK_FAILURES.set(0),
        Err(e) => {
            let failures = TICK_FAILURES.get().saturating_add(1);
            TICK_FAILURES.set(failures);
            let delay = tick_retry_delay(failures);
            ic_cdk::api::debug_print(format!(
                "lab tick: {e}; tried again in {} s",
                delay.as_secs()
            ));
            let retry_at = at.0.saturating_add(delay.as_nanos() as u64);
            if ARMED.with(|a| a.borrow_mut().insert(retry_at)) {
                ic_cdk_timers::set_timer(delay, async move {
                    ARMED.with(|a| a.borrow_mut().remove(&retry_at));
                    tick().await;
                });
            }
        }
    }
    wake();
}

/// Issues or resumes one step per active experiment that this code is not performing now (or
/// whose mark is stale), then arms the watchdog.
fn advance_all() {
    let now = now().0;
    let performing = PERFORMING.with(|p| p.borrow().clone());
    let work: Vec<(ExperimentId, Option<(u32, Action)>)> = storage::read(|j| {
        j.state()
            .lab
            .active()
            .filter(|e| needs_work(e.in_flight().map(|s| s.step), performing.get(&e.id), now))
            .map(|e| (e.id, e.in_flight().map(|s| (s.step, s.action.clone()))))
            .collect()
    });
    for (id, resumed) in work {
        if let Some((step, action)) = resumed.or_else(|| issue(id)) {
            perform_later(id, step, action);
        }
    }
    arm_watchdog();
}

/// Arms a timer that runs [`advance_all`] when the earliest mark becomes stale, unless one
/// is armed for that time or earlier and still to come.
fn arm_watchdog() {
    let now = now().0;
    let Some(at) = PERFORMING.with(|p| p.borrow().values().map(Slot::stale_at).min()) else {
        return;
    };
    if WATCHDOG_AT.get().is_some_and(|w| w > now && w <= at) {
        return;
    }
    WATCHDOG_AT.set(Some(at));
    ic_cdk_timers::set_timer(Duration::from_nanos(at.saturating_sub(now)), async {
        WATCHDOG_AT.set(None);
        advance_all();
    });
}

/// Journals the next step of `id` before it is performed. When it cannot be recorded
/// (nothing appended), nothing is issued: the next wake tries again.
fn issue(id: ExperimentId) -> Option<(u32, Action)> {
    storage::mutate(|j| {
        let (change, action) = commands::issue_next_step(&j.state().lab, id, now())?;
        let LabChange::Experiment(ExperimentChange::StepStarted { step, .. }) = &change else {
            ic_cdk::trap(format!("{id}: issue_next_step returned {change:?}"));
        };
        let step = *step;
        match record_or_trap(j, now(), &ctx(id.to_string()), vec![Event::lab(change)]) {
            Ok(()) => Some((step, action)),
            Err(e) => {
                ic_cdk::api::debug_print(format!("{id}: step {step} not issued: {e}"));
                None
            }
        }
    })
}

fn perform_later(id: ExperimentId, step: u32, action: Action) {
    let token = NEXT_TOKEN.get();
    NEXT_TOKEN.set(token.wrapping_add(1));
    let effect = effect_of(&action);
    let now = now().0;
    let due_at = match &action {
        Action::WaitUntil { until } => until.0.max(now),
        _ => now,
    };
    let slot = Slot {
        step,
        token,
        due_at,
        started: false,
    };
    PERFORMING.with(|p| p.borrow_mut().insert(id, slot));
    ic_cdk_timers::set_timer(Duration::from_nanos(due_at - now), async move {
        let guard = Performing::start(id, token);
        let outcome = crate::effects::perform(&effect).await;
        complete(id, step, observation_of(outcome), guard);
    });
}

/// Feeds the observation back, then lets the mark go. A stale completion (a wait cut short by
/// an abort, a performance the watchdog repeated: the core moved on) records nothing. A record
/// that fails traps: the message rolls back and the cleanup drops `guard` with the future, so
/// the step is performed again (at the watchdog's wake at the latest).
fn complete(
    id: ExperimentId,
    step: u32,
    observation: chaos_manager::fault::Observation,
    guard: Performing,
) {
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
    drop(guard);
    wake();
    if finished {
        // An approved hardening or a drill of the same target may wait for the experiment.
        crate::hardening::resume();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;

    const MIN: u64 = 60_000_000_000;

    fn slot(step: u32, due_at: u64, started: bool) -> Slot {
        Slot {
            step,
            token: 1,
            due_at,
            started,
        }
    }

    #[test]
    fn a_step_marked_as_performed_is_left_alone_until_its_mark_is_stale() {
        let s = slot(4, 100 * MIN, true);
        assert!(!needs_work(Some(4), Some(&s), 100 * MIN));
        assert!(!needs_work(Some(4), Some(&s), 109 * MIN));
        // Ten minutes after it was due and still marked: its future died without cleanup.
        assert!(needs_work(Some(4), Some(&s), 110 * MIN));
        // A timer whose first message trapped (its start rolled back) likewise.
        let s = slot(4, 100 * MIN, false);
        assert!(needs_work(Some(4), Some(&s), 111 * MIN));
    }

    #[test]
    fn a_wait_is_stale_only_after_its_end() {
        // A wait until minute 300, armed at minute 100.
        let s = slot(2, 300 * MIN, false);
        assert!(!needs_work(Some(2), Some(&s), 200 * MIN));
        assert!(!needs_work(Some(2), Some(&s), 305 * MIN));
        assert!(needs_work(Some(2), Some(&s), 310 * MIN));
    }

    #[test]
    fn a_started_call_is_left_alone_until_every_bounded_wait_has_ended() {
        // A stop_canister (bounded-wait, 300 s) started at minute 100.
        let s = slot(3, 100 * MIN, true);
        assert!(!needs_work(Some(3), Some(&s), 105 * MIN));
        assert!(!needs_work(Some(3), Some(&s), 109 * MIN));
        assert!(needs_work(Some(3), Some(&s), 110 * MIN));
        // One whose timer never ran is performed again at the same time.
        let s = slot(3, 100 * MIN, false);
        assert!(needs_work(Some(3), Some(&s), 110 * MIN));
    }

    #[test]
    fn other_steps_and_unmarked_experiments_are_worked_on() {
        let s = slot(4, 100 * MIN, true);
        // The core moved on to step 5: issue or perform it.
        assert!(needs_work(Some(5), Some(&s), 100 * MIN));
        // Not marked (after an upgrade, or the guard removed the mark after a trap).
        assert!(needs_work(Some(4), None, 100 * MIN));
        // Nothing in flight: the core may issue the next step.
        assert!(needs_work(None, Some(&s), 100 * MIN));
        assert!(needs_work(None, None, 100 * MIN));
    }

    #[test]
    fn the_guard_removes_only_its_own_mark() {
        let id = ExperimentId(7);
        PERFORMING.with(|p| p.borrow_mut().insert(id, slot(1, 0, false)));
        {
            let _guard = Performing::start(id, 1);
            assert!(PERFORMING.with(|p| p.borrow()[&id].started));
        }
        assert!(PERFORMING.with(|p| p.borrow().get(&id).is_none()));
        // A later performance (token 2) of the same step survives the old one's guard.
        let later = Slot {
            token: 2,
            ..slot(1, 0, false)
        };
        PERFORMING.with(|p| p.borrow_mut().insert(id, later));
        drop(Performing { id, token: 1 });
        assert_eq!(PERFORMING.with(|p| p.borrow()[&id]), later);
        PERFORMING.with(|p| p.borrow_mut().clear());
    }

    #[test]
    fn a_dropped_future_lets_its_mark_go() {
        // What ic-cdk's cleanup does after a trap that followed the call: the task's future is
        // dropped at its await point, the guard with it.
        let id = ExperimentId(8);
        PERFORMING.with(|p| p.borrow_mut().insert(id, slot(1, 0, false)));
        let future = async move {
            let _guard = Performing::start(id, 1);
            std::future::pending::<()>().await;
        };
        let mut future = Box::pin(future);
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        assert!(future.as_mut().poll(&mut cx).is_pending());
        assert!(PERFORMING.with(|p| p.borrow()[&id].started));
        drop(future);
        assert!(PERFORMING.with(|p| p.borrow().get(&id).is_none()));
    }

    #[test]
    fn failed_ticks_back_off_from_a_minute_to_an_hour() {
        assert_eq!(tick_retry_delay(1), Duration::from_secs(60));
        assert_eq!(tick_retry_delay(2), Duration::from_secs(120));
        assert_eq!(tick_retry_delay(6), Duration::from_secs(1920));
        assert_eq!(tick_retry_delay(7), Duration::from_secs(3600));
        assert_eq!(tick_retry_delay(u32::MAX), Duration::from_secs(3600));
    }
}
