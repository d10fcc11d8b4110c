//! `cargo bench -p ecs-monitor --bench classify`: classifier throughput on a generated mixed
//! corpus. Also writes the corpus to `target/classify-corpus.log` for `benches/baseline.py`.

mod corpus;

use criterion::{Criterion, Throughput, criterion_group};
use ecs_monitor::classify::Classifier;
use std::hint::black_box;
use std::time::Instant;

const LINES: usize = 100_000;

fn corpus_path() -> std::path::PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("classify-corpus.log")
}

fn bench(c: &mut Criterion) {
    let lines = corpus::generate(LINES);
    let bytes: usize = lines.iter().map(|l| l.len() + 1).sum();
    let mut text = lines.join("\n");
    text.push('\n');
    if let Err(e) = std::fs::write(corpus_path(), &text) {
        eprintln!("cannot write {}: {e}", corpus_path().display());
    }
    let classifier = Classifier::default();
    // Warm the lazily compiled regexes outside the measurement.
    for l in &lines {
        black_box(classifier.classify(l));
    }

    let mut group = c.benchmark_group("classify");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.sample_size(20);
    group.bench_function("mixed_corpus", |b| {
        b.iter(|| {
            for l in &lines {
                black_box(classifier.classify(black_box(l)));
            }
        })
    });
    group.finish();

    // The figure the issue asks for, in decimal MB/s on one core (criterion shows MiB/s).
    let rounds = 5;
    let start = Instant::now();
    for _ in 0..rounds {
        for l in &lines {
            black_box(classifier.classify(black_box(l)));
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "classify: {} lines, {:.1} MB per pass, {:.0} MB/s, {:.0} ns/line (one core)",
        LINES,
        bytes as f64 / 1e6,
        (bytes * rounds) as f64 / 1e6 / secs,
        secs * 1e9 / (LINES * rounds) as f64
    );
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
