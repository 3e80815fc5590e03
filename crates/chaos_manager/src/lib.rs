//! # chaos_manager — the pure domain core
//!
//! Functional core of the chaos suite: it takes commands and observations (with the time passed
//! in) and returns events and effects. It has no ic-cdk dependency; the `chaos_system` canister
//! and the native `fleet_sim` simulator are two shells over it.
//!
//! - [`command`]: authorize, validate, decide which events to record.
//! - [`state`]: the model, a fold of the events ([`state::State::apply`] is the only mutation).
//! - [`drill`]: the disaster-recovery drill engine, a sans-IO state machine.
//! - [`effect`]: what a shell performs for the core and the outcomes it reports back.
//! - [`journal`]: the event log plus the folded state, shared by both shells.

pub mod assurance;
pub mod auth;
pub mod cbor;
pub mod command;
pub mod drill;
pub mod effect;
pub mod error;
pub mod events;
pub mod hardening;
pub mod ids;
pub mod journal;
pub mod lab_events;
pub mod readiness;
pub mod state;
pub mod target;
pub mod vulnerability;

pub use auth::Role;
pub use error::CoreError;
pub use events::Event;
pub use ids::{DrillId, DurationNs, SnapshotId, TimestampNs};
pub use state::State;
pub mod council;
pub mod experiment;
pub mod fault;
pub mod safety;
