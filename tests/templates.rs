//! The template set as admins and the desk meet it: the shipped defaults, the
//! errors a bad edit gets, escaping, header safety and per-inbox overrides.

use std::fs;
use std::path::{Path, PathBuf};

use postdesk::templates::{
    sample_data, sample_data_in, MailData, Rendered, TemplateError, Templates, KINDS,
};
use serde_json::{json, Value};

fn shipped() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("templates")
}

/// A copy of the shipped templates in a temp dir, to break or extend.
fn copy_of_shipped() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("temp dir");
    copy_dir(&shipped(), tmp.path());
    tmp
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("mkdir");
    for entry in fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).expect("copy");
        }
    }
}

fn write(dir: &Path, rel: &str, text: &str) {
    let path = dir.join(rel);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).expect("mkdir");
    }
    fs::write(path, text).expect("write");
}

fn load(dir: &Path) -> Templates {
    Templates::load(dir).unwrap_or_else(|e| panic!("loads: {e}"))
}

fn render(t: &Templates, name: &str, inbox: Option<&str>, data: &Value) -> Rendered {
    t.render(name, inbox, data)
        .unwrap_or_else(|e| panic!("{name} renders: {e}"))
}

#[test]
fn shipped_set_loads_and_checks() {
    let t = load(&shipped());
    if let Err(e) = t.check() {
        panic!("{e}");
    }
    for kind in KINDS {
        assert!(t.names().iter().any(|n| n == kind), "{kind} missing");
    }
}

#[test]
fn every_kind_renders_with_sample_data() {
    let t = load(&shipped());
    for kind in KINDS {
        let r = render(&t, kind, None, &sample_data(kind));
        assert!(r.subject.starts_with("[ACME-42]") || r.subject.starts_with("Re: [ACME-42]"));
        assert!(!r.text.trim().is_empty(), "{kind} has a body");
        assert!(
            r.text.ends_with('\n') && !r.text.ends_with("\n\n"),
            "{kind}"
        );
        assert!(
            !r.text.contains("\n\n\n"),
            "{kind} has stray blank lines:\n{}",
            r.text
        );
        assert!(!r.text.contains("{{"), "{kind}");
    }
    assert!(render(&t, "ack", None, &sample_data("ack")).html.is_some());
    assert!(render(&t, "reply", None, &sample_data("reply"))
        .html
        .is_some());
    assert!(render(&t, "status", None, &sample_data("status"))
        .html
        .is_none());
}

#[test]
fn ack_says_what_a_customer_needs() {
    let t = load(&shipped());
    let mut data = MailData::sample("ack");
    data.articles
        .extend((4..=5).map(|i| postdesk::templates::Article {
            title: format!("Article {i}"),
            url: format!("https://help.example.com/{i}"),
        }));
    let r = render(&t, "ack", None, &data.to_value());
    assert_eq!(r.subject, "[ACME-42] Cannot download my March invoice");
    assert!(r.text.starts_with("Hello Carol,\n"), "{}", r.text);
    assert!(r.text.contains("ticket ACME-42"));
    assert!(r.text.contains("We aim to answer within 4 hours."));
    assert!(r
        .text
        .contains("ACME-39: Change of billing address (pending)"));
    assert!(r.text.contains("https://help.example.com/refunds"));
    assert!(!r.text.contains("Article 4"), "at most three articles");
    assert!(r.text.contains("just reply"));
    assert!(r.text.contains("Acme Support"), "signature");
    assert!(r.headers.is_empty());

    // Optional values off: no dangling sentences.
    data.eta = None;
    data.customer.name = None;
    data.customer.given_name = None;
    data.other_tickets.clear();
    data.articles.clear();
    let r = render(&t, "ack", None, &data.to_value());
    assert!(r.text.starts_with("Hello,\n"), "{}", r.text);
    assert!(!r.text.contains("aim to answer"));
    assert!(!r.text.contains("also have"));
    assert!(!r.text.contains("articles"));
}

#[test]
fn agent_notify_carries_custom_headers() {
    let t = load(&shipped());
    let r = render(&t, "agent_notify", None, &sample_data("agent_notify"));
    assert_eq!(
        r.headers,
        vec![
            ("X-Postdesk-Queue".to_string(), "billing".to_string()),
            ("X-Postdesk-Priority".to_string(), "normal".to_string()),
        ]
    );
}

#[test]
fn customer_text_is_data_literal_in_text_escaped_in_html() {
    let t = load(&shipped());
    let evil = "{{ticket.ref}} <script>alert(1)</script> & {{> signature}} \"x\"";
    let mut data = MailData::sample("ack");
    data.ticket.subject = evil.into();
    data.customer.given_name = Some("<b>Mallory</b> & co".into());
    let r = render(&t, "ack", None, &data.to_value());
    assert_eq!(r.subject, format!("[ACME-42] {evil}"));
    assert!(r.text.contains("Hello <b>Mallory</b> & co,"), "{}", r.text);
    let html = r.html.expect("ack has HTML");
    assert!(!html.contains("<script>"), "{html}");
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );
    // Quotes too: the subject also sits inside an attribute.
    assert!(
        html.contains("aria-label=\"[ACME-42] {{ticket.ref}} &lt;script&gt;"),
        "{html}"
    );
    assert!(html.contains("&quot;x&quot;\""), "{html}");
    assert!(
        html.contains("{{ticket.ref}}"),
        "rendered literally, not as template code"
    );
    assert!(html.contains(" &amp; "), "{html}");
    assert!(html.contains("&lt;b&gt;Mallory&lt;/b&gt;"), "{html}");

    let mut data = MailData::sample("reply");
    data.message.text = "Use <input> & {{{raw}}}\nline two".into();
    let r = render(&t, "reply", None, &data.to_value());
    assert!(
        r.text.starts_with("Use <input> & {{{raw}}}\nline two\n"),
        "{}",
        r.text
    );
    let html = r.html.expect("reply has HTML");
    assert!(
        html.contains("Use &lt;input&gt; &amp; {{{raw}}}\nline two"),
        "{html}"
    );
}

#[test]
fn header_injection_is_neutralized() {
    let t = load(&shipped());
    let mut data = MailData::sample("ack");
    data.ticket.subject = "x\r\nBcc: evil@example.org\r\n\r\nbody".into();
    data.ticket.queue = "q\nX-Other: 1".into();
    let r = render(&t, "ack", None, &data.to_value());
    assert_eq!(r.subject, "[ACME-42] x Bcc: evil@example.org body");
    let r = render(&t, "agent_notify", None, &{
        let mut d = MailData::sample("agent_notify");
        d.ticket.queue = "q\nX-Other: 1".into();
        d.to_value()
    });
    for (name, value) in &r.headers {
        assert!(!value.contains(['\r', '\n']), "{name}: {value:?}");
    }
    assert_eq!(r.headers[0].1, "q X-Other: 1");

    data.ticket.subject = "long ".repeat(100);
    let r = render(&t, "ack", None, &data.to_value());
    assert!(r.subject.chars().count() <= postdesk::templates::MAX_HEADER_CHARS);
    assert!(r.subject.starts_with("[ACME-42] long"));
}

#[test]
fn misspelled_variable_fails_check_naming_file_and_line() {
    let dir = copy_of_shipped();
    write(
        dir.path(),
        "ack.hbs",
        "Subject: {{ticket.tag}} {{ticket.subject}}\n\nHello,\n\nyour ticket is {{ticket.reff}}.\n",
    );
    let t = load(dir.path());
    let err = t.check().expect_err("misspelling is caught").to_string();
    let file = dir.path().join("ack.hbs");
    assert!(err.contains(&format!("{}:5:16", file.display())), "{err}");
    assert!(err.contains("`ticket.reff`"), "{err}");
    assert!(err.contains("did you mean `ticket.ref`"), "{err}");
}

#[test]
fn misspelling_inside_if_and_unrendered_branches_is_caught() {
    let dir = copy_of_shipped();
    write(
        dir.path(),
        "followup.hbs",
        "Subject: {{ticket.tag}}\n\n{{#if ticket.duee}}x{{/if}}\n",
    );
    write(
        dir.path(),
        "autoclose.hbs",
        "Subject: {{ticket.tag}}\n\n{{#if eta}}\nsoon\n{{else}}\n{{etaa}}\n{{/if}}\n",
    );
    write(
        dir.path(),
        "status.hbs",
        "Subject: {{ticket.tag}}\n\n{{#if (eq new_status \"closed\")}}\n{{ticket.sujbect}}\n{{/if}}\n",
    );
    let err = load(dir.path()).check().expect_err("caught");
    let text = err.to_string();
    assert_eq!(err.problems().len(), 3, "{text}");
    assert!(text.contains("followup.hbs:3:1"), "{text}");
    assert!(text.contains("`ticket.duee`"), "{text}");
    assert!(text.contains("autoclose.hbs:6:1"), "{text}");
    assert!(text.contains("status.hbs:4:1"), "{text}");
}

#[test]
fn misspelling_in_a_subject_is_located_on_its_line() {
    let dir = copy_of_shipped();
    write(
        dir.path(),
        "reply.hbs",
        "{{!-- c --}}\nSubject: Re: {{ticket.tga}}\n\n{{message.text}}\n",
    );
    let err = load(dir.path()).check().expect_err("caught").to_string();
    assert!(err.contains("reply.hbs:2:14"), "{err}");
}

#[test]
fn unguarded_nullable_value_is_explained() {
    let dir = copy_of_shipped();
    write(
        dir.path(),
        "reply.hbs",
        "Subject: {{ticket.tag}}\n\n{{message.text}}\n{{agent.name}}\n",
    );
    let err = load(dir.path()).check().expect_err("caught").to_string();
    assert!(err.contains("reply.hbs:4:1"), "{err}");
    assert!(err.contains("{{#if agent}}"), "{err}");
}

#[test]
fn syntax_error_names_file_and_line() {
    let dir = copy_of_shipped();
    write(
        dir.path(),
        "survey.hbs",
        "Subject: s\n\nline\n{{#each ratings}}\n{{score}}\n{{/if}}\n",
    );
    let err = Templates::load(dir.path())
        .expect_err("bad syntax")
        .to_string();
    assert!(err.contains("survey.hbs:6:"), "{err}");
}

#[test]
fn per_inbox_override_wins_and_others_fall_back() {
    let dir = copy_of_shipped();
    write(
        dir.path(),
        "brand/ack.hbs",
        "Subject: {{ticket.tag}} Brand got it\n\nBrand text.\n{{> signature}}\n",
    );
    let t = load(dir.path());
    t.check().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(t.inboxes(), vec!["brand".to_string()]);
    let data = sample_data("ack");

    let brand = render(&t, "ack", Some("brand"), &data);
    assert_eq!(brand.subject, "[ACME-42] Brand got it");
    assert!(brand.text.starts_with("Brand text.\n"));
    assert!(brand.html.is_none(), "an override is the whole mail");

    let main = render(&t, "ack", Some("main"), &data);
    assert!(main.text.starts_with("Hello Carol,"));
    assert!(main.html.is_some());
    let none = render(&t, "ack", None, &data);
    assert_eq!(none, main);
    // Kinds the inbox does not override come from the top level.
    let reply = render(&t, "reply", Some("brand"), &sample_data("reply"));
    assert!(reply.subject.starts_with("Re: [ACME-42]"));
}

#[test]
fn partial_override_per_inbox() {
    let dir = copy_of_shipped();
    write(
        dir.path(),
        "brand/partials/signature.hbs",
        "The Brand Team ({{support.name}})\n",
    );
    let t = load(dir.path());
    t.check().unwrap_or_else(|e| panic!("{e}"));
    let data = sample_data("ack");
    let brand = render(&t, "ack", Some("brand"), &data);
    assert!(
        brand.text.contains("The Brand Team (Acme Support)"),
        "{}",
        brand.text
    );
    // The inbox's text partial beats the top-level HTML one in HTML too.
    assert!(brand
        .html
        .as_deref()
        .is_some_and(|h| h.contains("The Brand Team")));
    let main = render(&t, "ack", Some("main"), &data);
    assert!(!main.text.contains("Brand Team"));
    assert!(main.text.contains("Acme Support\nsupport@example.com"));
}

#[test]
fn broken_inbox_partial_fails_check_naming_it() {
    let dir = copy_of_shipped();
    write(
        dir.path(),
        "brand/partials/signature.hbs",
        "{{support.nmae}}\n",
    );
    let err = load(dir.path()).check().expect_err("caught").to_string();
    let file = dir
        .path()
        .join("brand")
        .join("partials")
        .join("signature.hbs");
    assert!(err.contains(&format!("{}:1:1", file.display())), "{err}");
}

#[test]
fn missing_kind_fails_load_naming_the_file() {
    let dir = copy_of_shipped();
    fs::remove_file(dir.path().join("survey_thanks.hbs")).expect("rm");
    let err = Templates::load(dir.path())
        .expect_err("incomplete set")
        .to_string();
    let file = dir.path().join("survey_thanks.hbs");
    assert!(err.contains(&file.display().to_string()), "{err}");
    assert!(err.contains("create it"), "{err}");
}

#[test]
fn forbidden_header_fails_with_file_and_line() {
    let dir = copy_of_shipped();
    write(
        dir.path(),
        "ack.hbs",
        "Subject: {{ticket.tag}}\nX-Fine: ok\nFrom: boss@example.com\n\nbody\n",
    );
    let err = Templates::load(dir.path())
        .expect_err("From refused")
        .to_string();
    let file = dir.path().join("ack.hbs");
    assert!(err.contains(&format!("{}:3:1", file.display())), "{err}");
    assert!(err.contains("postdesk sets From itself"), "{err}");
}

#[test]
fn every_problem_is_reported_at_once() {
    let dir = copy_of_shipped();
    fs::remove_file(dir.path().join("escalation.hbs")).expect("rm");
    write(
        dir.path(),
        "status.hbs",
        "Reply-To: x@example.com\nSubject: s\n\nb\n",
    );
    write(dir.path(), "lonely.html.hbs", "<p>hi</p>");
    let err = Templates::load(dir.path()).expect_err("three problems");
    assert_eq!(err.problems().len(), 3, "{err}");
}

#[test]
fn triple_braces_are_refused() {
    let dir = copy_of_shipped();
    write(
        dir.path(),
        "reply.html.hbs",
        "<div>\n{{#if agent}}{{{message.text}}}{{/if}}\n</div>\n",
    );
    let err = Templates::load(dir.path())
        .expect_err("raw output")
        .to_string();
    assert!(err.contains("reply.html.hbs:2:"), "{err}");
    assert!(err.contains("triple braces"), "{err}");
}

#[test]
fn extra_names_load_render_and_check_with_their_kind() {
    let dir = copy_of_shipped();
    write(
        dir.path(),
        "ack_billing.hbs",
        "Subject: {{ticket.tag}} Billing: {{ticket.subject}}\n\nBilling answers {{#if eta}}{{eta}}{{else}}soon{{/if}}.\n",
    );
    write(
        dir.path(),
        "status_vip.hbs",
        "Subject: {{ticket.tag}}\n\nNow {{new_status}}.\n",
    );
    let t = load(dir.path());
    t.check().unwrap_or_else(|e| panic!("{e}"));
    assert!(t.contains("ack_billing") && t.contains("status_vip"));
    let r = render(&t, "ack_billing", None, &sample_data("ack_billing"));
    assert_eq!(r.text, "Billing answers within 4 hours.\n");
    let err = t
        .render("ack_typo", None, &sample_data("ack"))
        .expect_err("unknown");
    assert!(matches!(err, TemplateError::Unknown { .. }));
    assert!(err.to_string().contains("ack_billing"), "{err}");
}

#[test]
fn override_without_top_level_template_is_refused() {
    let dir = copy_of_shipped();
    write(dir.path(), "brand/welcome.hbs", "Subject: hi\n\nx\n");
    let err = Templates::load(dir.path()).expect_err("orphan").to_string();
    assert!(err.contains("welcome"), "{err}");
    assert!(err.contains("top-level"), "{err}");
}

#[test]
fn missing_partial_is_named_with_what_to_create() {
    let dir = copy_of_shipped();
    write(
        dir.path(),
        "autoclose.hbs",
        "Subject: s\n\nx\n{{> footer}}\n",
    );
    let err = load(dir.path()).check().expect_err("no footer").to_string();
    assert!(err.contains("autoclose.hbs:4:1"), "{err}");
    assert!(err.contains("footer.hbs"), "{err}");
}

#[test]
fn windows_line_endings_and_bom_are_accepted() {
    let dir = copy_of_shipped();
    write(
        dir.path(),
        "autoclose.hbs",
        "\u{feff}Subject: {{ticket.tag}} closed\r\n\r\nBye.\r\n",
    );
    let t = load(dir.path());
    let r = render(&t, "autoclose", None, &sample_data("autoclose"));
    assert_eq!(r.subject, "[ACME-42] closed");
    assert_eq!(r.text, "Bye.\n");
}

#[test]
fn missing_directory_says_what_to_configure() {
    let err = Templates::load(Path::new("/nonexistent/postdesk-templates"))
        .expect_err("no dir")
        .to_string();
    assert!(err.contains("[templates] dir"), "{err}");
}

#[test]
fn sample_data_has_every_documented_variable() {
    let ack = sample_data("ack");
    for path in [
        "ticket.ref",
        "ticket.subject",
        "ticket.status",
        "ticket.priority",
        "ticket.category",
        "ticket.queue",
        "ticket.created",
        "ticket.due",
        "ticket.tag",
        "customer.name",
        "customer.email",
        "message.text",
        "message.subject",
        "agent.name",
        "support.name",
        "support.address",
        "eta",
        "other_tickets",
        "articles",
    ] {
        let v = path
            .split('.')
            .try_fold(&ack, |v, seg| v.get(seg))
            .unwrap_or(&Value::Null);
        assert!(!v.is_null(), "{path} is missing or null in the sample");
    }
    assert_eq!(ack["other_tickets"][0]["ref"], json!("ACME-39"));
    assert!(ack["articles"][0]["url"].is_string());
    let survey = sample_data("survey");
    assert!(survey["ratings"][0]["mailto"].is_string());
    assert!(survey["reply_address"].is_string());
    let notify = sample_data("agent_notify");
    assert!(notify["history"][0]["when"].is_string());
}

#[test]
fn shipped_macros_load_with_their_front_matter_and_render_with_the_reply_data() {
    let t = load(&shipped());
    let macros = t.macros();
    let names: Vec<&str> = macros.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(
        names,
        vec!["need-more-info", "password-reset", "thanks-waiting"]
    );
    let reset = macros.iter().find(|m| m.name == "password-reset").unwrap();
    assert_eq!(reset.commands, vec!["status resolved", "tag password"]);
    let data = sample_data("reply");
    let text = t
        .render_macro("need-more-info", None, &data)
        .expect("renders");
    assert!(text.starts_with("Hello"), "{text}");
    assert!(!text.contains("#status") && !text.contains("---"), "{text}");
    assert!(t.render_macro("nope", None, &data).is_err());
}

#[test]
fn a_bad_macro_is_reported_with_its_file_and_line() {
    let dir = copy_of_shipped();
    write(
        dir.path(),
        "macros/bad.hbs",
        "#status pending\n#merge ACME-1\n---\nHello\n",
    );
    let err = Templates::load(dir.path())
        .expect_err("refused")
        .to_string();
    let file = dir.path().join("macros/bad.hbs");
    assert!(err.contains(&format!("{}:2:1", file.display())), "{err}");
    assert!(err.contains("cannot be given by a macro"), "{err}");

    write(dir.path(), "macros/bad.hbs", "Hello {{customer.nmae}}\n");
    let t = load(dir.path());
    let err = t.check().expect_err("misspelling is caught").to_string();
    assert!(err.contains("macros/bad.hbs:1:"), "{err}");
    assert!(err.contains("customer.nmae"), "{err}");
}

#[test]
fn german_and_french_ship_for_every_template_and_macro() {
    let top = shipped();
    let mut missing = Vec::new();
    for entry in fs::read_dir(&top).expect("read") {
        let name = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .to_string();
        if !name.ends_with(".hbs") {
            continue;
        }
        for lang in ["de", "fr"] {
            if !top.join(lang).join(&name).is_file() {
                missing.push(format!("{lang}/{name}"));
            }
        }
    }
    for entry in fs::read_dir(top.join("macros")).expect("read") {
        let name = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .to_string();
        for lang in ["de", "fr"] {
            if !top.join(lang).join("macros").join(&name).is_file() {
                missing.push(format!("{lang}/macros/{name}"));
            }
        }
    }
    assert!(missing.is_empty(), "untranslated: {missing:?}");
    let t = load(&top);
    assert_eq!(t.languages(), vec!["en", "de", "fr"]);
}

#[test]
fn each_language_greets_and_promises_in_its_own_words() {
    let t = load(&shipped());
    let de = t
        .render_in("ack", None, Some("de"), &sample_data_in("ack", "de"))
        .expect("renders");
    assert!(
        de.text.starts_with("Hallo Carol,\n\nvielen Dank"),
        "{}",
        de.text
    );
    assert!(
        de.text
            .contains("Wir melden uns voraussichtlich innerhalb von 4 Stunden."),
        "{}",
        de.text
    );
    assert!(de.text.contains("(wartet auf Ihre Antwort)"), "{}", de.text);
    assert!(de
        .html
        .as_deref()
        .is_some_and(|h| h.contains("lang=\"de\"")));
    let fr = t
        .render_in("ack", None, Some("fr"), &sample_data_in("ack", "fr"))
        .expect("renders");
    assert!(fr.text.starts_with("Bonjour Carol,\n"), "{}", fr.text);
    assert!(fr.text.contains("dans les 4 heures"), "{}", fr.text);
    // No name to greet: a neutral greeting, never an address.
    let mut data = MailData::sample("status");
    data.customer.given_name = None;
    for (lang, hello) in [("en", "Hello,\n"), ("de", "Hallo,\n"), ("fr", "Bonjour,\n")] {
        let r = t
            .render_in("status", None, Some(lang), &data.to_value())
            .expect("renders");
        assert!(r.text.starts_with(hello), "{lang}: {}", r.text);
        assert!(!r.text.contains("carol@example.net"), "{lang}: {}", r.text);
    }
    // A language without templates is the default language.
    let es = t
        .render_in("ack", None, Some("es"), &sample_data("ack"))
        .expect("renders");
    assert!(es.text.starts_with("Hello Carol,"));
}

#[test]
fn a_language_falls_back_to_the_default_file_by_file() {
    let dir = tempfile::tempdir().expect("tmp");
    copy_dir(&shipped(), dir.path());
    fs::remove_dir_all(dir.path().join("de")).expect("rm");
    fs::remove_dir_all(dir.path().join("fr")).expect("rm");
    write(
        dir.path(),
        "de/ack.hbs",
        "Subject: {{ticket.tag}} Eingang\n\nDanke.\n{{> signature}}\n",
    );
    write(
        dir.path(),
        "de/partials/signature.hbs",
        "Ihr {{support.name}}\n",
    );
    write(
        dir.path(),
        "brand/de/ack.hbs",
        "Subject: {{ticket.tag}} Marke\n\nMarkentext.\n",
    );
    write(
        dir.path(),
        "brand/ack.hbs",
        "Subject: {{ticket.tag}} Brand\n\nBrand text.\n",
    );
    let t = load(dir.path());
    t.check().unwrap_or_else(|e| panic!("{e}"));
    let data = sample_data("ack");
    let ack = t.render_in("ack", None, Some("de"), &data).expect("ack");
    assert_eq!(ack.subject, "[ACME-42] Eingang");
    assert!(ack.text.contains("Ihr Acme Support"), "{}", ack.text);
    assert!(ack.html.is_none(), "a translation is the whole mail");
    // No German status: the English one, with the German signature.
    let status = t
        .render_in("status", None, Some("de"), &sample_data("status"))
        .expect("status");
    assert!(status.text.starts_with("Hello Carol,"), "{}", status.text);
    assert!(status.text.contains("Ihr Acme Support"), "{}", status.text);
    // The default language keeps its own signature.
    let en = t
        .render("status", None, &sample_data("status"))
        .expect("en");
    assert!(!en.text.contains("Ihr Acme"), "{}", en.text);
    // An inbox's own translation beats the language's and the inbox's.
    let brand = t
        .render_in("ack", Some("brand"), Some("de"), &data)
        .expect("brand");
    assert_eq!(brand.subject, "[ACME-42] Marke");
    let brand_en = t.render("ack", Some("brand"), &data).expect("brand en");
    assert_eq!(brand_en.subject, "[ACME-42] Brand");
    assert_eq!(t.inboxes(), vec!["brand".to_string()]);
}

#[test]
fn the_default_language_reads_its_own_directory_first() {
    let t = Templates::load_for(&shipped(), "de").expect("loads");
    t.check().unwrap_or_else(|e| panic!("{e}"));
    // The top level is taken to be in the default language: English is a
    // language of this desk only once it has a directory of its own.
    assert_eq!(t.languages(), vec!["de", "fr"]);
    let r = t
        .render("status", None, &sample_data("status"))
        .expect("renders");
    assert!(r.text.starts_with("Hallo Carol,"), "{}", r.text);
    let en = t
        .render_in("status", None, Some("en"), &sample_data("status"))
        .expect("renders");
    assert!(en.text.starts_with("Hallo Carol,"), "{}", en.text);
}

#[test]
fn a_broken_translation_fails_check_with_its_file_and_line() {
    let dir = copy_of_shipped();
    write(
        dir.path(),
        "fr/status.hbs",
        "Subject: {{ticket.tag}} {{ticket.subject}}\n\nBonjour,\n\n{{ticket.sttus}}\n",
    );
    let err = load(dir.path()).check().expect_err("caught").to_string();
    let file = dir.path().join("fr").join("status.hbs");
    assert!(err.contains(&format!("{}:5:", file.display())), "{err}");
    assert!(
        err.contains("ticket.status"),
        "suggests the right name: {err}"
    );

    let dir = copy_of_shipped();
    write(
        dir.path(),
        "de/welcome.hbs",
        "Subject: Willkommen\n\nHallo\n",
    );
    write(
        dir.path(),
        "de/macros/password-reset.hbs",
        "#status resolved\n---\nText\n",
    );
    let err = Templates::load(dir.path())
        .expect_err("refused")
        .to_string();
    let welcome = dir.path().join("de").join("welcome.hbs");
    assert!(err.contains(&welcome.display().to_string()), "{err}");
    assert!(err.contains("language `de` overrides `welcome`"), "{err}");
    let mac = dir
        .path()
        .join("de")
        .join("macros")
        .join("password-reset.hbs");
    assert!(err.contains(&format!("{}:1:1", mac.display())), "{err}");
}

#[test]
fn translated_macros_keep_the_top_level_front_matter() {
    let t = load(&shipped());
    let m = t
        .macros()
        .into_iter()
        .find(|m| m.name == "password-reset")
        .expect("macro");
    assert_eq!(m.commands, vec!["status resolved", "tag password"]);
    let data = sample_data("reply");
    let de = t
        .render_macro_in("password-reset", None, Some("de"), &data)
        .expect("renders");
    assert!(de.starts_with("Hallo Carol,"), "{de}");
    assert!(de.contains("Passwort vergessen?"), "{de}");
    let en = t.render_macro("password-reset", None, &data).expect("en");
    assert!(en.contains("Forgot password?"), "{en}");
}
