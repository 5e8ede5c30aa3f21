//! Unit tests for the pieces behind the public API; the API itself is
//! exercised in `tests/rules.rs`.

use super::compile::{Cmp, Field, Interner};
use super::parse::parse_size;
use super::*;

#[test]
fn sizes_parse_with_binary_units() {
    assert_eq!(parse_size("> 5MB"), Some((Cmp::Gt, 5 << 20)));
    assert_eq!(parse_size(">= 100KB"), Some((Cmp::Ge, 100 << 10)));
    assert_eq!(parse_size("< 2000"), Some((Cmp::Lt, 2000)));
    assert_eq!(parse_size("<=2gb"), Some((Cmp::Le, 2 << 30)));
    assert_eq!(parse_size("= 10 B"), Some((Cmp::Eq, 10)));
    assert_eq!(parse_size("!= 1.5KB"), Some((Cmp::Ne, 1536)));
    for bad in [
        "5MB",
        "> ",
        "> MB",
        "> 5 XB",
        "> 1..2",
        "=> 5",
        "> 99999999999999999999",
    ] {
        assert_eq!(parse_size(bad), None, "{bad}");
    }
}

#[test]
fn identical_patterns_share_a_slot_per_field() {
    let mut i = Interner::default();
    let a = i.intern(Field::Subject, "x").ok();
    let b = i.intern(Field::Subject, "x").ok();
    let c = i.intern(Field::Body, "x").ok();
    assert_eq!(a, b);
    assert_ne!(a, c);
    let p = i.finish();
    assert_eq!(p.slots.len(), 2);
    assert_eq!(p.fields.len(), 2);
}

#[test]
fn interning_reports_the_regex_crate_error() {
    let mut i = Interner::default();
    assert!(i.intern(Field::Subject, "(").is_err());
    assert!(i.intern(Field::Subject, "(?:a{1000}){1000}").is_err());
}

#[test]
fn text_shares_the_subject_and_body_sets() {
    let rs = RuleSet::parse(
        Path::new("t.toml"),
        "[[rule]]\nname = \"A\"\nwhen.text = 'x'\n[[rule]]\nname = \"B\"\nwhen.body = 'x'\n",
        &Known::default(),
    )
    .map_err(|e| e.to_string());
    let rs = match rs {
        Ok(rs) => rs,
        Err(e) => panic!("{e}"),
    };
    // One slot on subject, one on body (shared by both rules).
    assert_eq!(rs.inner.patterns.slots.len(), 2);
    assert_eq!(rs.inner.patterns.fields.len(), 2);
}

#[test]
fn problems_render_file_line_column_rule_key() {
    let p = Problem {
        line: 3,
        column: 7,
        rule: "rule \"Billing\"".into(),
        key: "when.subjct".into(),
        message: "unknown condition".into(),
    };
    let e = RulesError::Invalid {
        path: PathBuf::from("config/rules.toml"),
        problems: vec![p],
    };
    let shown = e.to_string();
    assert!(
        shown.starts_with(
            "config/rules.toml:3:7: rule \"Billing\": when.subjct: unknown condition\n"
        ),
        "{shown}"
    );
    assert!(shown.ends_with("load again"), "{shown}");
}

#[test]
fn classification_serializes_in_plain_words() {
    let c = Classification {
        priority: Some(Priority::Urgent),
        assign: Some(Assign::RoundRobin),
        ack: Some(Ack::Suppressed),
        ..Classification::default()
    };
    let json = serde_json::to_string(&c).unwrap_or_default();
    assert!(json.contains("\"priority\":\"urgent\""), "{json}");
    assert!(json.contains("\"assign\":\"round-robin\""), "{json}");
    assert!(json.contains("\"ack\":\"suppressed\""), "{json}");
    let agent = serde_json::to_string(&Assign::Agent("a@x".into())).unwrap_or_default();
    assert_eq!(agent, r#"{"agent":"a@x"}"#);
}

/// Prescanning is an optimization: with it, without it, and with a stale
/// one from another rule set, every message gets the same classification.
#[test]
fn prescanned_classification_is_the_same_classification() {
    let text = r#"
[[rule]]
name = "Billing"
when.text = '(?i)\binvoice\b'
set.category = "billing"

[[rule]]
name = "From the EU inbox"
when.inbox = '^eu$'
set.tags = ["eu"]

[[rule]]
name = "Spam"
when.header."X-Spam-Flag" = '(?i)^yes'
set.spam = true
stop = true

[[rule]]
name = "New customers"
when.new_customer = true
when.body = 'hello'
set.priority = "high"
"#;
    let rs = RuleSet::parse(Path::new("t.toml"), text, &Known::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let other = RuleSet::parse(
        Path::new("o.toml"),
        "[[rule]]\nname = \"X\"\nwhen.body = 'zzz'\nset.category = \"x\"\n",
        &Known::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let headers = vec![("x-spam-flag".to_string(), "YES".to_string())];
    let none: Vec<(String, String)> = Vec::new();
    let to = vec!["support@desk.test".to_string()];
    for (subject, body, hdrs, inbox, new_customer) in [
        ("Invoice 12", "hello there", &none, "eu", true),
        ("Question", "my INVOICE is wrong", &none, "main", false),
        ("Win money", "hello", &headers, "eu", true),
        ("Nothing", "at all", &none, "main", true),
    ] {
        let view = MessageView {
            from: "carol@customer.test",
            to: &to,
            cc: &[],
            subject,
            body,
            headers: hdrs,
            inbox,
            attachments: &[],
            size: 100,
            new_customer,
            is_reply: false,
            own_text: body,
        };
        // The prescan does not know the inbox or the customer's history.
        let early = MessageView {
            inbox: "",
            new_customer: false,
            ..view
        };
        let plain = rs.classify(&view);
        assert_eq!(
            rs.classify_prescanned(&view, Some(rs.prescan(&early)), None),
            plain,
            "{subject}"
        );
        assert_eq!(
            rs.classify_prescanned(&view, Some(other.prescan(&early)), None),
            plain,
            "stale prescan: {subject}"
        );
        assert_eq!(
            rs.classify_prescanned(&view, None, None),
            plain,
            "{subject}"
        );
    }
}
