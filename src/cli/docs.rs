//! `postdesk man` and `postdesk completions SHELL`: the manual page and the
//! shell completions are generated from the same clap definition as
//! `--help`, so the three cannot disagree about a command or a flag. The
//! Debian package ships their output (debian/build-deb.sh runs these two
//! commands on the release binary), so nothing generated is kept in the
//! repository.

use std::io::Write;
use std::path::Path;

use anyhow::{Context as _, Result};
use clap::CommandFactory;

use super::Args;

/// What the generated page lacks: where the files are, which variables
/// count, what the exit codes mean. Plain roff, appended after clap's part.
const MAN_EXTRA: &str = r#".SH FILES
.TP
.I /etc/postdesk/postdesk.toml
The configuration, when neither \-\-config nor POSTDESK_CONFIG names one and
there is no config/postdesk.toml in the working directory (when none of them
exists, the error names the paths tried).
.TP
.IR /etc/postdesk/rules.toml ", " /etc/postdesk/templates/ ", " /etc/postdesk/kb.toml
The rule file, the mail templates and the knowledge base admins edit
(named by the configuration; \fBpostdesk check\fR validates them, and
\fBsystemctl reload postdesk\fR swaps them in).
.TP
.I /var/lib/postdesk/
The state directory of the packaged configuration: the store, the control
socket and the secret that signs reply tokens.
.SH ENVIRONMENT
.TP
.B POSTDESK_CONFIG
The configuration file (like \-\-config).
.TP
.B POSTDESK_LOG
A tracing filter for the log on stderr, e.g. \fBdebug\fR.
.TP
.B POSTDESK_LOG_FORMAT
auto, human, json or journald (like \-\-log\-format).
.TP
.B POSTDESK_COLOR
auto, always or never (like \-\-color).
.TP
.B NO_COLOR
When set and not empty, \-\-color auto writes no colour.
.TP
.B POSTDESK_SECTION__KEY
Overrides one configuration value, e.g. POSTDESK_DESK__STATE_DIR.
.SH "EXIT STATUS"
0 on success; 1 on an error; 64 (EX_USAGE) for a wrong command line or
value (the message names the valid ones); 65 (EX_DATAERR) when \fBingest\fR was given
something that is not mail; 75 (EX_TEMPFAIL) when the store is unavailable
and an MTA should retry; 78 (EX_CONFIG) for a configuration that does not
load. \fBstatus\fR answers 3 when no daemon runs.
.SH "SEE ALSO"
.BR postdesk\-serve (1),
.BR postdesk\-tickets (1)
and the other commands' pages (or \fBpostdesk help\fR \fICOMMAND\fR);
/usr/share/doc/postdesk/README.md;
.BR systemctl (1),
.BR systemd-sysusers (8).
"#;

/// Writes the manual page (section 1, roff) to stdout, or with `dir`
/// every page into it: postdesk.1, whose COMMANDS section names
/// postdesk-tickets(1) and the others, and one page per command and
/// subcommand, so those names lead somewhere once installed.
pub fn man(dir: Option<&Path>) -> Result<u8> {
    // `help` is a command of clap's, documented by this very page.
    let mut cmd = Args::command().disable_help_subcommand(true);
    cmd.build();
    let Some(dir) = dir else {
        std::io::stdout().lock().write_all(&top_page(cmd)?)?;
        return Ok(0);
    };
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_pages(sub.clone(), dir)?;
    }
    let path = dir.join("postdesk.1");
    std::fs::write(&path, top_page(cmd)?)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(0)
}

/// The page of the whole program: clap's part and the sections it lacks.
fn top_page(cmd: clap::Command) -> Result<Vec<u8>> {
    let mut page = Vec::new();
    clap_mangen::Man::new(cmd)
        .manual("postdesk manual")
        .render(&mut page)?;
    page.extend_from_slice(MAN_EXTRA.as_bytes());
    Ok(page)
}

/// A command's page (postdesk-tickets.1), then its subcommands' pages.
fn write_pages(cmd: clap::Command, dir: &Path) -> Result<()> {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_pages(sub.clone(), dir)?;
    }
    let man = clap_mangen::Man::new(cmd).manual("postdesk manual");
    let path = dir.join(man.get_filename());
    let mut page = Vec::new();
    man.render(&mut page)?;
    std::fs::write(&path, page).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// Writes the completion script for `shell` to stdout. The script is built
/// in memory first: clap_complete panics on a failed write, and a closed
/// stdout should be an error (or SIGPIPE), not a panic.
pub fn completions(shell: clap_complete::Shell) -> Result<u8> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Args::command(), "postdesk", &mut script);
    std::io::stdout().lock().write_all(&script)?;
    Ok(0)
}
