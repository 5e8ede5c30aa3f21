//! The `postdesk` binary: parse the command line, hand over to the library.

use clap::Parser;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    postdesk::cli::run(postdesk::cli::Args::parse())
}
