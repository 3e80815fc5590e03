//! The drill driver: issues each drill's next step, performs it in its own timer (a separate
//! message, so the work per message stays bounded), and feeds the outcome back to the core.
//!
//! Which steps are in flight is known from the log (a `DrillStepStarted` without its
//! completion). The heap only remembers which of those this code version is performing now;
//! after an upgrade that set is empty and every journaled in-flight effect is performed again
//! (all drill effects are safe to repeat).

use crate::storage;
use chaos_manager::command;
use chaos_manager::effect::{Effect, Outcome};
use chaos_manager::journal::RecordContext;
use chaos_manager::{DrillId, TimestampNs};
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::time::Duration;

thread_local! {
    static PERFORMING: RefCell<BTreeSet<DrillId>> = const { RefCell::new(BTreeSet::new()) };
}

fn now() -> TimestampNs {
    TimestampNs(ic_cdk::api::time())
}

fn drill_ctx(drill: DrillId) -> RecordContext {
    RecordContext::new(ic_cdk::api::canister_self(), format!("{drill}"))
}

/// Arms a zero-delay timer that advances every running drill.
pub fn schedule() {
    ic_cdk_timers::set_timer(Duration::ZERO, async { advance_all() });
}

/// Issues or resumes one step per running drill that is not being performed right now.
fn advance_all() {
    let performing = PERFORMING.with(|p| p.borrow().clone());
    let work: Vec<(DrillId, Option<(u16, Effect)>)> = storage::read(|j| {
        j.state()
            .running_drills()
            .filter(|d| !performing.contains(&d.id))
            .map(|d| (d.id, d.in_flight().map(|e| (e.step, e.effect.clone()))))
            .collect()
    });
    for (drill, in_flight) in work {
        let step = match in_flight {
            Some(resumed) => Some(resumed),
            None => issue(drill),
        };
        if let Some((step, effect)) = step {
            perform_later(drill, step, effect);
        }
    }
}

/// Journals the next step of `drill` before it is performed.
fn issue(drill: DrillId) -> Option<(u16, Effect)> {
    storage::mutate(|j| {
        let (event, effect) = command::issue_next_step(j.state(), drill)?;
        let step = match &event {
            chaos_manager::Event::DrillStepStarted { step, .. } => *step,
            _ => unreachable!("issue_next_step returns DrillStepStarted"),
        };
        j.record(now(), &drill_ctx(drill), event)
            .unwrap_or_else(|e| ic_cdk::trap(format!("{drill}: {e}")));
        Some((step, effect))
    })
}

fn perform_later(drill: DrillId, step: u16, effect: Effect) {
    PERFORMING.with(|p| p.borrow_mut().insert(drill));
    let delay = match &effect {
        Effect::WaitUntil { until } => Duration::from_nanos(until.0.saturating_sub(now().0)),
        _ => Duration::ZERO,
    };
    ic_cdk_timers::set_timer(delay, async move {
        let outcome = crate::effects::perform(&effect).await;
        complete(drill, step, outcome);
    });
}

fn complete(drill: DrillId, step: u16, outcome: Outcome) {
    PERFORMING.with(|p| p.borrow_mut().remove(&drill));
    let finished = storage::mutate(|j| {
        // The state may have moved while we awaited: the core re-checks the step.
        if let Ok(events) = command::complete_step(j.state(), drill, step, outcome, now()) {
            j.record_all(now(), &drill_ctx(drill), events)
                .unwrap_or_else(|e| ic_cdk::trap(format!("{drill}: {e}")));
        }
        j.state()
            .drills
            .get(&drill)
            .is_some_and(|d| !d.is_running())
    });
    schedule();
    if finished {
        // An approved hardening of the same target waits for the drill.
        crate::hardening::resume();
    }
}
