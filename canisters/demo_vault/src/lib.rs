//! demo_vault
