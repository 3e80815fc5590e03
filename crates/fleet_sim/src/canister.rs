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
//! | `update_settings` the IC refuses (see [`crate::settings`]) | invalid settings        | `CanisterError`      |
//!
//! `canister_status` and `list_canister_snapshots` also answer the principals their
//! `status_visibility` and `snapshot_visibility` settings name.
//!
//! Guarantees: `uninstall_code` wipes module and memory but keeps snapshots; an upgrade to the
//! broken module keeps stable memory and answers no method; `load_canister_snapshot` restores
//! module and memory exactly (status and controllers are not part of a snapshot); stop and start
//! are idempotent; a canister holds at most [`MAX_SNAPSHOTS`] snapshots.

use crate::app::{method_of, VaultApp, VaultOp};
use crate::settings::{self, Settings, Usage, MAX_CONTROLLERS};
use candid::Principal;
use chaos_manager::effect::{CallFailure, RejectCode, StateProbe};
use chaos_manager::fault::{FaultPlan, HookFault, TargetStatus};
use chaos_manager::hardening::fixtures::release_hash;
use chaos_manager::hardening::{
    Cycles, ModuleHash, RunStatus, SettingsChange, StatusEvidence, Visibility,
};
use chaos_manager::{SnapshotId, TimestampNs};
use ic_stable_structures::{Memory, VectorMemory};
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

/// SHA-256 of `chaos_manager::effect::BROKEN_MODULE`.
pub const BROKEN_MODULE_HASH: [u8; 32] = [
    0x93, 0xa4, 0x4b, 0xbb, 0x96, 0xc7, 0x51, 0x21, 0x8e, 0x4c, 0x00, 0xd4, 0x79, 0xe4, 0xc1, 0x43,
    0x58, 0x12, 0x2a, 0x38, 0x9a, 0xcc, 0xa1, 0x62, 0x05, 0xb1, 0xe4, 0xd0, 0xdc, 0x5f, 0x94, 0x76,
];

impl Module {
    /// `canister_status.module_hash`. The vault reports the hardening fixtures' release
    /// (`chaos_manager::hardening::fixtures::release_hash`, approved by
    /// `policy_approving_release`): the simulator runs the vault natively, with no Wasm to hash.
    pub fn hash(self) -> Option<ModuleHash> {
        match self {
            Module::Vault => Some(release_hash()),
            Module::Broken => Some(ModuleHash(BROKEN_MODULE_HASH.to_vec())),
            Module::Empty => None,
        }
    }

    /// The heap this module uses when instantiated (a stand-in for the vault's).
    pub fn heap_bytes(self) -> u64 {
        match self {
            Module::Vault => settings::VAULT_HEAP_BYTES,
            Module::Broken | Module::Empty => 0,
        }
    }
}

/// Who may call `canister_status` (the IC's `status_visibility` setting).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StatusVisibility {
    /// The IC default.
    #[default]
    Controllers,
    Public,
}

impl From<StatusVisibility> for Visibility {
    fn from(v: StatusVisibility) -> Self {
        match v {
            StatusVisibility::Controllers => Visibility::Controllers,
            StatusVisibility::Public => Visibility::Public,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Snapshot {
    pub id: SnapshotId,
    pub taken_at: TimestampNs,
    module: Module,
    memory: Vec<u8>,
    /// The heap's hook state (loading a snapshot brings back the plan it was taken with).
    hooks: Option<FaultPlan>,
}

/// What `canister_status` answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusReply {
    pub status: CanisterStatus,
    pub controllers: Vec<Principal>,
    pub module: Module,
}

/// One simulated canister: controllers, settings, status, module, stable memory, snapshots,
/// cycles.
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
    settings: Settings,
    cycles: Cycles,
    /// Cycles set aside for memory growth (the simulator reserves none by itself).
    reserved_cycles: Cycles,
    /// The active `chaos_hooks` plan (heap state: cleared by an upgrade or an uninstall).
    hooks: Option<FaultPlan>,
    /// Plans whose corruption already ran (at most once per plan id).
    corrupted_by: Vec<u64>,
    /// Canisters this one calls to answer its `health` method (a vault_consumer).
    depends_on: Vec<Principal>,
    /// Privileged methods that wrongly accept any caller (a misconfigured canister).
    open_methods: Vec<String>,
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
            settings: Settings::default(),
            cycles: settings::DEFAULT_CYCLES,
            reserved_cycles: Cycles(0),
            hooks: None,
            corrupted_by: Vec::new(),
            depends_on: Vec::new(),
            open_methods: Vec::new(),
        }
    }

    /// The active hook plan, if any.
    pub fn hook_plan(&self) -> Option<&FaultPlan> {
        self.hooks.as_ref()
    }

    /// Makes this canister a consumer of `deps`: its `health` calls each of them.
    pub fn set_depends_on(&mut self, deps: Vec<Principal>) {
        self.depends_on = deps;
    }

    pub fn depends_on(&self) -> &[Principal] {
        &self.depends_on
    }

    /// Privileged methods that (wrongly) accept an unprivileged caller.
    pub fn set_open_methods(&mut self, methods: Vec<String>) {
        self.open_methods = methods;
    }

    pub fn open_methods(&self) -> &[String] {
        &self.open_methods
    }

    /// Idle burn per day of the memory held (what `canister_status` reports).
    pub fn idle_burn_per_day(&self) -> Cycles {
        settings::idle_burn_per_day(
            self.memory_size_bytes(),
            self.settings.memory_allocation_bytes,
        )
    }

    /// Frozen: the balance no longer covers the freezing threshold's idle burn (the IC then
    /// rejects every call to the canister; management calls by controllers still work).
    pub fn is_frozen(&self) -> bool {
        let idle = self.idle_burn_per_day().0;
        idle > 0 && self.settings.freezing_threshold_secs as u128 * idle / 86_400 > self.cycles.0
    }

    /// `canister_status` reduced to what experiments restore and watch.
    pub fn target_status(&self, caller: &Principal) -> CallResult<TargetStatus> {
        self.require_viewer(caller, &self.settings.status_visibility)?;
        Ok(TargetStatus {
            status: match self.status {
                CanisterStatus::Running => RunStatus::Running,
                CanisterStatus::Stopped => RunStatus::Stopped,
            },
            freezing_threshold_secs: self.settings.freezing_threshold_secs,
            wasm_memory_limit_bytes: Some(self.settings.wasm_memory_limit_bytes),
            cycles: self.cycles,
            idle_cycles_burned_per_day: self.idle_burn_per_day(),
        })
    }

    /// `chaos_hooks_set_plan` from `caller` (the configured chaos_system `suite` only), as
    /// the contract says: the whole plan is validated first, the same plan again changes
    /// nothing, a corruption runs once per plan id, in `set_plan`.
    pub fn set_hook_plan(
        &mut self,
        caller: &Principal,
        suite: &Principal,
        plan: &FaultPlan,
        now: TimestampNs,
    ) -> CallResult<()> {
        self.reject_call("update", "chaos_hooks_set_plan")?;
        if caller != suite {
            return reject(
                RejectCode::CanisterReject,
                "chaos_hooks: NotAuthorized (only the configured chaos_system sets plans)".into(),
            );
        }
        if plan.faults.is_empty() || plan.faults.len() > 32 || plan.expires_at <= now {
            return reject(
                RejectCode::CanisterReject,
                "chaos_hooks: InvalidPlan (1..=32 faults, expiry in the future)".into(),
            );
        }
        if let Some(why) = above_caps(plan, now) {
            return reject(
                RejectCode::CanisterReject,
                format!("chaos_hooks: CapExceeded ({why})"),
            );
        }
        if self.hooks.as_ref() == Some(plan) {
            return Ok(());
        }
        if let Some(active) = &self.hooks {
            if active.plan_id == plan.plan_id && active.expires_at > now {
                return reject(
                    RejectCode::CanisterReject,
                    "chaos_hooks: InvalidPlan (the same plan id with other faults is active)"
                        .into(),
                );
            }
        }
        for f in &plan.faults {
            if let HookFault::Corrupt { intensity } = f {
                if !self.corrupted_by.contains(&plan.plan_id) {
                    self.corrupted_by.push(plan.plan_id);
                    if let Some(app) = self.app.as_mut() {
                        app.corrupt(*intensity);
                    }
                }
            }
        }
        self.hooks = Some(plan.clone());
        Ok(())
    }

    /// `chaos_hooks_clear` (chaos_system or a controller).
    pub fn clear_hook_plan(&mut self, caller: &Principal, suite: &Principal) -> CallResult<()> {
        self.reject_call("update", "chaos_hooks_clear")?;
        if caller != suite && !self.controllers.contains(caller) {
            return reject(
                RejectCode::CanisterReject,
                "chaos_hooks: NotAuthorized".into(),
            );
        }
        self.hooks = None;
        Ok(())
    }

    /// The active plan at `now` (an expired plan is inactive, as the hooks treat it).
    pub fn active_plan(&self, now: TimestampNs) -> Option<&FaultPlan> {
        self.hooks.as_ref().filter(|p| p.expires_at > now)
    }

    /// Why a call by `caller` to `method` is refused before it runs: stopped, frozen, no
    /// module, or a partition of the active plan.
    pub fn admit_call(&self, caller: &Principal, method: &str, now: TimestampNs) -> CallResult<()> {
        self.reject_call("update", method)?;
        if let Some(plan) = self.active_plan(now) {
            for f in &plan.faults {
                if let HookFault::Partition {
                    blocked_callers,
                    methods,
                } = f
                {
                    if blocked_callers.contains(caller)
                        && (methods.is_empty() || methods.iter().any(|m| m == method))
                    {
                        return reject(
                            RejectCode::CanisterReject,
                            format!(
                                "chaos_hooks: caller {caller} is partitioned from {method} (plan {})",
                                plan.plan_id
                            ),
                        );
                    }
                }
            }
        }
        Ok(())
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
        self.settings.status_visibility = v.into();
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn cycles(&self) -> Cycles {
        self.cycles
    }

    /// Sets the balance (a top-up, or a drained canister).
    pub fn set_cycles(&mut self, cycles: Cycles) {
        self.cycles = cycles;
    }

    /// Sets the cycles reserved for memory growth.
    pub fn set_reserved_cycles(&mut self, cycles: Cycles) {
        self.reserved_cycles = cycles;
    }

    /// The heap in use (a stand-in: see [`Module::heap_bytes`]).
    pub fn heap_bytes(&self) -> u64 {
        self.module.heap_bytes()
    }

    /// Total memory: heap, stable memory and snapshots.
    pub fn memory_size_bytes(&self) -> u64 {
        let stable = self.memory.size() * 65_536;
        let snapshots: u64 = self
            .snapshots
            .iter()
            .map(|s| s.memory.len() as u64 + s.module.heap_bytes())
            .sum();
        self.heap_bytes() + stable + snapshots
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

    /// Controllers, or the principals `visibility` names.
    fn require_viewer(&self, caller: &Principal, visibility: &Visibility) -> CallResult<()> {
        if settings::visible_to(visibility, caller) {
            Ok(())
        } else {
            self.require_controller(caller)
        }
    }

    /// `canister_status`: controllers, and whoever `status_visibility` names.
    pub fn canister_status(&self, caller: &Principal) -> CallResult<StatusReply> {
        self.require_viewer(caller, &self.settings.status_visibility)?;
        Ok(StatusReply {
            status: self.status,
            controllers: self.controllers.clone(),
            module: self.module,
        })
    }

    /// `canister_status` as a hardening scan reads it.
    pub fn status_evidence(&self, caller: &Principal) -> CallResult<StatusEvidence> {
        self.require_viewer(caller, &self.settings.status_visibility)?;
        let s = &self.settings;
        let memory = self.memory_size_bytes();
        Ok(StatusEvidence {
            controllers: self.controllers.clone(),
            status: match self.status {
                CanisterStatus::Running => RunStatus::Running,
                CanisterStatus::Stopped => RunStatus::Stopped,
            },
            freezing_threshold_secs: s.freezing_threshold_secs,
            memory_allocation_bytes: s.memory_allocation_bytes,
            compute_allocation_pct: s.compute_allocation_pct,
            reserved_cycles_limit: Some(s.reserved_cycles_limit),
            wasm_memory_limit_bytes: Some(s.wasm_memory_limit_bytes),
            wasm_memory_threshold_bytes: Some(s.wasm_memory_threshold_bytes),
            log_visibility: Some(s.log_visibility.clone()),
            snapshot_visibility: Some(s.snapshot_visibility.clone()),
            status_visibility: Some(s.status_visibility.clone()),
            module_hash: self.module.hash(),
            memory_size_bytes: memory,
            wasm_memory_size_bytes: Some(self.heap_bytes()),
            cycles: self.cycles,
            idle_cycles_burned_per_day: settings::idle_burn_per_day(
                memory,
                s.memory_allocation_bytes,
            ),
            reserved_cycles: self.reserved_cycles,
        })
    }

    /// `update_settings` with the fields of `change` that are set: controllers only; a change
    /// the IC refuses changes nothing.
    pub fn update_settings(
        &mut self,
        caller: &Principal,
        change: &SettingsChange,
    ) -> CallResult<()> {
        self.require_controller(caller)?;
        let usage = Usage {
            heap_bytes: self.heap_bytes(),
            reserved_cycles: self.reserved_cycles,
        };
        self.settings = self.settings.changed(change, usage)?;
        Ok(())
    }

    /// `canister_info`: any canister may read another's controllers (and module hash).
    pub fn canister_info(&self) -> Vec<Principal> {
        self.controllers.clone()
    }

    /// `list_canister_snapshots`: controllers, and whoever `snapshot_visibility` names.
    pub fn list_snapshots(&self, caller: &Principal) -> CallResult<Vec<(SnapshotId, TimestampNs)>> {
        self.require_viewer(caller, &self.settings.snapshot_visibility)?;
        Ok(self
            .snapshots
            .iter()
            .map(|s| (s.id.clone(), s.taken_at))
            .collect())
    }

    /// `update_settings` with new controllers (at most [`MAX_CONTROLLERS`]).
    pub fn set_controllers(
        &mut self,
        caller: &Principal,
        controllers: Vec<Principal>,
    ) -> CallResult<()> {
        self.require_controller(caller)?;
        if controllers.len() > MAX_CONTROLLERS {
            return reject(
                RejectCode::CanisterError,
                format!(
                    "Invalid settings: 'controllers' length exceeds maximum size allowed of {MAX_CONTROLLERS}."
                ),
            );
        }
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
        self.hooks = None;
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
        self.hooks = None;
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
            hooks: self.hooks.clone(),
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
        self.hooks = snapshot.hooks.clone();
        self.app = match self.module {
            Module::Vault => Some(VaultApp::open(&self.memory)),
            Module::Broken | Module::Empty => None,
        };
        Ok(())
    }

    /// `delete_canister_snapshot`: controllers only; an unknown id is rejected.
    pub fn delete_snapshot(&mut self, caller: &Principal, id: &SnapshotId) -> CallResult<()> {
        self.require_controller(caller)?;
        let i = self.snapshot_index(id)?;
        self.snapshots.remove(i);
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
        if self.is_frozen() {
            return reject(
                RejectCode::SysTransient,
                format!(
                    "Canister {} is out of cycles: its balance is below its freezing threshold",
                    self.id
                ),
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

/// What in `plan` is above demo_vault's hook caps (`demo_vault::chaos::caps`), which the real
/// hooks refuse with `CapExceeded` before changing anything.
fn above_caps(plan: &FaultPlan, now: TimestampNs) -> Option<String> {
    let caps = demo_vault::chaos::caps();
    if plan.expires_at.0.saturating_sub(now.0) > caps.max_plan_duration_ns {
        return Some(format!("plan longer than {} ns", caps.max_plan_duration_ns));
    }
    plan.faults.iter().find_map(|f| match f {
        HookFault::Delay { rounds, .. } if *rounds > caps.max_delay_rounds => Some(format!(
            "delay of {rounds} rounds above {}",
            caps.max_delay_rounds
        )),
        HookFault::BurnInstructions { instructions, .. }
            if *instructions > caps.max_burn_instructions =>
        {
            Some(format!(
                "burn of {instructions} instructions above {}",
                caps.max_burn_instructions
            ))
        }
        HookFault::Ballast { bytes } if *bytes > caps.max_ballast_bytes => Some(format!(
            "ballast of {bytes} bytes above {}",
            caps.max_ballast_bytes
        )),
        _ => None,
    })
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

    #[test]
    fn status_evidence_reports_the_settings_to_controllers_and_to_allowed_viewers() {
        let mut c = vault();
        let e = c.status_evidence(&p(1)).unwrap();
        assert_eq!(e.controllers, vec![p(1)]);
        assert_eq!(e.freezing_threshold_secs, 30 * 86_400);
        assert_eq!(e.wasm_memory_limit_bytes, Some(3 << 30));
        assert_eq!(e.wasm_memory_threshold_bytes, Some(0));
        assert_eq!(e.module_hash, Some(release_hash()));
        assert_eq!(e.wasm_memory_size_bytes, Some(settings::VAULT_HEAP_BYTES));
        assert!(
            e.memory_size_bytes > settings::VAULT_HEAP_BYTES,
            "stable memory counts"
        );
        assert!(e.idle_cycles_burned_per_day.0 > 0);
        assert_eq!(code(c.status_evidence(&p(2))), RejectCode::CanisterError);
        let viewers = SettingsChange {
            status_visibility: Some(Visibility::AllowedViewers(vec![p(2)])),
            ..SettingsChange::default()
        };
        c.update_settings(&p(1), &viewers).unwrap();
        assert!(c.status_evidence(&p(2)).is_ok());
        assert_eq!(code(c.status_evidence(&p(3))), RejectCode::CanisterError);
        c.uninstall_code(&p(1)).unwrap();
        assert_eq!(c.status_evidence(&p(1)).unwrap().module_hash, None);
    }

    #[test]
    fn only_controllers_update_settings_and_a_refused_change_changes_nothing() {
        let mut c = vault();
        let change = SettingsChange {
            freezing_threshold_secs: Some(90 * 86_400),
            ..SettingsChange::default()
        };
        assert_eq!(
            code(c.update_settings(&p(2), &change)),
            RejectCode::CanisterError
        );
        let below_heap = SettingsChange {
            freezing_threshold_secs: Some(90 * 86_400),
            wasm_memory_limit_bytes: Some(1 << 20),
            ..SettingsChange::default()
        };
        assert_eq!(
            code(c.update_settings(&p(1), &below_heap)),
            RejectCode::CanisterError
        );
        assert_eq!(c.settings(), &Settings::default());
        c.update_settings(&p(1), &change).unwrap();
        assert_eq!(c.settings().freezing_threshold_secs, 90 * 86_400);
        let eleven: Vec<Principal> = (0..11).map(p).collect();
        assert_eq!(
            code(c.set_controllers(&p(1), eleven)),
            RejectCode::CanisterError
        );
    }

    #[test]
    fn snapshots_are_listed_to_whoever_snapshot_visibility_names() {
        let mut c = vault();
        c.take_snapshot(&p(1), None, T).unwrap();
        assert_eq!(code(c.list_snapshots(&p(2))), RejectCode::CanisterError);
        let public = SettingsChange {
            snapshot_visibility: Some(Visibility::Public),
            ..SettingsChange::default()
        };
        c.update_settings(&p(1), &public).unwrap();
        assert_eq!(c.list_snapshots(&p(2)).unwrap().len(), 1);
    }
}
