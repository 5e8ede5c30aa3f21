//! The language a ticket is answered in.

use super::*;

fn german_msg(extra: &str) -> Inbound {
    let raw = format!(
        "From: \"Müller, Hans\" <hans@kunde.test>\r\nTo: support@desk.test\r\nSubject: Rechnung\r\nMessage-ID: <g1@kunde.test>\r\nDate: Sat, 21 Nov 2026 09:00:00 +0000\r\n{extra}\r\nGuten Tag, ich kann meine Rechnung nicht herunterladen.\r\n"
    );
    parse(raw.as_bytes()).unwrap()
}

const GERMAN_TEXT: &str = "Guten Tag, ich kann meine Rechnung für März nicht herunterladen. Der Link zeigt nur eine Fehlermeldung an. Können Sie mir die Rechnung bitte schicken?";

#[test]
fn a_new_tickets_language_is_chosen_from_the_customers_own_mail() {
    let tags = TagMatcher::new("ACME");
    let own = vec!["support@desk.test".to_string()];
    let languages = vec!["en".to_string(), "de".to_string(), "fr".to_string()];
    let mut c = ctx(&tags, &own, Mode::Live);
    c.languages = &languages;
    c.stripped = GERMAN_TEXT;
    let d = intake(&german_msg(""), &Threading::New, None, &[], &c);
    let l = d.ticket.language.expect("chosen");
    assert_eq!(
        (l.code.as_str(), l.by),
        ("de", crate::language::Source::Detected)
    );
    assert_eq!(l.at, now());

    // The header outranks the words; what is remembered outranks both.
    let d = intake(
        &german_msg("Content-Language: fr\r\n"),
        &Threading::New,
        None,
        &[],
        &c,
    );
    assert_eq!(d.ticket.language.map(|l| l.code).as_deref(), Some("fr"));
    let remembered = crate::language::Language {
        code: "en".into(),
        by: crate::language::Source::Agent,
        at: now() - chrono::Duration::days(30),
    };
    c.remembered_language = Some(remembered.clone());
    let d = intake(
        &german_msg("Content-Language: fr\r\n"),
        &Threading::New,
        None,
        &[],
        &c,
    );
    assert_eq!(d.ticket.language, Some(remembered), "kept as it was chosen");

    // Too little text: nothing chosen, nothing remembered.
    c.remembered_language = None;
    c.stripped = "Hilfe!";
    let d = intake(&german_msg(""), &Threading::New, None, &[], &c);
    assert_eq!(d.ticket.language, None);
}

#[test]
fn lang_is_one_command_for_agents_and_admins_and_only_for_languages_with_templates() {
    let d = decide(
        Event::Request {
            ticket: Box::new(a_ticket()),
            request: request(vec![Command::Lang("fr".into())]),
        },
        &Thread::default(),
        &desk(),
    );
    let l = d.ticket.language.expect("set");
    assert_eq!(
        (l.code.as_str(), l.by),
        ("fr", crate::language::Source::Admin)
    );
    let d = decide(
        Event::Request {
            ticket: Box::new(a_ticket()),
            request: request(vec![Command::Lang("es".into())]),
        },
        &Thread::default(),
        &desk(),
    );
    assert_eq!(d.ticket.language, None);
    assert!(d.refused[0].contains("en, de, fr"), "{:?}", d.refused);
    assert_eq!(
        crate::command::parse("lang", &["de-AT"], "a@d"),
        Ok(Command::Lang("de".into()))
    );
    assert!(crate::command::parse("lang", &["german"], "a@d").is_err());
}

#[test]
fn a_late_replys_new_ticket_keeps_the_customers_language() {
    let tags = TagMatcher::new("ACME");
    let own = vec!["support@desk.test".to_string()];
    let languages = vec!["en".to_string(), "de".to_string(), "fr".to_string()];
    let mut c = ctx(&tags, &own, Mode::Live);
    c.languages = &languages;
    c.stripped = GERMAN_TEXT;
    let mut closed = intake(&german_msg(""), &Threading::New, None, &[], &c).ticket;
    closed.status = Status::Closed;
    closed.resolved_at = Some(now() - chrono::Duration::days(60));
    closed.language = Some(crate::language::Language {
        code: "fr".into(),
        by: crate::language::Source::Agent,
        at: now() - chrono::Duration::days(61),
    });
    let m = german_msg("In-Reply-To: <g1@kunde.test>\r\n");
    let t = Threading::Existing(
        7,
        ThreadReason::Reference {
            message_id: "g1@kunde.test".into(),
        },
    );
    c.next_number = 8;
    let d = intake(&m, &t, Some(closed), &[], &c);
    assert!(d.created && d.ticket.follows.as_deref() == Some("ACME-7"));
    assert_eq!(d.ticket.language.map(|l| l.code).as_deref(), Some("fr"));
}
