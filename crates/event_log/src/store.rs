//! [`EventLog`]: opening, appending and reading. Verification lives in `chain.rs`.

use crate::dedup::{hash_key, DedupIndex, DedupRecord};
use crate::envelope::{peek_time_ns, Envelope, NewEvent, GENESIS_PREV_HASH};
use crate::error::{AppendError, OpenError};
use crate::layout::{btree_len, check_log, Contents};
use crate::{AppendOutcome, LogConfig, LogMemories, MAX_BATCH_EVENTS};
use ic_stable_structures::log::WriteError;
use ic_stable_structures::{Memory, StableLog};

/// The event log. See the crate docs for guarantees and memory layout.
pub struct EventLog<M: Memory> {
    pub(crate) log: StableLog<Vec<u8>, M, M>,
    dedup: DedupIndex<M>,
    config: LogConfig,
    /// Stored hash of the last entry, or [`GENESIS_PREV_HASH`].
    tip_hash: [u8; 32],
    /// Recorded time of the last entry, or 0.
    last_time_ns: u64,
}

impl<M: Memory> EventLog<M> {
    /// Opens the log held in `mem`, or creates an empty one if all four memories are fresh.
    ///
    /// Reads the four memory headers and the last entry: O(1) in the log length (debug builds
    /// of ic-stable-structures also validate the whole index). Never overwrites data: memories
    /// that hold anything else, a newer layout, or a log whose last entry does not decode are
    /// refused with [`OpenError::Incompatible`].
    pub fn init(mem: LogMemories<M>, config: LogConfig) -> Result<Self, OpenError> {
        // Every check reads only; structures are created after the last check that can fail.
        let log_contents = check_log(&mem.log_index, &mem.log_data)?;
        let keys = btree_len(&mem.dedup_keys, "dedup_keys")?;
        let expiry = btree_len(&mem.dedup_expiry, "dedup_expiry")?;
        if keys != expiry {
            return Err(OpenError::Incompatible(format!(
                "dedup_keys holds {keys} keys but dedup_expiry holds {expiry}: the two memories \
                 are swapped, shared with another structure, or damaged"
            )));
        }
        let orphan_keys = || {
            OpenError::Incompatible(format!(
                "the log is empty but the dedup maps hold {keys} keys: the memories do not \
                 belong together"
            ))
        };
        if log_contents == Contents::Fresh && keys > 0 {
            return Err(orphan_keys());
        }
        // Writes only when the log memories are fresh; reads an existing log.
        let log = StableLog::init(mem.log_index, mem.log_data);
        let (tip_hash, last_time_ns) = match log.len().checked_sub(1) {
            None if keys > 0 => return Err(orphan_keys()),
            None => (GENESIS_PREV_HASH, 0),
            Some(last) => {
                let env = decode_entry(&log, last).map_err(|reason| {
                    OpenError::Incompatible(format!("the last entry ({last}) {reason}"))
                })?;
                (env.hash, env.time_ns)
            }
        };
        Ok(EventLog {
            log,
            dedup: DedupIndex::init(mem.dedup_keys, mem.dedup_expiry),
            config,
            tip_hash,
            last_time_ns,
        })
    }

    /// Appends `ev` at time `max(now_ns, last recorded time)`, unless its idempotency key is
    /// live, in which case nothing is stored and the original `seq` is returned.
    ///
    /// Before the key lookup, prunes at most `config().max_prune_per_append` expired keys.
    ///
    /// # Errors
    /// [`AppendError::InvalidEvent`] if a field breaks its limit; [`AppendError::Storage`] if
    /// the log memories cannot grow. In both cases nothing was appended.
    ///
    /// # Panics
    /// If a dedup map cannot grow its memory (see the crate docs on atomicity).
    pub fn append(&mut self, now_ns: u64, ev: NewEvent) -> Result<AppendOutcome, AppendError> {
        ev.validate()?;
        let now = self.effective_now(now_ns);
        let window = self.config.dedup_window_ns;
        self.dedup
            .prune(now, window, self.config.max_prune_per_append);
        self.append_valid(now, ev)
            .map_err(|e| storage_error(e, None))
    }

    /// Appends `evs` in order, all at the same recorded time. Every event is validated before
    /// any is stored; an event whose key is live — including a key used earlier in the same
    /// batch — yields [`AppendOutcome::Duplicate`]. Outcomes are in input order.
    ///
    /// Prunes at most `max_prune_per_append` expired keys per keyed event (at least one round).
    ///
    /// # Errors
    /// [`AppendError::InvalidEvent`] (nothing appended) if any event is invalid or the batch
    /// holds more than [`MAX_BATCH_EVENTS`] events. [`AppendError::Storage`] if the log
    /// memories cannot grow: the events before the failing one *were* appended and the message
    /// says which; trap to roll the whole message back, or retry the rest.
    ///
    /// # Panics
    /// As [`EventLog::append`].
    pub fn append_batch(
        &mut self,
        now_ns: u64,
        evs: Vec<NewEvent>,
    ) -> Result<Vec<AppendOutcome>, AppendError> {
        if evs.len() > MAX_BATCH_EVENTS {
            return Err(AppendError::InvalidEvent(format!(
                "the batch holds {} events; the maximum is {MAX_BATCH_EVENTS}: split it",
                evs.len()
            )));
        }
        for (i, ev) in evs.iter().enumerate() {
            ev.validate().map_err(|e| match e {
                AppendError::InvalidEvent(msg) => {
                    AppendError::InvalidEvent(format!("event {i} of the batch: {msg}"))
                }
                other => other,
            })?;
        }
        let now = self.effective_now(now_ns);
        let keyed = evs.iter().filter(|e| e.idempotency_key.is_some()).count();
        let rounds = u32::try_from(keyed.max(1)).unwrap_or(u32::MAX);
        let budget = self.config.max_prune_per_append.saturating_mul(rounds);
        self.dedup.prune(now, self.config.dedup_window_ns, budget);
        let first_seq = self.len();
        let mut outcomes = Vec::with_capacity(evs.len());
        for (i, ev) in evs.into_iter().enumerate() {
            let outcome = self
                .append_valid(now, ev)
                .map_err(|e| storage_error(e, Some((i, first_seq, self.len()))))?;
            outcomes.push(outcome);
        }
        Ok(outcomes)
    }

    /// Number of entries. O(1).
    pub fn len(&self) -> u64 {
        self.log.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The entry at `seq`; `None` if `seq >= len()` or the stored bytes do not decode (run
    /// [`EventLog::verify`] to learn why). Does not check the hash. O(entry size).
    pub fn get(&self, seq: u64) -> Option<Envelope> {
        self.decode_at(seq).ok()
    }

    /// Up to `limit` consecutive entries starting at `from`. Returns fewer when the log ends,
    /// and stops before the first entry that does not decode, so a short page before `len()`
    /// signals damage. O(total size of the returned entries); callers bound `limit`.
    pub fn read(&self, from: u64, limit: usize) -> Vec<Envelope> {
        let to = from.saturating_add(limit as u64).min(self.len());
        let mut out = Vec::with_capacity(to.saturating_sub(from) as usize);
        let mut buf = Vec::new();
        for seq in from..to {
            if self.log.read_entry(seq, &mut buf).is_err() {
                break;
            }
            match Envelope::decode(&buf) {
                Ok(env) => out.push(env),
                Err(_) => break,
            }
        }
        out
    }

    /// The first `seq` whose recorded time is `>= time_ns`, or `None` if every entry is older.
    /// Binary search over the non-decreasing times: O(log len) entry reads. Returns `None` if
    /// a probed entry does not decode.
    pub fn first_at_or_after(&self, time_ns: u64) -> Option<u64> {
        let (mut lo, mut hi) = (0, self.len());
        let mut buf = Vec::new();
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            self.log.read_entry(mid, &mut buf).ok()?;
            if peek_time_ns(&buf)? < time_ns {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        (lo < self.len()).then_some(lo)
    }

    /// Stored hash of the last entry; [`GENESIS_PREV_HASH`] (zeros) when the log is empty.
    pub fn tip_hash(&self) -> [u8; 32] {
        self.tip_hash
    }

    /// Recorded time of the last entry; 0 when the log is empty.
    pub fn last_time_ns(&self) -> u64 {
        self.last_time_ns
    }

    /// The `seq` at which `key` was appended, if it is live at `max(now_ns, last recorded
    /// time)` — exactly when an append of `key` would return `Duplicate`. O(log keys).
    pub fn lookup_idempotency_key(&self, key: &[u8], now_ns: u64) -> Option<u64> {
        let now = self.effective_now(now_ns);
        self.dedup
            .live(&hash_key(key), now, self.config.dedup_window_ns)
            .map(|rec| rec.seq)
    }

    /// Removes up to `max_steps` keys outside the window at `max(now_ns, last recorded time)`,
    /// oldest first; returns how many it removed. O(`max_steps` × log keys): call it from a
    /// timer with a fixed budget to catch up after a burst.
    pub fn prune_dedup(&mut self, now_ns: u64, max_steps: u32) -> u32 {
        let now = self.effective_now(now_ns);
        self.dedup
            .prune(now, self.config.dedup_window_ns, max_steps)
    }

    /// Keys held by the dedup maps, live or expired-but-not-yet-pruned.
    pub fn dedup_len(&self) -> u64 {
        self.dedup.len()
    }

    pub fn config(&self) -> &LogConfig {
        &self.config
    }

    /// Changes the window from now on. Shrinking it lets older keys expire at once. Growing it
    /// revives expired keys that were not pruned yet, but not those already pruned: call
    /// `prune_dedup(now, u32::MAX)` first (O(expired keys)) if the cut must be exact.
    pub fn set_dedup_window(&mut self, ns: u64) {
        self.config.dedup_window_ns = ns;
    }

    fn effective_now(&self, now_ns: u64) -> u64 {
        now_ns.max(self.last_time_ns)
    }

    /// Stores a validated event at time `now` (already made monotonic).
    fn append_valid(&mut self, now: u64, ev: NewEvent) -> Result<AppendOutcome, WriteError> {
        let key_hash = ev.idempotency_key.as_deref().map(hash_key);
        if let Some(hash) = &key_hash {
            if let Some(rec) = self.dedup.live(hash, now, self.config.dedup_window_ns) {
                return Ok(AppendOutcome::Duplicate { seq: rec.seq });
            }
        }
        let seq = self.len();
        let (env, bytes) = Envelope::seal(seq, now, self.tip_hash, ev);
        let stored_at = self.log.append(&bytes)?;
        debug_assert_eq!(stored_at, seq);
        self.tip_hash = env.hash;
        self.last_time_ns = now;
        if let Some(hash) = key_hash {
            let rec = DedupRecord { seq, time_ns: now };
            self.dedup.record(hash, rec);
        }
        Ok(AppendOutcome::Appended { seq, time_ns: now })
    }

    /// Reads and decodes entry `seq`; the error says why it could not.
    pub(crate) fn decode_at(&self, seq: u64) -> Result<Envelope, String> {
        decode_entry(&self.log, seq)
    }
}

fn decode_entry<M: Memory>(log: &StableLog<Vec<u8>, M, M>, seq: u64) -> Result<Envelope, String> {
    let mut buf = Vec::new();
    log.read_entry(seq, &mut buf)
        .map_err(|_| format!("does not exist (len {})", log.len()))?;
    Envelope::decode(&buf).map_err(|e| e.to_string())
}

/// `batch`: (index of the failing event, first seq of the batch, log length now).
fn storage_error(e: WriteError, batch: Option<(usize, u64, u64)>) -> AppendError {
    let WriteError::GrowFailed {
        current_size,
        delta,
    } = e;
    let cause = format!(
        "growing a log memory from {current_size} by {delta} WebAssembly pages failed; raise \
         the canister's stable memory limit or the MemoryManager's capacity, then retry"
    );
    match batch {
        None | Some((0, _, _)) => AppendError::Storage(format!("{cause}; nothing was appended")),
        Some((i, first, len)) => AppendError::Storage(format!(
            "{cause}; events 0..{i} of the batch were handled (new entries, if any, are seq \
             {first}..{len}) and the rest were not: trap to roll the message back, or retry \
             from event {i}"
        )),
    }
}
