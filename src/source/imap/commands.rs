//! The IMAP commands the source needs, run over an open session with the
//! tagged answer always checked. async-imap's own FETCH and STORE streams
//! end at the tagged response without looking at it, so a `NO` there would
//! pass for success; these read every response themselves, which also lets
//! them notice `EXISTS` (new mail) whenever the server mentions it.

use std::time::Duration;

use async_imap::imap_proto::{
    AttributeValue, MailboxDatum, RequestId, Response, ResponseCode, Status,
};
use tokio::sync::watch;
use tokio::time::Instant;

use super::conn::Session;
use super::{folder, uidset, ImapError};

/// The longest silence accepted while a command is under way: short
/// enough that a connection that died without a word (or a server process
/// stuck on a lock) is noticed and replaced, long enough for a busy server.
const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// The same between two messages of a FETCH, which a server may have to
/// read from slow storage first.
const FETCH_TIMEOUT: Duration = Duration::from_secs(120);

/// The next response, or the error that ends the session. A macro, not a
/// method: async-imap does not export the response type, so it cannot be
/// named in a signature.
macro_rules! next_response {
    ($session:expr, $what:expr, $limit:expr) => {
        match tokio::time::timeout($limit, $session.read_response()).await {
            Ok(Ok(Some(r))) => r,
            Ok(Ok(None)) => {
                return Err(ImapError::Protocol(format!(
                    "the server closed the connection during {}",
                    $what
                )))
            }
            Ok(Err(e)) => return Err(ImapError::Protocol(format!("{}: {e}", $what))),
            Err(_) => {
                return Err(ImapError::Protocol(format!(
                    "{}: no answer within {}s",
                    $what,
                    $limit.as_secs()
                )))
            }
        }
    };
}

/// What the server offers that changes how we work.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Caps {
    pub idle: bool,
    pub uid_move: bool,
    pub uidplus: bool,
}

/// Why an IDLE ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    NewMail,
    /// The renewal period passed: time for the safety-net check.
    Timeout,
    Stop,
}

pub struct Imap {
    session: Session,
    pub caps: Caps,
    /// The server announced new mail (EXISTS/RECENT) since last asked.
    saw_new: bool,
}

fn is_new_mail(r: &Response<'_>) -> bool {
    matches!(
        r,
        Response::MailboxData(MailboxDatum::Exists(_))
            | Response::MailboxData(MailboxDatum::Recent(_))
    )
}

fn status_word(s: &Status) -> &'static str {
    match s {
        Status::Ok => "OK",
        Status::No => "NO",
        Status::Bad => "BAD",
        Status::PreAuth => "PREAUTH",
        Status::Bye => "BYE",
    }
}

impl Imap {
    /// Takes over a logged-in session and asks what the server can do.
    pub async fn new(mut session: Session) -> Result<Imap, ImapError> {
        let caps = match tokio::time::timeout(READ_TIMEOUT, session.capabilities()).await {
            Ok(Ok(c)) => Caps {
                idle: c.has_str("IDLE"),
                uid_move: c.has_str("MOVE"),
                uidplus: c.has_str("UIDPLUS"),
            },
            Ok(Err(e)) => return Err(ImapError::Protocol(format!("CAPABILITY: {e}"))),
            Err(_) => return Err(ImapError::Protocol("CAPABILITY: no answer".into())),
        };
        // async-imap queues what it does not understand; nothing here
        // relies on that queue, so it is emptied rather than left to fill.
        while session.unsolicited_responses.try_recv().is_ok() {}
        Ok(Imap {
            session,
            caps,
            saw_new: false,
        })
    }

    /// Whether new mail was announced since the last call.
    pub fn take_saw_new(&mut self) -> bool {
        std::mem::take(&mut self.saw_new)
    }

    async fn send(&mut self, command: &str, what: &str) -> Result<RequestId, ImapError> {
        self.session
            .run_command(command)
            .await
            .map_err(|e| ImapError::Protocol(format!("{what}: {e}")))
    }

    /// Reads until the tagged answer to `tag`; every untagged response on
    /// the way goes to `each`. Anything but OK is an error naming `what`.
    async fn finish(
        &mut self,
        tag: &RequestId,
        what: &str,
        mut each: impl FnMut(&Response<'_>),
    ) -> Result<(), ImapError> {
        let limit = if what == "UID FETCH" {
            FETCH_TIMEOUT
        } else {
            READ_TIMEOUT
        };
        loop {
            let resp = next_response!(self.session, what, limit);
            match resp.parsed() {
                Response::Done {
                    tag: t,
                    status,
                    outcome,
                } if t == tag => {
                    return match status {
                        Status::Ok => Ok(()),
                        other => Err(ImapError::Command {
                            command: what.to_string(),
                            status: status_word(other),
                            text: outcome.information.as_deref().unwrap_or("").to_string(),
                        }),
                    };
                }
                Response::Data {
                    status: Status::Bye,
                    outcome,
                } => {
                    return Err(ImapError::Protocol(format!(
                        "the server said BYE during {what}: {}",
                        outcome.information.as_deref().unwrap_or("")
                    )))
                }
                other => {
                    if is_new_mail(other) {
                        self.saw_new = true;
                    }
                    each(other);
                }
            }
        }
    }

    async fn simple(&mut self, command: &str, what: &str) -> Result<(), ImapError> {
        let tag = self.send(command, what).await?;
        self.finish(&tag, what, |_| {}).await
    }

    /// Opens a folder read-write; returns its UIDVALIDITY.
    pub async fn select(&mut self, name: &str) -> Result<u32, ImapError> {
        let quoted = folder::quoted(name).map_err(ImapError::Protocol)?;
        let what = format!("SELECT {quoted}");
        let tag = self.send(&what, &what).await?;
        let mut validity = None;
        self.finish(&tag, &what, |r| {
            if let Response::Data { outcome, .. } = r {
                if let Some(ResponseCode::UidValidity(v)) = outcome.code {
                    validity = Some(v);
                }
            }
        })
        .await
        .map_err(|e| ImapError::Folder {
            folder: name.to_string(),
            reason: e.to_string(),
        })?;
        // New mail announced by SELECT's own EXISTS is not news.
        self.saw_new = false;
        validity.ok_or_else(|| ImapError::Folder {
            folder: name.to_string(),
            reason: "the server gave no UIDVALIDITY, so UIDs cannot be trusted across sessions"
                .into(),
        })
    }

    /// Creates a folder; `Ok(false)` when the server says no (usually: it
    /// exists already).
    pub async fn create(&mut self, name: &str) -> Result<bool, ImapError> {
        let quoted = folder::quoted(name).map_err(ImapError::Protocol)?;
        match self.simple(&format!("CREATE {quoted}"), "CREATE").await {
            Ok(()) => Ok(true),
            Err(ImapError::Command { status: "NO", .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// `UID SEARCH <criteria>`.
    pub async fn search(&mut self, criteria: &str) -> Result<Vec<u32>, ImapError> {
        let what = format!("UID SEARCH {criteria}");
        let tag = self.send(&what, &what).await?;
        let mut found = Vec::new();
        self.finish(&tag, &what, |r| {
            if let Response::MailboxData(MailboxDatum::Search(uids)) = r {
                found.extend_from_slice(uids);
            }
        })
        .await?;
        Ok(found)
    }

    /// The raw bytes of the given messages, by UID, in UID order, without
    /// setting \Seen. A message expunged meanwhile is simply absent.
    pub async fn fetch(&mut self, uids: &[u32]) -> Result<Vec<(u32, Vec<u8>)>, ImapError> {
        if uids.is_empty() {
            return Ok(Vec::new());
        }
        let set = uidset::format(uids);
        let tag = self
            .send(&format!("UID FETCH {set} (UID BODY.PEEK[])"), "UID FETCH")
            .await?;
        let mut out: Vec<(u32, Vec<u8>)> = Vec::with_capacity(uids.len());
        self.finish(&tag, "UID FETCH", |r| {
            if let Response::Fetch(_, attrs) = r {
                let mut uid = None;
                let mut body = None;
                for a in attrs {
                    match a {
                        AttributeValue::Uid(u) => uid = Some(*u),
                        AttributeValue::BodySection {
                            section: None,
                            data: Some(d),
                            ..
                        }
                        | AttributeValue::Rfc822(Some(d)) => body = Some(d.to_vec()),
                        _ => {}
                    }
                }
                // A FETCH without a body is a flag change someone else
                // made, reported alongside; not ours.
                if let (Some(u), Some(b)) = (uid, body) {
                    out.push((u, b));
                }
            }
        })
        .await?;
        let wanted: std::collections::HashSet<u32> = uids.iter().copied().collect();
        out.retain(|(u, _)| wanted.contains(u));
        out.sort_by_key(|(u, _)| *u);
        out.dedup_by_key(|(u, _)| *u);
        Ok(out)
    }

    /// `UID FETCH set (RFC822.SIZE)`: each message's size, to cut batches
    /// by bytes before fetching them.
    pub async fn sizes(&mut self, uids: &[u32]) -> Result<Vec<(u32, u32)>, ImapError> {
        if uids.is_empty() {
            return Ok(Vec::new());
        }
        let set = uidset::format(uids);
        let tag = self
            .send(&format!("UID FETCH {set} (UID RFC822.SIZE)"), "UID FETCH")
            .await?;
        let mut out = Vec::with_capacity(uids.len());
        self.finish(&tag, "UID FETCH", |r| {
            if let Response::Fetch(_, attrs) = r {
                let mut uid = None;
                let mut size = None;
                for a in attrs {
                    match a {
                        AttributeValue::Uid(u) => uid = Some(*u),
                        AttributeValue::Rfc822Size(n) => size = Some(*n),
                        _ => {}
                    }
                }
                if let (Some(u), Some(n)) = (uid, size) {
                    out.push((u, n));
                }
            }
        })
        .await?;
        Ok(out)
    }

    /// `UID STORE set +FLAGS.SILENT (flags)`.
    pub async fn add_flags(&mut self, uids: &[u32], flags: &str) -> Result<(), ImapError> {
        if uids.is_empty() {
            return Ok(());
        }
        let set = uidset::format(uids);
        self.simple(
            &format!("UID STORE {set} +FLAGS.SILENT ({flags})"),
            "UID STORE",
        )
        .await
    }

    pub async fn uid_move(&mut self, uids: &[u32], to: &str) -> Result<(), ImapError> {
        if uids.is_empty() {
            return Ok(());
        }
        let set = uidset::format(uids);
        let quoted = folder::quoted(to).map_err(ImapError::Protocol)?;
        self.simple(&format!("UID MOVE {set} {quoted}"), "UID MOVE")
            .await
    }

    pub async fn uid_copy(&mut self, uids: &[u32], to: &str) -> Result<(), ImapError> {
        if uids.is_empty() {
            return Ok(());
        }
        let set = uidset::format(uids);
        let quoted = folder::quoted(to).map_err(ImapError::Protocol)?;
        self.simple(&format!("UID COPY {set} {quoted}"), "UID COPY")
            .await
    }

    /// Removes exactly these messages (UIDPLUS), never another client's
    /// \Deleted ones.
    pub async fn uid_expunge(&mut self, uids: &[u32]) -> Result<(), ImapError> {
        if uids.is_empty() {
            return Ok(());
        }
        let set = uidset::format(uids);
        self.simple(&format!("UID EXPUNGE {set}"), "UID EXPUNGE")
            .await
    }

    /// Plain EXPUNGE: every \Deleted message in the folder.
    pub async fn expunge(&mut self) -> Result<(), ImapError> {
        self.simple("EXPUNGE", "EXPUNGE").await
    }

    /// Waits in IDLE until new mail, `period`, or `stop`; always ends the
    /// IDLE properly (DONE and its tagged answer) so the session can go on.
    pub async fn idle(
        &mut self,
        period: Duration,
        stop: &mut watch::Receiver<bool>,
    ) -> Result<Wake, ImapError> {
        let tag = self.send("IDLE", "IDLE").await?;
        loop {
            let resp = next_response!(self.session, "IDLE", READ_TIMEOUT);
            match resp.parsed() {
                Response::Continue(_) => break,
                Response::Done {
                    tag: t,
                    status,
                    outcome,
                } if *t == tag => {
                    return Err(ImapError::Command {
                        command: "IDLE".into(),
                        status: status_word(status),
                        text: outcome.information.as_deref().unwrap_or("").to_string(),
                    })
                }
                other => {
                    if is_new_mail(other) {
                        self.saw_new = true;
                    }
                }
            }
        }
        let deadline = Instant::now() + period;
        let mut wake = if self.saw_new {
            Wake::NewMail
        } else {
            Wake::Timeout
        };
        while wake != Wake::NewMail {
            enum Event<R> {
                Got(R),
                Timeout,
                Stop,
            }
            let event = tokio::select! {
                r = self.session.read_response() => Event::Got(r),
                _ = tokio::time::sleep_until(deadline) => Event::Timeout,
                _ = stop.wait_for(|s| *s) => Event::Stop,
            };
            match event {
                Event::Got(Ok(Some(resp))) => {
                    if is_new_mail(resp.parsed()) {
                        self.saw_new = true;
                        wake = Wake::NewMail;
                    }
                    if let Response::Data {
                        status: Status::Bye,
                        outcome,
                    } = resp.parsed()
                    {
                        return Err(ImapError::Protocol(format!(
                            "the server said BYE during IDLE: {}",
                            outcome.information.as_deref().unwrap_or("")
                        )));
                    }
                }
                Event::Got(Ok(None)) => {
                    return Err(ImapError::Protocol(
                        "the server closed the connection during IDLE".into(),
                    ))
                }
                Event::Got(Err(e)) => return Err(ImapError::Protocol(format!("IDLE: {e}"))),
                Event::Timeout => {
                    wake = Wake::Timeout;
                    break;
                }
                Event::Stop => {
                    wake = Wake::Stop;
                    break;
                }
            }
        }
        self.session
            .run_command_untagged("DONE")
            .await
            .map_err(|e| ImapError::Protocol(format!("DONE: {e}")))?;
        self.finish(&tag, "IDLE", |_| {}).await?;
        Ok(wake)
    }

    /// Says goodbye; failures do not matter any more.
    pub async fn logout(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(5), self.session.logout()).await;
    }
}
