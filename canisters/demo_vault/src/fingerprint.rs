//! A history-independent fingerprint of the vault's balances (a multiset hash).
//!
//! `fingerprint = Σ SHA-256(principal_bytes || balance_le)` over every account with a non-zero
//! balance, where the sum is taken lane-wise over four little-endian `u64` lanes, each wrapping
//! mod 2^64. Addition in that group is commutative and invertible, so:
//!
//! - an update costs O(1): remove the account's old term, add its new term;
//! - two vaults holding the same balances have the same fingerprint whatever the order of the
//!   operations that produced them (this is what a drill compares after a restore);
//! - any single change of one balance changes the fingerprint unless SHA-256 collides.
//!
//! The encoding `principal_bytes || balance_le` is unambiguous because the balance is always the
//! last 8 bytes.

use candid::Principal;
use sha2::{Digest, Sha256};

/// Size of the fingerprint in bytes.
pub const FINGERPRINT_LEN: usize = 32;

/// A multiset hash of `(account, balance)` pairs; the empty set is all zeroes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Fingerprint([u64; 4]);

impl Fingerprint {
    /// Adds the term of `(account, balance)`.
    pub fn add(&mut self, account: &Principal, balance: u64) {
        let term = term(account, balance);
        for (lane, t) in self.0.iter_mut().zip(term) {
            *lane = lane.wrapping_add(t);
        }
    }

    /// Removes the term of `(account, balance)`; the inverse of [`Fingerprint::add`].
    pub fn remove(&mut self, account: &Principal, balance: u64) {
        let term = term(account, balance);
        for (lane, t) in self.0.iter_mut().zip(term) {
            *lane = lane.wrapping_sub(t);
        }
    }

    /// The 32-byte encoding: the four lanes, little-endian, in order.
    pub fn to_bytes(&self) -> [u8; FINGERPRINT_LEN] {
        let mut out = [0u8; FINGERPRINT_LEN];
        for (chunk, lane) in out.chunks_exact_mut(8).zip(self.0) {
            chunk.copy_from_slice(&lane.to_le_bytes());
        }
        out
    }

    /// Inverse of [`Fingerprint::to_bytes`].
    pub fn from_bytes(bytes: &[u8; FINGERPRINT_LEN]) -> Self {
        let mut lanes = [0u64; 4];
        for (lane, chunk) in lanes.iter_mut().zip(bytes.chunks_exact(8)) {
            let mut le = [0u8; 8];
            le.copy_from_slice(chunk);
            *lane = u64::from_le_bytes(le);
        }
        Self(lanes)
    }
}

/// SHA-256(principal_bytes || balance_le) as four little-endian lanes.
fn term(account: &Principal, balance: u64) -> [u64; 4] {
    let digest = Sha256::new()
        .chain_update(account.as_slice())
        .chain_update(balance.to_le_bytes())
        .finalize();
    let mut bytes = [0u8; FINGERPRINT_LEN];
    bytes.copy_from_slice(&digest);
    Fingerprint::from_bytes(&bytes).0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(n: u8) -> Principal {
        Principal::self_authenticating([n; 32])
    }

    #[test]
    fn empty_set_is_zero_and_add_then_remove_returns_to_it() {
        let mut f = Fingerprint::default();
        assert_eq!(f.to_bytes(), [0u8; 32]);
        f.add(&p(1), 10);
        assert_ne!(f, Fingerprint::default());
        f.remove(&p(1), 10);
        assert_eq!(f, Fingerprint::default());
    }

    #[test]
    fn order_of_insertion_does_not_matter() {
        let (mut a, mut b) = (Fingerprint::default(), Fingerprint::default());
        a.add(&p(1), 5);
        a.add(&p(2), 7);
        b.add(&p(2), 7);
        b.add(&p(1), 5);
        assert_eq!(a, b);
    }

    #[test]
    fn balance_and_account_both_matter() {
        let mut base = Fingerprint::default();
        base.add(&p(1), 5);
        let mut other_balance = Fingerprint::default();
        other_balance.add(&p(1), 6);
        let mut other_account = Fingerprint::default();
        other_account.add(&p(2), 5);
        assert_ne!(base, other_balance);
        assert_ne!(base, other_account);
    }

    #[test]
    fn bytes_round_trip() {
        let mut f = Fingerprint::default();
        f.add(&p(3), u64::MAX);
        assert_eq!(Fingerprint::from_bytes(&f.to_bytes()), f);
    }
}
