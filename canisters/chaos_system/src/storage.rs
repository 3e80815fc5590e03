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

/// Runs `f` on the journal, then writes one structured log line (JSON, with the correlation
/// id) per event it recorded to the canister log (`dfx canister logs`).
pub fn mutate<R>(f: impl FnOnce(&mut Journal<Memory>) -> R) -> R {
    JOURNAL.with(|j| {
        let mut guard = j.borrow_mut();
        let journal = guard.as_mut().expect("journal opened in init/post_upgrade");
        let before = journal.log().len();
        let r = f(journal);
        let after = journal.log().len();
        for env in journal.log().read(before, (after - before) as usize) {
            ic_cdk::api::debug_print(log_line(&env));
        }
        r
    })
}

/// `{"seq":..,"time_ns":..,"kind":"..","caller":"..","correlation_id":".."}`
fn log_line(env: &event_log::Envelope) -> String {
    let caller = candid::Principal::try_from_slice(&env.caller)
        .map(|p| p.to_text())
        .unwrap_or_default();
    format!(
        "{{\"seq\":{},\"time_ns\":{},\"kind\":{},\"caller\":{},\"correlation_id\":{}}}",
        env.seq,
        env.time_ns,
        json_string(&env.kind),
        json_string(&caller),
        json_string(&env.correlation_id)
    )
}

fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn log_lines_are_json_with_escaped_strings() {
        let env = event_log::Envelope {
            seq: 7,
            time_ns: 42,
            kind: "drill_started".into(),
            payload: vec![],
            caller: candid::Principal::anonymous().as_slice().to_vec(),
            correlation_id: "start_drill:\"x\"\n".into(),
            idempotency_key: None,
            prev_hash: [0; 32],
            hash: [0; 32],
        };
        let line = super::log_line(&env);
        assert_eq!(
            line,
            r#"{"seq":7,"time_ns":42,"kind":"drill_started","caller":"2vxsx-fae","correlation_id":"start_drill:\"x\"\u000a"}"#
        );
    }
}
