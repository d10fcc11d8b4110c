//! `cargo bench -p ecs-monitor --bench classify` (or `make bench`): classifier throughput on
//! a realistic mixed corpus (`corpus.rs`), in one run:
//!
//! - criterion's figure for the whole corpus, in process;
//! - MB/s and ns per line for each kind of line (plain, JSON, access, health, error; each on
//!   4,000 of its lines, the same working set for every kind) and for the whole, in process,
//!   on one core;
//! - `ecs-monitor classify FILE` end to end (the CLI path: reading, classifying, summary) and
//!   its start on an empty input;
//! - the same file through `grep -c -i -E` of the category keywords (output to a file: GNU
//!   grep stops at the first match when its output is /dev/null) and through the original
//!   rules as a Python loop (`benches/baseline.py`), as ratios.
//!
//! The corpus is written to `target/classify-corpus.log`.

mod corpus;

use corpus::Kind;
use criterion::{Criterion, Throughput, criterion_group};
use ecs_monitor::classify::Classifier;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const LINES: usize = 100_000;
/// Lines of each kind in the per-kind figures.
const KIND_SAMPLE: usize = 4_000;
/// The category keywords, as a grep user would write them.
const GREP_KEYWORDS: &str = "error|exception|panic|fatal|critical|traceback|timeout|timed out|deadline exceeded|refused|reset by peer|broken pipe|no such host|out of memory|oom|killed|denied|unauthorized|forbidden|authentication failed|\" 5[0-9][0-9] ";

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
}

/// Best wall time of `runs` runs of `f`.
fn best(runs: usize, mut f: impl FnMut()) -> Duration {
    (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .min()
        .unwrap_or_default()
}

fn mbps(bytes: usize, d: Duration) -> f64 {
    bytes as f64 / 1e6 / d.as_secs_f64()
}

/// Best wall time of a command, its standard output written to `out` (never /dev/null).
fn time_command(runs: usize, mut cmd: impl FnMut() -> Command, out: &Path) -> Option<Duration> {
    let mut ok = true;
    let d = best(runs, || {
        let file = std::fs::File::create(out).expect("output file");
        let status = cmd().stdout(file).stderr(Stdio::null()).status();
        ok &= status.is_ok_and(|s| s.success() || s.code() == Some(1));
    });
    ok.then_some(d)
}

fn bench(c: &mut Criterion) {
    let tagged = corpus::generate_kinds(LINES);
    let lines: Vec<&str> = tagged.iter().map(|(_, l)| l.as_str()).collect();
    let bytes: usize = lines.iter().map(|l| l.len() + 1).sum();
    let corpus_path = target_dir().join("classify-corpus.log");
    let mut text = lines.join("\n");
    text.push('\n');
    std::fs::write(&corpus_path, &text).expect("write the corpus");
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

    println!(
        "\nclassify, in process, one core ({LINES} lines, {:.1} MB; each kind on {KIND_SAMPLE} of its lines):",
        bytes as f64 / 1e6
    );
    println!(
        "  {:<7} {:>6} {:>9} {:>9} {:>8}",
        "kind", "share", "MB/s", "ns/line", "×plain"
    );
    let mut plain_ns = 0.0;
    for kind in Kind::ALL {
        // The same number of lines of each kind, so that each is measured with the same
        // working set (4,000 lines, under 1 MB): over all its lines, a kind's share of the
        // corpus would set how much of it the caches hold, and with it its cost per line.
        let share = tagged.iter().filter(|(k, _)| *k == kind).count() as f64 / LINES as f64;
        let of_kind: Vec<&str> = tagged
            .iter()
            .filter(|(k, _)| *k == kind)
            .map(|(_, l)| l.as_str())
            .take(KIND_SAMPLE)
            .collect();
        let kb: usize = of_kind.iter().map(|l| l.len() + 1).sum();
        let rounds = (LINES * 3 / of_kind.len().max(1)).max(3);
        let d = best(5, || {
            for _ in 0..rounds {
                for l in &of_kind {
                    black_box(classifier.classify(black_box(l)));
                }
            }
        });
        let ns = d.as_secs_f64() * 1e9 / (of_kind.len() * rounds) as f64;
        if kind == Kind::Plain {
            plain_ns = ns;
        }
        println!(
            "  {:<7} {:>5.1}% {:>9.0} {:>9.0} {:>8.2}",
            kind.name(),
            100.0 * share,
            mbps(kb * rounds, d),
            ns,
            ns / plain_ns
        );
    }
    let d = best(5, || {
        for l in &lines {
            black_box(classifier.classify(black_box(l)));
        }
    });
    let whole = mbps(bytes, d);
    println!(
        "  {:<7} {:>5.1}% {:>9.0} {:>9.0}",
        "all",
        100.0,
        whole,
        d.as_secs_f64() * 1e9 / LINES as f64
    );

    let out = target_dir().join("classify-bench.out");
    let cli = env!("CARGO_BIN_EXE_ecs-monitor");
    let cli_time = time_command(
        5,
        || {
            let mut c = Command::new(cli);
            c.arg("classify").arg(&corpus_path);
            c
        },
        &out,
    );
    let start = time_command(
        20,
        || {
            let mut c = Command::new(cli);
            c.arg("classify").stdin(Stdio::null());
            c
        },
        &out,
    );
    let grep = time_command(
        5,
        || {
            let mut c = Command::new("grep");
            c.args(["-c", "-i", "-E", GREP_KEYWORDS]).arg(&corpus_path);
            c
        },
        &out,
    );
    // The Python loop reports its own best-of-3 figure (interpreter start excluded).
    let baseline = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/baseline.py");
    let python = Command::new("python3")
        .arg(&baseline)
        .arg(&corpus_path)
        .output()
        .ok()
        .and_then(|o| {
            let text = String::from_utf8_lossy(&o.stdout).into_owned();
            let at = text.find(" MB/s")?;
            let figure: f64 = text[..at].rsplit(' ').next()?.parse().ok()?;
            Some(Duration::from_secs_f64(bytes as f64 / 1e6 / figure))
        });
    println!("\nthe same file, end to end (best wall time):");
    let row = |name: &str, d: Option<Duration>| match d {
        Some(d) => println!(
            "  {name:<40} {:>7.0} MB/s  ours in process ×{:.2}, ours end to end ×{:.2}",
            mbps(bytes, d),
            whole / mbps(bytes, d),
            cli_time.map_or(0.0, |c| mbps(bytes, c) / mbps(bytes, d)),
        ),
        None => println!("  {name:<40} not available"),
    };
    row("ecs-monitor classify FILE", cli_time);
    row("grep -c -i -E <category keywords> FILE", grep);
    row("original rules, Python loop (in process)", python);
    if let Some(s) = start {
        println!(
            "  ecs-monitor classify of an empty input: {:.1} ms",
            s.as_secs_f64() * 1e3
        );
    }
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
