//! Store operations per message: how many reads (point lookups and scans)
//! and writes (keys written in transactions) intake costs for a new ticket
//! and for a reply, counted by the store itself (`Store::usage`). Counts,
//! not times: they are the same on every machine, and they are what the
//! serial store stage of intake pays for. Results in benches/RESULTS.md.
//!
//! `cargo bench --bench store_ops` (N = 1,000 of each by default; set
//! STORE_OPS_N for more).

use postdesk::config::Config;
use postdesk::decide::Mode;
use postdesk::desk::Desk;

fn message(n: u64, reply_to: Option<u64>) -> Vec<u8> {
    let reply = match reply_to {
        Some(p) => {
            format!("In-Reply-To: <ops{p}@customer.test>\r\nReferences: <ops{p}@customer.test>\r\n")
        }
        None => String::new(),
    };
    format!(
        "From: Customer {c} <customer{c}@customer.test>\r\nTo: support@desk.test\r\nSubject: Invoice download broken {n}\r\nMessage-ID: <ops{n}@customer.test>\r\n{reply}Date: Sun, 22 Nov 2026 10:00:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello, the invoice page shows an error.\r\n",
        c = n % 500
    )
    .into_bytes()
}

fn desk(dir: &std::path::Path) -> Desk {
    let rules = dir.join("rules.toml");
    std::fs::write(&rules, "").expect("rules file");
    let text = format!(
        "[desk]\nname = \"Bench\"\naddress = \"support@desk.test\"\nticket_prefix = \"B\"\nstate_dir = \"{}\"\n[rules]\nfile = \"{}\"\n[[agent]]\nemail = \"alice@desk.test\"\nqueues = [\"general\"]\n[[inbox]]\nname = \"main\"\nkind = \"maildir\"\npath = \"{}\"\nqueue = \"general\"\n[sla.normal]\nfirst_response = \"4h\"\n",
        dir.display(),
        rules.display(),
        dir.join("inbox").display(),
    );
    let cfg = Config::from_toml_with_env(std::path::Path::new("bench.toml"), &text, Vec::new())
        .expect("bench config");
    Desk::open(cfg).expect("bench desk")
}

fn main() {
    // `cargo test --all-targets` runs this without `--bench`: a smoke run.
    let bench = std::env::args().any(|a| a == "--bench");
    let n: u64 = std::env::var("STORE_OPS_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if bench { 1000 } else { 20 });
    let dir = tempfile::tempdir().expect("temp dir");
    let d = desk(dir.path());
    let run = |first: u64, reply: bool| {
        let (r0, w0) = d.store().usage();
        for i in 0..n {
            let id = first + i;
            let raw = message(id, reply.then(|| id - n));
            d.ingest(&raw, Some("main"), "bench", Mode::Live)
                .expect("stored");
            if i % 100 == 99 {
                d.flush().expect("flushed");
            }
        }
        d.flush().expect("flushed");
        let (r1, w1) = d.store().usage();
        ((r1 - r0) as f64 / n as f64, (w1 - w0) as f64 / n as f64)
    };
    let (nr, nw) = run(1, false);
    let (rr, rw) = run(n + 1, true);
    println!("store operations per message, {n} of each (batches of 100):");
    println!("  new ticket: {nr:.2} reads, {nw:.2} writes");
    println!("  reply:      {rr:.2} reads, {rw:.2} writes");
}
