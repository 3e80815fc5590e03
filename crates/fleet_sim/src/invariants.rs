//! Safety invariants, checked after every simulated task (TigerBeetle style), and the report of
//! a violation: the seed that replays it and the last events that led to it.
//!
//! After every task:
//! 1. the event log verifies (hash chain and entry hashes) up to its tip;
//! 2. at most one drill runs per target;
//! 3. a target that is not running its vault, with no drill running and no hardening being
//!    performed on it, is flagged `needs_attention` by the last drill, hardening or experiment
//!    that acted on its lifecycle (none leaves a target stopped or broken without saying so);
//! 4. every running vault satisfies its own invariants (supply, fingerprint), unless an
//!    experiment acts on it or the last one that did was flagged for a person;
//! 5. experiments ([`Sim::check_experiments`]): at most `max_concurrent` active, none started
//!    under an emergency stop, protected targets never touched, no target shared with a drill,
//!    every finished experiment flagged or every acted-on target given back as it was found.
//!
//! After every upgrade and at the end of a run ([`Sim::self_check`]): the whole log verifies
//! and replaying it gives exactly the live state. When the fleet goes idle, no drill is left
//! running and no approved hardening request is left unperformed ([`Sim::try_step`]).

use crate::canister::Module;
use crate::sim::Sim;
use candid::Principal;
use chaos_manager::assurance::{HardeningRequest, HardeningStatus};
use chaos_manager::drill::Drill;
use chaos_manager::effect::Effect;
use chaos_manager::experiment::{Action as ExpAction, Experiment};
use chaos_manager::journal::decode_envelope;
use chaos_manager::{Event, TimestampNs};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// Events shown with a violation.
pub const TRACE_EVENTS: u64 = 20;

/// A broken invariant: what, when, the seed to replay it, and the last events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    pub seed: u64,
    pub at: TimestampNs,
    pub what: String,
    pub trace: Vec<String>,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "fleet_sim invariant violated (seed {}, t = {} ns): {}",
            self.seed, self.at.0, self.what
        )?;
        writeln!(f, "last {} events:", self.trace.len())?;
        for line in &self.trace {
            writeln!(f, "  {line}")?;
        }
        write!(
            f,
            "replay: cargo run -p fleet_sim --bin sim -- --seeds 1 --start {}",
            self.seed
        )
    }
}

impl std::error::Error for Violation {}

impl Sim {
    /// A violation at the current time, with the last [`TRACE_EVENTS`] events.
    pub fn violation(&self, what: impl Into<String>) -> Violation {
        Violation {
            seed: self.seed,
            at: self.now,
            what: what.into(),
            trace: self.trace(TRACE_EVENTS),
        }
    }

    /// The last `n` events of the log, one line each: seq, time since the epoch, kind, summary.
    pub fn trace(&self, n: u64) -> Vec<String> {
        let log = self.journal.log();
        let from = log.len().saturating_sub(n);
        log.read(from, n as usize)
            .iter()
            .map(|env| {
                let summary = match decode_envelope(env) {
                    Ok((_, event)) => summarize(&event),
                    Err(e) => format!("undecodable: {e}"),
                };
                let t = env.time_ns.saturating_sub(crate::sim::EPOCH.0);
                format!(
                    "#{:<4} +{:>9.3}s {:<21} {summary}",
                    env.seq,
                    t as f64 / 1e9,
                    env.kind
                )
            })
            .collect()
    }

    /// Checks the per-task invariants (see the module docs).
    pub fn check_invariants(&mut self) -> Result<(), Violation> {
        self.check_log_tail()?;
        self.check_one_drill_per_target()?;
        self.check_finished_targets_serving()?;
        self.check_vaults()?;
        self.check_experiments()
    }

    /// Verifies the whole log and compares a fresh replay with the live state.
    pub fn self_check(&mut self) -> Result<(), Violation> {
        self.verified = 0;
        self.check_log_tail()?;
        self.journal
            .self_check()
            .map_err(|e| self.violation(format!("self_check: {e}")))
    }

    /// Verifies the entries appended since the last check, anchored on the last verified one.
    fn check_log_tail(&mut self) -> Result<(), Violation> {
        let log = self.journal.log();
        let len = log.len();
        let report = log
            .verify(self.verified, len)
            .map_err(|e| self.violation(format!("the event log does not verify: {e:?}")))?;
        if report.to != len || (len > 0 && report.tip_hash != log.tip_hash()) {
            return Err(self.violation(format!(
                "verified up to {} of {len} entries, tip hash mismatch: {}",
                report.to,
                report.tip_hash != log.tip_hash()
            )));
        }
        self.verified = len;
        Ok(())
    }

    fn check_one_drill_per_target(&self) -> Result<(), Violation> {
        let mut running: BTreeMap<Principal, u64> = BTreeMap::new();
        for d in self.state().running_drills() {
            if let Some(other) = running.insert(d.target, d.id.0) {
                return Err(self.violation(format!(
                    "drills {other} and {} run at once on {}",
                    d.id.0, d.target
                )));
            }
        }
        Ok(())
    }

    /// A target that does not serve, with no drill running on it and no hardening being
    /// performed on it, must be flagged by whoever left it so: a module other than the vault
    /// by the last drill that acted on its lifecycle (hardening never changes the module), a
    /// stopped vault by the last drill or hardening that acted on it. (A later drill that
    /// aborted before acting, say because the target was already down, neither caused nor
    /// hides the state.)
    fn check_finished_targets_serving(&self) -> Result<(), Violation> {
        let state = self.state();
        let mut last_drill: BTreeMap<Principal, (TimestampNs, Actor)> = BTreeMap::new();
        let mut last_actor: BTreeMap<Principal, (TimestampNs, Actor)> = BTreeMap::new();
        let mut busy: BTreeSet<Principal> = self.experiment_targets();
        for d in state.drills.values() {
            if d.is_running() {
                busy.insert(d.target);
            } else if d.timeline.iter().any(|e| acts_on_lifecycle(&e.effect)) {
                let at = d.report().map_or(TimestampNs(0), |r| r.finished_at);
                acted(&mut last_drill, d.target, at, Actor::Drill(d));
                acted(&mut last_actor, d.target, at, Actor::Drill(d));
            }
        }
        for r in state.assurance.hardening.values() {
            match (&r.status, r.finished_at) {
                (HardeningStatus::Approved { .. }, _) => {
                    busy.insert(r.target());
                }
                (HardeningStatus::Finished { outcomes, .. }, Some(at))
                    if outcomes
                        .iter()
                        .any(|(n, _)| LIFECYCLE.contains(&n.as_str())) =>
                {
                    acted(&mut last_actor, r.target(), at, Actor::Hardening(r));
                }
                _ => {}
            }
        }
        for e in state.lab.experiments.values() {
            // Only the lifecycle steps count: an experiment aborted before acting (say
            // because its target was already down) neither caused nor hides the state.
            let Some(r) = e.report() else { continue };
            for step in &e.steps {
                if let (
                    ExpAction::StopCanister { canister }
                    | ExpAction::StartCanister { canister }
                    | ExpAction::LoadSnapshot { canister, .. },
                    Some(_),
                ) = (&step.action, &step.observation)
                {
                    acted(
                        &mut last_actor,
                        *canister,
                        r.finished_at,
                        Actor::Experiment(e),
                    );
                }
            }
        }
        for (id, c) in &self.canisters {
            if c.is_serving() || busy.contains(id) {
                continue;
            }
            let responsible = if c.module() == Module::Vault {
                &last_actor
            } else {
                &last_drill
            };
            let actor = responsible.get(id).map(|(_, a)| a);
            if !actor.is_some_and(Actor::flags) {
                let culprit = actor.map_or("no drill or hardening".to_string(), Actor::name);
                return Err(self.violation(format!(
                    "{id} is {:?} with module {:?} but the last drill or hardening that could have left it so ({culprit}) does not say it needs attention",
                    c.status(),
                    c.module()
                )));
            }
        }
        Ok(())
    }

    /// Every vault keeps its invariants, except while an experiment acts on it (a data
    /// corruption breaks them on purpose until its rollback loads the restore point) and
    /// after the last experiment that acted on it was flagged for a person (its rollback
    /// was given up).
    fn check_vaults(&self) -> Result<(), Violation> {
        let experimenting = self.experiment_targets();
        let mut last: BTreeMap<Principal, (TimestampNs, bool)> = BTreeMap::new();
        for e in self.state().lab.experiments.values() {
            if let (Some(r), Some(plan)) = (e.report(), &e.plan) {
                for t in &plan.acted_on {
                    if last.get(t).is_none_or(|(at, _)| *at <= r.finished_at) {
                        last.insert(*t, (r.finished_at, r.needs_attention));
                    }
                }
            }
        }
        for c in self.canisters.values() {
            let flagged = last.get(&c.id()).is_some_and(|(_, f)| *f);
            if c.module() == Module::Vault && !experimenting.contains(&c.id()) && !flagged {
                if let Err(e) = c.vault_invariants() {
                    return Err(
                        self.violation(format!("vault {} breaks its invariants: {e}", c.id()))
                    );
                }
            }
        }
        Ok(())
    }
}

/// What last acted on a target's lifecycle.
#[derive(Clone, Copy)]
enum Actor<'a> {
    Drill(&'a Drill),
    Hardening(&'a HardeningRequest),
    Experiment(&'a Experiment),
}

impl Actor<'_> {
    /// Whether it says a person must look at the target.
    fn flags(&self) -> bool {
        match self {
            Actor::Drill(d) => d.report().is_some_and(|r| r.needs_attention),
            Actor::Hardening(r) => r.needs_attention(),
            Actor::Experiment(e) => e.report().is_some_and(|r| r.needs_attention),
        }
    }

    fn name(&self) -> String {
        match self {
            Actor::Drill(d) => d.id.to_string(),
            Actor::Hardening(r) => format!("hardening request {}", r.id),
            Actor::Experiment(e) => e.id.to_string(),
        }
    }
}

/// Keeps `actor` as `target`'s last actor if it finished at or after the one kept.
fn acted<'a>(
    last: &mut BTreeMap<Principal, (TimestampNs, Actor<'a>)>,
    target: Principal,
    at: TimestampNs,
    actor: Actor<'a>,
) {
    if last.get(&target).is_none_or(|(t, _)| *t <= at) {
        last.insert(target, (at, actor));
    }
}

/// The outcome names (`Effect::name`) of a hardening that act on the lifecycle.
const LIFECYCLE: [&str; 2] = ["stop_canister", "start_canister"];

/// Effects that change whether a canister serves (a snapshot or a read does not).
fn acts_on_lifecycle(effect: &Effect) -> bool {
    matches!(
        effect,
        Effect::StopCanister { .. }
            | Effect::StartCanister { .. }
            | Effect::UninstallCode { .. }
            | Effect::InstallBrokenModule { .. }
            | Effect::LoadSnapshot { .. }
    )
}

/// One line about an event, for traces.
pub fn summarize(event: &Event) -> String {
    match event {
        Event::DrillStarted {
            target,
            scenario,
            options,
            ..
        } => format!("{} on {target}, hold {}", scenario.name(), options.hold),
        Event::DrillStepStarted {
            drill,
            step,
            effect,
        } => {
            format!(
                "{drill} step {step}: {}",
                chaos_api::describe_effect(effect)
            )
        }
        Event::DrillStepCompleted {
            drill,
            step,
            outcome,
        } => {
            format!(
                "{drill} step {step}: {}",
                chaos_api::describe_outcome(outcome)
            )
        }
        Event::DrillFinished { drill, report } => format!(
            "{drill}: {}{}{}",
            report.verdict.name(),
            report
                .abort_reason
                .as_ref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default(),
            if report.needs_attention {
                ", NEEDS ATTENTION"
            } else {
                ""
            }
        ),
        Event::TargetRegistered { target } | Event::TargetUpdated { target } => {
            format!("{} {}", target.name, target.canister_id)
        }
        Event::RoleGranted { principal, role } => format!("{} to {principal}", role.name()),
        other => {
            let s = format!("{other:?}");
            s.chars().take(120).collect()
        }
    }
}
