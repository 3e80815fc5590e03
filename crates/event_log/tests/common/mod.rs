//! Fixtures shared by the integration tests.
#![allow(dead_code)] // each test binary uses a different subset

use event_log::{AppendOutcome, EventLog, LogConfig, LogMemories, NewEvent};
use ic_stable_structures::{Memory, VectorMemory};
use std::cell::Cell;
use std::rc::Rc;

pub const SEC: u64 = 1_000_000_000;
/// Header bytes of the StableLog data memory before entry 0.
pub const DATA_HEADER: usize = 32;

pub fn memories() -> LogMemories<VectorMemory> {
    LogMemories {
        log_index: VectorMemory::default(),
        log_data: VectorMemory::default(),
        dedup_keys: VectorMemory::default(),
        dedup_expiry: VectorMemory::default(),
    }
}

pub fn appended(seq: u64, time_ns: u64) -> AppendOutcome {
    AppendOutcome::Appended { seq, time_ns }
}

pub fn log_with(n: u64) -> (LogMemories<VectorMemory>, EventLog<VectorMemory>) {
    let mem = memories();
    let mut log = open(&mem);
    for i in 0..n {
        log.append(i * SEC, event(&format!("e{i}"))).unwrap();
    }
    (mem, log)
}

/// Opens (or reopens) the log over shared handles to `mem`.
pub fn open(mem: &LogMemories<VectorMemory>) -> EventLog<VectorMemory> {
    open_with(mem, LogConfig::default())
}

pub fn open_with(mem: &LogMemories<VectorMemory>, config: LogConfig) -> EventLog<VectorMemory> {
    EventLog::init(mem.clone(), config).expect("memories open")
}

pub fn config(window_ns: u64, max_prune: u32) -> LogConfig {
    LogConfig {
        dedup_window_ns: window_ns,
        max_prune_per_append: max_prune,
    }
}

pub fn event(kind: &str) -> NewEvent {
    NewEvent {
        kind: kind.into(),
        payload: kind.as_bytes().to_vec(),
        caller: vec![1, 2, 3],
        correlation_id: format!("corr-{kind}"),
        idempotency_key: None,
    }
}

pub fn keyed(kind: &str, key: &[u8]) -> NewEvent {
    NewEvent {
        idempotency_key: Some(key.to_vec()),
        ..event(kind)
    }
}

/// Copy of every byte of a memory, to prove a refused `init` wrote nothing.
pub fn snapshot(mem: &VectorMemory) -> Vec<u8> {
    mem.borrow().clone()
}

pub fn xor_byte(mem: &VectorMemory, offset: usize, mask: u8) {
    mem.borrow_mut()[offset] ^= mask;
}

/// A memory that refuses to grow beyond a limit the test can change.
#[derive(Clone, Default)]
pub struct LimitedMemory {
    pub inner: VectorMemory,
    pub max_pages: Rc<Cell<Option<u64>>>,
}

impl Memory for LimitedMemory {
    fn size(&self) -> u64 {
        self.inner.size()
    }

    fn grow(&self, pages: u64) -> i64 {
        match self.max_pages.get() {
            Some(max) if self.inner.size() + pages > max => -1,
            _ => self.inner.grow(pages),
        }
    }

    fn read(&self, offset: u64, dst: &mut [u8]) {
        self.inner.read(offset, dst)
    }

    fn write(&self, offset: u64, src: &[u8]) {
        self.inner.write(offset, src)
    }
}
