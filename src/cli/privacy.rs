//! `customers export`, `customers erase` and `customers erasures`: the
//! privacy requests, as the command line prints and writes them.

use std::io::Write as _;
use std::path::Path;

use anyhow::{anyhow, bail, Context as _, Result};

use super::{call, safe};
use crate::api::{Request, Response};
use crate::backend::Backend;

/// The files an export writes: fixed names, never from mail.
const MBOX: &str = "messages.mbox";
const TICKETS: &str = "tickets.json";
const CUSTOMER: &str = "customer.json";

/// Creates `dir` fresh (an existing empty directory is taken too): an
/// export never mixes with or overwrites other files.
fn fresh_dir(dir: &Path) -> Result<()> {
    if dir.exists() {
        let empty = std::fs::read_dir(dir)
            .with_context(|| format!("cannot read {}", dir.display()))?
            .next()
            .is_none();
        if !empty {
            bail!(
                "{} exists and is not empty\n  hint: name a new directory; an export never writes over files",
                dir.display()
            );
        }
        return Ok(());
    }
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create {}", dir.display()))
}

/// Opens a new file in the export (never one that exists), private to the
/// user: it holds a person's mail.
fn create(dir: &Path, name: &str) -> Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let path = dir.join(name);
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("cannot create {}", path.display()))
}

pub(super) fn export(mut backend: Backend, address: &str, dir: &Path) -> Result<u8> {
    fresh_dir(dir)?;
    let mut mbox = std::io::BufWriter::new(create(dir, MBOX)?);
    let mut after = None;
    let mut messages = 0usize;
    loop {
        let page = match call(
            &mut backend,
            Request::ExportCustomer {
                address: address.to_string(),
                after: after.clone(),
            },
        )? {
            Response::CustomerExport(p) => p,
            other => bail!("unexpected answer: {other:?}"),
        };
        if let Some(records) = &page.records {
            for (name, value) in [(TICKETS, &records.tickets), (CUSTOMER, &records.customer)] {
                let mut f = create(dir, name)?;
                serde_json::to_writer_pretty(&mut f, value)?;
                f.write_all(b"\n")?;
                f.sync_all()?;
            }
        }
        let mut at = 0usize;
        for m in &page.messages {
            let raw = page
                .raw
                .get(at..at + m.len)
                .ok_or_else(|| anyhow!("the export page is shorter than its messages"))?;
            at += m.len;
            mbox.write_all(crate::privacy::mbox_from_line(&m.sender, m.date).as_bytes())?;
            mbox.write_all(&crate::privacy::mboxrd_body(raw))?;
            messages += 1;
        }
        match page.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    mbox.into_inner()
        .map_err(|e| anyhow!("cannot write {MBOX}: {e}"))?
        .sync_all()?;
    println!(
        "exported {} ({messages} messages) to {}",
        safe::line(address),
        safe::line(&dir.display().to_string())
    );
    Ok(0)
}

pub(super) fn erase(
    mut backend: Backend,
    address: &str,
    force: bool,
    by: Option<String>,
    json: bool,
) -> Result<u8> {
    let by = by
        .or_else(|| std::env::var("SUDO_USER").ok())
        .or_else(|| std::env::var("USER").ok())
        .or_else(|| std::env::var("LOGNAME").ok())
        .unwrap_or_else(|| format!("uid {}", rustix_uid()));
    let resp = call(
        &mut backend,
        Request::EraseCustomer {
            address: address.to_string(),
            by,
            force,
        },
    )?;
    let Response::Erased { record, rewritten } = resp else {
        bail!("unexpected answer: {resp:?}");
    };
    if json {
        println!(
            "{}",
            safe::json(serde_json::to_string_pretty(&serde_json::json!({
                "erasure": record,
                "rewritten_records": rewritten,
            }))?)
        );
    } else {
        println!(
            "erased: now {} ({} tickets, {} messages, {} outgoing mails, {} cancelled, {} quarantined)",
            safe::line(&record.pseudonym),
            record.tickets,
            record.messages,
            record.outgoing,
            record.cancelled,
            record.quarantined
        );
        println!(
            "store rewritten ({} records): no old copy stays in it; backups taken before still hold the person",
            rewritten.unwrap_or(0)
        );
    }
    Ok(0)
}

/// The user id, when no user name is known.
fn rustix_uid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self")
        .map(|m| m.uid())
        .unwrap_or(0)
}

pub(super) fn erasures(mut backend: Backend, json: bool) -> Result<u8> {
    let list = match call(&mut backend, Request::ListErasures)? {
        Response::Erasures(l) => l,
        other => bail!("unexpected answer: {other:?}"),
    };
    if json {
        println!("{}", safe::json(serde_json::to_string_pretty(&list)?));
        return Ok(0);
    }
    if list.is_empty() {
        println!("no erasures");
    }
    for e in &list {
        println!(
            "{}  {}  by {}  ({} tickets, {} messages)",
            e.at.format("%Y-%m-%d %H:%M UTC"),
            safe::line(&e.pseudonym),
            safe::line(&e.by),
            e.tickets,
            e.messages
        );
    }
    Ok(0)
}
