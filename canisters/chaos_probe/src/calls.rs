//! The I/O shell: the probe's outbound calls. Every call is a bounded-wait call with an explicit
//! timeout, holds an in-flight slot and is counted; what its result means is decided by the
//! pure modules ([`crate::outcome`], [`crate::metadata`]).

use crate::api::{AccessResult, CandidMetadata, ProbeError, ProbeResult};
use crate::join::join_all;
use crate::metadata::{self, Section, CANDID_SERVICE};
use crate::outcome;
use crate::request::{AccessRequest, HealthRequest, ACCESS_TIMEOUT_SECS, MANAGEMENT_TIMEOUT_SECS};
use crate::state::{self, Slots};
use candid::Principal;
use ic_cdk::api::{canister_liquid_cycle_balance, canister_self, time};
use ic_cdk::call::{Call, Response};
use ic_cdk_management_canister::{CanisterMetadataArgs, CanisterStatusArgs};
use std::future::IntoFuture;

/// One call to `req.method` with the given raw arguments. `latency_ns` is the difference of two
/// `ic0.time` readings, which is the block time of the round that executes each message: it
/// counts whole rounds (≈ 0.5–1 s apart on mainnet; whatever PocketIC was advanced by), not
/// the target's execution time.
pub async fn probe_health(req: HealthRequest) -> Result<ProbeResult, ProbeError> {
    let _slots = Slots::reserve(1)?;
    let call = Call::bounded_wait(req.target, &req.method)
        .change_timeout(req.timeout_secs)
        .with_raw_args(&req.arg);
    state::count_calls(1);
    let started = time();
    let result = call.await.map(Response::into_bytes);
    let latency_ns = time().saturating_sub(started);
    Ok(ProbeResult {
        outcome: outcome::health_outcome(result)?,
        latency_ns,
    })
}

/// Calls each declared privileged method once, concurrently, as this unprivileged canister.
/// First proves the probe is not a controller of the target (a controller would pass
/// controller-only guards and report false findings).
pub async fn probe_access(req: AccessRequest) -> Result<Vec<AccessResult>, ProbeError> {
    if req.methods.is_empty() {
        return Ok(vec![]);
    }
    let _slots = Slots::reserve(req.methods.len() as u32 + 1)?;
    ensure_not_controller(req.target).await?;
    let calls: Vec<Call> = req
        .methods
        .iter()
        .map(|m| {
            Call::bounded_wait(req.target, &m.method)
                .change_timeout(ACCESS_TIMEOUT_SECS)
                .with_raw_args(&m.arg)
        })
        .collect();
    // All or nothing: checking the whole batch's cost first avoids sending half of it.
    let required = calls
        .iter()
        .fold(0u128, |sum, c| sum.saturating_add(c.get_cost()));
    let available = canister_liquid_cycle_balance();
    if available < required {
        return Err(ProbeError::InsufficientCycles {
            available,
            required,
        });
    }
    state::count_calls(calls.len());
    let results = join_all(calls.into_iter().map(IntoFuture::into_future).collect()).await;
    Ok(req
        .methods
        .into_iter()
        .zip(results)
        .map(|(m, r)| outcome::access_result(m.method, r.map(Response::into_bytes)))
        .collect())
}

/// `candid:service` as any non-controller canister sees it.
pub async fn read_candid_metadata(target: Principal) -> Result<CandidMetadata, ProbeError> {
    let _slots = Slots::reserve(2)?;
    let args = CanisterMetadataArgs {
        canister_id: target,
        name: CANDID_SERVICE.into(),
    };
    state::count_calls(1);
    let result = Call::bounded_wait(Principal::management_canister(), "canister_metadata")
        .change_timeout(MANAGEMENT_TIMEOUT_SECS)
        .with_arg(&args)
        .await
        .map(Response::into_bytes);
    let section = metadata::classify_metadata(result)?;
    if matches!(section, Section::Visible(_)) {
        ensure_not_controller(target).await?;
    }
    Ok(metadata::candid_metadata(section))
}

async fn ensure_not_controller(target: Principal) -> Result<(), ProbeError> {
    state::count_calls(1);
    let result = Call::bounded_wait(Principal::management_canister(), "canister_status")
        .change_timeout(MANAGEMENT_TIMEOUT_SECS)
        .with_arg(&CanisterStatusArgs {
            canister_id: target,
        })
        .await
        .map(Response::into_bytes);
    metadata::classify_controller_check(result, canister_self(), target)
}
