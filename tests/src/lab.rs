//! PocketIC fixtures of the chaos-experiment scenarios: chaos_system, demo_vault (hooks armed
//! for chaos_system), its dependent vault_consumer and the unprivileged chaos_probe; reads of a
//! canister's status and settings through the management canister, of the hooks' status and of
//! the consumer's health; the vault calls a user makes while a fault is active.
//!
//! The Candid types of `candid/chaos_hooks.did`, `candid/vault_consumer.did` and
//! `candid/chaos_probe.did` are the crates' own (re-exported below, so the scenarios use exactly
//! the types the canisters use); the management canister's `canister_status` is decoded through
//! a mirror whose newer fields are optional, as chaos_system's own evidence reader does.

use crate::{admin, operator, Env};
use candid::{decode_one, encode_one, CandidType, Deserialize, Nat, Principal};
use chaos_api::{
    CreateExperimentArgs, CreateExperimentReply, Criticality, Error, Experiment, ExperimentReport,
    ExperimentSpec, ExperimentStatus, FaultKind, FaultProfile, FaultSpec, Hypothesis, LabStatus,
    Phases, ProbeDef, RollbackStrategy, SafetyLimits, TargetSpec, Tolerance,
};
use pocket_ic::common::rest::RawEffectivePrincipal;
use pocket_ic::{ErrorCode, RejectResponse};
use serde_bytes::ByteBuf;
use std::ops::Deref;
use std::path::PathBuf;
use std::time::Duration;

// ------------------------------------------------- the canisters' own Candid types

/// `candid/chaos_hooks.did`: the chaos_hooks crate's types, which demo_vault and vault_consumer
/// embed.
pub use chaos_hooks::{
    CorruptionReport, Fault, FaultPlan, HookCaps, HookError, HookResult, HookStatus,
    InjectionCounts,
};

/// `candid/chaos_probe.did`: chaos_probe's own `src/api.rs`, compiled here. The canister crate
/// cannot be a native dependency: its `canister_init`, `canister_post_upgrade` and
/// `get_candid_pointer` exports collide with demo_vault's at link time.
#[path = "../../canisters/chaos_probe/src/api.rs"]
pub mod probe_api;
pub use probe_api::{
    AccessResult, AccessVerdict, CallOutcome, InitArg as ProbeInitArg, MethodProbe,
    ProbeAccessArgs, ProbeError, ProbeHealthArgs, ProbeResult, ProbeStatus,
};

/// `candid/vault_consumer.did`: vault_consumer's own `src/api.rs`, compiled here (as a native
/// dependency its exports, the `chaos_hooks_*` methods among them, collide with demo_vault's).
#[path = "../../canisters/vault_consumer/src/api.rs"]
pub mod consumer_api;
pub use consumer_api::{
    ConsumerError, ConsumerProbe, Health, Observation as ConsumerObservation,
    Settings as ConsumerSettings,
};

// ------------------------------------------------- management canister: canister_status

#[derive(CandidType, Deserialize)]
struct CanisterIdRecord {
    canister_id: Principal,
}

/// `canister_status`'s run status.
#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunStatus {
    #[serde(rename = "running")]
    Running,
    #[serde(rename = "stopping")]
    Stopping,
    #[serde(rename = "stopped")]
    Stopped,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum Visibility {
    #[serde(rename = "controllers")]
    Controllers,
    #[serde(rename = "public")]
    Public,
    #[serde(rename = "allowed_viewers")]
    AllowedViewers(Vec<Principal>),
}

/// The settings an experiment may change and must give back (fields newer than the IC spec's
/// first `definite_canister_settings` are optional, so replicas that omit them decode alike).
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct SettingsView {
    pub controllers: Vec<Principal>,
    pub compute_allocation: Nat,
    pub memory_allocation: Nat,
    pub freezing_threshold: Nat,
    pub reserved_cycles_limit: Option<Nat>,
    pub log_visibility: Option<Visibility>,
    pub snapshot_visibility: Option<Visibility>,
    pub wasm_memory_limit: Option<Nat>,
    pub wasm_memory_threshold: Option<Nat>,
}

/// The part of `canister_status` the scenarios read.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct CanisterView {
    pub status: RunStatus,
    pub settings: SettingsView,
    pub module_hash: Option<ByteBuf>,
    pub memory_size: Nat,
    pub cycles: Nat,
    pub idle_cycles_burned_per_day: Nat,
}

impl CanisterView {
    pub fn freezing_threshold_secs(&self) -> u64 {
        nat_u64(&self.settings.freezing_threshold)
    }

    pub fn wasm_memory_limit_bytes(&self) -> Option<u64> {
        self.settings.wasm_memory_limit.as_ref().map(nat_u64)
    }

    /// The smallest freezing threshold that freezes this canister: its balance no longer
    /// covers `threshold × idle burn per second` (the IC freezes on that, not on spending).
    /// `None` when it burns nothing idle (then no threshold freezes it).
    pub fn min_freezing_secs(&self) -> Option<u64> {
        let idle = nat_u128(&self.idle_cycles_burned_per_day);
        (idle > 0).then(|| {
            let secs = nat_u128(&self.cycles) * 86_400 / idle + 1;
            u64::try_from(secs).unwrap_or(u64::MAX)
        })
    }
}

pub fn nat_u64(n: &Nat) -> u64 {
    u64::try_from(n.0.clone()).unwrap_or(u64::MAX)
}

pub fn nat_u128(n: &Nat) -> u128 {
    u128::try_from(n.0.clone()).unwrap_or(u128::MAX)
}

// ------------------------------------------------------------------------ fixtures

/// The account vault_consumer watches (`balance_of` is cross-checked against the supply).
pub fn watched_account() -> Principal {
    fleet_sim::fixtures::user(fleet_sim::fixtures::DEPOSITS_BEFORE_DRILL[0].0)
}

/// Seconds between vault_consumer's timer-driven refreshes in the scenarios (the smallest it
/// accepts).
pub const CONSUMER_REFRESH_S: u64 = 5;
/// vault_consumer's staleness bound in the scenarios: a consumer whose refreshes fail for
/// longer than this is unhealthy even before its failure counter says so.
pub const CONSUMER_MAX_STALENESS_S: u64 = 60;

/// The consumer's settings: reads the vault every [`CONSUMER_REFRESH_S`].
pub fn consumer_settings(vault: Principal) -> ConsumerSettings {
    ConsumerSettings {
        vault: Some(vault),
        refresh_interval_s: CONSUMER_REFRESH_S,
        max_staleness_s: CONSUMER_MAX_STALENESS_S,
        watched_account: Some(watched_account()),
    }
}

/// chaos_system, demo_vault and vault_consumer (both controlled by [admin, chaos_system], both
/// with their hooks armed for chaos_system), and chaos_probe (controlled by the admin only: it
/// must be a controller of nothing). The vault holds the fixture deposits and the consumer has
/// made one successful refresh.
pub struct Lab {
    pub env: Env,
    pub consumer: Principal,
    pub probe: Principal,
}

impl Deref for Lab {
    type Target = Env;

    fn deref(&self) -> &Env {
        &self.env
    }
}

impl Lab {
    pub fn new(server: PathBuf) -> Lab {
        let env = Env::new(server);
        for (user, amount) in fleet_sim::fixtures::DEPOSITS_BEFORE_DRILL {
            env.deposit(fleet_sim::fixtures::user(*user), *amount);
        }
        let consumer = env.pic.create_canister_with_settings(Some(admin()), None);
        env.pic.install_canister(
            consumer,
            crate::wasm("vault_consumer"),
            encode_one(Some(consumer_settings(env.vault))).unwrap(),
            Some(admin()),
        );
        env.pic
            .set_controllers(consumer, Some(admin()), vec![admin(), env.chaos])
            .expect("set controllers of vault_consumer");
        let probe = env.pic.create_canister_with_settings(Some(admin()), None);
        env.pic.install_canister(
            probe,
            crate::wasm("chaos_probe"),
            encode_one(ProbeInitArg {
                chaos_system: env.chaos,
            })
            .unwrap(),
            Some(admin()),
        );
        let lab = Lab {
            env,
            consumer,
            probe,
        };
        for canister in [lab.vault, lab.consumer] {
            lab.configure_hooks(canister, Some(lab.chaos))
                .expect("chaos_hooks_configure");
            let status = lab.hook_status(canister);
            assert_eq!(status.chaos_system, Some(lab.chaos));
            assert_eq!(status.active_plan, None);
        }
        lab.refresh_consumer()
            .expect("first refresh of vault_consumer");
        assert!(lab.consumer_health().ok, "{:?}", lab.consumer_health());
        lab.admin_ok("set_chaos_probe", Some(lab.probe));
        assert_eq!(lab.lab_status().chaos_probe, Some(lab.probe));
        // The consumer first: the vault names it as a dependent.
        lab.register(consumer_target_spec(lab.consumer));
        lab.register(vault_spec(lab.vault, lab.consumer));
        lab.set_limits(patient_limits(lab.limits()));
        lab
    }

    /// Lets `d` of IC time pass and runs what it made due: the global timer fires in the first
    /// round, the timer's self-call runs in the next.
    pub fn advance(&self, d: Duration) {
        self.pic.advance_time(d);
        self.ticks(2);
    }

    pub fn ticks(&self, n: usize) {
        for _ in 0..n {
            self.pic.tick();
        }
    }

    /// Lets the consumer's refresh timer fire and its calls to the vault complete (up to four
    /// bounded-wait calls in a row, a round or two each).
    pub fn let_consumer_refresh(&self) {
        self.pic
            .advance_time(Duration::from_secs(CONSUMER_REFRESH_S + 1));
        self.ticks(20);
    }

    pub fn now_ns(&self) -> u64 {
        self.pic.get_time().as_nanos_since_unix_epoch()
    }

    // ------------------------------------------------------------------ raw calls

    pub fn call(
        &self,
        canister: Principal,
        sender: Principal,
        method: &str,
        arg: impl CandidType,
    ) -> Result<Vec<u8>, RejectResponse> {
        self.pic
            .update_call(canister, sender, method, encode_one(arg).unwrap())
    }

    pub fn read(
        &self,
        canister: Principal,
        sender: Principal,
        method: &str,
        arg: impl CandidType,
    ) -> Result<Vec<u8>, RejectResponse> {
        self.pic
            .query_call(canister, sender, method, encode_one(arg).unwrap())
    }

    // --------------------------------------------------------- management canister

    /// `canister_status` as the admin (a controller of every canister of the lab). Panics when
    /// the IC refuses it, as it does for a frozen canister: use [`Lab::assert_frozen`] while a
    /// freeze is in force.
    pub fn canister_view(&self, canister: Principal) -> CanisterView {
        self.try_canister_view(canister)
            .unwrap_or_else(|e| panic!("canister_status of {canister}: {e}"))
    }

    /// `canister_status` as the admin, by ingress; the IC's reject when it refuses the message.
    /// The induction cost of an ingress message to the management canister is charged to the
    /// effective canister (here `canister`), so a frozen canister's status cannot be read this
    /// way: the message is refused with `CanisterOutOfCycles` (IC0207).
    pub fn try_canister_view(&self, canister: Principal) -> Result<CanisterView, RejectResponse> {
        let bytes = self.pic.update_call_with_effective_principal(
            Principal::management_canister(),
            RawEffectivePrincipal::CanisterId(canister.as_slice().to_vec()),
            admin(),
            "canister_status",
            encode_one(CanisterIdRecord {
                canister_id: canister,
            })
            .unwrap(),
        )?;
        Ok(decode_one(&bytes).unwrap_or_else(|e| panic!("canister_status of {canister}: {e}")))
    }

    /// `canister` (a demo_vault) is frozen: its balance no longer covers
    /// `freezing_threshold_secs` of idle burn. A frozen canister cannot pay the induction of an
    /// ingress message, so both a user's deposit and its controller's `canister_status` are
    /// refused with `CanisterOutOfCycles` (IC0207); a canister that is only stopped would
    /// answer `CanisterStopped`. Should a replica still answer the status (the induction cost
    /// of some small management messages is not charged up front), it must show the fault's
    /// threshold and a running canister.
    pub fn assert_frozen(&self, canister: Principal, freezing_threshold_secs: u64) {
        let err = self
            .try_deposit_to(canister, fleet_sim::fixtures::user(2), 1)
            .expect_err("a frozen canister refuses a deposit");
        assert_eq!(
            err.error_code,
            ErrorCode::CanisterOutOfCycles,
            "deposit to {canister}: {err}"
        );
        match self.try_canister_view(canister) {
            Err(err) => assert_eq!(
                err.error_code,
                ErrorCode::CanisterOutOfCycles,
                "canister_status of {canister}: {err}"
            ),
            Ok(view) => {
                assert_eq!(view.freezing_threshold_secs(), freezing_threshold_secs);
                assert_eq!(view.status, RunStatus::Running, "frozen, not stopped");
            }
        }
    }

    // ----------------------------------------------------------------- the hooks

    pub fn configure_hooks(
        &self,
        canister: Principal,
        chaos_system: Option<Principal>,
    ) -> HookResult {
        let bytes = self
            .call(canister, admin(), "chaos_hooks_configure", chaos_system)
            .unwrap_or_else(|e| panic!("chaos_hooks_configure of {canister}: {e}"));
        decode_one(&bytes).unwrap()
    }

    /// `chaos_hooks_status` as the admin (a controller).
    pub fn hook_status(&self, canister: Principal) -> HookStatus {
        let bytes = self
            .read(canister, admin(), "chaos_hooks_status", ())
            .unwrap_or_else(|e| panic!("chaos_hooks_status of {canister}: {e}"));
        decode_one(&bytes).unwrap_or_else(|e| panic!("chaos_hooks_status of {canister}: {e}"))
    }

    /// The faults in force on `canister` (empty when no plan is active).
    pub fn active_faults(&self, canister: Principal) -> Vec<Fault> {
        let s = self.hook_status(canister);
        if s.active_plan.is_some() {
            s.faults
        } else {
            Vec::new()
        }
    }

    // ------------------------------------------------------------------- the vault

    /// A deposit as `user` makes it; the IC's reject when a fault (or a stopped or frozen
    /// vault) refuses it.
    pub fn try_deposit(&self, user: Principal, amount: u64) -> Result<(), RejectResponse> {
        self.try_deposit_to(self.vault, user, amount)
    }

    /// [`Lab::try_deposit`] to another demo_vault (one of [`Lab::add_vault`]).
    pub fn try_deposit_to(
        &self,
        vault: Principal,
        user: Principal,
        amount: u64,
    ) -> Result<(), RejectResponse> {
        let bytes = self.call(
            vault,
            user,
            "deposit",
            crate::AmountArgs {
                amount,
                idempotency_key: None,
            },
        )?;
        let reply: Result<candid::Reserved, candid::Reserved> = decode_one(&bytes).unwrap();
        assert!(reply.is_ok(), "the vault refused the deposit by {user}");
        Ok(())
    }

    pub fn total_supply(&self, sender: Principal) -> Result<u64, RejectResponse> {
        self.read(self.vault, sender, "total_supply", ())
            .map(|b| decode_one(&b).unwrap())
    }

    pub fn balance_of(&self, sender: Principal, account: Principal) -> Result<u64, RejectResponse> {
        self.read(self.vault, sender, "balance_of", account)
            .map(|b| decode_one(&b).unwrap())
    }

    /// demo_vault's own invariant check (`Err` says what is broken).
    pub fn check_invariants(&self) -> Result<(), String> {
        let bytes = self
            .read(self.vault, admin(), "check_invariants", ())
            .expect("check_invariants answers");
        decode_one(&bytes).unwrap()
    }

    // ---------------------------------------------------------------- the consumer

    /// A refresh of vault_consumer made now by the admin (a controller).
    pub fn refresh_consumer(&self) -> Result<ConsumerObservation, ConsumerError> {
        let bytes = self
            .call(self.consumer, admin(), "refresh", ())
            .expect("vault_consumer.refresh");
        decode_one(&bytes).unwrap()
    }

    pub fn consumer_health(&self) -> Health {
        let bytes = self
            .read(self.consumer, admin(), "health", ())
            .expect("vault_consumer.health");
        decode_one(&bytes).unwrap()
    }

    pub fn probe_status(&self) -> ProbeStatus {
        let bytes = self
            .read(self.probe, admin(), "status", ())
            .expect("chaos_probe.status");
        decode_one(&bytes).unwrap()
    }

    // ------------------------------------------------------------ before and after

    /// What an experiment must give back: run status and settings of the vault, the consumer
    /// and `others`, no hook plan on any, the vault's balances and its invariant.
    pub fn baseline_with(&self, others: &[Principal]) -> Baseline {
        let probe = self.vault_probe();
        let mut canisters = vec![self.vault, self.consumer];
        canisters.extend_from_slice(others);
        Baseline {
            views: canisters
                .into_iter()
                .map(|c| (c, self.canister_view(c)))
                .collect(),
            vault_operation_count: probe.operation_count,
            vault_state_hash: probe.state_hash.into_vec(),
        }
    }

    pub fn baseline(&self) -> Baseline {
        self.baseline_with(&[])
    }

    /// Everything is back: run status and settings equal the baseline, no hook plan is in
    /// force, the vault's state is the baseline's (or moved on by the `ops_since` operations
    /// the scenario made since) and its invariant holds.
    pub fn assert_restored(&self, before: &Baseline, ops_since: u64) {
        for (canister, view) in &before.views {
            let now = self.canister_view(*canister);
            assert_eq!(
                now.status, view.status,
                "{canister}: run status not restored"
            );
            assert_eq!(
                now.settings, view.settings,
                "{canister}: settings not restored"
            );
            assert_eq!(
                self.hook_status(*canister).active_plan,
                None,
                "{canister}: a hook plan is still in force"
            );
        }
        let probe = self.vault_probe();
        assert_eq!(
            probe.operation_count,
            before.vault_operation_count + ops_since
        );
        if ops_since == 0 {
            assert_eq!(probe.state_hash.into_vec(), before.vault_state_hash);
        }
        self.check_invariants()
            .expect("the vault's invariant holds after the rollback");
    }
}

/// The state of the lab before an experiment.
#[derive(Clone, Debug)]
pub struct Baseline {
    pub views: Vec<(Principal, CanisterView)>,
    pub vault_operation_count: u64,
    pub vault_state_hash: Vec<u8>,
}

impl Baseline {
    pub fn view(&self, canister: Principal) -> &CanisterView {
        &self
            .views
            .iter()
            .find(|(c, _)| *c == canister)
            .expect("in the baseline")
            .1
    }
}

// ------------------------------------------------------------------- experiments

/// demo_vault's invariant check (`variant { Ok; Err : text }`): data corruption watches it.
pub const INVARIANT_METHOD: &str = "check_invariants";
/// The drill probe of both canisters; vault_consumer's answers `healthy`, which is what
/// chaos_system's watches of a dependent read.
pub const PROBE_METHOD: &str = fleet_sim::fixtures::PROBE_METHOD;
/// vault_consumer's steady-state view (`ok` = refreshed successfully and recently).
pub const HEALTH_METHOD: &str = "health";

/// The fault window of the scenarios and the time between two steady-state checks: three
/// checks while the fault is active.
pub const DURATION: Duration = Duration::from_secs(30);
pub const PROBE_INTERVAL: Duration = Duration::from_secs(10);
/// How far each round of [`Lab::drive_until`] moves the clock.
pub const DRIVE_STEP: Duration = Duration::from_secs(1);
/// Most rounds [`Lab::drive_until`] runs before it gives up.
pub const DRIVE_ROUNDS: usize = 3_000;

/// demo_vault's declared privileged methods: the security breach calls each as chaos_probe,
/// with no arguments. The three hook control methods refuse a stranger; `check_invariants`
/// (O(accounts), a denial-of-service lever the owner meant to reserve) answers anyone: the
/// access probe reports it.
pub const VAULT_PRIVILEGED: [&str; 4] = [
    "chaos_hooks_clear",
    "chaos_hooks_configure",
    "chaos_hooks_status",
    "check_invariants",
];

pub const ALL_FAULTS: [FaultKind; 8] = [
    FaultKind::NetworkPartition,
    FaultKind::ResourceExhaustion,
    FaultKind::ServiceFailure,
    FaultKind::LatencyInjection,
    FaultKind::DataCorruption,
    FaultKind::SecurityBreach,
    FaultKind::CascadingFailure,
    FaultKind::ByzantineFault,
];

/// A vault's fault profile: every fault allowed, hooks armed, its invariant check declared.
pub fn vault_profile(dependents: Vec<Principal>) -> FaultProfile {
    FaultProfile {
        allowed_faults: ALL_FAULTS.to_vec(),
        dependents,
        privileged_methods: VAULT_PRIVILEGED.iter().map(|m| m.to_string()).collect(),
        hooks: true,
        invariant_method: Some(INVARIANT_METHOD.into()),
    }
}

/// demo_vault as a target: the drill fixture's registration with a fault profile naming the
/// consumer as its dependent.
pub fn vault_spec(vault: Principal, consumer: Principal) -> TargetSpec {
    TargetSpec {
        fault_profile: Some(vault_profile(vec![consumer])),
        ..fleet_sim::fixtures::vault_target_spec(vault)
    }
}

/// vault_consumer as a target: hooks armed (it is one side of a partition), no dependents.
pub fn consumer_target_spec(consumer: Principal) -> TargetSpec {
    TargetSpec {
        name: "vault_consumer".into(),
        criticality: Criticality::Medium,
        probe_method: PROBE_METHOD.into(),
        fault_profile: Some(FaultProfile {
            allowed_faults: ALL_FAULTS.to_vec(),
            dependents: Vec::new(),
            privileged_methods: Vec::new(),
            hooks: true,
            invariant_method: None,
        }),
        ..fleet_sim::fixtures::vault_target_spec(consumer)
    }
}

/// The scenarios' limits: a fault on the vault also degrades its consumer (2 targets), so the
/// share of the registry is raised to 100%; the stop conditions are off so that a run goes its
/// whole course and its checks are counted (the twins' `patient_limits`).
pub fn patient_limits(mut limits: SafetyLimits) -> SafetyLimits {
    limits.max_target_share_pct = 100;
    limits.stop.max_consecutive_deviations = 0;
    limits.stop.max_error_rate_ppm = 1_000_000;
    limits
}

pub fn probe_def(
    name: &str,
    canister: Principal,
    method: &str,
    tolerance: Tolerance,
    phases: Phases,
) -> ProbeDef {
    ProbeDef {
        name: name.into(),
        canister,
        method: method.into(),
        tolerance,
        phases,
    }
}

pub const ALL_PHASES: Phases = Phases {
    before: true,
    during: true,
    after: true,
};

/// The vault answers its drill probe (through chaos_probe), before, during and after.
pub fn vault_answers(vault: Principal) -> ProbeDef {
    probe_def(
        "vault-answers",
        vault,
        PROBE_METHOD,
        Tolerance::Answers,
        ALL_PHASES,
    )
}

/// The consumer says it is healthy (`health.ok`), before and while the fault is active. Not
/// after: the consumer notices the recovery only at its next refresh (every 5 s), which may
/// come after the final check.
pub fn consumer_healthy(consumer: Principal) -> ProbeDef {
    probe_def(
        "consumer-healthy",
        consumer,
        HEALTH_METHOD,
        Tolerance::InvariantHolds,
        Phases {
            before: true,
            during: true,
            after: false,
        },
    )
}

/// [`DURATION`] of fault, a check every [`PROBE_INTERVAL`], rollback always.
pub fn spec(fault: FaultSpec, probes: Vec<ProbeDef>) -> ExperimentSpec {
    ExperimentSpec {
        title: format!("{} (PocketIC)", fault_name(&fault)),
        fault,
        hypothesis: Hypothesis {
            title: "the vault keeps answering and its dependent stays healthy".into(),
            probes,
        },
        duration_ns: DURATION.as_nanos() as u64,
        probe_interval_ns: PROBE_INTERVAL.as_nanos() as u64,
        rollback: RollbackStrategy::Always,
    }
}

pub fn fault_name(fault: &FaultSpec) -> &'static str {
    match fault {
        FaultSpec::NetworkPartition { .. } => "network_partition",
        FaultSpec::ResourceExhaustion { .. } => "resource_exhaustion",
        FaultSpec::ServiceFailure { .. } => "service_failure",
        FaultSpec::LatencyInjection { .. } => "latency_injection",
        FaultSpec::DataCorruption { .. } => "data_corruption",
        FaultSpec::SecurityBreach { .. } => "security_breach",
        FaultSpec::CascadingFailure { .. } => "cascading_failure",
        FaultSpec::ByzantineFault { .. } => "byzantine_fault",
    }
}

pub fn is_terminal(status: ExperimentStatus) -> bool {
    matches!(
        status,
        ExperimentStatus::Completed | ExperimentStatus::Aborted | ExperimentStatus::Failed
    )
}

/// demo_vault's drill probe with the supply (the O(1) probe, never perturbed).
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct VaultProbe {
    pub operation_count: u64,
    pub state_hash: ByteBuf,
    pub total_supply: u64,
    pub account_count: u64,
}

impl Lab {
    /// A chaos_system method that must succeed, called by the admin.
    pub fn admin_ok<A: CandidType>(&self, method: &str, arg: A) {
        let r: Result<(), Error> = self.update(admin(), method, arg);
        r.unwrap_or_else(|e| panic!("{method}: {e:?}"));
    }

    pub fn register(&self, spec: TargetSpec) {
        let name = spec.name.clone();
        let r: Result<TargetSpec, Error> = self.update(admin(), "register_target", spec);
        r.unwrap_or_else(|e| panic!("register_target {name}: {e:?}"));
    }

    pub fn limits(&self) -> SafetyLimits {
        let r: Result<SafetyLimits, Error> = self.query(admin(), "get_safety_limits", ());
        r.expect("get_safety_limits")
    }

    pub fn set_limits(&self, limits: SafetyLimits) {
        self.admin_ok("set_safety_limits", limits);
    }

    pub fn lab_status(&self) -> LabStatus {
        let r: Result<LabStatus, Error> = self.query(admin(), "lab_status", ());
        r.expect("lab_status")
    }

    /// One more demo_vault, controlled by [admin, chaos_system], hooks armed, funded by
    /// user 1, registered with every fault allowed and no dependent.
    pub fn add_vault(&self, name: &str, criticality: Criticality) -> Principal {
        let vault = self.pic.create_canister_with_settings(Some(admin()), None);
        self.pic.install_canister(
            vault,
            crate::wasm("demo_vault"),
            encode_one(()).unwrap(),
            Some(admin()),
        );
        self.pic
            .set_controllers(vault, Some(admin()), vec![admin(), self.chaos])
            .expect("set controllers");
        self.configure_hooks(vault, Some(self.chaos))
            .expect("chaos_hooks_configure");
        let bytes = self
            .call(
                vault,
                fleet_sim::fixtures::user(1),
                "deposit",
                crate::AmountArgs {
                    amount: 100,
                    idempotency_key: None,
                },
            )
            .expect("deposit");
        let reply: Result<candid::Reserved, candid::Reserved> = decode_one(&bytes).unwrap();
        assert!(reply.is_ok());
        self.register(TargetSpec {
            name: name.into(),
            criticality,
            fault_profile: Some(vault_profile(Vec::new())),
            ..fleet_sim::fixtures::vault_target_spec(vault)
        });
        vault
    }

    pub fn vault_probe_of(&self, vault: Principal) -> VaultProbe {
        let bytes = self
            .read(vault, admin(), "chaos_state_probe", ())
            .expect("chaos_state_probe");
        decode_one(&bytes).unwrap()
    }

    pub fn create_experiment(&self, caller: Principal, spec: ExperimentSpec) -> Result<u64, Error> {
        let r: Result<CreateExperimentReply, Error> = self.update(
            caller,
            "create_experiment",
            CreateExperimentArgs {
                spec,
                idempotency_key: None,
            },
        );
        r.map(|reply| reply.experiment_id)
    }

    pub fn submit_experiment(&self, caller: Principal, id: u64) -> Result<Experiment, Error> {
        self.update(caller, "submit_experiment", id)
    }

    /// Creates and submits `spec` as the operator; the submit's answer (running, or pending
    /// the council's approval).
    pub fn start_experiment(&self, spec: ExperimentSpec) -> Experiment {
        let id = self
            .create_experiment(operator(), spec)
            .expect("create_experiment");
        self.submit_experiment(operator(), id)
            .unwrap_or_else(|e| panic!("submit_experiment {id}: {e:?}"))
    }

    pub fn experiment(&self, id: u64) -> Experiment {
        let r: Result<Experiment, Error> = self.query(admin(), "get_experiment", id);
        r.unwrap_or_else(|e| panic!("get_experiment {id}: {e:?}"))
    }

    /// Lets the clock run ([`DRIVE_STEP`] a round) until `done` holds for experiment `id`.
    /// Each step of a run is its own timer and most make inter-canister calls (a round or two
    /// each); waits (probe interval, fault window) need the clock to pass them.
    pub fn drive_until(
        &self,
        id: u64,
        what: &str,
        done: impl Fn(&Experiment) -> bool,
    ) -> Experiment {
        self.drive_all_until(&[id], what, |es| done(&es[0]))
            .remove(0)
    }

    pub fn drive_all_until(
        &self,
        ids: &[u64],
        what: &str,
        done: impl Fn(&[Experiment]) -> bool,
    ) -> Vec<Experiment> {
        for _ in 0..DRIVE_ROUNDS {
            let es: Vec<Experiment> = ids.iter().map(|id| self.experiment(*id)).collect();
            if done(&es) {
                return es;
            }
            self.pic.advance_time(DRIVE_STEP);
            self.pic.tick();
        }
        let es: Vec<Experiment> = ids.iter().map(|id| self.experiment(*id)).collect();
        panic!("{what} did not happen in {DRIVE_ROUNDS} rounds: {es:#?}");
    }

    /// Drives until the fault is injected (the last injection step succeeded).
    pub fn drive_until_injected(&self, id: u64) -> Experiment {
        let e = self.drive_until(id, "the injection", |e| {
            e.injected_at_ns.is_some() || is_terminal(e.status)
        });
        assert!(
            e.injected_at_ns.is_some() && e.status == ExperimentStatus::Running,
            "experiment {id} was not injected: {e:#?}"
        );
        e
    }

    /// Drives until the experiment is completed, aborted or failed; its report.
    pub fn drive_until_finished(&self, id: u64) -> (Experiment, ExperimentReport) {
        let e = self.drive_until(id, "the end of the experiment", |e| is_terminal(e.status));
        let report = e
            .report
            .clone()
            .unwrap_or_else(|| panic!("experiment {id} ended without a report: {e:#?}"));
        (e, report)
    }
}

/// The report's resilience score, checked to be within 0..=100.
pub fn score(report: &ExperimentReport) -> u8 {
    let s = report
        .resilience_score
        .unwrap_or_else(|| panic!("no resilience score: {report:#?}"));
    assert!(s <= 100, "score {s}");
    s
}

/// The run put back what it changed: every acted-on target's status, freezing threshold and
/// memory limit as before, no rollback failure, nothing for a person to look at.
pub fn assert_report_restored(e: &Experiment, report: &ExperimentReport) {
    assert_eq!(report.restored, Some(true), "{e:#?}");
    assert!(!report.needs_attention, "{e:#?}");
    assert!(report.rollback_failures.is_empty(), "{e:#?}");
    // No score when a timed fault was stopped before any check under it (nothing measured).
    match report.resilience_score {
        Some(s) => assert!(s <= 100, "score {s}"),
        None => assert_eq!(report.during.total, 0, "{e:#?}"),
    }
}
