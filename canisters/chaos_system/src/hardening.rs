//! Assurance work that calls the IC: scans (on request and on a schedule) and the executor of
//! approved hardening requests.
//!
//! - A scan collects evidence with the `CollectEvidence` effect and records the core's
//!   `record_scan`; the state is checked again by the core after every `.await`.
//! - A hardening request, once `HardeningDecided { approved }` is in the log, is performed in
//!   a timer: `hardening_effects(plan)` in order, then evidence for the rescan, then
//!   `finish_hardening`. The decision is the journal entry: a request approved but not finished
//!   (an upgrade in between; timers do not survive upgrades) is performed again from the start
//!   by `post_upgrade`. Every effect of a plan is safe to repeat (`update_settings` sets the
//!   same values; a second snapshot is one more restore point).
//! - Scheduled scans: a serial interval timer scans at most [`MAX_SCAN_TARGETS`] due targets
//!   per tick and expires accepted risks; it is armed from the state in `init`,
//!   `post_upgrade` and whenever the schedule changes.

use crate::{api, effects, storage};
use candid::Principal;
use chaos_api::{Error, ScanHeadline, ScanSummary, MAX_SCAN_TARGETS};
use chaos_manager::assurance;
use chaos_manager::effect::Effect;
use chaos_manager::hardening::Evidence;
use chaos_manager::journal::RecordContext;
use chaos_manager::{DurationNs, Event};
use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::time::Duration;

thread_local! {
    /// Hardening requests this code version is performing now (heap only: empty after an
    /// upgrade, so every approved request is performed again).
    static PERFORMING: RefCell<BTreeSet<u64>> = const { RefCell::new(BTreeSet::new()) };
    /// A scheduled-scan tick is running: an overlapping tick (a catch-up) does nothing.
    static SCANNING: Cell<bool> = const { Cell::new(false) };
    static SCHEDULE: Cell<Option<ic_cdk_timers::TimerId>> = const { Cell::new(None) };
}

/// Collects the evidence of one target through the effects code.
async fn collect(target: Principal) -> Evidence {
    let outcome = effects::perform(&Effect::CollectEvidence { canister: target }).await;
    assurance::evidence_from_outcome(target, ic_cdk::api::canister_self(), &outcome, api::now())
}

/// Scans `targets` for `caller` (an operator): all are checked before the first call, then
/// each is scanned and recorded in turn, so one refused after an `.await` (removed meanwhile,
/// or the caller's role revoked) does not lose the others.
pub async fn scan_targets(
    caller: Principal,
    targets: Vec<Principal>,
) -> Result<Vec<ScanSummary>, Error> {
    if targets.is_empty() || targets.len() > MAX_SCAN_TARGETS {
        return Err(Error::invalid(
            "targets",
            format!("give 1 to {MAX_SCAN_TARGETS} targets per call"),
        ));
    }
    let mut seen = BTreeSet::new();
    if let Some(t) = targets.iter().find(|t| !seen.insert(**t)) {
        return Err(Error::invalid("targets", format!("{t} is listed twice")));
    }
    storage::read(|j| {
        targets
            .iter()
            .try_for_each(|t| assurance::precheck_scan(j.state(), &caller, *t))
    })?;
    let mut out = Vec::with_capacity(targets.len());
    for target in targets {
        let evidence = collect(target).await;
        let result = api::record_by(caller, "scan_targets", None, |s| {
            assurance::record_scan(s, &caller, evidence, api::now())
        })
        .and_then(|_| latest_headline(target));
        out.push(ScanSummary { target, result });
    }
    Ok(out)
}

fn latest_headline(target: Principal) -> Result<ScanHeadline, Error> {
    storage::read(|j| {
        j.state()
            .assurance
            .scans
            .get(&target)
            .map(ScanHeadline::from)
            .ok_or_else(|| Error::new(chaos_api::ErrorCode::Internal, "scan not recorded"))
    })
}

fn suite_ctx(correlation: String) -> RecordContext {
    RecordContext::new(ic_cdk::api::canister_self(), correlation)
}

/// Records events the suite decided in timer work; an append failure traps (nothing of the
/// message is kept), as in the drill driver.
fn record_as_suite(correlation: String, events: Vec<Event>) {
    if events.is_empty() {
        return;
    }
    storage::mutate(|j| {
        j.record_all(api::now(), &suite_ctx(correlation), events)
            .unwrap_or_else(|e| ic_cdk::trap(format!("chaos_system: {e}")));
    });
}

// ---------------------------------------------------------------- hardening executor

/// Arms a zero-delay timer that starts every approved request the core says may be performed
/// now. Called after an approval, after a drill or a hardening finishes (a request waits
/// while a drill or another request acts on its target), and from `post_upgrade`.
pub fn resume() {
    ic_cdk_timers::set_timer(Duration::ZERO, async { start_approved() });
}

fn start_approved() {
    // Approved, but the target was removed or protected since: closed, never performed.
    let stranded = storage::read(|j| assurance::stranded_hardening(j.state()));
    for (id, reason) in stranded {
        let events = storage::read(|j| assurance::abandon_hardening(j.state(), id, &reason));
        if let Ok(events) = events {
            record_as_suite(format!("hardening-{id}"), events);
        }
    }
    let performing = PERFORMING.with(|p| p.borrow().clone());
    let ids: Vec<u64> = storage::read(|j| {
        assurance::ready_to_perform(j.state())
            .into_iter()
            .map(|r| r.id)
            .filter(|id| !performing.contains(id))
            .collect()
    });
    for id in ids {
        PERFORMING.with(|p| p.borrow_mut().insert(id));
        ic_cdk_timers::set_timer(Duration::ZERO, async move { perform(id).await });
    }
}

/// Removes a request from [`PERFORMING`] however its flow ends (return or trap cleanup).
struct Performing(u64);

impl Drop for Performing {
    fn drop(&mut self) {
        PERFORMING.with(|p| p.borrow_mut().remove(&self.0));
    }
}

async fn perform(id: u64) {
    let guard = Performing(id);
    // Checked again in this message: still approved, target registered and not protected,
    // no drill on it.
    let plan = storage::read(|j| {
        assurance::ready_to_perform(j.state())
            .into_iter()
            .find(|r| r.id == id)
            .map(|r| r.plan.clone())
    });
    let Some(plan) = plan else { return };
    // Every effect is performed whatever the previous ones answered: the start must be tried
    // after a failed snapshot (the core's contract, shared with fleet_sim).
    let mut outcomes = Vec::new();
    for effect in assurance::hardening_effects(&plan) {
        let outcome = effects::perform(&effect).await;
        outcomes.push((effect.name().to_string(), outcome));
    }
    let after = collect(plan.target).await;
    // The core checks the request is still approved (a twin run may have finished it).
    let events =
        storage::read(|j| assurance::finish_hardening(j.state(), id, outcomes, after, api::now()));
    if let Ok(events) = events {
        record_as_suite(format!("hardening-{id}"), events);
    }
    drop(guard);
    // Another approved request may have waited for this one's target.
    resume();
}

// ---------------------------------------------------------------- scheduled scans

/// How often the schedule timer looks for due targets: a quarter of the scan interval,
/// between 5 minutes and 1 hour; hourly without a schedule (accepted risks still expire).
fn tick_period(interval: Option<DurationNs>) -> Duration {
    const MIN: Duration = Duration::from_secs(300);
    const MAX: Duration = Duration::from_secs(3600);
    match interval {
        None => MAX,
        Some(i) => Duration::from_nanos(i.0 / 4).clamp(MIN, MAX),
    }
}

/// (Re-)arms the schedule timer from the state.
pub fn arm_schedule() {
    if let Some(old) = SCHEDULE.take() {
        ic_cdk_timers::clear_timer(old);
    }
    let interval = storage::read(|j| j.state().assurance.scan_interval);
    let id = ic_cdk_timers::set_timer_interval_serial(tick_period(interval), async || {
        scheduled_tick().await
    });
    SCHEDULE.set(Some(id));
}

struct Scanning;

impl Drop for Scanning {
    fn drop(&mut self) {
        SCANNING.set(false);
    }
}

async fn scheduled_tick() {
    if SCANNING.replace(true) {
        return;
    }
    let _guard = Scanning;
    let expired = storage::read(|j| assurance::expire_accepted_risks(j.state(), api::now()));
    record_as_suite("expire-accepted-risks".into(), expired);
    let due = storage::read(|j| assurance::due_for_scan(j.state(), api::now(), MAX_SCAN_TARGETS));
    for target in &due {
        let evidence = collect(*target).await;
        // The core refuses a target removed while we awaited.
        let events = storage::read(|j| {
            let suite = ic_cdk::api::canister_self();
            assurance::record_scan(j.state(), &suite, evidence, api::now())
        });
        if let Ok(events) = events {
            record_as_suite(format!("scheduled-scan:{target}"), events);
        }
    }
    // More may be due than one tick scans: catch up in a new message.
    if due.len() == MAX_SCAN_TARGETS {
        ic_cdk_timers::set_timer(Duration::ZERO, async { scheduled_tick().await });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_ticks_a_quarter_interval_between_5_minutes_and_an_hour() {
        let h = |n: u64| Some(DurationNs::from_secs(n * 3600));
        assert_eq!(tick_period(None), Duration::from_secs(3600));
        assert_eq!(tick_period(h(1)), Duration::from_secs(900));
        assert_eq!(tick_period(h(24)), Duration::from_secs(3600));
        assert_eq!(
            tick_period(Some(DurationNs::from_secs(60))),
            Duration::from_secs(300)
        );
    }
}
