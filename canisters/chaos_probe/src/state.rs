//! The probe's heap state: two counters, reset by an upgrade (nothing here matters beyond
//! observability and the in-flight bound). The configured principal lives in [`crate::storage`].

use crate::api::ProbeError;
use std::cell::RefCell;

/// Most outbound calls the probe keeps open at once (all requests together). Far below the IC's
/// ≈ 500 outstanding calls per canister, so the probe never fills its own output queue.
pub const MAX_IN_FLIGHT: u32 = 100;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Outbound calls attempted since the last install or upgrade (probe calls and the
    /// management-canister reads that go with them).
    pub probes: u64,
    /// Call slots currently reserved by running requests.
    pub in_flight: u32,
}

impl Counters {
    /// Reserves `n` call slots, or says how busy the probe is.
    pub fn reserve(&mut self, n: u32) -> Result<(), ProbeError> {
        match self.in_flight.checked_add(n) {
            Some(total) if total <= MAX_IN_FLIGHT => {
                self.in_flight = total;
                Ok(())
            }
            _ => Err(ProbeError::Busy {
                in_flight: self.in_flight,
                requested: n,
                limit: MAX_IN_FLIGHT,
            }),
        }
    }

    pub fn release(&mut self, n: u32) {
        self.in_flight = self.in_flight.saturating_sub(n);
    }
}

thread_local! {
    static COUNTERS: RefCell<Counters> = RefCell::new(Counters::default());
}

pub fn counters() -> Counters {
    COUNTERS.with_borrow(|c| *c)
}

pub fn count_calls(n: usize) {
    COUNTERS.with_borrow_mut(|c| c.probes = c.probes.saturating_add(n as u64));
}

/// Call slots held by one request, released when it ends — also when its future is dropped
/// because a callback trapped (ic-cdk drops the futures of a trapped task).
#[must_use]
pub struct Slots(u32);

impl Slots {
    pub fn reserve(n: u32) -> Result<Slots, ProbeError> {
        COUNTERS.with_borrow_mut(|c| c.reserve(n))?;
        Ok(Slots(n))
    }
}

impl Drop for Slots {
    fn drop(&mut self) {
        COUNTERS.with_borrow_mut(|c| c.release(self.0));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_bounded_and_released() {
        let mut c = Counters::default();
        assert_eq!(c.reserve(MAX_IN_FLIGHT - 1), Ok(()));
        assert_eq!(
            c.reserve(2),
            Err(ProbeError::Busy {
                in_flight: MAX_IN_FLIGHT - 1,
                requested: 2,
                limit: MAX_IN_FLIGHT
            })
        );
        assert_eq!(c.reserve(1), Ok(()));
        c.release(MAX_IN_FLIGHT);
        assert_eq!(c.in_flight, 0);
        assert!(c.reserve(u32::MAX).is_err());
    }

    #[test]
    fn a_dropped_request_gives_its_slots_back() {
        {
            let _held = Slots::reserve(21).unwrap();
            assert_eq!(counters().in_flight, 21);
        }
        assert_eq!(counters().in_flight, 0);
    }
}
