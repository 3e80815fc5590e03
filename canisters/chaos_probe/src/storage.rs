//! Stable-memory layout of the probe: one cell, the configured chaos_system principal. It lives
//! in stable memory so an upgrade keeps it with no `pre_upgrade`.
//!
//! ```text
//! stable memory ── MemoryManager (ic-stable-structures 0.7)
//!   └─ MemoryId 0  CONFIG  StableCell<Config>   [version u8 = 1][len u8][principal bytes ≤ 29]
//!   MemoryIds 1..=254: free. Retired ids (never reuse): none.
//! ```
//!
//! Counters are heap state ([`crate::state`]) and restart at zero after an upgrade.

use candid::Principal;
use ic_stable_structures::memory_manager::{MemoryId, MemoryManager, VirtualMemory};
use ic_stable_structures::storable::Bound;
use ic_stable_structures::{DefaultMemoryImpl, Memory, StableCell, Storable};
use std::borrow::Cow;
use std::cell::RefCell;

/// The [`Config`] cell.
pub const CONFIG: MemoryId = MemoryId::new(0);

/// Version of the [`Config`] encoding; bump it with a migration, never reinterpret old bytes.
pub const CONFIG_LAYOUT_VERSION: u8 = 1;
const MAX_PRINCIPAL_LEN: usize = 29;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// The only principal allowed to call the probe's update methods.
    pub chaos_system: Principal,
}

impl Config {
    /// Before `init` writes the real value: anonymous, which `request::authorize` never admits.
    pub const UNSET: Config = Config {
        chaos_system: Principal::anonymous(),
    };
}

impl Storable for Config {
    const BOUND: Bound = Bound::Bounded {
        max_size: 2 + MAX_PRINCIPAL_LEN as u32,
        is_fixed_size: false,
    };

    fn to_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Owned(self.into_bytes())
    }

    fn into_bytes(self) -> Vec<u8> {
        let principal = self.chaos_system.as_slice();
        let mut out = Vec::with_capacity(2 + principal.len());
        out.push(CONFIG_LAYOUT_VERSION);
        out.push(principal.len() as u8);
        out.extend_from_slice(principal);
        out
    }

    /// Panics on bytes it does not understand: in `post_upgrade` that traps and the IC rolls
    /// the upgrade back, rather than running with a guessed principal.
    fn from_bytes(bytes: Cow<'_, [u8]>) -> Self {
        match bytes.as_ref() {
            [CONFIG_LAYOUT_VERSION, len, principal @ ..]
                if usize::from(*len) == principal.len() && principal.len() <= MAX_PRINCIPAL_LEN =>
            {
                Config {
                    chaos_system: Principal::from_slice(principal),
                }
            }
            other => panic!(
                "chaos_probe config: unknown encoding (version byte {:?}); this module cannot read it",
                other.first()
            ),
        }
    }
}

/// The config cell over any memory: the canister's stable memory, or a `VectorMemory` in tests.
pub fn config_cell<M: Memory>(memory: M) -> StableCell<Config, M> {
    StableCell::init(memory, Config::UNSET)
}

thread_local! {
    static CELL: RefCell<StableCell<Config, VirtualMemory<DefaultMemoryImpl>>> = RefCell::new(
        config_cell(MemoryManager::init(DefaultMemoryImpl::default()).get(CONFIG)),
    );
}

pub fn config() -> Config {
    CELL.with_borrow(|c| *c.get())
}

pub fn set_chaos_system(chaos_system: Principal) {
    CELL.with_borrow_mut(|c| c.set(Config { chaos_system }));
}

#[cfg(test)]
mod tests {
    use super::*;
    use ic_stable_structures::VectorMemory;

    fn principal(n: u8) -> Principal {
        Principal::from_slice(&[n, 0, 0, 0, 0, 0, 0, 0, 1, 1])
    }

    #[test]
    fn a_fresh_memory_is_unset_and_a_written_principal_survives_reopening() {
        let memory = VectorMemory::default();
        let mut cell = config_cell(memory.clone());
        assert_eq!(*cell.get(), Config::UNSET);
        cell.set(Config {
            chaos_system: principal(7),
        });
        // What post_upgrade does: open the same memory again.
        let reopened = config_cell(memory);
        assert_eq!(reopened.get().chaos_system, principal(7));
    }

    #[test]
    fn every_principal_length_round_trips() {
        for p in [
            Principal::anonymous(),
            Principal::management_canister(),
            principal(1),
            Principal::self_authenticating([7u8; 32]),
        ] {
            let c = Config { chaos_system: p };
            assert_eq!(Config::from_bytes(c.to_bytes()), c);
        }
    }

    #[test]
    #[should_panic(expected = "unknown encoding")]
    fn an_unknown_version_is_refused() {
        Config::from_bytes(Cow::Borrowed(&[2, 0]));
    }
}
