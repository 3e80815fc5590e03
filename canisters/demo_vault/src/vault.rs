//! The vault's pure core: balances, total supply, operation counter, fingerprint and idempotency
//! keys, over any [`Memory`]. No ic-cdk: time comes in as `now_ns` and the caller as a
//! [`Principal`], so the canister shell and native simulators drive the same code.
//!
//! Guarantees (checked by [`Vault::check_invariants`] and the tests):
//! - the sum of the balances equals the total supply, which equals deposits − withdrawals;
//! - only non-zero balances are stored: an account whose balance reaches 0 disappears, and a
//!   later withdraw or transfer from it is [`VaultError::UnknownAccount`];
//! - an operation either applies entirely (balances, total supply, fingerprint, counter and
//!   idempotency key together) or returns an error and changes none of them; it never traps on
//!   bad input, and all arithmetic is checked;
//! - the operation counter counts applied deposits, withdrawals and transfers;
//! - every operation costs O(log accounts + log keys) stable-memory work, including the
//!   fingerprint update and at most [`PRUNE_BATCH`] expired idempotency keys pruned.
//!
//! Idempotency: a key (1..=[`MAX_IDEMPOTENCY_KEY_LEN`] bytes) is scoped to its caller and shared
//! by all three methods. It is recorded only when the operation applies. Reusing it within
//! [`IDEMPOTENCY_WINDOW_NS`] of that first use returns [`VaultError::Duplicate`] with the
//! original operation index and applies nothing (ICRC-1 style: the retry learns the first call
//! landed, and a key reused with different arguments cannot be mistaken for success). A refused
//! operation records no key, so retrying it is evaluated afresh. After the window the key is
//! free again. At most [`MAX_LIVE_IDEMPOTENCY_KEYS`] keys are stored; each mutating call first
//! prunes up to [`PRUNE_BATCH`] expired keys, oldest first.

use crate::api::{OperationReceipt, StateProbe, VaultError};
use crate::fingerprint::{Fingerprint, FINGERPRINT_LEN};
pub use crate::storage::MAX_IDEMPOTENCY_KEY_LEN;
use crate::storage::{DedupEntry, DedupKey, ExpiryKey, Meta, VaultMemories};
use candid::Principal;
use ic_stable_structures::memory_manager::{MemoryManager, VirtualMemory};
use ic_stable_structures::{Memory, StableBTreeMap, StableCell, VectorMemory};
use serde_bytes::ByteBuf;
use std::fmt;

/// Nanoseconds since the Unix epoch (IC time).
pub type TimestampNs = u64;
/// A duration in nanoseconds.
pub type DurationNs = u64;

/// How long an idempotency key stays live after its first applied use: 24 h.
pub const IDEMPOTENCY_WINDOW_NS: DurationNs = 24 * 60 * 60 * 1_000_000_000;
/// Most idempotency keys stored at once (live or expired-but-not-yet-pruned).
pub const MAX_LIVE_IDEMPOTENCY_KEYS: u64 = 1_000_000;
/// Most expired keys pruned by one mutating call. Each call adds at most one key, so a backlog
/// shrinks by at least `PRUNE_BATCH - 1` per call.
pub const PRUNE_BATCH: usize = 4;
/// Most accounts [`Vault::check_invariants`] scans. The scan is O(accounts): about 30K
/// instructions per account (one stable B-tree step and one SHA-256), so 50,000 accounts stay
/// well under the 5B-instruction query limit. Above it the check reports that it cannot run.
pub const MAX_INVARIANT_SCAN_ACCOUNTS: u64 = 50_000;

/// The account [`Vault::corrupt_balances`] invents when the vault has none.
pub const PHANTOM_ACCOUNT: Principal = Principal::from_slice(b"chaos_hooks/phantom");

/// A state change requested by a caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    /// Credit the caller (the demo mints: no asset moves in).
    Deposit { amount: u64 },
    /// Debit the caller (the demo burns: no asset moves out).
    Withdraw { amount: u64 },
    /// Move `amount` from the caller to `to`, creating `to`'s account if needed.
    Transfer { to: Principal, amount: u64 },
}

impl Operation {
    fn amount(&self) -> u64 {
        match *self {
            Operation::Deposit { amount }
            | Operation::Withdraw { amount }
            | Operation::Transfer { amount, .. } => amount,
        }
    }
}

/// A broken invariant, as found by [`Vault::check_invariants`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InvariantViolation {
    /// Too many accounts to scan in one message; the check did not run.
    TooManyAccounts { accounts: u64, limit: u64 },
    /// A zero balance is stored (only non-zero balances may be).
    ZeroBalanceStored { account: Principal },
    /// The balances add up to more than `u64::MAX`.
    BalanceSumOverflow,
    /// Σ balances ≠ total supply.
    SupplyMismatch {
        sum_of_balances: u64,
        total_supply: u64,
    },
    /// The stored fingerprint differs from the one recomputed from the balances.
    FingerprintMismatch {
        stored: [u8; FINGERPRINT_LEN],
        recomputed: [u8; FINGERPRINT_LEN],
    },
    /// The idempotency key map and its expiry index have different sizes.
    DedupIndexMismatch { keys: u64, expiry_entries: u64 },
}

impl fmt::Display for InvariantViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooManyAccounts { accounts, limit } => write!(
                f,
                "not checked: {accounts} accounts exceed the {limit}-account scan bound of one query"
            ),
            Self::ZeroBalanceStored { account } => {
                write!(f, "account {account} is stored with a zero balance")
            }
            Self::BalanceSumOverflow => write!(f, "the balances add up to more than 2^64 - 1"),
            Self::SupplyMismatch { sum_of_balances, total_supply } => write!(
                f,
                "sum of balances {sum_of_balances} != total supply {total_supply}: state is \
                 corrupt, restore from a snapshot"
            ),
            Self::FingerprintMismatch { stored, recomputed } => write!(
                f,
                "stored fingerprint {} != recomputed {}: state is corrupt, restore from a snapshot",
                hex::encode(stored),
                hex::encode(recomputed)
            ),
            Self::DedupIndexMismatch { keys, expiry_entries } => write!(
                f,
                "{keys} idempotency keys but {expiry_entries} expiry entries: dedup index is corrupt"
            ),
        }
    }
}

/// The vault over four memories (see [`crate::storage`]).
pub struct Vault<M: Memory> {
    balances: StableBTreeMap<Principal, u64, M>,
    meta: StableCell<Meta, M>,
    dedup_keys: StableBTreeMap<DedupKey, DedupEntry, M>,
    dedup_expiry: StableBTreeMap<ExpiryKey, (), M>,
    max_idempotency_keys: u64,
}

/// The balance changes an operation will make, computed before anything is written.
struct Plan {
    /// `(account, old balance, new balance)`; at most two, never the same account twice.
    changes: Vec<(Principal, u64, u64)>,
    total_supply: u64,
    operation_index: u64,
    caller_balance: u64,
}

impl<M: Memory + Clone> Vault<VirtualMemory<M>> {
    /// Loads the vault from `memory` with the canonical [`crate::storage`] layout, or creates an
    /// empty one if `memory` is empty. Natively: `Vault::init_in(VectorMemory::default())`.
    ///
    /// # Panics
    /// If `memory` holds an incompatible layout (see [`Meta`]).
    pub fn init_in(memory: M) -> Self {
        Self::init(VaultMemories::from_manager(&MemoryManager::init(memory)))
    }
}

impl Vault<VectorMemory> {
    /// An empty vault over four heap memories and no `MemoryManager` (whose 8 MiB buckets would
    /// cost a native simulator about 32 MiB per vault). To snapshot such a vault natively, build
    /// the [`VaultMemories`] yourself, keep clones of them and copy their bytes.
    pub fn new_in_heap() -> Self {
        Self::init(VaultMemories {
            balances: VectorMemory::default(),
            meta: VectorMemory::default(),
            dedup_keys: VectorMemory::default(),
            dedup_expiry: VectorMemory::default(),
        })
    }
}

impl<M: Memory> Vault<M> {
    /// Loads the vault from `memories`, or creates an empty one in memories that are empty.
    ///
    /// # Panics
    /// If the memories hold an incompatible layout (see [`Meta`]).
    pub fn init(memories: VaultMemories<M>) -> Self {
        Self {
            balances: StableBTreeMap::init(memories.balances),
            meta: StableCell::init(memories.meta, Meta::default()),
            dedup_keys: StableBTreeMap::init(memories.dedup_keys),
            dedup_expiry: StableBTreeMap::init(memories.dedup_expiry),
            max_idempotency_keys: MAX_LIVE_IDEMPOTENCY_KEYS,
        }
    }

    /// Lowers (or raises) the cap on stored idempotency keys from [`MAX_LIVE_IDEMPOTENCY_KEYS`];
    /// for simulators and tests that exercise the cap. Not persisted.
    pub fn with_idempotency_key_limit(mut self, limit: u64) -> Self {
        self.max_idempotency_keys = limit;
        self
    }

    /// Credits `caller` with `amount`.
    pub fn deposit(
        &mut self,
        caller: Principal,
        amount: u64,
        idempotency_key: Option<&[u8]>,
        now_ns: TimestampNs,
    ) -> Result<OperationReceipt, VaultError> {
        self.execute(
            caller,
            Operation::Deposit { amount },
            idempotency_key,
            now_ns,
        )
    }

    /// Debits `caller` by `amount`.
    pub fn withdraw(
        &mut self,
        caller: Principal,
        amount: u64,
        idempotency_key: Option<&[u8]>,
        now_ns: TimestampNs,
    ) -> Result<OperationReceipt, VaultError> {
        self.execute(
            caller,
            Operation::Withdraw { amount },
            idempotency_key,
            now_ns,
        )
    }

    /// Moves `amount` from `caller` to `to`.
    pub fn transfer(
        &mut self,
        caller: Principal,
        to: Principal,
        amount: u64,
        idempotency_key: Option<&[u8]>,
        now_ns: TimestampNs,
    ) -> Result<OperationReceipt, VaultError> {
        self.execute(
            caller,
            Operation::Transfer { to, amount },
            idempotency_key,
            now_ns,
        )
    }

    /// The one mutation path: prune expired keys, validate, deduplicate, plan, commit.
    pub fn execute(
        &mut self,
        caller: Principal,
        op: Operation,
        idempotency_key: Option<&[u8]>,
        now_ns: TimestampNs,
    ) -> Result<OperationReceipt, VaultError> {
        self.prune_expired_keys(now_ns, PRUNE_BATCH);
        validate(&caller, &op, idempotency_key)?;
        let dedup_key = idempotency_key.map(|k| DedupKey::new(&caller, k));
        if let Some(key) = &dedup_key {
            self.check_key_available(key, now_ns)?;
        }
        let plan = self.plan(caller, op)?;
        Ok(self.commit(plan, dedup_key, now_ns))
    }

    /// Balance of `account`; 0 for an account that does not exist.
    pub fn balance_of(&self, account: &Principal) -> u64 {
        self.balances.get(account).unwrap_or(0)
    }

    /// Deposits − withdrawals.
    pub fn total_supply(&self) -> u64 {
        self.meta.get().total_supply
    }

    /// Applied operations so far.
    pub fn operation_count(&self) -> u64 {
        self.meta.get().operation_count
    }

    /// Accounts with a non-zero balance.
    pub fn account_count(&self) -> u64 {
        self.balances.len()
    }

    /// Idempotency keys stored (live, or expired and not yet pruned).
    pub fn stored_idempotency_keys(&self) -> u64 {
        self.dedup_keys.len()
    }

    /// The balances' multiset hash: equal balances ⇒ equal fingerprint, whatever the history.
    pub fn fingerprint(&self) -> [u8; FINGERPRINT_LEN] {
        self.meta.get().fingerprint.to_bytes()
    }

    /// The drill probe; O(1).
    pub fn probe(&self) -> StateProbe {
        StateProbe {
            operation_count: self.operation_count(),
            state_hash: ByteBuf::from(self.fingerprint().to_vec()),
            total_supply: self.total_supply(),
            account_count: self.account_count(),
        }
    }

    /// Recomputes Σ balances and the fingerprint from the stored balances and compares them with
    /// the stored total supply and fingerprint. O(accounts), refused above
    /// [`MAX_INVARIANT_SCAN_ACCOUNTS`] accounts (see there for the instruction bound).
    pub fn check_invariants(&self) -> Result<(), InvariantViolation> {
        let accounts = self.balances.len();
        if accounts > MAX_INVARIANT_SCAN_ACCOUNTS {
            return Err(InvariantViolation::TooManyAccounts {
                accounts,
                limit: MAX_INVARIANT_SCAN_ACCOUNTS,
            });
        }
        let mut sum: u64 = 0;
        let mut recomputed = Fingerprint::default();
        for entry in self.balances.iter() {
            let (account, balance) = entry.into_pair();
            if balance == 0 {
                return Err(InvariantViolation::ZeroBalanceStored { account });
            }
            sum = sum
                .checked_add(balance)
                .ok_or(InvariantViolation::BalanceSumOverflow)?;
            recomputed.add(&account, balance);
        }
        let meta = self.meta.get();
        if sum != meta.total_supply {
            return Err(InvariantViolation::SupplyMismatch {
                sum_of_balances: sum,
                total_supply: meta.total_supply,
            });
        }
        if recomputed != meta.fingerprint {
            return Err(InvariantViolation::FingerprintMismatch {
                stored: meta.fingerprint.to_bytes(),
                recomputed: recomputed.to_bytes(),
            });
        }
        let (keys, expiry_entries) = (self.dedup_keys.len(), self.dedup_expiry.len());
        if keys != expiry_entries {
            return Err(InvariantViolation::DedupIndexMismatch {
                keys,
                expiry_entries,
            });
        }
        Ok(())
    }

    /// Removes up to `max` keys whose window has passed, oldest first.
    fn prune_expired_keys(&mut self, now_ns: TimestampNs, max: usize) {
        for _ in 0..max {
            let Some((oldest, ())) = self.dedup_expiry.first_key_value() else {
                return;
            };
            if is_live(oldest.created_at_ns, now_ns) {
                return;
            }
            self.dedup_expiry.remove(&oldest);
            if self
                .dedup_keys
                .get(&oldest.key)
                .is_some_and(|e| e.created_at_ns == oldest.created_at_ns)
            {
                self.dedup_keys.remove(&oldest.key);
            }
        }
    }

    fn check_key_available(&self, key: &DedupKey, now_ns: TimestampNs) -> Result<(), VaultError> {
        match self.dedup_keys.get(key) {
            Some(entry) if is_live(entry.created_at_ns, now_ns) => Err(VaultError::Duplicate {
                operation_index: entry.operation_index,
            }),
            // An expired entry is overwritten on commit, so it does not add to the count.
            Some(_) => Ok(()),
            None if self.dedup_keys.len() >= self.max_idempotency_keys => {
                Err(VaultError::TooManyIdempotencyKeys {
                    limit: self.max_idempotency_keys,
                })
            }
            None => Ok(()),
        }
    }

    /// Computes every change with checked arithmetic; writes nothing.
    fn plan(&self, caller: Principal, op: Operation) -> Result<Plan, VaultError> {
        let meta = self.meta.get();
        let operation_index = meta
            .operation_count
            .checked_add(1)
            .ok_or(VaultError::Overflow)?;
        let (changes, total_supply) = match op {
            Operation::Deposit { amount } => {
                let old = self.balance_of(&caller);
                let new = old.checked_add(amount).ok_or(VaultError::Overflow)?;
                let total = meta
                    .total_supply
                    .checked_add(amount)
                    .ok_or(VaultError::Overflow)?;
                (vec![(caller, old, new)], total)
            }
            Operation::Withdraw { amount } => {
                let old = self.debit_source(&caller, amount)?;
                let total = meta
                    .total_supply
                    .checked_sub(amount)
                    .ok_or(VaultError::Overflow)?;
                (vec![(caller, old, old - amount)], total)
            }
            Operation::Transfer { to, amount } => {
                let old = self.debit_source(&caller, amount)?;
                let to_old = self.balance_of(&to);
                let to_new = to_old.checked_add(amount).ok_or(VaultError::Overflow)?;
                let changes = vec![(caller, old, old - amount), (to, to_old, to_new)];
                (changes, meta.total_supply)
            }
        };
        Ok(Plan {
            caller_balance: changes[0].2,
            changes,
            total_supply,
            operation_index,
        })
    }

    /// The balance of `account`, if it exists and holds at least `amount`.
    fn debit_source(&self, account: &Principal, amount: u64) -> Result<u64, VaultError> {
        let balance = self
            .balances
            .get(account)
            .ok_or(VaultError::UnknownAccount)?;
        if balance < amount {
            return Err(VaultError::InsufficientFunds { balance });
        }
        Ok(balance)
    }

    /// Writes a plan; infallible, so an operation never half-applies.
    fn commit(
        &mut self,
        plan: Plan,
        dedup_key: Option<DedupKey>,
        now_ns: TimestampNs,
    ) -> OperationReceipt {
        let mut meta = *self.meta.get();
        for (account, old, new) in plan.changes {
            if old > 0 {
                meta.fingerprint.remove(&account, old);
            }
            if new > 0 {
                meta.fingerprint.add(&account, new);
                self.balances.insert(account, new);
            } else {
                self.balances.remove(&account);
            }
        }
        meta.total_supply = plan.total_supply;
        meta.operation_count = plan.operation_index;
        self.meta.set(meta);
        if let Some(key) = dedup_key {
            self.record_key(key, plan.operation_index, now_ns);
        }
        OperationReceipt {
            operation_index: plan.operation_index,
            balance: plan.caller_balance,
        }
    }

    fn record_key(&mut self, key: DedupKey, operation_index: u64, now_ns: TimestampNs) {
        let entry = DedupEntry {
            created_at_ns: now_ns,
            operation_index,
        };
        if let Some(expired) = self.dedup_keys.insert(key.clone(), entry) {
            self.dedup_expiry.remove(&ExpiryKey {
                created_at_ns: expired.created_at_ns,
                key: key.clone(),
            });
        }
        self.dedup_expiry.insert(
            ExpiryKey {
                created_at_ns: now_ns,
                key,
            },
            (),
        );
    }

    /// Data corruption for chaos experiments (the hooks' `Corrupt` fault): adds one unit to
    /// the balances of the first `accounts` accounts in key order (or creates
    /// [`PHANTOM_ACCOUNT`] when the vault is empty) without updating the total supply, the
    /// fingerprint or the counter, exactly what [`Vault::check_invariants`] exists to catch.
    /// Returns `(account, old balance, new balance)` per change. Never traps: a balance at
    /// `u64::MAX` loses a unit instead. O(`accounts`).
    pub fn corrupt_balances(&mut self, accounts: u32) -> Vec<(Principal, u64, u64)> {
        let mut targets: Vec<(Principal, u64)> = self
            .balances
            .iter()
            .take(accounts as usize)
            .map(|e| e.into_pair())
            .collect();
        if targets.is_empty() {
            targets.push((PHANTOM_ACCOUNT, 0));
        }
        targets
            .into_iter()
            .map(|(account, old)| {
                let new = old.checked_add(1).unwrap_or(u64::MAX - 1);
                self.balances.insert(account, new);
                (account, old, new)
            })
            .collect()
    }

    #[cfg(test)]
    fn corrupt_balance_for_test(&mut self, account: Principal, balance: u64) {
        self.balances.insert(account, balance);
    }
}

/// Checks that depend only on the request, never on state: an operation refused here was refused
/// the first time too, so it can never be a duplicate.
fn validate(caller: &Principal, op: &Operation, key: Option<&[u8]>) -> Result<(), VaultError> {
    if *caller == Principal::anonymous() {
        return Err(VaultError::AnonymousCaller);
    }
    if key.is_some_and(|k| k.is_empty() || k.len() > MAX_IDEMPOTENCY_KEY_LEN) {
        return Err(VaultError::InvalidIdempotencyKey {
            max_length: MAX_IDEMPOTENCY_KEY_LEN as u64,
        });
    }
    if op.amount() == 0 {
        return Err(VaultError::ZeroAmount);
    }
    if let Operation::Transfer { to, .. } = op {
        if to == caller {
            return Err(VaultError::SelfTransfer);
        }
        if *to == Principal::anonymous() {
            return Err(VaultError::AnonymousRecipient);
        }
    }
    Ok(())
}

/// A key first used at `created_at_ns` is live until `created_at_ns + IDEMPOTENCY_WINDOW_NS`
/// (exclusive). A clock that reads earlier than `created_at_ns` keeps it live.
fn is_live(created_at_ns: TimestampNs, now_ns: TimestampNs) -> bool {
    now_ns.saturating_sub(created_at_ns) < IDEMPOTENCY_WINDOW_NS
}

#[cfg(test)]
mod tests;
