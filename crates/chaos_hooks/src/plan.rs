//! Plan validation and caps. A plan is checked whole before anything changes: a refused plan
//! leaves the previous one (or none) in place.

use crate::types::{Fault, FaultPlan, HookCaps, HookError, TimestampNs, PPM_ALWAYS};

/// Hard ceilings no embedder can raise ([`HookCaps::clamped`]).
pub mod hard_limits {
    /// The output queue holds about 500 outstanding calls; a delayed call keeps one open per
    /// round trip, so more rounds only make the delay longer, never wider.
    pub const MAX_DELAY_ROUNDS: u32 = 500;
    /// An update message may execute 40B instructions; leave the endpoint room to run.
    pub const MAX_BURN_INSTRUCTIONS: u64 = 30_000_000_000;
    /// A query may execute 5B instructions: a query burns at most this much.
    pub const MAX_QUERY_BURN_INSTRUCTIONS: u64 = 2_000_000_000;
    /// The default `wasm_memory_limit` is 3 GiB (wasm32 heaps stop at 4 GiB).
    pub const MAX_BALLAST_BYTES: u64 = 3 << 30;
    /// A week: a plan is a dead man's switch, not a configuration.
    pub const MAX_PLAN_DURATION_NS: u64 = 7 * 24 * 3_600 * 1_000_000_000;
    /// Plan size bounds (decoded before authorization, so they also bound the work a stranger
    /// can cause).
    pub const MAX_FAULTS: usize = 32;
    pub const MAX_METHODS_PER_FAULT: usize = 64;
    pub const MAX_METHOD_NAME_LEN: usize = 256;
    pub const MAX_BLOCKED_CALLERS: usize = 256;
    pub const MAX_CORRUPTION_INTENSITY: u32 = 1_000;
}

impl Default for HookCaps {
    /// 50 rounds, 10B instructions per update, 512 MiB of ballast, 24 h plans.
    fn default() -> Self {
        Self {
            max_delay_rounds: 50,
            max_burn_instructions: 10_000_000_000,
            max_ballast_bytes: 512 << 20,
            max_plan_duration_ns: 24 * 3_600 * 1_000_000_000,
        }
    }
}

impl HookCaps {
    /// These caps, each lowered to its hard limit.
    pub fn clamped(self) -> Self {
        use hard_limits::*;
        Self {
            max_delay_rounds: self.max_delay_rounds.min(MAX_DELAY_ROUNDS),
            max_burn_instructions: self.max_burn_instructions.min(MAX_BURN_INSTRUCTIONS),
            max_ballast_bytes: self.max_ballast_bytes.min(MAX_BALLAST_BYTES),
            max_plan_duration_ns: self.max_plan_duration_ns.min(MAX_PLAN_DURATION_NS),
        }
    }
}

/// What the embedding canister declared at setup; plans are validated against it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Declared {
    /// Methods that call `guard`/`guard_query`; empty = undeclared (any name accepted).
    pub guarded_methods: Vec<String>,
    /// Methods that call `perturb`; empty = undeclared.
    pub perturbable_methods: Vec<String>,
    pub has_corruption: bool,
}

/// Checks `plan` against the caps and declarations at time `now_ns`.
pub fn validate(
    plan: &FaultPlan,
    now_ns: TimestampNs,
    caps: &HookCaps,
    declared: &Declared,
) -> Result<(), HookError> {
    use hard_limits::*;
    let invalid = |msg: String| Err(HookError::InvalidPlan(msg));
    let cap = |msg: String| Err(HookError::CapExceeded(msg));
    if plan.faults.is_empty() {
        return invalid("no faults: call chaos_hooks_clear to end faults".into());
    }
    if plan.faults.len() > MAX_FAULTS {
        return invalid(format!(
            "{} faults; at most {MAX_FAULTS}",
            plan.faults.len()
        ));
    }
    if plan.expires_at_ns <= now_ns {
        return invalid(format!(
            "expires_at_ns {} is not after the canister's time {now_ns}",
            plan.expires_at_ns
        ));
    }
    let duration = plan.expires_at_ns - now_ns;
    if duration > caps.max_plan_duration_ns {
        return cap(format!(
            "plan lasts {duration} ns; this canister allows {} ns",
            caps.max_plan_duration_ns
        ));
    }
    let mut seen_ballast = false;
    let mut seen_corrupt = false;
    for (i, fault) in plan.faults.iter().enumerate() {
        let at = |msg: String| format!("fault {i}: {msg}");
        if let Some(p) = probability(fault) {
            if p > PPM_ALWAYS {
                return invalid(at(format!("probability_ppm {p} > {PPM_ALWAYS}")));
            }
        }
        let allowed = match fault {
            Fault::Perturb { .. } => &declared.perturbable_methods,
            _ => &declared.guarded_methods,
        };
        check_methods(methods(fault), allowed).map_err(|m| HookError::InvalidPlan(at(m)))?;
        match fault {
            Fault::Delay { rounds, .. } => {
                if *rounds == 0 {
                    return invalid(at("Delay of 0 rounds".into()));
                }
                if *rounds > caps.max_delay_rounds {
                    return cap(at(format!(
                        "Delay of {rounds} rounds; at most {}",
                        caps.max_delay_rounds
                    )));
                }
            }
            Fault::Partition {
                blocked_callers, ..
            } => {
                if blocked_callers.is_empty() || blocked_callers.len() > MAX_BLOCKED_CALLERS {
                    return invalid(at(format!(
                        "Partition needs 1..={MAX_BLOCKED_CALLERS} blocked_callers"
                    )));
                }
            }
            Fault::BurnInstructions { instructions, .. } => {
                if *instructions == 0 {
                    return invalid(at("BurnInstructions of 0".into()));
                }
                if *instructions > caps.max_burn_instructions {
                    return cap(at(format!(
                        "burn of {instructions} instructions; at most {}",
                        caps.max_burn_instructions
                    )));
                }
            }
            Fault::Ballast { bytes } => {
                if std::mem::replace(&mut seen_ballast, true) {
                    return invalid(at("a second Ballast".into()));
                }
                if *bytes == 0 {
                    return invalid(at("Ballast of 0 bytes".into()));
                }
                if *bytes > caps.max_ballast_bytes {
                    return cap(at(format!(
                        "ballast of {bytes} bytes; at most {}",
                        caps.max_ballast_bytes
                    )));
                }
            }
            Fault::Corrupt { intensity } => {
                if std::mem::replace(&mut seen_corrupt, true) {
                    return invalid(at("a second Corrupt".into()));
                }
                if !declared.has_corruption {
                    return Err(HookError::NoCorruptionHook);
                }
                if *intensity == 0 || *intensity > MAX_CORRUPTION_INTENSITY {
                    return invalid(at(format!(
                        "Corrupt intensity {intensity}; use 1..={MAX_CORRUPTION_INTENSITY}"
                    )));
                }
            }
            Fault::Reject { .. } | Fault::Trap { .. } | Fault::Perturb { .. } => {}
        }
    }
    Ok(())
}

fn check_methods(methods: &[String], allowed: &[String]) -> Result<(), String> {
    use hard_limits::*;
    if methods.len() > MAX_METHODS_PER_FAULT {
        return Err(format!(
            "{} methods; at most {MAX_METHODS_PER_FAULT}",
            methods.len()
        ));
    }
    for m in methods {
        if m.is_empty() || m.len() > MAX_METHOD_NAME_LEN {
            return Err(format!(
                "method name of {} bytes; use 1..={MAX_METHOD_NAME_LEN}",
                m.len()
            ));
        }
        if !allowed.is_empty() && !allowed.contains(m) {
            return Err(format!(
                "unknown method {m:?}; this canister declares {allowed:?}"
            ));
        }
    }
    Ok(())
}

/// The methods a fault names (empty for plan-wide faults and for "every method").
pub fn methods(fault: &Fault) -> &[String] {
    match fault {
        Fault::Reject { methods, .. }
        | Fault::Trap { methods, .. }
        | Fault::Delay { methods, .. }
        | Fault::Partition { methods, .. }
        | Fault::Perturb { methods, .. }
        | Fault::BurnInstructions { methods, .. } => methods,
        Fault::Corrupt { .. } | Fault::Ballast { .. } => &[],
    }
}

fn probability(fault: &Fault) -> Option<u32> {
    match fault {
        Fault::Reject {
            probability_ppm, ..
        }
        | Fault::Trap {
            probability_ppm, ..
        }
        | Fault::Delay {
            probability_ppm, ..
        }
        | Fault::Perturb {
            probability_ppm, ..
        } => Some(*probability_ppm),
        _ => None,
    }
}

/// True when `fault` applies to `method` (an empty list means every method).
pub fn targets(fault: &Fault, method: &str) -> bool {
    let methods = methods(fault);
    methods.is_empty() || methods.iter().any(|m| m == method)
}

/// The ballast a plan asks for (0 without a `Ballast` fault).
pub fn ballast_bytes(plan: &FaultPlan) -> u64 {
    plan.faults
        .iter()
        .find_map(|f| match f {
            Fault::Ballast { bytes } => Some(*bytes),
            _ => None,
        })
        .unwrap_or(0)
}

/// The corruption intensity a plan asks for, if any.
pub fn corruption_intensity(plan: &FaultPlan) -> Option<u32> {
    plan.faults.iter().find_map(|f| match f {
        Fault::Corrupt { intensity } => Some(*intensity),
        _ => None,
    })
}

#[cfg(test)]
mod tests;
