//! Drill scenarios as data: each is a plan of steps the engine walks. A new scenario is a new
//! plan here; the engine in `mod.rs` does not change.

use minicbor::{Decode, Encode};

/// The kinds of disaster a drill rehearses. Tags are stable: never reuse a retired number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
#[cbor(index_only)]
pub enum ScenarioKind {
    /// Code and state wiped (`uninstall_code`), restored from the restore-point snapshot.
    #[n(0)]
    CanisterLoss,
    /// A broken module (exports no methods) installed as an upgrade, rolled back through the
    /// restore-point snapshot.
    #[n(1)]
    BadUpgrade,
}

impl ScenarioKind {
    pub const ALL: [ScenarioKind; 2] = [ScenarioKind::CanisterLoss, ScenarioKind::BadUpgrade];

    pub fn name(self) -> &'static str {
        match self {
            ScenarioKind::CanisterLoss => "canister_loss",
            ScenarioKind::BadUpgrade => "bad_upgrade",
        }
    }

    /// The steps of this scenario, in order.
    pub fn plan(self) -> Vec<Step> {
        use Action::*;
        use Phase::*;
        let disaster = match self {
            ScenarioKind::CanisterLoss => UninstallCode,
            ScenarioKind::BadUpgrade => InstallBrokenModule,
        };
        vec![
            Step::new(Preflight, VerifyControl),
            Step::new(Preflight, ProbeBaseline),
            Step::new(Preflight, ListSnapshots),
            Step::new(RestorePoint, Stop),
            Step::new(RestorePoint, TakeSnapshot),
            Step::new(RestorePoint, Start),
            Step::new(Hold, Wait),
            Step::new(Disaster, ProbeBeforeDisaster),
            Step::new(Disaster, disaster),
            Step::new(Detect, ProbeExpectDown),
            Step::new(Recover, Stop),
            Step::new(Recover, LoadRestorePoint),
            Step::new(Recover, Start),
            Step::new(Validate, ProbeVerify),
        ]
    }
}

/// Where a step sits in a drill. Failure handling follows from the phase (see `Phase::on_failure`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Encode, Decode)]
#[cbor(index_only)]
pub enum Phase {
    #[n(0)]
    Preflight,
    #[n(1)]
    RestorePoint,
    #[n(2)]
    Hold,
    #[n(3)]
    Disaster,
    #[n(4)]
    Detect,
    #[n(5)]
    Recover,
    #[n(6)]
    Validate,
    /// The implicit restart after an aborted drill that had stopped its target.
    #[n(7)]
    Cleanup,
}

impl Phase {
    pub fn name(self) -> &'static str {
        match self {
            Phase::Preflight => "preflight",
            Phase::RestorePoint => "restore_point",
            Phase::Hold => "hold",
            Phase::Disaster => "disaster",
            Phase::Detect => "detect",
            Phase::Recover => "recover",
            Phase::Validate => "validate",
            Phase::Cleanup => "cleanup",
        }
    }

    /// Before the disaster a failure aborts the drill (the target is restarted if the drill
    /// stopped it). A failed disaster injection is not trusted (the call may have acted before
    /// its reply was lost): the detect probe decides. From the disaster on, the drill goes on:
    /// recovery is always attempted and the failure shows in the criteria.
    pub fn aborts_on_failure(self) -> bool {
        matches!(
            self,
            Phase::Preflight | Phase::RestorePoint | Phase::Hold | Phase::Disaster
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
#[cbor(index_only)]
pub enum Action {
    #[n(0)]
    VerifyControl,
    #[n(1)]
    ProbeBaseline,
    #[n(2)]
    Stop,
    #[n(3)]
    Start,
    #[n(4)]
    TakeSnapshot,
    #[n(5)]
    Wait,
    #[n(6)]
    ProbeBeforeDisaster,
    #[n(7)]
    UninstallCode,
    #[n(8)]
    InstallBrokenModule,
    /// A probe that is expected to fail: the disaster must be observable.
    #[n(9)]
    ProbeExpectDown,
    #[n(10)]
    LoadRestorePoint,
    #[n(11)]
    ProbeVerify,
    /// Which snapshots the target holds, so the restore point rotates only the suite's own
    /// previous snapshot and only if it still exists.
    #[n(12)]
    ListSnapshots,
}

impl Action {
    pub fn name(self) -> &'static str {
        match self {
            Action::VerifyControl => "verify_control",
            Action::ProbeBaseline => "probe_baseline",
            Action::Stop => "stop",
            Action::Start => "start",
            Action::TakeSnapshot => "take_snapshot",
            Action::Wait => "hold",
            Action::ProbeBeforeDisaster => "probe_before_disaster",
            Action::UninstallCode => "uninstall_code",
            Action::InstallBrokenModule => "install_broken_module",
            Action::ProbeExpectDown => "probe_expect_down",
            Action::LoadRestorePoint => "load_snapshot",
            Action::ProbeVerify => "probe_verify",
            Action::ListSnapshots => "list_snapshots",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step {
    pub phase: Phase,
    pub action: Action,
}

impl Step {
    pub const fn new(phase: Phase, action: Action) -> Self {
        Step { phase, action }
    }
}
