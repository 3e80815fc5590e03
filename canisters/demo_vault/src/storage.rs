//! Stable-memory layout of the vault. Every byte of state lives here, so the canister survives
//! upgrades with no `pre_upgrade`/`post_upgrade` serialization.
//!
//! ```text
//! stable memory ── MemoryManager (ic-stable-structures 0.7)
//!   ├─ MemoryId 0  BALANCES      StableBTreeMap<Principal, u64>     non-zero balances only
//!   ├─ MemoryId 1  META          StableCell<Meta>                   layout version, operation
//!   │                                                               count, total supply, fingerprint
//!   ├─ MemoryId 2  DEDUP_KEYS    StableBTreeMap<DedupKey, DedupEntry>  (caller, idempotency key)
//!   │                                                               → first use time, operation index
//!   ├─ MemoryId 3  DEDUP_EXPIRY  StableBTreeMap<ExpiryKey, ()>      the same keys ordered by first
//!   │                                                               use time, for pruning
//!   └─ MemoryId 4  CHAOS_HOOKS_CONFIG  StableCell (crates/chaos_hooks)  the configured
//!                                                                   chaos_system principal only;
//!                                                                   fault state is heap-only
//!   MemoryIds 5..=254: free. Retired ids (never reuse): none yet.
//! ```
//!
//! Nothing here depends on ic-cdk: the same layout runs over `DefaultMemoryImpl` in the canister
//! and over `VectorMemory` natively.

use crate::fingerprint::{Fingerprint, FINGERPRINT_LEN};
use candid::Principal;
use ic_stable_structures::memory_manager::{MemoryId, MemoryManager, VirtualMemory};
use ic_stable_structures::storable::Bound;
use ic_stable_structures::{Memory, Storable};
use std::borrow::Cow;

/// Balances by account; an account whose balance reaches zero is removed.
pub const BALANCES: MemoryId = MemoryId::new(0);
/// The [`Meta`] cell.
pub const META: MemoryId = MemoryId::new(1);
/// Live idempotency keys.
pub const DEDUP_KEYS: MemoryId = MemoryId::new(2);
/// Expiry index of the idempotency keys.
pub const DEDUP_EXPIRY: MemoryId = MemoryId::new(3);

/// The chaos hooks' configuration cell, owned by `chaos_hooks::canister` (not by the vault).
pub const CHAOS_HOOKS_CONFIG: MemoryId = MemoryId::new(4);

/// The memories a [`crate::vault::Vault`] is built over, one per structure.
pub struct VaultMemories<M: Memory> {
    pub balances: M,
    pub meta: M,
    pub dedup_keys: M,
    pub dedup_expiry: M,
}

impl<M: Memory + Clone> VaultMemories<VirtualMemory<M>> {
    /// The canonical layout above, carved out of `manager`.
    pub fn from_manager(manager: &MemoryManager<M>) -> Self {
        Self {
            balances: manager.get(BALANCES),
            meta: manager.get(META),
            dedup_keys: manager.get(DEDUP_KEYS),
            dedup_expiry: manager.get(DEDUP_EXPIRY),
        }
    }
}

/// Version of the [`Meta`] encoding; bump it with a migration, never reinterpret old bytes.
pub const META_LAYOUT_VERSION: u8 = 1;
const META_LEN: usize = 1 + 8 + 8 + FINGERPRINT_LEN;

/// Vault-wide counters, rewritten (49 bytes) by every successful operation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Meta {
    /// Successful deposits, withdrawals and transfers applied so far.
    pub operation_count: u64,
    /// Deposits minus withdrawals; equals the sum of balances.
    pub total_supply: u64,
    /// Multiset hash of the balances (see [`crate::fingerprint`]).
    pub fingerprint: Fingerprint,
}

impl Storable for Meta {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Owned(self.into_bytes())
    }

    fn into_bytes(self) -> Vec<u8> {
        let mut out = Vec::with_capacity(META_LEN);
        out.push(META_LAYOUT_VERSION);
        out.extend_from_slice(&self.operation_count.to_le_bytes());
        out.extend_from_slice(&self.total_supply.to_le_bytes());
        out.extend_from_slice(&self.fingerprint.to_bytes());
        out
    }

    /// # Panics
    /// On an unknown layout version or length. In the canister this traps the message that
    /// loads the state (`init`/`post_upgrade`), so an incompatible upgrade is rolled back
    /// instead of misreading the vault.
    fn from_bytes(bytes: Cow<[u8]>) -> Self {
        assert!(
            bytes.len() == META_LEN && bytes[0] == META_LAYOUT_VERSION,
            "demo_vault: unsupported META layout (version {:?}, {} bytes); install a build that \
             knows this layout",
            bytes.first(),
            bytes.len()
        );
        let mut fingerprint = [0u8; FINGERPRINT_LEN];
        fingerprint.copy_from_slice(&bytes[17..META_LEN]);
        Self {
            operation_count: u64_le(&bytes[1..9]),
            total_supply: u64_le(&bytes[9..17]),
            fingerprint: Fingerprint::from_bytes(&fingerprint),
        }
    }

    const BOUND: Bound = Bound::Bounded {
        max_size: META_LEN as u32,
        is_fixed_size: true,
    };
}

/// Maximum length of an idempotency key in bytes.
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 32;
const MAX_DEDUP_KEY_LEN: usize = 1 + Principal::MAX_LENGTH_IN_BYTES + MAX_IDEMPOTENCY_KEY_LEN;

/// An idempotency key scoped to its caller: `[len(caller)] || caller || key`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct DedupKey(Vec<u8>);

impl DedupKey {
    /// `key` must be at most [`MAX_IDEMPOTENCY_KEY_LEN`] bytes (the vault validates it first).
    pub fn new(caller: &Principal, key: &[u8]) -> Self {
        debug_assert!(key.len() <= MAX_IDEMPOTENCY_KEY_LEN);
        let caller = caller.as_slice();
        let mut bytes = Vec::with_capacity(1 + caller.len() + key.len());
        bytes.push(caller.len() as u8);
        bytes.extend_from_slice(caller);
        bytes.extend_from_slice(key);
        Self(bytes)
    }
}

impl Storable for DedupKey {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.0)
    }

    fn into_bytes(self) -> Vec<u8> {
        self.0
    }

    fn from_bytes(bytes: Cow<[u8]>) -> Self {
        Self(bytes.into_owned())
    }

    const BOUND: Bound = Bound::Bounded {
        max_size: MAX_DEDUP_KEY_LEN as u32,
        is_fixed_size: false,
    };
}

/// What a live idempotency key remembers about the operation that first used it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DedupEntry {
    /// Time of the first (applied) use, in nanoseconds since the epoch.
    pub created_at_ns: u64,
    /// The operation index that use was given.
    pub operation_index: u64,
}

impl Storable for DedupEntry {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Owned(self.into_bytes())
    }

    fn into_bytes(self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16);
        out.extend_from_slice(&self.created_at_ns.to_le_bytes());
        out.extend_from_slice(&self.operation_index.to_le_bytes());
        out
    }

    fn from_bytes(bytes: Cow<[u8]>) -> Self {
        Self {
            created_at_ns: u64_le(&bytes[0..8]),
            operation_index: u64_le(&bytes[8..16]),
        }
    }

    const BOUND: Bound = Bound::Bounded {
        max_size: 16,
        is_fixed_size: true,
    };
}

/// Orders idempotency keys by first use time (then key), so the oldest is first.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ExpiryKey {
    pub created_at_ns: u64,
    pub key: DedupKey,
}

impl Storable for ExpiryKey {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Owned(self.clone().into_bytes())
    }

    fn into_bytes(self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 + self.key.0.len());
        out.extend_from_slice(&self.created_at_ns.to_be_bytes());
        out.extend_from_slice(&self.key.0);
        out
    }

    fn from_bytes(bytes: Cow<[u8]>) -> Self {
        let mut be = [0u8; 8];
        be.copy_from_slice(&bytes[0..8]);
        Self {
            created_at_ns: u64::from_be_bytes(be),
            key: DedupKey(bytes[8..].to_vec()),
        }
    }

    const BOUND: Bound = Bound::Bounded {
        max_size: (8 + MAX_DEDUP_KEY_LEN) as u32,
        is_fixed_size: false,
    };
}

fn u64_le(bytes: &[u8]) -> u64 {
    let mut le = [0u8; 8];
    le.copy_from_slice(bytes);
    u64::from_le_bytes(le)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<T: Storable + Clone + PartialEq + std::fmt::Debug>(value: T) {
        let bytes = value.to_bytes().into_owned();
        assert_eq!(bytes, value.clone().into_bytes());
        assert_eq!(T::from_bytes(Cow::Owned(bytes)), value);
    }

    #[test]
    fn encodings_round_trip() {
        let mut fingerprint = Fingerprint::default();
        fingerprint.add(&Principal::anonymous(), 3);
        round_trip(Meta {
            operation_count: 7,
            total_supply: u64::MAX,
            fingerprint,
        });
        let key = DedupKey::new(&Principal::self_authenticating([9; 32]), &[0xAB; 32]);
        round_trip(DedupEntry {
            created_at_ns: 1,
            operation_index: 2,
        });
        round_trip(ExpiryKey {
            created_at_ns: 42,
            key: key.clone(),
        });
        round_trip(key);
    }

    #[test]
    fn longest_keys_fit_their_bounds() {
        let longest = DedupKey::new(
            &Principal::from_slice(&[1; Principal::MAX_LENGTH_IN_BYTES]),
            &[2; MAX_IDEMPOTENCY_KEY_LEN],
        );
        DedupKey::check_bounds(&longest.to_bytes());
        ExpiryKey::check_bounds(
            &ExpiryKey {
                created_at_ns: u64::MAX,
                key: longest,
            }
            .to_bytes(),
        );
    }

    #[test]
    fn keys_of_different_callers_never_alias() {
        // Without the length prefix, ([1,2], [3]) and ([1], [2,3]) would encode alike.
        let a = DedupKey::new(&Principal::from_slice(&[1, 2]), &[3]);
        let b = DedupKey::new(&Principal::from_slice(&[1]), &[2, 3]);
        assert_ne!(a, b);
    }

    #[test]
    #[should_panic(expected = "unsupported META layout")]
    fn unknown_meta_version_is_refused() {
        let mut bytes = Meta::default().into_bytes();
        bytes[0] = META_LAYOUT_VERSION + 1;
        Meta::from_bytes(Cow::Owned(bytes));
    }

    #[test]
    fn expiry_order_is_time_order() {
        let k = DedupKey::new(&Principal::anonymous(), b"k");
        let early = ExpiryKey {
            created_at_ns: 1,
            key: k.clone(),
        };
        let late = ExpiryKey {
            created_at_ns: 256,
            key: k,
        };
        assert!(early < late);
    }
}
