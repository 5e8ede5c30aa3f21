//! `postdesk stats` against a desk whose history is built here, on a clock
//! of the test's own, with every expected number worked out by hand below;
//! and the HTML report rendered in headless Chromium.

mod common;

use chrono::{DateTime, TimeZone, Utc};
use common::{mail, Options, TestDesk};
use postdesk::decide::Mode;
use postdesk::desk::Desk;
use serde_json::{json, Value};

const CONFIG: &str = r#"
[[agent]]
email = "alice@desk.test"
name = "Alice"
queues = ["general", "billing"]

[[agent]]
email = "bob@desk.test"
name = "Bob"
queues = ["billing"]

[[organization]]
name = "Customer Corp"
domains = ["customer.test"]

[[queue]]
name = "general"

[[queue]]
name = "billing"

[sla.high]
first_response = "1h"
resolution = "8h"
"#;

const RULES: &str = r#"
[[rule]]
name = "Spam"
when.subject = '(?i)viagra'
set.spam = true
stop = true

[[rule]]
name = "Billing"
when.subject = '(?i)invoice'
set.category = "billing"
set.queue = "billing"
set.tags = ["money"]

[[rule]]
name = "Outage"
when.subject = '(?i)\b(down|outage)\b'
set.category = "technical"
set.priority = "high"
set.tags = ["outage"]
"#;

fn at(d: u32, h: u32, m: u32) -> DateTime<Utc> {
    // March 2026: the 2nd is a Monday. Days from 20 on are in February.
    if d >= 20 {
        Utc.with_ymd_and_hms(2026, 2, d, h, m, 0).unwrap()
    } else {
        Utc.with_ymd_and_hms(2026, 3, d, h, m, 0).unwrap()
    }
}

/// Replays events in time order, firing due timers before each one as the
/// daemon's timer loop would.
struct Replay {
    d: Desk,
    n: u32,
}

impl Replay {
    fn timers(&self, now: DateTime<Utc>) {
        self.d.run_timers(now).expect("timers run");
    }

    fn ingest(&mut self, now: DateTime<Utc>, raw: String) {
        self.timers(now);
        self.d
            .ingest_at(raw.as_bytes(), Some("main"), "test", Mode::Live, now)
            .expect("stored");
        self.d.flush().expect("flushed");
    }

    /// A customer opens a ticket.
    fn open(&mut self, now: DateTime<Utc>, from: &str, subject: &str) {
        self.n += 1;
        let raw = mail(
            from,
            subject,
            &format!("m{}@customer.test", self.n),
            "",
            "Hello, please help.",
        );
        self.ingest(now, String::from_utf8(raw).unwrap());
    }

    /// A customer writes again in ticket `r`.
    fn customer(&mut self, now: DateTime<Utc>, from: &str, r: &str, text: &str) {
        self.n += 1;
        let raw = mail(
            from,
            &format!("Re: [{r}] more"),
            &format!("m{}@customer.test", self.n),
            "",
            text,
        );
        self.ingest(now, String::from_utf8(raw).unwrap());
    }

    /// Alice answers ticket `r` through her own token.
    fn alice(&mut self, now: DateTime<Utc>, r: &str, text: &str) {
        self.n += 1;
        let token = self
            .d
            .signer()
            .agent_address("support@desk.test", r, "alice@desk.test", false);
        let raw = format!(
            "From: Alice <alice@desk.test>\r\nTo: {token}\r\nSubject: Re: [{r}]\r\nMessage-ID: <a{}@desk.test>\r\n\r\n{text}\r\n",
            self.n
        );
        self.ingest(now, raw);
    }

    /// A one-click survey rating.
    fn rate(&mut self, now: DateTime<Utc>, from: &str, r: &str, score: u32) {
        self.n += 1;
        let to = self
            .d
            .signer()
            .survey_address("support@desk.test", r, score);
        let raw = format!(
            "From: {from}\r\nTo: {to}\r\nSubject: Rating {score} [{r}]\r\nMessage-ID: <r{}@customer.test>\r\n\r\n",
            self.n
        );
        self.ingest(now, raw);
    }
}

/// The fixture desk (times UTC; the desk's zone is Europe/Berlin, UTC+1
/// in early March). "now" is Mon 9 March 00:00; `--since 7d` starts the
/// window on Mon 2 March 00:00. SLA: normal first response 4h (the test
/// desk's default), high first response 1h and resolution 8h.
///
/// | ticket | customer | opened | rule | what happens |
/// |---|---|---|---|---|
/// | ACME-1 | bob | Fri 27 Feb 10:00 | – | never answered: FR target missed; before the window |
/// | ACME-2 | ann | Mon 2 09:00 | billing | Alice answers and resolves 10:30 (FR 1h30, res 1h30); rated 5 Tue 08:00 |
/// | ACME-3 | carl | Mon 2 09:30 | billing | Alice 11:30 (FR 2h); carl Tue 09:00; Alice resolves Tue 10:00 (res 24h30, 2 answers); rated 2 Wed 09:00 |
/// | ACME-4 | dora | Tue 3 10:00 | outage, high | Alice answers and resolves 12:00 (FR 2h: 1h target missed; res 2h); rated 4 Wed 10:00 |
/// | ACME-5 | erik | Wed 4 08:00 | outage, high | Alice 08:30 (FR 30m); erik 09:00; Alice `#status resolved` only 10:00; erik reopens Thu 09:00; Alice answers and resolves Thu 10:00 (res 26h, 2 answers, reopened) |
/// | ACME-6 | fay | Thu 5 15:00 | billing | never answered: FR missed |
/// | ACME-7 | gus | Fri 6 09:00 | – | Alice 09:45 (FR 45m); pending |
/// | ACME-8 | hal | Sat 7 13:00 | spam | left out |
/// | ACME-9 | ivy | Sat 7 20:00 | – | Alice answers and closes Sun 08:00 (FR 12h: 4h missed; res 12h) |
/// | ACME-10 | ann | Sun 8 18:00 | billing | never answered: FR missed at 22:00 |
fn fixture() -> (TestDesk, DateTime<Utc>) {
    let t = TestDesk::with(Options {
        extra: format!("{CONFIG}\n"),
        rules: RULES.into(),
        ..Options::default()
    });
    // desk.timezone lives in [desk]: append it there.
    let text = std::fs::read_to_string(&t.config_path).unwrap().replace(
        "admin = \"admin@desk.test\"",
        "admin = \"admin@desk.test\"\ntimezone = \"Europe/Berlin\"",
    );
    std::fs::write(&t.config_path, text).unwrap();
    let mut r = Replay {
        d: Desk::open(t.config()).expect("desk opens"),
        n: 0,
    };
    let c = |n: &str| format!("{n}@customer.test");
    r.open(at(27, 10, 0), &c("bob"), "Printer on fire");
    r.open(at(2, 9, 0), &c("ann"), "Invoice 1001 missing");
    r.open(at(2, 9, 30), &c("carl"), "Invoice 2002 missing");
    r.alice(
        at(2, 10, 30),
        "ACME-2",
        "#assign me\n#status resolved\n#time 25m\nHere it is, attached.",
    );
    r.alice(at(2, 11, 30), "ACME-3", "#assign me\nLooking into it.");
    r.rate(at(3, 8, 0), &c("ann"), "ACME-2", 5);
    r.customer(at(3, 9, 0), &c("carl"), "ACME-3", "Still missing.");
    r.alice(at(3, 10, 0), "ACME-3", "#status resolved\nFound it, sorry.");
    // The one angry first message of the week.
    r.open(
        at(3, 10, 0),
        &c("dora"),
        "Site is down again, this is unacceptable!!!",
    );
    r.alice(
        at(3, 12, 0),
        "ACME-4",
        "#assign me\n#status resolved\nBack up.",
    );
    r.open(at(4, 8, 0), &c("erik"), "Outage in EU");
    r.alice(at(4, 8, 30), "ACME-5", "#assign me\nWe are on it.");
    r.customer(at(4, 9, 0), &c("erik"), "ACME-5", "Thanks, works now.");
    r.rate(at(4, 9, 0), &c("carl"), "ACME-3", 2);
    r.rate(at(4, 10, 0), &c("dora"), "ACME-4", 4);
    r.alice(at(4, 10, 0), "ACME-5", "#status resolved");
    r.customer(at(5, 9, 0), &c("erik"), "ACME-5", "It is broken again.");
    r.alice(
        at(5, 10, 0),
        "ACME-5",
        "#status resolved\n#time 1h30m\nFixed for good.",
    );
    r.open(at(5, 15, 0), &c("fay"), "Invoice 3003 missing");
    r.open(at(6, 9, 0), &c("gus"), "How do I export data?");
    r.alice(at(6, 9, 45), "ACME-7", "Use the export button.");
    r.open(at(7, 13, 0), &c("hal"), "Cheap viagra");
    r.open(at(7, 20, 0), &c("ivy"), "Password reset");
    r.alice(
        at(8, 8, 0),
        "ACME-9",
        "#assign me\n#status closed\nDone, check your mail.",
    );
    r.open(at(8, 18, 0), &c("ann"), "Invoice 4004 missing");
    let now = at(9, 0, 0);
    r.timers(now);
    (t, now)
}

fn stats_json(t: &TestDesk, args: &[&str]) -> Value {
    let mut all = vec!["stats", "--json", "--now", "2026-03-09T00:00:00Z"];
    all.extend_from_slice(args);
    let out = t.run(&all);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stats --json is JSON")
}

fn bands(counts: [usize; 7]) -> Value {
    let labels = [
        ("< 15m", json!(900)),
        ("15m–1h", json!(3600)),
        ("1–4h", json!(14400)),
        ("4–8h", json!(28800)),
        ("8–24h", json!(86400)),
        ("1–3d", json!(259200)),
        ("≥ 3d", Value::Null),
    ];
    Value::Array(
        labels
            .iter()
            .zip(counts)
            .map(|((l, b), c)| json!({"label": l, "below_secs": b, "count": c}))
            .collect(),
    )
}

#[test]
fn stats_json_matches_the_hand_computed_fixture() {
    let (t, _now) = fixture();
    let s = stats_json(&t, &["--since", "7d"]);

    // Created in the window: ACME-2..10 less ACME-8 (spam) = 8; ACME-1 is
    // older. Resolved or closed in the window: 2, 3, 4, 5, 9.
    assert_eq!(s["since"], "2026-03-02T00:00:00Z");
    assert_eq!(s["timezone"], "Europe/Berlin");
    assert_eq!(
        s["tickets"],
        json!({"created": 8, "resolved": 5, "spam": 1})
    );

    // First responses (s): 2: 5400, 3: 7200, 4: 7200, 5: 1800, 7: 2700,
    // 9: 43200. Sorted 1800 2700 5400 7200 7200 43200: median = 3rd of 6 =
    // 5400, p90 = 6th = 43200, mean 67500/6 = 11250.
    assert_eq!(
        s["first_response"],
        json!({"count": 6, "median_secs": 5400, "p90_secs": 43200, "average_secs": 11250,
               "distribution": bands([0, 2, 3, 0, 1, 0, 0])})
    );
    // Resolution (s): 2: 5400, 3: 88200 (Mon 09:30 to Tue 10:00), 4: 7200,
    // 5: 93600 (Wed 08:00 to Thu 10:00, the last resolution), 9: 43200
    // (closed straight away). Median = 3rd of 5 = 43200, p90 = 5th = 93600,
    // mean 237600/5 = 47520.
    assert_eq!(
        s["resolution"],
        json!({"count": 5, "median_secs": 43200, "p90_secs": 93600, "average_secs": 47520,
               "distribution": bands([0, 0, 2, 0, 1, 2, 0])})
    );
    // Ratings 5, 2, 4: mean 3.667; good (4 or 5) 2 of 3.
    assert_eq!(
        s["csat"],
        json!({"ratings": 3, "scale": 5, "average": 3.667, "good_share": 0.667,
               "good_from": 4, "by_score": [0, 1, 0, 1, 1]})
    );
    // Answered and resolved: 2 (1 answer), 3 (2), 4 (1), 5 (2, reopened),
    // 9 (1): 3 of 5 at first contact.
    assert_eq!(
        s["first_contact_resolution"],
        json!({"eligible": 5, "first_contact": 3, "rate": 0.6})
    );
    // All five have targets; 4 (1h) and 9 (4h) missed their first response.
    assert_eq!(
        s["sla"],
        json!({"tickets": 5, "met": 3, "breached": 2, "attainment": 0.6,
               "breaches": {"first_response": 2, "next_response": 0, "resolution": 0}})
    );
    // Open now: 1 (new, general, 9d14h), 6 (new, billing, 3d9h), 7 (pending,
    // general, 2d15h), 10 (new, billing, 6h). Ages 21600 226800 291600
    // 828000: median = 2nd = 226800. 1, 6 and 10 missed their target.
    assert_eq!(
        s["backlog"],
        json!({
            "open": 4,
            "by_status": {"new": 3, "open": 0, "pending": 1},
            "by_queue": {"billing": 2, "general": 2},
            "by_priority": {"high": 0, "low": 0, "normal": 4, "urgent": 0},
            "median_age_secs": 226800,
            "oldest_age_secs": 828000,
            "oldest": "ACME-1",
            "age": [
                {"label": "< 1d", "below_secs": 86400, "count": 1},
                {"label": "1–3d", "below_secs": 259200, "count": 1},
                {"label": "3–7d", "below_secs": 604800, "count": 1},
                {"label": "7–30d", "below_secs": 2592000, "count": 1},
                {"label": "≥ 30d", "below_secs": null, "count": 0}
            ],
            "sla_breached": 3
        })
    );
    // Berlin hours: 2 and 3 Mon 10:00; 4 Tue 11; 5 Wed 09; 6 Thu 16; 7 Fri
    // 10; 9 Sat 21; 10 Sun 19.
    let mut heat = vec![vec![0; 24]; 7];
    for (d, h) in [
        (0, 10),
        (0, 10),
        (1, 11),
        (2, 9),
        (3, 16),
        (4, 10),
        (5, 21),
        (6, 19),
    ] {
        heat[d][h] += 1;
    }
    assert_eq!(s["peak"]["hour_of_week"], json!(heat));
    assert_eq!(
        s["peak"]["busiest"],
        json!([{"day": "Mon", "hour": 10, "count": 2}, {"day": "Tue", "hour": 11, "count": 1},
               {"day": "Wed", "hour": 9, "count": 1}])
    );
    // Per Berlin day, 2 to 9 March: created 2 1 1 1 1 1 1 0; resolved 1 2 0
    // 1 0 0 1 0; ratings: the 3rd one (5), the 4th two (2 and 4).
    let created = [2, 1, 1, 1, 1, 1, 1, 0];
    let resolved = [1, 2, 0, 1, 0, 0, 1, 0];
    let points: Vec<Value> = (0..8)
        .map(|i| {
            let (ratings, avg) = match i {
                1 => (1, json!(5.0)),
                2 => (2, json!(3.0)),
                _ => (0, Value::Null),
            };
            json!({"start": format!("2026-03-{:02}", i + 2), "created": created[i],
                   "resolved": resolved[i], "ratings": ratings, "csat_average": avg})
        })
        .collect();
    assert_eq!(s["volume"], json!({"bucket": "day", "points": points}));
    assert_eq!(
        s["top_categories"],
        json!([{"name": "billing", "count": 4}, {"name": "general", "count": 2},
               {"name": "technical", "count": 2}])
    );
    assert_eq!(
        s["top_tags"],
        json!([{"name": "money", "count": 4}, {"name": "outage", "count": 2}])
    );
    assert_eq!(
        s["recurring_subjects"],
        json!([{"key": "invoice # missing", "example": "Invoice 1001 missing", "count": 4,
                "tickets": ["ACME-2", "ACME-3", "ACME-6", "ACME-10"]}])
    );

    // One queue: billing has 2, 3, 6 and 10.
    let b = stats_json(&t, &["--since", "7d", "--queue", "billing"]);
    assert_eq!(
        b["tickets"],
        json!({"created": 4, "resolved": 2, "spam": 0})
    );
    assert_eq!(b["first_response"]["median_secs"], 5400);
    assert_eq!(b["first_response"]["p90_secs"], 7200);
    assert_eq!(b["backlog"]["open"], 2);

    // All time takes in ACME-1 too.
    let all = stats_json(&t, &[]);
    assert_eq!(all["since"], Value::Null);
    assert_eq!(all["tickets"]["created"], 9);

    // The terminal summary says the same in words.
    let out = t.run(&["stats", "--since", "7d", "--now", "2026-03-09T00:00:00Z"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    for line in [
        "First response    median 1h 30m   p90 12h      (6 answered)",
        "Resolution        median 12h      p90 1d 2h    (5 resolved)",
        "Peak times        Mon 10:00 (2), Tue 11:00 (1), Wed 09:00 (1), Europe/Berlin",
        "Satisfaction      3.7 of 5 on average, 67% good (4+) from 3 rating(s)",
        "First contact     60% resolved with one answer (3 of 5)",
        "Backlog           4 open: new 3, open 0, pending 1",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
}

/// Colours and non-white pixels of a PNG.
fn png_summary(path: &std::path::Path) -> (usize, f64, u32, u32) {
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(path).expect("screenshot exists"),
    ));
    let mut reader = decoder.read_info().expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buf).expect("a frame");
    let channels = info.color_type.samples();
    let mut colours = std::collections::HashSet::new();
    let mut ink = 0usize;
    let pixels = (info.width * info.height) as usize;
    for px in buf[..info.buffer_size()].chunks(channels) {
        let rgb = (px[0], px[1.min(channels - 1)], px[2.min(channels - 1)]);
        colours.insert(rgb);
        if rgb.0 < 235 || rgb.1 < 235 || rgb.2 < 235 {
            ink += 1;
        }
    }
    (
        colours.len(),
        ink as f64 / pixels as f64,
        info.width,
        info.height,
    )
}

#[test]
fn the_html_report_renders_in_a_browser() {
    let (t, _) = fixture();
    let page = t.dir.path().join("report.html");
    let out = t.run(&[
        "stats",
        "--since",
        "7d",
        "--now",
        "2026-03-09T00:00:00Z",
        "--html",
        page.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    for needle in [
        "<title>Test Desk · Support report",
        "<h1>Test Desk · Support report</h1>",
        "<h2 id=\"agents-h\">Agents</h2>",
        "<td>alice@desk.test</td><td class=\"n\">5</td>",
        "Created and resolved per week",
        "<td>Customer Corp</td>",
        "<svg",
        "Volume over time",
        "First response time",
        "Satisfaction",
        "Peak times",
    ] {
        assert!(html.contains(needle), "{needle}");
    }
    // Self-contained: nothing is loaded from anywhere.
    for outside in ["src=", "href=", "@import", "url("] {
        assert!(
            !html.contains(outside),
            "the page refers outside: {outside}"
        );
    }

    let browser = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            std::process::Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .expect("this test needs Chromium: run tests/install-browser.sh (tests/run.sh does)");
    let shot = t.dir.path().join("report.png");
    let status = std::process::Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            "--disable-dev-shm-usage",
            &format!(
                "--user-data-dir={}",
                t.dir.path().join("chromium").display()
            ),
            &format!("--screenshot={}", shot.display()),
            "--window-size=1280,2000",
        ])
        .arg(format!("file://{}", page.display()))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("run chromium");
    assert!(status.success(), "chromium failed");
    let (colours, ink, w, h) = png_summary(&shot);
    assert_eq!((w, h), (1280, 2000));
    assert!(colours > 50, "only {colours} colours: the page looks empty");
    assert!(
        ink > 0.05,
        "only {:.1}% of the page is not white",
        ink * 100.0
    );
    if let Ok(dir) = std::env::var("POSTDESK_KEEP_SCREENSHOT") {
        std::fs::copy(&shot, std::path::Path::new(&dir).join("stats-report.png")).unwrap();
        std::fs::copy(&page, std::path::Path::new(&dir).join("stats-report.html")).unwrap();
    }
}

#[test]
fn customer_text_in_the_html_report_is_escaped() {
    // The desk's and an organisation's names are the admin's, but are
    // text all the same.
    let t = TestDesk::with(Options {
        extra: "[[organization]]\nname = \"<b>Big & Co</b>\"\ndomains = [\"customer.test\"]\n"
            .into(),
        ..Options::default()
    });
    let text = std::fs::read_to_string(&t.config_path)
        .unwrap()
        .replace("name = \"Test Desk\"", "name = \"R&D <Desk>\"");
    std::fs::write(&t.config_path, text).unwrap();
    let d = Desk::open(t.config()).expect("desk opens");
    for i in 0..3 {
        let raw = mail(
            &format!("c{i}@customer.test"),
            "<script>alert(1)</script> & \"login\" <img src=x>",
            &format!("x{i}@customer.test"),
            "",
            "Hello.",
        );
        d.ingest(&raw, Some("main"), "test", Mode::Live).unwrap();
    }
    d.flush().unwrap();
    drop(d);
    let page = t.dir.path().join("r.html");
    let out = t.run(&["stats", "--html", page.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        html.contains(
            "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;login&quot; &lt;img src=x&gt;"
        ),
        "the recurring subject is shown, escaped"
    );
    assert!(html.contains("<title>R&amp;D &lt;Desk&gt; · Support report"));
    assert!(html.contains("<td>&lt;b&gt;Big &amp; Co&lt;/b&gt;</td>"));
    assert!(!html.contains("<script") && !html.contains("<img") && !html.contains("<b>"));
}

#[test]
fn stats_answer_the_same_with_a_daemon_running() {
    let t = TestDesk::new();
    for i in 0..3 {
        let raw = mail(
            &format!("d{i}@customer.test"),
            "Help",
            &format!("d{i}@customer.test"),
            "",
            "Hi.",
        );
        assert!(t.pipe(&raw).status.success());
    }
    // One clock for both answers, a little ahead of the tickets.
    let now = (Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let args = ["stats", "--json", "--since", "30d", "--now", &now];
    let local = t.run(&args);
    assert!(
        local.status.success(),
        "{}",
        String::from_utf8_lossy(&local.stderr)
    );
    let mut daemon = t.serve();
    let remote = t.run(&args);
    daemon.terminate();
    assert!(
        remote.status.success(),
        "{}",
        String::from_utf8_lossy(&remote.stderr)
    );
    let local: Value = serde_json::from_slice(&local.stdout).unwrap();
    assert_eq!(local["tickets"]["created"], 3);
    assert_eq!(
        local,
        serde_json::from_slice::<Value>(&remote.stdout).unwrap()
    );
}

/// The agents and team figures of the fixture desk, by hand. Alice took
/// (`#assign me`) ACME-2, 3, 4, 5 and 9 and logged 25m on ACME-2 and 1h30m
/// on ACME-5; Bob has nothing. Every customer is at customer.test, which
/// `[[organization]]` names Customer Corp.
#[test]
fn agents_and_team_figures_match_the_hand_computed_fixture() {
    let (t, _now) = fixture();
    let s = stats_json(&t, &["--since", "7d"]);
    assert_eq!(s["desk"], "Test Desk");
    // First answers 2: 5400, 3: 7200, 4: 7200, 5: 1800, 9: 43200; median
    // the 3rd of 1800 5400 7200 7200 43200. Resolutions 5400, 88200, 7200,
    // 93600, 43200: median 43200. Ratings 5, 2, 4. ACME-5 was reopened: 1
    // of 5.
    assert_eq!(
        s["agents"],
        json!([
            {"agent": "alice@desk.test", "answered": 5, "first_response_median_secs": 7200,
             "resolved": 5, "resolution_median_secs": 43200, "ratings": 3, "csat_average": 3.667,
             "reopen_rate": 0.2, "minutes_worked": 115},
            {"agent": "bob@desk.test", "answered": 0, "first_response_median_secs": null,
             "resolved": 0, "resolution_median_secs": null, "ratings": 0, "csat_average": null,
             "reopen_rate": null, "minutes_worked": 0}
        ])
    );
    // Answers of the five resolved: 1 + 2 + 1 + 2 + 1 = 7.
    assert_eq!(
        s["conversation"],
        json!({"resolved": 5, "reopened": 1, "reopen_rate": 0.2, "replies": 7,
               "replies_per_resolution": 1.4})
    );
    assert_eq!(
        s["weekly"],
        json!([{"start": "2026-03-02", "created": 8, "resolved": 5,
                "with_mood": 8, "negative": 1, "negative_share": 0.125},
               {"start": "2026-03-09", "created": 0, "resolved": 0,
                "with_mood": 0, "negative": 0, "negative_share": null}])
    );
    assert_eq!(
        s["organizations"],
        json!([{"name": "Customer Corp", "created": 8, "open": 4}])
    );
    // All time: ACME-1 (27 February) adds a week and a ticket.
    let all = stats_json(&t, &[]);
    assert_eq!(
        all["weekly"][0],
        json!({"start": "2026-02-23", "created": 1, "resolved": 0,
               "with_mood": 1, "negative": 0, "negative_share": 0.0})
    );
    assert_eq!(all["organizations"][0]["created"], 9);

    let out = t.run(&["stats", "--since", "7d", "--now", "2026-03-09T00:00:00Z"]);
    let text = String::from_utf8_lossy(&out.stdout);
    for line in [
        "Test Desk Support report: 2026-03-02 00:00 UTC to 2026-03-09 00:00 UTC, all queues",
        "Conversation      1.4 answers per resolution, 20% reopened (1 of 5)",
        "  alice@desk.test                   5         2h        5        12h   3.7 (3)      20%   1h 55m",
        "  bob@desk.test                     0        n/a        0        n/a       n/a      n/a       0s",
        "Organisations     Customer Corp 8 created, 4 open",
        "Week of       created resolved  angry first mail",
        "  2026-03-02        8        5    12% of 8",
        "  2026-03-09        0        0  -",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
}

/// `stats --csv`: one table, the figures of the JSON, cells escaped, and a
/// subject that looks like a formula made inert.
#[test]
fn stats_csv_is_one_table_and_formulas_are_neutralised() {
    let (t, _now) = fixture();
    let out = t.run(&[
        "stats",
        "--csv",
        "--since",
        "7d",
        "--now",
        "2026-03-09T00:00:00Z",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = String::from_utf8(out.stdout).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("section,item,metric,value"));
    for row in [
        "window,,desk,Test Desk",
        "summary,,created,8",
        "summary,,first_response_median_secs,5400",
        "summary,,resolution_p90_secs,93600",
        "summary,,csat_average,3.667",
        "summary,,replies_per_resolution,1.4",
        "day,2026-03-03,resolved,2",
        "weekly,2026-03-02,created,8",
        "weekly,2026-03-02,negative_share,0.125",
        "agent,alice@desk.test,minutes_worked,115",
        "agent,bob@desk.test,csat_average,",
        "organization,Customer Corp,open,4",
        "backlog_queue,billing,open,2",
        "recurring,invoice # missing,tickets,ACME-2 ACME-3 ACME-6 ACME-10",
    ] {
        assert!(csv.lines().any(|l| l == row), "missing {row:?} in\n{csv}");
    }
    assert!(
        csv.lines().all(|l| l.split(',').count() >= 4),
        "four columns"
    );

    let t = TestDesk::new();
    let d = Desk::open(t.config()).expect("desk opens");
    for i in 0..3 {
        let raw = mail(
            &format!("c{i}@customer.test"),
            "=HYPERLINK(\"http://x.test\",\"click\"), now",
            &format!("f{i}@customer.test"),
            "",
            "Hello.",
        );
        d.ingest(&raw, Some("main"), "test", Mode::Live).unwrap();
    }
    d.flush().unwrap();
    drop(d);
    let out = t.run(&["stats", "--csv"]);
    let csv = String::from_utf8(out.stdout).unwrap();
    assert!(
        csv.contains("recurring,hyperlink http x test click now,example,\"'=HYPERLINK(\"\"http://x.test\"\",\"\"click\"\"), now\""),
        "{csv}"
    );
    assert!(!csv
        .lines()
        .any(|l| l.split(',').any(|c| c.starts_with('='))));
}

/// Opens the fixture's store with sled itself, as another program would
/// (waiting for the last command's lock to go), and hands each last-update
/// index entry to `f` to rewrite.
fn rewrite_summaries(t: &TestDesk, schema: Option<u32>, f: impl Fn(&[u8]) -> Vec<u8>) {
    let path = t.state_dir().join("store");
    let mut tries = 0;
    let db = loop {
        match sled::open(&path) {
            Ok(db) => break db,
            Err(_) if tries < 200 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            Err(e) => panic!("cannot open the store: {e}"),
        }
    };
    let index = db.open_tree("ticket_index").unwrap();
    let mut n = 0;
    for item in index.scan_prefix(b"u") {
        let (k, v) = item.unwrap();
        index.insert(k, f(&v)).unwrap();
        n += 1;
    }
    assert_eq!(n, 10, "one summary per ticket");
    if let Some(v) = schema {
        let meta = db.open_tree("meta").unwrap();
        meta.insert("schema_version", &v.to_be_bytes()).unwrap();
    }
    db.flush().unwrap();
}

/// The report reads each ticket's stored summary (issue 18). It must say
/// what reading every full ticket says: the same JSON when every summary
/// is unreadable (so each is made from its ticket), and after a store of
/// the version before summaries (schema 2, the last-update keys empty)
/// is opened and they are built.
#[test]
fn stats_from_stored_summaries_equal_stats_from_the_tickets() {
    let (t, _) = fixture();
    let cases: [&[&str]; 4] = [
        &[],
        &["--since", "7d"],
        &["--since", "3d"],
        &["--queue", "billing"],
    ];
    let stored: Vec<Value> = cases.iter().map(|a| stats_json(&t, a)).collect();
    assert_eq!(stored[0]["tickets"]["created"], 9);

    // On PostgreSQL the summaries are a column beside each ticket, used
    // while `summary_of` is the hash of the record: an unreadable one or
    // one made from another record (a stale one) is not used. Sled's
    // layout versions have no counterpart there.
    if let Some(db) = &t.database {
        for (what, sql) in [
            (
                "unreadable",
                "UPDATE tickets SET summary = overlay(summary placing '\\xee'::bytea from 1)",
            ),
            (
                "stale",
                "UPDATE tickets SET summary = NULL WHERE number % 2 = 0; \
                 UPDATE tickets SET summary_of = sha256('another record') WHERE number % 2 = 1",
            ),
        ] {
            let out = common::psql(&common::test_pg(), db, sql);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let read: Vec<Value> = cases.iter().map(|a| stats_json(&t, a)).collect();
            assert_eq!(read, stored, "{what} summaries");
        }
        return;
    }

    // A version this build does not know: every ticket is read instead.
    rewrite_summaries(&t, None, |v| {
        let mut v = v.to_vec();
        v[0] = 0xee;
        v
    });
    let full: Vec<Value> = cases.iter().map(|a| stats_json(&t, a)).collect();
    assert_eq!(full, stored);

    // A version 2 store: summaries are built on open, then read.
    rewrite_summaries(&t, Some(2), |_| Vec::new());
    let rebuilt: Vec<Value> = cases.iter().map(|a| stats_json(&t, a)).collect();
    assert_eq!(rebuilt, stored);
    rewrite_summaries(&t, None, |v| {
        assert_eq!(v.first(), Some(&postdesk::report::summary::VERSION));
        v.to_vec()
    });
}
