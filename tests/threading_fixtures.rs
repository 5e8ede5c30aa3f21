//! Threading scenarios through the user's door: each folder under
//! `tests/fixtures/threading/FAMILY/SCENARIO` holds messages and an
//! `expected` file (which messages must share a ticket, and the delivery
//! orders to try). Every order is delivered with `postdesk ingest` into a
//! fresh desk and read back with `postdesk tickets list --json` and
//! `tickets show --json`.
//!
//! `fixtures_thread_as_expected` holds each scenario to its expected
//! grouping and prints, per family, the pairwise F1 of tickets against
//! the expected threads and the number of tickets mixing threads (see it
//! with `-- --nocapture`): benches/RESULTS.md records its before and after.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use common::TestDesk;

struct Scenario {
    family: String,
    name: String,
    /// Message name and file, as written.
    files: Vec<(String, PathBuf)>,
    /// The expected threads, by message name.
    threads: Vec<Vec<String>>,
    /// Delivery orders, as indexes into `files`.
    orders: Vec<(String, Vec<usize>)>,
    /// What the desk does not do yet: the scenario is scored, not asserted.
    gap: Option<String>,
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/threading")
}

fn scenarios() -> Vec<Scenario> {
    let mut out = Vec::new();
    let mut families: Vec<_> = std::fs::read_dir(root())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    families.sort();
    for family in families {
        let mut dirs: Vec<_> = std::fs::read_dir(&family)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_dir())
            .collect();
        dirs.sort();
        for dir in dirs {
            out.push(scenario(&family, &dir));
        }
    }
    out
}

fn scenario(family: &Path, dir: &Path) -> Scenario {
    let mut files: Vec<(String, PathBuf)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .map(|p| {
            let stem = p.file_stem().unwrap().to_string_lossy().into_owned();
            // `NN-name`: the number keeps the order the thread was written in.
            let name = stem.split_once('-').map_or(stem.clone(), |(_, n)| n.into());
            (name, p)
        })
        .collect();
    files.sort_by(|a, b| a.1.cmp(&b.1));
    let index = |name: &str| {
        files
            .iter()
            .position(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("{}: no message {name}", dir.display()))
    };
    let mut threads = Vec::new();
    let mut orders = Vec::new();
    let mut gap = None;
    let expected = std::fs::read_to_string(dir.join("expected")).unwrap();
    let name = dir.file_name().unwrap().to_string_lossy().into_owned();
    for line in expected.lines().filter(|l| !l.starts_with('#')) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["gap", words @ ..] => gap = Some(words.join(" ")),
            ["thread", names @ ..] => threads.push(names.iter().map(|s| s.to_string()).collect()),
            ["order", "as-written"] => {
                orders.push(("as written".into(), (0..files.len()).collect()))
            }
            ["order", "reverse"] => {
                orders.push(("reverse".into(), (0..files.len()).rev().collect()))
            }
            ["order", names @ ..] => {
                orders.push((names.join(" "), names.iter().map(|n| index(n)).collect()))
            }
            ["shuffles", n] => {
                for seed in 0..n.parse::<u64>().unwrap() {
                    orders.push((format!("shuffle {seed}"), shuffle(files.len(), &name, seed)));
                }
            }
            [] => {}
            other => panic!("{}: cannot read {other:?}", dir.display()),
        }
    }
    Scenario {
        family: family.file_name().unwrap().to_string_lossy().into_owned(),
        name,
        files,
        threads,
        orders,
        gap,
    }
}

/// A permutation of `0..n` fixed by the scenario's name and `seed`
/// (xorshift over an FNV hash: the same orders on every run and machine).
fn shuffle(n: usize, name: &str, seed: u64) -> Vec<usize> {
    let mut x: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        x = (x ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
    }
    x ^= seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut v: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.swap(i, (x % (i as u64 + 1)) as usize);
    }
    v
}

/// A Message-ID as the desk compares them: no brackets, no space, any case.
fn id_key(id: &str) -> String {
    id.chars()
        .filter(|c| !c.is_whitespace() && *c != '<' && *c != '>')
        .collect::<String>()
        .to_ascii_lowercase()
}

fn message_id_of(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let line = text
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("message-id:"))
        .unwrap_or_else(|| panic!("{}: no Message-ID", path.display()));
    id_key(&line["message-id:".len()..])
}

/// What one delivery order made: each stored Message-ID's ticket (after
/// merges), and how many times each id was stored.
struct Outcome {
    ticket_of: HashMap<String, u64>,
    stored: HashMap<String, usize>,
}

fn run(s: &Scenario, order: &[usize]) -> Outcome {
    let desk = TestDesk::new();
    let mut args: Vec<String> = vec!["ingest".into(), "--json".into()];
    args.extend(order.iter().map(|i| s.files[*i].1.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = desk.run(&args);
    assert!(
        out.status.success(),
        "{}/{}: ingest failed: {}",
        s.family,
        s.name,
        String::from_utf8_lossy(&out.stderr)
    );
    let tickets = desk.tickets_json();
    let mut merged_into: HashMap<u64, u64> = HashMap::new();
    let mut references = Vec::new();
    for t in tickets.as_array().unwrap() {
        let n = t["number"].as_u64().unwrap();
        if let Some(into) = t["merged_into"].as_u64() {
            merged_into.insert(n, into);
        }
        references.push((n, t["reference"].as_str().unwrap().to_string()));
    }
    let survivor = |mut n: u64| {
        for _ in 0..100 {
            match merged_into.get(&n) {
                Some(next) => n = *next,
                None => break,
            }
        }
        n
    };
    let mut ticket_of = HashMap::new();
    let mut stored: HashMap<String, usize> = HashMap::new();
    for (n, reference) in references {
        let out = desk.run(&["tickets", "show", &reference, "--json"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let view: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        for m in view["messages"].as_array().unwrap() {
            // A ticket shows the messages merged into it too: count each
            // message once, with the ticket that stored it.
            if m["ticket"].as_u64() != Some(n) {
                continue;
            }
            let id = id_key(m["message_id"].as_str().unwrap());
            *stored.entry(id.clone()).or_default() += 1;
            ticket_of.insert(id, survivor(n));
        }
    }
    Outcome { ticket_of, stored }
}

/// The expected thread of each Message-ID.
fn truth(s: &Scenario) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for (i, thread) in s.threads.iter().enumerate() {
        for name in thread {
            let (_, path) = s
                .files
                .iter()
                .find(|(n, _)| n == name)
                .unwrap_or_else(|| panic!("{}/{}: no message {name}", s.family, s.name));
            out.insert(message_id_of(path), i);
        }
    }
    out
}

#[derive(Default, Clone, Copy)]
struct Tally {
    runs: usize,
    true_pos: usize,
    false_pos: usize,
    false_neg: usize,
    mixed: usize,
    failed_runs: usize,
}

impl Tally {
    fn add(&mut self, truth: &BTreeMap<String, usize>, o: &Outcome) {
        let ids: Vec<&String> = truth.keys().collect();
        let mut ok = true;
        for (i, a) in ids.iter().enumerate() {
            for b in &ids[i + 1..] {
                let same_thread = truth[*a] == truth[*b];
                let same_ticket = match (o.ticket_of.get(*a), o.ticket_of.get(*b)) {
                    (Some(x), Some(y)) => x == y,
                    _ => false,
                };
                match (same_thread, same_ticket) {
                    (true, true) => self.true_pos += 1,
                    (false, true) => {
                        self.false_pos += 1;
                        ok = false
                    }
                    (true, false) => {
                        self.false_neg += 1;
                        ok = false
                    }
                    (false, false) => {}
                }
            }
        }
        let mut threads_in: HashMap<u64, BTreeSet<usize>> = HashMap::new();
        for (id, t) in &o.ticket_of {
            if let Some(thread) = truth.get(id) {
                threads_in.entry(*t).or_default().insert(*thread);
            }
        }
        self.mixed += threads_in.values().filter(|s| s.len() > 1).count();
        self.runs += 1;
        if !ok {
            self.failed_runs += 1;
        }
    }

    fn f1(&self) -> f64 {
        if self.true_pos + self.false_pos + self.false_neg == 0 {
            // Every message alone, as expected: nothing to get wrong.
            return 1.0;
        }
        let p = self.true_pos as f64 / (self.true_pos + self.false_pos).max(1) as f64;
        let r = self.true_pos as f64 / (self.true_pos + self.false_neg).max(1) as f64;
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }
}

/// Runs every scenario's orders, a thread per scenario.
fn run_all() -> Vec<(Scenario, Vec<(String, Outcome)>)> {
    let handles: Vec<_> = scenarios()
        .into_iter()
        .map(|s| {
            std::thread::spawn(move || {
                let outcomes = s
                    .orders
                    .iter()
                    .map(|(label, order)| (label.clone(), run(&s, order)))
                    .collect();
                (s, outcomes)
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

/// Runs every scenario once: asserts each scenario's grouping (known
/// gaps excepted, and named) and prints the scorer's table, pairwise F1
/// and mixed tickets per family (`cargo test --test threading_fixtures --
/// --nocapture`; the figures in benches/RESULTS.md come from it).
#[test]
fn fixtures_thread_as_expected() {
    let mut failures = Vec::new();
    let mut families: BTreeMap<String, Tally> = BTreeMap::new();
    let mut all = Tally::default();
    for (s, outcomes) in run_all() {
        let truth = truth(&s);
        let family = families.entry(s.family.clone()).or_default();
        for (_, o) in &outcomes {
            family.add(&truth, o);
            all.add(&truth, o);
        }
        if let Some(gap) = &s.gap {
            eprintln!("{}/{}: not asserted: {gap}", s.family, s.name);
            continue;
        }
        for (label, o) in outcomes {
            let mut t = Tally::default();
            t.add(&truth, &o);
            let missing: Vec<&String> = truth
                .keys()
                .filter(|id| !o.stored.contains_key(*id))
                .collect();
            let twice: Vec<&String> = o
                .stored
                .iter()
                .filter(|(_, n)| **n > 1)
                .map(|(id, _)| id)
                .collect();
            if t.failed_runs > 0 || !missing.is_empty() || !twice.is_empty() {
                let mut groups: BTreeMap<u64, Vec<&String>> = BTreeMap::new();
                for (id, n) in &o.ticket_of {
                    groups.entry(*n).or_default().push(id);
                }
                failures.push(format!(
                    "{}/{} ({label}): tickets {groups:?}; missing {missing:?}; stored twice {twice:?}",
                    s.family, s.name
                ));
            }
        }
    }
    eprintln!(
        "{:<14} {:>5} {:>8} {:>8} {:>7}",
        "family", "runs", "pair F1", "mixed", "wrong"
    );
    for (name, t) in families
        .iter()
        .chain(std::iter::once((&"all".to_string(), &all)))
    {
        eprintln!(
            "{:<14} {:>5} {:>8.3} {:>8} {:>7}",
            name,
            t.runs,
            t.f1(),
            t.mixed,
            t.failed_runs
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
