//! `ecs-monitor classify [--json] [FILE...]`: the shared classifier on local logs.

use super::CliError;
use super::lines::Lines;
use crate::classify::{Category, Classification, Classifier, Summary};
use serde::Serialize;
use std::io::{BufRead, Write};

/// One output object of `--json`, per input line.
#[derive(Serialize)]
struct JsonLine<'a> {
    line: u64,
    category: Option<Category>,
    health_noise: bool,
    http_status: Option<u16>,
    fingerprint: Option<&'a str>,
}

pub struct Options {
    pub json: bool,
    /// How many fingerprints the summary lists.
    pub top: usize,
}

/// A named input: a file or standard input.
pub struct Input<R> {
    pub name: String,
    pub reader: R,
}

/// Classifies every line of `inputs` in order; writes one JSON object per line, or a summary.
pub fn run<R: BufRead, W: Write>(
    classifier: &Classifier,
    inputs: Vec<Input<R>>,
    opts: &Options,
    out: &mut W,
) -> Result<Summary, CliError> {
    let mut summary = Summary::default();
    let mut n = 0u64;
    for input in inputs {
        let mut lines = Lines::new(input.reader);
        loop {
            let line = lines.next_line().map_err(|source| CliError::Read {
                name: input.name.clone(),
                source,
            })?;
            let Some(line) = line else { break };
            n += 1;
            let c = classifier.classify(&line);
            if opts.json {
                write_json(out, n, &c)?;
            }
            summary.add(&line, &c);
        }
    }
    if !opts.json {
        write_summary(out, &summary, opts.top).map_err(CliError::Write)?;
    }
    out.flush().map_err(CliError::Write)?;
    Ok(summary)
}

fn write_json<W: Write>(out: &mut W, line: u64, c: &Classification) -> Result<(), CliError> {
    let obj = JsonLine {
        line,
        category: c.category,
        health_noise: c.health_noise,
        http_status: c.http_status,
        fingerprint: c.fingerprint.as_deref(),
    };
    serde_json::to_writer(&mut *out, &obj).map_err(|e| CliError::Write(e.into()))?;
    out.write_all(b"\n").map_err(CliError::Write)
}

/// `1234567` → `1,234,567`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// Cuts `s` to at most `max` characters, marking the cut.
fn clip(s: &str, max: usize) -> String {
    let one_line = s.replace(['\n', '\t'], " ");
    if one_line.chars().count() <= max {
        return one_line;
    }
    let mut cut: String = one_line.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

fn write_summary<W: Write>(out: &mut W, s: &Summary, top: usize) -> std::io::Result<()> {
    let width = thousands(s.lines).len().max(5);
    writeln!(out, "Lines read           {:>width$}", thousands(s.lines))?;
    writeln!(
        out,
        "Health-check noise   {:>width$}",
        thousands(s.health_noise)
    )?;
    writeln!(
        out,
        "Errors               {:>width$}",
        thousands(s.errors_total)
    )?;
    if !s.categories.is_empty() {
        writeln!(out, "\nErrors by category (most specific first)")?;
        for (category, count) in &s.categories {
            writeln!(
                out,
                "  {:<18} {:>width$}",
                category.as_str(),
                thousands(*count)
            )?;
        }
    }
    if !s.http_status.is_empty() {
        writeln!(out, "\nHTTP status (health checks excluded)")?;
        for (status, count) in &s.http_status {
            writeln!(out, "  {:<18} {:>width$}", status, thousands(*count))?;
        }
    }
    let top = s.top(top);
    if !top.is_empty() {
        writeln!(out, "\nTop errors")?;
        let cw = thousands(top[0].count).len().max(5);
        writeln!(out, "  {:>cw$}  {:<16}  FINGERPRINT", "COUNT", "CATEGORY")?;
        for f in top {
            writeln!(
                out,
                "  {:>cw$}  {:<16}  {}",
                thousands(f.count),
                f.category.as_str(),
                clip(&f.fingerprint, 120)
            )?;
            writeln!(
                out,
                "  {:>cw$}  {:<16}  e.g. {}",
                "",
                "",
                clip(&f.sample, 116)
            )?;
        }
        if s.fingerprints_truncated {
            writeln!(
                out,
                "\n(more than {} distinct errors: counts of the rarest are approximate)",
                crate::classify::summary::MAX_FINGERPRINTS
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_on(text: &str, json: bool) -> String {
        let mut out = Vec::new();
        let inputs = vec![Input {
            name: "-".into(),
            reader: text.as_bytes(),
        }];
        run(
            &Classifier::default(),
            inputs,
            &Options { json, top: 10 },
            &mut out,
        )
        .unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn json_has_one_object_per_line_in_order() {
        let out = run_on(
            "INFO ok\nERROR dial tcp 10.0.0.1:5432: connect: connection refused\n\n\"GET /health HTTP/1.1\" 200 2\n",
            true,
        );
        let objs: Vec<serde_json::Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(objs.len(), 4);
        assert_eq!(objs[0]["line"], 1);
        assert_eq!(objs[0]["category"], serde_json::Value::Null);
        assert_eq!(objs[1]["category"], "connection_error");
        assert_eq!(
            objs[1]["fingerprint"],
            "ERROR dial tcp <ip>: connect: connection refused"
        );
        assert_eq!(objs[2]["line"], 3);
        assert_eq!(objs[3]["health_noise"], true);
        assert_eq!(objs[3]["http_status"], 200);
    }

    #[test]
    fn summary_counts_and_lists_top_errors() {
        let out = run_on(
            "ERROR dial tcp 10.0.0.1:5432: connect: connection refused\n\
             ERROR dial tcp 10.0.0.2:5432: connect: connection refused\n\
             \"GET /api HTTP/1.1\" 502 2\n\
             \"GET /health HTTP/1.1\" 503 2\n",
            false,
        );
        assert!(out.contains("Lines read               4"), "{out}");
        assert!(out.contains("Health-check noise       1"), "{out}");
        assert!(out.contains("Errors                   3"), "{out}");
        assert!(out.contains("  connection_error       2"), "{out}");
        assert!(out.contains("  502                    1"), "{out}");
        assert!(
            !out.contains("  503 "),
            "health checks stay out of the histogram: {out}"
        );
        assert!(
            out.contains(
                "      2  connection_error  ERROR dial tcp <ip>: connect: connection refused"
            ),
            "{out}"
        );
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }
}
