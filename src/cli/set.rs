//! The flags of `tickets set`, made from the command table
//! ([`crate::command::COMMANDS`]): a command an agent can give by mail is
//! a flag here with the same name, arguments and help, and nothing has to
//! be kept in step by hand.

use clap::{Arg, ArgAction, ArgMatches, Args, FromArgMatches};

use crate::command::COMMANDS;

/// The commands given as flags, each as an agent would write it after
/// the `#` (`status pending`, `tag vip billing`, `cc add x@y.test`).
#[derive(Debug, Clone, Default)]
pub struct SetFlags {
    pub commands: Vec<String>,
}

impl FromArgMatches for SetFlags {
    fn from_arg_matches(m: &ArgMatches) -> Result<Self, clap::Error> {
        let mut commands = Vec::new();
        for s in COMMANDS.iter().filter(|s| s.admin) {
            let Some(occurrences) = m.get_occurrences::<String>(s.name) else {
                continue;
            };
            let given: Vec<Vec<&String>> = occurrences.map(|o| o.collect()).collect();
            if s.repeats {
                // `--tag a --tag b` is one `#tag a b`.
                let all: Vec<&str> = given.iter().flatten().map(|v| v.as_str()).collect();
                commands.push(format!("{} {}", s.name, all.join(" ")));
            } else {
                for values in given {
                    let values: Vec<&str> = values.iter().map(|v| v.as_str()).collect();
                    commands.push(format!("{} {}", s.name, values.join(" ")));
                }
            }
        }
        Ok(SetFlags { commands })
    }

    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> Result<(), clap::Error> {
        *self = SetFlags::from_arg_matches(m)?;
        Ok(())
    }
}

impl Args for SetFlags {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        COMMANDS
            .iter()
            .filter(|s| s.admin && s.values > 0)
            .fold(cmd, |cmd, s| {
                let names: Vec<&'static str> = s.args.split_whitespace().collect();
                let mut arg = Arg::new(s.name)
                    .long(s.name)
                    .help(s.help)
                    .num_args(s.values)
                    .action(if s.repeats {
                        ArgAction::Append
                    } else {
                        ArgAction::Set
                    });
                arg = if names.len() == s.values {
                    arg.value_names(names)
                } else {
                    arg.value_name(s.args)
                };
                cmd.arg(arg)
            })
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        SetFlags::augment_args(cmd)
    }
}
