//! Emergency stop conditions and monitoring thresholds, checked against what an experiment has
//! observed so far ([`Monitor`], folded from its probes and status reads).

use crate::hardening::Cycles;
use crate::ids::DurationNs;
use ic_principal::Principal;
use minicbor::{Decode, Encode};
use std::collections::BTreeMap;

/// What stops an experiment at once (it aborts and rolls back).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct StopConditions {
    /// Consecutive steady-state checks out of tolerance; 0 = off.
    #[n(0)]
    pub max_consecutive_deviations: u32,
    /// A target the experiment acts on holding fewer cycles than this.
    #[n(1)]
    pub cycles_floor: Option<Cycles>,
    /// Share of steady-state probe calls that failed, in parts per million, once at least
    /// `min_samples` were made; 1,000,000 = off.
    #[n(2)]
    pub max_error_rate_ppm: u32,
    #[n(3)]
    pub min_samples: u32,
}

impl Default for StopConditions {
    fn default() -> Self {
        StopConditions {
            max_consecutive_deviations: 5,
            cycles_floor: Some(Cycles(100_000_000_000)),
            max_error_rate_ppm: 500_000,
            min_samples: 10,
        }
    }
}

/// Thresholds that raise an alert (recorded in the report) without stopping anything.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct MonitoringThresholds {
    #[n(0)]
    pub warn_error_rate_ppm: u32,
    #[n(1)]
    pub warn_cycles: Option<Cycles>,
    #[n(2)]
    pub warn_latency: Option<DurationNs>,
}

impl Default for MonitoringThresholds {
    fn default() -> Self {
        MonitoringThresholds {
            warn_error_rate_ppm: 100_000,
            warn_cycles: Some(Cycles(1_000_000_000_000)),
            warn_latency: Some(DurationNs::from_secs(30)),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum StopReason {
    #[n(0)]
    Deviations {
        #[n(0)]
        consecutive: u32,
    },
    #[n(1)]
    CyclesBelowFloor {
        #[cbor(n(0), with = "crate::cbor::principal")]
        canister: Principal,
        #[n(1)]
        cycles: Cycles,
        #[n(2)]
        floor: Cycles,
    },
    #[n(2)]
    ErrorRate {
        #[n(0)]
        rate_ppm: u32,
        #[n(1)]
        threshold_ppm: u32,
    },
}

impl StopReason {
    pub fn describe(&self) -> String {
        match self {
            StopReason::Deviations { consecutive } => {
                format!("{consecutive} consecutive steady-state checks out of tolerance")
            }
            StopReason::CyclesBelowFloor {
                canister,
                cycles,
                floor,
            } => format!("{canister} holds {cycles}, below the floor of {floor}"),
            StopReason::ErrorRate {
                rate_ppm,
                threshold_ppm,
            } => format!(
                "probe error rate {:.1}% above {:.1}%",
                *rate_ppm as f64 / 1e4,
                *threshold_ppm as f64 / 1e4
            ),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum Alert {
    #[n(0)]
    ErrorRate {
        #[n(0)]
        rate_ppm: u32,
    },
    #[n(1)]
    LowCycles {
        #[cbor(n(0), with = "crate::cbor::principal")]
        canister: Principal,
        #[n(1)]
        cycles: Cycles,
    },
    #[n(2)]
    SlowProbe {
        #[n(0)]
        latency: DurationNs,
    },
}

/// Running counts an experiment keeps for its stop conditions and alerts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Monitor {
    /// Steady-state probe calls while the fault is active.
    pub samples: u32,
    /// Of which the call failed.
    pub call_failures: u32,
    /// Current run of checks out of tolerance (any phase before rollback).
    pub consecutive_deviations: u32,
    /// Lowest balance seen per acted-on target.
    pub lowest_cycles: BTreeMap<Principal, Cycles>,
    pub slowest: DurationNs,
}

impl Monitor {
    pub fn record_check(
        &mut self,
        within: bool,
        call_failed: bool,
        during: bool,
        latency: Option<DurationNs>,
    ) {
        if during {
            self.samples += 1;
            if call_failed {
                self.call_failures += 1;
            }
        }
        self.consecutive_deviations = if within {
            0
        } else {
            self.consecutive_deviations + 1
        };
        if let Some(l) = latency {
            self.slowest = self.slowest.max(l);
        }
    }

    pub fn record_cycles(&mut self, canister: Principal, cycles: Cycles) {
        let e = self.lowest_cycles.entry(canister).or_insert(cycles);
        *e = (*e).min(cycles);
    }

    pub fn error_rate_ppm(&self) -> u32 {
        (self.call_failures as u64 * 1_000_000 / self.samples.max(1) as u64) as u32
    }
}

impl StopConditions {
    pub fn check(&self, m: &Monitor) -> Option<StopReason> {
        if let Some(floor) = self.cycles_floor {
            if let Some((canister, cycles)) = m.lowest_cycles.iter().find(|(_, c)| **c < floor) {
                return Some(StopReason::CyclesBelowFloor {
                    canister: *canister,
                    cycles: *cycles,
                    floor,
                });
            }
        }
        if self.max_consecutive_deviations > 0
            && m.consecutive_deviations >= self.max_consecutive_deviations
        {
            return Some(StopReason::Deviations {
                consecutive: m.consecutive_deviations,
            });
        }
        let rate = m.error_rate_ppm();
        if m.samples >= self.min_samples.max(1) && rate > self.max_error_rate_ppm {
            return Some(StopReason::ErrorRate {
                rate_ppm: rate,
                threshold_ppm: self.max_error_rate_ppm,
            });
        }
        None
    }
}

impl MonitoringThresholds {
    pub fn alerts(&self, m: &Monitor) -> Vec<Alert> {
        let mut out = Vec::new();
        if m.samples > 0 && m.error_rate_ppm() > self.warn_error_rate_ppm {
            out.push(Alert::ErrorRate {
                rate_ppm: m.error_rate_ppm(),
            });
        }
        if let Some(warn) = self.warn_cycles {
            for (c, cycles) in m.lowest_cycles.iter().filter(|(_, c)| **c < warn) {
                out.push(Alert::LowCycles {
                    canister: *c,
                    cycles: *cycles,
                });
            }
        }
        if let Some(warn) = self.warn_latency {
            if m.slowest > warn {
                out.push(Alert::SlowProbe { latency: m.slowest });
            }
        }
        out
    }
}
