//! Calls to the vault: bounded-wait only (a hung or delayed vault costs the consumer at most
//! [`CALL_TIMEOUT_SECS`] per call, never its ability to stop or upgrade), sequential, at most
//! four per reading.

use crate::api::{ConsumerError, VaultProbe};
use crate::observe::{truncate, Reads, MAX_ERROR_LEN};
use candid::{CandidType, Deserialize, Principal};
use ic_cdk::call::{Call, CallFailed};

/// Seconds one call to the vault may take; after it the reading fails with SysUnknown (6).
pub const CALL_TIMEOUT_SECS: u32 = 30;

/// One reading: probe, total_supply, balance_of(watched), probe (see [`crate::observe`]).
pub async fn read(vault: Principal, watched: Option<Principal>) -> Result<Reads, ConsumerError> {
    let before: VaultProbe = call(vault, "chaos_state_probe", None).await?;
    let total_supply: u64 = call(vault, "total_supply", None).await?;
    let watched_balance = match watched {
        Some(account) => Some(call::<u64>(vault, "balance_of", Some(account)).await?),
        None => None,
    };
    let after: VaultProbe = call(vault, "chaos_state_probe", None).await?;
    Ok(Reads {
        before,
        total_supply,
        watched_balance,
        after,
    })
}

async fn call<R>(vault: Principal, method: &str, arg: Option<Principal>) -> Result<R, ConsumerError>
where
    R: CandidType + for<'de> Deserialize<'de>,
{
    let mut request = Call::bounded_wait(vault, method).change_timeout(CALL_TIMEOUT_SECS);
    if let Some(arg) = arg {
        request = request.with_arg(arg);
    }
    let failed = |reject_code, message: String| ConsumerError::VaultCallFailed {
        method: method.to_string(),
        reject_code,
        message: truncate(message, MAX_ERROR_LEN),
    };
    let response = request.await.map_err(|e| match e {
        CallFailed::CallRejected(r) => failed(Some(r.raw_reject_code()), r.reject_message().into()),
        other => failed(None, other.to_string()),
    })?;
    response
        .candid::<R>()
        .map_err(|e| ConsumerError::UndecodableReply {
            method: method.to_string(),
            message: truncate(e.to_string(), MAX_ERROR_LEN),
        })
}
