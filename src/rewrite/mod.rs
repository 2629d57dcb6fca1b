//! The migration rewrite: a plan of text edits per file, applied once and verified.

pub mod convert;
pub mod plan;
pub mod plan_json;
