//! fleet_sim
