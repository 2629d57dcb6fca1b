//! clan-migrate: find legacy Clan `inventory.services` definitions and migrate them
//! to `inventory.instances`.

pub mod cli;
pub mod engine;
pub mod failpoint;
pub mod inventory;
pub mod io;
pub mod lints;
pub mod report;
pub mod rewrite;
pub mod syntax;
#[cfg(test)]
mod test_support;
pub mod text;
