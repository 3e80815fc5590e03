//! Seeded random runs: a random fleet of 1–4 vaults (some the suite does not control, some
//! weakly configured), random registrations, random drills (scenario, hold, deposits during the
//! hold, idempotent retries, unauthorized callers), random scans and hardening requests (a
//! random choice of the fixable failing controls, approved or rejected by an admin), random
//! runs of the scheduler, random upgrades of chaos_system and, in "stormy" runs, random call
//! faults, lost replies at upgrades and revoked control. Each run also sets up a lab
//! ([`crate::random_lab`]): random experiments of the eight fault types (some refused: a
//! protected target, the limits, the least-privilege profile), random aborts, emergency stops
//! pressed while experiments run and followed by an admin's resume, council votes, and in
//! stormy runs misbehaving targets (rejected, hung and slow calls).
//!
//! Besides the per-task invariants ([`crate::invariants`]), a run checks that the suite's
//! answers are the right ones: unauthorized starts are refused, a canister the suite does not
//! control is never registered, a retried key returns the same drill, a scan and a hardening
//! request answer only what they may, the log replays to the live state at the end, every
//! drill finishes and every approved hardening request is performed.
//!
//! `start_drill` refuses a target with a hardening in progress (both would stop and start the
//! same canister); the generator asks anyway and expects that refusal. In calm runs (no faults, clean upgrades)
//! every drill must also recover: not aborted, and every criterion but the RPO objective met
//! (the background workload may legitimately lose more operations than the objective allows).

use crate::canister::StatusVisibility;
use crate::fixtures::{user, vault_target_spec};
use crate::invariants::Violation;
use crate::random_lab::{self, LabSummary};
use crate::rng::SimRng;
use crate::sim::{admin, developer, operator, stranger, Background, DrillRequest, Sim};
use candid::Principal;
use chaos_manager::assurance::{self, HardeningStatus};
use chaos_manager::drill::{ScenarioKind, Verdict};
use chaos_manager::effect::Outcome;
use chaos_manager::hardening::fixtures::policy_approving_release;
use chaos_manager::hardening::{control, ControlId, HardeningError};
use chaos_manager::{CoreError, DurationNs};

/// What one random run did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunSummary {
    pub seed: u64,
    pub stormy: bool,
    pub vaults: u64,
    pub drills: u64,
    pub passed: u64,
    pub failed: u64,
    pub aborted: u64,
    pub needs_attention: u64,
    pub refused_starts: u64,
    pub reopens: u64,
    pub lost_replies: u64,
    pub faults_injected: u64,
    /// Injected `SysUnknown` rejects whose call had acted (the caller could not tell).
    pub unknown_but_acted: u64,
    pub events: u64,
    /// Snapshots on targets that the suite's state does not reference (leaked by lost replies).
    pub orphan_snapshots: u64,
    /// Targets whose recorded restore point no longer exists on the canister.
    pub stale_restore_points: u64,
    pub scans: u64,
    pub hardening_requests: u64,
    /// Approved requests performed (each ends with a rescan).
    pub hardenings_finished: u64,
    /// Performed requests that stopped their target and could not start it again.
    pub hardening_attention: u64,
    /// The chaos experiments of the run.
    pub lab: LabSummary,
}

struct Vault {
    id: Principal,
    controlled: bool,
}

/// Runs the random scenario of `seed`; `Err` is the first violation found.
pub fn run(seed: u64) -> Result<RunSummary, Violation> {
    let mut sim = Sim::new(seed);
    sim.set_policy(admin(), policy_approving_release())
        .map_err(|e| sim.violation(format!("set_policy: {e}")))?;
    // The generator's own choices, independent of the simulator's draws.
    let mut g = SimRng::new(seed ^ 0x5eed_f1ee_7c4a_0505);
    let stormy = g.chance(0.6);
    let vaults = build_fleet(&mut sim, &mut g, stormy);
    register(&mut sim, &vaults, stormy)?;
    let mut summary = RunSummary {
        seed,
        stormy,
        vaults: vaults.len() as u64,
        ..RunSummary::default()
    };
    let lab = random_lab::setup(&mut sim, &mut g, stormy)?;
    let mut lab_summary = LabSummary::default();
    for _ in 0..g.range(3, 10) {
        match g.range(0, 19) {
            12..=16 => {
                random_lab::start_random_experiment(&mut sim, &mut g, &lab, &mut lab_summary)?
            }
            17 if g.chance(0.5) => random_lab::emergency(&mut sim, &mut g, &lab, &mut lab_summary)?,
            17 => {
                random_lab::resume(&mut sim, &mut g, &mut lab_summary)?;
                sim.try_run_tasks(g.range(1, 25))?;
            }
            18 => {
                random_lab::abort_random(&mut sim, &mut g)?;
                random_lab::user_op(&mut sim, &mut g, &lab);
            }
            0..=4 => start_random_drill(&mut sim, &mut g, &vaults, &mut summary)?,
            5..=7 => {
                sim.try_run_tasks(g.range(1, 25))?;
            }
            10 | 11 => scan_and_harden(&mut sim, &mut g, &vaults, &mut summary)?,
            8 => {
                // Upgrade mid-flight: let a few tasks run so that a step is likely in flight.
                sim.try_run_tasks(g.range(0, 12))?;
                sim.try_reopen()?;
            }
            _ if stormy => revoke_control(&mut sim, &mut g, &vaults),
            _ => {
                sim.try_run_tasks(g.range(1, 25))?;
            }
        }
    }
    sim.try_run_until_idle()?;
    sim.self_check()?;
    tally(&sim, &mut summary, stormy)?;
    random_lab::tally(&sim, &lab, &mut lab_summary, stormy)?;
    summary.lab = lab_summary;
    Ok(summary)
}

fn build_fleet(sim: &mut Sim, g: &mut SimRng, stormy: bool) -> Vec<Vault> {
    let mut vaults = Vec::new();
    for i in 0..g.range(1, 4) {
        let controlled = g.chance(0.85);
        let name = format!("vault-{i}");
        let id = if !controlled {
            sim.add_vault_without_control(&name)
        } else if g.chance(0.5) {
            sim.add_weak_vault(&name)
        } else {
            sim.add_vault(&name)
        };
        if g.chance(0.3) {
            sim.set_status_visibility(id, StatusVisibility::Public);
        }
        for _ in 0..g.range(1, 4) {
            let _ = sim.deposit(id, user(g.range(1, 5) as u8), g.range(1, 500));
        }
        if stormy {
            let knobs = sim.faults_mut(id);
            knobs.transient = *g.pick(&[0.0, 0.02, 0.1, 0.25]);
            knobs.unknown = *g.pick(&[0.0, 0.05]);
        }
        vaults.push(Vault { id, controlled });
    }
    if stormy {
        sim.set_upgrade_lost_reply(0.5);
    }
    if g.chance(0.5) {
        let mean_interval = DurationNs::from_secs(g.range(5, 30));
        sim.set_background(Some(Background { mean_interval }));
    }
    vaults
}

/// Registers every vault: only controlled ones may be accepted.
fn register(sim: &mut Sim, vaults: &[Vault], stormy: bool) -> Result<(), Violation> {
    for v in vaults {
        let result = sim.register_target(admin(), vault_target_spec(v.id));
        let acceptable = match (&result, v.controlled) {
            (Ok(()), controlled) => controlled,
            (Err(CoreError::NotController { .. }), controlled) => !controlled,
            // Unreadable status: expected without control, or when a fault hit the read.
            (Err(CoreError::ControlUnverifiable { .. }), controlled) => !controlled || stormy,
            (Err(_), _) => false,
        };
        if !acceptable {
            return Err(sim.violation(format!(
                "register_target of {} (suite controls it: {}) answered {result:?}",
                v.id, v.controlled
            )));
        }
    }
    Ok(())
}

fn start_random_drill(
    sim: &mut Sim,
    g: &mut SimRng,
    vaults: &[Vault],
    summary: &mut RunSummary,
) -> Result<(), Violation> {
    let authorized = !g.chance(0.1);
    let caller = if authorized {
        operator()
    } else {
        *g.pick(&[Principal::anonymous(), stranger()])
    };
    let key = g.chance(0.3).then(|| g.next_u64().to_le_bytes().to_vec());
    let target = g.pick(vaults).id;
    let hardening = assurance::hardening_in_progress(sim.state(), target);
    let request = DrillRequest {
        target,
        scenario: *g.pick(&ScenarioKind::ALL),
        hold: DurationNs::from_secs(g.range(0, 90)),
        ops_during_hold: g.range(0, 4) as u32,
        idempotency_key: key.clone(),
    };
    match (sim.request_drill(caller, request.clone()), authorized) {
        (Ok(started), true) if hardening.is_some() => Err(sim.violation(format!(
            "{} started while hardening {hardening:?} acts on its target",
            started.id
        ))),
        (Ok(started), true) => {
            if key.is_some() {
                let retry = sim.request_drill(caller, request);
                if !matches!(retry, Ok(r) if r.id == started.id && r.duplicate) {
                    return Err(sim.violation(format!(
                        "a retry of {} with the same key answered {retry:?}",
                        started.id
                    )));
                }
            }
            Ok(())
        }
        (Err(CoreError::HardeningInProgress { request, .. }), true)
            if hardening == Some(request) =>
        {
            summary.refused_starts += 1;
            Ok(())
        }
        (
            Err(
                CoreError::TargetNotFound { .. }
                | CoreError::DrillInProgress { .. }
                | CoreError::ExperimentInProgress { .. },
            ),
            true,
        ) => {
            summary.refused_starts += 1;
            Ok(())
        }
        (Err(CoreError::AnonymousCaller | CoreError::NotAuthorized { .. }), false) => {
            summary.refused_starts += 1;
            Ok(())
        }
        (answer, _) => Err(sim.violation(format!(
            "start_drill by {caller} (operator: {authorized}) answered {answer:?}"
        ))),
    }
}

/// The operator scans a random vault; when automatic fixes apply, proposes a random choice of
/// them, which an admin approves (mostly) or rejects. The driver performs approved requests.
fn scan_and_harden(
    sim: &mut Sim,
    g: &mut SimRng,
    vaults: &[Vault],
    summary: &mut RunSummary,
) -> Result<(), Violation> {
    let target = g.pick(vaults).id;
    let report = match sim.scan(operator(), &[target]) {
        Ok(mut reports) => reports.remove(0),
        // A vault the suite never registered (it does not control it).
        Err(CoreError::TargetNotFound { .. }) => return Ok(()),
        Err(e) => return Err(sim.violation(format!("scan of {target} answered {e:?}"))),
    };
    let fixable: Vec<ControlId> = report
        .failing()
        .filter(|r| control(&r.control).is_some_and(|c| c.auto_remediation.is_some()))
        .map(|r| r.control.clone())
        .collect();
    let mut chosen: Vec<ControlId> = fixable.iter().filter(|_| g.chance(0.7)).cloned().collect();
    if chosen.is_empty() {
        match fixable.first() {
            Some(c) => chosen.push(c.clone()),
            None => return Ok(()),
        }
    }
    let id = match sim.request_hardening(operator(), target, &chosen) {
        Ok(id) => id,
        // E.g. a snapshot of a canister a drill left empty.
        Err(CoreError::Hardening(HardeningError::NotApplicable { .. })) => return Ok(()),
        Err(e) => {
            return Err(sim.violation(format!(
                "request_hardening of {chosen:?} (failing in the scan just made) answered {e:?}"
            )))
        }
    };
    summary.hardening_requests += 1;
    let approve = g.chance(0.85);
    sim.decide_hardening(admin(), id, approve, "random run")
        .map_err(|e| sim.violation(format!("decide_hardening of {id} answered {e:?}")))
}

/// The developer removes chaos_system from a vault's controllers.
fn revoke_control(sim: &mut Sim, g: &mut SimRng, vaults: &[Vault]) {
    let v = g.pick(vaults);
    let _ = sim.set_controllers(v.id, developer(), vec![developer()]);
}

fn tally(sim: &Sim, s: &mut RunSummary, stormy: bool) -> Result<(), Violation> {
    let state = sim.state();
    for d in state.drills.values() {
        s.drills += 1;
        let Some(report) = d.report() else {
            return Err(sim.violation(format!("{} is still running after the run went idle", d.id)));
        };
        match report.verdict {
            Verdict::Passed => s.passed += 1,
            Verdict::Failed => s.failed += 1,
            Verdict::Aborted => s.aborted += 1,
        }
        s.needs_attention += report.needs_attention as u64;
        let recovered = report
            .criteria
            .iter()
            .filter(|c| c.name != "rpo_within_objective")
            .all(|c| c.passed);
        if !stormy && (report.verdict == Verdict::Aborted || !recovered || report.needs_attention) {
            return Err(sim.violation(format!(
                "{} did not recover in a calm run: {report:?}",
                d.id
            )));
        }
    }
    let mut hardening_snapshots = Vec::new();
    for r in state.assurance.hardening.values() {
        match &r.status {
            HardeningStatus::Approved { .. } => {
                return Err(sim.violation(format!(
                    "hardening request {} is still approved after the run went idle",
                    r.id
                )))
            }
            HardeningStatus::Finished { outcomes, .. } => {
                s.hardening_attention += r.needs_attention() as u64;
                hardening_snapshots.extend(outcomes.iter().filter_map(|(_, o)| match o {
                    Outcome::SnapshotTaken { id, .. } => Some(id.clone()),
                    _ => None,
                }));
            }
            _ => {}
        }
    }
    for id in sim.canister_ids() {
        let snapshots = sim.canister(id).map(|c| c.snapshots()).unwrap_or_default();
        let recorded = state.snapshots.get(&id);
        s.orphan_snapshots += snapshots
            .iter()
            .filter(|x| Some(&x.id) != recorded && !hardening_snapshots.contains(&x.id))
            .count() as u64;
        if recorded.is_some_and(|r| !snapshots.iter().any(|x| &x.id == r)) {
            s.stale_restore_points += 1;
        }
    }
    let stats = sim.stats();
    s.reopens = stats.reopens;
    s.lost_replies = stats.lost_replies;
    s.faults_injected = stats.faults_injected;
    s.unknown_but_acted = stats.unknown_but_acted;
    s.events = sim.journal().log().len();
    s.scans = stats.scans;
    s.hardenings_finished = stats.hardenings_finished;
    Ok(())
}
