//! Unit tests of `decide.rs`, a file for each kind of decision; the
//! desk, the context and the helpers they share are here.

use super::*;
use crate::mail::parse;

mod agents;
mod automatic;
mod intake;
mod language;
mod requests;

static NO_RULES: std::sync::LazyLock<Classification> =
    std::sync::LazyLock::new(Classification::default);
static CUSTOMER: Author = Author::Customer;
static CONFIG: std::sync::LazyLock<Config> = std::sync::LazyLock::new(|| {
    let text = r#"
[desk]
name = "Acme Support"
address = "support@desk.test"
ticket_prefix = "ACME"
admin = "admin@desk.test"
[[agent]]
email = "alice@desk.test"
name = "Alice"
queues = ["general"]
[[agent]]
email = "bob@desk.test"
queues = ["general"]
"#;
    Config::from_toml_with_env(std::path::Path::new("t.toml"), text, Vec::new()).unwrap()
});

static OWN: std::sync::LazyLock<Vec<String>> =
    std::sync::LazyLock::new(|| vec!["support@desk.test".to_string()]);
static CALENDARS: std::sync::LazyLock<Calendars> = std::sync::LazyLock::new(Calendars::new);

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-22T10:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn desk() -> Desk<'static> {
    Desk {
        config: &CONFIG,
        calendars: &CALENDARS,
        own: &OWN,
        now: now(),
    }
}

/// The intake decision with an empty thread and the test desk.
fn intake(
    msg: &Inbound,
    threading: &Threading,
    existing: Option<Ticket>,
    known: &[String],
    ctx: &Context<'_>,
) -> Decision {
    super::intake(
        super::Arrival {
            msg,
            threading,
            existing,
            known_references: known,
            joins: Vec::new(),
        },
        ctx,
        &Thread::default(),
        &desk(),
    )
}

fn ctx<'a>(tags: &'a TagMatcher, _own: &'a [String], mode: Mode) -> Context<'a> {
    Context {
        prefix: "ACME",
        tags,
        default_category: "general",
        default_priority: Priority::Normal,
        inbox: "main",
        queue: "general",
        origin: "test",
        mode,
        next_number: 7,
        ack_template: Some("ack"),
        rules: &NO_RULES,
        assign: AssignEvidence::default(),
        author: &CUSTOMER,
        stripped: "It is on fire.",
        survey_answer: None,
        bounced: None,
        flood: None,
        merge_target: None,
        link_targets: Vec::new(),
        macros: Vec::new(),
        answering: None,
        languages: &[],
        remembered_language: None,
        detected_language: None,
        automatic: None,
    }
}

fn msg(extra: &str) -> Inbound {
    let raw = format!(
            "From: Carol <carol@customer.test>\r\nTo: support@desk.test, Dave <dave@customer.test>\r\nCc: support+ACME-1.abc@desk.test\r\nSubject: Re: [ACME-3] Printer down\r\nMessage-ID: <m1@customer.test>\r\nDate: Sat, 21 Nov 2026 09:00:00 +0000\r\n{extra}\r\nIt is on fire.\r\n"
        );
    parse(raw.as_bytes()).unwrap()
}

fn acks(d: &Decision) -> Vec<&Notice> {
    d.notices
        .iter()
        .filter(|n| n.template.starts_with("ack"))
        .collect()
}

fn resolved(c: &Context<'_>) -> Ticket {
    let mut t = intake(&msg(""), &Threading::New, None, &[], c).ticket;
    t.status = Status::Resolved;
    t.resolved_at = Some(now() - chrono::Duration::hours(1));
    t
}

fn by_reference() -> Threading {
    Threading::Existing(
        7,
        ThreadReason::Reference {
            message_id: "x".into(),
        },
    )
}

/// A ticket as intake leaves it, for the decisions that follow.
fn a_ticket() -> Ticket {
    let tags = TagMatcher::new("ACME");
    let c = ctx(&tags, &OWN, Mode::Live);
    intake(&msg(""), &Threading::New, None, &[], &c).ticket
}

fn thread_of(ids: &[&str]) -> Thread {
    Thread {
        ids: ids.iter().map(|s| s.to_string()).collect(),
        sent: std::collections::HashMap::from([(
            "carol@customer.test".to_string(),
            Sent::default(),
        )]),
    }
}

fn request(commands: Vec<Command>) -> Request {
    Request {
        commands,
        merge_target: None,
        merge_asked: None,
        link_targets: Vec::new(),
        macros: Vec::new(),
        languages: vec!["en".into(), "de".into(), "fr".into()],
    }
}
