//! Cost of classifying one message as the rule file grows: 10, 100, 500 and
//! 1,000 generated rules (word-list regexes on subject, body and sender, some
//! `any`/`not`, headers, attachments and sizes) over 20 messages of 1-10 KB:
//! most with curly quotes and dashes, a quarter with non-ASCII letters
//! (German, French, Spanish, Japanese), as real mail has. Reported as
//! messages per second (one core).
//! Also the one-off cost of compiling the largest file, and `explain`.

use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use postdesk::rules::{Known, MessageView, RuleSet};

/// Words customers write and admins put in rules.
const WORDS: &[&str] = &[
    "invoice",
    "refund",
    "charge",
    "payment",
    "receipt",
    "subscription",
    "billing",
    "credit",
    "card",
    "plan",
    "upgrade",
    "downgrade",
    "cancel",
    "renewal",
    "discount",
    "coupon",
    "tax",
    "vat",
    "password",
    "login",
    "signin",
    "account",
    "username",
    "email",
    "profile",
    "delete",
    "export",
    "import",
    "sync",
    "backup",
    "restore",
    "upload",
    "download",
    "attachment",
    "pdf",
    "csv",
    "report",
    "dashboard",
    "chart",
    "graph",
    "widget",
    "api",
    "token",
    "webhook",
    "integration",
    "slack",
    "calendar",
    "mobile",
    "android",
    "iphone",
    "browser",
    "chrome",
    "firefox",
    "safari",
    "windows",
    "linux",
    "mac",
    "crash",
    "error",
    "bug",
    "broken",
    "slow",
    "timeout",
    "outage",
    "down",
    "latency",
    "freeze",
    "hang",
    "blank",
    "missing",
    "wrong",
    "duplicate",
    "permission",
    "access",
    "denied",
    "forbidden",
    "invite",
    "team",
    "member",
    "admin",
    "role",
    "security",
    "phishing",
    "breach",
    "hacked",
    "spam",
    "virus",
    "gdpr",
    "privacy",
    "contract",
    "legal",
    "trial",
    "demo",
    "pricing",
    "quote",
    "order",
    "shipping",
    "delivery",
    "tracking",
    "return",
    "exchange",
    "warranty",
    "license",
    "seat",
    "migration",
    "onboarding",
    "training",
    "feature",
    "request",
    "feedback",
    "roadmap",
    "beta",
    "release",
    "update",
    "version",
    "install",
    "setup",
    "configure",
    "settings",
    "notification",
    "reminder",
    "schedule",
    "timezone",
    "language",
    "translation",
    "search",
    "filter",
    "sort",
    "print",
];

/// Tiny deterministic generator: the same rules and messages every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn word(&mut self) -> &'static str {
        WORDS[self.below(WORDS.len())]
    }
    /// `lo` to `lo + spread - 1` words joined with `|`.
    fn words(&mut self, lo: usize, spread: usize) -> String {
        let n = lo + self.below(spread);
        (0..n).map(|_| self.word()).collect::<Vec<_>>().join("|")
    }
}

fn rule_file(n: usize) -> String {
    let mut r = Rng(0x9E37_79B9_7F4A_7C15 ^ n as u64);
    let queues = ["general", "billing", "tech", "account"];
    let priorities = ["low", "normal", "high", "urgent"];
    let mut out = String::new();
    for i in 0..n {
        out.push_str(&format!("[[rule]]\nname = \"rule {i}\"\n"));
        if i % 13 == 7 {
            out.push_str("on = [\"new\", \"reply\"]\n");
        }
        match i % 10 {
            0..=2 => out.push_str(&format!(
                "when.subject = '(?i)\\b({})\\b'\n",
                r.words(3, 4)
            )),
            3 | 4 => out.push_str(&format!(
                "when.body = '(?i)\\b({})\\b'\n",
                r.words(2, 4)
            )),
            5 => out.push_str(&format!(
                "when.any = [ {{ subject = '(?i)\\b({})\\b' }}, {{ body = '(?i)\\b({}) (is|was) ({})\\b' }} ]\n",
                r.words(3, 1),
                r.words(2, 1),
                r.words(2, 1)
            )),
            6 => out.push_str(&format!(
                "when.from = '@(customer{}|client{})\\.test$'\nwhen.text = '(?i)\\b({})\\b'\n",
                r.below(50),
                r.below(50),
                r.words(2, 1)
            )),
            7 => out.push_str(&format!(
                "when.text = '(?i)\\b({})\\b'\nwhen.not = {{ from = '@(example|partner{})\\.com$' }}\n",
                r.words(4, 1),
                r.below(9)
            )),
            8 => out.push_str(&format!(
                "when.header.x-priority = '^\\s*{}'\nwhen.subject = '(?i){}'\n",
                1 + r.below(3),
                r.word()
            )),
            _ => match i % 3 {
                0 => out.push_str(&format!(
                    "when.attachment = '(?i)\\.({}|log|pdf)$'\n",
                    ["har", "txt", "csv", "png"][r.below(4)]
                )),
                1 => out.push_str(&format!(
                    "when.size = \"> {}KB\"\nwhen.body = '(?i)\\b{}\\b'\n",
                    4 + r.below(8),
                    r.word()
                )),
                _ => out.push_str(&format!(
                    "when.header.\"X-Mailer\" = '(?i){}'\n",
                    ["outlook", "thunderbird", "iphone", "gmail"][r.below(4)]
                )),
            },
        }
        match r.below(4) {
            0 => out.push_str(&format!("set.queue = \"{}\"\n", queues[r.below(4)])),
            1 => out.push_str(&format!("set.priority = \"{}\"\n", priorities[r.below(4)])),
            2 => out.push_str(&format!("set.category = \"c{}\"\n", r.below(20))),
            _ => {}
        }
        out.push_str(&format!("set.tags = [\"t{}\"]\n", r.below(200)));
        if i % 97 == 96 {
            out.push_str("stop = true\n");
        }
        out.push('\n');
    }
    out
}

/// One message, owned; `view()` borrows it the way intake would.
struct Msg {
    from: String,
    to: Vec<String>,
    subject: String,
    body: String,
    headers: Vec<(String, String)>,
    attachments: Vec<String>,
    size: usize,
    is_reply: bool,
}

impl Msg {
    fn view(&self) -> MessageView<'_> {
        MessageView {
            from: &self.from,
            to: &self.to,
            cc: &[],
            subject: &self.subject,
            body: &self.body,
            headers: &self.headers,
            inbox: "main",
            attachments: &self.attachments,
            size: self.size,
            new_customer: false,
            is_reply: self.is_reply,
            own_text: &self.body,
        }
    }
}

fn messages() -> Vec<Msg> {
    let mut r = Rng(0x2545_F491_4F6C_DD1D);
    let filler = [
        "Hello support team,",
        "I hope you are well.",
        "since this morning the page shows an error and then nothing.",
        "We tried two browsers — Chrome and Firefox — and cleared the cache.",
        "It’s blocking our team, so we’d appreciate a quick reply.",
        "Could you please have a look?",
        "Our finance department asked me to follow up on this.",
        "It worked fine last week.",
        "Thanks in advance for your help.",
        "Kind regards,",
    ];
    let non_ascii = [
        "Grüße aus München — danke!",
        "Merci beaucoup, c’est très gênant.",
        "Saludos, José",
        "ありがとうございます。",
    ];
    (0..20)
        .map(|i| {
            let target = 1024 + (i * 9 * 1024) / 19; // 1 KB .. 10 KB
            let mut body = String::new();
            while body.len() < target {
                body.push_str(filler[r.below(filler.len())]);
                body.push(' ');
                if r.below(4) == 0 {
                    body.push_str(&format!("The {} {} ", r.word(), r.word()));
                }
                if r.below(12) == 0 {
                    body.push_str("\n\n");
                }
            }
            if i % 4 == 0 {
                body.push_str(non_ascii[i / 4 % non_ascii.len()]);
            }
            let is_reply = i % 3 == 2;
            let subject = format!(
                "{}{} {} {}",
                if is_reply { "Re: [ACME-1042] " } else { "" },
                ["Problem with", "Question about", "Help:", "Urgent:"][r.below(4)],
                r.word(),
                r.word()
            );
            let from = format!("person{}@customer{}.test", r.below(100), r.below(60));
            let mut headers = vec![
                (
                    "received".to_string(),
                    "from mx.customer.test by mx.desk.test".to_string(),
                ),
                (
                    "received".to_string(),
                    "from laptop by mx.customer.test".to_string(),
                ),
                ("from".to_string(), from.clone()),
                ("to".to_string(), "support@example.com".to_string()),
                ("subject".to_string(), subject.clone()),
                ("message-id".to_string(), format!("<m{i}@customer.test>")),
                (
                    "date".to_string(),
                    "Sun, 22 Nov 2026 10:00:00 +0000".to_string(),
                ),
                ("mime-version".to_string(), "1.0".to_string()),
                (
                    "content-type".to_string(),
                    "text/plain; charset=utf-8".to_string(),
                ),
                (
                    "x-mailer".to_string(),
                    ["Outlook 16", "Thunderbird 128", "iPhone Mail"][i % 3].to_string(),
                ),
                (
                    "dkim-signature".to_string(),
                    "v=1; a=rsa-sha256; d=customer.test; b=abc".to_string(),
                ),
            ];
            if i % 5 == 0 {
                headers.push(("x-priority".to_string(), "1 (Highest)".to_string()));
            }
            let attachments = if i % 4 == 1 {
                vec!["screenshot.png".to_string(), "console.log".to_string()]
            } else {
                Vec::new()
            };
            Msg {
                size: body.len() + 900 + attachments.len() * 40_000,
                from,
                to: vec!["support@example.com".to_string()],
                subject,
                body,
                headers,
                attachments,
                is_reply,
            }
        })
        .collect()
}

fn known() -> Known {
    let s = |xs: &[&str]| xs.iter().map(|x| x.to_string()).collect();
    Known {
        queues: s(&["general", "billing", "tech", "account"]),
        agents: s(&["alice@example.com"]),
        templates: Vec::new(),
        sla_classes: s(&["urgent", "normal"]),
    }
}

fn compile(n: usize) -> RuleSet {
    match RuleSet::parse(Path::new("bench.toml"), &rule_file(n), &known()) {
        Ok(rs) => rs,
        Err(e) => panic!("generated rules must compile:\n{e}"),
    }
}

fn bench(c: &mut Criterion) {
    let msgs = messages();
    let mut g = c.benchmark_group("rules/classify");
    g.throughput(Throughput::Elements(msgs.len() as u64));
    for n in [10, 100, 500, 1000] {
        let rs = compile(n);
        let matched: usize = msgs
            .iter()
            .map(|m| rs.classify(&m.view()).matched.len())
            .sum();
        eprintln!(
            "{n} rules: {matched} rule matches over {} messages",
            msgs.len()
        );
        g.bench_with_input(BenchmarkId::from_parameter(n), &rs, |b, rs| {
            b.iter(|| {
                for m in &msgs {
                    black_box(rs.classify(black_box(&m.view())));
                }
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("rules/other");
    g.sample_size(10);
    let text = rule_file(1000);
    g.bench_function("compile_1000", |b| {
        b.iter(|| RuleSet::parse(Path::new("bench.toml"), black_box(&text), &known()).is_ok())
    });
    let rs = compile(100);
    g.throughput(Throughput::Elements(msgs.len() as u64));
    g.bench_function("explain_100", |b| {
        b.iter(|| {
            for m in &msgs {
                black_box(rs.explain(&m.view()));
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
