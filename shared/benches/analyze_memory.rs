//! `cargo bench -p ecs-monitor --bench analyze_memory`: 1,000,000 log events over 50 streams
//! through the diagnose analyzer, made one at a time; prints the throughput and the peak
//! resident memory of the whole process (VmHWM), which must stay flat in the event count.

mod corpus;

use ecs_monitor::classify::Classifier;
use ecs_monitor::diagnose::analyze::{Analyzer, LogEvent};
use std::time::Instant;

fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn run(events: usize) -> (f64, Option<u64>, u64) {
    let classifier = Classifier::default();
    let mut analyzer = Analyzer::new(&classifier);
    let start = Instant::now();
    let streams: Vec<String> = (0..50).map(|i| format!("ecs/app/task-{i}")).collect();
    for (i, message) in corpus::stream(events).enumerate() {
        let ev = LogEvent {
            timestamp: i as i64 * 3,
            stream: &streams[i % streams.len()],
            message: &message,
        };
        analyzer.add(&ev);
    }
    let findings = analyzer.finish();
    (
        start.elapsed().as_secs_f64(),
        peak_rss_kb(),
        findings.summary.errors_total,
    )
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` passes nothing: keep that run short.
    let full = std::env::args().any(|a| a == "--bench");
    for events in if full {
        vec![100_000, 1_000_000]
    } else {
        vec![10_000]
    } {
        let (secs, rss, errors) = run(events);
        println!(
            "analyze: {events} events in {secs:.2} s ({:.0} events/s), {errors} error occurrences, peak RSS {} MB",
            events as f64 / secs,
            rss.map_or("unknown".to_string(), |kb| format!(
                "{:.1}",
                kb as f64 / 1024.0
            ))
        );
    }
}
