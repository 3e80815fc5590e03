//! Golden logs: event logs recorded by an earlier release must replay, in this one, to the
//! same state. The files in `tests/golden/` were written by release `c8f3f0f` (the last one
//! before the bounded-wait rollbacks, restore-point deletion, inconclusive access verdicts and
//! the lapse wait changed the events' shapes): for each seed of fleet_sim's random run, the
//! log's entries exactly as that release stored them in stable memory (`seed-N.log`: a u32 LE
//! length, then the entry, repeated) and what that release's state said (`seed-N.txt`: the
//! tip hash, the length and the projection below). Together the five seeds hold all eight
//! fault types, drills, scans, findings, hardening, council motions and emergency stops.
//!
//! Never regenerate these files to make this test pass: a difference is a log that an
//! upgrade would replay wrongly. Add a new release's logs beside them instead.

use chaos_manager::journal::Journal;
use event_log::{LogConfig, LogMemories};
use ic_stable_structures::{StableLog, VectorMemory};

const SEEDS: [u64; 5] = [1188, 41, 621, 1056, 166];

/// What a replayed log must rebuild, as text: every line a fact an operator reads (drill
/// verdicts, RTO/RPO, experiment outcomes, findings, scans, hardening, roles, targets).
fn projection(state: &chaos_manager::State) -> String {
    use chaos_manager::drill::DrillStatus;
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(out, "events_applied {}", state.events_applied);
    for (p, r) in &state.roles {
        let _ = writeln!(out, "role {p} {r:?}");
    }
    for (p, t) in &state.targets {
        let _ = writeln!(
            out,
            "target {p} {} {:?} protected={} scenarios={:?}",
            t.name, t.criticality, t.protected, t.allowed_scenarios
        );
    }
    for (id, d) in &state.drills {
        let line = match &d.status {
            DrillStatus::Running => "running".to_string(),
            DrillStatus::Finished(r) => format!(
                "{:?} rto={:?} rpo={:?} attention={} steps={}",
                r.verdict,
                r.rto.map(|x| x.0),
                r.rpo.as_ref().map(|m| m.operations_lost),
                r.needs_attention,
                d.timeline.len()
            ),
        };
        let _ = writeln!(out, "drill {} {} {:?} {line}", id.0, d.target, d.scenario);
    }
    for (id, e) in &state.lab.experiments {
        let line = match e.report() {
            Some(r) => format!(
                "{:?} rolled_back={} restored={:?} score={:?} accepted={:?} checks={}/{} steps={}",
                r.verdict,
                r.rolled_back,
                r.restored,
                r.resilience_score,
                r.findings.accepted_methods,
                r.during.within,
                r.during.total,
                e.steps.len()
            ),
            None => format!("{:?} steps={}", e.status(), e.steps.len()),
        };
        let _ = writeln!(out, "experiment {} {} {line}", id.0, e.spec.fault.kind());
    }
    for m in state.lab.council.motions.values() {
        let _ = writeln!(out, "motion {} {:?} {:?}", m.id.0, m.subject, m.status);
    }
    let _ = writeln!(out, "halted {}", state.lab.safety.halt.is_some());
    for (t, s) in &state.assurance.scans {
        let _ = writeln!(out, "scan {t} score={} level={:?}", s.score, s.level);
    }
    for f in state.assurance.register.findings() {
        let _ = writeln!(
            out,
            "finding {} {} active={}",
            f.target,
            f.title,
            f.status.is_active()
        );
    }
    for (id, r) in &state.assurance.hardening {
        let _ = writeln!(out, "hardening {id} {:?}", r.status);
    }
    out
}

fn golden(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/golden/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Stable memory as the old release left it: its entries appended, byte for byte, to a
/// `StableLog` in fresh memories (the layout is a function of the entries).
fn memories_of(log: &[u8]) -> LogMemories<VectorMemory> {
    let mem = LogMemories {
        log_index: VectorMemory::default(),
        log_data: VectorMemory::default(),
        dedup_keys: VectorMemory::default(),
        dedup_expiry: VectorMemory::default(),
    };
    let stable: StableLog<Vec<u8>, _, _> =
        StableLog::init(mem.log_index.clone(), mem.log_data.clone());
    let mut rest = log;
    while !rest.is_empty() {
        let (len, tail) = rest.split_at(4);
        let len = u32::from_le_bytes(len.try_into().unwrap()) as usize;
        let (entry, tail) = tail.split_at(len);
        stable.append(&entry.to_vec()).expect("memory grows");
        rest = tail;
    }
    mem
}

#[test]
fn logs_of_the_previous_release_replay_to_the_same_state() {
    for seed in SEEDS {
        let expected = String::from_utf8(golden(&format!("seed-{seed}.txt"))).unwrap();
        let journal = Journal::open(
            memories_of(&golden(&format!("seed-{seed}.log"))),
            LogConfig::default(),
        )
        .unwrap_or_else(|e| panic!("seed {seed}: the log does not open: {e:?}"));
        let log = journal.log();
        let report = log
            .verify(0, log.len())
            .unwrap_or_else(|e| panic!("seed {seed}: the hash chain does not verify: {e:?}"));
        assert_eq!(report.checked, log.len());
        let actual = format!(
            "tip {}\nlen {}\n{}",
            hex::encode(log.tip_hash()),
            log.len(),
            projection(journal.state())
        );
        if actual != expected {
            let diff: Vec<String> = expected
                .lines()
                .zip(actual.lines())
                .filter(|(e, a)| e != a)
                .map(|(e, a)| format!("- {e}\n+ {a}"))
                .collect();
            panic!(
                "seed {seed}: the replayed state differs from the one release c8f3f0f recorded:\n{}",
                diff.join("\n")
            );
        }
        // The recorded report is a copy; the fold must reach it again from the steps: a
        // step folded at the wrong place (new rules applied to an old run) shows here.
        for e in journal.state().lab.experiments.values() {
            if let Some(r) = e.report() {
                assert_eq!(
                    e.compute_report(r.finished_at),
                    *r,
                    "seed {seed}: {} folds to another report than the one recorded",
                    e.id
                );
                assert_eq!(
                    e.fold, 0,
                    "seed {seed}: {} was recorded by fold rules 0",
                    e.id
                );
            }
        }
        journal
            .self_check()
            .unwrap_or_else(|e| panic!("seed {seed}: self_check: {e}"));
    }
}
