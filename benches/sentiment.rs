//! Cost of reading a message's mood (`sentiment` rules, and every new
//! ticket's first message): the labelled corpus of tests/fixtures/sentiment
//! one mail at a time, a typical 1.5 KB mail, and the scorer's 64 KiB cap
//! on hostile text (one long word run, all capitals, all "!").

use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use postdesk::mail::sentiment;

fn corpus() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sentiment");
    let mut out = Vec::new();
    for lang in ["en", "de", "fr"] {
        let text = std::fs::read_to_string(dir.join(format!("{lang}.tsv"))).expect("fixture");
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            if let Some((_, body)) = line.split_once('\t') {
                out.push(body.replace("\\n", "\n"));
            }
        }
    }
    out
}

fn bench(c: &mut Criterion) {
    let mails = corpus();
    let bytes: usize = mails.iter().map(String::len).sum();
    let mut g = c.benchmark_group("sentiment");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function(BenchmarkId::new("corpus", mails.len()), |b| {
        b.iter(|| {
            for m in &mails {
                black_box(sentiment::of_message("Question", m, false));
            }
        })
    });
    let typical = mails.join("\n").chars().take(1500).collect::<String>();
    g.throughput(Throughput::Bytes(typical.len() as u64));
    g.bench_function("typical 1.5 KB", |b| {
        b.iter(|| black_box(sentiment::of_message("Question", &typical, false)))
    });
    g.bench_function("typical 1.5 KB, explained", |b| {
        b.iter(|| black_box(sentiment::read_message("Question", &typical, false)))
    });
    for (name, text) in [
        ("words 1 MB", "not very happy ".repeat(70_000)),
        ("capitals 1 MB", "THIS IS UNACCEPTABLE ".repeat(50_000)),
        ("marks 1 MB", "!?".repeat(500_000)),
    ] {
        g.throughput(Throughput::Bytes(text.len() as u64));
        g.bench_function(name, |b| {
            b.iter(|| black_box(sentiment::read_message("", &text, false)))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
