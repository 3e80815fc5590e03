use super::*;
use proptest::prelude::*;

const NOW: u64 = 1_700_000_000_000_000_000;

fn me() -> Principal {
    Principal::from_slice(&[7; 10])
}

fn vault() -> Principal {
    Principal::from_slice(&[8; 10])
}

fn probe(operation_count: u64, total_supply: u64) -> VaultProbe {
    VaultProbe {
        operation_count,
        state_hash: ByteBuf::from(vec![operation_count as u8; 32]),
        total_supply,
    }
}

fn reads(before: VaultProbe, total_supply: u64, watched: Option<u64>, after: VaultProbe) -> Reads {
    Reads {
        before,
        total_supply,
        watched_balance: watched,
        after,
    }
}

fn settings() -> Settings {
    Settings {
        vault: Some(vault()),
        ..Settings::default()
    }
}

fn is_byzantine(r: Result<Observation, ConsumerError>, needle: &str) {
    match r {
        Err(ConsumerError::InconsistentAnswer(m)) => assert!(m.contains(needle), "{m}"),
        other => panic!("expected InconsistentAnswer({needle}), got {other:?}"),
    }
}

#[test]
fn settings_are_validated() {
    validate_settings(&settings(), me()).unwrap();
    validate_settings(&Settings::default(), me()).unwrap();
    let bad = |s: Settings| validate_settings(&s, me()).unwrap_err();
    for vault in [
        Principal::anonymous(),
        Principal::management_canister(),
        me(),
    ] {
        assert!(matches!(
            bad(Settings {
                vault: Some(vault),
                ..settings()
            }),
            ConsumerError::InvalidSettings(_)
        ));
    }
    for interval in [1, 4, 86_401] {
        bad(Settings {
            refresh_interval_s: interval,
            ..settings()
        });
    }
    for staleness in [0, MAX_STALENESS_S + 1] {
        bad(Settings {
            max_staleness_s: staleness,
            ..settings()
        });
    }
}

#[test]
fn honest_answers_of_an_unchanged_vault_are_verified() {
    let r = reads(probe(5, 100), 100, Some(40), probe(5, 100));
    let o = assess(&r, None, NOW).unwrap();
    assert!(o.verified);
    assert_eq!(
        (o.total_supply, o.vault_operation_count, o.watched_balance),
        (100, 5, Some(40))
    );
}

#[test]
fn a_supply_that_contradicts_the_probe_is_byzantine() {
    is_byzantine(
        assess(&reads(probe(5, 100), 101, None, probe(5, 100)), None, NOW),
        "total_supply answered 101 but chaos_state_probe reports 100",
    );
}

#[test]
fn a_balance_above_the_supply_is_byzantine() {
    is_byzantine(
        assess(
            &reads(probe(5, 100), 100, Some(150), probe(5, 100)),
            None,
            NOW,
        ),
        "above the total supply",
    );
}

#[test]
fn an_unchanged_vault_that_changes_its_answer_is_byzantine() {
    let first = assess(
        &reads(probe(5, 100), 100, Some(40), probe(5, 100)),
        None,
        NOW,
    )
    .unwrap();
    is_byzantine(
        assess(
            &reads(probe(5, 100), 100, Some(39), probe(5, 100)),
            Some(&first),
            NOW + 1,
        ),
        "yet balance_of answered",
    );
    // A vault that moved on may answer differently.
    assess(
        &reads(probe(6, 100), 100, Some(39), probe(6, 100)),
        Some(&first),
        NOW + 1,
    )
    .unwrap();
}

#[test]
fn a_vault_that_changed_during_the_reading_is_accepted_unverified() {
    let o = assess(&reads(probe(5, 100), 777, None, probe(6, 110)), None, NOW).unwrap();
    assert!(!o.verified);
    assert_eq!(o.vault_operation_count, 6);
}

#[test]
fn health_follows_successes_failures_and_staleness() {
    let s = settings();
    let mut r = Record::default();
    let h = r.health(&s, NOW);
    assert!(!h.ok && h.stale, "never refreshed");

    let good = assess(&reads(probe(1, 10), 10, None, probe(1, 10)), None, NOW).unwrap();
    r.record(NOW, &Ok(good));
    let h = r.health(&s, NOW);
    assert!(h.ok && !h.stale);
    assert_eq!((h.refreshes, h.last_observed_supply), (1, Some(10)));

    let failed = Err(ConsumerError::VaultCallFailed {
        method: "total_supply".into(),
        reject_code: Some(4),
        message: "chaos_hooks: injected reject".into(),
    });
    r.record(NOW + 1, &failed);
    r.record(NOW + 2, &failed);
    let h = r.health(&s, NOW + 2);
    assert!(!h.ok);
    assert_eq!((h.consecutive_failures, h.failures), (2, 2));
    assert_eq!(h.last_observed_supply, Some(10), "the cache is kept");
    assert!(h
        .last_error
        .unwrap()
        .contains("total_supply rejected with code 4"));

    r.record(NOW + 3, &Err(ConsumerError::InconsistentAnswer("x".into())));
    assert_eq!(r.health(&s, NOW + 3).byzantine_detections, 1);

    let again = assess(&reads(probe(2, 12), 12, None, probe(2, 12)), None, NOW + 4).unwrap();
    r.record(NOW + 4, &Ok(again));
    assert!(r.health(&s, NOW + 4).ok);
    let late = NOW + 4 + s.max_staleness_s * 1_000_000_000 + 1;
    let h = r.health(&s, late);
    assert!(!h.ok && h.stale);
    assert!(
        !r.health(&Settings::default(), NOW + 4).ok,
        "unconfigured is never ok"
    );
}

#[test]
fn the_probe_hash_changes_with_the_observation_only() {
    let mut r = Record::default();
    assert_eq!(r.state_hash().as_slice(), &[0u8; 32]);
    let o = assess(&reads(probe(1, 10), 10, None, probe(1, 10)), None, NOW).unwrap();
    r.record(NOW, &Ok(o.clone()));
    let h1 = r.state_hash();
    let mut later = o.clone();
    later.at_ns += 5;
    r.record(NOW + 5, &Ok(later));
    assert_eq!(r.state_hash(), h1, "time is not state");
    let mut other = o;
    other.total_supply = 11;
    r.record(NOW + 6, &Ok(other));
    assert_ne!(r.state_hash(), h1);
}

#[test]
fn long_errors_are_cut_at_a_character_boundary() {
    let s = "é".repeat(MAX_ERROR_LEN);
    let cut = truncate(s, MAX_ERROR_LEN + 1);
    assert!(cut.len() <= MAX_ERROR_LEN + 1);
    assert!(cut.chars().all(|c| c == 'é'));
}

proptest! {
    /// Whatever the answers, an unchanged vault's reading is accepted only if the supply matches
    /// the probe and the balance fits in it.
    #[test]
    fn accepted_verified_readings_are_consistent(
        supply in 0..1_000u64, answered in 0..1_000u64, balance in proptest::option::of(0..1_000u64),
    ) {
        let r = reads(probe(3, supply), answered, balance, probe(3, supply));
        if let Ok(o) = assess(&r, None, NOW) {
            prop_assert!(o.verified);
            prop_assert_eq!(o.total_supply, supply);
            prop_assert!(balance.is_none_or(|b| b <= supply));
        }
    }
}
