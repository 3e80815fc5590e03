//! The journal: recording applies, replay rebuilds the same state, duplicates record nothing.

mod common;

use chaos_manager::command;
use chaos_manager::drill::{DrillOptions, ScenarioKind};
use chaos_manager::journal::{replay, Journal, RecordContext, Recorded};
use chaos_manager::target::ControlEvidence;
use chaos_manager::{DurationNs, Event, Role, TimestampNs};
use common::*;
use event_log::{LogConfig, LogMemories};
use ic_stable_structures::VectorMemory;

fn memories() -> LogMemories<VectorMemory> {
    LogMemories {
        log_index: VectorMemory::default(),
        log_data: VectorMemory::default(),
        dedup_keys: VectorMemory::default(),
        dedup_expiry: VectorMemory::default(),
    }
}

fn clone_memories(m: &LogMemories<VectorMemory>) -> LogMemories<VectorMemory> {
    LogMemories {
        log_index: m.log_index.clone(),
        log_data: m.log_data.clone(),
        dedup_keys: m.dedup_keys.clone(),
        dedup_expiry: m.dedup_expiry.clone(),
    }
}

const T0: TimestampNs = TimestampNs(1_000_000_000_000);

/// Given a journal with a registered vault and one finished drill.
fn journal_with_history(mem: LogMemories<VectorMemory>) -> Journal<VectorMemory> {
    let mut j = Journal::open(mem, LogConfig::default()).unwrap();
    let admin = principal(ADMIN);
    let ctx = RecordContext::new(admin, "test");
    j.record(
        T0,
        &ctx,
        Event::Init {
            admins: vec![admin],
            suite: principal(SUITE),
            dedup_window_ns: None,
        },
    )
    .unwrap();
    let ev = command::grant_role(j.state(), &admin, principal(OPERATOR), Role::Operator).unwrap();
    j.record_all(T0, &ctx, ev).unwrap();
    let ev = command::register_target(
        j.state(),
        &admin,
        vault_target(),
        ControlEvidence::Controllers(vec![principal(SUITE)]),
    )
    .unwrap();
    j.record_all(T0, &ctx, ev).unwrap();
    let op = principal(OPERATOR);
    let ev = command::start_drill(
        j.state(),
        &op,
        principal(VAULT),
        ScenarioKind::CanisterLoss,
        DrillOptions::default(),
    )
    .unwrap();
    let drill = chaos_manager::DrillId(
        j.record_all(T0, &RecordContext::new(op, "d"), ev).unwrap()[0].seq(),
    );
    let mut respond = healthy_target(3, 3);
    let mut now = T0;
    while let Some((event, effect)) = command::issue_next_step(j.state(), drill) {
        let step = match &event {
            Event::DrillStepStarted { step, .. } => *step,
            _ => unreachable!(),
        };
        now = now.plus(DurationNs::SECOND);
        j.record(now, &RecordContext::new(principal(SUITE), "d"), event)
            .unwrap();
        let outcome = respond(&effect);
        now = now.plus(DurationNs::SECOND);
        let events = command::complete_step(j.state(), drill, step, outcome, now).unwrap();
        j.record_all(now, &RecordContext::new(principal(SUITE), "d"), events)
            .unwrap();
    }
    assert!(j.state().drills[&drill].report().is_some());
    j
}

#[test]
fn reopening_the_same_memory_rebuilds_the_same_state() {
    let mem = memories();
    let live = journal_with_history(clone_memories(&mem));
    let reopened = Journal::open(clone_memories(&mem), LogConfig::default()).unwrap();
    assert_eq!(reopened.state(), live.state());
    assert_eq!(reopened.log().len(), live.log().len());
    live.self_check().unwrap();
    reopened.self_check().unwrap();
}

#[test]
fn replay_to_a_point_gives_the_state_at_that_point() {
    let j = journal_with_history(memories());
    // Events 0..3: Init, RoleGranted, TargetRegistered; event 3 starts the drill.
    let before_drill = replay(j.log(), 3).unwrap();
    assert_eq!(before_drill.targets.len(), 1);
    assert!(before_drill.drills.is_empty());
    let all = replay(j.log(), u64::MAX).unwrap();
    assert_eq!(&all, j.state());
}

#[test]
fn a_duplicate_idempotency_key_records_nothing_and_returns_the_original() {
    let mut j = journal_with_history(memories());
    let len = j.log().len();
    let op = principal(OPERATOR);
    let ctx = RecordContext::new(op, "retry").with_key(Some(b"key-1".to_vec()));
    let ev = command::start_drill(
        j.state(),
        &op,
        principal(VAULT),
        ScenarioKind::BadUpgrade,
        DrillOptions::default(),
    )
    .unwrap();
    let first = j
        .record_all(T0.plus(DurationNs::from_secs(100)), &ctx, ev.clone())
        .unwrap();
    assert!(matches!(first[0], Recorded::Appended { .. }));
    let again = j
        .record_all(T0.plus(DurationNs::from_secs(101)), &ctx, ev)
        .unwrap();
    assert_eq!(
        again[0],
        Recorded::Duplicate {
            seq: first[0].seq()
        }
    );
    assert_eq!(j.log().len(), len + 1);
    assert_eq!(j.state().running_drills().count(), 1);
}

#[test]
fn a_log_that_does_not_start_with_init_is_refused() {
    let mem = memories();
    {
        let mut j = Journal::open(clone_memories(&mem), LogConfig::default()).unwrap();
        j.record(
            T0,
            &RecordContext::new(principal(ADMIN), "x"),
            Event::RoleRevoked {
                principal: principal(ADMIN),
            },
        )
        .unwrap();
    }
    let err = Journal::open(clone_memories(&mem), LogConfig::default())
        .err()
        .expect("must refuse");
    assert!(err.to_string().contains("Init"), "{err}");
}

#[test]
fn every_event_round_trips_through_its_encoding() {
    let j = journal_with_history(memories());
    for env in j.log().read(0, 1_000) {
        let (_, event) = chaos_manager::journal::decode_envelope(&env).unwrap();
        assert_eq!(
            event.encode(),
            env.payload,
            "event {} re-encodes identically",
            env.seq
        );
    }
}
