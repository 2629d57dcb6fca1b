//! The inventory as the tool understands it: where legacy `inventory.services`
//! instances are defined, in Nix files and in `inventory.json`.

pub mod config;
pub mod context;
pub mod facts;
pub mod flake;
pub mod mapping;
pub mod membership;
pub mod modules;
pub mod naming;
pub mod normal_form;

pub use crate::text::Span;
pub use facts::*;
pub use membership::{MachineFacts, MachineInfo};
