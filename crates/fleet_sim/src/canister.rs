//! A simulated canister with the management canister's semantics (IC interface spec), as far as
//! the drills depend on them. Every operation is synchronous and pure with respect to the rest
//! of the simulator: time is passed in, no randomness is drawn here.
//!
//! Rejections, with the replica's error code and the [`RejectCode`] the caller sees:
//!
//! | situation                                         | IC error code                    | reject code          |
//! |---------------------------------------------------|----------------------------------|----------------------|
//! | management call by a non-controller               | 512 CanisterInvalidController    | `CanisterError`      |
//! | call to a stopped canister                        | 508 CanisterStopped              | `CanisterError`      |
//! | call to a canister with no module                 | 537 CanisterWasmModuleNotFound   | `CanisterError`      |
//! | method the module does not export (broken module) | 536 CanisterMethodNotFound       | `CanisterError`      |
//! | upgrade of a canister with no module              | 537 CanisterWasmModuleNotFound   | `CanisterError`      |
//! | snapshot of a canister with no module             | (snapshot of an empty canister)  | `CanisterError`      |
//! | unknown snapshot id (load, or `replace_snapshot`) | 305 CanisterSnapshotNotFound     | `DestinationInvalid` |
//! | an 11th snapshot without `replace_snapshot`       | (snapshot limit reached)         | `CanisterReject`     |
//!
//! Guarantees: `uninstall_code` wipes module and memory but keeps snapshots; an upgrade to the
//! broken module keeps stable memory and answers no method; `load_canister_snapshot` restores
//! module and memory exactly (status and controllers are not part of a snapshot); stop and start
//! are idempotent; a canister holds at most [`MAX_SNAPSHOTS`] snapshots.

use crate::app::{method_of, VaultApp, VaultOp};
use candid::Principal;
use chaos_manager::effect::{CallFailure, RejectCode, StateProbe};
use chaos_manager::{SnapshotId, TimestampNs};
use ic_stable_structures::VectorMemory;
use std::cell::RefCell;
use std::rc::Rc;

/// A canister holds at most this many snapshots.
pub const MAX_SNAPSHOTS: usize = 10;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CanisterStatus {
    Running,
    Stopped,
}

/// The code a canister runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Module {
    /// demo_vault: the real vault logic over the canister's stable memory.
    Vault,
    /// `chaos_manager::effect::BROKEN_MODULE`: exports no methods.
    Broken,
    /// No module (never installed, or after `uninstall_code`).
    Empty,
}

/// Who may call `canister_status` (the IC's `status_visibility` setting).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StatusVisibility {
    /// The IC default.
    #[default]
    Controllers,
    Public,
}

#[derive(Clone, Debug)]
pub struct Snapshot {
    pub id: SnapshotId,
    pub taken_at: TimestampNs,
    module: Module,
    memory: Vec<u8>,
}

/// What `canister_status` answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusReply {
    pub status: CanisterStatus,
    pub controllers: Vec<Principal>,
    pub module: Module,
}

/// One simulated canister: controllers, status, module, stable memory, snapshots.
pub struct SimCanister {
    id: Principal,
    controllers: Vec<Principal>,
    status: CanisterStatus,
    module: Module,
    /// The canister's stable memory. Replaced (never shared) when wiped or restored.
    memory: VectorMemory,
    /// The running instance of the vault over `memory`, when `module` is `Vault`.
    app: Option<VaultApp>,
    snapshots: Vec<Snapshot>,
    next_snapshot: u64,
    status_visibility: StatusVisibility,
}

pub type CallResult<T> = Result<T, CallFailure>;

fn reject<T>(code: RejectCode, message: String) -> CallResult<T> {
    Err(CallFailure { code, message })
}

impl SimCanister {
    /// A running canister with demo_vault installed (its `init` run) and `controllers`.
    pub fn with_vault(id: Principal, controllers: Vec<Principal>) -> Self {
        let memory = VectorMemory::default();
        let app = Some(VaultApp::open(&memory));
        SimCanister {
            id,
            controllers,
            status: CanisterStatus::Running,
            module: Module::Vault,
            memory,
            app,
            snapshots: Vec::new(),
            next_snapshot: 0,
            status_visibility: StatusVisibility::Controllers,
        }
    }

    pub fn id(&self) -> Principal {
        self.id
    }

    pub fn status(&self) -> CanisterStatus {
        self.status
    }

    pub fn module(&self) -> Module {
        self.module
    }

    pub fn controllers(&self) -> &[Principal] {
        &self.controllers
    }

    pub fn snapshots(&self) -> &[Snapshot] {
        &self.snapshots
    }

    pub fn set_status_visibility(&mut self, v: StatusVisibility) {
        self.status_visibility = v;
    }

    /// The running vault's own invariants; `Ok` when no vault runs.
    pub fn vault_invariants(&self) -> Result<(), String> {
        self.app.as_ref().map_or(Ok(()), VaultApp::check_invariants)
    }

    /// True when `self` runs its vault and answers calls.
    pub fn is_serving(&self) -> bool {
        self.status == CanisterStatus::Running && self.module == Module::Vault
    }

    fn require_controller(&self, caller: &Principal) -> CallResult<()> {
        if self.controllers.contains(caller) {
            return Ok(());
        }
        let list: Vec<String> = self.controllers.iter().map(|p| p.to_text()).collect();
        reject(
            RejectCode::CanisterError,
            format!(
                "Only the controllers of the canister {} can control it.\nCanister's controllers: {}\nSender's ID: {caller}",
                self.id,
                list.join(" ")
            ),
        )
    }

    /// `canister_status`: controllers only, unless the status is public.
    pub fn canister_status(&self, caller: &Principal) -> CallResult<StatusReply> {
        if self.status_visibility == StatusVisibility::Controllers {
            self.require_controller(caller)?;
        }
        Ok(StatusReply {
            status: self.status,
            controllers: self.controllers.clone(),
            module: self.module,
        })
    }

    /// `canister_info`: any canister may read another's controllers (and module hash).
    pub fn canister_info(&self) -> Vec<Principal> {
        self.controllers.clone()
    }

    /// `list_canister_snapshots`: controllers only.
    pub fn list_snapshots(&self, caller: &Principal) -> CallResult<Vec<(SnapshotId, TimestampNs)>> {
        self.require_controller(caller)?;
        Ok(self
            .snapshots
            .iter()
            .map(|s| (s.id.clone(), s.taken_at))
            .collect())
    }

    /// `update_settings` with new controllers.
    pub fn set_controllers(
        &mut self,
        caller: &Principal,
        controllers: Vec<Principal>,
    ) -> CallResult<()> {
        self.require_controller(caller)?;
        self.controllers = controllers;
        Ok(())
    }

    pub fn stop(&mut self, caller: &Principal) -> CallResult<()> {
        self.require_controller(caller)?;
        self.status = CanisterStatus::Stopped;
        Ok(())
    }

    pub fn start(&mut self, caller: &Principal) -> CallResult<()> {
        self.require_controller(caller)?;
        self.status = CanisterStatus::Running;
        Ok(())
    }

    /// `uninstall_code`: module and memory are gone; snapshots stay.
    pub fn uninstall_code(&mut self, caller: &Principal) -> CallResult<()> {
        self.require_controller(caller)?;
        self.module = Module::Empty;
        self.app = None;
        self.memory = VectorMemory::default();
        Ok(())
    }

    /// `install_code` in upgrade mode with the broken module: stable memory is kept.
    pub fn install_broken_module(&mut self, caller: &Principal) -> CallResult<()> {
        self.require_controller(caller)?;
        if self.module == Module::Empty {
            return reject(
                RejectCode::CanisterError,
                format!(
                    "Canister {} has no wasm module: an upgrade needs an installed module",
                    self.id
                ),
            );
        }
        self.module = Module::Broken;
        self.app = None;
        Ok(())
    }

    /// `take_canister_snapshot`, rotating `replace` out when given.
    pub fn take_snapshot(
        &mut self,
        caller: &Principal,
        replace: Option<&SnapshotId>,
        now: TimestampNs,
    ) -> CallResult<(SnapshotId, TimestampNs)> {
        self.require_controller(caller)?;
        if self.module == Module::Empty {
            return reject(
                RejectCode::CanisterError,
                format!(
                    "Canister {} has no wasm module: a snapshot of an empty canister is rejected",
                    self.id
                ),
            );
        }
        let replaced = match replace {
            Some(old) => Some(self.snapshot_index(old)?),
            None if self.snapshots.len() >= MAX_SNAPSHOTS => {
                return reject(
                    RejectCode::CanisterReject,
                    format!(
                        "Canister {} has reached the maximum number of snapshots allowed: {MAX_SNAPSHOTS}",
                        self.id
                    ),
                )
            }
            None => None,
        };
        if let Some(i) = replaced {
            self.snapshots.remove(i);
        }
        let mut id = self.id.as_slice().to_vec();
        id.extend_from_slice(&self.next_snapshot.to_be_bytes());
        self.next_snapshot += 1;
        let snapshot = Snapshot {
            id: SnapshotId(id),
            taken_at: now,
            module: self.module,
            memory: self.memory.borrow().clone(),
        };
        let taken = (snapshot.id.clone(), now);
        self.snapshots.push(snapshot);
        Ok(taken)
    }

    /// `load_canister_snapshot`: module and memory become the snapshot's.
    pub fn load_snapshot(&mut self, caller: &Principal, id: &SnapshotId) -> CallResult<()> {
        self.require_controller(caller)?;
        let i = self.snapshot_index(id)?;
        let snapshot = &self.snapshots[i];
        self.memory = Rc::new(RefCell::new(snapshot.memory.clone()));
        self.module = snapshot.module;
        self.app = match self.module {
            Module::Vault => Some(VaultApp::open(&self.memory)),
            Module::Broken | Module::Empty => None,
        };
        Ok(())
    }

    fn snapshot_index(&self, id: &SnapshotId) -> CallResult<usize> {
        self.snapshots.iter().position(|s| &s.id == id).map_or_else(
            || {
                reject(
                    RejectCode::DestinationInvalid,
                    format!(
                        "Could not find the snapshot ID {id} for canister {}",
                        self.id
                    ),
                )
            },
            Ok,
        )
    }

    /// Why a call to the `kind` ("query" or "update") method `method` is rejected, if it is:
    /// stopped, empty, or a broken module.
    fn reject_call(&self, kind: &str, method: &str) -> CallResult<()> {
        if self.status == CanisterStatus::Stopped {
            return reject(
                RejectCode::CanisterError,
                format!("Canister {} is stopped", self.id),
            );
        }
        match self.module {
            Module::Vault => Ok(()),
            Module::Empty => reject(
                RejectCode::CanisterError,
                format!("Canister {} has no wasm module", self.id),
            ),
            Module::Broken => reject(
                RejectCode::CanisterError,
                format!("Canister {} has no {kind} method '{method}'", self.id),
            ),
        }
    }

    /// A call of the probe method `method` (demo_vault exports only `chaos_state_probe`).
    pub fn probe(&self, method: &str) -> CallResult<StateProbe> {
        self.reject_call("query", method)?;
        match &self.app {
            Some(app) if method == VaultApp::PROBE_METHOD => Ok(app.probe()),
            _ => reject(
                RejectCode::CanisterError,
                format!("Canister {} has no query method '{method}'", self.id),
            ),
        }
    }

    /// A user's update call to the vault. `Ok(Err(..))` is the vault's own refusal (a reply).
    pub fn vault_call(
        &mut self,
        caller: Principal,
        op: &VaultOp,
        now: TimestampNs,
    ) -> CallResult<Result<(), String>> {
        self.reject_call("update", method_of(op))?;
        match self.app.as_mut() {
            Some(app) => Ok(app.apply(caller, op, now)),
            None => unreachable!("a canister with the vault module runs the vault"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(n: u8) -> Principal {
        Principal::from_slice(&[n, 0xee, 1])
    }

    const T: TimestampNs = TimestampNs(1_000);

    /// Given a vault controlled by p(1) with one deposit.
    fn vault() -> SimCanister {
        let mut c = SimCanister::with_vault(p(9), vec![p(1)]);
        c.vault_call(p(5), &VaultOp::Deposit { amount: 10 }, T)
            .unwrap()
            .unwrap();
        c
    }

    fn code<T: std::fmt::Debug>(r: CallResult<T>) -> RejectCode {
        r.unwrap_err().code
    }

    #[test]
    fn only_controllers_manage_the_canister() {
        let mut c = vault();
        assert_eq!(code(c.stop(&p(2))), RejectCode::CanisterError);
        assert_eq!(code(c.uninstall_code(&p(2))), RejectCode::CanisterError);
        assert_eq!(
            code(c.take_snapshot(&p(2), None, T)),
            RejectCode::CanisterError
        );
        assert_eq!(code(c.canister_status(&p(2))), RejectCode::CanisterError);
        c.set_status_visibility(StatusVisibility::Public);
        assert_eq!(c.canister_status(&p(2)).unwrap().controllers, vec![p(1)]);
        assert!(c.is_serving());
    }

    #[test]
    fn uninstall_wipes_code_and_memory_and_a_snapshot_brings_both_back() {
        let mut c = vault();
        let before = c.probe(VaultApp::PROBE_METHOD).unwrap();
        let (id, _) = c.take_snapshot(&p(1), None, T).unwrap();
        c.uninstall_code(&p(1)).unwrap();
        assert_eq!(
            code(c.probe(VaultApp::PROBE_METHOD)),
            RejectCode::CanisterError
        );
        assert_eq!(
            code(c.take_snapshot(&p(1), None, T)),
            RejectCode::CanisterError
        );
        assert_eq!(c.snapshots().len(), 1, "snapshots survive uninstall_code");
        c.load_snapshot(&p(1), &id).unwrap();
        assert_eq!(c.probe(VaultApp::PROBE_METHOD).unwrap(), before);
    }

    #[test]
    fn a_broken_upgrade_keeps_memory_but_answers_nothing() {
        let mut c = vault();
        let before = c.probe(VaultApp::PROBE_METHOD).unwrap();
        let (id, _) = c.take_snapshot(&p(1), None, T).unwrap();
        c.install_broken_module(&p(1)).unwrap();
        let err = c.probe(VaultApp::PROBE_METHOD).unwrap_err();
        assert!(
            err.message.contains("has no query method"),
            "{}",
            err.message
        );
        let deposit = c.vault_call(p(5), &VaultOp::Deposit { amount: 1 }, T);
        assert!(deposit
            .unwrap_err()
            .message
            .contains("has no update method"));
        c.load_snapshot(&p(1), &id).unwrap();
        assert_eq!(c.probe(VaultApp::PROBE_METHOD).unwrap(), before);
    }

    #[test]
    fn a_stopped_canister_rejects_calls_until_started() {
        let mut c = vault();
        c.stop(&p(1)).unwrap();
        c.stop(&p(1)).unwrap();
        let err = c.probe(VaultApp::PROBE_METHOD).unwrap_err();
        assert!(err.message.contains("is stopped"));
        c.start(&p(1)).unwrap();
        assert!(c.is_serving());
    }

    #[test]
    fn at_most_ten_snapshots_and_replace_rotates_an_existing_one() {
        let mut c = vault();
        let ids: Vec<SnapshotId> = (0..MAX_SNAPSHOTS)
            .map(|_| c.take_snapshot(&p(1), None, T).unwrap().0)
            .collect();
        assert_eq!(
            code(c.take_snapshot(&p(1), None, T)),
            RejectCode::CanisterReject
        );
        let (new, _) = c.take_snapshot(&p(1), Some(&ids[0]), T).unwrap();
        assert_eq!(c.snapshots().len(), MAX_SNAPSHOTS);
        assert!(!c.snapshots().iter().any(|s| s.id == ids[0]));
        assert!(c.snapshots().iter().any(|s| s.id == new));
        let gone = c.take_snapshot(&p(1), Some(&ids[0]), T);
        assert_eq!(code(gone), RejectCode::DestinationInvalid);
        assert_eq!(
            code(c.load_snapshot(&p(1), &ids[0])),
            RejectCode::DestinationInvalid
        );
    }
}
