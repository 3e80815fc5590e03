//! chaos_probe: an unprivileged canister that chaos_system asks to call target methods as a
//! neutral principal — health probes, access-control probes (security_breach, IC-CTRL-23) and
//! the public `candid:service` check (IC-CTRL-19). It controls nothing and never asks to.
//!
//! Entry points only: authorize, validate ([`request`]), call ([`calls`]), map the result
//! ([`outcome`], [`metadata`]). The configured principal is in stable memory ([`storage`]);
//! counters are heap ([`state`]). The interface and its limits: `candid/chaos_probe.did`.
//!
//! Who may call: every update method only the configured chaos_system principal (anonymous and
//! everyone else get `Unauthorized`); `status` answers anyone.

pub mod api;
mod calls;
mod join;
pub mod metadata;
pub mod outcome;
pub mod reply;
pub mod request;
mod state;
pub mod storage;

use api::{
    AccessResult, CandidMetadata, InitArg, ProbeAccessArgs, ProbeError, ProbeHealthArgs,
    ProbeResult, ProbeStatus,
};
use candid::Principal;
use ic_cdk::api::{canister_self, msg_caller};

/// Configures chaos_system. A bad principal traps, so the install is rolled back.
#[ic_cdk::init]
fn init(arg: InitArg) {
    configure(arg);
}

/// Keeps the stored principal, or replaces it when an argument is given. An unreadable stored
/// config traps here, so the upgrade is rolled back.
#[ic_cdk::post_upgrade]
fn post_upgrade(arg: Option<InitArg>) {
    let _ = storage::config();
    if let Some(arg) = arg {
        configure(arg);
    }
}

fn configure(arg: InitArg) {
    match request::validate_chaos_system(arg.chaos_system) {
        Ok(chaos_system) => storage::set_chaos_system(chaos_system),
        Err(reason) => ic_cdk::trap(reason),
    }
}

fn authorize() -> Result<(), ProbeError> {
    request::authorize(msg_caller(), storage::config().chaos_system)
}

/// chaos_system only. One bounded-wait call with raw Candid arguments.
#[ic_cdk::update]
async fn probe_health(args: ProbeHealthArgs) -> Result<ProbeResult, ProbeError> {
    authorize()?;
    let req = request::health_request(args, canister_self())?;
    calls::probe_health(req).await
}

/// chaos_system only. Calls each listed privileged method once; an accepted call is a finding.
#[ic_cdk::update]
async fn probe_access(args: ProbeAccessArgs) -> Result<Vec<AccessResult>, ProbeError> {
    authorize()?;
    let req = request::access_request(args, canister_self())?;
    calls::probe_access(req).await
}

/// chaos_system only. Whether the target publishes `candid:service` as `icp:public`.
#[ic_cdk::update]
async fn read_candid_metadata(target: Principal) -> Result<CandidMetadata, ProbeError> {
    authorize()?;
    let target = request::validate_target(target, canister_self())?;
    calls::read_candid_metadata(target).await
}

/// Anyone. The configured principal is not a secret.
#[ic_cdk::query]
fn status() -> ProbeStatus {
    let counters = state::counters();
    ProbeStatus {
        chaos_system: storage::config().chaos_system,
        probes: counters.probes,
        in_flight: counters.in_flight,
    }
}

ic_cdk::export_candid!();

/// The exported interface equals `candid/chaos_probe.did` (the contract).
#[cfg(test)]
mod candid_contract {
    use candid_parser::utils::{service_equal, CandidSource};
    use std::path::Path;

    #[test]
    fn exported_interface_equals_candid_file() {
        let exported = super::__export_service();
        let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../candid/chaos_probe.did");
        if let Err(e) = service_equal(CandidSource::Text(&exported), CandidSource::File(&file)) {
            panic!("candid/chaos_probe.did and the code disagree: {e:?}\n\nexported:\n{exported}");
        }
    }
}
