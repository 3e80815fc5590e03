//! chaos_manager
