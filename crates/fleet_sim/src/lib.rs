//! # fleet_sim — deterministic simulation of a small IC fleet
//!
//! The second shell over the `chaos_manager` core (the first is the `chaos_system` canister),
//! in the style of FoundationDB's and TigerBeetle's simulation testing: the real core, its real
//! event log (over `VectorMemory`) and the real demo_vault logic run natively, while the world
//! around them — canisters and the management canister, time, latencies, faults, users,
//! upgrades — is simulated from one seed. The same seed replays the same run, event for event.
//!
//! - [`sim`]: the fleet ([`Sim`]) and the commands, routed through the core as the canister
//!   routes them; [`Sim::reopen`] simulates an upgrade of chaos_system.
//! - [`drive`]: the drill driver and scheduler (issue → journal → perform → complete → journal).
//! - [`assurance`], [`hardening`]: scans, hardening requests and readiness through the core;
//!   the driver that performs approved hardening (effects in order, evidence, rescan).
//! - [`canister`], [`settings`], [`effects`], [`faults`]: management-canister semantics
//!   (settings and status included), the effects, faults.
//! - [`invariants`]: safety checks after every task, and violations that print their seed.
//! - [`random_run`]: seeded random runs (fleets, drills, faults, upgrades) for `bin/sim`;
//!   [`random_lab`]: their chaos experiments (eight faults, emergency stops, misbehaving targets).
//! - [`fixtures`]: scenario data shared with the PocketIC suite.
//!
//! Nothing here reads a clock, draws OS randomness or starts a thread.

pub mod agenda;
pub mod app;
pub mod assurance;
pub mod canister;
pub mod drive;
pub mod effects;
pub mod experiments;
pub mod faults;
pub mod fixtures;
pub mod hardening;
pub mod invariants;
pub mod random_lab;
pub mod random_run;
pub mod rng;
pub mod settings;
pub mod sim;

pub use invariants::Violation;
pub use rng::SimRng;
pub use sim::{Background, DrillRequest, Sim, SimStats, StartedDrill};
