//! A ticket as the reports see it: the few fields `postdesk stats`, the
//! least-open assignment and the metrics' gauges read, in a compact binary
//! form the store keeps beside each ticket (as the value of its last-update
//! index key, written in the ticket's own transaction).
//!
//! Why: a report used to deserialize every full ticket (JSON with its
//! participants, SLA plans, held answers...) and hold them all; at 600,000
//! tickets that was 3 s and ~900 MiB. A summary is ~60–120 bytes, decodes
//! without allocating (strings borrow from the stored bytes), and a report
//! folds over them one at a time.
//!
//! Whatever a figure needs from a ticket must be here, computed by
//! [`Summary::of`] from the ticket alone: the report's fold reads nothing
//! else (but the few references and example subjects it prints, which it
//! asks for by ticket number at the end). A change to what `of` derives
//! changes stored bytes, so it goes with a new [`VERSION`] and a store
//! schema step that rebuilds the summaries.

use std::borrow::Cow;

use chrono::{DateTime, Utc};

use crate::mail::sentiment::Sentiment;
use crate::ticket::{Priority, SlaKind, Status, Ticket};

/// The first byte of every encoded summary.
pub const VERSION: u8 = 1;

/// What a report reads of one ticket.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary<'a> {
    pub number: u64,
    pub status: Status,
    pub priority: Priority,
    pub created: DateTime<Utc>,
    /// The first answer an agent sent, unless the ticket was imported
    /// (imported history says nothing about this desk's response times).
    pub first_response: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// A survey score and when it was given (answered, else sent).
    pub rating: Option<(DateTime<Utc>, u32)>,
    pub spam: bool,
    /// Merged into another ticket: left out of every report figure.
    pub merged: bool,
    pub reopened: u32,
    pub agent_replies: u32,
    /// `None`: no mood kept for the first message.
    pub negative: Option<bool>,
    pub queue: Cow<'a, str>,
    pub category: Cow<'a, str>,
    /// As the ticket writes it (not normalised): each use normalises.
    pub assignee: Option<Cow<'a, str>>,
    /// The requester's domain, lowercased.
    pub domain: Cow<'a, str>,
    /// The named SLA class, if any (else the priority's).
    pub sla: Option<Cow<'a, str>>,
    /// [`crate::report::stats::subject_key`] of the subject.
    pub subject_key: Cow<'a, str>,
    /// Tags, but the `sla-breached-*` ones (said by `missed`).
    pub tags: Vec<Cow<'a, str>>,
    /// The SLA targets missed, as the report counts them (kept breaches,
    /// and those older tickets say with tags), in order.
    pub missed: Vec<SlaKind>,
    /// The kinds of the running SLA targets marked breached, in order.
    pub due_breached: Vec<SlaKind>,
    /// Minutes logged per agent (`#time`), as written.
    pub time_worked: Vec<(Cow<'a, str>, u32)>,
}

impl<'a> Summary<'a> {
    /// The summary of a ticket as it stands.
    pub fn of(t: &'a Ticket) -> Summary<'a> {
        Summary {
            number: t.number,
            status: t.status,
            priority: t.priority,
            created: t.created,
            first_response: t.first_response.filter(|_| !t.imported),
            resolved_at: t.resolved_at,
            rating: t.survey.as_ref().and_then(|s| {
                let at = s.answered_at.unwrap_or(s.sent_at);
                s.score.map(|sc| (at, sc))
            }),
            spam: t.spam,
            merged: t.merged_into.is_some(),
            reopened: t.reopened,
            agent_replies: t.agent_replies,
            negative: t.sentiment.map(|m| m == Sentiment::Negative),
            queue: Cow::Borrowed(&t.queue),
            category: Cow::Borrowed(&t.category),
            assignee: t.assignee.as_deref().map(Cow::Borrowed),
            domain: Cow::Owned(super::stats::domain_of(&t.requester.email)),
            sla: t.sla.as_deref().map(Cow::Borrowed),
            subject_key: Cow::Owned(super::stats::subject_key(&t.subject)),
            tags: t
                .tags
                .iter()
                .filter(|tag| !tag.starts_with("sla-breached-"))
                .map(|tag| Cow::Borrowed(tag.as_str()))
                .collect(),
            missed: missed(t),
            due_breached: t
                .sla_due
                .iter()
                .filter(|d| d.breached)
                .map(|d| d.kind)
                .collect(),
            time_worked: t
                .time_worked
                .iter()
                .map(|(who, m)| (Cow::Borrowed(who.as_str()), *m))
                .collect(),
        }
    }

    /// The SLA class whose targets apply (as `lifecycle::sla_class`).
    pub fn sla_class(&self) -> &str {
        self.sla.as_deref().unwrap_or(self.priority.as_str())
    }

    pub fn finished(&self) -> bool {
        matches!(self.status, Status::Resolved | Status::Closed)
    }

    /// The stored form: [`VERSION`], then the fields in declaration order;
    /// integers as LEB128 varints (signed ones zigzag), times as seconds
    /// and nanoseconds, strings and lists with their length first.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Vec::with_capacity(96);
        w.push(VERSION);
        uint(&mut w, self.number);
        let flags = u8::from(self.spam)
            | u8::from(self.merged) << 1
            | u8::from(self.first_response.is_some()) << 2
            | u8::from(self.resolved_at.is_some()) << 3
            | u8::from(self.rating.is_some()) << 4
            | u8::from(self.assignee.is_some()) << 5
            | u8::from(self.sla.is_some()) << 6;
        w.push(flags);
        w.push(status_code(self.status));
        w.push(priority_code(self.priority));
        w.push(match self.negative {
            None => 0,
            Some(false) => 1,
            Some(true) => 2,
        });
        time(&mut w, self.created);
        if let Some(at) = self.first_response {
            time(&mut w, at);
        }
        if let Some(at) = self.resolved_at {
            time(&mut w, at);
        }
        if let Some((at, score)) = self.rating {
            time(&mut w, at);
            uint(&mut w, score.into());
        }
        uint(&mut w, self.reopened.into());
        uint(&mut w, self.agent_replies.into());
        text(&mut w, &self.queue);
        text(&mut w, &self.category);
        if let Some(a) = &self.assignee {
            text(&mut w, a);
        }
        text(&mut w, &self.domain);
        if let Some(s) = &self.sla {
            text(&mut w, s);
        }
        text(&mut w, &self.subject_key);
        uint(&mut w, self.tags.len() as u64);
        for tag in &self.tags {
            text(&mut w, tag);
        }
        kinds(&mut w, &self.missed);
        kinds(&mut w, &self.due_breached);
        uint(&mut w, self.time_worked.len() as u64);
        for (who, m) in &self.time_worked {
            text(&mut w, who);
            uint(&mut w, (*m).into());
        }
        w
    }

    /// Reads [`Summary::encode`]'s bytes, borrowing the strings. Any other
    /// version, or bytes that end early or say nonsense, are an error: the
    /// caller then reads the ticket itself.
    pub fn decode(bytes: &'a [u8]) -> Result<Summary<'a>, SummaryError> {
        let mut r = Reader { b: bytes };
        let version = r.byte()?;
        if version != VERSION {
            return Err(SummaryError::Version(version));
        }
        let number = r.uint()?;
        let flags = r.byte()?;
        let status = status_of(r.byte()?)?;
        let priority = priority_of(r.byte()?)?;
        let negative = match r.byte()? {
            0 => None,
            1 => Some(false),
            2 => Some(true),
            _ => return Err(SummaryError::Malformed("mood")),
        };
        let created = r.time()?;
        let first_response = (flags & 1 << 2 != 0).then(|| r.time()).transpose()?;
        let resolved_at = (flags & 1 << 3 != 0).then(|| r.time()).transpose()?;
        let rating = (flags & 1 << 4 != 0)
            .then(|| Ok((r.time()?, r.u32()?)))
            .transpose()?;
        let reopened = r.u32()?;
        let agent_replies = r.u32()?;
        let queue = r.text()?;
        let category = r.text()?;
        let assignee = (flags & 1 << 5 != 0).then(|| r.text()).transpose()?;
        let domain = r.text()?;
        let sla = (flags & 1 << 6 != 0).then(|| r.text()).transpose()?;
        let subject_key = r.text()?;
        let tags = r.list(|r| r.text())?;
        let missed = r.list(|r| kind_of(r.byte()?))?;
        let due_breached = r.list(|r| kind_of(r.byte()?))?;
        let time_worked = r.list(|r| Ok((r.text()?, r.u32()?)))?;
        if !r.b.is_empty() {
            return Err(SummaryError::Malformed("trailing bytes"));
        }
        Ok(Summary {
            number,
            status,
            priority,
            created,
            first_response,
            resolved_at,
            rating,
            spam: flags & 1 != 0,
            merged: flags & 1 << 1 != 0,
            reopened,
            agent_replies,
            negative,
            queue,
            category,
            assignee,
            domain,
            sla,
            subject_key,
            tags,
            missed,
            due_breached,
            time_worked,
        })
    }
}

/// The SLA targets a ticket missed. Tickets from before `sla_breaches`
/// was kept say it with their `sla-breached-*` tags.
fn missed(t: &Ticket) -> Vec<SlaKind> {
    let mut out = t.sla_breaches.clone();
    for k in [
        SlaKind::FirstResponse,
        SlaKind::NextResponse,
        SlaKind::Resolution,
    ] {
        let tag = format!("sla-breached-{}", k.as_str().replace('_', "-"));
        if !out.contains(&k) && t.tags.contains(&tag) {
            out.push(k);
        }
    }
    out
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SummaryError {
    #[error("a report summary of version {0}, this postdesk reads {VERSION}")]
    Version(u8),
    #[error("a report summary that ends early")]
    Short,
    #[error("a damaged report summary ({0})")]
    Malformed(&'static str),
}

// The codes are the stored form: fixed here, not the enums' order.
fn status_code(s: Status) -> u8 {
    match s {
        Status::New => 0,
        Status::Open => 1,
        Status::Pending => 2,
        Status::Resolved => 3,
        Status::Closed => 4,
    }
}

fn status_of(b: u8) -> Result<Status, SummaryError> {
    Ok(match b {
        0 => Status::New,
        1 => Status::Open,
        2 => Status::Pending,
        3 => Status::Resolved,
        4 => Status::Closed,
        _ => return Err(SummaryError::Malformed("status")),
    })
}

fn priority_code(p: Priority) -> u8 {
    match p {
        Priority::Low => 0,
        Priority::Normal => 1,
        Priority::High => 2,
        Priority::Urgent => 3,
    }
}

fn priority_of(b: u8) -> Result<Priority, SummaryError> {
    Ok(match b {
        0 => Priority::Low,
        1 => Priority::Normal,
        2 => Priority::High,
        3 => Priority::Urgent,
        _ => return Err(SummaryError::Malformed("priority")),
    })
}

fn kind_code(k: SlaKind) -> u8 {
    match k {
        SlaKind::FirstResponse => 0,
        SlaKind::NextResponse => 1,
        SlaKind::Resolution => 2,
    }
}

fn kind_of(b: u8) -> Result<SlaKind, SummaryError> {
    Ok(match b {
        0 => SlaKind::FirstResponse,
        1 => SlaKind::NextResponse,
        2 => SlaKind::Resolution,
        _ => return Err(SummaryError::Malformed("SLA kind")),
    })
}

fn uint(w: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        w.push(v as u8 | 0x80);
        v >>= 7;
    }
    w.push(v as u8);
}

fn time(w: &mut Vec<u8>, t: DateTime<Utc>) {
    let s = t.timestamp();
    uint(w, ((s << 1) ^ (s >> 63)) as u64);
    uint(w, t.timestamp_subsec_nanos().into());
}

fn text(w: &mut Vec<u8>, s: &str) {
    uint(w, s.len() as u64);
    w.extend_from_slice(s.as_bytes());
}

fn kinds(w: &mut Vec<u8>, ks: &[SlaKind]) {
    uint(w, ks.len() as u64);
    w.extend(ks.iter().map(|k| kind_code(*k)));
}

struct Reader<'a> {
    b: &'a [u8],
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8, SummaryError> {
        let (&first, rest) = self.b.split_first().ok_or(SummaryError::Short)?;
        self.b = rest;
        Ok(first)
    }

    fn uint(&mut self) -> Result<u64, SummaryError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f)
                .checked_shl(shift)
                .filter(|x| x >> shift == u64::from(b & 0x7f))
                .ok_or(SummaryError::Malformed("varint"))?;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(SummaryError::Malformed("varint"))
    }

    fn u32(&mut self) -> Result<u32, SummaryError> {
        u32::try_from(self.uint()?).map_err(|_| SummaryError::Malformed("number"))
    }

    fn time(&mut self) -> Result<DateTime<Utc>, SummaryError> {
        let z = self.uint()?;
        let secs = (z >> 1) as i64 ^ -((z & 1) as i64);
        let nanos = self.u32()?;
        DateTime::from_timestamp(secs, nanos).ok_or(SummaryError::Malformed("time"))
    }

    fn text(&mut self) -> Result<Cow<'a, str>, SummaryError> {
        let len = usize::try_from(self.uint()?).map_err(|_| SummaryError::Short)?;
        if len > self.b.len() {
            return Err(SummaryError::Short);
        }
        let (s, rest) = self.b.split_at(len);
        self.b = rest;
        std::str::from_utf8(s)
            .map(Cow::Borrowed)
            .map_err(|_| SummaryError::Malformed("text"))
    }

    /// A list with its length first; the length is checked against the
    /// bytes left (each item takes at least one), so damage cannot make
    /// it reserve much.
    fn list<T>(
        &mut self,
        mut item: impl FnMut(&mut Self) -> Result<T, SummaryError>,
    ) -> Result<Vec<T>, SummaryError> {
        let n = usize::try_from(self.uint()?).map_err(|_| SummaryError::Short)?;
        if n > self.b.len() {
            return Err(SummaryError::Short);
        }
        (0..n).map(|_| item(self)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn ticket(n: u64) -> Ticket {
        let at = DateTime::from_timestamp(1_764_000_000 + n as i64 * 3600, 0).unwrap();
        serde_json::from_value(serde_json::json!({
            "number": n, "reference": format!("ACME-{n}"), "subject": format!("Invoice {n} missing"),
            "status": "open", "priority": "normal", "category": "billing", "queue": "general",
            "requester": {"email": "Ann@Mail.Example.test"}, "participants": [], "inbox": "main",
            "created": at, "updated": at, "message_count": 1,
        }))
        .unwrap()
    }

    #[test]
    fn summaries_round_trip() {
        let mut t = ticket(7);
        let plain = Summary::of(&t);
        assert_eq!(Summary::decode(&plain.encode()), Ok(plain.clone()));
        assert_eq!(plain.domain, "mail.example.test");
        assert_eq!(plain.subject_key, "invoice # missing");

        t.status = Status::Resolved;
        t.priority = Priority::Urgent;
        t.created = DateTime::from_timestamp(-86_400 * 400, 123_456_789).unwrap();
        t.first_response = Some(t.created + chrono::Duration::minutes(5));
        t.resolved_at = Some(t.created + chrono::Duration::days(2));
        t.survey = Some(crate::ticket::SurveyState {
            sent_at: t.created,
            message_id: "s@x".into(),
            score: Some(4),
            label: None,
            answered_at: None,
            comment: None,
        });
        t.spam = true;
        t.merged_into = Some(3);
        t.reopened = 2;
        t.agent_replies = 300;
        t.sentiment = Some(Sentiment::Negative);
        t.assignee = Some(" Alice@Desk.test".into());
        t.sla = Some("gold".into());
        t.tags = vec!["money".into(), "sla-breached-resolution".into(), "é".into()];
        t.sla_breaches = vec![SlaKind::FirstResponse];
        t.time_worked = [("alice@desk.test".to_string(), 90u32)].into();
        let full = Summary::of(&t);
        assert_eq!(full.tags, ["money", "é"]);
        assert_eq!(
            full.missed,
            [SlaKind::FirstResponse, SlaKind::Resolution],
            "the tag of an older ticket counts"
        );
        let bytes = full.encode();
        assert_eq!(Summary::decode(&bytes), Ok(full));
        // Imported history has no response time of this desk's.
        t.imported = true;
        assert_eq!(Summary::of(&t).first_response, None);

        for cut in 0..bytes.len() {
            assert!(Summary::decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut other = bytes.clone();
        other[0] = VERSION + 1;
        assert_eq!(
            Summary::decode(&other),
            Err(SummaryError::Version(VERSION + 1))
        );
        assert!(Summary::decode(&[VERSION, 0xff, 0xff]).is_err());
    }
}
