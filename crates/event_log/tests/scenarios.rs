//! Scenario tests of appending, reading and deduplication: given a log in some state, when a
//! call is made, then the documented outcome.

mod common;

use common::*;
use event_log::{
    AppendError, AppendOutcome, EventLog, LogConfig, GENESIS_PREV_HASH, MAX_BATCH_EVENTS,
};
use ic_stable_structures::VectorMemory;

#[test]
fn an_empty_log_has_the_genesis_tip_and_nothing_to_read() {
    let log = open(&memories());
    assert!(log.is_empty());
    assert_eq!(log.len(), 0);
    assert_eq!(log.tip_hash(), [0; 32]);
    assert_eq!(log.get(0), None);
    assert!(log.read(0, 10).is_empty());
    assert_eq!(log.first_at_or_after(0), None);
    let report = log.verify(0, 10).unwrap();
    assert_eq!((report.from, report.to, report.checked), (0, 0, 0));
    assert_eq!(report.tip_hash, GENESIS_PREV_HASH);
}

#[test]
fn appends_are_dense_chained_and_never_go_back_in_time() {
    let mem = memories();
    let mut log = open(&mem);
    assert_eq!(log.append(100, event("a")), Ok(appended(0, 100)));
    assert_eq!(
        log.append(50, event("b")),
        Ok(appended(1, 100)),
        "clock went back"
    );
    assert_eq!(log.append(200, event("c")), Ok(appended(2, 200)));
    let all = log.read(0, 10);
    assert_eq!(all.iter().map(|e| e.seq).collect::<Vec<_>>(), [0, 1, 2]);
    assert_eq!(all[0].prev_hash, [0; 32]);
    assert_eq!(all[1].prev_hash, all[0].hash);
    assert_eq!(all[2].prev_hash, all[1].hash);
    assert_eq!(log.tip_hash(), all[2].hash);
    assert_eq!(log.last_time_ns(), 200);
    for env in &all {
        assert_eq!(env.compute_hash(), env.hash);
    }
    assert_eq!(all[1].kind, "b");
    assert_eq!(all[1].payload, b"b");
    assert_eq!(all[1].caller, [1, 2, 3]);
    assert_eq!(all[1].correlation_id, "corr-b");
    assert_eq!(log.verify(0, u64::MAX).unwrap().checked, 3);
}

#[test]
fn get_and_read_stop_at_the_end_of_the_log() {
    let (_, log) = log_with(5);
    assert_eq!(log.get(4).map(|e| e.kind), Some("e4".into()));
    assert_eq!(log.get(5), None);
    assert_eq!(log.get(u64::MAX), None);
    assert_eq!(log.read(3, 10).len(), 2);
    assert_eq!(log.read(5, 10).len(), 0);
    assert_eq!(log.read(u64::MAX, usize::MAX).len(), 0);
    assert_eq!(log.read(1, 0).len(), 0);
    assert_eq!(
        log.read(1, 2).iter().map(|e| e.seq).collect::<Vec<_>>(),
        [1, 2]
    );
}

#[test]
fn first_at_or_after_finds_the_first_entry_at_or_after_a_time() {
    let mut log = open(&memories());
    for t in [10, 20, 20, 20, 30] {
        log.append(t, event("t")).unwrap();
    }
    assert_eq!(log.first_at_or_after(0), Some(0));
    assert_eq!(log.first_at_or_after(10), Some(0));
    assert_eq!(log.first_at_or_after(11), Some(1));
    assert_eq!(log.first_at_or_after(20), Some(1));
    assert_eq!(log.first_at_or_after(21), Some(4));
    assert_eq!(log.first_at_or_after(30), Some(4));
    assert_eq!(log.first_at_or_after(31), None);
}

#[test]
fn an_invalid_event_appends_nothing_and_says_why() {
    let mut log = open(&memories());
    let too_long = event_log::NewEvent {
        kind: "k".repeat(65),
        ..event("x")
    };
    match log.append(1, too_long) {
        Err(AppendError::InvalidEvent(msg)) => assert!(msg.contains("kind is 65"), "{msg}"),
        other => panic!("expected InvalidEvent, got {other:?}"),
    }
    assert!(log.is_empty());
    assert_eq!(
        log.last_time_ns(),
        0,
        "a refused event does not advance time"
    );
}

#[test]
fn a_live_key_returns_the_original_seq_and_appends_nothing() {
    let mut log = open_with(&memories(), config(100, 16));
    log.append(0, event("plain")).unwrap();
    assert_eq!(log.append(10, keyed("a", b"k1")), Ok(appended(1, 10)));
    assert_eq!(
        log.append(50, keyed("b", b"k1")),
        Ok(AppendOutcome::Duplicate { seq: 1 })
    );
    assert_eq!(log.append(60, keyed("c", b"k2")), Ok(appended(2, 60)));
    assert_eq!(log.len(), 3);
    assert_eq!(log.lookup_idempotency_key(b"k1", 109), Some(1));
    assert_eq!(log.lookup_idempotency_key(b"k2", 109), Some(2));
    assert_eq!(log.lookup_idempotency_key(b"nope", 109), None);
    assert_eq!(log.get(1).unwrap().idempotency_key, Some(b"k1".to_vec()));
}

#[test]
fn a_key_expires_exactly_when_the_window_has_passed() {
    let mut log = open_with(&memories(), config(100, 16));
    log.append(1_000, keyed("a", b"k")).unwrap();
    assert_eq!(log.lookup_idempotency_key(b"k", 1_099), Some(0));
    assert_eq!(
        log.append(1_099, keyed("a", b"k")),
        Ok(AppendOutcome::Duplicate { seq: 0 })
    );
    assert_eq!(log.lookup_idempotency_key(b"k", 1_100), None);
    assert_eq!(log.append(1_100, keyed("a", b"k")), Ok(appended(1, 1_100)));
    assert_eq!(
        log.lookup_idempotency_key(b"k", 1_150),
        Some(1),
        "the new record replaced it"
    );
    assert_eq!(log.dedup_len(), 1);
}

#[test]
fn lookups_use_the_log_clock_when_now_is_behind_it() {
    let mut log = open_with(&memories(), config(100, 16));
    log.append(1_000, keyed("a", b"k")).unwrap();
    log.append(1_200, event("later")).unwrap();
    assert_eq!(
        log.lookup_idempotency_key(b"k", 1_050),
        None,
        "log time 1200 is past the window"
    );
    assert_eq!(log.append(1_050, keyed("a", b"k")), Ok(appended(2, 1_200)));
}

#[test]
fn a_zero_window_disables_deduplication() {
    let mut log = open_with(&memories(), config(0, 16));
    assert_eq!(log.append(5, keyed("a", b"k")), Ok(appended(0, 5)));
    assert_eq!(log.append(5, keyed("a", b"k")), Ok(appended(1, 5)));
    assert_eq!(log.lookup_idempotency_key(b"k", 5), None);
}

#[test]
fn batch_validation_is_all_or_nothing() {
    let mut log = open(&memories());
    log.append(1, event("before")).unwrap();
    let batch = vec![
        event("ok"),
        keyed("ok", b"k"),
        keyed("bad", &[0; 65]),
        event("ok"),
    ];
    match log.append_batch(2, batch) {
        Err(AppendError::InvalidEvent(msg)) => {
            assert!(msg.contains("event 2 of the batch"), "{msg}");
            assert!(msg.contains("idempotency_key is 65"), "{msg}");
        }
        other => panic!("expected InvalidEvent, got {other:?}"),
    }
    assert_eq!(log.len(), 1);
    assert_eq!(log.dedup_len(), 0);
}

#[test]
fn a_batch_deduplicates_within_itself_and_against_the_log() {
    let mut log = open(&memories());
    log.append(1, keyed("old", b"old")).unwrap();
    let batch = vec![
        keyed("a", b"x"),
        event("b"),
        keyed("c", b"x"),
        keyed("d", b"old"),
        keyed("e", b"y"),
    ];
    let outcomes = log.append_batch(5, batch).unwrap();
    assert_eq!(
        outcomes,
        [
            appended(1, 5),
            appended(2, 5),
            AppendOutcome::Duplicate { seq: 1 },
            AppendOutcome::Duplicate { seq: 0 },
            appended(3, 5),
        ]
    );
    assert_eq!(
        outcomes.iter().map(|o| o.seq()).collect::<Vec<_>>(),
        [1, 2, 1, 0, 3]
    );
    assert_eq!(log.len(), 4);
    assert_eq!(log.verify(0, 4).unwrap().tip_hash, log.tip_hash());
}

#[test]
fn batch_size_is_capped_and_an_empty_batch_is_a_no_op() {
    let mut log = open(&memories());
    assert_eq!(log.append_batch(1, vec![]), Ok(vec![]));
    let huge = vec![event("x"); MAX_BATCH_EVENTS + 1];
    match log.append_batch(1, huge) {
        Err(AppendError::InvalidEvent(msg)) => assert!(msg.contains("split"), "{msg}"),
        other => panic!("expected InvalidEvent, got {other:?}"),
    }
    assert!(log.is_empty());
    let max = vec![event("x"); MAX_BATCH_EVENTS];
    assert_eq!(log.append_batch(1, max).unwrap().len(), MAX_BATCH_EVENTS);
}

fn log_with_keys(n: u64, cfg: LogConfig) -> EventLog<VectorMemory> {
    let mut log = open_with(&memories(), cfg);
    let keys: Vec<_> = (0..n).map(|i| keyed("k", &i.to_le_bytes())).collect();
    log.append_batch(0, keys).unwrap();
    log
}

#[test]
fn each_append_prunes_at_most_its_budget_of_expired_keys() {
    let mut log = log_with_keys(50, config(100, 16));
    assert_eq!(log.dedup_len(), 50);
    log.append(100, event("no key")).unwrap();
    assert_eq!(log.dedup_len(), 34, "16 expired keys pruned");
    log.append(100, keyed("k", b"new")).unwrap();
    assert_eq!(log.dedup_len(), 34 - 16 + 1);
    log.append(100, keyed("k", b"new")).unwrap();
    assert_eq!(log.dedup_len(), 19 - 16, "a duplicate still prunes");
    log.append_batch(100, vec![keyed("k", b"p"), keyed("k", b"q"), event("r")])
        .unwrap();
    assert_eq!(
        log.dedup_len(),
        3,
        "2 keyed events: budget 32 clears the 2 expired, adds 2"
    );
}

#[test]
fn a_zero_prune_budget_leaves_pruning_to_prune_dedup() {
    let mut log = log_with_keys(20, config(100, 0));
    log.append(1_000, event("x")).unwrap();
    assert_eq!(log.dedup_len(), 20);
    assert_eq!(
        log.lookup_idempotency_key(&0u64.to_le_bytes(), 1_000),
        None,
        "expired anyway"
    );
    assert_eq!(log.prune_dedup(1_000, 7), 7);
    assert_eq!(log.prune_dedup(1_000, 100), 13);
    assert_eq!(log.prune_dedup(1_000, 100), 0);
    assert_eq!(log.dedup_len(), 0);
}

#[test]
fn prune_dedup_keeps_live_keys() {
    let mut log = open_with(&memories(), config(100, 0));
    log.append(0, keyed("a", b"old")).unwrap();
    log.append(60, keyed("b", b"new")).unwrap();
    assert_eq!(log.prune_dedup(120, 10), 1);
    assert_eq!(log.lookup_idempotency_key(b"new", 120), Some(1));
    assert_eq!(log.dedup_len(), 1);
}

#[test]
fn shrinking_the_window_expires_keys_at_once() {
    let mut log = open_with(&memories(), config(1_000, 16));
    log.append(0, keyed("a", b"k")).unwrap();
    assert_eq!(log.lookup_idempotency_key(b"k", 50), Some(0));
    log.set_dedup_window(50);
    assert_eq!(log.config().dedup_window_ns, 50);
    assert_eq!(log.lookup_idempotency_key(b"k", 50), None);
    assert_eq!(log.append(50, keyed("a", b"k")), Ok(appended(1, 50)));
}
