//! Unit-carrying newtypes: no bare `u64` whose meaning is a guess.

use minicbor::{Decode, Encode};
use std::fmt;

/// Nanoseconds since the Unix epoch, as the IC's `time()` reports it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
#[cbor(transparent)]
pub struct TimestampNs(#[n(0)] pub u64);

/// A span of time in nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
#[cbor(transparent)]
pub struct DurationNs(#[n(0)] pub u64);

impl DurationNs {
    pub const SECOND: DurationNs = DurationNs(1_000_000_000);

    pub const fn from_secs(secs: u64) -> Self {
        DurationNs(secs.saturating_mul(1_000_000_000))
    }

    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }
}

impl TimestampNs {
    /// Time elapsed since `earlier`, zero if `earlier` is later (clocks never run backwards on
    /// one canister, but observations may be recorded out of order by a shell).
    pub fn since(self, earlier: TimestampNs) -> DurationNs {
        DurationNs(self.0.saturating_sub(earlier.0))
    }

    pub fn plus(self, d: DurationNs) -> TimestampNs {
        TimestampNs(self.0.saturating_add(d.0))
    }
}

impl fmt::Display for DurationNs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ns = self.0;
        if ns >= 1_000_000_000 {
            write!(f, "{:.3} s", ns as f64 / 1e9)
        } else if ns >= 1_000_000 {
            write!(f, "{:.3} ms", ns as f64 / 1e6)
        } else {
            write!(f, "{ns} ns")
        }
    }
}

/// Identifies a drill: the sequence number of its `DrillStarted` event in the log, so a
/// retried start that the log deduplicates returns the same id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
#[cbor(transparent)]
pub struct DrillId(#[n(0)] pub u64);

impl fmt::Display for DrillId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "drill-{}", self.0)
    }
}

/// Opaque id of a canister snapshot as the management canister returns it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
#[cbor(transparent)]
pub struct SnapshotId(#[cbor(n(0), with = "minicbor::bytes")] pub Vec<u8>);

impl fmt::Display for SnapshotId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in &self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}
