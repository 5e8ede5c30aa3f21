//! Cost of reply stripping (`postdesk strip`, intake's author text): every
//! reply of the fixture corpus (tests/fixtures/replies, 28 clients, 21
//! languages), and hostile inputs at the stripper's limits, each of which
//! must stay under 50 ms (issue 17): lines that all look like attributions,
//! answers on attribution lines, header fields, delimiters, footers,
//! addresses, quote marks, one huge line, and HTML of nested blockquotes.

use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use postdesk::mail::quote;

fn fixtures() -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/replies");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("fixture directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| std::fs::read(p).expect("fixture"))
        .collect()
}

/// About `bytes` of `line` repeated.
fn repeat(line: &str, bytes: usize) -> String {
    line.repeat(bytes / line.len().max(1) + 1)
}

fn hostile() -> Vec<(&'static str, String, bool)> {
    const MB: usize = 1 << 20;
    let mut v = vec![
        (
            "attributions",
            repeat("On Mon, 2 Nov 2026 at 10:00, Carol <c@x.test> wrote:\n", MB),
            false,
        ),
        (
            "answer-on-attribution",
            repeat(
                "Thanks! On Wed, Apr 4, 2012 at 3:59 PM, b@x.test wrote:\n",
                MB,
            ),
            false,
        ),
        (
            "wrapped-attributions",
            repeat("On Mon, 2 Nov 2026 at 10:00, Carol <\nc@x.test\n", MB),
            false,
        ),
        (
            "date-first",
            repeat("2014-10-17 11:28 GMT+03:00 Carol <c@x.test>:\n", MB),
            false,
        ),
        (
            "addresses",
            repeat("2011/3/1 Carol Customer <carol@customer.test>\n", MB),
            false,
        ),
        (
            "header-fields",
            repeat("From: Carol <c@x.test>\nSent: Monday\n", MB),
            false,
        ),
        ("date-fields", repeat("Gesendet: Montag\n", MB), false),
        ("delimiters", repeat("--\n__\n-- \n", MB), false),
        ("footers", repeat("Sent from my iPhone\n", MB), false),
        ("quote-marks", repeat("> q\n", MB), false),
        ("interleaved", repeat("> question\nanswer\n", MB), false),
        (
            "colons",
            repeat(&format!("{}:\n", "word ".repeat(100)), MB),
            false,
        ),
        ("one-line", "x".repeat(4 * MB), false),
        ("blockquotes", repeat("<blockquote>q", MB), true),
        (
            "divs",
            repeat("<div>On Mon, 2 Nov 2026, Carol wrote:</div>", MB),
            true,
        ),
        (
            "outlook-divs",
            repeat(
                "<div style=\"border-top:solid #E1E1E1 1.0pt\"><p class=MsoNormal>x</p>",
                MB,
            ),
            true,
        ),
    ];
    v.push((
        "max-input",
        repeat("Carol <c@x.test> wrote:\n", 4 * MB),
        false,
    ));
    v
}

fn bench(c: &mut Criterion) {
    let all = fixtures();
    let mut g = c.benchmark_group("strip");
    g.throughput(Throughput::Elements(all.len() as u64));
    g.bench_function("fixture-corpus", |b| {
        b.iter(|| {
            for raw in &all {
                black_box(quote::strip_raw(black_box(raw)));
            }
        })
    });
    g.finish();

    let mut g = c.benchmark_group("strip-hostile");
    g.sample_size(10);
    for (name, input, html) in hostile() {
        g.throughput(Throughput::Bytes(input.len() as u64));
        g.bench_with_input(BenchmarkId::from_parameter(name), &input, |b, input| {
            b.iter(|| {
                if html {
                    black_box(quote::strip_reply_html(black_box(input)));
                } else {
                    black_box(quote::strip_reply(black_box(input)));
                }
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
