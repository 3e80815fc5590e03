//! chaos_system
