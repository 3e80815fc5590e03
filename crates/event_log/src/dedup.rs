//! The idempotency-key window: which keys were appended recently, and at which sequence number.
//!
//! Two stable maps kept in step:
//! * `keys` (`dedup_keys` memory): SHA-256(key) → [`DedupRecord`] `{ seq, time_ns }`;
//! * `expiry` (`dedup_expiry` memory): [`ExpiryKey`] `(time_ns, SHA-256(key))` → `()`, ordered
//!   oldest first, so pruning takes the first entries without scanning.
//!
//! A key recorded at `t` is live at `now` while `now - t < window` (saturating, so a `now`
//! before `t` counts as live). Every mutation touches both maps, so they hold the same set of
//! keys; `EventLog::init` refuses memories where their sizes differ.

use ic_stable_structures::storable::Bound;
use ic_stable_structures::{Memory, StableBTreeMap, Storable};
use sha2::{Digest, Sha256};
use std::borrow::Cow;

/// SHA-256 of an idempotency key: fixed size, so arbitrary keys fit a bounded map entry.
pub(crate) type KeyHash = [u8; 32];

pub(crate) fn hash_key(key: &[u8]) -> KeyHash {
    Sha256::digest(key).into()
}

/// Where and when a key was appended. Stored as `seq` then `time_ns`, both u64 little-endian.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DedupRecord {
    pub seq: u64,
    pub time_ns: u64,
}

impl Storable for DedupRecord {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Owned(self.into_bytes())
    }

    fn into_bytes(self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16);
        out.extend_from_slice(&self.seq.to_le_bytes());
        out.extend_from_slice(&self.time_ns.to_le_bytes());
        out
    }

    /// # Panics
    /// If `bytes` is not 16 bytes long (the map's memory is corrupt).
    fn from_bytes(bytes: Cow<[u8]>) -> Self {
        assert_eq!(bytes.len(), 16, "a DedupRecord is 16 bytes");
        DedupRecord {
            seq: u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")),
            time_ns: u64::from_le_bytes(bytes[8..].try_into().expect("8 bytes")),
        }
    }

    const BOUND: Bound = Bound::Bounded {
        max_size: 16,
        is_fixed_size: true,
    };
}

/// Key of the expiry index: ordered by time, then key hash. Stored as `time_ns` big-endian then
/// the 32-byte hash (40 bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct ExpiryKey {
    pub time_ns: u64,
    pub key_hash: KeyHash,
}

impl Storable for ExpiryKey {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Owned(self.into_bytes())
    }

    fn into_bytes(self) -> Vec<u8> {
        let mut out = Vec::with_capacity(40);
        out.extend_from_slice(&self.time_ns.to_be_bytes());
        out.extend_from_slice(&self.key_hash);
        out
    }

    /// # Panics
    /// If `bytes` is not 40 bytes long (the map's memory is corrupt).
    fn from_bytes(bytes: Cow<[u8]>) -> Self {
        assert_eq!(bytes.len(), 40, "an ExpiryKey is 40 bytes");
        ExpiryKey {
            time_ns: u64::from_be_bytes(bytes[..8].try_into().expect("8 bytes")),
            key_hash: bytes[8..].try_into().expect("32 bytes"),
        }
    }

    const BOUND: Bound = Bound::Bounded {
        max_size: 40,
        is_fixed_size: true,
    };
}

fn is_live(recorded_ns: u64, now_ns: u64, window_ns: u64) -> bool {
    now_ns.saturating_sub(recorded_ns) < window_ns
}

pub(crate) struct DedupIndex<M: Memory> {
    keys: StableBTreeMap<KeyHash, DedupRecord, M>,
    expiry: StableBTreeMap<ExpiryKey, (), M>,
}

impl<M: Memory> DedupIndex<M> {
    /// Opens or creates both maps. Callers check the memories with `layout::check_btree` first.
    pub fn init(keys_mem: M, expiry_mem: M) -> Self {
        DedupIndex {
            keys: StableBTreeMap::init(keys_mem),
            expiry: StableBTreeMap::init(expiry_mem),
        }
    }

    /// Sizes of (keys, expiry); equal unless the memories were mixed up or damaged.
    #[cfg(test)]
    pub fn sizes(&self) -> (u64, u64) {
        (self.keys.len(), self.expiry.len())
    }

    pub fn len(&self) -> u64 {
        self.keys.len()
    }

    /// The record for `key_hash` if it is still inside the window at `now_ns`.
    pub fn live(&self, key_hash: &KeyHash, now_ns: u64, window_ns: u64) -> Option<DedupRecord> {
        self.keys
            .get(key_hash)
            .filter(|rec| is_live(rec.time_ns, now_ns, window_ns))
    }

    /// Records `key_hash` at `rec`, replacing (and un-indexing) any older record of the same key.
    ///
    /// # Panics
    /// If a map cannot grow its memory (ic-stable-structures has no fallible insert); on the IC the
    /// trap rolls the whole message back.
    pub fn record(&mut self, key_hash: KeyHash, rec: DedupRecord) {
        if let Some(old) = self.keys.insert(key_hash, rec) {
            self.expiry.remove(&ExpiryKey {
                time_ns: old.time_ns,
                key_hash,
            });
        }
        self.expiry.insert(
            ExpiryKey {
                time_ns: rec.time_ns,
                key_hash,
            },
            (),
        );
    }

    /// Removes up to `max_steps` keys that are outside the window at `now_ns`, oldest first.
    /// Returns how many were removed. Work is O(`max_steps` × log n), never more.
    pub fn prune(&mut self, now_ns: u64, window_ns: u64, max_steps: u32) -> u32 {
        let mut removed = 0;
        while removed < max_steps {
            let Some((oldest, ())) = self.expiry.first_key_value() else {
                break;
            };
            if is_live(oldest.time_ns, now_ns, window_ns) {
                break;
            }
            self.expiry.remove(&oldest);
            // The record may be newer only if the maps were out of step; keep the live one.
            let current = self.keys.get(&oldest.key_hash);
            if current.is_some_and(|rec| rec.time_ns == oldest.time_ns) {
                self.keys.remove(&oldest.key_hash);
            }
            removed += 1;
        }
        removed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ic_stable_structures::VectorMemory;

    fn index() -> DedupIndex<VectorMemory> {
        DedupIndex::init(VectorMemory::default(), VectorMemory::default())
    }

    #[test]
    fn storables_round_trip_and_order_by_time() {
        let rec = DedupRecord {
            seq: 3,
            time_ns: u64::MAX - 1,
        };
        assert_eq!(DedupRecord::from_bytes(rec.to_bytes()), rec);
        let a = ExpiryKey {
            time_ns: 255,
            key_hash: [9; 32],
        };
        let b = ExpiryKey {
            time_ns: 256,
            key_hash: [0; 32],
        };
        assert_eq!(ExpiryKey::from_bytes(a.to_bytes()), a);
        assert!(a < b);
        assert!(
            a.to_bytes() < b.to_bytes(),
            "big-endian time keeps byte order = time order"
        );
    }

    #[test]
    fn liveness_is_a_half_open_window() {
        assert!(is_live(100, 100, 10));
        assert!(is_live(100, 109, 10));
        assert!(!is_live(100, 110, 10));
        assert!(
            is_live(100, 50, 10),
            "a time before the record counts as live"
        );
        assert!(
            !is_live(100, 100, 0),
            "a zero window disables deduplication"
        );
    }

    #[test]
    fn replacing_a_key_keeps_the_maps_in_step() {
        let mut idx = index();
        let h = hash_key(b"k");
        idx.record(
            h,
            DedupRecord {
                seq: 0,
                time_ns: 10,
            },
        );
        idx.record(
            h,
            DedupRecord {
                seq: 5,
                time_ns: 50,
            },
        );
        assert_eq!(idx.sizes(), (1, 1));
        assert_eq!(idx.live(&h, 55, 10).map(|r| r.seq), Some(5));
        assert_eq!(
            idx.prune(55, 10, 10),
            0,
            "the replaced record's expiry entry is gone"
        );
        assert_eq!(idx.prune(60, 10, 10), 1);
        assert_eq!(idx.sizes(), (0, 0));
    }

    #[test]
    fn prune_is_bounded_and_oldest_first() {
        let mut idx = index();
        for i in 0..10u64 {
            idx.record(
                hash_key(&i.to_le_bytes()),
                DedupRecord { seq: i, time_ns: i },
            );
        }
        assert_eq!(
            idx.prune(100, 95, 3),
            3,
            "keys 0..=5 are expired but only 3 steps are allowed"
        );
        assert_eq!(idx.len(), 7);
        assert!(idx.live(&hash_key(&3u64.to_le_bytes()), 3, 95).is_some());
        assert!(idx.live(&hash_key(&2u64.to_le_bytes()), 2, 95).is_none());
        assert_eq!(idx.prune(100, 95, 100), 3, "stops at the first live key");
        assert_eq!(idx.sizes(), (4, 4));
        assert_eq!(idx.prune(100, 95, 0), 0);
    }
}
