//! clan-migrate: find legacy Clan `inventory.services` definitions and migrate them
//! to `inventory.instances`.

pub mod analysis;
pub mod atomic_write;
pub mod check;
pub mod clan_facts;
pub mod cli;
pub mod config;
pub mod diagnostic;
pub mod digest128;
pub mod discover;
pub mod failpoint;
pub mod fix;
pub mod inventory;
pub mod json_tree;
pub mod json_write;
pub mod lints;
pub mod report;
pub mod result_spool;
pub mod rewrite;
pub mod source;
pub mod suppress;
pub mod syntax;
#[cfg(test)]
mod test_support;
