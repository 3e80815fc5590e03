//! What a fault measured: detection of a corruption, the propagation map of a cascade, the
//! consumers that caught byzantine answers, the privileged methods that accepted a stranger.

use super::action::Observation;
use super::mechanism::{Watch, WatchPurpose};
use crate::ids::DurationNs;
use ic_principal::Principal;
use minicbor::{Decode, Encode};

/// One watched canister's record over the fault window.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct WatchRecord {
    #[cbor(n(0), with = "crate::cbor::principal")]
    pub canister: Principal,
    #[n(1)]
    pub purpose: WatchPurpose,
    #[n(2)]
    pub samples: u32,
    /// Samples that failed, or answered that the invariant does not hold.
    #[n(3)]
    pub degraded: u32,
    /// Time from the injection to the first degraded sample: for an invariant watch, how fast
    /// the corruption was detected; for a dependent, when the failure reached it.
    #[n(4)]
    pub first_degraded_after: Option<DurationNs>,
}

impl WatchRecord {
    pub fn new(watch: &Watch) -> Self {
        WatchRecord {
            canister: watch.canister,
            purpose: watch.purpose,
            samples: 0,
            degraded: 0,
            first_degraded_after: None,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Encode, Decode)]
pub struct FaultFindings {
    /// One record per watch, in the plan's order.
    #[n(0)]
    pub watches: Vec<WatchRecord>,
    /// Security breach: the privileged methods probed.
    #[n(1)]
    pub probed_methods: Vec<String>,
    /// Security breach: those that replied to an unprivileged caller (each is a finding for
    /// the hardening work).
    #[n(2)]
    pub accepted_methods: Vec<String>,
    /// Security breach: methods whose answer said nothing about their guard (`"method: why"`),
    /// counted neither as refusing nor as accepting.
    #[n(3)]
    #[cbor(default)]
    pub inconclusive_methods: Vec<String>,
}

/// A sample is degraded when the call failed or the target said its invariant does not hold.
pub fn is_degraded(observation: &Observation) -> bool {
    match observation {
        Observation::Failed { .. } => true,
        Observation::Probed { reading } => reading.invariant_holds == Some(false),
        _ => false,
    }
}

impl FaultFindings {
    pub fn new(watches: &[Watch]) -> Self {
        FaultFindings {
            watches: watches.iter().map(WatchRecord::new).collect(),
            ..Default::default()
        }
    }

    pub fn record_watch(
        &mut self,
        index: usize,
        observation: &Observation,
        since_injection: DurationNs,
    ) {
        let Some(w) = self.watches.get_mut(index) else {
            return;
        };
        w.samples += 1;
        if is_degraded(observation) {
            w.degraded += 1;
            w.first_degraded_after.get_or_insert(since_injection);
        }
    }

    pub fn record_access_probe(&mut self, methods: &[String], observation: &Observation) {
        self.probed_methods = methods.to_vec();
        if let Observation::AccessProbed {
            accepted,
            inconclusive,
        } = observation
        {
            self.accepted_methods = accepted.clone();
            self.inconclusive_methods = inconclusive.clone();
        }
    }

    /// Corruption: the time the invariant check took to notice, `None` if it never did.
    pub fn detection_time(&self) -> Option<DurationNs> {
        self.of(WatchPurpose::Invariant)
            .find_map(|w| w.first_degraded_after)
    }

    /// Cascade: each dependent and when (if ever) its health degraded.
    pub fn propagation_map(&self) -> Vec<(Principal, Option<DurationNs>)> {
        self.of(WatchPurpose::DependentHealth)
            .map(|w| (w.canister, w.first_degraded_after))
            .collect()
    }

    /// Byzantine: the consumers whose steady state caught the perturbed answers.
    pub fn detected_by(&self) -> Vec<Principal> {
        self.of(WatchPurpose::ConsumerCheck)
            .filter(|w| w.first_degraded_after.is_some())
            .map(|w| w.canister)
            .collect()
    }

    fn of(&self, purpose: WatchPurpose) -> impl Iterator<Item = &WatchRecord> {
        self.watches.iter().filter(move |w| w.purpose == purpose)
    }

    /// The fault-specific part of the resilience score, in permille, or `None` when the fault
    /// measures nothing of its own:
    /// - corruption: 1000 when detected at once, falling linearly to 500 when detected at the
    ///   end of the window; 0 when never detected;
    /// - cascade: the share of dependents that stayed healthy (containment);
    /// - byzantine: the share of consumers that detected the perturbation;
    /// - security breach: the share of privileged methods that refused the stranger.
    pub fn fault_permille(&self, window: DurationNs) -> Option<u32> {
        let share = |good: usize, all: usize| (good * 1000 / all.max(1)) as u32;
        // Only conclusive verdicts count: the share of them that refused the stranger.
        let conclusive = self
            .probed_methods
            .len()
            .saturating_sub(self.inconclusive_methods.len());
        if conclusive > 0 {
            let refused = conclusive - self.accepted_methods.len().min(conclusive);
            return Some(share(refused, conclusive));
        }
        if self.of(WatchPurpose::Invariant).next().is_some() {
            return Some(match self.detection_time() {
                None => 0,
                Some(t) if window.0 == 0 => {
                    if t.0 == 0 {
                        1000
                    } else {
                        500
                    }
                }
                Some(t) => 1000 - (500 * t.0.min(window.0) / window.0) as u32,
            });
        }
        let dependents: Vec<_> = self.of(WatchPurpose::DependentHealth).collect();
        if !dependents.is_empty() {
            let healthy = dependents.iter().filter(|w| w.degraded == 0).count();
            return Some(share(healthy, dependents.len()));
        }
        let consumers: Vec<_> = self.of(WatchPurpose::ConsumerCheck).collect();
        if !consumers.is_empty() {
            let caught = consumers
                .iter()
                .filter(|w| w.first_degraded_after.is_some())
                .count();
            return Some(share(caught, consumers.len()));
        }
        None
    }
}
