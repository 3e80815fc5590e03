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
    for (what, text) in [("added", added), ("changed", changed)] {
        assert_ne!(text, did, "{what}: the edit must apply");
        assert!(
            service_equal(CandidSource::Text(&exported), CandidSource::Text(&text)).is_err(),
            "{what} method went unnoticed"
        );
    }
}
