//! Scenario tests of integrity: full memory, reopening, refusing foreign memories, and
//! verification of the hash chain.

mod common;

use common::*;
use event_log::{
    AppendError, AppendOutcome, Envelope, EventLog, LogConfig, LogMemories, OpenError, VerifyError,
};
use ic_stable_structures::{Memory, StableLog, VectorMemory};

fn limited() -> LogMemories<LimitedMemory> {
    LogMemories {
        log_index: LimitedMemory::default(),
        log_data: LimitedMemory::default(),
        dedup_keys: LimitedMemory::default(),
        dedup_expiry: LimitedMemory::default(),
    }
}

#[test]
fn a_full_memory_fails_the_append_and_leaves_the_log_unchanged() {
    let mem = limited();
    let mut log = EventLog::init(mem.clone(), LogConfig::default()).unwrap();
    log.append(1, keyed("a", b"k")).unwrap();
    let tip = log.tip_hash();
    mem.log_data.max_pages.set(Some(mem.log_data.size()));
    let big = event_log::NewEvent {
        payload: vec![7; 70_000],
        ..keyed("b", b"k2")
    };
    match log.append(2, big) {
        Err(e @ AppendError::Storage(_)) => {
            let msg = e.to_string();
            assert!(
                msg.contains("nothing was appended") && msg.contains("retry"),
                "{msg}"
            );
        }
        other => panic!("expected Storage, got {other:?}"),
    }
    assert_eq!((log.len(), log.tip_hash(), log.last_time_ns()), (1, tip, 1));
    assert_eq!(
        log.lookup_idempotency_key(b"k2", 2),
        None,
        "the key was not recorded"
    );
    assert!(log.verify(0, 1).is_ok());
    mem.log_data.max_pages.set(None);
    assert_eq!(log.append(3, event("c")), Ok(appended(1, 3)));
    assert!(log.verify(0, 2).is_ok());
}

#[test]
fn a_batch_that_runs_out_of_memory_says_what_was_appended() {
    let mem = limited();
    let mut log = EventLog::init(mem.clone(), LogConfig::default()).unwrap();
    mem.log_data.max_pages.set(Some(1));
    let ev = |n| event_log::NewEvent {
        payload: vec![1; 30_000],
        ..event(n)
    };
    let err = log
        .append_batch(1, vec![ev("a"), ev("b"), ev("c")])
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("events 0..2") && msg.contains("seq 0..2"),
        "{msg}"
    );
    assert_eq!(log.len(), 2);
    assert!(log.verify(0, 2).is_ok());
}

#[test]
fn reopening_the_memories_restores_the_log_and_its_keys() {
    let mem = memories();
    let mut log = open_with(&mem, config(100, 16));
    log.append(10, keyed("a", b"k")).unwrap();
    log.append(20, event("b")).unwrap();
    let (tip, entries) = (log.tip_hash(), log.read(0, 10));
    drop(log);
    let mut again = open_with(&mem, config(100, 16));
    assert_eq!(
        (again.len(), again.tip_hash(), again.read(0, 10)),
        (2, tip, entries)
    );
    assert_eq!(again.last_time_ns(), 20);
    assert_eq!(again.dedup_len(), 1);
    assert_eq!(
        again.append(5, keyed("a", b"k")),
        Ok(AppendOutcome::Duplicate { seq: 0 })
    );
    assert_eq!(
        again.append(5, event("c")),
        Ok(appended(2, 20)),
        "time stays monotone"
    );
    assert_eq!(again.read(2, 1)[0].prev_hash, tip);
}

fn refused(mem: &LogMemories<VectorMemory>) -> String {
    let before: Vec<_> = [
        &mem.log_index,
        &mem.log_data,
        &mem.dedup_keys,
        &mem.dedup_expiry,
    ]
    .map(snapshot)
    .into();
    let err = match EventLog::init(mem.clone(), LogConfig::default()) {
        Err(OpenError::Incompatible(msg)) => msg,
        Ok(_) => panic!("init must refuse these memories"),
    };
    let after: Vec<_> = [
        &mem.log_index,
        &mem.log_data,
        &mem.dedup_keys,
        &mem.dedup_expiry,
    ]
    .map(snapshot)
    .into();
    assert!(before == after, "a refused init must not write: {err}");
    err
}

#[test]
fn init_refuses_foreign_or_mismatched_memories_without_writing() {
    let (mem, _) = log_with(3);
    let swapped = LogMemories {
        log_index: mem.log_data.clone(),
        log_data: mem.log_index.clone(),
        ..mem.clone()
    };
    assert!(refused(&swapped).contains("expected magic"));

    let foreign = memories();
    foreign.log_data.grow(1);
    foreign.log_data.write(0, b"not a log");
    assert!(refused(&foreign).contains("log_data"));

    let newer = memories();
    open(&newer).append(1, event("a")).unwrap();
    newer.log_data.write(3, &[2]);
    assert!(refused(&newer).contains("version 2"));

    let (keyed_mem, mut keyed_log) = log_with(0);
    keyed_log.append(1, keyed("a", b"k")).unwrap();
    let keys_as_log = LogMemories {
        dedup_keys: keyed_mem.log_data.clone(),
        ..keyed_mem.clone()
    };
    assert!(refused(&keys_as_log).contains("dedup_keys"));
    let half_dedup = LogMemories {
        dedup_expiry: VectorMemory::default(),
        ..keyed_mem.clone()
    };
    assert!(refused(&half_dedup).contains("holds 1 keys but dedup_expiry holds 0"));
}

#[test]
fn init_refuses_dedup_keys_without_a_log() {
    let (mem, mut log) = log_with(0);
    log.append(1, keyed("a", b"k")).unwrap();
    let orphan = LogMemories {
        log_index: VectorMemory::default(),
        log_data: VectorMemory::default(),
        ..mem
    };
    let err = EventLog::init(orphan, LogConfig::default())
        .err()
        .expect("refused");
    assert!(err.to_string().contains("do not belong together"), "{err}");
}

#[test]
fn init_refuses_a_stable_log_of_other_entries() {
    let mem = memories();
    let other: StableLog<Vec<u8>, _, _> =
        StableLog::init(mem.log_index.clone(), mem.log_data.clone());
    other.append(&b"someone else's record".to_vec()).unwrap();
    let err = refused(&mem);
    assert!(
        err.contains("last entry (0)") && err.contains("encoding version"),
        "{err}"
    );
}

/// Entries crafted directly into a StableLog, each with a correct hash of its own.
fn crafted(entries: &[Envelope]) -> EventLog<VectorMemory> {
    let mem = memories();
    let raw: StableLog<Vec<u8>, _, _> =
        StableLog::init(mem.log_index.clone(), mem.log_data.clone());
    for env in entries {
        raw.append(&env.encode()).unwrap();
    }
    open(&mem)
}

fn envelope(seq: u64, prev_hash: [u8; 32]) -> Envelope {
    let mut env = Envelope {
        seq,
        time_ns: seq,
        kind: "k".into(),
        payload: vec![seq as u8],
        caller: vec![],
        correlation_id: String::new(),
        idempotency_key: None,
        prev_hash,
        hash: [0; 32],
    };
    env.hash = env.compute_hash();
    env
}

#[test]
fn verify_reports_a_broken_link_a_wrong_sequence_and_undecodable_bytes() {
    let e0 = envelope(0, [0; 32]);
    let e1 = envelope(1, e0.hash);
    let good = crafted(&[e0.clone(), e1.clone()]);
    assert_eq!(good.verify(0, 2).unwrap().tip_hash, e1.hash);

    let unlinked = crafted(&[e0.clone(), envelope(1, [5; 32])]);
    assert_eq!(
        unlinked.verify(0, 2),
        Err(VerifyError::ChainBroken { seq: 1 })
    );
    assert_eq!(unlinked.verify(0, 1).map(|r| r.checked), Ok(1));

    let bad_genesis = crafted(&[envelope(0, [1; 32])]);
    assert_eq!(
        bad_genesis.verify(0, 1),
        Err(VerifyError::ChainBroken { seq: 0 })
    );

    let repeated = crafted(&[e0.clone(), e0.clone()]);
    assert_eq!(
        repeated.verify(0, 2),
        Err(VerifyError::SequenceMismatch { seq: 1 })
    );

    let mem = memories();
    let raw: StableLog<Vec<u8>, _, _> =
        StableLog::init(mem.log_index.clone(), mem.log_data.clone());
    raw.append(&vec![0xAA; 10]).unwrap();
    raw.append(&e1.encode()).unwrap();
    let log = open(&mem);
    assert!(matches!(
        log.verify(0, 2),
        Err(VerifyError::Undecodable { seq: 0, .. })
    ));
    assert!(
        matches!(
            log.verify(1, 2),
            Err(VerifyError::Undecodable { seq: 0, .. })
        ),
        "anchor"
    );
    assert_eq!(log.get(0), None);
    assert!(
        log.read(0, 2).is_empty(),
        "read stops before an undecodable entry"
    );
}

#[test]
fn verify_detects_a_changed_payload_byte_and_a_changed_stored_hash() {
    let (mem, log) = log_with(3);
    let sizes: Vec<usize> = log.read(0, 3).iter().map(|e| e.encode().len()).collect();
    let start_of_1 = DATA_HEADER + sizes[0];
    let payload_of_1 = start_of_1 + sizes[1] - 32 - 1;
    xor_byte(&mem.log_data, payload_of_1, 0x01);
    assert_eq!(log.verify(0, 3), Err(VerifyError::HashMismatch { seq: 1 }));
    assert!(
        log.verify(0, 1).is_ok(),
        "entries before the change still verify"
    );
    xor_byte(&mem.log_data, payload_of_1, 0x01);
    assert!(log.verify(0, 3).is_ok());
    let hash_of_2 = start_of_1 + sizes[1] + sizes[2] - 1;
    xor_byte(&mem.log_data, hash_of_2, 0x80);
    assert_eq!(log.verify(0, 3), Err(VerifyError::HashMismatch { seq: 2 }));
}

#[test]
fn verify_clamps_its_range_and_anchors_on_the_previous_entry() {
    let (_, log) = log_with(10);
    let all = log.read(0, 10);
    let part = log.verify(4, 7).unwrap();
    assert_eq!((part.from, part.to, part.checked), (4, 7, 3));
    assert_eq!(part.tip_hash, all[6].hash);
    let tail = log.verify(8, 100).unwrap();
    assert_eq!((tail.from, tail.to, tail.checked), (8, 10, 2));
    assert_eq!(tail.tip_hash, log.tip_hash());
    let past = log.verify(50, 60).unwrap();
    assert_eq!((past.from, past.to, past.checked), (10, 10, 0));
    assert_eq!(
        past.tip_hash,
        log.tip_hash(),
        "an empty range reports the link for the next entry"
    );
    let inverted = log.verify(7, 3).unwrap();
    assert_eq!((inverted.from, inverted.to, inverted.checked), (3, 3, 0));
}
