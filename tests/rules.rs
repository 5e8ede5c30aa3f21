//! The rule engine through its public API: every condition and action, the
//! evaluation order, validation with line numbers, the shipped example, the
//! explain report, and hostile inputs.

use std::path::Path;

use postdesk::rules::{
    Ack, Assign, Classification, Known, MessageView, Outcome, Problem, RuleSet, RulesError,
};
use postdesk::ticket::Priority;

fn known() -> Known {
    let s = |xs: &[&str]| xs.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    Known {
        queues: s(&["general", "billing", "tech", "account"]),
        agents: s(&["alice@example.com"]),
        templates: s(&[
            "ack",
            "agent_notify",
            "reply",
            "status",
            "followup",
            "autoclose",
            "survey",
            "survey_thanks",
            "escalation",
        ]),
        sla_classes: s(&["urgent", "normal"]),
    }
}

fn rules(text: &str) -> RuleSet {
    match RuleSet::parse(Path::new("rules.toml"), text, &known()) {
        Ok(r) => r,
        Err(e) => panic!("rules should parse:\n{e}"),
    }
}

fn problems(text: &str) -> Vec<Problem> {
    problems_with(text, &known())
}

fn problems_with(text: &str, known: &Known) -> Vec<Problem> {
    match RuleSet::parse(Path::new("rules.toml"), text, known) {
        Ok(_) => panic!("rules should be rejected:\n{text}"),
        Err(e) => e.problems().to_vec(),
    }
}

/// The one problem `text` has.
fn problem(text: &str) -> Problem {
    let ps = problems(text);
    assert_eq!(ps.len(), 1, "{ps:#?}");
    ps.into_iter().next().unwrap()
}

/// An owned message to view; fields default to an ordinary new mail.
#[derive(Clone)]
struct Msg {
    from: String,
    to: Vec<String>,
    cc: Vec<String>,
    subject: String,
    body: String,
    headers: Vec<(String, String)>,
    inbox: String,
    attachments: Vec<String>,
    size: usize,
    new_customer: bool,
    is_reply: bool,
}

impl Default for Msg {
    fn default() -> Self {
        Msg {
            from: "carol@customer.test".into(),
            to: vec!["support@example.com".into()],
            cc: vec![],
            subject: "Hello".into(),
            body: "Just saying hi.".into(),
            headers: vec![],
            inbox: "main".into(),
            attachments: vec![],
            size: 2_000,
            new_customer: false,
            is_reply: false,
        }
    }
}

impl Msg {
    fn subject(s: &str) -> Msg {
        Msg {
            subject: s.into(),
            ..Msg::default()
        }
    }

    fn view(&self) -> MessageView<'_> {
        MessageView {
            from: &self.from,
            to: &self.to,
            cc: &self.cc,
            subject: &self.subject,
            body: &self.body,
            headers: &self.headers,
            inbox: &self.inbox,
            attachments: &self.attachments,
            size: self.size,
            new_customer: self.new_customer,
            is_reply: self.is_reply,
            own_text: &self.body,
        }
    }
}

fn classify(text: &str, m: &Msg) -> Classification {
    let rs = rules(text);
    let c = rs.classify(&m.view());
    // The report must never disagree with the fast path.
    assert_eq!(rs.explain(&m.view()).result, c, "explain disagrees");
    c
}

/// Whether a single rule `name = "R"` with `when` lines matches `m`.
fn matches(when: &str, m: &Msg) -> bool {
    let text = format!("[[rule]]\nname = \"R\"\n{when}\nset.tags = [\"hit\"]\n");
    classify(&text, m).matched == ["R"]
}

// --- conditions -------------------------------------------------------------

#[test]
fn from_matches_the_sender_address() {
    let m = Msg::default();
    assert!(matches(r"when.from = '@customer\.test$'", &m));
    assert!(!matches(r"when.from = '@example\.com$'", &m));
}

#[test]
fn to_and_cc_match_any_address() {
    let m = Msg {
        to: vec!["a@x.test".into(), "billing@example.com".into()],
        cc: vec!["boss@customer.test".into()],
        ..Msg::default()
    };
    assert!(matches("when.to = '^billing@'", &m));
    assert!(!matches("when.to = '^boss@'", &m));
    assert!(matches("when.cc = '^boss@'", &m));
    assert!(!matches("when.cc = '^billing@'", &m));
}

#[test]
fn subject_body_and_text() {
    let m = Msg {
        subject: "Invoice 42".into(),
        body: "my credit card was charged".into(),
        ..Msg::default()
    };
    assert!(matches("when.subject = '(?i)invoice'", &m));
    assert!(!matches("when.subject = 'credit card'", &m));
    assert!(matches("when.body = 'credit card'", &m));
    assert!(!matches("when.body = 'Invoice'", &m));
    assert!(matches("when.text = 'Invoice'", &m));
    assert!(matches("when.text = 'credit card'", &m));
    assert!(!matches("when.text = 'refund'", &m));
}

#[test]
fn regexes_are_unanchored_unless_anchored() {
    let m = Msg::subject("Re: server down");
    assert!(matches("when.subject = 'down'", &m));
    assert!(!matches("when.subject = '^down'", &m));
}

#[test]
fn headers_match_any_occurrence_with_case_insensitive_names() {
    let m = Msg {
        headers: vec![
            ("received".into(), "from a".into()),
            ("x-spam-flag".into(), "NO".into()),
            ("x-spam-flag".into(), "YES".into()),
            ("x-priority".into(), "1 (Highest)".into()),
        ],
        ..Msg::default()
    };
    assert!(matches(r#"when.header."X-Spam-Flag" = '^YES$'"#, &m));
    assert!(matches("when.header.x-priority = '^1'", &m));
    assert!(matches(r#"when."header.X-Priority" = '^1'"#, &m));
    assert!(!matches("when.header.x-mailer = '.'", &m));
    assert!(!matches(r#"when.header."X-Spam-Flag" = '^MAYBE'"#, &m));
}

#[test]
fn inbox_and_attachments() {
    let m = Msg {
        inbox: "billing".into(),
        attachments: vec!["photo.jpg".into(), "server.LOG".into()],
        ..Msg::default()
    };
    assert!(matches("when.inbox = '^billing$'", &m));
    assert!(!matches("when.inbox = '^main$'", &m));
    assert!(matches(r"when.attachment = '(?i)\.log$'", &m));
    assert!(!matches(r"when.attachment = '\.pdf$'", &Msg::default()));
}

#[test]
fn size_comparisons_and_units() {
    let at = |size| Msg {
        size,
        ..Msg::default()
    };
    assert!(matches(r#"when.size = "> 5MB""#, &at(5 * 1024 * 1024 + 1)));
    assert!(!matches(r#"when.size = "> 5MB""#, &at(5 * 1024 * 1024)));
    assert!(matches(r#"when.size = ">= 100KB""#, &at(102_400)));
    assert!(!matches(r#"when.size = ">= 100KB""#, &at(102_399)));
    assert!(matches(r#"when.size = "< 2000""#, &at(1_999)));
    assert!(!matches(r#"when.size = "< 2000""#, &at(2_000)));
    assert!(matches(r#"when.size = "<=1gb""#, &at(1 << 30)));
    assert!(matches(r#"when.size = "> 1.5 KB""#, &at(1_537)));
}

#[test]
fn new_customer_flag() {
    let new = Msg {
        new_customer: true,
        ..Msg::default()
    };
    assert!(matches("when.new_customer = true", &new));
    assert!(!matches("when.new_customer = true", &Msg::default()));
    assert!(matches("when.new_customer = false", &Msg::default()));
}

#[test]
fn a_rule_without_conditions_matches_everything() {
    let text = "[[rule]]\nname = \"All\"\nset.tags = [\"x\"]\n";
    assert_eq!(classify(text, &Msg::default()).matched, ["All"]);
    let text = "[[rule]]\nname = \"All\"\nwhen = {}\nset.tags = [\"x\"]\n";
    assert_eq!(classify(text, &Msg::default()).matched, ["All"]);
}

// --- and / or / not ---------------------------------------------------------

#[test]
fn all_keys_must_hold() {
    let m = Msg {
        subject: "invoice".into(),
        body: "thanks".into(),
        ..Msg::default()
    };
    assert!(matches(
        "when.subject = 'invoice'\nwhen.body = 'thanks'",
        &m
    ));
    assert!(!matches(
        "when.subject = 'invoice'\nwhen.body = 'refund'",
        &m
    ));
}

#[test]
fn any_is_or_and_not_negates() {
    let m = Msg {
        subject: "refund please".into(),
        from: "bob@example.com".into(),
        ..Msg::default()
    };
    let any = "when.any = [ { subject = 'invoice' }, { subject = 'refund' } ]";
    assert!(matches(any, &m));
    assert!(!matches(
        "when.any = [ { subject = 'invoice' }, { body = 'refund' } ]",
        &m
    ));
    assert!(!matches(
        &format!("{any}\nwhen.not = {{ from = '@example\\.com$' }}"),
        &m
    ));
    assert!(matches("when.not = { from = '@other\\.test$' }", &m));
}

#[test]
fn any_and_not_nest() {
    let m = Msg {
        subject: "refund".into(),
        body: "urgent".into(),
        ..Msg::default()
    };
    // not(any(...)): none of them.
    assert!(!matches(
        "when.not = { any = [ { subject = 'nope' }, { body = 'urgent' } ] }",
        &m
    ));
    assert!(matches(
        "when.not = { any = [ { subject = 'nope' }, { body = 'calm' } ] }",
        &m
    ));
    // any with a not inside, and an AND table inside any.
    assert!(matches(
        "when.any = [ { not = { subject = 'refund' } }, { subject = 'refund', body = 'urgent' } ]",
        &m
    ));
    assert!(!matches(
        "when.any = [ { not = { subject = 'refund' } }, { subject = 'refund', body = 'calm' } ]",
        &m
    ));
    // any inside any.
    assert!(matches(
        "when.any = [ { any = [ { body = 'x' }, { body = 'urg' } ] } ]",
        &m
    ));
}

// --- actions, order, stop -------------------------------------------------------

#[test]
fn every_action_is_applied() {
    let text = r#"
[[rule]]
name = "Everything"
set.category = "billing"
set.priority = "high"
set.queue = "billing"
set.assign = "alice@example.com"
set.tags = ["money", "vip", "money"]
set.ack = "ack"
set.spam = true
set.sla = "urgent"
"#;
    let c = classify(text, &Msg::default());
    assert_eq!(
        c,
        Classification {
            category: Some("billing".into()),
            priority: Some(Priority::High),
            queue: Some("billing".into()),
            assign: Some(Assign::Agent("alice@example.com".into())),
            tags: vec!["money".into(), "vip".into()],
            ack: Some(Ack::Template("ack".into())),
            spam: true,
            sla: Some("urgent".into()),
            matched: vec!["Everything".into()],
            first_mood: Default::default(),
        }
    );
}

#[test]
fn assign_strategies_and_suppressed_ack() {
    let c = classify(
        "[[rule]]\nname = \"A\"\nset.assign = \"round-robin\"\nset.ack = false\n",
        &Msg::default(),
    );
    assert_eq!(c.assign, Some(Assign::RoundRobin));
    assert_eq!(c.ack, Some(Ack::Suppressed));
    let c = classify(
        "[[rule]]\nname = \"A\"\nset.assign = \"least-open\"\n",
        &Msg::default(),
    );
    assert_eq!(c.assign, Some(Assign::LeastOpen));
}

#[test]
fn no_match_leaves_everything_to_the_caller() {
    let c = classify(
        "[[rule]]\nname = \"A\"\nwhen.subject = 'zzz'\nset.queue = \"tech\"\n",
        &Msg::default(),
    );
    assert_eq!(c, Classification::default());
    assert_eq!(RuleSet::empty().classify(&Msg::default().view()), c);
    assert_eq!(RuleSet::empty().rule_count(), 0);
}

#[test]
fn later_rules_override_single_values_and_tags_accumulate() {
    let text = r#"
[[rule]]
name = "One"
set.category = "general"
set.priority = "low"
set.tags = ["a", "b"]
set.spam = true

[[rule]]
name = "Two"
set.priority = "urgent"
set.tags = ["b", "c"]
set.spam = false
"#;
    let c = classify(text, &Msg::default());
    assert_eq!(c.category.as_deref(), Some("general"));
    assert_eq!(c.priority, Some(Priority::Urgent));
    assert_eq!(c.tags, ["a", "b", "c"]);
    assert!(!c.spam);
    assert_eq!(c.matched, ["One", "Two"]);
}

#[test]
fn stop_ends_evaluation_only_when_its_rule_matched() {
    let text = r#"
[[rule]]
name = "Skipped stop"
when.subject = 'never'
set.queue = "general"
stop = true

[[rule]]
name = "Urgent"
when.subject = 'down'
set.priority = "urgent"
stop = true

[[rule]]
name = "Later"
set.priority = "low"
"#;
    let c = classify(text, &Msg::subject("site down"));
    assert_eq!(c.priority, Some(Priority::Urgent));
    assert_eq!(c.matched, ["Urgent"]);
    let c = classify(text, &Msg::subject("hello"));
    assert_eq!(c.matched, ["Later"]);
}

#[test]
fn on_selects_new_messages_or_replies() {
    let text = r#"
[[rule]]
name = "Default is new only"
set.tags = ["new"]

[[rule]]
name = "Replies"
on = ["reply"]
set.tags = ["reply"]

[[rule]]
name = "Both"
on = ["new", "reply"]
set.tags = ["both"]
"#;
    let new = classify(text, &Msg::default());
    assert_eq!(new.tags, ["new", "both"]);
    let reply = Msg {
        is_reply: true,
        ..Msg::default()
    };
    assert_eq!(classify(text, &reply).tags, ["reply", "both"]);
}

// --- validation -------------------------------------------------------------

#[test]
fn invalid_regex_is_reported_with_its_line_and_the_regex_message() {
    let p = problem("[[rule]]\nname = \"Bad\"\n\nwhen.subject = '(unclosed'\n");
    assert_eq!((p.line, p.column), (4, 16));
    assert_eq!(p.rule, "rule \"Bad\"");
    assert_eq!(p.key, "when.subject");
    assert!(p.message.contains("invalid regex"), "{}", p.message);
    assert!(p.message.contains("unclosed group"), "{}", p.message);
}

#[test]
fn a_regex_too_big_for_the_regex_crate_is_a_problem_not_a_panic() {
    let p = problem("[[rule]]\nname = \"Huge\"\nwhen.body = '(?:a{1000}){1000}'\n");
    assert_eq!(p.line, 3);
    assert!(p.message.contains("size limit"), "{}", p.message);
}

#[test]
fn unknown_condition_suggests_the_nearest() {
    let p = problem("[[rule]]\nname = \"Typo\"\nwhen.subjct = 'x'\n");
    assert_eq!(p.line, 3);
    assert_eq!(p.key, "when.subjct");
    assert!(
        p.message
            .contains("unknown condition `subjct` — did you mean `subject`?"),
        "{}",
        p.message
    );
    let p = problem("[[rule]]\nname = \"Typo\"\nwhen.any = [ { bdy = 'x' } ]\n");
    assert_eq!(p.key, "when.any[0].bdy");
    assert!(p.message.contains("did you mean `body`?"), "{}", p.message);
    let p = problem("[[rule]]\nname = \"Far\"\nwhen.zzzzzz = 'x'\n");
    assert!(p.message.contains("conditions: from, to"), "{}", p.message);
}

#[test]
fn unknown_action_and_rule_key_suggest_the_nearest() {
    let p = problem("[[rule]]\nname = \"Typo\"\nset.prority = \"high\"\n");
    assert_eq!((p.line, p.key.as_str()), (3, "set.prority"));
    assert!(
        p.message.contains("did you mean `priority`?"),
        "{}",
        p.message
    );
    let p = problem("[[rule]]\nname = \"Typo\"\nstpo = true\n");
    assert_eq!((p.line, p.key.as_str()), (3, "stpo"));
    assert!(p.message.contains("did you mean `stop`?"), "{}", p.message);
}

#[test]
fn unknown_values_name_the_valid_ones() {
    let p = problem("[[rule]]\nname = \"Q\"\nset.queue = \"tehc\"\n");
    assert_eq!(p.line, 3);
    assert!(p.message.contains("unknown queue `tehc`"), "{}", p.message);
    assert!(p.message.contains("did you mean `tech`?"), "{}", p.message);
    assert!(
        p.message.contains("general, billing, tech, account"),
        "{}",
        p.message
    );

    let p = problem("[[rule]]\nname = \"P\"\n\nset.priority = \"hihg\"\n");
    assert_eq!(p.line, 4);
    assert!(
        p.message.contains("low, normal, high, urgent"),
        "{}",
        p.message
    );

    let p = problem("[[rule]]\nname = \"A\"\nset.assign = \"bob@example.com\"\n");
    assert_eq!(p.line, 3);
    assert!(p.message.contains("alice@example.com"), "{}", p.message);
    assert!(p.message.contains("round-robin"), "{}", p.message);

    let p = problem("[[rule]]\nname = \"T\"\nset.ack = \"akc\"\n");
    assert_eq!(p.line, 3);
    assert!(
        p.message.contains("unknown template `akc`"),
        "{}",
        p.message
    );
    assert!(p.message.contains("did you mean `ack`?"), "{}", p.message);

    let p = problem("[[rule]]\nname = \"S\"\nset.sla = \"gold\"\n");
    assert_eq!(p.line, 3);
    assert!(
        p.message.contains("unknown SLA class `gold`"),
        "{}",
        p.message
    );
    assert!(p.message.contains("urgent, normal"), "{}", p.message);
}

#[test]
fn empty_template_list_means_templates_are_not_checked() {
    let mut k = known();
    k.templates.clear();
    let rs = RuleSet::parse(
        Path::new("r.toml"),
        "[[rule]]\nname = \"T\"\nset.ack = \"custom_ack\"\n",
        &k,
    );
    let c = rs.map(|r| r.classify(&Msg::default().view()));
    assert_eq!(
        c.ok().and_then(|c| c.ack),
        Some(Ack::Template("custom_ack".into()))
    );
    // An empty queue list is still checked, and says how to define one.
    k.queues.clear();
    let ps = problems_with("[[rule]]\nname = \"Q\"\nset.queue = \"tech\"\n", &k);
    assert!(ps[0].message.contains("[[queue]]"), "{}", ps[0].message);
}

#[test]
fn wrong_types_are_reported() {
    let ps = problems(
        "[[rule]]\nname = \"Types\"\nwhen.subject = 5\nwhen.new_customer = \"yes\"\nset.tags = \"money\"\nset.spam = 1\nset.ack = true\nstop = \"yes\"\nwhen.not = [ { from = 'x' } ]\n",
    );
    let at: Vec<(usize, &str)> = ps.iter().map(|p| (p.line, p.key.as_str())).collect();
    assert_eq!(
        at,
        [
            (3, "when.subject"),
            (4, "when.new_customer"),
            (5, "set.tags"),
            (6, "set.spam"),
            (7, "set.ack"),
            (8, "stop"),
            (9, "when.not"),
        ]
    );
    assert!(ps[0].message.contains("found integer"), "{}", ps[0].message);
}

#[test]
fn bad_size_expression() {
    for bad in [
        "5MB",
        "> 5XB",
        "> ",
        "> -1",
        ">> 5",
        "> 1.MB",
        "> 99999999999999999999GB",
    ] {
        let p = problem(&format!(
            "[[rule]]\nname = \"Size\"\nwhen.size = \"{bad}\"\n"
        ));
        assert_eq!(p.line, 3, "{bad}");
        assert!(p.message.contains("\"> 5MB\""), "{bad}: {}", p.message);
    }
}

#[test]
fn duplicate_names_point_at_the_second_and_name_the_first() {
    let p = problem("[[rule]]\nname = \"Same\"\n\n[[rule]]\nname = \"Same\"\n");
    assert_eq!((p.line, p.key.as_str()), (5, "name"));
    assert!(p.message.contains("line 1"), "{}", p.message);
}

#[test]
fn missing_or_empty_name() {
    let p = problem("[[rule]]\nname = \"Fine\"\n\n[[rule]]\nwhen.subject = 'x'\n");
    assert_eq!((p.line, p.key.as_str()), (4, "name"));
    assert_eq!(p.rule, "rule #2");
    assert!(p.message.contains("missing"), "{}", p.message);
    let p = problem("[[rule]]\nname = \"  \"\n");
    assert!(p.message.contains("empty"), "{}", p.message);
}

#[test]
fn toml_syntax_errors_carry_line_and_column() {
    let p = problem("[[rule]]\nname = \"A\"\nwhen.subject = 'unterminated\n");
    assert_eq!(p.line, 3);
    assert!(p.column > 1);
    assert!(p.message.starts_with("TOML syntax"), "{}", p.message);
}

#[test]
fn structural_mistakes() {
    let p = problem("[rule]\nname = \"A\"\n");
    assert!(p.message.contains("[[rule]]"), "{}", p.message);
    let p = problem("[[rules]]\nname = \"A\"\n");
    assert!(p.message.contains("did you mean `rule`?"), "{}", p.message);
    let p = problem("[[rule]]\nname = \"A\"\non = [\"replies\"]\n");
    assert!(p.message.contains("did you mean `reply`?"), "{}", p.message);
    let p = problem("[[rule]]\nname = \"A\"\non = []\n");
    assert!(p.message.contains("never run"), "{}", p.message);
    let p = problem("[[rule]]\nname = \"A\"\nwhen.any = []\n");
    assert!(p.message.contains("never match"), "{}", p.message);
    let p = problem("[[rule]]\nname = \"A\"\nwhen.header.\"Bad Name\" = 'x'\n");
    assert!(p.message.contains("not a header name"), "{}", p.message);
}

#[test]
fn every_problem_is_listed_in_file_order_in_the_error() {
    let text = "[[rule]]\nname = \"One\"\nwhen.subject = '('\nset.queue = \"nope\"\n\n[[rule]]\nname = \"Two\"\nset.priority = \"meh\"\n";
    let err = match RuleSet::parse(Path::new("config/rules.toml"), text, &known()) {
        Err(e) => e,
        Ok(_) => panic!("must fail"),
    };
    let lines: Vec<usize> = err.problems().iter().map(|p| p.line).collect();
    assert_eq!(lines, [3, 4, 8]);
    let shown = err.to_string();
    assert!(
        shown.contains("config/rules.toml:3:16: rule \"One\": when.subject: invalid regex"),
        "{shown}"
    );
    assert!(
        shown.contains("config/rules.toml:4:13: rule \"One\": set.queue: unknown queue `nope`"),
        "{shown}"
    );
    assert!(
        shown.contains("config/rules.toml:8:16: rule \"Two\": set.priority: unknown priority"),
        "{shown}"
    );
    assert!(shown.contains("3 problems"), "{shown}");
}

#[test]
fn load_reads_the_file_and_says_when_it_is_missing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("rules.toml");
    match RuleSet::load(&path, &known()) {
        Err(e @ RulesError::Missing { .. }) => {
            assert!(e.to_string().contains("does not exist"), "{e}")
        }
        other => panic!("expected Missing, got {other:?}"),
    }
    std::fs::write(&path, "[[rule]]\nname = \"A\"\n").expect("write");
    let rs = RuleSet::load(&path, &known()).expect("loads");
    assert_eq!(rs.rule_count(), 1);
}

// --- the shipped example ----------------------------------------------------

fn example() -> RuleSet {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/rules.toml");
    match RuleSet::load(&path, &known()) {
        Ok(r) => r,
        Err(e) => panic!("config/rules.toml must validate:\n{e}"),
    }
}

#[test]
fn example_config_validates_and_triages() {
    let rs = example();
    assert!(rs.rule_count() >= 10);

    let outage = rs.classify(&Msg::subject("Dashboard is down since 9am").view());
    assert_eq!(outage.priority, Some(Priority::Urgent));
    assert_eq!(outage.queue.as_deref(), Some("tech"));
    assert_eq!(outage.category.as_deref(), Some("technical"));

    let breach = Msg {
        body: "I think my account was hacked last night".into(),
        ..Msg::default()
    };
    let c = rs.classify(&breach.view());
    assert_eq!(c.priority, Some(Priority::Urgent));
    assert!(c.tags.contains(&"security".to_string()));

    let billing = rs.classify(&Msg::subject("Refund for last invoice").view());
    assert_eq!(billing.category.as_deref(), Some("billing"));
    assert_eq!(billing.queue.as_deref(), Some("billing"));
    assert_eq!(billing.ack, Some(Ack::Template("ack".into())));

    let account = rs.classify(&Msg::subject("Please reset my password").view());
    assert_eq!(account.category.as_deref(), Some("account"));

    let general = rs.classify(&Msg::subject("Question about exports").view());
    assert_eq!(general.category.as_deref(), Some("general"));

    let spam = Msg {
        subject: "outage! cheap pills".into(),
        headers: vec![("x-spam-flag".into(), "YES".into())],
        ..Msg::default()
    };
    let c = rs.classify(&spam.view());
    assert!(c.spam);
    assert_eq!(c.ack, Some(Ack::Suppressed));
    assert_eq!(c.priority, None);

    let reply = Msg {
        subject: "Re: [ACME-7] Export fails".into(),
        body: "It is still broken after your fix.".into(),
        is_reply: true,
        ..Msg::default()
    };
    let c = rs.classify(&reply.view());
    assert_eq!(c.priority, Some(Priority::High));
    assert_eq!(c.ack, None, "new-ticket rules must not run on replies");
}

// --- explain ----------------------------------------------------------------

#[test]
fn explain_text_report_shows_each_rule_and_the_result() {
    let text = r#"
[[rule]]
name = "Outages are urgent"
when.subject = '(?i)\b(down|outage)\b'
set.category = "technical"
set.priority = "urgent"
set.queue = "tech"
stop = true

[[rule]]
name = "Billing"
when.any = [ { subject = '(?i)invoice' }, { body = '(?i)credit card' } ]
set.queue = "billing"

[[rule]]
name = "Replies"
on = ["reply"]
set.priority = "high"
"#;
    let rs = rules(text);
    let m = Msg::subject("Site DOWN since noon");
    let ex = rs.explain(&m.view());
    let report = ex.to_string();
    assert!(report.contains("✓ Outages are urgent (line 2)"), "{report}");
    assert!(
        report.contains(r#"subject ~ '(?i)\b(down|outage)\b'  matched "DOWN""#),
        "{report}"
    );
    assert!(report.contains("priority = urgent"), "{report}");
    assert!(
        report.contains("stopped by \"Outages are urgent\""),
        "{report}"
    );
    assert!(report.contains("· Billing (line 10)"), "{report}");
    assert!(report.contains("– Replies (line 15)"), "{report}");
    for line in [
        "category",
        "priority",
        "queue",
        "assignee",
        "tags",
        "acknowledgement",
        "spam",
        "sla",
    ] {
        assert!(report.contains(&format!("\n  {line} ")), "{line}: {report}");
    }

    let m = Msg {
        body: "my credit card was charged twice".into(),
        ..Msg::default()
    };
    let report = rs.explain(&m.view()).to_string();
    assert!(report.contains("✗ Outages are urgent (line 2)"), "{report}");
    assert!(
        report.contains("✗ subject ~ '(?i)\\b(down|outage)\\b'  no match"),
        "{report}"
    );
    assert!(report.contains("✓ Billing (line 10)"), "{report}");
    assert!(
        report.contains(r#"any[1].body ~ '(?i)credit card'  matched "credit card""#),
        "{report}"
    );
}

#[test]
fn explain_json_shape() {
    let rs = example();
    let m = Msg::subject("Dashboard is down");
    let ex = rs.explain(&m.view());
    assert_eq!(ex.result, rs.classify(&m.view()));
    let json: serde_json::Value = serde_json::to_value(&ex).expect("serializes");
    assert_eq!(json["event"], "new");
    assert_eq!(json["stopped_by"], "Outage");
    assert_eq!(json["result"]["priority"], "urgent");
    assert_eq!(json["result"]["queue"], "tech");
    let rules = json["rules"].as_array().expect("rules array");
    assert_eq!(rules.len(), rs.rule_count());
    let outage = rules
        .iter()
        .find(|r| r["name"] == "Outage")
        .expect("Outage rule");
    assert_eq!(outage["outcome"], "applied");
    assert!(outage["line"].as_u64().unwrap_or(0) > 1);
    assert_eq!(outage["conditions"][0]["key"], "subject");
    assert_eq!(outage["conditions"][0]["held"], true);
    assert_eq!(outage["conditions"][0]["matched_text"], "down");
    let after: Vec<&str> = rules
        .iter()
        .filter(|r| r["outcome"] == "after_stop")
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert!(after.contains(&"Billing"), "{after:?}");
    // Round-trips for tools that read it back.
    let back: postdesk::rules::Explanation = serde_json::from_value(json).expect("deserializes");
    assert_eq!(back, ex);
}

#[test]
fn explain_cuts_long_matches_and_escapes_control_characters() {
    let rs = rules("[[rule]]\nname = \"Long\"\nwhen.body = 'a+'\n");
    let m = Msg {
        body: format!("\u{1b}[31m{}", "a".repeat(500)),
        ..Msg::default()
    };
    let ex = rs.explain(&m.view());
    let snippet = ex.rules[0].conditions[0]
        .matched_text
        .clone()
        .expect("matched");
    assert!(snippet.chars().count() <= 81, "{snippet}");
    assert_eq!(ex.rules[0].outcome, Outcome::Applied);
    let m = Msg {
        body: "x\u{1b}[2Jaaa".into(),
        ..Msg::default()
    };
    let rs = rules("[[rule]]\nname = \"Esc\"\nwhen.body = 'x.\\[2J'\n");
    let report = rs.explain(&m.view()).to_string();
    assert!(!report.contains('\u{1b}'), "{report:?}");
}

// --- hostile input and scale ------------------------------------------------

#[test]
fn a_one_megabyte_subject_is_handled() {
    let rs = example();
    let m = Msg {
        subject: format!("{}outage", "x ".repeat(512 * 1024)),
        body: "y".repeat(1 << 20),
        ..Msg::default()
    };
    let c = rs.classify(&m.view());
    assert_eq!(c.priority, Some(Priority::Urgent));
    let ex = rs.explain(&m.view());
    assert_eq!(ex.result, c);
}

#[test]
fn many_rules_on_one_field_still_evaluate_exactly() {
    let mut text = String::new();
    for i in 0..600 {
        text.push_str(&format!(
            "[[rule]]\nname = \"R{i}\"\nwhen.subject = '(?i)\\bword{i}\\b'\nset.tags = [\"t{i}\"]\n\n"
        ));
    }
    let rs = rules(&text);
    let c = rs.classify(&Msg::subject("about WORD17 and word599, not word6000").view());
    assert_eq!(c.matched, ["R17", "R599"]);
    assert_eq!(c.tags, ["t17", "t599"]);
}

#[test]
fn rule_sets_are_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync + Clone>() {}
    assert_send_sync::<RuleSet>();
    let rs = example();
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let rs = rs.clone();
            std::thread::spawn(move || {
                rs.classify(&Msg::subject("invoice").view())
                    .category
                    .clone()
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().ok().flatten().as_deref(), Some("billing"));
    }
}

#[test]
fn from_inbound_builds_a_view() {
    let raw = b"From: Carol <Carol@Customer.test>\r\nTo: support@example.com\r\nCc: Boss <boss@customer.test>\r\nSubject: Server down\r\nX-Spam-Flag: NO\r\nMessage-ID: <a@b>\r\n\r\nHelp!\r\n";
    let msg = postdesk::mail::parse(raw).expect("parses");
    let lists = postdesk::rules::ViewLists::of(&msg);
    let view = MessageView::from_inbound(&msg, &lists, "main", "Help!", true, false);
    assert_eq!(view.from, "carol@customer.test");
    assert_eq!(view.cc, ["boss@customer.test"]);
    let rs = rules(
        "[[rule]]\nname = \"A\"\nwhen.cc = '^boss@'\nwhen.header.x-spam-flag = 'NO'\nwhen.new_customer = true\nwhen.body = 'Help'\nset.tags = [\"x\"]\n",
    );
    assert_eq!(rs.classify(&view).matched, ["A"]);
}

/// The fast path rewrites word boundaries and masks non-ASCII letters (see
/// src/rules/boundary.rs); `explain` runs each exact regex on the text as
/// is. On text built to hit every corner they must agree rule for rule.
#[test]
fn fast_path_agrees_with_exact_regexes_on_tricky_text() {
    let patterns = [
        r"(?i)\b(caf|café|cafe)\b",
        r"\bgrüße\b",
        r"(?i)\bkey\b",
        r"(?i)\bss?\b",
        r"\b\w+_\w+\b",
        r"\b\d+\b",
        r"\bé",
        r"é\b",
        r"\B_\B",
        r"(?i)\b(down|outage)\b",
        r"\bfoo.bar\b",
        r"[^a-z]\bx",
        r"\b{start}über",
        r"über\b{end}",
        r"(?i)k.y",
        r"x\B",
        r"\<word\>",
        r"_\b",
        r"\b_",
        r".\b.",
        r"\s\b\S",
        r"\w\b\W",
        r"(?i)straße",
        r"\bi\b",
        r"(?i)\b(ab|x) (is|was) (y|z)\b",
        r"(?i)^\s*yes\b",
        r"\b[a-c]+\b",
        r"(?i)\b[^a-z ]{2}\b",
        r"foo",
        r"\d",
        r"\bkey\b",
        r"(?i)k(?-i)ey",
        r"(?i)\b[^a-j]ey\b",
        r"[^a-z]ey",
    ];
    let tokens = [
        "café",
        "cafe",
        "caf",
        "é",
        "über",
        "grüße",
        "key",
        "\u{212A}ey",
        "\u{17F}",
        "s",
        "ss",
        "foo_bar",
        "日本",
        "x",
        "_",
        "1",
        "٣",
        "’",
        "—",
        " ",
        " ",
        " ",
        "\u{a0}",
        "down",
        "OUTAGE",
        "word",
        "foo",
        "bar",
        ".",
        "straße",
        "i",
        "ı",
        "\n",
        "ab",
        "is",
        "y",
        "yes",
        "abc",
        "Ω",
        "🙂",
        "-",
    ];
    let mut text = String::new();
    for (i, p) in patterns.iter().enumerate() {
        for field in ["subject", "body"] {
            text.push_str(&format!(
                "[[rule]]\nname = \"{field} {i}\"\nwhen.{field} = '{p}'\n\n"
            ));
        }
    }
    let rs = rules(&text);
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for round in 0..4000 {
        let mut piece = || {
            let n = 1 + next() % 8;
            (0..n)
                .map(|_| tokens[(next() % tokens.len() as u64) as usize])
                .collect::<String>()
        };
        let m = Msg {
            subject: piece(),
            body: format!("{}{}", piece(), piece()),
            ..Msg::default()
        };
        let fast = rs.classify(&m.view()).matched;
        let exact = rs.explain(&m.view()).result.matched;
        assert_eq!(fast, exact, "round {round}: {:?} / {:?}", m.subject, m.body);
    }
}

// --- sentiment ---------------------------------------------------------------

const ANGRY: &str = "This is the third time I write. Unacceptable!!! I want my money back.";

#[test]
fn sentiment_matches_the_mood_of_what_the_sender_wrote() {
    let angry = Msg {
        body: ANGRY.into(),
        ..Msg::default()
    };
    let happy = Msg {
        body: "Thank you so much for the great support!".into(),
        ..Msg::default()
    };
    let calm = Msg::default();
    assert!(matches("when.sentiment = \"negative\"", &angry));
    assert!(!matches("when.sentiment = \"negative\"", &calm));
    assert!(!matches("when.sentiment = \"negative\"", &happy));
    assert!(matches("when.sentiment = \"positive\"", &happy));
    assert!(matches("when.sentiment = \"neutral\"", &calm));
    assert!(matches("when.sentiment = \" Negative \"", &angry));
    assert!(matches("when.not = { sentiment = \"positive\" }", &angry));
    // German, in the subject of a new message.
    let german = Msg::subject("Frechheit! Ich will kündigen");
    assert!(matches("when.sentiment = \"negative\"", &german));
    // The subject of a reply is the ticket's, not the customer's words.
    let reply = Msg {
        is_reply: true,
        ..german
    };
    let text = "[[rule]]\nname = \"R\"\non = [\"reply\"]\nwhen.sentiment = \"negative\"\nset.tags = [\"hit\"]\n";
    assert!(classify(text, &reply).matched.is_empty());
}

#[test]
fn sentiment_reads_only_the_senders_own_text() {
    // The body still quotes an angry earlier mail; what the sender wrote
    // now (the stripped text) is calm.
    let quoted = format!("Thanks, all good now.\n\nOn Monday Carol wrote:\n> {ANGRY}\n");
    let m = Msg {
        body: quoted,
        ..Msg::default()
    };
    let rs = rules(
        "[[rule]]\nname = \"Angry\"\nwhen.sentiment = \"negative\"\nset.priority = \"high\"\n",
    );
    assert!(rs.reads_own_text());
    let view = MessageView {
        own_text: "Thanks, all good now.",
        ..m.view()
    };
    assert_eq!(rs.classify(&view).priority, None);
    assert_eq!(rs.explain(&view).result.priority, None);
    let view = MessageView {
        own_text: ANGRY,
        ..m.view()
    };
    assert_eq!(rs.classify(&view).priority, Some(Priority::High));
    assert!(!rules("[[rule]]\nname = \"A\"\nwhen.subject = 'x'\n").reads_own_text());
}

#[test]
fn sentiment_values_are_checked_with_line_numbers() {
    let p = problem("[[rule]]\nname = \"R\"\nwhen.sentiment = \"negativ\"\nset.tags = [\"x\"]\n");
    assert_eq!((p.line, p.key.as_str()), (3, "when.sentiment"));
    assert!(
        p.message.contains("did you mean `negative`"),
        "{}",
        p.message
    );
    let p = problem("[[rule]]\nname = \"R\"\nwhen.sentiment = \"furious\"\n");
    assert!(
        p.message.contains("negative") && p.message.contains("positive"),
        "{}",
        p.message
    );
    let p = problem("[[rule]]\nname = \"R\"\nwhen.any = [ { sentiment = true } ]\n");
    assert_eq!((p.line, p.key.as_str()), (3, "when.any[0].sentiment"));
    assert!(p.message.contains("found boolean"), "{}", p.message);
    let p = problem("[[rule]]\nname = \"R\"\nwhen.sentimen = \"negative\"\n");
    assert!(
        p.message.contains("did you mean `sentiment`"),
        "{}",
        p.message
    );
}

#[test]
fn explain_shows_the_sentiment_score_and_the_deciding_words() {
    let rs = rules(
        "[[rule]]\nname = \"Angry\"\nwhen.sentiment = \"negative\"\nset.priority = \"high\"\n",
    );
    let m = Msg {
        body: format!("{ANGRY}\u{1b}[2J"),
        ..Msg::default()
    };
    let ex = rs.explain(&m.view());
    let reading = ex.sentiment.as_ref().expect("a reading");
    assert_eq!(reading.sentiment.to_string(), "negative");
    let words: Vec<&str> = reading.evidence.iter().map(|e| e.text.as_str()).collect();
    assert!(words.contains(&"third time"), "{words:?}");
    assert!(words.contains(&"Unacceptable"), "{words:?}");
    let text = ex.to_string();
    assert!(
        text.contains("✓ sentiment = negative  (is negative, score -"),
        "{text}"
    );
    assert!(
        text.contains("Sentiment        negative (score -"),
        "{text}"
    );
    assert!(text.contains("\"Unacceptable\""), "{text}");
    assert!(!text.contains('\u{1b}'), "{text}");
    let json = serde_json::to_value(&ex).expect("serializes");
    assert_eq!(json["sentiment"]["sentiment"], "negative");
    assert!(json["sentiment"]["score"].as_f64().unwrap_or(0.0) < -2.0);
    let back: postdesk::rules::Explanation = serde_json::from_value(json).expect("deserializes");
    assert_eq!(back, ex);
    // A calm message says so.
    let text = rs.explain(&Msg::default().view()).to_string();
    assert!(
        text.contains("Sentiment        neutral (score 0.0"),
        "{text}"
    );
    assert!(text.contains("no words of feeling"), "{text}");
}

#[test]
fn the_example_raises_an_upset_customer() {
    let rs = example();
    let angry = Msg {
        subject: "Export question".into(),
        body: ANGRY.into(),
        ..Msg::default()
    };
    let c = rs.classify(&angry.view());
    assert_eq!(c.priority, Some(Priority::High));
    assert!(c.tags.contains(&"upset".to_string()), "{c:?}");
    let reply = Msg {
        is_reply: true,
        subject: "Re: [ACME-7] Export question".into(),
        ..angry
    };
    assert!(rs
        .classify(&reply.view())
        .tags
        .contains(&"upset".to_string()));
    let calm = rs.classify(&Msg::subject("Export question").view());
    assert!(!calm.tags.contains(&"upset".to_string()), "{calm:?}");
}
