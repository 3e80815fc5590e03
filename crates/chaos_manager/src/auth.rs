//! Roles and the one authorization rule every shell applies before calling the core.

use crate::error::CoreError;
use crate::state::State;
use ic_principal::Principal;
use minicbor::{Decode, Encode};

/// What a principal may do. Ordered by privilege: an admin may do what an operator may,
/// an operator what an auditor may.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
#[cbor(index_only)]
pub enum Role {
    /// Reads drills, targets and the event log.
    #[n(0)]
    Auditor,
    /// Runs drills (and, later, experiments) on registered targets.
    #[n(1)]
    Operator,
    /// Manages roles and the targets registry.
    #[n(2)]
    Admin,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Auditor => "auditor",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }
}

/// Checks that `caller` holds at least `required`. Anonymous and unknown principals get a
/// typed error that says what to do next.
pub fn authorize(state: &State, caller: &Principal, required: Role) -> Result<Role, CoreError> {
    if *caller == Principal::anonymous() {
        return Err(CoreError::AnonymousCaller);
    }
    match state.role_of(caller) {
        None => Err(CoreError::NotAuthorized {
            caller: *caller,
            required,
            held: None,
        }),
        Some(held) if held < required => Err(CoreError::NotAuthorized {
            caller: *caller,
            required,
            held: Some(held),
        }),
        Some(held) => Ok(held),
    }
}
