use std::process::ExitCode;

use clap::Parser;

/// mimalloc instead of the system allocator: an analysis allocates and frees
/// many small strings and syntax nodes, and glibc's malloc/free took about a
/// quarter of `check` on trees full of inventory code.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    clan_migrate::cli::run(clan_migrate::cli::Cli::parse())
}
