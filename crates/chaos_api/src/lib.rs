//! chaos_api
