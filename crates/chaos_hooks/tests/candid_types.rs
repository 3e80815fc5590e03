//! The Rust types of `chaos_hooks` are exactly `candid/chaos_hooks.did`: a service declared
//! from the Rust signatures equals the file (the same check demo_vault and vault_consumer run
//! on their whole interface).

use candid::{candid_method, Principal};
use candid_parser::utils::{service_equal, CandidSource};
use chaos_hooks::{FaultPlan, HookResult, HookStatus};
use std::path::PathBuf;

#[allow(dead_code)]
#[candid_method(update)]
fn chaos_hooks_set_plan(_plan: FaultPlan) -> HookResult {
    unreachable!()
}

#[allow(dead_code)]
#[candid_method(update)]
fn chaos_hooks_clear() -> HookResult {
    unreachable!()
}

#[allow(dead_code)]
#[candid_method(query)]
fn chaos_hooks_status() -> HookStatus {
    unreachable!()
}

#[allow(dead_code)]
#[candid_method(update)]
fn chaos_hooks_configure(_chaos_system: Option<Principal>) -> HookResult {
    unreachable!()
}

candid::export_service!();

#[test]
fn rust_types_equal_the_did_file() {
    let exported = __export_service();
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../candid/chaos_hooks.did");
    service_equal(CandidSource::Text(&exported), CandidSource::File(&path)).unwrap_or_else(|e| {
        panic!(
            "{} differs from the Rust types: {e:?}\n\nexported:\n{exported}",
            path.display()
        )
    });
}
