//! Scenarios for the vault core, then a model-based property test against a `std` map.

use super::*;
use ic_stable_structures::VectorMemory;
use proptest::prelude::*;
use std::collections::{BTreeMap, HashMap};

type TestVault = Vault<VectorMemory>;

const T0: TimestampNs = 1_700_000_000_000_000_000;

fn vault() -> TestVault {
    Vault::new_in_heap()
}

fn user(n: u8) -> Principal {
    Principal::self_authenticating([n; 32])
}

fn alice() -> Principal {
    user(1)
}

fn bob() -> Principal {
    user(2)
}

fn receipt(operation_index: u64, balance: u64) -> Result<OperationReceipt, VaultError> {
    Ok(OperationReceipt {
        operation_index,
        balance,
    })
}

/// Given a vault where alice deposited `amount` (operation 1).
fn funded(amount: u64) -> TestVault {
    let mut v = vault();
    assert_eq!(v.deposit(alice(), amount, None, T0), receipt(1, amount));
    v
}

/// Asserts `result` is `err` and that the refused call changed nothing observable.
fn assert_refused(
    v: &mut TestVault,
    err: VaultError,
    call: impl FnOnce(&mut TestVault) -> Result<OperationReceipt, VaultError>,
) {
    let before = (v.probe(), v.stored_idempotency_keys());
    assert_eq!(call(v), Err(err));
    assert_eq!((v.probe(), v.stored_idempotency_keys()), before);
    v.check_invariants()
        .expect("invariants after a refused call");
}

// ── deposits, withdrawals, transfers ────────────────────────────────────────────────────────

#[test]
fn deposits_credit_the_caller_and_the_total_supply() {
    let mut v = funded(100);
    assert_eq!(v.deposit(alice(), 50, None, T0), receipt(2, 150));
    assert_eq!(v.deposit(bob(), 7, None, T0), receipt(3, 7));
    assert_eq!((v.balance_of(&alice()), v.balance_of(&bob())), (150, 7));
    assert_eq!(v.total_supply(), 157);
    assert_eq!(v.operation_count(), 3);
    assert_eq!(v.account_count(), 2);
    v.check_invariants().unwrap();
}

#[test]
fn withdrawing_everything_closes_the_account() {
    let mut v = funded(100);
    assert_eq!(v.withdraw(alice(), 40, None, T0), receipt(2, 60));
    assert_eq!(v.total_supply(), 60);
    assert_eq!(v.withdraw(alice(), 60, None, T0), receipt(3, 0));
    assert_eq!((v.total_supply(), v.account_count()), (0, 0));
    assert_eq!(
        v.fingerprint(),
        [0; 32],
        "an empty vault has the zero fingerprint"
    );
    assert_refused(&mut v, VaultError::UnknownAccount, |v| {
        v.withdraw(alice(), 1, None, T0)
    });
    v.check_invariants().unwrap();
}

#[test]
fn transfer_moves_funds_and_creates_the_recipient_account() {
    let mut v = funded(100);
    assert_eq!(v.transfer(alice(), bob(), 30, None, T0), receipt(2, 70));
    assert_eq!((v.balance_of(&alice()), v.balance_of(&bob())), (70, 30));
    assert_eq!(
        v.total_supply(),
        100,
        "a transfer does not change the supply"
    );
    assert_eq!(v.transfer(bob(), alice(), 30, None, T0), receipt(3, 0));
    assert_eq!(v.account_count(), 1, "bob's emptied account is gone");
    v.check_invariants().unwrap();
}

// ── every error path ────────────────────────────────────────────────────────────────────────

#[test]
fn anonymous_caller_may_not_move_funds() {
    let anon = Principal::anonymous();
    let mut v = funded(10);
    assert_refused(&mut v, VaultError::AnonymousCaller, |v| {
        v.deposit(anon, 1, None, T0)
    });
    assert_refused(&mut v, VaultError::AnonymousCaller, |v| {
        v.withdraw(anon, 1, None, T0)
    });
    assert_refused(&mut v, VaultError::AnonymousCaller, |v| {
        v.transfer(anon, alice(), 1, None, T0)
    });
}

#[test]
fn zero_amounts_are_refused() {
    let mut v = funded(10);
    assert_refused(&mut v, VaultError::ZeroAmount, |v| {
        v.deposit(alice(), 0, None, T0)
    });
    assert_refused(&mut v, VaultError::ZeroAmount, |v| {
        v.withdraw(alice(), 0, None, T0)
    });
    assert_refused(&mut v, VaultError::ZeroAmount, |v| {
        v.transfer(alice(), bob(), 0, None, T0)
    });
}

#[test]
fn spending_more_than_the_balance_reports_the_balance() {
    let mut v = funded(10);
    let err = VaultError::InsufficientFunds { balance: 10 };
    assert_refused(&mut v, err.clone(), |v| v.withdraw(alice(), 11, None, T0));
    assert_refused(&mut v, err, |v| v.transfer(alice(), bob(), 11, None, T0));
}

#[test]
fn spending_from_an_account_that_never_existed_is_unknown() {
    let mut v = funded(10);
    assert_refused(&mut v, VaultError::UnknownAccount, |v| {
        v.withdraw(bob(), 1, None, T0)
    });
    assert_refused(&mut v, VaultError::UnknownAccount, |v| {
        v.transfer(bob(), alice(), 1, None, T0)
    });
}

#[test]
fn overflows_are_typed_errors_not_traps() {
    let mut v = funded(u64::MAX);
    assert_refused(&mut v, VaultError::Overflow, |v| {
        v.deposit(alice(), 1, None, T0)
    });
    assert_refused(&mut v, VaultError::Overflow, |v| {
        v.deposit(bob(), 1, None, T0)
    });
    v.check_invariants().unwrap();
}

#[test]
fn transfers_to_self_or_to_anonymous_are_refused() {
    let mut v = funded(10);
    assert_refused(&mut v, VaultError::SelfTransfer, |v| {
        v.transfer(alice(), alice(), 1, None, T0)
    });
    assert_refused(&mut v, VaultError::AnonymousRecipient, |v| {
        v.transfer(alice(), Principal::anonymous(), 1, None, T0)
    });
}

#[test]
fn idempotency_keys_must_be_1_to_32_bytes() {
    let mut v = funded(10);
    let err = VaultError::InvalidIdempotencyKey { max_length: 32 };
    assert_refused(&mut v, err.clone(), |v| {
        v.deposit(alice(), 1, Some(&[]), T0)
    });
    assert_refused(&mut v, err, |v| v.deposit(alice(), 1, Some(&[7; 33]), T0));
    assert_eq!(v.deposit(alice(), 1, Some(&[7; 32]), T0), receipt(2, 11));
}

#[test]
fn the_idempotency_key_cap_refuses_new_keys_but_not_keyless_calls() {
    let mut v = funded(10).with_idempotency_key_limit(2);
    v.deposit(alice(), 1, Some(b"a"), T0).unwrap();
    v.deposit(alice(), 1, Some(b"b"), T0).unwrap();
    let full = VaultError::TooManyIdempotencyKeys { limit: 2 };
    assert_refused(&mut v, full, |v| v.deposit(alice(), 1, Some(b"c"), T0));
    assert_eq!(v.deposit(alice(), 1, None, T0), receipt(4, 13));
    let later = T0 + IDEMPOTENCY_WINDOW_NS;
    assert_eq!(
        v.deposit(alice(), 1, Some(b"c"), later),
        receipt(5, 14),
        "expired keys free room"
    );
}

// ── idempotency ─────────────────────────────────────────────────────────────────────────────

#[test]
fn a_retried_call_is_reported_as_duplicate_and_not_applied_twice() {
    let mut v = vault();
    assert_eq!(v.deposit(alice(), 5, Some(b"k1"), T0), receipt(1, 5));
    let dup = VaultError::Duplicate { operation_index: 1 };
    assert_refused(&mut v, dup.clone(), |v| {
        v.deposit(alice(), 5, Some(b"k1"), T0 + 1)
    });
    // The key is per caller, not per method: reusing it for another operation is a duplicate.
    assert_refused(&mut v, dup, |v| v.withdraw(alice(), 1, Some(b"k1"), T0 + 2));
    assert_eq!(
        v.deposit(bob(), 5, Some(b"k1"), T0),
        receipt(2, 5),
        "keys are per caller"
    );
}

#[test]
fn a_duplicate_is_detected_even_when_the_retry_would_now_fail() {
    let mut v = funded(10);
    assert_eq!(v.withdraw(alice(), 10, Some(b"w"), T0), receipt(2, 0));
    // Dedup runs before the state checks: the retry learns the withdraw landed.
    let dup = VaultError::Duplicate { operation_index: 2 };
    assert_refused(&mut v, dup, |v| v.withdraw(alice(), 10, Some(b"w"), T0));
}

#[test]
fn a_refused_call_does_not_burn_its_key() {
    let mut v = vault();
    assert_refused(&mut v, VaultError::UnknownAccount, |v| {
        v.withdraw(alice(), 5, Some(b"k"), T0)
    });
    v.deposit(alice(), 5, None, T0).unwrap();
    assert_eq!(v.withdraw(alice(), 5, Some(b"k"), T0), receipt(2, 0));
}

#[test]
fn keys_are_live_for_exactly_the_24_hour_window() {
    let mut v = vault();
    v.deposit(alice(), 1, Some(b"k"), T0).unwrap();
    let last_live = T0 + IDEMPOTENCY_WINDOW_NS - 1;
    let dup = VaultError::Duplicate { operation_index: 1 };
    assert_refused(&mut v, dup, |v| {
        v.deposit(alice(), 1, Some(b"k"), last_live)
    });
    let expired = T0 + IDEMPOTENCY_WINDOW_NS;
    assert_eq!(v.deposit(alice(), 1, Some(b"k"), expired), receipt(2, 2));
    let dup = VaultError::Duplicate { operation_index: 2 };
    assert_refused(&mut v, dup, |v| {
        v.deposit(alice(), 1, Some(b"k"), expired + 1)
    });
    assert_eq!(v.stored_idempotency_keys(), 1);
    v.check_invariants().unwrap();
}

#[test]
fn expired_keys_are_pruned_in_bounded_steps() {
    let mut v = vault();
    for i in 0..10u8 {
        v.deposit(alice(), 1, Some(&[i]), T0).unwrap();
    }
    assert_eq!(v.stored_idempotency_keys(), 10);
    let later = T0 + IDEMPOTENCY_WINDOW_NS;
    v.deposit(alice(), 1, None, later).unwrap();
    assert_eq!(v.stored_idempotency_keys(), 10 - PRUNE_BATCH as u64);
    // Even a refused call prunes: pruning does not depend on the operation applying.
    let _ = v.withdraw(bob(), 1, None, later);
    assert_eq!(v.stored_idempotency_keys(), 10 - 2 * PRUNE_BATCH as u64);
    let _ = v.withdraw(bob(), 1, None, later);
    assert_eq!(v.stored_idempotency_keys(), 0);
    v.check_invariants().unwrap();
}

// ── fingerprint, probe, invariants, persistence ─────────────────────────────────────────────

#[test]
fn equal_balances_give_equal_fingerprints_whatever_the_history() {
    let mut direct = vault();
    direct.deposit(alice(), 70, None, T0).unwrap();
    direct.deposit(bob(), 30, None, T0).unwrap();

    let mut winding = vault();
    winding.deposit(bob(), 500, None, T0).unwrap();
    winding.transfer(bob(), alice(), 100, None, T0).unwrap();
    winding.withdraw(bob(), 370, None, T0).unwrap();
    winding.transfer(alice(), user(3), 30, None, T0).unwrap();
    winding.transfer(user(3), alice(), 30, None, T0).unwrap();
    winding.withdraw(alice(), 30, None, T0).unwrap();

    assert_eq!(direct.fingerprint(), winding.fingerprint());
    assert_ne!(direct.operation_count(), winding.operation_count());
}

#[test]
fn any_balance_change_changes_the_fingerprint_and_undoing_it_restores_it() {
    let mut v = funded(100);
    let before = v.fingerprint();
    v.transfer(alice(), bob(), 1, None, T0).unwrap();
    let after_transfer = v.fingerprint();
    assert_ne!(after_transfer, before, "even a supply-preserving transfer");
    v.transfer(bob(), alice(), 1, None, T0).unwrap();
    assert_eq!(v.fingerprint(), before);
}

#[test]
fn the_probe_reports_what_a_drill_compares() {
    let mut v = funded(100);
    v.transfer(alice(), bob(), 40, None, T0).unwrap();
    let probe = v.probe();
    assert_eq!(probe.operation_count, 2);
    assert_eq!(probe.state_hash.as_slice(), v.fingerprint().as_slice());
    assert_eq!((probe.total_supply, probe.account_count), (100, 2));
}

#[test]
fn state_survives_reloading_the_same_memory_as_after_an_upgrade() {
    let memory = VectorMemory::default();
    let mut v = Vault::init_in(memory.clone());
    v.deposit(alice(), 100, Some(b"k"), T0).unwrap();
    v.transfer(alice(), bob(), 25, None, T0).unwrap();
    let probe = v.probe();
    drop(v);

    let mut reloaded = Vault::init_in(memory);
    assert_eq!(reloaded.probe(), probe);
    assert_eq!(reloaded.balance_of(&bob()), 25);
    let dup = VaultError::Duplicate { operation_index: 1 };
    assert_eq!(reloaded.deposit(alice(), 100, Some(b"k"), T0), Err(dup));
    reloaded.check_invariants().unwrap();
}

#[test]
fn check_invariants_detects_a_corrupted_balance() {
    let mut v = funded(100);
    v.corrupt_balance_for_test(alice(), 99);
    let err = v.check_invariants().unwrap_err();
    assert_eq!(
        err,
        InvariantViolation::SupplyMismatch {
            sum_of_balances: 99,
            total_supply: 100
        }
    );
    assert!(err.to_string().contains("restore from a snapshot"));
}

#[test]
fn check_invariants_detects_a_balance_swap_that_keeps_the_sum() {
    let mut v = funded(100);
    v.deposit(bob(), 50, None, T0).unwrap();
    v.corrupt_balance_for_test(alice(), 50);
    v.corrupt_balance_for_test(bob(), 100);
    assert!(matches!(
        v.check_invariants(),
        Err(InvariantViolation::FingerprintMismatch { .. })
    ));
}

#[test]
fn check_invariants_detects_a_stored_zero_balance() {
    let mut v = funded(100);
    v.corrupt_balance_for_test(bob(), 0);
    assert_eq!(
        v.check_invariants(),
        Err(InvariantViolation::ZeroBalanceStored { account: bob() })
    );
}

// ── model-based property test ───────────────────────────────────────────────────────────────

/// The reference: plain maps and `u128` arithmetic, written from the rules in the module docs.
#[derive(Default)]
struct Model {
    balances: BTreeMap<Principal, u64>,
    total_supply: u64,
    operation_count: u64,
    keys: HashMap<(Principal, Vec<u8>), (TimestampNs, u64)>,
}

impl Model {
    fn apply(
        &mut self,
        caller: Principal,
        op: Operation,
        key: Option<&[u8]>,
        now: TimestampNs,
    ) -> Result<OperationReceipt, VaultError> {
        use VaultError::*;
        if caller == Principal::anonymous() {
            return Err(AnonymousCaller);
        }
        if matches!(key, Some(k) if k.is_empty() || k.len() > 32) {
            return Err(InvalidIdempotencyKey { max_length: 32 });
        }
        if op.amount() == 0 {
            return Err(ZeroAmount);
        }
        if let Operation::Transfer { to, .. } = op {
            if to == caller {
                return Err(SelfTransfer);
            }
            if to == Principal::anonymous() {
                return Err(AnonymousRecipient);
            }
        }
        let key = key.map(|k| (caller, k.to_vec()));
        if let Some(&(created, index)) = key.as_ref().and_then(|k| self.keys.get(k)) {
            if (now as u128) < created as u128 + IDEMPOTENCY_WINDOW_NS as u128 {
                return Err(Duplicate {
                    operation_index: index,
                });
            }
        }
        let bal = |m: &Self, p: &Principal| m.balances.get(p).copied().unwrap_or(0) as u128;
        let fits = |x: u128| x <= u64::MAX as u128;
        let mut new_balances = Vec::new();
        match op {
            Operation::Deposit { amount } => {
                let (b, t) = (
                    bal(self, &caller) + amount as u128,
                    self.total_supply as u128,
                );
                if !fits(b) || !fits(t + amount as u128) {
                    return Err(Overflow);
                }
                new_balances.push((caller, b));
                self.total_supply += amount;
            }
            Operation::Withdraw { amount } | Operation::Transfer { amount, .. } => {
                let Some(&from) = self.balances.get(&caller) else {
                    return Err(UnknownAccount);
                };
                if from < amount {
                    return Err(InsufficientFunds { balance: from });
                }
                new_balances.push((caller, (from - amount) as u128));
                match op {
                    Operation::Transfer { to, .. } => {
                        let b = bal(self, &to) + amount as u128;
                        if !fits(b) {
                            return Err(Overflow);
                        }
                        new_balances.push((to, b));
                    }
                    _ => self.total_supply -= amount,
                }
            }
        }
        for &(p, b) in &new_balances {
            if b == 0 {
                self.balances.remove(&p);
            } else {
                self.balances.insert(p, b as u64);
            }
        }
        self.operation_count += 1;
        if let Some(k) = key {
            self.keys.insert(k, (now, self.operation_count));
        }
        Ok(OperationReceipt {
            operation_index: self.operation_count,
            balance: new_balances[0].1 as u64,
        })
    }
}

#[derive(Clone, Debug)]
enum Step {
    Call {
        who: u8,
        op: Operation,
        key: Option<Vec<u8>>,
    },
    Advance {
        ns: u64,
    },
}

/// Index 0 is the anonymous principal; 1..=3 are users.
fn principal(i: u8) -> Principal {
    if i == 0 {
        Principal::anonymous()
    } else {
        user(i)
    }
}

fn amount() -> impl Strategy<Value = u64> {
    prop_oneof![
        3 => 0..=3u64,
        4 => 1..=1_000u64,
        1 => (u64::MAX - 3)..=u64::MAX,
    ]
}

fn step() -> impl Strategy<Value = Step> {
    let key = prop::option::weighted(
        0.4,
        prop_oneof![
            8 => prop::collection::vec(0..3u8, 1..=2),
            1 => prop::collection::vec(any::<u8>(), 0..=34),
        ],
    );
    let op = prop_oneof![
        amount().prop_map(|amount| Operation::Deposit { amount }),
        amount().prop_map(|amount| Operation::Withdraw { amount }),
        (0..4u8, amount()).prop_map(|(to, amount)| Operation::Transfer {
            to: principal(to),
            amount
        }),
    ];
    prop_oneof![
        8 => (0..4u8, op, key).prop_map(|(who, op, key)| Step::Call { who, op, key }),
        1 => prop_oneof![
            Just(1u64),
            Just(IDEMPOTENCY_WINDOW_NS - 1),
            Just(IDEMPOTENCY_WINDOW_NS),
            0..1_000_000_000u64,
        ]
        .prop_map(|ns| Step::Advance { ns }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The vault agrees with the model on every result and every observable after every step,
    /// its invariants hold after every step, and its fingerprint equals that of a fresh vault
    /// holding the same balances (history independence).
    #[test]
    fn vault_matches_the_model(steps in prop::collection::vec(step(), 1..80)) {
        let (mut v, mut model, mut now) = (vault(), Model::default(), T0);
        for step in steps {
            match step {
                Step::Advance { ns } => now += ns,
                Step::Call { who, op, key } => {
                    let caller = principal(who);
                    let expected = model.apply(caller, op, key.as_deref(), now);
                    prop_assert_eq!(v.execute(caller, op, key.as_deref(), now), expected);
                }
            }
            prop_assert_eq!(v.total_supply(), model.total_supply);
            prop_assert_eq!(v.operation_count(), model.operation_count);
            prop_assert_eq!(v.account_count(), model.balances.len() as u64);
            for i in 0..4 {
                let p = principal(i);
                prop_assert_eq!(v.balance_of(&p), model.balances.get(&p).copied().unwrap_or(0));
            }
            if let Err(e) = v.check_invariants() {
                prop_assert!(false, "invariant broken: {}", e);
            }
        }
        let mut fresh = vault();
        for (p, b) in &model.balances {
            fresh.deposit(*p, *b, None, T0).unwrap();
        }
        prop_assert_eq!(v.fingerprint(), fresh.fingerprint());
    }
}
