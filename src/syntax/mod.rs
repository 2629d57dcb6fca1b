//! Syntax helpers: Nix (logical keys, attribute paths, literals, quoting), Nix's rule
//! for attributes defined twice, and a JSON tree with byte positions.

pub mod duplicates;
pub mod json;
pub mod json_write;
pub mod nix;
pub mod quote;
