//! Cooperative fault hooks: a target canister embeds this crate so chaos_system can inject
//! faults into it during an experiment. The interface is `candid/chaos_hooks.did`; the contract
//! and each fault's behaviour on the IC are in `docs/chaos-hooks-contract.md`.
//!
//! Two parts:
//! - pure (always built, no ic-cdk): [`types`] (the Candid types), [`plan`] (validation, caps),
//!   [`rng`] (hand-written SplitMix64 / xoshiro256**, never `getrandom`), [`engine`] (the hook
//!   state machine: authorization, plan lifecycle and expiry, and the decision "what does this
//!   guarded call suffer" as a function of plan, method, caller and draw);
//! - [`canister`] (feature `canister`, default): the ic-cdk shell — [`canister::guard`],
//!   [`canister::guard_query`], [`canister::perturb`], the control methods, instruction burn,
//!   heap ballast and delays.
//!
//! Embedding, in the target's `lib.rs`:
//!
//! ```ignore
//! chaos_hooks::export_control_methods!();          // the four chaos_hooks_* methods
//!
//! #[ic_cdk::init]
//! fn init() { chaos_hooks::canister::setup(hook_setup()); }       // and in post_upgrade
//!
//! #[ic_cdk::update(manual_reply = true)]
//! async fn deposit(args: AmountArgs) -> PhantomData<OperationResult> {
//!     let caller = ic_cdk::api::msg_caller();
//!     if let Err(reason) = chaos_hooks::canister::guard("deposit").await {
//!         return chaos_hooks::canister::reject(&reason);
//!     }
//!     chaos_hooks::canister::reply(do_deposit(caller, args))
//! }
//! ```
//!
//! and the types and methods of `candid/chaos_hooks.did` in the target's `.did`, checked by
//! [`contract::check_embeds_control_methods`] (feature `contract`) in its contract test.

pub mod engine;
pub mod plan;
pub mod rng;
pub mod types;

#[cfg(feature = "canister")]
pub mod canister;
#[cfg(feature = "contract")]
pub mod contract;

pub use types::*;

impl std::fmt::Display for HookError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotChaosSystem => write!(f, "the caller is not the configured chaos_system"),
            Self::NotConfigured => write!(
                f,
                "no chaos_system is configured: a controller calls chaos_hooks_configure"
            ),
            Self::NotController => write!(f, "only a controller may configure the hooks"),
            Self::InvalidPlan(m) => write!(f, "invalid plan: {m}"),
            Self::InvalidConfig(m) => write!(f, "invalid configuration: {m}"),
            Self::NoCorruptionHook => write!(f, "this canister registered no corruption function"),
            Self::CapExceeded(m) => write!(f, "cap exceeded: {m}"),
        }
    }
}

/// Exports the four control methods of `candid/chaos_hooks.did` from the embedding canister
/// (which must depend on `ic-cdk`, `candid` and this crate under its own name: the Candid
/// export reads the signatures as text, so they name `::chaos_hooks`, not `$crate`). Invoke it
/// once, at the crate root.
#[cfg(feature = "canister")]
#[macro_export]
macro_rules! export_control_methods {
    () => {
        /// chaos_system only: sets the fault plan (`candid/chaos_hooks.did`).
        #[::ic_cdk::update]
        fn chaos_hooks_set_plan(plan: ::chaos_hooks::FaultPlan) -> ::chaos_hooks::HookResult {
            $crate::canister::control_set_plan(plan)
        }

        /// chaos_system or a controller: ends every fault.
        #[::ic_cdk::update]
        fn chaos_hooks_clear() -> ::chaos_hooks::HookResult {
            $crate::canister::control_clear()
        }

        /// chaos_system, a controller or this canister: the hooks' state; rejects others.
        #[::ic_cdk::query(manual_reply = true)]
        fn chaos_hooks_status() -> ::std::marker::PhantomData<::chaos_hooks::HookStatus> {
            match $crate::canister::control_status() {
                Ok(status) => $crate::canister::reply(status),
                Err(e) => $crate::canister::reject(&::std::format!("chaos_hooks_status: {e}")),
            }
        }

        /// Controllers only: names the chaos_system principal (null disarms).
        #[::ic_cdk::update]
        fn chaos_hooks_configure(
            chaos_system: ::std::option::Option<::candid::Principal>,
        ) -> ::chaos_hooks::HookResult {
            $crate::canister::control_configure(chaos_system)
        }
    };
}
