//! Reading and writing files: the walk over paths, decoding, atomic replacement.

pub mod atomic_write;
pub mod discover;
