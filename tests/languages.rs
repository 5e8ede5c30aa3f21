//! The customer's language and history (issue 19), through the doors
//! people use: customers' and agents' mail piped into `postdesk ingest`
//! while `postdesk serve` runs, the admin's `postdesk tickets set`, and
//! what the customer and the agents receive, read from the outgoing spool.

mod common;

use common::{mail, spool, wait_until, Options, TestDesk};
use postdesk::mail::Inbound;
use serde_json::Value;

const DESK: &str = r#"
[[agent]]
email = "alice@desk.test"
name = "Alice"
queues = ["general"]

[[queue]]
name = "general"

[[organization]]
name = "Kunde AG"
domains = ["kunde.test"]
"#;

const GERMAN: &str = "Guten Tag,\r\n\r\nich kann meine Rechnung für März nicht herunterladen. Der Link auf der Seite zeigt nur eine Fehlermeldung an. Können Sie mir die Rechnung bitte per E-Mail schicken?\r\n\r\nViele Grüße\r\nHans Müller";

const ENGLISH: &str = "Hello, the download link for my March invoice only shows an error page. Could you send me the invoice by email instead, please?";

fn desk() -> TestDesk {
    TestDesk::with(Options {
        extra: DESK.into(),
        ..Options::default()
    })
}

fn ok(out: std::process::Output) -> Vec<u8> {
    assert!(
        out.status.success(),
        "postdesk failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn show(t: &TestDesk, reference: &str) -> Value {
    serde_json::from_slice(&ok(t.run(&["tickets", "show", reference, "--json"])))
        .expect("tickets show --json is JSON")
}

/// The spool's mail to `who` whose subject or text says `what`.
fn mail_to(t: &TestDesk, who: &str, what: &str) -> Vec<Inbound> {
    spool(t)
        .into_iter()
        .filter(|m| m.to.iter().any(|p| p.email == who))
        .filter(|m| m.subject.contains(what) || m.text.contains(what))
        .collect()
}

fn wait_for(t: &TestDesk, who: &str, what: &str) -> Inbound {
    wait_until(30, &format!("mail to {who} saying {what:?}"), || {
        !mail_to(t, who, what).is_empty()
    });
    let mut m = mail_to(t, who, what).remove(0);
    m.text = m.text.replace("\r\n", "\n");
    m
}

/// An agent's answer to a notification, as a mail client writes it.
fn answer(t: &TestDesk, notification: &Inbound, id: &str, body: &str) {
    let to = notification
        .reply_to
        .as_ref()
        .expect("a Reply-To")
        .email
        .clone();
    let parent = &notification.message_id;
    let subject = &notification.subject;
    let raw = format!(
        "From: Alice <alice@desk.test>\r\nTo: {to}\r\nSubject: Re: {subject}\r\nMessage-ID: <{id}>\r\nIn-Reply-To: <{parent}>\r\nReferences: <{parent}>\r\nDate: Sun, 22 Nov 2026 11:00:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n\r\nOn Sun, 22 Nov 2026, Test Desk wrote:\r\n> ...\r\n"
    );
    ok(t.pipe(raw.as_bytes()));
}

#[test]
fn a_german_customer_is_acknowledged_in_german_and_greeted_by_given_name() {
    let t = desk();
    let _daemon = t.serve();
    ok(t.pipe(&mail(
        "\"Müller, Hans\" <hans@kunde.test>",
        "Rechnung März",
        "h1@kunde.test",
        "",
        GERMAN,
    )));
    let ack = wait_for(&t, "hans@kunde.test", "Rechnung");
    assert!(ack.text.starts_with("Hallo Hans,\n"), "{}", ack.text);
    assert!(
        ack.text
            .contains("Wir melden uns voraussichtlich innerhalb von 4 Stunden."),
        "the estimate in German: {}",
        ack.text
    );
    assert!(ack.text.contains("Mit freundlichen Grüßen"), "{}", ack.text);
    let shown = show(&t, "ACME-1");
    assert_eq!(shown["ticket"]["language"]["code"], "de");
    assert_eq!(shown["ticket"]["language"]["by"], "detected");
    let text = String::from_utf8_lossy(&ok(t.run(&["tickets", "show", "ACME-1"]))).into_owned();
    assert!(
        text.contains("language     de (detected from their text)"),
        "{text}"
    );
}

#[test]
fn content_language_is_honoured_and_short_text_falls_back_to_the_default() {
    let t = desk();
    let _daemon = t.serve();
    // English words, but the mail says it is French: the header wins.
    ok(t.pipe(&mail(
        "Claire Dubois <claire@client.test>",
        "Invoice",
        "c1@client.test",
        "Content-Language: fr-FR\r\n",
        ENGLISH,
    )));
    let ack = wait_for(&t, "claire@client.test", "Invoice");
    assert!(ack.text.starts_with("Bonjour Claire,\n"), "{}", ack.text);
    assert!(ack.text.contains("dans les 4 heures"), "{}", ack.text);
    assert_eq!(
        show(&t, "ACME-1")["ticket"]["language"]["by"],
        "content-language"
    );

    // Two German words say too little: the default language, nothing kept.
    ok(t.pipe(&mail(
        "ACME Billing <billing@firma.test>",
        "Drucker",
        "d1@firma.test",
        "",
        "Hilfe bitte!",
    )));
    let ack = wait_for(&t, "billing@firma.test", "Drucker");
    assert!(
        ack.text.starts_with("Hello,\n"),
        "English, and no name for a mailbox: {}",
        ack.text
    );
    assert!(show(&t, "ACME-2")["ticket"]["language"].is_null());
}

#[test]
fn lang_by_agent_mail_and_by_tickets_set_switch_the_next_status_mail() {
    let t = desk();
    let _daemon = t.serve();
    ok(t.pipe(&mail(
        "Hans Müller <hans@kunde.test>",
        "Rechnung März",
        "h1@kunde.test",
        "",
        GERMAN,
    )));
    wait_for(&t, "hans@kunde.test", "Hallo Hans");
    let notification = wait_for(&t, "alice@desk.test", "Rechnung");
    answer(
        &t,
        &notification,
        "a1@desk.test",
        "#lang fr\n#status resolved",
    );
    let status = wait_for(&t, "hans@kunde.test", "comme résolue");
    assert!(
        status.text.starts_with("Bonjour Hans,\n"),
        "{}",
        status.text
    );
    assert_eq!(show(&t, "ACME-1")["ticket"]["language"]["by"], "agent");

    // The customer's next ticket remembers it, whatever their words.
    ok(t.pipe(&mail(
        "Hans Müller <hans@kunde.test>",
        "Noch eine Frage",
        "h2@kunde.test",
        "",
        GERMAN,
    )));
    let ack = wait_for(&t, "hans@kunde.test", "Noch eine Frage");
    assert!(ack.text.starts_with("Bonjour Hans,\n"), "{}", ack.text);
    let customer =
        String::from_utf8_lossy(&ok(t.run(&["customers", "show", "hans@kunde.test"]))).into_owned();
    assert!(
        customer.contains("language     fr (set by an agent)"),
        "{customer}"
    );

    // The same from the command line, on another customer's ticket.
    ok(t.pipe(&mail(
        "Greta Schmidt <greta@kunde.test>",
        "Zugang gesperrt",
        "g1@kunde.test",
        "",
        GERMAN,
    )));
    wait_for(&t, "greta@kunde.test", "Hallo Greta");
    ok(t.run(&["tickets", "set", "ACME-3", "--lang", "fr"]));
    ok(t.run(&["tickets", "set", "ACME-3", "--status", "resolved"]));
    let status = wait_for(&t, "greta@kunde.test", "comme résolue");
    assert!(
        status.subject.contains("Zugang gesperrt"),
        "{}",
        status.subject
    );
    assert_eq!(show(&t, "ACME-3")["ticket"]["language"]["by"], "admin");

    // A language without templates is refused, and says which there are.
    let out = t.run(&["tickets", "set", "ACME-3", "--lang", "es"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("en, de, fr"), "{err}");
}

#[test]
fn agents_see_the_customers_other_tickets_and_organisation_and_nobody_elses() {
    let t = desk();
    let _daemon = t.serve();
    ok(t.pipe(&mail(
        "Hans Müller <hans@kunde.test>",
        "Printer jam",
        "h1@kunde.test",
        "",
        ENGLISH,
    )));
    wait_for(&t, "alice@desk.test", "Printer jam");
    ok(t.run(&["tickets", "set", "ACME-1", "--status", "resolved"]));
    ok(t.pipe(&mail(
        "Greta Schmidt <greta@kunde.test>",
        "Greta's secret",
        "g1@kunde.test",
        "",
        ENGLISH,
    )));
    wait_for(&t, "alice@desk.test", "Greta's secret");
    ok(t.pipe(&mail(
        "Hans Müller <hans@kunde.test>",
        "VPN down",
        "h2@kunde.test",
        "",
        ENGLISH,
    )));
    let notification = wait_for(&t, "alice@desk.test", "VPN down");
    assert!(
        notification.text.contains("ACME-1  resolved  Printer jam"),
        "{}",
        notification.text
    );
    assert!(
        notification.text.contains("Customer:  Kunde AG"),
        "{}",
        notification.text
    );
    assert!(
        !notification.text.contains("Greta"),
        "another customer's ticket: {}",
        notification.text
    );
}

#[test]
fn check_and_preview_cover_every_language() {
    let t = desk();
    let out = String::from_utf8_lossy(&ok(t.run(&[
        "templates",
        "preview",
        "status",
        "--lang",
        "de",
    ])))
    .into_owned();
    assert!(out.contains("Hallo Carol,"), "{out}");
    assert!(out.contains("als gelöst markiert"), "{out}");
    let out = String::from_utf8_lossy(&ok(t.run(&["templates", "preview", "ack", "--lang", "fr"])))
        .into_owned();
    assert!(
        out.contains("Nous prévoyons de vous répondre dans les 4 heures."),
        "{out}"
    );
    let list = String::from_utf8_lossy(&ok(t.run(&["templates", "list"]))).into_owned();
    assert!(
        list.lines()
            .any(|l| l.starts_with("ack ") && l.ends_with("de, fr")),
        "{list}"
    );
    assert!(list.contains("languages: en (default), de, fr"), "{list}");
    let refused = t.run(&["templates", "preview", "ack", "--lang", "es"]);
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("en, de, fr"), "{err}");

    // A broken translation: `check` names its file and line.
    let templates = t.dir.path().join("templates");
    copy_dir(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates"),
        &templates,
    );
    std::fs::write(
        templates.join("fr").join("followup.hbs"),
        "Subject: {{ticket.tag}} {{ticket.subject}}\n\nBonjour,\n\n{{autoclose_onn}}\n",
    )
    .expect("write");
    let config = std::fs::read_to_string(&t.config_path).expect("config");
    let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    let config = config.replace(
        &format!("dir = \"{}\"", shipped.display()),
        &format!("dir = \"{}\"", templates.display()),
    );
    std::fs::write(&t.config_path, config).expect("write config");
    let out = t.run(&["check"]);
    assert!(!out.status.success());
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let file = templates.join("fr").join("followup.hbs");
    assert!(all.contains(&format!("{}:5:", file.display())), "{all}");
    assert!(all.contains("autoclose_on"), "{all}");
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

#[test]
fn a_hostile_display_name_never_reaches_a_header_or_a_greeting() {
    let t = desk();
    let _daemon = t.serve();
    // "Eve\r\nBcc: evil@attacker.test" as an encoded word, and a name that
    // is an address.
    ok(t.pipe(&mail(
        "=?utf-8?b?RXZlDQpCY2M6IGV2aWxAYXR0YWNrZXIudGVzdA==?= <eve@client.test>",
        "Invoice",
        "e1@client.test",
        "",
        ENGLISH,
    )));
    ok(t.pipe(&mail(
        "\"boss@desk.test\" <mallory@client.test>",
        "Refund",
        "m1@client.test",
        "",
        ENGLISH,
    )));
    let ack = wait_for(&t, "eve@client.test", "Invoice");
    assert!(ack.text.starts_with("Hello,\n"), "{}", ack.text);
    assert!(!ack.text.contains("attacker"), "{}", ack.text);
    assert!(ack.cc.is_empty() && ack.to.len() == 1, "{:?}", ack.to);
    let ack = wait_for(&t, "mallory@client.test", "Refund");
    assert!(ack.text.starts_with("Hello,\n"), "{}", ack.text);
    let notification = wait_for(&t, "alice@desk.test", "Refund");
    assert!(
        notification
            .text
            .contains("New ticket from mallory@client.test"),
        "the address, never a name that is another address: {}",
        notification.text
    );
}
