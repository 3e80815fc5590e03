//! Stable-memory layout of the consumer. Everything it must keep across upgrades lives here; the
//! in-flight refresh flag and the timer are heap-only (re-armed in `post_upgrade`).
//!
//! ```text
//! stable memory ── MemoryManager (ic-stable-structures 0.7)
//!   ├─ MemoryId 0  SETTINGS            StableCell<Versioned<Settings>>   the configuration
//!   ├─ MemoryId 1  RECORD              StableCell<Versioned<Record>>     health counters and the
//!   │                                                                    cached observation
//!   └─ MemoryId 2  CHAOS_HOOKS_CONFIG  StableCell (crates/chaos_hooks)   chaos_system principal
//!   MemoryIds 3..=254: free. Retired ids (never reuse): none yet.
//! ```
//!
//! Encoding: one version byte, then Candid. Candid records take added `opt` fields, so the
//! layout can grow without a migration; a new version byte means a migration is due.

use crate::api::Settings;
use crate::observe::Record;
use candid::{CandidType, Deserialize};
use ic_stable_structures::memory_manager::{MemoryId, MemoryManager, VirtualMemory};
use ic_stable_structures::storable::Bound;
use ic_stable_structures::{DefaultMemoryImpl, StableCell, Storable};
use std::borrow::Cow;
use std::cell::RefCell;

pub const SETTINGS: MemoryId = MemoryId::new(0);
pub const RECORD: MemoryId = MemoryId::new(1);
pub const CHAOS_HOOKS_CONFIG: MemoryId = MemoryId::new(2);

/// Version of the [`Versioned`] encoding.
pub const LAYOUT_VERSION: u8 = 1;

/// `[LAYOUT_VERSION] || candid(T)`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Versioned<T>(pub T);

impl<T: CandidType + for<'de> Deserialize<'de> + Clone> Storable for Versioned<T> {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Owned(self.clone().into_bytes())
    }

    fn into_bytes(self) -> Vec<u8> {
        let mut out = vec![LAYOUT_VERSION];
        // Encoding our own plain records cannot fail.
        out.extend(candid::encode_one(&self.0).expect("candid encoding of consumer state"));
        out
    }

    /// # Panics
    /// On an unknown version or undecodable bytes: in `post_upgrade` this rolls the upgrade
    /// back instead of running on state it misreads.
    fn from_bytes(bytes: Cow<[u8]>) -> Self {
        match bytes.split_first() {
            Some((&LAYOUT_VERSION, rest)) => Self(
                candid::decode_one(rest)
                    .unwrap_or_else(|e| panic!("vault_consumer: undecodable stable state: {e}")),
            ),
            other => panic!(
                "vault_consumer: unsupported layout version {:?}; install a build that knows it",
                other.map(|(v, _)| v)
            ),
        }
    }

    const BOUND: Bound = Bound::Unbounded;
}

type Memory = VirtualMemory<DefaultMemoryImpl>;

thread_local! {
    static MEMORY_MANAGER: MemoryManager<DefaultMemoryImpl> =
        MemoryManager::init(DefaultMemoryImpl::default());
    static SETTINGS_CELL: RefCell<StableCell<Versioned<Settings>, Memory>> = RefCell::new(
        StableCell::init(memory(SETTINGS), Versioned(Settings::default())),
    );
    static RECORD_CELL: RefCell<StableCell<Versioned<Record>, Memory>> = RefCell::new(
        StableCell::init(memory(RECORD), Versioned(Record::default())),
    );
}

pub fn memory(id: MemoryId) -> Memory {
    MEMORY_MANAGER.with(|mm| mm.get(id))
}

pub fn settings() -> Settings {
    SETTINGS_CELL.with_borrow(|c| c.get().0.clone())
}

pub fn set_settings(s: Settings) {
    SETTINGS_CELL.with_borrow_mut(|c| {
        c.set(Versioned(s));
    });
}

pub fn read_record<R>(f: impl FnOnce(&Record) -> R) -> R {
    RECORD_CELL.with_borrow(|c| f(&c.get().0))
}

/// The one write path of the record: read, change, write back.
pub fn mutate_record<R>(f: impl FnOnce(&mut Record) -> R) -> R {
    RECORD_CELL.with_borrow_mut(|c| {
        let mut record = c.get().0.clone();
        let r = f(&mut record);
        c.set(Versioned(record));
        r
    })
}

/// Loads both cells (and so checks their layout); call in `init` and `post_upgrade`.
pub fn load() {
    SETTINGS_CELL.with_borrow(|_| ());
    RECORD_CELL.with_borrow(|_| ());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versioned_state_round_trips() {
        let s = Versioned(Settings {
            refresh_interval_s: 30,
            ..Settings::default()
        });
        assert_eq!(Versioned::<Settings>::from_bytes(s.to_bytes()), s);
        let r = Versioned(Record {
            refreshes: 3,
            last_error: Some("x".into()),
            ..Record::default()
        });
        assert_eq!(Versioned::<Record>::from_bytes(r.to_bytes()), r);
    }

    #[test]
    #[should_panic(expected = "unsupported layout version")]
    fn an_unknown_version_is_refused() {
        let mut bytes = Versioned(Settings::default()).into_bytes();
        bytes[0] = LAYOUT_VERSION + 1;
        Versioned::<Settings>::from_bytes(Cow::Owned(bytes));
    }
}
