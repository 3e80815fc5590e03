//! Candid boundary types of `candid/demo_vault.did`. The core returns these directly: they are
//! small, and the stable encoding lives separately in [`crate::storage`], so the API and the
//! layout still evolve independently.

use candid::{CandidType, Deserialize, Principal};
use serde_bytes::ByteBuf;

/// Argument of `deposit` and `withdraw`.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct AmountArgs {
    /// Vault units; must be non-zero.
    pub amount: u64,
    /// 1..=32 bytes, scoped to the caller; see [`crate::vault`] for the 24 h window.
    pub idempotency_key: Option<ByteBuf>,
}

/// Argument of `transfer`.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct TransferArgs {
    /// Recipient; must differ from the caller and must not be anonymous.
    pub to: Principal,
    /// Vault units; must be non-zero.
    pub amount: u64,
    /// As in [`AmountArgs::idempotency_key`].
    pub idempotency_key: Option<ByteBuf>,
}

impl AmountArgs {
    pub fn key(&self) -> Option<&[u8]> {
        self.idempotency_key.as_ref().map(|k| k.as_slice())
    }
}

impl TransferArgs {
    pub fn key(&self) -> Option<&[u8]> {
        self.idempotency_key.as_ref().map(|k| k.as_slice())
    }
}

/// Result of an applied operation.
#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct OperationReceipt {
    /// The vault's operation count right after this operation: 1 for the first ever.
    pub operation_index: u64,
    /// The caller's balance right after this operation.
    pub balance: u64,
}

/// Why an operation was refused. A refused operation changes no balance and no counter.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum VaultError {
    /// `amount` was 0: send a positive amount.
    ZeroAmount,
    /// The caller holds less than `amount`; `balance` is what it holds now.
    InsufficientFunds { balance: u64 },
    /// The caller has no account (never funded, or its balance reached 0): deposit first.
    UnknownAccount,
    /// The result would not fit in `nat64` (a balance or the total supply).
    Overflow,
    /// `to` is the caller.
    SelfTransfer,
    /// The anonymous principal may not deposit, withdraw or transfer: call with an identity.
    AnonymousCaller,
    /// `to` is the anonymous principal, who could never withdraw the funds.
    AnonymousRecipient,
    /// The caller already used this idempotency key within the window; the operation was
    /// applied once, as `operation_index`, and is not applied again.
    Duplicate { operation_index: u64 },
    /// The idempotency key was empty or longer than `max_length` bytes.
    InvalidIdempotencyKey { max_length: u64 },
    /// `limit` idempotency keys are live; retry later, or without a key.
    TooManyIdempotencyKeys { limit: u64 },
}

/// What a disaster-recovery drill compares before and after a recovery.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct StateProbe {
    /// Operations applied so far; RPO = operations lost = before − after.
    pub operation_count: u64,
    /// 32-byte multiset hash of the non-zero balances ([`crate::fingerprint`]).
    pub state_hash: ByteBuf,
    pub total_supply: u64,
    /// Accounts with a non-zero balance.
    pub account_count: u64,
}
