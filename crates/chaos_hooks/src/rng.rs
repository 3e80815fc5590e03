//! The hooks' only source of randomness: hand-written SplitMix64 and xoshiro256** seeded from the
//! plan's seed. No `getrandom`, no time-based entropy: a plan's decisions replay exactly from its
//! seed and the sequence of calls.
//!
//! Two streams:
//! - [`Xoshiro256StarStar`] for updates: one generator per plan, advanced by every draw.
//! - [`stateless_draws`] for queries (and `perturb`): the IC discards every write a query makes,
//!   so a query cannot advance a generator. Its draws come from a hash of (seed, plan, time,
//!   caller, method, update-call count, salt) instead: the same query from the same caller in
//!   the same round gets the same outcome.

use crate::types::{Ppm, PPM_ALWAYS};

/// A source of uniform `u64`s, counting how many it produced.
pub trait Draws {
    fn next_u64(&mut self) -> u64;

    /// A uniform value in `0..1_000_000` (multiply-shift, no modulo bias worth the name).
    fn next_ppm(&mut self) -> Ppm {
        ((u128::from(self.next_u64()) * u128::from(PPM_ALWAYS)) >> 64) as Ppm
    }

    /// True with probability `ppm / 1_000_000`: never at 0, always at 1_000_000 (one draw
    /// either way, so the stream position does not depend on the probabilities).
    fn hit(&mut self, ppm: Ppm) -> bool {
        self.next_ppm() < ppm
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014): seeds xoshiro and mixes the stateless stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }
}

impl Draws for SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix64(self.0)
    }
}

/// The SplitMix64 finalizer: a bijective avalanche of 64 bits.
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// xoshiro256** (Blackman, Vigna 2018), seeded through SplitMix64 as its authors recommend.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Xoshiro256StarStar {
    s: [u64; 4],
    draws: u64,
}

impl Xoshiro256StarStar {
    pub fn seed_from(seed: u64) -> Self {
        let mut sm = SplitMix64::new(seed);
        let s = [sm.next_u64(), sm.next_u64(), sm.next_u64(), sm.next_u64()];
        // SplitMix64 outputs four zeroes for no seed, but stay safe: the all-zero state is fixed.
        let s = if s == [0; 4] { [1, 0, 0, 0] } else { s };
        Self { s, draws: 0 }
    }

    /// Values produced so far (tests use it to prove the fast path draws nothing).
    pub fn draws(&self) -> u64 {
        self.draws
    }
}

impl Draws for Xoshiro256StarStar {
    fn next_u64(&mut self) -> u64 {
        self.draws += 1;
        let s = &mut self.s;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }
}

/// Domain separation of the stateless streams.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u64)]
pub enum Salt {
    QueryGuard = 1,
    Perturb = 2,
}

/// What a stateless stream is derived from.
#[derive(Clone, Copy, Debug)]
pub struct StreamKey<'a> {
    pub seed: u64,
    pub plan_id: u64,
    pub now_ns: u64,
    pub caller: &'a [u8],
    pub method: &'a str,
    /// Guarded update calls so far: different between updates, fixed within a query.
    pub nonce: u64,
    pub salt: Salt,
}

/// A generator for one query (or one `perturb`), derived from `key` by FNV-1a then SplitMix64.
pub fn stateless_draws(key: StreamKey<'_>) -> SplitMix64 {
    let mut h = Fnv64::default();
    for word in [
        key.seed,
        key.plan_id,
        key.now_ns,
        key.nonce,
        key.salt as u64,
    ] {
        h.write(&word.to_le_bytes());
    }
    // Lengths first, so (caller, method) pairs cannot alias.
    h.write(&(key.caller.len() as u64).to_le_bytes());
    h.write(key.caller);
    h.write(key.method.as_bytes());
    SplitMix64::new(mix64(h.0 ^ key.seed))
}

struct Fnv64(u64);

impl Default for Fnv64 {
    fn default() -> Self {
        Self(0xCBF2_9CE4_8422_2325)
    }
}

impl Fnv64 {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01B3);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_matches_the_reference_sequence() {
        // Reference values of SplitMix64 seeded with 1234567 (from the authors' C code).
        let mut sm = SplitMix64::new(1_234_567);
        let got: Vec<u64> = (0..3).map(|_| sm.next_u64()).collect();
        assert_eq!(
            got,
            vec![
                6_457_827_717_110_365_317,
                3_203_168_211_198_807_973,
                9_817_491_932_198_370_423
            ]
        );
    }

    #[test]
    fn same_seed_same_stream_other_seed_other_stream() {
        let a: Vec<u64> = {
            let mut g = Xoshiro256StarStar::seed_from(42);
            (0..16).map(|_| g.next_u64()).collect()
        };
        let b: Vec<u64> = {
            let mut g = Xoshiro256StarStar::seed_from(42);
            (0..16).map(|_| g.next_u64()).collect()
        };
        let c: Vec<u64> = {
            let mut g = Xoshiro256StarStar::seed_from(43);
            (0..16).map(|_| g.next_u64()).collect()
        };
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn zero_seed_is_not_degenerate() {
        let mut g = Xoshiro256StarStar::seed_from(0);
        let values: Vec<u64> = (0..8).map(|_| g.next_u64()).collect();
        assert!(values.iter().any(|v| *v != 0));
        assert_eq!(g.draws(), 8);
    }

    #[test]
    fn probabilities_at_the_extremes_are_exact() {
        let mut g = Xoshiro256StarStar::seed_from(7);
        for _ in 0..10_000 {
            assert!(!g.hit(0));
            assert!(g.hit(PPM_ALWAYS));
        }
    }

    #[test]
    fn half_a_million_ppm_hits_about_half_the_time() {
        let mut g = Xoshiro256StarStar::seed_from(99);
        let hits = (0..100_000).filter(|_| g.hit(500_000)).count();
        assert!((48_000..52_000).contains(&hits), "{hits} hits");
    }

    #[test]
    fn ppm_draws_stay_in_range() {
        let mut g = SplitMix64::new(u64::MAX);
        for _ in 0..10_000 {
            assert!(g.next_ppm() < PPM_ALWAYS);
        }
    }

    fn key<'a>(caller: &'a [u8], method: &'a str, now_ns: u64, salt: Salt) -> StreamKey<'a> {
        StreamKey {
            seed: 5,
            plan_id: 1,
            now_ns,
            caller,
            method,
            nonce: 0,
            salt,
        }
    }

    #[test]
    fn stateless_streams_depend_on_every_input_and_nothing_else() {
        let first = |k| stateless_draws(k).next_u64();
        let base = key(&[1, 2], "a", 10, Salt::QueryGuard);
        assert_eq!(first(base), first(base));
        assert_ne!(first(base), first(key(&[1, 3], "a", 10, Salt::QueryGuard)));
        assert_ne!(first(base), first(key(&[1, 2], "b", 10, Salt::QueryGuard)));
        assert_ne!(first(base), first(key(&[1, 2], "a", 11, Salt::QueryGuard)));
        assert_ne!(first(base), first(key(&[1, 2], "a", 10, Salt::Perturb)));
        // (caller [1,2], method "a") vs (caller [1], method "\u{2}a"): the length prefix.
        assert_ne!(
            first(base),
            first(key(&[1], "\u{2}a", 10, Salt::QueryGuard))
        );
    }
}
