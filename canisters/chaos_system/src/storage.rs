//! Stable memory of chaos_system. The event log is the only persistent state; everything else
//! is rebuilt from it in `post_upgrade`.
//!
//! ```text
//! stable memory ── MemoryManager
//!   MemoryId 0  event log index   (StableLog index: entry offsets)
//!   MemoryId 1  event log data    (StableLog data: versioned, hash-chained envelopes)
//!   MemoryId 2  dedup keys        (StableBTreeMap: sha256(idempotency key) -> (seq, time))
//!   MemoryId 3  dedup expiry      (StableBTreeMap: (time, key hash) -> (), pruned in bounded steps)
//!   MemoryId 4..=254 unused; never reuse a retired id
//! ```

use chaos_manager::journal::Journal;
use event_log::{LogConfig, LogMemories};
use ic_stable_structures::memory_manager::{MemoryId, MemoryManager, VirtualMemory};
use ic_stable_structures::DefaultMemoryImpl;
use std::cell::RefCell;

pub type Memory = VirtualMemory<DefaultMemoryImpl>;

const LOG_INDEX: MemoryId = MemoryId::new(0);
const LOG_DATA: MemoryId = MemoryId::new(1);
const DEDUP_KEYS: MemoryId = MemoryId::new(2);
const DEDUP_EXPIRY: MemoryId = MemoryId::new(3);

thread_local! {
    static MEMORY_MANAGER: MemoryManager<DefaultMemoryImpl> =
        MemoryManager::init(DefaultMemoryImpl::default());
    static JOURNAL: RefCell<Option<Journal<Memory>>> = const { RefCell::new(None) };
}

fn memories() -> LogMemories<Memory> {
    MEMORY_MANAGER.with(|m| LogMemories {
        log_index: m.get(LOG_INDEX),
        log_data: m.get(LOG_DATA),
        dedup_keys: m.get(DEDUP_KEYS),
        dedup_expiry: m.get(DEDUP_EXPIRY),
    })
}

/// Opens the log and replays it into the state. Traps if the log cannot be read: installing
/// code that cannot read the existing log must fail rather than start from an empty state.
pub fn open(config: LogConfig) {
    let journal = Journal::open(memories(), config)
        .unwrap_or_else(|e| ic_cdk::trap(format!("chaos_system: {e}")));
    JOURNAL.with(|j| *j.borrow_mut() = Some(journal));
}

pub fn read<R>(f: impl FnOnce(&Journal<Memory>) -> R) -> R {
    JOURNAL.with(|j| {
        f(j.borrow()
            .as_ref()
            .expect("journal opened in init/post_upgrade"))
    })
}

pub fn mutate<R>(f: impl FnOnce(&mut Journal<Memory>) -> R) -> R {
    JOURNAL.with(|j| {
        f(j.borrow_mut()
            .as_mut()
            .expect("journal opened in init/post_upgrade"))
    })
}
