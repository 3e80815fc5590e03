//! The exported Candid interface equals `candid/demo_vault.did`, method for method and type for
//! type: adding, removing or changing a method on either side fails this test.

use candid_parser::utils::{service_equal, CandidSource};
use std::path::PathBuf;

fn did_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../candid/demo_vault.did")
}

#[test]
fn exported_interface_equals_the_did_file() {
    let exported = demo_vault::candid_interface();
    let path = did_path();
    service_equal(CandidSource::Text(&exported), CandidSource::File(&path)).unwrap_or_else(|e| {
        panic!(
            "{} differs from the exported interface: {e:?}\n\nexported:\n{exported}",
            path.display()
        )
    });
}

#[test]
fn the_did_file_embeds_the_chaos_hooks_control_methods() {
    let did = std::fs::read_to_string(did_path()).unwrap();
    chaos_hooks::contract::check_embeds_control_methods(&did).unwrap();
}

/// Every vault method is guarded (only the hooks' own control methods are not), and only
/// guarded methods perturb their answers.
#[test]
fn every_vault_method_is_guarded() {
    let (env, service) = CandidSource::File(&did_path()).load().unwrap();
    let methods = env.as_service(&service.unwrap()).unwrap().to_vec();
    let mut vault_methods: Vec<&str> = methods
        .iter()
        .map(|(name, _)| name.as_str())
        .filter(|name| !name.starts_with("chaos_hooks_"))
        .collect();
    let mut guarded = demo_vault::chaos::GUARDED_METHODS.to_vec();
    vault_methods.sort_unstable();
    guarded.sort_unstable();
    assert_eq!(vault_methods, guarded);
    for m in demo_vault::chaos::PERTURBABLE_METHODS {
        assert!(guarded.contains(m), "{m} perturbs but is not guarded");
    }
}

#[test]
fn the_check_rejects_an_added_or_changed_method() {
    let did = std::fs::read_to_string(did_path()).unwrap();
    let exported = demo_vault::candid_interface();
    let added = did.replacen(
        "service : () -> {",
        "service : () -> {\n  extra : () -> ();",
        1,
    );
    let changed = did.replacen(
        "total_supply : () -> (nat64) query;",
        "total_supply : () -> (nat64);",
        1,
    );
    let hook_changed = did.replacen(
        "chaos_hooks_clear : () -> (HookResult);",
        "chaos_hooks_clear : () -> (HookResult) query;",
        1,
    );
    for (what, text) in [
        ("added", added),
        ("changed", changed),
        ("hook changed", hook_changed),
    ] {
        assert_ne!(text, did, "{what}: the edit must apply");
        assert!(
            service_equal(CandidSource::Text(&exported), CandidSource::Text(&text)).is_err(),
            "{what} method went unnoticed"
        );
    }
}
