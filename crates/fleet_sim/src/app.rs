//! The code a simulated vault canister runs: demo_vault's pure vault logic
//! (`demo_vault::vault::Vault`) over the canister's stable memory, exactly as the canister runs
//! it, so the simulator measures the real vault.

use candid::Principal;
use chaos_manager::effect::StateProbe;
use chaos_manager::TimestampNs;
use demo_vault::storage::VaultMemories;
use demo_vault::vault::Vault;
use ic_stable_structures::memory_manager::{MemoryManager, VirtualMemory};
use ic_stable_structures::VectorMemory;

pub use demo_vault::vault::Operation as VaultOp;

/// MemoryManager bucket size of simulated vaults, in 64 KiB pages.
const SIM_BUCKET_PAGES: u16 = 1;

/// A running instance of demo_vault over one canister's stable memory.
pub struct VaultApp {
    vault: Vault<VirtualMemory<VectorMemory>>,
}

impl VaultApp {
    /// The vault's probe method (what its target spec names).
    pub const PROBE_METHOD: &'static str = crate::fixtures::PROBE_METHOD;

    /// Loads the vault from `memory` (creating an empty one in empty memory), as the canister's
    /// `init` and `post_upgrade` do. The instance shares `memory`.
    ///
    /// The layout is the canister's (`demo_vault::storage`: one MemoryManager, the same
    /// MemoryIds) except for the bucket size: one 64 KiB page instead of 8 MiB, so a simulated
    /// canister's memory (and each snapshot of it) weighs kilobytes, not 32 MiB.
    pub fn open(memory: &VectorMemory) -> Self {
        let manager = MemoryManager::init_with_bucket_size(memory.clone(), SIM_BUCKET_PAGES);
        VaultApp {
            vault: Vault::init(VaultMemories::from_manager(&manager)),
        }
    }

    /// Applies `op` for `caller`; `Err` is the vault's refusal, which changes nothing.
    pub fn apply(
        &mut self,
        caller: Principal,
        op: &VaultOp,
        now: TimestampNs,
    ) -> Result<(), String> {
        self.vault
            .execute(caller, *op, None, now.0)
            .map(|_| ())
            .map_err(|e| format!("{e:?}"))
    }

    /// What `chaos_state_probe` answers, in the core's terms.
    pub fn probe(&self) -> StateProbe {
        let p = self.vault.probe();
        StateProbe {
            operation_count: p.operation_count,
            state_hash: p.state_hash.into_vec(),
        }
    }

    /// demo_vault's registered corruption function (`demo_vault::chaos::corrupt`): balances
    /// change without the supply or fingerprint; returns how many changed.
    pub fn corrupt(&mut self, intensity: u32) -> u64 {
        demo_vault::chaos::corrupt(&mut self.vault, intensity).items_changed
    }

    /// The vault's own invariants (supply, fingerprint, dedup index).
    pub fn check_invariants(&self) -> Result<(), String> {
        self.vault.check_invariants().map_err(|e| e.to_string())
    }
}

/// The Candid method a user calls for `op`.
pub fn method_of(op: &VaultOp) -> &'static str {
    match op {
        VaultOp::Deposit { .. } => "deposit",
        VaultOp::Withdraw { .. } => "withdraw",
        VaultOp::Transfer { .. } => "transfer",
    }
}
