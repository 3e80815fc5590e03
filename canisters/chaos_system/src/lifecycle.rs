//! init and post_upgrade. There is no pre_upgrade: the event log in stable memory is the state.

use crate::{drive, hardening, storage};
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
    hardening::arm_schedule();
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
    // Timers do not survive an upgrade: resume every running drill and every approved
    // hardening request, and re-arm the scan schedule from the state.
    drive::schedule();
    hardening::resume();
    hardening::arm_schedule();
}
