//! Per-message cost of intake: parsing alone, and the whole path (parse,
//! gather facts, thread, decide, one store transaction) without and with a
//! flush per message. Results are recorded in benches/RESULTS.md.

use std::cell::Cell;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use postdesk::config::Config;
use postdesk::decide::Mode;
use postdesk::desk::Desk;

/// A realistic ~6 KB customer message; `n` makes its Message-ID unique and
/// every third one a reply to an earlier one.
fn message(n: u64) -> Vec<u8> {
    let reply = if n % 3 == 2 {
        format!(
            "In-Reply-To: <bench{}@customer.test>\r\nReferences: <bench{}@customer.test>\r\n",
            n - 1,
            n - 1
        )
    } else {
        String::new()
    };
    let body = "Hello support team,\r\n\r\nsince this morning our invoices do not download; the page shows an error and then nothing. We tried two browsers.\r\n\r\n".repeat(40);
    format!(
        "Received: from mx.customer.test by mx.desk.test; Sun, 22 Nov 2026 10:00:00 +0000\r\nFrom: Customer {c} <customer{c}@customer.test>\r\nTo: support@desk.test\r\nSubject: Invoice download broken {n}\r\nMessage-ID: <bench{n}@customer.test>\r\n{reply}Date: Sun, 22 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}",
        c = n % 500
    )
    .into_bytes()
}

fn desk(dir: &std::path::Path) -> Desk {
    let rules = dir.join("rules.toml");
    std::fs::write(&rules, "").expect("rules file");
    let text = format!(
        "[desk]\nname = \"Bench\"\naddress = \"support@desk.test\"\nticket_prefix = \"B\"\nstate_dir = \"{}\"\n[rules]\nfile = \"{}\"\n",
        dir.display(),
        rules.display()
    );
    let cfg = Config::from_toml_with_env(std::path::Path::new("bench.toml"), &text, Vec::new())
        .expect("bench config");
    Desk::open(cfg).expect("bench desk")
}

fn bench(c: &mut Criterion) {
    let sample = message(1);
    let mut g = c.benchmark_group("intake");
    g.throughput(Throughput::Elements(1));
    g.bench_function("parse", |b| {
        b.iter(|| postdesk::mail::parse(&sample).expect("parses"))
    });

    let dir = tempfile::tempdir().expect("temp dir");
    let d = desk(dir.path());
    let n = Cell::new(0u64);
    g.bench_function("parse_thread_store", |b| {
        b.iter_batched(
            || {
                n.set(n.get() + 1);
                message(n.get())
            },
            |raw| d.ingest(&raw, None, "bench", Mode::Live).expect("stored"),
            criterion::BatchSize::SmallInput,
        )
    });
    g.bench_function("parse_thread_store_flush", |b| {
        b.iter_batched(
            || {
                n.set(n.get() + 1);
                message(n.get())
            },
            |raw| {
                d.ingest(&raw, None, "bench", Mode::Live).expect("stored");
                d.flush().expect("flushed")
            },
            criterion::BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
