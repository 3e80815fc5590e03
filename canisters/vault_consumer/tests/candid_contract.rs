//! The exported Candid interface equals `candid/vault_consumer.did`, method for method and type
//! for type, and the file embeds the chaos hooks' control methods exactly.

use candid_parser::utils::{service_equal, CandidSource};
use std::path::PathBuf;

fn did_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../candid/vault_consumer.did")
}

#[test]
fn exported_interface_equals_the_did_file() {
    let exported = vault_consumer::candid_interface();
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

/// Every service method is guarded except configuration (`configure`, `settings`) and the
/// hooks' own control methods.
#[test]
fn service_methods_are_guarded() {
    let (env, service) = CandidSource::File(&did_path()).load().unwrap();
    let methods = env.as_service(&service.unwrap()).unwrap().to_vec();
    let mut service_methods: Vec<&str> = methods
        .iter()
        .map(|(name, _)| name.as_str())
        .filter(|name| {
            !name.starts_with("chaos_hooks_") && !["configure", "settings"].contains(name)
        })
        .collect();
    let mut guarded = vault_consumer::GUARDED_METHODS.to_vec();
    service_methods.sort_unstable();
    guarded.sort_unstable();
    assert_eq!(service_methods, guarded);
}

#[test]
fn the_check_rejects_an_added_or_changed_method() {
    let did = std::fs::read_to_string(did_path()).unwrap();
    let exported = vault_consumer::candid_interface();
    let added = did.replacen(
        "service : (opt Settings) -> {",
        "service : (opt Settings) -> {\n  extra : () -> ();",
        1,
    );
    let changed = did.replacen(
        "health : () -> (Health) query;",
        "health : () -> (Health);",
        1,
    );
    let init_changed = did.replacen(
        "service : (opt Settings) -> {",
        "service : (Settings) -> {",
        1,
    );
    for (what, text) in [
        ("added", added),
        ("changed", changed),
        ("init changed", init_changed),
    ] {
        assert_ne!(text, did, "{what}: the edit must apply");
        assert!(
            service_equal(CandidSource::Text(&exported), CandidSource::Text(&text)).is_err(),
            "{what} went unnoticed"
        );
    }
}
