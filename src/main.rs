use std::process::ExitCode;

use clap::Parser;

/// mimalloc: an analysis allocates and frees many small strings and syntax
/// nodes, which it serves faster than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    clan_migrate::cli::run(clan_migrate::cli::Cli::parse())
}
