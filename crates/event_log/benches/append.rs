//! Native wall-clock benchmark of the event log over `VectorMemory` (`cargo bench -p event_log`).
//!
//! Prints the median of several rounds per case, and the ratio of `EventLog::append` to a raw
//! `StableLog::append` of the same encoded size (the floor: what storage alone costs). These are
//! native nanoseconds, not IC instructions; on the IC, stable-memory access is relatively more
//! expensive, so measure with canbench in a canister for instruction budgets.

use event_log::{EventLog, LogConfig, LogMemories, NewEvent};
use ic_stable_structures::{StableLog, VectorMemory};
use std::hint::black_box;
use std::time::{Duration, Instant};

const ROUNDS: usize = 5;
const APPENDS: u64 = 20_000;
const BATCHES: u64 = 200;
const BATCH: usize = 100;
const READS: u64 = 2_000;
const VERIFY_LEN: u64 = 10_000;
const PAYLOAD: usize = 100;

fn memories() -> LogMemories<VectorMemory> {
    LogMemories {
        log_index: VectorMemory::default(),
        log_data: VectorMemory::default(),
        dedup_keys: VectorMemory::default(),
        dedup_expiry: VectorMemory::default(),
    }
}

fn fresh_log() -> EventLog<VectorMemory> {
    EventLog::init(memories(), LogConfig::default()).expect("fresh memories")
}

fn event(i: u64, keyed: bool) -> NewEvent {
    NewEvent {
        kind: "drill_step_completed".into(),
        payload: vec![(i % 251) as u8; PAYLOAD],
        caller: vec![7; 29],
        correlation_id: "drill-42".into(),
        idempotency_key: keyed.then(|| format!("req-{i:016}").into_bytes()),
    }
}

fn log_of(n: u64) -> EventLog<VectorMemory> {
    let mut log = fresh_log();
    for chunk in (0..n).collect::<Vec<_>>().chunks(BATCH) {
        let evs = chunk.iter().map(|&i| event(i, false)).collect();
        log.append_batch(chunk[0], evs).expect("append");
    }
    log
}

/// Runs `round` ROUNDS times; each returns (elapsed, operations). Returns the median ns/op.
fn median_ns(mut round: impl FnMut() -> (Duration, u64)) -> f64 {
    let mut per_op: Vec<f64> = (0..ROUNDS)
        .map(|_| {
            let (elapsed, ops) = round();
            elapsed.as_nanos() as f64 / ops as f64
        })
        .collect();
    per_op.sort_by(f64::total_cmp);
    per_op[ROUNDS / 2]
}

fn report(name: &str, ns: f64, unit: &str) {
    println!("{name:<44} {ns:>12.0} ns/{unit}");
}

fn main() {
    let started = Instant::now();
    let entry_bytes = {
        let mut log = fresh_log();
        log.append(0, event(0, false)).expect("append");
        log.get(0).expect("entry").encode().len()
    };
    println!(
        "event_log bench: {ROUNDS} rounds per case, median shown; entry = {entry_bytes} bytes"
    );

    let raw = median_ns(|| {
        let mem = memories();
        let log: StableLog<Vec<u8>, _, _> = StableLog::init(mem.log_index, mem.log_data);
        let entry = vec![1u8; entry_bytes];
        let t = Instant::now();
        for _ in 0..APPENDS {
            black_box(log.append(&entry).expect("append"));
        }
        (t.elapsed(), APPENDS)
    });
    report("StableLog::append (raw, floor)", raw, "append");

    let single = median_ns(|| {
        let mut log = fresh_log();
        let evs: Vec<_> = (0..APPENDS).map(|i| event(i, false)).collect();
        let t = Instant::now();
        for (i, ev) in evs.into_iter().enumerate() {
            black_box(log.append(i as u64, ev).expect("append"));
        }
        (t.elapsed(), APPENDS)
    });
    report("EventLog::append, no key", single, "append");

    let keyed = median_ns(|| {
        let mut log = fresh_log();
        let evs: Vec<_> = (0..APPENDS).map(|i| event(i, true)).collect();
        let t = Instant::now();
        for (i, ev) in evs.into_iter().enumerate() {
            black_box(log.append(i as u64, ev).expect("append"));
        }
        (t.elapsed(), APPENDS)
    });
    report("EventLog::append, idempotency key", keyed, "append");

    let batch = median_ns(|| {
        let mut log = fresh_log();
        let batches: Vec<Vec<_>> = (0..BATCHES)
            .map(|b| {
                (0..BATCH as u64)
                    .map(|i| event(b * 1_000 + i, false))
                    .collect()
            })
            .collect();
        let t = Instant::now();
        for (b, evs) in batches.into_iter().enumerate() {
            black_box(log.append_batch(b as u64, evs).expect("append"));
        }
        (t.elapsed(), BATCHES)
    });
    report("EventLog::append_batch(100), no keys", batch, "batch");
    report("  per event", batch / BATCH as f64, "event");

    let log = log_of(VERIFY_LEN);
    let read = median_ns(|| {
        let t = Instant::now();
        for r in 0..READS {
            let from = (r * 7_919) % (VERIFY_LEN - BATCH as u64);
            black_box(log.read(from, BATCH));
        }
        (t.elapsed(), READS)
    });
    report("EventLog::read(100)", read, "read");

    let verify = median_ns(|| {
        let t = Instant::now();
        black_box(log.verify(0, VERIFY_LEN).expect("intact"));
        (t.elapsed(), 1)
    });
    report("EventLog::verify over 10,000 entries", verify, "verify");
    report("  per entry", verify / VERIFY_LEN as f64, "entry");

    println!();
    println!(
        "ratio EventLog::append (no key) / raw StableLog::append: {:.1}x",
        single / raw
    );
    println!(
        "ratio EventLog::append (key)    / raw StableLog::append: {:.1}x",
        keyed / raw
    );
    println!(
        "ratio append_batch per event    / raw StableLog::append: {:.1}x",
        batch / BATCH as f64 / raw
    );
    println!("total bench time: {:.1} s", started.elapsed().as_secs_f64());
}
