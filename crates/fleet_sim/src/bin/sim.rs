//! Seeded random simulation runs: `sim --seeds N [--start S] [--keep-going] [--verbose]`.
//!
//! Runs seeds `S..S+N` (default start 0) through [`fleet_sim::random_run::run`] (drills,
//! hardening and chaos experiments of the eight fault types with emergency stops), checking
//! the invariants after every simulated task. Prints `N seeds passed, 0 failed` and the rate (seeds are not tests: the suite total does not count them), or the
//! failing seed with its last events (exit code 1); `--keep-going` runs every seed and lists
//! the failing ones (one line each) before the count. Wall-clock time is read here only, to
//! report seeds per second; the simulation itself never reads a clock.

use fleet_sim::random_run::{self, RunSummary};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

static CURRENT_SEED: AtomicU64 = AtomicU64::new(0);

struct Args {
    seeds: u64,
    start: u64,
    keep_going: bool,
    verbose: bool,
}

fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1).collect()) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("sim: {e}\nusage: sim --seeds N [--start S] [--keep-going] [--verbose]");
            return ExitCode::from(2);
        }
    };
    // A panic (release builds abort) still names the seed that replays it.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let seed = CURRENT_SEED.load(Ordering::Relaxed);
        eprintln!("fleet_sim: seed {seed} panicked; replay with --seeds 1 --start {seed}");
        default_hook(info);
    }));

    let started = Instant::now();
    let mut total = RunSummary::default();
    let (mut stormy, mut passed) = (0u64, 0u64);
    let mut failed: Vec<(u64, String)> = Vec::new();
    for seed in args.start..args.start.saturating_add(args.seeds) {
        CURRENT_SEED.store(seed, Ordering::Relaxed);
        match random_run::run(seed) {
            Ok(s) => {
                if args.verbose {
                    println!("{s:?}");
                }
                stormy += s.stormy as u64;
                add(&mut total, &s);
                passed += 1;
            }
            Err(v) if args.keep_going => failed.push((seed, v.what)),
            Err(v) => {
                eprintln!("{v}");
                println!("{passed} seeds passed, 1 failed (seed {seed})");
                return ExitCode::FAILURE;
            }
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "drills: {} ({} passed, {} failed, {} aborted, {} need attention); {} starts refused",
        total.drills,
        total.passed,
        total.failed,
        total.aborted,
        total.needs_attention,
        total.refused_starts
    );
    println!(
        "stormy runs: {stormy}; faults injected: {} ({} SysUnknown after acting); upgrades: {} ({} replies lost); events: {}",
        total.faults_injected,
        total.unknown_but_acted,
        total.reopens,
        total.lost_replies,
        total.events
    );
    println!(
        "snapshot hygiene: {} orphan snapshots, {} stale restore points",
        total.orphan_snapshots, total.stale_restore_points
    );
    println!(
        "assurance: {} scans; {} hardening requests, {} performed ({} need attention)",
        total.scans, total.hardening_requests, total.hardenings_finished, total.hardening_attention
    );
    let lab = &total.lab;
    println!(
        "experiments: {} started ({} by an operator, {} by a schedule; {} restored, {} flagged for a person), {} refused; emergency stops: {} (halting {} running experiments, {} of them restored; {} resumed by an admin)",
        lab.experiments + lab.scheduled_runs,
        lab.experiments,
        lab.scheduled_runs,
        lab.restored,
        lab.flagged,
        lab.refused,
        lab.emergency_stops,
        lab.halted,
        lab.halted_restored,
        lab.resumes
    );
    println!(
        "schedules: {} once, {} on an interval, {} refused, {} cancelled; due runs: {} started ({} restored), {} refused by the limits, {} refused under an emergency stop",
        lab.schedules_once,
        lab.schedules_interval,
        lab.schedules_refused,
        lab.schedules_cancelled,
        lab.scheduled_runs,
        lab.scheduled_restored,
        lab.scheduled_refused,
        lab.scheduled_halted
    );
    for (seed, what) in &failed {
        println!(
            "FAILED seed {seed}: {}",
            what.lines().next().unwrap_or_default()
        );
    }
    let runs = passed + failed.len() as u64;
    println!(
        "{passed} seeds passed, {} failed in {secs:.2} s ({:.0} seeds/s)",
        failed.len(),
        runs as f64 / secs.max(1e-9)
    );
    if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn add(t: &mut RunSummary, s: &RunSummary) {
    t.drills += s.drills;
    t.passed += s.passed;
    t.failed += s.failed;
    t.aborted += s.aborted;
    t.needs_attention += s.needs_attention;
    t.refused_starts += s.refused_starts;
    t.reopens += s.reopens;
    t.lost_replies += s.lost_replies;
    t.faults_injected += s.faults_injected;
    t.unknown_but_acted += s.unknown_but_acted;
    t.events += s.events;
    t.orphan_snapshots += s.orphan_snapshots;
    t.stale_restore_points += s.stale_restore_points;
    t.scans += s.scans;
    t.hardening_requests += s.hardening_requests;
    t.hardenings_finished += s.hardenings_finished;
    t.hardening_attention += s.hardening_attention;
    t.lab.experiments += s.lab.experiments;
    t.lab.refused += s.lab.refused;
    t.lab.restored += s.lab.restored;
    t.lab.flagged += s.lab.flagged;
    t.lab.emergency_stops += s.lab.emergency_stops;
    t.lab.resumes += s.lab.resumes;
    t.lab.halted += s.lab.halted;
    t.lab.halted_restored += s.lab.halted_restored;
    t.lab.schedules_once += s.lab.schedules_once;
    t.lab.schedules_interval += s.lab.schedules_interval;
    t.lab.schedules_refused += s.lab.schedules_refused;
    t.lab.schedules_cancelled += s.lab.schedules_cancelled;
    t.lab.scheduled_runs += s.lab.scheduled_runs;
    t.lab.scheduled_restored += s.lab.scheduled_restored;
    t.lab.scheduled_refused += s.lab.scheduled_refused;
    t.lab.scheduled_halted += s.lab.scheduled_halted;
}

fn parse(args: Vec<String>) -> Result<Args, String> {
    let mut out = Args {
        seeds: 0,
        start: 0,
        keep_going: false,
        verbose: false,
    };
    let mut seen_seeds = false;
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| -> Result<u64, String> {
            let v = it.next().ok_or(format!("{name} needs a value"))?;
            v.parse().map_err(|e| format!("{name} {v}: {e}"))
        };
        match a.as_str() {
            "--seeds" => {
                out.seeds = value("--seeds")?;
                seen_seeds = true;
            }
            "--start" => out.start = value("--start")?,
            "--keep-going" => out.keep_going = true,
            "--verbose" => out.verbose = true,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if !seen_seeds {
        return Err("--seeds is required".into());
    }
    Ok(out)
}
