//! init and post_upgrade. There is no pre_upgrade: the event log in stable memory is the state.

use crate::{drive, experiments, hardening, storage};
use chaos_api::{InitArg, InstallArg, UpgradeArg};
use chaos_manager::journal::RecordContext;
use chaos_manager::{Event, TimestampNs};
use event_log::LogConfig;

const VERSION: &str = env!("CARGO_PKG_VERSION");

fn config(dedup_window_ns: Option<u64>) -> LogConfig {
    let mut c = LogConfig::default();
    if let Some(w) = dedup_window_ns {
        c.dedup_window_ns = w;
    }
    c
}

pub fn init(arg: InstallArg) {
    let InstallArg::Init(InitArg {
        admins,
        dedup_window_ns,
        chaos_probe,
    }) = arg
    else {
        ic_cdk::trap("chaos_system: first install needs (variant { Init = record { admins = vec { principal \"...\" } } })");
    };
    if admins.is_empty() || admins.contains(&candid::Principal::anonymous()) {
        ic_cdk::trap("chaos_system: give at least one admin, and not the anonymous principal");
    }
    storage::open(config(dedup_window_ns));
    let dedup = dedup_window_ns;
    let me = ic_cdk::api::canister_self();
    storage::mutate(|j| {
        j.record(
            TimestampNs(ic_cdk::api::time()),
            &RecordContext::new(ic_cdk::api::msg_caller(), "init"),
            Event::Init {
                admins,
                suite: me,
                dedup_window_ns: dedup,
            },
        )
        .unwrap_or_else(|e| ic_cdk::trap(format!("chaos_system: {e}")));
    });
    set_chaos_probe(chaos_probe);
    hardening::arm_schedule();
}

/// Records the chaos_probe given at install or upgrade (through the core's check: a bad
/// principal makes the install fail rather than be half-configured). Only a controller can
/// install or upgrade, so the change is made with an admin's authority and recorded with the
/// installer as its caller.
fn set_chaos_probe(probe: Option<candid::Principal>) {
    let Some(probe) = probe else { return };
    storage::mutate(|j| {
        let admin = j.state().admins().next().copied();
        let events = admin
            .ok_or_else(|| "no admin".to_string())
            .and_then(|a| {
                chaos_manager::command::set_chaos_probe(j.state(), &a, Some(probe))
                    .map_err(|e| e.to_string())
            })
            .unwrap_or_else(|e| ic_cdk::trap(format!("chaos_system: chaos_probe: {e}")));
        j.record_all(
            TimestampNs(ic_cdk::api::time()),
            &RecordContext::new(ic_cdk::api::msg_caller(), "install"),
            events,
        )
        .unwrap_or_else(|e| ic_cdk::trap(format!("chaos_system: {e}")));
    });
}

pub fn post_upgrade(arg: Option<InstallArg>) {
    let upgrade = match arg {
        None | Some(InstallArg::Upgrade(None)) => UpgradeArg::default(),
        Some(InstallArg::Upgrade(Some(u))) => u,
        Some(InstallArg::Init(_)) => {
            ic_cdk::trap("chaos_system: an upgrade takes (variant { Upgrade = null })")
        }
    };
    storage::open(LogConfig::default());
    // The journal restores the configured dedup window from the log; an Upgrade event with a
    // new window changes it.
    storage::mutate(|j| {
        j.record(
            TimestampNs(ic_cdk::api::time()),
            &RecordContext::new(ic_cdk::api::msg_caller(), "upgrade"),
            Event::Upgrade {
                version: VERSION.to_string(),
                dedup_window_ns: upgrade.dedup_window_ns,
            },
        )
        .unwrap_or_else(|e| ic_cdk::trap(format!("chaos_system: {e}")));
    });
    set_chaos_probe(upgrade.chaos_probe);
    // Timers do not survive an upgrade: resume every running drill, every active experiment
    // (in-flight steps performed again, lab timers re-armed) and every approved hardening
    // request, and re-arm the scan schedule from the state.
    drive::schedule();
    experiments::resume();
    hardening::resume();
    hardening::arm_schedule();
}
