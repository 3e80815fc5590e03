//! The Candid contract helper: embedding canisters copy the control methods of
//! `candid/chaos_hooks.did` into their own `.did`, and their contract test proves the copy
//! matches with [`check_embeds_control_methods`].

use candid::types::subtype::equal;
use candid_parser::utils::CandidSource;
use std::collections::HashSet;

/// The hooks' interface, `candid/chaos_hooks.did`.
pub const CHAOS_HOOKS_DID: &str = include_str!("../../../candid/chaos_hooks.did");

/// The four control methods every embedding canister exports.
pub const CONTROL_METHODS: [&str; 4] = [
    "chaos_hooks_set_plan",
    "chaos_hooks_clear",
    "chaos_hooks_status",
    "chaos_hooks_configure",
];

/// Ok when the service in `did` (a `.did` text) has each control method of
/// [`CHAOS_HOOKS_DID`] with a structurally equal type (annotations included). The error names
/// the first missing or different method.
pub fn check_embeds_control_methods(did: &str) -> Result<(), String> {
    let (mut env, service) = CandidSource::Text(did)
        .load()
        .map_err(|e| format!("the embedding .did does not parse: {e}"))?;
    let service = service.ok_or("the embedding .did has no service")?;
    let (hooks_env, hooks_service) = CandidSource::Text(CHAOS_HOOKS_DID)
        .load()
        .map_err(|e| format!("candid/chaos_hooks.did does not parse: {e}"))?;
    let hooks_service = hooks_service.ok_or("candid/chaos_hooks.did has no service")?;
    let hooks_service = env.merge_type(hooks_env, hooks_service);
    let ours: Vec<(String, candid::types::Type)> = env
        .as_service(&service)
        .map_err(|e| e.to_string())?
        .to_vec();
    let theirs = env
        .as_service(&hooks_service)
        .map_err(|e| e.to_string())?
        .to_vec();
    for (name, expected) in &theirs {
        let found = ours
            .iter()
            .find(|(n, _)| n == name)
            .ok_or_else(|| format!("{name} is missing (copy it from candid/chaos_hooks.did)"))?;
        equal(&mut HashSet::new(), &env, &found.1, expected)
            .map_err(|e| format!("{name} differs from candid/chaos_hooks.did: {e}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hooks_did_embeds_itself() {
        check_embeds_control_methods(CHAOS_HOOKS_DID).unwrap();
    }

    #[test]
    fn a_missing_or_changed_method_is_named() {
        let missing = CHAOS_HOOKS_DID.replace("  chaos_hooks_clear : () -> (HookResult);\n", "");
        assert_ne!(missing, CHAOS_HOOKS_DID);
        let err = check_embeds_control_methods(&missing).unwrap_err();
        assert!(err.contains("chaos_hooks_clear is missing"), "{err}");

        let changed = CHAOS_HOOKS_DID.replace(
            "chaos_hooks_status : () -> (HookStatus) query;",
            "chaos_hooks_status : () -> (HookStatus);",
        );
        assert_ne!(changed, CHAOS_HOOKS_DID);
        let err = check_embeds_control_methods(&changed).unwrap_err();
        assert!(err.contains("chaos_hooks_status differs"), "{err}");

        let retyped = CHAOS_HOOKS_DID.replace(
            "  ballast_bytes : nat64;\n  counts",
            "  ballast_bytes : nat32;\n  counts",
        );
        assert_ne!(retyped, CHAOS_HOOKS_DID);
        assert!(check_embeds_control_methods(&retyped).is_err());
    }
}
