//! Property tests: round trip, idempotence, tamper detection, reopen equivalence, and a
//! model-based test that runs random operation sequences against a plain in-memory model.

mod common;

use common::*;
use event_log::{AppendOutcome, EventLog, LogMemories, NewEvent, VerifyError};
use ic_stable_structures::VectorMemory;
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

const WINDOW: u64 = 100;

fn arb_event(with_key: bool) -> impl Strategy<Value = NewEvent> {
    let key = if with_key {
        proptest::option::of(proptest::collection::vec(any::<u8>(), 1..=64)).boxed()
    } else {
        Just(None).boxed()
    };
    (
        "\\PC{1,16}",
        proptest::collection::vec(any::<u8>(), 0..300),
        proptest::collection::vec(any::<u8>(), 0..=29),
        "\\PC{0,16}",
        key,
    )
        .prop_map(
            |(kind, payload, caller, correlation_id, idempotency_key)| NewEvent {
                kind,
                payload,
                caller,
                correlation_id,
                idempotency_key,
            },
        )
}

/// Events with (possibly backwards) clock readings.
fn arb_timed_events(max: usize, with_key: bool) -> impl Strategy<Value = Vec<(u64, NewEvent)>> {
    proptest::collection::vec((0..1_000u64, arb_event(with_key)), 0..max)
}

fn read_all(log: &EventLog<VectorMemory>) -> Vec<event_log::Envelope> {
    log.read(0, log.len() as usize)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn appended_events_read_back_unchanged(events in arb_timed_events(40, true)) {
        let mut log = open_with(&memories(), config(0, 16)); // no dedup: every event is stored
        let mut clock = 0;
        for (now, ev) in &events {
            clock = clock.max(*now);
            let outcome = log.append(*now, ev.clone()).unwrap();
            prop_assert_eq!(outcome, AppendOutcome::Appended { seq: outcome.seq(), time_ns: clock });
        }
        let stored = read_all(&log);
        prop_assert_eq!(stored.len(), events.len());
        let mut prev_hash = [0; 32];
        for (i, (env, (_, ev))) in stored.iter().zip(&events).enumerate() {
            prop_assert_eq!(env.seq, i as u64);
            prop_assert_eq!(&env.kind, &ev.kind);
            prop_assert_eq!(&env.payload, &ev.payload);
            prop_assert_eq!(&env.caller, &ev.caller);
            prop_assert_eq!(&env.correlation_id, &ev.correlation_id);
            prop_assert_eq!(&env.idempotency_key, &ev.idempotency_key);
            prop_assert_eq!(env.prev_hash, prev_hash);
            prop_assert_eq!(Some(env.clone()), log.get(i as u64));
            prev_hash = env.hash;
        }
        prop_assert!(stored.windows(2).all(|w| w[0].time_ns <= w[1].time_ns));
        prop_assert_eq!(log.tip_hash(), prev_hash);
        prop_assert_eq!(log.verify(0, u64::MAX).unwrap().tip_hash, prev_hash);
    }

    #[test]
    fn reused_keys_append_once_per_window(keys in proptest::collection::vec(0u8..6, 1..30)) {
        let mut log = open_with(&memories(), config(WINDOW, 16));
        let mut first_seq = BTreeMap::new();
        for (i, k) in keys.iter().enumerate() {
            let now = 1_000 + i as u64;
            let len_before = log.len();
            let outcome = log.append(now, keyed("k", &[*k])).unwrap();
            let expected = match first_seq.get(k) {
                Some(&seq) => AppendOutcome::Duplicate { seq },
                None => AppendOutcome::Appended { seq: len_before, time_ns: now },
            };
            prop_assert_eq!(outcome, expected);
            first_seq.entry(*k).or_insert(len_before);
        }
        prop_assert_eq!(log.len(), first_seq.len() as u64);
        // Once the window has passed for every key, each reused key appends exactly once more.
        let later = 1_000 + keys.len() as u64 + WINDOW;
        let outcomes = log
            .append_batch(later, keys.iter().map(|k| keyed("k", &[*k])).collect())
            .unwrap();
        let appended = outcomes.iter().filter(|o| matches!(o, AppendOutcome::Appended { .. }));
        prop_assert_eq!(appended.count(), first_seq.len());
        prop_assert_eq!(log.len(), 2 * first_seq.len() as u64);
        for k in first_seq.keys() {
            let seq = log.lookup_idempotency_key(&[*k], later).unwrap();
            prop_assert!(seq >= first_seq.len() as u64, "key {} now points at the new entry", k);
        }
    }

    #[test]
    fn a_changed_byte_anywhere_in_the_entries_fails_verify(
        events in arb_timed_events(12, true).prop_filter("non-empty", |e| !e.is_empty()),
        position in any::<prop::sample::Index>(),
        mask in 1u8..=255,
    ) {
        let mem = memories();
        let mut log = open_with(&mem, config(0, 16));
        for (now, ev) in events {
            log.append(now, ev).unwrap();
        }
        let sizes: Vec<usize> = read_all(&log).iter().map(|e| e.encode().len()).collect();
        let offset = position.index(sizes.iter().sum());
        let entry = sizes
            .iter()
            .scan(0, |end, s| { *end += s; Some(*end) })
            .position(|end| offset < end)
            .unwrap() as u64;
        xor_byte(&mem.log_data, DATA_HEADER + offset, mask);
        match log.verify(0, log.len()) {
            Err(VerifyError::HashMismatch { seq }) | Err(VerifyError::Undecodable { seq, .. }) => {
                prop_assert_eq!(seq, entry, "reported at the entry holding the byte")
            }
            other => prop_assert!(false, "byte {} of entry {} changed, verify said {:?}", offset, entry, other),
        }
        xor_byte(&mem.log_data, DATA_HEADER + offset, mask);
        prop_assert!(log.verify(0, log.len()).is_ok(), "restoring the byte restores the log");
    }

    #[test]
    fn reopening_gives_an_equal_log(events in arb_timed_events(30, true), pick in any::<prop::sample::Index>()) {
        let mem = memories();
        let mut log = open_with(&mem, config(u64::MAX, 16));
        for (now, ev) in &events {
            log.append(*now, ev.clone()).unwrap();
        }
        let keys: Vec<Vec<u8>> = events.iter().filter_map(|(_, e)| e.idempotency_key.clone()).collect();
        let lookups = |l: &EventLog<VectorMemory>| -> Vec<Option<u64>> {
            keys.iter().map(|k| l.lookup_idempotency_key(k, 2_000)).collect()
        };
        let before = (log.len(), log.tip_hash(), log.last_time_ns(), log.dedup_len(), read_all(&log), lookups(&log));
        drop(log);
        let mut again = open_with(&mem, config(u64::MAX, 16));
        let after = (again.len(), again.tip_hash(), again.last_time_ns(), again.dedup_len(), read_all(&again), lookups(&again));
        prop_assert_eq!(&before, &after);
        if !keys.is_empty() {
            let key = &keys[pick.index(keys.len())];
            let original = before.5[pick.index(keys.len())].unwrap();
            let outcome = again.append(0, NewEvent { idempotency_key: Some(key.clone()), ..event("again") });
            prop_assert_eq!(outcome, Ok(AppendOutcome::Duplicate { seq: original }));
        }
        let next = again.append(0, event("next")).unwrap();
        prop_assert_eq!(next, AppendOutcome::Appended { seq: before.0, time_ns: before.2 });
        prop_assert_eq!(again.get(before.0).unwrap().prev_hash, before.1);
    }
}

#[derive(Clone, Debug)]
enum Op {
    Append { key: Option<u8>, dt: u64 },
    Batch { keys: Vec<Option<u8>>, dt: u64 },
    Prune { steps: u32, dt: u64 },
    SetWindow { window: u64 },
    Reopen,
}

fn arb_op() -> impl Strategy<Value = Op> {
    let key = proptest::option::of(0u8..5);
    prop_oneof![
        4 => (key.clone(), 0..60u64).prop_map(|(key, dt)| Op::Append { key, dt }),
        2 => (proptest::collection::vec(key, 0..6), 0..60u64).prop_map(|(keys, dt)| Op::Batch { keys, dt }),
        1 => (0..4u32, 0..60u64).prop_map(|(steps, dt)| Op::Prune { steps, dt }),
        1 => (0..150u64).prop_map(|window| Op::SetWindow { window }),
        1 => Just(Op::Reopen),
    ]
}

/// The specification, written as plainly as possible.
#[derive(Default)]
struct Model {
    now: u64,
    window: u64,
    len: u64,
    keys: BTreeMap<u8, (u64, u64)>,
}

impl Model {
    fn live(&self, key: u8) -> Option<u64> {
        let (seq, t) = *self.keys.get(&key)?;
        (self.now.saturating_sub(t) < self.window).then_some(seq)
    }

    fn append(&mut self, key: Option<u8>) -> AppendOutcome {
        if let Some(seq) = key.and_then(|k| self.live(k)) {
            return AppendOutcome::Duplicate { seq };
        }
        let seq = self.len;
        self.len += 1;
        if let Some(k) = key {
            self.keys.insert(k, (seq, self.now));
        }
        AppendOutcome::Appended {
            seq,
            time_ns: self.now,
        }
    }
}

fn ev(key: Option<u8>) -> NewEvent {
    NewEvent {
        idempotency_key: key.map(|k| vec![k]),
        ..event("op")
    }
}

fn check_against_model(ops: Vec<Op>, max_prune: u32) -> Result<(), TestCaseError> {
    let mem: LogMemories<VectorMemory> = memories();
    let mut model = Model {
        window: WINDOW,
        ..Model::default()
    };
    let mut log = open_with(&mem, config(WINDOW, max_prune));
    for op in ops {
        match op {
            Op::Append { key, dt } => {
                model.now += dt;
                let got = log.append(model.now, ev(key)).unwrap();
                prop_assert_eq!(got, model.append(key));
            }
            Op::Batch { keys, dt } => {
                model.now += dt;
                let got = log
                    .append_batch(model.now, keys.iter().map(|k| ev(*k)).collect())
                    .unwrap();
                let want: Vec<_> = keys.iter().map(|k| model.append(*k)).collect();
                prop_assert_eq!(got, want);
            }
            Op::Prune { steps, dt } => {
                model.now += dt;
                let before = log.dedup_len();
                let removed = log.prune_dedup(model.now, steps);
                prop_assert!(removed <= steps);
                prop_assert_eq!(log.dedup_len(), before - u64::from(removed));
            }
            Op::SetWindow { window } => {
                if window > model.window {
                    // Growing the window would revive expired keys that happen not to be
                    // pruned yet (documented); the recommended practice is to prune first.
                    log.prune_dedup(model.now, u32::MAX);
                    let now = model.now;
                    let old = model.window;
                    model.keys.retain(|_, (_, t)| now.saturating_sub(*t) < old);
                }
                model.window = window;
                log.set_dedup_window(window);
            }
            Op::Reopen => {
                let cfg = log.config().clone();
                let entries = read_all(&log);
                drop(log);
                log = open_with(&mem, cfg);
                prop_assert_eq!(read_all(&log), entries);
            }
        }
        // Invariants after every step.
        prop_assert_eq!(log.len(), model.len);
        let live: BTreeSet<u8> = (0..5).filter(|k| model.live(*k).is_some()).collect();
        for k in 0..5u8 {
            prop_assert_eq!(
                log.lookup_idempotency_key(&[k], model.now),
                model.live(k),
                "key {}",
                k
            );
        }
        prop_assert!(live.len() as u64 <= log.dedup_len());
        prop_assert!(log.dedup_len() <= model.keys.len() as u64);
        prop_assert_eq!(
            log.verify(0, u64::MAX).map(|r| r.tip_hash),
            Ok(log.tip_hash())
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn random_operations_match_the_model(
        ops in proptest::collection::vec(arb_op(), 1..40),
        max_prune in 0u32..4,
    ) {
        check_against_model(ops, max_prune)?;
    }
}
