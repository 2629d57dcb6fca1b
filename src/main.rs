use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    clan_migrate::cli::run(clan_migrate::cli::Cli::parse())
}
