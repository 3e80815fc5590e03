//! vault_consumer: a small dependent of demo_vault, so partitions, cascades and byzantine
//! answers have a real dependent to observe. It reads the vault (bounded-wait calls), cross-checks
//! the answers ([`observe`]), caches the last accepted reading and reports its health.
//! Entry points only: authorize, guard, delegate, reply.
//!
//! Who may call:
//! - `configure`: controllers. `refresh`: controllers and the configured chaos_system.
//! - `health`, `chaos_state_probe`, `settings`: anyone (queries).
//! - `chaos_hooks_*`: see `candid/chaos_hooks.did`.
//!
//! Chaos hooks: `refresh`, `health` and `chaos_state_probe` start with the hooks' guard (so a plan
//! can fail the consumer itself); `settings`, `configure` and the control methods never do.
//! The consumer declares no corruption and no perturbation.
//!
//! State: settings and the health record in stable memory ([`storage`]); the refresh timer and
//! the in-flight flag on the heap, re-created in `post_upgrade`.

pub mod api;
pub mod observe;
pub mod storage;
pub mod vault_client;

use api::{ConsumerError, ConsumerProbe, Health, Observation, Settings};
use chaos_hooks::canister::{self as hooks, HookSetup};
use chaos_hooks::HookCaps;
use ic_cdk::api::{canister_self, is_controller, msg_caller, time};
use ic_cdk_timers::TimerId;
use std::cell::Cell;
use std::marker::PhantomData;
use std::time::Duration;

/// Methods that call the hooks' guard.
pub const GUARDED_METHODS: &[&str] = &["refresh", "health", "chaos_state_probe"];

thread_local! {
    static REFRESHING: Cell<bool> = const { Cell::new(false) };
    static TIMER: Cell<Option<TimerId>> = const { Cell::new(None) };
}

/// Install and upgrade: `null` keeps the current settings (defaults at install); a record
/// replaces them. Invalid settings trap, so a bad install or upgrade is refused as a whole.
#[ic_cdk::init]
fn init(settings: Option<Settings>) {
    lifecycle(settings);
}

#[ic_cdk::post_upgrade]
fn post_upgrade(settings: Option<Settings>) {
    lifecycle(settings);
}

fn lifecycle(settings: Option<Settings>) {
    storage::load();
    hooks::setup(HookSetup {
        guarded_methods: GUARDED_METHODS,
        perturbable_methods: &[],
        caps: HookCaps::default(),
        corruption: None,
        config_memory: Some(storage::memory(storage::CHAOS_HOOKS_CONFIG)),
    });
    if let Some(settings) = settings {
        if let Err(e) = apply_settings(settings) {
            ic_cdk::trap(format!("vault_consumer: {}", observe::describe(&e)));
        }
    }
    arm_timer();
}

chaos_hooks::export_control_methods!();

/// Controllers only. Replaces the settings and re-arms the refresh timer.
#[ic_cdk::update]
fn configure(settings: Settings) -> Result<(), ConsumerError> {
    if !is_controller(&msg_caller()) {
        return Err(ConsumerError::NotAuthorized);
    }
    apply_settings(settings)?;
    arm_timer();
    Ok(())
}

/// Anyone. The current settings.
#[ic_cdk::query]
fn settings() -> Settings {
    storage::settings()
}

/// Controllers and the configured chaos_system. Reads the vault now and records the outcome.
#[ic_cdk::update(manual_reply = true)]
async fn refresh() -> PhantomData<Result<Observation, ConsumerError>> {
    let caller = msg_caller();
    if !(is_controller(&caller) || hooks::is_chaos_system(&caller)) {
        return hooks::reply(Err(ConsumerError::NotAuthorized));
    }
    if let Err(reason) = hooks::guard("refresh").await {
        return hooks::reject(&reason);
    }
    hooks::reply(run_refresh().await)
}

/// Anyone. The steady-state view.
#[ic_cdk::query(manual_reply = true)]
fn health() -> PhantomData<Health> {
    hooks::respond(hooks::guard_query("health"), || {
        storage::read_record(|r| r.health(&storage::settings(), time()))
    })
}

/// Anyone. chaos_system's probe, compatible with `record { operation_count; state_hash }`.
#[ic_cdk::query(manual_reply = true)]
fn chaos_state_probe() -> PhantomData<ConsumerProbe> {
    hooks::respond(hooks::guard_query("chaos_state_probe"), || {
        storage::read_record(|r| {
            let health = r.health(&storage::settings(), time());
            ConsumerProbe {
                operation_count: r.refreshes,
                state_hash: r.state_hash(),
                healthy: health.ok,
                consecutive_failures: r.consecutive_failures,
            }
        })
    })
}

fn apply_settings(settings: Settings) -> Result<(), ConsumerError> {
    observe::validate_settings(&settings, canister_self())?;
    if settings.vault != storage::settings().vault {
        // Another vault: the cached reading describes the old one.
        storage::mutate_record(|r| r.last_observation = None);
    }
    storage::set_settings(settings);
    Ok(())
}

/// (Re)arms the refresh timer from the settings. Timers do not survive upgrades: called from
/// `init`, `post_upgrade` and `configure`. A tick that finds a refresh running skips (Busy).
fn arm_timer() {
    if let Some(id) = TIMER.take() {
        ic_cdk_timers::clear_timer(id);
    }
    let interval = storage::settings().refresh_interval_s;
    if interval > 0 {
        let id = ic_cdk_timers::set_timer_interval(Duration::from_secs(interval), || async {
            let _ = run_refresh().await;
        });
        TIMER.set(Some(id));
    }
}

/// Clears the in-flight flag however the refresh ends (return, or cancellation after a trap).
struct InFlight;

impl InFlight {
    fn start() -> Option<Self> {
        (!REFRESHING.replace(true)).then_some(InFlight)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        REFRESHING.set(false);
    }
}

/// One reading, cross-checked and recorded. NotConfigured and Busy are not recorded (they say
/// nothing about the vault).
async fn run_refresh() -> Result<Observation, ConsumerError> {
    let settings = storage::settings();
    let vault = settings.vault.ok_or(ConsumerError::NotConfigured)?;
    let _in_flight = InFlight::start().ok_or(ConsumerError::Busy)?;
    let reads = vault_client::read(vault, settings.watched_account).await;
    let now = time();
    if storage::settings().vault != Some(vault) {
        return Err(ConsumerError::InvalidSettings(
            "the vault was reconfigured during the refresh; refresh again".into(),
        ));
    }
    storage::mutate_record(|r| {
        let outcome =
            reads.and_then(|reads| observe::assess(&reads, r.last_observation.as_ref(), now));
        r.record(now, &outcome);
        outcome
    })
}

/// The Candid interface this build exports (what `candid/vault_consumer.did` must equal).
pub fn candid_interface() -> String {
    __export_service()
}

ic_cdk::export_candid!();
