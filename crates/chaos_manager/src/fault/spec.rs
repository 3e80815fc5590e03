//! The eight fault types' parameters and their validation against the registry.

use super::hooks::Ppm;
use super::profile::{is_method_name, Fleet, TargetView};
use super::{FaultError, FaultKind};
use ic_principal::Principal;
use minicbor::{Decode, Encode};
use std::collections::BTreeSet;

/// Most rounds a call may be delayed (≈ 1 to 2 minutes of rounds).
pub const MAX_DELAY_ROUNDS: u32 = 100;
/// Most instructions burnt per guarded call: half of the 40B update limit, so a burnt update
/// still completes (queries, capped at 5B, trap above that: that is the point).
pub const MAX_BURN_INSTRUCTIONS: u64 = 20_000_000_000;
/// Most ballast the hooks may allocate.
pub const MAX_BALLAST_BYTES: u64 = 1 << 30;
/// A squeezed `wasm_memory_limit` must be below the wasm32 heap to mean anything; 0 would
/// disable the limit altogether.
pub const MAX_SQUEEZE_BYTES: u64 = (4 << 30) - 1;
pub const MAX_METHODS: usize = 32;
pub const MAX_PARTITION_GROUPS: usize = 8;
pub const MAX_PARTITION_MEMBERS: usize = 32;
/// The hook contract's range for `Corrupt` (`chaos_hooks` refuses a plan above it).
pub const MAX_CORRUPT_INTENSITY: u32 = 1_000;

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct PartitionGroup {
    #[cbor(n(0), with = "crate::cbor::principals")]
    pub members: Vec<Principal>,
}

/// How a canister is made to fail (service failure, and the failed dependency of a cascade).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum FailureMode {
    /// `stop_canister`: every call is rejected until `start_canister`.
    #[n(0)]
    Stop,
    /// Hook: guarded calls are rejected with this probability.
    #[n(1)]
    Reject {
        #[n(0)]
        methods: Vec<String>,
        #[n(1)]
        probability: Ppm,
    },
    /// Hook: guarded calls trap (state changes of the call are discarded) with this probability.
    #[n(2)]
    Trap {
        #[n(0)]
        methods: Vec<String>,
        #[n(1)]
        probability: Ppm,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum ExhaustionMode {
    /// Raise the freezing threshold until the target's balance no longer covers it: the
    /// target is frozen (rejects every call) without spending a cycle.
    #[n(0)]
    Freeze {
        #[n(0)]
        freezing_threshold_secs: u64,
    },
    /// Lower `wasm_memory_limit`: update calls, timers and upgrades fail once the heap is
    /// above it (queries keep answering).
    #[n(1)]
    SqueezeMemory {
        #[n(0)]
        wasm_memory_limit_bytes: u64,
    },
    /// Hook: hold this much heap as ballast.
    #[n(2)]
    Ballast {
        #[n(0)]
        bytes: u64,
    },
    /// Hook: burn instructions in guarded calls.
    #[n(3)]
    BurnInstructions {
        #[n(0)]
        methods: Vec<String>,
        #[n(1)]
        instructions: u64,
    },
}

/// A fault with its parameters. Tags are stable.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum FaultSpec {
    /// Each hooked target rejects calls from the members of the other groups.
    #[n(0)]
    NetworkPartition {
        #[n(0)]
        groups: Vec<PartitionGroup>,
        #[n(1)]
        methods: Vec<String>,
    },
    #[n(1)]
    ResourceExhaustion {
        #[cbor(n(0), with = "crate::cbor::principal")]
        target: Principal,
        #[n(1)]
        mode: ExhaustionMode,
    },
    #[n(2)]
    ServiceFailure {
        #[cbor(n(0), with = "crate::cbor::principal")]
        target: Principal,
        #[n(1)]
        mode: FailureMode,
    },
    #[n(3)]
    LatencyInjection {
        #[cbor(n(0), with = "crate::cbor::principal")]
        target: Principal,
        #[n(1)]
        methods: Vec<String>,
        #[n(2)]
        rounds: u32,
        #[n(3)]
        probability: Ppm,
    },
    /// Snapshot first (mandatory), then the target's own corruption hook; the target's
    /// invariant method is watched to see whether and how fast it notices.
    #[n(4)]
    DataCorruption {
        #[cbor(n(0), with = "crate::cbor::principal")]
        target: Principal,
        #[n(1)]
        intensity: u32,
    },
    /// Calls the target's declared privileged methods as an unprivileged caller.
    /// `methods` empty = every declared privileged method.
    #[n(5)]
    SecurityBreach {
        #[cbor(n(0), with = "crate::cbor::principal")]
        target: Principal,
        #[n(1)]
        methods: Vec<String>,
    },
    /// Fail `dependency` and watch how each dependent's health degrades.
    /// `dependents` empty = every declared dependent of `dependency`.
    #[n(6)]
    CascadingFailure {
        #[cbor(n(0), with = "crate::cbor::principal")]
        dependency: Principal,
        #[n(1)]
        mode: FailureMode,
        #[cbor(n(2), with = "crate::cbor::principals")]
        dependents: Vec<Principal>,
    },
    /// Perturb `methods`' answers; the consumers' probes detect it or not.
    /// `consumers` empty = every declared dependent of `target`.
    #[n(7)]
    ByzantineFault {
        #[cbor(n(0), with = "crate::cbor::principal")]
        target: Principal,
        #[n(1)]
        methods: Vec<String>,
        #[n(2)]
        probability: Ppm,
        #[cbor(n(3), with = "crate::cbor::principals")]
        consumers: Vec<Principal>,
    },
}

/// Which registered targets a fault touches.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BlastRadius {
    /// Targets the experiment acts on (settings, stop, snapshot, hook plan, access probe).
    pub acted_on: BTreeSet<Principal>,
    /// Registered targets degraded without being acted on: declared dependents, partition
    /// members without hooks.
    pub affected: BTreeSet<Principal>,
}

impl BlastRadius {
    pub fn touched(&self) -> BTreeSet<Principal> {
        self.acted_on.union(&self.affected).copied().collect()
    }
}

impl FaultSpec {
    pub fn kind(&self) -> FaultKind {
        match self {
            FaultSpec::NetworkPartition { .. } => FaultKind::NetworkPartition,
            FaultSpec::ResourceExhaustion { .. } => FaultKind::ResourceExhaustion,
            FaultSpec::ServiceFailure { .. } => FaultKind::ServiceFailure,
            FaultSpec::LatencyInjection { .. } => FaultKind::LatencyInjection,
            FaultSpec::DataCorruption { .. } => FaultKind::DataCorruption,
            FaultSpec::SecurityBreach { .. } => FaultKind::SecurityBreach,
            FaultSpec::CascadingFailure { .. } => FaultKind::CascadingFailure,
            FaultSpec::ByzantineFault { .. } => FaultKind::ByzantineFault,
        }
    }

    /// Destructive faults may lose or falsify state, run privileged code, or leave a target
    /// down if their rollback fails; on a critical target they need the council's approval.
    /// Hook-only faults that expire by themselves and change no state are not destructive.
    pub fn is_destructive(&self) -> bool {
        match self {
            FaultSpec::NetworkPartition { .. } | FaultSpec::LatencyInjection { .. } => false,
            FaultSpec::ServiceFailure { mode, .. } => *mode == FailureMode::Stop,
            FaultSpec::ResourceExhaustion { mode, .. } => matches!(
                mode,
                ExhaustionMode::Freeze { .. } | ExhaustionMode::SqueezeMemory { .. }
            ),
            FaultSpec::DataCorruption { .. }
            | FaultSpec::SecurityBreach { .. }
            | FaultSpec::CascadingFailure { .. }
            | FaultSpec::ByzantineFault { .. } => true,
        }
    }

    /// True when everything the fault changes undoes itself (hook plans expire) or nothing is
    /// changed: only then may an experiment run with the rollback strategy `never`.
    pub fn undoes_itself(&self) -> bool {
        match self {
            FaultSpec::NetworkPartition { .. }
            | FaultSpec::LatencyInjection { .. }
            | FaultSpec::SecurityBreach { .. }
            | FaultSpec::ByzantineFault { .. } => true,
            FaultSpec::ServiceFailure { mode, .. } | FaultSpec::CascadingFailure { mode, .. } => {
                *mode != FailureMode::Stop
            }
            FaultSpec::ResourceExhaustion { mode, .. } => matches!(
                mode,
                ExhaustionMode::Ballast { .. } | ExhaustionMode::BurnInstructions { .. }
            ),
            FaultSpec::DataCorruption { .. } => false,
        }
    }

    /// Checks the parameters, the registry and least privilege; returns the blast radius.
    pub fn validate(&self, fleet: &dyn Fleet) -> Result<BlastRadius, FaultError> {
        let kind = self.kind();
        let mut radius = BlastRadius::default();
        match self {
            FaultSpec::NetworkPartition { groups, methods } => {
                check_methods("methods", methods)?;
                return partition_radius(fleet, groups);
            }
            FaultSpec::ResourceExhaustion { target, mode } => {
                let needs_hooks = check_exhaustion(mode)?;
                acted(fleet, &mut radius, target, kind, needs_hooks)?;
            }
            FaultSpec::ServiceFailure { target, mode } => {
                let needs_hooks = check_failure_mode(mode)?;
                acted(fleet, &mut radius, target, kind, needs_hooks)?;
            }
            FaultSpec::LatencyInjection {
                target,
                methods,
                rounds,
                probability,
            } => {
                check_methods("methods", methods)?;
                check_probability("probability_ppm", *probability)?;
                if !(1..=MAX_DELAY_ROUNDS).contains(rounds) {
                    return Err(invalid(
                        "rounds",
                        format!("must be 1 to {MAX_DELAY_ROUNDS} rounds"),
                    ));
                }
                acted(fleet, &mut radius, target, kind, true)?;
            }
            FaultSpec::DataCorruption { target, intensity } => {
                if !(1..=MAX_CORRUPT_INTENSITY).contains(intensity) {
                    return Err(invalid(
                        "intensity",
                        format!("must be 1 to {MAX_CORRUPT_INTENSITY} (the target's corruption hook scales it)"),
                    ));
                }
                let t = acted(fleet, &mut radius, target, kind, true)?;
                if t.profile.invariant_method.is_none() {
                    return Err(FaultError::NoInvariantMethod { canister: *target });
                }
            }
            FaultSpec::SecurityBreach { target, methods } => {
                check_methods("methods", methods)?;
                let t = acted(fleet, &mut radius, target, kind, false)?;
                if t.profile.privileged_methods.is_empty() {
                    return Err(FaultError::NoPrivilegedMethods { canister: *target });
                }
                if let Some(m) = methods
                    .iter()
                    .find(|m| !t.profile.privileged_methods.contains(m))
                {
                    return Err(FaultError::UndeclaredMethod {
                        canister: *target,
                        method: m.clone(),
                    });
                }
                // Probing only reads how the target answers: no dependent is degraded.
                return Ok(radius);
            }
            FaultSpec::CascadingFailure {
                dependency,
                mode,
                dependents,
            } => {
                let needs_hooks = check_failure_mode(mode)?;
                let t = acted(fleet, &mut radius, dependency, kind, needs_hooks)?;
                watched_dependents(fleet, &t, dependents, "dependents")?;
            }
            FaultSpec::ByzantineFault {
                target,
                methods,
                probability,
                consumers,
            } => {
                check_methods("methods", methods)?;
                if methods.is_empty() {
                    return Err(invalid(
                        "methods",
                        "name the methods whose answers are perturbed (at least one)".into(),
                    ));
                }
                check_probability("probability_ppm", *probability)?;
                let t = acted(fleet, &mut radius, target, kind, true)?;
                watched_dependents(fleet, &t, consumers, "consumers")?;
            }
        }
        add_dependents(fleet, &mut radius)?;
        Ok(radius)
    }
}

pub(crate) fn invalid(field: &str, reason: String) -> FaultError {
    FaultError::InvalidParameter {
        field: field.to_string(),
        reason,
    }
}

fn check_methods(field: &str, methods: &[String]) -> Result<(), FaultError> {
    if methods.len() > MAX_METHODS {
        return Err(invalid(field, format!("at most {MAX_METHODS} methods")));
    }
    if let Some(m) = methods.iter().find(|m| !is_method_name(m)) {
        return Err(invalid(
            field,
            format!("`{m}` is not a Candid method name of 1 to 64 bytes ([A-Za-z0-9_])"),
        ));
    }
    Ok(())
}

fn check_probability(field: &str, p: Ppm) -> Result<(), FaultError> {
    if p.is_valid() {
        Ok(())
    } else {
        Err(invalid(
            field,
            "must be 1 to 1,000,000 parts per million (1,000,000 = every call)".into(),
        ))
    }
}

/// Returns whether the mode needs the hooks.
fn check_failure_mode(mode: &FailureMode) -> Result<bool, FaultError> {
    match mode {
        FailureMode::Stop => Ok(false),
        FailureMode::Reject {
            methods,
            probability,
        }
        | FailureMode::Trap {
            methods,
            probability,
        } => {
            check_methods("mode.methods", methods)?;
            check_probability("mode.probability_ppm", *probability)?;
            Ok(true)
        }
    }
}

fn check_exhaustion(mode: &ExhaustionMode) -> Result<bool, FaultError> {
    match mode {
        ExhaustionMode::Freeze {
            freezing_threshold_secs,
        } => {
            if *freezing_threshold_secs == 0 {
                return Err(invalid(
                    "freezing_threshold_secs",
                    "must be above the target's current threshold and high enough that its balance no longer covers it".into(),
                ));
            }
            Ok(false)
        }
        ExhaustionMode::SqueezeMemory {
            wasm_memory_limit_bytes,
        } => {
            if !(1..=MAX_SQUEEZE_BYTES).contains(wasm_memory_limit_bytes) {
                return Err(invalid(
                    "wasm_memory_limit_bytes",
                    "must be 1 byte to just under 4 GiB (0 would remove the limit instead of squeezing); choose a value near the target's current heap size".into(),
                ));
            }
            Ok(false)
        }
        ExhaustionMode::Ballast { bytes } => {
            if !(1..=MAX_BALLAST_BYTES).contains(bytes) {
                return Err(invalid(
                    "bytes",
                    format!("ballast must be 1 byte to {MAX_BALLAST_BYTES} bytes (1 GiB)"),
                ));
            }
            Ok(true)
        }
        ExhaustionMode::BurnInstructions {
            methods,
            instructions,
        } => {
            check_methods("methods", methods)?;
            if !(1..=MAX_BURN_INSTRUCTIONS).contains(instructions) {
                return Err(invalid(
                    "instructions",
                    format!(
                        "must be 1 to {MAX_BURN_INSTRUCTIONS} per call (half the update limit)"
                    ),
                ));
            }
            Ok(true)
        }
    }
}

fn registered(fleet: &dyn Fleet, canister: &Principal) -> Result<TargetView, FaultError> {
    fleet.target(canister).ok_or(FaultError::UnknownTarget {
        canister: *canister,
    })
}

/// A target the fault acts on: registered, not protected, the fault type allowed, hooks
/// embedded when the mechanism needs them.
fn acted(
    fleet: &dyn Fleet,
    radius: &mut BlastRadius,
    canister: &Principal,
    kind: FaultKind,
    needs_hooks: bool,
) -> Result<TargetView, FaultError> {
    let t = registered(fleet, canister)?;
    if t.protected {
        return Err(FaultError::Protected {
            canister: *canister,
        });
    }
    if !t.profile.allows(kind) {
        return Err(FaultError::NotAllowed {
            canister: *canister,
            kind,
        });
    }
    if needs_hooks && !t.profile.hooks {
        return Err(FaultError::NoHooks {
            canister: *canister,
            kind,
        });
    }
    radius.acted_on.insert(*canister);
    Ok(t)
}

/// The declared dependents of every acted-on target are degraded with it.
fn add_dependents(fleet: &dyn Fleet, radius: &mut BlastRadius) -> Result<(), FaultError> {
    for canister in radius.acted_on.clone() {
        let t = registered(fleet, &canister)?;
        for d in &t.profile.dependents {
            if radius.acted_on.contains(d) {
                continue;
            }
            if let Some(dt) = fleet.target(d) {
                if dt.protected {
                    return Err(FaultError::ProtectedDependent {
                        canister,
                        dependent: *d,
                    });
                }
                radius.affected.insert(*d);
            }
        }
    }
    Ok(())
}

/// Dependents named for watching must be declared dependents and registered (their probe
/// method is read from the registry).
fn watched_dependents(
    fleet: &dyn Fleet,
    of: &TargetView,
    chosen: &[Principal],
    field: &str,
) -> Result<(), FaultError> {
    if of.profile.dependents.is_empty() {
        return Err(FaultError::NoDependents {
            canister: of.canister,
        });
    }
    if chosen.len() > MAX_PROFILE_WATCH {
        return Err(invalid(field, format!("at most {MAX_PROFILE_WATCH}")));
    }
    for d in chosen {
        if !of.profile.dependents.contains(d) {
            return Err(FaultError::NotADependent {
                dependency: of.canister,
                dependent: *d,
            });
        }
    }
    for d in resolve_watched(of, chosen) {
        registered(fleet, &d)?;
    }
    Ok(())
}

const MAX_PROFILE_WATCH: usize = super::profile::MAX_PROFILE_ENTRIES;

/// The dependents a cascade or byzantine fault watches: the chosen ones, or every declared one.
pub(crate) fn resolve_watched(of: &TargetView, chosen: &[Principal]) -> Vec<Principal> {
    if chosen.is_empty() {
        of.profile.dependents.clone()
    } else {
        chosen.to_vec()
    }
}

fn partition_radius(
    fleet: &dyn Fleet,
    groups: &[PartitionGroup],
) -> Result<BlastRadius, FaultError> {
    if !(2..=MAX_PARTITION_GROUPS).contains(&groups.len()) {
        return Err(invalid(
            "groups",
            format!("a partition needs 2 to {MAX_PARTITION_GROUPS} groups"),
        ));
    }
    let mut seen = BTreeSet::new();
    for g in groups {
        if g.members.is_empty() {
            return Err(invalid(
                "groups",
                "a group is empty: remove it or add a member".into(),
            ));
        }
        for m in &g.members {
            if !seen.insert(*m) {
                return Err(invalid(
                    "groups",
                    format!("{m} is in two groups: a canister belongs to one side of a partition"),
                ));
            }
        }
    }
    if seen.len() > MAX_PARTITION_MEMBERS {
        return Err(invalid(
            "groups",
            format!("at most {MAX_PARTITION_MEMBERS} members in all"),
        ));
    }
    let mut radius = BlastRadius::default();
    for m in &seen {
        let Some(t) = fleet.target(m) else {
            // Not registered (a user's canister, an external service): only blocked, never acted on.
            continue;
        };
        if t.protected {
            return Err(FaultError::Protected { canister: *m });
        }
        if t.profile.hooks && t.profile.allows(FaultKind::NetworkPartition) {
            radius.acted_on.insert(*m);
        } else {
            radius.affected.insert(*m);
        }
    }
    if radius.acted_on.is_empty() {
        return Err(invalid(
            "groups",
            "no member is a registered target that embeds chaos_hooks and allows network_partition: nothing could enforce the partition".into(),
        ));
    }
    add_dependents(fleet, &mut radius)?;
    Ok(radius)
}
