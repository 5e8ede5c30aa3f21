//! Unit tests of the command line's definition.

use super::*;

/// Every command and every argument explains itself in `--help` (and
/// so in the man page and completions, made from the same definition).
#[test]
fn every_argument_has_a_help_line() {
    use clap::CommandFactory;
    fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
        for a in cmd.get_arguments() {
            let id = a.get_id().as_str();
            if matches!(id, "help" | "version") || a.is_hide_set() {
                continue;
            }
            if a.get_help().is_none() && a.get_long_help().is_none() {
                missing.push(format!("{path} {id}"));
            }
        }
        for sub in cmd.get_subcommands() {
            if sub.get_about().is_none() && sub.get_long_about().is_none() {
                missing.push(format!("{path} {} (the command)", sub.get_name()));
            }
            walk(sub, &format!("{path} {}", sub.get_name()), missing);
        }
    }
    let mut missing = Vec::new();
    walk(&Args::command(), "postdesk", &mut missing);
    assert!(missing.is_empty(), "no help line:\n{}", missing.join("\n"));
}

#[test]
fn a_large_sled_desk_is_told_what_sled_holds_in_memory() {
    assert_eq!(print::sled_memory_hint(299_999), None);
    let hint = print::sled_memory_hint(600_000).expect("a hint at 600,000 tickets");
    assert!(hint.contains("about 286 MiB"), "{hint}");
    assert!(
        hint.contains("postdesk migrate --from sled --to postgres"),
        "{hint}"
    );
}
