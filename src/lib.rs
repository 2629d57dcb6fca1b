//! clan-migrate: find legacy Clan `inventory.services` definitions and migrate them
//! to `inventory.instances`.

pub mod analysis;
pub mod check;
pub mod clan_facts;
pub mod cli;
pub mod diagnostic;
pub mod digest128;
pub mod failpoint;
pub mod fix;
pub mod inventory;
pub mod io;
pub mod lints;
pub mod report;
pub mod result_spool;
pub mod rewrite;
pub mod suppress;
pub mod syntax;
#[cfg(test)]
mod test_support;
pub mod text;
