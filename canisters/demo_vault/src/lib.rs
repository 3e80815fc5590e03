//! demo_vault: the suite's reference DeFi target canister. Entry points only: decode, call the
//! core ([`vault::Vault`]), return. State lives in stable memory ([`storage`]), so there is no
//! `pre_upgrade` and nothing is serialized across upgrades.
//!
//! Who may call: every method is public. Deposit, withdraw and transfer refuse the anonymous
//! principal; queries answer anyone.

pub mod api;
pub mod fingerprint;
pub mod storage;
pub mod vault;

use api::{AmountArgs, OperationReceipt, StateProbe, TransferArgs, VaultError};
use candid::Principal;
use ic_cdk::api::{msg_caller, time};
use ic_stable_structures::memory_manager::VirtualMemory;
use ic_stable_structures::DefaultMemoryImpl;
use std::cell::RefCell;

type CanisterVault = vault::Vault<VirtualMemory<DefaultMemoryImpl>>;

thread_local! {
    static VAULT: RefCell<CanisterVault> =
        RefCell::new(vault::Vault::init_in(DefaultMemoryImpl::default()));
}

fn read_vault<R>(f: impl FnOnce(&CanisterVault) -> R) -> R {
    VAULT.with_borrow(f)
}

fn mutate_vault<R>(f: impl FnOnce(&mut CanisterVault) -> R) -> R {
    VAULT.with_borrow_mut(f)
}

/// Creates the stable layout at install time.
#[ic_cdk::init]
fn init() {
    read_vault(|_| ());
}

/// Loads the stable layout (no deserialization of state): an incompatible layout traps here, so
/// the upgrade is rolled back instead of the next call failing.
#[ic_cdk::post_upgrade]
fn post_upgrade() {
    read_vault(|_| ());
}

/// Anyone but anonymous. Credits the caller.
#[ic_cdk::update]
fn deposit(args: AmountArgs) -> Result<OperationReceipt, VaultError> {
    let caller = msg_caller();
    mutate_vault(|v| v.deposit(caller, args.amount, args.key(), time()))
}

/// Anyone but anonymous. Debits the caller.
#[ic_cdk::update]
fn withdraw(args: AmountArgs) -> Result<OperationReceipt, VaultError> {
    let caller = msg_caller();
    mutate_vault(|v| v.withdraw(caller, args.amount, args.key(), time()))
}

/// Anyone but anonymous. Moves funds from the caller to `args.to`.
#[ic_cdk::update]
fn transfer(args: TransferArgs) -> Result<OperationReceipt, VaultError> {
    let caller = msg_caller();
    mutate_vault(|v| v.transfer(caller, args.to, args.amount, args.key(), time()))
}

/// Anyone.
#[ic_cdk::query]
fn balance_of(account: Principal) -> u64 {
    read_vault(|v| v.balance_of(&account))
}

/// Anyone.
#[ic_cdk::query]
fn total_supply() -> u64 {
    read_vault(|v| v.total_supply())
}

/// Anyone. The drill probe; O(1).
#[ic_cdk::query]
fn chaos_state_probe() -> StateProbe {
    read_vault(|v| v.probe())
}

/// Anyone. O(accounts), bounded by [`vault::MAX_INVARIANT_SCAN_ACCOUNTS`].
#[ic_cdk::query]
fn check_invariants() -> Result<(), String> {
    read_vault(|v| v.check_invariants()).map_err(|e| e.to_string())
}

/// The Candid interface this build exports (what `candid/demo_vault.did` must equal).
pub fn candid_interface() -> String {
    __export_service()
}

ic_cdk::export_candid!();
