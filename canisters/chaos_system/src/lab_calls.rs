//! The calls experiments make besides the management canister's: the target's cooperative hook
//! control methods (`candid/chaos_hooks.did`) and chaos_probe (`candid/chaos_probe.did`), every
//! one bounded-wait. The Candid types mirror those files field for field (the canisters are
//! not linked in: their exported methods would become ours). What a reply means is decided by
//! the pure functions here ([`hook_plan`], [`hook_outcome`], [`reading_of`],
//! [`access_outcome`]), tested natively.
//!
//! Every reply of chaos_probe or of a target's hooks is decoded with [`decode_reply`]: a
//! decoding quota proportional to the reply, a skipping quota and a bound on the type table,
//! so a hostile or broken answer (a `vec null` of 2^31 elements, deep nesting) is a failed
//! step, never a timer that runs out of instructions.

use crate::effects::call_failure;
use candid::de::DecoderConfig;
use candid::{CandidType, Deserialize, Nat, Principal, Reserved};
use chaos_manager::effect::{CallFailure, Outcome, RejectCode};
use chaos_manager::fault::{FaultPlan as CorePlan, HookFault, ProbeReading};
use chaos_manager::hardening::AccessProbeEvidence;
use chaos_manager::DurationNs;
use ic_cdk::call::Call;

/// Seconds chaos_system waits for a target's hook control method.
const HOOK_TIMEOUT_SECS: u32 = 60;
/// Seconds chaos_probe waits for the target in a health probe.
const PROBE_TARGET_TIMEOUT_SECS: u32 = 30;
/// Seconds chaos_system waits for chaos_probe (its own call of the target, ≤ 30 s for a
/// health probe and ≤ 2 × 10 s for an access probe, plus rounds).
const PROBE_TIMEOUT_SECS: u32 = 120;

/// Candid cost units a reply may spend on values it skips (extra fields and arguments,
/// `reserved` payloads).
const SKIPPING_QUOTA: usize = 10_000;
/// Type-table entries a reply may declare.
const MAX_TYPE_LEN: usize = 256;
/// The decoding quota never exceeds this (a reply is at most 2 MiB: 10 × that, plus room for
/// skipped values, which cost 50 × in the decoding quota).
const MAX_DECODING_QUOTA: usize = 32 << 20;

/// The decoder configuration for a reply of `len` bytes: work ~10 × its length (plus what the
/// skipping quota allows for skipped values), at most [`MAX_DECODING_QUOTA`].
pub fn reply_config(len: usize) -> DecoderConfig {
    let mut config = DecoderConfig::new();
    config
        .set_decoding_quota(
            len.saturating_mul(10)
                .saturating_add(50 * SKIPPING_QUOTA)
                .min(MAX_DECODING_QUOTA),
        )
        .set_skipping_quota(SKIPPING_QUOTA)
        .set_max_type_len(MAX_TYPE_LEN)
        .set_full_error_message(false);
    config
}

/// Decodes a reply of chaos_probe, of a target's hooks or of a target (one value) within
/// [`reply_config`]; the error is Candid's, short.
pub fn decode_reply<T>(reply: &[u8]) -> Result<T, String>
where
    T: CandidType + for<'de> Deserialize<'de>,
{
    candid::decode_one_with_config(reply, &reply_config(reply.len())).map_err(|e| e.to_string())
}

/// Whether a target's reply of unknown type is well-formed Candid whose values can be walked
/// within a quota proportional to its length (every value skipped: the skipping quota is
/// ~10 × the length here, the decoding quota 50 × that, as Candid charges skipped values).
fn well_formed(reply: &[u8]) -> Result<(), String> {
    let budget = reply
        .len()
        .saturating_mul(10)
        .saturating_add(SKIPPING_QUOTA)
        .min(MAX_DECODING_QUOTA);
    let mut config = DecoderConfig::new();
    config
        .set_decoding_quota(budget.saturating_mul(50))
        .set_skipping_quota(budget)
        .set_max_type_len(MAX_TYPE_LEN)
        .set_full_error_message(false);
    candid::decode_args_with_config::<()>(reply, &config).map_err(|e| e.to_string())
}

// ---------------------------------------------------------------- candid/chaos_hooks.did

/// The hooks' own Candid types (the crate's pure part, no canister exports).
pub use chaos_hooks::{Fault, FaultPlan, HookError, HookResult};

/// The core's plan as `chaos_hooks_set_plan` receives it, one field for one field.
pub fn hook_plan(plan: &CorePlan) -> FaultPlan {
    FaultPlan {
        plan_id: plan.plan_id,
        expires_at_ns: plan.expires_at.0,
        seed: plan.seed,
        faults: plan
            .faults
            .iter()
            .map(|f| match f.clone() {
                HookFault::Reject {
                    methods,
                    probability,
                } => Fault::Reject {
                    methods,
                    probability_ppm: probability.0,
                },
                HookFault::Trap {
                    methods,
                    probability,
                } => Fault::Trap {
                    methods,
                    probability_ppm: probability.0,
                },
                HookFault::Delay {
                    methods,
                    rounds,
                    probability,
                } => Fault::Delay {
                    methods,
                    rounds,
                    probability_ppm: probability.0,
                },
                HookFault::Partition {
                    blocked_callers,
                    methods,
                } => Fault::Partition {
                    blocked_callers,
                    methods,
                },
                HookFault::Perturb {
                    methods,
                    probability,
                } => Fault::Perturb {
                    methods,
                    probability_ppm: probability.0,
                },
                HookFault::Corrupt { intensity } => Fault::Corrupt { intensity },
                HookFault::BurnInstructions {
                    methods,
                    instructions,
                } => Fault::BurnInstructions {
                    methods,
                    instructions,
                },
                HookFault::Ballast { bytes } => Fault::Ballast { bytes },
            })
            .collect(),
    }
}

/// What a hook control method's `HookResult` means for the step.
pub fn hook_outcome(method: &str, canister: Principal, result: HookResult) -> Outcome {
    let why = match result {
        Ok(()) => return Outcome::Done,
        Err(HookError::NotChaosSystem) => format!(
            "the hooks of {canister} do not name chaos_system: a controller calls chaos_hooks_configure(opt principal \"{}\")",
            suite_text()
        ),
        Err(HookError::NotConfigured) => format!(
            "the hooks of {canister} name no chaos_system principal: a controller calls chaos_hooks_configure(opt principal \"{}\")",
            suite_text()
        ),
        Err(HookError::NotController) => "refused: not a controller".into(),
        Err(HookError::InvalidPlan(t)) => format!("the plan was refused: {t}"),
        Err(HookError::InvalidConfig(t)) => format!("the hooks' configuration is unusable: {t}"),
        Err(HookError::NoCorruptionHook) => {
            "the target registered no corruption function: data_corruption cannot run on it".into()
        }
        Err(HookError::CapExceeded(t)) => format!("above the target's caps: {t}"),
    };
    Outcome::failed(
        RejectCode::CanisterReject,
        format!("{method} on {canister}: {why}"),
    )
}

fn suite_text() -> String {
    #[cfg(target_arch = "wasm32")]
    {
        ic_cdk::api::canister_self().to_text()
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        "<chaos_system id>".to_string()
    }
}

async fn hook_call(canister: Principal, method: &str, call: Call<'_, '_>) -> Outcome {
    match call.change_timeout(HOOK_TIMEOUT_SECS).await {
        Ok(reply) => match decode_reply::<HookResult>(&reply) {
            Ok(result) => hook_outcome(method, canister, result),
            Err(e) => Outcome::failed(
                RejectCode::Local,
                format!("{method} on {canister} answered something other than HookResult: {e}"),
            ),
        },
        Err(e) => call_failure(e),
    }
}

/// `chaos_hooks_set_plan` (bounded wait); setting the same plan again is a no-op.
pub async fn set_plan(canister: Principal, plan: &CorePlan) -> Outcome {
    let arg = hook_plan(plan);
    let call = Call::bounded_wait(canister, "chaos_hooks_set_plan").with_arg(arg);
    hook_call(canister, "chaos_hooks_set_plan", call).await
}

/// `chaos_hooks_clear` (bounded wait; idempotent).
pub async fn clear(canister: Principal) -> Outcome {
    let call = Call::bounded_wait(canister, "chaos_hooks_clear");
    hook_call(canister, "chaos_hooks_clear", call).await
}

// ---------------------------------------------------------------- candid/chaos_probe.did

/// chaos_probe's own Candid types: its `api.rs` compiled here (the canister crate cannot be
/// linked in: its exported methods would become ours).
#[path = "../../chaos_probe/src/api.rs"]
#[allow(dead_code)] // the probe's own InitArg, ProbeStatus ... are not called from here
mod probe_api;
pub use probe_api::{
    AccessResult, AccessVerdict, CallOutcome, CandidMetadata, MethodProbe, ProbeAccessArgs,
    ProbeError, ProbeHealthArgs, ProbeResult,
};

fn code_of(raw: u32) -> RejectCode {
    match raw {
        1 => RejectCode::SysFatal,
        2 => RejectCode::SysTransient,
        3 => RejectCode::DestinationInvalid,
        4 => RejectCode::CanisterReject,
        5 => RejectCode::CanisterError,
        6 => RejectCode::SysUnknown,
        _ => RejectCode::Local,
    }
}

/// chaos_probe's own refusal, as a failed step. Busy and unsent calls are transient.
pub fn probe_error(e: ProbeError) -> CallFailure {
    let (code, message) = match e {
        ProbeError::Unauthorized { caller } => (
            RejectCode::Local,
            format!("chaos_probe refused {caller}: install or upgrade it with record {{ chaos_system = principal \"{caller}\" }}"),
        ),
        ProbeError::InvalidArgument { reason } => {
            (RejectCode::Local, format!("chaos_probe: invalid argument: {reason}"))
        }
        ProbeError::Busy { in_flight, limit, .. } => (
            RejectCode::SysTransient,
            format!("chaos_probe is busy ({in_flight} of {limit} call slots held)"),
        ),
        ProbeError::InsufficientCycles { available, required } => (
            RejectCode::SysTransient,
            format!("chaos_probe lacks cycles ({available} available, {required} required): top it up"),
        ),
        ProbeError::CallNotSent { reason } => {
            (RejectCode::SysTransient, format!("chaos_probe could not send the call: {reason}"))
        }
        ProbeError::ProbeIsController { target } => (
            RejectCode::Local,
            format!("chaos_probe is a controller of {target}: its results would be meaningless; remove it from the controllers"),
        ),
        ProbeError::ManagementRejected { method, code, message } => {
            (code_of(code), format!("chaos_probe: {method} rejected: {message}"))
        }
        ProbeError::UnexpectedReply { method, reason } => {
            (RejectCode::Local, format!("chaos_probe: unexpected {method} reply: {reason}"))
        }
    };
    CallFailure { code, message }
}

/// The record fields a reading takes from a record answer (every one optional: Candid decodes
/// an absent field as `null`, and a present `nat64` / `bool` into the `opt`).
#[derive(CandidType, Deserialize, Default)]
struct ReadingFields {
    operation_count: Option<u64>,
    refreshes: Option<u64>,
    ok: Option<bool>,
    healthy: Option<bool>,
}

/// What a reply says, without knowing the method's type:
/// - `variant { Ok; Err }` (an invariant check: demo_vault's `check_invariants`): the invariant
///   holds on `Ok` with a `null` payload, is broken on `Err` (any payload);
/// - `variant { Ok : nat64 | nat; Err }`: the value on `Ok`, the invariant broken on `Err`;
/// - `nat64` / `nat`: the value (a supply, a balance);
/// - `bool`: whether the invariant holds;
/// - a record: `operation_count` (else `refreshes`) is the value, `ok` (vault_consumer `health`)
///   else `healthy` (vault_consumer `chaos_state_probe`) whether the invariant holds.
///
/// Anything else well-formed: a reading with neither (only `Answers` and latency tolerances
/// can judge it). A reply that is not well-formed Candid, or costs more to walk than a quota
/// proportional to its length (see [`well_formed`]), is an error: the probe failed.
pub fn reply_reading(reply: &[u8]) -> Result<(Option<u64>, Option<bool>), String> {
    well_formed(reply)?;
    if let Ok(r) = decode_reply::<Result<(), String>>(reply) {
        return Ok((None, Some(r.is_ok())));
    }
    if let Ok(r) = decode_reply::<Result<(), Reserved>>(reply) {
        return Ok((None, Some(r.is_ok())));
    }
    if let Ok(r) = decode_reply::<Result<u64, Reserved>>(reply) {
        return Ok(match r {
            Ok(v) => (Some(v), None),
            Err(_) => (None, Some(false)),
        });
    }
    if let Ok(Ok(v)) = decode_reply::<Result<Nat, Reserved>>(reply) {
        return Ok((Some(u64::try_from(v.0).unwrap_or(u64::MAX)), None));
    }
    if let Ok(v) = decode_reply::<u64>(reply) {
        return Ok((Some(v), None));
    }
    if let Ok(v) = decode_reply::<Nat>(reply) {
        return Ok((Some(u64::try_from(v.0).unwrap_or(u64::MAX)), None));
    }
    if let Ok(b) = decode_reply::<bool>(reply) {
        return Ok((None, Some(b)));
    }
    if let Ok(f) = decode_reply::<ReadingFields>(reply) {
        return Ok((f.operation_count.or(f.refreshes), f.ok.or(f.healthy)));
    }
    Ok((None, None))
}

/// A `probe_health` answer as a reading; a rejected call, or an answer that is not well-formed
/// Candid within the quota, is a failed probe.
pub fn reading_of(result: Result<ProbeResult, ProbeError>) -> Result<ProbeReading, CallFailure> {
    let r = result.map_err(probe_error)?;
    match r.outcome {
        CallOutcome::Rejected { code, message } => Err(CallFailure {
            code: code_of(code),
            message,
        }),
        CallOutcome::Replied { reply, truncated } => {
            let (value, invariant_holds) = if truncated {
                (None, None)
            } else {
                reply_reading(&reply).map_err(|e| CallFailure {
                    code: RejectCode::Local,
                    message: format!(
                        "the answer ({} bytes) is not Candid that can be read within the decoding quota: {e}",
                        reply.len()
                    ),
                })?
            };
            Ok(ProbeReading {
                value,
                latency: DurationNs(r.latency_ns),
                invariant_holds,
            })
        }
    }
}

/// A `probe_access` answer: the methods that accepted the unprivileged caller, and those whose
/// verdict is inconclusive (the call never reached its guard: an argument that does not
/// decode, a system reject, a timeout), which say nothing about access control and count
/// neither way. Only when no method gave a conclusive verdict does the step fail (nothing was
/// learned); an accepting method is never dropped because another one was inconclusive.
pub fn access_outcome(result: Result<Vec<AccessResult>, ProbeError>) -> Outcome {
    let results = match result {
        Ok(r) => r,
        Err(e) => {
            return Outcome::Failed {
                failure: probe_error(e),
            }
        }
    };
    let accepted: Vec<String> = results
        .iter()
        .filter(|r| r.verdict == AccessVerdict::Accepted)
        .map(|r| r.method.clone())
        .collect();
    let inconclusive: Vec<String> = results
        .iter()
        .filter(|r| r.verdict == AccessVerdict::Inconclusive)
        .map(|r| inconclusive_entry(&r.method, &r.message))
        .collect();
    if !results.is_empty() && inconclusive.len() == results.len() {
        return Outcome::failed(
            RejectCode::Local,
            format!(
                "access probe inconclusive for every method (the calls carry no arguments: probe methods taking none or only opt ones): {}",
                inconclusive.join(", ")
            ),
        );
    }
    Outcome::AccessProbed {
        accepted,
        inconclusive,
    }
}

/// Bytes kept of the reason a method's access verdict was inconclusive.
const MAX_INCONCLUSIVE_REASON_BYTES: usize = 200;

/// `"method: why"`, the reason cut to [`MAX_INCONCLUSIVE_REASON_BYTES`].
fn inconclusive_entry(method: &str, message: &str) -> String {
    format!(
        "{method}: {}",
        chaos_api::truncate_text(message, MAX_INCONCLUSIVE_REASON_BYTES)
    )
}

/// chaos_probe calls `target.method()` (no arguments) as a neutral principal.
pub async fn probe_via(probe: Principal, target: Principal, method: &str) -> Outcome {
    let args = ProbeHealthArgs {
        target,
        method: method.to_string(),
        arg: None,
        timeout_secs: Some(PROBE_TARGET_TIMEOUT_SECS),
    };
    let reply = Call::bounded_wait(probe, "probe_health")
        .change_timeout(PROBE_TIMEOUT_SECS)
        .with_arg(args)
        .await;
    let result = match reply {
        Ok(r) => decode_reply::<Result<ProbeResult, ProbeError>>(&r),
        Err(e) => return call_failure(e),
    };
    match result {
        Ok(r) => match reading_of(r) {
            Ok(reading) => Outcome::ProbeRead { reading },
            Err(failure) => Outcome::Failed { failure },
        },
        Err(e) => Outcome::failed(
            RejectCode::Local,
            format!("chaos_probe.probe_health answered an unexpected type: {e}"),
        ),
    }
}

/// chaos_probe calls each privileged method (no arguments) as an unprivileged caller.
pub async fn access_probe(probe: Principal, target: Principal, methods: &[String]) -> Outcome {
    let args = ProbeAccessArgs {
        target,
        methods: methods
            .iter()
            .map(|m| MethodProbe {
                method: m.clone(),
                arg: None,
            })
            .collect(),
    };
    let reply = Call::bounded_wait(probe, "probe_access")
        .change_timeout(PROBE_TIMEOUT_SECS)
        .with_arg(args)
        .await;
    match reply {
        Ok(r) => match decode_reply::<Result<Vec<AccessResult>, ProbeError>>(&r) {
            Ok(result) => access_outcome(result.map(|results| {
                // Only the methods asked about count (chaos_probe echoes their names).
                results
                    .into_iter()
                    .filter(|r| methods.contains(&r.method))
                    .collect()
            })),
            Err(e) => Outcome::failed(
                RejectCode::Local,
                format!("chaos_probe.probe_access answered an unexpected type: {e}"),
            ),
        },
        Err(e) => call_failure(e),
    }
}

/// Hardening evidence (IC-CTRL-19): whether the target publishes `candid:service` as
/// `icp:public`, as a non-controller (chaos_probe) sees it. `None`: not readable.
pub async fn candid_public(probe: Principal, target: Principal) -> Option<bool> {
    let reply = Call::bounded_wait(probe, "read_candid_metadata")
        .change_timeout(PROBE_TIMEOUT_SECS)
        .with_arg(target)
        .await
        .ok()?;
    match decode_reply::<Result<CandidMetadata, ProbeError>>(&reply) {
        Ok(Ok(m)) => Some(m.public),
        _ => None,
    }
}

/// Hardening evidence (IC-CTRL-23) from an access probe's results: the methods whose verdict
/// is conclusive, and those among them that accepted the unprivileged caller. `None` when no
/// verdict is conclusive (the control then stays unknown).
pub fn access_evidence(
    results: &[AccessResult],
    at: chaos_manager::TimestampNs,
) -> Option<AccessProbeEvidence> {
    let conclusive: Vec<&AccessResult> = results
        .iter()
        .filter(|r| r.verdict != AccessVerdict::Inconclusive)
        .collect();
    if conclusive.is_empty() {
        return None;
    }
    Some(AccessProbeEvidence {
        probed_at: at,
        probed_methods: conclusive.iter().map(|r| r.method.clone()).collect(),
        accepted_unprivileged: conclusive
            .iter()
            .filter(|r| r.verdict == AccessVerdict::Accepted)
            .map(|r| r.method.clone())
            .collect(),
    })
}

/// chaos_probe's access probe for a scan; `None` when it could not run.
pub async fn scan_access(
    probe: Principal,
    target: Principal,
    methods: &[String],
) -> Option<AccessProbeEvidence> {
    let args = ProbeAccessArgs {
        target,
        methods: methods
            .iter()
            .map(|m| MethodProbe {
                method: m.clone(),
                arg: None,
            })
            .collect(),
    };
    let reply = Call::bounded_wait(probe, "probe_access")
        .change_timeout(PROBE_TIMEOUT_SECS)
        .with_arg(args)
        .await
        .ok()?;
    let results: Vec<AccessResult> = decode_reply::<Result<Vec<AccessResult>, ProbeError>>(&reply)
        .ok()?
        .ok()?
        .into_iter()
        .filter(|r| methods.contains(&r.method))
        .collect();
    access_evidence(&results, chaos_manager::TimestampNs(ic_cdk::api::time()))
}

/// No chaos_probe configured: probes cannot run.
pub fn no_probe() -> Outcome {
    Outcome::failed(
        RejectCode::Local,
        "no chaos_probe is configured: an admin calls set_chaos_probe",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use candid::encode_one;
    use chaos_manager::fault::Ppm;
    use chaos_manager::TimestampNs;
    use serde_bytes::ByteBuf;
    use std::path::Path;

    fn p(n: u8) -> Principal {
        Principal::from_slice(&[n; 10])
    }

    /// The type declarations of a .did file followed by `(T)`, for `check_rust_type`.
    fn did_types(file: &str, ty: &str) -> String {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../candid")
            .join(file);
        let text = std::fs::read_to_string(path).unwrap();
        let decls = &text[..text.rfind("\nservice").unwrap()];
        format!("{decls}({ty})")
    }

    fn check<T: CandidType>(file: &str, ty: &str) {
        if let Err(e) = candid_parser::utils::check_rust_type::<T>(&did_types(file, ty)) {
            panic!("{ty} of candid/{file} and the mirror in lab_calls disagree: {e}");
        }
    }

    #[test]
    fn mirrors_equal_the_hook_and_probe_contracts() {
        check::<FaultPlan>("chaos_hooks.did", "FaultPlan");
        check::<HookResult>("chaos_hooks.did", "HookResult");
        check::<ProbeHealthArgs>("chaos_probe.did", "ProbeHealthArgs");
        check::<Result<ProbeResult, ProbeError>>(
            "chaos_probe.did",
            "variant { Ok : ProbeResult; Err : ProbeError }",
        );
        check::<ProbeAccessArgs>("chaos_probe.did", "ProbeAccessArgs");
        check::<Result<Vec<AccessResult>, ProbeError>>(
            "chaos_probe.did",
            "variant { Ok : vec AccessResult; Err : ProbeError }",
        );
        check::<Result<CandidMetadata, ProbeError>>(
            "chaos_probe.did",
            "variant { Ok : CandidMetadata; Err : ProbeError }",
        );
    }

    #[test]
    fn scan_evidence_keeps_only_conclusive_verdicts() {
        let at = chaos_manager::TimestampNs(5);
        assert_eq!(
            access_evidence(&[result("configure", AccessVerdict::Inconclusive)], at),
            None
        );
        let e = access_evidence(
            &[
                result("configure", AccessVerdict::Inconclusive),
                result("chaos_hooks_clear", AccessVerdict::Refused),
                result("set_owner", AccessVerdict::Accepted),
            ],
            at,
        )
        .unwrap();
        assert_eq!(e.probed_methods, vec!["chaos_hooks_clear", "set_owner"]);
        assert_eq!(e.accepted_unprivileged, vec!["set_owner"]);
        assert_eq!(e.probed_at, at);
    }

    #[test]
    fn every_hook_fault_converts_field_for_field() {
        let m = || vec!["balance_of".to_string()];
        let plan = CorePlan {
            plan_id: 7,
            expires_at: TimestampNs(99),
            seed: 42,
            faults: vec![
                HookFault::Reject {
                    methods: m(),
                    probability: Ppm(1),
                },
                HookFault::Trap {
                    methods: vec![],
                    probability: Ppm::ALWAYS,
                },
                HookFault::Delay {
                    methods: m(),
                    rounds: 3,
                    probability: Ppm(500_000),
                },
                HookFault::Partition {
                    blocked_callers: vec![p(1), p(2)],
                    methods: vec![],
                },
                HookFault::Perturb {
                    methods: m(),
                    probability: Ppm(250_000),
                },
                HookFault::Corrupt { intensity: 5 },
                HookFault::BurnInstructions {
                    methods: m(),
                    instructions: 1_000_000,
                },
                HookFault::Ballast { bytes: 4096 },
            ],
        };
        let got = hook_plan(&plan);
        assert_eq!(
            got,
            FaultPlan {
                plan_id: 7,
                expires_at_ns: 99,
                seed: 42,
                faults: vec![
                    Fault::Reject {
                        methods: m(),
                        probability_ppm: 1
                    },
                    Fault::Trap {
                        methods: vec![],
                        probability_ppm: 1_000_000
                    },
                    Fault::Delay {
                        methods: m(),
                        rounds: 3,
                        probability_ppm: 500_000
                    },
                    Fault::Partition {
                        blocked_callers: vec![p(1), p(2)],
                        methods: vec![]
                    },
                    Fault::Perturb {
                        methods: m(),
                        probability_ppm: 250_000
                    },
                    Fault::Corrupt { intensity: 5 },
                    Fault::BurnInstructions {
                        methods: m(),
                        instructions: 1_000_000
                    },
                    Fault::Ballast { bytes: 4096 },
                ],
            }
        );
        // And it survives the wire.
        let bytes = encode_one(&got).unwrap();
        assert_eq!(candid::decode_one::<FaultPlan>(&bytes).unwrap(), got);
    }

    #[test]
    fn a_hook_error_is_a_failed_step_that_says_what_to_do() {
        assert_eq!(
            hook_outcome("chaos_hooks_clear", p(1), Ok(())),
            Outcome::Done
        );
        for (err, needle) in [
            (HookError::NotChaosSystem, "chaos_hooks_configure"),
            (HookError::NotConfigured, "chaos_hooks_configure"),
            (
                HookError::InvalidPlan("too many faults".into()),
                "too many faults",
            ),
            (HookError::NoCorruptionHook, "corruption function"),
            (
                HookError::CapExceeded("max 100 rounds".into()),
                "max 100 rounds",
            ),
        ] {
            match hook_outcome("chaos_hooks_set_plan", p(1), Err(err)) {
                Outcome::Failed { failure } => {
                    assert_eq!(failure.code, RejectCode::CanisterReject);
                    assert!(failure.message.contains(needle), "{}", failure.message);
                    assert!(failure.message.contains("chaos_hooks_set_plan"));
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[derive(CandidType)]
    struct StateProbe {
        operation_count: u64,
        state_hash: ByteBuf,
        total_supply: u64,
        account_count: u64,
    }

    #[derive(CandidType)]
    struct ConsumerProbe {
        operation_count: u64,
        state_hash: ByteBuf,
        healthy: bool,
        consecutive_failures: u64,
    }

    #[derive(CandidType)]
    struct Health {
        ok: bool,
        vault: Option<Principal>,
        last_attempt_ns: Option<u64>,
        last_success_ns: Option<u64>,
        consecutive_failures: u64,
        failures: u64,
        refreshes: u64,
        byzantine_detections: u64,
        unverified_reads: u64,
        last_error: Option<String>,
        last_observed_supply: Option<u64>,
        stale: bool,
    }

    fn replied(reply: Vec<u8>) -> Result<ProbeResult, ProbeError> {
        Ok(ProbeResult {
            outcome: CallOutcome::Replied {
                reply: ByteBuf::from(reply),
                truncated: false,
            },
            latency_ns: 2_000_000_000,
        })
    }

    fn reading(reply: Vec<u8>) -> ProbeReading {
        reading_of(replied(reply)).unwrap()
    }

    #[test]
    fn invariant_checks_read_as_holds_or_broken() {
        let ok: Result<(), String> = Ok(());
        let broken: Result<(), String> = Err("sum of balances 101 != total supply 100".into());
        let r = reading(encode_one(ok).unwrap());
        assert_eq!((r.value, r.invariant_holds), (None, Some(true)));
        assert_eq!(r.latency, DurationNs(2_000_000_000));
        let r = reading(encode_one(broken).unwrap());
        assert_eq!((r.value, r.invariant_holds), (None, Some(false)));
    }

    #[test]
    fn state_probes_and_health_read_their_counts_and_health() {
        let vault = StateProbe {
            operation_count: 12,
            state_hash: ByteBuf::from(vec![0; 32]),
            total_supply: 500,
            account_count: 3,
        };
        let r = reading(encode_one(vault).unwrap());
        assert_eq!((r.value, r.invariant_holds), (Some(12), None));

        let consumer = ConsumerProbe {
            operation_count: 4,
            state_hash: ByteBuf::from(vec![1; 32]),
            healthy: false,
            consecutive_failures: 2,
        };
        let r = reading(encode_one(consumer).unwrap());
        assert_eq!((r.value, r.invariant_holds), (Some(4), Some(false)));

        let health = Health {
            ok: true,
            vault: Some(p(3)),
            last_attempt_ns: Some(1),
            last_success_ns: Some(1),
            consecutive_failures: 0,
            failures: 1,
            refreshes: 9,
            byzantine_detections: 0,
            unverified_reads: 0,
            last_error: None,
            last_observed_supply: Some(500),
            stale: false,
        };
        let r = reading(encode_one(health).unwrap());
        assert_eq!((r.value, r.invariant_holds), (Some(9), Some(true)));
    }

    #[test]
    fn plain_numbers_and_booleans_are_values_and_verdicts() {
        assert_eq!(reading(encode_one(500u64).unwrap()).value, Some(500));
        assert_eq!(
            reading(encode_one(Nat::from(77u64)).unwrap()).value,
            Some(77)
        );
        assert_eq!(
            reading(encode_one(false).unwrap()).invariant_holds,
            Some(false)
        );
        let r = reading(encode_one("hello").unwrap());
        assert_eq!((r.value, r.invariant_holds), (None, None));
        // A truncated reply is not interpreted.
        let r = reading_of(Ok(ProbeResult {
            outcome: CallOutcome::Replied {
                reply: ByteBuf::from(encode_one(5u64).unwrap()),
                truncated: true,
            },
            latency_ns: 1,
        }))
        .unwrap();
        assert_eq!(r.value, None);
    }

    #[test]
    fn rejected_probes_and_probe_errors_are_failures_with_the_code() {
        let f = reading_of(Ok(ProbeResult {
            outcome: CallOutcome::Rejected {
                code: 4,
                message: "chaos_hooks: partitioned".into(),
            },
            latency_ns: 1,
        }))
        .unwrap_err();
        assert_eq!(f.code, RejectCode::CanisterReject);
        assert_eq!(f.message, "chaos_hooks: partitioned");
        let f = reading_of(Ok(ProbeResult {
            outcome: CallOutcome::Rejected {
                code: 6,
                message: "timeout".into(),
            },
            latency_ns: 1,
        }))
        .unwrap_err();
        assert_eq!(f.code, RejectCode::SysUnknown);
        let f = reading_of(Err(ProbeError::Busy {
            in_flight: 100,
            requested: 1,
            limit: 100,
        }))
        .unwrap_err();
        assert_eq!(f.code, RejectCode::SysTransient);
        let f = reading_of(Err(ProbeError::Unauthorized { caller: p(9) })).unwrap_err();
        assert!(
            f.message.contains("chaos_system = principal"),
            "{}",
            f.message
        );
    }

    // ------------------------------------------------------------ hostile replies

    fn leb(mut n: u64) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(byte);
                return out;
            }
            out.push(byte | 0x80);
        }
    }

    /// `DIDL`, the type table, the argument types, the values.
    fn message(table: &[Vec<u8>], args: &[u8], values: &[u8]) -> Vec<u8> {
        let mut m = b"DIDL".to_vec();
        m.extend(leb(table.len() as u64));
        for t in table {
            m.extend(t);
        }
        m.extend(leb(args.len() as u64));
        m.extend(args);
        m.extend(values);
        m
    }

    const NULL: u8 = 0x7f;
    const NAT64: u8 = 0x78;
    const OPT: u8 = 0x6e;
    const VEC: u8 = 0x6d;
    const RECORD: u8 = 0x6c;
    const VARIANT: u8 = 0x6b;
    const HUGE: u64 = 1 << 31;

    /// Reads `reply` as chaos_probe relays it; must fail, and quickly.
    fn hostile(reply: Vec<u8>) -> CallFailure {
        let started = std::time::Instant::now();
        let r = reading_of(replied(reply));
        let took = started.elapsed();
        assert!(took < std::time::Duration::from_secs(5), "took {took:?}");
        match r {
            Err(f) => f,
            Ok(reading) => panic!("a hostile reply was read as {reading:?}"),
        }
    }

    #[test]
    fn a_huge_vec_null_under_an_ok_is_a_failed_probe_not_a_holding_invariant() {
        // variant { Ok : vec null } with 2^31 nulls: 12 bytes on the wire.
        let ok = candid::idl_hash("Ok");
        let mut variant = vec![VARIANT, 1];
        variant.extend(leb(ok.into()));
        variant.push(0);
        let mut values = vec![0];
        values.extend(leb(HUGE));
        let f = hostile(message(&[vec![VEC, NULL], variant], &[1], &values));
        assert_eq!(f.code, RejectCode::Local);
        assert!(f.message.contains("decoding quota"), "{}", f.message);
    }

    #[test]
    fn a_huge_vec_null_as_the_answer_a_skipped_field_or_an_extra_value_is_a_failed_probe() {
        let mut huge = leb(HUGE);
        // The answer itself.
        hostile(message(&[vec![VEC, NULL]], &[0], &huge));
        // A field nobody reads, beside operation_count.
        let mut fields = vec![
            (candid::idl_hash("operation_count"), NAT64),
            (candid::idl_hash("junk"), 0u8),
        ];
        fields.sort();
        let mut record = vec![RECORD, 2];
        let mut values = Vec::new();
        for (hash, ty) in &fields {
            record.extend(leb((*hash).into()));
            record.push(*ty);
            if *ty == NAT64 {
                values.extend(5u64.to_le_bytes());
            } else {
                values.extend(huge.clone());
            }
        }
        hostile(message(&[vec![VEC, NULL], record], &[1], &values));
        // A second value after a plain nat64.
        let mut values = 5u64.to_le_bytes().to_vec();
        values.append(&mut huge);
        hostile(message(&[vec![VEC, NULL]], &[NAT64, 0], &values));
    }

    #[test]
    fn deep_nesting_and_huge_type_tables_are_failed_probes() {
        // type T = opt T, nested 100,000 deep.
        let mut values = vec![1u8; 100_000];
        values.push(0);
        hostile(message(&[vec![OPT, 0]], &[0], &values));
        // 1,000 type-table entries.
        let table: Vec<Vec<u8>> = (0..1_000).map(|_| vec![OPT, NAT64]).collect();
        hostile(message(&table, &[0], &[0]));
        // Not Candid at all.
        hostile(b"not candid".to_vec());
    }

    #[test]
    fn only_a_null_ok_says_the_invariant_holds() {
        // variant { Ok : nat64; Err : text }: a value, not a verdict.
        let r = reading(encode_one(Ok::<u64, String>(5)).unwrap());
        assert_eq!((r.value, r.invariant_holds), (Some(5), None));
        let r = reading(encode_one(Err::<u64, String>("no".into())).unwrap());
        assert_eq!((r.value, r.invariant_holds), (None, Some(false)));
        let r = reading(encode_one(Ok::<Nat, String>(Nat::from(9u64))).unwrap());
        assert_eq!((r.value, r.invariant_holds), (Some(9), None));
        // variant { Ok : text; Err : text }: says nothing.
        let r = reading(encode_one(Ok::<String, String>("fine".into())).unwrap());
        assert_eq!((r.value, r.invariant_holds), (None, None));
        // variant { Ok; Err : record {...} }: broken, whatever the error says.
        #[derive(CandidType)]
        struct Why {
            code: u32,
        }
        let r = reading(encode_one(Err::<(), Why>(Why { code: 1 })).unwrap());
        assert_eq!((r.value, r.invariant_holds), (None, Some(false)));
        // A long error text is still read as a broken invariant.
        let r = reading(encode_one(Err::<(), String>("x".repeat(100_000))).unwrap());
        assert_eq!((r.value, r.invariant_holds), (None, Some(false)));
    }

    #[test]
    fn hostile_replies_of_chaos_probe_and_the_hooks_fail_to_decode_quickly() {
        // A valid HookResult (variant { Ok }) followed by a second value: 2^31 nulls.
        let mut variant = vec![VARIANT, 1];
        variant.extend(leb(candid::idl_hash("Ok").into()));
        variant.push(NULL);
        let mut values = vec![0];
        values.extend(leb(HUGE));
        let hook = message(&[variant, vec![VEC, NULL]], &[0, 1], &values);
        let started = std::time::Instant::now();
        assert!(decode_reply::<HookResult>(&hook).is_err());
        assert!(decode_reply::<Result<ProbeResult, ProbeError>>(&hook).is_err());
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        // A legitimate large answer still decodes: 1 MiB relayed by chaos_probe.
        let big = encode_one(Ok::<ProbeResult, ProbeError>(ProbeResult {
            outcome: CallOutcome::Replied {
                reply: ByteBuf::from(vec![7u8; 1 << 20]),
                truncated: true,
            },
            latency_ns: 1,
        }))
        .unwrap();
        assert!(decode_reply::<Result<ProbeResult, ProbeError>>(&big).is_ok());
        // And a long refusal of the hooks.
        let long =
            encode_one(HookResult::Err(HookError::InvalidPlan("y".repeat(500_000)))).unwrap();
        assert!(decode_reply::<HookResult>(&long).is_ok());
    }

    fn result(method: &str, verdict: AccessVerdict) -> AccessResult {
        AccessResult {
            method: method.into(),
            accepted: verdict == AccessVerdict::Accepted,
            verdict,
            reject_code: None,
            message: format!("{verdict:?}"),
        }
    }

    #[test]
    fn access_probes_keep_accepted_methods_and_fail_only_when_nothing_was_conclusive() {
        assert_eq!(
            access_outcome(Ok(vec![
                result("chaos_hooks_clear", AccessVerdict::Refused),
                result("set_owner", AccessVerdict::Accepted),
            ])),
            Outcome::AccessProbed {
                accepted: vec!["set_owner".into()],
                inconclusive: vec![],
            }
        );
        assert_eq!(
            access_outcome(Ok(vec![])),
            Outcome::AccessProbed {
                accepted: vec![],
                inconclusive: vec![],
            }
        );
        // One inconclusive method does not drop the finding of another.
        match access_outcome(Ok(vec![
            result("configure", AccessVerdict::Inconclusive),
            result("set_owner", AccessVerdict::Accepted),
        ])) {
            Outcome::AccessProbed {
                accepted,
                inconclusive,
            } => {
                assert_eq!(accepted, vec!["set_owner".to_string()]);
                assert_eq!(inconclusive.len(), 1);
                assert!(
                    inconclusive[0].starts_with("configure: "),
                    "{inconclusive:?}"
                );
            }
            other => panic!("{other:?}"),
        }
        // Nothing conclusive: nothing was learned, the step fails and says why.
        match access_outcome(Ok(vec![
            result("configure", AccessVerdict::Inconclusive),
            result("set_owner", AccessVerdict::Inconclusive),
        ])) {
            Outcome::Failed { failure } => {
                assert!(
                    failure.message.contains("configure: "),
                    "{}",
                    failure.message
                );
                assert!(
                    failure.message.contains("set_owner: "),
                    "{}",
                    failure.message
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(access_outcome(Err(ProbeError::ProbeIsController { target: p(1) })).is_failure());
    }
}
