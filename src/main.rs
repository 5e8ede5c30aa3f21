//! The `postdesk` binary: parse the command line, hand over to the library.

use clap::Parser;

fn main() -> std::process::ExitCode {
    postdesk::cli::run(postdesk::cli::Args::parse())
}
