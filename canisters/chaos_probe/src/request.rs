//! Authorization and request validation: pure functions, no ic-cdk calls, so every rule is
//! unit-tested natively. A request that passes here is safe to turn into bounded-wait calls.

use crate::api::{MethodProbe, ProbeAccessArgs, ProbeError, ProbeHealthArgs};
use candid::Principal;
use serde_bytes::ByteBuf;

/// Candid encoding of "no arguments": the magic `DIDL`, an empty type table, zero arguments.
pub const EMPTY_ARGS: &[u8] = b"DIDL\x00\x00";
/// Every raw argument must be Candid: it starts with this magic.
pub const CANDID_MAGIC: &[u8] = b"DIDL";
/// Largest raw argument accepted per call, in bytes. Leaves room under the IC's 2 MiB
/// inter-canister payload limit for the rest of the request and for replies.
pub const MAX_ARG_BYTES: usize = 1024 * 1024;
/// Longest method name accepted, in bytes (a probe limit, far above any real method name).
pub const MAX_METHOD_NAME_BYTES: usize = 256;

/// Health-probe timeout when the request gives none, in seconds.
pub const DEFAULT_HEALTH_TIMEOUT_SECS: u32 = 30;
/// The IC caps bounded-wait timeouts at 300 s (`MAX_CALL_TIMEOUT`); a larger value would be
/// silently capped, so it is refused instead of pretending.
pub const MAX_TIMEOUT_SECS: u32 = 300;
/// Timeout of each access-probe call, in seconds: short, the calls run concurrently.
pub const ACCESS_TIMEOUT_SECS: u32 = 10;
/// Timeout of the probe's management-canister reads (`canister_metadata`, `canister_status`).
pub const MANAGEMENT_TIMEOUT_SECS: u32 = 30;
/// Most privileged methods probed by one `probe_access` call.
pub const MAX_ACCESS_METHODS: usize = 20;

/// Only the configured chaos_system principal may use the probe. The anonymous principal is
/// refused even if it were configured (an unset configuration is anonymous: nobody passes).
pub fn authorize(caller: Principal, chaos_system: Principal) -> Result<(), ProbeError> {
    if caller == Principal::anonymous() || caller != chaos_system {
        return Err(ProbeError::Unauthorized { caller });
    }
    Ok(())
}

/// The principal an install or upgrade argument may configure: a real identity.
pub fn validate_chaos_system(chaos_system: Principal) -> Result<Principal, String> {
    if chaos_system == Principal::anonymous() {
        return Err(
            "chaos_system must not be the anonymous principal: pass the chaos_system canister id"
                .into(),
        );
    }
    if chaos_system == Principal::management_canister() {
        return Err(
            "chaos_system must not be the management canister: pass the chaos_system canister id"
                .into(),
        );
    }
    Ok(chaos_system)
}

/// A validated `probe_health` request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HealthRequest {
    pub target: Principal,
    pub method: String,
    pub arg: Vec<u8>,
    pub timeout_secs: u32,
}

/// One validated method of a `probe_access` request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MethodRequest {
    pub method: String,
    pub arg: Vec<u8>,
}

/// A validated `probe_access` request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessRequest {
    pub target: Principal,
    pub methods: Vec<MethodRequest>,
}

pub fn health_request(
    args: ProbeHealthArgs,
    probe_id: Principal,
) -> Result<HealthRequest, ProbeError> {
    Ok(HealthRequest {
        target: validate_target(args.target, probe_id)?,
        method: validate_method(args.method)?,
        arg: effective_arg(args.arg)?,
        timeout_secs: effective_timeout(args.timeout_secs)?,
    })
}

pub fn access_request(
    args: ProbeAccessArgs,
    probe_id: Principal,
) -> Result<AccessRequest, ProbeError> {
    let target = validate_target(args.target, probe_id)?;
    if args.methods.len() > MAX_ACCESS_METHODS {
        return Err(ProbeError::invalid(format!(
            "{} methods given, at most {MAX_ACCESS_METHODS} per probe_access call: split the list",
            args.methods.len()
        )));
    }
    let methods = args
        .methods
        .into_iter()
        .map(|MethodProbe { method, arg }| {
            Ok(MethodRequest {
                method: validate_method(method)?,
                arg: effective_arg(arg)?,
            })
        })
        .collect::<Result<_, ProbeError>>()?;
    Ok(AccessRequest { target, methods })
}

/// A target is another canister: not the anonymous principal, not the management canister
/// (the probe never asks it for anything but reads), not the probe itself.
pub fn validate_target(target: Principal, probe_id: Principal) -> Result<Principal, ProbeError> {
    if target == Principal::anonymous() {
        return Err(ProbeError::invalid(
            "target is the anonymous principal: pass a canister id",
        ));
    }
    if target == Principal::management_canister() {
        return Err(ProbeError::invalid(
            "target is the management canister: the probe only calls canisters",
        ));
    }
    if target == probe_id {
        return Err(ProbeError::invalid(
            "target is the probe itself: pass the canister to probe",
        ));
    }
    Ok(target)
}

pub fn validate_method(method: String) -> Result<String, ProbeError> {
    if method.is_empty() {
        return Err(ProbeError::invalid("method name is empty"));
    }
    if method.len() > MAX_METHOD_NAME_BYTES {
        return Err(ProbeError::invalid(format!(
            "method name is {} bytes, at most {MAX_METHOD_NAME_BYTES}",
            method.len()
        )));
    }
    Ok(method)
}

/// The raw Candid argument to send: the given bytes, or no arguments (`DIDL\00\00`) when absent.
pub fn effective_arg(arg: Option<ByteBuf>) -> Result<Vec<u8>, ProbeError> {
    let Some(arg) = arg else {
        return Ok(EMPTY_ARGS.to_vec());
    };
    let arg = arg.into_vec();
    if arg.len() > MAX_ARG_BYTES {
        return Err(ProbeError::invalid(format!(
            "argument is {} bytes, at most {MAX_ARG_BYTES}",
            arg.len()
        )));
    }
    if !arg.starts_with(CANDID_MAGIC) {
        return Err(ProbeError::invalid(
            "argument is not Candid (it must start with DIDL): encode it, e.g. with didc encode",
        ));
    }
    Ok(arg)
}

/// The bounded-wait timeout: the given seconds or the default; 0 (an almost certain
/// `SysUnknown`) and values above the IC's cap are refused.
pub fn effective_timeout(timeout_secs: Option<u32>) -> Result<u32, ProbeError> {
    match timeout_secs.unwrap_or(DEFAULT_HEALTH_TIMEOUT_SECS) {
        0 => Err(ProbeError::invalid(
            "timeout_secs is 0: the call would time out at once; pass 1..=300 or null for 30",
        )),
        t if t > MAX_TIMEOUT_SECS => Err(ProbeError::invalid(format!(
            "timeout_secs {t} exceeds the IC's bounded-wait cap of {MAX_TIMEOUT_SECS} s"
        ))),
        t => Ok(t),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(n: u8) -> Principal {
        Principal::from_slice(&[n, 0, 0, 0, 0, 0, 0, 0, 1, 1])
    }

    fn probe() -> Principal {
        principal(9)
    }

    fn health(arg: Option<&[u8]>, timeout_secs: Option<u32>) -> ProbeHealthArgs {
        ProbeHealthArgs {
            target: principal(1),
            method: "chaos_state_probe".into(),
            arg: arg.map(|a| ByteBuf::from(a.to_vec())),
            timeout_secs,
        }
    }

    fn is_invalid<T: std::fmt::Debug>(r: Result<T, ProbeError>) -> bool {
        matches!(r, Err(ProbeError::InvalidArgument { .. }))
    }

    #[test]
    fn only_the_configured_principal_is_authorized() {
        let chaos_system = principal(7);
        assert_eq!(authorize(chaos_system, chaos_system), Ok(()));
        assert_eq!(
            authorize(principal(8), chaos_system),
            Err(ProbeError::Unauthorized {
                caller: principal(8)
            })
        );
        let anonymous = Principal::anonymous();
        assert_eq!(
            authorize(anonymous, chaos_system),
            Err(ProbeError::Unauthorized { caller: anonymous })
        );
    }

    #[test]
    fn an_unset_configuration_authorizes_nobody_not_even_anonymous() {
        let anonymous = Principal::anonymous();
        assert!(authorize(anonymous, anonymous).is_err());
    }

    #[test]
    fn install_argument_refuses_anonymous_and_management_canister() {
        assert!(validate_chaos_system(Principal::anonymous()).is_err());
        assert!(validate_chaos_system(Principal::management_canister()).is_err());
        assert_eq!(validate_chaos_system(principal(7)), Ok(principal(7)));
    }

    #[test]
    fn health_defaults_are_no_arguments_and_thirty_seconds() {
        let req = health_request(health(None, None), probe()).unwrap();
        assert_eq!(req.arg, b"DIDL\x00\x00");
        assert_eq!(req.arg, candid::encode_args(()).unwrap());
        assert_eq!(req.timeout_secs, DEFAULT_HEALTH_TIMEOUT_SECS);
        assert_eq!(req.method, "chaos_state_probe");
    }

    #[test]
    fn health_keeps_a_given_candid_argument_and_timeout() {
        let arg = candid::encode_one(42u64).unwrap();
        let req = health_request(health(Some(&arg), Some(5)), probe()).unwrap();
        assert_eq!(req.arg, arg);
        assert_eq!(req.timeout_secs, 5);
    }

    #[test]
    fn timeouts_outside_one_to_three_hundred_seconds_are_refused() {
        assert!(is_invalid(effective_timeout(Some(0))));
        assert!(is_invalid(effective_timeout(Some(301))));
        assert_eq!(effective_timeout(Some(1)), Ok(1));
        assert_eq!(effective_timeout(Some(300)), Ok(300));
    }

    #[test]
    fn arguments_must_be_candid_and_bounded() {
        assert!(is_invalid(effective_arg(Some(ByteBuf::from(
            b"{}".to_vec()
        )))));
        assert!(is_invalid(effective_arg(Some(ByteBuf::from(vec![])))));
        let mut big = CANDID_MAGIC.to_vec();
        big.resize(MAX_ARG_BYTES + 1, 0);
        assert!(is_invalid(effective_arg(Some(ByteBuf::from(big)))));
    }

    #[test]
    fn targets_must_be_other_canisters() {
        assert!(is_invalid(validate_target(Principal::anonymous(), probe())));
        assert!(is_invalid(validate_target(
            Principal::management_canister(),
            probe()
        )));
        assert!(is_invalid(validate_target(probe(), probe())));
        assert_eq!(validate_target(principal(1), probe()), Ok(principal(1)));
    }

    #[test]
    fn method_names_must_be_non_empty_and_bounded() {
        assert!(is_invalid(validate_method(String::new())));
        assert!(is_invalid(validate_method(
            "m".repeat(MAX_METHOD_NAME_BYTES + 1)
        )));
        assert!(validate_method("m".repeat(MAX_METHOD_NAME_BYTES)).is_ok());
    }

    #[test]
    fn access_requests_are_capped_at_twenty_methods_each_validated() {
        let method = |name: &str| MethodProbe {
            method: name.into(),
            arg: None,
        };
        let args = |n: usize| ProbeAccessArgs {
            target: principal(1),
            methods: (0..n).map(|i| method(&format!("admin_{i}"))).collect(),
        };
        let req = access_request(args(MAX_ACCESS_METHODS), probe()).unwrap();
        assert_eq!(req.methods.len(), MAX_ACCESS_METHODS);
        assert!(req.methods.iter().all(|m| m.arg == EMPTY_ARGS));
        assert!(is_invalid(access_request(
            args(MAX_ACCESS_METHODS + 1),
            probe()
        )));
        let mut bad = args(2);
        bad.methods[1].method.clear();
        assert!(is_invalid(access_request(bad, probe())));
        assert_eq!(access_request(args(0), probe()).unwrap().methods, vec![]);
    }
}
