//! Timers through the real desk and store, with the clock in the test's
//! hand: follow-ups, auto-close, surveys answered by mail, SLA warnings and
//! escalations, and that a reopened store fires each timer once.

mod common;

use chrono::{Duration, Utc};
use common::{mail, Options, TestDesk};
use postdesk::decide::Mode;
use postdesk::desk::Desk;
use postdesk::mail::{parse, Inbound};

const CONFIG: &str = r#"
[[agent]]
email = "alice@desk.test"
name = "Alice"
queues = ["general"]

[[agent]]
email = "lead@desk.test"
name = "Lena Lead"
queues = ["general"]
role = "lead"

[[queue]]
name = "general"
escalate_to = "escalations@desk.test"

[followup]
remind_after = "1h"
autoclose_after = "2h"

[survey]
delay = "30m"
scale = "1-5"

[sla.high]
first_response = "1h"
resolution = "8h"
raise_priority = true

[sla.urgent]
first_response = "15m"
"#;

fn desk() -> (TestDesk, Desk) {
    let t = TestDesk::with(Options {
        extra: CONFIG.into(),
        ..Options::default()
    });
    let d = Desk::open(t.config()).expect("desk opens");
    (t, d)
}

fn ingest(d: &Desk, raw: &[u8]) {
    d.ingest(raw, Some("main"), "test", Mode::Live)
        .expect("stored");
    d.flush().expect("flushed");
}

fn sent(d: &Desk) -> Vec<(String, Inbound)> {
    d.store()
        .outbox_entries()
        .unwrap()
        .into_iter()
        .map(|e| {
            let (_, bytes) = d.outgoing(e.id).unwrap().unwrap();
            (e.kind, parse(&bytes).unwrap())
        })
        .collect()
}

fn count(d: &Desk, kind: &str) -> usize {
    sent(d).iter().filter(|(k, _)| k == kind).count()
}

fn ticket(d: &Desk) -> postdesk::ticket::Ticket {
    d.store().ticket(&Default::default(), 1).unwrap().unwrap()
}

/// Carol opens ACME-1; Alice answers it through her token.
fn answered(d: &Desk) {
    ingest(
        d,
        &mail(
            "carol@customer.test",
            "Printer",
            "c1@customer.test",
            "",
            "It is broken.",
        ),
    );
    let token = d
        .signer()
        .agent_address("support@desk.test", "ACME-1", "alice@desk.test", false);
    let raw = format!("From: alice@desk.test\r\nTo: {token}\r\nSubject: Re: [ACME-1] Printer\r\nMessage-ID: <a1@desk.test>\r\n\r\nDid you switch it on?\r\n");
    ingest(d, raw.as_bytes());
    assert_eq!(ticket(d).status.as_str(), "pending");
}

#[test]
fn a_silent_customer_is_reminded_once_then_the_ticket_closes() {
    let (t, d) = desk();
    answered(&d);
    let now = Utc::now();
    assert_eq!(d.run_timers(now + Duration::minutes(30)).unwrap(), 0);
    assert_eq!(count(&d, "followup"), 0);
    d.run_timers(now + Duration::minutes(61)).unwrap();
    assert_eq!(count(&d, "followup"), 1);
    // Again, and after a restart: still one reminder.
    d.run_timers(now + Duration::minutes(62)).unwrap();
    drop(d);
    let d2 = Desk::open(t.config()).unwrap();
    d2.run_timers(now + Duration::minutes(63)).unwrap();
    assert_eq!(count(&d2, "followup"), 1);
    let followup = &sent(&d2)
        .into_iter()
        .find(|(k, _)| k == "followup")
        .unwrap()
        .1;
    assert_eq!(followup.to[0].email, "carol@customer.test");
    assert_eq!(followup.header("auto-submitted"), Some("auto-generated"));
    // Timer mail is queued as a plan, like every other mail, and built by
    // the outbox worker; it continues the customer's thread.
    assert!(d2
        .store()
        .outbox_entries()
        .unwrap()
        .iter()
        .filter(|e| e.kind == "followup")
        .all(|e| e.planned));
    assert_eq!(followup.in_reply_to, vec!["c1@customer.test".to_string()]);
    d2.run_timers(now + Duration::minutes(121)).unwrap();
    let t = ticket(&d2);
    assert_eq!(t.status.as_str(), "resolved");
    assert!(t.autoclosed);
    assert_eq!(count(&d2, "autoclose"), 1);
    // No survey after an auto-close (survey.after_autoclose is off).
    d2.run_timers(now + Duration::hours(5)).unwrap();
    assert_eq!(count(&d2, "survey"), 0);
}

#[test]
fn a_customer_reply_cancels_the_follow_up() {
    let (_t, d) = desk();
    answered(&d);
    ingest(
        &d,
        &mail(
            "carol@customer.test",
            "Re: [ACME-1] Printer",
            "c2@customer.test",
            "In-Reply-To: <c1@customer.test>\r\n",
            "Yes it is on.",
        ),
    );
    assert_eq!(ticket(&d).status.as_str(), "open");
    d.run_timers(Utc::now() + Duration::hours(3)).unwrap();
    assert_eq!(count(&d, "followup") + count(&d, "autoclose"), 0);
}

#[test]
fn surveys_are_answered_by_mail_once_per_ticket() {
    let (_t, d) = desk();
    answered(&d);
    let token = d
        .signer()
        .agent_address("support@desk.test", "ACME-1", "alice@desk.test", false);
    let raw = format!("From: alice@desk.test\r\nTo: {token}\r\nSubject: Re: [ACME-1]\r\nMessage-ID: <a2@desk.test>\r\n\r\n#status resolved\r\n");
    ingest(&d, raw.as_bytes());
    assert_eq!(
        count(&d, "status"),
        1,
        "the customer is told it is resolved"
    );
    let now = Utc::now();
    d.run_timers(now + Duration::minutes(20)).unwrap();
    assert_eq!(count(&d, "survey"), 0);
    d.run_timers(now + Duration::minutes(31)).unwrap();
    d.run_timers(now + Duration::minutes(40)).unwrap();
    assert_eq!(count(&d, "survey"), 1);
    let survey = sent(&d).into_iter().find(|(k, _)| k == "survey").unwrap().1;
    assert!(
        survey.text.contains("mailto:support+ACME-1.s5."),
        "{}",
        survey.text
    );

    // One click: a mail to the rating address.
    let four = d.signer().survey_address("support@desk.test", "ACME-1", 4);
    ingest(&d, format!("From: carol@customer.test\r\nTo: {four}\r\nSubject: Rating 4 [ACME-1]\r\nMessage-ID: <s1@c>\r\n\r\n").as_bytes());
    let s = ticket(&d).survey.unwrap();
    assert_eq!((s.score, s.comment.as_deref()), (Some(4), None));
    assert_eq!(count(&d, "survey_thanks"), 1);
    assert_eq!(
        ticket(&d).status.as_str(),
        "resolved",
        "a rating does not reopen"
    );

    // A plain reply to the survey: the later answer replaces the first.
    let reply = format!(
        "From: carol@customer.test\r\nTo: support@desk.test\r\nSubject: Re: {}\r\nMessage-ID: <s2@c>\r\nIn-Reply-To: <{}>\r\n\r\n3 - took a while\r\n\r\nOn Mon, Desk wrote:\r\n> How did we do?\r\n",
        survey.subject, survey.message_id
    );
    ingest(&d, reply.as_bytes());
    let s = ticket(&d).survey.unwrap();
    assert_eq!(
        (s.score, s.comment.as_deref()),
        (Some(3), Some("took a while"))
    );
    assert_eq!(ticket(&d).status.as_str(), "resolved");

    // A low score with a cry for help: the lead hears, the ticket reopens.
    let one = d.signer().survey_address("support@desk.test", "ACME-1", 1);
    ingest(&d, format!("From: carol@customer.test\r\nTo: {one}\r\nSubject: Rating 1\r\nMessage-ID: <s3@c>\r\n\r\nIt is still broken!\r\n").as_bytes());
    assert_eq!(ticket(&d).survey.unwrap().score, Some(1));
    assert_eq!(ticket(&d).status.as_str(), "open");
    assert!(sent(&d)
        .iter()
        .any(|(_, m)| m.to[0].email == "lead@desk.test" && m.subject.contains("low satisfaction")));
}

#[test]
fn sla_warns_then_escalates_and_priority_changes_replan() {
    let (_t, d) = desk();
    // A rule-free desk: priority via the agent's command after creation.
    ingest(
        &d,
        &mail(
            "carol@customer.test",
            "Down",
            "c1@customer.test",
            "",
            "All down.",
        ),
    );
    let token = d
        .signer()
        .agent_address("support@desk.test", "ACME-1", "alice@desk.test", false);
    ingest(&d, format!("From: alice@desk.test\r\nTo: {token}\r\nSubject: x\r\nMessage-ID: <p1@desk.test>\r\n\r\n#priority high\r\n").as_bytes());
    let t = ticket(&d);
    let kinds: Vec<&str> = t.sla_due.iter().map(|s| s.kind.as_str()).collect();
    assert_eq!(kinds, vec!["first_response", "resolution"]);
    let first = t.sla_due[0].clone();
    assert_eq!(first.due - t.created, Duration::hours(1));
    assert_eq!(first.warn_at - t.created, Duration::minutes(48));

    d.run_timers(t.created + Duration::minutes(49)).unwrap();
    let warned = sent(&d)
        .into_iter()
        .filter(|(_, m)| m.subject.contains("due soon"))
        .count();
    assert_eq!(warned, 2, "unassigned: every agent of the queue is warned");
    d.run_timers(t.created + Duration::minutes(61)).unwrap();
    assert_eq!(count(&d, "escalation"), 1);
    let esc = sent(&d)
        .into_iter()
        .find(|(k, _)| k == "escalation")
        .unwrap()
        .1;
    assert_eq!(esc.to[0].email, "escalations@desk.test");
    let after = ticket(&d);
    assert!(after
        .tags
        .contains(&"sla-breached-first-response".to_string()));
    assert_eq!(after.priority.as_str(), "urgent", "raise_priority");
    assert_eq!(
        count(&d, "status"),
        1,
        "the customer hears it was escalated"
    );
    // Urgent has only a 15-minute first response target, already past.
    d.run_timers(t.created + Duration::minutes(62)).unwrap();
    assert_eq!(
        count(&d, "escalation"),
        1,
        "no second escalation for the same target"
    );
}
