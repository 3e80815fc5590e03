//! Verification of stored entries and of the hash chain that links them.

use crate::envelope::{hash_unhashed, split_hash, Envelope, GENESIS_PREV_HASH};
use crate::error::VerifyError;
use crate::{EventLog, VerifyReport};
use ic_stable_structures::Memory;

impl<M: Memory> EventLog<M> {
    /// Checks entries `from..to` (both clamped to `len()`): each must decode, match its stored
    /// hash, record its own position as `seq`, and carry the stored hash of its predecessor as
    /// `prev_hash` (zeros for entry 0; for `from > 0` the predecessor is read as the anchor).
    ///
    /// Any single changed byte of entry data in the range is reported. Cost is one SHA-256 over
    /// every checked entry: O(bytes in range). Page long logs across messages, carrying
    /// `report.to` forward.
    ///
    /// # Errors
    /// The first failing entry, checked in the order decode, hash, sequence, link.
    pub fn verify(&self, from: u64, to: u64) -> Result<VerifyReport, VerifyError> {
        let to = to.min(self.len());
        let from = from.min(to);
        let mut prev_hash = match from.checked_sub(1) {
            None => GENESIS_PREV_HASH,
            Some(anchor) => {
                let env = self
                    .decode_at(anchor)
                    .map_err(|reason| VerifyError::Undecodable {
                        seq: anchor,
                        reason,
                    })?;
                env.hash
            }
        };
        let mut buf = Vec::new();
        for seq in from..to {
            let env = self.check_entry(seq, &mut buf)?;
            if env.prev_hash != prev_hash {
                return Err(VerifyError::ChainBroken { seq });
            }
            prev_hash = env.hash;
        }
        Ok(VerifyReport {
            from,
            to,
            checked: to - from,
            tip_hash: prev_hash,
        })
    }

    /// Decodes entry `seq` and checks its hash and sequence number (not its link).
    fn check_entry(&self, seq: u64, buf: &mut Vec<u8>) -> Result<Envelope, VerifyError> {
        let undecodable = |reason: String| VerifyError::Undecodable { seq, reason };
        self.log
            .read_entry(seq, buf)
            .map_err(|_| undecodable("the index has no such entry".into()))?;
        let env = Envelope::decode(buf).map_err(|e| undecodable(e.to_string()))?;
        let (covered, _) = split_hash(buf).expect("a decoded envelope ends with its hash");
        if hash_unhashed(covered) != env.hash {
            return Err(VerifyError::HashMismatch { seq });
        }
        if env.seq != seq {
            return Err(VerifyError::SequenceMismatch { seq });
        }
        Ok(env)
    }
}
