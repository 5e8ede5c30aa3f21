//! Requests from admins, timers and campaigns: status changes, merges, and the mail they cause.

use super::*;

#[test]
fn an_admins_status_change_settles_the_lifecycle_and_tells_the_customer_in_their_thread() {
    let t = a_ticket();
    let d = decide(
        Event::Request {
            ticket: Box::new(t.clone()),
            request: request(vec![Command::Status(Status::Pending)]),
        },
        &thread_of(&["m1@customer.test"]),
        &desk(),
    );
    assert_eq!(d.ticket.status, Status::Pending);
    assert_eq!(
        d.ticket.pending_since,
        Some(now()),
        "the follow-up clock runs"
    );
    assert!(d.ticket.timer_due.is_some());
    assert!(d.notices.is_empty(), "pending notices are off by default");

    let d = decide(
        Event::Request {
            ticket: Box::new(t),
            request: request(vec![Command::Status(Status::Resolved)]),
        },
        &thread_of(&["m0@customer.test", "m1@customer.test"]),
        &desk(),
    );
    assert_eq!(d.ticket.resolved_at, Some(now()));
    assert_eq!(d.notices.len(), 1);
    let n = &d.notices[0];
    assert_eq!(n.template, "status");
    assert_eq!(n.in_reply_to.as_deref(), Some("m1@customer.test"));
    assert_eq!(n.references, vec!["m0@customer.test", "m1@customer.test"]);
    assert_eq!(d.sent.len(), 1, "the caps count the notice");
}

#[test]
fn a_request_with_an_unknown_assignee_changes_nothing() {
    let t = a_ticket();
    let d = decide(
        Event::Request {
            ticket: Box::new(t.clone()),
            request: request(vec![
                Command::Priority(Priority::High),
                Command::Assign("carol@example.com".into()),
            ]),
        },
        &Thread::default(),
        &desk(),
    );
    assert_eq!(d.ticket, t);
    assert_eq!(d.refused.len(), 1);
    assert!(
        d.refused[0].contains("alice@desk.test, bob@desk.test"),
        "{:?}",
        d.refused
    );
}

#[test]
fn a_merge_closes_one_ticket_into_the_other() {
    let t = a_ticket();
    let mut into = t.clone();
    into.number = 3;
    into.reference = "ACME-3".into();
    let d = decide(
        Event::Request {
            ticket: Box::new(t),
            request: Request {
                commands: vec![Command::Merge("ACME-3".into())],
                merge_target: Some(into),
                merge_asked: Some("ACME-3".into()),
                link_targets: Vec::new(),
                macros: Vec::new(),
                languages: Vec::new(),
            },
        },
        &Thread::default(),
        &desk(),
    );
    assert_eq!(d.ticket.merged_into, Some(3));
    assert_eq!(d.ticket.status, Status::Closed);
    assert_eq!(d.ticket.timer_due, None, "a merged ticket has no timers");
    assert_eq!(d.also[0].merged_from, vec![7]);
}

#[test]
fn timer_mail_continues_the_thread_and_the_survey_knows_its_message_id() {
    let mut t = a_ticket();
    set_status(&mut t, Status::Resolved, now() - chrono::Duration::days(1));
    let d = decide(
        Event::Timer {
            ticket: Box::new(t),
            due: Due {
                survey_addresses: vec![(1, "support+s1@desk.test".into())],
            },
        },
        &thread_of(&["m1@customer.test"]),
        &desk(),
    );
    let survey = d
        .notices
        .iter()
        .find(|n| n.template == "survey")
        .expect("a survey");
    assert_eq!(survey.in_reply_to.as_deref(), Some("m1@customer.test"));
    let id = d.ticket.survey.as_ref().map(|s| s.message_id.clone());
    assert_eq!(id, Some(survey.message_id("ACME-7", &CONFIG)));
}

#[test]
fn a_campaign_notice_is_held_like_any_automatic_mail() {
    let t = a_ticket();
    let campaign = Campaign {
        template: "notice_outage".into(),
        id: "outage-1".into(),
        to: t.requester.clone(),
    };
    let mut thread = thread_of(&["m1@customer.test"]);
    let d = decide(
        Event::Notice {
            ticket: Box::new(t.clone()),
            campaign: campaign.clone(),
        },
        &thread,
        &desk(),
    );
    assert_eq!(d.notices.len(), 1);
    assert_eq!(
        d.notices[0].in_reply_to.as_deref(),
        Some("m1@customer.test")
    );
    if let Some(s) = thread.sent.get_mut("carol@customer.test") {
        s.times = (1..=5)
            .map(|i| now() - chrono::Duration::minutes(i))
            .collect();
    }
    let d = decide(
        Event::Notice {
            ticket: Box::new(t),
            campaign,
        },
        &thread,
        &desk(),
    );
    assert!(d.notices.is_empty());
    assert!(d.events[0].contains("over the limit"), "{:?}", d.events);
}
