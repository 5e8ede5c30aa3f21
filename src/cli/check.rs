//! `postdesk check` (the configuration, rules, templates, articles and,
//! with `--store`, every record of the store) and `postdesk strip`, the two
//! commands that look at files an admin edits or a mail they have.

use super::*;

/// `postdesk strip`: the kept text, then with `--explain` each cut with
/// its lines, the rule that matched and the first line it removed.
pub(super) fn strip(
    file: Option<&std::path::Path>,
    explain: bool,
    json: bool,
    signatures: crate::mail::quote::Signatures,
) -> Result<u8> {
    let raw = read_input(file)?;
    let (stripped, source) = crate::mail::quote::strip_raw_with(&raw, signatures);
    if json {
        let cuts: Vec<serde_json::Value> = stripped
            .cuts
            .iter()
            .map(|c| {
                serde_json::json!({
                    "first_line": c.first_line,
                    "last_line": c.last_line,
                    "cut": c.is_cut(),
                    "why": c.to_string(),
                    "excerpt": c.excerpt,
                })
            })
            .collect();
        let v = serde_json::json!({
            "text": stripped.text,
            "source": source.to_string(),
            "signatures": signatures.to_string(),
            "cuts": cuts,
        });
        println!("{}", safe::json(serde_json::to_string_pretty(&v)?));
        return Ok(0);
    }
    println!("{}", safe::text(&stripped.text));
    if explain {
        println!(
            "\n--- explain: {source}; signatures {signatures}; line numbers count in that text ---"
        );
        if stripped.cuts.is_empty() {
            println!("nothing was cut");
        }
        for cut in &stripped.cuts {
            println!("{}", safe::text(&cut.to_string()));
            if !cut.excerpt.is_empty() {
                println!("    | {}", safe::line(&cut.excerpt));
            }
        }
    }
    Ok(0)
}

/// A mail from a file, or from stdin for `-` or none; at most 64 MiB.
pub(super) fn read_input(file: Option<&std::path::Path>) -> Result<Vec<u8>> {
    let mut raw = Vec::new();
    match file {
        Some(f) if f.as_os_str() != "-" => std::fs::File::open(f)
            .and_then(|h| h.take(64 << 20).read_to_end(&mut raw))
            .with_context(|| format!("cannot read {}", f.display()))?,
        _ => std::io::stdin().take(64 << 20).read_to_end(&mut raw)?,
    };
    Ok(raw)
}

/// `postdesk check`: everything an admin edits, each problem with its file
/// and line.
pub(super) fn check(
    path: &std::path::Path,
    config: &Config,
    json: bool,
    store: Option<&crate::store::Verified>,
) -> Result<u8> {
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    let templates =
        match crate::templates::Templates::load_for(&config.templates.dir, &config.desk.language) {
            Ok(t) => {
                if let Err(e) = t.check() {
                    problems.push(e.to_string());
                }
                Some(t)
            }
            Err(e) => {
                problems.push(e.to_string());
                None
            }
        };
    if let Some(t) = &templates {
        if let Err(e) = crate::rules::RuleSet::load(
            &config.rules.file,
            &crate::rules::Known::from_config(config, t.names()),
        ) {
            problems.push(e.to_string());
        }
        for inbox in t.inboxes() {
            if !config.inboxes.iter().any(|i| i.name == inbox) {
                warnings.push(format!(
                    "{}/{inbox}/ overrides templates for an inbox no [[inbox]] is named",
                    config.templates.dir.display()
                ));
            }
        }
        for inbox in config
            .inboxes
            .iter()
            .filter(|i| crate::templates::is_language_dir(&i.name))
        {
            warnings.push(format!(
                "inbox `{}`: a template directory of that name holds the language `{}`, not \
                 this inbox's overrides; rename the inbox to give it overrides",
                inbox.name, inbox.name
            ));
        }
    }
    if let Some(kb) = &config.kb.file {
        if let Err(e) = crate::kb::Kb::load(kb) {
            problems.push(e.to_string());
        }
    }
    if let Err(e) = crate::transport::Plan::from_config(&config.outgoing) {
        problems.push(format!("{}: {e}", path.display()));
    }
    for inbox in config
        .inboxes
        .iter()
        .filter(|i| i.kind == crate::config::InboxKind::Imap)
    {
        match crate::source::imap::Settings::from_inbox(inbox, config.intake.batch) {
            Ok(s) => {
                let (errors, found) = crate::source::imap::check_settings(&s);
                problems.extend(
                    errors
                        .into_iter()
                        .map(|e| format!("{}: {e}", path.display())),
                );
                warnings.extend(found);
            }
            Err(e) => problems.push(format!("{}: {e}", path.display())),
        }
    }
    if config.store.has_postgres() {
        match crate::pg::Settings::from_config(&config.store) {
            Ok(pg) => warnings.extend(pg.warnings()),
            Err(e) => problems.push(format!("{}: {e}", path.display())),
        }
    }
    // Like ssh with a private key: a secret others can read is no secret.
    let secrets = config
        .inboxes
        .iter()
        .filter_map(|i| {
            i.password_file
                .as_ref()
                .map(|f| (format!("inbox `{}`", i.name), f))
        })
        .chain(
            config
                .outgoing
                .password_file
                .as_ref()
                .map(|f| ("[outgoing]".to_string(), f)),
        );
    for (whose, file) in secrets {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(file) {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o007 != 0 {
                warnings.push(format!(
                    "the password_file of {whose}, {}, can be read by other users (mode {mode:03o}); `chmod 600 {}` (or 640 with the service's group)",
                    file.display(),
                    file.display()
                ));
            }
        }
    }
    if json {
        let v = serde_json::json!({
            "config": path.display().to_string(),
            "ok": problems.is_empty(),
            "problems": problems,
            "warnings": warnings,
            "inboxes": config.inboxes.len(),
            "agents": config.agents.len(),
            "queues": config.queue_names(),
            "templates": templates.as_ref().map_or(0, |t| t.names().len()),
            "rules": config.rules.file.display().to_string(),
            "state_dir": config.state_dir().display().to_string(),
            "store": store,
        });
        println!("{}", safe::json(serde_json::to_string_pretty(&v)?));
        return Ok(match (problems.is_empty(), store) {
            (false, _) => EX_CONFIG,
            (true, Some(s)) if !s.problems.is_empty() => 1,
            _ => 0,
        });
    }
    for w in &warnings {
        eprintln!("postdesk: warning: {w}");
    }
    if !problems.is_empty() {
        for p in &problems {
            eprintln!("postdesk: {p}");
        }
        return Ok(EX_CONFIG);
    }
    println!(
        "{}: ok ({} inbox(es), {} agent(s), {} queue(s), {} template(s), rules in {}, state in {})",
        path.display(),
        config.inboxes.len(),
        config.agents.len(),
        config.queues.len(),
        templates.map_or(0, |t| t.names().len()),
        config.rules.file.display(),
        config.state_dir().display()
    );
    if let Some(v) = store {
        let read: Vec<String> = v.read.iter().map(|(k, n)| format!("{n} {k}")).collect();
        println!("store: read {}", read.join(", "));
        for p in &v.problems {
            eprintln!("postdesk: store: {}", safe::line(p));
        }
        if !v.problems.is_empty() {
            eprintln!("  hint: `postdesk restore BACKUP_DIR` puts a backup in its place (see README, \"Backup and restore\")");
            return Ok(1);
        }
        println!("store: no damage found");
    }
    Ok(0)
}
