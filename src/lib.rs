//! clan-migrate: find legacy Clan `inventory.services` definitions and migrate them
//! to `inventory.instances`.

pub mod cli;
pub mod engine;
pub(crate) mod failpoint;
pub mod inventory;
pub mod io;
pub(crate) mod lints;
pub mod port;
pub(crate) mod report;
pub mod rewrite;
pub(crate) mod syntax;
#[cfg(test)]
mod test_support;
pub mod text;
