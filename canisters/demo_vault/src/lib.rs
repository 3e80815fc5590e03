//! demo_vault: the suite's reference DeFi target canister. Entry points only: decode, guard,
//! call the core ([`vault::Vault`]), reply. State lives in stable memory ([`storage`]), so there
//! is no `pre_upgrade` and nothing is serialized across upgrades.
//!
//! Who may call: the vault methods are public. Deposit, withdraw and transfer refuse the
//! anonymous principal; queries answer anyone. The `chaos_hooks_*` control methods are for the
//! configured chaos_system principal (and controllers: configure, clear, status).
//!
//! Chaos hooks ([`chaos`], crates/chaos_hooks): every vault method starts with the hooks'
//! guard, so an active fault plan can reject, trap, delay, partition or burn; `balance_of` and
//! `total_supply` can answer wrongly (byzantine); a `Corrupt` fault changes balances behind the
//! invariants' back. A fault is an IC reject or trap, never a new `VaultError`: the endpoints
//! reply manually (`manual_reply`), which is why they return `PhantomData<T>` (Candid type `T`).
//! Fault state is heap-only, so an upgrade ends every fault; the chaos_system principal set by
//! `chaos_hooks_configure` is kept in stable memory ([`storage::CHAOS_HOOKS_CONFIG`]).

pub mod api;
pub mod chaos;
pub mod fingerprint;
pub mod storage;
pub mod vault;

use api::{AmountArgs, OperationReceipt, StateProbe, TransferArgs, VaultError};
use candid::Principal;
use chaos_hooks::canister::{self as hooks, HookSetup};
use ic_cdk::api::{msg_caller, time};
use ic_stable_structures::memory_manager::{MemoryManager, VirtualMemory};
use ic_stable_structures::DefaultMemoryImpl;
use std::cell::RefCell;
use std::marker::PhantomData;

type CanisterVault = vault::Vault<VirtualMemory<DefaultMemoryImpl>>;
type OperationResult = Result<OperationReceipt, VaultError>;

thread_local! {
    static MEMORY_MANAGER: MemoryManager<DefaultMemoryImpl> =
        MemoryManager::init(DefaultMemoryImpl::default());
    static VAULT: RefCell<CanisterVault> = RefCell::new(MEMORY_MANAGER.with(|mm| {
        vault::Vault::init(storage::VaultMemories::from_manager(mm))
    }));
}

fn read_vault<R>(f: impl FnOnce(&CanisterVault) -> R) -> R {
    VAULT.with_borrow(f)
}

fn mutate_vault<R>(f: impl FnOnce(&mut CanisterVault) -> R) -> R {
    VAULT.with_borrow_mut(f)
}

fn setup_hooks() {
    hooks::setup(HookSetup {
        guarded_methods: chaos::GUARDED_METHODS,
        perturbable_methods: chaos::PERTURBABLE_METHODS,
        caps: chaos::caps(),
        corruption: Some(|intensity| mutate_vault(|v| chaos::corrupt(v, intensity))),
        config_memory: Some(MEMORY_MANAGER.with(|mm| mm.get(storage::CHAOS_HOOKS_CONFIG))),
    });
}

/// Creates the stable layout at install time. No argument (installs passing `()` still work).
#[ic_cdk::init]
fn init() {
    read_vault(|_| ());
    setup_hooks();
}

/// Loads the stable layout (no deserialization of state): an incompatible layout traps here, so
/// the upgrade is rolled back instead of the next call failing. Faults end here.
#[ic_cdk::post_upgrade]
fn post_upgrade() {
    read_vault(|_| ());
    setup_hooks();
}

chaos_hooks::export_control_methods!();

/// Anyone but anonymous. Credits the caller.
#[ic_cdk::update(manual_reply = true)]
async fn deposit(args: AmountArgs) -> PhantomData<OperationResult> {
    let caller = msg_caller();
    if let Err(reason) = hooks::guard("deposit").await {
        return hooks::reject(&reason);
    }
    hooks::reply(mutate_vault(|v| {
        v.deposit(caller, args.amount, args.key(), time())
    }))
}

/// Anyone but anonymous. Debits the caller.
#[ic_cdk::update(manual_reply = true)]
async fn withdraw(args: AmountArgs) -> PhantomData<OperationResult> {
    let caller = msg_caller();
    if let Err(reason) = hooks::guard("withdraw").await {
        return hooks::reject(&reason);
    }
    hooks::reply(mutate_vault(|v| {
        v.withdraw(caller, args.amount, args.key(), time())
    }))
}

/// Anyone but anonymous. Moves funds from the caller to `args.to`.
#[ic_cdk::update(manual_reply = true)]
async fn transfer(args: TransferArgs) -> PhantomData<OperationResult> {
    let caller = msg_caller();
    if let Err(reason) = hooks::guard("transfer").await {
        return hooks::reject(&reason);
    }
    hooks::reply(mutate_vault(|v| {
        v.transfer(caller, args.to, args.amount, args.key(), time())
    }))
}

/// Anyone.
/// Anyone. The operation count, through the update guard: a no-argument **update** that
/// steady-state probes (chaos_probe) call to see injected latency, which queries cannot show
/// (a query cannot wait, so the hooks never delay one). Changes nothing.
#[ic_cdk::update(manual_reply = true)]
async fn ping() -> PhantomData<u64> {
    if let Err(reason) = hooks::guard("ping").await {
        return hooks::reject(&reason);
    }
    hooks::reply(read_vault(|v| v.operation_count()))
}

#[ic_cdk::query(manual_reply = true)]
fn balance_of(account: Principal) -> PhantomData<u64> {
    hooks::respond(hooks::guard_query("balance_of"), || {
        let balance = read_vault(|v| v.balance_of(&account));
        hooks::perturb("balance_of", balance, chaos::perturb_amount)
    })
}

/// Anyone.
#[ic_cdk::query(manual_reply = true)]
fn total_supply() -> PhantomData<u64> {
    hooks::respond(hooks::guard_query("total_supply"), || {
        let supply = read_vault(|v| v.total_supply());
        hooks::perturb("total_supply", supply, chaos::perturb_amount)
    })
}

/// Anyone. The drill probe; O(1).
#[ic_cdk::query(manual_reply = true)]
fn chaos_state_probe() -> PhantomData<StateProbe> {
    hooks::respond(hooks::guard_query("chaos_state_probe"), || {
        read_vault(|v| v.probe())
    })
}

/// Anyone. O(accounts), bounded by [`vault::MAX_INVARIANT_SCAN_ACCOUNTS`].
#[ic_cdk::query(manual_reply = true)]
fn check_invariants() -> PhantomData<Result<(), String>> {
    hooks::respond(hooks::guard_query("check_invariants"), || {
        read_vault(|v| v.check_invariants()).map_err(|e| e.to_string())
    })
}

/// The Candid interface this build exports (what `candid/demo_vault.did` must equal).
pub fn candid_interface() -> String {
    __export_service()
}

ic_cdk::export_candid!();
