//! What a call's result means: pure mappings from ic-cdk's `CallFailed` (or a reply's bytes) to
//! the probe's Candid results. The shell passes `Response::into_bytes()` in, so every mapping
//! is tested natively with `CallRejected::with_rejection`.

use crate::api::{AccessResult, AccessVerdict, CallOutcome, ProbeError};
use crate::reply;
use ic_cdk::call::CallFailed;
use serde_bytes::ByteBuf;

/// Largest reply a health probe returns, in bytes; longer replies are cut (`truncated`), so the
/// probe's own reply stays under the IC's 2 MiB limit.
pub const MAX_REPLY_BYTES: usize = 1024 * 1024;
/// Longest reject message kept, in bytes (cut at a character boundary, marked with `…`).
pub const MAX_MESSAGE_BYTES: usize = 2048;

/// IC reject codes (interface spec, "Reject codes").
pub mod reject_code {
    pub const SYS_FATAL: u32 = 1;
    pub const SYS_TRANSIENT: u32 = 2;
    pub const DESTINATION_INVALID: u32 = 3;
    pub const CANISTER_REJECT: u32 = 4;
    pub const CANISTER_ERROR: u32 = 5;
    /// Bounded-wait only: the deadline passed; the callee may or may not have run.
    pub const SYS_UNKNOWN: u32 = 6;
}

/// A `probe_health` result. Rejections are results (the target's behaviour is what is being
/// measured); failing to send the call is an error of the probe.
pub fn health_outcome(result: Result<Vec<u8>, CallFailed>) -> Result<CallOutcome, ProbeError> {
    match result {
        Ok(mut reply) => {
            let truncated = reply.len() > MAX_REPLY_BYTES;
            reply.truncate(MAX_REPLY_BYTES);
            Ok(CallOutcome::Replied {
                reply: ByteBuf::from(reply),
                truncated,
            })
        }
        Err(CallFailed::CallRejected(rejected)) => Ok(CallOutcome::Rejected {
            code: rejected.raw_reject_code(),
            message: bounded_message(rejected.reject_message()),
        }),
        Err(not_sent) => Err(not_sent_error(&not_sent)),
    }
}

/// The error for a call that never left the probe (no cycles, or `ic0.call_perform` failed).
pub fn not_sent_error(failed: &CallFailed) -> ProbeError {
    match failed {
        CallFailed::InsufficientLiquidCycleBalance(e) => ProbeError::InsufficientCycles {
            available: e.available,
            required: e.required,
        },
        CallFailed::CallPerformFailed(_) => ProbeError::CallNotSent {
            reason: "ic0.call_perform failed (the probe's output queue may be full): retry later"
                .into(),
        },
        CallFailed::CallRejected(r) => ProbeError::CallNotSent {
            reason: bounded_message(r.reject_message()),
        },
    }
}

/// One method of an access probe. `Accepted` is a finding: the method ran for an unprivileged
/// caller (and may have acted). `Refused` is the guard's answer: a reject by the canister, a trap
/// in the method, or a reply of `variant { Err }` / `variant { err }`. `Inconclusive` says
/// nothing about the guard: the call was not sent, timed out, hit a system error, or failed
/// before the method's code could decide (stopped or empty canister, unknown method, argument
/// that does not decode).
pub fn access_result(method: String, result: Result<Vec<u8>, CallFailed>) -> AccessResult {
    let (verdict, reject_code, message) = match result {
        Ok(reply) if reply::is_err_variant(&reply) => (
            AccessVerdict::Refused,
            None,
            "replied with an Err variant (refused in its reply)".to_string(),
        ),
        Ok(reply) => (
            AccessVerdict::Accepted,
            None,
            format!(
                "replied ({} bytes) to an unprivileged caller: the method ran and may have acted",
                reply.len()
            ),
        ),
        Err(CallFailed::CallRejected(r)) => {
            let code = r.raw_reject_code();
            let message = bounded_message(r.reject_message());
            (reject_verdict(code, &message), Some(code), message)
        }
        Err(not_sent) => (
            AccessVerdict::Inconclusive,
            None,
            format!("not sent: {}", describe_error(&not_sent_error(&not_sent))),
        ),
    };
    AccessResult {
        method,
        accepted: verdict == AccessVerdict::Accepted,
        verdict,
        reject_code,
        message,
    }
}

/// Reject-message fragments (lower case) of a `CanisterError` that arose before the method's
/// own code could run its caller check, so the reject says nothing about the guard.
const NOT_THE_GUARD: &[&str] = &[
    "decode",
    "deserializ",
    "parse header",
    "magic number",
    "has no update method",
    "has no query method",
    "method not found",
    "is stopped",
    "is stopping",
    "no wasm module",
    "is empty",
    "out of cycles",
];

/// How an access probe reads a reject code.
pub fn reject_verdict(code: u32, message: &str) -> AccessVerdict {
    use reject_code::*;
    match code {
        CANISTER_REJECT => AccessVerdict::Refused,
        CANISTER_ERROR => {
            let lower = message.to_ascii_lowercase();
            if NOT_THE_GUARD.iter().any(|p| lower.contains(p)) {
                AccessVerdict::Inconclusive
            } else {
                AccessVerdict::Refused
            }
        }
        // SYS_FATAL, SYS_TRANSIENT, DESTINATION_INVALID, SYS_UNKNOWN and codes unknown today.
        _ => AccessVerdict::Inconclusive,
    }
}

/// A reject message cut to [`MAX_MESSAGE_BYTES`] at a character boundary.
pub fn bounded_message(message: &str) -> String {
    if message.len() <= MAX_MESSAGE_BYTES {
        return message.to_string();
    }
    let mut end = MAX_MESSAGE_BYTES;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &message[..end])
}

fn describe_error(e: &ProbeError) -> String {
    match e {
        ProbeError::InsufficientCycles {
            available,
            required,
        } => format!("the probe has {available} cycles, the call needs {required}: top it up"),
        ProbeError::CallNotSent { reason } => reason.clone(),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::reject_code::*;
    use super::*;
    use ic_cdk::call::{CallPerformFailed, CallRejected, InsufficientLiquidCycleBalance};

    fn rejected(code: u32, message: &str) -> Result<Vec<u8>, CallFailed> {
        Err(CallFailed::CallRejected(CallRejected::with_rejection(
            code,
            message.to_string(),
        )))
    }

    fn access(result: Result<Vec<u8>, CallFailed>) -> AccessResult {
        access_result("set_admin".into(), result)
    }

    #[test]
    fn a_reply_is_returned_whole_up_to_the_cap() {
        let reply = candid::encode_one(7u64).unwrap();
        assert_eq!(
            health_outcome(Ok(reply.clone())),
            Ok(CallOutcome::Replied {
                reply: ByteBuf::from(reply),
                truncated: false
            })
        );
        let big = vec![1u8; MAX_REPLY_BYTES + 10];
        match health_outcome(Ok(big)) {
            Ok(CallOutcome::Replied { reply, truncated }) => {
                assert!(truncated);
                assert_eq!(reply.len(), MAX_REPLY_BYTES);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_reject_code_is_a_result_with_its_code_and_message() {
        for code in 1..=6 {
            assert_eq!(
                health_outcome(rejected(code, "why")),
                Ok(CallOutcome::Rejected {
                    code,
                    message: "why".into()
                })
            );
        }
        // A code the IC may add later is passed through, not dropped.
        assert_eq!(
            health_outcome(rejected(7, "new")),
            Ok(CallOutcome::Rejected {
                code: 7,
                message: "new".into()
            })
        );
    }

    #[test]
    fn a_call_that_was_never_sent_is_an_error_of_the_probe() {
        let no_cycles =
            CallFailed::InsufficientLiquidCycleBalance(InsufficientLiquidCycleBalance {
                available: 5,
                required: 9,
            });
        assert_eq!(
            health_outcome(Err(no_cycles)),
            Err(ProbeError::InsufficientCycles {
                available: 5,
                required: 9
            })
        );
        assert!(matches!(
            health_outcome(Err(CallFailed::CallPerformFailed(CallPerformFailed))),
            Err(ProbeError::CallNotSent { .. })
        ));
    }

    #[test]
    fn long_messages_are_cut_at_a_character_boundary() {
        let long = "é".repeat(MAX_MESSAGE_BYTES);
        let cut = bounded_message(&long);
        assert!(cut.len() <= MAX_MESSAGE_BYTES + "…".len());
        assert!(cut.ends_with('…'));
        assert_eq!(bounded_message("short"), "short");
    }

    #[test]
    fn a_plain_reply_to_a_privileged_method_is_an_accepted_finding() {
        let r = access(Ok(candid::encode_args(()).unwrap()));
        assert_eq!(r.verdict, AccessVerdict::Accepted);
        assert!(r.accepted);
        assert_eq!(r.reject_code, None);
        assert!(r.message.contains("may have acted"));
    }

    #[test]
    fn an_err_reply_is_a_refusal_not_a_finding() {
        let reply: Result<(), String> = Err("Unauthorized".into());
        let r = access(Ok(candid::encode_one(reply).unwrap()));
        assert_eq!(r.verdict, AccessVerdict::Refused);
        assert!(!r.accepted);
        let ok: Result<(), String> = Ok(());
        assert!(access(Ok(candid::encode_one(ok).unwrap())).accepted);
    }

    #[test]
    fn canister_rejects_and_guard_traps_are_refusals() {
        let r = access(rejected(CANISTER_REJECT, "caller is not an admin"));
        assert_eq!(
            (r.verdict, r.reject_code),
            (AccessVerdict::Refused, Some(4))
        );
        let r = access(rejected(
            CANISTER_ERROR,
            "Canister x trapped explicitly: unauthorized",
        ));
        assert_eq!(r.verdict, AccessVerdict::Refused);
    }

    #[test]
    fn errors_before_the_guard_are_inconclusive() {
        for message in [
            "Canister x trapped: Panicked at 'called `Result::unwrap()` on an `Err` value: Fail to decode argument 0'",
            "Canister x has no update method 'set_admin'",
            "Canister x is stopped",
            "Canister x is stopping",
            "Canister x is out of cycles",
            "Attempted to execute a message, but the canister contains no Wasm module",
        ] {
            assert_eq!(
                reject_verdict(CANISTER_ERROR, message),
                AccessVerdict::Inconclusive,
                "{message}"
            );
        }
    }

    #[test]
    fn system_rejects_and_timeouts_are_inconclusive() {
        for code in [
            SYS_FATAL,
            SYS_TRANSIENT,
            DESTINATION_INVALID,
            SYS_UNKNOWN,
            42,
        ] {
            let r = access(rejected(code, "x"));
            assert_eq!(r.verdict, AccessVerdict::Inconclusive, "code {code}");
            assert_eq!(r.reject_code, Some(code));
            assert!(!r.accepted);
        }
    }

    #[test]
    fn an_unsent_access_call_is_inconclusive_without_a_code() {
        let r = access(Err(CallFailed::CallPerformFailed(CallPerformFailed)));
        assert_eq!(r.verdict, AccessVerdict::Inconclusive);
        assert_eq!(r.reject_code, None);
        assert!(r.message.starts_with("not sent"));
    }
}
